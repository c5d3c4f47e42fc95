//! Azure confidential-VM evidence, byte-exact: the HCL report the paravisor writes to vTPM NV
//! 0x01400001 (header, hardware report slot, IGVM request data, runtime claims), the runtime-claims
//! JSON, and the evidence shapes cloud-ra accepts (its bundle; CoCo trustee's az-snp-vtpm /
//! az-tdx-vtpm evidence JSON; trustee's `tpm-quote-v1.json`; kinvolk's bincode `quote.bin`).
//!
//! Layout (all integers little-endian):
//! ```text
//! 0x000  header (32): signature 'HCLA', version, report_size, request_type, status, reserved[3]
//! 0x020  hardware report slot (1184): SNP report, or TDREPORT (1024) + 160 zero bytes
//! 0x4C0  IGVM request data (20): data_size, version, report_type (2 SNP, 4 TDX),
//!        report_data_hash_type (1 SHA-256, 2 SHA-384, 3 SHA-512), variable_data_size
//! 0x4D4  variable data: the runtime-claims JSON, exactly variable_data_size bytes
//! ....   zero padding up to the NV index size
//! ```

use crate::Check;
use crate::error::{Error, Result};
use crate::tpm::KeyParams;
use base64::Engine;
use serde_json::Value;

pub(crate) const HCL_SIGNATURE: u32 = 0x414C_4348; // "HCLA"
pub(crate) const HW_REPORT_OFFSET: usize = 0x20;
pub(crate) const HW_REPORT_SLOT: usize = 1184;
pub(crate) const TD_REPORT_SIZE: usize = 1024;
/// REPORTDATA inside a TDREPORT (after REPORTMACSTRUCT's type, reserved, CPUSVN and two hashes).
pub(crate) const TD_REPORT_DATA_OFFSET: usize = 128;
pub(crate) const REQUEST_OFFSET: usize = 0x4C0;
pub(crate) const REQUEST_SIZE: usize = 20;
pub(crate) const CLAIMS_OFFSET: usize = 0x4D4;
/// Largest HCL blob read (trustauthority-cli accepts up to 4096 bytes; leave room).
pub(crate) const MAX_HCL_SIZE: usize = 64 << 10;

/// The hardware behind the paravisor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Tee {
    /// AMD SEV-SNP (request report_type 2): the slot holds an SNP attestation report.
    Snp,
    /// Intel TDX (request report_type 4): the slot holds a TDREPORT.
    Tdx,
}

impl Tee {
    /// The evidence platform: `azure-snp-vtpm` or `azure-tdx-vtpm`.
    pub fn platform(self) -> crate::Platform {
        match self {
            Tee::Snp => crate::Platform::AzureSnpVtpm,
            Tee::Tdx => crate::Platform::AzureTdxVtpm,
        }
    }
}

/// IGVM report_data_hash_type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum HashType {
    /// 1: SHA-256.
    Sha256,
    /// 2: SHA-384.
    Sha384,
    /// 3: SHA-512.
    Sha512,
}

impl HashType {
    pub(crate) fn hash(self, data: &[u8]) -> Vec<u8> {
        match self {
            HashType::Sha256 => crate::crypto::sha256(data).to_vec(),
            HashType::Sha384 => crate::crypto::sha384(data).to_vec(),
            HashType::Sha512 => crate::crypto::sha512(data).to_vec(),
        }
    }
}

/// The 32-byte header (its signature 'HCLA' and zero reserved words are checked, not kept).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Header {
    /// `version` (offset 0x4): HCL report version, 1 or 2.
    pub version: u32,
    /// `report_size` (offset 0x8): bytes up to the end of the runtime claims (0x4D4 +
    /// variable_data_size).
    pub report_size: u32,
    /// `request_type` (offset 0xC): the IGVM request type the report was made for (never 0, the
    /// invalid type).
    pub request_type: u32,
    /// `status` (offset 0x10): 0; anything else is the paravisor reporting a failure.
    pub status: u32,
}

/// The IGVM request data in front of the runtime claims.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct RequestData {
    /// `data_size` (offset 0x4C0): this 20-byte structure plus the variable data.
    pub data_size: u32,
    /// `version` (offset 0x4C4): request data version, 1.
    pub version: u32,
    /// `report_type` (offset 0x4C8): 2 SEV-SNP, 4 TDX.
    pub report_type: u32,
    /// `report_data_hash_type` (offset 0x4CC): the hash of the runtime claims that the hardware
    /// report's report data holds.
    pub hash_type: HashType,
    /// `variable_data_size` (offset 0x4D0): length of the runtime-claims JSON at 0x4D4.
    pub variable_data_size: u32,
}

