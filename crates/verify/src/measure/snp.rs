//! AMD SEV, SEV-ES and SEV-SNP launch digests.
//!
//! * SEV-SNP (the report's MEASUREMENT): SEV Secure Nested Paging Firmware ABI Specification
//!   (AMD #56860) §8.17 SNP_LAUNCH_UPDATE: each page measured folds the 0x70-byte PAGE_INFO
//!   structure (Table 67: previous digest ‖ page contents digest ‖ u16 length 0x70 ‖ u8 page type
//!   ‖ u8 IMI ‖ VMPL3/2/1 permissions ‖ reserved ‖ u64 GPA) into the digest with SHA-384. Page
//!   types: 1 normal (contents = SHA-384 of the page), 2 VMSA (GPA 0xFFFFFFFFF000), 3 zero,
//!   4 unmeasured, 5 secrets, 6 CPUID (contents zero). The pages are, in order: the OVMF image
//!   mapped to end at 4 GiB (or a precomputed digest of exactly that, `ovmf_hash`), the OVMF SEV
//!   metadata sections in table order (SNP_SEC_MEMORY zero pages, or unmeasured for GCE;
//!   SNP_SECRETS; CPUID, deferred to the end of the metadata for EC2; SNP_KERNEL_HASHES: the page
//!   holding QEMU's SEV hashes table, or zero pages without a kernel; SVSM_CAA zero pages), then
//!   one VMSA page per vCPU (BSP at 0xFFFFFFF0, APs at the SEV-ES reset block's address).
//! * The VMSA is the SEV-ES save area (AMD APM vol. 2 Table B-4) with the reset state the VMM
//!   programs: QEMU/KVM, EC2 or GCE, as sev-snp-measure models them (virtee/sev-snp-measure
//!   `vmsa.py`). `Ec2Vmsa` selects EC2's VMSA: [`Ec2Vmsa::Current`] (RDX = 0x600, what EC2 has
//!   launched with since sev-snp-measure 4a02bf0, 2026-04-28) or [`Ec2Vmsa::Legacy`] (RDX = 0).
//! * The SEV hashes table (QEMU `target/i386/sev.c`, `SevHashTable`): SHA-256 of the kernel, the
//!   initrd (empty when none) and the NUL-terminated command line, in a GUIDed table padded to 16.
//! * SNP with Coconut-SVSM (`snp:svsm`): OVMF pages, then the SVSM image mapped below OVMF and its
//!   vars area, then the SVSM's SEV metadata, then VMSAs entering the SVSM (as coconut-svsm QEMU
//!   builds them: SEV_FEATURES 0x1, 32-bit flat segments).
//! * SEV and SEV-ES (LAUNCH_MEASURE's digest as sev-snp-measure computes it): SHA-256 of the image,
//!   then the hashes table (with a kernel), then (SEV-ES) the VMSA pages with SEV_FEATURES 0.

use super::ovmf::{Ovmf, SEV_ES_RESET_BLOCK_GUID, SEV_HASH_TABLE_RV_GUID, SVSM_INFO_GUID, SevSectionType};
use super::{Input, bad_input, guid_le};
use crate::Check;
use crate::crypto::{Hasher, sha256, sha384};
use crate::error::{Error, Result};
use serde::Serialize;

const PAGE: usize = 4096;
const FOUR_GIB: u64 = 1 << 32;
const VMSA_GPA: u64 = 0xFFFF_FFFF_F000;
const BSP_EIP: u64 = 0xFFFF_FFF0;
/// Largest vCPU count accepted.
pub(crate) const MAX_VCPUS: u32 = 4096;

/// Which launch digest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SevMode {
    /// `sev`: SEV LAUNCH_MEASURE digest (SHA-256 of the image and, with a kernel, the hashes table).
    Sev,
    /// `seves`: SEV-ES, the SEV digest followed by one VMSA page per vCPU (SEV_FEATURES 0).
    SevEs,
    /// `snp`: the SEV-SNP launch digest (the report's MEASUREMENT).
    Snp,
    /// Only the GCTX digest after the OVMF pages (to pass as `ovmf_hash` later).
    SnpOvmfHash,
    /// `snp:svsm`: the SEV-SNP launch digest of OVMF with a Coconut-SVSM image (QEMU only).
    SnpSvsm,
}

