//! Decoding of event payloads (EFI variables, boot applications, GRUB / systemd-boot strings,
//! GPT, POST codes, CRTM version, EV_NO_ACTION records) and the digest-vs-event check where the
//! event data determines the digest.

use super::format::*;
use serde::Serialize;
use serde_json::{Value, json};

/// EFI_GLOBAL_VARIABLE: 8BE4DF61-93CA-11D2-AA0D-00E098032B8C.
pub(crate) const EFI_GLOBAL_VARIABLE: [u8; 16] =
    [0x61, 0xdf, 0xe4, 0x8b, 0xca, 0x93, 0xd2, 0x11, 0xaa, 0x0d, 0x00, 0xe0, 0x98, 0x03, 0x2b, 0x8c];
const EFI_CERT_X509: [u8; 16] =
    [0xa1, 0x59, 0xc0, 0xa5, 0xe4, 0x94, 0xa7, 0x4a, 0x87, 0xb5, 0xab, 0x15, 0x5c, 0x2b, 0xf0, 0x72];
const EFI_CERT_SHA256: [u8; 16] =
    [0x26, 0x16, 0xc4, 0xc1, 0x4c, 0x50, 0x92, 0x40, 0xac, 0xa9, 0x41, 0xf9, 0x36, 0x93, 0x43, 0x28];

/// Tagged-event IDs the Linux EFI stub uses (initrd and load options = command line).
pub(crate) const LINUX_INITRD_TAG: u32 = 0x8F3B_22EC;
pub(crate) const LINUX_LOAD_OPTIONS_TAG: u32 = 0x8F3B_22ED;

/// Formats a GUID in its registry form (first three fields little-endian).
pub(crate) fn guid(b: &[u8]) -> String {
    if b.len() < 16 {
        return hex::encode(b);
    }
    format!(
        "{:02x}{:02x}{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}-{}-{}",
        b[3],
        b[2],
        b[1],
        b[0],
        b[5],
        b[4],
        b[7],
        b[6],
        hex::encode(&b[8..10]),
        hex::encode(&b[10..16])
    )
}

fn u64_at(b: &[u8], at: usize) -> Option<u64> {
    let s = b.get(at..at.checked_add(8)?)?;
    let mut a = [0u8; 8];
    a.copy_from_slice(s);
    Some(u64::from_le_bytes(a))
}
fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    let s = b.get(at..at.checked_add(4)?)?;
    Some(u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}

/// UTF-16LE text up to the first NUL, if it decodes.
pub(crate) fn utf16(b: &[u8]) -> Option<String> {
    if !b.len().is_multiple_of(2) {
        return None;
    }
    let units: Vec<u16> = b.chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]])).take_while(|&u| u != 0).collect();
    String::from_utf16(&units).ok()
}

/// Printable ASCII / UTF-8 text (a trailing NUL allowed), if it is text.
pub(crate) fn text(b: &[u8]) -> Option<String> {
    let t = b.strip_suffix(&[0]).unwrap_or(b);
    let s = std::str::from_utf8(t).ok()?;
    s.chars().all(|c| !c.is_control() || c == '\n' || c == '\t').then(|| s.to_string())
}

/// A decoded UEFI_VARIABLE_DATA.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct EfiVariable {
    pub guid: String,
    #[serde(skip)]
    pub guid_raw: [u8; 16],
    pub name: String,
    #[serde(serialize_with = "ser_hex")]
    pub data: Vec<u8>,
}

fn ser_hex<S: serde::Serializer>(v: &[u8], s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_str(&hex::encode(v))
}

