//! `cloud-ra attest --platform sim-tdx / sim-sgx`: a quote from the simulated Intel quoting
//! enclave with its collateral in the bundle, read back by `bundle::detect` and verified.

use cloud_ra_attest::collect::collect_sim_dcap_bundle;
use cloud_ra_verify::bundle::{Evidence, detect};
use cloud_ra_verify::{Collateral, Timestamp, VerifyOptions, verify_evidence};

const NOW: i64 = 1_900_000_000;

fn opts(trust: bool) -> VerifyOptions {
    let mut o = VerifyOptions::at(Timestamp(NOW + 60));
    o.trust_simulated = trust;
    o.nonce = Some(vec![0xC0, 0xFF, 0xEE]);
    o.policy.require_crl = Some(true);
    o
}

#[test]
fn sim_tdx_and_sgx_bundles_verify_with_their_collateral() {
    let mut rd = [0u8; 64];
    rd[..3].copy_from_slice(&[0xC0, 0xFF, 0xEE]);
    for (tdx, platform, version) in [(true, "tdx", 4), (false, "sgx", 3)] {
        let b = collect_sim_dcap_bundle(tdx, rd, &rd[..3], Timestamp(NOW));
        let text = b.to_json();
        let d = detect(text.as_bytes()).expect("detected");
        assert!(matches!(d.evidence, Evidence::Dcap { .. }));
        assert!(d.what.contains(&format!("platform {platform}")) && d.what.contains("SIMULATED"), "{}", d.what);
        let o = verify_evidence(text.as_bytes(), &Collateral::default(), &opts(true), None);
        assert_eq!(o.exit_code(), 0, "{:?}", o.failures);
        assert_eq!(o.platform, platform);
        assert_eq!(o.claims["quote_version"], version);
        assert_eq!(o.claims["nonce_bound"], true);
        assert_eq!(o.claims["crls_checked"], 2);
        // The simulated root is refused unless trusted.
        let o = verify_evidence(text.as_bytes(), &Collateral::default(), &opts(false), None);
        assert_eq!(o.exit_code(), 2);
        assert_eq!(o.failures[0].check, "dcap.pck_chain");
    }
}

#[test]
fn dcap_bundle_with_the_wrong_platform_or_bad_collateral_refused() {
    let mut b = collect_sim_dcap_bundle(true, [0; 64], &[0], Timestamp(NOW));
    b.platform = "sgx".into();
    let e = detect(b.to_json().as_bytes()).expect_err("platform mismatch");
    assert_eq!(e.check, "bundle");
    assert!(e.detail.contains("not a SGX quote"), "{e}");
    let mut b = collect_sim_dcap_bundle(false, [0; 64], &[0], Timestamp(NOW));
    b.evidence.clear();
    assert!(detect(b.to_json().as_bytes()).expect_err("no quote").detail.contains("evidence.quote is missing"));
    let mut b = collect_sim_dcap_bundle(false, [0; 64], &[0], Timestamp(NOW));
    b.certs[3].der.0.push(b'x');
    let o = verify_evidence(b.to_json().as_bytes(), &Collateral::default(), &opts(true), None);
    assert_eq!(o.exit_code(), 3, "{:?}", o.failures);
    assert!(o.failures[0].detail.contains("bundle certs[3] (tcb_info)"), "{:?}", o.failures);
}
