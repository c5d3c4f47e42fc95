//! `cloud-ra-sim`: a simulated AMD SEV-SNP PKI (ARK → ASK/ASVK → VCEK/VLEK,
//! plus a CRL) and an SNP attestation-report signer.
//!
//! Everything is derived from the fixed, **published** [`SEED`], so every key,
//! certificate, CRL and signed report is byte-for-byte reproducible across
//! processes, runs and machines (for a given `Cargo.lock`). Because the seed is
//! public, these keys are worthless as trust anchors: they exist for demos and
//! (negative) tests only. A verifier must never ship the simulated ARK as a
//! trusted root outside an explicit "simulation" mode.
//!
//! The certificates imitate the real AMD KDS certificates (X.509 v3, RSASSA-PSS
//! SHA-384 signatures, the AMD naming scheme, the `1.3.6.1.4.1.3704.1.*` VCEK
//! extensions in AMD's order), with two deliberate differences: the RSA keys are
//! 2048 bits (AMD: 4096) to keep key generation fast, and the organisation
//! name is `cloud-ra SIMULATED (not AMD)`.

#![forbid(unsafe_code)]

pub mod chromium;
pub mod der;
pub mod google;
pub mod intel;
pub mod nitro;
mod report;
pub mod swtpm;
pub mod testdata;

pub use report::ReportBuilder;

use std::sync::OnceLock;

use cloud_ra_verify::snp::format::{self, Product};

use p384::ecdsa::SigningKey as EcSigningKey;
use p384::ecdsa::signature::Signer as _;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use rsa::RsaPrivateKey;
use rsa::pss::SigningKey as PssSigningKey;
use rsa::signature::{RandomizedSigner as _, SignatureEncoding as _};
use rsa::traits::PublicKeyParts as _;
use sha2::{Digest, Sha256, Sha384, Sha512};

/// The published seed every simulated key is derived from. NOT A TRUST ANCHOR.
pub const SEED: &[u8] = b"cloud-ra simulated PKI v1 -- published seed, NOT A TRUST ANCHOR";

/// The simulated chip's 64-byte CHIP_ID: `SHA-512(SEED || "chip-id")`
/// (checked by a unit test against [`sim_chip_id`]).
pub const SIM_CHIP_ID: [u8; 64] = [
    0x4d, 0xa7, 0xec, 0x4e, 0xb2, 0x08, 0x13, 0xab, 0x8e, 0x22, 0x5f, 0xcf, 0x2c, 0xbc, 0x2f, 0x78, 0x15, 0xd5, 0xc5,
    0x7d, 0x5c, 0x3a, 0x72, 0x76, 0xb9, 0x2e, 0x37, 0xe7, 0x2b, 0x37, 0x72, 0x5f, 0x9a, 0x2e, 0xa0, 0x78, 0x91, 0x18,
    0x36, 0x90, 0xe0, 0x49, 0xb2, 0x93, 0x55, 0x3b, 0x27, 0xff, 0xf7, 0x51, 0x5f, 0x79, 0x7f, 0x34, 0x19, 0x53, 0xd6,
    0x20, 0x4f, 0x2c, 0x54, 0x9f, 0x4b, 0x25,
];

/// Computes the simulated CHIP_ID, `SHA-512(SEED || "chip-id")` (= [`SIM_CHIP_ID`]).
pub fn sim_chip_id() -> [u8; 64] {
    let mut h = Sha512::new();
    h.update(SEED);
    h.update(b"chip-id");
    h.finalize().into()
}

/// The Turin-style 8-byte hardware ID of the simulated chip (the first 8 bytes
/// of [`SIM_CHIP_ID`]); Turin VCEKs carry an 8-byte hwID and Turin reports
/// carry it in CHIP_ID[0..8] followed by zeros.
pub fn sim_chip_id_turin() -> [u8; 64] {
    let mut id = [0u8; 64];
    id[..8].copy_from_slice(&SIM_CHIP_ID[..8]);
    id
}

/// Validity start of the simulated CA certificates (ARK, ASK, ASVK): 2019-01-01T00:00:00Z.
pub const CA_NOT_BEFORE: i64 = 1_546_300_800;
/// Validity end of the simulated CA certificates: 2100-01-01T00:00:00Z
/// (encoded as GeneralizedTime).
pub const CA_NOT_AFTER: i64 = 4_102_444_800;
/// Default validity start of a simulated VCEK/VLEK: 2020-01-01T00:00:00Z.
pub const VEK_NOT_BEFORE: i64 = 1_577_836_800;
/// Default validity end of a simulated VCEK/VLEK: 2099-12-31T23:59:59Z.
pub const VEK_NOT_AFTER: i64 = 4_102_444_799;

