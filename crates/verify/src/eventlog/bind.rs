//! Binding a replayed log to verified registers: per register, matches / mismatches (with the
//! first diverging event when it can be told) / not covered / unverified (RTMR3: runtime
//! extendable, never trusted). And the `verify` hook: replay results, claims from vouched
//! registers only, and the `[eventlog]` policy.

use super::claims::{self, Analysis, SecureBoot};
use super::format::*;
use super::replay::{Divergence, Replay, replay};
use crate::Check;
use crate::Platform;
use crate::claims::{Registers, TdxRegisters};
use crate::error::Error;
use crate::policy::{EventlogPolicy, OneOrMany, parse_hex};
use serde::Serialize;
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// How a register's replay compares with its verified value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckStatus {
    /// The replay equals the verified register: its events are vouched for.
    Matches,
    /// The replay differs from the verified register.
    Mismatches,
    /// The log has nothing to say about this register (or the register is not quoted).
    NotCovered,
    /// Runtime-extendable (RTMR3), or a quoted PCR extended without logged events (PCR10 by IMA,
    /// ...): reported, never trusted.
    Unverified,
}

/// The comparison of one register.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RegisterCheck {
    /// `MRTD`, `RTMR0`..`RTMR3`, or `PCR7` (serialised by those names).
    pub register: Register,
    /// The digest bank (`sha256`, `sha384`, ...).
    pub bank: String,
    /// PCR index, or CC MR index for a CCEL.
    pub index: u32,
    /// The outcome of the comparison.
    pub status: CheckStatus,
    /// The replayed value, hex (`None` when the log does not extend the register).
    pub replayed: Option<String>,
    /// The verified (quoted) value, hex (`None` when the quote does not cover the register).
    pub quoted: Option<String>,
    /// The first event not reflected in the quoted value, when the quoted value is a prefix of the replay.
    pub first_divergent_event: Option<usize>,
    /// Why the status is what it is, for people.
    pub detail: String,
}

/// A measurement register an event log is replayed into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Register {
    /// TDX MRTD (CC MR 0 in a CCEL).
    Mrtd,
    /// TDX RTMR0..RTMR3 (CC MR 1..4).
    Rtmr(u8),
    /// A TPM PCR.
    Pcr(u32),
}

impl Register {
    /// A TPM PCR (not a TDX register).
    pub(crate) fn is_pcr(self) -> bool {
        matches!(self, Register::Pcr(_))
    }
}

impl std::fmt::Display for Register {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Register::Mrtd => write!(f, "MRTD"),
            Register::Rtmr(i) => write!(f, "RTMR{i}"),
            Register::Pcr(i) => write!(f, "PCR{i}"),
        }
    }
}

