//! Intel TDX: MRTD from a TDVF image, RTMR components and the RTMR extend fold.
//!
//! * MRTD (Intel TDX Module base specification §14.1.1 "MRTD: Build-Time Measurement Register",
//!   and the TDH.MEM.PAGE.ADD / TDH.MR.EXTEND leaf descriptions of the TDX Module ABI): SHA-384 over,
//!   for each TDX metadata section in table order and each 4 KiB page of it in address order, a
//!   128-byte buffer "MEM.PAGE.ADD" ‖ zeros ‖ GPA (u64 LE at byte 16) ‖ zeros, then — for sections
//!   with the MR.EXTEND attribute — for each 256-byte chunk of that page a 128-byte buffer
//!   "MR.EXTEND" ‖ zeros ‖ GPA of the chunk at byte 16 ‖ zeros followed by the chunk. This is
//!   the per-page order of KVM_TDX_INIT_MEM_REGION (QEMU, GCE), not all adds first.
//! * RTMR extend (TDG.MR.RTMR.EXTEND): RTMR ← SHA-384(RTMR ‖ digest), from 48 zero bytes.
//! * Kernel command line as TDVF measures it into RTMR (EV_EVENT_TAG for the cmdline, OVMF
//!   `QemuKernelLoaderFsDxe`/`TdxHelperLib`): SHA-384 of the command line in UTF-16LE with a
//!   terminating NUL.
//! * Kernel and initrd components: SHA-384 of the files as given ([`TdxMeasurement::components`]);
//!   the RTMR1 kernel event is the Authenticode digest of the QEMU-patched kernel, which
//!   [`super::rtmr`] computes with the rest of the RTMR0..2 predictions
//!   ([`TdxMeasurement::rtmrs`]).

use super::ovmf::{Ovmf, TdxSection, TdxSectionType};
use super::rtmr::{RtmrInputs, RtmrPrediction};
use super::{Input, bad_input};
use crate::crypto::{Hasher, sha384};
use crate::error::Result;
use serde::Serialize;

const PAGE: usize = 4096;
const CHUNK: usize = 256;

/// MRTD of a TDVF image and the sections it was built from.
#[derive(Debug, Clone, Serialize)]
pub struct TdxMeasurement {
    /// MRTD, hex.
    pub mrtd: String,
    /// The TDX metadata sections, in table order.
    pub sections: Vec<SectionInfo>,
    /// Event digests of the boot components that were given (`cmdline`, `initrd`, `kernel_file`).
    pub components: Vec<Input>,
    /// RTMR0..2 predictions for QEMU direct boot (values, events, missing inputs).
    pub rtmrs: Vec<RtmrPrediction>,
    /// The files and parameters measured.
    pub inputs: Vec<Input>,
}

/// One TDX metadata section as measured.
#[derive(Debug, Clone, Serialize)]
pub struct SectionInfo {
    /// The section type's TDVF name (`BFV`, `CFV`, `TD_HOB`, `TEMP_MEM`).
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// Guest physical address, `0x`-prefixed hex.
    pub gpa: String,
    /// Size in guest memory (MemoryDataSize), `0x`-prefixed hex.
    pub size: String,
    /// Image offset of the raw data (DataOffset), `0x`-prefixed hex.
    pub data_offset: String,
    /// The MR.EXTEND attribute: the contents are measured with TDH.MR.EXTEND, not only added.
    pub extend_mr: bool,
}

fn page_add(h: &mut Hasher, gpa: u64) {
    let mut b = [0u8; 128];
    b[..12].copy_from_slice(b"MEM.PAGE.ADD");
    b[16..24].copy_from_slice(&gpa.to_le_bytes());
    h.update(&b);
}

fn mr_extend(h: &mut Hasher, gpa: u64, chunk: &[u8]) {
    let mut b = [0u8; 128];
    b[..9].copy_from_slice(b"MR.EXTEND");
    b[16..24].copy_from_slice(&gpa.to_le_bytes());
    h.update(&b);
    h.update(chunk);
}

/// MRTD from the image's TDX metadata (sections as validated by [`Ovmf::tdx_sections`]).
fn mrtd_of(image: &[u8], sections: &[TdxSection]) -> [u8; 48] {
    let mut h = Hasher::sha384();
    for s in sections {
        let data = match s.kind {
            TdxSectionType::Bfv | TdxSectionType::Cfv if s.extend_mr() => {
                image.get(s.data_offset as usize..s.data_offset as usize + s.raw_size as usize)
            }
            _ => None,
        };
        for (pi, off) in (0..s.memory_size).step_by(PAGE).enumerate() {
            page_add(&mut h, s.gpa + off);
            if let Some(d) = data {
                let Some(page) = d.get(pi * PAGE..(pi + 1) * PAGE) else { break };
                for (ci, chunk) in page.chunks(CHUNK).enumerate() {
                    mr_extend(&mut h, s.gpa + off + (ci * CHUNK) as u64, chunk);
                }
            }
        }
    }
    let mut out = [0u8; 48];
    out.copy_from_slice(&h.finish());
    out
}

