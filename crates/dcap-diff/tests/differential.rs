//! Differential test: cloud-ra's DCAP verifier against the `dcap-qvl` crate on every real quote
//! under shared/testdata/tdx and sgx (plus the two TDX quotes of ccel/ and azure/ that the TDX
//! collateral of October 2025 covers), at the same evaluation time, with the same collateral:
//! one `QuoteCollateralV3` is assembled per vector and handed to dcap-qvl as is and to cloud-ra in
//! dcap-qvl's own collateral file format (the exact signed tcbInfo / enclaveIdentity bytes, the
//! same CRLs and issuer chains).
//!
//! Where the verdicts or TCB statuses agree, the test asserts that. Where they differ, the test
//! asserts the difference and names the Intel QVL rule that decides it.

use cloud_ra_verify::dcap::Quote;
use cloud_ra_verify::dcap::collateral::DcapItem;
use cloud_ra_verify::x509::{Certificate, Crl};
use cloud_ra_verify::{Collateral, Timestamp, VerifyOptions, verify_evidence};
use dcap_qvl::QuoteCollateralV3;

fn at(s: &str) -> Timestamp {
    Timestamp::parse_rfc3339(s).expect("valid time")
}

/// A quote file: binary, or hex text.
fn quote(f: &str) -> Vec<u8> {
    let b = cloud_ra_sim::testdata::read(f);
    if f.ends_with(".hex") {
        let t: String = String::from_utf8(b).expect("utf8").chars().filter(|c| !c.is_whitespace()).collect();
        hex::decode(t.trim_start_matches("0x")).expect("hex")
    } else {
        b
    }
}

fn pem(der: &[u8]) -> String {
    cloud_ra_sim::pem("CERTIFICATE", der)
}

/// One collateral set, chosen the way cloud-ra chooses (right id, fresh at `t`, the highest
/// tcbEvaluationDataNumber), in dcap-qvl's shape.
fn assemble(q: &[u8], files: &[&str], t: Timestamp) -> QuoteCollateralV3 {
    let mut c = Collateral::default();
    for f in files {
        c.add_file(f, &cloud_ra_sim::testdata::read(f)).unwrap_or_else(|e| panic!("{f}: {e}"));
    }
    let quote = Quote::parse(q).expect("quote parses");
    let tdx = quote.is_tdx();
    let chain: Vec<Certificate> = quote
        .pck_certification()
        .pck_chain()
        .expect("type-5 PCK chain")
        .iter()
        .map(|d| Certificate::from_der(d).expect("certificate"))
        .collect();
    let (pck, pck_ca, root) = (&chain[0], &chain[1], &chain[2]);
    let fresh = |from: Timestamp, until: Timestamp| from <= t && t < until;
    let tcb = c
        .dcap
        .iter()
        .filter_map(|d| match d {
            DcapItem::TcbInfo(i) if i.id() == if tdx { "TDX" } else { "SGX" } => Some(i.clone()),
            _ => None,
        })
        .filter(|i| fresh(i.issue_date, i.next_update))
        .max_by_key(|i| i.json.tcb_evaluation_data_number.unwrap_or(0))
        .expect("a fresh TCB info");
    let qe = c
        .dcap
        .iter()
        .filter_map(|d| match d {
            DcapItem::EnclaveIdentity(e) if e.json.id == if tdx { "TD_QE" } else { "QE" } => Some(e.clone()),
            _ => None,
        })
        .filter(|e| fresh(e.issue_date, e.next_update))
        .max_by_key(|e| e.json.tcb_evaluation_data_number.unwrap_or(0))
        .expect("a fresh QE identity");
    let crl = |issuer: &Certificate| -> Crl {
        c.crls.iter().find(|x| x.issuer_raw == issuer.subject_raw).cloned().expect("CRL of the issuer")
    };
    let signer =
        c.certs.iter().find(|x| x.subject_cn == "Intel SGX TCB Signing").expect("TCB Signing certificate").clone();
    assert_eq!(pck.issuer_raw, pck_ca.subject_raw);
    let tcb_chain = pem(&signer.der) + &pem(&root.der);
    QuoteCollateralV3 {
        pck_crl_issuer_chain: pem(&pck_ca.der) + &pem(&root.der),
        root_ca_crl: crl(root).der,
        pck_crl: crl(pck_ca).der,
        tcb_info_issuer_chain: tcb_chain.clone(),
        tcb_info: String::from_utf8(tcb.signed.raw.clone()).expect("utf8"),
        tcb_info_signature: tcb.signed.signature.to_vec(),
        qe_identity_issuer_chain: tcb_chain,
        qe_identity: String::from_utf8(qe.signed.raw.clone()).expect("utf8"),
        qe_identity_signature: qe.signed.signature.to_vec(),
        pck_certificate_chain: None,
    }
}

