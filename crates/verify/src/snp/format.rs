//! The AMD SEV-SNP ATTESTATION_REPORT (SNP Firmware ABI, versions 2 to 5), byte-exact, and the
//! extended-report certificate table, parsed and serialised ([`Report::parse`] and
//! [`Report::to_bytes`] are inverses; the simulator builds its reports with the latter). Parsing
//! keeps the received bytes: signatures are verified over them, never over a re-serialisation.

use crate::Check;
use crate::error::{Error, Result};
use serde::Serialize;

/// Size of an ATTESTATION_REPORT: 0x4A0 (1184) bytes.
pub const REPORT_SIZE: usize = 0x4A0;
/// The signed range: bytes 0x000..0x2A0.
pub const SIGNED_LEN: usize = 0x2A0;
pub(crate) const MIN_VERSION: u32 = 2;
pub(crate) const MAX_VERSION: u32 = 5;

const CHECK: Check = Check::SnpFormat;

/// AMD product lines cloud-ra knows (Bergamo and Siena use Genoa's keys).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Product {
    /// Milan (family 19h, models 00h-0Fh).
    Milan,
    /// Genoa, also Bergamo and Siena (family 19h, models 10h-1Fh and A0h-AFh).
    Genoa,
    /// Turin (family 1Ah, models 00h-11h).
    Turin,
}

impl Product {
    /// The product line's name as AMD KDS spells it in its URLs (`Milan`, `Genoa`, `Turin`).
    pub fn name(self) -> &'static str {
        match self {
            Product::Milan => "Milan",
            Product::Genoa => "Genoa",
            Product::Turin => "Turin",
        }
    }
    /// Parses a product name, case-insensitively; `bergamo` and `siena` are Genoa.
    pub fn parse(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "milan" => Ok(Product::Milan),
            "genoa" | "bergamo" | "siena" => Ok(Product::Genoa),
            "turin" => Ok(Product::Turin),
            _ => {
                Err(Error::usage(Check::SnpProduct, format!("unknown product '{s}' (expected milan, genoa or turin)")))
            }
        }
    }
    /// From CPUID family/model (report v3+).
    pub(crate) fn from_cpuid(family: u8, model: u8) -> Option<Self> {
        match (family, model) {
            (0x19, 0x00..=0x0F) => Some(Product::Milan),
            (0x19, 0x10..=0x1F) | (0x19, 0xA0..=0xAF) => Some(Product::Genoa),
            (0x1A, 0x00..=0x11) => Some(Product::Turin),
            _ => None,
        }
    }
    /// From a VCEK/VLEK productName extension such as `Milan-B0` or `Turin`.
    pub fn from_product_name(name: &str) -> Option<Self> {
        let base = name.split('-').next().unwrap_or(name);
        Product::parse(base).ok()
    }
    /// Turin and later use the Turin TCB_VERSION layout and an 8-byte CHIP_ID.
    pub fn turin_layout(self) -> bool {
        matches!(self, Product::Turin)
    }
}

/// A TCB_VERSION decoded for one product line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Tcb {
    /// FMC security patch level (Turin layout only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fmc: Option<u8>,
    /// BOOT_LOADER security patch level.
    pub bootloader: u8,
    /// TEE (PSP OS) security patch level.
    pub tee: u8,
    /// SNP firmware security patch level.
    pub snp: u8,
    /// MICROCODE security patch level.
    pub microcode: u8,
}

