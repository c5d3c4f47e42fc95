//! The evidence bundle (`cloud-ra/evidence/v1`) and detection of raw native evidence files.

use crate::Check;
use crate::Platform;
use crate::error::{Error, Result};
use crate::snp::format::{self as snpf, CertTableEntry};
use base64::Engine;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The `format` of a version-1 bundle, the only one this cloud-ra reads and writes.
pub const FORMAT_V1: &str = "cloud-ra/evidence/v1";
/// Largest evidence input read.
pub(crate) const MAX_EVIDENCE_SIZE: usize = 16 << 20;

/// Bytes that serialise as standard base64.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct B64(pub Vec<u8>);

impl Serialize for B64 {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(&base64::engine::general_purpose::STANDARD.encode(&self.0))
    }
}
impl<'de> Deserialize<'de> for B64 {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        base64::engine::general_purpose::STANDARD
            .decode(s.trim())
            .map(B64)
            .map_err(|e| serde::de::Error::custom(format!("not base64: {e}")))
    }
}

/// A certificate carried beside the evidence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BundleCert {
    /// ark, ask, asvk, vcek, vlek, crl, or other. For tdx/sgx bundles: any collateral file
    /// (`tcb_info`, `qe_identity`, `tcb_info_issuer_chain`, `root_ca_crl`, `pck_crl`), whose bytes
    /// (PCS JSON body, DER or PEM) are read like `--collateral FILE`.
    pub kind: String,
    /// The bytes, base64 in the JSON: a DER certificate or CRL, or for tdx/sgx collateral a PCS
    /// JSON body, DER or PEM.
    pub der: B64,
}

/// The bundle `attest` writes and `verify` reads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bundle {
    /// Always [`FORMAT_V1`] (`cloud-ra/evidence/v1`).
    pub format: String,
    /// snp | tdx | sgx | nitro | azure-snp-vtpm | azure-tdx-vtpm | gce-vtpm
    pub platform: String,
    /// Raw evidence by name (snp: `report`, optional `cert_table`).
    pub evidence: BTreeMap<String, B64>,
    /// Certificates and collateral carried beside the evidence.
    #[serde(default)]
    pub certs: Vec<BundleCert>,
    /// Platform-specific inputs beside the evidence (Azure: `fresh_report`, `user_data`,
    /// `user_data_input`); null when there are none.
    #[serde(default)]
    pub aux: serde_json::Value,
    /// The nonce the attester used, hex (what the attester claims; `verify --nonce` decides).
    #[serde(default)]
    pub nonce: Option<String>,
    /// When the attester collected the evidence (RFC 3339), as the attester says.
    #[serde(default)]
    pub collected_at: Option<String>,
    /// How the evidence was collected (`interface`, `simulated`, `requested_vmpl`, ...), as the
    /// attester says: informational, not verified.
    #[serde(default)]
    pub platform_info: serde_json::Value,
}

impl Bundle {
    /// An SNP attestation report (`evidence.report`), with its certificate table
    /// (`evidence.cert_table`) when there is one.
    pub fn new_snp(report: &[u8], cert_table: Option<&[u8]>) -> Self {
        let mut evidence = BTreeMap::new();
        evidence.insert("report".to_string(), B64(report.to_vec()));
        if let Some(t) = cert_table {
            evidence.insert("cert_table".to_string(), B64(t.to_vec()));
        }
        Bundle {
            format: FORMAT_V1.into(),
            platform: Platform::Snp.as_str().into(),
            evidence,
            certs: Vec::new(),
            aux: serde_json::Value::Null,
            nonce: None,
            collected_at: None,
            platform_info: serde_json::Value::Null,
        }
    }

    /// An AWS Nitro Enclaves attestation document (`evidence.document`).
    pub fn new_nitro(document: &[u8]) -> Self {
        let mut evidence = BTreeMap::new();
        evidence.insert("document".to_string(), B64(document.to_vec()));
        Bundle { platform: Platform::Nitro.as_str().into(), evidence, ..Bundle::new_snp(&[], None) }
    }

