//! Intel TDX RTMR0..2 predictions for a QEMU direct-boot guest with OVMF/TDVF (`OvmfPkg/IntelTdx`)
//! and a Linux EFI-stub kernel: the events TDVF and the stub log into the CCEL, their digests,
//! and the extend fold of [`super::tdx::rtmr_fold`].
//!
//! CC MR index i+1 is RTMR i (UEFI CC measurement protocol; TPM PCR 0 → RTMR0, PCR 1..7 → RTMR0
//! or RTMR1, PCR 8..15 → RTMR2). Event sequence, as in the staged CCELs
//! (`ccel/trustee/CCEL_data_ovmf`) and oasisprotocol/cli `build/measurement/tdx_qemu.go`:
//!
//! * **RTMR0** — edk2 `OvmfPkg/IntelTdx/TdxHelperLib/SecTdxHelper.c`:
//!   1. `TdxHelperMeasureTdHob`, EV_EFI_HANDOFF_TABLES2 "TdxTable": SHA-384 of the TD HOB list
//!      from its start up to (not including) the end-of-list HOB. The HOB is built by the VMM:
//!      [`qemu_td_hob`] follows QEMU `hw/i386/tdvf-hob.c` (`tdvf_hob_create`) and
//!      `target/i386/kvm/tdx.c` (`tdx_init_ram_entries`, `tdx_accept_ram_range`): one PHIT HOB,
//!      then one resource descriptor per RAM range sorted by address — accepted
//!      (EFI_RESOURCE_SYSTEM_MEMORY) for the TD_HOB/TEMP_MEM sections of the TDX metadata,
//!      unaccepted (EFI_RESOURCE_MEMORY_UNACCEPTED) for the rest of RAM, attributes
//!      PRESENT|INITIALIZED|TESTED; RAM is `[0, below_4g)` plus `[4 GiB, …)` where q35 puts
//!      `below_4g = min(RAM, RAM >= 2816 MiB ? 2 GiB : 2816 MiB)`. So it depends on the memory
//!      size, which must be given.
//!   2. `TdxHelperMeasureCfvImage`, EV_EFI_PLATFORM_FIRMWARE_BLOB2 "Fv(XXXXXXXX-…)": SHA-384 of
//!      the configuration firmware volume (the CFV section's raw data in the image: the variable
//!      store as shipped in the image).
//!   3. EV_EFI_VARIABLE_DRIVER_CONFIG for SecureBoot, PK, KEK (EFI global variable GUID), db and
//!      dbx (image security database GUID): SHA-384 of UEFI_VARIABLE_DATA (TCG PC Client PFP
//!      §10.2.6: VariableName GUID, u64 UnicodeNameLength, u64 VariableDataLength, UTF-16LE name
//!      without NUL, data). The prediction assumes **empty variables** (no enrolled keys, secure
//!      boot off) — what the staged OVMF logs and what a direct-boot OVMF.fd ships.
//!   4. EV_SEPARATOR: SHA-384 of four zero bytes.
//!   5. Three EV_PLATFORM_CONFIG_FLAGS "ACPI DATA" events (OVMF `QemuFwCfgAcpiPlatformDxe`): the
//!      QEMU fw_cfg blobs `etc/table-loader`, `etc/acpi/rsdp`, `etc/acpi/tables`. They depend on
//!      the QEMU version, machine type, vCPU count, memory and devices, so they are **inputs**:
//!      without their digests RTMR0 is not predicted.
//!   6. EV_EFI_VARIABLE_BOOT BootOrder (data `00 00`) and Boot0000 (OVMF's UiApp load option,
//!      [`ovmf_boot0000`]): SHA-384 of the variable data only.
//!   7. EV_SEPARATOR.
//! * **RTMR1** — edk2 `SecurityPkg/Library/DxeTpm2MeasureBootLib` (CC path) /
//!   `MeasureBootPeCoff.c` `MeasurePeImageAndExtend`: the kernel's PE/COFF Authenticode SHA-384
//!   ([`authenticode_sha384`]) as OVMF loads it from fw_cfg — with the setup header **as QEMU
//!   patched it** (`hw/i386/x86-common.c` `x86_load_linux`, [`qemu_patch_kernel`]); then
//!   EV_EFI_ACTION "Calling EFI Application from Boot Option", (newer OVMF: an EV_SEPARATOR —
//!   dstack's OVMF logs one, the staged CCELs' does not), "Exit Boot Services Invocation",
//!   "Exit Boot Services Returned with Success" (SHA-384 of the ASCII text).
//! * **RTMR2** — the Linux EFI stub (`drivers/firmware/efi/libstub/efi-stub-helper.c`):
//!   EV_EVENT_TAG "LOADED_IMAGE::LoadOptions", SHA-384 of the load options OVMF built
//!   (`X86QemuLoadImageLib` `QemuLoadKernelImage`: UTF-16LE of the command line, plus
//!   `" initrd=initrd"` when an initrd is given, plus a NUL; no event when both are empty); then
//!   EV_EVENT_TAG "Linux initrd", SHA-384 of the initrd.
//!
//! RTMR3 is extended at run time only (zero at boot) and not predicted.

