//! A simulated Intel SGX/TDX DCAP PKI and quoting enclave, derived from the published [`SEED`]
//! (NOT A TRUST ANCHOR): the Intel SGX Root CA, the PCK Platform CA, PCK certificates with the
//! SGX extension (OID 1.2.840.113741.1.13.1: PPID, TCB = 16 components + PCESVN + CPUSVN,
//! PCE-ID, FMSPC, SGX type), the TCB Signing certificate, the Root CA CRL and the PCK CRL,
//! signed TCB info (TDX / SGX, version 3) and enclave identity (TD_QE / QE, version 2) in Intel's
//! PCS response shape, and a QE + attestation key that produce TDX v4, TDX v5 (TD 1.5) and SGX
//! v3 quotes with certification data type 6 (QE report signed by the PCK key, QE report data =
//! SHA-256(attestation key || QE auth data) || zeros, a type-5 PEM PCK chain inside).
//!
//! Everything is ECDSA P-256 with SHA-256 like Intel's, and deterministic: the keys come from
//! `rng_for(["intel", label])`, the signatures are RFC 6979. Subject common names are Intel's (the
//! verifier selects certificates by them); the organisation is `cloud-ra SIMULATED (not Intel)`.
//! A verifier trusts the root only by its SHA-256, and only when asked to trust simulated roots.
//!
//! [`SEED`]: crate::SEED

use super::{aki_value, der, extension, pem, rng_for, sha256, ski_ext};
use p256::ecdsa::signature::Signer as _;
use p256::ecdsa::{DerSignature, Signature, SigningKey};
use std::sync::OnceLock;

const OID_ECDSA_SHA256: &str = "1.2.840.10045.4.3.2";
const OID_EC_PUBLIC_KEY: &str = "1.2.840.10045.2.1";
const OID_PRIME256V1: &str = "1.2.840.10045.3.1.7";
const OID_KEY_USAGE: &str = "2.5.29.15";
const OID_BASIC_CONSTRAINTS: &str = "2.5.29.19";
const OID_CRL_NUMBER: &str = "2.5.29.20";
const OID_AUTHORITY_KEY_ID: &str = "2.5.29.35";
/// Intel's SGX extension of PCK certificates.
pub const OID_SGX_EXTENSION: &str = "1.2.840.113741.1.13.1";

pub const ROOT_CN: &str = "Intel SGX Root CA";
pub const PLATFORM_CA_CN: &str = "Intel SGX PCK Platform CA";
pub const TCB_SIGNING_CN: &str = "Intel SGX TCB Signing";
pub const PCK_CN: &str = "Intel SGX PCK Certificate";
/// `O=` of every simulated Intel certificate.
pub const SIM_ORGANIZATION: &str = "cloud-ra SIMULATED (not Intel)";

/// Validity of the simulated CA and TCB Signing certificates: 2019-01-01 .. 2100-01-01.
pub const CA_NOT_BEFORE: i64 = crate::CA_NOT_BEFORE;
pub const CA_NOT_AFTER: i64 = crate::CA_NOT_AFTER;

/// The simulated platform's FMSPC, PCE-ID and PCK TCB.
pub const SIM_FMSPC: [u8; 6] = [0x5A, 0x1A, 0x0C, 0x00, 0x00, 0x00];
pub const SIM_PCE_ID: [u8; 2] = [0x00, 0x00];
pub const SIM_SGX_TCB: [u8; 16] = [7, 7, 2, 2, 4, 1, 0, 5, 0, 0, 0, 0, 0, 0, 0, 0];
pub const SIM_PCE_SVN: u16 = 13;
/// TEE_TCB_SVN of the simulated TD: TDX module SVN 5, module version 1 (TDX_01), then 3.
pub const SIM_TEE_TCB_SVN: [u8; 16] = [5, 1, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
/// The simulated QE's ISVSVN and the QE identities' UpToDate level.
pub const SIM_QE_ISVSVN: u16 = 8;
/// Intel's QE vendor ID.
pub const INTEL_QE_VENDOR_ID: [u8; 16] =
    [0x93, 0x9a, 0x72, 0x33, 0xf7, 0x9c, 0x4c, 0xa9, 0x94, 0x0a, 0x0d, 0xb3, 0x95, 0x7f, 0x06, 0x07];

fn key(label: &str) -> SigningKey {
    SigningKey::random(&mut rng_for(&[b"intel", label.as_bytes()]))
}

fn spki(k: &SigningKey) -> Vec<u8> {
    let point = k.verifying_key().to_encoded_point(false);
    der::sequence(&[
        &der::sequence(&[&der::oid(OID_EC_PUBLIC_KEY), &der::oid(OID_PRIME256V1)]),
        &der::bit_string(point.as_bytes()),
    ])
}

/// subjectKeyIdentifier: SHA-256 of the point, first 20 bytes.
fn key_id(k: &SigningKey) -> [u8; 20] {
    let mut id = [0u8; 20];
    id.copy_from_slice(&sha256(k.verifying_key().to_encoded_point(false).as_bytes())[..20]);
    id
}

/// Intel's name shape: CN, O, L, ST, C.
fn name(cn: &str) -> Vec<u8> {
    let rdn = |oid: &str, value: Vec<u8>| der::set(&[&der::sequence(&[&der::oid(oid), &value])]);
    der::sequence_of(&[
        rdn("2.5.4.3", der::utf8_string(cn)),
        rdn("2.5.4.10", der::utf8_string(SIM_ORGANIZATION)),
        rdn("2.5.4.7", der::utf8_string("Santa Clara")),
        rdn("2.5.4.8", der::utf8_string("CA")),
        rdn("2.5.4.6", der::printable_string("US")),
    ])
}

fn ecdsa_alg() -> Vec<u8> {
    der::sequence(&[&der::oid(OID_ECDSA_SHA256)])
}

fn sign_der(k: &SigningKey, tbs: &[u8]) -> Vec<u8> {
    let sig: DerSignature = k.sign(tbs);
    der::sequence(&[tbs, &ecdsa_alg(), &der::bit_string(sig.as_bytes())])
}

/// ECDSA P-256/SHA-256 as Intel writes it in quotes and JSON: big-endian r || s.
fn sign_raw(k: &SigningKey, msg: &[u8]) -> [u8; 64] {
    let sig: Signature = k.sign(msg);
    let mut out = [0u8; 64];
    out.copy_from_slice(&sig.to_bytes());
    out
}

fn hexs(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn hex_upper(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02X}")).collect()
}

/// RFC 3339 UTC, second precision, as Intel writes issueDate/nextUpdate.
pub fn rfc3339(t: i64) -> String {
    let (y, mo, d, h, mi, s) = der::civil_from_unix(t);
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z")
}

struct CertIn<'a> {
    serial: &'a [u8],
    issuer_cn: &'a str,
    issuer_key: &'a SigningKey,
    subject_cn: &'a str,
    subject_key: &'a SigningKey,
    not_before: i64,
    not_after: i64,
    /// Some(pathlen) for CAs (None = no pathlen), None for end entities.
    ca: Option<Option<u64>>,
    extra: Vec<Vec<u8>>,
}

