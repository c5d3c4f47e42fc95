//! Every file of shared/testdata/azure with the outcome MANIFEST.md gives, read in place, at
//! pinned times; and the GCE vTPM attestation of tpm/gce-cos-85 as a second real vTPM.

use cloud_ra_sim::testdata;
use cloud_ra_verify::azure::format::{self, HclReport, RuntimeClaims};
use cloud_ra_verify::azure::{QuoteParts, Tee};
use cloud_ra_verify::bundle::{B64, Bundle, BundleCert};
use cloud_ra_verify::tpm::{self, AkPublic, Attest, verify_quote_signed};
use cloud_ra_verify::x509::{Certificate, pem_blocks};
use cloud_ra_verify::{Collateral, Outcome, Status, Timestamp, VerifyOptions, verify_evidence};
use serde_json::Value;

fn at(s: &str) -> Timestamp {
    Timestamp::parse_rfc3339(s).expect("valid time")
}

const SNP_DIR: &str = "azure/trustee-az-snp-vtpm";
const TDX_DIR: &str = "azure/trustee-az-tdx-vtpm";
const KV: &str = "azure/kinvolk";
/// Inside every SNP vector's window (VCEKs from 2023-05-02 and 2025-01-28 to 2030/2032).
const SNP_AT: &str = "2025-06-01T00:00:00Z";
/// Inside tdx/automata-gcp-spr-0725's collateral window.
const TDX_AT: &str = "2025-07-20T00:00:00Z";
const CHALLENGE: &[u8] = b"challenge";

fn amd() -> Collateral {
    cloud_ra_collateral::builtin_amd()
}

fn read_json(rel: &str) -> Value {
    serde_json::from_slice(&testdata::read(rel)).expect("JSON")
}

fn opts(t: &str, nonce: Option<&[u8]>) -> VerifyOptions {
    let mut o = VerifyOptions::at(at(t));
    o.nonce = nonce.map(|n| n.to_vec());
    o
}

fn first_check(o: &Outcome) -> &str {
    o.failures.first().map(|f| f.check.as_str()).unwrap_or("")
}

/// A cloud-ra bundle from the raw trustee parts: hcl-report.bin, tpm-quote-v1.json, vcek.pem.
fn snp_parts_bundle(hcl: &[u8]) -> Vec<u8> {
    let q = format::trustee_quote(&read_json(&format!("{SNP_DIR}/tpm-quote-v1.json"))).expect("quote JSON");
    let mut b = Bundle::new_azure(Tee::Snp, hcl, Some(&q));
    let pem = String::from_utf8(testdata::read(&format!("{SNP_DIR}/vcek.pem"))).expect("PEM");
    for (i, (_, der)) in pem_blocks(&pem).expect("PEM blocks").into_iter().enumerate() {
        let kind = ["vcek", "ask", "ark"][i];
        b.certs.push(BundleCert { kind: kind.into(), der: B64(der) });
    }
    b.to_json().into_bytes()
}

// ---------------------------------------------------------------------------------------------
// trustee az-snp-vtpm

