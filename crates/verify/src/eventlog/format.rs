//! Byte-exact parsers for TCG PC Client event logs: the legacy SHA-1 format (TCG_PCR_EVENT, TCG
//! 1.2 style), the crypto-agile format (Spec ID Event03 header, TCG_PCR_EVENT2 with one digest per
//! bank) and the TDX Confidential Computing Event Log (ACPI `CCEL` table + a crypto-agile SHA-384
//! log whose "PCR index" is the CC MR index: 0 = MRTD, 1..4 = RTMR0..3).
//!
//! Every failure names the event number (0 = the first record in the log, the Spec ID header in a
//! crypto-agile log) and its byte offset. Sizes are bounded; nothing here panics on input.

use crate::Check;
use crate::error::{Error, Result};

/// Largest log accepted (a CCEL log area is typically 64 KiB to 1 MiB).
pub(crate) const MAX_LOG_SIZE: usize = 16 << 20;
/// Largest event data accepted (db/dbx variables are tens of KiB).
pub(crate) const MAX_EVENT_SIZE: usize = 1 << 20;
/// Most events accepted in one log.
pub(crate) const MAX_EVENTS: usize = 100_000;
/// Most algorithms in a Spec ID event / digests in one event.
pub(crate) const MAX_ALGS: usize = 16;
/// Highest PCR / MR index accepted.
pub(crate) const MAX_REGISTER: u32 = 31;

pub(crate) const EV_PREBOOT_CERT: u32 = 0x0;
/// EV_POST_CODE: a measurement of POST code or other platform firmware.
pub const EV_POST_CODE: u32 = 0x1;
/// EV_NO_ACTION: informational, never extended into a register (e.g. the Spec ID event).
pub const EV_NO_ACTION: u32 = 0x3;
pub(crate) const EV_SEPARATOR: u32 = 0x4;
pub(crate) const EV_ACTION: u32 = 0x5;
pub(crate) const EV_EVENT_TAG: u32 = 0x6;
pub(crate) const EV_S_CRTM_CONTENTS: u32 = 0x7;
/// EV_S_CRTM_VERSION: the version string of the S-CRTM.
pub const EV_S_CRTM_VERSION: u32 = 0x8;
pub(crate) const EV_CPU_MICROCODE: u32 = 0x9;
/// EV_PLATFORM_CONFIG_FLAGS: platform configuration flags.
pub const EV_PLATFORM_CONFIG_FLAGS: u32 = 0xA;
pub(crate) const EV_TABLE_OF_DEVICES: u32 = 0xB;
pub(crate) const EV_COMPACT_HASH: u32 = 0xC;
pub(crate) const EV_IPL: u32 = 0xD;
pub(crate) const EV_IPL_PARTITION_DATA: u32 = 0xE;
pub(crate) const EV_NONHOST_CODE: u32 = 0xF;
pub(crate) const EV_NONHOST_CONFIG: u32 = 0x10;
pub(crate) const EV_NONHOST_INFO: u32 = 0x11;
pub(crate) const EV_OMIT_BOOT_DEVICE_EVENTS: u32 = 0x12;
pub(crate) const EV_POST_CODE2: u32 = 0x13;
pub(crate) const EV_EFI_EVENT_BASE: u32 = 0x8000_0000;
pub(crate) const EV_EFI_VARIABLE_DRIVER_CONFIG: u32 = 0x8000_0001;
pub(crate) const EV_EFI_VARIABLE_BOOT: u32 = 0x8000_0002;
pub(crate) const EV_EFI_BOOT_SERVICES_APPLICATION: u32 = 0x8000_0003;
pub(crate) const EV_EFI_BOOT_SERVICES_DRIVER: u32 = 0x8000_0004;
pub(crate) const EV_EFI_RUNTIME_SERVICES_DRIVER: u32 = 0x8000_0005;
/// EV_EFI_GPT_EVENT: the GUID Partition Table of the boot disk (UEFI_GPT_DATA).
pub const EV_EFI_GPT_EVENT: u32 = 0x8000_0006;
pub(crate) const EV_EFI_ACTION: u32 = 0x8000_0007;
pub(crate) const EV_EFI_PLATFORM_FIRMWARE_BLOB: u32 = 0x8000_0008;
pub(crate) const EV_EFI_HANDOFF_TABLES: u32 = 0x8000_0009;
pub(crate) const EV_EFI_PLATFORM_FIRMWARE_BLOB2: u32 = 0x8000_000A;
pub(crate) const EV_EFI_HANDOFF_TABLES2: u32 = 0x8000_000B;
pub(crate) const EV_EFI_VARIABLE_BOOT2: u32 = 0x8000_000C;
pub(crate) const EV_EFI_GPT_EVENT2: u32 = 0x8000_000D;
pub(crate) const EV_EFI_HCRTM_EVENT: u32 = 0x8000_0010;
pub(crate) const EV_EFI_VARIABLE_AUTHORITY: u32 = 0x8000_00E0;
pub(crate) const EV_EFI_SPDM_FIRMWARE_BLOB: u32 = 0x8000_00E1;
pub(crate) const EV_EFI_SPDM_FIRMWARE_CONFIG: u32 = 0x8000_00E2;