use super::Input;
use super::ovmf::{TdxSection, TdxSectionType};
use super::tdx::rtmr_fold;
use super::{Reader, guid_le};
use crate::Check;
use crate::crypto::{Hasher, sha384};
use crate::error::{Error, Result};
use serde::Serialize;

/// EFI_GLOBAL_VARIABLE (SecureBoot, PK, KEK, BootOrder, Boot####).
pub const EFI_GLOBAL_VARIABLE: [u8; 16] = guid_le("8be4df61-93ca-11d2-aa0d-00e098032b8c");
/// EFI_IMAGE_SECURITY_DATABASE_GUID (db, dbx).
pub const EFI_IMAGE_SECURITY_DATABASE: [u8; 16] = guid_le("d719b2cb-3d3a-4596-a3bc-dad00e67656f");
/// The EV_EFI_ACTION OVMF's boot manager logs before starting the kernel.
pub(crate) const ACTION_CALLING_EFI_APPLICATION: &str = "Calling EFI Application from Boot Option";
/// The EV_EFI_ACTION logged when ExitBootServices() is called.
pub(crate) const ACTION_EXIT_BOOT_SERVICES: &str = "Exit Boot Services Invocation";
/// The EV_EFI_ACTION logged when ExitBootServices() succeeded.
pub(crate) const ACTION_EXIT_BOOT_SERVICES_OK: &str = "Exit Boot Services Returned with Success";
/// QEMU's `acpi_data_size` for the pc/q35 machines (0x20000 + 0x8000): the top of low RAM QEMU
/// keeps free of the initrd.
pub(crate) const QEMU_ACPI_DATA_SIZE: u32 = 0x28000;
/// The TD HOB GPA when the firmware's metadata names none (OVMF IntelTdx: 0x809000).
const DEFAULT_TD_HOB_GPA: u64 = 0x809000;

const MIB: u64 = 1 << 20;
const GIB4: u64 = 1 << 32;
/// Largest memory size accepted for a TD HOB (16 TiB).
const MAX_MEMORY_MIB: u64 = 16 << 20;

/// SHA-384 of EV_SEPARATOR's four zero bytes.
pub fn separator_digest() -> [u8; 48] {
    sha384(&[0u8; 4])
}

/// SHA-384 of an EV_EFI_ACTION text.
pub fn action_digest(text: &str) -> [u8; 48] {
    sha384(text.as_bytes())
}