#[test]
fn trustee_snp_parts_verify_with_challenge() {
    let hcl = testdata::read(&format!("{SNP_DIR}/hcl-report.bin"));
    let o = verify_evidence(&snp_parts_bundle(&hcl), &Collateral::default(), &opts(SNP_AT, Some(CHALLENGE)), None);
    assert_eq!(o.exit_code(), 0, "{:?} {:?}", o.failures, o.warnings);
    assert_eq!(o.platform, "azure-snp-vtpm");
    let c = &o.claims;
    assert_eq!(c["freshness"], "tpm-quote");
    assert_eq!(c["nonce_bound"], true);
    assert_eq!(c["hardware_platform"], "snp");
    assert_eq!(c["version"], 2);
    assert_eq!(c["policy"]["raw"], 0x3001F);
    assert_eq!(c["reported_tcb"]["bootloader"], 3);
    assert_eq!(c["reported_tcb"]["snp"], 8);
    assert_eq!(c["reported_tcb"]["microcode"], 115);
    assert_eq!(c["current_firmware"], "1.52.4");
    assert_eq!(c["vmpl"], 0);
    assert_eq!(c["hcl"]["tee"], "snp");
    assert_eq!(c["hcl"]["hash_type"], "sha256");
    assert_eq!(c["tpm_quote"]["extra_data"], hex::encode(CHALLENGE));
    assert_eq!(c["tpm_quote"]["signature"], "rsassa-sha256");
    assert_eq!(c["pcrs"].as_object().map(|m| m.len()), Some(24));
    assert_eq!(c["ak_pub"]["kty"], "RSA");
    assert_eq!(c["ak_pub"]["bits"], 2048);
    assert!(c["vm_configuration"]["secure-boot"].is_boolean());
    // The same bundle without --nonce: verified, nothing bound.
    let o = verify_evidence(&snp_parts_bundle(&hcl), &Collateral::default(), &opts(SNP_AT, None), None);
    assert_eq!(o.exit_code(), 0, "{:?}", o.failures);
    assert_eq!(o.claims["nonce_bound"], false);
    // Another nonce: the quote's extraData does not carry it.
    let o = verify_evidence(&snp_parts_bundle(&hcl), &Collateral::default(), &opts(SNP_AT, Some(b"egnellahc")), None);
    assert_eq!(o.exit_code(), 4);
    assert_eq!(first_check(&o), "policy.nonce");
}

#[test]
fn trustee_snp_byte_0x1a6_zeroed_is_snp_tcb_mismatch() {
    let mut hcl = testdata::read(&format!("{SNP_DIR}/hcl-report.bin"));
    hcl[0x1a6] = 0;
    let o = verify_evidence(&snp_parts_bundle(&hcl), &Collateral::default(), &opts(SNP_AT, Some(CHALLENGE)), None);
    assert!(!o.verified);
    assert_eq!(o.exit_code(), 2);
    assert_eq!(first_check(&o), "snp.vek_tcb");
    assert!(o.failures[0].detail.contains("REPORTED_TCB.snp is 0"), "{}", o.failures[0].detail);
}

#[test]
fn trustee_snp_byte_0x6e0_plus_one_breaks_the_binding() {
    let mut hcl = testdata::read(&format!("{SNP_DIR}/hcl-report.bin"));
    hcl[0x6e0] += 1;
    let o = verify_evidence(&snp_parts_bundle(&hcl), &Collateral::default(), &opts(SNP_AT, Some(CHALLENGE)), None);
    assert_eq!(o.exit_code(), 2);
    assert_eq!(first_check(&o), "azure.binding");
    assert!(o.failures[0].detail.contains("REPORT_DATA"), "{}", o.failures[0].detail);
}

#[test]
fn trustee_snp_ak_byte_0x540_zeroed_has_no_akpub() {
    let mut hcl = testdata::read(&format!("{SNP_DIR}/hcl-report.bin"));
    hcl[0x540] = 0;
    let e = HclReport::parse(&hcl).expect_err("claims no longer JSON");
    assert_eq!(e.check, "azure.runtime_claims");
    let o = verify_evidence(&snp_parts_bundle(&hcl), &Collateral::default(), &opts(SNP_AT, Some(CHALLENGE)), None);
    assert_eq!(o.exit_code(), 2);
    assert_eq!(first_check(&o), "azure.runtime_claims");
}