impl Tcb {
    /// Milan/Genoa: [BL, TEE, rsvd x4, SNP, uCode]; Turin: [FMC, BL, TEE, SNP, rsvd x3, uCode].
    pub fn decode(raw: u64, product: Product) -> Self {
        let b = raw.to_le_bytes();
        if product.turin_layout() {
            Tcb { fmc: Some(b[0]), bootloader: b[1], tee: b[2], snp: b[3], microcode: b[7] }
        } else {
            Tcb { fmc: None, bootloader: b[0], tee: b[1], snp: b[6], microcode: b[7] }
        }
    }
    /// The TCB_VERSION of these components in the layout of `product` (the inverse of
    /// [`Tcb::decode`]; reserved bytes zero, `fmc` written only in the Turin layout).
    pub fn encode(&self, product: Product) -> u64 {
        let b = if product.turin_layout() {
            [self.fmc.unwrap_or(0), self.bootloader, self.tee, self.snp, 0, 0, 0, self.microcode]
        } else {
            [self.bootloader, self.tee, 0, 0, 0, 0, self.snp, self.microcode]
        };
        u64::from_le_bytes(b)
    }
    /// Reserved bytes of the layout that are not zero.
    pub fn reserved_nonzero(raw: u64, product: Product) -> bool {
        let b = raw.to_le_bytes();
        if product.turin_layout() { b[4..7].iter().any(|&x| x != 0) } else { b[2..6].iter().any(|&x| x != 0) }
    }
    /// Components by name, in a stable order.
    pub fn components(&self) -> Vec<(&'static str, u8)> {
        let mut v = Vec::with_capacity(5);
        if let Some(f) = self.fmc {
            v.push(("fmc", f));
        }
        v.extend([
            ("bootloader", self.bootloader),
            ("tee", self.tee),
            ("snp", self.snp),
            ("microcode", self.microcode),
        ]);
        v
    }
    /// Component-wise `self >= min` (a component absent from one side is ignored). Returns the
    /// first component that is lower.
    pub(crate) fn first_below(&self, min: &Tcb) -> Option<(&'static str, u8, u8)> {
        let pairs = [
            ("fmc", self.fmc, min.fmc),
            ("bootloader", Some(self.bootloader), Some(min.bootloader)),
            ("tee", Some(self.tee), Some(min.tee)),
            ("snp", Some(self.snp), Some(min.snp)),
            ("microcode", Some(self.microcode), Some(min.microcode)),
        ];
        pairs.into_iter().find_map(|(n, a, b)| match (a, b) {
            (Some(a), Some(b)) if a < b => Some((n, a, b)),
            _ => None,
        })
    }
}

/// Guest policy bits (ABI 1.58 table "GUEST_POLICY").
pub(crate) mod policy_bits {
    pub(crate) const SMT: u64 = 1 << 16;
    pub(crate) const RESERVED_ONE: u64 = 1 << 17;
    pub(crate) const MIGRATE_MA: u64 = 1 << 18;
    pub(crate) const DEBUG: u64 = 1 << 19;
    pub(crate) const SINGLE_SOCKET: u64 = 1 << 20;
    pub(crate) const CXL_ALLOW: u64 = 1 << 21;
    pub(crate) const MEM_AES_256_XTS: u64 = 1 << 22;
    pub(crate) const RAPL_DIS: u64 = 1 << 23;
    pub(crate) const CIPHERTEXT_HIDING: u64 = 1 << 24;
    pub(crate) const PAGE_SWAP_DISABLE: u64 = 1 << 25;
    /// Bits 63:26 must be zero.
    pub(crate) const RESERVED_MBZ: u64 = !((1u64 << 26) - 1);
}

/// The decoded guest policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct GuestPolicy {
    /// The 64-bit POLICY as received.
    pub raw: u64,
    /// ABI_MAJOR (bits 15:8): the minimum firmware ABI major version.
    pub abi_major: u8,
    /// ABI_MINOR (bits 7:0): the minimum firmware ABI minor version.
    pub abi_minor: u8,
    /// SMT (bit 16): SMT is allowed.
    pub smt: bool,
    /// MIGRATE_MA (bit 18): association with a migration agent is allowed.
    pub migrate_ma: bool,
    /// DEBUG (bit 19): debugging is allowed.
    pub debug: bool,
    /// SINGLE_SOCKET (bit 20): the guest may be activated on one socket only.
    pub single_socket: bool,
    /// CXL_ALLOW (bit 21): CXL may be populated with devices or memory.
    pub cxl_allow: bool,
    /// MEM_AES_256_XTS (bit 22): AES-256-XTS memory encryption is required.
    pub mem_aes_256_xts: bool,
    /// RAPL_DIS (bit 23): Running Average Power Limit must be disabled.
    pub rapl_dis: bool,
    /// CIPHERTEXT_HIDING (bit 24): ciphertext hiding must be enabled.
    pub ciphertext_hiding: bool,
    /// PAGE_SWAP_DISABLE (bit 25): guest page swapping is disabled.
    pub page_swap_disable: bool,
}

impl GuestPolicy {
    /// Splits a raw POLICY into its fields (reserved bits are checked by [`Report::parse`]).
    pub fn decode(raw: u64) -> Self {
        use policy_bits::*;
        GuestPolicy {
            raw,
            abi_minor: (raw & 0xFF) as u8,
            abi_major: ((raw >> 8) & 0xFF) as u8,
            smt: raw & SMT != 0,
            migrate_ma: raw & MIGRATE_MA != 0,
            debug: raw & DEBUG != 0,
            single_socket: raw & SINGLE_SOCKET != 0,
            cxl_allow: raw & CXL_ALLOW != 0,
            mem_aes_256_xts: raw & MEM_AES_256_XTS != 0,
            rapl_dis: raw & RAPL_DIS != 0,
            ciphertext_hiding: raw & CIPHERTEXT_HIDING != 0,
            page_swap_disable: raw & PAGE_SWAP_DISABLE != 0,
        }
    }
}