/// A JSON Web Key of the runtime claims (`HCLAkPub`, `HCLEkPub`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Jwk {
    /// `kid` (`HCLAkPub`, `HCLEkPub`).
    pub kid: String,
    /// The public key.
    pub params: KeyParams,
}

/// The runtime claims (the variable data), parsed; `raw` is the exact bytes that are hashed.
#[derive(Debug, Clone)]
pub struct RuntimeClaims {
    /// The JSON exactly as in the report (the hardware report data binds its hash).
    pub raw: Vec<u8>,
    /// The JSON, parsed.
    pub json: Value,
    /// `HCLAkPub` in `keys`: the vTPM attestation key, which signs the TPM quote.
    pub ak_pub: Jwk,
    /// `HCLEkPub` in `keys`, when present: the vTPM endorsement key.
    pub ek_pub: Option<Jwk>,
    /// `vm-configuration`, when present (a JSON object).
    pub vm_configuration: Option<Value>,
    /// `user-data`: 64 bytes (all zero in a boot-time report).
    pub user_data: Option<[u8; 64]>,
}

/// A parsed HCL report.
#[derive(Debug, Clone)]
pub struct HclReport {
    /// The header (offset 0).
    pub header: Header,
    /// The hardware, from the request data's report_type.
    pub tee: Tee,
    /// SNP: the 1184-byte report. TDX: the 1024-byte TDREPORT.
    pub hw_report: Vec<u8>,
    /// The IGVM request data (offset 0x4C0).
    pub request: RequestData,
    /// The runtime claims (offset 0x4D4).
    pub claims: RuntimeClaims,
    /// Zero bytes after `report_size` (the NV index is larger than the report).
    pub padding: usize,
}

fn u32le(b: &[u8], off: usize) -> u32 {
    // Callers check the length first; a short read is zero-filled rather than a panic.
    let mut a = [0u8; 4];
    if let Some(s) = b.get(off..off + 4) {
        a.copy_from_slice(s);
    }
    u32::from_le_bytes(a)
}

fn bad(field: &str, off: usize, why: impl std::fmt::Display) -> Error {
    Error::evidence(Check::AzureHclReport, format!("{field} at offset {off:#x}: {why}"))
}

fn claims_err(why: impl std::fmt::Display) -> Error {
    Error::evidence(Check::AzureRuntimeClaims, why.to_string())
}

impl Jwk {
    /// One member of `keys`, read by the one JWK reader (`jwt::Jwk`).
    fn parse(v: &Value, idx: usize) -> Result<Jwk> {
        let j = crate::jwt::Jwk::from_json(v).map_err(|e| claims_err(format!("keys[{idx}]: {}", e.detail)))?;
        let params = KeyParams::from_public_key(&j.key).map_err(|e| claims_err(format!("keys[{idx}]: {e}")))?;
        Ok(Jwk { kid: j.kid.unwrap_or_default(), params })
    }
}

impl RuntimeClaims {
    /// Parses the runtime-claims JSON (exactly the bytes given: the hash is over them).
    pub fn parse(raw: &[u8]) -> Result<RuntimeClaims> {
        let json: Value =
            serde_json::from_slice(raw).map_err(|e| claims_err(format!("the runtime claims are not JSON: {e}")))?;
        let obj = json.as_object().ok_or_else(|| claims_err("the runtime claims are not a JSON object"))?;
        let keys = obj
            .get("keys")
            .and_then(|k| k.as_array())
            .ok_or_else(|| claims_err("no \"keys\" array (the HCLAkPub JWK lives there)"))?;
        let find = |kid: &str| keys.iter().position(|k| k.get("kid").and_then(|v| v.as_str()) == Some(kid));
        let ak_idx = find("HCLAkPub").ok_or_else(|| claims_err("no key with kid \"HCLAkPub\" in \"keys\""))?;
        let ak_pub = Jwk::parse(&keys[ak_idx], ak_idx)?;
        let ek_pub = find("HCLEkPub").map(|i| Jwk::parse(&keys[i], i)).transpose()?;
        let vm_configuration = obj.get("vm-configuration").cloned();
        if let Some(v) = &vm_configuration
            && !v.is_object()
        {
            return Err(claims_err("\"vm-configuration\" is not an object"));
        }
        let user_data = match obj.get("user-data") {
            None => None,
            Some(Value::String(s)) => {
                let v = hex::decode(s.trim()).map_err(|e| claims_err(format!("\"user-data\" is not hex: {e}")))?;
                let arr: [u8; 64] = v
                    .as_slice()
                    .try_into()
                    .map_err(|_| claims_err(format!("\"user-data\" is {} bytes, not 64", v.len())))?;
                Some(arr)
            }
            Some(_) => return Err(claims_err("\"user-data\" is not a string")),
        };
        Ok(RuntimeClaims { raw: raw.to_vec(), json, ak_pub, ek_pub, vm_configuration, user_data })
    }
}

