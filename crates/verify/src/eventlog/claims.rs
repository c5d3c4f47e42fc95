//! What a log says about the boot: secure-boot state, key databases, boot applications, kernel /
//! initrd / command line, separators — taken only from events on registers the caller vouches
//! for, and only from events whose digests match their data where the data determines them.
//! Strict-parsing findings (the log contradicts the TCG profile) are reported per event.

use super::decode::{self, BootString, DigestCheck};
use super::format::*;
use crate::Check;
use serde_json::{Value, json};

/// A strict-parsing finding: the log departs from the TCG PC Client profile at one event.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Finding {
    /// The event's number in the log.
    pub event: usize,
    /// The event's byte offset in the log.
    pub offset: usize,
    /// The check that found it.
    pub check: Check,
    /// What is wrong, for people.
    pub detail: String,
}

/// Secure-boot state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SecureBoot {
    /// The SecureBoot variable is 1.
    Enabled,
    /// The SecureBoot variable is 0.
    Disabled,
    /// Not known: no SecureBoot event on a vouched register with a matching digest, or its data is not 0 or 1.
    Unknown,
}

/// The analysis of a log restricted to vouched registers.
#[derive(Debug, Clone, PartialEq)]
pub struct Analysis {
    /// SecureBoot, from the variable's EV_EFI_VARIABLE_DRIVER_CONFIG event.
    pub secure_boot: SecureBoot,
    /// The boot claims (secure boot, key databases, boot applications, kernel, separators) as JSON.
    pub claims: Value,
    /// Where the log departs from the TCG PC Client profile.
    pub findings: Vec<Finding>,
    /// Events whose digests do not match their data (event numbers).
    pub digest_mismatches: Vec<usize>,
    /// The boot state cannot be extracted (e.g. a duplicated separator): no claims.
    pub refused: Option<crate::error::Error>,
}

fn digests_json(e: &Event) -> Value {
    let mut m = serde_json::Map::new();
    for (a, d) in &e.digests {
        m.insert(a.name(), json!(hex::encode(d)));
    }
    Value::Object(m)
}

fn reg_key(log: &EventLog) -> &'static str {
    if log.format == LogFormat::Ccel { "mr" } else { "pcr" }
}

/// Is this register one where UEFI measures boot applications (PCR4 / RTMR1 = CC MR 2)?
fn is_boot_app_register(log: &EventLog, r: u32) -> bool {
    if log.format == LogFormat::Ccel { r == 2 } else { r == 4 }
}