#[test]
fn trustee_snp_quote_tampering_refused() {
    let hcl = testdata::read(&format!("{SNP_DIR}/hcl-report.bin"));
    let good = format::trustee_quote(&read_json(&format!("{SNP_DIR}/tpm-quote-v1.json"))).expect("quote");
    let run = |q: &QuoteParts| {
        let b = Bundle { certs: Vec::new(), ..Bundle::new_azure(Tee::Snp, &hcl, Some(q)) };
        let mut c = amd();
        c.add_file("vcek.pem", &testdata::read(&format!("{SNP_DIR}/vcek.pem"))).expect("vcek");
        verify_evidence(b.to_json().as_bytes(), &c, &opts(SNP_AT, Some(CHALLENGE)), None)
    };
    assert_eq!(run(&good).exit_code(), 0);
    let mut q = good.clone();
    let n = q.signature.len();
    q.signature[n - 1] ^= 1;
    assert_eq!(first_check(&run(&q)), "tpm.signature");
    let mut q = good.clone();
    q.pcrs[5] ^= 1;
    assert_eq!(first_check(&run(&q)), "tpm.pcrs");
    let mut q = good.clone();
    q.pcrs.truncate(23 * 32);
    let o = run(&q);
    assert_eq!(first_check(&o), "tpm.pcrs");
    assert!(o.failures[0].detail.contains("736 bytes"), "{}", o.failures[0].detail);
    let mut q = good.clone();
    q.attest[0] ^= 1;
    assert_eq!(first_check(&run(&q)), "tpm.magic");
}

#[test]
fn trustee_snp_evidence_v1_as_is() {
    let bytes = testdata::read(&format!("{SNP_DIR}/evidence-v1.json"));
    let o = verify_evidence(&bytes, &amd(), &opts(SNP_AT, Some(CHALLENGE)), None);
    assert_eq!(o.exit_code(), 0, "{:?}", o.failures);
    assert!(o.detected.contains("trustee az-snp-vtpm evidence v1"), "{}", o.detected);
    let c = &o.claims;
    assert_eq!(c["version"], 3);
    assert_eq!(c["current_firmware"], "1.55.29");
    assert_eq!(c["reported_tcb"]["bootloader"], 4);
    assert_eq!(c["reported_tcb"]["snp"], 24);
    assert_eq!(c["reported_tcb"]["microcode"], 219);
    assert_eq!(c["evidence_format"], "trustee-v1");
    assert!(c["pcrs"]["0"].as_str().unwrap_or("").starts_with("e15c44796beabf46"), "{}", c["pcrs"]["0"]);
    assert!(c["pcrs"]["0"].as_str().unwrap_or("").ends_with("8dced"));
    assert_eq!(c["nonce_bound"], true);
    // Without the builtin AMD chain there is no ASK/ARK: collateral.
    let o = verify_evidence(&bytes, &Collateral::default(), &opts(SNP_AT, Some(CHALLENGE)), None);
    assert_eq!(o.exit_code(), 3, "{:?}", o.failures);
    // Before the VCEK's notBefore the chain is not valid.
    let o = verify_evidence(&bytes, &amd(), &opts("2024-06-01T00:00:00Z", Some(CHALLENGE)), None);
    assert_eq!(o.exit_code(), 2);
    assert_eq!(first_check(&o), "snp.chain");
}

#[test]
fn trustee_snp_evidence_v2_user_data() {
    let bytes = testdata::read(&format!("{SNP_DIR}/evidence-v2.json"));
    let rd =
        hex::decode("982f5c6e45df0ed3f10b6f60b02f0c8390e281300f3805e2279c16168cd6ae9aa398f647caa2338748cd0fd9f5f819ef")
            .expect("hex");
    let o = verify_evidence(&bytes, &amd(), &opts(SNP_AT, Some(&rd)), None);
    assert_eq!(o.exit_code(), 0, "{:?}", o.failures);
    assert!(o.claims["user_data"].as_str().unwrap_or("").starts_with("982f5c6e45df0ed3"));
    assert!(o.claims["pcrs"]["0"].as_str().unwrap_or("").starts_with("84275b2f"));
    assert!(o.claims["pcrs"]["0"].as_str().unwrap_or("").ends_with("a6a7"));
    assert_eq!(o.claims["freshness"], "tpm-quote");
    // user-data "123abc": neither the quote nor the HCL user-data carries it.
    let o = verify_evidence(&bytes, &amd(), &opts(SNP_AT, Some(&hex::decode("123abc").expect("hex"))), None);
    assert_eq!(o.exit_code(), 4);
    assert!(
        o.failures.iter().any(|f| f.check == "policy.user_data" && f.detail.contains("does not carry")),
        "{:?}",
        o.failures
    );
    assert!(o.failures.iter().any(|f| f.check == "policy.nonce"));
}

