//! The TPM as the attester needs it: NV indexes, persistent objects, quotes, and creating the
//! EK/AK pair. The trait speaks TPM wire structures as bytes (TPMT_PUBLIC, TPMS_ATTEST,
//! TPMT_SIGNATURE), so collection code and the pure-Rust verifier share one representation. The
//! implementation is [`crate::tpm2::TpmClient`] (pure Rust, over the [`crate::tcti`] transports).
//!
//! Also here, independent of any TPM library: classification of persistent objects from their
//! TPMT_PUBLIC (EK by the TCG default templates, AK, unknown) and the idempotent EK/AK setup.

use cloud_ra_verify::eventlog::AlgId;

/// Azure: the HCL report written by the paravisor.
pub const NV_HCL_REPORT: u32 = 0x0140_0001;
/// Azure: 64 bytes of user data; writing them makes the paravisor refresh the HCL report.
pub const NV_HCL_USER_DATA: u32 = 0x0140_0002;
/// Azure: the AK certificate.
pub const NV_AZURE_AK_CERT: u32 = 0x01C1_01D0;
/// Azure: the AK (RSA-2048, RSASSA-SHA256), persistent.
pub const AZURE_AK_HANDLE: u32 = 0x8100_0003;
/// The TCG-recommended EK handle (the seed's EK handle).
pub const EK_HANDLE: u32 = 0x8101_0001;
/// The seed's AK handle for `tpm setup-ak`.
pub const AK_HANDLE: u32 = 0x8100_0002;

/// First handle of each handle range (TPM_HT_* << 24).
pub const HR_NV_INDEX: u32 = 0x0100_0000;
pub const HR_HMAC_SESSION: u32 = 0x0200_0000;
pub const HR_POLICY_SESSION: u32 = 0x0300_0000;
pub const HR_TRANSIENT: u32 = 0x8000_0000;
pub const HR_PERSISTENT: u32 = 0x8100_0000;

/// Why a TPM operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TpmError {
    /// No TPM behind the TCTI (device missing, connection refused, TCTI unparsable, first command failed).
    #[error("no TPM reachable via TCTI '{tcti}': {detail}")]
    Unavailable { tcti: String, detail: String },
    /// A handle or NV index that does not exist.
    #[error("{0}")]
    Absent(String),
    /// The TPM refused an operation, or the connection to it broke during one.
    #[error("TPM {op} failed: {detail}")]
    Command { op: String, detail: String },
    /// The TPM's answer, or existing TPM state, is not what the operation needs.
    #[error("{0}")]
    Invalid(String),
    /// A bounded wait ran out.
    #[error("{0}")]
    Timeout(String),
}

impl TpmError {
    pub fn command(op: impl Into<String>, detail: impl std::fmt::Display) -> Self {
        TpmError::Command { op: op.into(), detail: detail.to_string() }
    }
}

/// Public key algorithm of an EK or AK.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyAlg {
    /// RSA-2048 (AKs: RSASSA with SHA-256, as on Azure).
    Rsa2048,
    /// ECC NIST P-256 (AKs: ECDSA with SHA-256).
    EccP256,
}

impl KeyAlg {
    pub fn parse(s: &str) -> Option<KeyAlg> {
        match s.to_ascii_lowercase().as_str() {
            "rsa" | "rsa2048" | "rsa-2048" => Some(KeyAlg::Rsa2048),
            "ecc" | "ecc256" | "p256" | "ecc-p256" | "nistp256" => Some(KeyAlg::EccP256),
            _ => None,
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            KeyAlg::Rsa2048 => "RSA-2048",
            KeyAlg::EccP256 => "ECC P-256",
        }
    }
}

/// PCR banks and indices to quote, in the order given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PcrSelection(pub Vec<(AlgId, Vec<u32>)>);

