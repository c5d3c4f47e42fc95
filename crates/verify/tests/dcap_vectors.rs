//! Every Intel DCAP vector of shared/testdata/{tdx,sgx} with the outcome MANIFEST.md gives, at its
//! suggested time (tcb_status and advisory IDs exactly), expiry failures at later times, and bad
//! input.

use cloud_ra_sim::testdata;
use cloud_ra_verify::{Collateral, Outcome, Status, Timestamp, VerifyOptions, verify_evidence};

fn at(s: &str) -> Timestamp {
    Timestamp::parse_rfc3339(s).expect("valid time")
}

fn collateral(files: &[&str]) -> Collateral {
    let mut c = Collateral::default();
    for f in files {
        c.add_file(f, &testdata::read(f)).unwrap_or_else(|e| panic!("{f}: {e}"));
    }
    c
}

/// A quote file: binary, or hex text.
fn quote(f: &str) -> Vec<u8> {
    let b = testdata::read(f);
    if f.ends_with(".hex") {
        let t: String = String::from_utf8(b).expect("utf8").chars().filter(|c| !c.is_whitespace()).collect();
        hex::decode(t.trim_start_matches("0x")).expect("hex")
    } else {
        b
    }
}

fn run(q: &str, files: &[&str], t: &str) -> Outcome {
    run_opts(q, files, &VerifyOptions::at(at(t)))
}

fn run_opts(q: &str, files: &[&str], opts: &VerifyOptions) -> Outcome {
    verify_evidence(&quote(q), &collateral(files), opts, None)
}

fn first_check(o: &Outcome) -> &str {
    o.failures.first().map(|f| f.check.as_str()).unwrap_or("")
}

fn advisories(o: &Outcome) -> Vec<String> {
    o.claims["advisory_ids"]
        .as_array()
        .map(|a| a.iter().filter_map(|v| v.as_str().map(String::from)).collect())
        .unwrap_or_default()
}

const ROOT_CRL: &str = "roots/intel/intel_root_ca_crl.der";
const TCB_SIGNING: &str = "roots/intel/tcb_signing.der";

const SPR: &str = "tdx/go-tdx-guest-spr-v4/tdx_prod_quote_SPR_E4.dat";
const SPR_COLL: &[&str] = &[
    "tdx/go-tdx-guest-spr-v4/sample_tcbInfo_response",
    "tdx/go-tdx-guest-spr-v4/sample_qeIdentity_response",
    "tdx/go-tdx-guest-spr-v4/pckcrl",
    "tdx/go-tdx-guest-spr-v4/rootcrl.der",
    "tdx/go-tdx-guest-spr-v4/derived/tcb_info_issuer_chain.pem",
    "tdx/go-tdx-guest-spr-v4/derived/pck_crl_issuer_chain.pem",
];
const EMR5: &str = "tdx/go-tdx-guest-emr-v5/quote_v5_sample.dat";
const QVL_V4: &str = "tdx/dcap-qvl-emr-v4/tdx_quote";
const QVL_V4_COLL: &str = "tdx/dcap-qvl-emr-v4/tdx_quote_collateral.json";
const QVL_V5: &str = "tdx/dcap-qvl-emr-v5-outdated/tdx_quote_outdated";
const QVL_V5_COLL: &str = "tdx/dcap-qvl-emr-v5-outdated/tdx_quote_outdated_collateral.json";
const GCP: &str = "tdx/automata-gcp-spr-0725/quote_tdx.bin";
const GCP_COLL: &[&str] = &[
    "tdx/automata-gcp-spr-0725/tcb_info_v3_with_tdx_module.json",
    "tdx/automata-gcp-spr-0725/qe_identity.json",
    "tdx/automata-gcp-spr-0725/pck_platform_crl.der",
    ROOT_CRL,
    TCB_SIGNING,
];
const SPR_1025: &[&str] = &[
    "tdx/automata-spr-collateral-1025/tcb_info.json",
    "tdx/automata-spr-collateral-1025/identity.json",
    "tdx/automata-spr-collateral-1025/pck_crl.der",
    ROOT_CRL,
    TCB_SIGNING,
];
const SGX_QVL: &str = "sgx/dcap-qvl-sgx/sgx_quote";
const SGX_QVL_COLL: &str = "sgx/dcap-qvl-sgx/sgx_quote_collateral.json";
const ICX: &[&str] = &[
    "sgx/automata-icx-0825/sgx_tcbinfov3_00606a000000.json",
    "sgx/automata-icx-0825/sgx_qeidentity_v4.json",
    "sgx/automata-icx-0825/platform_crl.der",
    ROOT_CRL,
    TCB_SIGNING,
];

