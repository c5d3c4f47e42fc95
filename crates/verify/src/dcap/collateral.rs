//! Intel DCAP collateral: PCS/PCCS response bodies `{"tcbInfo": ..., "signature": ...}` and
//! `{"enclaveIdentity": ..., "signature": ...}`, and the single-file collateral JSON of dcap-qvl
//! (`QuoteCollateralV3`). Intel signs the exact bytes of the `tcbInfo` / `enclaveIdentity` value:
//! a small scanner finds that value's byte range in the received text, and the signature is later
//! verified over exactly those bytes, never over a re-serialisation. Duplicated keys and trailing
//! data are refused.

use crate::Check;
use crate::crypto::sha256;
use crate::error::{Error, Result};
use crate::time::Timestamp;
use crate::x509::{PkiObject, Seen, read_new_objects};
use serde::Deserialize;
use std::ops::Range;
use std::sync::Arc;

const CHECK: Check = Check::DcapCollateral;
/// Largest collateral JSON accepted.
pub(crate) const MAX_JSON_SIZE: usize = 1 << 20;
const MAX_DEPTH: usize = 64;

fn bad(name: &str, detail: impl std::fmt::Display) -> Error {
    Error::collateral(CHECK, format!("{name}: {detail}"))
}

// ---------------------------------------------------------------------------------------------
// A bounded JSON scanner: finds the byte ranges of an object's members.

struct Scan<'a> {
    b: &'a [u8],
    pos: usize,
}

impl Scan<'_> {
    fn ws(&mut self) {
        while self.b.get(self.pos).is_some_and(|c| matches!(c, b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }
    fn expect(&mut self, c: u8) -> std::result::Result<(), String> {
        self.ws();
        match self.b.get(self.pos) {
            Some(&x) if x == c => {
                self.pos += 1;
                Ok(())
            }
            Some(&x) => Err(format!("expected '{}' at byte {}, found '{}'", c as char, self.pos, x as char)),
            None => Err(format!("expected '{}' at byte {}, found the end", c as char, self.pos)),
        }
    }
    /// A string token; returns its range including the quotes.
    fn string(&mut self) -> std::result::Result<Range<usize>, String> {
        self.ws();
        let start = self.pos;
        if self.b.get(self.pos) != Some(&b'"') {
            return Err(format!("expected a string at byte {start}"));
        }
        self.pos += 1;
        loop {
            match self.b.get(self.pos) {
                None => return Err(format!("unterminated string starting at byte {start}")),
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(start..self.pos);
                }
                Some(b'\\') => self.pos += 2,
                Some(c) if *c < 0x20 => return Err(format!("control character in a string at byte {}", self.pos)),
                // Plain bytes skipped in one pass up to the next quote, backslash or control byte.
                Some(_) => {
                    let rest = self.b.get(self.pos..).unwrap_or(&[]);
                    self.pos += rest.iter().position(|&c| c == b'"' || c == b'\\' || c < 0x20).unwrap_or(rest.len());
                }
            }
        }
    }
    /// Skips one value; returns its range.
    fn value(&mut self, depth: usize) -> std::result::Result<Range<usize>, String> {
        if depth > MAX_DEPTH {
            return Err(format!("nesting deeper than {MAX_DEPTH} at byte {}", self.pos));
        }
        self.ws();
        let start = self.pos;
        match self.b.get(self.pos) {
            None => Err(format!("expected a value at byte {start}, found the end")),
            Some(b'"') => self.string(),
            Some(b'{') => {
                self.members(depth + 1, |_, _| Ok(()))?;
                Ok(start..self.pos)
            }
            Some(b'[') => {
                self.pos += 1;
                self.ws();
                if self.b.get(self.pos) == Some(&b']') {
                    self.pos += 1;
                    return Ok(start..self.pos);
                }
                loop {
                    self.value(depth + 1)?;
                    self.ws();
                    match self.b.get(self.pos) {
                        Some(b',') => self.pos += 1,
                        Some(b']') => {
                            self.pos += 1;
                            return Ok(start..self.pos);
                        }
                        _ => return Err(format!("expected ',' or ']' at byte {}", self.pos)),
                    }
                }
            }
            Some(_) => {
                while self.b.get(self.pos).is_some_and(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'+' | b'.'))
                {
                    self.pos += 1;
                }
                if self.pos == start {
                    return Err(format!("unexpected character at byte {start}"));
                }
                Ok(start..self.pos)
            }
        }
    }
    /// An object; calls `f(key, value range)` for each member and refuses duplicated keys.
    fn members(
        &mut self,
        depth: usize,
        mut f: impl FnMut(String, Range<usize>) -> std::result::Result<(), String>,
    ) -> std::result::Result<(), String> {
        self.expect(b'{')?;
        let mut keys: Vec<String> = Vec::new();
        self.ws();
        if self.b.get(self.pos) == Some(&b'}') {
            self.pos += 1;
            return Ok(());
        }
        loop {
            let kr = self.string()?;
            let key: String = serde_json::from_slice(self.b.get(kr.clone()).unwrap_or(&[]))
                .map_err(|e| format!("key at byte {}: {e}", kr.start))?;
            if keys.contains(&key) {
                return Err(format!("duplicated key \"{key}\" at byte {}", kr.start));
            }
            self.expect(b':')?;
            let vr = self.value(depth)?;
            f(key.clone(), vr)?;
            keys.push(key);
            self.ws();
            match self.b.get(self.pos) {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    return Ok(());
                }
                _ => return Err(format!("expected ',' or '}}' at byte {}", self.pos)),
            }
        }
    }
}