/// The TCG name of an event type (`EV_...`), or `None` for unknown types.
pub(crate) fn event_type_name(t: u32) -> Option<&'static str> {
    Some(match t {
        EV_PREBOOT_CERT => "EV_PREBOOT_CERT",
        EV_POST_CODE => "EV_POST_CODE",
        0x2 => "EV_UNUSED",
        EV_NO_ACTION => "EV_NO_ACTION",
        EV_SEPARATOR => "EV_SEPARATOR",
        EV_ACTION => "EV_ACTION",
        EV_EVENT_TAG => "EV_EVENT_TAG",
        EV_S_CRTM_CONTENTS => "EV_S_CRTM_CONTENTS",
        EV_S_CRTM_VERSION => "EV_S_CRTM_VERSION",
        EV_CPU_MICROCODE => "EV_CPU_MICROCODE",
        EV_PLATFORM_CONFIG_FLAGS => "EV_PLATFORM_CONFIG_FLAGS",
        EV_TABLE_OF_DEVICES => "EV_TABLE_OF_DEVICES",
        EV_COMPACT_HASH => "EV_COMPACT_HASH",
        EV_IPL => "EV_IPL",
        EV_IPL_PARTITION_DATA => "EV_IPL_PARTITION_DATA",
        EV_NONHOST_CODE => "EV_NONHOST_CODE",
        EV_NONHOST_CONFIG => "EV_NONHOST_CONFIG",
        EV_NONHOST_INFO => "EV_NONHOST_INFO",
        EV_OMIT_BOOT_DEVICE_EVENTS => "EV_OMIT_BOOT_DEVICE_EVENTS",
        EV_POST_CODE2 => "EV_POST_CODE2",
        EV_EFI_EVENT_BASE => "EV_EFI_EVENT_BASE",
        EV_EFI_VARIABLE_DRIVER_CONFIG => "EV_EFI_VARIABLE_DRIVER_CONFIG",
        EV_EFI_VARIABLE_BOOT => "EV_EFI_VARIABLE_BOOT",
        EV_EFI_BOOT_SERVICES_APPLICATION => "EV_EFI_BOOT_SERVICES_APPLICATION",
        EV_EFI_BOOT_SERVICES_DRIVER => "EV_EFI_BOOT_SERVICES_DRIVER",
        EV_EFI_RUNTIME_SERVICES_DRIVER => "EV_EFI_RUNTIME_SERVICES_DRIVER",
        EV_EFI_GPT_EVENT => "EV_EFI_GPT_EVENT",
        EV_EFI_ACTION => "EV_EFI_ACTION",
        EV_EFI_PLATFORM_FIRMWARE_BLOB => "EV_EFI_PLATFORM_FIRMWARE_BLOB",
        EV_EFI_HANDOFF_TABLES => "EV_EFI_HANDOFF_TABLES",
        EV_EFI_PLATFORM_FIRMWARE_BLOB2 => "EV_EFI_PLATFORM_FIRMWARE_BLOB2",
        EV_EFI_HANDOFF_TABLES2 => "EV_EFI_HANDOFF_TABLES2",
        EV_EFI_VARIABLE_BOOT2 => "EV_EFI_VARIABLE_BOOT2",
        EV_EFI_GPT_EVENT2 => "EV_EFI_GPT_EVENT2",
        EV_EFI_HCRTM_EVENT => "EV_EFI_HCRTM_EVENT",
        EV_EFI_VARIABLE_AUTHORITY => "EV_EFI_VARIABLE_AUTHORITY",
        EV_EFI_SPDM_FIRMWARE_BLOB => "EV_EFI_SPDM_FIRMWARE_BLOB",
        EV_EFI_SPDM_FIRMWARE_CONFIG => "EV_EFI_SPDM_FIRMWARE_CONFIG",
        _ => return None,
    })
}