impl SevMode {
    /// sev-snp-measure's `--mode` names.
    pub fn parse(s: &str) -> Result<SevMode> {
        Ok(match s.to_ascii_lowercase().as_str() {
            "sev" => SevMode::Sev,
            "seves" | "sev-es" => SevMode::SevEs,
            "snp" | "sev-snp" => SevMode::Snp,
            "snp:ovmf-hash" => SevMode::SnpOvmfHash,
            "snp:svsm" | "sev-snp:svsm" => SevMode::SnpSvsm,
            _ => return Err(bad_input(format!("unknown mode '{s}' (sev, seves, snp, snp:ovmf-hash, snp:svsm)"))),
        })
    }
    /// The sev-snp-measure `--mode` name of this mode.
    pub fn name(self) -> &'static str {
        match self {
            SevMode::Sev => "sev",
            SevMode::SevEs => "seves",
            SevMode::Snp => "snp",
            SevMode::SnpOvmfHash => "snp:ovmf-hash",
            SevMode::SnpSvsm => "snp:svsm",
        }
    }
}

impl Serialize for SevMode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

/// The VMM that builds the initial VMSAs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum VmmType {
    /// QEMU/KVM: RDX holds the vCPU signature.
    Qemu,
    /// AWS EC2: RDX fixed (see [`Ec2Vmsa`]), CPUID page measured after the other metadata pages.
    Ec2,
    /// Google Compute Engine: RDX = 0x600, its own PAT, SNP_SEC_MEMORY as unmeasured pages (type 4).
    Gce,
}

impl VmmType {
    /// sev-snp-measure's `--vmm-type` names (`qemu`, `ec2`, `gce`).
    pub fn parse(s: &str) -> Result<VmmType> {
        Ok(match s.to_ascii_lowercase().as_str() {
            "qemu" => VmmType::Qemu,
            "ec2" => VmmType::Ec2,
            "gce" => VmmType::Gce,
            _ => return Err(bad_input(format!("unknown VMM type '{s}' (qemu, ec2, gce)"))),
        })
    }
    pub(crate) fn name(self) -> &'static str {
        match self {
            VmmType::Qemu => "qemu",
            VmmType::Ec2 => "ec2",
            VmmType::Gce => "gce",
        }
    }
}

/// EC2's initial VMSA generation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Ec2Vmsa {
    /// RDX = 0x600: EC2's VMSA since 2026 (sev-snp-measure 4a02bf0, 2026-04-28). The default.
    #[default]
    Current,
    /// RDX = 0: the VMSA sev-snp-measure modelled before 4a02bf0 (virtee/sev's vectors).
    Legacy,
}

impl Ec2Vmsa {
    /// `current` (or `2026`) or `legacy`.
    pub fn parse(s: &str) -> Result<Ec2Vmsa> {
        Ok(match s.to_ascii_lowercase().as_str() {
            "current" | "2026" => Ec2Vmsa::Current,
            "legacy" => Ec2Vmsa::Legacy,
            _ => return Err(bad_input(format!("unknown EC2 VMSA '{s}' (current, legacy)"))),
        })
    }
}

/// CPUID Fn0000_0001_EAX from family, model and stepping (AMD CPUID specification #25481).
pub fn cpu_sig(family: u32, model: u32, stepping: u32) -> Result<u32> {
    if family > 0xf + 0xff || model > 0xff || stepping > 0xf {
        return Err(bad_input(format!(
            "vCPU family {family} / model {model} / stepping {stepping} out of range (family <= 270, model <= 255, stepping <= 15)"
        )));
    }
    let (fam_lo, fam_hi) = if family > 0xf { (0xf, family - 0xf) } else { (family, 0) };
    Ok((fam_hi << 20) | ((model >> 4) << 16) | (fam_lo << 8) | ((model & 0xf) << 4) | stepping)
}