    /// An Intel DCAP quote (`platform` tdx or sgx). Collateral (PCS bodies, certificates, CRLs)
    /// may ride along in `certs`; the verifier checks it like any other collateral.
    pub fn new_dcap(platform: Platform, quote: &[u8]) -> Self {
        let mut evidence = BTreeMap::new();
        evidence.insert("quote".to_string(), B64(quote.to_vec()));
        Bundle { platform: platform.as_str().into(), evidence, ..Bundle::new_snp(&[], None) }
    }

    /// Azure vTPM evidence (`platform` azure-snp-vtpm or azure-tdx-vtpm) in the shared contract:
    /// `hcl_report`, `tpm_quote` (TPMS_ATTEST), `tpm_signature` (TPMT_SIGNATURE), `tpm_pcrs`
    /// (values in selection order), optional `ak_public` (TPMT_PUBLIC), `td_quote`, `thim`.
    pub fn new_azure(tee: crate::azure::Tee, hcl_report: &[u8], quote: Option<&crate::azure::QuoteParts>) -> Self {
        let mut evidence = BTreeMap::new();
        evidence.insert("hcl_report".to_string(), B64(hcl_report.to_vec()));
        if let Some(q) = quote {
            evidence.insert("tpm_quote".to_string(), B64(q.attest.clone()));
            evidence.insert("tpm_signature".to_string(), B64(q.signature.clone()));
            evidence.insert("tpm_pcrs".to_string(), B64(q.pcrs.clone()));
        }
        Bundle {
            platform: tee.platform().as_str().into(),
            evidence,
            aux: serde_json::json!({"fresh_report": false}),
            ..Bundle::new_snp(&[], None)
        }
    }

    /// The bundle as pretty-printed JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// Parses a bundle from JSON; a `format` other than [`FORMAT_V1`] is refused.
    pub fn parse(bytes: &[u8]) -> Result<Self> {
        let b: Bundle = serde_json::from_slice(bytes)
            .map_err(|e| Error::evidence(Check::Bundle, format!("not a cloud-ra evidence bundle: {e}")))?;
        if b.format != FORMAT_V1 {
            return Err(Error::evidence(
                Check::Bundle,
                format!("format '{}' is not supported (this cloud-ra reads {FORMAT_V1})", b.format),
            ));
        }
        Ok(b)
    }
}

impl Detected {
    /// Parses the evidence at the format level, as the first step of its verification would:
    /// the SNP report, the DCAP quote, the Nitro COSE_Sign1 and its document, the Azure HCL
    /// report (and the TPM quote's TPMS_ATTEST, the TD quote), the event logs a bundle carries.
    /// Cheap and without collateral: a service runs it before spending a session's nonce, so
    /// malformed evidence is refused with the check that names what is wrong (`snp.format`, ...).
    pub fn check_format(&self) -> Result<()> {
        match &self.evidence {
            Evidence::Snp { report, .. } => {
                snpf::Report::parse(report)?;
            }
            Evidence::Dcap { quote } => {
                crate::dcap::Quote::parse(quote)?;
            }
            Evidence::Nitro { document } => {
                crate::nitro::Document::parse(document)?;
            }
            Evidence::AzureVtpm(e) => {
                crate::azure::HclReport::parse(&e.hcl_report)?;
                if let Some(q) = &e.quote {
                    crate::tpm::Attest::parse(&q.attest)?;
                }
                if let Some(td) = &e.td_quote {
                    crate::dcap::Quote::parse(td)?;
                }
            }
            // Parsed whole by `detect` (go-tpm-tools' protobuf).
            Evidence::GceVtpm(_) => {}
        }
        crate::eventlog::bind::bundle_logs(self)?;
        Ok(())
    }

