//! `cloud-ra compare SURVEY.json...`: the talk's per-cloud tables from survey files, one table per
//! TEE, one column per machine, rows whose values differ between machines of the same TEE marked
//! as interoperability differences. Markdown, or a standalone HTML page (no external assets).

use crate::print::fail;
use cloud_ra_attest::survey::Survey;
use cloud_ra_verify::Check;
use cloud_ra_verify::Error;
use serde_json::Value;

#[derive(clap::Args)]
pub struct CompareArgs {
    /// Survey files (`cloud-ra survey -o FILE`); several phases of one machine (same --label,
    /// different --phase) become one column.
    #[arg(required = true)]
    surveys: Vec<String>,
    /// A standalone HTML page instead of Markdown.
    #[arg(long)]
    html: bool,
    /// Write to a file instead of stdout.
    #[arg(short, long)]
    output: Option<String>,
}

/// One column: a machine and its surveys by phase.
pub struct Machine {
    pub label: String,
    pub surveys: Vec<Survey>,
}

impl Machine {
    /// Facts come from the `initial` phase, else the first survey given.
    fn main(&self) -> &Survey {
        self.surveys.iter().find(|s| s.phase.as_deref() == Some("initial")).unwrap_or(&self.surveys[0])
    }
    fn fact(&self, k: &str) -> Option<&Value> {
        self.main().fact(k).filter(|v| !v.is_null())
    }
    fn text(&self, k: &str) -> Option<String> {
        self.fact(k).map(|v| match v {
            Value::String(s) => s.clone(),
            o => o.to_string(),
        })
    }
    fn phase(&self, p: &str) -> Option<&Survey> {
        self.surveys.iter().find(|s| s.phase.as_deref() == Some(p))
    }
}

fn with_note(base: String, m: &Machine, note: &str) -> String {
    match m.text(&format!("note.{note}")) {
        Some(n) if base.is_empty() => n,
        Some(n) => format!("{base} ({n})"),
        None => base,
    }
}

fn handles(s: &Survey) -> Option<Vec<(String, String)>> {
    let v = s.fact("tpm.persistent_handles")?.as_array()?;
    Some(
        v.iter()
            .map(|h| {
                (
                    h.get("handle").and_then(Value::as_str).unwrap_or("?").to_string(),
                    h.get("kind").and_then(Value::as_str).unwrap_or("?").to_string(),
                )
            })
            .collect(),
    )
}

fn handles_cell(m: &Machine, phase: &str) -> String {
    match m.phase(phase).and_then(handles) {
        None => "—".into(),
        Some(h) if h.is_empty() => "None".into(),
        Some(h) => h.iter().map(|(a, k)| format!("{a} ({k})")).collect::<Vec<_>>().join(", "),
    }
}

