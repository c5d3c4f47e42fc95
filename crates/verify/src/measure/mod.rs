//! Reference values: what a TEE will report for a given set of launch artefacts.
//!
//! Pure computation over bytes the caller has read (the CLI reads files; nothing here does I/O).
//! Every parser of an artefact (OVMF/TDVF image, SVSM image, enclave image file) fails closed
//! with an [`Error`] whose check is `measure.ovmf`, `measure.svsm`, `measure.eif`,
//! `measure.endorsement` or `measure.input` and whose detail names the structure and the file offset at fault.
//!
//! * [`snp`]: AMD SEV, SEV-ES and SEV-SNP launch digests (the SNP report's MEASUREMENT).
//! * [`tdx`]: Intel TDX MRTD from a TDVF image, and the RTMR components and extend fold.
//! * [`rtmr`]: the RTMR0..2 events TDVF and the Linux EFI stub log for a QEMU direct boot.
//! * [`gce`]: Google's signed launch endorsements (SNP MEASUREMENTs per vCPU count, TDX MRTDs).
//! * [`eif`]: AWS Nitro Enclaves PCR0/1/2/8 of an enclave image file (EIF).
//! * [`ovmf`]: the OVMF footer GUID table, the SEV metadata and the TDX metadata it points to.
//! * [`emit`]: the policy sections (`[snp]`, `[tdx]`, `[nitro]`) that `verify --policy` reads.

use crate::Check;
pub mod eif;
pub mod emit;
pub mod gce;
pub mod ovmf;
pub mod rtmr;
pub mod snp;
pub mod tdx;

use crate::error::Error;
use serde::Serialize;

/// One input of a measurement as the output names it: what it is and a digest of it (or its
/// value, for parameters).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Input {
    /// What the input is (a file role such as `ovmf` or `eif`, or a parameter name).
    pub name: String,
    /// For a file, its size and SHA-256; for a parameter, its value.
    pub value: String,
}

impl Input {
    pub(crate) fn new(name: &str, value: impl Into<String>) -> Input {
        Input { name: name.to_string(), value: value.into() }
    }
    /// A file input: its size and SHA-256.
    pub(crate) fn file(name: &str, data: &[u8]) -> Input {
        Input::new(name, format!("{} bytes, sha256 {}", data.len(), hex::encode(crate::crypto::sha256(data))))
    }
}

/// A usage error about a parameter.
pub(crate) fn bad_input(detail: impl Into<String>) -> Error {
    Error::usage(Check::MeasureInput, detail)
}

/// Little-endian readers that name the structure and the offset when the bytes are too short.
pub(crate) struct Reader<'a> {
    pub check: Check,
    pub what: &'static str,
    pub data: &'a [u8],
}

impl Reader<'_> {
    pub(crate) fn bytes(&self, off: usize, len: usize) -> Result<&[u8], Error> {
        off.checked_add(len).and_then(|end| self.data.get(off..end)).ok_or_else(|| {
            Error::usage(
                self.check,
                format!(
                    "{}: {len} bytes at offset {off:#x} are out of bounds (image is {:#x} bytes)",
                    self.what,
                    self.data.len()
                ),
            )
        })
    }
    pub(crate) fn u16(&self, off: usize) -> Result<u16, Error> {
        let b = self.bytes(off, 2)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }
    pub(crate) fn u32(&self, off: usize) -> Result<u32, Error> {
        let b = self.bytes(off, 4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    pub(crate) fn u64(&self, off: usize) -> Result<u64, Error> {
        let b = self.bytes(off, 8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_le_bytes(a))
    }
}

const fn hexval(c: u8) -> u8 {
    match c {
        b'0'..=b'9' => c - b'0',
        b'a'..=b'f' => c - b'a' + 10,
        b'A'..=b'F' => c - b'A' + 10,
        _ => panic!("not a GUID hex digit"),
    }
}

/// The on-disk (EFI_GUID, mixed-endian) bytes of a GUID written in its text form. Only used on
/// constants, so it runs at compile time.
pub(crate) const fn guid_le(s: &str) -> [u8; 16] {
    let b = s.as_bytes();
    let mut raw = [0u8; 16];
    let mut i = 0;
    let mut j = 0;
    while i < b.len() {
        if b[i] == b'-' {
            i += 1;
            continue;
        }
        raw[j] = (hexval(b[i]) << 4) | hexval(b[i + 1]);
        j += 1;
        i += 2;
    }
    [
        raw[3], raw[2], raw[1], raw[0], raw[5], raw[4], raw[7], raw[6], raw[8], raw[9], raw[10], raw[11], raw[12],
        raw[13], raw[14], raw[15],
    ]
}

/// Text form of on-disk EFI_GUID bytes.
pub(crate) fn guid_text(g: &[u8; 16]) -> String {
    format!(
        "{:02x}{:02x}{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}{:02x}{:02x}{:02x}{:02x}",
        g[3], g[2], g[1], g[0], g[5], g[4], g[7], g[6], g[8], g[9], g[10], g[11], g[12], g[13], g[14], g[15]
    )
}

/// Decodes a fixed-size hex value given on the command line (`0x` prefix allowed).
pub fn parse_hex_exact<const N: usize>(what: &str, s: &str) -> Result<[u8; N], Error> {
    let t = s.trim().trim_start_matches("0x");
    let v = hex::decode(t).map_err(|e| bad_input(format!("{what} '{s}' is not hex: {e}")))?;
    v.try_into().map_err(|v: Vec<u8>| bad_input(format!("{what} is {} bytes, expected {N}", v.len())))
}

/// Any measurement result as JSON (what `--json` prints).
pub fn to_json<T: Serialize>(v: &T) -> serde_json::Value {
    serde_json::to_value(v).unwrap_or(serde_json::Value::Null)
}