impl Serialize for Register {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

fn divergence(r: &super::replay::Register, quoted: &[u8]) -> Option<usize> {
    r.divergence(quoted).map(|Divergence::ExtraEventsFrom(n)| n)
}

/// Compares a replayed CCEL with the registers of a verified TD quote.
pub(crate) fn compare_tdx(log: &EventLog, rep: &Replay, regs: &TdxRegisters) -> Vec<RegisterCheck> {
    let bank = rep.banks.get(&AlgId::SHA384);
    let mut out = Vec::new();
    // MR index 0 = MRTD: not an extend register; a single logged digest can be compared directly.
    let mrtd_events: Vec<&Event> = log.body().filter(|e| e.register == 0 && e.extends()).collect();
    let (status, detail, replayed) = match mrtd_events.as_slice() {
        [] => (CheckStatus::NotCovered, "the log has no MRTD (CC MR 0) event".to_string(), None),
        [e] => match e.digest(AlgId::SHA384) {
            Some(d) if d == regs.mrtd.as_slice() => {
                (CheckStatus::Matches, format!("event {} logs the quote's MRTD", e.number), Some(hex::encode(d)))
            }
            Some(d) => (
                CheckStatus::Mismatches,
                format!("event {} logs an MRTD other than the quote's", e.number),
                Some(hex::encode(d)),
            ),
            None => (CheckStatus::NotCovered, "the MRTD event has no SHA-384 digest".into(), None),
        },
        _ => (
            CheckStatus::NotCovered,
            format!("{} MRTD (CC MR 0) events: MRTD is not an extend register", mrtd_events.len()),
            None,
        ),
    };
    out.push(RegisterCheck {
        register: Register::Mrtd,
        bank: "sha384".into(),
        index: 0,
        status,
        replayed,
        quoted: Some(hex::encode(regs.mrtd)),
        first_divergent_event: None,
        detail,
    });
    for (i, q) in regs.rtmr.iter().enumerate() {
        let mr = i as u32 + 1;
        let r = bank.and_then(|b| b.get(&mr));
        let zero = q.iter().all(|&x| x == 0);
        let (mut status, mut detail, div) = match r {
            Some(r) if r.value == *q => {
                (CheckStatus::Matches, format!("{} events replay to the quoted value", r.history.len()), None)
            }
            Some(r) => {
                let div = divergence(r, q);
                let d = match div {
                    Some(n) => format!(
                        "the quoted value equals the replay before event {n}: event {n} and later are not in the quote"
                    ),
                    None => "the replay differs from the quoted value (no prefix of the log reaches it)".to_string(),
                };
                (CheckStatus::Mismatches, d, div)
            }
            None if zero => {
                (CheckStatus::NotCovered, "the log has no events for it and the quoted value is zero".into(), None)
            }
            None => {
                (CheckStatus::Mismatches, "the quoted value is extended but the log has no events for it".into(), None)
            }
        };
        if i == 3 {
            detail = format!("runtime-extendable, not trusted: {detail}");
            status = CheckStatus::Unverified;
        }
        out.push(RegisterCheck {
            register: Register::Rtmr(i as u8),
            bank: "sha384".into(),
            index: mr,
            status,
            replayed: r.map(|r| hex::encode(&r.value)),
            quoted: Some(hex::encode(q)),
            first_divergent_event: div,
            detail,
        });
    }
    out
}

/// Compares a replayed TPM log with PCR values (bank → index → value). Whether those values are
/// vouched for (a verified quote) is the caller's to say.
pub fn compare_pcrs(rep: &Replay, quoted: &BTreeMap<AlgId, BTreeMap<u32, Vec<u8>>>) -> Vec<RegisterCheck> {
    let mut out = Vec::new();
    let mut keys: Vec<(AlgId, u32)> = Vec::new();
    for (a, m) in quoted {
        keys.extend(m.keys().map(|i| (*a, *i)));
    }
    for (a, m) in &rep.banks {
        keys.extend(m.keys().map(|i| (*a, *i)));
    }
    keys.sort();
    keys.dedup();
    for (alg, idx) in keys {
        let r = rep.banks.get(&alg).and_then(|m| m.get(&idx));
        let q = quoted.get(&alg).and_then(|m| m.get(&idx));
        let (status, detail, div) = match (r, q) {
            (Some(r), Some(q)) if r.value == *q => {
                (CheckStatus::Matches, format!("{} events replay to the quoted value", r.history.len()), None)
            }
            (Some(r), Some(q)) => {
                let div = divergence(r, q);
                let d = match div {
                    Some(n) => format!("the quoted value equals the replay before event {n}"),
                    None => "the replay differs from the quoted value".to_string(),
                };
                (CheckStatus::Mismatches, d, div)
            }
            (Some(_), None) => (CheckStatus::NotCovered, "not quoted".into(), None),
            // Reset values (all zeros, or all ones for the locality-resettable PCRs 17-22).
            (None, Some(q)) if q.iter().all(|&b| b == 0) || q.iter().all(|&b| b == 0xff) => {
                (CheckStatus::NotCovered, "the log has no events for it (reset value)".into(), None)
            }
            (None, Some(_)) => (
                CheckStatus::Unverified,
                "extended without logged events (a runtime measurement such as IMA): reported, not trusted".into(),
                None,
            ),
            (None, None) => continue,
        };
        out.push(RegisterCheck {
            register: Register::Pcr(idx),
            bank: alg.name(),
            index: idx,
            status,
            replayed: r.map(|r| hex::encode(&r.value)),
            quoted: q.map(hex::encode),
            first_divergent_event: div,
            detail,
        });
    }
    out
}

/// The registers that matched, as a predicate over the log's register index. For a TPM log a
/// PCR is vouched only when every bank that replays it matches.
pub fn vouched(checks: &[RegisterCheck]) -> impl Fn(u32) -> bool + '_ {
    move |r: u32| {
        let mine: Vec<&RegisterCheck> =
            checks.iter().filter(|c| c.index == r && c.register != Register::Mrtd).collect();
        !mine.is_empty()
            && mine.iter().all(|c| c.status == CheckStatus::Matches || c.status == CheckStatus::NotCovered)
            && mine.iter().any(|c| c.status == CheckStatus::Matches)
    }
}