    /// The platform name of the evidence before verification: the bundle's, else from the format
    /// (`snp`, `tdx`, `sgx`, `nitro`, `azure-snp-vtpm`, `azure-tdx-vtpm`, `gce-vtpm`).
    pub fn platform(&self) -> Platform {
        if let Some(p) = self.bundle.as_ref().and_then(|b| Platform::from_evidence_name(&b.platform)) {
            return p;
        }
        match &self.evidence {
            Evidence::Snp { .. } => Platform::Snp,
            Evidence::Dcap { quote } if quote.get(4..8) == Some(&[0x81, 0, 0, 0][..]) => Platform::Tdx,
            Evidence::Dcap { .. } => Platform::Sgx,
            Evidence::Nitro { .. } => Platform::Nitro,
            Evidence::AzureVtpm(e) if e.td_quote.is_some() => Platform::AzureTdxVtpm,
            Evidence::AzureVtpm(_) => Platform::AzureSnpVtpm,
            Evidence::GceVtpm(_) => Platform::GceVtpm,
        }
    }

    /// Collateral carried in a bundle's `certs` (certificates, CRLs, PCS bodies), parsed; empty for
    /// raw evidence. SNP bundles' certs are already part of the certificate table.
    pub fn bundle_collateral(&self) -> Result<crate::collateral::Collateral> {
        let mut c = crate::collateral::Collateral::default();
        if let (Some(b), false) = (&self.bundle, matches!(self.evidence, Evidence::Snp { .. })) {
            for (i, cert) in b.certs.iter().enumerate() {
                c.add_file(&format!("bundle certs[{i}] ({})", cert.kind), &cert.der.0)?;
            }
        }
        Ok(c)
    }
}

/// Evidence, by platform, as raw bytes.
#[derive(Debug, Clone)]
pub enum Evidence {
    /// An SEV-SNP attestation report, with the certificate table that came with it.
    Snp {
        /// The 1184-byte attestation report.
        report: Vec<u8>,
        /// The certificate table entries (extended report, plus a bundle's `certs`); may be empty.
        cert_table: Vec<CertTableEntry>,
    },
    /// An Intel DCAP quote (SGX v3, TDX v4/v5), possibly inside a zero-padded buffer.
    Dcap {
        /// The quote bytes as received (trailing bytes included).
        quote: Vec<u8>,
    },
    /// An AWS Nitro Enclaves attestation document (COSE_Sign1, tagged or untagged).
    Nitro {
        /// The COSE_Sign1 bytes.
        document: Vec<u8>,
    },
    /// Azure confidential-VM evidence: HCL report, vTPM quote, TD quote or VCEK.
    AzureVtpm(Box<crate::azure::AzureEvidence>),
    /// GCE vTPM evidence: go-tpm-tools' `attest.Attestation` protobuf.
    GceVtpm(Box<crate::tpm::gotpm::Attestation>),
}

/// What `detect` found.
#[derive(Debug, Clone)]
pub struct Detected {
    /// Words for the user: what the input was taken to be.
    pub what: String,
    /// The evidence itself.
    pub evidence: Evidence,
    /// The bundle the evidence came in; `None` for a raw native file.
    pub bundle: Option<Bundle>,
}

fn looks_like_snp_report(b: &[u8]) -> bool {
    b.len() >= snpf::REPORT_SIZE && {
        let v = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
        (1..=16).contains(&v) && u32::from_le_bytes([b[0x34], b[0x35], b[0x36], b[0x37]]) == 1
    }
}

/// A DCAP quote header: version 3..=5, attestation key type 2 (ECDSA-256-with-P-256) or 3,
/// TEE type 0 (SGX) or 0x81 (TDX).
fn looks_like_dcap_quote(b: &[u8]) -> Option<String> {
    if b.len() < 48 {
        return None;
    }
    let version = u16::from_le_bytes([b[0], b[1]]);
    let key_type = u16::from_le_bytes([b[2], b[3]]);
    let tee = u32::from_le_bytes([b[4], b[5], b[6], b[7]]);
    let tee_name = match tee {
        0 => "SGX",
        0x81 => "TDX",
        _ => return None,
    };
    ((3..=5).contains(&version) && (key_type == 2 || key_type == 3))
        .then(|| format!("Intel DCAP quote v{version} ({tee_name}, {} bytes)", b.len()))
}