/// `O=` of every simulated certificate (AMD's is "Advanced Micro Devices").
pub const SIM_ORGANIZATION: &str = "cloud-ra SIMULATED (not AMD)";

/// Size of the RSA keys of the simulated ARK/ASK/ASVK (AMD uses 4096).
pub const RSA_BITS: usize = 2048;

/// Size of an SEV-SNP ATTESTATION_REPORT (the verifier's [`format::REPORT_SIZE`]).
pub const REPORT_LEN: usize = format::REPORT_SIZE;
/// The report bytes covered by the signature: `report[0..SIGNED_LEN]`.
pub const SIGNED_LEN: usize = format::SIGNED_LEN;

/// Which kind of versioned endorsement key signs a report.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VekKind {
    /// Versioned Chip Endorsement Key (per chip and TCB, issued by the ASK).
    Vcek,
    /// Versioned Loaded Endorsement Key (per cloud provider and TCB, issued by the ASVK).
    Vlek,
}

/// An SEV-SNP TCB version. `fmc` is `Some` only on Turin and later, and its
/// presence selects the Turin layout in [`Tcb::to_u64`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Tcb {
    pub fmc: Option<u8>,
    pub bl: u8,
    pub tee: u8,
    pub snp: u8,
    pub ucode: u8,
}

impl Tcb {
    /// A Milan/Genoa TCB (no FMC).
    pub const fn milan(bl: u8, tee: u8, snp: u8, ucode: u8) -> Self {
        Self { fmc: None, bl, tee, snp, ucode }
    }

    /// A Turin TCB (with FMC).
    pub const fn turin(fmc: u8, bl: u8, tee: u8, snp: u8, ucode: u8) -> Self {
        Self { fmc: Some(fmc), bl, tee, snp, ucode }
    }

    /// The verifier's TCB of these components and the layout `fmc` selects.
    fn format(&self) -> (format::Tcb, Product) {
        let product = if self.fmc.is_some() { Product::Turin } else { Product::Milan };
        (
            format::Tcb { fmc: self.fmc, bootloader: self.bl, tee: self.tee, snp: self.snp, microcode: self.ucode },
            product,
        )
    }

    /// Milan/Genoa TCB_VERSION: byte0 BL, byte1 TEE, byte6 SNP, byte7 MICROCODE
    /// (`fmc` is ignored).
    pub fn to_u64_milan(&self) -> u64 {
        self.format().0.encode(Product::Milan)
    }

    /// Turin TCB_VERSION: byte0 FMC (0 when `None`), byte1 BL, byte2 TEE,
    /// byte3 SNP, byte7 MICROCODE.
    pub fn to_u64_turin(&self) -> u64 {
        self.format().0.encode(Product::Turin)
    }

    /// Turin layout when `fmc` is `Some`, Milan/Genoa layout otherwise
    /// (encoded by the verifier's [`format::Tcb::encode`]).
    pub fn to_u64(&self) -> u64 {
        let (tcb, product) = self.format();
        tcb.encode(product)
    }

    /// Decodes a Milan/Genoa TCB_VERSION.
    pub fn from_u64_milan(v: u64) -> Self {
        let t = format::Tcb::decode(v, Product::Milan);
        Self::milan(t.bootloader, t.tee, t.snp, t.microcode)
    }

    /// Decodes a Turin TCB_VERSION.
    pub fn from_u64_turin(v: u64) -> Self {
        let t = format::Tcb::decode(v, Product::Turin);
        Self::turin(t.fmc.unwrap_or(0), t.bootloader, t.tee, t.snp, t.microcode)
    }
}

/// Who signs a certificate or CRL.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Signer {
    /// The simulated ARK (issuer name = ARK subject).
    Ark,
    /// The simulated ASK (issuer name = ASK subject).
    Ask,
    /// The simulated ASVK (issuer name = ASVK subject).
    Asvk,
    /// A different RSA key that claims the ARK's name (issuer name = ARK
    /// subject); its self-signed certificate is [`SimAmd::impostor_ark_der`].
    ImpostorArk,
}

