//! Intel DCAP quotes, byte-exact: quote v3 (SGX enclave report), v4 (TD report, TDX 1.0) and v5
//! (body descriptor: 1 SGX, 2 TD 1.0, 3 TD 1.5), the ECDSA signature data and certification data
//! types 1 to 6 (type 6 nests the QE report, its signature, the QE authentication data and a
//! type 1..5 certification data, in practice the PEM PCK chain). Field names are Intel's
//! (`Src/AttestationLibrary/src/QuoteVerification/QuoteStructures.h`).
//!
//! Every read is bounded; a field that does not fit is refused naming its offset. Bytes after the
//! declared signature-data length are not part of the quote: they are counted in
//! [`Quote::trailing`] and reported as a warning by the verifier.

use crate::Check;
use crate::error::{Error, Result};
use crate::x509::pem_blocks;

pub(crate) const ENCLAVE_REPORT_LEN: usize = 384;
pub(crate) const TD_REPORT10_LEN: usize = 584;
pub(crate) const TD_REPORT15_LEN: usize = 648;
pub(crate) const TEE_TYPE_SGX: u32 = 0x0000_0000;
pub(crate) const TEE_TYPE_TDX: u32 = 0x0000_0081;
/// ECDSA-256-with-P-256 curve (the only attestation key type Intel's QVL accepts).
pub(crate) const ATTESTATION_KEY_ECDSA_P256: u16 = 2;
pub(crate) const ATTESTATION_KEY_ECDSA_P384: u16 = 3;
/// Intel's QE vendor ID.
pub(crate) const INTEL_QE_VENDOR_ID: [u8; 16] =
    [0x93, 0x9a, 0x72, 0x33, 0xf7, 0x9c, 0x4c, 0xa9, 0x94, 0x0a, 0x0d, 0xb3, 0x95, 0x7f, 0x06, 0x07];
/// Largest quote accepted (real quotes are about 5 KiB; certification data is PEM).
pub(crate) const MAX_QUOTE_SIZE: usize = 1 << 20;

const CHECK: Check = Check::DcapQuote;

fn err(detail: impl Into<String>) -> Error {
    Error::evidence(CHECK, detail)
}

/// A bounded little-endian reader over the quote that names fields and offsets in its errors.
struct Reader<'a> {
    b: &'a [u8],
    pos: usize,
    /// End of the region being read (the signature data length bounds nested reads).
    end: usize,
}

impl<'a> Reader<'a> {
    /// `field` names the field in errors; it is only formatted when there is one.
    fn take(&mut self, n: usize, field: impl std::fmt::Display) -> Result<&'a [u8]> {
        let start = self.pos;
        let stop = start.checked_add(n).filter(|&s| s <= self.end).ok_or_else(|| {
            err(format!(
                "{field} at offset {start:#x} needs {n} bytes but only {} remain in its enclosing structure (ends at {:#x})",
                self.end.saturating_sub(start),
                self.end
            ))
        })?;
        let s =
            self.b.get(start..stop).ok_or_else(|| err(format!("{field} at offset {start:#x} is outside the quote")))?;
        self.pos = stop;
        Ok(s)
    }
    fn arr<const N: usize>(&mut self, field: impl std::fmt::Display) -> Result<[u8; N]> {
        let s = self.take(N, field)?;
        let mut out = [0u8; N];
        out.copy_from_slice(s);
        Ok(out)
    }
    fn u16(&mut self, field: impl std::fmt::Display) -> Result<u16> {
        Ok(u16::from_le_bytes(self.arr::<2>(field)?))
    }
    fn u32(&mut self, field: impl std::fmt::Display) -> Result<u32> {
        Ok(u32::from_le_bytes(self.arr::<4>(field)?))
    }
}

/// `<structure>.<field>`, formatted only for an error message.
struct Field<'a>(&'a str, &'static str);

impl std::fmt::Display for Field<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.0, self.1)
    }
}

