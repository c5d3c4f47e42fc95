//! AWS Nitro Enclaves: PCR0, PCR1, PCR2 and PCR8 of an enclave image file (EIF), as
//! `nitro-cli describe-eif` prints them.
//!
//! Format (aws-nitro-enclaves-image-format `src/defs/mod.rs`, all integers big-endian): a
//! 548-byte header {".eif", u16 version, u16 flags, u64 default memory, u64 default vCPUs,
//! u16 reserved, u16 section count (≤ 32), `u64 section offsets[32]`, `u64 section sizes[32]`,
//! u32 unused, u32 CRC-32}, then the sections, each a 12-byte header {u16 type, u16 flags,
//! u64 size} and its data, in file order: kernel (1), cmdline (2), metadata (5), ramdisks (3),
//! signature (4). The header's table gives each section header's offset and its data size; the
//! sections must tile the file in table order, and the CRC-32 (ISO-HDLC) covers the header
//! without its CRC field and every section header and data.
//!
//! PCRs (`src/utils/eif_reader.rs`, `get_pcrs`; Nitro Enclaves user guide "Where to get an
//! enclave's measurements"): PCR0 = image (kernel, cmdline, every ramdisk), PCR1 = bootstrap
//! (kernel, cmdline, first ramdisk), PCR2 = application (the other ramdisks), PCR8 = the DER of
//! the signing certificate of the first signature entry (signed EIFs only). Each is
//! SHA-384(48 zero bytes ‖ SHA-384(concatenated data)), an extend from zero.

use super::Input;
use crate::Check;
use crate::cbor::{self, Value};
use crate::crypto::{Hasher, sha384};
use crate::error::{Error, Result};
use serde::Serialize;

pub(crate) const HEADER_LEN: usize = 548;
const SECTION_HEADER_LEN: usize = 12;
const MAX_SECTIONS: usize = 32;

/// A section type of an EIF.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SectionType {
    /// Type 1 (`EifSectionKernel`): the kernel image; in PCR0 and PCR1.
    Kernel,
    /// Type 2 (`EifSectionCmdline`): the kernel command line; in PCR0 and PCR1.
    Cmdline,
    /// Type 3 (`EifSectionRamdisk`): a ramdisk; all in PCR0, the first in PCR1, the others in PCR2.
    Ramdisk,
    /// Type 4 (`EifSectionSignature`): the CBOR signature entries; the first signing certificate gives PCR8.
    Signature,
    /// Type 5 (`EifSectionMetadata`): the build metadata; in no PCR.
    Metadata,
}

/// One section as found.
#[derive(Debug, Clone, Serialize)]
pub struct Section {
    /// The section header's type.
    #[serde(rename = "type")]
    pub kind: SectionType,
    /// File offset of the section's 12-byte header (its data follows it).
    pub offset: u64,
    /// Size of the section's data in bytes, without its header.
    pub size: u64,
    /// SHA-384 of the section's data, hex.
    pub sha384: String,
}

/// The PCRs of an EIF, hex, and what they were computed from.
#[derive(Debug, Clone, Serialize)]
pub struct EifMeasurement {
    /// PCR0, the enclave image: kernel, cmdline and every ramdisk.
    pub pcr0: String,
    /// PCR1, the Linux kernel and bootstrap: kernel, cmdline and the first ramdisk.
    pub pcr1: String,
    /// PCR2, the application: every ramdisk after the first.
    pub pcr2: String,
    /// PCR8, the signing certificate of the first signature entry. Only for a signed EIF.
    pub pcr8: Option<String>,
    /// The header's EIF format version.
    pub version: u16,
    /// The header's CRC-32 (checked against the file), `0x`-prefixed hex.
    pub crc32: String,
    /// Every section, in file order.
    pub sections: Vec<Section>,
    /// The EIF file, as measured.
    pub inputs: Vec<Input>,
}

fn err(d: String) -> Error {
    Error::usage(Check::MeasureEif, d)
}

fn be16(b: &[u8], off: usize) -> u16 {
    u16::from_be_bytes([b[off], b[off + 1]])
}
fn be32(b: &[u8], off: usize) -> u32 {
    u32::from_be_bytes([b[off], b[off + 1], b[off + 2], b[off + 3]])
}
fn be64(b: &[u8], off: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[off..off + 8]);
    u64::from_be_bytes(a)
}

/// CRC-32/ISO-HDLC (reflected 0xEDB88320, init and final XOR all ones).
pub(crate) struct Crc32(u32);