fn assert_tcb(o: &Outcome, status: &str, adv: &[&str]) {
    assert!(o.verified, "{:?}", o.failures);
    assert_eq!(o.claims["tcb_status"], status, "{:?}", o.failures);
    assert_eq!(advisories(o), adv.iter().map(|s| s.to_string()).collect::<Vec<_>>());
}

#[test]
fn go_tdx_guest_spr_v4_no_matching_level_and_trailing_bytes_warned() {
    let o = run(SPR, SPR_COLL, "2023-07-01T01:00:00Z");
    assert_tcb(&o, "TcbLevelNotFound", &[]);
    assert_eq!(o.claims["qe_tcb_status"], "UpToDate");
    assert_eq!(o.claims["fmspc"], "50806F000000");
    assert_eq!(o.claims["quote_version"], 4);
    assert_eq!(o.claims["tee_tcb_svn"], "03000400000000000000000000000000");
    assert_eq!(o.exit_code(), 4);
    assert_eq!(first_check(&o), "policy.tcb_status");
    assert!(o.warnings.iter().any(|w| w.check == "dcap.quote" && w.detail.contains("39 bytes")), "{:?}", o.warnings);
    assert_eq!(o.claims["crls_checked"], 2);
}

#[test]
fn go_tdx_guest_spr_v4_expired_collateral_and_pck() {
    // 2053: the PCK expired in 2029 (checked before the collateral dates).
    let o = run(SPR, SPR_COLL, "2053-07-01T01:00:00Z");
    assert!(!o.verified);
    assert_eq!(first_check(&o), "dcap.pck_chain", "{:?}", o.failures);
    assert_eq!(o.exit_code(), 2, "{:?}", o.failures);
    // Just after the tcbInfo's nextUpdate (2023-07-18T08:42:58Z).
    let o = run(SPR, SPR_COLL, "2023-07-18T08:42:59Z");
    assert!(!o.verified);
    assert_eq!(first_check(&o), "dcap.tcb_info", "{:?}", o.failures);
    assert_eq!(o.exit_code(), 3);
    // Just after the QE identity's nextUpdate with only the CRLs stale: the PCK CRL is named.
    let o = run(SPR, SPR_COLL, "2023-07-08T07:27:53Z");
    assert_eq!(first_check(&o), "dcap.qe_identity", "{:?}", o.failures);
    // Without CRLs: the expired tcbInfo is named.
    let o = run(SPR, &SPR_COLL[..2].iter().chain(&SPR_COLL[4..5]).copied().collect::<Vec<_>>(), "2023-07-20T00:00:00Z");
    assert_eq!(first_check(&o), "dcap.tcb_info", "{:?}", o.failures);
    assert!(o.failures[0].detail.contains("expired"), "{}", o.failures[0].detail);
    // The PCK expired in 2029 (the issue's "current time 2053 is after 2029-09-20").
    let o = run(SPR, &SPR_COLL[..2].iter().chain(&SPR_COLL[4..5]).copied().collect::<Vec<_>>(), "2053-07-01T01:00:00Z");
    assert_eq!(first_check(&o), "dcap.pck_chain", "{:?}", o.failures);
    assert!(o.failures[0].detail.contains("2029-09-20T13:20:31Z"), "{}", o.failures[0].detail);
    assert_eq!(o.exit_code(), 2);
}