impl HclReport {
    /// Parses an HCL report as read from NV 0x01400001 (trailing zero padding allowed).
    pub fn parse(b: &[u8]) -> Result<HclReport> {
        if b.len() > MAX_HCL_SIZE {
            return Err(bad("HCL report", 0, format!("{} bytes, more than the {MAX_HCL_SIZE} accepted", b.len())));
        }
        if b.len() < CLAIMS_OFFSET {
            return Err(bad(
                "HCL report",
                b.len(),
                format!("truncated: {} bytes, the fixed part alone is {CLAIMS_OFFSET}", b.len()),
            ));
        }
        let sig = u32le(b, 0);
        if sig != HCL_SIGNATURE {
            return Err(bad("header.signature", 0, format!("{sig:#010x} is not 'HCLA' (0x414c4348)")));
        }
        let header =
            Header { version: u32le(b, 4), report_size: u32le(b, 8), request_type: u32le(b, 12), status: u32le(b, 16) };
        if !(1..=2).contains(&header.version) {
            return Err(bad(
                "header.version",
                4,
                format!("{} is not a known HCL report version (1, 2)", header.version),
            ));
        }
        if header.request_type == 0 {
            return Err(bad("header.request_type", 12, "0 is the invalid request type"));
        }
        if header.status != 0 {
            return Err(bad("header.status", 16, format!("{:#x}: the paravisor reported a failure", header.status)));
        }
        for i in 0..3 {
            let off = 20 + 4 * i;
            if u32le(b, off) != 0 {
                return Err(bad("header.reserved", off, "not zero"));
            }
        }
        let hash_type = match u32le(b, REQUEST_OFFSET + 12) {
            1 => HashType::Sha256,
            2 => HashType::Sha384,
            3 => HashType::Sha512,
            t => {
                return Err(bad(
                    "request.report_data_hash_type",
                    REQUEST_OFFSET + 12,
                    format!("{t} is not 1 (SHA-256), 2 (SHA-384) or 3 (SHA-512)"),
                ));
            }
        };
        let request = RequestData {
            data_size: u32le(b, REQUEST_OFFSET),
            version: u32le(b, REQUEST_OFFSET + 4),
            report_type: u32le(b, REQUEST_OFFSET + 8),
            hash_type,
            variable_data_size: u32le(b, REQUEST_OFFSET + 16),
        };
        if request.version != 1 {
            return Err(bad("request.version", REQUEST_OFFSET + 4, format!("{} is not 1", request.version)));
        }
        let tee = match request.report_type {
            2 => Tee::Snp,
            4 => Tee::Tdx,
            t => {
                return Err(bad(
                    "request.report_type",
                    REQUEST_OFFSET + 8,
                    format!("{t} is not 2 (SEV-SNP) or 4 (TDX)"),
                ));
            }
        };
        let var = request.variable_data_size as usize;
        if var == 0 {
            return Err(bad("request.variable_data_size", REQUEST_OFFSET + 16, "0: there are no runtime claims"));
        }
        let var_end = CLAIMS_OFFSET.checked_add(var).filter(|&e| e <= b.len()).ok_or_else(|| {
            bad(
                "request.variable_data_size",
                REQUEST_OFFSET + 16,
                format!("{var} bytes from offset {CLAIMS_OFFSET:#x} run past the {}-byte blob", b.len()),
            )
        })?;
        if request.data_size as usize != REQUEST_SIZE + var {
            return Err(bad(
                "request.data_size",
                REQUEST_OFFSET,
                format!("{} is not {REQUEST_SIZE} + variable_data_size {var}", request.data_size),
            ));
        }
        if header.report_size as usize != var_end {
            return Err(bad(
                "header.report_size",
                8,
                format!(
                    "{} is not the end of the runtime claims ({var_end:#x} = {CLAIMS_OFFSET:#x} + variable_data_size {var})",
                    header.report_size
                ),
            ));
        }
        let claims_raw = &b[CLAIMS_OFFSET..var_end];
        let pad = claims_raw.iter().rev().take_while(|&&c| c == 0).count();
        if pad > 0 {
            return Err(bad(
                "request.variable_data_size",
                REQUEST_OFFSET + 16,
                format!("{var} includes {pad} bytes of zero padding after the runtime-claims JSON"),
            ));
        }
        if let Some(i) = b[var_end..].iter().position(|&c| c != 0) {
            return Err(bad("padding", var_end + i, "non-zero byte after report_size"));
        }
        let slot = &b[HW_REPORT_OFFSET..HW_REPORT_OFFSET + HW_REPORT_SLOT];
        let hw_report = match tee {
            Tee::Snp => slot.to_vec(),
            Tee::Tdx => {
                if let Some(i) = slot[TD_REPORT_SIZE..].iter().position(|&c| c != 0) {
                    return Err(bad(
                        "hardware report slot",
                        HW_REPORT_OFFSET + TD_REPORT_SIZE + i,
                        "non-zero byte after the 1024-byte TDREPORT",
                    ));
                }
                slot[..TD_REPORT_SIZE].to_vec()
            }
        };
        let claims = RuntimeClaims::parse(claims_raw)?;
        Ok(HclReport { header, tee, hw_report, request, claims, padding: b.len() - var_end })
    }