/// UEFI_VARIABLE_DATA (TCG PC Client PFP §10.2.6), the bytes an EV_EFI_VARIABLE_DRIVER_CONFIG
/// event digests: VariableName GUID, u64 name length (characters), u64 data length, the name in
/// UTF-16LE without NUL, the data.
pub fn efi_variable_data(vendor: &[u8; 16], name: &str, data: &[u8]) -> Vec<u8> {
    let name16: Vec<u16> = name.encode_utf16().collect();
    let mut b = Vec::with_capacity(32 + 2 * name16.len() + data.len());
    b.extend_from_slice(vendor);
    b.extend_from_slice(&(name16.len() as u64).to_le_bytes());
    b.extend_from_slice(&(data.len() as u64).to_le_bytes());
    for u in name16 {
        b.extend_from_slice(&u.to_le_bytes());
    }
    b.extend_from_slice(data);
    b
}

/// Digest of an EV_EFI_VARIABLE_DRIVER_CONFIG event: SHA-384 of [`efi_variable_data`].
pub fn efi_variable_digest(vendor: &[u8; 16], name: &str, data: &[u8]) -> [u8; 48] {
    sha384(&efi_variable_data(vendor, name, data))
}

/// OVMF's Boot0000 load option (what its boot manager registers for the UiApp "front page"):
/// EFI_LOAD_OPTION {Attributes 0x109 = ACTIVE|HIDDEN|CATEGORY_APP, FilePathListLength 44,
/// Description "UiApp", device path MEDIA_FW_VOL (DXEFV 7cb8bdc9-f8eb-4f34-aaea-3ee4af6516a1) /
/// MEDIA_FW_VOL_FILEPATH (UiApp 462caa21-7614-4503-836e-8ab6f4662331) / END}. Its SHA-384 is the
/// EV_EFI_VARIABLE_BOOT digest OVMF logs (checked against the staged CCEL).
pub fn ovmf_boot0000() -> Vec<u8> {
    let mut b = Vec::with_capacity(62);
    b.extend_from_slice(&0x109u32.to_le_bytes());
    b.extend_from_slice(&44u16.to_le_bytes());
    for u in "UiApp".encode_utf16().chain(std::iter::once(0)) {
        b.extend_from_slice(&u.to_le_bytes());
    }
    b.extend_from_slice(&[0x04, 0x07, 0x14, 0x00]);
    b.extend_from_slice(&guid_le("7cb8bdc9-f8eb-4f34-aaea-3ee4af6516a1"));
    b.extend_from_slice(&[0x04, 0x06, 0x14, 0x00]);
    b.extend_from_slice(&guid_le("462caa21-7614-4503-836e-8ab6f4662331"));
    b.extend_from_slice(&[0x7f, 0xff, 0x04, 0x00]);
    b
}

/// The load options OVMF's `QemuLoadKernelImage` hands the kernel: UTF-16LE of the command line,
/// `" initrd=initrd"` when there is an initrd, and a NUL; `None` when both are empty (no
/// options, so the stub logs no LoadOptions event).
pub fn ovmf_load_options(cmdline: &str, initrd: bool) -> Option<Vec<u8>> {
    let text = if initrd { format!("{cmdline} initrd=initrd") } else { cmdline.to_string() };
    if text.is_empty() {
        return None;
    }
    let mut b = Vec::with_capacity(2 * text.len() + 2);
    for u in text.encode_utf16().chain(std::iter::once(0)) {
        b.extend_from_slice(&u.to_le_bytes());
    }
    Some(b)
}

fn tdvf_err(d: String) -> Error {
    Error::usage(Check::MeasureInput, d)
}