/// The QEMU CPU models with an EPYC signature, as sev-snp-measure lists them.
pub(crate) const VCPU_TYPES: &[(&str, u32, u32, u32)] = &[
    ("EPYC", 23, 1, 2),
    ("EPYC-v1", 23, 1, 2),
    ("EPYC-v2", 23, 1, 2),
    ("EPYC-IBPB", 23, 1, 2),
    ("EPYC-v3", 23, 1, 2),
    ("EPYC-v4", 23, 1, 2),
    ("EPYC-Rome", 23, 49, 0),
    ("EPYC-Rome-v1", 23, 49, 0),
    ("EPYC-Rome-v2", 23, 49, 0),
    ("EPYC-Rome-v3", 23, 49, 0),
    ("EPYC-Milan", 25, 1, 1),
    ("EPYC-Milan-v1", 25, 1, 1),
    ("EPYC-Milan-v2", 25, 1, 1),
    ("EPYC-Genoa", 25, 17, 0),
    ("EPYC-Genoa-v1", 25, 17, 0),
    ("EPYC-Turin", 26, 0, 0),
];

/// The signature of a QEMU vCPU model name.
pub fn vcpu_sig_by_name(name: &str) -> Result<u32> {
    let (_, f, m, s) = VCPU_TYPES.iter().find(|(n, ..)| n.eq_ignore_ascii_case(name)).ok_or_else(|| {
        let known: Vec<&str> = VCPU_TYPES.iter().map(|t| t.0).collect();
        bad_input(format!("unknown vCPU type '{name}' (known: {})", known.join(", ")))
    })?;
    cpu_sig(*f, *m, *s)
}

/// Everything a launch digest depends on. File contents are bytes the caller read.
#[derive(Debug, Clone)]
pub struct SnpInputs<'a> {
    /// Which launch digest to compute.
    pub mode: SevMode,
    /// Number of vCPUs, one VMSA page each (seves, snp, snp:svsm; 1..=4096).
    pub vcpus: u32,
    /// CPUID signature (RDX of the QEMU VMSA); required for QEMU in seves/snp/snp:svsm.
    pub vcpu_sig: Option<u32>,
    /// The VMM whose initial VMSAs are measured.
    pub vmm: VmmType,
    /// EC2's VMSA generation (only with [`VmmType::Ec2`]).
    pub ec2_vmsa: Ec2Vmsa,
    /// The OVMF image.
    pub ovmf: &'a [u8],
    /// The kernel, for measured direct boot (its SHA-256 goes into the SEV hashes table).
    pub kernel: Option<&'a [u8]>,
    /// The initrd (needs a kernel; hashed as empty when absent).
    pub initrd: Option<&'a [u8]>,
    /// The kernel command line (needs a kernel; measured NUL-terminated).
    pub append: Option<&'a str>,
    /// SEV_FEATURES of the VMSAs (snp; seves always uses 0, snp:svsm always 0x1).
    pub guest_features: u64,
    /// A precomputed digest of the OVMF pages (snp mode only).
    pub ovmf_hash: Option<[u8; 48]>,
    /// The Coconut-SVSM image (snp:svsm only, and required there).
    pub svsm: Option<&'a [u8]>,
    /// Size of the OVMF vars area between the SVSM and OVMF (snp:svsm).
    pub vars_size: u64,
}

impl<'a> SnpInputs<'a> {
    /// Defaults of sev-snp-measure: 1 vCPU, QEMU, guest features 0x1.
    pub fn new(mode: SevMode, ovmf: &'a [u8]) -> Self {
        SnpInputs {
            mode,
            vcpus: 1,
            vcpu_sig: None,
            vmm: VmmType::Qemu,
            ec2_vmsa: Ec2Vmsa::Current,
            ovmf,
            kernel: None,
            initrd: None,
            append: None,
            guest_features: 1,
            ovmf_hash: None,
            svsm: None,
            vars_size: 0,
        }
    }
}

/// A computed launch digest and what went into it.
#[derive(Debug, Clone, Serialize)]
pub struct SnpMeasurement {
    /// The mode it was computed for.
    pub mode: SevMode,
    /// The launch digest: 48 bytes (SNP) or 32 (SEV, SEV-ES).
    #[serde(serialize_with = "ser_hex")]
    pub measurement: Vec<u8>,
    /// SNP: the digest after the OVMF pages only (what `--snp-ovmf-hash` takes).
    #[serde(serialize_with = "ser_hex_opt")]
    pub ovmf_hash: Option<Vec<u8>>,
    /// Number of VMSA pages measured (one per vCPU; 0 for sev and snp:ovmf-hash).
    pub vmsa_pages: u32,
    /// The files and parameters measured.
    pub inputs: Vec<Input>,
}