/// The members of a top-level JSON object with the byte range of each value. Refuses duplicated
/// keys at any depth, invalid JSON and trailing data.
pub fn object_members(text: &[u8]) -> std::result::Result<Vec<(String, Range<usize>)>, String> {
    if text.len() > MAX_JSON_SIZE {
        return Err(format!("{} bytes is larger than the {MAX_JSON_SIZE} accepted", text.len()));
    }
    // Full validity (numbers, escapes, UTF-8) by serde_json; byte ranges by the scanner.
    serde_json::from_slice::<serde::de::IgnoredAny>(text).map_err(|e| format!("not valid JSON: {e}"))?;
    let mut s = Scan { b: text, pos: 0 };
    let mut out = Vec::new();
    s.members(0, |k, r| {
        out.push((k, r));
        Ok(())
    })?;
    s.ws();
    if s.pos != text.len() {
        return Err(format!("{} bytes of trailing data after the JSON object at byte {}", text.len() - s.pos, s.pos));
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// Intel's JSON structures (PCS API v4: TCB info v3, enclave identity v2).

/// One entry of a TCB level's `sgxtcbcomponents` or `tdxtcbcomponents`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct TcbComponent {
    /// `svn`: the component's SVN, the only member the level comparison uses.
    pub svn: u32,
    /// `category`, when present (informational).
    #[serde(default)]
    pub category: Option<String>,
    /// `type`, when present (informational).
    #[serde(default, rename = "type")]
    pub comp_type: Option<String>,
}

/// The `tcb` of a TCB info level: the SVNs a platform must reach for the level.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Tcb {
    /// `sgxtcbcomponents`: the 16 SGX TCB components, compared with the PCK certificate's.
    pub sgxtcbcomponents: Vec<TcbComponent>,
    /// `pcesvn`: the PCE SVN, compared with the PCK certificate's.
    pub pcesvn: u32,
    /// `tdxtcbcomponents`: the 16 TDX TCB components, compared with the TD report's TEE_TCB_SVN
    /// (TDX TCB info only).
    #[serde(default)]
    pub tdxtcbcomponents: Option<Vec<TcbComponent>>,
}