type Row = (&'static str, fn(&Machine) -> String);

fn rows() -> Vec<Row> {
    vec![
        ("Cloud", |m| m.text("cloud").unwrap_or_else(|| "unknown".into())),
        ("Attestation interface", |m| {
            let s = m.main();
            // The CPU's interfaces; the vTPM only when it is the only way in (Azure).
            let mut usable: Vec<&str> = s
                .interfaces
                .iter()
                .filter(|i| i.usable == Some(true) && i.name != "tpm")
                .map(|i| i.path.as_str())
                .collect();
            if usable.is_empty() {
                usable = s.interfaces.iter().filter(|i| i.usable == Some(true)).map(|i| i.path.as_str()).collect();
            }
            if usable.is_empty() {
                let present: Vec<&str> = s.interfaces.iter().filter(|i| i.present).map(|i| i.path.as_str()).collect();
                format!(
                    "none usable (present: {})",
                    if present.is_empty() { "none".into() } else { present.join(", ") }
                )
            } else {
                usable.join(", ")
            }
        }),
        ("VMPL of the OS", |m| with_note(m.text("vmpl").unwrap_or_else(|| "—".into()), m, "vmpl")),
        ("vTPM", |m| {
            let base = match m.fact("vtpm.present") {
                Some(Value::Bool(true)) => "yes",
                Some(Value::Bool(false)) => "no",
                _ => "unknown",
            };
            with_note(base.into(), m, "vtpm_setting")
        }),
        ("vTPM rooted in the TEE", |m| {
            m.text("vtpm.tee_rooted")
                .map(|r| match r.as_str() {
                    "vmpl-hosted" => "yes: VMPL-hosted (SVSM)".to_string(),
                    "paravisor" => "via the paravisor (HCL report)".to_string(),
                    "no" => "no (hypervisor vTPM)".to_string(),
                    o => o.to_string(),
                })
                .unwrap_or_else(|| "—".into())
        }),
        ("Secure boot", |m| {
            let base = match m.fact("secure_boot") {
                Some(Value::Bool(true)) => "enabled",
                Some(Value::Bool(false)) => "disabled",
                _ => "unknown",
            };
            with_note(base.into(), m, "secure_boot_setting")
        }),
        ("CPU attestation key", |m| {
            m.text("report.signing_key").map(|k| k.to_uppercase()).unwrap_or_else(|| "—".into())
        }),
        ("TPM attestation key", |m| {
            // After the talk's EK/AK setup when surveyed, else the latest survey.
            let last = m.phase("after-setup").or(m.surveys.last()).and_then(handles).unwrap_or_default();
            let aks: Vec<String> =
                last.iter().filter(|(_, k)| k.starts_with("AK")).map(|(h, k)| format!("{k} at {h}")).collect();
            if aks.is_empty() { "—".into() } else { aks.join(", ") }
        }),
        ("Report version", |m| {
            m.text("report.version")
                .map(|v| format!("SNP report v{v}"))
                .or_else(|| m.text("quote.version").map(|v| format!("quote v{v}")))
                .unwrap_or_else(|| "—".into())
        }),
        ("TCB", |m| match m.fact("report.tcb") {
            Some(Value::Object(o)) => o
                .iter()
                .map(|(k, v)| format!("{k}={}", v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string())))
                .collect::<Vec<_>>()
                .join(" "),
            _ => "—".into(),
        }),
        ("Event logs", |m| {
            let mut v = Vec::new();
            if m.fact("eventlog.tpm") == Some(&Value::Bool(true)) {
                v.push("TPM log");
            }
            if m.fact("eventlog.ccel") == Some(&Value::Bool(true)) {
                v.push("CCEL");
            }
            if v.is_empty() { "none".into() } else { v.join(", ") }
        }),
        ("TPM handles: initial", |m| handles_cell(m, "initial")),
        ("TPM handles: after EK/AK setup", |m| handles_cell(m, "after-setup")),
        ("TPM handles: after reboot", |m| handles_cell(m, "after-reboot")),
        ("Keys survive reboot", |m| {
            match (m.phase("after-setup").and_then(handles), m.phase("after-reboot").and_then(handles)) {
                (Some(before), Some(after)) => {
                    let lost: Vec<&str> =
                        before.iter().filter(|h| !after.contains(h)).map(|(h, _)| h.as_str()).collect();
                    if lost.is_empty() { "yes".into() } else { format!("no (lost {})", lost.join(", ")) }
                }
                _ => "—".into(),
            }
        }),
    ]
}

/// One table per TEE, in the order the TEEs first appear.
pub struct Table {
    pub tee: String,
    pub machines: Vec<Machine>,
    /// (aspect, cells, differs)
    pub rows: Vec<(String, Vec<String>, bool)>,
}

pub fn tables(surveys: Vec<Survey>) -> Vec<Table> {
    let mut groups: Vec<(String, Vec<Machine>)> = Vec::new();
    for s in surveys {
        let tee = s.fact("tee").and_then(Value::as_str).unwrap_or("unknown").to_string();
        let gi = match groups.iter().position(|(t, _)| *t == tee) {
            Some(i) => i,
            None => {
                groups.push((tee, Vec::new()));
                groups.len() - 1
            }
        };
        let machines = &mut groups[gi].1;
        match machines.iter_mut().find(|m| m.label == s.machine) {
            Some(m) => m.surveys.push(s),
            None => machines.push(Machine { label: s.machine.clone(), surveys: vec![s] }),
        }
    }
    groups
        .into_iter()
        .map(|(tee, machines)| {
            let rows = rows()
                .into_iter()
                .map(|(name, f)| {
                    let cells: Vec<String> = machines.iter().map(f).collect();
                    // Machines on different clouds differ in their cloud by definition.
                    let differs = name != "Cloud" && cells.iter().any(|c| *c != cells[0]);
                    (name.to_string(), cells, differs)
                })
                // Rows that say nothing for any machine are left out.
                .filter(|(_, cells, _)| cells.iter().any(|c| c != "—"))
                .collect();
            Table { tee, machines, rows }
        })
        .collect()
}

fn tee_title(tee: &str) -> String {
    cloud_ra_attest::survey::Tee::parse(tee).map(|t| t.title().to_string()).unwrap_or_else(|| tee.to_string())
}