/// What a simulated VCEK/VLEK certificate contains.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VekSpec {
    pub kind: VekKind,
    /// `productName` extension (`1.3.6.1.4.1.3704.1.2`), e.g. "Milan-B0".
    pub product_name: String,
    /// The TCB in the SPL extensions; `fmc: Some` adds `fmcSPL` (`.3.9`) and
    /// switches to the Turin extension set.
    pub tcb: Tcb,
    /// hwID extension (`.4`) contents: the raw bytes, not DER-wrapped.
    pub hwid: Option<Vec<u8>>,
    /// CSP_ID extension (`.5`, IA5String), VLEK only in reality.
    pub csp_id: Option<String>,
    /// Serial number, big-endian unsigned (AMD uses 0 for VCEKs/VLEKs).
    pub serial: Vec<u8>,
    /// Unix seconds.
    pub not_before: i64,
    /// Unix seconds.
    pub not_after: i64,
    /// Issuer name and signing key.
    pub issuer: Signer,
    /// Extra non-critical extensions appended after the AMD ones:
    /// (dotted OID, raw extnValue contents). To replace an AMD extension, list
    /// its OID in `omit_extensions` and add the replacement here.
    pub extra_extensions: Vec<(String, Vec<u8>)>,
    /// Dotted OIDs of AMD extensions to leave out (negative tests).
    pub omit_extensions: Vec<String>,
}

impl VekSpec {
    /// A VCEK of the simulated chip: product "Milan-B0" ("Turin" when
    /// `tcb.fmc` is `Some`), hwID = [`SIM_CHIP_ID`] (Turin: its first 8
    /// bytes), serial 0, validity [`VEK_NOT_BEFORE`]..[`VEK_NOT_AFTER`],
    /// issued by the ASK.
    pub fn vcek(tcb: Tcb) -> Self {
        let turin = tcb.fmc.is_some();
        Self {
            kind: VekKind::Vcek,
            product_name: if turin { "Turin" } else { "Milan-B0" }.to_string(),
            tcb,
            hwid: Some(if turin { SIM_CHIP_ID[..8].to_vec() } else { SIM_CHIP_ID.to_vec() }),
            csp_id: None,
            serial: vec![0],
            not_before: VEK_NOT_BEFORE,
            not_after: VEK_NOT_AFTER,
            issuer: Signer::Ask,
            extra_extensions: Vec::new(),
            omit_extensions: Vec::new(),
        }
    }

    /// A VLEK: product "Milan" ("Turin" when `tcb.fmc` is `Some`), no hwID,
    /// CSP_ID "CN=sim.cloud-ra.invalid", serial 0, validity
    /// [`VEK_NOT_BEFORE`]..[`VEK_NOT_AFTER`], issued by the ASVK.
    pub fn vlek(tcb: Tcb) -> Self {
        let turin = tcb.fmc.is_some();
        Self {
            kind: VekKind::Vlek,
            product_name: if turin { "Turin" } else { "Milan" }.to_string(),
            tcb,
            hwid: None,
            csp_id: Some("CN=sim.cloud-ra.invalid".to_string()),
            serial: vec![0],
            not_before: VEK_NOT_BEFORE,
            not_after: VEK_NOT_AFTER,
            issuer: Signer::Asvk,
            extra_extensions: Vec::new(),
            omit_extensions: Vec::new(),
        }
    }

    /// The label the VEK's P-384 key is derived from: kind, TCB and hwID (not
    /// serial, validity, names or extensions), so one chip + TCB always has
    /// the same key.
    fn key_label(&self) -> Vec<u8> {
        let mut l = match self.kind {
            VekKind::Vcek => b"vcek".to_vec(),
            VekKind::Vlek => b"vlek".to_vec(),
        };
        l.push(u8::from(self.tcb.fmc.is_some()));
        l.extend_from_slice(&self.tcb.to_u64().to_le_bytes());
        if let Some(hwid) = &self.hwid {
            l.extend_from_slice(hwid);
        }
        l
    }
}

/// What a simulated ARK CRL contains. The issuer name is always the ARK
/// subject; `signer` chooses the signing key. Every entry is revoked at
/// `this_update`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CrlSpec {
    pub signer: Signer,
    /// Unix seconds.
    pub this_update: i64,
    /// Unix seconds.
    pub next_update: Option<i64>,
    /// Revoked serial numbers, big-endian unsigned.
    pub revoked: Vec<Vec<u8>>,
}

impl CrlSpec {
    /// An empty CRL signed by the ARK, valid for 7 days from `this_update`.
    pub fn new(this_update: i64) -> Self {
        Self { signer: Signer::Ark, this_update, next_update: Some(this_update + 7 * 86_400), revoked: Vec::new() }
    }
}

// ---------------------------------------------------------------------------
// Deterministic randomness and keys

