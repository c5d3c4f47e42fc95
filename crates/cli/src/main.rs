//! cloud-ra: the command line. Argument parsing and printing only; the work lives in the crates.

#![forbid(unsafe_code)]

use clap::{Parser, Subcommand};
use cloud_ra_verify::Check;
use cloud_ra_verify::bundle::detect;
use cloud_ra_verify::outcome::verify_detected;
use cloud_ra_verify::snp::Product;
use cloud_ra_verify::{Collateral, Error, Policy, Timestamp, VerifyOptions};
use input::{parse_product, read_file};
use print::fail;
use std::process::ExitCode;

mod attest;
mod collateral;
mod compare;
mod demo;
mod eventlog;
mod input;
mod log;
mod maa;
mod measure;
mod nitro;
mod policy;
mod print;
mod serve;
mod token;
mod tpm;

const LONG_ABOUT: &str = "cloud-ra collects attestation evidence on confidential machines and verifies it anywhere, offline if need be.

Exit codes: 0 verified and appraisal passed (affirming or warning); 1 usage error; 2 evidence invalid (format, signature, chain, binding); 3 collateral missing or unusable; 4 appraisal failed (policy, debug, TCB).";

#[derive(Parser)]
#[command(name = "cloud-ra", version = env!("CLOUD_RA_LONG_VERSION"), about = "Remote attestation for confidential computing on public clouds", long_about = LONG_ABOUT)]
struct Cli {
    /// More diagnostics on stderr: -v info, -vv debug, -vvv trace (or CLOUD_RA_LOG / RUST_LOG=LEVEL).
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Verify evidence (raw SNP report, report + cert table, DCAP quote, Nitro document, Azure HCL report or trustee az-*-vtpm evidence, or a cloud-ra bundle) and appraise it.
    Verify(VerifyArgs),
    /// Print every field of an evidence file or certificate (human; --json for machines).
    Show {
        file: String,
        #[arg(long)]
        json: bool,
        /// Product line used to decode TCB fields of a v2 report.
        #[arg(long, value_parser = parse_product)]
        product: Option<Product>,
    },
    /// Collect evidence from the simulated SEV-SNP device with a fresh nonce and verify it, trusting the simulated root. No hardware needed.
    Demo {
        #[arg(long)]
        json: bool,
    },
    /// Collect evidence on this machine (or a simulated platform) into a cloud-ra evidence bundle.
    Attest(attest::AttestArgs),
    /// Which TEE, cloud and attestation interfaces this machine has (short form of survey).
    Detect(attest::DetectArgs),
    /// Every fact about this machine's confidential computing, each with its source and trust level.
    Survey(attest::SurveyArgs),
    /// Side-by-side comparison of survey files (Markdown, or --html for a standalone page).
    Compare(compare::CompareArgs),
    /// Reference values from launch artefacts: SNP launch digest (OVMF), TDX MRTD (TDVF), Nitro PCRs (EIF); --emit-policy writes the policy section.
    #[command(subcommand)]
    Measure(measure::MeasureCmd),
    /// AWS Nitro Enclaves: the enclave's document server and the parent's verifying client.
    #[command(subcommand)]
    Nitro(nitro::NitroCmd),
    /// Collateral (AMD KDS, Intel PCS/PCCS, Azure THIM, AWS root): fetch into the cache, list, export/import offline bundles.
    #[command(subcommand)]
    Collateral(collateral::CollateralCmd),
    /// Measured boot: decode (show) or replay TCG event logs and TDX CCELs, optionally against a verified quote.
    #[command(subcommand)]
    Eventlog(eventlog::EventlogCmd),
    /// Microsoft Azure Attestation: build the request bodies the seed sends (SevSnpVm, TdxVm, SgxEnclave), send them, verify tokens as a relying party.
    #[command(subcommand)]
    Maa(maa::MaaCmd),
    /// TPM: persistent keys (list, create EK/AK) and quotes (device:/dev/tpmrm0, swtpm:, mssim:).
    #[command(subcommand)]
    Tpm(tpm::TpmCmd),
    /// The verifier service: Veraison challenge-response API, one-shot verification, signed EAR results (JWKS),
    /// audit store on SQLite or PostgreSQL, metrics and a dashboard.
    Serve(serve::ServeArgs),
    /// Attestation results (EAR JWTs) from `cloud-ra serve`, checked as a relying party would.
    #[command(subcommand)]
    Token(token::TokenCmd),
    /// Named appraisal policies of a running `cloud-ra serve`: push, list, show, delete (admin token).
    #[command(subcommand)]
    Policy(policy::PolicyCmd),
    /// Shell completions for bash, zsh or fish on stdout (generated from the argument definitions).
    Completions {
        /// The shell: bash, zsh or fish.
        shell: clap_complete::Shell,
    },
    /// The man page, roff on stdout (generated from the argument definitions; `-o DIR` writes one
    /// page per subcommand too).
    Man {
        /// Write cloud-ra.1 and cloud-ra-SUBCOMMAND.1 into this directory instead.
        #[arg(short, long)]
        output: Option<String>,
    },
}