/// The same collateral as a dcap-qvl collateral JSON file, for cloud-ra.
fn to_cloud_ra(c: &QuoteCollateralV3) -> Collateral {
    let j = serde_json::json!({
        "pck_crl_issuer_chain": c.pck_crl_issuer_chain,
        "root_ca_crl": hex::encode(&c.root_ca_crl),
        "pck_crl": hex::encode(&c.pck_crl),
        "tcb_info_issuer_chain": c.tcb_info_issuer_chain,
        "tcb_info": c.tcb_info,
        "tcb_info_signature": hex::encode(&c.tcb_info_signature),
        "qe_identity_issuer_chain": c.qe_identity_issuer_chain,
        "qe_identity": c.qe_identity,
        "qe_identity_signature": hex::encode(&c.qe_identity_signature),
    });
    let mut out = Collateral::default();
    out.add_file("assembled.json", serde_json::to_string(&j).expect("ser").as_bytes()).expect("cloud-ra parses it");
    out
}

/// What each verifier said.
#[derive(Debug)]
struct Both {
    /// cloud-ra: verified (signatures, chain, collateral) and the TCB status.
    cloud_ra: Result<String, String>,
    cloud_ra_advisories: Vec<String>,
    cloud_ra_exit: i32,
    /// dcap-qvl: Ok(status) or the error chain.
    qvl: Result<String, String>,
    qvl_advisories: Vec<String>,
}

fn both(q: &str, files: &[&str], t: &str) -> Both {
    both_with(q, files, t, false)
}

/// `allow_debug`: dcap-qvl's `QuoteVerifier::allow_debug` and cloud-ra's `--allow-debug`.
fn both_with(q: &str, files: &[&str], t: &str, allow_debug: bool) -> Both {
    let bytes = quote(q);
    let t = at(t);
    let coll = assemble(&bytes, files, t);
    let mut opts = VerifyOptions::at(t);
    opts.policy.require_crl = Some(true);
    opts.allow_debug = allow_debug;
    let o = verify_evidence(&bytes, &to_cloud_ra(&coll), &opts, None);
    let cloud_ra = if o.verified {
        Ok(o.claims["tcb_status"].as_str().unwrap_or("").to_string())
    } else {
        Err(o.failures.first().map(|f| format!("{}: {}", f.check, f.detail)).unwrap_or_default())
    };
    let mut cloud_ra_advisories: Vec<String> = o.claims["advisory_ids"]
        .as_array()
        .map(|a| a.iter().filter_map(|v| v.as_str().map(String::from)).collect())
        .unwrap_or_default();
    cloud_ra_advisories.sort();
    let now = u64::try_from(t.0).expect("after 1970");
    let verifier = dcap_qvl::verify::QuoteVerifier::new_prod().allow_debug(allow_debug);
    let (qvl, mut qvl_advisories) = match verifier.verify(&bytes, &coll, now) {
        Ok(r) => (Ok(r.status.clone()), r.advisory_ids.clone()),
        Err(e) => (Err(format!("{e:#}")), Vec::new()),
    };
    qvl_advisories.sort();
    qvl_advisories.dedup();
    let b = Both { cloud_ra, cloud_ra_advisories, cloud_ra_exit: o.exit_code(), qvl, qvl_advisories };
    println!("{q}: {b:?}");
    b
}