/// Parses UEFI_VARIABLE_DATA: GUID, name length (chars), data length, name (UTF-16), data.
pub(crate) fn efi_variable(b: &[u8]) -> Result<EfiVariable, String> {
    let g = b.get(0..16).ok_or("UEFI_VARIABLE_DATA shorter than its 32-byte header")?;
    let nlen = u64_at(b, 16).ok_or("UEFI_VARIABLE_DATA shorter than its 32-byte header")?;
    let dlen = u64_at(b, 24).ok_or("UEFI_VARIABLE_DATA shorter than its 32-byte header")?;
    let nbytes = usize::try_from(nlen).ok().and_then(|n| n.checked_mul(2)).ok_or("absurd name length")?;
    let dlen = usize::try_from(dlen).map_err(|_| "absurd data length")?;
    let name_end = 32usize.checked_add(nbytes).ok_or("absurd name length")?;
    let end = name_end.checked_add(dlen).ok_or("absurd data length")?;
    if end != b.len() {
        return Err(format!(
            "UEFI_VARIABLE_DATA lengths (name {nlen} chars, data {dlen} bytes) give {end} bytes but the event has {}",
            b.len()
        ));
    }
    let name = utf16(&b[32..name_end]).ok_or("the variable name is not UTF-16")?;
    let mut guid_raw = [0u8; 16];
    guid_raw.copy_from_slice(g);
    Ok(EfiVariable { guid: guid(g), guid_raw, name, data: b[name_end..end].to_vec() })
}

/// Entries of an EFI_SIGNATURE_LIST sequence (db, dbx, KEK, PK).
pub(crate) fn signature_lists(b: &[u8]) -> Result<Vec<Value>, String> {
    let mut out = Vec::new();
    let mut at = 0usize;
    while at < b.len() {
        let ty = b.get(at..at + 16).ok_or("truncated EFI_SIGNATURE_LIST")?;
        let list = u32_at(b, at + 16).ok_or("truncated EFI_SIGNATURE_LIST")? as usize;
        let hdr = u32_at(b, at + 20).ok_or("truncated EFI_SIGNATURE_LIST")? as usize;
        let sig = u32_at(b, at + 24).ok_or("truncated EFI_SIGNATURE_LIST")? as usize;
        let end = at.checked_add(list).filter(|&e| e <= b.len() && list >= 28).ok_or("bad SignatureListSize")?;
        let mut s = at + 28 + hdr;
        if sig < 16 || s > end {
            return Err("bad SignatureSize / SignatureHeaderSize".into());
        }
        while s + sig <= end {
            let owner = &b[s..s + 16];
            let data = &b[s + 16..s + sig];
            let kind = if ty == EFI_CERT_X509 {
                "x509"
            } else if ty == EFI_CERT_SHA256 {
                "sha256"
            } else {
                "other"
            };
            let mut e = json!({"type": kind, "owner": guid(owner)});
            if kind == "sha256" {
                e["hash"] = json!(hex::encode(data));
            } else {
                e["sha256"] = json!(hex::encode(crate::crypto::sha256(data)));
                if kind == "x509"
                    && let Ok((_, c)) = x509_parser::parse_x509_certificate(data)
                {
                    e["subject"] = json!(c.subject().to_string());
                }
            }
            out.push(e);
            s += sig;
        }
        if s != end {
            return Err("EFI_SIGNATURE_LIST size is not a multiple of SignatureSize".into());
        }
        at = end;
        if out.len() > 100_000 {
            return Err("too many signatures".into());
        }
    }
    Ok(out)
}

/// Device path nodes as text: files, hard-drive partitions, the rest by type and subtype.
pub(crate) fn device_path(b: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    let mut at = 0usize;
    while let (Some(&t), Some(&st)) = (b.get(at), b.get(at + 1)) {
        let Some(len) = b.get(at + 2..at + 4).map(|s| u16::from_le_bytes([s[0], s[1]]) as usize) else { break };
        if len < 4 || at + len > b.len() {
            out.push("(malformed)".into());
            break;
        }
        let body = &b[at + 4..at + len];
        match (t, st) {
            (0x7f, 0xff) => break,
            (0x7f, _) => out.push("|".into()),
            (4, 4) => out.push(format!("File({})", utf16(body).unwrap_or_default())),
            (4, 1) if body.len() >= 38 => out.push(format!(
                "HD({},{},{})",
                u32_at(body, 0).unwrap_or(0),
                if body[37] == 2 { "GPT" } else { "MBR" },
                if body[37] == 2 { guid(&body[20..36]) } else { hex::encode(&body[20..24]) }
            )),
            // Vendor-defined nodes (hardware, messaging, media): the vendor GUID and any data.
            (1, 4) | (3, 10) | (4, 3) if body.len() >= 16 => out.push(format!(
                "{}({},{})",
                match t {
                    1 => "VenHw",
                    3 => "VenMsg",
                    _ => "VenMedia",
                },
                guid(&body[..16]),
                hex::encode(&body[16..])
            )),
            (4, 6) if body.len() >= 16 => out.push(format!("FvFile({})", guid(&body[..16]))),
            (4, 7) if body.len() >= 16 => out.push(format!("Fv({})", guid(&body[..16]))),
            (1, 1) if body.len() >= 2 => out.push(format!("Pci({:#x},{:#x})", body[1], body[0])),
            (2, 1) if body.len() >= 8 => {
                out.push(format!("Acpi({:#x},{:#x})", u32_at(body, 0).unwrap_or(0), u32_at(body, 4).unwrap_or(0)))
            }
            _ => out.push(format!("Node({t},{st})")),
        }
        at += len;
        if out.len() > 256 {
            break;
        }
    }
    out
}

