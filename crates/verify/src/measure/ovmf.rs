//! The OVMF (and Coconut-SVSM) image structures a launch measurement depends on.
//!
//! * The GUIDed footer table: edk2 `OvmfPkg/ResetVector/Ia16/ResetVectorVtf0.asm`. It ends 32
//!   bytes before the end of the image with an 18-byte entry {u16 size, GUID
//!   96b582de-1fb2-45f7-baea-a366c55a082d} whose size covers the whole table; entries are read
//!   backwards, each ending in its own {u16 size, GUID} header. The SEV-ES reset block
//!   (00f771de-…), the SEV hash table (7255371f-…), the SEV metadata offset (dc886566-…), the TDX
//!   metadata offset (e47a6535-…) and the SVSM info (a789a612-…) are entries of it.
//! * The SEV metadata (`OvmfSevMetadata.asm`): "ASEV", u32 size, u32 version 1, u32 count, then
//!   count × {u32 GPA, u32 size, u32 type}; types 1 SNP_SEC_MEMORY, 2 SNP_SECRETS, 3 CPUID,
//!   4 SVSM_CAA, 0x10 SNP_KERNEL_HASHES.
//! * The TDX metadata (Intel TDVF design guide, "TDVF Metadata"; edk2 `IntelTdxMetadata.asm`): GUID e9eaf9f3-…,
//!   then "TDVF", u32 length, u32 version 1, u32 count, then count × {u32 data offset, u32 raw
//!   size, u64 GPA, u64 memory size, u32 type, u32 attributes}; types 0 BFV, 1 CFV, 2 TD_HOB,
//!   3 TEMP_MEM; attribute bit 0 = MR.EXTEND.
//!
//! Everything is bounds-checked: an error names the structure and its offset in the image.

use super::{Reader, guid_le, guid_text};
use crate::Check;
use crate::error::{Error, Result};

pub(crate) const FOOTER_GUID: [u8; 16] = guid_le("96b582de-1fb2-45f7-baea-a366c55a082d");
pub(crate) const SEV_HASH_TABLE_RV_GUID: [u8; 16] = guid_le("7255371f-3a3b-4b04-927b-1da6efa8d454");
pub(crate) const SEV_ES_RESET_BLOCK_GUID: [u8; 16] = guid_le("00f771de-1a7e-4fcb-890e-68c77e2fb44e");
/// GUID of the footer table entry whose data (u32) is the offset of the SEV metadata from the
/// end of the image.
pub const SEV_METADATA_GUID: [u8; 16] = guid_le("dc886566-984a-4798-a75e-5585a7bf67cc");
pub(crate) const TDX_METADATA_OFFSET_GUID: [u8; 16] = guid_le("e47a6535-984a-4798-865e-4685a7bf8ec2");
pub(crate) const TDX_METADATA_GUID: [u8; 16] = guid_le("e9eaf9f3-168e-44d5-a8eb-7f4d8738f6ae");
pub(crate) const SVSM_INFO_GUID: [u8; 16] = guid_le("a789a612-0597-4c4b-a49f-cbb1fe9d1ddd");

const ENTRY_HEADER: usize = 18;
const FOOTER_END: usize = 32;
const PAGE: u64 = 4096;
/// Largest TDX metadata section measured (TDVF's are a few MiB at most).
const MAX_TDX_SECTION: u64 = 1 << 30;

/// One entry of the footer GUID table: its GUID, the offset of its data in the image, the data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableEntry<'a> {
    /// The entry's GUID, in its on-disk (EFI_GUID) byte order.
    pub guid: [u8; 16],
    /// Image offset of the entry's data (the start of the entry).
    pub offset: usize,
    /// The entry's data, without its trailing {u16 size, GUID} header.
    pub data: &'a [u8],
}