/// The 48-byte quote header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// Version (offset 0, 2 bytes): 3, 4 or 5.
    pub version: u16,
    /// Attestation Key Type (offset 2, 2 bytes): 2 ECDSA-256-with-P-256 (the only one accepted),
    /// 3 ECDSA-384-with-P-384.
    pub attestation_key_type: u16,
    /// v3: reserved (zero, SGX); v4/v5: 0x00 SGX, 0x81 TDX.
    pub tee_type: u32,
    /// v3: QE SVN; v4/v5: reserved.
    pub qe_svn: u16,
    /// v3: PCE SVN; v4/v5: reserved.
    pub pce_svn: u16,
    /// QE Vendor ID (offset 12, 16 bytes): Intel's QE is 939a7233-f79c-4ca9-940a-0db3957f0607.
    pub qe_vendor_id: [u8; 16],
    /// User Data (offset 28, 20 bytes): QE-defined; Intel's QE puts a platform identifier in the
    /// first 16 bytes.
    pub user_data: [u8; 20],
}

/// An SGX enclave report body (SGX_REPORT_BODY, 384 bytes): the body of an SGX quote and the QE
/// report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnclaveReport {
    /// CPUSVN (report offset 0, 16 bytes): the security version of the CPU.
    pub cpu_svn: [u8; 16],
    /// MISCSELECT (report offset 16, 4 bytes): the extended SSA frame features selected.
    pub misc_select: u32,
    /// Reserved (report offset 20, 28 bytes).
    pub reserved1: [u8; 28],
    /// ATTRIBUTES (report offset 48, 16 bytes): the enclave's attributes (flags, then XFRM).
    pub attributes: [u8; 16],
    /// MRENCLAVE (report offset 64, 32 bytes): the enclave's build-time measurement (SHA-256).
    pub mr_enclave: [u8; 32],
    /// Reserved (report offset 96, 32 bytes).
    pub reserved2: [u8; 32],
    /// MRSIGNER (report offset 128, 32 bytes): SHA-256 of the enclave signer's public key.
    pub mr_signer: [u8; 32],
    /// Reserved (report offset 160, 96 bytes).
    pub reserved3: [u8; 96],
    /// ISVPRODID (report offset 256, 2 bytes): the enclave's product ID.
    pub isv_prod_id: u16,
    /// ISVSVN (report offset 258, 2 bytes): the enclave's security version.
    pub isv_svn: u16,
    /// Reserved (report offset 260, 60 bytes).
    pub reserved4: [u8; 60],
    /// REPORTDATA (report offset 320, 64 bytes): data the enclave bound into the report.
    pub report_data: [u8; 64],
    /// The 384 received bytes (the QE report signature is over them).
    pub raw: Vec<u8>,
}

impl EnclaveReport {
    fn read(r: &mut Reader<'_>, what: &str) -> Result<Self> {
        let start = r.pos;
        let f = |n: &'static str| Field(what, n);
        let rep = EnclaveReport {
            cpu_svn: r.arr(f("cpuSvn"))?,
            misc_select: r.u32(f("miscSelect"))?,
            reserved1: r.arr(f("reserved1"))?,
            attributes: r.arr(f("attributes"))?,
            mr_enclave: r.arr(f("mrEnclave"))?,
            reserved2: r.arr(f("reserved2"))?,
            mr_signer: r.arr(f("mrSigner"))?,
            reserved3: r.arr(f("reserved3"))?,
            isv_prod_id: r.u16(f("isvProdID"))?,
            isv_svn: r.u16(f("isvSvn"))?,
            reserved4: r.arr(f("reserved4"))?,
            report_data: r.arr(f("reportData"))?,
            raw: Vec::new(),
        };
        let raw = r.b.get(start..r.pos).map(|s| s.to_vec()).unwrap_or_default();
        Ok(EnclaveReport { raw, ..rep })
    }
    /// ATTRIBUTES.DEBUG (bit 1 of the first byte).
    pub(crate) fn debug(&self) -> bool {
        self.attributes[0] & 0x02 != 0
    }
}