/// The result of checking an event's digests against its data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DigestCheck {
    /// Every bank cloud-ra can compute equals the hash of the data.
    Matches,
    /// At least one bank does not: the event data does not describe what was measured.
    Mismatches,
    /// The data does not determine the digest (a file or image hash).
    NotDerivable,
}

/// PE sections of a unified kernel image that systemd-stub measures (PCR11, or CC MR 3).
pub(crate) const UKI_SECTIONS: &[&str] =
    &[".linux", ".osrel", ".cmdline", ".initrd", ".ucode", ".splash", ".dtb", ".uname", ".sbat", ".pcrsig", ".pcrpkey"];

/// systemd-stub measures each UKI section as two EV_IPL events whose data is the section name in
/// UTF-16: first the name itself (digest = hash of the ASCII name with its NUL), then the
/// section's contents. Returns the name when `e` is the first of such a pair.
pub fn uki_section_name(e: &Event) -> Option<&'static str> {
    if e.event_type != EV_IPL {
        return None;
    }
    let s = utf16(&e.data)?;
    let name = UKI_SECTIONS.iter().find(|n| **n == s)?;
    let mut ascii = name.as_bytes().to_vec();
    ascii.push(0);
    (all_banks_hash_to(e, &[&ascii]) == DigestCheck::Matches).then_some(*name)
}

/// Whether `e` carries the same UKI section name as `name` (the contents event of the pair).
pub(crate) fn uki_section_contents(e: &Event, name: &str) -> bool {
    e.event_type == EV_IPL && utf16(&e.data).as_deref() == Some(name) && uki_section_name(e).is_none()
}

/// What GRUB and systemd-boot strings say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum BootString {
    GrubCmd(String),
    KernelCmdline(String),
    /// A file GRUB loaded (PCR 9): path.
    File(String),
    /// Other text.
    Other(String),
}

/// Classifies an EV_IPL text.
pub(crate) fn boot_string(e: &Event) -> Option<BootString> {
    let t = text(&e.data).or_else(|| utf16(&e.data))?;
    Some(if let Some(r) = t.strip_prefix("grub_cmd: ") {
        BootString::GrubCmd(r.to_string())
    } else if let Some(r) = t.strip_prefix("kernel_cmdline: ") {
        BootString::KernelCmdline(r.to_string())
    } else if t.starts_with('/') || t.starts_with('(') {
        BootString::File(t)
    } else {
        BootString::Other(t)
    })
}

fn all_banks_hash_to(e: &Event, candidates: &[&[u8]]) -> DigestCheck {
    let mut any = false;
    for (alg, d) in &e.digests {
        if alg.hash(&[]).is_none() {
            continue;
        }
        any = true;
        if !candidates.iter().any(|c| alg.hash(c).as_deref() == Some(d.as_slice())) {
            return DigestCheck::Mismatches;
        }
    }
    if any { DigestCheck::Matches } else { DigestCheck::NotDerivable }
}