/// One `tcbLevels` entry of a TCB info.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TcbLevel {
    /// `tcb`: the component SVNs of the level.
    pub tcb: Tcb,
    /// `tcbDate`: the date the level was certified at (RFC 3339 UTC text).
    pub tcb_date: String,
    /// `tcbStatus`: the level's status (`UpToDate`, `SWHardeningNeeded`, `ConfigurationNeeded`,
    /// `ConfigurationAndSWHardeningNeeded`, `OutOfDate`, `OutOfDateConfigurationNeeded`, `Revoked`).
    pub tcb_status: String,
    /// `advisoryIDs`: the Intel security advisories behind the status; empty when absent.
    #[serde(default, rename = "advisoryIDs")]
    pub advisory_ids: Vec<String>,
}

/// The `tdxModule` of a TDX TCB info: the TDX module's signer and attributes.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TdxModule {
    /// `mrsigner`: hex of the 48-byte MRSIGNERSEAM the TD report must carry.
    pub mrsigner: String,
    /// `attributes`: hex of the 8-byte SEAMATTRIBUTES the TD report must carry.
    pub attributes: String,
    /// `attributesMask`: hex mask for `attributes` (Intel does not apply it).
    pub attributes_mask: String,
}

/// The `tcb` of an enclave identity or TDX module identity level.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct IsvSvn {
    /// `isvsvn`: the lowest ISV SVN the level covers.
    pub isvsvn: u32,
}

/// One `tcbLevels` entry of an enclave identity or a TDX module identity.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IsvTcbLevel {
    /// `tcb`: the ISV SVN of the level.
    pub tcb: IsvSvn,
    /// `tcbDate`: the date the level was certified at (RFC 3339 UTC text).
    pub tcb_date: String,
    /// `tcbStatus`: the level's status (`UpToDate`, `OutOfDate` or `Revoked`).
    pub tcb_status: String,
    /// `advisoryIDs`: the Intel security advisories behind the status; empty when absent.
    #[serde(default, rename = "advisoryIDs")]
    pub advisory_ids: Vec<String>,
}

/// One `tdxModuleIdentities` entry of a TDX TCB info: one TDX module version's identity.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TdxModuleIdentity {
    /// `id`: `TDX_` and the module's major version in two hex digits (`TDX_01`), matched against
    /// `TEE_TCB_SVN[1]`.
    pub id: String,
    /// `mrsigner`: hex of the 48-byte MRSIGNERSEAM the TD report must carry.
    pub mrsigner: String,
    /// `attributes`: hex of the 8-byte SEAMATTRIBUTES the TD report must carry.
    pub attributes: String,
    /// `attributesMask`: hex mask for `attributes` (Intel does not apply it).
    pub attributes_mask: String,
    /// `tcbLevels`: the module's levels, by ISV SVN (`TEE_TCB_SVN[0]`).
    pub tcb_levels: Vec<IsvTcbLevel>,
}

/// The `tcbInfo` object (TCB info v3), fields as Intel's PCS API v4 names them.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TcbInfoJson {
    /// `id`: `SGX` or `TDX`; [`TcbInfo::id`] reads `SGX` when absent.
    #[serde(default)]
    pub id: Option<String>,
    /// `version`: the TCB info structure version (3).
    pub version: u32,
    /// `issueDate`: when Intel issued the document (RFC 3339 UTC text).
    pub issue_date: String,
    /// `nextUpdate`: when Intel will issue the next one (RFC 3339 UTC text).
    pub next_update: String,
    /// `fmspc`: hex of the platform's 6-byte FMSPC (Family-Model-Stepping-Platform-CustomSKU).
    pub fmspc: String,
    /// `pceId`: hex of the 2-byte PCE ID.
    pub pce_id: String,
    /// `tcbType`: the TCB level composition, which determines the level comparison.
    #[serde(default)]
    pub tcb_type: Option<u32>,
    /// `tcbEvaluationDataNumber`: the number of Intel's TCB evaluation data set, increasing with
    /// each update.
    #[serde(default)]
    pub tcb_evaluation_data_number: Option<u32>,
    /// `tdxModule`: the TDX module's signer and attributes (TDX only).
    #[serde(default)]
    pub tdx_module: Option<TdxModule>,
    /// `tdxModuleIdentities`: the identity and levels of each TDX module version (TDX only).
    #[serde(default)]
    pub tdx_module_identities: Option<Vec<TdxModuleIdentity>>,
    /// `tcbLevels`: the platform TCB levels of this FMSPC.
    pub tcb_levels: Vec<TcbLevel>,
}