/// One log's result in `verify`.
#[derive(Debug, Clone)]
pub struct LogResult {
    /// Each register's comparison.
    pub checks: Vec<RegisterCheck>,
    /// What the log says about the boot, from vouched registers only.
    pub analysis: Option<Analysis>,
    /// The result as JSON: format, event count, registers, findings and claims.
    pub json: Value,
}

/// Binds one log to a verified TDX outcome's registers.
pub fn bind_tdx(log: &EventLog, regs: &TdxRegisters) -> Result<LogResult, Error> {
    let rep = replay(log)?;
    if log.format != LogFormat::Ccel {
        return Err(Error::evidence(
            Check::EventlogBinding,
            "a TPM event log cannot be checked against a TD quote (it needs a verified TPM quote)",
        ));
    }
    let checks = compare_tdx(log, &rep, regs);
    let a = {
        let v = vouched(&checks);
        claims::analyse(log, &|r| r != 4 && v(r))
    };
    log_result(log, checks, a)
}

/// The result of a binding: claims only from vouched registers; a refused boot state is an error.
fn log_result(log: &EventLog, checks: Vec<RegisterCheck>, a: Analysis) -> Result<LogResult, Error> {
    if let Some(e) = &a.refused {
        return Err(e.clone());
    }
    let json = json!({
        "format": log.format,
        "events": log.events.len(),
        "registers": checks,
        "findings": a.findings,
        "claims": a.claims,
    });
    Ok(LogResult { checks, analysis: Some(a), json })
}

/// Binds one TPM event log to the PCR values of a verified quote.
pub(crate) fn bind_tpm(log: &EventLog, quoted: &BTreeMap<AlgId, BTreeMap<u32, Vec<u8>>>) -> Result<LogResult, Error> {
    if log.format == LogFormat::Ccel {
        return Err(Error::evidence(
            Check::EventlogBinding,
            "a CCEL cannot be checked against a vTPM quote (on Azure TDX the RTMRs measure the paravisor; give the TPM log)",
        ));
    }
    let rep = replay(log)?;
    let checks = compare_pcrs(&rep, quoted);
    let a = {
        let v = vouched(&checks);
        claims::analyse(log, &v)
    };
    log_result(log, checks, a)
}

fn fail(fails: &mut Vec<Error>, check: Check, detail: String) {
    fails.push(Error::appraisal(check, detail));
}

fn accepted(field: &'static str, v: &OneOrMany, have: &[u8]) -> Result<bool, Error> {
    for s in v.values() {
        if parse_hex(field, s, 64)? == have {
            return Ok(true);
        }
    }
    Ok(false)
}

/// The `verify` hook: replays `logs` against the registers of a verified outcome, adds the results
/// to its claims (`eventlog`, `secure_boot`, `measured_boot`), and appraises `[eventlog]`.
/// Event logs carried in the evidence: the `event_log` of a go-tpm-tools Attestation, and a
/// bundle's `eventlog_tpm` (TCG PC Client log) and `eventlog_ccel` (the CCEL log area, checked
/// against `eventlog_ccel_table` when that is carried too).
pub(crate) fn bundle_logs(d: &crate::bundle::Detected) -> crate::error::Result<Vec<EventLog>> {
    let mut out = Vec::new();
    if let crate::bundle::Evidence::GceVtpm(a) = &d.evidence
        && !a.event_log.is_empty()
    {
        let log = super::format::parse(&a.event_log, Flavour::Tpm)
            .map_err(|e| Error::new(e.category, e.check, format!("Attestation event_log (field 3): {}", e.detail)))?;
        out.push(log);
    }
    let Some(b) = &d.bundle else { return Ok(out) };
    for (k, v) in &b.evidence {
        let log = match k.as_str() {
            "eventlog_tpm" => super::format::parse(&v.0, Flavour::Tpm),
            "eventlog_ccel" => match b.evidence.get("eventlog_ccel_table") {
                Some(t) => super::format::parse_ccel(&t.0, &v.0),
                None => super::format::parse(&v.0, Flavour::Ccel),
            },
            _ => continue,
        };
        out.push(log.map_err(|e| Error::new(e.category, e.check, format!("bundle evidence '{k}': {}", e.detail)))?);
    }
    Ok(out)
}