/// Checks the digests of an event whose data determines them.
pub fn digest_check(e: &Event) -> DigestCheck {
    let d = e.data.as_slice();
    match e.event_type {
        EV_SEPARATOR
        | EV_EFI_VARIABLE_DRIVER_CONFIG
        | EV_EFI_VARIABLE_AUTHORITY
        | EV_EFI_ACTION
        | EV_ACTION
        | EV_S_CRTM_VERSION
        | EV_EFI_GPT_EVENT
        | EV_EFI_GPT_EVENT2 => all_banks_hash_to(e, &[d]),
        EV_EFI_VARIABLE_BOOT | EV_EFI_VARIABLE_BOOT2 => match efi_variable(d) {
            Ok(v) => all_banks_hash_to(e, &[d, &v.data]),
            Err(_) => all_banks_hash_to(e, &[d]),
        },
        EV_IPL if uki_section_name(e).is_some() => DigestCheck::Matches,
        EV_IPL => {
            let t = d.strip_suffix(&[0]).unwrap_or(d);
            let rest = t.strip_prefix(b"grub_cmd: ").or_else(|| t.strip_prefix(b"kernel_cmdline: "));
            match rest {
                Some(r) => all_banks_hash_to(e, &[r, t, d]),
                None => match all_banks_hash_to(e, &[d, t]) {
                    DigestCheck::Matches => DigestCheck::Matches,
                    _ => DigestCheck::NotDerivable,
                },
            }
        }
        _ => DigestCheck::NotDerivable,
    }
}