/// `ChaCha20Rng` seeded with `SHA-256(SEED || parts...)`.
/// A reproducible RSA key from `rng_for(parts)`, its SubjectPublicKeyInfo (rsaEncryption) and its
/// key identifier (the first 20 bytes of SHA-256 of the RSAPublicKey).
pub(crate) fn rsa_key(parts: &[&[u8]]) -> (RsaPrivateKey, Vec<u8>, [u8; 20]) {
    let mut rng = rng_for(parts);
    let key = RsaPrivateKey::new(&mut rng, RSA_BITS).expect("RSA key generation with a valid size cannot fail");
    let rsa_pub = der::sequence(&[&der::uint(&key.n().to_bytes_be()), &der::uint(&key.e().to_bytes_be())]);
    let spki =
        der::sequence(&[&der::sequence(&[&der::oid(OID_RSA_ENCRYPTION), &der::null()]), &der::bit_string(&rsa_pub)]);
    let mut key_id = [0u8; 20];
    key_id.copy_from_slice(&sha256(&rsa_pub)[..20]);
    (key, spki, key_id)
}

fn rng_for(parts: &[&[u8]]) -> ChaCha20Rng {
    let mut h = Sha256::new();
    h.update(SEED);
    for p in parts {
        h.update(p);
    }
    ChaCha20Rng::from_seed(h.finalize().into())
}

fn sha256(data: &[u8]) -> [u8; 32] {
    Sha256::digest(data).into()
}

/// One simulated RSA CA key.
struct RsaCa {
    key: PssSigningKey<Sha384>,
    spki: Vec<u8>,
    /// subjectKeyIdentifier: first 20 bytes of SHA-256 of the subjectPublicKey
    /// (RFC 7093 method 1).
    key_id: [u8; 20],
}

impl RsaCa {
    fn generate(label: &str) -> Self {
        let (key, spki, key_id) = rsa_key(&[label.as_bytes()]);
        Self { key: PssSigningKey::new_with_salt_len(key, 48), spki, key_id }
    }

    /// RSASSA-PSS/SHA-384/MGF1-SHA-384/salt 48 over `tbs`; the salt comes
    /// from `SHA-256(SEED || "pss-salt" || tbs)`, so it is reproducible.
    fn sign(&self, tbs: &[u8]) -> Vec<u8> {
        let mut rng = rng_for(&[b"pss-salt", tbs]);
        self.key.sign_with_rng(&mut rng, tbs).to_vec()
    }
}

fn vek_key(spec: &VekSpec) -> EcSigningKey {
    let mut rng = rng_for(&[&spec.key_label()]);
    EcSigningKey::random(&mut rng)
}

fn ec_spki(key: &EcSigningKey) -> Vec<u8> {
    let point = key.verifying_key().to_encoded_point(false);
    der::sequence(&[
        &der::sequence(&[&der::oid(OID_EC_PUBLIC_KEY), &der::oid(OID_SECP384R1)]),
        &der::bit_string(point.as_bytes()),
    ])
}

// ---------------------------------------------------------------------------
// X.509 building blocks

const OID_RSA_ENCRYPTION: &str = "1.2.840.113549.1.1.1";
const OID_RSASSA_PSS: &str = "1.2.840.113549.1.1.10";
const OID_MGF1: &str = "1.2.840.113549.1.1.8";
const OID_SHA384: &str = "2.16.840.1.101.3.4.2.2";
const OID_EC_PUBLIC_KEY: &str = "1.2.840.10045.2.1";
const OID_SECP384R1: &str = "1.3.132.0.34";
const OID_SUBJECT_KEY_ID: &str = "2.5.29.14";
const OID_KEY_USAGE: &str = "2.5.29.15";
const OID_BASIC_CONSTRAINTS: &str = "2.5.29.19";
const OID_CRL_NUMBER: &str = "2.5.29.20";
const OID_AUTHORITY_KEY_ID: &str = "2.5.29.35";

/// AMD VCEK/VLEK extension OIDs (`1.3.6.1.4.1.3704.1.*`).
pub mod amd_oid {
    pub const STRUCT_VERSION: &str = "1.3.6.1.4.1.3704.1.1";
    pub const PRODUCT_NAME: &str = "1.3.6.1.4.1.3704.1.2";
    pub const BL_SPL: &str = "1.3.6.1.4.1.3704.1.3.1";
    pub const TEE_SPL: &str = "1.3.6.1.4.1.3704.1.3.2";
    pub const SNP_SPL: &str = "1.3.6.1.4.1.3704.1.3.3";
    pub const SPL_4: &str = "1.3.6.1.4.1.3704.1.3.4";
    pub const SPL_5: &str = "1.3.6.1.4.1.3704.1.3.5";
    pub const SPL_6: &str = "1.3.6.1.4.1.3704.1.3.6";
    pub const SPL_7: &str = "1.3.6.1.4.1.3704.1.3.7";
    pub const UCODE_SPL: &str = "1.3.6.1.4.1.3704.1.3.8";
    pub const FMC_SPL: &str = "1.3.6.1.4.1.3704.1.3.9";
    pub const HWID: &str = "1.3.6.1.4.1.3704.1.4";
    pub const CSP_ID: &str = "1.3.6.1.4.1.3704.1.5";
}