fn ser_hex<S: serde::Serializer>(v: &[u8], s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_str(&hex::encode(v))
}
fn ser_hex_opt<S: serde::Serializer>(v: &Option<Vec<u8>>, s: S) -> std::result::Result<S::Ok, S::Error> {
    match v {
        Some(v) => s.serialize_str(&hex::encode(v)),
        None => s.serialize_none(),
    }
}

/// The SNP guest context's launch digest (SNP ABI §8.17).
#[derive(Clone)]
struct Gctx {
    ld: [u8; 48],
}

impl Gctx {
    fn update(&mut self, page_type: u8, gpa: u64, contents: &[u8; 48]) {
        let mut info = [0u8; 0x70];
        info[..48].copy_from_slice(&self.ld);
        info[48..96].copy_from_slice(contents);
        info[96..98].copy_from_slice(&0x70u16.to_le_bytes());
        info[98] = page_type;
        // IMI, VMPL3/2/1 permissions, reserved: 0.
        info[104..112].copy_from_slice(&gpa.to_le_bytes());
        self.ld = sha384(&info);
    }
    fn normal_pages(&mut self, gpa: u64, data: &[u8]) {
        for (i, page) in data.chunks(PAGE).enumerate() {
            self.update(1, gpa + (i * PAGE) as u64, &sha384(page));
        }
    }
    fn repeat(&mut self, page_type: u8, gpa: u64, len: u64) {
        for off in (0..len).step_by(PAGE) {
            self.update(page_type, gpa + off, &[0u8; 48]);
        }
    }
}

const HASH_TABLE_GUID: [u8; 16] = guid_le("9438d606-4f22-4cc9-b479-a793d411fd21");
const KERNEL_ENTRY_GUID: [u8; 16] = guid_le("4de79437-abd2-427f-b835-d5b172d2045b");
const INITRD_ENTRY_GUID: [u8; 16] = guid_le("44baf731-3a2f-4bd7-9af1-41e29169781d");
const CMDLINE_ENTRY_GUID: [u8; 16] = guid_le("97d02dd8-bd20-4c94-aa78-e7714d36ab2a");
/// Size of QEMU's SevHashTable (header + 3 entries), and with its padding to 16.
const HASH_TABLE_LEN: usize = 16 + 2 + 3 * (16 + 2 + 32);
const PADDED_HASH_TABLE_LEN: usize = (HASH_TABLE_LEN + 15) & !15;

/// The SHA-256 digests the SEV hashes table carries.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SevHashes {
    pub kernel: [u8; 32],
    pub initrd: [u8; 32],
    pub cmdline: [u8; 32],
}

impl SevHashes {
    pub(crate) fn new(kernel: &[u8], initrd: Option<&[u8]>, append: Option<&str>) -> SevHashes {
        let mut cmdline = append.unwrap_or("").as_bytes().to_vec();
        cmdline.push(0);
        SevHashes { kernel: sha256(kernel), initrd: sha256(initrd.unwrap_or(&[])), cmdline: sha256(&cmdline) }
    }

    /// QEMU's padded SevHashTable.
    pub(crate) fn table(&self) -> [u8; PADDED_HASH_TABLE_LEN] {
        let mut t = [0u8; PADDED_HASH_TABLE_LEN];
        t[..16].copy_from_slice(&HASH_TABLE_GUID);
        t[16..18].copy_from_slice(&(HASH_TABLE_LEN as u16).to_le_bytes());
        for (i, (g, h)) in
            [(CMDLINE_ENTRY_GUID, self.cmdline), (INITRD_ENTRY_GUID, self.initrd), (KERNEL_ENTRY_GUID, self.kernel)]
                .iter()
                .enumerate()
        {
            let at = 18 + i * 50;
            t[at..at + 16].copy_from_slice(g);
            t[at + 16..at + 18].copy_from_slice(&50u16.to_le_bytes());
            t[at + 18..at + 50].copy_from_slice(h);
        }
        t
    }
}

/// The initial register state one VMSA page carries.
struct SaveArea {
    /// (selector, attrib, limit, base) for ES, CS, SS, DS, FS, GS, GDTR, LDTR, IDTR, TR.
    segs: [(u16, u16, u32, u64); 10],
    efer: u64,
    cr4: u64,
    cr0: u64,
    rip: u64,
    g_pat: u64,
    rdx: u64,
    sev_features: u64,
    mxcsr: u32,
    fcw: u16,
}

