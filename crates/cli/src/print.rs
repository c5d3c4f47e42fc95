//! Printing shared by the subcommands: errors, verification outcomes, JSON and the indented
//! tree of `show`-like output.

use cloud_ra_verify::{Category, Check, Error, Outcome, Platform, Status};
use serde_json::Value;

/// Prints the error on stderr and returns its exit code.
pub fn fail(e: &Error) -> i32 {
    eprintln!("error: {e}");
    e.exit_code()
}

/// One JSON value, pretty-printed, on stdout.
pub fn json(v: &Value) {
    println!("{}", serde_json::to_string_pretty(v).unwrap_or_default());
}

/// `v` as JSON (`--json`) or as an indented tree.
pub fn value(v: &Value, json_out: bool) {
    if json_out {
        json(v);
    } else {
        tree(v, 0);
    }
}

/// Human output: one verdict line, the claims that matter, then each failure and warning.
pub fn outcome(o: &Outcome, json_out: bool) {
    if json_out {
        json(&o.to_json());
        return;
    }
    // A usage error (exit 1) decides the headline: nothing was appraised, whatever the evidence.
    let usage = o.failures.first().filter(|f| f.category == Category::Usage);
    let verdict = match (usage, o.verified, o.status) {
        (Some(f), verified, _) => format!(
            "USAGE ERROR in {}: {}",
            if f.check == Check::Policy { "the policy".to_string() } else { format!("'{}'", f.check) },
            if verified { "evidence VERIFIED, NOT appraised" } else { "NOT VERIFIED" }
        ),
        (None, false, _) => "NOT VERIFIED".into(),
        (None, true, Status::Affirming) => "VERIFIED, appraisal passed (affirming)".into(),
        (None, true, Status::Warning) => "VERIFIED, appraisal passed with warnings".into(),
        (None, true, Status::Contraindicated) => "VERIFIED, but appraisal FAILED (contraindicated)".into(),
    };
    println!("{verdict}: {} [{}]", o.platform, o.detected);
    let c = &o.claims;
    for key in [
        "tcb_status",
        "advisory_ids",
        "tcb_date",
        "qe_tcb_status",
        "fmspc",
        "mrtd",
        "mrenclave",
        "mrsigner",
        "product",
        "signing_key",
        "version",
        "vmpl",
        "measurement",
        "report_data",
        "host_data",
        "chip_id",
        "debug",
        "nonce_bound",
        "freshness",
        "simulated",
        "current_firmware",
        "crls_checked",
        "module_id",
        "parent_instance_id",
        "timestamp_utc",
        "evaluated_at",
        "user_data",
        "nonce",
        "extra_data",
        "secure_boot",
    ] {
        if let Some(v) = c.get(key) {
            // No user data (absent, or zero bytes) is shown as such, not as `null`.
            let empty = key == "user_data" && (v.is_null() || v.as_str() == Some(""));
            println!("  {key:<17} {}", if empty { "(empty)".into() } else { plain(v) });
        }
    }
    registers(o);
    if let Some(fp) = c.get("ak_pub").and_then(|v| v.get("sha256")) {
        println!("  {:<17} {}", "ak_pub_sha256", plain(fp));
    }
    if let Some(cert) = c.get("ak_cert").and_then(|v| v.get("sha256")) {
        println!("  {:<17} {}", "ak_cert_sha256", plain(cert));
    }
    if let Some(i) = c.get("instance").and_then(|v| v.as_object()) {
        let parts: Vec<String> = i.iter().map(|(k, v)| format!("{k}={}", plain(v))).collect();
        println!("  {:<17} {}", "instance", parts.join(" "));
    }
    if let Some(p) = c.get("pcrs").and_then(|v| v.as_object()) {
        // A Nitro document signs its PCRs (SHA-384); a vTPM quotes its SHA-256 bank as `pcrs`.
        if o.platform == Platform::Nitro {
            println!("  {:<17} {} SHA-384 PCRs in the signed document", "pcrs", p.len());
        } else {
            println!("  {:<17} {} SHA-256 PCRs quoted", "pcrs", p.len());
        }
    }
    for bank in ["sha1", "sha384", "sha512"] {
        if let Some(p) = c.get(format!("pcrs_{bank}")).and_then(|v| v.as_object()) {
            println!("  {:<17} {} {} PCRs quoted", format!("pcrs_{bank}"), p.len(), bank.to_uppercase());
        }
    }
    if let Some(t) = c.get("reported_tcb").and_then(|v| v.as_object()) {
        let parts: Vec<String> = t.iter().map(|(k, v)| format!("{k}={v}")).collect();
        println!("  {:<17} {}", "reported_tcb", parts.join(" "));
    }
    for f in &o.failures {
        println!("  FAIL {}: {}", f.check, f.detail);
    }
    for w in &o.warnings {
        println!("  WARN {}: {}", w.check, w.detail);
    }
}

/// The registers a user compares that the lines above do not show, from the typed measurements:
/// TDX RTMR0..3 (MRTD is a claim line), Nitro PCR0/1/2/3/4/8 (an all-zero or absent PCR is one
/// the enclave image did not set: "(empty)").
fn registers(o: &Outcome) {
    let m = o.claims.measurements();
    if m.is_empty() {
        return;
    }
    match o.platform {
        Platform::Tdx | Platform::AzureTdxVtpm => {
            for i in 0..4 {
                let k = format!("rtmr{i}");
                if let Some(v) = m.get(&k) {
                    println!("  {k:<17} {}", hex::encode(v));
                }
            }
        }
        Platform::Nitro => {
            for i in [0, 1, 2, 3, 4, 8] {
                let k = format!("pcr{i}");
                let v = m.get(&k).filter(|v| v.iter().any(|&b| b != 0)).map(hex::encode);
                println!("  {k:<17} {}", v.as_deref().unwrap_or("(empty)"));
            }
        }
        _ => {}
    }
}

/// A JSON scalar as a human reads it: strings without quotes.
pub fn plain(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Objects as `key: value` lines, arrays as `[i]` entries, nested values indented by two.
pub fn tree(v: &Value, indent: usize) {
    let pad = " ".repeat(indent);
    match v {
        Value::Object(m) => {
            for (k, val) in m {
                match val {
                    Value::Object(_) | Value::Array(_) => {
                        println!("{pad}{k}:");
                        tree(val, indent + 2);
                    }
                    _ => println!("{pad}{k}: {}", plain(val)),
                }
            }
        }
        Value::Array(a) => {
            for (i, val) in a.iter().enumerate() {
                println!("{pad}[{i}]");
                tree(val, indent + 2);
            }
        }
        other => println!("{pad}{}", plain(other)),
    }
}