/// A TPM_ALG_ID of a digest bank.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct AlgId(pub u16);

impl AlgId {
    /// TPM_ALG_SHA1.
    pub const SHA1: AlgId = AlgId(0x0004);
    /// TPM_ALG_SHA256.
    pub const SHA256: AlgId = AlgId(0x000B);
    /// TPM_ALG_SHA384.
    pub const SHA384: AlgId = AlgId(0x000C);
    /// TPM_ALG_SHA512.
    pub const SHA512: AlgId = AlgId(0x000D);
    pub(crate) const SM3_256: AlgId = AlgId(0x0012);

    /// The lower-case name used in JSON (`sha1`, `sha256`, ...), or `alg_0x....`.
    pub fn name(self) -> String {
        match self {
            AlgId::SHA1 => "sha1".into(),
            AlgId::SHA256 => "sha256".into(),
            AlgId::SHA384 => "sha384".into(),
            AlgId::SHA512 => "sha512".into(),
            AlgId::SM3_256 => "sm3_256".into(),
            AlgId(v) => format!("alg_{v:#06x}"),
        }
    }

    /// Parses a bank name as `name` prints it.
    pub fn from_name(s: &str) -> Option<AlgId> {
        Some(match s.to_ascii_lowercase().replace('-', "").as_str() {
            "sha1" => AlgId::SHA1,
            "sha256" => AlgId::SHA256,
            "sha384" => AlgId::SHA384,
            "sha512" => AlgId::SHA512,
            _ => return None,
        })
    }

    /// The digest size the TCG registry gives, for the algorithms cloud-ra knows.
    pub fn known_size(self) -> Option<usize> {
        match self {
            AlgId::SHA1 => Some(20),
            AlgId::SHA256 | AlgId::SM3_256 => Some(32),
            AlgId::SHA384 => Some(48),
            AlgId::SHA512 => Some(64),
            _ => None,
        }
    }

    /// Hashes `data` with this algorithm, if cloud-ra implements it.
    pub fn hash(self, data: &[u8]) -> Option<Vec<u8>> {
        use aws_lc_rs::digest;
        let alg = match self {
            AlgId::SHA1 => &digest::SHA1_FOR_LEGACY_USE_ONLY,
            AlgId::SHA256 => &digest::SHA256,
            AlgId::SHA384 => &digest::SHA384,
            AlgId::SHA512 => &digest::SHA512,
            _ => return None,
        };
        Some(digest::digest(alg, data).as_ref().to_vec())
    }

    /// `H(a || b)` (one extend), if cloud-ra implements the algorithm.
    pub(crate) fn extend(self, reg: &[u8], digest: &[u8]) -> Option<Vec<u8>> {
        use aws_lc_rs::digest;
        let alg = match self {
            AlgId::SHA1 => &digest::SHA1_FOR_LEGACY_USE_ONLY,
            AlgId::SHA256 => &digest::SHA256,
            AlgId::SHA384 => &digest::SHA384,
            AlgId::SHA512 => &digest::SHA512,
            _ => return None,
        };
        let mut ctx = digest::Context::new(alg);
        ctx.update(reg);
        ctx.update(digest);
        Some(ctx.finish().as_ref().to_vec())
    }
}