impl SaveArea {
    fn page(&self) -> Vec<u8> {
        let mut p = vec![0u8; PAGE];
        let mut put = |off: usize, v: &[u8]| p[off..off + v.len()].copy_from_slice(v);
        for (i, (sel, attr, limit, base)) in self.segs.iter().enumerate() {
            put(16 * i, &sel.to_le_bytes());
            put(16 * i + 2, &attr.to_le_bytes());
            put(16 * i + 4, &limit.to_le_bytes());
            put(16 * i + 8, &base.to_le_bytes());
        }
        put(0xd0, &self.efer.to_le_bytes());
        put(0x148, &self.cr4.to_le_bytes());
        put(0x158, &self.cr0.to_le_bytes());
        put(0x160, &0x400u64.to_le_bytes()); // DR7
        put(0x168, &0xffff_0ff0u64.to_le_bytes()); // DR6
        put(0x170, &2u64.to_le_bytes()); // RFLAGS
        put(0x178, &self.rip.to_le_bytes());
        put(0x268, &self.g_pat.to_le_bytes());
        put(0x310, &self.rdx.to_le_bytes());
        put(0x3b0, &self.sev_features.to_le_bytes());
        put(0x3e8, &1u64.to_le_bytes()); // XCR0
        put(0x408, &self.mxcsr.to_le_bytes());
        put(0x410, &self.fcw.to_le_bytes());
        p
    }
}

/// PAT MSR reset value (AMD APM vol. 2 §A.3).
const DEFAULT_PAT: u64 = 0x0007_0406_0007_0406;

fn vmsa_page(eip: u64, sev_features: u64, vcpu_sig: u32, vmm: VmmType, ec2: Ec2Vmsa) -> Vec<u8> {
    let (cs, ss, tr, rdx, mxcsr, fcw, g_pat) = match vmm {
        VmmType::Qemu => (0x9b, 0x93, 0x8b, vcpu_sig as u64, 0x1f80, 0x37f, DEFAULT_PAT),
        VmmType::Ec2 => {
            let cs = if eip == BSP_EIP { 0x9a } else { 0x9b };
            let rdx = match ec2 {
                Ec2Vmsa::Current => 0x600,
                Ec2Vmsa::Legacy => 0,
            };
            (cs, 0x92, 0x83, rdx, 0, 0, DEFAULT_PAT)
        }
        VmmType::Gce => (0x9b, 0x93, 0x8b, 0x600, 0, 0, 0x0007_0106),
    };
    SaveArea {
        segs: [
            (0, 0x93, 0xffff, 0),
            (0xf000, cs, 0xffff, eip & 0xffff_0000),
            (0, ss, 0xffff, 0),
            (0, 0x93, 0xffff, 0),
            (0, 0x93, 0xffff, 0),
            (0, 0x93, 0xffff, 0),
            (0, 0, 0xffff, 0),
            (0, 0x82, 0xffff, 0),
            (0, 0, 0xffff, 0),
            (0, tr, 0xffff, 0),
        ],
        efer: 0x1000,
        cr4: 0x40,
        cr0: 0x10,
        rip: eip & 0xffff,
        g_pat,
        rdx,
        sev_features,
        mxcsr,
        fcw,
    }
    .page()
}

/// The VMSA entering a Coconut-SVSM (32-bit protected mode, flat segments, SEV_FEATURES 0x1).
/// As coconut-svsm QEMU builds it, the x87 control word stays 0.
fn svsm_vmsa_page(eip: u64, vcpu_sig: u32) -> Vec<u8> {
    let flat = (16, 0xc93, 0xffff_ffff, 0);
    SaveArea {
        segs: [
            flat,
            (8, 0xc9b, 0xffff_ffff, 0),
            flat,
            flat,
            flat,
            (0, 0x93, 0xffff, 0),
            (0, 0, 0xffff, 0),
            (0, 0x82, 0xffff, 0),
            (0, 0, 0xffff, 0),
            (0, 0x8b, 0xffff, 0),
        ],
        efer: 0x1000,
        cr4: 0x40,
        cr0: 0x11,
        rip: eip,
        g_pat: DEFAULT_PAT,
        rdx: vcpu_sig as u64,
        sev_features: 1,
        mxcsr: 0x1f80,
        fcw: 0,
    }
    .page()
}