fn cert(c: &CertIn<'_>) -> Vec<u8> {
    let (bc, ku) = match c.ca {
        Some(None) => (der::sequence(&[&der::boolean(true)]), der::named_bits(&[5, 6])),
        Some(Some(n)) => (der::sequence(&[&der::boolean(true), &der::small_uint(n)]), der::named_bits(&[5, 6])),
        // digitalSignature + nonRepudiation, like Intel's PCK and TCB Signing certificates.
        None => (der::sequence(&[]), der::named_bits(&[0, 1])),
    };
    let mut exts = vec![
        extension(OID_AUTHORITY_KEY_ID, false, &aki_value(&key_id(c.issuer_key))),
        ski_ext(&key_id(c.subject_key)),
        extension(OID_KEY_USAGE, true, &ku),
        extension(OID_BASIC_CONSTRAINTS, true, &bc),
    ];
    exts.extend(c.extra.iter().cloned());
    let tbs = der::sequence_of(&[
        der::explicit(0, &der::small_uint(2)),
        der::uint(c.serial),
        ecdsa_alg(),
        name(c.issuer_cn),
        der::sequence(&[&der::time(c.not_before), &der::time(c.not_after)]),
        name(c.subject_cn),
        spki(c.subject_key),
        der::explicit(3, &der::sequence_of(&exts)),
    ]);
    sign_der(c.issuer_key, &tbs)
}

/// What a simulated PCK certificate says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PckSpec {
    pub ppid: [u8; 16],
    pub sgx_tcb: [u8; 16],
    pub pce_svn: u16,
    pub cpu_svn: [u8; 16],
    pub pce_id: [u8; 2],
    pub fmspc: [u8; 6],
    /// 0 Standard, 1 Scalable, 2 Scalable with integrity.
    pub sgx_type: u8,
    pub serial: Vec<u8>,
    pub not_before: i64,
    pub not_after: i64,
}

impl Default for PckSpec {
    fn default() -> Self {
        let mut ppid = [0u8; 16];
        ppid.copy_from_slice(&sha256(b"cloud-ra sim ppid")[..16]);
        PckSpec {
            ppid,
            sgx_tcb: SIM_SGX_TCB,
            pce_svn: SIM_PCE_SVN,
            cpu_svn: SIM_SGX_TCB,
            pce_id: SIM_PCE_ID,
            fmspc: SIM_FMSPC,
            sgx_type: 1,
            serial: vec![0x5C, 0x1A, 0x0C, 0x4B, 0x00, 0x01],
            not_before: crate::VEK_NOT_BEFORE,
            not_after: crate::VEK_NOT_AFTER,
        }
    }
}

/// The SGX extension value (SEQUENCE of { OID, value }).
fn sgx_extension(p: &PckSpec) -> Vec<u8> {
    let arc = |tail: &[u64]| {
        let mut a = vec![1, 2, 840, 113741, 1, 13, 1];
        a.extend_from_slice(tail);
        der::oid_arcs(&a)
    };
    let mut tcb: Vec<Vec<u8>> = (0..16)
        .map(|i| der::sequence(&[&arc(&[2, i as u64 + 1]), &der::small_uint(u64::from(p.sgx_tcb[i]))]))
        .collect();
    tcb.push(der::sequence(&[&arc(&[2, 17]), &der::small_uint(u64::from(p.pce_svn))]));
    tcb.push(der::sequence(&[&arc(&[2, 18]), &der::octet_string(&p.cpu_svn)]));
    der::sequence_of(&[
        der::sequence(&[&arc(&[1]), &der::octet_string(&p.ppid)]),
        der::sequence(&[&arc(&[2]), &der::sequence_of(&tcb)]),
        der::sequence(&[&arc(&[3]), &der::octet_string(&p.pce_id)]),
        der::sequence(&[&arc(&[4]), &der::octet_string(&p.fmspc)]),
        der::sequence(&[&arc(&[5]), &der::tlv(0x0A, &[p.sgx_type])]),
    ])
}