/// The RSASSA-PSS AlgorithmIdentifier AMD uses: SHA-384, MGF1-SHA-384, salt 48
/// (trailerField left at its DER default, like AMD's newer certificates).
fn pss_alg_id() -> Vec<u8> {
    let sha384 = der::sequence(&[&der::oid(OID_SHA384), &der::null()]);
    let params = der::sequence(&[
        &der::explicit(0, &sha384),
        &der::explicit(1, &der::sequence(&[&der::oid(OID_MGF1), &sha384])),
        &der::explicit(2, &der::small_uint(48)),
    ]);
    der::sequence(&[&der::oid(OID_RSASSA_PSS), &params])
}

/// An AMD-shaped distinguished name with the given common name.
fn amd_name(cn: &str) -> Vec<u8> {
    let rdn = |oid: &str, value: Vec<u8>| der::set(&[&der::sequence(&[&der::oid(oid), &value])]);
    der::sequence_of(&[
        rdn("2.5.4.11", der::utf8_string("Engineering")),
        rdn("2.5.4.6", der::printable_string("US")),
        rdn("2.5.4.7", der::utf8_string("Santa Clara")),
        rdn("2.5.4.8", der::utf8_string("CA")),
        rdn("2.5.4.10", der::utf8_string(SIM_ORGANIZATION)),
        rdn("2.5.4.3", der::utf8_string(cn)),
    ])
}

const CN_ARK: &str = "ARK-Milan";
const CN_ASK: &str = "SEV-Milan";
const CN_ASVK: &str = "SEV-VLEK-Milan";

/// One Extension: SEQUENCE { extnID, critical DEFAULT FALSE, extnValue }.
fn extension(oid: &str, critical: bool, value: &[u8]) -> Vec<u8> {
    if critical {
        der::sequence(&[&der::oid(oid), &der::boolean(true), &der::octet_string(value)])
    } else {
        der::sequence(&[&der::oid(oid), &der::octet_string(value)])
    }
}

fn ski_ext(key_id: &[u8]) -> Vec<u8> {
    extension(OID_SUBJECT_KEY_ID, false, &der::octet_string(key_id))
}

fn aki_value(key_id: &[u8]) -> Vec<u8> {
    der::sequence(&[&der::tlv(0x80, key_id)])
}

struct CertParams<'a> {
    serial: &'a [u8],
    issuer: &'a [u8],
    not_before: i64,
    not_after: i64,
    subject: &'a [u8],
    spki: &'a [u8],
    extensions: &'a [Vec<u8>],
}

fn build_cert(p: &CertParams<'_>, signer: &RsaCa) -> Vec<u8> {
    let alg = pss_alg_id();
    let mut tbs_parts = vec![
        der::explicit(0, &der::small_uint(2)),
        der::uint(p.serial),
        alg.clone(),
        p.issuer.to_vec(),
        der::sequence(&[&der::time(p.not_before), &der::time(p.not_after)]),
        p.subject.to_vec(),
        p.spki.to_vec(),
    ];
    if !p.extensions.is_empty() {
        tbs_parts.push(der::explicit(3, &der::sequence_of(p.extensions)));
    }
    let tbs = der::sequence_of(&tbs_parts);
    let sig = signer.sign(&tbs);
    der::sequence(&[&tbs, &alg, &der::bit_string(&sig)])
}

/// The simulated AMD (Milan) PKI. Obtain it with [`SimAmd::get`].
pub struct SimAmd {
    ark: RsaCa,
    ask: RsaCa,
    asvk: RsaCa,
    impostor: RsaCa,
    ark_der: Vec<u8>,
    ask_der: Vec<u8>,
    asvk_der: Vec<u8>,
    impostor_ark_der: Vec<u8>,
}

impl std::fmt::Debug for SimAmd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimAmd").field("ark_sha256", &hex(&self.ark_sha256())).finish_non_exhaustive()
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

const SERIAL_ARK: u8 = 1;
const SERIAL_ASK: u8 = 2;
const SERIAL_ASVK: u8 = 3;