/// The decoded PLATFORM_INFO.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct PlatformInfo {
    /// The 64-bit PLATFORM_INFO as received.
    pub raw: u64,
    /// SMT_EN (bit 0): SMT is enabled in the system.
    pub smt_enabled: bool,
    /// TSME_EN (bit 1): TSME is enabled in the system.
    pub tsme_enabled: bool,
    /// ECC_EN (bit 2): the platform is using ECC memory.
    pub ecc_enabled: bool,
    /// RAPL_DIS (bit 3): Running Average Power Limit is disabled.
    pub rapl_disabled: bool,
    /// CIPHERTEXT_HIDING_EN (bit 4): ciphertext hiding is enabled.
    pub ciphertext_hiding_enabled: bool,
    /// ALIAS_CHECK_COMPLETE (bit 5): the memory alias check has completed.
    pub alias_check_complete: bool,
    /// TIO_EN (bit 7): SEV-TIO is enabled.
    pub tio_enabled: bool,
}

impl PlatformInfo {
    /// Splits a raw PLATFORM_INFO into its bits (reserved bits are checked by [`Report::parse`]).
    pub fn decode(raw: u64) -> Self {
        PlatformInfo {
            raw,
            smt_enabled: raw & 1 != 0,
            tsme_enabled: raw & (1 << 1) != 0,
            ecc_enabled: raw & (1 << 2) != 0,
            rapl_disabled: raw & (1 << 3) != 0,
            ciphertext_hiding_enabled: raw & (1 << 4) != 0,
            alias_check_complete: raw & (1 << 5) != 0,
            tio_enabled: raw & (1 << 7) != 0,
        }
    }
}

/// SIGNING_KEY of SIGNER_INFO.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SigningKey {
    /// 0: the report is signed with the VCEK.
    Vcek,
    /// 1: the report is signed with the VLEK.
    Vlek,
    /// 7: the report is not signed.
    None,
}

impl SigningKey {
    /// The key's lowercase name (`vcek`, `vlek`, `none`), as in AMD KDS paths.
    pub fn name(self) -> &'static str {
        match self {
            SigningKey::Vcek => "vcek",
            SigningKey::Vlek => "vlek",
            SigningKey::None => "none",
        }
    }
}