impl PcrSelection {
    /// `sha256:15,16,22`, `sha256:all`, `sha256:0-7+sha384:0,1` (tpm2-tools syntax, with ranges).
    pub fn parse(s: &str) -> Result<PcrSelection, String> {
        let mut out: Vec<(AlgId, Vec<u32>)> = Vec::new();
        for part in s.split('+').map(str::trim).filter(|p| !p.is_empty()) {
            let (bank, list) =
                part.split_once(':').ok_or_else(|| format!("PCR selection '{part}' is not BANK:INDICES"))?;
            let alg =
                AlgId::from_name(bank).ok_or_else(|| format!("PCR bank '{bank}' is not sha1/sha256/sha384/sha512"))?;
            if out.iter().any(|(a, _)| *a == alg) {
                return Err(format!("PCR bank {bank} is selected twice"));
            }
            let mut idx = Vec::new();
            if list.trim() == "all" {
                idx.extend(0..24);
            } else {
                for item in list.split(',').map(str::trim) {
                    let (lo, hi) = match item.split_once('-') {
                        Some((a, b)) => (a, b),
                        None => (item, item),
                    };
                    let lo: u32 = lo.trim().parse().map_err(|_| format!("PCR index '{item}' is not a number"))?;
                    let hi: u32 = hi.trim().parse().map_err(|_| format!("PCR index '{item}' is not a number"))?;
                    if lo > hi || hi > 23 {
                        return Err(format!("PCR index '{item}' is outside 0..=23"));
                    }
                    idx.extend(lo..=hi);
                }
            }
            idx.sort_unstable();
            idx.dedup();
            out.push((alg, idx));
        }
        if out.is_empty() {
            return Err("empty PCR selection".into());
        }
        Ok(PcrSelection(out))
    }
}

/// One TPM2_Quote: the signed structure, its signature, and the PCR values it covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quote {
    /// TPMS_ATTEST (contents of the returned TPM2B_ATTEST).
    pub attest: Vec<u8>,
    /// TPMT_SIGNATURE.
    pub signature: Vec<u8>,
    /// The PCR values of the quote's selection, concatenated in selection order (banks in the
    /// order of TPMS_ATTEST, indices ascending), checked against the signed pcrDigest.
    pub pcrs: Vec<u8>,
}

/// What NV_ReadPublic says about an index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NvInfo {
    pub size: usize,
    pub owner_read: bool,
    pub owner_write: bool,
    pub auth_read: bool,
    pub auth_write: bool,
}

/// The TPM, as the attester uses it. Every implementation must leave no transient object or
/// session loaded after a call returns (there may be no resource manager behind it).
pub trait Tpm {
    /// Words for the bundle: which TPM this is (TCTI, simulator or device).
    fn describe(&self) -> String;
    /// Handles currently in the TPM from `first` (a TPM_HT_* range start) to the end of its range.
    fn handles(&mut self, first: u32) -> Result<Vec<u32>, TpmError>;
    /// NV_ReadPublic of an index (absent: `TpmError::Absent`).
    fn nv_info(&mut self, index: u32) -> Result<NvInfo, TpmError>;
    /// The whole index, read in chunks of the TPM's NV buffer size (owner auth when the index
    /// allows it, else the index's own empty auth).
    fn nv_read(&mut self, index: u32) -> Result<Vec<u8>, TpmError>;
    /// Defines an ordinary index of `size` bytes under owner auth (ownerread|ownerwrite|authread|authwrite).
    fn nv_define(&mut self, index: u32, size: usize) -> Result<(), TpmError>;
    /// Writes `data` at offset 0, in chunks.
    fn nv_write(&mut self, index: u32, data: &[u8]) -> Result<(), TpmError>;
    /// TPMT_PUBLIC of a persistent object.
    fn read_public(&mut self, handle: u32) -> Result<Vec<u8>, TpmError>;
    /// TPM2_Quote by the persistent key `ak` over `pcrs` with qualifying data `nonce`.
    fn quote(&mut self, ak: u32, nonce: &[u8], pcrs: &PcrSelection) -> Result<Quote, TpmError>;
    /// TPMT_PUBLIC of the EK the TPM derives from the TCG default template for `alg` (created as
    /// a primary object, read, flushed).
    fn derive_ek_public(&mut self, alg: KeyAlg) -> Result<Vec<u8>, TpmError>;
    /// The same for either template range. Backends that only know the low range refuse the high.
    fn derive_ek_public_in(&mut self, alg: KeyAlg, range: EkRange) -> Result<Vec<u8>, TpmError> {
        match range {
            EkRange::Low => self.derive_ek_public(alg),
            EkRange::High => Err(TpmError::Invalid(format!("{} does not derive high-range EKs", self.describe()))),
        }
    }
    /// Creates the default-template EK and makes it persistent at `handle`. Returns its TPMT_PUBLIC.
    fn persist_ek(&mut self, alg: KeyAlg, handle: u32) -> Result<Vec<u8>, TpmError>;
    /// Creates an AK (restricted signing key, SHA-256) under the persistent EK `ek` and makes it
    /// persistent at `handle`. Returns its TPMT_PUBLIC.
    fn persist_ak(&mut self, ek: u32, alg: KeyAlg, handle: u32) -> Result<Vec<u8>, TpmError>;
    /// Removes the persistent object at `handle` (owner auth).
    fn evict(&mut self, handle: u32) -> Result<(), TpmError>;
}

