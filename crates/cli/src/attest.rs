//! `cloud-ra attest`, `detect` and `survey`: collection and facts on this machine (or under
//! `--root`, a fixture tree), through the real interfaces or their simulations.

use crate::print::fail;
use cloud_ra_attest::collect::{SnpCollectOptions, collect_snp_bundle, collect_tsm_bundle};
use cloud_ra_attest::configfs_tsm::{ConfigfsTsm, DEFAULT_ROOT, SimProvider, SimTsm};
use cloud_ra_attest::nsm::{DevNsm, Nsm, SimNsm};
use cloud_ra_attest::sim_sev_guest::{HostCerts, SimSevGuest};
use cloud_ra_attest::source::Source;
use cloud_ra_attest::survey::{Probe, Survey, add_note, survey};
use cloud_ra_attest::{DevSevGuest, SevGuest};
use cloud_ra_verify::Check;
use cloud_ra_verify::bundle::Bundle;
use cloud_ra_verify::policy::{pad64, parse_hex};
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

fn fresh_nonce() -> Result<[u8; 64], Error> {
    cloud_ra_attest::collect::fresh_nonce().map_err(|e| Error::usage(Check::Nonce, e))
}

fn under(root: &Path, abs: &str) -> PathBuf {
    root.join(abs.trim_start_matches('/'))
}

/// The platform `auto` resolves to, from what exists under the root; or why there is none.
pub fn detect_platform(root: &Path) -> Result<Source, Error> {
    let exists = |p: &str| std::fs::symlink_metadata(under(root, p)).is_ok();
    if exists("/dev/nsm") {
        return Ok(Source::Nitro);
    }
    let tsm = ConfigfsTsm::real(under(root, DEFAULT_ROOT));
    let tsm_state = tsm.check();
    if tsm_state.is_ok() {
        return match tsm.provider() {
            Ok(p) if p == "tdx_guest" => Ok(Source::Tdx),
            Ok(p) if p == "sev_guest" => Ok(Source::Snp),
            Ok(p) => Err(usage(format!(
                "configfs-tsm provider '{p}' is not one cloud-ra collects from (sev_guest, tdx_guest)"
            ))),
            Err(e) if exists("/dev/sev-guest") => {
                eprintln!("note: configfs-tsm unusable ({e}); using /dev/sev-guest");
                Ok(Source::Snp)
            }
            Err(e) => Err(usage(e.to_string())),
        };
    }
    if exists("/dev/sev-guest") {
        return Ok(Source::Snp);
    }
    if exists("/dev/tdx_guest") {
        return Err(usage(
            "only /dev/tdx_guest is present: it gives a TDREPORT (MAC'd, verifiable only on this machine); a TDX quote needs configfs-tsm (Linux ≥ 6.7: `mount -t configfs none /sys/kernel/config`)",
        ));
    }
    if exists("/dev/tpmrm0") || exists("/dev/tpm0") {
        let vendor = std::fs::read_to_string(under(root, "/sys/class/dmi/id/sys_vendor")).unwrap_or_default();
        if vendor.trim() == "Microsoft Corporation" {
            return Err(usage(
                "an Azure machine with a vTPM and no guest device: use --platform azure-snp or azure-tdx (the HCL report is in vTPM NV 0x01400001)",
            ));
        }
    }
    let tsm_why = tsm_state.err().map(|e| e.to_string()).unwrap_or_default();
    Err(usage(format!(
        "no attestation interface under {}: {}; configfs-tsm: {tsm_why}; /dev/tdx_guest and /dev/nsm absent",
        root.display(),
        cloud_ra_attest::SevGuestError::Absent
    )))
}

fn sim_snp(platform: Source) -> Option<SimSevGuest> {
    match platform {
        Source::SimSnp | Source::SimSnpTsm => Some(SimSevGuest::default()),
        Source::SimSnpVlek => Some(SimSevGuest { host_certs: HostCerts::VlekOnly, ..SimSevGuest::default() }),
        Source::SimSnpVmpl2 => {
            Some(SimSevGuest { host_certs: HostCerts::None, guest_vmpl: 2, ..SimSevGuest::default() })
        }
        _ => None,
    }
}

/// The Azure vTPM collection (HCL report, AK quote, TD quote from the IMDS), through the TPM
/// backend.
fn collect_azure(platform: Source, nonce: &[u8], a: &AttestArgs) -> Result<Bundle, Error> {
    crate::tpm::collect_azure_bundle(&a.azure, platform.as_str(), nonce, Timestamp::now())
}

