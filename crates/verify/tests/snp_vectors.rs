//! Every SNP vector of shared/testdata/snp with the outcome MANIFEST.md gives, at its suggested
//! time, plus the tamper cases the MANIFEST names.

use cloud_ra_sim::testdata;
use cloud_ra_verify::snp::format::{Product, REPORT_SIZE, Report};
use cloud_ra_verify::snp::verify::{Role, VekExtensions, role_of};
use cloud_ra_verify::{Collateral, Outcome, Status, Timestamp, VerifyOptions, verify_evidence};

fn at(s: &str) -> Timestamp {
    Timestamp::parse_rfc3339(s).expect("valid time")
}

/// Collateral from test-vector files plus the AMD ARK/ASK shipped by the `sev` crate.
fn collateral(files: &[&str]) -> Collateral {
    let mut c = Collateral::default();
    for f in files {
        c.add_file(f, &testdata::read(f)).expect("collateral parses");
    }
    c.merge(&cloud_ra_collateral::builtin_amd());
    c
}

fn run(report: &[u8], files: &[&str], opts: &VerifyOptions) -> Outcome {
    verify_evidence(report, &collateral(files), opts, None)
}

fn first_check(o: &Outcome) -> &str {
    o.failures.first().map(|f| f.check.as_str()).unwrap_or("")
}

const GSG: &str = "snp/go-sev-guest-milan/attestation.bin";
const GSG_VCEK: &str = "snp/go-sev-guest-milan/vcek.testcer";
const TM: &str = "snp/trustee-milan/test-report.bin";
const TM_VCEK: &str = "snp/trustee-milan/test-vcek.der";
const AWS: &str = "snp/trustee-vlek-aws/test-vlek-report.bin";
const AWS_VLEK: &str = "snp/trustee-vlek-aws/test-vlek.der";
const ASVK_MILAN: &str = "roots/amd/ask_ark_milan_vlek.pem";

/// Every real report under testdata/snp (every 1184-byte `.bin`): parsed, then encoded from its
/// fields alone, gives the received bytes back; v2 and v3 layouts are both among them.
#[test]
fn every_real_report_encodes_to_its_bytes() {
    let mut versions = Vec::new();
    let root = testdata::path("snp");
    let mut dirs: Vec<_> = std::fs::read_dir(&root).expect("testdata/snp").map(|d| d.expect("entry").path()).collect();
    dirs.sort();
    for dir in dirs.iter().filter(|d| d.is_dir()) {
        let mut files: Vec<_> = std::fs::read_dir(dir).expect("vector dir").map(|f| f.expect("entry").path()).collect();
        files.sort();
        for f in files.iter().filter(|f| f.extension().is_some_and(|e| e == "bin")) {
            let bytes = std::fs::read(f).expect("readable");
            if bytes.len() != REPORT_SIZE {
                continue;
            }
            let report = Report::parse(&bytes).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
            let mut fields_only = report.clone();
            fields_only.raw.fill(0);
            assert_eq!(fields_only.to_bytes().as_slice(), bytes.as_slice(), "{}", f.display());
            assert_eq!(Report::parse(&fields_only.to_bytes()).expect("parses again"), report, "{}", f.display());
            versions.push(report.version);
        }
    }
    assert!(versions.len() >= 3, "real reports found: {versions:?}");
    assert!(versions.contains(&2) && versions.contains(&3), "v2 and v3 layouts: {versions:?}");
}

#[test]
fn go_sev_guest_milan_v2_valid_but_debug_refused_by_default() {
    let opts = VerifyOptions::at(at("2022-09-24T01:00:00Z"));
    let o = run(&testdata::read(GSG), &[GSG_VCEK], &opts);
    assert!(o.verified, "{:?}", o.failures);
    assert_eq!(o.status, Status::Contraindicated);
    assert_eq!(o.exit_code(), 4);
    assert_eq!(first_check(&o), "policy.debug");
    let c = &o.claims;
    assert_eq!(c["version"], 2);
    assert_eq!(c["product"], "milan");
    assert_eq!(c["product_source"], "VEK productName");
    assert_eq!(c["signing_key"], "vcek");
    assert_eq!(c["debug"], true);
    assert_eq!(c["policy"]["raw"], 0xB0000);
    assert_eq!(c["reported_tcb"]["bootloader"], 2);
    assert_eq!(c["reported_tcb"]["snp"], 5);
    assert_eq!(c["reported_tcb"]["microcode"], 68);
    assert_eq!(c["current_firmware"], "1.49.3");
    assert!(c["report_data"].as_str().unwrap_or("").starts_with("0102030405000000"));
    assert!(c["chip_id"].as_str().unwrap_or("").starts_with("3ac3fe21"));
}