/// The `enclaveIdentity` object (QE identity v2), fields as Intel's PCS API v4 names them.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EnclaveIdentityJson {
    /// `id`: the enclave, `QE`, `QVE` or `TD_QE`.
    pub id: String,
    /// `version`: the enclave identity structure version (2).
    pub version: u32,
    /// `issueDate`: when Intel issued the document (RFC 3339 UTC text).
    pub issue_date: String,
    /// `nextUpdate`: when Intel will issue the next one (RFC 3339 UTC text).
    pub next_update: String,
    /// `tcbEvaluationDataNumber`: the number of Intel's TCB evaluation data set, increasing with
    /// each update.
    #[serde(default)]
    pub tcb_evaluation_data_number: Option<u32>,
    /// `miscselect`: hex of the 4-byte MISCSELECT the masked report value must equal.
    pub miscselect: String,
    /// `miscselectMask`: hex of the 4-byte mask applied to the report's MISCSELECT.
    pub miscselect_mask: String,
    /// `attributes`: hex of the 16-byte ATTRIBUTES the masked report value must equal.
    pub attributes: String,
    /// `attributesMask`: hex of the 16-byte mask applied to the report's ATTRIBUTES.
    pub attributes_mask: String,
    /// `mrsigner`: hex of the 32-byte MRSIGNER the report must carry.
    pub mrsigner: String,
    /// `isvprodid`: the ISV product ID the report must carry.
    pub isvprodid: u32,
    /// `tcbLevels`: the enclave's levels, by ISV SVN.
    pub tcb_levels: Vec<IsvTcbLevel>,
}

/// A signed Intel document: the exact bytes Intel signed and the r || s signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signed {
    /// The exact bytes of the `tcbInfo` / `enclaveIdentity` value, as received.
    pub raw: Vec<u8>,
    /// Intel's ECDSA P-256 signature over `raw`, r || s (the hex `signature` decoded).
    pub signature: [u8; 64],
    /// SHA-256 of raw || signature: the cache key.
    pub digest: [u8; 32],
    /// The collateral input the document was read from, for messages.
    pub source: String,
}

impl Signed {
    fn new(raw: &[u8], sig_hex: &str, source: &str) -> Result<Self> {
        let sig = hex::decode(sig_hex.trim()).map_err(|e| bad(source, format!("signature is not hex: {e}")))?;
        let signature: [u8; 64] = sig
            .as_slice()
            .try_into()
            .map_err(|_| bad(source, format!("signature is {} bytes, an ECDSA P-256 r || s is 64", sig.len())))?;
        let mut all = raw.to_vec();
        all.extend_from_slice(&signature);
        Ok(Signed { raw: raw.to_vec(), signature, digest: sha256(&all), source: source.to_string() })
    }
}

fn ts(source: &str, field: &str, s: &str) -> Result<Timestamp> {
    Timestamp::parse_rfc3339(s).map_err(|_| bad(source, format!("{field} '{s}' is not an RFC 3339 time")))
}

fn hex_n<const N: usize>(source: &str, field: &str, s: &str) -> Result<[u8; N]> {
    let v = hex::decode(s).map_err(|e| bad(source, format!("{field} '{s}' is not hex: {e}")))?;
    v.as_slice().try_into().map_err(|_| bad(source, format!("{field} is {} bytes, expected {N}", v.len())))
}