/// Collects a bundle; `verify --trust-simulated` accepts the simulated ones.
pub fn collect(a: &AttestArgs, nonce: &[u8]) -> Result<Bundle, Error> {
    if a.vmpl.is_some_and(|v| v > 3) {
        return Err(usage(format!("--vmpl {} does not exist (0..=3)", a.vmpl.unwrap_or_default())));
    }
    let now = Timestamp::now();
    let platform = if a.platform == Source::Auto { detect_platform(&a.root)? } else { a.platform };
    let snp_opts = |vmpl: u32| SnpCollectOptions {
        report_data: pad64(nonce),
        vmpl,
        extended: a.extended,
        msg_version: a.msg_version,
    };
    let vmpl = a.vmpl.unwrap_or(0);
    let announce_vmpl = || {
        eprintln!(
            "requesting the SNP report at VMPL {vmpl}{}",
            if a.vmpl.is_none() { " (default, the ioctl's; snpguest asks 1; Sakura guests need --vmpl 2)" } else { "" }
        )
    };
    let tsm_err = |e: cloud_ra_attest::collect::CollectError| usage(e.to_string());
    let bundle = match platform {
        Source::SimSgx => cloud_ra_attest::collect::collect_sim_dcap_bundle(false, pad64(nonce), nonce, now),
        Source::SimTdx => {
            let sim = SimTsm::new(SimProvider::TdxGuest).map_err(|e| usage(format!("simulated configfs-tsm: {e}")))?;
            collect_tsm_bundle(&sim.into_tsm(), nonce, None, Some("tdx_guest"), now).map_err(tsm_err)?
        }
        Source::SimSnpTsm => {
            announce_vmpl();
            let guest = sim_snp(platform).unwrap_or_default();
            let sim =
                SimTsm::new(SimProvider::SevGuest(guest)).map_err(|e| usage(format!("simulated configfs-tsm: {e}")))?;
            collect_tsm_bundle(&sim.into_tsm(), nonce, Some(vmpl), Some("sev_guest"), now).map_err(tsm_err)?
        }
        p if sim_snp(p).is_some() => {
            announce_vmpl();
            let dev = sim_snp(p).unwrap_or_default();
            collect_snp_bundle(&dev, &snp_opts(vmpl), nonce, now).map_err(|e| usage(e.to_string()))?
        }
        Source::SimNitro | Source::Nitro => {
            let nsm: Box<dyn Nsm> = if platform == Source::SimNitro {
                Box::new(SimNsm::default())
            } else {
                let path = under(&a.root, "/dev/nsm");
                Box::new(DevNsm::open(&path.to_string_lossy()).map_err(|e| usage(e.to_string()))?)
            };
            let doc = cloud_ra_attest::nsm::request_document(nsm.as_ref(), None, Some(nonce), None)
                .map_err(|e| usage(e.to_string()))?;
            let mut b = Bundle::new_nitro(&doc);
            b.nonce = Some(hex::encode(nonce));
            b.collected_at = Some(now.to_rfc3339());
            b.platform_info = json!({"interface": nsm.describe(), "simulated": nsm.simulated()});
            b
        }
        Source::Snp => {
            let tsm = ConfigfsTsm::real(under(&a.root, DEFAULT_ROOT));
            let use_tsm = match a.interface.as_str() {
                "configfs-tsm" => true,
                "sev-guest" => false,
                "auto" => tsm.check().is_ok() && a.device.is_none(),
                other => return Err(usage(format!("--interface '{other}': auto, sev-guest or configfs-tsm"))),
            };
            announce_vmpl();
            if use_tsm {
                collect_tsm_bundle(&tsm, nonce, Some(vmpl), Some("sev_guest"), now).map_err(tsm_err)?
            } else {
                let path =
                    a.device.clone().unwrap_or_else(|| under(&a.root, "/dev/sev-guest").to_string_lossy().into_owned());
                let dev = DevSevGuest::open(&path).map_err(|e| usage(e.to_string()))?;
                collect_snp_bundle(&dev as &dyn SevGuest, &snp_opts(vmpl), nonce, now)
                    .map_err(|e| usage(e.to_string()))?
            }
        }
        Source::Tdx => {
            let tsm = ConfigfsTsm::real(under(&a.root, DEFAULT_ROOT));
            collect_tsm_bundle(&tsm, nonce, None, Some("tdx_guest"), now).map_err(tsm_err)?
        }
        Source::AzureSnp | Source::AzureTdx => collect_azure(platform, nonce, a)?,
        other => return Err(usage(format!("platform '{other}' cannot be collected from here"))),
    };
    let mut bundle = bundle;
    // The machine's event logs ride along (a simulated platform is not this machine: none).
    if bundle.platform_info.get("simulated").and_then(Value::as_bool) != Some(true) {
        let notes = cloud_ra_attest::collect::add_eventlogs(&mut bundle, &a.root);
        for n in &notes {
            eprintln!("note: event log {n}");
        }
        if !notes.is_empty() {
            bundle.platform_info["eventlog_notes"] = json!(notes);
        }
    }
    Ok(bundle)
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
        None => match fresh_nonce() {
            Ok(n) => {
                // A TPM quote's qualifying data is a TPM2B_DATA: at most the size of the largest
                // digest the TPM implements (48 bytes on a TPM without SHA-512). 32 fresh bytes
                // fit every TPM; SNP/TDX report data takes all 64.
                let vtpm = a.platform.is_vtpm()
                    || (a.platform == Source::Auto && detect_platform(&a.root).is_ok_and(Source::is_vtpm));
                let n = if vtpm { &n[..32] } else { &n[..] };
                eprintln!("nonce: {}", hex::encode(n));
                n.to_vec()
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
    let platform = detect_platform(&a.m.root).map(Source::as_str).map_err(|e| e.detail);
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