#[test]
fn go_tdx_guest_emr_v5_td15_up_to_date() {
    let o = run(EMR5, &["tdx/go-tdx-guest-emr-v5/sample_tcbinfo_response_v5", QVL_V5_COLL], "2026-02-20T00:00:00Z");
    assert_tcb(&o, "UpToDate", &[]);
    assert_eq!(o.exit_code(), 0);
    assert_eq!(o.status, Status::Affirming, "{:?}", o.warnings);
    assert_eq!(o.claims["quote_version"], 5);
    assert_eq!(o.claims["body_type"], "TD report (TDX 1.5)");
    assert_eq!(o.claims["tcb_date"], "2024-11-13T00:00:00Z");
    assert_eq!(o.claims["tdx_module"]["id"], "TDX_01");
    assert_eq!(o.claims["tdx_module"]["tcb_status"], "UpToDate");
    assert_eq!(o.claims["qe_tcb_status"], "UpToDate");
    assert!(o.claims["tee_tcb_svn2"].as_str().unwrap_or("").starts_with("0d0104"));
    assert!(o.claims["mrservicetd"].is_string());
    // Its own tcbInfo expires 2026-03-03; the dcap-qvl one (eval #18, later) covers up to 2026-03-20.
    let o = run(EMR5, &["tdx/go-tdx-guest-emr-v5/sample_tcbinfo_response_v5", QVL_V5_COLL], "2026-03-10T00:00:00Z");
    assert_tcb(&o, "UpToDate", &[]);
    let o = run(EMR5, &[QVL_V5_COLL], "2026-03-21T00:00:00Z");
    assert!(!o.verified);
    assert_eq!(o.exit_code(), 3);
}

#[test]
fn dcap_qvl_emr_v4_up_to_date() {
    let o = run(QVL_V4, &[QVL_V4_COLL], "2025-07-19T10:00:34Z");
    assert_tcb(&o, "UpToDate", &[]);
    assert_eq!(o.exit_code(), 0);
    // The only warning is the zero padding after the quote.
    assert_eq!(o.warnings.len(), 1, "{:?}", o.warnings);
    assert!(o.warnings[0].detail.contains("zero padding"));
    assert_eq!(o.claims["fmspc"], "B0C06F000000");
    // Window ends at the PCK CRL's nextUpdate.
    let o = run(QVL_V4, &[QVL_V4_COLL], "2025-07-19T10:00:35Z");
    assert!(!o.verified);
    assert_eq!(first_check(&o), "dcap.pck_crl");
    assert_eq!(o.exit_code(), 3);
}

#[test]
fn dcap_qvl_tappd_quote_no_matching_level() {
    let o = run("tdx/dcap-qvl-emr-v4/quote-from-tappd.hex", &[QVL_V4_COLL], "2025-07-19T10:00:34Z");
    assert_tcb(&o, "TcbLevelNotFound", &[]);
    assert_eq!(o.exit_code(), 4);
}

#[test]
fn dcap_qvl_emr_v5_outdated_no_matching_level() {
    let o = run(QVL_V5, &[QVL_V5_COLL], "2026-03-01T00:00:00Z");
    assert_tcb(&o, "TcbLevelNotFound", &[]);
    assert_eq!(o.exit_code(), 4);
    assert_eq!(o.claims["pck_pce_svn"], 13);
}

#[test]
fn gcp_spr_july_2025_out_of_date() {
    let o = run(GCP, GCP_COLL, "2025-07-20T00:00:00Z");
    assert_tcb(&o, "OutOfDate", &["INTEL-SA-00960", "INTEL-SA-00982", "INTEL-SA-00986"]);
    assert_eq!(o.claims["tcb_date"], "2023-08-09T00:00:00Z");
    assert_eq!(o.claims["tdx_module"]["id"], "TDX_01");
    assert_eq!(o.claims["tdx_module"]["tcb_status"], "UpToDate");
    assert_eq!(o.claims["qe_tcb_status"], "UpToDate");
    assert_eq!(o.exit_code(), 4);
    assert!(o.warnings.iter().any(|w| w.detail.contains("3065 bytes")));
    // Accepted when the policy says so (with a warning).
    let mut opts = VerifyOptions::at(at("2025-07-20T00:00:00Z"));
    opts.policy.tdx.accepted_tcb_statuses = Some(vec!["UpToDate".into(), "OutOfDate".into()]);
    let o = run_opts(GCP, GCP_COLL, &opts);
    assert_eq!(o.exit_code(), 0, "{:?}", o.failures);
    assert_eq!(o.status, Status::Warning);
    // After the TCB info's nextUpdate (2025-08-06T09:06:43Z).
    let o = run(GCP, GCP_COLL, "2025-08-06T09:06:44Z");
    assert!(!o.verified);
    assert_eq!(o.exit_code(), 3);
}