/// A JSON description of the event's payload.
pub fn details(e: &Event) -> Value {
    let d = e.data.as_slice();
    match e.event_type {
        EV_NO_ACTION => {
            if d.starts_with(b"Spec ID Event03\0") {
                json!({"signature": "Spec ID Event03"})
            } else if let Some(r) = d.strip_prefix(b"StartupLocality\0") {
                json!({"signature": "StartupLocality", "locality": r.first()})
            } else {
                let sig_end = d.iter().take(16).position(|&c| c == 0).unwrap_or(d.len().min(16));
                json!({"signature": text(&d[..sig_end]).unwrap_or_default(), "data": hex::encode(d)})
            }
        }
        EV_SEPARATOR => {
            let v = u32_at(d, 0);
            json!({"value": hex::encode(d), "error": v == Some(0xFFFF_FFFF) || v == Some(1)})
        }
        EV_EFI_VARIABLE_DRIVER_CONFIG | EV_EFI_VARIABLE_BOOT | EV_EFI_VARIABLE_BOOT2 | EV_EFI_VARIABLE_AUTHORITY => {
            match efi_variable(d) {
                Ok(v) => {
                    let mut j = json!({"variable": v.guid, "name": v.name, "data_length": v.data.len(), "data": hex::encode(&v.data)});
                    if v.name == "SecureBoot" {
                        j["secure_boot"] = json!(match v.data.as_slice() {
                            [1] => "enabled",
                            [0] => "disabled",
                            _ => "unknown",
                        });
                    }
                    if e.event_type == EV_EFI_VARIABLE_DRIVER_CONFIG
                        && matches!(v.name.as_str(), "PK" | "KEK" | "db" | "dbx" | "dbt" | "dbr")
                        && let Ok(list) = signature_lists(&v.data)
                    {
                        j["signatures"] = json!(list);
                    }
                    if e.event_type == EV_EFI_VARIABLE_AUTHORITY && v.data.len() > 16 {
                        j["owner"] = json!(guid(&v.data[..16]));
                        if let Ok((_, c)) = x509_parser::parse_x509_certificate(&v.data[16..]) {
                            j["subject"] = json!(c.subject().to_string());
                        }
                    }
                    if matches!(e.event_type, EV_EFI_VARIABLE_BOOT | EV_EFI_VARIABLE_BOOT2)
                        && v.name.starts_with("Boot")
                        && v.name != "BootOrder"
                        && v.data.len() > 6
                    {
                        // EFI_LOAD_OPTION: attributes u32, path length u16, description (UTF-16 NUL-terminated), path.
                        let plen = u16::from_le_bytes([v.data[4], v.data[5]]) as usize;
                        let rest = &v.data[6..];
                        let desc_len = rest.chunks_exact(2).position(|c| c == [0, 0]).map(|p| p * 2 + 2);
                        if let Some(dl) = desc_len {
                            j["description"] = json!(utf16(&rest[..dl]).unwrap_or_default());
                            if let Some(p) = rest.get(dl..dl + plen) {
                                j["device_path"] = json!(device_path(p));
                            }
                        }
                    }
                    j
                }
                Err(m) => json!({"error": m}),
            }
        }
        EV_EFI_BOOT_SERVICES_APPLICATION | EV_EFI_BOOT_SERVICES_DRIVER | EV_EFI_RUNTIME_SERVICES_DRIVER => {
            match (u64_at(d, 0), u64_at(d, 8), u64_at(d, 16), u64_at(d, 24)) {
                (Some(loc), Some(len), Some(link), Some(plen)) => {
                    let path = usize::try_from(plen).ok().and_then(|p| d.get(32..32usize.checked_add(p)?));
                    json!({"image_location": format!("{loc:#x}"), "image_length": len, "link_time_address": format!("{link:#x}"),
                           "device_path": path.map(device_path).unwrap_or_else(|| vec!["(truncated)".into()])})
                }
                _ => json!({"error": "UEFI_IMAGE_LOAD_EVENT shorter than 32 bytes"}),
            }
        }
        EV_IPL => match boot_string(e) {
            Some(BootString::GrubCmd(s)) => json!({"grub_cmd": s}),
            Some(BootString::KernelCmdline(s)) => json!({"kernel_cmdline": s}),
            Some(BootString::File(s)) => json!({"file": s}),
            Some(BootString::Other(s)) => json!({"string": s}),
            None => json!({"data": hex::encode(d)}),
        },
        EV_EVENT_TAG => match (u32_at(d, 0), u32_at(d, 4)) {
            (Some(id), Some(n)) => {
                let body = d.get(8..8usize.saturating_add(n as usize)).unwrap_or(&[]);
                let what = match id {
                    LINUX_INITRD_TAG => "linux_initrd",
                    LINUX_LOAD_OPTIONS_TAG => "linux_load_options",
                    _ => "tag",
                };
                json!({"tag": format!("{id:#010x}"), "kind": what, "string": text(body).or_else(|| utf16(body)), "data": hex::encode(body)})
            }
            _ => json!({"string": text(d), "data": hex::encode(d)}),
        },
        EV_EFI_GPT_EVENT | EV_EFI_GPT_EVENT2 => gpt(d),
        EV_POST_CODE | EV_EFI_PLATFORM_FIRMWARE_BLOB if d.len() == 16 => {
            json!({"blob_base": format!("{:#x}", u64_at(d, 0).unwrap_or(0)), "blob_length": u64_at(d, 8)})
        }
        EV_POST_CODE | EV_S_CRTM_VERSION | EV_S_CRTM_CONTENTS | EV_ACTION | EV_EFI_ACTION | EV_COMPACT_HASH => {
            // UTF-16 only when it reads as text (a 16-byte S-CRTM version is often a GUID).
            let printable = |s: &String| !s.is_empty() && s.chars().all(|c| (' '..='~').contains(&c));
            match text(d).filter(|s| !s.is_empty()).or_else(|| utf16(d).filter(printable)) {
                Some(s) => json!({"string": s}),
                None if d.len() == 16 && e.event_type == EV_S_CRTM_VERSION => {
                    json!({"guid": guid(d), "data": hex::encode(d)})
                }
                None => json!({"data": hex::encode(d)}),
            }
        }
        EV_EFI_PLATFORM_FIRMWARE_BLOB2 | EV_EFI_HANDOFF_TABLES2 => {
            let n = d.first().copied().unwrap_or(0) as usize;
            json!({"description": d.get(1..1 + n).and_then(text), "data": hex::encode(d.get(1 + n..).unwrap_or(&[]))})
        }
        _ => json!({"data": hex::encode(d)}),
    }
}

fn gpt(d: &[u8]) -> Value {
    if d.get(0..8) != Some(b"EFI PART") {
        return json!({"error": "no EFI PART header"});
    }
    let hsize = u32_at(d, 12).unwrap_or(0) as usize;
    let esize = u32_at(d, 84).unwrap_or(0) as usize;
    let n = u64_at(d, hsize).unwrap_or(0);
    let mut parts = Vec::new();
    if (128..=4096).contains(&esize) {
        let mut at = hsize + 8;
        for _ in 0..n.min(1024) {
            let Some(p) = d.get(at..at + esize) else { break };
            parts.push(json!({"type": guid(&p[0..16]), "unique": guid(&p[16..32]),
                "first_lba": u64_at(p, 32), "last_lba": u64_at(p, 40), "name": utf16(&p[56..128]).unwrap_or_default()}));
            at += esize;
        }
    }
    json!({"disk_guid": d.get(56..72).map(guid), "partitions_declared": n, "partitions": parts})
}