/// A TD report body: TDX 1.0 (584 bytes), TDX 1.5 adds TEE_TCB_SVN2 and MRSERVICETD (648 bytes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TdReport {
    /// TEE_TCB_SVN (TD report offset 0, 16 bytes): the security versions of the TDX TCB.
    pub tee_tcb_svn: [u8; 16],
    /// MRSEAM (TD report offset 16, 48 bytes): the measurement of the TDX module.
    pub mr_seam: [u8; 48],
    /// MRSIGNERSEAM (TD report offset 64, 48 bytes): the measurement of the TDX module's signer
    /// (zero for Intel's).
    pub mr_signer_seam: [u8; 48],
    /// SEAMATTRIBUTES (TD report offset 112, 8 bytes): the TDX module's attributes.
    pub seam_attributes: [u8; 8],
    /// TDATTRIBUTES (TD report offset 120, 8 bytes): the TD's attributes (DEBUG, SEPT_VE_DISABLE,
    /// ...).
    pub td_attributes: [u8; 8],
    /// XFAM (TD report offset 128, 8 bytes): the extended (XSAVE) features the TD may use.
    pub xfam: [u8; 8],
    /// MRTD (TD report offset 136, 48 bytes): the TD's build-time measurement.
    pub mr_td: [u8; 48],
    /// MRCONFIGID (TD report offset 184, 48 bytes): software-defined ID of the TD's configuration.
    pub mr_config_id: [u8; 48],
    /// MROWNER (TD report offset 232, 48 bytes): software-defined ID of the TD's owner.
    pub mr_owner: [u8; 48],
    /// MROWNERCONFIG (TD report offset 280, 48 bytes): software-defined ID of the owner's
    /// configuration.
    pub mr_owner_config: [u8; 48],
    /// RTMR0..3 (TD report offsets 328, 376, 424, 472; 48 bytes each): the run-time extendable
    /// measurement registers.
    pub rt_mr: [[u8; 48]; 4],
    /// REPORTDATA (TD report offset 520, 64 bytes): data the TD bound into the report.
    pub report_data: [u8; 64],
    /// TEE_TCB_SVN2 (TD report offset 584, 16 bytes; TDX 1.5 only): the security versions of the
    /// TDX TCB after a TD-preserving module update.
    pub tee_tcb_svn2: Option<[u8; 16]>,
    /// MRSERVICETD (TD report offset 600, 48 bytes; TDX 1.5 only): the hash of the service TDs
    /// bound to the TD.
    pub mr_service_td: Option<[u8; 48]>,
}

impl TdReport {
    fn read(r: &mut Reader<'_>, td15: bool) -> Result<Self> {
        Ok(TdReport {
            tee_tcb_svn: r.arr("body.teeTcbSvn")?,
            mr_seam: r.arr("body.mrSeam")?,
            mr_signer_seam: r.arr("body.mrSignerSeam")?,
            seam_attributes: r.arr("body.seamAttributes")?,
            td_attributes: r.arr("body.tdAttributes")?,
            xfam: r.arr("body.xFAM")?,
            mr_td: r.arr("body.mrTd")?,
            mr_config_id: r.arr("body.mrConfigId")?,
            mr_owner: r.arr("body.mrOwner")?,
            mr_owner_config: r.arr("body.mrOwnerConfig")?,
            rt_mr: [r.arr("body.rtMr0")?, r.arr("body.rtMr1")?, r.arr("body.rtMr2")?, r.arr("body.rtMr3")?],
            report_data: r.arr("body.reportData")?,
            tee_tcb_svn2: if td15 { Some(r.arr("body.teeTcbSvn2")?) } else { None },
            mr_service_td: if td15 { Some(r.arr("body.mrServiceTd")?) } else { None },
        })
    }
    /// TDATTRIBUTES as a little-endian u64.
    pub(crate) fn td_attributes_u64(&self) -> u64 {
        u64::from_le_bytes(self.td_attributes)
    }
}

/// TDATTRIBUTES bits (TDX module ABI).
pub(crate) mod td_attr {
    pub(crate) const DEBUG: u64 = 1 << 0;
    pub(crate) const SEPT_VE_DISABLE: u64 = 1 << 28;
    pub(crate) const PKS: u64 = 1 << 30;
    pub(crate) const KL: u64 = 1 << 31;
    pub(crate) const PERFMON: u64 = 1 << 63;
    /// TUD bits 7:1 and SEC bits 27:8, 29 reserved (must be zero).
    pub(crate) const RESERVED: u64 = 0x0FFF_FFFE | (1 << 29) | (0x7FFF_FFFF << 32);
}

