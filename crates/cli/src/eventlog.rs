//! `cloud-ra eventlog show|replay`: TCG PC Client event logs and TDX CCELs — decode, replay, and
//! compare with the registers of a verified quote.

use crate::input::read_file;
use crate::print::{self, fail};
use clap::{Args, Subcommand, ValueEnum};
use cloud_ra_verify::Check;
use cloud_ra_verify::eventlog::{self, EventLog, Flavour};
use cloud_ra_verify::{Collateral, Error, Timestamp, VerifyOptions};
use serde_json::{Value, json};

#[derive(Clone, Copy, ValueEnum)]
pub enum LogKind {
    Auto,
    Tpm,
    Ccel,
}

#[derive(Args)]
pub struct LogArgs {
    /// The event log: binary_bios_measurements (TPM), the CCEL log area (TDX), or a go-tpm-tools
    /// Attestation (.pb) whose event_log is taken.
    log: String,
    /// The ACPI CCEL table (checks the log against its log area length).
    #[arg(long)]
    table: Option<String>,
    /// What the log is (default: detected from content).
    #[arg(long, value_enum, default_value = "auto")]
    format: LogKind,
    /// One JSON object on stdout.
    #[arg(long)]
    json: bool,
}

#[derive(Subcommand)]
pub enum EventlogCmd {
    /// Print every event with its decoded payload and digest check.
    Show(LogArgs),
    /// Replay every bank and register; with --against, compare with a verified quote's registers.
    Replay(Box<ReplayArgs>),
}

#[derive(Args)]
pub struct ReplayArgs {
    #[command(flatten)]
    log: LogArgs,
    /// Evidence whose verified registers the replay is compared with (a TDX quote, a vTPM
    /// attestation such as GCE's .pb or an Azure bundle, or any bundle).
    #[arg(long)]
    against: Option<String>,
    /// Collateral files for verifying the evidence (as for `verify`). Repeatable.
    #[arg(long)]
    collateral: Vec<String>,
    /// Evaluation time (RFC 3339). Default: now.
    #[arg(long)]
    at: Option<String>,
    /// Trust the simulated roots (tests and demos only).
    #[arg(long)]
    trust_simulated: bool,
    #[command(flatten)]
    sources: crate::collateral::SourceArgs,
}

/// Reads and parses a log file (`verify --eventlog` uses it too).
pub fn load(path: &str, table: Option<&str>, kind: LogKind) -> Result<EventLog, Error> {
    let bytes = read_file(path, "event log")?;
    // A go-tpm-tools Attestation: its event_log (field 3).
    if table.is_none() && cloud_ra_verify::tpm::gotpm::Attestation::looks_like(&bytes) {
        let a = cloud_ra_verify::tpm::gotpm::Attestation::parse(&bytes)?;
        if a.event_log.is_empty() {
            return Err(Error::usage(
                Check::Eventlog,
                format!("{path}: the go-tpm-tools Attestation carries no event_log"),
            ));
        }
        return eventlog::parse(&a.event_log, Flavour::Tpm);
    }
    if let Some(t) = table {
        let t = read_file(t, "CCEL table")?;
        return eventlog::parse_ccel(&t, &bytes);
    }
    let flavour = match kind {
        LogKind::Auto => Flavour::Auto,
        LogKind::Tpm => Flavour::Tpm,
        LogKind::Ccel => Flavour::Ccel,
    };
    eventlog::parse(&bytes, flavour)
}

pub fn run(c: EventlogCmd) -> i32 {
    match c {
        EventlogCmd::Show(a) => show(&a),
        EventlogCmd::Replay(a) => replay(&a),
    }
}

fn show(a: &LogArgs) -> i32 {
    let log = match load(&a.log, a.table.as_deref(), a.format) {
        Ok(l) => l,
        Err(e) => return fail(&e),
    };
    print::value(&eventlog::show_json(&log), a.json);
    0
}

fn replay(a: &ReplayArgs) -> i32 {
    let log = match load(&a.log.log, a.log.table.as_deref(), a.log.format) {
        Ok(l) => l,
        Err(e) => return fail(&e),
    };
    let rep = match eventlog::replay(&log) {
        Ok(r) => r,
        Err(e) => return fail(&e),
    };
    let mut v = rep.to_json();
    v["format"] = json!(log.format);
    v["events"] = json!(log.events.len());
    let Some(evidence) = &a.against else {
        // Without evidence nothing is vouched for: what the log says, labelled as such.
        let an = eventlog::claims::analyse(&log, &|_| true);
        v["unverified_log_says"] = an.claims;
        v["findings"] = json!(an.findings);
        v["note"] = json!("no --against evidence: these registers and claims are not vouched for by any quote");
        print::value(&v, a.log.json);
        return 0;
    };
    let outcome = match verify_against(a, evidence, log) {
        Ok(o) => o,
        Err(e) => return fail(&e),
    };
    v["against"] = json!({
        "platform": outcome.platform,
        "detected": outcome.detected,
        "verified": outcome.verified,
        "status": outcome.status,
        "failures": outcome.failures,
        "warnings": outcome.warnings,
    });
    if let Some(r) = outcome.claims.get("eventlog").and_then(|e| e.get(0)) {
        v["registers"] = r.get("registers").cloned().unwrap_or(Value::Null);
        v["claims"] = r.get("claims").cloned().unwrap_or(Value::Null);
        v["findings"] = r.get("findings").cloned().unwrap_or(Value::Null);
        if let Some(err) = r.get("error") {
            v["error"] = err.clone();
        }
    }
    if a.log.json {
        print::value(&v, true);
    } else {
        println!(
            "{} against {} [{}]",
            if outcome.verified { "evidence VERIFIED" } else { "evidence NOT VERIFIED" },
            outcome.platform,
            outcome.detected
        );
        for r in v["registers"].as_array().into_iter().flatten() {
            println!(
                "  {:<6} {:<12} {}",
                r["register"].as_str().unwrap_or(""),
                r["status"].as_str().unwrap_or(""),
                r["detail"].as_str().unwrap_or("")
            );
        }
        if let Some(s) = outcome.claims.get("secure_boot") {
            println!("  secure_boot {}", s.as_str().unwrap_or(""));
        }
        for f in &outcome.failures {
            println!("  FAIL {}: {}", f.check, f.detail);
        }
        for w in &outcome.warnings {
            println!("  WARN {}: {}", w.check, w.detail);
        }
    }
    outcome.exit_code()
}

fn verify_against(a: &ReplayArgs, evidence: &str, log: EventLog) -> Result<cloud_ra_verify::Outcome, Error> {
    let bytes = read_file(evidence, "evidence")?;
    let at = match a.at.as_deref() {
        Some(s) => Timestamp::parse_rfc3339(s)?,
        None => Timestamp::now(),
    };
    let mut opts = VerifyOptions::at(at);
    opts.trust_simulated = a.trust_simulated;
    opts.eventlogs = vec![log];
    let mut collateral = Collateral::default();
    for path in &a.collateral {
        let b = read_file(path, "collateral")?;
        collateral.add_file(path, &b)?;
    }
    // Detected once, for the collateral step and the verifier.
    let d = match cloud_ra_verify::bundle::detect(&bytes) {
        Ok(d) => d,
        Err(e) => return Ok(cloud_ra_verify::Outcome::unrecognised(&e)),
    };
    let c = crate::collateral::for_verify(&a.sources, &d, &collateral, None, false, at)?;
    collateral.merge(&c);
    Ok(cloud_ra_verify::outcome::verify_detected(&d, &collateral, &opts, None))
}