/// What replaying event logs against a verified outcome's registers found.
#[derive(Debug, Default)]
pub(crate) struct Binding {
    /// Claims to add (`eventlog`, `secure_boot`, `measured_boot`).
    pub claims: Vec<(&'static str, Value)>,
    /// Logs that could not be replayed (they go first among the outcome's failures).
    pub evidence_failures: Vec<Error>,
    pub failures: Vec<Error>,
    pub warnings: Vec<Error>,
}

/// Replays `logs` against the registers the verified outcome's claims vouch for, and appraises
/// `[eventlog]`. Reads the typed registers (`Claims::registers`), never the JSON claims.
pub(crate) fn bind(
    verified: bool,
    platform: Platform,
    registers: &Registers,
    logs: &[EventLog],
    policy: &EventlogPolicy,
) -> Binding {
    let mut out = Binding::default();
    let (fails, warns) = (&mut out.failures, &mut out.warnings);
    let mut results: Vec<Value> = Vec::new();
    let mut analyses: Vec<(Analysis, Vec<RegisterCheck>)> = Vec::new();
    if !verified {
        out.claims.push(("eventlog", json!({"evaluated": false, "reason": "the evidence is not verified"})));
        return out;
    }
    for (i, log) in logs.iter().enumerate() {
        let bound = match registers {
            Registers::Tdx(regs) => Some(bind_tdx(log, regs)),
            Registers::Pcrs(q) if !q.is_empty() => Some(bind_tpm(log, q)),
            _ => None,
        };
        let Some(bound) = bound else {
            warns.push(Error::appraisal(
                Check::EventlogBinding,
                format!("log {i}: platform {platform} has no verified registers this log can be replayed against; nothing from it is trusted"),
            ));
            results.push(json!({"format": log.format, "events": log.events.len(), "evaluated": false}));
            continue;
        };
        match bound {
            Ok(r) => {
                for c in &r.checks {
                    if c.status == CheckStatus::Mismatches {
                        fail(fails, Check::EventlogBinding, format!("log {i}: {}: {}", c.register, c.detail));
                    }
                    if c.status == CheckStatus::Unverified && !c.register.is_pcr() {
                        warns.push(Error::appraisal(
                            Check::EventlogRtmr3,
                            format!("log {i}: {}: {}", c.register, c.detail),
                        ));
                    }
                }
                // Runtime-extended PCRs: one warning per log, banks listed per PCR.
                let mut runtime: BTreeMap<u32, Vec<String>> = BTreeMap::new();
                for c in r.checks.iter().filter(|c| c.status == CheckStatus::Unverified && c.register.is_pcr()) {
                    runtime.entry(c.index).or_default().push(c.bank.clone());
                }
                if !runtime.is_empty() {
                    let list: Vec<String> = runtime.iter().map(|(i, b)| format!("PCR{i} ({})", b.join(", "))).collect();
                    warns.push(Error::appraisal(
                        Check::EventlogUnverified,
                        format!(
                            "log {i}: {} extended without logged events (runtime measurements): reported, not trusted",
                            list.join(", ")
                        ),
                    ));
                }
                if let Some(a) = &r.analysis {
                    for f in &a.findings {
                        warns.push(Error::appraisal(
                            Check::EventlogFindings,
                            format!("log {i}: event {} (offset {}): {}: {}", f.event, f.offset, f.check, f.detail),
                        ));
                    }
                }
                results.push(r.json);
                if let Some(a) = r.analysis {
                    analyses.push((a, r.checks));
                }
            }
            Err(e) => {
                results.push(json!({"format": log.format, "events": log.events.len(), "error": e.to_string()}));
                out.evidence_failures.push(e);
            }
        }
    }
    // Claims: the first log whose registers vouch for a secure-boot state wins.
    let secure_boot =
        analyses.iter().map(|(a, _)| a.secure_boot).find(|s| *s != SecureBoot::Unknown).unwrap_or(SecureBoot::Unknown);
    let measured = analyses.first().map(|(a, _)| a.claims.clone()).unwrap_or(Value::Null);
    appraise(policy, logs.is_empty(), secure_boot, &analyses, fails);
    out.claims.push(("eventlog", json!(results)));
    if !logs.is_empty() {
        out.claims.push(("secure_boot", json!(secure_boot)));
        out.claims.push(("measured_boot", measured));
    }
    out
}

fn appraise(
    p: &EventlogPolicy,
    no_logs: bool,
    secure_boot: SecureBoot,
    analyses: &[(Analysis, Vec<RegisterCheck>)],
    fails: &mut Vec<Error>,
) {
    if !p.is_active() {
        return;
    }
    if no_logs || analyses.is_empty() {
        fail(
            fails,
            Check::PolicyEventlog,
            "the policy has [eventlog] requirements but no event log was bound to verified registers".into(),
        );
        return;
    }
    if p.require_secure_boot == Some(true) && secure_boot != SecureBoot::Enabled {
        fail(
            fails,
            Check::PolicyEventlogSecureBoot,
            format!("secure boot is required; vouched state: {secure_boot:?}"),
        );
    }
    if let Some(want) = &p.kernel_cmdline {
        let have: Vec<String> = analyses
            .iter()
            .filter_map(|(a, _)| a.claims["kernel_cmdline"]["text"].as_str().map(String::from))
            .collect();
        if !have.iter().any(|h| want.values().contains(&h.as_str())) {
            fail(
                fails,
                Check::PolicyEventlogKernelCmdline,
                format!("vouched kernel command line {have:?} is not an accepted one"),
            );
        }
    }
    if let Some(allowed) = &p.allowed_boot_applications {
        let allowed: Vec<String> =
            allowed.iter().map(|s| s.trim().trim_start_matches("0x").to_ascii_lowercase()).collect();
        for (a, checks) in analyses {
            let v = vouched(checks);
            // UEFI measures boot applications into PCR4 (TPM logs) or CC MR 2 = RTMR1 (CCEL).
            let (reg, name) =
                if checks.iter().any(|c| c.register.is_pcr()) { (4, Register::Pcr(4)) } else { (2, Register::Rtmr(1)) };
            if !v(reg) {
                fail(
                    fails,
                    Check::PolicyEventlogBootApplications,
                    format!("the boot-application register ({name}) is not vouched for"),
                );
                continue;
            }
            for app in a.claims["boot_applications"].as_array().into_iter().flatten() {
                let ok = app["digests"]
                    .as_object()
                    .is_some_and(|m| m.values().any(|d| d.as_str().is_some_and(|d| allowed.iter().any(|x| x == d))));
                if !ok {
                    fail(
                        fails,
                        Check::PolicyEventlogBootApplications,
                        format!("boot application at event {} is not allowed", app["event"]),
                    );
                }
            }
        }
    }
    for (k, want) in &p.rtmr {
        let Ok(i) = k.parse::<u32>() else {
            fail(fails, Check::PolicyEventlogRtmr, format!("RTMR index '{k}' is not a number"));
            continue;
        };
        let name = u8::try_from(i).ok().map(Register::Rtmr);
        let have = analyses
            .iter()
            .flat_map(|(_, c)| c.iter())
            .find(|c| Some(c.register) == name && c.status == CheckStatus::Matches);
        let ok = match have.and_then(|c| c.replayed.as_deref()).and_then(|h| hex::decode(h).ok()) {
            Some(v) => match accepted("eventlog.rtmr", want, &v) {
                Ok(b) => b,
                Err(e) => {
                    fails.push(e);
                    continue;
                }
            },
            None => false,
        };
        if !ok {
            fail(
                fails,
                Check::PolicyEventlogRtmr,
                format!("RTMR{i}: no replayed, vouched value equal to an accepted one"),
            );
        }
    }
    let has_pcrs = analyses.iter().flat_map(|(_, c)| c.iter()).any(|c| c.register.is_pcr());
    if !p.pcrs.is_empty() && !has_pcrs {
        fail(
            fails,
            Check::PolicyEventlogPcrs,
            "PCR values require a verified TPM quote, which this evidence does not carry".into(),
        );
        return;
    }
    for (bank, m) in &p.pcrs {
        for (k, want) in m {
            let Ok(i) = k.parse::<u32>() else {
                fail(fails, Check::PolicyEventlogPcrs, format!("PCR index '{k}' is not a number"));
                continue;
            };
            let have = analyses
                .iter()
                .flat_map(|(_, c)| c.iter())
                .find(|c| c.register == Register::Pcr(i) && c.bank == *bank && c.status == CheckStatus::Matches);
            let ok = match have.and_then(|c| c.replayed.as_deref()).and_then(|h| hex::decode(h).ok()) {
                Some(v) => match accepted("eventlog.pcrs", want, &v) {
                    Ok(b) => b,
                    Err(e) => {
                        fails.push(e);
                        continue;
                    }
                },
                None => false,
            };
            if !ok {
                fail(
                    fails,
                    Check::PolicyEventlogPcrs,
                    format!("{bank} PCR{i}: no replayed, vouched value equal to an accepted one"),
                );
            }
        }
    }
}