/// A TCB info document with its decoded header fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TcbInfo {
    /// The signed bytes and Intel's signature.
    pub signed: Signed,
    /// The parsed `tcbInfo` object.
    pub json: TcbInfoJson,
    /// `issueDate`, parsed.
    pub issue_date: Timestamp,
    /// `nextUpdate`, parsed.
    pub next_update: Timestamp,
    /// `fmspc`, hex-decoded.
    pub fmspc: [u8; 6],
    /// `pceId`, hex-decoded.
    pub pce_id: [u8; 2],
}

impl TcbInfo {
    /// Parses the `tcbInfo` value `raw` with its hex `signature`; `source` names the input in errors.
    pub fn parse(raw: &[u8], sig_hex: &str, source: &str) -> Result<Self> {
        let json: TcbInfoJson =
            serde_json::from_slice(raw).map_err(|e| bad(source, format!("tcbInfo does not parse: {e}")))?;
        Ok(TcbInfo {
            issue_date: ts(source, "tcbInfo.issueDate", &json.issue_date)?,
            next_update: ts(source, "tcbInfo.nextUpdate", &json.next_update)?,
            fmspc: hex_n(source, "tcbInfo.fmspc", &json.fmspc)?,
            pce_id: hex_n(source, "tcbInfo.pceId", &json.pce_id)?,
            signed: Signed::new(raw, sig_hex, source)?,
            json,
        })
    }
    /// `id`, `SGX` when absent.
    pub fn id(&self) -> &str {
        self.json.id.as_deref().unwrap_or("SGX")
    }
}

/// An enclave identity (QE / TD_QE) document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnclaveIdentity {
    /// The signed bytes and Intel's signature.
    pub signed: Signed,
    /// The parsed `enclaveIdentity` object.
    pub json: EnclaveIdentityJson,
    /// `issueDate`, parsed.
    pub issue_date: Timestamp,
    /// `nextUpdate`, parsed.
    pub next_update: Timestamp,
    /// `miscselect`, hex read big-endian.
    pub miscselect: u32,
    /// `miscselectMask`, hex read big-endian.
    pub miscselect_mask: u32,
    /// `attributes`, hex-decoded.
    pub attributes: [u8; 16],
    /// `attributesMask`, hex-decoded.
    pub attributes_mask: [u8; 16],
    /// `mrsigner`, hex-decoded.
    pub mrsigner: [u8; 32],
}

impl EnclaveIdentity {
    /// Parses the `enclaveIdentity` value `raw` with its hex `signature`; `source` names the input in
    /// errors.
    pub fn parse(raw: &[u8], sig_hex: &str, source: &str) -> Result<Self> {
        let json: EnclaveIdentityJson =
            serde_json::from_slice(raw).map_err(|e| bad(source, format!("enclaveIdentity does not parse: {e}")))?;
        Ok(EnclaveIdentity {
            issue_date: ts(source, "enclaveIdentity.issueDate", &json.issue_date)?,
            next_update: ts(source, "enclaveIdentity.nextUpdate", &json.next_update)?,
            miscselect: u32::from_be_bytes(hex_n(source, "enclaveIdentity.miscselect", &json.miscselect)?),
            miscselect_mask: u32::from_be_bytes(hex_n(
                source,
                "enclaveIdentity.miscselectMask",
                &json.miscselect_mask,
            )?),
            attributes: hex_n(source, "enclaveIdentity.attributes", &json.attributes)?,
            attributes_mask: hex_n(source, "enclaveIdentity.attributesMask", &json.attributes_mask)?,
            mrsigner: hex_n(source, "enclaveIdentity.mrsigner", &json.mrsigner)?,
            signed: Signed::new(raw, sig_hex, source)?,
            json,
        })
    }
}

/// One DCAP collateral document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DcapItem {
    /// A TCB info (`tcbInfo`).
    TcbInfo(Arc<TcbInfo>),
    /// An enclave identity (`enclaveIdentity`).
    EnclaveIdentity(Arc<EnclaveIdentity>),
}