/// The TD HOB QEMU builds for a TD with `memory_mib` MiB of RAM and the given TDX metadata
/// sections (their TD_HOB and TEMP_MEM sections are the accepted ranges; the TD_HOB section's GPA
/// is where the HOB lives). Returns the bytes OVMF measures (up to the end-of-list HOB).
pub fn qemu_td_hob(sections: &[TdxSection], memory_mib: u64) -> Result<Vec<u8>> {
    if memory_mib == 0 || memory_mib > MAX_MEMORY_MIB {
        return Err(tdvf_err(format!("--memory {memory_mib} MiB is out of range (1..={MAX_MEMORY_MIB})")));
    }
    let ram = memory_mib * MIB;
    let lowmem = if ram >= 0xb000_0000 { 0x8000_0000 } else { 0xb000_0000 };
    let below = ram.min(lowmem);
    // (start, length, accepted)
    let mut entries: Vec<(u64, u64, bool)> = vec![(0, below, false)];
    if ram > below {
        entries.push((GIB4, ram - below, false));
    }
    for (i, s) in sections.iter().enumerate() {
        if !matches!(s.kind, TdxSectionType::TdHob | TdxSectionType::TempMem) {
            continue;
        }
        let (a, l) = (s.gpa, s.memory_size);
        let Some(k) = entries.iter().position(|&(es, el, _)| a < es + el && es < a + l) else {
            return Err(tdvf_err(format!(
                "TDX metadata section {i} ({}, GPA {a:#x}+{l:#x}) lies outside the {memory_mib} MiB of RAM",
                s.kind.name()
            )));
        };
        let (es, el, accepted) = entries[k];
        if a < es || a + l > es + el || accepted {
            return Err(tdvf_err(format!(
                "TDX metadata section {i} ({}, GPA {a:#x}+{l:#x}) is not inside one unaccepted RAM range (QEMU refuses it)",
                s.kind.name()
            )));
        }
        entries[k] = (a, l, true);
        if a > es {
            entries.push((es, a - es, false));
        }
        if a + l < es + el {
            entries.push((a + l, es + el - (a + l), false));
        }
    }
    entries.sort_by_key(|e| e.0);
    let base = sections.iter().find(|s| s.kind == TdxSectionType::TdHob).map_or(DEFAULT_TD_HOB_GPA, |s| s.gpa);
    let mut h = Vec::with_capacity(56 + 48 * entries.len());
    // EFI_HOB_HANDOFF_INFO_TABLE: header {type 1, length 56}, version 9, boot mode 0, four memory
    // fields 0, EfiEndOfHobList (filled below).
    h.extend_from_slice(&1u16.to_le_bytes());
    h.extend_from_slice(&56u16.to_le_bytes());
    h.extend_from_slice(&[0; 4]);
    h.extend_from_slice(&9u32.to_le_bytes());
    h.extend_from_slice(&[0; 4 + 8 * 5]);
    for (start, len, accepted) in &entries {
        // EFI_HOB_RESOURCE_DESCRIPTOR: header {type 3, length 48}, owner GUID 0, type, attributes.
        h.extend_from_slice(&3u16.to_le_bytes());
        h.extend_from_slice(&48u16.to_le_bytes());
        h.extend_from_slice(&[0; 4 + 16]);
        h.extend_from_slice(&(if *accepted { 0u32 } else { 7u32 }).to_le_bytes());
        h.extend_from_slice(&7u32.to_le_bytes());
        h.extend_from_slice(&start.to_le_bytes());
        h.extend_from_slice(&len.to_le_bytes());
    }
    // The end-of-list HOB (8 bytes) follows; EfiEndOfHobList points past it.
    let end = base + h.len() as u64 + 8;
    h[48..56].copy_from_slice(&end.to_le_bytes());
    Ok(h)
}

/// Digest of the CFV event: SHA-384 of the CFV section's data in the image.
pub(crate) fn cfv_digest(image: &[u8], sections: &[TdxSection]) -> Result<[u8; 48]> {
    let s = sections
        .iter()
        .find(|s| s.kind == TdxSectionType::Cfv)
        .ok_or_else(|| tdvf_err("TDX metadata has no CFV section, so there is no CFV event to predict".into()))?;
    let r = Reader { check: Check::MeasureOvmf, what: "CFV section", data: image };
    Ok(sha384(r.bytes(s.data_offset as usize, s.raw_size as usize)?))
}