    /// The 64-byte report data of the hardware report (SNP REPORT_DATA or TDREPORT REPORTDATA).
    pub fn report_data(&self) -> [u8; 64] {
        let off = match self.tee {
            Tee::Snp => 0x50,
            Tee::Tdx => TD_REPORT_DATA_OFFSET,
        };
        let mut out = [0u8; 64];
        if let Some(s) = self.hw_report.get(off..off + 64) {
            out.copy_from_slice(s);
        }
        out
    }

    /// The report data the runtime claims demand: hash(claims bytes) zero-padded to 64.
    pub fn expected_report_data(&self) -> [u8; 64] {
        crate::policy::pad64(&self.request.hash_type.hash(&self.claims.raw))
    }
}

/// Fields of a TDREPORT for `show` (TDINFO at 512: attributes, decoded as the claims do, xfam,
/// MRTD, MRCONFIGID, MROWNER, MROWNERCONFIG, RTMR0..3).
pub(crate) fn td_report_fields(r: &[u8]) -> Value {
    let h = |off: usize, n: usize| r.get(off..off + n).map(hex::encode).unwrap_or_default();
    serde_json::json!({
        "report_type": h(0, 4),
        "cpusvn": h(32, 16),
        "tee_tcb_info_hash": h(48, 48),
        "tee_info_hash": h(96, 48),
        "report_data": h(128, 64),
        "mac": h(224, 32),
        "td_attributes": r
            .get(512..520)
            .and_then(|a| <&[u8; 8]>::try_from(a).ok())
            .map(crate::dcap::claims::td_attributes_fields)
            .unwrap_or_default(),
        "xfam": h(520, 8),
        "mrtd": h(528, 48),
        "mrconfigid": h(576, 48),
        "mrowner": h(624, 48),
        "mrownerconfig": h(672, 48),
        "rtmr0": h(720, 48),
        "rtmr1": h(768, 48),
        "rtmr2": h(816, 48),
        "rtmr3": h(864, 48),
    })
}

// ---------------------------------------------------------------------------------------------
// Evidence shapes

/// A vTPM quote as evidence carries it: TPMS_ATTEST, TPMT_SIGNATURE, and the PCR values of the
/// quote's selection concatenated in selection order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuoteParts {
    /// TPMS_ATTEST: the quoted structure the AK signs.
    pub attest: Vec<u8>,
    /// TPMT_SIGNATURE (trustee's and kinvolk's bare RSASSA signatures are wrapped as
    /// RSASSA-SHA256).
    pub signature: Vec<u8>,
    /// The PCR values of the quote's selection, concatenated in selection order.
    pub pcrs: Vec<u8>,
}