/// The quote body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body {
    /// SGX enclave report (v3, v4 with TEE type SGX, v5 body type 1).
    Sgx(EnclaveReport),
    /// TD report for TDX 1.0 (v4, v5 body type 2).
    Td10(TdReport),
    /// TD report for TDX 1.5 (v5 body type 3).
    Td15(TdReport),
}

impl Body {
    /// The TD report (TDX 1.0 or 1.5); `None` for an SGX body.
    pub fn td(&self) -> Option<&TdReport> {
        match self {
            Body::Td10(t) | Body::Td15(t) => Some(t),
            Body::Sgx(_) => None,
        }
    }
    pub(crate) fn report_data(&self) -> &[u8; 64] {
        match self {
            Body::Sgx(e) => &e.report_data,
            Body::Td10(t) | Body::Td15(t) => &t.report_data,
        }
    }
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Body::Sgx(_) => "SGX enclave report",
            Body::Td10(_) => "TD report (TDX 1.0)",
            Body::Td15(_) => "TD report (TDX 1.5)",
        }
    }
}

/// Certification data (`certificationDataType`, `certificationDataSize`, data).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificationData {
    /// Certification Data Type (2 bytes): 1 to 6, see [`CertData`].
    pub cert_type: u16,
    /// Size (4 bytes): the length of the data that follows.
    pub size: u32,
    /// Offset of the data in the quote.
    pub offset: usize,
    /// The data, parsed by type.
    pub data: CertData,
}

/// Certification data by type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CertData {
    /// Type 1: PPID in clear text, CPUSVN, PCESVN, PCEID.
    PpidCleartext {
        /// PPID (16 bytes): the platform provisioning ID.
        ppid: [u8; 16],
        /// CPUSVN (16 bytes).
        cpu_svn: [u8; 16],
        /// PCESVN (2 bytes).
        pce_svn: u16,
        /// PCEID (2 bytes).
        pce_id: u16,
    },
    /// Types 2 and 3: PPID encrypted with RSA-2048-OAEP / RSA-3072-OAEP, CPUSVN, PCESVN, PCEID.
    PpidEncrypted {
        /// The encrypted PPID (256 bytes for type 2, 384 for type 3).
        encrypted_ppid: Vec<u8>,
        /// CPUSVN (16 bytes).
        cpu_svn: [u8; 16],
        /// PCESVN (2 bytes).
        pce_svn: u16,
        /// PCEID (2 bytes).
        pce_id: u16,
    },
    /// Type 4: the PCK leaf certificate (PEM), DER per certificate.
    PckLeaf {
        /// The data as received (PEM text, NUL padding included).
        pem: Vec<u8>,
        /// The DER of each certificate, in order.
        der: Vec<Vec<u8>>,
    },
    /// Type 5: the PCK certificate chain (PEM: PCK, PCK CA, root), DER per certificate.
    PckChain {
        /// The data as received (PEM text, NUL padding included).
        pem: Vec<u8>,
        /// The DER of each certificate, in order (leaf first).
        der: Vec<Vec<u8>>,
    },
    /// Type 6: QE report certification data.
    QeReport(Box<QeReportCertificationData>),
}

/// Type-6 certification data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QeReportCertificationData {
    /// QE Report (384 bytes): the Quoting Enclave's SGX report; its REPORTDATA binds the
    /// attestation key and the QE authentication data.
    pub qe_report: EnclaveReport,
    /// QE Report Signature (64 bytes): ECDSA P-256 signature (r || s) of the QE report by the PCK.
    pub qe_report_signature: [u8; 64],
    /// QE Authentication Data (2-byte size, then the data).
    pub qe_auth_data: Vec<u8>,
    /// The nested certification data (types 1 to 5; in practice type 5, the PCK chain).
    pub certification_data: CertificationData,
}

fn read_pem(data: &[u8], off: usize, what: &str) -> Result<Vec<Vec<u8>>> {
    // Trailing NULs are common (QE pads the chain); anything else must be PEM.
    let end = data.iter().rposition(|&b| b != 0).map(|p| p + 1).unwrap_or(0);
    let text = std::str::from_utf8(&data[..end])
        .map_err(|e| err(format!("{what} at offset {off:#x} is not PEM text: {e}")))?;
    let blocks = pem_blocks(text).map_err(|e| err(format!("{what} at offset {off:#x}: {e}")))?;
    if blocks.is_empty() {
        return Err(err(format!("{what} at offset {off:#x} holds no PEM certificate")));
    }
    let mut out = Vec::with_capacity(blocks.len());
    for (label, der) in blocks {
        if label != "CERTIFICATE" {
            return Err(err(format!("{what} at offset {off:#x}: PEM block '{label}' is not a CERTIFICATE")));
        }
        out.push(der);
    }
    Ok(out)
}