/// Both accept the quote with the same TCB status and advisory IDs.
fn agree(b: &Both, status: &str) {
    assert_eq!(b.cloud_ra.as_deref(), Ok(status), "{b:?}");
    assert_eq!(b.qvl.as_deref(), Ok(status), "{b:?}");
    assert_eq!(b.cloud_ra_advisories, b.qvl_advisories, "{b:?}");
}

/// No TCB level matches: cloud-ra reports QVL's TCB_NOT_SUPPORTED as "TcbLevelNotFound" (verified,
/// refused by appraisal, exit 4); dcap-qvl returns an error. Both refuse.
fn agree_no_level(b: &Both) {
    assert_eq!(b.cloud_ra.as_deref(), Ok("TcbLevelNotFound"), "{b:?}");
    assert_eq!(b.cloud_ra_exit, 4);
    let e = b.qvl.as_ref().expect_err("dcap-qvl refuses");
    assert!(e.contains("No matching TCB level"), "{e}");
}

const ROOT_CRL: &str = "roots/intel/intel_root_ca_crl.der";
const TCB_SIGNING: &str = "roots/intel/tcb_signing.der";
const SPR_COLL: &[&str] = &[
    "tdx/go-tdx-guest-spr-v4/sample_tcbInfo_response",
    "tdx/go-tdx-guest-spr-v4/sample_qeIdentity_response",
    "tdx/go-tdx-guest-spr-v4/pckcrl",
    "tdx/go-tdx-guest-spr-v4/rootcrl.der",
    "tdx/go-tdx-guest-spr-v4/derived/tcb_info_issuer_chain.pem",
];
const QVL_V4_COLL: &str = "tdx/dcap-qvl-emr-v4/tdx_quote_collateral.json";
const QVL_V5_COLL: &str = "tdx/dcap-qvl-emr-v5-outdated/tdx_quote_outdated_collateral.json";
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
const GNR: &[&str] = &[
    "tdx/trustee-gnr/tcbInfo.json",
    "tdx/trustee-gnr/enclaveIdentity.json",
    "tdx/automata-spr-collateral-1025/pck_crl.der",
    ROOT_CRL,
    TCB_SIGNING,
];
const ICX: &[&str] = &[
    "sgx/automata-icx-0825/sgx_tcbinfov3_00606a000000.json",
    "sgx/automata-icx-0825/sgx_qeidentity_v4.json",
    "sgx/automata-icx-0825/platform_crl.der",
    ROOT_CRL,
    TCB_SIGNING,
];

// ----- TDX

#[test]
fn go_tdx_guest_spr_v4_no_level_both() {
    agree_no_level(&both("tdx/go-tdx-guest-spr-v4/tdx_prod_quote_SPR_E4.dat", SPR_COLL, "2023-07-01T01:00:00Z"));
}

#[test]
fn go_tdx_guest_emr_v5_up_to_date_both() {
    let b = both(
        "tdx/go-tdx-guest-emr-v5/quote_v5_sample.dat",
        &["tdx/go-tdx-guest-emr-v5/sample_tcbinfo_response_v5", QVL_V5_COLL],
        "2026-02-20T00:00:00Z",
    );
    agree(&b, "UpToDate");
}

#[test]
fn dcap_qvl_emr_v4_up_to_date_both() {
    agree(&both("tdx/dcap-qvl-emr-v4/tdx_quote", &[QVL_V4_COLL], "2025-07-19T10:00:34Z"), "UpToDate");
}

#[test]
fn dcap_qvl_tappd_quote_no_level_both() {
    agree_no_level(&both("tdx/dcap-qvl-emr-v4/quote-from-tappd.hex", &[QVL_V4_COLL], "2025-07-19T10:00:34Z"));
}

#[test]
fn dcap_qvl_emr_v5_outdated_no_level_both() {
    agree_no_level(&both("tdx/dcap-qvl-emr-v5-outdated/tdx_quote_outdated", &[QVL_V5_COLL], "2026-03-01T00:00:00Z"));
}