#[test]
fn spr_october_2025_collateral() {
    let o = run(GCP, SPR_1025, "2025-11-01T00:00:00Z");
    assert_tcb(&o, "OutOfDate", &["INTEL-SA-00960", "INTEL-SA-00982", "INTEL-SA-00986"]);
    // MANIFEST (derived, dcap-qvl's 16-component comparison) says OutOfDate and "no matching
    // level"; Intel's TcbLevelCheck.cpp isTdxTcbHigherOrEqual skips TEE_TCB_SVN[0..2] when
    // TEE_TCB_SVN[1] > 0 and evaluates the module through tdxModuleIdentities instead.
    // cos-113: TEE_TCB_SVN 04 01 07, newer PCK: the UpToDate level matches on index 2 (7 >= 7);
    // TDX_01 ISVSVN 4 is UpToDate.
    let o = run("ccel/gcp-cos113/cos-113-tdx-quote.dat", SPR_1025, "2025-11-01T00:00:00Z");
    assert_tcb(&o, "UpToDate", &[]);
    assert_eq!(o.claims["tdx_module"]["tcb_status"], "UpToDate");
    // Azure: TEE_TCB_SVN 02 01 06 matches the OutOfDate level on index 2; TDX_01 ISVSVN 2 is OutOfDate.
    let o = run("azure/trustee-az-tdx-vtpm/td-quote.bin", SPR_1025, "2025-11-01T00:00:00Z");
    assert_tcb(&o, "OutOfDate", &["INTEL-SA-00960", "INTEL-SA-00982", "INTEL-SA-00986"]);
    assert_eq!(o.claims["tdx_module"]["tcb_status"], "OutOfDate");
}

#[test]
fn trustee_gnr_out_of_date() {
    let files = &[
        "tdx/trustee-gnr/tcbInfo.json",
        "tdx/trustee-gnr/enclaveIdentity.json",
        "tdx/automata-spr-collateral-1025/pck_crl.der",
        ROOT_CRL,
        TCB_SIGNING,
    ];
    let o = run("tdx/trustee-gnr/tdx_quote_6.dat", files, "2025-11-01T00:00:00Z");
    assert_tcb(&o, "OutOfDate", &[]);
    assert_eq!(o.claims["tdx_module"]["id"], "TDX_03");
    assert_eq!(o.claims["tdx_module"]["tcb_status"], "UpToDate");
    assert_eq!(o.claims["fmspc"], "00A06D080000");
}

#[test]
fn trustee_debug_td_refused_unless_allowed() {
    let o = run("tdx/trustee-misc/tdx_quote_4.dat", SPR_COLL, "2023-07-01T01:00:00Z");
    assert_tcb(&o, "UpToDate", &[]);
    assert_eq!(o.claims["td_attributes"]["debug"], true);
    assert_eq!(first_check(&o), "policy.debug");
    assert_eq!(o.exit_code(), 4);
    let mut opts = VerifyOptions::at(at("2023-07-01T01:00:00Z"));
    opts.allow_debug = true;
    let o = run_opts("tdx/trustee-misc/tdx_quote_4.dat", SPR_COLL, &opts);
    assert_eq!(o.exit_code(), 0, "{:?}", o.failures);
}

#[test]
fn trustee_v5_quote_no_matching_level() {
    let o = run("tdx/trustee-misc/tdx_quote_5.dat", &[QVL_V5_COLL], "2026-03-01T00:00:00Z");
    assert_tcb(&o, "TcbLevelNotFound", &[]);
}

#[test]
fn dcap_qvl_sgx_configuration_and_sw_hardening_needed() {
    let o = run(SGX_QVL, &[SGX_QVL_COLL], "2025-07-19T10:01:17Z");
    assert_tcb(&o, "ConfigurationAndSWHardeningNeeded", &["INTEL-SA-00289", "INTEL-SA-00615"]);
    assert_eq!(o.exit_code(), 0);
    assert_eq!(o.status, Status::Warning);
    assert_eq!(o.claims["platform"], "sgx");
    assert!(o.claims["mrenclave"].as_str().unwrap_or("").starts_with("33d8736d"));
    assert!(o.claims["mrsigner"].as_str().unwrap_or("").starts_with("815f42f1"));
    assert_eq!(o.claims["pck"]["issuer"], "Intel SGX PCK Processor CA");
    // Policy may refuse it.
    let mut opts = VerifyOptions::at(at("2025-07-19T10:01:17Z"));
    opts.policy.sgx.accepted_tcb_statuses = Some(vec!["UpToDate".into()]);
    let o = run_opts(SGX_QVL, &[SGX_QVL_COLL], &opts);
    assert_eq!(o.exit_code(), 4);
    assert_eq!(first_check(&o), "policy.tcb_status");
    // After the QE identity's nextUpdate.
    let o = run(SGX_QVL, &[SGX_QVL_COLL], "2025-07-19T10:23:19Z");
    assert!(!o.verified);
    assert_eq!(o.exit_code(), 3);
}