/// CBOR array of four (0x84), optionally behind tag 18 (0xD2), whose first element is a byte
/// string (the protected header).
fn looks_like_cose_sign1(b: &[u8]) -> bool {
    let b = b.strip_prefix(&[0xD2]).unwrap_or(b);
    b.len() > 2 && b[0] == 0x84 && (0x40..=0x5B).contains(&b[1])
}

/// Text that may encode a binary evidence file: its decodings, hex first (hex digits are base64
/// characters too), then base64 (standard or URL-safe alphabet, padded or not). Whitespace and
/// line breaks anywhere are ignored; hex may start with `0x`. Empty when the input is not
/// entirely such text (JSON and PEM never are: `{`, `"`, `-----` are outside both alphabets).
fn text_decodings(b: &[u8]) -> Vec<(Vec<u8>, &'static str)> {
    let mut out = Vec::new();
    let Ok(text) = std::str::from_utf8(b) else { return out };
    let text = text.trim();
    let compact: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    if compact.is_empty() {
        return out;
    }
    let unprefixed = compact.strip_prefix("0x").or_else(|| compact.strip_prefix("0X")).unwrap_or(&compact);
    if unprefixed.bytes().all(|c| c.is_ascii_hexdigit())
        && let Ok(v) = hex::decode(unprefixed)
    {
        out.push((v, "hex"));
    }
    let body = compact.trim_end_matches('=');
    let std_alpha = |c: u8| c.is_ascii_alphanumeric() || c == b'+' || c == b'/';
    let url_alpha = |c: u8| c.is_ascii_alphanumeric() || c == b'-' || c == b'_';
    let engine = if body.bytes().all(std_alpha) {
        Some(&base64::engine::general_purpose::STANDARD_NO_PAD)
    } else if body.bytes().all(url_alpha) {
        Some(&base64::engine::general_purpose::URL_SAFE_NO_PAD)
    } else {
        None
    };
    // At most two padding characters, and only as many as the length calls for.
    let pad = compact.len() - body.len();
    if let Some(e) = engine
        && (pad == 0 || (pad <= 2 && compact.len().is_multiple_of(4)))
        && let Ok(v) = e.decode(body)
    {
        out.push((v, "base64"));
    }
    out
}

/// The error for bytes no detector recognised; `text` names the text encoding they came from.
fn unrecognised(len: usize, text: Option<&str>) -> Error {
    Error::evidence(
        Check::Detect,
        format!(
            "{}{len} bytes that are neither a cloud-ra bundle nor a known native format (SNP report: {} bytes, optionally followed by its certificate table)",
            text.map(|t| format!("{t} text decoding to ")).unwrap_or_default(),
            snpf::REPORT_SIZE
        ),
    )
}