/// Where the evidence came from (for messages and claims).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Source {
    /// A cloud-ra bundle (platform azure-snp-vtpm / azure-tdx-vtpm).
    Bundle,
    /// Trustee's legacy evidence: no `version`, byte arrays as JSON integer lists.
    TrusteeV0,
    /// Trustee's evidence `"version": 1`: base64url byte strings, the TPM quote as hex.
    TrusteeV1,
    /// Trustee's evidence `"version": 2`: as v1, and the HCL `user-data` carries the nonce.
    TrusteeV2,
    /// A bare HCL report as read from NV 0x01400001 (no TPM quote).
    HclReport,
}

/// Azure vTPM evidence, all parts as bytes.
#[derive(Debug, Clone)]
pub struct AzureEvidence {
    /// Where the evidence came from.
    pub source: Source,
    /// The platform the container says (bundle), checked against the HCL report's report type.
    pub tee: Option<Tee>,
    /// The HCL report as read from NV 0x01400001.
    pub hcl_report: Vec<u8>,
    /// The vTPM quote, when the evidence carries one.
    pub quote: Option<QuoteParts>,
    /// TPMT_PUBLIC of the AK, when the attester read it (must equal HCLAkPub).
    pub ak_public: Option<Vec<u8>>,
    /// TD quote from IMDS `/acc/tdquote` (TDX).
    pub td_quote: Option<Vec<u8>>,
    /// Certificates the evidence carries (trustee's `vcek`), DER or PEM.
    pub certs: Vec<Vec<u8>>,
    /// A THIM response (`{"vcekCert", "certificateChain", ...}`).
    pub thim: Option<Vec<u8>>,
    /// The nonce the attester says it used as the quote's qualifying data.
    pub nonce: Option<Vec<u8>>,
    /// A fresh report was requested by writing these 64 bytes to NV 0x01400002.
    pub fresh_user_data: Option<[u8; 64]>,
    /// Input to trustauthority-cli's user-data = SHA-512(nonce ‖ input) (bundle `aux.user_data_input`).
    pub user_data_input: Option<Vec<u8>>,
    /// The HCL `user-data` carries the verifier's nonce (trustee evidence v2).
    pub user_data_carries_nonce: bool,
}

impl AzureEvidence {
    pub(crate) fn from_hcl(hcl_report: Vec<u8>) -> Self {
        AzureEvidence {
            source: Source::HclReport,
            tee: None,
            hcl_report,
            quote: None,
            ak_public: None,
            td_quote: None,
            certs: Vec::new(),
            thim: None,
            nonce: None,
            fresh_user_data: None,
            user_data_input: None,
            user_data_carries_nonce: false,
        }
    }
}

fn ev(check: Check, d: impl Into<String>) -> Error {
    Error::evidence(check, d)
}

fn hex_field(what: &str, v: &Value) -> Result<Vec<u8>> {
    let s = v.as_str().ok_or_else(|| ev(Check::AzureEvidence, format!("{what} is not a hex string")))?;
    hex::decode(s.trim()).map_err(|e| ev(Check::AzureEvidence, format!("{what} is not hex: {e}")))
}

fn b64_any(what: &str, v: &Value) -> Result<Vec<u8>> {
    let s = v.as_str().ok_or_else(|| ev(Check::AzureEvidence, format!("{what} is not a base64 string")))?;
    let t: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    let t = t.trim_end_matches('=');
    let eng = if t.contains('-') || t.contains('_') {
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
    } else {
        &base64::engine::general_purpose::STANDARD_NO_PAD
    };
    eng.decode(t).map_err(|e| ev(Check::AzureEvidence, format!("{what} is not base64: {e}")))
}

/// A byte string of trustee's legacy (v0) evidence: serde's `Vec<u8>` / `[u8; N]`, a JSON list of
/// integers 0..=255.
fn int_list(what: &str, v: &Value) -> Result<Vec<u8>> {
    let list = v.as_array().ok_or_else(|| ev(Check::AzureEvidence, format!("{what} is not a list of byte values")))?;
    list.iter()
        .enumerate()
        .map(|(i, x)| {
            x.as_u64().and_then(|n| u8::try_from(n).ok()).ok_or_else(|| {
                ev(Check::AzureEvidence, format!("{what}[{i}] is {x}, not a byte value (an integer 0..=255)"))
            })
        })
        .collect()
}

