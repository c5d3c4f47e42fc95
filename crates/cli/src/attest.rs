//! `cloud-ra attest`, `detect` and `survey`: collection and facts on this machine (or under
//! `--root`, a fixture tree), through the real interfaces or their simulations. Arguments and
//! printing only: detection and collection are `cloud_ra_attest::platform`'s, facts
//! `cloud_ra_attest::survey`'s.

use crate::print::fail;
use cloud_ra_attest::platform::{self, CollectRequest};
use cloud_ra_attest::source::Source;
use cloud_ra_attest::survey::{Probe, Survey, add_note, survey};
use cloud_ra_verify::Check;
use cloud_ra_verify::bundle::Bundle;
use cloud_ra_verify::policy::parse_hex;
use cloud_ra_verify::{Error, Timestamp};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

#[derive(clap::Args)]
pub struct AttestArgs {
    /// auto (detect under --root), snp (configfs-tsm sev_guest, else /dev/sev-guest), tdx (configfs-tsm
    /// tdx_guest), nitro (/dev/nsm), azure-snp / azure-tdx (vTPM), or a SIMULATED platform: sim-snp
    /// (VCEK chain like GCP), sim-snp-vlek (VLEK like AWS), sim-snp-vmpl2 (guest at VMPL 2, no host
    /// certificates, like Sakura), sim-snp-tsm (SNP through a simulated configfs-tsm), sim-tdx (TDX v4
    /// quote through a simulated configfs-tsm), sim-sgx (SGX v3 quote), sim-nitro (simulated NSM).
    #[arg(long, default_value = "auto", value_parser = parse_source)]
    platform: Source,
    /// SNP interface: auto (configfs-tsm when present, else /dev/sev-guest), sev-guest, configfs-tsm.
    #[arg(long, default_value = "auto")]
    interface: String,
    /// Nonce from the verifier (hex, up to 64 bytes). Default: 64 fresh random bytes (printed on stderr).
    #[arg(long)]
    nonce: Option<String>,
    /// SNP VMPL to request the report at (0-3). Default 0, the kernel ioctl's default (snpguest's is 1);
    /// it must be at or above the guest's own VMPL: Sakura's guests run at VMPL 2 and need --vmpl 2.
    #[arg(long)]
    vmpl: Option<u32>,
    /// SNP: use SNP_GET_EXT_REPORT and include the host's certificate table (configfs-tsm always returns it).
    #[arg(long)]
    extended: bool,
    /// SNP guest message version for the /dev/sev-guest ioctls (1 on every kernel so far).
    #[arg(long, default_value_t = 1)]
    msg_version: u8,
    /// Device node for the /dev/sev-guest interface (default: <root>/dev/sev-guest).
    #[arg(long)]
    device: Option<String>,
    /// Root of the machine's file system (/dev, /sys): a fixture tree in tests.
    #[arg(long, default_value = "/")]
    root: PathBuf,
    /// Output file (default: stdout).
    #[arg(short, long)]
    output: Option<String>,
    #[command(flatten, next_help_heading = "Azure vTPM (--platform azure-snp|azure-tdx)")]
    azure: crate::tpm::AzureArgs,
    #[command(flatten)]
    pub verifier: crate::serve::VerifierArgs,
}

/// `--platform NAME`: one of the attester sources.
fn parse_source(name: &str) -> Result<Source, String> {
    Source::parse(name).ok_or_else(|| format!("platform '{name}' is not known ({})", Source::names()))
}

fn usage(detail: impl Into<String>) -> Error {
    Error::usage(Check::Attest, detail.into())
}

/// Lines for the user from the library go to stderr.
fn stderr(line: &str) {
    eprintln!("{line}");
}

impl AttestArgs {
    fn request(&self) -> CollectRequest {
        CollectRequest {
            platform: self.platform,
            interface: self.interface.clone(),
            vmpl: self.vmpl,
            extended: self.extended,
            msg_version: self.msg_version,
            device: self.device.clone(),
            root: self.root.clone(),
            azure: self.azure.request(),
        }
    }
}

/// Collects a bundle; `verify --trust-simulated` accepts the simulated ones.
pub fn collect(a: &AttestArgs, nonce: &[u8]) -> Result<Bundle, Error> {
    platform::collect(&a.request(), nonce, &mut stderr)
}

pub fn run_attest(a: AttestArgs) -> i32 {
    if a.verifier.verifier.is_some() {
        if a.nonce.is_some() {
            return fail(&usage("--nonce and --verifier exclude each other: the verifier issues the nonce"));
        }
        // The challenge-response flow: the verifier's nonce, this collection, its result.
        return crate::serve::attest_with_verifier(&a.verifier, |nonce| collect(&a, nonce));
    }
    let nonce = match &a.nonce {
        Some(h) => match parse_hex("nonce", h, 64) {
            Ok(v) => v,
            Err(e) => return fail(&e),
        },
        None => match platform::fresh_nonce(a.platform, &a.root, &mut stderr) {
            Ok(n) => {
                eprintln!("nonce: {}", hex::encode(&n));
                n
            }
            Err(e) => return fail(&e),
        },
    };
    // The evidence bundle; a `--verifier URL` flow would send it on from here.
    let bundle = match collect(&a, &nonce) {
        Ok(b) => b,
        Err(e) => return fail(&e),
    };
    let source = bundle.platform_info.get("interface").and_then(Value::as_str).unwrap_or("").to_string();
    write_out(&bundle.to_json(), a.output.as_deref(), &source)
}