// ---------------------------------------------------------------------------------------------
// trustee az-tdx-vtpm

const TDX_COLL: &[&str] = &[
    "tdx/automata-gcp-spr-0725/tcb_info_v3_with_tdx_module.json",
    "tdx/automata-gcp-spr-0725/qe_identity.json",
    "tdx/automata-gcp-spr-0725/pck_platform_crl.der",
    "roots/intel/intel_root_ca_crl.der",
    "roots/intel/tcb_signing.der",
];

fn tdx_collateral() -> Collateral {
    let mut c = Collateral::default();
    for f in TDX_COLL {
        c.add_file(f, &testdata::read(f)).unwrap_or_else(|e| panic!("{f}: {e}"));
    }
    c
}

#[test]
fn trustee_tdx_evidence_binding_holds_tcb_out_of_date() {
    // MANIFEST (derived, dcap-qvl's 16-component comparison) says "no matching TCB level" for
    // TEE_TCB_SVN 02 01 06; cloud-ra's DCAP verifier follows Intel's QVL (TEE_TCB_SVN[1] > 0: the
    // module is evaluated through tdxModuleIdentities) and matches the OutOfDate level, as its own
    // dcap_vectors test spr_october_2025_collateral asserts for this quote. The TCB status is the
    // DCAP verifier's; what this test owns is that everything Azure-specific passes.
    let bytes = testdata::read(&format!("{TDX_DIR}/evidence-v1.json"));
    let o = verify_evidence(&bytes, &tdx_collateral(), &opts(TDX_AT, Some(CHALLENGE)), None);
    assert!(o.verified, "{:?}", o.failures);
    assert_eq!(o.platform, "azure-tdx-vtpm");
    assert_eq!(o.claims["hardware_platform"], "tdx");
    assert_eq!(o.claims["tcb_status"], "OutOfDate");
    assert_eq!(o.claims["tdx_module"]["tcb_status"], "OutOfDate");
    assert_eq!(o.claims["tee_tcb_svn"], "02010600000000000000000000000000");
    assert_eq!(o.claims["freshness"], "tpm-quote");
    assert_eq!(o.claims["nonce_bound"], true);
    assert!(o.claims["pcrs"]["0"].as_str().unwrap_or("").starts_with("782b20b10f55cc46"));
    assert_eq!(o.exit_code(), 4);
    assert_eq!(first_check(&o), "policy.tcb_status");
    // Only the TCB status fails: binding, quote and nonce all passed.
    assert_eq!(o.failures.len(), 1, "{:?}", o.failures);
    // Accepting OutOfDate by policy affirms the rest.
    let mut op = opts(TDX_AT, Some(CHALLENGE));
    op.policy.tdx.accepted_tcb_statuses = Some(vec!["OutOfDate".into()]);
    let o = verify_evidence(&bytes, &tdx_collateral(), &op, None);
    assert_eq!(o.exit_code(), 0, "{:?}", o.failures);
}