/// Trustee's TPM quote JSON (`tpm-quote-v1.json`, and `tpm_quote` inside its evidence):
/// `{"signature": hex (bare RSASSA-SHA256), "message": hex TPMS_ATTEST, "pcrs": [hex; 24]}`.
pub fn trustee_quote(v: &Value) -> Result<QuoteParts> {
    quote_with(v, "tpm_quote", hex_field)
}

/// The TPM quote of trustee's evidence: `name` is its member (`tpm_quote`, v0 SNP `quote`),
/// `bytes` reads each byte string (hex in v1/v2, integer lists in v0).
fn quote_with(v: &Value, name: &str, bytes: fn(&str, &Value) -> Result<Vec<u8>>) -> Result<QuoteParts> {
    let obj = v.as_object().ok_or_else(|| ev(Check::AzureEvidence, format!("{name} is not an object")))?;
    for k in obj.keys() {
        if !["signature", "message", "pcrs"].contains(&k.as_str()) {
            return Err(ev(Check::AzureEvidence, format!("{name} has an unknown member \"{k}\"")));
        }
    }
    let get = |k: &str| obj.get(k).ok_or_else(|| ev(Check::AzureEvidence, format!("{name}.{k} is missing")));
    let sig = bytes(&format!("{name}.signature"), get("signature")?)?;
    let attest = bytes(&format!("{name}.message"), get("message")?)?;
    let mut pcrs = Vec::new();
    let list =
        get("pcrs")?.as_array().ok_or_else(|| ev(Check::AzureEvidence, format!("{name}.pcrs is not an array")))?;
    for (i, p) in list.iter().enumerate() {
        pcrs.extend(bytes(&format!("{name}.pcrs[{i}]"), p)?);
    }
    Ok(QuoteParts { attest, signature: crate::tpm::Signature::rsassa_sha256(&sig).to_bytes(), pcrs })
}

/// kinvolk az-cvm-vtpm `Quote` serialised with bincode: u64-LE length-prefixed `signature`,
/// `message`, then a u64-LE count of 32-byte PCR values.
pub fn kinvolk_quote(b: &[u8]) -> Result<QuoteParts> {
    let mut pos = 0usize;
    let bad = |pos: usize, why: &str| ev(Check::AzureEvidence, format!("kinvolk quote at offset {pos}: {why}"));
    let len = |pos: &mut usize| -> Result<usize> {
        let s = b.get(*pos..*pos + 8).ok_or_else(|| bad(*pos, "truncated length"))?;
        let mut a = [0u8; 8];
        a.copy_from_slice(s);
        *pos += 8;
        usize::try_from(u64::from_le_bytes(a))
            .ok()
            .filter(|&n| n <= b.len())
            .ok_or_else(|| bad(*pos - 8, "length larger than the input"))
    };
    let n = len(&mut pos)?;
    let sig = b.get(pos..pos + n).ok_or_else(|| bad(pos, "signature runs past the end"))?.to_vec();
    pos += n;
    let n = len(&mut pos)?;
    let attest = b.get(pos..pos + n).ok_or_else(|| bad(pos, "message runs past the end"))?.to_vec();
    pos += n;
    let n = len(&mut pos)?;
    let pcrs = n
        .checked_mul(32)
        .and_then(|m| b.get(pos..pos + m))
        .ok_or_else(|| bad(pos, "PCR values run past the end"))?
        .to_vec();
    pos += pcrs.len();
    if pos != b.len() {
        return Err(bad(pos, &format!("{} trailing bytes", b.len() - pos)));
    }
    Ok(QuoteParts { attest, signature: crate::tpm::Signature::rsassa_sha256(&sig).to_bytes(), pcrs })
}

/// Members of trustee's az-snp-vtpm / az-tdx-vtpm evidence (every version).
const TRUSTEE_MEMBERS: &[&str] = &["version", "hcl_report", "tpm_quote", "vcek", "td_quote", "quote", "report"];

/// Whether a JSON value without a cloud-ra `format` is meant as trustee az-snp-vtpm /
/// az-tdx-vtpm evidence: an object with one of its byte-carrying members (`hcl_report`,
/// `tpm_quote`, `td_quote`, `vcek`; v0 SNP: `quote`, `report`). Damaged evidence counts too, so
/// its error is the trustee parser's, not the bundle parser's.
pub(crate) fn is_trustee_evidence(v: &Value) -> bool {
    v.as_object().is_some_and(|o| o.keys().any(|k| k != "version" && TRUSTEE_MEMBERS.contains(&k.as_str())))
}