/// Where the image is mapped so that it ends at `end`.
fn image_gpa(check: Check, what: &str, len: usize, end: u64) -> Result<u64> {
    if len == 0 || !len.is_multiple_of(PAGE) {
        return Err(Error::usage(check, format!("{what} is {len} bytes, not a whole number of 4 KiB pages")));
    }
    end.checked_sub(len as u64)
        .ok_or_else(|| Error::usage(check, format!("{what} of {len} bytes does not fit below GPA {end:#x}")))
}

/// The SEV-ES AP reset address (`None` when the table has none or it is 0).
fn ap_eip(o: &Ovmf<'_>) -> Result<Option<u64>> {
    Ok(o.entry_u32(&SEV_ES_RESET_BLOCK_GUID, "SEV-ES reset block")?.filter(|&e| e != 0).map(u64::from))
}

fn need_sig(i: &SnpInputs<'_>) -> Result<u32> {
    match (i.vcpu_sig, i.vmm) {
        (Some(s), _) => Ok(s),
        // EC2 and GCE put a fixed value in RDX; the signature does not enter their VMSAs.
        (None, VmmType::Ec2 | VmmType::Gce) => Ok(0),
        (None, VmmType::Qemu) => Err(bad_input(format!(
            "mode {} with VMM qemu needs the vCPU signature (--vcpu-type, --vcpu-sig or --vcpu-family/--vcpu-model/--vcpu-stepping)",
            i.mode.name()
        ))),
    }
}

/// Computes the launch digest `inputs` define.
pub fn launch_digest(i: &SnpInputs<'_>) -> Result<SnpMeasurement> {
    if i.kernel.is_none() && (i.initrd.is_some() || i.append.is_some()) {
        return Err(bad_input("an initrd or command line needs a kernel (measured direct boot)"));
    }
    if i.ovmf_hash.is_some() && i.mode != SevMode::Snp {
        return Err(bad_input("a precomputed OVMF hash only works with mode snp"));
    }
    if matches!(i.mode, SevMode::SevEs | SevMode::Snp | SevMode::SnpSvsm) && !(1..=MAX_VCPUS).contains(&i.vcpus) {
        return Err(bad_input(format!("{} vCPUs: between 1 and {MAX_VCPUS} required", i.vcpus)));
    }
    if i.mode == SevMode::SnpSvsm && (i.kernel.is_some() || i.vmm != VmmType::Qemu) {
        return Err(bad_input("mode snp:svsm is defined for QEMU without measured direct boot only"));
    }
    if i.svsm.is_some() != (i.mode == SevMode::SnpSvsm) {
        return Err(bad_input("an SVSM image is used in (and required by) mode snp:svsm only"));
    }
    let ovmf = Ovmf::parse(i.ovmf)?;
    let mut inputs = vec![Input::new("mode", i.mode.name()), Input::file("ovmf", i.ovmf)];
    let hashes = i.kernel.map(|k| SevHashes::new(k, i.initrd, i.append));
    if let (Some(k), Some(h)) = (i.kernel, &hashes) {
        inputs.push(Input::file("kernel", k));
        inputs.push(Input::new("initrd", format!("sha256 {}", hex::encode(h.initrd))));
        inputs.push(Input::new(
            "append",
            format!("{:?}, sha256 {} (with NUL)", i.append.unwrap_or(""), hex::encode(h.cmdline)),
        ));
    }
    match i.mode {
        SevMode::Sev | SevMode::SevEs => sev_digest(i, &ovmf, hashes, inputs),
        SevMode::Snp | SevMode::SnpOvmfHash => snp_digest(i, &ovmf, hashes, inputs),
        SevMode::SnpSvsm => svsm_digest(i, &ovmf, inputs),
    }
}