impl CertificationData {
    fn read(r: &mut Reader<'_>, what: &str, nested: bool) -> Result<Self> {
        let type_off = r.pos;
        let cert_type = r.u16(Field(what, "certificationDataType"))?;
        let size = r.u32(Field(what, "certificationDataSize"))?;
        let offset = r.pos;
        let data = r.take(size as usize, format_args!("{what}.certificationData (type {cert_type})"))?;
        let mut sub = Reader { b: r.b, pos: offset, end: offset + data.len() };
        let fixed = |n: usize| -> Result<()> {
            if data.len() != n {
                return Err(err(format!(
                    "{what}: certification data type {cert_type} at offset {offset:#x} is {} bytes, its layout is {n}",
                    data.len()
                )));
            }
            Ok(())
        };
        let parsed = match cert_type {
            1 => {
                fixed(36)?;
                CertData::PpidCleartext {
                    ppid: sub.arr("ppid")?,
                    cpu_svn: sub.arr("cpuSvn")?,
                    pce_svn: sub.u16("pceSvn")?,
                    pce_id: sub.u16("pceId")?,
                }
            }
            2 | 3 => {
                let n = if cert_type == 2 { 256 } else { 384 };
                fixed(n + 20)?;
                CertData::PpidEncrypted {
                    encrypted_ppid: sub.take(n, "encryptedPpid")?.to_vec(),
                    cpu_svn: sub.arr("cpuSvn")?,
                    pce_svn: sub.u16("pceSvn")?,
                    pce_id: sub.u16("pceId")?,
                }
            }
            4 => CertData::PckLeaf { pem: data.to_vec(), der: read_pem(data, offset, "PCK certificate (type 4)")? },
            5 => CertData::PckChain {
                pem: data.to_vec(),
                der: read_pem(data, offset, "PCK certificate chain (type 5)")?,
            },
            6 if !nested => {
                let qe_report = EnclaveReport::read(&mut sub, "qeReport")?;
                let qe_report_signature = sub.arr("qeReportSignature")?;
                let auth_len = sub.u16("qeAuthData.size")?;
                let qe_auth_data = sub.take(auth_len as usize, "qeAuthData.data")?.to_vec();
                let inner = CertificationData::read(&mut sub, "qeReportCertificationData", true)?;
                if sub.pos != sub.end {
                    return Err(err(format!(
                        "QE report certification data (type 6) at offset {offset:#x}: {} bytes after the nested certification data at offset {:#x}",
                        sub.end - sub.pos,
                        sub.pos
                    )));
                }
                CertData::QeReport(Box::new(QeReportCertificationData {
                    qe_report,
                    qe_report_signature,
                    qe_auth_data,
                    certification_data: inner,
                }))
            }
            6 => {
                return Err(err(format!(
                    "{what}: certification data type 6 at offset {type_off:#x} nested inside type 6 (only types 1..5 may be nested)"
                )));
            }
            other => {
                return Err(err(format!(
                    "{what}: certification data type {other} at offset {type_off:#x} is unknown (supported: 1..6)"
                )));
            }
        };
        Ok(CertificationData { cert_type, size, offset, data: parsed })
    }

    /// The PCK chain, DER, leaf first (types 4 and 5).
    pub fn pck_chain(&self) -> Option<&[Vec<u8>]> {
        match &self.data {
            CertData::PckChain { der, .. } | CertData::PckLeaf { der, .. } => Some(der),
            _ => None,
        }
    }
}