/// Which flavour of log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    /// TCG 1.2 / legacy: every record is a TCG_PCR_EVENT with one SHA-1 digest.
    LegacySha1,
    /// TCG PC Client crypto-agile (TPM 2.0): Spec ID Event03 then TCG_PCR_EVENT2 records.
    CryptoAgile,
    /// TDX CCEL: crypto-agile, SHA-384, registers are CC MR indices.
    Ccel,
}

/// The Spec ID Event03 (TCG_EfiSpecIDEvent) of a crypto-agile log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecId {
    /// platformClass: 0 for a client platform, 1 for a server.
    pub platform_class: u32,
    /// (specVersionMajor, specVersionMinor, specErrata).
    pub spec_version: (u8, u8, u8),
    /// uintnSize: the size of a UINTN in UINT32s (1 for 32-bit firmware, 2 for 64-bit).
    pub uintn_size: u8,
    /// Algorithms and their digest sizes, in the order the log lists them.
    pub algorithms: Vec<(AlgId, usize)>,
    /// vendorInfo: vendor-specific bytes.
    pub vendor_info: Vec<u8>,
}

/// One record of the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// Position in the log: 0 is the first record (the Spec ID header in a crypto-agile log).
    pub number: usize,
    /// Byte offset of the record in the log.
    pub offset: usize,
    /// PCR index (TPM logs) or CC MR index (CCEL).
    pub register: u32,
    /// eventType: the `EV_*` event type.
    pub event_type: u32,
    /// One digest per bank, in the order of the record.
    pub digests: Vec<(AlgId, Vec<u8>)>,
    /// The event data (`event`, `eventSize` bytes).
    pub data: Vec<u8>,
}

impl Event {
    /// The TCG name of the event type (`EV_...`), or its hex value when the type is unknown.
    pub fn type_name(&self) -> String {
        event_type_name(self.event_type).map(String::from).unwrap_or_else(|| format!("{:#010x}", self.event_type))
    }
    /// The digest of bank `alg`, if the record has one.
    pub fn digest(&self, alg: AlgId) -> Option<&[u8]> {
        self.digests.iter().find(|(a, _)| *a == alg).map(|(_, d)| d.as_slice())
    }
    /// EV_NO_ACTION records are informational and never extended.
    pub fn extends(&self) -> bool {
        self.event_type != EV_NO_ACTION
    }
}

/// A parsed log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventLog {
    /// The format the log was parsed as.
    pub format: LogFormat,
    /// The Spec ID Event03 header; `None` for a legacy SHA-1 log.
    pub spec_id: Option<SpecId>,
    /// All records, the header included.
    pub events: Vec<Event>,
    /// Bytes of the log proper (up to the end of the last record, padding excluded).
    pub log_bytes: usize,
    /// Locality from a `StartupLocality` EV_NO_ACTION event (PCR0's initial value).
    pub startup_locality: Option<u8>,
    /// The ACPI CCEL table, when one was given.
    pub ccel_table: Option<CcelTable>,
}

impl EventLog {
    /// Digest banks of the log (SHA-1 only for the legacy format).
    pub(crate) fn banks(&self) -> Vec<(AlgId, usize)> {
        match &self.spec_id {
            Some(s) => s.algorithms.clone(),
            None => vec![(AlgId::SHA1, 20)],
        }
    }
    /// Events that are not the header.
    pub fn body(&self) -> impl Iterator<Item = &Event> {
        let skip = usize::from(self.spec_id.is_some());
        self.events.iter().skip(skip)
    }
}