#[test]
fn trustee_tdx_parts_and_mismatched_td_quote() {
    let hcl = testdata::read(&format!("{TDX_DIR}/hcl-report.bin"));
    let td = testdata::read(&format!("{TDX_DIR}/td-quote.bin"));
    let q = format::trustee_quote(&read_json(&format!("{TDX_DIR}/tpm-quote-v1.json"))).expect("quote");
    let mut b = Bundle::new_azure(Tee::Tdx, &hcl, Some(&q));
    b.evidence.insert("td_quote".into(), B64(td.clone()));
    let mut op = opts(TDX_AT, Some(CHALLENGE));
    op.policy.tdx.accepted_tcb_statuses = Some(vec!["OutOfDate".into()]);
    let o = verify_evidence(b.to_json().as_bytes(), &tdx_collateral(), &op, None);
    assert_eq!(o.exit_code(), 0, "{:?}", o.failures);
    // The same TD quote beside another TDX HCL report (kinvolk's): REPORTDATA differs.
    let mut b2 = Bundle::new_azure(Tee::Tdx, &testdata::read(&format!("{KV}/hcl-report-tdx.bin")), None);
    b2.evidence.insert("td_quote".into(), B64(td));
    let o = verify_evidence(b2.to_json().as_bytes(), &tdx_collateral(), &op, None);
    assert_eq!(o.exit_code(), 2);
    assert_eq!(first_check(&o), "azure.td_quote");
    assert!(o.failures[0].detail.contains("REPORTDATA"));
    // Without the TD quote a TDX HCL report cannot be verified.
    let b3 = Bundle::new_azure(Tee::Tdx, &hcl, Some(&q));
    let o = verify_evidence(b3.to_json().as_bytes(), &tdx_collateral(), &op, None);
    assert_eq!(first_check(&o), "azure.td_quote");
    // A TDX report in an SNP bundle is refused.
    let b4 = Bundle::new_azure(Tee::Snp, &hcl, Some(&q));
    let o = verify_evidence(b4.to_json().as_bytes(), &tdx_collateral(), &op, None);
    assert_eq!(first_check(&o), "azure.platform");
}

// ---------------------------------------------------------------------------------------------
// kinvolk fixtures

#[test]
fn kinvolk_hcl_reports_parse_and_bind() {
    for (f, tee, version) in [("hcl-report-snp.bin", Tee::Snp, 1), ("hcl-report-tdx.bin", Tee::Tdx, 2)] {
        let b = testdata::read(&format!("{KV}/{f}"));
        let h = HclReport::parse(&b).unwrap_or_else(|e| panic!("{f}: {e}"));
        assert_eq!(h.tee, tee);
        assert_eq!(h.header.version, version);
        assert_eq!(h.report_data(), h.expected_report_data(), "{f}: binding");
        assert!(
            matches!(h.claims.ak_pub.params, tpm::KeyParams::Rsa { ref modulus, exponent: 65537 } if modulus.len() == 256)
        );
    }
    let v = RuntimeClaims::parse(&testdata::read(&format!("{KV}/var-data.bin"))).expect("var-data.bin");
    assert_eq!(v.ak_pub.kid, "HCLAkPub");
    assert!(v.ek_pub.is_some());
}

#[test]
fn kinvolk_certs_pem_is_the_wrong_vcek() {
    let hcl = testdata::read(&format!("{KV}/hcl-report-snp.bin"));
    let mut c = Collateral::default();
    c.add_file("certs.pem", &testdata::read(&format!("{KV}/certs.pem"))).expect("certs");
    // The raw HCL report is detected as Azure evidence.
    let o = verify_evidence(&hcl, &c, &opts("2024-01-01T00:00:00Z", None), None);
    assert!(o.detected.contains("Azure HCL report"), "{}", o.detected);
    assert!(!o.verified);
    assert_eq!(o.exit_code(), 2);
    assert_eq!(first_check(&o), "snp.vek_hwid");
    assert!(o.failures[0].detail.contains("signature"), "{}", o.failures[0].detail);
}

fn kinvolk_ak() -> AkPublic {
    let pem = testdata::read(&format!("{KV}/akpub.pem"));
    AkPublic::from_spki(&cloud_ra_verify::x509::spki_der_of(&pem).expect("PEM")).expect("AK")
}