#[derive(clap::Args)]
struct VerifyArgs {
    /// Evidence file: raw 1184-byte SNP report, report followed by its certificate table, DCAP quote,
    /// Nitro document, Azure HCL report (NV 0x01400001), CoCo trustee az-snp-vtpm/az-tdx-vtpm
    /// evidence JSON, or a cloud-ra bundle (incl. azure-snp-vtpm / azure-tdx-vtpm).
    evidence: String,
    /// Certificate, chain or CRL file (PEM or DER; kind detected from content). Repeatable.
    #[arg(long)]
    collateral: Vec<String>,
    /// Evaluation time (RFC 3339). Default: now. For Nitro, `document` evaluates certificates at
    /// the document's own signed timestamp (archived documents; bound its age with nitro.max_age).
    #[arg(long)]
    at: Option<String>,
    /// Policy file (TOML or JSON).
    #[arg(long)]
    policy: Option<String>,
    /// Event log to replay against the verified registers (TPM log or CCEL, detected from content). Repeatable.
    #[arg(long)]
    eventlog: Vec<String>,
    /// The nonce the verifier issued (hex, up to 64 bytes): REPORT_DATA must equal it, zero-padded.
    /// Azure vTPM: the quote's extraData must equal it (or a fresh HCL report's user-data carry it).
    #[arg(long)]
    nonce: Option<String>,
    /// Product line for reports that do not carry CPUID (v2).
    #[arg(long, value_parser = parse_product)]
    product: Option<Product>,
    /// Accept a guest whose policy allows debugging.
    #[arg(long)]
    allow_debug: bool,
    /// Require a CRL issued by the ARK and check revocation.
    #[arg(long)]
    require_crl: bool,
    /// Trust cloud-ra's simulated roots (never do this for real evidence).
    #[arg(long)]
    trust_simulated: bool,
    /// Do not offer the AMD ARK/ASK certificates shipped with cloud-ra (from the `sev` crate) as collateral.
    #[arg(long)]
    no_builtin_certs: bool,
    /// One JSON object on stdout.
    #[arg(long)]
    json: bool,
    /// Collateral sources and cache: the cache is used automatically; missing required
    /// collateral is fetched unless --offline.
    #[command(flatten)]
    sources: collateral::SourceArgs,
}