/// The ACPI `CCEL` table (56 bytes): standard ACPI header, CC type and subtype, reserved,
/// LAML (log area minimum length) and LASA (log area start address).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CcelTable {
    /// Length (offset 4): the table's size in bytes, as its header says.
    pub length: u32,
    /// Revision (offset 8).
    pub revision: u8,
    /// The bytes of the table sum to zero (the Checksum at offset 9 is right).
    pub checksum_ok: bool,
    /// OEMID (offset 10), trailing spaces and NULs removed.
    pub oem_id: String,
    /// OEM Table ID (offset 16), trailing spaces and NULs removed.
    pub oem_table_id: String,
    /// CC Type (offset 36): the confidential-computing technology.
    pub cc_type: u8,
    /// CC Subtype (offset 37).
    pub cc_subtype: u8,
    /// LAML (offset 40): the log area minimum length.
    pub log_area_minimum_length: u64,
    /// LASA (offset 48): the log area start address.
    pub log_area_start_address: u64,
}

fn le32(b: &[u8], at: usize) -> Option<u32> {
    b.get(at..at.checked_add(4)?).map(|s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}
fn le16(b: &[u8], at: usize) -> Option<u16> {
    b.get(at..at.checked_add(2)?).map(|s| u16::from_le_bytes([s[0], s[1]]))
}
fn le64(b: &[u8], at: usize) -> Option<u64> {
    let s = b.get(at..at.checked_add(8)?)?;
    let mut a = [0u8; 8];
    a.copy_from_slice(s);
    Some(u64::from_le_bytes(a))
}

/// Parses the ACPI CCEL table.
pub fn parse_ccel_table(b: &[u8]) -> Result<CcelTable> {
    let bad = |m: String| Error::evidence(Check::EventlogCcelTable, m);
    if b.get(0..4) != Some(b"CCEL") {
        return Err(bad("the ACPI table signature is not 'CCEL'".into()));
    }
    if b.len() < 56 {
        return Err(bad(format!("the table is {} bytes, a CCEL table has 56", b.len())));
    }
    let length = le32(b, 4).unwrap_or(0);
    if length as usize != b.len() {
        return Err(bad(format!("the header says {length} bytes but the table is {} bytes", b.len())));
    }
    let text = |r: std::ops::Range<usize>| {
        b.get(r).map(|s| String::from_utf8_lossy(s).trim_end_matches([' ', '\0']).to_string()).unwrap_or_default()
    };
    let sum = b.iter().fold(0u8, |a, x| a.wrapping_add(*x));
    Ok(CcelTable {
        length,
        revision: b[8],
        checksum_ok: sum == 0,
        oem_id: text(10..16),
        oem_table_id: text(16..24),
        cc_type: b[36],
        cc_subtype: b[37],
        log_area_minimum_length: le64(b, 40).unwrap_or(0),
        log_area_start_address: le64(b, 48).unwrap_or(0),
    })
}

/// What a log is to be taken as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavour {
    /// Decide from the content (CCEL when the only bank is SHA-384 and no register above 4 is used).
    Auto,
    /// A TPM event log: registers are PCR indices.
    Tpm,
    /// A TDX CCEL: registers are CC MR indices (SHA-384 only, MRTD and RTMR0..3).
    Ccel,
}

struct Cursor<'a> {
    b: &'a [u8],
    number: usize,
    start: usize,
}

impl Cursor<'_> {
    fn err(&self, m: impl std::fmt::Display) -> Error {
        Error::evidence(Check::EventlogFormat, format!("event {} at offset {}: {m}", self.number, self.start))
    }
    fn u32_at(&self, at: usize, field: &str) -> Result<u32> {
        le32(self.b, at).ok_or_else(|| {
            self.err(format!("truncated: {field} at offset {at} runs past the end of the log ({} bytes)", self.b.len()))
        })
    }
    fn u16_at(&self, at: usize, field: &str) -> Result<u16> {
        le16(self.b, at).ok_or_else(|| {
            self.err(format!("truncated: {field} at offset {at} runs past the end of the log ({} bytes)", self.b.len()))
        })
    }
    fn bytes_at(&self, at: usize, n: usize, field: &str) -> Result<&[u8]> {
        at.checked_add(n).and_then(|end| self.b.get(at..end)).ok_or_else(|| {
            self.err(format!(
                "truncated: {field} of {n} bytes at offset {at} runs past the end of the log ({} bytes)",
                self.b.len()
            ))
        })
    }
}