/// Who issues a CRL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CrlIssuer {
    Root,
    PlatformCa,
}

/// A simulated Root CA CRL or PCK CRL (every entry revoked at `this_update`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntelCrlSpec {
    pub issuer: CrlIssuer,
    pub this_update: i64,
    pub next_update: i64,
    pub revoked: Vec<Vec<u8>>,
}

impl IntelCrlSpec {
    /// An empty CRL valid from `now - 1 day` to `now + 30 days`.
    pub fn fresh(issuer: CrlIssuer, now: i64) -> Self {
        IntelCrlSpec { issuer, this_update: now - 86_400, next_update: now + 30 * 86_400, revoked: Vec::new() }
    }
}

/// One TCB level of a TCB info.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LevelSpec {
    pub sgx: [u8; 16],
    pub pcesvn: u16,
    /// TDX components (TCB info id TDX only).
    pub tdx: [u8; 16],
    pub status: String,
    pub date: String,
    pub advisories: Vec<String>,
}

/// A `tdxModuleIdentities` entry: id (`TDX_01`), mrsigner, and (isvsvn, status) levels, highest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModuleIdentitySpec {
    pub id: String,
    pub mrsigner: [u8; 48],
    pub levels: Vec<(u8, String)>,
}

/// A TCB info document (version 3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TcbInfoSpec {
    /// "TDX" or "SGX".
    pub id: String,
    pub version: u32,
    pub issue_date: i64,
    pub next_update: i64,
    pub fmspc: [u8; 6],
    pub pce_id: [u8; 2],
    pub tcb_evaluation_data_number: u32,
    /// TDX: the `tdxModule` mrsigner (the identities carry their own).
    pub tdx_module_mrsigner: [u8; 48],
    pub tdx_module_identities: Vec<ModuleIdentitySpec>,
    pub levels: Vec<LevelSpec>,
}

impl TcbInfoSpec {
    /// The simulated platform's TCB info, issued at `now - 1 day`, next update `now + 30 days`:
    /// one UpToDate level equal to the simulated platform and one older OutOfDate level.
    /// TDX adds the module identity TDX_01 (ISVSVN 5 UpToDate, 3 OutOfDate).
    pub fn new(tdx: bool, now: i64) -> Self {
        let mut older_sgx = SIM_SGX_TCB;
        older_sgx[0] -= 2;
        let mut older_tdx = SIM_TEE_TCB_SVN;
        older_tdx[2] -= 1;
        TcbInfoSpec {
            id: if tdx { "TDX" } else { "SGX" }.into(),
            version: 3,
            issue_date: now - 86_400,
            next_update: now + 30 * 86_400,
            fmspc: SIM_FMSPC,
            pce_id: SIM_PCE_ID,
            tcb_evaluation_data_number: 17,
            tdx_module_mrsigner: [0; 48],
            tdx_module_identities: if tdx {
                vec![ModuleIdentitySpec {
                    id: "TDX_01".into(),
                    mrsigner: [0; 48],
                    levels: vec![(5, "UpToDate".into()), (3, "OutOfDate".into())],
                }]
            } else {
                Vec::new()
            },
            levels: vec![
                LevelSpec {
                    sgx: SIM_SGX_TCB,
                    pcesvn: SIM_PCE_SVN,
                    tdx: SIM_TEE_TCB_SVN,
                    status: "UpToDate".into(),
                    date: "2029-11-13T00:00:00Z".into(),
                    advisories: Vec::new(),
                },
                LevelSpec {
                    sgx: older_sgx,
                    pcesvn: SIM_PCE_SVN,
                    tdx: older_tdx,
                    status: "OutOfDate".into(),
                    date: "2028-08-09T00:00:00Z".into(),
                    advisories: vec!["INTEL-SA-00960".into(), "INTEL-SA-00982".into()],
                },
            ],
        }
    }