/// SEV metadata section types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SevSectionType {
    /// Type 1 SNP_SEC_MEMORY: memory the VMM pre-validates; measured as zero pages (unmeasured for GCE).
    SnpSecMemory,
    /// Type 2 SNP_SECRETS: the SNP secrets page.
    SnpSecrets,
    /// Type 3 CPUID: the SNP CPUID page.
    Cpuid,
    /// Type 4 SVSM_CAA: the SVSM calling area; measured as zero pages.
    SvsmCaa,
    /// Type 0x10 SNP_KERNEL_HASHES: the page holding QEMU's SEV hashes table (measured direct boot).
    SnpKernelHashes,
}

impl SevSectionType {
    pub(crate) fn name(self) -> &'static str {
        match self {
            SevSectionType::SnpSecMemory => "SNP_SEC_MEMORY",
            SevSectionType::SnpSecrets => "SNP_SECRETS",
            SevSectionType::Cpuid => "CPUID",
            SevSectionType::SvsmCaa => "SVSM_CAA",
            SevSectionType::SnpKernelHashes => "SNP_KERNEL_HASHES",
        }
    }
}

/// One SEV metadata section.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SevSection {
    /// Guest physical address of the section (4 KiB aligned).
    pub gpa: u64,
    /// Size in bytes (a whole number of 4 KiB pages).
    pub size: u64,
    /// The section type.
    pub kind: SevSectionType,
}

/// TDX metadata section types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TdxSectionType {
    /// Type 0 BFV: the boot firmware volume (TDVF code), image data.
    Bfv,
    /// Type 1 CFV: the configuration firmware volume (UEFI variables), image data.
    Cfv,
    /// Type 2 TD_HOB: the TD HOB list the VMM builds; no image data.
    TdHob,
    /// Type 3 TEMP_MEM: temporary memory TDVF uses at boot; no image data.
    TempMem,
}

impl TdxSectionType {
    pub(crate) fn name(self) -> &'static str {
        match self {
            TdxSectionType::Bfv => "BFV",
            TdxSectionType::Cfv => "CFV",
            TdxSectionType::TdHob => "TD_HOB",
            TdxSectionType::TempMem => "TEMP_MEM",
        }
    }
}

/// One TDX metadata section.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TdxSection {
    /// DataOffset: image offset of the section's raw data (BFV, CFV).
    pub data_offset: u32,
    /// RawDataSize: size of the section's raw data in the image.
    pub raw_size: u32,
    /// MemoryAddress: guest physical address the section is loaded at (4 KiB aligned).
    pub gpa: u64,
    /// MemoryDataSize: size of the section in guest memory (a whole number of 4 KiB pages).
    pub memory_size: u64,
    /// The section type.
    pub kind: TdxSectionType,
    /// Attributes; bit 0 is MR.EXTEND.
    pub attributes: u32,
}

impl TdxSection {
    /// Attribute bit 0: the VMM measures the contents with TDH.MR.EXTEND.
    pub(crate) fn extend_mr(&self) -> bool {
        self.attributes & 1 != 0
    }
}

/// A parsed OVMF-style image: the bytes, the footer table, the SEV metadata (when present).
#[derive(Debug, Clone)]
pub struct Ovmf<'a> {
    /// The whole image.
    pub data: &'a [u8],
    /// `measure.ovmf` or `measure.svsm`: which image errors are about.
    pub check: Check,
    /// The footer GUID table's entries, as read (backwards from the footer).
    pub table: Vec<TableEntry<'a>>,
    /// The SEV metadata sections in table order (empty when the image has no SEV metadata).
    pub sev_sections: Vec<SevSection>,
}