impl SimAmd {
    /// The process-wide simulated PKI, generated on first use (four RSA-2048
    /// key generations, two at a time) and cached.
    pub fn get() -> &'static SimAmd {
        static SIM: OnceLock<SimAmd> = OnceLock::new();
        SIM.get_or_init(SimAmd::generate)
    }

    fn generate() -> SimAmd {
        let ((ark, ask), (asvk, impostor)) = std::thread::scope(|s| {
            let a = s.spawn(|| (RsaCa::generate("ark-milan"), RsaCa::generate("ask-milan")));
            let b = (RsaCa::generate("asvk-milan"), RsaCa::generate("impostor-ark-milan"));
            (a.join().expect("key generation thread panicked"), b)
        });
        let ark_der = Self::root_cert(&ark);
        let impostor_ark_der = Self::root_cert(&impostor);
        let mut sim =
            SimAmd { ark, ask, asvk, impostor, ark_der, ask_der: Vec::new(), asvk_der: Vec::new(), impostor_ark_der };
        sim.ask_der = sim.ask_with_validity(CA_NOT_BEFORE, CA_NOT_AFTER);
        sim.asvk_der = sim.asvk_with_validity(CA_NOT_BEFORE, CA_NOT_AFTER);
        sim
    }

    /// Self-signed ARK-shaped certificate for `key`.
    fn root_cert(key: &RsaCa) -> Vec<u8> {
        let name = amd_name(CN_ARK);
        let exts = [
            extension(OID_KEY_USAGE, true, &der::named_bits(&[5, 6])),
            ski_ext(&key.key_id),
            extension(OID_BASIC_CONSTRAINTS, true, &der::sequence(&[&der::boolean(true)])),
        ];
        build_cert(
            &CertParams {
                serial: &[SERIAL_ARK],
                issuer: &name,
                not_before: CA_NOT_BEFORE,
                not_after: CA_NOT_AFTER,
                subject: &name,
                spki: &key.spki,
                extensions: &exts,
            },
            key,
        )
    }

    /// An intermediate (ASK/ASVK-shaped) certificate signed by the ARK.
    fn intermediate_cert(&self, key: &RsaCa, cn: &str, serial: u8, not_before: i64, not_after: i64) -> Vec<u8> {
        let exts = [
            ski_ext(&key.key_id),
            extension(OID_AUTHORITY_KEY_ID, false, &aki_value(&self.ark.key_id)),
            extension(OID_BASIC_CONSTRAINTS, true, &der::sequence(&[&der::boolean(true), &der::small_uint(0)])),
            extension(OID_KEY_USAGE, true, &der::named_bits(&[5])),
        ];
        build_cert(
            &CertParams {
                serial: &[serial],
                issuer: &amd_name(CN_ARK),
                not_before,
                not_after,
                subject: &amd_name(cn),
                spki: &key.spki,
                extensions: &exts,
            },
            &self.ark,
        )
    }

    /// DER of the simulated ARK (self-signed, `CN=ARK-Milan`, serial 1).
    pub fn ark_der(&self) -> &[u8] {
        &self.ark_der
    }

    /// DER of the simulated ASK (`CN=SEV-Milan`, serial 2, signed by the ARK).
    pub fn ask_der(&self) -> &[u8] {
        &self.ask_der
    }

    /// DER of the simulated ASVK (`CN=SEV-VLEK-Milan`, serial 3, signed by the ARK).
    pub fn asvk_der(&self) -> &[u8] {
        &self.asvk_der
    }

    /// DER of a self-signed certificate with exactly the ARK's subject, serial,
    /// validity and extensions, but a different key.
    pub fn impostor_ark_der(&self) -> &[u8] {
        &self.impostor_ark_der
    }

    /// SHA-256 of [`SimAmd::ark_der`]: the fingerprint a verifier pins.
    pub fn ark_sha256(&self) -> [u8; 32] {
        sha256(&self.ark_der)
    }

    /// The ASK certificate with another validity period (same key, serial,
    /// names and extensions); e.g. an expired ASK for negative tests.
    pub fn ask_with_validity(&self, not_before: i64, not_after: i64) -> Vec<u8> {
        self.intermediate_cert(&self.ask, CN_ASK, SERIAL_ASK, not_before, not_after)
    }

    /// The ASVK certificate with another validity period.
    pub fn asvk_with_validity(&self, not_before: i64, not_after: i64) -> Vec<u8> {
        self.intermediate_cert(&self.asvk, CN_ASVK, SERIAL_ASVK, not_before, not_after)
    }

    fn signer(&self, s: Signer) -> (&RsaCa, &'static str) {
        match s {
            Signer::Ark => (&self.ark, CN_ARK),
            Signer::Ask => (&self.ask, CN_ASK),
            Signer::Asvk => (&self.asvk, CN_ASVK),
            Signer::ImpostorArk => (&self.impostor, CN_ARK),
        }
    }

    /// The AMD extensions of a VEK certificate, in AMD's order.
    fn vek_extensions(spec: &VekSpec) -> Vec<(&'static str, Vec<u8>)> {
        let int = |v: u8| der::small_uint(u64::from(v));
        let t = &spec.tcb;
        let mut v: Vec<(&'static str, Vec<u8>)> = Vec::new();
        // Real Milan/Genoa VCEKs/VLEKs carry structVersion 0, Turin ones 1.
        v.push((amd_oid::STRUCT_VERSION, int(u8::from(t.fmc.is_some()))));
        v.push((amd_oid::PRODUCT_NAME, der::ia5_string(&spec.product_name)));
        if let Some(fmc) = t.fmc {
            // Turin order: fmc, bl, tee, snp, 5, 6, 7, ucode (no .3.4).
            v.push((amd_oid::FMC_SPL, int(fmc)));
            v.push((amd_oid::BL_SPL, int(t.bl)));
            v.push((amd_oid::TEE_SPL, int(t.tee)));
            v.push((amd_oid::SNP_SPL, int(t.snp)));
            v.push((amd_oid::SPL_5, int(0)));
            v.push((amd_oid::SPL_6, int(0)));
            v.push((amd_oid::SPL_7, int(0)));
            v.push((amd_oid::UCODE_SPL, int(t.ucode)));
        } else {
            // Milan order: bl, tee, 4, 5, 6, 7, snp, ucode.
            v.push((amd_oid::BL_SPL, int(t.bl)));
            v.push((amd_oid::TEE_SPL, int(t.tee)));
            v.push((amd_oid::SPL_4, int(0)));
            v.push((amd_oid::SPL_5, int(0)));
            v.push((amd_oid::SPL_6, int(0)));
            v.push((amd_oid::SPL_7, int(0)));
            v.push((amd_oid::SNP_SPL, int(t.snp)));
            v.push((amd_oid::UCODE_SPL, int(t.ucode)));
        }
        if let Some(hwid) = &spec.hwid {
            v.push((amd_oid::HWID, hwid.clone()));
        }
        if let Some(csp) = &spec.csp_id {
            v.push((amd_oid::CSP_ID, der::ia5_string(csp)));
        }
        v
    }

    /// DER of a VCEK/VLEK certificate as described by `spec`. Its P-384 key is
    /// derived from the kind, TCB and hwID only (see [`SimAmd::sign_report`]).
    pub fn vek_der(&self, spec: &VekSpec) -> Vec<u8> {
        let key = vek_key(spec);
        let (signer, issuer_cn) = self.signer(spec.issuer);
        let mut exts: Vec<Vec<u8>> = Self::vek_extensions(spec)
            .into_iter()
            .filter(|(oid, _)| !spec.omit_extensions.iter().any(|o| o == oid))
            .map(|(oid, value)| extension(oid, false, &value))
            .collect();
        exts.extend(spec.extra_extensions.iter().map(|(oid, value)| extension(oid, false, value)));
        let cn = match spec.kind {
            VekKind::Vcek => "SEV-VCEK",
            VekKind::Vlek => "SEV-VLEK",
        };
        build_cert(
            &CertParams {
                serial: &spec.serial,
                issuer: &amd_name(issuer_cn),
                not_before: spec.not_before,
                not_after: spec.not_after,
                subject: &amd_name(cn),
                spki: &ec_spki(&key),
                extensions: &exts,
            },
            signer,
        )
    }

    /// The VEK's public key as an uncompressed SEC1 point (97 bytes).
    pub fn vek_public_key(&self, spec: &VekSpec) -> Vec<u8> {
        vek_key(spec).verifying_key().to_encoded_point(false).as_bytes().to_vec()
    }

    /// DER of an X.509 v2 CRL with the ARK's name as issuer, signed by
    /// `spec.signer`, with authorityKeyIdentifier (the ARK's key id) and
    /// cRLNumber (= `this_update`) extensions. With no revoked serials the
    /// revokedCertificates field is absent (RFC 5280 5.1.2.6).
    pub fn crl_der(&self, spec: &CrlSpec) -> Vec<u8> {
        let (signer, _) = self.signer(spec.signer);
        let alg = pss_alg_id();
        let mut parts = vec![
            der::small_uint(1), // v2
            alg.clone(),
            amd_name(CN_ARK),
            der::time(spec.this_update),
        ];
        if let Some(next) = spec.next_update {
            parts.push(der::time(next));
        }
        if !spec.revoked.is_empty() {
            let entries: Vec<Vec<u8>> = spec
                .revoked
                .iter()
                .map(|serial| der::sequence(&[&der::uint(serial), &der::time(spec.this_update)]))
                .collect();
            parts.push(der::sequence_of(&entries));
        }
        let crl_number = der::uint(&spec.this_update.max(0).to_be_bytes());
        let exts = [
            extension(OID_AUTHORITY_KEY_ID, false, &aki_value(&self.ark.key_id)),
            extension(OID_CRL_NUMBER, false, &crl_number),
        ];
        parts.push(der::explicit(0, &der::sequence_of(&exts)));
        let tbs = der::sequence_of(&parts);
        let sig = signer.sign(&tbs);
        der::sequence(&[&tbs, &alg, &der::bit_string(&sig)])
    }

    /// Signs an SEV-SNP ATTESTATION_REPORT in place with the key of
    /// `self.vek_der(spec)`: ECDSA P-384/SHA-384 (RFC 6979, deterministic) over
    /// `report[0x000..0x2A0]`, written by the verifier's
    /// [`format::put_signature`] (R and S little-endian in 72-byte fields at
    /// 0x2A0 and 0x2E8; the rest of 0x2A0..0x4A0 zeroed).
    ///
    /// # Panics
    /// If `report.len() != 1184` (programmer error).
    pub fn sign_report(&self, spec: &VekSpec, report: &mut [u8]) {
        let report: &mut [u8; REPORT_LEN] =
            report.try_into().unwrap_or_else(|_| panic!("an SEV-SNP attestation report is {REPORT_LEN} bytes"));
        let key = vek_key(spec);
        let sig: p384::ecdsa::Signature = key.sign(&report[..SIGNED_LEN]);
        let (r, s) = sig.split_bytes();
        let mut rs = [[0u8; 48]; 2];
        rs[0].copy_from_slice(&r);
        rs[1].copy_from_slice(&s);
        format::put_signature(report, &rs[0], &rs[1]);
    }
}