/// A parsed quote. `raw` is the quote itself (header through signature data), without any
/// trailing bytes of the buffer it came in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quote {
    /// The header (offset 0, 48 bytes).
    pub header: Header,
    /// v5 only: (body type, body size).
    pub body_descriptor: Option<(u16, u32)>,
    /// The body (offset 48; v5: 54, after the body descriptor).
    pub body: Body,
    /// Header (+ v5 body descriptor) + body: the bytes the attestation key signs.
    pub signed_len: usize,
    /// Declared length of the signature data (`authDataSize`).
    pub signature_data_len: u32,
    /// ECDSA signature (64 bytes, r || s) of the signed bytes by the attestation key.
    pub quote_signature: [u8; 64],
    /// Raw P-256 point x || y (64 bytes).
    pub attestation_key: [u8; 64],
    /// The QE report (v3: in the signature data; v4/v5: from the type-6 certification data).
    pub qe_report: EnclaveReport,
    /// The QE report signature by the PCK (64 bytes, r || s).
    pub qe_report_signature: [u8; 64],
    /// The QE authentication data.
    pub qe_auth_data: Vec<u8>,
    /// v4/v5: the outer certification data (type 6); v3: the only one.
    pub outer_certification: CertificationData,
    /// The quote bytes, header through the end of the signature data.
    pub raw: Vec<u8>,
    /// Bytes of the input after the declared signature data (ignored; a warning).
    pub trailing: usize,
    /// Whether every trailing byte is zero (configfs-tsm padding).
    pub trailing_zero: bool,
}