/// RTMR after extending `digests` in order from zero.
pub fn rtmr_fold<'a>(digests: impl IntoIterator<Item = &'a [u8; 48]>) -> [u8; 48] {
    let mut r = [0u8; 48];
    for d in digests {
        let mut b = [0u8; 96];
        b[..48].copy_from_slice(&r);
        b[48..].copy_from_slice(d);
        r = sha384(&b);
    }
    r
}

/// The kernel command line's RTMR event digest: SHA-384 of UTF-16LE(cmdline ‖ NUL).
pub fn cmdline_digest(cmdline: &str) -> [u8; 48] {
    let mut b = Vec::with_capacity(2 * cmdline.len() + 2);
    for u in cmdline.encode_utf16().chain(std::iter::once(0)) {
        b.extend_from_slice(&u.to_le_bytes());
    }
    sha384(&b)
}

/// Inputs of `measure tdx`.
#[derive(Debug, Clone, Default)]
pub struct TdxInputs<'a> {
    /// The TDVF (OVMF with TDX metadata) image.
    pub firmware: &'a [u8],
    /// The kernel for QEMU direct boot (its file digest and RTMR1 event).
    pub kernel: Option<&'a [u8]>,
    /// The initrd (needs a kernel).
    pub initrd: Option<&'a [u8]>,
    /// The kernel command line (needs a kernel).
    pub append: Option<&'a str>,
    /// Guest RAM in MiB (TD HOB, initrd placement); without it RTMR0 is not predicted.
    pub memory_mib: Option<u64>,
    /// Digests of the three ACPI DATA events of RTMR0 (table-loader, rsdp, tables).
    pub acpi_digests: Vec<[u8; 48]>,
    /// Newer OVMF logs an EV_SEPARATOR into RTMR1 (see [`super::rtmr`]).
    pub rtmr1_separator: bool,
}

/// MRTD, and the event digests of the boot components given.
pub fn measure(i: &TdxInputs<'_>) -> Result<TdxMeasurement> {
    if i.kernel.is_none() && (i.initrd.is_some() || i.append.is_some()) {
        return Err(bad_input("an initrd or command line needs a kernel"));
    }
    let o = Ovmf::parse(i.firmware)?;
    let sections = o.tdx_sections()?;
    let mrtd = mrtd_of(i.firmware, &sections);
    let mut inputs = vec![Input::file("firmware", i.firmware)];
    let mut components = Vec::new();
    if let Some(k) = i.kernel {
        inputs.push(Input::file("kernel", k));
        components.push(Input::new("kernel_file_sha384", hex::encode(sha384(k))));
    }
    if let Some(d) = i.initrd {
        inputs.push(Input::file("initrd", d));
        components.push(Input::new("initrd_sha384", hex::encode(sha384(d))));
    }
    if let Some(a) = i.append {
        inputs.push(Input::new("append", format!("{a:?}")));
        components.push(Input::new("cmdline_sha384", hex::encode(cmdline_digest(a))));
    }
    let ri = RtmrInputs {
        memory_mib: i.memory_mib,
        acpi_digests: i.acpi_digests.clone(),
        rtmr1_separator: i.rtmr1_separator,
        kernel: i.kernel,
        initrd: i.initrd,
        append: i.append,
    };
    if !i.acpi_digests.is_empty() && i.acpi_digests.len() != 3 {
        return Err(bad_input(format!(
            "{} ACPI digests given; RTMR0 has exactly three ACPI DATA events (table-loader, rsdp, tables)",
            i.acpi_digests.len()
        )));
    }
    let rtmrs = super::rtmr::predict(i.firmware, &sections, &ri);
    inputs.extend(super::rtmr::inputs(&ri));
    let sections = sections
        .iter()
        .map(|s| SectionInfo {
            kind: s.kind.name(),
            gpa: format!("{:#x}", s.gpa),
            size: format!("{:#x}", s.memory_size),
            data_offset: format!("{:#x}", s.data_offset),
            extend_mr: s.extend_mr(),
        })
        .collect();
    Ok(TdxMeasurement { mrtd: hex::encode(mrtd), sections, components, rtmrs, inputs })
}