impl<'a> Ovmf<'a> {
    /// Parses the footer table and, when the table points to it, the SEV metadata.
    pub fn parse(data: &'a [u8]) -> Result<Ovmf<'a>> {
        Self::parse_as(data, Check::MeasureOvmf, "OVMF image")
    }

    /// The same for a Coconut-SVSM image (same structures, errors under `measure.svsm`).
    pub fn parse_svsm(data: &'a [u8]) -> Result<Ovmf<'a>> {
        Self::parse_as(data, Check::MeasureSvsm, "SVSM image")
    }

    fn parse_as(data: &'a [u8], check: Check, what: &'static str) -> Result<Ovmf<'a>> {
        let err = |d: String| Error::usage(check, format!("{what}: {d}"));
        let r = Reader { check, what: "footer GUID table", data };
        if data.len() < FOOTER_END + ENTRY_HEADER {
            return Err(err(format!(
                "{} bytes, too short for the footer GUID table (which ends {FOOTER_END} bytes before the end)",
                data.len()
            )));
        }
        let footer = data.len() - FOOTER_END - ENTRY_HEADER;
        let guid: [u8; 16] = r.bytes(footer + 2, 16)?.try_into().map_err(|_| err("footer".into()))?;
        if guid != FOOTER_GUID {
            return Err(err(format!(
                "no footer GUID table: the entry at offset {footer:#x} has GUID {}, not the table footer {}",
                guid_text(&guid),
                guid_text(&FOOTER_GUID)
            )));
        }
        let total = r.u16(footer)? as usize;
        if total < ENTRY_HEADER || total - ENTRY_HEADER > footer {
            return Err(err(format!(
                "footer GUID table at offset {footer:#x} declares {total} bytes, out of bounds (needs {ENTRY_HEADER}..={})",
                footer + ENTRY_HEADER
            )));
        }
        let start = footer - (total - ENTRY_HEADER);
        let mut end = footer; // exclusive end of the not yet parsed part
        let mut table: Vec<TableEntry<'a>> = Vec::new();
        while end - start >= ENTRY_HEADER {
            let hdr = end - ENTRY_HEADER;
            let size = r.u16(hdr)? as usize;
            let g: [u8; 16] = r.bytes(hdr + 2, 16)?.try_into().map_err(|_| err("entry".into()))?;
            if size < ENTRY_HEADER || size > end - start {
                return Err(err(format!(
                    "footer GUID table entry {} at offset {hdr:#x} declares size {size}, out of bounds (the table has {} bytes left)",
                    guid_text(&g),
                    end - start
                )));
            }
            if table.iter().any(|e| e.guid == g) {
                return Err(err(format!("footer GUID table has GUID {} twice (at offset {hdr:#x})", guid_text(&g))));
            }
            let off = end - size;
            table.push(TableEntry { guid: g, offset: off, data: &data[off..hdr] });
            end = off;
        }
        let mut o = Ovmf { data, check, table, sev_sections: Vec::new() };
        o.sev_sections = o.parse_sev_metadata()?;
        Ok(o)
    }

    fn err(&self, d: String) -> Error {
        Error::usage(self.check, d)
    }

    /// The data of a footer table entry.
    pub fn entry(&self, guid: &[u8; 16]) -> Option<&TableEntry<'a>> {
        self.table.iter().find(|e| &e.guid == guid)
    }