impl Quote {
    /// Parses a quote, possibly followed by padding or other bytes.
    pub fn parse(b: &[u8]) -> Result<Self> {
        if b.len() > MAX_QUOTE_SIZE {
            return Err(err(format!("{} bytes is larger than the {MAX_QUOTE_SIZE} accepted for a quote", b.len())));
        }
        let mut r = Reader { b, pos: 0, end: b.len() };
        let header = Header {
            version: r.u16("header.version")?,
            attestation_key_type: r.u16("header.attestationKeyType")?,
            tee_type: r.u32("header.teeType")?,
            qe_svn: r.u16("header.qeSvn")?,
            pce_svn: r.u16("header.pceSvn")?,
            qe_vendor_id: r.arr("header.qeVendorId")?,
            user_data: r.arr("header.userData")?,
        };
        if !(3..=5).contains(&header.version) {
            return Err(err(format!(
                "header.version at offset 0x0 is {}; supported quote versions are 3 (SGX), 4 and 5",
                header.version
            )));
        }
        match header.attestation_key_type {
            ATTESTATION_KEY_ECDSA_P256 => {}
            ATTESTATION_KEY_ECDSA_P384 => {
                return Err(err(
                    "header.attestationKeyType at offset 0x2 is 3 (ECDSA-384-with-P-384), which Intel's QVL does not support",
                ));
            }
            k => {
                return Err(err(format!(
                    "header.attestationKeyType at offset 0x2 is {k}, not 2 (ECDSA-256-with-P-256)"
                )));
            }
        }
        let tee_name = match header.tee_type {
            TEE_TYPE_SGX => "SGX",
            TEE_TYPE_TDX => "TDX",
            t => return Err(err(format!("header.teeType at offset 0x4 is {t:#x}, neither 0x0 (SGX) nor 0x81 (TDX)"))),
        };
        if header.version == 3 && header.tee_type != TEE_TYPE_SGX {
            return Err(err(format!("quote v3 is SGX only, but header.teeType is {tee_name}")));
        }
        if header.qe_vendor_id != INTEL_QE_VENDOR_ID {
            return Err(err(format!(
                "header.qeVendorId at offset 0xc is {}, not Intel's QE vendor ID {}",
                hex::encode(header.qe_vendor_id),
                hex::encode(INTEL_QE_VENDOR_ID)
            )));
        }
        let (body_descriptor, body) = if header.version >= 5 {
            let body_type = r.u16("bodyDescriptor.type")?;
            let size = r.u32("bodyDescriptor.size")?;
            let (want, body) = match body_type {
                1 => (ENCLAVE_REPORT_LEN, None),
                2 => (TD_REPORT10_LEN, Some(false)),
                3 => (TD_REPORT15_LEN, Some(true)),
                t => {
                    return Err(err(format!(
                        "bodyDescriptor.type at offset 0x30 is {t}; known: 1 (SGX enclave report), 2 (TD 1.0), 3 (TD 1.5)"
                    )));
                }
            };
            if size as usize != want {
                return Err(err(format!(
                    "bodyDescriptor.size at offset 0x32 is {size}, but body type {body_type} is {want} bytes"
                )));
            }
            let consistent = matches!((body_type, header.tee_type), (1, TEE_TYPE_SGX) | (2 | 3, TEE_TYPE_TDX));
            if !consistent {
                return Err(err(format!("bodyDescriptor.type {body_type} does not match header.teeType {tee_name}")));
            }
            let parsed = match body {
                None => Body::Sgx(EnclaveReport::read(&mut r, "body")?),
                Some(false) => Body::Td10(TdReport::read(&mut r, false)?),
                Some(true) => Body::Td15(TdReport::read(&mut r, true)?),
            };
            (Some((body_type, size)), parsed)
        } else if header.tee_type == TEE_TYPE_SGX {
            (None, Body::Sgx(EnclaveReport::read(&mut r, "body")?))
        } else {
            (None, Body::Td10(TdReport::read(&mut r, false)?))
        };
        let signed_len = r.pos;
        let len_off = r.pos;
        let signature_data_len = r.u32("signatureDataLength")?;
        let sig_start = r.pos;
        let sig_end =
            sig_start.checked_add(signature_data_len as usize).filter(|&e| e <= b.len()).ok_or_else(|| {
                err(format!(
                    "signatureDataLength at offset {len_off:#x} is {signature_data_len}, but only {} bytes follow it",
                    b.len().saturating_sub(sig_start)
                ))
            })?;
        r.end = sig_end;
        let quote_signature = r.arr("signatureData.ecdsa256BitSignature")?;
        let attestation_key = r.arr("signatureData.ecdsaAttestationKey")?;
        let (qe_report, qe_report_signature, qe_auth_data, outer) = if header.version == 3 {
            let qe_report = EnclaveReport::read(&mut r, "qeReport")?;
            let sig = r.arr("qeReportSignature")?;
            let auth_len = r.u16("qeAuthData.size")?;
            let auth = r.take(auth_len as usize, "qeAuthData.data")?.to_vec();
            let cd = CertificationData::read(&mut r, "signatureData", true)?;
            (qe_report, sig, auth, cd)
        } else {
            let cd = CertificationData::read(&mut r, "signatureData", false)?;
            let CertData::QeReport(q) = &cd.data else {
                return Err(err(format!(
                    "quote v{} needs certification data type 6 (QE report certification data) at offset {:#x}, found type {}",
                    header.version,
                    cd.offset - 6,
                    cd.cert_type
                )));
            };
            (q.qe_report.clone(), q.qe_report_signature, q.qe_auth_data.clone(), cd)
        };
        if r.pos != sig_end {
            return Err(err(format!(
                "signature data declares {signature_data_len} bytes but its structures end at offset {:#x}, {} bytes early",
                r.pos,
                sig_end - r.pos
            )));
        }
        let tail = b.get(sig_end..).unwrap_or(&[]);
        Ok(Quote {
            header,
            body_descriptor,
            body,
            signed_len,
            signature_data_len,
            quote_signature,
            attestation_key,
            qe_report,
            qe_report_signature,
            qe_auth_data,
            outer_certification: outer,
            raw: b.get(..sig_end).map(|s| s.to_vec()).unwrap_or_default(),
            trailing: tail.len(),
            trailing_zero: tail.iter().all(|&x| x == 0),
        })
    }

    /// The bytes the attestation key signs: header (+ v5 body descriptor) + body.
    pub fn signed_bytes(&self) -> &[u8] {
        self.raw.get(..self.signed_len).unwrap_or(&[])
    }

    /// The certification data that carries the PCK (v3: the only one; v4/v5: nested in type 6).
    pub fn pck_certification(&self) -> &CertificationData {
        match &self.outer_certification.data {
            CertData::QeReport(q) => &q.certification_data,
            _ => &self.outer_certification,
        }
    }

    /// Whether `header.teeType` is TDX (0x81).
    pub fn is_tdx(&self) -> bool {
        self.header.tee_type == TEE_TYPE_TDX
    }
}

/// `show` of a DCAP quote: every field of the header, body and signature data.
pub fn describe(quote: &[u8]) -> Result<serde_json::Value> {
    let q = Quote::parse(quote)?;
    Ok(serde_json::json!({"quote": super::claims::quote_fields(&q)}))
}