fn pe_err(d: String) -> Error {
    Error::usage(Check::MeasureInput, format!("kernel (PE/COFF): {d}"))
}

/// PE/COFF Authenticode SHA-384 as edk2's `MeasurePeImageAndExtend` computes it (PE/COFF spec,
/// "Calculating the PE Image Hash"): the headers up to SizeOfHeaders without CheckSum and the
/// certificate-table data directory entry, the sections with raw data in PointerToRawData order,
/// then whatever follows them minus the certificate table. No padding is added.
pub fn authenticode_sha384(pe: &[u8]) -> Result<[u8; 48]> {
    let r = Reader { check: Check::MeasureInput, what: "kernel (PE/COFF)", data: pe };
    if r.bytes(0, 2)? != b"MZ" {
        return Err(pe_err("no DOS header: bytes 0..2 are not \"MZ\"".into()));
    }
    let nt = r.u32(0x3c)? as usize;
    if r.bytes(nt, 4)? != b"PE\0\0" {
        return Err(pe_err(format!("no PE signature at e_lfanew {nt:#x}")));
    }
    let coff = nt + 4;
    let nsections = r.u16(coff + 2)? as usize;
    let opt_size = r.u16(coff + 16)? as usize;
    let opt = coff + 20;
    let magic = r.u16(opt)?;
    let (dirs_at, nrva_at) = match magic {
        0x10b => (opt + 96, opt + 92),
        0x20b => (opt + 112, opt + 108),
        m => return Err(pe_err(format!("optional header magic {m:#x} at offset {opt:#x} is neither PE32 nor PE32+"))),
    };
    let size_of_headers = r.u32(opt + 60)? as usize;
    let nrva = r.u32(nrva_at)? as usize;
    let checksum = opt + 64;
    let sections_at = opt + opt_size;
    let sections_end = sections_at + 40 * nsections;
    let cert_dir = dirs_at + 4 * 8;
    let fixed_end = if nrva > 4 { cert_dir + 8 } else { checksum + 4 };
    if size_of_headers < sections_end.max(fixed_end) || size_of_headers > pe.len() {
        return Err(pe_err(format!(
            "SizeOfHeaders {size_of_headers:#x} (offset {:#x}) does not cover the optional header and the {nsections} section headers (to {:#x}) within the {:#x}-byte file",
            opt + 60,
            sections_end.max(fixed_end),
            pe.len()
        )));
    }
    let mut h = Hasher::sha384();
    h.update(r.bytes(0, checksum)?);
    let cert_size = if nrva > 4 {
        h.update(r.bytes(checksum + 4, cert_dir - (checksum + 4))?);
        h.update(r.bytes(cert_dir + 8, size_of_headers - (cert_dir + 8))?);
        r.u32(cert_dir + 4)? as usize
    } else {
        h.update(r.bytes(checksum + 4, size_of_headers - (checksum + 4))?);
        0
    };
    let mut secs = Vec::with_capacity(nsections);
    for i in 0..nsections {
        let at = sections_at + 40 * i;
        let size = r.u32(at + 16)? as usize;
        let ptr = r.u32(at + 20)? as usize;
        if size > 0 {
            secs.push((ptr, size, i));
        }
    }
    secs.sort_by_key(|s| s.0);
    let mut hashed = size_of_headers;
    for (ptr, size, i) in secs {
        let b = r.bytes(ptr, size).map_err(|_| {
            pe_err(format!(
                "section {i}: raw data {ptr:#x}+{size:#x} is out of bounds of the {:#x}-byte file",
                pe.len()
            ))
        })?;
        h.update(b);
        hashed += size;
    }
    if pe.len() > hashed {
        let rest = pe.len() - hashed;
        if rest > cert_size {
            h.update(r.bytes(hashed, rest - cert_size)?);
        } else if rest < cert_size {
            return Err(pe_err(format!(
                "the certificate table ({cert_size:#x} bytes) is larger than the {rest:#x} bytes after the sections"
            )));
        }
    }
    let mut out = [0u8; 48];
    out.copy_from_slice(&h.finish());
    Ok(out)
}