#[test]
fn automata_icx_sw_hardening_needed() {
    let o = run("sgx/automata-icx-0825/quotev3.hex", ICX, "2025-09-01T00:00:00Z");
    assert_tcb(&o, "SWHardeningNeeded", &["INTEL-SA-00615"]);
    assert_eq!(o.claims["qe_tcb_status"], "UpToDate");
    assert_eq!(o.exit_code(), 0);
    let o = run("sgx/automata-icx-0825/quotev3.hex", ICX, "2025-09-15T00:00:00Z");
    assert!(!o.verified);
    assert_eq!(o.exit_code(), 3);
}

#[test]
fn trustee_occlum_out_of_date() {
    let o = run("sgx/trustee-occlum/occlum_quote.dat", ICX, "2025-09-01T00:00:00Z");
    assert_tcb(
        &o,
        "OutOfDate",
        &[
            "INTEL-SA-00586",
            "INTEL-SA-00614",
            "INTEL-SA-00615",
            "INTEL-SA-00657",
            "INTEL-SA-00730",
            "INTEL-SA-00738",
            "INTEL-SA-00767",
            "INTEL-SA-00828",
            "INTEL-SA-00837",
            "INTEL-SA-00960",
        ],
    );
    assert_eq!(o.claims["tcb_date"], "2021-11-10T00:00:00Z");
    assert_eq!(o.exit_code(), 4);
}

#[test]
fn nonce_binding() {
    let q = quote(QVL_V4);
    let rd = q[568..632].to_vec();
    let mut opts = VerifyOptions::at(at("2025-07-19T10:00:34Z"));
    opts.nonce = Some(rd);
    let o = run_opts(QVL_V4, &[QVL_V4_COLL], &opts);
    assert_eq!(o.exit_code(), 0, "{:?}", o.failures);
    assert_eq!(o.claims["nonce_bound"], true);
    opts.nonce = Some(vec![1, 2, 3]);
    let o = run_opts(QVL_V4, &[QVL_V4_COLL], &opts);
    assert_eq!(first_check(&o), "policy.nonce");
    assert_eq!(o.exit_code(), 4);
}

#[test]
fn reference_values_and_tcb_date() {
    let mut opts = VerifyOptions::at(at("2026-02-20T00:00:00Z"));
    opts.policy.tdx.mrtd = Some(cloud_ra_verify::policy::OneOrMany::One("00".repeat(48)));
    let o = run_opts(EMR5, &[QVL_V5_COLL], &opts);
    assert_eq!(first_check(&o), "policy.reference_value");
    let mut opts = VerifyOptions::at(at("2026-02-20T00:00:00Z"));
    opts.policy.tdx.minimum_tcb_date = Some("2025-01-01T00:00:00Z".into());
    let o = run_opts(EMR5, &[QVL_V5_COLL], &opts);
    assert_eq!(first_check(&o), "policy.tcb_date");
    let mut opts = VerifyOptions::at(at("2025-07-19T10:01:17Z"));
    opts.policy.sgx.minimum_isv_svn = Some(u16::MAX);
    let o = run_opts(SGX_QVL, &[SGX_QVL_COLL], &opts);
    assert_eq!(first_check(&o), "policy.isv_svn");
}

#[test]
fn collateral_cache_reused() {
    let c = collateral(&[QVL_V4_COLL]);
    let caches = cloud_ra_verify::Caches::default();
    let opts = VerifyOptions::at(at("2025-07-19T10:00:34Z"));
    let q = quote(QVL_V4);
    for _ in 0..3 {
        let o = verify_evidence(&q, &c, &opts, Some(&caches));
        assert_eq!(o.claims["tcb_status"], "UpToDate");
    }
    assert_eq!(caches.dcap.len(), 1);
    // Outside the cached window the checks run again and fail.
    let o = verify_evidence(&q, &c, &VerifyOptions::at(at("2025-07-20T00:00:00Z")), Some(&caches));
    assert!(!o.verified);
}

// ----- collateral problems