/// A parsed report. `raw` holds the 1184 received bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// The 1184 bytes as received; signatures are verified over these.
    pub raw: Box<[u8; REPORT_SIZE]>,
    /// VERSION (0x000): the report format version (2 to 5).
    pub version: u32,
    /// GUEST_SVN (0x004): the guest's security version number.
    pub guest_svn: u32,
    /// POLICY (0x008): the guest policy.
    pub policy: GuestPolicy,
    /// FAMILY_ID (0x010): the family ID supplied at launch.
    pub family_id: [u8; 16],
    /// IMAGE_ID (0x020): the image ID supplied at launch.
    pub image_id: [u8; 16],
    /// VMPL (0x030): the VMPL of the request for this report.
    pub vmpl: u32,
    /// SIGNATURE_ALGO (0x034): 1, ECDSA P-384 with SHA-384 (the only value accepted).
    pub signature_algo: u32,
    /// CURRENT_TCB (0x038): the platform's current TCB_VERSION.
    pub current_tcb: u64,
    /// PLATFORM_INFO (0x040): information about the platform.
    pub platform_info: PlatformInfo,
    /// SIGNER_INFO.AUTHOR_KEY_EN (0x048 bit 0): AUTHOR_KEY_DIGEST holds the author key's digest.
    pub author_key_en: bool,
    /// SIGNER_INFO.MASK_CHIP_KEY (0x048 bit 1): the value of MaskChipKey.
    pub mask_chip_key: bool,
    /// SIGNER_INFO.SIGNING_KEY (0x048 bits 4:2): the key that signed the report.
    pub signing_key: SigningKey,
    /// REPORT_DATA (0x050): 64 bytes the guest supplied.
    pub report_data: [u8; 64],
    /// MEASUREMENT (0x090): the launch digest of the guest.
    pub measurement: [u8; 48],
    /// HOST_DATA (0x0C0): 32 bytes the host supplied at launch.
    pub host_data: [u8; 32],
    /// ID_KEY_DIGEST (0x0E0): SHA-384 of the public key that signed the ID block.
    pub id_key_digest: [u8; 48],
    /// AUTHOR_KEY_DIGEST (0x110): SHA-384 of the author key that certified the ID key.
    pub author_key_digest: [u8; 48],
    /// REPORT_ID (0x140): the guest's report ID.
    pub report_id: [u8; 32],
    /// REPORT_ID_MA (0x160): the report ID of the guest's migration agent.
    pub report_id_ma: [u8; 32],
    /// REPORTED_TCB (0x180): the TCB_VERSION the report's signing key was derived from.
    pub reported_tcb: u64,
    /// (family, model, stepping) for v3+.
    pub cpuid: Option<(u8, u8, u8)>,
    /// CHIP_ID (0x1A0): the chip's identifier (all zero when masked).
    pub chip_id: [u8; 64],
    /// COMMITTED_TCB (0x1E0): the platform's committed TCB_VERSION.
    pub committed_tcb: u64,
    /// CURRENT_BUILD (0x1E8): build number of the current firmware.
    pub current_build: u8,
    /// CURRENT_MINOR (0x1E9): minor version of the current firmware.
    pub current_minor: u8,
    /// CURRENT_MAJOR (0x1EA): major version of the current firmware.
    pub current_major: u8,
    /// COMMITTED_BUILD (0x1EC): build number of the committed firmware.
    pub committed_build: u8,
    /// COMMITTED_MINOR (0x1ED): minor version of the committed firmware.
    pub committed_minor: u8,
    /// COMMITTED_MAJOR (0x1EE): major version of the committed firmware.
    pub committed_major: u8,
    /// LAUNCH_TCB (0x1F0): the CURRENT_TCB at the time the guest was launched or imported.
    pub launch_tcb: u64,
    /// (launch, current) mitigation vectors, v5.
    pub mit_vectors: Option<(u64, u64)>,
    /// Signature r and s, big-endian 48 bytes each (converted from the 72-byte LE fields).
    pub sig_r: [u8; 48],
    /// Signature s, big-endian (from the 72-byte little-endian field at 0x2E8).
    pub sig_s: [u8; 48],
}

fn u32_at(b: &[u8], o: usize) -> u32 {
    let mut a = [0u8; 4];
    a.copy_from_slice(&b[o..o + 4]);
    u32::from_le_bytes(a)
}
fn u64_at(b: &[u8], o: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[o..o + 8]);
    u64::from_le_bytes(a)
}
fn arr<const N: usize>(b: &[u8], o: usize) -> [u8; N] {
    let mut a = [0u8; N];
    a.copy_from_slice(&b[o..o + N]);
    a
}

fn mbz(b: &[u8], range: std::ops::Range<usize>, what: &str) -> Result<()> {
    if let Some(i) = b[range.clone()].iter().position(|&x| x != 0) {
        return Err(Error::evidence(
            CHECK,
            format!(
                "reserved byte at offset {:#05x} ({what}, {:#05x}..{:#05x}) is {:#04x}, must be zero",
                range.start + i,
                range.start,
                range.end,
                b[range.start + i]
            ),
        ));
    }
    Ok(())
}

/// Writes an ECDSA P-384 signature (r and s big-endian, 48 bytes each) into the SIGNATURE field
/// of `report`: R little-endian in the 72 bytes at 0x2A0, S in the 72 bytes at 0x2E8, and every
/// other byte of 0x2A0..0x4A0 zero (what [`Report::parse`] reads back as `sig_r`, `sig_s`).
pub fn put_signature(report: &mut [u8; REPORT_SIZE], r: &[u8; 48], s: &[u8; 48]) {
    report[SIGNED_LEN..].fill(0);
    for (o, v) in [(0x2A0, r), (0x2E8, s)] {
        for (i, b) in v.iter().rev().enumerate() {
            report[o + i] = *b;
        }
    }
}

/// The 72-byte little-endian field to a 48-byte big-endian scalar; bytes 48..72 must be zero.
fn sig_component(b: &[u8], o: usize, name: &str) -> Result<[u8; 48]> {
    mbz(b, o + 48..o + 72, &format!("SIGNATURE.{name} high bytes"))?;
    let mut out = [0u8; 48];
    for i in 0..48 {
        out[i] = b[o + 47 - i];
    }
    Ok(out)
}