fn sev_digest(
    i: &SnpInputs<'_>,
    ovmf: &Ovmf<'_>,
    hashes: Option<SevHashes>,
    mut inputs: Vec<Input>,
) -> Result<SnpMeasurement> {
    let mut h = Hasher::sha256();
    h.update(i.ovmf);
    if let Some(hs) = hashes {
        let supported = ovmf.entry_u32(&SEV_HASH_TABLE_RV_GUID, "SEV hash table")?.is_some_and(|g| g != 0);
        if !supported {
            return Err(Error::usage(
                Check::MeasureOvmf,
                "a kernel was given, but the OVMF image does not support kernel/initrd/cmdline measurement (no SEV hash table entry in its footer GUID table)",
            ));
        }
        h.update(&hs.table());
    }
    let mut vmsa_pages = 0;
    if i.mode == SevMode::SevEs {
        let sig = need_sig(i)?;
        let ap = ap_eip(ovmf)?;
        inputs.push(Input::new("vcpus", i.vcpus.to_string()));
        inputs.push(Input::new("vcpu_sig", format!("{sig:#x}")));
        inputs.push(Input::new("vmm_type", i.vmm.name()));
        for n in 0..i.vcpus {
            h.update(&vmsa_for(n, ap, 0, sig, i)?);
            vmsa_pages += 1;
        }
    }
    Ok(SnpMeasurement { mode: i.mode, measurement: h.finish(), ovmf_hash: None, vmsa_pages, inputs })
}

fn vmsa_for(n: u32, ap: Option<u64>, features: u64, sig: u32, i: &SnpInputs<'_>) -> Result<Vec<u8>> {
    let eip = if n == 0 {
        BSP_EIP
    } else {
        ap.ok_or_else(|| {
            Error::usage(
                Check::MeasureOvmf,
                "more than one vCPU, but the OVMF footer GUID table has no SEV-ES reset block (AP entry point)",
            )
        })?
    };
    Ok(vmsa_page(eip, features, sig, i.vmm, i.ec2_vmsa))
}

fn metadata_pages(g: &mut Gctx, o: &Ovmf<'_>, hashes: Option<SevHashes>, vmm: VmmType) -> Result<()> {
    for s in &o.sev_sections {
        match s.kind {
            SevSectionType::SnpSecMemory if vmm == VmmType::Gce => g.repeat(4, s.gpa, s.size),
            SevSectionType::SnpSecMemory | SevSectionType::SvsmCaa => g.repeat(3, s.gpa, s.size),
            SevSectionType::SnpSecrets => g.update(5, s.gpa, &[0; 48]),
            SevSectionType::Cpuid if vmm != VmmType::Ec2 => g.update(6, s.gpa, &[0; 48]),
            SevSectionType::Cpuid => {}
            SevSectionType::SnpKernelHashes => match &hashes {
                Some(h) => {
                    let table_gpa = o.entry_u32(&SEV_HASH_TABLE_RV_GUID, "SEV hash table")?.ok_or_else(|| {
                        Error::usage(
                            o.check,
                            "SNP_KERNEL_HASHES section present, but the footer GUID table has no SEV hash table entry",
                        )
                    })?;
                    if s.size != PAGE as u64 {
                        return Err(Error::usage(
                            o.check,
                            format!(
                                "SNP_KERNEL_HASHES section at GPA {:#x} is {:#x} bytes, expected one page",
                                s.gpa, s.size
                            ),
                        ));
                    }
                    let off = (table_gpa as usize) & (PAGE - 1);
                    if off + PADDED_HASH_TABLE_LEN > PAGE {
                        return Err(Error::usage(
                            o.check,
                            format!("SEV hash table GPA {table_gpa:#x}: the table does not fit in its page"),
                        ));
                    }
                    let mut page = vec![0u8; PAGE];
                    page[off..off + PADDED_HASH_TABLE_LEN].copy_from_slice(&h.table());
                    g.normal_pages(s.gpa, &page);
                }
                None => g.repeat(3, s.gpa, s.size),
            },
        }
    }
    if vmm == VmmType::Ec2 {
        for s in o.sev_sections.iter().filter(|s| s.kind == SevSectionType::Cpuid) {
            g.update(6, s.gpa, &[0; 48]);
        }
    }
    if hashes.is_some() && !o.sev_sections.iter().any(|s| s.kind == SevSectionType::SnpKernelHashes) {
        return Err(Error::usage(
            o.check,
            "a kernel was given, but the OVMF SEV metadata has no SNP_KERNEL_HASHES section (no measured direct boot)",
        ));
    }
    Ok(())
}