/// Padding after the last record: an all-zero or all-0xFF remainder.
fn is_padding(rest: &[u8]) -> bool {
    !rest.is_empty() && (rest.iter().all(|&x| x == 0) || rest.iter().all(|&x| x == 0xFF))
}

/// Parses a TCG PC Client log (legacy or crypto-agile) or a CCEL log.
pub fn parse(b: &[u8], flavour: Flavour) -> Result<EventLog> {
    if b.is_empty() {
        return Err(Error::evidence(Check::EventlogFormat, "the event log is empty"));
    }
    if b.len() > MAX_LOG_SIZE {
        return Err(Error::evidence(
            Check::EventlogFormat,
            format!("the event log is {} bytes, more than the {MAX_LOG_SIZE} accepted", b.len()),
        ));
    }
    if b.starts_with(b"CCEL") {
        return Err(Error::usage(
            Check::EventlogFormat,
            "this is the ACPI CCEL table (log area length and address), not the log itself; give the log area (e.g. /sys/firmware/acpi/tables/data/CCEL)",
        ));
    }
    // The first record is always a TCG_PCR_EVENT (SHA-1 layout).
    let first = read_legacy(b, 0, 0)?;
    let spec = if first.event_type == EV_NO_ACTION && first.data.starts_with(b"Spec ID Event03\0") {
        Some(parse_spec_id(&first)?)
    } else {
        None
    };
    let mut events = Vec::new();
    let mut pos = first_end(b, &first);
    let mut log_bytes = pos;
    let mut startup_locality = None;
    events.push(first);
    let format = if spec.is_some() { LogFormat::CryptoAgile } else { LogFormat::LegacySha1 };
    loop {
        if pos == b.len() {
            break;
        }
        let rest = b.get(pos..).unwrap_or(&[]);
        // End of log: the next header is all zero or all 0xFF (unused log area).
        // Fewer than 8 bytes cannot be a header nor a padded log area: truncated.
        let head = rest.get(..8).unwrap_or(&[]);
        if rest.len() >= 8 && (head.iter().all(|&x| x == 0) || head.iter().all(|&x| x == 0xFF)) {
            if is_padding(rest) {
                break;
            }
            let number = events.len();
            return Err(Error::evidence(
                Check::EventlogFormat,
                format!(
                    "event {number} at offset {pos}: an end-of-log marker ({}) followed by non-padding bytes: the log lies about its length",
                    if head.first() == Some(&0) { "zero" } else { "0xFF" }
                ),
            ));
        }
        if events.len() >= MAX_EVENTS {
            return Err(Error::evidence(
                Check::EventlogFormat,
                format!("event {} at offset {pos}: more than {MAX_EVENTS} events", events.len()),
            ));
        }
        let number = events.len();
        let ev = match &spec {
            Some(s) => read_agile(b, pos, number, s)?,
            None => read_legacy(b, pos, number)?,
        };
        pos = match &spec {
            Some(_) => agile_end(&ev, pos),
            None => first_end(b, &ev),
        };
        log_bytes = pos;
        if ev.event_type == EV_NO_ACTION && ev.data.starts_with(b"StartupLocality\0") {
            let loc = ev.data.get(16).copied().ok_or_else(|| {
                Error::evidence(
                    Check::EventlogFormat,
                    format!("event {number} at offset {}: StartupLocality event without its locality byte", ev.offset),
                )
            })?;
            if ev.register != 0 || startup_locality.is_some() {
                return Err(Error::evidence(
                    Check::EventlogFormat,
                    format!(
                        "event {number} at offset {}: StartupLocality on PCR {} or given twice",
                        ev.offset, ev.register
                    ),
                ));
            }
            startup_locality = Some(loc);
        }
        events.push(ev);
    }
    let ccel = match flavour {
        Flavour::Ccel => true,
        Flavour::Tpm => false,
        Flavour::Auto => {
            spec.as_ref().is_some_and(|s| s.algorithms.len() == 1 && s.algorithms[0].0 == AlgId::SHA384)
                && events.iter().skip(1).all(|e| e.register <= 4)
        }
    };
    let format = if ccel {
        if format != LogFormat::CryptoAgile
            || !spec.as_ref().is_some_and(|s| s.algorithms.iter().any(|(a, _)| *a == AlgId::SHA384))
        {
            return Err(Error::evidence(
                Check::EventlogFormat,
                "a CCEL must be a crypto-agile log with a SHA-384 bank (Spec ID Event03)",
            ));
        }
        if let Some(e) = events.iter().skip(1).find(|e| e.register > 4) {
            return Err(Error::evidence(
                Check::EventlogFormat,
                format!("event {} at offset {}: CC MR index {} (a CCEL uses 0..4)", e.number, e.offset, e.register),
            ));
        }
        LogFormat::Ccel
    } else {
        format
    };
    Ok(EventLog { format, spec_id: spec, events, log_bytes, startup_locality, ccel_table: None })
}