/// Detects the kind of an evidence file from its content.
pub fn detect(bytes: &[u8]) -> Result<Detected> {
    if bytes.is_empty() {
        return Err(Error::evidence(Check::Detect, "the evidence is empty"));
    }
    if bytes.len() > MAX_EVIDENCE_SIZE {
        return Err(Error::evidence(
            Check::Detect,
            format!("the evidence is {} bytes, more than the {MAX_EVIDENCE_SIZE} accepted", bytes.len()),
        ));
    }
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace()).copied();
    if first == Some(b'{') {
        if let Ok(v) = serde_json::from_slice::<serde_json::Value>(bytes)
            && v.get("format").is_none()
        {
            // The TPM quote alone has trustee's quote members (message, signature, pcrs) only.
            if v.get("message").is_some() && v.get("signature").is_some() && v.get("pcrs").is_some() {
                return Err(Error::evidence(
                    Check::Detect,
                    "a TPM quote alone (trustee tpm-quote JSON): its AK is only trusted through an HCL report's runtime claims; put both in a cloud-ra bundle (platform azure-snp-vtpm / azure-tdx-vtpm)",
                ));
            }
            // Trustee evidence, damaged or not: its errors name the format it was taken for.
            if crate::azure::format::is_trustee_evidence(&v) {
                let e = crate::azure::format::trustee_evidence(&v)?;
                let what = crate::azure::format::trustee_label(&v);
                return Ok(Detected { what, evidence: Evidence::AzureVtpm(Box::new(e)), bundle: None });
            }
        }
        let bundle = Bundle::parse(bytes)?;
        return from_bundle(bundle);
    }
    // Hex or base64 text of a binary format (virtee's `*.hex` SNP reports, tappd's quotes,
    // base64 Nitro documents): decoded, then detected as the binary would be.
    let decodings = text_decodings(bytes);
    if !decodings.is_empty() {
        let mut first_len = None;
        for (decoded, encoding) in &decodings {
            if let Some(mut d) = detect_binary(decoded)? {
                d.what = format!("{}, decoded from {encoding} text", d.what);
                return Ok(d);
            }
            first_len.get_or_insert((decoded.len(), *encoding));
        }
        let (len, encoding) = first_len.unwrap_or((bytes.len(), "hex"));
        return Err(unrecognised(len, Some(encoding)));
    }
    detect_binary(bytes)?.ok_or_else(|| unrecognised(bytes.len(), None))
}

/// The binary native formats, from their content; `None` when none matches.
fn detect_binary(bytes: &[u8]) -> Result<Option<Detected>> {
    let found = |what: String, evidence: Evidence| Ok(Some(Detected { what, evidence, bundle: None }));
    if bytes.starts_with(b"HCLA") {
        return found(
            format!("Azure HCL report ({} bytes, as read from vTPM NV 0x01400001)", bytes.len()),
            Evidence::AzureVtpm(Box::new(crate::azure::AzureEvidence::from_hcl(bytes.to_vec()))),
        );
    }
    // Before the 1184-byte SNP report: an Attestation starts with 0x0A (an SNP report with 0x02..0x05).
    if crate::tpm::gotpm::Attestation::looks_like(bytes) {
        let a = crate::tpm::gotpm::Attestation::parse(bytes)?;
        return found(
            format!(
                "go-tpm-tools Attestation (GCE vTPM: {} quotes, {}-byte event log, {})",
                a.quotes.len(),
                a.event_log.len(),
                if a.ak_cert.is_empty() { "no AK certificate" } else { "AK certificate" }
            ),
            Evidence::GceVtpm(Box::new(a)),
        );
    }
    if bytes.len() == snpf::REPORT_SIZE {
        return found(
            "raw SNP attestation report (1184 bytes)".into(),
            Evidence::Snp { report: bytes.to_vec(), cert_table: Vec::new() },
        );
    }
    if let Some(what) = looks_like_dcap_quote(bytes) {
        return found(what, Evidence::Dcap { quote: bytes.to_vec() });
    }
    if looks_like_cose_sign1(bytes) {
        return found(
            "AWS Nitro attestation document (COSE_Sign1)".into(),
            Evidence::Nitro { document: bytes.to_vec() },
        );
    }
    if looks_like_snp_report(bytes) {
        let table = snpf::parse_cert_table(&bytes[snpf::REPORT_SIZE..])?;
        return found(
            format!("SNP extended report: report + certificate table of {} entries", table.len()),
            Evidence::Snp { report: bytes[..snpf::REPORT_SIZE].to_vec(), cert_table: table },
        );
    }
    Ok(None)
}