fn snp_digest(
    i: &SnpInputs<'_>,
    ovmf: &Ovmf<'_>,
    hashes: Option<SevHashes>,
    mut inputs: Vec<Input>,
) -> Result<SnpMeasurement> {
    let gpa = image_gpa(Check::MeasureOvmf, "OVMF image", i.ovmf.len(), FOUR_GIB)?;
    let mut g = Gctx { ld: [0; 48] };
    match i.ovmf_hash {
        Some(seed) => {
            g.ld = seed;
            inputs.push(Input::new("snp_ovmf_hash", hex::encode(seed)));
        }
        None => g.normal_pages(gpa, i.ovmf),
    }
    let ovmf_hash = g.ld;
    if i.mode == SevMode::SnpOvmfHash {
        return Ok(SnpMeasurement {
            mode: i.mode,
            measurement: ovmf_hash.to_vec(),
            ovmf_hash: Some(ovmf_hash.to_vec()),
            vmsa_pages: 0,
            inputs,
        });
    }
    let sig = need_sig(i)?;
    metadata_pages(&mut g, ovmf, hashes, i.vmm)?;
    let ap = ap_eip(ovmf)?;
    for n in 0..i.vcpus {
        let page = vmsa_for(n, ap, i.guest_features, sig, i)?;
        g.update(2, VMSA_GPA, &sha384(&page));
    }
    inputs.push(Input::new("vcpus", i.vcpus.to_string()));
    inputs.push(Input::new("vcpu_sig", format!("{sig:#x}")));
    inputs.push(Input::new("vmm_type", i.vmm.name()));
    if i.vmm == VmmType::Ec2 {
        inputs.push(Input::new("ec2_vmsa", format!("{:?}", i.ec2_vmsa).to_lowercase()));
    }
    inputs.push(Input::new("guest_features", format!("{:#x}", i.guest_features)));
    Ok(SnpMeasurement {
        mode: i.mode,
        measurement: g.ld.to_vec(),
        ovmf_hash: Some(ovmf_hash.to_vec()),
        vmsa_pages: i.vcpus,
        inputs,
    })
}

fn svsm_digest(i: &SnpInputs<'_>, _ovmf: &Ovmf<'_>, mut inputs: Vec<Input>) -> Result<SnpMeasurement> {
    let svsm_bytes = i.svsm.ok_or_else(|| bad_input("mode snp:svsm needs an SVSM image"))?;
    let svsm = Ovmf::parse_svsm(svsm_bytes)?;
    let ovmf_gpa = image_gpa(Check::MeasureOvmf, "OVMF image", i.ovmf.len(), FOUR_GIB)?;
    let svsm_end = ovmf_gpa
        .checked_sub(i.vars_size)
        .ok_or_else(|| bad_input(format!("vars size {:#x} does not fit below the OVMF image", i.vars_size)))?;
    let svsm_gpa = image_gpa(Check::MeasureSvsm, "SVSM image", svsm_bytes.len(), svsm_end)?;
    let entry = svsm.entry_u32(&SVSM_INFO_GUID, "SVSM info")?.ok_or_else(|| {
        Error::usage(Check::MeasureSvsm, "SVSM image: the footer GUID table has no SVSM info entry (a789a612-…)")
    })?;
    let eip = svsm_gpa + entry as u64;
    let sig = need_sig(i)?;
    let mut g = Gctx { ld: [0; 48] };
    g.normal_pages(ovmf_gpa, i.ovmf);
    let ovmf_hash = g.ld;
    g.normal_pages(svsm_gpa, svsm_bytes);
    metadata_pages(&mut g, &svsm, None, VmmType::Qemu)?;
    let page = svsm_vmsa_page(eip, sig);
    let digest = sha384(&page);
    for _ in 0..i.vcpus {
        g.update(2, VMSA_GPA, &digest);
    }
    inputs.push(Input::file("svsm", svsm_bytes));
    inputs.push(Input::new("vars_size", i.vars_size.to_string()));
    inputs.push(Input::new("vcpus", i.vcpus.to_string()));
    inputs.push(Input::new("vcpu_sig", format!("{sig:#x}")));
    inputs.push(Input::new("vmm_type", "qemu"));
    inputs.push(Input::new("guest_features", "0x1 (the SVSM VMSA's; --guest-features does not apply)"));
    Ok(SnpMeasurement {
        mode: i.mode,
        measurement: g.ld.to_vec(),
        ovmf_hash: Some(ovmf_hash.to_vec()),
        vmsa_pages: i.vcpus,
        inputs,
    })
}