impl Report {
    /// Parses exactly one report. Unknown versions, wrong sizes and non-zero reserved bytes are
    /// refused with the offset.
    pub fn parse(b: &[u8]) -> Result<Self> {
        if b.len() != REPORT_SIZE {
            return Err(Error::evidence(
                CHECK,
                format!("report is {} bytes, an SNP ATTESTATION_REPORT is {REPORT_SIZE}", b.len()),
            ));
        }
        let version = u32_at(b, 0x000);
        if !(MIN_VERSION..=MAX_VERSION).contains(&version) {
            return Err(Error::evidence(
                CHECK,
                format!("VERSION (offset 0x000) is {version}; supported versions are {MIN_VERSION} to {MAX_VERSION}"),
            ));
        }
        let signature_algo = u32_at(b, 0x034);
        if signature_algo != 1 {
            return Err(Error::evidence(
                CHECK,
                format!(
                    "SIGNATURE_ALGO (offset 0x034) is {signature_algo}; only 1 (ECDSA P-384 with SHA-384) is defined"
                ),
            ));
        }
        let policy_raw = u64_at(b, 0x008);
        if policy_raw & policy_bits::RESERVED_ONE == 0 {
            return Err(Error::evidence(CHECK, "POLICY (offset 0x008) bit 17 is reserved and must be 1"));
        }
        if policy_raw & policy_bits::RESERVED_MBZ != 0 {
            return Err(Error::evidence(
                CHECK,
                format!("POLICY (offset 0x008) {policy_raw:#x} sets reserved bits 63:26"),
            ));
        }
        let platform_raw = u64_at(b, 0x040);
        if platform_raw >> 8 != 0 {
            return Err(Error::evidence(
                CHECK,
                format!("PLATFORM_INFO (offset 0x040) {platform_raw:#x} sets reserved bits 63:8"),
            ));
        }
        let signer = u32_at(b, 0x048);
        if signer >> 5 != 0 {
            return Err(Error::evidence(
                CHECK,
                format!("SIGNER_INFO (offset 0x048) {signer:#x} sets reserved bits 31:5"),
            ));
        }
        let signing_key = match (signer >> 2) & 7 {
            0 => SigningKey::Vcek,
            1 => SigningKey::Vlek,
            7 => SigningKey::None,
            k => {
                return Err(Error::evidence(
                    CHECK,
                    format!("SIGNER_INFO.SIGNING_KEY (offset 0x048 bits 4:2) is {k}, a reserved value"),
                ));
            }
        };
        mbz(b, 0x04C..0x050, "after SIGNER_INFO")?;
        let cpuid = if version >= 3 {
            mbz(b, 0x18B..0x1A0, "after CPUID_STEP")?;
            Some((b[0x188], b[0x189], b[0x18A]))
        } else {
            mbz(b, 0x188..0x1A0, "after REPORTED_TCB")?;
            None
        };
        mbz(b, 0x1EB..0x1EC, "after CURRENT_MAJOR")?;
        mbz(b, 0x1EF..0x1F0, "after COMMITTED_MAJOR")?;
        let mit_vectors = if version >= 5 {
            mbz(b, 0x208..0x2A0, "after CURRENT_MIT_VECTOR")?;
            Some((u64_at(b, 0x1F8), u64_at(b, 0x200)))
        } else {
            mbz(b, 0x1F8..0x2A0, "after LAUNCH_TCB")?;
            None
        };
        let sig_r = sig_component(b, 0x2A0, "R")?;
        let sig_s = sig_component(b, 0x2E8, "S")?;
        mbz(b, 0x330..0x4A0, "unsigned, after the signature")?;
        let mut raw = Box::new([0u8; REPORT_SIZE]);
        raw.copy_from_slice(b);
        Ok(Report {
            version,
            guest_svn: u32_at(b, 0x004),
            policy: GuestPolicy::decode(policy_raw),
            family_id: arr(b, 0x010),
            image_id: arr(b, 0x020),
            vmpl: u32_at(b, 0x030),
            signature_algo,
            current_tcb: u64_at(b, 0x038),
            platform_info: PlatformInfo::decode(platform_raw),
            author_key_en: signer & 1 != 0,
            mask_chip_key: signer & 2 != 0,
            signing_key,
            report_data: arr(b, 0x050),
            measurement: arr(b, 0x090),
            host_data: arr(b, 0x0C0),
            id_key_digest: arr(b, 0x0E0),
            author_key_digest: arr(b, 0x110),
            report_id: arr(b, 0x140),
            report_id_ma: arr(b, 0x160),
            reported_tcb: u64_at(b, 0x180),
            cpuid,
            chip_id: arr(b, 0x1A0),
            committed_tcb: u64_at(b, 0x1E0),
            current_build: b[0x1E8],
            current_minor: b[0x1E9],
            current_major: b[0x1EA],
            committed_build: b[0x1EC],
            committed_minor: b[0x1ED],
            committed_major: b[0x1EE],
            launch_tcb: u64_at(b, 0x1F0),
            mit_vectors,
            sig_r,
            sig_s,
            raw,
        })
    }