/// The kernel as OVMF reads it from QEMU's fw_cfg: QEMU `x86_load_linux` patches the Linux setup
/// header (boot protocol fields) before handing it over — type_of_loader 0xb0, CAN_USE_HEAP and
/// heap_end_ptr, cmd_line_ptr (0x20000, or the legacy fields for protocol < 2.02), and with an
/// initrd ramdisk_image/ramdisk_size, the initrd placed page-aligned below
/// `min(initrd_addr_max, below_4g - acpi_data_size - 1)` (`UINT32_MAX` for protocol ≥ 2.12 with
/// XLF_CAN_BE_LOADED_ABOVE_4G). `memory_mib` is needed only with an initrd.
pub fn qemu_patch_kernel(kernel: &[u8], initrd_size: Option<u64>, memory_mib: Option<u64>) -> Result<Vec<u8>> {
    let kerr = |d: String| Error::usage(Check::MeasureInput, format!("kernel (Linux setup header): {d}"));
    if kernel.len() < 0x1000 {
        return Err(kerr(format!("{} bytes, shorter than a setup header (0x1000)", kernel.len())));
    }
    let mut k = kernel.to_vec();
    if &k[0x202..0x206] != b"HdrS" {
        return Err(kerr("no \"HdrS\" magic at offset 0x202: not a bzImage".into()));
    }
    let protocol = u16::from_le_bytes([k[0x206], k[0x207]]);
    let (real, cmdline): (u32, u32) =
        if protocol < 0x200 || k[0x211] & 1 == 0 { (0x90000, 0x9a000) } else { (0x10000, 0x20000) };
    if protocol >= 0x200 {
        k[0x210] = 0xb0;
    }
    if protocol >= 0x201 {
        k[0x211] |= 0x80;
        k[0x224..0x228].copy_from_slice(&(cmdline - real - 0x200).to_le_bytes());
    }
    if protocol >= 0x202 {
        k[0x228..0x22c].copy_from_slice(&cmdline.to_le_bytes());
    } else {
        k[0x20..0x22].copy_from_slice(&0xa33fu16.to_le_bytes());
        k[0x22..0x24].copy_from_slice(&((cmdline - real) as u16).to_le_bytes());
    }
    if let Some(size) = initrd_size {
        if protocol < 0x200 {
            return Err(kerr(format!("boot protocol {protocol:#x} is too old for an initrd")));
        }
        let mib = memory_mib.ok_or_else(|| {
            Error::usage(Check::MeasureInput, "with an initrd, predicting the kernel digest needs --memory (QEMU places the initrd below the top of low RAM and writes its address into the setup header)")
        })?;
        let xlf = u16::from_le_bytes([k[0x236], k[0x237]]);
        let mut max: u64 = if protocol >= 0x20c && xlf & 0x40 != 0 {
            u64::from(u32::MAX)
        } else if protocol >= 0x203 {
            u64::from(u32::from_le_bytes([k[0x22c], k[0x22d], k[0x22e], k[0x22f]]))
        } else {
            0x37ff_ffff
        };
        let ram = mib.saturating_mul(MIB);
        let below = ram.min(if ram >= 0xb000_0000 { 0x8000_0000 } else { 0xb000_0000 });
        let top = below.saturating_sub(u64::from(QEMU_ACPI_DATA_SIZE));
        if max >= top {
            max = top.saturating_sub(1);
        }
        if size >= max {
            return Err(Error::usage(
                Check::MeasureInput,
                format!("initrd of {size} bytes does not fit below {max:#x} (QEMU refuses it)"),
            ));
        }
        let addr = ((max - size) & !4095) as u32;
        k[0x218..0x21c].copy_from_slice(&addr.to_le_bytes());
        k[0x21c..0x220].copy_from_slice(&(size as u32).to_le_bytes());
    }
    Ok(k)
}

