//! The AR4SI trustworthiness vector of EAR results, through the one-shot endpoint of a real
//! server: a measurement that is not the policy's reference value is the `executables` claim at
//! the contraindicated tier (96), for SNP, TDX and Nitro; a matching policy sets no such claim;
//! a non-measurement appraisal failure leaves `executables` out and makes the configuration
//! unsupportable.

mod common;
use cloud_ra_verify::Timestamp;
use common::*;
use serde_json::Value;

const ZERO48: &str = "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000";

/// Evidence for each platform from the simulated devices, bound to `nonce`.
fn evidence(platform: &str, nonce: &[u8]) -> String {
    use cloud_ra_attest::nsm::{SimNsm, request_document};
    match platform {
        "snp" => sim_bundle(nonce),
        "tdx" => cloud_ra_attest::collect::collect_sim_dcap_bundle(
            true,
            cloud_ra_verify::policy::pad64(nonce),
            nonce,
            Timestamp::now(),
        )
        .to_json(),
        "nitro" => {
            let doc = request_document(&SimNsm::default(), None, Some(nonce), None).expect("simulated NSM");
            cloud_ra_verify::bundle::Bundle::new_nitro(&doc).to_json()
        }
        other => panic!("no simulated evidence for {other}"),
    }
}

/// One one-shot appraisal under `policy` (TOML); the verified EAR submodule of `platform`.
async fn appraise(platform: &str, policy: &str) -> (Value, Value) {
    let dir = scratch(&format!("ear-{platform}"));
    let db = fresh_db("sqlite", &dir).await;
    let mut cfg = config(&dir, &db);
    let path = dir.join("policy.toml");
    std::fs::write(&path, policy).expect("policy");
    cfg.policy = Some(path);
    let s = TestServer::start(cfg).await;
    let c = client();
    let nonce = b"ear-tier-nonce-0123456789abcdef!";
    let url = s.url(&format!("/v1/attest/auto?nonce={}", hex::encode(nonce)));
    let (status, body) = submit(&c, &url, MT_BUNDLE, evidence(platform, nonce)).await;
    assert_eq!(status, 200, "{platform}: {body}");
    let keys = jwks(&c, &s).await;
    let claims = verify_token(body["result"].as_str().expect("a result token"), &keys);
    s.stop().await;
    (Value::Object(claims.clone())["submods"][platform].clone(), body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn measurement_mismatch_is_contraindicated_executables() {
    for (platform, wrong) in [
        ("snp", format!("[snp]\nmeasurement = \"{ZERO48}\"\n")),
        ("tdx", format!("[tdx]\nmrtd = \"{ZERO48}\"\n")),
        ("nitro", format!("[nitro.pcrs]\n\"0\" = \"{ZERO48}\"\n")),
    ] {
        let (sub, body) = appraise(platform, &wrong).await;
        let tv = &sub["ear_trustworthiness_vector"];
        assert_eq!(tv["executables"], 96, "{platform}: {sub}");
        assert_ne!(tv["configuration"], 96, "{platform}: only the measurement failed: {sub}");
        assert_eq!(sub["ear_status"], "contraindicated", "{platform}: {sub}");
        let failures = body["failures"].as_array().expect("failures");
        assert!(
            failures.iter().all(|f| f["check"] == "policy.reference_value" || f["check"] == "policy.pcrs"),
            "{platform}: {body}"
        );
        // Veraison's ear crate reads the same tier.
        let text = sub.to_string();
        let parsed: ear::Appraisal = serde_json::from_str(&text).expect("an EAR appraisal");
        assert_eq!(parsed.trust_vector.executables.value(), 96, "{platform}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_executables_claim_without_a_measurement_failure() {
    // No reference values: nothing about the executables is claimed.
    let (sub, _) = appraise("snp", "").await;
    assert!(sub["ear_trustworthiness_vector"].get("executables").is_none(), "{sub}");
    // A failure that is not a measurement (the VMPL): configuration 96, no executables claim.
    let (sub, body) = appraise("snp", "[snp]\nvmpl = 3\n").await;
    let tv = &sub["ear_trustworthiness_vector"];
    assert!(tv.get("executables").is_none(), "{sub}");
    assert_eq!(tv["configuration"], 96, "{sub}");
    assert!(body["failures"].as_array().expect("failures").iter().any(|f| f["check"] == "policy.vmpl"), "{body}");
}