#[test]
fn go_sev_guest_milan_accepted_with_allow_debug() {
    let mut opts = VerifyOptions::at(at("2022-09-24T01:00:00Z"));
    opts.allow_debug = true;
    let o = run(&testdata::read(GSG), &[GSG_VCEK], &opts);
    assert_eq!(o.exit_code(), 0, "{:?}", o.failures);
    assert_eq!(o.status, Status::Affirming);
}

#[test]
fn go_sev_guest_milan_nonce_binding() {
    let mut opts = VerifyOptions::at(at("2022-09-24T01:00:00Z"));
    opts.allow_debug = true;
    opts.nonce = Some(vec![1, 2, 3, 4, 5]);
    let o = run(&testdata::read(GSG), &[GSG_VCEK], &opts);
    assert_eq!(o.exit_code(), 0, "{:?}", o.failures);
    assert_eq!(o.claims["nonce_bound"], true);
    opts.nonce = Some(vec![1, 2, 3, 4, 6]);
    let o = run(&testdata::read(GSG), &[GSG_VCEK], &opts);
    assert_eq!(o.exit_code(), 4);
    assert_eq!(first_check(&o), "policy.nonce");
}

#[test]
fn go_sev_guest_milan_refused_after_vcek_expiry_and_before_issue() {
    for t in ["2029-09-25T00:00:00Z", "2022-09-23T00:00:00Z"] {
        let mut opts = VerifyOptions::at(at(t));
        opts.allow_debug = true;
        let o = run(&testdata::read(GSG), &[GSG_VCEK], &opts);
        assert!(!o.verified, "{t}");
        assert_eq!(first_check(&o), "snp.chain", "{t}");
        assert_eq!(o.exit_code(), 2, "{t}");
        assert!(o.failures[0].detail.contains("SEV-VCEK"), "{}", o.failures[0].detail);
    }
}

#[test]
fn go_sev_guest_milan_wrong_product_hint_refused() {
    let mut opts = VerifyOptions::at(at("2022-09-24T01:00:00Z"));
    opts.allow_debug = true;
    opts.product = Some(Product::Genoa);
    let o = run(&testdata::read(GSG), &[GSG_VCEK], &opts);
    assert!(!o.verified);
    assert_eq!(first_check(&o), "snp.product");
}

#[test]
fn trustee_milan_v2_valid() {
    let o = run(&testdata::read(TM), &[TM_VCEK], &VerifyOptions::at(at("2024-01-01T00:00:00Z")));
    assert_eq!(o.exit_code(), 0, "{:?}", o.failures);
    assert_eq!(o.status, Status::Affirming);
    assert_eq!(o.claims["policy"]["raw"], 0x3001F);
    assert_eq!(o.claims["debug"], false);
    assert_eq!(o.claims["reported_tcb"]["microcode"], 115);
    assert_eq!(o.claims["current_tcb"]["microcode"], 206);
    assert_eq!(o.claims["current_firmware"], "1.52.4");
}

#[test]
fn trustee_milan_byte_42_flip_fails_signature() {
    let mut r = testdata::read(TM);
    r[42] ^= 0x01;
    let o = run(&r, &[TM_VCEK], &VerifyOptions::at(at("2024-01-01T00:00:00Z")));
    assert!(!o.verified);
    assert_eq!(first_check(&o), "snp.signature");
    assert_eq!(o.exit_code(), 2);
}

#[test]
fn trustee_milan_byte_384_flip_fails_tcb_binding() {
    let mut r = testdata::read(TM);
    r[384] ^= 0x01;
    let o = run(&r, &[TM_VCEK], &VerifyOptions::at(at("2024-01-01T00:00:00Z")));
    assert!(!o.verified);
    assert_eq!(first_check(&o), "snp.vek_tcb");
    assert!(o.failures[0].detail.contains("REPORTED_TCB.bootloader"), "{}", o.failures[0].detail);
    assert!(o.failures[0].detail.contains("snp.signature"), "both failures are named: {}", o.failures[0].detail);
}

#[test]
fn trustee_milan_with_another_chips_vcek_refused() {
    let o = run(&testdata::read(TM), &[GSG_VCEK], &VerifyOptions::at(at("2024-01-01T00:00:00Z")));
    assert!(!o.verified);
    assert_eq!(o.exit_code(), 2);
    let all = format!("{:?}", o.failures);
    assert!(all.contains("snp.vek_tcb") && all.contains("snp.signature"), "{all}");
}