fn from_bundle(bundle: Bundle) -> Result<Detected> {
    let Some(platform) = Platform::from_evidence_name(&bundle.platform) else {
        let supported: Vec<&str> = Platform::EVIDENCE.iter().map(|p| p.as_str()).collect();
        return Err(Error::evidence(
            Check::Bundle,
            format!(
                "platform '{}' is not supported by this cloud-ra (supported: {})",
                bundle.platform,
                supported.join(", ")
            ),
        ));
    };
    match platform {
        Platform::Snp => {
            let report = bundle
                .evidence
                .get("report")
                .ok_or_else(|| Error::evidence(Check::Bundle, "platform snp: evidence.report is missing"))?
                .0
                .clone();
            let cert_table = match bundle.evidence.get("cert_table") {
                Some(t) => snpf::parse_cert_table(&t.0)?,
                None => Vec::new(),
            };
            let mut cert_table = cert_table;
            for c in &bundle.certs {
                let kind = match c.kind.as_str() {
                    "ark" => snpf::CertKind::Ark,
                    "ask" | "asvk" => snpf::CertKind::Ask,
                    "vcek" => snpf::CertKind::Vcek,
                    "vlek" => snpf::CertKind::Vlek,
                    "crl" => snpf::CertKind::Crl,
                    _ => snpf::CertKind::Other,
                };
                let guid = kind.guid().unwrap_or([0xff; 16]);
                cert_table.push(CertTableEntry { guid, kind, data: c.der.0.clone() });
            }
            Ok(Detected {
                what: format!(
                    "cloud-ra evidence bundle v1, platform snp{}",
                    if bundle.platform_info.get("simulated").and_then(|v| v.as_bool()) == Some(true) {
                        " (collected from the SIMULATED device)"
                    } else {
                        ""
                    }
                ),
                evidence: Evidence::Snp { report, cert_table },
                bundle: Some(bundle),
            })
        }
        Platform::Nitro => {
            let document = bundle
                .evidence
                .get("document")
                .ok_or_else(|| Error::evidence(Check::Bundle, "platform nitro: evidence.document is missing"))?
                .0
                .clone();
            Ok(Detected {
                what: "cloud-ra evidence bundle v1, platform nitro".into(),
                evidence: Evidence::Nitro { document },
                bundle: Some(bundle),
            })
        }
        Platform::Tdx | Platform::Sgx => {
            let p = platform;
            let quote = bundle
                .evidence
                .get("quote")
                .ok_or_else(|| Error::evidence(Check::Bundle, format!("platform {p}: evidence.quote is missing")))?
                .0
                .clone();
            let tee = quote.get(4..8).map(|t| u32::from_le_bytes([t[0], t[1], t[2], t[3]]));
            let want = if p == Platform::Tdx { 0x81 } else { 0 };
            if tee != Some(want) {
                return Err(Error::evidence(
                    Check::Bundle,
                    format!(
                        "platform {p}: evidence.quote is not a {} quote (header.teeType {})",
                        p.as_str().to_uppercase(),
                        tee.map(|t| format!("{t:#x}")).unwrap_or_else(|| "missing".into())
                    ),
                ));
            }
            Ok(Detected {
                what: format!(
                    "cloud-ra evidence bundle v1, platform {p}{}",
                    if bundle.platform_info.get("simulated").and_then(|v| v.as_bool()) == Some(true) {
                        " (collected from the SIMULATED quoting enclave)"
                    } else {
                        ""
                    }
                ),
                evidence: Evidence::Dcap { quote },
                bundle: Some(bundle),
            })
        }
        Platform::AzureSnpVtpm | Platform::AzureTdxVtpm => {
            let e = azure_from_bundle(&bundle, platform)?;
            Ok(Detected {
                what: format!("cloud-ra evidence bundle v1, platform {}", bundle.platform),
                evidence: Evidence::AzureVtpm(Box::new(e)),
                bundle: Some(bundle),
            })
        }
        Platform::GceVtpm => {
            let raw = bundle
                .evidence
                .get("attestation")
                .ok_or_else(|| Error::evidence(Check::Bundle, "platform gce-vtpm: evidence.attestation is missing"))?;
            let a = crate::tpm::gotpm::Attestation::parse(&raw.0)
                .map_err(|e| Error::new(e.category, e.check, format!("bundle evidence 'attestation': {}", e.detail)))?;
            Ok(Detected {
                what: "cloud-ra evidence bundle v1, platform gce-vtpm".into(),
                evidence: Evidence::GceVtpm(Box::new(a)),
                bundle: Some(bundle),
            })
        }
        Platform::AzureVtpm | Platform::Unknown => {
            Err(Error::evidence(Check::Bundle, format!("platform '{platform}' is not a bundle platform")))
        }
    }
}