#[test]
fn trustee_v5_no_level_both() {
    agree_no_level(&both("tdx/trustee-misc/tdx_quote_5.dat", &[QVL_V5_COLL], "2026-03-01T00:00:00Z"));
}

#[test]
fn gcp_spr_out_of_date_both() {
    let b = both("tdx/automata-gcp-spr-0725/quote_tdx.bin", GCP_COLL, "2025-07-20T00:00:00Z");
    agree(&b, "OutOfDate");
    assert_eq!(b.cloud_ra_exit, 4);
    agree(&both("tdx/automata-gcp-spr-0725/quote_tdx.bin", SPR_1025, "2025-11-01T00:00:00Z"), "OutOfDate");
}

#[test]
fn trustee_gnr_out_of_date_both() {
    agree(&both("tdx/trustee-gnr/tdx_quote_6.dat", GNR, "2025-11-01T00:00:00Z"), "OutOfDate");
}

/// GCP COS 113 (TEE_TCB_SVN 04 01 07...): Intel's TcbLevelCheck.cpp `isTdxTcbHigherOrEqual`
/// starts the TEE_TCB_SVN comparison at index 2 when TEE_TCB_SVN[1] (the TDX module version) is
/// non-zero, and TdxModuleCheck evaluates indices 0..1 against `tdxModuleIdentities` TDX_01
/// instead. The shared MANIFEST (derived with an older dcap-qvl that compared all 16 components)
/// says "no matching level"; dcap-qvl 0.7.1 applies the same skip (`TcbLevel::shortfalls`,
/// `skip = if tee_tcb_svn[1] > 0 { 2 } else { 0 }`), so today both say UpToDate.
#[test]
fn gcp_cos113_up_to_date_both_with_intels_module_skip() {
    let b = both("ccel/gcp-cos113/cos-113-tdx-quote.dat", SPR_1025, "2025-11-01T00:00:00Z");
    agree(&b, "UpToDate");
    assert_eq!(b.cloud_ra_exit, 0);
}

/// Azure's TD (TEE_TCB_SVN 02 01 06...): cloud-ra matches the OutOfDate level on index 2 (the
/// module-version skip as above) and TDX_01 ISVSVN 2 is OutOfDate, so OutOfDate (exit 4).
/// dcap-qvl refuses the quote before TCB matching because TDATTRIBUTES.SEPT_VE_DISABLE is clear:
/// dcap-qvl's `validate_td10` requires it unconditionally, while Intel's QVL
/// (`sgxAttestationVerifyTDQuote` → `QuoteVerifier::verify`) does not appraise TD attributes at
/// all: that is the relying party's policy, in cloud-ra `tdx.require_sept_ve_disable`.
#[test]
fn azure_td_quote_sept_ve_disable_is_policy_in_intels_qvl() {
    let q = "azure/trustee-az-tdx-vtpm/td-quote.bin";
    let b = both(q, SPR_1025, "2025-11-01T00:00:00Z");
    assert_eq!(b.cloud_ra.as_deref(), Ok("OutOfDate"), "{b:?}");
    assert_eq!(b.cloud_ra_exit, 4);
    assert_eq!(b.cloud_ra_advisories, ["INTEL-SA-00960", "INTEL-SA-00982", "INTEL-SA-00986"]);
    assert!(b.qvl.as_ref().expect_err("dcap-qvl refuses").contains("SEPT_VE_DISABLE"), "{b:?}");
    // With the policy dcap-qvl hard-codes, cloud-ra names the attribute too.
    let t = at("2025-11-01T00:00:00Z");
    let bytes = quote(q);
    let mut opts = VerifyOptions::at(t);
    opts.policy.tdx.require_sept_ve_disable = Some(true);
    opts.policy.tdx.accepted_tcb_statuses = Some(vec!["OutOfDate".into()]);
    let o = verify_evidence(&bytes, &to_cloud_ra(&assemble(&bytes, SPR_1025, t)), &opts, None);
    assert_eq!(o.failures.first().map(|f| f.check.as_str()), Some("policy.td_attributes"), "{:?}", o.failures);
}