// ---------------------------------------------------------------------------------------------
// TPMT_PUBLIC, enough to classify keys.

const TPM_ALG_RSA: u16 = 0x0001;
const TPM_ALG_ECC: u16 = 0x0023;
const TPM_ALG_NULL: u16 = 0x0010;
const TPM_ALG_KEYEDHASH: u16 = 0x0008;
const TPM_ALG_SYMCIPHER: u16 = 0x0025;

const ATTR_FIXED_TPM: u32 = 1 << 1;
const ATTR_FIXED_PARENT: u32 = 1 << 4;
const ATTR_SENSITIVE_DATA_ORIGIN: u32 = 1 << 5;
const ATTR_USER_WITH_AUTH: u32 = 1 << 6;
const ATTR_ADMIN_WITH_POLICY: u32 = 1 << 7;
const ATTR_RESTRICTED: u32 = 1 << 16;
const ATTR_DECRYPT: u32 = 1 << 17;
const ATTR_SIGN: u32 = 1 << 18;

/// TPM2_PolicySecret(TPM_RH_ENDORSEMENT) with SHA-256: the authPolicy of the TCG default EK
/// templates L-1 (RSA-2048) and L-2 (ECC P-256).
pub(crate) const EK_POLICY_A_SHA256: [u8; 32] = [
    0x83, 0x71, 0x97, 0x67, 0x44, 0x84, 0xb3, 0xf8, 0x1a, 0x90, 0xcc, 0x8d, 0x46, 0xa5, 0xd7, 0x24, 0xfd, 0x52, 0xd7,
    0x6e, 0x06, 0x52, 0x0b, 0x64, 0xf2, 0xa1, 0xda, 0x1b, 0x33, 0x14, 0x69, 0xaa,
];

/// TPM2_PolicyOR(policy A, policy C) with SHA-256: the authPolicy of the TCG high-range EK
/// templates H-1 (RSA-2048) and H-2 (ECC P-256), EK Credential Profile 2.3+.
pub(crate) const EK_POLICY_B_SHA256: [u8; 32] = [
    0xca, 0x3d, 0x0a, 0x99, 0xa2, 0xb9, 0x39, 0x06, 0xf7, 0xa3, 0x34, 0x24, 0x14, 0xef, 0xcf, 0xb3, 0xa3, 0x85, 0xd4,
    0x4c, 0xd1, 0xfd, 0x45, 0x90, 0x89, 0xd1, 0x9b, 0x50, 0x71, 0xc0, 0xb7, 0xa0,
];