#[test]
fn kinvolk_quote_bin_with_akpub_and_challenge() {
    let q = format::kinvolk_quote(&testdata::read(&format!("{KV}/quote.bin"))).expect("bincode quote");
    let ak = kinvolk_ak();
    let a = Attest::parse(&q.attest).expect("attest");
    let pcrs = a.split_pcrs(&q.pcrs).expect("24 PCRs");
    let v = verify_quote_signed(&ak, &q.attest, &q.signature, &pcrs).expect("valid");
    assert_eq!(v.attest.extra_data, CHALLENGE);
    assert_eq!(v.pcrs.values().map(|m| m.len()).sum::<usize>(), 24);
    assert!(tpm::verify_quote(&ak, &q.attest, &q.signature, CHALLENGE, &pcrs).is_ok());
    // Nonce 01020304: NonceMismatch.
    let e = tpm::verify_quote(&ak, &q.attest, &q.signature, &[1, 2, 3, 4], &pcrs).expect_err("nonce");
    assert_eq!(e.check, "tpm.nonce");
    // Reversed signature: SignatureMismatch.
    let mut sig = tpm::Signature::parse(&q.signature).expect("sig");
    sig.sig.reverse();
    let e = verify_quote_signed(&ak, &q.attest, &sig.to_bytes(), &pcrs).expect_err("signature");
    assert_eq!(e.check, "tpm.signature");
    // akpub.pem is not the HCLAkPub of either report.
    for f in ["hcl-report-snp.bin", "hcl-report-tdx.bin"] {
        let h = HclReport::parse(&testdata::read(&format!("{KV}/{f}"))).expect("parses");
        assert!(!h.claims.ak_pub.params.same_key(&ak.params), "{f}");
    }
}

// ---------------------------------------------------------------------------------------------
// GCE vTPM (tpm/gce-cos-85), the protobuf read in place

/// Minimal protobuf reading: (field number, wire type, value bytes or varint).
fn pb_fields(mut b: &[u8]) -> Vec<(u64, Vec<u8>, u64)> {
    fn varint(b: &mut &[u8]) -> u64 {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let (c, rest) = b.split_first().expect("varint");
            *b = rest;
            v |= u64::from(c & 0x7f) << shift;
            if c & 0x80 == 0 {
                break;
            }
        }
        v
    }
    let mut out = Vec::new();
    while !b.is_empty() {
        let key = varint(&mut b);
        match key & 7 {
            0 => {
                let v = varint(&mut b);
                out.push((key >> 3, Vec::new(), v));
            }
            2 => {
                let n = varint(&mut b) as usize;
                out.push((key >> 3, b[..n].to_vec(), 0));
                b = &b[n..];
            }
            w => panic!("wire type {w}"),
        }
    }
    out
}