#[test]
fn aws_vlek_v3_vmpl1_valid_with_asvk_chain() {
    let o = run(&testdata::read(AWS), &[AWS_VLEK, ASVK_MILAN], &VerifyOptions::at(at("2025-06-01T00:00:00Z")));
    assert_eq!(o.exit_code(), 0, "{:?}", o.failures);
    let c = &o.claims;
    assert_eq!(c["version"], 3);
    assert_eq!(c["vmpl"], 1);
    assert_eq!(c["signing_key"], "vlek");
    assert_eq!(c["product"], "milan");
    assert_eq!(c["product_source"], "report CPUID");
    assert_eq!(c["cpuid"]["family"], 0x19);
    assert_eq!(c["vek"]["csp_id"], "CN=cc-us-east-2.amazonaws.com");
    assert_eq!(c["chip_id"], "0".repeat(128));
    assert_eq!(c["reported_tcb"]["snp"], 24);
    assert_eq!(c["reported_tcb"]["microcode"], 217);
}

#[test]
fn aws_vlek_tamper_cases() {
    let t = VerifyOptions::at(at("2025-06-01T00:00:00Z"));
    let mut r = testdata::read(AWS);
    r[42] ^= 0x80;
    let o = run(&r, &[AWS_VLEK, ASVK_MILAN], &t);
    assert_eq!(first_check(&o), "snp.signature");
    let mut r = testdata::read(AWS);
    r[384] ^= 0x01;
    let o = run(&r, &[AWS_VLEK, ASVK_MILAN], &t);
    assert_eq!(first_check(&o), "snp.vek_tcb");
}

#[test]
fn aws_vlek_chained_to_the_ask_is_refused() {
    // Only the built-in ASK (SEV-Milan) is offered: a VLEK must chain to the ASVK.
    let o = run(&testdata::read(AWS), &[AWS_VLEK], &VerifyOptions::at(at("2025-06-01T00:00:00Z")));
    assert!(!o.verified);
    assert_eq!(first_check(&o), "snp.chain");
    assert!(o.failures[0].detail.contains("SEV-VLEK-Milan"), "{}", o.failures[0].detail);
}

#[test]
fn aws_vlek_refused_after_its_one_year_life() {
    let o = run(&testdata::read(AWS), &[AWS_VLEK, ASVK_MILAN], &VerifyOptions::at(at("2025-12-11T00:00:00Z")));
    assert!(!o.verified);
    assert_eq!(first_check(&o), "snp.chain");
    assert!(o.failures[0].detail.contains("expired"), "{}", o.failures[0].detail);
}

#[test]
fn aws_vlek_report_with_vcek_of_another_machine_is_refused_as_signer_mismatch() {
    // The report says VLEK; only VCEKs are supplied.
    let o = run(&testdata::read(AWS), &[TM_VCEK], &VerifyOptions::at(at("2025-06-01T00:00:00Z")));
    assert!(!o.verified);
    assert_eq!(first_check(&o), "snp.signer");
}

#[test]
fn aws_vlek_policy_knobs() {
    let mut opts = VerifyOptions::at(at("2025-06-01T00:00:00Z"));
    opts.policy =
        cloud_ra_verify::Policy::parse("p.toml", "[snp]\nvmpl = 1\nsigning_key = \"vlek\"\n").expect("policy");
    let o = run(&testdata::read(AWS), &[AWS_VLEK, ASVK_MILAN], &opts);
    assert_eq!(o.exit_code(), 0, "{:?}", o.failures);
    opts.policy =
        cloud_ra_verify::Policy::parse("p.toml", "[snp]\nvmpl = 0\nsigning_key = \"vcek\"\n").expect("policy");
    let o = run(&testdata::read(AWS), &[AWS_VLEK, ASVK_MILAN], &opts);
    assert_eq!(o.exit_code(), 4);
    let checks: Vec<&str> = o.failures.iter().map(|f| f.check.as_str()).collect();
    assert_eq!(checks, vec!["policy.vmpl", "policy.signing_key"]);
}

#[test]
fn turin_vcek_chain_and_tcb_extensions() {
    let mut c = Collateral::default();
    c.add_file("vcek", &testdata::read("snp/virtee-turin-chain/vcek_turin.der")).expect("vcek");
    c.add_file("chain", &testdata::read("snp/virtee-turin-chain/cert_chain_turin")).expect("chain");
    let vcek = c.certs.iter().find(|x| role_of(x) == Role::Vcek).expect("VCEK present");
    let ask = c.certs.iter().find(|x| x.subject_cn == "SEV-Turin").expect("ASK present");
    let ark = c.certs.iter().find(|x| x.subject_cn == "ARK-Turin").expect("ARK present");
    assert_eq!(ark.fingerprint_hex(), cloud_ra_verify::snp::roots::pinned_ark(Product::Turin));
    let ext = VekExtensions::read(vcek).expect("extensions parse");
    assert_eq!(ext.product_name.as_deref(), Some("Turin"));
    assert!(ext.fmc.is_some(), "Turin VCEK carries fmcSPL");
    assert_eq!(ext.hwid.as_ref().map(|h| h.len()), Some(8), "Turin hwID is 8 bytes");
    let t = at("2025-01-01T00:00:00Z");
    let chain =
        cloud_ra_verify::snp::verify::validate_chain(ark, ask, vcek, ext, &[], false, t).expect("Turin chain valid");
    assert!(!chain.simulated);
    // A VCEK is not an issuer, and the ASK is not the root.
    assert!(ask.verify_issued_by(vcek).is_err());
    assert!(ask.verify_issued_by(ask).is_err());
    // Expired chain at 2032.
    let ext = VekExtensions::read(vcek).expect("extensions parse");
    assert!(
        cloud_ra_verify::snp::verify::validate_chain(ark, ask, vcek, ext, &[], false, at("2032-01-01T00:00:00Z"))
            .is_err()
    );
}