#[test]
fn collateral_for_another_fmspc_refused() {
    let o = run(
        QVL_V4,
        &[
            "tdx/automata-spr-collateral-1025/tcb_info.json",
            "tdx/automata-spr-collateral-1025/identity.json",
            ROOT_CRL,
            TCB_SIGNING,
        ],
        "2025-11-01T00:00:00Z",
    );
    assert_eq!(first_check(&o), "dcap.tcb_info", "{:?}", o.failures);
    assert!(o.failures[0].detail.contains("FMSPC"));
    assert_eq!(o.exit_code(), 3);
}

#[test]
fn wrong_qe_identity_id_refused() {
    // An SGX quote with TDX collateral of another FMSPC fails on the TCB info; an SGX QE identity
    // for a TDX quote fails on the identity id.
    let o = run(QVL_V4, &[QVL_V4_COLL, "sgx/automata-icx-0825/sgx_qeidentity_v4.json"], "2025-07-19T10:00:34Z");
    assert_tcb(&o, "UpToDate", &[]);
    let mut c = Collateral::default();
    let text = String::from_utf8(testdata::read(QVL_V4_COLL)).expect("utf8");
    let v: serde_json::Value = serde_json::from_str(&text).expect("json");
    let mut tcb = serde_json::Map::new();
    tcb.insert("tcb_info".into(), v["tcb_info"].clone());
    tcb.insert("tcb_info_signature".into(), v["tcb_info_signature"].clone());
    tcb.insert("tcb_info_issuer_chain".into(), v["tcb_info_issuer_chain"].clone());
    tcb.insert("pck_crl".into(), v["pck_crl"].clone());
    tcb.insert("root_ca_crl".into(), v["root_ca_crl"].clone());
    c.add_file("tcb-only.json", serde_json::to_string(&tcb).expect("ser").as_bytes()).expect("adds");
    c.add_file("qe.json", &testdata::read("sgx/automata-icx-0825/sgx_qeidentity_v4.json")).expect("adds");
    let o = verify_evidence(&quote(QVL_V4), &c, &VerifyOptions::at(at("2025-07-19T10:00:34Z")), None);
    assert_eq!(first_check(&o), "dcap.qe_identity", "{:?}", o.failures);
    assert!(o.failures[0].detail.contains("TD_QE"));
}

#[test]
fn tcb_info_signature_over_altered_bytes_refused() {
    let text =
        String::from_utf8(testdata::read("tdx/automata-gcp-spr-0725/tcb_info_v3_with_tdx_module.json")).expect("utf8");
    // Same meaning, different bytes (a space): the signature no longer verifies.
    let altered = text.replacen("\"id\":\"TDX\"", "\"id\": \"TDX\"", 1);
    assert_ne!(altered, text);
    let mut c = collateral(&GCP_COLL[1..]);
    c.add_file("altered.json", altered.as_bytes()).expect("parses");
    let o = verify_evidence(&quote(GCP), &c, &VerifyOptions::at(at("2025-07-20T00:00:00Z")), None);
    assert_eq!(first_check(&o), "dcap.tcb_info", "{:?}", o.failures);
    assert!(o.failures[0].detail.contains("signature"));
    assert_eq!(o.exit_code(), 3);
}