    /// The `tcbInfo` value, compact, members in Intel's order.
    pub fn to_json(&self) -> String {
        let tdx = self.id == "TDX";
        let comps = |c: &[u8; 16]| c.iter().map(|v| format!("{{\"svn\":{v}}}")).collect::<Vec<_>>().join(",");
        let strs = |v: &[String]| v.iter().map(|s| format!("\"{s}\"")).collect::<Vec<_>>().join(",");
        let levels: Vec<String> = self
            .levels
            .iter()
            .map(|l| {
                let tdxc = if tdx { format!(",\"tdxtcbcomponents\":[{}]", comps(&l.tdx)) } else { String::new() };
                let adv = if l.advisories.is_empty() {
                    String::new()
                } else {
                    format!(",\"advisoryIDs\":[{}]", strs(&l.advisories))
                };
                format!(
                    "{{\"tcb\":{{\"sgxtcbcomponents\":[{}],\"pcesvn\":{}{tdxc}}},\"tcbDate\":\"{}\",\"tcbStatus\":\"{}\"{adv}}}",
                    comps(&l.sgx),
                    l.pcesvn,
                    l.date,
                    l.status
                )
            })
            .collect();
        let module = if tdx {
            let ids: Vec<String> = self
                .tdx_module_identities
                .iter()
                .map(|m| {
                    let lv: Vec<String> = m
                        .levels
                        .iter()
                        .map(|(svn, st)| {
                            format!(
                                "{{\"tcb\":{{\"isvsvn\":{svn}}},\"tcbDate\":\"2029-01-01T00:00:00Z\",\"tcbStatus\":\"{st}\"}}"
                            )
                        })
                        .collect();
                    format!(
                        "{{\"id\":\"{}\",\"mrsigner\":\"{}\",\"attributes\":\"0000000000000000\",\"attributesMask\":\"FFFFFFFFFFFFFFFF\",\"tcbLevels\":[{}]}}",
                        m.id,
                        hex_upper(&m.mrsigner),
                        lv.join(",")
                    )
                })
                .collect();
            format!(
                ",\"tdxModule\":{{\"mrsigner\":\"{}\",\"attributes\":\"0000000000000000\",\"attributesMask\":\"FFFFFFFFFFFFFFFF\"}},\"tdxModuleIdentities\":[{}]",
                hex_upper(&self.tdx_module_mrsigner),
                ids.join(",")
            )
        } else {
            String::new()
        };
        format!(
            "{{\"id\":\"{}\",\"version\":{},\"issueDate\":\"{}\",\"nextUpdate\":\"{}\",\"fmspc\":\"{}\",\"pceId\":\"{}\",\"tcbType\":0,\"tcbEvaluationDataNumber\":{}{module},\"tcbLevels\":[{}]}}",
            self.id,
            self.version,
            rfc3339(self.issue_date),
            rfc3339(self.next_update),
            hex_upper(&self.fmspc),
            hex_upper(&self.pce_id),
            self.tcb_evaluation_data_number,
            levels.join(",")
        )
    }
}

/// An enclave identity document (QE or TD_QE, version 2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QeIdentitySpec {
    /// "TD_QE" or "QE".
    pub id: String,
    pub version: u32,
    pub issue_date: i64,
    pub next_update: i64,
    pub tcb_evaluation_data_number: u32,
    pub miscselect: u32,
    pub miscselect_mask: u32,
    pub attributes: [u8; 16],
    pub attributes_mask: [u8; 16],
    pub mrsigner: [u8; 32],
    pub isvprodid: u16,
    /// (isvsvn, status), highest first.
    pub levels: Vec<(u16, String)>,
}

impl QeIdentitySpec {
    /// The identity of the simulated QE (TD_QE for TDX, QE for SGX): ISVSVN 8 UpToDate, 6 OutOfDate.
    pub fn new(tdx: bool, now: i64) -> Self {
        let mut attributes_mask = [0u8; 16];
        attributes_mask[..8].copy_from_slice(&[0xFB, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]);
        QeIdentitySpec {
            id: if tdx { "TD_QE" } else { "QE" }.into(),
            version: 2,
            issue_date: now - 86_400,
            next_update: now + 30 * 86_400,
            tcb_evaluation_data_number: 17,
            miscselect: 0,
            miscselect_mask: 0xFFFF_FFFF,
            attributes: {
                let mut a = [0u8; 16];
                a[0] = 0x11;
                a
            },
            attributes_mask,
            mrsigner: sim_qe_mrsigner(),
            isvprodid: if tdx { 2 } else { 1 },
            levels: vec![(SIM_QE_ISVSVN, "UpToDate".into()), (6, "OutOfDate".into())],
        }
    }

    /// The `enclaveIdentity` value, compact, members in Intel's order.
    pub fn to_json(&self) -> String {
        let lv: Vec<String> = self
            .levels
            .iter()
            .map(|(svn, st)| {
                format!("{{\"tcb\":{{\"isvsvn\":{svn}}},\"tcbDate\":\"2029-01-01T00:00:00Z\",\"tcbStatus\":\"{st}\"}}")
            })
            .collect();
        format!(
            "{{\"id\":\"{}\",\"version\":{},\"issueDate\":\"{}\",\"nextUpdate\":\"{}\",\"tcbEvaluationDataNumber\":{},\"miscselect\":\"{:08X}\",\"miscselectMask\":\"{:08X}\",\"attributes\":\"{}\",\"attributesMask\":\"{}\",\"mrsigner\":\"{}\",\"isvprodid\":{},\"tcbLevels\":[{}]}}",
            self.id,
            self.version,
            rfc3339(self.issue_date),
            rfc3339(self.next_update),
            self.tcb_evaluation_data_number,
            self.miscselect,
            self.miscselect_mask,
            hex_upper(&self.attributes),
            hex_upper(&self.attributes_mask),
            hex_upper(&self.mrsigner),
            self.isvprodid,
            lv.join(",")
        )
    }
}

/// MRSIGNER of the simulated QE: SHA-256(SEED-independent label).
pub fn sim_qe_mrsigner() -> [u8; 32] {
    sha256(b"cloud-ra simulated QE mrsigner")
}

/// An SGX enclave report (the QE report, or the body of an SGX quote), minus REPORTDATA.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QeSpec {
    pub cpu_svn: [u8; 16],
    pub misc_select: u32,
    pub attributes: [u8; 16],
    pub mr_enclave: [u8; 32],
    pub mr_signer: [u8; 32],
    pub isv_prod_id: u16,
    pub isv_svn: u16,
}