fn write_out(text: &str, output: Option<&str>, source: &str) -> i32 {
    match output {
        Some(path) => {
            if let Err(e) = std::fs::write(path, text.as_bytes()) {
                return fail(&usage(format!("{path}: {e}")));
            }
            eprintln!("wrote {path} ({source})");
        }
        None => println!("{text}"),
    }
    0
}

/// The machine `detect` and `survey` look at.
#[derive(clap::Args)]
pub struct MachineArgs {
    /// Root of the machine's file system (/dev, /sys, /proc): a fixture tree or a mounted image.
    #[arg(long, default_value = "/")]
    root: PathBuf,
    /// One JSON object (survey: the survey file format, cloud-ra/survey/v1).
    #[arg(long)]
    json: bool,
    /// Do not request reports (VMPL, report version, signing key and TCB stay unknown).
    #[arg(long)]
    no_report: bool,
}

impl MachineArgs {
    fn probe(&self, cmd: Check) -> Result<Survey, Error> {
        if !self.root.is_dir() {
            return Err(Error::usage(cmd, format!("--root {}: not a directory", self.root.display())));
        }
        Ok(run_probe(&self.root, self.no_report))
    }
}

#[derive(clap::Args)]
pub struct SurveyArgs {
    #[command(flatten)]
    m: MachineArgs,
    /// Label of the machine (a column of `compare`). Default: <cloud>-<tee>.
    #[arg(long)]
    label: Option<String>,
    /// Phase of an experiment (e.g. initial, after-setup, after-reboot): `compare` puts the TPM
    /// handles of each phase side by side.
    #[arg(long)]
    phase: Option<String>,
    /// Operator statement KEY=VALUE stored as fact note.KEY (e.g. vtpm_setting="immutable after VM creation"). Repeatable.
    #[arg(long)]
    note: Vec<String>,
    /// Write to a file instead of stdout (JSON).
    #[arg(short, long)]
    output: Option<String>,
}

/// The vTPM probe (persistent handles, NV indexes) for `survey`: the TPM backend
/// when a TPM is named ($TPM2TOOLS_TCTI / $TCTI) or `--root /` has one; else device nodes only.
fn tpm_probe(root: &Path) -> Option<Box<dyn cloud_ra_attest::survey::TpmProbe>> {
    crate::tpm::survey_probe(root)
}

fn run_probe(root: &Path, no_report: bool) -> Survey {
    let tpm = tpm_probe(root);
    let mut p = Probe::new(root);
    p.request_report = !no_report;
    p.tpm = tpm.as_deref();
    survey(&p)
}

pub fn run_survey(a: SurveyArgs) -> i32 {
    let mut s = match a.m.probe(Check::Survey) {
        Ok(s) => s,
        Err(e) => return fail(&e),
    };
    if let Some(l) = a.label {
        s.machine = l;
    }
    s.phase = a.phase;
    s.collected_at = Some(Timestamp::now().to_rfc3339());
    for n in &a.note {
        let Some((k, v)) = n.split_once('=') else {
            return fail(&Error::usage(Check::Survey, format!("--note '{n}': expected KEY=VALUE")));
        };
        add_note(&mut s, k.trim(), v.trim());
    }
    let text = serde_json::to_string_pretty(&s).unwrap_or_default();
    if a.output.is_some() {
        return write_out(&text, a.output.as_deref(), "survey");
    }
    if a.m.json {
        println!("{text}");
    } else {
        print_survey(&s, true);
    }
    0
}

#[derive(clap::Args)]
pub struct DetectArgs {
    #[command(flatten)]
    m: MachineArgs,
}

pub fn run_detect(a: DetectArgs) -> i32 {
    let s = match a.m.probe(Check::Detect) {
        Ok(s) => s,
        Err(e) => return fail(&e),
    };
    let platform = platform::detect_platform(&a.m.root, &mut stderr).map(Source::as_str).map_err(|e| e.detail);
    if a.m.json {
        let pick = |k: &str| s.facts.get(k).map(|f| json!({"value": f.value, "source": f.source, "trust": f.trust}));
        let v = json!({
            "tee": pick("tee"), "cloud": pick("cloud"), "vmpl": pick("vmpl"),
            "attest_platform": platform.as_ref().ok(), "attest_platform_error": platform.as_ref().err(),
            "interfaces": s.interfaces,
        });
        crate::print::json(&v);
    } else {
        print_survey(&s, false);
        match platform {
            Ok(p) => println!("attest:     cloud-ra attest --platform {p}"),
            Err(e) => println!("attest:     no interface to collect from: {e}"),
        }
    }
    0
}

fn print_survey(s: &Survey, all: bool) {
    let show = |v: &Value| match v {
        Value::String(s) => s.clone(),
        Value::Null => "unknown".into(),
        o => o.to_string(),
    };
    for key in ["tee", "cloud", "vmpl"] {
        if let Some(f) = s.facts.get(key) {
            println!("{:<11} {}  [{}: {}]", format!("{key}:"), show(&f.value), f.trust.label(), f.source);
        }
    }
    println!("interfaces:");
    for i in &s.interfaces {
        let state = match (i.present, i.usable) {
            (false, _) => "absent",
            (true, Some(true)) => "present, usable",
            (true, Some(false)) => "present, NOT usable",
            (true, None) => "present",
        };
        println!(
            "  {:<14} {:<40} {state}{}",
            i.name,
            i.path,
            if i.detail.is_empty() { String::new() } else { format!(": {}", i.detail) }
        );
    }
    if all {
        println!("facts:");
        for (k, f) in &s.facts {
            if ["tee", "cloud", "vmpl"].contains(&k.as_str()) {
                continue;
            }
            println!("  {k:<24} {:<28} [{}: {}]", show(&f.value), f.trust.label(), f.source);
        }
    }
}