/// Parses a CCEL log, checking it against its ACPI table (the log must fit the log area).
pub fn parse_ccel(table: &[u8], log: &[u8]) -> Result<EventLog> {
    let t = parse_ccel_table(table)?;
    // The log area read from the firmware may be the whole region; its events must fit the LAML.
    let mut l = parse(log, Flavour::Ccel)?;
    if t.log_area_minimum_length != 0 && l.log_bytes as u64 > t.log_area_minimum_length {
        return Err(Error::evidence(
            Check::EventlogCcelTable,
            format!(
                "the log's events end at byte {} but the CCEL table's log area is {} bytes",
                l.log_bytes, t.log_area_minimum_length
            ),
        ));
    }
    l.ccel_table = Some(t);
    Ok(l)
}

fn first_end(b: &[u8], e: &Event) -> usize {
    // pcr(4) type(4) digest(20) size(4) data
    let end = e.offset + 32 + e.data.len();
    end.min(b.len())
}

fn agile_end(e: &Event, pos: usize) -> usize {
    pos + 12 + e.digests.iter().map(|(_, d)| 2 + d.len()).sum::<usize>() + 4 + e.data.len()
}

fn check_register(c: &Cursor, reg: u32) -> Result<()> {
    if reg > MAX_REGISTER {
        return Err(c.err(format!("register index {reg} is out of range (0..{MAX_REGISTER})")));
    }
    Ok(())
}

fn check_size(c: &Cursor, size: u32, at: usize) -> Result<usize> {
    let size = size as usize;
    if size > MAX_EVENT_SIZE {
        return Err(c.err(format!("event size {size} at offset {at} is absurd (more than {MAX_EVENT_SIZE})")));
    }
    let remain = c.b.len().saturating_sub(at + 4);
    if size > remain {
        return Err(
            c.err(format!("truncated: event size {size} at offset {at} but only {remain} bytes remain in the log"))
        );
    }
    Ok(size)
}

fn read_legacy(b: &[u8], pos: usize, number: usize) -> Result<Event> {
    let c = Cursor { b, number, start: pos };
    let register = c.u32_at(pos, "PCR index")?;
    check_register(&c, register)?;
    let event_type = c.u32_at(pos + 4, "event type")?;
    let digest = c.bytes_at(pos + 8, 20, "SHA-1 digest")?.to_vec();
    let size = c.u32_at(pos + 28, "event size")?;
    let size = check_size(&c, size, pos + 28)?;
    let data = c.bytes_at(pos + 32, size, "event data")?.to_vec();
    Ok(Event { number, offset: pos, register, event_type, digests: vec![(AlgId::SHA1, digest)], data })
}