impl Default for QeSpec {
    /// The simulated QE (attributes INIT | MODE64BIT, not debug).
    fn default() -> Self {
        let mut attributes = [0u8; 16];
        attributes[0] = 0x11;
        attributes[8] = 0xE7;
        QeSpec {
            cpu_svn: SIM_SGX_TCB,
            misc_select: 0,
            attributes,
            mr_enclave: sha256(b"cloud-ra simulated QE mrenclave"),
            mr_signer: sim_qe_mrsigner(),
            isv_prod_id: 2,
            isv_svn: SIM_QE_ISVSVN,
        }
    }
}

fn enclave_report(e: &QeSpec, report_data: &[u8; 64]) -> Vec<u8> {
    let mut r = Vec::with_capacity(384);
    r.extend_from_slice(&e.cpu_svn);
    r.extend_from_slice(&e.misc_select.to_le_bytes());
    r.extend_from_slice(&[0u8; 28]);
    r.extend_from_slice(&e.attributes);
    r.extend_from_slice(&e.mr_enclave);
    r.extend_from_slice(&[0u8; 32]);
    r.extend_from_slice(&e.mr_signer);
    r.extend_from_slice(&[0u8; 96]);
    r.extend_from_slice(&e.isv_prod_id.to_le_bytes());
    r.extend_from_slice(&e.isv_svn.to_le_bytes());
    r.extend_from_slice(&[0u8; 60]);
    r.extend_from_slice(report_data);
    r
}

/// The kind of quote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuoteKind {
    /// Quote v4, TD report (TDX 1.0 body).
    TdxV4,
    /// Quote v5, body type 3 (TD 1.5: TEE_TCB_SVN2, MRSERVICETD).
    TdxV5,
    /// Quote v3, SGX enclave report.
    SgxV3,
}

/// The TD report of a TDX quote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TdSpec {
    pub tee_tcb_svn: [u8; 16],
    pub mr_seam: [u8; 48],
    pub mr_signer_seam: [u8; 48],
    pub seam_attributes: [u8; 8],
    /// TDATTRIBUTES, little-endian u64 (bit 0 DEBUG, bit 28 SEPT_VE_DISABLE).
    pub td_attributes: u64,
    pub xfam: u64,
    pub mr_td: [u8; 48],
    pub mr_config_id: [u8; 48],
    pub mr_owner: [u8; 48],
    pub mr_owner_config: [u8; 48],
    pub rt_mr: [[u8; 48]; 4],
    /// TD 1.5 only.
    pub tee_tcb_svn2: [u8; 16],
    pub mr_service_td: [u8; 48],
}

fn label48(label: &str) -> [u8; 48] {
    let mut out = [0u8; 48];
    out[..32].copy_from_slice(&sha256(label.as_bytes()));
    out[32..].copy_from_slice(&sha256(&[label.as_bytes(), b"+"].concat())[..16]);
    out
}

impl Default for TdSpec {
    fn default() -> Self {
        TdSpec {
            tee_tcb_svn: SIM_TEE_TCB_SVN,
            mr_seam: label48("cloud-ra simulated mrseam"),
            mr_signer_seam: [0; 48],
            seam_attributes: [0; 8],
            td_attributes: 1 << 28,
            xfam: 0x0006_02E7,
            mr_td: label48("cloud-ra simulated mrtd"),
            mr_config_id: [0; 48],
            mr_owner: [0; 48],
            mr_owner_config: [0; 48],
            rt_mr: [
                label48("cloud-ra simulated rtmr0"),
                label48("cloud-ra simulated rtmr1"),
                label48("cloud-ra simulated rtmr2"),
                [0; 48],
            ],
            tee_tcb_svn2: SIM_TEE_TCB_SVN,
            mr_service_td: [0; 48],
        }
    }
}

/// Which PCK chain the quote carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChainKind {
    /// PCK -> Platform CA -> simulated Intel root.
    Genuine,
    /// PCK -> a Platform CA issued by an impostor root with the root's name.
    ImpostorRoot,
}

/// Everything a simulated quote contains.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuoteSpec {
    pub kind: QuoteKind,
    pub td: TdSpec,
    /// The SGX quote body (SgxV3).
    pub enclave: QeSpec,
    /// REPORTDATA of the TD report / enclave report.
    pub report_data: [u8; 64],
    pub qe: QeSpec,
    pub qe_auth_data: Vec<u8>,
    /// Replaces the QE report data (default: SHA-256(attestation key || QE auth data) || zeros).
    pub qe_report_data: Option<[u8; 64]>,
    pub pck: PckSpec,
    pub chain: ChainKind,
}

impl QuoteSpec {
    pub fn new(kind: QuoteKind) -> Self {
        let tdx = kind != QuoteKind::SgxV3;
        let mut enclave = QeSpec {
            mr_enclave: sha256(b"cloud-ra simulated enclave mrenclave"),
            mr_signer: sha256(b"cloud-ra simulated enclave mrsigner"),
            isv_prod_id: 7,
            isv_svn: 3,
            ..QeSpec::default()
        };
        enclave.attributes[0] = 0x05; // INIT | MODE64BIT
        QuoteSpec {
            kind,
            td: TdSpec::default(),
            enclave,
            report_data: [0; 64],
            qe: QeSpec { isv_prod_id: if tdx { 2 } else { 1 }, ..QeSpec::default() },
            qe_auth_data: (0u8..32).collect(),
            qe_report_data: None,
            pck: PckSpec::default(),
            chain: ChainKind::Genuine,
        }
    }
}