// ---------------------------------------------------------------------------
// Extended-report certificate table

/// GUID of the ARK entry: c0b406a4-a803-4952-9743-3fb6014cd0ae.
pub const GUID_ARK: [u8; 16] = format::GUID_ARK;
/// GUID of the ASK entry: 4ab7b379-bbac-4fe4-a02f-05aef327c782.
pub const GUID_ASK: [u8; 16] = format::GUID_ASK;
/// GUID of the VCEK entry: 63da758d-e664-4564-adc5-f4b93be8accd.
pub const GUID_VCEK: [u8; 16] = format::GUID_VCEK;
/// GUID of the VLEK entry: a8074bc2-a25a-483e-aae6-39c045a0b8a1.
pub const GUID_VLEK: [u8; 16] = format::GUID_VLEK;
/// GUID of the CRL entry: 92f81bc3-5811-4d3d-97ff-d19f88dc67ea.
pub const GUID_CRL: [u8; 16] = format::GUID_CRL;

/// Builds an extended-report certificate table (SNP_GET_EXT_REPORT /
/// configfs-tsm `auxblob`) with the verifier's [`format::write_cert_table`]:
/// one 24-byte entry per input `{GUID[16] (RFC 4122 byte order), offset u32 LE,
/// length u32 LE}`, an all-zero 24-byte terminator, then the blobs in order.
/// Offsets are relative to the start of the table.
pub fn cert_table(entries: &[([u8; 16], Vec<u8>)]) -> Vec<u8> {
    let entries: Vec<format::CertTableEntry> = entries
        .iter()
        .map(|(guid, data)| format::CertTableEntry {
            guid: *guid,
            kind: format::CertKind::from_guid(guid),
            data: data.clone(),
        })
        .collect();
    format::write_cert_table(&entries)
}

/// PEM-encodes `der` with the given label (e.g. "CERTIFICATE", "X509 CRL"),
/// 64 base64 characters per line.
pub fn pem(label: &str, der: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut b64 = String::with_capacity(der.len().div_ceil(3) * 4);
    for chunk in der.chunks(3) {
        let n = (u32::from(chunk[0]) << 16)
            | (u32::from(*chunk.get(1).unwrap_or(&0)) << 8)
            | u32::from(*chunk.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= chunk.len() {
                b64.push(ALPHABET[(n >> (18 - 6 * i)) as usize & 0x3F] as char);
            } else {
                b64.push('=');
            }
        }
    }
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(line).unwrap_or_default());
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

#[cfg(test)]
mod tests;