const CRC_TABLE: [u32; 256] = {
    let mut t = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 { 0xEDB8_8320 ^ (c >> 1) } else { c >> 1 };
            k += 1;
        }
        t[i] = c;
        i += 1;
    }
    t
};

impl Crc32 {
    pub(crate) fn new() -> Self {
        Crc32(0xFFFF_FFFF)
    }
    pub(crate) fn update(&mut self, data: &[u8]) {
        let mut c = self.0;
        for &b in data {
            c = CRC_TABLE[((c ^ b as u32) & 0xff) as usize] ^ (c >> 8);
        }
        self.0 = c;
    }
    pub(crate) fn finish(&self) -> u32 {
        self.0 ^ 0xFFFF_FFFF
    }
}

impl Default for Crc32 {
    fn default() -> Self {
        Self::new()
    }
}

/// SHA-384(48 zero bytes ‖ digest).
fn extend_from_zero(digest: &[u8]) -> String {
    let mut b = [0u8; 96];
    b[48..].copy_from_slice(digest);
    hex::encode(sha384(&b))
}

/// The bytes of a CBOR byte string, or of an array of small integers (serde_cbor's encoding of
/// a `Vec<u8>`, which is how the EIF signature section carries them).
fn cbor_bytes(v: &Value) -> Option<Vec<u8>> {
    match v {
        Value::Bytes(b) => Some(b.clone()),
        Value::Array(a) => a
            .iter()
            .map(|x| match x {
                Value::Uint(n) if *n <= 0xff => Some(*n as u8),
                _ => None,
            })
            .collect(),
        _ => None,
    }
}

/// DER of the signing certificate of the first PcrSignature in a signature section.
fn signing_cert_der(data: &[u8], at: u64) -> Result<Vec<u8>> {
    let v = cbor::decode(data).map_err(|e| err(format!("signature section at offset {at:#x}: {e}")))?;
    let Value::Array(items) = v else {
        return Err(err(format!("signature section at offset {at:#x}: not a CBOR array of signatures")));
    };
    let Some(Value::Map(first)) = items.first() else {
        return Err(err(format!("signature section at offset {at:#x}: no signature entry (a map)")));
    };
    let cert = first
        .iter()
        .find(|(k, _)| matches!(k, Value::Text(t) if t == "signing_certificate"))
        .and_then(|(_, v)| cbor_bytes(v))
        .ok_or_else(|| err(format!("signature section at offset {at:#x}: no signing_certificate bytes")))?;
    let text = std::str::from_utf8(&cert)
        .map_err(|_| err(format!("signature section at offset {at:#x}: signing_certificate is not PEM text")))?;
    let blocks = crate::x509::pem_blocks(text)
        .map_err(|e| err(format!("signature section at offset {at:#x}: signing_certificate: {e}")))?;
    match blocks.into_iter().find(|(l, _)| l == "CERTIFICATE") {
        Some((_, der)) => Ok(der),
        None => Err(err(format!("signature section at offset {at:#x}: signing_certificate has no CERTIFICATE block"))),
    }
}