/// Which TCG default EK template: the low range (L-1/L-2: policy A, unique zero-filled, the EK
/// handle 0x81010001 by convention) or the high range (H-1/H-2: policy B, userWithAuth, empty
/// unique).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EkRange {
    Low,
    High,
}

/// The parts of a TPMT_PUBLIC that say what a key is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicInfo {
    /// TPM_ALG_RSA, TPM_ALG_ECC, ...
    pub key_type: u16,
    pub name_alg: u16,
    pub attributes: u32,
    pub auth_policy: Vec<u8>,
    /// Symmetric algorithm of a storage/EK key (TPM_ALG_NULL for signing keys).
    pub symmetric: u16,
    /// Signing scheme and its hash (TPM_ALG_NULL, 0 when the key fixes none).
    pub scheme: u16,
    pub scheme_hash: u16,
    /// RSA key bits, or the ECC curve id.
    pub bits_or_curve: u16,
    /// RSA exponent (0 = 65537).
    pub exponent: u32,
    /// RSA modulus, or ECC x ‖ y (each as stored).
    pub unique: Vec<Vec<u8>>,
}

struct Rd<'a> {
    b: &'a [u8],
    pos: usize,
}

impl<'a> Rd<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], TpmError> {
        let s = self.pos.checked_add(n).and_then(|e| self.b.get(self.pos..e)).ok_or_else(|| {
            TpmError::Invalid(format!("TPMT_PUBLIC truncated at offset {} ({} bytes)", self.pos, self.b.len()))
        })?;
        self.pos += n;
        Ok(s)
    }
    fn u16(&mut self) -> Result<u16, TpmError> {
        let s = self.take(2)?;
        Ok(u16::from_be_bytes([s[0], s[1]]))
    }
    fn u32(&mut self) -> Result<u32, TpmError> {
        let s = self.take(4)?;
        Ok(u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
    }
    fn tpm2b(&mut self) -> Result<&'a [u8], TpmError> {
        let n = self.u16()? as usize;
        self.take(n)
    }
}

impl PublicInfo {
    /// Parses a TPMT_PUBLIC of an RSA or ECC key (byte-exact: trailing bytes are refused).
    pub fn parse(b: &[u8]) -> Result<PublicInfo, TpmError> {
        let mut r = Rd { b, pos: 0 };
        let key_type = r.u16()?;
        let name_alg = r.u16()?;
        let attributes = r.u32()?;
        let auth_policy = r.tpm2b()?.to_vec();
        if key_type != TPM_ALG_RSA && key_type != TPM_ALG_ECC {
            let what = match key_type {
                TPM_ALG_KEYEDHASH => "a keyed-hash object".to_string(),
                TPM_ALG_SYMCIPHER => "a symmetric key".to_string(),
                t => format!("type {t:#06x}"),
            };
            return Ok(PublicInfo {
                key_type,
                name_alg,
                attributes,
                auth_policy,
                symmetric: TPM_ALG_NULL,
                scheme: TPM_ALG_NULL,
                scheme_hash: 0,
                bits_or_curve: 0,
                exponent: 0,
                unique: vec![what.into_bytes()],
            });
        }
        let symmetric = r.u16()?;
        if symmetric != TPM_ALG_NULL {
            r.u16()?; // keyBits
            r.u16()?; // mode
        }
        let scheme = r.u16()?;
        let scheme_hash = if scheme == TPM_ALG_NULL { 0 } else { r.u16()? };
        let (bits_or_curve, exponent, unique) = if key_type == TPM_ALG_RSA {
            let bits = r.u16()?;
            let exp = r.u32()?;
            (bits, exp, vec![r.tpm2b()?.to_vec()])
        } else {
            let curve = r.u16()?;
            let kdf = r.u16()?;
            if kdf != TPM_ALG_NULL {
                r.u16()?;
            }
            let x = r.tpm2b()?.to_vec();
            let y = r.tpm2b()?.to_vec();
            (curve, 0, vec![x, y])
        };
        if r.pos != b.len() {
            return Err(TpmError::Invalid(format!("TPMT_PUBLIC has {} trailing bytes", b.len() - r.pos)));
        }
        Ok(PublicInfo {
            key_type,
            name_alg,
            attributes,
            auth_policy,
            symmetric,
            scheme,
            scheme_hash,
            bits_or_curve,
            exponent,
            unique,
        })
    }