impl DcapItem {
    pub(crate) fn digest(&self) -> [u8; 32] {
        match self {
            DcapItem::TcbInfo(t) => t.signed.digest,
            DcapItem::EnclaveIdentity(e) => e.signed.digest,
        }
    }
}

/// What one collateral JSON file holds.
#[derive(Debug, Clone, Default)]
pub struct DcapFile {
    /// The TCB info and enclave identity documents, signatures not yet checked.
    pub items: Vec<DcapItem>,
    /// Certificates and CRLs: a dcap-qvl file's issuer chains, PCK certificate chain and CRLs.
    pub pki: Vec<PkiObject>,
}

fn json_str(text: &[u8], r: &Range<usize>, source: &str, key: &str) -> Result<String> {
    serde_json::from_slice::<String>(text.get(r.clone()).unwrap_or(&[]))
        .map_err(|_| bad(source, format!("\"{key}\" is not a string")))
}

/// `hex::decode`, two digits at a time through a table (the CRLs of a dcap-qvl file are kilobytes
/// of hex); on any bad input, `hex::decode`'s own error.
fn hex_decode(s: &str) -> std::result::Result<Vec<u8>, hex::FromHexError> {
    const fn table() -> [u8; 256] {
        let mut t = [0xff; 256];
        let mut i = 0;
        while i < 10 {
            t[b'0' as usize + i] = i as u8;
            i += 1;
        }
        let mut i = 0;
        while i < 6 {
            t[b'a' as usize + i] = 10 + i as u8;
            t[b'A' as usize + i] = 10 + i as u8;
            i += 1;
        }
        t
    }
    const T: [u8; 256] = table();
    let b = s.as_bytes();
    if b.len().is_multiple_of(2) {
        let mut out = Vec::with_capacity(b.len() / 2);
        let mut ok = true;
        for p in b.chunks_exact(2) {
            let (h, l) = (T[p[0] as usize], T[p[1] as usize]);
            ok &= h != 0xff && l != 0xff;
            out.push((h << 4) | (l & 0x0f));
        }
        if ok {
            return Ok(out);
        }
    }
    hex::decode(s)
}

/// Parses a DCAP collateral JSON file: a PCS/PCCS TCB info or enclave identity body, or a dcap-qvl
/// `QuoteCollateralV3`.
pub fn parse_json(source: &str, text: &[u8]) -> Result<DcapFile> {
    parse_json_new(source, text, &mut Seen::default())
}