/// One predicted event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RtmrEvent {
    /// TCG event type as the CCEL names it.
    pub event_type: &'static str,
    /// What was measured.
    pub what: String,
    /// SHA-384 event digest (hex).
    pub digest: String,
}

/// One RTMR: its predicted value and the events, or why it cannot be predicted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RtmrPrediction {
    /// RTMR index (0..=2).
    pub index: u8,
    /// The predicted value (hex), when every event is known.
    pub value: Option<String>,
    /// The events, in log order (those that could be computed).
    pub events: Vec<RtmrEvent>,
    /// Inputs that are missing or unusable; empty when `value` is set.
    pub missing: Vec<String>,
}

/// What the RTMR predictions need beyond the firmware.
#[derive(Debug, Clone, Default)]
pub struct RtmrInputs<'a> {
    /// Guest RAM in MiB (the TD HOB; the initrd address in the kernel's setup header).
    pub memory_mib: Option<u64>,
    /// Digests of the three "ACPI DATA" events, in log order (table-loader, rsdp, tables).
    pub acpi_digests: Vec<[u8; 48]>,
    /// The OVMF logs an EV_SEPARATOR into RTMR1 after the boot-option action (newer OVMF).
    pub rtmr1_separator: bool,
    /// The direct-boot kernel (bzImage with the EFI stub).
    pub kernel: Option<&'a [u8]>,
    /// The initrd.
    pub initrd: Option<&'a [u8]>,
    /// The kernel command line.
    pub append: Option<&'a str>,
}

fn ev(event_type: &'static str, what: impl Into<String>, d: &[u8; 48]) -> RtmrEvent {
    RtmrEvent { event_type, what: what.into(), digest: hex::encode(d) }
}

fn finish(index: u8, events: Vec<RtmrEvent>, missing: Vec<String>) -> RtmrPrediction {
    let value = missing.is_empty().then(|| {
        let ds: Vec<[u8; 48]> = events
            .iter()
            .filter_map(|e| hex::decode(&e.digest).ok().and_then(|v| <[u8; 48]>::try_from(v).ok()))
            .collect();
        hex::encode(rtmr_fold(&ds))
    });
    RtmrPrediction { index, value, events, missing }
}