    fn has(&self, a: u32) -> bool {
        self.attributes & a == a
    }

    pub fn alg(&self) -> Option<KeyAlg> {
        match (self.key_type, self.bits_or_curve) {
            (TPM_ALG_RSA, 2048) => Some(KeyAlg::Rsa2048),
            (TPM_ALG_ECC, 0x0003) => Some(KeyAlg::EccP256),
            _ => None,
        }
    }

    /// `RSA-2048`, `ECC P-256`, `RSA-3072`, `ECC curve 0x0004`, ...
    pub fn alg_name(&self) -> String {
        match (self.key_type, self.bits_or_curve) {
            (TPM_ALG_RSA, b) => format!("RSA-{b}"),
            (TPM_ALG_ECC, 0x0003) => "ECC P-256".into(),
            (TPM_ALG_ECC, 0x0004) => "ECC P-384".into(),
            (TPM_ALG_ECC, 0x0005) => "ECC P-521".into(),
            (TPM_ALG_ECC, c) => format!("ECC curve {c:#06x}"),
            _ => String::from_utf8_lossy(self.unique.first().map(Vec::as_slice).unwrap_or_default()).into_owned(),
        }
    }

    /// An EK made from a TCG default template (L-1 RSA-2048 / L-2 ECC P-256; the high-range
    /// templates use other policies and count as EKs too when they match the attribute pattern).
    pub fn is_ek_template(&self) -> bool {
        let attrs = ATTR_FIXED_TPM
            | ATTR_FIXED_PARENT
            | ATTR_SENSITIVE_DATA_ORIGIN
            | ATTR_ADMIN_WITH_POLICY
            | ATTR_RESTRICTED
            | ATTR_DECRYPT;
        self.has(attrs)
            && !self.has(ATTR_SIGN)
            && (self.key_type == TPM_ALG_RSA || self.key_type == TPM_ALG_ECC)
            && (self.auth_policy == EK_POLICY_A_SHA256
                || self.auth_policy == EK_POLICY_B_SHA256
                || self.auth_policy.len() >= 48)
    }

    /// Which default template range an EK-shaped key's policy belongs to (SHA-256 policies only).
    pub fn ek_range(&self) -> Option<EkRange> {
        if !self.is_ek_template() {
            None
        } else if self.auth_policy == EK_POLICY_A_SHA256 {
            Some(EkRange::Low)
        } else if self.auth_policy == EK_POLICY_B_SHA256 && self.user_with_auth() {
            Some(EkRange::High)
        } else {
            None
        }
    }

    /// A restricted signing key that never leaves the TPM: what a quote needs.
    pub fn is_attestation_key(&self) -> bool {
        self.has(ATTR_RESTRICTED | ATTR_SIGN | ATTR_FIXED_TPM | ATTR_FIXED_PARENT) && !self.has(ATTR_DECRYPT)
    }

    /// Whether an empty password authorises use (how Azure's AK and `tpm setup-ak`'s are made).
    pub fn user_with_auth(&self) -> bool {
        self.has(ATTR_USER_WITH_AUTH)
    }

    pub fn scheme_name(&self) -> String {
        let s = match self.scheme {
            0x0014 => "RSASSA",
            0x0016 => "RSAPSS",
            0x0018 => "ECDSA",
            TPM_ALG_NULL => return "no fixed scheme".into(),
            _ => return format!("scheme {:#06x}", self.scheme),
        };
        format!("{s}-{}", AlgId(self.scheme_hash).name().to_uppercase())
    }
}