    /// The 1184 bytes of these fields: the inverse of [`Report::parse`], so a parsed report
    /// encodes to the bytes it was parsed from (every reserved byte is zero). `raw` is not read.
    /// Fields are written as they are, valid or not (the simulator writes invalid reports on
    /// purpose): CPUID when `cpuid` is `Some` and the mitigation vectors when `mit_vectors` is
    /// `Some`, whatever `version` says; the policy and platform info from their `raw` values.
    pub fn to_bytes(&self) -> [u8; REPORT_SIZE] {
        let mut b = [0u8; REPORT_SIZE];
        let mut put = |o: usize, v: &[u8]| b[o..o + v.len()].copy_from_slice(v);
        put(0x000, &self.version.to_le_bytes());
        put(0x004, &self.guest_svn.to_le_bytes());
        put(0x008, &self.policy.raw.to_le_bytes());
        put(0x010, &self.family_id);
        put(0x020, &self.image_id);
        put(0x030, &self.vmpl.to_le_bytes());
        put(0x034, &self.signature_algo.to_le_bytes());
        put(0x038, &self.current_tcb.to_le_bytes());
        put(0x040, &self.platform_info.raw.to_le_bytes());
        let key: u32 = match self.signing_key {
            SigningKey::Vcek => 0,
            SigningKey::Vlek => 1,
            SigningKey::None => 7,
        };
        let signer = u32::from(self.author_key_en) | u32::from(self.mask_chip_key) << 1 | key << 2;
        put(0x048, &signer.to_le_bytes());
        put(0x050, &self.report_data);
        put(0x090, &self.measurement);
        put(0x0C0, &self.host_data);
        put(0x0E0, &self.id_key_digest);
        put(0x110, &self.author_key_digest);
        put(0x140, &self.report_id);
        put(0x160, &self.report_id_ma);
        put(0x180, &self.reported_tcb.to_le_bytes());
        if let Some((family, model, stepping)) = self.cpuid {
            put(0x188, &[family, model, stepping]);
        }
        put(0x1A0, &self.chip_id);
        put(0x1E0, &self.committed_tcb.to_le_bytes());
        put(0x1E8, &[self.current_build, self.current_minor, self.current_major]);
        put(0x1EC, &[self.committed_build, self.committed_minor, self.committed_major]);
        put(0x1F0, &self.launch_tcb.to_le_bytes());
        if let Some((launch, current)) = self.mit_vectors {
            put(0x1F8, &launch.to_le_bytes());
            put(0x200, &current.to_le_bytes());
        }
        put_signature(&mut b, &self.sig_r, &self.sig_s);
        b
    }

    /// The signed bytes, as received.
    pub fn signed_bytes(&self) -> &[u8] {
        &self.raw[..SIGNED_LEN]
    }

    /// r || s, big-endian, 96 bytes (the fixed ECDSA encoding).
    pub fn signature_fixed(&self) -> [u8; 96] {
        let mut s = [0u8; 96];
        s[..48].copy_from_slice(&self.sig_r);
        s[48..].copy_from_slice(&self.sig_s);
        s
    }

    /// The product line of the report's CPUID fields (v3+), if one cloud-ra knows.
    pub fn product_from_cpuid(&self) -> Option<Product> {
        self.cpuid.and_then(|(f, m, _)| Product::from_cpuid(f, m))
    }

    /// Whether CHIP_ID is all zero (masked).
    pub fn chip_id_is_zero(&self) -> bool {
        self.chip_id.iter().all(|&b| b == 0)
    }
}

// ---------------------------------------------------------------------------------------------
// Certificate table

/// Kinds of entries in the extended-report certificate table, by GUID.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CertKind {
    /// The AMD Root Key certificate.
    Ark,
    /// The AMD SEV Key certificate.
    Ask,
    /// The VCEK certificate.
    Vcek,
    /// The VLEK certificate.
    Vlek,
    /// The certificate revocation list.
    Crl,
    /// A GUID cloud-ra does not know.
    Other,
}