#[test]
fn gce_cos_85_vtpm_quotes_and_ak_certificate_chain() {
    let pb = testdata::read("tpm/gce-cos-85/gce-cos-85-nonce9009.pb");
    let top = pb_fields(&pb);
    let field = |n: u64| top.iter().filter(move |f| f.0 == n).map(|f| f.1.clone());
    let ak = AkPublic::parse(&field(1).next().expect("ak_pub")).expect("TPMT_PUBLIC");
    assert!(matches!(ak.params, tpm::KeyParams::Rsa { ref modulus, .. } if modulus.len() == 256));
    let mut banks = Vec::new();
    for quote in field(2) {
        let q = pb_fields(&quote);
        let get = |n: u64| q.iter().find(|f| f.0 == n).map(|f| f.1.clone()).expect("quote field");
        let (attest, sig, pcrs_msg) = (get(1), get(2), get(3));
        let mut pcrs = tpm::QuotedPcrs::new();
        let pm = pb_fields(&pcrs_msg);
        let alg = pm.iter().find(|f| f.0 == 1).map(|f| f.2).expect("hash") as u16;
        for entry in pm.iter().filter(|f| f.0 == 2) {
            let e = pb_fields(&entry.1);
            let idx = e.iter().find(|f| f.0 == 1).map(|f| f.2).unwrap_or(0) as u32;
            let val = e.iter().find(|f| f.0 == 2).map(|f| f.1.clone()).expect("value");
            pcrs.entry(cloud_ra_verify::eventlog::AlgId(alg)).or_default().insert(idx, val);
        }
        let v = verify_quote_signed(&ak, &attest, &sig, &pcrs).expect("quote verifies");
        assert_eq!(v.attest.extra_data, [0x90, 0x09]);
        assert_eq!(v.pcrs.values().map(|m| m.len()).sum::<usize>(), 24);
        banks.push(alg);
        assert_eq!(tpm::verify_quote(&ak, &attest, &sig, &[0x90, 0x0a], &pcrs).expect_err("nonce").check, "tpm.nonce");
    }
    banks.sort();
    assert_eq!(banks, vec![0x0004, 0x000B, 0x000C], "SHA-1, SHA-256, SHA-384 quotes");
    // AK certificate (field 6) -> intermediates (field 7, if carried) or Google's published
    // intermediate -> the pinned root.
    let leaf = Certificate::from_der(&field(6).next().expect("ak_cert")).expect("AK cert");
    let mut inters: Vec<Certificate> = field(7).map(|d| Certificate::from_der(&d).expect("intermediate")).collect();
    let carried = inters.len();
    inters.push(Certificate::from_der(&testdata::read("roots/google/tpm_ek_intermediate_2.crt")).expect("inter"));
    let roots = vec![
        Certificate::from_der(&testdata::read("roots/google/tpm_ek_root_1.cer")).expect("root"),
        Certificate::from_der(&testdata::read("roots/google/gcp_ek_ak_ca_root.crt")).expect("root"),
    ];
    let t = at("2025-01-01T00:00:00Z");
    let v = tpm::verify_ak_certificate(&ak, &leaf, &inters, &roots, tpm::GOOGLE_AK_ROOTS, t).expect("chain");
    assert_eq!(v.root_sha256, "9bd5285f8fb18502a7947e621ffd470266f49fcd3b73e19a190f690ad32a7caf");
    assert_eq!(v.chain.len(), 2, "{carried} intermediates carried; chain {:?}", v.chain);
    // Not pinned: refused. Before the AK certificate's notBefore: refused.
    let e = tpm::verify_ak_certificate(&ak, &leaf, &inters, &roots, &[], t).expect_err("unpinned");
    assert!(e.detail.contains("not a pinned"), "{}", e.detail);
    let e = tpm::verify_ak_certificate(&ak, &leaf, &inters, &roots, tpm::GOOGLE_AK_ROOTS, at("2021-01-01T00:00:00Z"))
        .expect_err("too early");
    assert_eq!(e.check, "tpm.ak_cert");
    // Another key than the certificate's: refused.
    let e =
        tpm::verify_ak_certificate(&kinvolk_ak(), &leaf, &inters, &roots, tpm::GOOGLE_AK_ROOTS, t).expect_err("key");
    assert!(e.detail.contains("public key"));
}

#[test]
fn status_of_plain_hcl_without_quote_is_replayable_warning() {
    // kinvolk's SNP HCL report with its own (correct) VCEK is not available; use the trustee
    // report without its quote: verified, freshness none, a warning; --nonce refuses it.
    let hcl = testdata::read(&format!("{SNP_DIR}/hcl-report.bin"));
    let mut c = amd();
    c.add_file("vcek.pem", &testdata::read(&format!("{SNP_DIR}/vcek.pem"))).expect("vcek");
    let o = verify_evidence(&hcl, &c, &opts(SNP_AT, None), None);
    assert_eq!(o.exit_code(), 0, "{:?}", o.failures);
    assert_eq!(o.status, Status::Warning);
    assert_eq!(o.claims["freshness"], "none");
    assert!(o.warnings.iter().any(|w| w.check == "azure.freshness"));
    let o = verify_evidence(&hcl, &c, &opts(SNP_AT, Some(CHALLENGE)), None);
    assert_eq!(o.exit_code(), 4);
    assert_eq!(first_check(&o), "policy.freshness");
    let mut op = opts(SNP_AT, None);
    op.policy.azure.require_freshness = Some(true);
    assert_eq!(first_check(&verify_evidence(&hcl, &c, &op, None)), "policy.freshness");
}