/// Where the surveys came from, when not from `cloud-ra survey` (one line if all agree).
fn provenance(t: &Table) -> Option<String> {
    let all: Vec<(&str, &str)> =
        t.machines.iter().filter_map(|m| m.main().provenance.as_deref().map(|p| (m.label.as_str(), p))).collect();
    let first = all.first()?.1;
    if all.len() == t.machines.len() && all.iter().all(|(_, p)| *p == first) {
        Some(format!("all columns: {first}"))
    } else {
        Some(all.iter().map(|(l, p)| format!("{l}: {p}")).collect::<Vec<_>>().join("; "))
    }
}

fn md_cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

pub fn markdown(tables: &[Table]) -> String {
    let mut out = String::from("# Confidential computing across clouds\n\n");
    for t in tables {
        out += &format!("## {} on clouds\n\n| |", tee_title(&t.tee));
        for m in &t.machines {
            out += &format!(" {} |", md_cell(&m.label));
        }
        out += "\n|---|";
        out += &"---|".repeat(t.machines.len());
        out += "\n";
        for (name, cells, differs) in &t.rows {
            let head = if *differs && t.machines.len() > 1 { format!("**{name}** ≠") } else { name.clone() };
            out += &format!("| {head} |");
            for c in cells {
                out += &format!(" {} |", md_cell(c));
            }
            out += "\n";
        }
        let diffs: Vec<&str> = t.rows.iter().filter(|r| r.2).map(|r| r.0.as_str()).collect();
        if t.machines.len() > 1 && !diffs.is_empty() {
            out += &format!(
                "\nInteroperability differences (≠) between these {} machines: {}.\n",
                tee_title(&t.tee),
                diffs.join(", ")
            );
        }
        out += &provenance(t).map(|p| format!("\nProvenance: {p}\n")).unwrap_or_default();
        out += "\n";
    }
    out
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

pub fn html(tables: &[Table]) -> String {
    let mut out = String::from(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>cloud-ra compare</title>\n<style>\
body{font-family:sans-serif;margin:2em;color:#222}table{border-collapse:collapse;margin-bottom:1.5em}\
th,td{border:1px solid #999;padding:.35em .6em;text-align:left;vertical-align:top}thead th{background:#e8eef7}\
tr.differs th,tr.differs td{background:#fff3cd}tr.differs th::after{content:\" \\2260\";color:#b35c00}\
.note{color:#555;font-size:.9em}</style></head><body>\n<h1>Confidential computing across clouds</h1>\n\
<p class=\"note\">Rows highlighted and marked &ne; differ between machines of the same TEE: interoperability differences.</p>\n",
    );
    for t in tables {
        out += &format!(
            "<h2>{} on clouds</h2>\n<table id=\"{}\">\n<thead><tr><th></th>",
            esc(&tee_title(&t.tee)),
            esc(&t.tee)
        );
        for m in &t.machines {
            out += &format!("<th>{}</th>", esc(&m.label));
        }
        out += "</tr></thead>\n<tbody>\n";
        for (name, cells, differs) in &t.rows {
            let cls = if *differs && t.machines.len() > 1 { " class=\"differs\"" } else { "" };
            out += &format!("<tr{cls}><th>{}</th>", esc(name));
            for c in cells {
                out += &format!("<td>{}</td>", esc(c));
            }
            out += "</tr>\n";
        }
        out += "</tbody></table>\n";
        if let Some(p) = provenance(t) {
            out += &format!("<p class=\"note\">Provenance: {}</p>\n", esc(&p));
        }
    }
    out += "</body></html>\n";
    out
}

pub fn run(a: CompareArgs) -> i32 {
    let mut surveys = Vec::new();
    for path in &a.surveys {
        let bytes = match crate::input::read_file(path, "survey") {
            Ok(b) => b,
            Err(e) => return fail(&e),
        };
        match Survey::parse(path, &bytes) {
            Ok(s) => surveys.push(s),
            Err(e) => return fail(&Error::usage(Check::Survey, e.to_string())),
        }
    }
    let t = tables(surveys);
    let text = if a.html { html(&t) } else { markdown(&t) };
    match &a.output {
        Some(p) => {
            if let Err(e) = std::fs::write(p, text) {
                return fail(&Error::usage(Check::Compare, format!("{p}: {e}")));
            }
            eprintln!("wrote {p}");
        }
        None => print!("{text}"),
    }
    0
}