/// What trustee evidence is taken for, for `detected` and errors: `CoCo trustee az-snp-vtpm
/// evidence v1` (v0 when there is no `version`).
pub(crate) fn trustee_label(v: &Value) -> String {
    let kind = if v.get("td_quote").is_some() {
        "az-tdx-vtpm"
    } else if v.get("vcek").is_some() || v.get("report").is_some() || v.get("quote").is_some() {
        "az-snp-vtpm"
    } else {
        "az-snp-vtpm / az-tdx-vtpm"
    };
    let version = match v.get("version") {
        None => "v0".to_string(),
        Some(x) => x.as_u64().map(|n| format!("v{n}")).unwrap_or_else(|| format!("version {x}")),
    };
    format!("CoCo trustee {kind} evidence {version}")
}

/// Trustee's evidence, versions 0, 1 and 2. v1/v2: `{"version", "hcl_report": b64url,
/// "tpm_quote": {hex...}, "vcek": b64url DER}` for SNP, `"td_quote": b64url` instead of `vcek`
/// for TDX. v0 (no `version`, byte strings as integer lists): SNP `{"quote": {...}, "report",
/// "vcek": PEM text}`, TDX `{"tpm_quote": {...}, "hcl_report", "td_quote"}`. Errors say which
/// format the input was taken for.
pub fn trustee_evidence(v: &Value) -> Result<AzureEvidence> {
    let label = trustee_label(v);
    trustee_evidence_inner(v).map_err(|e| Error::new(e.category, e.check, format!("{label}: {}", e.detail)))
}

fn trustee_evidence_inner(v: &Value) -> Result<AzureEvidence> {
    let obj = v.as_object().ok_or_else(|| ev(Check::AzureEvidence, "not a JSON object"))?;
    for k in obj.keys() {
        if !TRUSTEE_MEMBERS.contains(&k.as_str()) {
            return Err(ev(Check::AzureEvidence, format!("unknown member \"{k}\"")));
        }
    }
    let member = |k: &str| obj.get(k).ok_or_else(|| ev(Check::AzureEvidence, format!("\"{k}\" is missing")));
    let version = match obj.get("version") {
        None => 0,
        Some(x) => x.as_u64().ok_or_else(|| ev(Check::AzureEvidence, format!("\"version\" {x} is not a number")))?,
    };
    let (source, mut e) = match version {
        0 => {
            let snp = obj.contains_key("quote") || obj.contains_key("report") || obj.contains_key("vcek");
            let tdx = obj.contains_key("tpm_quote") || obj.contains_key("hcl_report") || obj.contains_key("td_quote");
            if snp && tdx {
                return Err(ev(
                    Check::AzureEvidence,
                    "mixes the v0 az-snp-vtpm members (quote, report, vcek) with the az-tdx-vtpm ones (tpm_quote, hcl_report, td_quote)",
                ));
            }
            if snp {
                let quote = quote_with(member("quote")?, "quote", int_list)?;
                let mut e = AzureEvidence::from_hcl(int_list("report", member("report")?)?);
                e.quote = Some(quote);
                let vcek =
                    member("vcek")?.as_str().ok_or_else(|| ev(Check::AzureEvidence, "vcek is not a PEM string"))?;
                e.certs.push(vcek.as_bytes().to_vec());
                e.tee = Some(Tee::Snp);
                (Source::TrusteeV0, e)
            } else {
                let quote = quote_with(member("tpm_quote")?, "tpm_quote", int_list)?;
                let mut e = AzureEvidence::from_hcl(int_list("hcl_report", member("hcl_report")?)?);
                e.quote = Some(quote);
                e.td_quote = Some(int_list("td_quote", member("td_quote")?)?);
                e.tee = Some(Tee::Tdx);
                (Source::TrusteeV0, e)
            }
        }
        1 | 2 => {
            for k in ["quote", "report"] {
                if obj.contains_key(k) {
                    return Err(ev(
                        Check::AzureEvidence,
                        format!("\"{k}\" is a v0 member (v{version} has no such member)"),
                    ));
                }
            }
            let quote = trustee_quote(member("tpm_quote")?)?;
            let mut e = AzureEvidence::from_hcl(b64_any("hcl_report", member("hcl_report")?)?);
            e.quote = Some(quote);
            if let Some(vcek) = obj.get("vcek") {
                e.certs.push(b64_any("vcek", vcek)?);
                e.tee = Some(Tee::Snp);
            }
            if let Some(q) = obj.get("td_quote") {
                e.td_quote = Some(b64_any("td_quote", q)?);
                e.tee = Some(Tee::Tdx);
            }
            if e.certs.is_empty() && e.td_quote.is_none() {
                return Err(ev(Check::AzureEvidence, "neither \"vcek\" (az-snp-vtpm) nor \"td_quote\" (az-tdx-vtpm)"));
            }
            (if version == 1 { Source::TrusteeV1 } else { Source::TrusteeV2 }, e)
        }
        n => return Err(ev(Check::AzureEvidence, format!("version {n} is not 0 (no \"version\"), 1 or 2"))),
    };
    e.source = source;
    e.user_data_carries_nonce = version >= 2;
    Ok(e)
}