/// GUID of the ARK entry: `c0b406a4-a803-4952-9743-3fb6014cd0ae`.
pub const GUID_ARK: [u8; 16] = guid(0xc0b406a4, 0xa803, 0x4952, 0x9743, 0x3fb6014cd0ae);
/// GUID of the ASK entry: `4ab7b379-bbac-4fe4-a02f-05aef327c782`.
pub const GUID_ASK: [u8; 16] = guid(0x4ab7b379, 0xbbac, 0x4fe4, 0xa02f, 0x05aef327c782);
/// GUID of the VCEK entry: `63da758d-e664-4564-adc5-f4b93be8accd`.
pub const GUID_VCEK: [u8; 16] = guid(0x63da758d, 0xe664, 0x4564, 0xadc5, 0xf4b93be8accd);
/// GUID of the VLEK entry: `a8074bc2-a25a-483e-aae6-39c045a0b8a1`.
pub const GUID_VLEK: [u8; 16] = guid(0xa8074bc2, 0xa25a, 0x483e, 0xaae6, 0x39c045a0b8a1);
/// GUID of the CRL entry: `92f81bc3-5811-4d3d-97ff-d19f88dc67ea`.
pub const GUID_CRL: [u8; 16] = guid(0x92f81bc3, 0x5811, 0x4d3d, 0x97ff, 0xd19f88dc67ea);

/// A GUID in RFC 4122 byte order (the order of its text form), as the table stores it.
const fn guid(a: u32, b: u16, c: u16, d: u16, e: u64) -> [u8; 16] {
    let a = a.to_be_bytes();
    let b = b.to_be_bytes();
    let c = c.to_be_bytes();
    let d = d.to_be_bytes();
    let e = e.to_be_bytes();
    [a[0], a[1], a[2], a[3], b[0], b[1], c[0], c[1], d[0], d[1], e[2], e[3], e[4], e[5], e[6], e[7]]
}

/// The GUID's text form (`xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`, lowercase).
pub fn guid_string(g: &[u8; 16]) -> String {
    let h = hex::encode(g);
    format!("{}-{}-{}-{}-{}", &h[0..8], &h[8..12], &h[12..16], &h[16..20], &h[20..32])
}

impl CertKind {
    /// The kind a GUID names ([`CertKind::Other`] for one cloud-ra does not know).
    pub fn from_guid(g: &[u8; 16]) -> Self {
        match *g {
            GUID_ARK => CertKind::Ark,
            GUID_ASK => CertKind::Ask,
            GUID_VCEK => CertKind::Vcek,
            GUID_VLEK => CertKind::Vlek,
            GUID_CRL => CertKind::Crl,
            _ => CertKind::Other,
        }
    }
    /// The GUID of the kind (`None` for [`CertKind::Other`]).
    pub fn guid(self) -> Option<[u8; 16]> {
        Some(match self {
            CertKind::Ark => GUID_ARK,
            CertKind::Ask => GUID_ASK,
            CertKind::Vcek => GUID_VCEK,
            CertKind::Vlek => GUID_VLEK,
            CertKind::Crl => GUID_CRL,
            CertKind::Other => return None,
        })
    }
}

/// One entry of the extended-report certificate table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertTableEntry {
    /// The entry's GUID, in the table's byte order.
    pub guid: [u8; 16],
    /// What the GUID names.
    pub kind: CertKind,
    /// The entry's bytes (a DER or PEM certificate, or a CRL).
    pub data: Vec<u8>,
}

/// At most this many entries (the kernel's buffer is a few pages; real tables have 3 or 4).
pub const MAX_CERT_TABLE_ENTRIES: usize = 64;
const TABLE_CHECK: Check = Check::SnpCertTable;