/// Analyses the log; `vouched(register)` says whether a verified register covers that register.
pub fn analyse(log: &EventLog, vouched: &dyn Fn(u32) -> bool) -> Analysis {
    if let Err(e) = super::replay::check_separators(log) {
        return Analysis {
            secure_boot: SecureBoot::Unknown,
            claims: json!({"secure_boot": SecureBoot::Unknown, "refused": e.to_string()}),
            findings: Vec::new(),
            digest_mismatches: Vec::new(),
            refused: Some(e),
        };
    }
    let rk = reg_key(log);
    let mut findings = Vec::new();
    let mut mismatches = Vec::new();
    let mut secure_boot = SecureBoot::Unknown;
    let mut secure_boot_json = Value::Null;
    let mut keys = serde_json::Map::new();
    let mut authorities = Vec::new();
    let mut apps = Vec::new();
    let mut separators = Vec::new();
    let mut grub_cmds = Vec::new();
    let mut cmdline: Option<Value> = None;
    let mut files: Vec<(String, &Event)> = Vec::new();
    let mut tagged = Vec::new();
    let mut calling_efi_app_seen = false;
    // systemd-stub (UKI) section measurements: the pending name event, then (name, contents event).
    let mut uki_pending: Option<(&'static str, u32)> = None;
    let mut uki: Vec<(&'static str, &Event)> = Vec::new();
    for e in log.body() {
        if !e.extends() {
            continue;
        }
        let check = decode::digest_check(e);
        if check == DigestCheck::Mismatches {
            mismatches.push(e.number);
            findings.push(Finding {
                event: e.number,
                offset: e.offset,
                check: Check::EventlogDigest,
                detail: format!("{} on {rk} {}: the digests do not match the event data", e.type_name(), e.register),
            });
        }
        // Profile checks that apply whatever the registers.
        if e.event_type == EV_EFI_ACTION && e.data.starts_with(b"Calling EFI Application from Boot Option") {
            calling_efi_app_seen = true;
        }
        if e.event_type == EV_EFI_BOOT_SERVICES_APPLICATION
            && is_boot_app_register(log, e.register)
            && !calling_efi_app_seen
            && log.format != LogFormat::Ccel
        {
            findings.push(Finding {
                event: e.number,
                offset: e.offset,
                check: Check::EventlogProfile,
                detail: format!("found EFIBootServicesApplication in PCR{} before CallingEFIApp event", e.register),
            });
        }
        let var = match e.event_type {
            EV_EFI_VARIABLE_DRIVER_CONFIG
            | EV_EFI_VARIABLE_AUTHORITY
            | EV_EFI_VARIABLE_BOOT
            | EV_EFI_VARIABLE_BOOT2 => match decode::efi_variable(&e.data) {
                Ok(v) => Some(v),
                Err(m) => {
                    findings.push(Finding {
                        event: e.number,
                        offset: e.offset,
                        check: Check::EventlogVariable,
                        detail: m,
                    });
                    None
                }
            },
            _ => None,
        };
        if let Some(v) = &var
            && e.event_type == EV_EFI_VARIABLE_DRIVER_CONFIG
            && v.name == "SecureBoot"
            && v.guid_raw == decode::EFI_GLOBAL_VARIABLE
            && v.data.len() != 1
        {
            findings.push(Finding {
                event: e.number,
                offset: e.offset,
                check: Check::EventlogSecureBoot,
                detail: format!("SecureBoot data len is {}, expected 1", v.data.len()),
            });
        }
        // Claims: vouched registers and data that describes the digest only.
        if !vouched(e.register) {
            continue;
        }
        match e.event_type {
            EV_SEPARATOR => separators.push(json!({"event": e.number, rk: e.register, "value": hex::encode(&e.data)})),
            EV_EFI_VARIABLE_DRIVER_CONFIG if check == DigestCheck::Matches => {
                if let Some(v) = &var {
                    if v.name == "SecureBoot" && v.guid_raw == decode::EFI_GLOBAL_VARIABLE {
                        secure_boot = match v.data.as_slice() {
                            [1] => SecureBoot::Enabled,
                            [0] => SecureBoot::Disabled,
                            _ => SecureBoot::Unknown,
                        };
                        secure_boot_json = json!({"state": secure_boot, "variable_data": hex::encode(&v.data), "event": e.number, rk: e.register});
                    } else if matches!(v.name.as_str(), "PK" | "KEK" | "db" | "dbx") {
                        keys.insert(
                            v.name.clone(),
                            json!({"event": e.number, "digests": digests_json(e), "data_sha256": hex::encode(crate::crypto::sha256(&v.data)),
                                   "data_length": v.data.len(), "entries": decode::signature_lists(&v.data).map(|l| l.len()).ok()}),
                        );
                    }
                }
            }
            EV_EFI_VARIABLE_AUTHORITY if check == DigestCheck::Matches => {
                if let Some(v) = &var {
                    authorities.push(json!({"event": e.number, "name": v.name, "details": decode::details(e)}));
                }
            }
            EV_EFI_BOOT_SERVICES_APPLICATION => {
                apps.push(json!({"event": e.number, rk: e.register, "digests": digests_json(e), "details": decode::details(e)}));
            }
            EV_IPL if decode::uki_section_name(e).is_some() => {
                uki_pending = decode::uki_section_name(e).map(|n| (n, e.register));
            }
            EV_IPL if uki_pending.is_some_and(|(n, r)| r == e.register && decode::uki_section_contents(e, n)) => {
                if let Some((n, _)) = uki_pending.take() {
                    uki.push((n, e));
                }
            }
            EV_IPL => match decode::boot_string(e) {
                Some(BootString::GrubCmd(s)) if check == DigestCheck::Matches => grub_cmds.push(s),
                Some(BootString::KernelCmdline(s)) if check == DigestCheck::Matches => {
                    cmdline = Some(json!({"text": s, "event": e.number, "digests": digests_json(e), "source": "grub"}));
                }
                Some(BootString::File(p)) => files.push((p, e)),
                Some(BootString::Other(s))
                    if check == DigestCheck::Matches
                        && cmdline.is_none()
                        && log.format != LogFormat::Ccel
                        && e.register == 12 =>
                {
                    cmdline = Some(
                        json!({"text": s, "event": e.number, "digests": digests_json(e), "source": "systemd-stub"}),
                    );
                }
                _ => {}
            },
            EV_EVENT_TAG => tagged.push(e),
            _ => {}
        }
    }
    // Kernel and initrd: GRUB's `linux` / `initrd` commands name the files it measured.
    let find_file = |path: &str| -> Option<Value> {
        files
            .iter()
            .find(|(p, _)| p == path || p.rsplit_once(')').map(|(_, r)| r) == Some(path))
            .map(|(p, e)| json!({"path": p, "event": e.number, "digests": digests_json(e)}))
    };
    let mut kernel = Value::Null;
    let mut initrd = Value::Null;
    for c in &grub_cmds {
        let mut words = c.split_whitespace();
        match words.next() {
            Some("linux" | "linuxefi" | "linux16") => {
                if let Some(p) = words.next() {
                    kernel = find_file(p).unwrap_or_else(|| json!({"path": p}));
                }
            }
            Some("initrd" | "initrdefi" | "initrd16") => {
                let v: Vec<Value> = words.map(|p| find_file(p).unwrap_or_else(|| json!({"path": p}))).collect();
                initrd = json!(v);
            }
            _ => {}
        }
    }
    // A unified kernel image: its sections' digests (contents, not text: the log carries names only).
    let uki_json: Vec<Value> = uki
        .iter()
        .map(|(n, e)| json!({"section": n, "event": e.number, rk: e.register, "digests": digests_json(e)}))
        .collect();
    for (n, e) in &uki {
        let v = json!({"section": n, "event": e.number, "digests": digests_json(e), "source": "uki"});
        match *n {
            ".linux" if kernel.is_null() => kernel = v,
            ".initrd" if initrd.is_null() => initrd = v,
            ".cmdline" if cmdline.is_none() => cmdline = Some(v),
            _ => {}
        }
    }
    for e in tagged {
        let id = e.data.get(0..4).map(|s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]));
        match id {
            Some(decode::LINUX_INITRD_TAG) if initrd.is_null() => {
                initrd = json!({"event": e.number, "digests": digests_json(e), "source": "efi-stub"});
            }
            Some(decode::LINUX_LOAD_OPTIONS_TAG) if cmdline.is_none() => {
                cmdline = Some(json!({"event": e.number, "digests": digests_json(e), "source": "efi-stub"}));
            }
            _ => {}
        }
    }
    let claims = json!({
        "secure_boot": secure_boot,
        "secure_boot_variable": secure_boot_json,
        "keys": keys,
        "authorities": authorities,
        "boot_applications": apps,
        "kernel": kernel,
        "initrd": initrd,
        "kernel_cmdline": cmdline,
        "grub_commands": grub_cmds,
        "separators": separators,
        "uki_sections": uki_json,
    });
    Analysis { secure_boot, claims, findings, digest_mismatches: mismatches, refused: None }
}