fn main() -> ExitCode {
    // Die quietly on a closed pipe (`cloud-ra show ... | head`), as Unix tools do.
    cloud_ra_attest::restore_default_sigpipe();
    // `cloud-ra --version` / `-V` alone: clap's answer without building the whole command tree
    // (every subcommand's arguments), which is most of the process's own start-up work.
    if let Some(text) = version_only(std::env::args_os().skip(1)) {
        use std::io::Write;
        let _ = std::io::stdout().write_all(text.as_bytes());
        return ExitCode::SUCCESS;
    }
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { 1 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    let default = if matches!(cli.cmd, Cmd::Serve(_)) {
        tracing_subscriber::filter::LevelFilter::INFO
    } else {
        tracing_subscriber::filter::LevelFilter::WARN
    };
    log::init(log::level(cli.verbose, default));
    let code = match cli.cmd {
        Cmd::Verify(a) => run_verify(a),
        Cmd::Show { file, json, product } => run_show(&file, json, product),
        Cmd::Demo { json } => demo::run_demo(json),
        Cmd::Attest(a) => attest::run_attest(a),
        Cmd::Detect(a) => attest::run_detect(a),
        Cmd::Survey(a) => attest::run_survey(a),
        Cmd::Compare(a) => compare::run(a),
        Cmd::Measure(c) => measure::run(c),
        Cmd::Nitro(c) => nitro::run(c),
        Cmd::Collateral(c) => collateral::run(c),
        Cmd::Eventlog(c) => eventlog::run(c),
        Cmd::Maa(c) => maa::run(c),
        Cmd::Tpm(c) => tpm::run(c),
        Cmd::Serve(a) => serve::run_serve(a),
        Cmd::Token(c) => token::run(c),
        Cmd::Policy(c) => policy::run(c),
        Cmd::Completions { shell } => completions(shell),
        Cmd::Man { output } => man(output.as_deref()),
    };
    ExitCode::from(code as u8)
}

/// What clap prints for `--version` (`cloud-ra VERSION`), when that is the only argument.
fn version_only(mut args: impl Iterator<Item = std::ffi::OsString>) -> Option<String> {
    let first = args.next()?;
    (args.next().is_none() && (first == "--version" || first == "-V"))
        .then(|| format!("cloud-ra {}\n", env!("CLOUD_RA_LONG_VERSION")))
}

fn completions(shell: clap_complete::Shell) -> i32 {
    use clap::CommandFactory;
    clap_complete::generate(shell, &mut Cli::command(), "cloud-ra", &mut std::io::stdout());
    0
}

fn man(dir: Option<&str>) -> i32 {
    use clap::CommandFactory;
    let cmd = Cli::command();
    let Some(dir) = dir else {
        let mut out = std::io::stdout();
        return match clap_mangen::Man::new(cmd).render(&mut out) {
            Ok(()) => 0,
            Err(e) => fail(&Error::usage(Check::Output, format!("man page: {e}"))),
        };
    };
    match clap_mangen::generate_to(cmd, dir) {
        Ok(()) => 0,
        Err(e) => fail(&Error::usage(Check::Output, format!("man pages into {dir}: {e}"))),
    }
}

fn run_verify(a: VerifyArgs) -> i32 {
    let evidence = match read_file(&a.evidence, "evidence") {
        Ok(b) => b,
        Err(e) => return fail(&e),
    };
    let opts = match verify_options(&a) {
        Ok(o) => o,
        Err(e) => return fail(&e),
    };
    let mut collateral = Collateral::default();
    for path in &a.collateral {
        let r = read_file(path, "collateral").and_then(|b| collateral.add_file(path, &b));
        if let Err(e) = r {
            return fail(&e);
        }
    }
    if !a.no_builtin_certs {
        collateral.absorb(cloud_ra_collateral::builtin_amd());
    }
    if a.trust_simulated {
        collateral.absorb(cloud_ra_collateral::simulated_amd());
    }
    // Detected once: the collateral step and the verifier look at the same evidence.
    let outcome = match detect(&evidence) {
        Ok(d) => {
            tracing::info!("{}: detected {}", a.evidence, d.what);
            let require_crl = opts.policy.require_crl.unwrap_or(false);
            match collateral::for_verify(&a.sources, &d, &collateral, opts.product, require_crl, opts.at) {
                Ok(c) => collateral.absorb(c),
                Err(e) => return fail(&e),
            }
            verify_detected(&d, &collateral, &opts, None)
        }
        // Unrecognised input: the verifier's own outcome for it (platform unknown, why).
        Err(e) => cloud_ra_verify::Outcome::unrecognised(&e),
    };
    print::outcome(&outcome, a.json);
    outcome.exit_code()
}

fn verify_options(a: &VerifyArgs) -> Result<VerifyOptions, Error> {
    let (at, use_document_time) = match a.at.as_deref() {
        Some("document") => (Timestamp::now(), true),
        Some(s) => (Timestamp::parse_rfc3339(s)?, false),
        None => (Timestamp::now(), false),
    };
    let mut opts = VerifyOptions::at(at);
    opts.use_document_time = use_document_time;
    if let Some(p) = &a.policy {
        let text = String::from_utf8(read_file(p, "policy")?)
            .map_err(|_| Error::usage(Check::Policy, format!("{p} is not UTF-8 text")))?;
        opts.policy = Policy::parse(p, &text)?;
    }
    if let Some(n) = &a.nonce {
        let v = cloud_ra_verify::policy::parse_hex("nonce", n, 64)?;
        if v.is_empty() {
            return Err(Error::usage(Check::Nonce, "--nonce is empty"));
        }
        opts.nonce = Some(v);
    }
    for path in &a.eventlog {
        opts.eventlogs.push(eventlog::load(path, None, eventlog::LogKind::Auto)?);
    }
    opts.product = a.product;
    opts.allow_debug = a.allow_debug;
    opts.trust_simulated = a.trust_simulated;
    if a.require_crl {
        opts.policy.require_crl = Some(true);
    }
    Ok(opts)
}

fn run_show(file: &str, json_out: bool, product: Option<Product>) -> i32 {
    let bytes = match read_file(file, "input") {
        Ok(b) => b,
        Err(e) => return fail(&e),
    };
    match cloud_ra_verify::describe_file(&bytes, product) {
        Ok(v) => {
            print::value(&v, json_out);
            0
        }
        Err(e) => fail(&e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn version_fast_path_prints_what_clap_prints() {
        let clap = Cli::command().render_version();
        for a in ["--version", "-V"] {
            assert_eq!(version_only([a.into()].into_iter()).as_deref(), Some(clap.as_str()), "{a}");
        }
        assert_eq!(version_only(std::iter::empty()), None);
        assert_eq!(version_only(["--version".into(), "x".into()].into_iter()), None);
        assert_eq!(version_only(["verify".into()].into_iter()), None);
    }
}
