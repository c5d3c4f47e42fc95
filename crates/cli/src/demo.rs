//! `cloud-ra demo`: the simulated device, a bundle, and its verification in one step.

use crate::print::{self, fail};
use cloud_ra_attest::SevGuest;
use cloud_ra_attest::collect::{SnpCollectOptions, collect_snp_bundle};
use cloud_ra_attest::sim_sev_guest::SimSevGuest;
use cloud_ra_verify::Check;
use cloud_ra_verify::{Collateral, Error, Timestamp, VerifyOptions, verify_evidence};

fn fresh_nonce() -> Result<[u8; 64], Error> {
    cloud_ra_attest::collect::fresh_nonce().map_err(|e| Error::usage(Check::Nonce, e))
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
        Err(e) => return fail(&Error::usage(Check::Demo, e.to_string())),
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
    print::outcome(&outcome, json);
    outcome.exit_code()
}
