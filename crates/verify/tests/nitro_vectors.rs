//! Every Nitro document of shared/testdata/nitro at a time inside its window (MANIFEST.md), the
//! same documents at "now" (expired), and the policy knobs on real documents.

use cloud_ra_sim::testdata;
use cloud_ra_verify::{Collateral, Outcome, Policy, Status, Timestamp, VerifyOptions, verify_evidence};

fn at(s: &str) -> Timestamp {
    Timestamp::parse_rfc3339(s).expect("time")
}

fn run(file: &str, opts: &VerifyOptions) -> Outcome {
    verify_evidence(&testdata::read(file), &Collateral::default(), opts, None)
}

fn check(o: &Outcome) -> &str {
    o.failures.first().map(|f| f.check.as_str()).unwrap_or("")
}

const EV_VALID: &str = "nitro/evervault/valid-attestation-doc-bytes";
const EV_DEBUG: &str = "nitro/evervault/debug-mode-attestation-doc-bytes";
const EV_B64: &str = "nitro/evervault/valid-attestation-doc-base64";
const VC: &str = "nitro/veracruz/aws_nitro_document.cbor";
const VC_BAD: &str = "nitro/veracruz/aws_nitro_document_bad_sig.cbor";
const SP: &str = "nitro/sparsity/attestation_1.report";

#[test]
fn production_documents_are_valid_inside_their_window() {
    for (f, t, pcr0) in [(EV_VALID, "2022-10-13T09:30:00Z", "f4d48b81"), (VC, "2022-11-09T23:30:00Z", "22f9e1c9")] {
        let o = run(f, &VerifyOptions::at(at(t)));
        assert_eq!(o.exit_code(), 0, "{f}: {:?}", o.failures);
        assert_eq!(o.status, Status::Affirming);
        assert_eq!(o.platform, "nitro");
        assert_eq!(o.claims["debug"], false);
        assert_eq!(o.claims["digest"], "SHA384");
        assert!(o.claims["pcrs"]["0"].as_str().unwrap_or("").starts_with(pcr0), "{f}");
        assert!(o.claims["parent_instance_id"].as_str().unwrap_or("").starts_with("i-0"), "{f}: {}", o.claims);
    }
}

#[test]
fn debug_mode_documents_verify_but_are_refused_by_default() {
    for (f, t) in [(EV_DEBUG, "2022-10-12T15:00:00Z"), (EV_B64, "2023-09-18T15:30:00Z"), (SP, "2024-08-16T10:00:00Z")] {
        let mut opts = VerifyOptions::at(at(t));
        let o = run(f, &opts);
        assert!(o.verified, "{f}: {:?}", o.failures);
        assert_eq!(o.exit_code(), 4, "{f}");
        assert_eq!(check(&o), "policy.debug");
        assert_eq!(o.claims["debug"], true);
        opts.allow_debug = true;
        let o = run(f, &opts);
        assert_eq!(o.exit_code(), 0, "{f}: {:?}", o.failures);
    }
}

#[test]
fn base64_text_is_accepted() {
    let o = run(EV_B64, &VerifyOptions::at(at("2023-09-18T15:30:00Z")));
    assert!(o.detected.contains("base64"), "{}", o.detected);
    assert!(o.verified);
}

#[test]
fn sparsity_document_carries_nonce_and_user_data() {
    let mut opts = VerifyOptions::at(at("2024-08-16T10:00:00Z"));
    opts.allow_debug = true;
    opts.nonce = Some(b"1234".to_vec());
    opts.policy = Policy::parse("p.toml", &format!("[nitro]\nuser_data = \"{}\"\n", hex::encode("Automata MPC Demo")))
        .expect("policy");
    let o = run(SP, &opts);
    assert_eq!(o.exit_code(), 0, "{:?}", o.failures);
    assert_eq!(o.claims["nonce_bound"], true);
    opts.nonce = Some(b"1235".to_vec());
    let o = run(SP, &opts);
    assert_eq!(o.exit_code(), 4);
    assert_eq!(check(&o), "policy.nonce");
}

#[test]
fn bad_signature_is_refused_at_the_signature_step() {
    let o = run(VC_BAD, &VerifyOptions::at(at("2022-11-09T23:30:00Z")));
    assert!(!o.verified);
    assert_eq!(o.exit_code(), 2);
    assert_eq!(check(&o), "nitro.signature");
}