/// A debug TD: Intel's QVL verifies it (TD attributes are not its business) and cloud-ra's
/// appraisal refuses it unless allowed (policy.debug, exit 4); dcap-qvl refuses it in `verify`.
/// Allowed on both sides, both say UpToDate.
#[test]
fn debug_td_refused_by_both_and_up_to_date_when_allowed() {
    let q = "tdx/trustee-misc/tdx_quote_4.dat";
    let b = both(q, SPR_COLL, "2023-07-01T01:00:00Z");
    assert_eq!(b.cloud_ra.as_deref(), Ok("UpToDate"), "{b:?}");
    assert_eq!(b.cloud_ra_exit, 4);
    assert!(b.qvl.as_ref().expect_err("dcap-qvl refuses").contains("Debug"), "{b:?}");
    let b = both_with(q, SPR_COLL, "2023-07-01T01:00:00Z", true);
    agree(&b, "UpToDate");
    assert_eq!(b.cloud_ra_exit, 0);
}

// ----- SGX

#[test]
fn dcap_qvl_sgx_configuration_and_sw_hardening_needed_both() {
    let b = both("sgx/dcap-qvl-sgx/sgx_quote", &["sgx/dcap-qvl-sgx/sgx_quote_collateral.json"], "2025-07-19T10:01:17Z");
    agree(&b, "ConfigurationAndSWHardeningNeeded");
    assert_eq!(b.cloud_ra_advisories, ["INTEL-SA-00289", "INTEL-SA-00615"]);
}

#[test]
fn automata_icx_sw_hardening_needed_both() {
    agree(&both("sgx/automata-icx-0825/quotev3.hex", ICX, "2025-09-01T00:00:00Z"), "SWHardeningNeeded");
}

/// Occlum's debug enclave: cloud-ra verifies it (OutOfDate, refused by appraisal); dcap-qvl
/// refuses the debug enclave in `verify`. Allowed on both sides: OutOfDate with the same ten
/// advisories.
#[test]
fn occlum_debug_enclave_out_of_date_both_when_allowed() {
    let q = "sgx/trustee-occlum/occlum_quote.dat";
    let b = both(q, ICX, "2025-09-01T00:00:00Z");
    assert_eq!(b.cloud_ra.as_deref(), Ok("OutOfDate"), "{b:?}");
    assert_eq!(b.cloud_ra_exit, 4);
    assert!(b.qvl.as_ref().expect_err("dcap-qvl refuses").contains("Debug"), "{b:?}");
    let b = both_with(q, ICX, "2025-09-01T00:00:00Z", true);
    agree(&b, "OutOfDate");
    assert_eq!(b.cloud_ra_advisories.len(), 10);
}

/// Every vector file under tdx/ and sgx/ that is a quote appears in a test above.
#[test]
fn every_quote_vector_is_covered() {
    let src = include_str!("differential.rs");
    let mut missing = Vec::new();
    for dir in ["tdx", "sgx"] {
        let root = cloud_ra_sim::testdata::path(dir);
        let mut stack = vec![root.clone()];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d).expect("readable") {
                let p = e.expect("entry").path();
                if p.is_dir() {
                    stack.push(p);
                    continue;
                }
                let rel = format!("{dir}/{}", p.strip_prefix(&root).expect("under root").display());
                let bytes = std::fs::read(&p).expect("readable");
                let is_quote =
                    Quote::parse(&bytes).is_ok() || (rel.ends_with(".hex") && Quote::parse(&quote(&rel)).is_ok());
                if is_quote && !src.contains(&format!("\"{rel}\"")) {
                    missing.push(rel);
                }
            }
        }
    }
    assert!(missing.is_empty(), "quotes without a differential case: {missing:?}");
}

// ----- the simulated Intel PKI (dcap-qvl given the simulated root explicitly)