#[test]
fn bad_collateral_json_refused() {
    let mut c = Collateral::default();
    for (name, text, want) in [
        ("dup", r#"{"tcbInfo":{"id":"TDX"},"tcbInfo":{}}"#, "duplicated"),
        ("trail", r#"{"tcbInfo":{"id":"TDX"},"signature":"00"} x"#, "JSON"),
        ("other", r#"{"hello":1}"#, "neither"),
        ("nested dup", r#"{"enclaveIdentity":{"id":"QE","id":"QE"},"signature":"00"}"#, "duplicated"),
        (
            "bad sig",
            r#"{"enclaveIdentity":{"id":"QE","version":2,"issueDate":"2025-01-01T00:00:00Z","nextUpdate":"2025-02-01T00:00:00Z","miscselect":"00000000","miscselectMask":"FFFFFFFF","attributes":"11000000000000000000000000000000","attributesMask":"FBFFFFFFFFFFFFFF0000000000000000","mrsigner":"0000000000000000000000000000000000000000000000000000000000000000","isvprodid":1,"tcbLevels":[]},"signature":"zz"}"#,
            "hex",
        ),
    ] {
        let e = c.add_file(name, text.as_bytes()).expect_err(name);
        assert_eq!(e.exit_code(), 3);
        assert!(e.detail.contains(want), "{name}: {e}");
    }
    let e = c.add_file("pem", b"-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----\n").expect_err("pem");
    assert_eq!(e.exit_code(), 3);
}

// ----- bad quotes

#[test]
fn bad_quotes_refused_precisely() {
    let good = quote(QVL_V4);
    let coll = collateral(&[QVL_V4_COLL]);
    let opts = VerifyOptions::at(at("2025-07-19T10:00:34Z"));
    let check = |b: &[u8], want: &str| {
        let o = verify_evidence(b, &coll, &opts, None);
        assert!(!o.verified, "{want}");
        assert_eq!(o.exit_code(), 2, "{want}: {:?}", o.failures);
        assert!(o.failures[0].detail.contains(want), "{want}: {}", o.failures[0].detail);
    };
    // Truncations at every structure boundary.
    for n in [100, 600, 632, 636, 700, 1200, 1300, 4000] {
        check(&good[..n], "offset");
    }
    // Wrong version / TEE type / key type (still detected as DCAP: 3..5, 0/0x81, 2/3).
    let mut b = good.clone();
    b[0] = 3;
    check(&b, "v3 is SGX only");
    let mut b = good.clone();
    b[2] = 3;
    check(&b, "ECDSA-384");
    let mut b = good.clone();
    b[12] ^= 1;
    check(&b, "qeVendorId");
    // Unknown certification data type.
    let mut b = good.clone();
    b[636 + 128] = 9;
    check(&b, "type 9");
    // Signature data length beyond the input.
    let mut b = good.clone();
    b[632..636].copy_from_slice(&100_000u32.to_le_bytes());
    check(&b, "signatureDataLength");
    // A flipped body byte breaks the quote signature.
    let mut b = good.clone();
    b[600] ^= 1;
    let o = verify_evidence(&b, &coll, &opts, None);
    assert_eq!(o.failures[0].check, "dcap.quote_signature");
    assert_eq!(o.exit_code(), 2);
    // A flipped QE auth data byte breaks the QE report data binding... after the QE report signature.
    let qe_auth_off = 636 + 128 + 6 + 384 + 64 + 2;
    let mut b = good.clone();
    b[qe_auth_off] ^= 1;
    let o = verify_evidence(&b, &coll, &opts, None);
    assert_eq!(o.failures[0].check, "dcap.qe_report_data", "{:?}", o.failures);
    // A flipped QE report byte breaks the QE report signature.
    let mut b = good.clone();
    b[636 + 128 + 6 + 10] ^= 1;
    let o = verify_evidence(&b, &coll, &opts, None);
    assert_eq!(o.failures[0].check, "dcap.qe_report", "{:?}", o.failures);
    // v5 body descriptor with a wrong size.
    let mut b = quote(QVL_V5);
    b[50] = 0;
    let o = verify_evidence(&b, &collateral(&[QVL_V5_COLL]), &opts, None);
    assert!(o.failures[0].detail.contains("bodyDescriptor.size"), "{:?}", o.failures);
}

#[test]
fn parser_never_panics_on_mutations() {
    for f in [QVL_V4, QVL_V5, SGX_QVL, EMR5] {
        let good = quote(f);
        for i in (0..good.len()).step_by(7) {
            let mut b = good.clone();
            b[i] = b[i].wrapping_add(0x41);
            let _ = cloud_ra_verify::dcap::Quote::parse(&b);
            let _ = cloud_ra_verify::dcap::Quote::parse(&good[..i]);
        }
    }
}

#[test]
fn missing_collateral_is_exit_3() {
    let o = run(QVL_V4, &[], "2025-07-19T10:00:34Z");
    assert_eq!(o.exit_code(), 3, "{:?}", o.failures);
    assert_eq!(first_check(&o), "dcap.tcb_info");
}

#[test]
fn hex_text_quotes_detected() {
    use cloud_ra_verify::bundle::{Evidence, detect};
    for (f, coll, t, status) in [
        ("tdx/dcap-qvl-emr-v4/quote-from-tappd.hex", &[QVL_V4_COLL][..], "2025-07-19T10:00:34Z", "TcbLevelNotFound"),
        ("sgx/automata-icx-0825/quotev3.hex", ICX, "2025-09-01T00:00:00Z", "SWHardeningNeeded"),
    ] {
        let text = testdata::read(f);
        let d = detect(&text).expect("detected");
        assert!(d.what.contains("from hex text"), "{}", d.what);
        let Evidence::Dcap { quote: q } = &d.evidence else { panic!("not DCAP: {}", d.what) };
        assert_eq!(q, &quote(f));
        // The hex file verifies as the binary quote does.
        let o = verify_evidence(&text, &collateral(coll), &VerifyOptions::at(at(t)), None);
        assert_tcb(&o, status, &advisories(&o).iter().map(String::as_str).collect::<Vec<_>>());
        // 0x prefix, line breaks, upper case.
        let s = String::from_utf8(text).expect("utf8");
        let wrapped: Vec<String> =
            s.trim().as_bytes().chunks(64).map(|c| String::from_utf8_lossy(c).to_uppercase()).collect();
        let variant = format!("0x{}\n", wrapped.join("\r\n"));
        assert!(matches!(detect(variant.as_bytes()).expect("detected").evidence, Evidence::Dcap { .. }));
    }
    // Hex text that is not a quote, odd-length hex and mixed garbage stay unrecognised.
    for bad in ["00112233", "abc", "0400020081000000zz"] {
        let e = detect(bad.as_bytes()).expect_err(bad);
        assert_eq!(e.check, "detect", "{bad}: {e}");
    }
    // Truncated hex quote: detected (header is a DCAP header), then refused by the parser with an offset.
    let text = testdata::read("tdx/dcap-qvl-emr-v4/quote-from-tappd.hex");
    let o = verify_evidence(
        &text[..2000],
        &collateral(&[QVL_V4_COLL]),
        &VerifyOptions::at(at("2025-07-19T10:00:34Z")),
        None,
    );
    assert_eq!(o.exit_code(), 2, "{:?}", o.failures);
    assert!(o.failures[0].detail.contains("offset"), "{:?}", o.failures);
}

#[test]
fn shared_claims_are_typed_and_in_the_json() {
    use cloud_ra_verify::Platform;
    use cloud_ra_verify::claims::Registers;
    let o = run(EMR5, &["tdx/go-tdx-guest-emr-v5/sample_tcbinfo_response_v5", QVL_V5_COLL], "2026-02-20T00:00:00Z");
    assert_eq!(o.exit_code(), 0, "{:?}", o.failures);
    let c = &o.claims;
    assert_eq!((c.platform(), c.tcb_status()), (Some(Platform::Tdx), Some("UpToDate")));
    let names: Vec<&str> = c.measurements().keys().map(String::as_str).collect();
    assert_eq!(names, ["mrtd", "rtmr0", "rtmr1", "rtmr2", "rtmr3"]);
    for n in names {
        assert_eq!(c["measurements"][n], c[n], "{n}");
    }
    let Registers::Tdx(r) = c.registers() else { panic!("TDX registers: {:?}", c.registers()) };
    assert_eq!(
        (hex::encode(r.mrtd), hex::encode(r.rtmr[3])),
        (c["mrtd"].as_str().unwrap_or("").into(), c["rtmr3"].as_str().unwrap_or("").into())
    );
    assert_eq!(c.signer().map(|s| s.kind), Some("pck"));
    assert_eq!(c["signer"]["kind"], "pck");

    let o = run(SGX_QVL, &[SGX_QVL_COLL], "2025-07-19T10:01:17Z");
    let c = &o.claims;
    assert_eq!((c.platform(), c.tcb_status()), (Some(Platform::Sgx), Some("ConfigurationAndSWHardeningNeeded")));
    let names: Vec<&str> = c.measurements().keys().map(String::as_str).collect();
    assert_eq!(names, ["mrenclave", "mrsigner"]);
    assert_eq!(c.report_data().map(hex::encode).as_deref(), c["report_data"].as_str());
    assert_eq!(*c.registers(), Registers::None, "SGX measurements are not replayed from a log");
}

/// The verifier trusts the pinned Intel SGX Root CA as its exact bytes and does not check its
/// self-signature per quote: these bytes are the pinned ones and that signature holds.
#[test]
fn pinned_intel_root_is_self_signed() {
    let root = cloud_ra_verify::x509::Certificate::from_der(&testdata::read("roots/intel/TrustedRootCA.der"))
        .expect("root parses");
    assert_eq!(root.fingerprint_hex(), cloud_ra_verify::dcap::roots::INTEL_SGX_ROOT_CA);
    root.verify_issued_by(&root).expect("self-signature verifies");
}