fn read_agile(b: &[u8], pos: usize, number: usize, spec: &SpecId) -> Result<Event> {
    let c = Cursor { b, number, start: pos };
    let register = c.u32_at(pos, "PCR index")?;
    check_register(&c, register)?;
    let event_type = c.u32_at(pos + 4, "event type")?;
    let count = c.u32_at(pos + 8, "digest count")? as usize;
    if count != spec.algorithms.len() {
        return Err(c.err(format!("{count} digests but the Spec ID event lists {} algorithms", spec.algorithms.len())));
    }
    let mut at = pos + 12;
    let mut digests = Vec::with_capacity(count);
    for i in 0..count {
        let alg = AlgId(c.u16_at(at, "digest algorithm")?);
        let Some(&(_, size)) = spec.algorithms.iter().find(|(a, _)| *a == alg) else {
            return Err(c.err(format!("digest {i} uses algorithm {alg:?} that the Spec ID event does not list")));
        };
        if digests.iter().any(|(a, _): &(AlgId, Vec<u8>)| *a == alg) {
            return Err(c.err(format!("digest {i}: algorithm {} given twice", alg.name())));
        }
        let d = c.bytes_at(at + 2, size, "digest")?.to_vec();
        digests.push((alg, d));
        at += 2 + size;
    }
    let size = c.u32_at(at, "event size")?;
    let size = check_size(&c, size, at)?;
    let data = c.bytes_at(at + 4, size, "event data")?.to_vec();
    Ok(Event { number, offset: pos, register, event_type, digests, data })
}

fn parse_spec_id(e: &Event) -> Result<SpecId> {
    let c = Cursor { b: &e.data, number: e.number, start: e.offset };
    let bad = |m: String| {
        Error::evidence(Check::EventlogFormat, format!("event 0 at offset {}: Spec ID event: {m}", e.offset))
    };
    if e.digests.first().is_some_and(|(_, d)| d.iter().any(|&x| x != 0)) {
        return Err(bad("the header's SHA-1 digest is not zero".into()));
    }
    let d = &e.data;
    let platform_class = c.u32_at(16, "platformClass").map_err(|_| bad("truncated".into()))?;
    let (minor, major, errata, uintn) = match d.get(20..24) {
        Some(s) => (s[0], s[1], s[2], s[3]),
        None => return Err(bad("truncated".into())),
    };
    let n = c.u32_at(24, "numberOfAlgorithms").map_err(|_| bad("truncated".into()))? as usize;
    if n == 0 || n > MAX_ALGS {
        return Err(bad(format!("numberOfAlgorithms {n} (1..{MAX_ALGS} accepted)")));
    }
    let mut algorithms = Vec::with_capacity(n);
    let mut at = 28;
    for i in 0..n {
        let (Some(alg), Some(size)) = (le16(d, at), le16(d, at + 2)) else {
            return Err(bad(format!("algorithm {i} is truncated")));
        };
        let alg = AlgId(alg);
        let size = size as usize;
        if size == 0 || size > 64 {
            return Err(bad(format!("algorithm {} has digest size {size}", alg.name())));
        }
        if let Some(k) = alg.known_size()
            && k != size
        {
            return Err(bad(format!("algorithm {} has digest size {size}, not {k}", alg.name())));
        }
        if algorithms.iter().any(|(a, _)| *a == alg) {
            return Err(bad(format!("algorithm {} listed twice", alg.name())));
        }
        algorithms.push((alg, size));
        at += 4;
    }
    let vsize = *d.get(at).ok_or_else(|| bad("vendorInfoSize is missing".into()))? as usize;
    let vendor_info = d.get(at + 1..at + 1 + vsize).ok_or_else(|| bad("vendorInfo is truncated".into()))?.to_vec();
    if at + 1 + vsize != d.len() {
        return Err(bad(format!("{} bytes after vendorInfo", d.len() - (at + 1 + vsize))));
    }
    Ok(SpecId { platform_class, spec_version: (major, minor, errata), uintn_size: uintn, algorithms, vendor_info })
}