#[test]
fn extended_and_bundle_forms_of_a_real_report_agree() {
    use cloud_ra_verify::snp::format::{CertKind, CertTableEntry, write_cert_table};
    let report = testdata::read(TM);
    let vcek = testdata::read(TM_VCEK);
    let table = write_cert_table(&[CertTableEntry {
        guid: CertKind::Vcek.guid().expect("guid"),
        kind: CertKind::Vcek,
        data: vcek,
    }]);
    let mut ext = report.clone();
    ext.extend_from_slice(&table);
    let opts = VerifyOptions::at(at("2024-01-01T00:00:00Z"));
    let builtin = cloud_ra_collateral::builtin_amd();
    let o = verify_evidence(&ext, &builtin, &opts, None);
    assert_eq!(o.exit_code(), 0, "{:?}", o.failures);
    assert!(o.detected.contains("certificate table of 1 entries"), "{}", o.detected);
    let bundle = cloud_ra_verify::bundle::Bundle::new_snp(&report, Some(&table)).to_json();
    let o2 = verify_evidence(bundle.as_bytes(), &builtin, &opts, None);
    assert_eq!(o2.exit_code(), 0, "{:?}", o2.failures);
    assert!(o2.detected.contains("bundle"));
    assert_eq!(o.claims, o2.claims);
}

#[test]
fn shared_claims_are_typed_and_in_the_json() {
    use cloud_ra_verify::Platform;
    let o = run(&testdata::read(TM), &[TM_VCEK], &VerifyOptions::at(at("2024-01-01T00:00:00Z")));
    assert_eq!(o.exit_code(), 0, "{:?}", o.failures);
    let c = &o.claims;
    assert_eq!(c.platform(), Some(Platform::Snp));
    let m = c.measurements().get("measurement").expect("measurement");
    assert_eq!(hex::encode(m), c["measurement"].as_str().expect("hex"));
    assert_eq!(c["measurements"]["measurement"], c["measurement"]);
    assert_eq!(c.report_data().map(hex::encode).as_deref(), c["report_data"].as_str());
    let s = c.signer().expect("signer");
    assert_eq!((s.kind, s.sha256.as_str()), ("vcek", c["vek"]["sha256"].as_str().expect("vek sha256")));
    assert_eq!(c["signer"]["kind"], "vcek");
    assert!(!c.debug() && !c.simulated() && !c.nonce_bound());
    assert_eq!(c.tcb_status(), None, "SNP has no TCB status");
    assert_eq!(*c.registers(), cloud_ra_verify::claims::Registers::None);
    // Unverified evidence has no claims at all.
    let mut r = testdata::read(TM);
    r[42] ^= 1;
    let bad = run(&r, &[TM_VCEK], &VerifyOptions::at(at("2024-01-01T00:00:00Z")));
    assert_eq!((bad.claims.to_value(), bad.claims.platform()), (serde_json::json!({}), None));
}

#[test]
fn pinned_arks_are_self_signed() {
    // validate_chain trusts a pinned ARK as its exact bytes and skips its self-signature per
    // report: this is where those bytes' self-signatures are checked (the built-in ARKs and the
    // testdata's copies of them).
    use cloud_ra_verify::snp::roots::PINNED_ARKS;
    let mut c = cloud_ra_collateral::builtin_amd();
    for f in ["roots/amd/ask_ark_milan.pem", "roots/amd/ask_ark_genoa.pem", "roots/amd/ask_ark_turin_vcek.pem"] {
        c.add_file(f, &testdata::read(f)).expect("chain parses");
    }
    for (product, fp) in PINNED_ARKS {
        let ark =
            c.certs.iter().find(|x| x.fingerprint_hex() == *fp).unwrap_or_else(|| panic!("{product:?} ARK present"));
        ark.verify_issued_by(ark).unwrap_or_else(|e| panic!("{product:?} ARK self-signature: {e}"));
    }
}