/// What a persistent handle holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyKind {
    Ek(KeyAlg),
    /// An EK-shaped key of another size or curve.
    EkOther(String),
    Ak(String),
    Unknown(String),
}

/// One persistent handle, classified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyEntry {
    pub handle: u32,
    pub kind: KeyKind,
    /// TPMT_PUBLIC, when it could be read.
    pub public: Option<Vec<u8>>,
    /// Whether the key does what its kind is for, checked on the TPM: an AK quotes; an EK is the
    /// one this TPM derives from its template.
    pub usable: bool,
    /// Why not usable, or what was checked.
    pub note: String,
}

impl KeyEntry {
    pub fn kind_name(&self) -> String {
        match &self.kind {
            KeyKind::Ek(a) => format!("EK {} (TCG default template)", a.name()),
            KeyKind::EkOther(s) => format!("EK {s}"),
            KeyKind::Ak(s) => format!("AK {s}"),
            KeyKind::Unknown(s) => format!("unknown ({s})"),
        }
    }
}

impl KeyKind {
    /// `EK-RSA`, `EK-ECC`, `AK-RSA`, `AK-ECC`, `unknown-RSA`, `unknown` (survey's vocabulary).
    pub fn short(&self, public: Option<&[u8]>) -> String {
        let fam = public.and_then(|p| PublicInfo::parse(p).ok()).map(|p| match p.key_type {
            TPM_ALG_RSA => "RSA",
            TPM_ALG_ECC => "ECC",
            _ => "other",
        });
        let role = match self {
            KeyKind::Ek(_) | KeyKind::EkOther(_) => "EK",
            KeyKind::Ak(_) => "AK",
            KeyKind::Unknown(_) => "unknown",
        };
        match fam {
            Some(f) => format!("{role}-{f}"),
            None => role.to_string(),
        }
    }
}

/// A persistent handle, what it holds, and its TPMT_PUBLIC when readable.
pub type Classified = (u32, KeyKind, Option<Vec<u8>>);

/// Every persistent handle with what it holds, from its public area only (no test quote, no EK
/// derivation: cheap enough for `survey`).
pub fn classify_persistent(tpm: &mut dyn Tpm) -> Result<Vec<Classified>, TpmError> {
    let mut out = Vec::new();
    for h in tpm.handles(HR_PERSISTENT)? {
        match tpm.read_public(h) {
            Ok(p) => out.push((h, classify(&p), Some(p))),
            Err(e) => out.push((h, KeyKind::Unknown(format!("public area unreadable: {e}")), None)),
        }
    }
    Ok(out)
}

/// Classifies a TPMT_PUBLIC.
pub fn classify(public: &[u8]) -> KeyKind {
    let p = match PublicInfo::parse(public) {
        Ok(p) => p,
        Err(e) => return KeyKind::Unknown(e.to_string()),
    };
    if p.is_ek_template() {
        return match p.alg() {
            Some(a) => KeyKind::Ek(a),
            None => KeyKind::EkOther(p.alg_name()),
        };
    }
    if p.is_attestation_key() {
        return KeyKind::Ak(format!("{} {}", p.alg_name(), p.scheme_name()));
    }
    let role = match (p.has(ATTR_RESTRICTED), p.has(ATTR_DECRYPT), p.has(ATTR_SIGN)) {
        (true, true, false) => "storage key",
        (false, false, true) => "unrestricted signing key",
        (false, true, false) => "decryption key",
        (false, true, true) => "sign+decrypt key",
        _ => "object",
    };
    KeyKind::Unknown(format!("{} {role}, attributes {:#010x}", p.alg_name(), p.attributes))
}