/// [`parse_json`] without the certificates and CRLs `seen` holds (compared by the SHA-256 of
/// their exact DER bytes before parsing): a dcap-qvl file carries the Intel root three times and
/// the TCB Signing certificate twice.
pub(crate) fn parse_json_new(source: &str, text: &[u8], seen: &mut Seen) -> Result<DcapFile> {
    let members = object_members(text).map_err(|e| bad(source, e))?;
    let get = |k: &str| members.iter().find(|(key, _)| key == k).map(|(_, r)| r.clone());
    let slice = |r: &Range<usize>| text.get(r.clone()).unwrap_or(&[]);
    let mut out = DcapFile::default();
    let only = |allowed: &[&str]| -> Result<()> {
        match members.iter().find(|(k, _)| !allowed.contains(&k.as_str())) {
            Some((k, _)) => Err(bad(source, format!("unexpected key \"{k}\" (expected {})", allowed.join(", ")))),
            None => Ok(()),
        }
    };
    if let Some(r) = get("tcbInfo") {
        only(&["tcbInfo", "signature"])?;
        let sig = get("signature").ok_or_else(|| bad(source, "\"tcbInfo\" without \"signature\""))?;
        let sig = json_str(text, &sig, source, "signature")?;
        out.items.push(DcapItem::TcbInfo(Arc::new(TcbInfo::parse(slice(&r), &sig, source)?)));
    } else if let Some(r) = get("enclaveIdentity") {
        only(&["enclaveIdentity", "signature"])?;
        let sig = get("signature").ok_or_else(|| bad(source, "\"enclaveIdentity\" without \"signature\""))?;
        let sig = json_str(text, &sig, source, "signature")?;
        out.items.push(DcapItem::EnclaveIdentity(Arc::new(EnclaveIdentity::parse(slice(&r), &sig, source)?)));
    } else if get("tcb_info").is_some() || get("qe_identity").is_some() {
        only(&[
            "pck_crl_issuer_chain",
            "root_ca_crl",
            "pck_crl",
            "tcb_info_issuer_chain",
            "tcb_info",
            "tcb_info_signature",
            "qe_identity_issuer_chain",
            "qe_identity",
            "qe_identity_signature",
            "pck_certificate_chain",
        ])?;
        let s = |k: &str| -> Result<Option<String>> { get(k).map(|r| json_str(text, &r, source, k)).transpose() };
        let need = |k: &str| -> Result<String> { s(k)?.ok_or_else(|| bad(source, format!("\"{k}\" is missing"))) };
        if let Some(t) = s("tcb_info")? {
            let sig = need("tcb_info_signature")?;
            out.items.push(DcapItem::TcbInfo(Arc::new(TcbInfo::parse(t.as_bytes(), &sig, source)?)));
        }
        if let Some(q) = s("qe_identity")? {
            let sig = need("qe_identity_signature")?;
            out.items.push(DcapItem::EnclaveIdentity(Arc::new(EnclaveIdentity::parse(q.as_bytes(), &sig, source)?)));
        }
        for k in ["pck_crl_issuer_chain", "tcb_info_issuer_chain", "qe_identity_issuer_chain", "pck_certificate_chain"]
        {
            if let Some(pem) = s(k)? {
                let objs = read_new_objects(pem.as_bytes(), seen).map_err(|e| bad(source, format!("\"{k}\": {e}")))?;
                out.pki.extend(objs);
            }
        }
        for k in ["root_ca_crl", "pck_crl"] {
            if let Some(h) = s(k)? {
                let der = hex_decode(h.trim()).map_err(|e| bad(source, format!("\"{k}\" is not hex DER: {e}")))?;
                out.pki.extend(seen.crl(&der).map_err(|e| bad(source, format!("\"{k}\": {e}")))?);
            }
        }
    } else {
        let keys: Vec<&str> = members.iter().map(|(k, _)| k.as_str()).collect();
        return Err(bad(
            source,
            format!(
                "JSON with keys [{}] is neither an Intel TCB info / enclave identity body nor a dcap-qvl collateral file",
                keys.join(", ")
            ),
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_decode_is_hex_decode() {
        for s in ["", "00ff", "DeadBeef", "0", "0g", "g0", "abc", "12 34", "\u{e9}\u{e9}"] {
            assert_eq!(hex_decode(s), hex::decode(s), "{s:?}");
        }
        let all: String = (0..=255u8).map(|b| format!("{b:02x}{b:02X}")).collect();
        assert_eq!(hex_decode(&all), hex::decode(&all));
    }

    #[test]
    fn scanner_ranges_duplicates_trailing() {
        let t = br#" {"a" : {"x":[1,2,{"y":"}"}]}, "b":"s\"q"} "#;
        let m = object_members(t).expect("parses");
        assert_eq!(m.len(), 2);
        assert_eq!(&t[m[0].1.clone()], br#"{"x":[1,2,{"y":"}"}]}"#);
        assert_eq!(&t[m[1].1.clone()], br#""s\"q""#);
        assert!(object_members(br#"{"a":1,"a":2}"#).unwrap_err().contains("duplicated"));
        assert!(object_members(br#"{"a":{"b":1,"b":2}}"#).unwrap_err().contains("duplicated"));
        assert!(object_members(br#"{"a":1} x"#).is_err());
        assert!(object_members(br#"{"a":1}{}"#).is_err());
        assert!(object_members(br#"[1]"#).is_err());
    }
}