/// Parses an EIF, checks its structure and CRC, and computes its PCRs.
pub fn measure(eif: &[u8]) -> Result<EifMeasurement> {
    if eif.len() < HEADER_LEN {
        return Err(err(format!("{} bytes, shorter than the {HEADER_LEN}-byte EIF header", eif.len())));
    }
    if &eif[..4] != b".eif" {
        return Err(err(format!("bad magic {:02x?} at offset 0 (expected \".eif\")", &eif[..4])));
    }
    let version = be16(eif, 4);
    let count = be16(eif, 26) as usize;
    if count > MAX_SECTIONS {
        return Err(err(format!("header at offset 0x1a: {count} sections, at most {MAX_SECTIONS}")));
    }
    let want_crc = be32(eif, HEADER_LEN - 4);
    let mut crc = Crc32::new();
    crc.update(&eif[..HEADER_LEN - 4]);
    let (mut image, mut boot, mut app, mut cert) = (Hasher::sha384(), Hasher::sha384(), Hasher::sha384(), None);
    let mut sections = Vec::with_capacity(count);
    let mut pos = HEADER_LEN as u64;
    let mut ramdisks = 0;
    for i in 0..count {
        let off = be64(eif, 28 + 8 * i);
        let size = be64(eif, 28 + 8 * MAX_SECTIONS + 8 * i);
        if off != pos {
            return Err(err(format!(
                "section table entry {i}: offset {off:#x}, but the previous section ends at {pos:#x} (sections must be contiguous)"
            )));
        }
        let data_start = off.checked_add(SECTION_HEADER_LEN as u64);
        let data_end = data_start.and_then(|s| s.checked_add(size));
        let Some(end) = data_end.filter(|&e| e <= eif.len() as u64) else {
            return Err(err(format!(
                "section table entry {i}: section at offset {off:#x} with {size:#x} data bytes is out of bounds (file is {:#x} bytes)",
                eif.len()
            )));
        };
        let h = &eif[off as usize..off as usize + SECTION_HEADER_LEN];
        let t = be16(h, 0);
        let own_size = be64(h, 4);
        if own_size != size {
            return Err(err(format!(
                "section {i} at offset {off:#x}: its header says {own_size:#x} bytes, the section table {size:#x}"
            )));
        }
        let kind = match t {
            1 => SectionType::Kernel,
            2 => SectionType::Cmdline,
            3 => SectionType::Ramdisk,
            4 => SectionType::Signature,
            5 => SectionType::Metadata,
            _ => return Err(err(format!("section {i} at offset {off:#x}: invalid section type {t}"))),
        };
        let data = &eif[(off as usize + SECTION_HEADER_LEN)..end as usize];
        crc.update(h);
        crc.update(data);
        match kind {
            SectionType::Kernel | SectionType::Cmdline => {
                image.update(data);
                boot.update(data);
            }
            SectionType::Ramdisk => {
                image.update(data);
                if ramdisks == 0 {
                    boot.update(data)
                } else {
                    app.update(data)
                }
                ramdisks += 1;
            }
            SectionType::Signature => {
                if cert.is_some() {
                    return Err(err(format!("section {i} at offset {off:#x}: a second signature section")));
                }
                cert = Some(signing_cert_der(data, off)?);
            }
            SectionType::Metadata => {}
        }
        sections.push(Section { kind, offset: off, size, sha384: hex::encode(sha384(data)) });
        pos = end;
    }
    if pos != eif.len() as u64 {
        return Err(err(format!("{:#x} bytes after the last section (at offset {pos:#x})", eif.len() as u64 - pos)));
    }
    for k in [SectionType::Kernel, SectionType::Cmdline] {
        if !sections.iter().any(|s| s.kind == k) {
            return Err(err(format!("no {k:?} section").to_lowercase()));
        }
    }
    if ramdisks == 0 {
        return Err(err("no ramdisk section".into()));
    }
    let got_crc = crc.finish();
    if got_crc != want_crc {
        return Err(err(format!(
            "CRC mismatch: header at offset 0x220 says {want_crc:#010x}, the file gives {got_crc:#010x}"
        )));
    }
    Ok(EifMeasurement {
        pcr0: extend_from_zero(&image.finish()),
        pcr1: extend_from_zero(&boot.finish()),
        pcr2: extend_from_zero(&app.finish()),
        pcr8: cert.map(|c| extend_from_zero(&sha384(&c))),
        version,
        crc32: format!("{got_crc:#010x}"),
        sections,
        inputs: vec![Input::file("eif", eif)],
    })
}

/// Builds an EIF from sections (in the given order), with a correct section table and CRC.
/// For tests, fuzz seeds and benchmarks.
pub fn build(version: u16, sections: &[(u16, &[u8])]) -> Vec<u8> {
    let mut out = vec![0u8; HEADER_LEN];
    out[..4].copy_from_slice(b".eif");
    out[4..6].copy_from_slice(&version.to_be_bytes());
    out[26..28].copy_from_slice(&(sections.len() as u16).to_be_bytes());
    for (i, (t, data)) in sections.iter().enumerate().take(MAX_SECTIONS) {
        let off = out.len() as u64;
        out[28 + 8 * i..36 + 8 * i].copy_from_slice(&off.to_be_bytes());
        let so = 28 + 8 * MAX_SECTIONS + 8 * i;
        out[so..so + 8].copy_from_slice(&(data.len() as u64).to_be_bytes());
        out.extend_from_slice(&t.to_be_bytes());
        out.extend_from_slice(&0u16.to_be_bytes());
        out.extend_from_slice(&(data.len() as u64).to_be_bytes());
        out.extend_from_slice(data);
    }
    let mut crc = Crc32::new();
    crc.update(&out[..HEADER_LEN - 4]);
    crc.update(&out[HEADER_LEN..]);
    let c = crc.finish();
    out[HEADER_LEN - 4..HEADER_LEN].copy_from_slice(&c.to_be_bytes());
    out
}