/// Lists and classifies every persistent handle. Usability is checked on the TPM: AKs (with an
/// empty password) sign a quote over sha256:0 with a throwaway nonce; EKs of a default template
/// must equal the EK the TPM derives now.
pub fn list_keys(tpm: &mut dyn Tpm) -> Result<Vec<KeyEntry>, TpmError> {
    let mut out = Vec::new();
    for handle in tpm.handles(HR_PERSISTENT)? {
        let public = match tpm.read_public(handle) {
            Ok(p) => p,
            Err(e) => {
                out.push(KeyEntry {
                    handle,
                    kind: KeyKind::Unknown("public area unreadable".into()),
                    public: None,
                    usable: false,
                    note: e.to_string(),
                });
                continue;
            }
        };
        let kind = classify(&public);
        let (usable, note) = match &kind {
            KeyKind::Ek(alg) => match PublicInfo::parse(&public)
                .ok()
                .and_then(|p| p.ek_range())
                .map(|range| tpm.derive_ek_public_in(*alg, range))
                .unwrap_or_else(|| tpm.derive_ek_public(*alg))
            {
                Ok(derived) if derived == public => (true, "equals the EK this TPM derives from the template".into()),
                Ok(_) => (false, "differs from the EK this TPM derives from the template".into()),
                Err(e) => (false, format!("could not derive the template EK: {e}")),
            },
            KeyKind::Ak(_) => {
                let user_auth = PublicInfo::parse(&public).map(|p| p.user_with_auth()).unwrap_or(false);
                if !user_auth {
                    (false, "needs a policy session (userWithAuth clear)".into())
                } else {
                    let sel = PcrSelection(vec![(AlgId::SHA256, vec![0])]);
                    match tpm.quote(handle, b"cloud-ra tpm keys", &sel) {
                        Ok(_) => (true, "signed a test quote".into()),
                        Err(e) => (false, format!("test quote failed: {e}")),
                    }
                }
            }
            KeyKind::EkOther(_) => (true, "EK-shaped; not compared with a template".into()),
            KeyKind::Unknown(_) => (false, "not an EK or AK".into()),
        };
        out.push(KeyEntry { handle, kind, public: Some(public), usable, note });
    }
    Ok(out)
}

/// What `setup_ak` did at one handle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SetupStep {
    Created,
    AlreadyPresent,
}

/// Result of [`setup_ak`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetupReport {
    pub ek_handle: u32,
    pub ek: SetupStep,
    pub ek_public: Vec<u8>,
    pub ak_handle: u32,
    pub ak: SetupStep,
    pub ak_public: Vec<u8>,
}

/// Creates the default-template EK at `ek_handle` and an AK under it at `ak_handle`,
/// idempotently: an EK already there that equals the one the TPM derives is kept; an AK of the
/// requested algorithm already there is kept. Any other object at either handle is refused
/// (never evicted).
pub fn setup_ak(
    tpm: &mut dyn Tpm,
    ek_alg: KeyAlg,
    ek_handle: u32,
    ak_alg: KeyAlg,
    ak_handle: u32,
) -> Result<SetupReport, TpmError> {
    for h in [ek_handle, ak_handle] {
        if !(0x8100_0000..=0x81FF_FFFF).contains(&h) {
            return Err(TpmError::Invalid(format!("{h:#010x} is not a persistent handle (0x81000000..0x81FFFFFF)")));
        }
    }
    if ek_handle == ak_handle {
        return Err(TpmError::Invalid("the EK and the AK need different handles".into()));
    }
    let present = tpm.handles(HR_PERSISTENT)?;
    let (ek, ek_public) = if present.contains(&ek_handle) {
        let existing = tpm.read_public(ek_handle)?;
        let derived = tpm.derive_ek_public(ek_alg)?;
        if existing != derived {
            return Err(TpmError::Invalid(format!(
                "{ek_handle:#010x} already holds {}, not this TPM's {} EK; refusing to replace it",
                describe_kind(&existing),
                ek_alg.name()
            )));
        }
        (SetupStep::AlreadyPresent, existing)
    } else {
        (SetupStep::Created, tpm.persist_ek(ek_alg, ek_handle)?)
    };
    let (ak, ak_public) = if present.contains(&ak_handle) {
        let existing = tpm.read_public(ak_handle)?;
        let info = PublicInfo::parse(&existing)?;
        if !info.is_attestation_key() || info.alg() != Some(ak_alg) {
            return Err(TpmError::Invalid(format!(
                "{ak_handle:#010x} already holds {}, not the {} AK asked for; refusing to replace it",
                describe_kind(&existing),
                ak_alg.name()
            )));
        }
        (SetupStep::AlreadyPresent, existing)
    } else {
        (SetupStep::Created, tpm.persist_ak(ek_handle, ak_alg, ak_handle)?)
    };
    Ok(SetupReport { ek_handle, ek, ek_public, ak_handle, ak, ak_public })
}