    /// The first little-endian u32 of an entry's data (`None` when the entry is absent).
    pub(crate) fn entry_u32(&self, guid: &[u8; 16], name: &str) -> Result<Option<u32>> {
        let Some(e) = self.entry(guid) else { return Ok(None) };
        let b = e.data.get(..4).ok_or_else(|| {
            self.err(format!("{name} entry at offset {:#x} has {} data bytes, needs 4", e.offset, e.data.len()))
        })?;
        Ok(Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]])))
    }

    fn parse_sev_metadata(&self) -> Result<Vec<SevSection>> {
        let Some(off_from_end) = self.entry_u32(&SEV_METADATA_GUID, "SEV metadata offset")? else {
            return Ok(Vec::new());
        };
        let r = Reader { check: self.check, what: "SEV metadata", data: self.data };
        let start = self.data.len().checked_sub(off_from_end as usize).ok_or_else(|| {
            self.err(format!(
                "SEV metadata offset {off_from_end:#x} (from the end) is beyond the start of the {:#x}-byte image",
                self.data.len()
            ))
        })?;
        let sig = r.bytes(start, 4)?;
        if sig != b"ASEV" {
            return Err(self.err(format!("SEV metadata at offset {start:#x}: signature {sig:02x?} is not \"ASEV\"")));
        }
        let size = r.u32(start + 4)? as usize;
        let version = r.u32(start + 8)?;
        let count = r.u32(start + 12)? as usize;
        if version != 1 {
            return Err(self.err(format!("SEV metadata at offset {start:#x}: version {version}, expected 1")));
        }
        let need = count.checked_mul(12).and_then(|n| n.checked_add(16));
        if need.is_none_or(|n| n > size) {
            return Err(self.err(format!(
                "SEV metadata at offset {start:#x}: {count} sections do not fit its declared size {size}"
            )));
        }
        r.bytes(start, size)?;
        let mut out: Vec<SevSection> = Vec::with_capacity(count);
        for i in 0..count {
            let at = start + 16 + 12 * i;
            let gpa = r.u32(at)? as u64;
            let len = r.u32(at + 4)? as u64;
            let t = r.u32(at + 8)?;
            let kind = match t {
                1 => SevSectionType::SnpSecMemory,
                2 => SevSectionType::SnpSecrets,
                3 => SevSectionType::Cpuid,
                4 => SevSectionType::SvsmCaa,
                0x10 => SevSectionType::SnpKernelHashes,
                _ => return Err(self.err(format!("SEV metadata section {i} at offset {at:#x}: unknown type {t:#x}"))),
            };
            if !gpa.is_multiple_of(PAGE) || !len.is_multiple_of(PAGE) || len == 0 {
                return Err(self.err(format!(
                    "SEV metadata section {i} ({}) at offset {at:#x}: GPA {gpa:#x} size {len:#x} is not a whole number of 4 KiB pages",
                    kind.name()
                )));
            }
            if let Some((j, o)) = out.iter().enumerate().find(|(_, o)| gpa < o.gpa + o.size && o.gpa < gpa + len) {
                return Err(self.err(format!(
                    "SEV metadata section {i} ({}, GPA {gpa:#x}+{len:#x}) at offset {at:#x} overlaps section {j} ({}, GPA {:#x}+{:#x})",
                    kind.name(),
                    o.kind.name(),
                    o.gpa,
                    o.size
                )));
            }
            out.push(SevSection { gpa, size: len, kind });
        }
        Ok(out)
    }

    /// The TDX metadata sections, in table order, validated as TDVF requires.
    pub fn tdx_sections(&self) -> Result<Vec<TdxSection>> {
        let off_from_end = self.entry_u32(&TDX_METADATA_OFFSET_GUID, "TDX metadata offset")?.ok_or_else(|| {
            self.err(
                "OVMF image: the footer GUID table has no TDX metadata offset entry (e47a6535-…): not a TDVF image"
                    .into(),
            )
        })? as usize;
        let len = self.data.len();
        let r = Reader { check: self.check, what: "TDX metadata", data: self.data };
        if off_from_end < 16 || off_from_end > len.saturating_sub(16) {
            return Err(self.err(format!(
                "TDX metadata offset {off_from_end:#x} (from the end) is out of bounds for the {len:#x}-byte image"
            )));
        }
        let desc = len - off_from_end;
        let g = r.bytes(desc - 16, 16)?;
        if g != TDX_METADATA_GUID {
            return Err(self.err(format!(
                "TDX metadata GUID at offset {:#x} is {}, expected {}",
                desc - 16,
                g.try_into().map(|a: [u8; 16]| guid_text(&a)).unwrap_or_default(),
                guid_text(&TDX_METADATA_GUID)
            )));
        }
        if r.bytes(desc, 4)? != b"TDVF" {
            return Err(self.err(format!("TDX metadata descriptor at offset {desc:#x}: signature is not \"TDVF\"")));
        }
        let length = r.u32(desc + 4)? as usize;
        let version = r.u32(desc + 8)?;
        let count = r.u32(desc + 12)? as usize;
        if version != 1 {
            return Err(self.err(format!("TDX metadata descriptor at offset {desc:#x}: version {version}, expected 1")));
        }
        if count.checked_mul(32).and_then(|n| n.checked_add(16)) != Some(length) {
            return Err(self.err(format!(
                "TDX metadata descriptor at offset {desc:#x}: length {length} does not match {count} sections of 32 bytes"
            )));
        }
        r.bytes(desc, length)?;
        let mut out: Vec<TdxSection> = Vec::with_capacity(count);
        let (mut fv_size, mut hobs, mut bfv) = (0u64, 0, false);
        for i in 0..count {
            let at = desc + 16 + 32 * i;
            let data_offset = r.u32(at)?;
            let raw_size = r.u32(at + 4)?;
            let gpa = r.u64(at + 8)?;
            let memory_size = r.u64(at + 16)?;
            let t = r.u32(at + 24)?;
            let attributes = r.u32(at + 28)?;
            let kind = match t {
                0 => TdxSectionType::Bfv,
                1 => TdxSectionType::Cfv,
                2 => TdxSectionType::TdHob,
                3 => TdxSectionType::TempMem,
                _ => {
                    return Err(self.err(format!(
                        "TDX metadata section {i} at offset {at:#x}: type {t} is not supported (BFV, CFV, TD_HOB, TEMP_MEM)"
                    )));
                }
            };
            let s = TdxSection { data_offset, raw_size, gpa, memory_size, kind, attributes };
            let name = kind.name();
            if !gpa.is_multiple_of(PAGE)
                || !memory_size.is_multiple_of(PAGE)
                || memory_size == 0
                || gpa.checked_add(memory_size).is_none()
            {
                return Err(self.err(format!(
                    "TDX metadata section {i} ({name}) at offset {at:#x}: GPA {gpa:#x} size {memory_size:#x} is not a whole number of 4 KiB pages"
                )));
            }
            if memory_size > MAX_TDX_SECTION {
                return Err(self.err(format!(
                    "TDX metadata section {i} ({name}) at offset {at:#x}: {memory_size:#x} bytes, larger than the 1 GiB supported"
                )));
            }
            match kind {
                TdxSectionType::Bfv | TdxSectionType::Cfv => {
                    bfv |= kind == TdxSectionType::Bfv;
                    let end = data_offset as u64 + raw_size as u64;
                    if raw_size == 0 || end > len as u64 {
                        return Err(self.err(format!(
                            "TDX metadata section {i} ({name}) at offset {at:#x}: data {data_offset:#x}+{raw_size:#x} is out of bounds of the {len:#x}-byte image"
                        )));
                    }
                    if memory_size != raw_size as u64 {
                        return Err(self.err(format!(
                            "TDX metadata section {i} ({name}) at offset {at:#x}: memory size {memory_size:#x} differs from raw size {raw_size:#x}"
                        )));
                    }
                    fv_size += raw_size as u64;
                }
                TdxSectionType::TdHob | TdxSectionType::TempMem => {
                    hobs += usize::from(kind == TdxSectionType::TdHob);
                    if s.extend_mr() {
                        return Err(self.err(format!(
                            "TDX metadata section {i} ({name}) at offset {at:#x}: MR.EXTEND of a section without image data is not supported"
                        )));
                    }
                }
            }
            if let Some((j, o)) =
                out.iter().enumerate().find(|(_, o)| gpa < o.gpa + o.memory_size && o.gpa < gpa + memory_size)
            {
                return Err(self.err(format!(
                    "TDX metadata section {i} ({name}, GPA {gpa:#x}+{memory_size:#x}) at offset {at:#x} overlaps section {j} ({}, GPA {:#x}+{:#x})",
                    o.kind.name(),
                    o.gpa,
                    o.memory_size
                )));
            }
            out.push(s);
        }
        if hobs != 1 {
            return Err(
                self.err(format!("TDX metadata at offset {desc:#x}: {hobs} TD_HOB sections, exactly one required"))
            );
        }
        if !bfv {
            return Err(self.err(format!("TDX metadata at offset {desc:#x}: no BFV (boot firmware volume) section")));
        }
        if fv_size != len as u64 {
            return Err(self.err(format!(
                "TDX metadata at offset {desc:#x}: the firmware volumes cover {fv_size:#x} bytes, the image has {len:#x}"
            )));
        }
        Ok(out)
    }
}