#[test]
fn documents_checked_now_fail_on_certificate_expiry() {
    for f in [EV_VALID, EV_DEBUG, EV_B64, VC, SP] {
        let o = run(f, &VerifyOptions::at(at("2026-11-27T00:00:00Z")));
        assert!(!o.verified, "{f}");
        assert_eq!(check(&o), "nitro.chain", "{f}");
        assert!(o.failures[0].detail.contains("expired at"), "{f}: {}", o.failures[0].detail);
    }
}

#[test]
fn at_document_uses_the_signed_timestamp_and_max_age_bounds_it() {
    let mut opts = VerifyOptions::at(at("2026-11-27T00:00:00Z"));
    opts.use_document_time = true;
    let o = run(VC, &opts);
    assert_eq!(o.exit_code(), 0, "{:?}", o.failures);
    assert!(o.claims["evaluated_at"].as_str().unwrap_or("").starts_with("2022-11-09T22:52"), "{}", o.claims);
    opts.policy = Policy::parse("p.toml", "[nitro]\nmax_age = 300\n").expect("policy");
    let o = run(VC, &opts);
    assert_eq!(o.exit_code(), 4);
    assert_eq!(check(&o), "policy.max_age");
    opts.at = at("2022-11-09T22:55:00Z");
    let o = run(VC, &opts);
    assert_eq!(o.exit_code(), 0, "{:?}", o.failures);
}

#[test]
fn pcr_policy_and_nitro_cli_measurements_file() {
    let t = at("2022-11-09T23:30:00Z");
    let o = run(VC, &VerifyOptions::at(t));
    let pcr = |i: &str| o.claims["pcrs"][i].as_str().unwrap_or("").to_string();
    let measurements = format!(
        r#"{{"Measurements": {{"HashAlgorithm": "Sha384 {{ ... }}", "PCR0": "{}", "PCR1": "{}", "PCR2": "{}"}}}}"#,
        pcr("0"),
        pcr("1"),
        pcr("2")
    );
    let mut opts = VerifyOptions::at(t);
    opts.policy = Policy::parse("expected-measurements.json", &measurements).expect("nitro-cli file is a policy");
    assert_eq!(run(VC, &opts).exit_code(), 0);
    // PCR8 (signing certificate) and PCR4 (instance) optional, any subset; bytes compared
    // regardless of hex case.
    opts.policy =
        Policy::parse("p.toml", &format!("[nitro.pcrs]\n\"8\" = \"{}\"\n", pcr("8").to_uppercase())).expect("policy");
    assert_eq!(run(VC, &opts).exit_code(), 0);
    let mut wrong = pcr("1");
    wrong.replace_range(0..2, if wrong.starts_with("00") { "01" } else { "00" });
    opts.policy = Policy::parse("p.toml", &format!("[nitro.pcrs]\n\"1\" = \"{wrong}\"\n")).expect("policy");
    let o = run(VC, &opts);
    assert_eq!(o.exit_code(), 4);
    assert_eq!(check(&o), "policy.pcrs");
    assert!(o.failures[0].detail.contains("PCR1"));
}

#[test]
fn simulated_root_is_pinned() {
    assert_eq!(
        hex::encode(cloud_ra_sim::nitro::SimNitro::get().root_sha256()),
        cloud_ra_verify::nitro::roots::SIMULATED_ROOT
    );
}

#[test]
fn shared_claims_are_typed_and_in_the_json() {
    let o = run(EV_VALID, &VerifyOptions::at(at("2022-10-13T09:30:00Z")));
    assert_eq!(o.exit_code(), 0, "{:?}", o.failures);
    let c = &o.claims;
    assert_eq!(c.platform(), Some(cloud_ra_verify::Platform::Nitro));
    // The SHA-384 PCRs, by name, as the document carries them.
    let pcr0 = c.measurements().get("pcr0").expect("pcr0");
    assert_eq!((pcr0.len(), hex::encode(pcr0)), (48, c["pcrs"]["0"].as_str().unwrap_or("").to_string()));
    assert_eq!(c["measurements"]["pcr0"], c["pcrs"]["0"]);
    assert_eq!(c.report_data(), None, "a Nitro document has no report data (user_data is separate)");
    assert_eq!(c.signer().map(|s| s.kind), Some("nitro"));
    assert!(!c.debug());
    let o = run(EV_DEBUG, &VerifyOptions::at(at("2022-10-12T15:00:00Z")));
    assert!(o.verified && o.claims.debug(), "{:?} {}", o.failures, o.claims);
}