/// The Azure parts of a bundle (the shared contract; see `Bundle::new_azure`).
fn azure_from_bundle(b: &Bundle, p: Platform) -> Result<crate::azure::AzureEvidence> {
    use crate::azure::{AzureEvidence, QuoteParts, Source, Tee};
    let tee = if p == Platform::AzureTdxVtpm { Tee::Tdx } else { Tee::Snp };
    const KNOWN: &[&str] = &[
        "hcl_report",
        "tpm_quote",
        "tpm_signature",
        "tpm_pcrs",
        "ak_public",
        "td_quote",
        "thim",
        // Event logs: replayed by the measured-boot step (eventlog::bind::bundle_logs).
        "eventlog_tpm",
        "eventlog_ccel",
        "eventlog_ccel_table",
    ];
    if let Some(k) = b.evidence.keys().find(|k| !KNOWN.contains(&k.as_str())) {
        return Err(Error::evidence(Check::Bundle, format!("platform {p}: unknown evidence.{k}")));
    }
    let get = |k: &str| b.evidence.get(k).map(|v| v.0.clone());
    let hcl = get("hcl_report")
        .ok_or_else(|| Error::evidence(Check::Bundle, format!("platform {p}: evidence.hcl_report is missing")))?;
    let mut e = AzureEvidence::from_hcl(hcl);
    e.source = Source::Bundle;
    e.tee = Some(tee);
    e.quote = match (get("tpm_quote"), get("tpm_signature"), get("tpm_pcrs")) {
        (None, None, None) => None,
        (Some(attest), Some(signature), Some(pcrs)) => Some(QuoteParts { attest, signature, pcrs }),
        _ => {
            return Err(Error::evidence(
                Check::Bundle,
                format!("platform {p}: evidence.tpm_quote, tpm_signature and tpm_pcrs go together (one is missing)"),
            ));
        }
    };
    e.ak_public = get("ak_public");
    e.td_quote = get("td_quote");
    e.thim = get("thim");
    if tee == Tee::Snp && e.td_quote.is_some() {
        return Err(Error::evidence(
            Check::Bundle,
            "platform azure-snp-vtpm: evidence.td_quote belongs to azure-tdx-vtpm",
        ));
    }
    if let Some(n) = &b.nonce {
        let v = hex::decode(n.trim())
            .map_err(|err| Error::evidence(Check::Bundle, format!("nonce '{n}' is not hex: {err}")))?;
        e.nonce = Some(v);
    }
    let aux = &b.aux;
    let hexv = |k: &str| -> Result<Option<Vec<u8>>> {
        match aux.get(k) {
            None | Some(serde_json::Value::Null) => Ok(None),
            Some(serde_json::Value::String(s)) => hex::decode(s.trim())
                .map(Some)
                .map_err(|err| Error::evidence(Check::Bundle, format!("aux.{k} is not hex: {err}"))),
            Some(_) => Err(Error::evidence(Check::Bundle, format!("aux.{k} is not a hex string"))),
        }
    };
    if aux.get("fresh_report").and_then(|v| v.as_bool()) == Some(true) {
        let ud = hexv("user_data")?
            .ok_or_else(|| Error::evidence(Check::Bundle, "aux.fresh_report is true but aux.user_data is missing"))?;
        let arr: [u8; 64] = ud.as_slice().try_into().map_err(|_| {
            Error::evidence(
                Check::Bundle,
                format!("aux.user_data is {} bytes, not the 64 written to NV 0x01400002", ud.len()),
            )
        })?;
        e.fresh_user_data = Some(arr);
    }
    e.user_data_input = hexv("user_data_input")?;
    Ok(e)
}