/// RTMR0..2 predictions for `image` (with its validated TDX metadata `sections`).
pub fn predict(image: &[u8], sections: &[TdxSection], i: &RtmrInputs<'_>) -> Vec<RtmrPrediction> {
    let mut out = Vec::with_capacity(3);
    // RTMR0
    let (mut e, mut miss) = (Vec::new(), Vec::new());
    match i.memory_mib.map(|m| qemu_td_hob(sections, m)) {
        Some(Ok(h)) => e.push(ev(
            "EV_EFI_HANDOFF_TABLES2",
            format!("TD HOB (QEMU, {} MiB)", i.memory_mib.unwrap_or(0)),
            &sha384(&h),
        )),
        Some(Err(err)) => miss.push(err.detail),
        None => miss.push("TD HOB: needs --memory (the HOB lists the guest's RAM ranges)".into()),
    }
    match cfv_digest(image, sections) {
        Ok(d) => e.push(ev("EV_EFI_PLATFORM_FIRMWARE_BLOB2", "CFV (configuration firmware volume)", &d)),
        Err(err) => miss.push(err.detail),
    }
    for (g, n) in [
        (&EFI_GLOBAL_VARIABLE, "SecureBoot"),
        (&EFI_GLOBAL_VARIABLE, "PK"),
        (&EFI_GLOBAL_VARIABLE, "KEK"),
        (&EFI_IMAGE_SECURITY_DATABASE, "db"),
        (&EFI_IMAGE_SECURITY_DATABASE, "dbx"),
    ] {
        e.push(ev("EV_EFI_VARIABLE_DRIVER_CONFIG", format!("{n} (empty)"), &efi_variable_digest(g, n, &[])));
    }
    e.push(ev("EV_SEPARATOR", "separator", &separator_digest()));
    if i.acpi_digests.len() == 3 {
        for (d, n) in i.acpi_digests.iter().zip(["etc/table-loader", "etc/acpi/rsdp", "etc/acpi/tables"]) {
            e.push(ev("EV_PLATFORM_CONFIG_FLAGS", format!("ACPI DATA {n} (given)"), d));
        }
    } else {
        miss.push(format!(
            "ACPI DATA: the digests of QEMU's etc/table-loader, etc/acpi/rsdp and etc/acpi/tables (3 --acpi-digest, {} given; they depend on the QEMU version, machine, vCPUs, memory and devices)",
            i.acpi_digests.len()
        ));
    }
    e.push(ev("EV_EFI_VARIABLE_BOOT", "BootOrder (0000)", &sha384(&[0, 0])));
    e.push(ev("EV_EFI_VARIABLE_BOOT", "Boot0000 (OVMF UiApp)", &sha384(&ovmf_boot0000())));
    e.push(ev("EV_SEPARATOR", "separator", &separator_digest()));
    out.push(finish(0, e, miss));
    // RTMR1 and RTMR2 need the direct-boot kernel.
    let Some(kernel) = i.kernel else {
        for idx in [1, 2] {
            out.push(finish(idx, Vec::new(), vec!["direct boot: needs --kernel".into()]));
        }
        return out;
    };
    let (mut e, mut miss) = (Vec::new(), Vec::new());
    match qemu_patch_kernel(kernel, i.initrd.map(|d| d.len() as u64), i.memory_mib)
        .and_then(|k| authenticode_sha384(&k))
    {
        Ok(d) => e.push(ev("EV_EFI_BOOT_SERVICES_APPLICATION", "kernel (Authenticode, QEMU-patched header)", &d)),
        Err(err) => miss.push(err.detail),
    }
    e.push(ev("EV_EFI_ACTION", ACTION_CALLING_EFI_APPLICATION, &action_digest(ACTION_CALLING_EFI_APPLICATION)));
    if i.rtmr1_separator {
        e.push(ev("EV_SEPARATOR", "separator", &separator_digest()));
    }
    e.push(ev("EV_EFI_ACTION", ACTION_EXIT_BOOT_SERVICES, &action_digest(ACTION_EXIT_BOOT_SERVICES)));
    e.push(ev("EV_EFI_ACTION", ACTION_EXIT_BOOT_SERVICES_OK, &action_digest(ACTION_EXIT_BOOT_SERVICES_OK)));
    out.push(finish(1, e, miss));
    let mut e = Vec::new();
    if let Some(o) = ovmf_load_options(i.append.unwrap_or(""), i.initrd.is_some()) {
        e.push(ev("EV_EVENT_TAG", "LOADED_IMAGE::LoadOptions", &sha384(&o)));
    }
    if let Some(d) = i.initrd {
        e.push(ev("EV_EVENT_TAG", "Linux initrd", &sha384(d)));
    }
    out.push(finish(2, e, Vec::new()));
    out
}

/// The inputs of a prediction as the output names them.
pub(crate) fn inputs(i: &RtmrInputs<'_>) -> Vec<Input> {
    let mut v = Vec::new();
    if let Some(m) = i.memory_mib {
        v.push(Input::new("memory", format!("{m} MiB")));
    }
    for (n, d) in i.acpi_digests.iter().enumerate() {
        v.push(Input::new(&format!("acpi_digest{n}"), hex::encode(d)));
    }
    if i.rtmr1_separator {
        v.push(Input::new("rtmr1_separator", "yes"));
    }
    v
}