/// The certificates of a THIM response: `vcekCert` then `certificateChain` (PEM text).
pub fn thim_pems(body: &[u8]) -> Result<Vec<u8>> {
    let v: Value = serde_json::from_slice(body)
        .map_err(|e| Error::collateral(Check::AzureThim, format!("the THIM response is not JSON: {e}")))?;
    let mut out = Vec::new();
    for k in ["vcekCert", "certificateChain"] {
        let s = v
            .get(k)
            .and_then(|x| x.as_str())
            .ok_or_else(|| Error::collateral(Check::AzureThim, format!("the THIM response has no string \"{k}\"")))?;
        out.extend_from_slice(s.as_bytes());
        out.push(b'\n');
    }
    Ok(out)
}

/// `show` of Azure evidence: the HCL report (header, request data, hardware report, runtime
/// claims) and its binding, the TPM quote and AK public when present, the TD quote.
pub fn describe(e: &AzureEvidence, product: Option<crate::snp::Product>) -> Result<Value> {
    use super::claims as az;
    use crate::tpm::{AkPublic, Attest, Signature};
    use serde_json::json;
    let h = HclReport::parse(&e.hcl_report)?;
    let hw = match h.tee {
        Tee::Snp => {
            let r = crate::snp::Report::parse(&h.hw_report)?;
            crate::snp::claims::report_fields(&r, product.or_else(|| r.product_from_cpuid()))
        }
        Tee::Tdx => td_report_fields(&h.hw_report),
    };
    let mut v = json!({
        "hcl_report": az::hcl_fields(&h),
        "binding": {
            "report_data": hex::encode(h.report_data()),
            "expected": hex::encode(h.expected_report_data()),
            "holds": h.report_data() == h.expected_report_data(),
        },
        "hardware_report": hw,
        "runtime_claims": az::runtime_claims_fields(&h),
    });
    if let Some(q) = &e.quote {
        let a = Attest::parse(&q.attest)?;
        let s = Signature::parse(&q.signature)?;
        let pcrs = a.split_pcrs(&q.pcrs)?;
        let pcrs: serde_json::Map<String, Value> = pcrs
            .iter()
            .map(|(b, m)| (b.name(), m.iter().map(|(i, x)| (i.to_string(), json!(hex::encode(x)))).collect()))
            .collect();
        let mut quote = json!({"magic": "TPM_GENERATED_VALUE", "type": "TPM_ST_ATTEST_QUOTE"});
        if let (Some(q), Value::Object(fields)) = (quote.as_object_mut(), a.to_json()) {
            q.extend(fields);
        }
        quote["signature"] = json!({"scheme": s.scheme_name(), "bytes": s.sig.len()});
        quote["pcrs"] = json!(pcrs);
        v["tpm_quote"] = quote;
    }
    if let Some(p) = &e.ak_public {
        let ak = AkPublic::parse(p)?;
        v["ak_public"] =
            json!({"sha256": ak.params.fingerprint(), "same_as_hclakpub": ak.params.same_key(&h.claims.ak_pub.params)});
    }
    if let Some(q) = &e.td_quote {
        let q = crate::dcap::Quote::parse(q)?;
        v["td_quote"] = crate::dcap::claims::quote_fields(&q);
    }
    Ok(v)
}