/// dcap-qvl with cloud-ra's simulated root as its trust anchor, on simulated quotes: the
/// baselines and TCB-status cases of `dcap_synthetic.rs`, compared status by status.
#[test]
fn simulated_pki_statuses_agree() {
    use cloud_ra_sim::intel::{QeIdentitySpec, QuoteKind, QuoteSpec, SimIntel, TcbInfoSpec};
    const NOW: i64 = 1_900_000_000;
    let sim = SimIntel::get();
    let run = |spec: &QuoteSpec, tcb: &TcbInfoSpec| -> (String, Result<String, String>) {
        let tdx = spec.kind != QuoteKind::SgxV3;
        let mut files = sim.collateral(tdx, NOW);
        files[3].1 = sim.tcb_info(tcb).into_bytes();
        let mut c = Collateral::default();
        for (n, b) in &files {
            c.add_file(n, b).expect("parses");
        }
        let q = sim.quote(spec);
        let mut opts = VerifyOptions::at(Timestamp(NOW));
        opts.trust_simulated = true;
        opts.policy.require_crl = Some(true);
        let o = verify_evidence(&q, &c, &opts, None);
        assert!(o.verified, "{:?}", o.failures);
        // The same collateral for dcap-qvl.
        let tcb_text = tcb.to_json();
        let qe = QeIdentitySpec::new(tdx, NOW).to_json();
        let der = |i: usize| c.crls.get(i).map(|x| x.der.clone()).expect("crl");
        let chain = pem(sim.tcb_signing_der()) + &pem(sim.root_der());
        let coll = QuoteCollateralV3 {
            pck_crl_issuer_chain: pem(sim.platform_ca_der()) + &pem(sim.root_der()),
            root_ca_crl: der(0),
            pck_crl: der(1),
            tcb_info_issuer_chain: chain.clone(),
            tcb_info_signature: hex::decode(sim.sign_hex(&tcb_text)).expect("hex"),
            tcb_info: tcb_text,
            qe_identity_issuer_chain: chain,
            qe_identity_signature: hex::decode(sim.sign_hex(&qe)).expect("hex"),
            qe_identity: qe,
            pck_certificate_chain: None,
        };
        let qvl = dcap_qvl::verify::QuoteVerifier::new(sim.root_der().to_vec())
            .verify(&q, &coll, NOW as u64)
            .map(|r| r.status)
            .map_err(|e| format!("{e:#}"));
        (o.claims["tcb_status"].as_str().unwrap_or("").to_string(), qvl)
    };
    for kind in [QuoteKind::TdxV4, QuoteKind::TdxV5, QuoteKind::SgxV3] {
        let tdx = kind != QuoteKind::SgxV3;
        for status in [
            "UpToDate",
            "SWHardeningNeeded",
            "ConfigurationNeeded",
            "ConfigurationAndSWHardeningNeeded",
            "OutOfDate",
            "OutOfDateConfigurationNeeded",
        ] {
            let mut tcb = TcbInfoSpec::new(tdx, NOW);
            tcb.levels[0].status = status.into();
            let (ours, qvl) = run(&QuoteSpec::new(kind), &tcb);
            println!("{kind:?} {status}: cloud-ra {ours}, dcap-qvl {qvl:?}");
            assert_eq!(ours, status);
            assert_eq!(qvl.as_deref(), Ok(status), "{kind:?} {status}");
        }
    }
    // TD 1.5 relaunch (TDRelaunchCheck.cpp): module SVN 3 (OutOfDate) running, TEE_TCB_SVN2 shows
    // the UpToDate module SVN 5 loaded.
    let mut spec = QuoteSpec::new(QuoteKind::TdxV5);
    spec.td.tee_tcb_svn[0] = 3;
    let (ours, qvl) = run(&spec, &TcbInfoSpec::new(true, NOW));
    println!("TD 1.5 relaunch: cloud-ra {ours}, dcap-qvl {qvl:?}");
    assert_eq!(ours, "TDRelaunchAdvised");
    assert_eq!(qvl.as_deref(), Ok("TDRelaunchAdvised"));
}