/// Parses a GUID table `{guid, offset u32, length u32}...` ending with an all-zero entry; offsets
/// are relative to the table start. Trailing zero padding after the data is allowed.
pub fn parse_cert_table(b: &[u8]) -> Result<Vec<CertTableEntry>> {
    // First find the terminating entry, so every offset can be checked against the table's end.
    let mut count = 0usize;
    loop {
        let pos = count * 24;
        let Some(e) = b.get(pos..pos + 24) else {
            return Err(Error::evidence(
                TABLE_CHECK,
                format!(
                    "entry {count} at offset {pos} is truncated (table of {} bytes has no terminating all-zero entry)",
                    b.len()
                ),
            ));
        };
        if e.iter().all(|&x| x == 0) {
            break;
        }
        count += 1;
        if count > MAX_CERT_TABLE_ENTRIES {
            return Err(Error::evidence(TABLE_CHECK, format!("more than {MAX_CERT_TABLE_ENTRIES} entries")));
        }
    }
    let table_end = (count + 1) * 24;
    let mut entries = Vec::with_capacity(count);
    for i in 0..count {
        let e = &b[i * 24..i * 24 + 24];
        let guid = arr::<16>(e, 0);
        let offset = u32_at(e, 16) as usize;
        let length = u32_at(e, 20) as usize;
        let name = guid_string(&guid);
        if length == 0 {
            return Err(Error::evidence(TABLE_CHECK, format!("entry {i} ({name}) has length 0")));
        }
        if offset < table_end {
            return Err(Error::evidence(
                TABLE_CHECK,
                format!("entry {i} ({name}) offset {offset} points into the table, which ends at {table_end}"),
            ));
        }
        let end = offset.checked_add(length).filter(|&end| end <= b.len()).ok_or_else(|| {
            Error::evidence(
                TABLE_CHECK,
                format!("entry {i} ({name}) offset {offset} + length {length} is outside the {}-byte table", b.len()),
            )
        })?;
        entries.push(CertTableEntry { guid, kind: CertKind::from_guid(&guid), data: b[offset..end].to_vec() });
    }
    Ok(entries)
}

/// Serialises entries as a GUID table (the layout the firmware and configfs-tsm return).
pub fn write_cert_table(entries: &[CertTableEntry]) -> Vec<u8> {
    let header = (entries.len() + 1) * 24;
    let mut out = vec![0u8; header];
    let mut data = Vec::new();
    for (i, e) in entries.iter().enumerate() {
        let off = (header + data.len()) as u32;
        out[i * 24..i * 24 + 16].copy_from_slice(&e.guid);
        out[i * 24 + 16..i * 24 + 20].copy_from_slice(&off.to_le_bytes());
        out[i * 24 + 20..i * 24 + 24].copy_from_slice(&(e.data.len() as u32).to_le_bytes());
        data.extend_from_slice(&e.data);
    }
    out.extend_from_slice(&data);
    out
}

/// `show` of an SNP report and its certificate table: the product (given, else from the
/// report's CPUID), every report field, each table entry with the certificates it holds.
pub fn describe(report: &[u8], cert_table: &[CertTableEntry], product: Option<Product>) -> Result<serde_json::Value> {
    use serde_json::{Value, json};
    let r = Report::parse(report)?;
    let product = product.or_else(|| r.product_from_cpuid());
    let table: Vec<Value> = cert_table
        .iter()
        .map(|e| {
            let mut v = json!({"guid": guid_string(&e.guid), "kind": e.kind, "bytes": e.data.len()});
            if let Ok(objs) = crate::x509::read_objects(&e.data) {
                v["objects"] = Value::Array(crate::describe::objects_json(&objs));
            }
            v
        })
        .collect();
    Ok(json!({"product": product, "report": super::claims::report_fields(&r, product), "cert_table": table}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tcb_encode_is_the_inverse_of_decode() {
        let milan = Tcb { fmc: None, bootloader: 3, tee: 0, snp: 20, microcode: 209 };
        assert_eq!(milan.encode(Product::Milan), 0xD114_0000_0000_0003);
        assert_eq!(Tcb::decode(milan.encode(Product::Genoa), Product::Genoa), milan);
        let turin = Tcb { fmc: Some(1), bootloader: 2, tee: 3, snp: 4, microcode: 72 };
        assert_eq!(turin.encode(Product::Turin), 0x4800_0000_0403_0201);
        assert_eq!(Tcb::decode(turin.encode(Product::Turin), Product::Turin), turin);
        assert!(!Tcb::reserved_nonzero(turin.encode(Product::Turin), Product::Turin));
    }

    #[test]
    fn put_signature_is_read_back_by_parse() {
        let mut b = [0u8; REPORT_SIZE];
        b[0] = 2;
        b[0x008..0x010].copy_from_slice(&0x3_0000u64.to_le_bytes());
        b[0x034] = 1;
        b[0x300] = 0xAA; // inside S: overwritten
        b[0x400] = 0xAA; // after the signature: zeroed
        let (r, s) = ([0x11; 48], core::array::from_fn(|i| i as u8));
        put_signature(&mut b, &r, &s);
        let report = Report::parse(&b).expect("parses");
        assert_eq!((report.sig_r, report.sig_s), (r, s));
        assert_eq!(report.to_bytes(), b);
    }
}
