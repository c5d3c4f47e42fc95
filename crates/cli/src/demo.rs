//! `cloud-ra demo` and `cloud-ra attest`: collection on this machine or on the simulated device.

use crate::{fail, print_outcome};
use cloud_ra_attest::collect::{SnpCollectOptions, collect_snp_bundle};
use cloud_ra_attest::sim_sev_guest::{HostCerts, SimSevGuest};
use cloud_ra_attest::{DevSevGuest, SevGuest};
use cloud_ra_verify::policy::{pad64, parse_hex};
use cloud_ra_verify::{Collateral, Error, Timestamp, VerifyOptions, verify_evidence};

#[derive(clap::Args)]
pub struct AttestArgs {
    /// snp (/dev/sev-guest), sim-snp (simulated device, VCEK chain like GCP), sim-snp-vlek (simulated, VLEK like AWS),
    /// sim-tdx / sim-sgx (simulated Intel quoting enclave: TDX v4 / SGX v3 quote with its collateral).
    #[arg(long, default_value = "snp")]
    platform: String,
    /// Nonce from the verifier (hex, up to 64 bytes). Default: 64 fresh random bytes (printed on stderr).
    #[arg(long)]
    nonce: Option<String>,
    /// VMPL to request the report at (0-3). The ioctl's default is 0, snpguest's is 1; Sakura's guests run at 2.
    #[arg(long, default_value_t = 0)]
    vmpl: u32,
    /// Use SNP_GET_EXT_REPORT and include the host's certificate table.
    #[arg(long)]
    extended: bool,
    /// Device node for --platform snp.
    #[arg(long, default_value = "/dev/sev-guest")]
    device: String,
    /// Output file (default: stdout).
    #[arg(short, long)]
    output: Option<String>,
    #[command(flatten)]
    pub verifier: crate::serve::VerifierArgs,
}

fn fresh_nonce() -> Result<[u8; 64], Error> {
    cloud_ra_attest::collect::fresh_nonce().map_err(|e| Error::usage("nonce", e))
}

fn device(platform: &str, path: &str) -> Result<Box<dyn SevGuest>, Error> {
    match platform {
        "snp" => DevSevGuest::open(path)
            .map(|d| Box::new(d) as Box<dyn SevGuest>)
            .map_err(|e| Error::usage("attest", e.to_string())),
        "sim-snp" => Ok(Box::new(SimSevGuest::default())),
        "sim-snp-vlek" => Ok(Box::new(SimSevGuest { host_certs: HostCerts::VlekOnly, ..SimSevGuest::default() })),
        other => Err(Error::usage(
            "attest",
            format!("platform '{other}' is not supported yet (snp, sim-snp, sim-snp-vlek, sim-tdx, sim-sgx)"),
        )),
    }
}

pub fn run_attest(a: AttestArgs) -> i32 {
    if a.verifier.verifier.is_some() {
        if a.nonce.is_some() {
            return fail(&Error::usage(
                "attest",
                "--nonce and --verifier exclude each other: the verifier issues the nonce",
            ));
        }
        return crate::serve::attest_with_verifier(&a.verifier, |nonce| collect_bundle(&a, nonce).map(|(b, _)| b));
    }
    let nonce = match &a.nonce {
        Some(h) => match parse_hex("nonce", h, 64) {
            Ok(v) => v,
            Err(e) => return fail(&e),
        },
        None => match fresh_nonce() {
            Ok(n) => {
                eprintln!("nonce: {}", hex::encode(n));
                n.to_vec()
            }
            Err(e) => return fail(&e),
        },
    };
    match collect_bundle(&a, &nonce) {
        Ok((bundle, source)) => write_bundle(&bundle.to_json(), a.output.as_deref(), &source),
        Err(e) => fail(&e),
    }
}

/// Collects evidence on the chosen platform with REPORT_DATA = the nonce (zero-padded).
fn collect_bundle(a: &AttestArgs, nonce: &[u8]) -> Result<(cloud_ra_verify::bundle::Bundle, String), Error> {
    if let Some(tdx) = match a.platform.as_str() {
        "sim-tdx" => Some(true),
        "sim-sgx" => Some(false),
        _ => None,
    } {
        let bundle = cloud_ra_attest::collect::collect_sim_dcap_bundle(tdx, pad64(nonce), nonce, Timestamp::now());
        return Ok((bundle, a.platform.clone()));
    }
    let dev = device(&a.platform, &a.device)?;
    let o = SnpCollectOptions { report_data: pad64(nonce), vmpl: a.vmpl, extended: a.extended, msg_version: 1 };
    let bundle = collect_snp_bundle(dev.as_ref(), &o, nonce, Timestamp::now())
        .map_err(|e| Error::usage("attest", e.to_string()))?;
    Ok((bundle, dev.describe()))
}

fn write_bundle(text: &str, output: Option<&str>, source: &str) -> i32 {
    match output {
        Some(path) => {
            if let Err(e) = std::fs::write(path, text.as_bytes()) {
                return fail(&Error::usage("attest", format!("{path}: {e}")));
            }
            eprintln!("wrote {path} ({source})");
        }
        None => println!("{text}"),
    }
    0
}

/// The main job: simulated device -> bundle with a fresh nonce -> verify with the simulated root
/// explicitly trusted -> verdict and claims.
pub fn run_demo(json: bool) -> i32 {
    let nonce = match fresh_nonce() {
        Ok(n) => n,
        Err(e) => return fail(&e),
    };
    let now = Timestamp::now();
    let dev = SimSevGuest { crl_issued_at: Some(now.0), ..SimSevGuest::default() };
    let o = SnpCollectOptions { report_data: nonce, vmpl: 0, extended: true, msg_version: 1 };
    let bundle = match collect_snp_bundle(&dev, &o, &nonce, now) {
        Ok(b) => b,
        Err(e) => return fail(&Error::usage("demo", e.to_string())),
    };
    if !json {
        println!("cloud-ra demo: collected an SNP extended report from the {}", dev.describe());
        println!("  nonce (REPORT_DATA): {}", hex::encode(nonce));
        println!("  verifying with the simulated ARK explicitly trusted (--trust-simulated)\n");
    }
    let mut opts = VerifyOptions::at(now);
    opts.nonce = Some(nonce.to_vec());
    opts.trust_simulated = true;
    opts.policy.require_crl = Some(true);
    let outcome = verify_evidence(bundle.to_json().as_bytes(), &Collateral::default(), &opts, None);
    print_outcome(&outcome, json);
    outcome.exit_code()
}