/// The simulated Intel PKI. Obtain it with [`SimIntel::get`].
pub struct SimIntel {
    root_key: SigningKey,
    platform_key: SigningKey,
    tcb_key: SigningKey,
    pck_key: SigningKey,
    ak: SigningKey,
    root_der: Vec<u8>,
    platform_der: Vec<u8>,
    tcb_der: Vec<u8>,
    impostor_root_der: Vec<u8>,
    impostor_platform_der: Vec<u8>,
}

impl std::fmt::Debug for SimIntel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimIntel").field("root_sha256", &hexs(&self.root_sha256())).finish_non_exhaustive()
    }
}

const SERIAL_ROOT: &[u8] = &[0x01];
const SERIAL_PLATFORM: &[u8] = &[0x02];
const SERIAL_TCB: &[u8] = &[0x03];

impl SimIntel {
    pub fn get() -> &'static SimIntel {
        static S: OnceLock<SimIntel> = OnceLock::new();
        S.get_or_init(SimIntel::generate)
    }

    fn generate() -> SimIntel {
        let (root_key, platform_key, tcb_key) = (key("root-ca"), key("pck-platform-ca"), key("tcb-signing"));
        let (pck_key, ak, impostor_key) = (key("pck"), key("attestation-key"), key("impostor-root-ca"));
        let root = |k: &SigningKey| {
            cert(&CertIn {
                serial: SERIAL_ROOT,
                issuer_cn: ROOT_CN,
                issuer_key: k,
                subject_cn: ROOT_CN,
                subject_key: k,
                not_before: CA_NOT_BEFORE,
                not_after: CA_NOT_AFTER,
                ca: Some(Some(1)),
                extra: Vec::new(),
            })
        };
        let platform = |issuer: &SigningKey| {
            cert(&CertIn {
                serial: SERIAL_PLATFORM,
                issuer_cn: ROOT_CN,
                issuer_key: issuer,
                subject_cn: PLATFORM_CA_CN,
                subject_key: &platform_key,
                not_before: CA_NOT_BEFORE,
                not_after: CA_NOT_AFTER,
                ca: Some(Some(0)),
                extra: Vec::new(),
            })
        };
        let tcb_der = cert(&CertIn {
            serial: SERIAL_TCB,
            issuer_cn: ROOT_CN,
            issuer_key: &root_key,
            subject_cn: TCB_SIGNING_CN,
            subject_key: &tcb_key,
            not_before: CA_NOT_BEFORE,
            not_after: CA_NOT_AFTER,
            ca: None,
            extra: Vec::new(),
        });
        SimIntel {
            root_der: root(&root_key),
            platform_der: platform(&root_key),
            impostor_root_der: root(&impostor_key),
            impostor_platform_der: platform(&impostor_key),
            tcb_der,
            root_key,
            platform_key,
            tcb_key,
            pck_key,
            ak,
        }
    }

    /// DER of the simulated Intel SGX Root CA (self-signed, serial 1).
    pub fn root_der(&self) -> &[u8] {
        &self.root_der
    }
    /// SHA-256 of [`SimIntel::root_der`]: the fingerprint a verifier pins.
    pub fn root_sha256(&self) -> [u8; 32] {
        sha256(&self.root_der)
    }
    /// DER of the Intel SGX PCK Platform CA (serial 2, issued by the root).
    pub fn platform_ca_der(&self) -> &[u8] {
        &self.platform_der
    }
    /// DER of the Intel SGX TCB Signing certificate (serial 3, issued by the root).
    pub fn tcb_signing_der(&self) -> &[u8] {
        &self.tcb_der
    }
    /// A self-signed certificate with the root's name, serial and validity but another key.
    pub fn impostor_root_der(&self) -> &[u8] {
        &self.impostor_root_der
    }

    /// DER of a PCK certificate (issued by the Platform CA; the key is always the simulated PCK key).
    pub fn pck_der(&self, p: &PckSpec) -> Vec<u8> {
        cert(&CertIn {
            serial: &p.serial,
            issuer_cn: PLATFORM_CA_CN,
            issuer_key: &self.platform_key,
            subject_cn: PCK_CN,
            subject_key: &self.pck_key,
            not_before: p.not_before,
            not_after: p.not_after,
            ca: None,
            extra: vec![extension(OID_SGX_EXTENSION, false, &sgx_extension(p))],
        })
    }

    /// DER of a Root CA CRL or PCK (Platform CA) CRL.
    pub fn crl_der(&self, spec: &IntelCrlSpec) -> Vec<u8> {
        let (cn, k) = match spec.issuer {
            CrlIssuer::Root => (ROOT_CN, &self.root_key),
            CrlIssuer::PlatformCa => (PLATFORM_CA_CN, &self.platform_key),
        };
        let mut parts =
            vec![der::small_uint(1), ecdsa_alg(), name(cn), der::time(spec.this_update), der::time(spec.next_update)];
        if !spec.revoked.is_empty() {
            let entries: Vec<Vec<u8>> =
                spec.revoked.iter().map(|s| der::sequence(&[&der::uint(s), &der::time(spec.this_update)])).collect();
            parts.push(der::sequence_of(&entries));
        }
        let exts = [
            extension(OID_CRL_NUMBER, false, &der::small_uint(1)),
            extension(OID_AUTHORITY_KEY_ID, false, &aki_value(&key_id(k))),
        ];
        parts.push(der::explicit(0, &der::sequence_of(&exts)));
        sign_der(k, &der::sequence_of(&parts))
    }

    /// Hex r || s of the TCB Signing key's signature over `raw`, as Intel writes it.
    pub fn sign_hex(&self, raw: &str) -> String {
        hexs(&sign_raw(&self.tcb_key, raw.as_bytes()))
    }

    /// A PCS response body `{"<member>":<value>,"signature":"<hex>"}` around the exact `value` bytes.
    pub fn body(member: &str, value: &str, signature_hex: &str) -> String {
        format!("{{\"{member}\":{value},\"signature\":\"{signature_hex}\"}}")
    }

    /// The signed TCB info PCS body.
    pub fn tcb_info(&self, spec: &TcbInfoSpec) -> String {
        let v = spec.to_json();
        Self::body("tcbInfo", &v, &self.sign_hex(&v))
    }

    /// The signed enclave identity PCS body.
    pub fn qe_identity(&self, spec: &QeIdentitySpec) -> String {
        let v = spec.to_json();
        Self::body("enclaveIdentity", &v, &self.sign_hex(&v))
    }

    /// The attestation key's public point x || y.
    pub fn attestation_key(&self) -> [u8; 64] {
        let p = self.ak.verifying_key().to_encoded_point(false);
        let mut out = [0u8; 64];
        out.copy_from_slice(&p.as_bytes()[1..65]);
        out
    }

    /// The PEM PCK chain a quote carries (PCK, Platform CA, root), NUL-terminated like the QE's.
    pub fn pck_chain_pem(&self, spec: &QuoteSpec) -> Vec<u8> {
        let (ca, root) = match spec.chain {
            ChainKind::Genuine => (&self.platform_der, &self.root_der),
            ChainKind::ImpostorRoot => (&self.impostor_platform_der, &self.impostor_root_der),
        };
        let mut s = pem("CERTIFICATE", &self.pck_der(&spec.pck));
        s.push_str(&pem("CERTIFICATE", ca));
        s.push_str(&pem("CERTIFICATE", root));
        let mut b = s.into_bytes();
        b.push(0);
        b
    }

    /// A quote as `spec` describes it, signed by the simulated QE (QE report by the PCK key,
    /// quote by the attestation key).
    pub fn quote(&self, spec: &QuoteSpec) -> Vec<u8> {
        let (version, tee_type): (u16, u32) = match spec.kind {
            QuoteKind::TdxV4 => (4, 0x81),
            QuoteKind::TdxV5 => (5, 0x81),
            QuoteKind::SgxV3 => (3, 0),
        };
        let mut q = Vec::with_capacity(6000);
        q.extend_from_slice(&version.to_le_bytes());
        q.extend_from_slice(&2u16.to_le_bytes());
        q.extend_from_slice(&tee_type.to_le_bytes());
        if version == 3 {
            q.extend_from_slice(&spec.qe.isv_svn.to_le_bytes());
            q.extend_from_slice(&spec.pck.pce_svn.to_le_bytes());
        } else {
            q.extend_from_slice(&[0u8; 4]);
        }
        q.extend_from_slice(&INTEL_QE_VENDOR_ID);
        q.extend_from_slice(&sha256(b"cloud-ra simulated QE id")[..16]);
        q.extend_from_slice(&[0u8; 4]);
        match spec.kind {
            QuoteKind::SgxV3 => q.extend_from_slice(&enclave_report(&spec.enclave, &spec.report_data)),
            QuoteKind::TdxV4 | QuoteKind::TdxV5 => {
                let td15 = spec.kind == QuoteKind::TdxV5;
                if td15 {
                    q.extend_from_slice(&3u16.to_le_bytes());
                    q.extend_from_slice(&648u32.to_le_bytes());
                }
                let t = &spec.td;
                q.extend_from_slice(&t.tee_tcb_svn);
                q.extend_from_slice(&t.mr_seam);
                q.extend_from_slice(&t.mr_signer_seam);
                q.extend_from_slice(&t.seam_attributes);
                q.extend_from_slice(&t.td_attributes.to_le_bytes());
                q.extend_from_slice(&t.xfam.to_le_bytes());
                q.extend_from_slice(&t.mr_td);
                q.extend_from_slice(&t.mr_config_id);
                q.extend_from_slice(&t.mr_owner);
                q.extend_from_slice(&t.mr_owner_config);
                for r in &t.rt_mr {
                    q.extend_from_slice(r);
                }
                q.extend_from_slice(&spec.report_data);
                if td15 {
                    q.extend_from_slice(&t.tee_tcb_svn2);
                    q.extend_from_slice(&t.mr_service_td);
                }
            }
        }
        let quote_sig = sign_raw(&self.ak, &q);
        let ak = self.attestation_key();
        let qe_rd = spec.qe_report_data.unwrap_or_else(|| {
            let mut rd = [0u8; 64];
            rd[..32].copy_from_slice(&sha256(&[&ak[..], &spec.qe_auth_data].concat()));
            rd
        });
        let qe_report = enclave_report(&spec.qe, &qe_rd);
        let qe_sig = sign_raw(&self.pck_key, &qe_report);
        let chain = self.pck_chain_pem(spec);
        // The QE report and its PCK chain (v3: directly in the signature data; v4/v5: type 6).
        let mut qe_part = Vec::new();
        qe_part.extend_from_slice(&qe_report);
        qe_part.extend_from_slice(&qe_sig);
        qe_part.extend_from_slice(&(spec.qe_auth_data.len() as u16).to_le_bytes());
        qe_part.extend_from_slice(&spec.qe_auth_data);
        qe_part.extend_from_slice(&5u16.to_le_bytes());
        qe_part.extend_from_slice(&(chain.len() as u32).to_le_bytes());
        qe_part.extend_from_slice(&chain);
        let mut sig_data = Vec::new();
        sig_data.extend_from_slice(&quote_sig);
        sig_data.extend_from_slice(&ak);
        if version == 3 {
            sig_data.extend_from_slice(&qe_part);
        } else {
            sig_data.extend_from_slice(&6u16.to_le_bytes());
            sig_data.extend_from_slice(&(qe_part.len() as u32).to_le_bytes());
            sig_data.extend_from_slice(&qe_part);
        }
        q.extend_from_slice(&(sig_data.len() as u32).to_le_bytes());
        q.extend_from_slice(&sig_data);
        q
    }

    /// The collateral files of the simulated platform at `now` (name, bytes): TCB Signing and
    /// root certificates (PEM, the TCB info issuer chain), Root CA CRL and PCK CRL (DER), TCB
    /// info and QE identity (PCS bodies) for a TDX or SGX quote.
    pub fn collateral(&self, tdx: bool, now: i64) -> Vec<(String, Vec<u8>)> {
        let mut chain = pem("CERTIFICATE", &self.tcb_der);
        chain.push_str(&pem("CERTIFICATE", &self.root_der));
        vec![
            ("tcb_info_issuer_chain.pem".into(), chain.into_bytes()),
            ("root_ca_crl.der".into(), self.crl_der(&IntelCrlSpec::fresh(CrlIssuer::Root, now))),
            ("pck_crl.der".into(), self.crl_der(&IntelCrlSpec::fresh(CrlIssuer::PlatformCa, now))),
            ("tcb_info.json".into(), self.tcb_info(&TcbInfoSpec::new(tdx, now)).into_bytes()),
            ("qe_identity.json".into(), self.qe_identity(&QeIdentitySpec::new(tdx, now)).into_bytes()),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cloud_ra_verify::dcap::pck::PckExtensions;
    use cloud_ra_verify::dcap::{Body, Quote};
    use cloud_ra_verify::x509::{Certificate, Crl};

    #[test]
    fn intel_root_fingerprint_pinned() {
        let fp = hexs(&SimIntel::get().root_sha256());
        assert_eq!(cloud_ra_verify::dcap::roots::SIMULATED_ROOT_CA, &[fp.as_str()]);
        assert_ne!(fp, cloud_ra_verify::dcap::roots::INTEL_SGX_ROOT_CA);
    }

    #[test]
    fn deterministic() {
        let a = SimIntel::generate();
        let s = SimIntel::get();
        assert_eq!(a.root_der, s.root_der);
        assert_eq!(a.pck_der(&PckSpec::default()), s.pck_der(&PckSpec::default()));
        let spec = QuoteSpec::new(QuoteKind::TdxV4);
        assert_eq!(a.quote(&spec), s.quote(&spec));
    }

    #[test]
    fn chain_extensions_and_crls_parse() {
        let s = SimIntel::get();
        let root = Certificate::from_der(s.root_der()).expect("root");
        let ca = Certificate::from_der(s.platform_ca_der()).expect("ca");
        let tcb = Certificate::from_der(s.tcb_signing_der()).expect("tcb");
        let pck = Certificate::from_der(&s.pck_der(&PckSpec::default())).expect("pck");
        root.verify_issued_by(&root).expect("self-signed");
        ca.verify_issued_by(&root).expect("ca");
        tcb.verify_issued_by(&root).expect("tcb");
        pck.verify_issued_by(&ca).expect("pck");
        assert_eq!((root.subject_cn.as_str(), pck.subject_cn.as_str()), (ROOT_CN, PCK_CN));
        let ext = PckExtensions::read(&pck).expect("SGX extension");
        assert_eq!(ext.fmspc, SIM_FMSPC);
        assert_eq!(ext.sgx_tcb_components, SIM_SGX_TCB);
        assert_eq!(ext.pce_svn, SIM_PCE_SVN);
        assert_eq!(ext.pce_id, SIM_PCE_ID);
        assert_eq!(ext.sgx_type, Some(1));
        let spec =
            IntelCrlSpec { revoked: vec![vec![9, 9]], ..IntelCrlSpec::fresh(CrlIssuer::PlatformCa, 1_900_000_000) };
        let crl = Crl::from_der(&s.crl_der(&spec)).expect("crl");
        crl.check(&ca, cloud_ra_verify::Timestamp(1_900_000_000)).expect("fresh and signed");
        assert!(crl.is_revoked(&[9, 9]));
    }

    #[test]
    fn quotes_parse() {
        let s = SimIntel::get();
        for (kind, version) in [(QuoteKind::TdxV4, 4), (QuoteKind::TdxV5, 5), (QuoteKind::SgxV3, 3)] {
            let q = Quote::parse(&s.quote(&QuoteSpec::new(kind))).expect("parses");
            assert_eq!(q.header.version, version);
            assert_eq!(q.trailing, 0);
            assert_eq!(q.pck_certification().cert_type, 5);
            assert_eq!(q.pck_certification().pck_chain().map(|c| c.len()), Some(3));
            assert_eq!(matches!(q.body, Body::Td15(_)), kind == QuoteKind::TdxV5);
        }
    }
}