fn describe_kind(public: &[u8]) -> String {
    let e = KeyEntry { handle: 0, kind: classify(public), public: None, usable: false, note: String::new() };
    format!("an {}", e.kind_name())
}

/// Where the TPM is: `--tcti`, else `$TPM2TOOLS_TCTI`, else `$TCTI`, else `device:/dev/tpmrm0`
/// (the kernel resource manager).
pub fn default_tcti(flag: Option<&str>) -> String {
    if let Some(t) = flag.filter(|t| !t.is_empty()) {
        return t.to_string();
    }
    for var in ["TPM2TOOLS_TCTI", "TCTI"] {
        if let Ok(v) = std::env::var(var)
            && !v.is_empty()
        {
            return v;
        }
    }
    "device:/dev/tpmrm0".to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pcr_selection_syntax() {
        let s = PcrSelection::parse("sha256:15,16,22").unwrap();
        assert_eq!(s.0, vec![(AlgId::SHA256, vec![15, 16, 22])]);
        let s = PcrSelection::parse("sha256:0-2,7+sha384:all").unwrap();
        assert_eq!(s.0[0].1, vec![0, 1, 2, 7]);
        assert_eq!(s.0[1].1.len(), 24);
        for bad in ["", "sha256", "md5:1", "sha256:24", "sha256:x", "sha256:3-1", "sha256:1+sha256:2"] {
            assert!(PcrSelection::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn public_parse_refuses_truncation_and_trailing_bytes() {
        // RSA-2048 restricted signing key, RSASSA-SHA256, empty modulus of the right framing.
        let mut p = vec![0x00, 0x01, 0x00, 0x0b];
        p.extend(
            (ATTR_RESTRICTED | ATTR_SIGN | ATTR_FIXED_TPM | ATTR_FIXED_PARENT | ATTR_USER_WITH_AUTH).to_be_bytes(),
        );
        p.extend([0, 0]); // authPolicy
        p.extend([0x00, 0x10, 0x00, 0x14, 0x00, 0x0b]); // sym NULL, RSASSA SHA256
        p.extend([0x08, 0x00, 0, 0, 0, 0]); // 2048 bits, exponent 0
        p.extend([0x01, 0x00]);
        p.extend([0xAB; 256]);
        let info = PublicInfo::parse(&p).unwrap();
        assert_eq!(info.alg(), Some(KeyAlg::Rsa2048));
        assert!(info.is_attestation_key());
        assert_eq!(classify(&p), KeyKind::Ak("RSA-2048 RSASSA-SHA256".into()));
        let mut long = p.clone();
        long.push(0);
        assert!(PublicInfo::parse(&long).is_err());
        for n in [0, 3, 10, p.len() - 1] {
            assert!(PublicInfo::parse(&p[..n]).is_err(), "{n}");
        }
    }

    #[test]
    fn tcti_precedence() {
        assert_eq!(default_tcti(Some("swtpm:port=1")), "swtpm:port=1");
    }
}
