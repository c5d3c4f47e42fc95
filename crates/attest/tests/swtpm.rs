//! The attester's TPM paths on a real software TPM (swtpm, loopback): Azure-style collection
//! (HCL report in NV, AK at 0x81000003, quote), the fresh-report protocol through NV
//! 0x01400002, EK/AK setup and its persistence across a TPM restart, and a TPM that is not there.
//! Quotes are checked with the verifier's pure-Rust code.

mod common;

use base64::Engine;
use cloud_ra_attest::TpmClient;
use cloud_ra_attest::azure::{AzureError, AzureOptions, AzureTee, HclView, collect_azure};
use cloud_ra_attest::imds::Imds;
use cloud_ra_attest::sim_azure::{self, SimParavisor};
use cloud_ra_attest::tpm::{
    AK_HANDLE, AZURE_AK_HANDLE, EK_HANDLE, HR_HMAC_SESSION, HR_POLICY_SESSION, HR_TRANSIENT, KeyAlg, KeyKind,
    NV_HCL_REPORT, NV_HCL_USER_DATA, PcrSelection, PublicInfo, SetupStep, Tpm, TpmError, classify_persistent,
    list_keys, setup_ak,
};
use cloud_ra_sim::swtpm::Swtpm;
use cloud_ra_sim::{ReportBuilder, SimAmd, VekKind};
use cloud_ra_verify::bundle::Bundle;
use cloud_ra_verify::eventlog::AlgId;
use cloud_ra_verify::tpm::{AkPublic, Attest, QuotedPcrs, verify_quote};
use cloud_ra_verify::{Check, Timestamp};
use std::time::Duration;

const B64URL: base64::engine::GeneralPurpose = base64::engine::general_purpose::URL_SAFE_NO_PAD;
/// swtpm's TPM2_PT_NV_INDEX_MAX.
const NV_MAX: usize = 2048;

fn now() -> Timestamp {
    Timestamp::parse_rfc3339("2026-06-01T00:00:00Z").unwrap()
}

fn start() -> (Swtpm, TpmClient) {
    let sw = Swtpm::start().expect("swtpm (apt-get install swtpm swtpm-tools)");
    let tpm = TpmClient::open(&sw.tcti()).expect("connect to swtpm");
    (sw, tpm)
}

fn jwk(ak_public: &[u8]) -> serde_json::Value {
    sim_azure::jwk(ak_public).unwrap()
}

fn claims_json(ak_public: &[u8], user_data: &[u8; 64]) -> Vec<u8> {
    sim_azure::runtime_claims(ak_public, user_data).unwrap()
}

/// The simulated paravisor's HCL report (`cloud_ra_attest::sim_azure`).
fn snp_hcl(ak_public: &[u8], user_data: &[u8; 64]) -> Vec<u8> {
    sim_azure::snp_hcl_report(ak_public, user_data).unwrap()
}

fn hcl(report_type: u32, hw_report: &[u8], claims: &[u8]) -> Vec<u8> {
    let tee = if report_type == 4 { AzureTee::Tdx } else { AzureTee::Snp };
    let b = sim_azure::hcl_report(tee, hw_report, claims);
    assert!(b.len() <= NV_MAX, "HCL blob of {} bytes does not fit swtpm's NV", b.len());
    b
}

/// EK at 0x81010001 and an AK of `alg` at 0x81000003, as Azure provisions them.
fn provision_azure_ak(tpm: &mut TpmClient, alg: KeyAlg) -> Vec<u8> {
    tpm.persist_ek(KeyAlg::Rsa2048, EK_HANDLE).expect("persist EK");
    tpm.persist_ak(EK_HANDLE, alg, AZURE_AK_HANDLE).expect("persist AK")
}

fn put_hcl(tpm: &mut TpmClient, blob: &[u8]) {
    sim_azure::write_hcl(tpm, blob).expect("write 0x01400001");
}

/// The PCR values of `tpm_pcrs`, split by the quote's own selection.
fn quoted_pcrs(attest: &[u8], concat: &[u8]) -> QuotedPcrs {
    let a = Attest::parse(attest).unwrap();
    let mut out = QuotedPcrs::new();
    let mut rest = concat;
    for (bank, idx) in &a.selection {
        let n = bank.known_size().unwrap();
        for i in idx {
            let (v, r) = rest.split_at(n);
            out.entry(*bank).or_default().insert(*i, v.to_vec());
            rest = r;
        }
    }
    assert!(rest.is_empty(), "{} PCR bytes left over", rest.len());
    out
}

fn ev<'a>(b: &'a Bundle, k: &str) -> &'a [u8] {
    &b.evidence.get(k).unwrap_or_else(|| panic!("bundle lacks evidence '{k}'")).0
}

/// What the verifier will check, with its pure-Rust parts: the quote (AK signature, nonce, PCR
/// digest), the AK public = HCLAkPub, and REPORT_DATA = SHA-256(claims) of the HCL report.
fn check_bundle(b: &Bundle, nonce: &[u8], ak_public: &[u8]) -> QuotedPcrs {
    assert_eq!(b.nonce.as_deref(), Some(hex::encode(nonce).as_str()));
    assert_eq!(ev(b, "ak_public"), ak_public);
    let ak = AkPublic::parse(ev(b, "ak_public")).unwrap();
    let attest = ev(b, "tpm_quote");
    let pcrs = quoted_pcrs(attest, ev(b, "tpm_pcrs"));
    let vouched = verify_quote(&ak, attest, ev(b, "tpm_signature"), nonce, &pcrs).expect("quote verifies");
    // A wrong nonce and a wrong PCR value are refused.
    assert!(verify_quote(&ak, attest, ev(b, "tpm_signature"), b"other nonce", &pcrs).is_err());
    let mut bad = pcrs.clone();
    if let Some(v) = bad.values_mut().next().and_then(|m| m.values_mut().next()) {
        v[0] ^= 1;
    }
    assert!(verify_quote(&ak, attest, ev(b, "tpm_signature"), nonce, &bad).is_err());

    let view = HclView::parse(ev(b, "hcl_report")).unwrap();
    let report = cloud_ra_verify::snp::Report::parse(view.hw_report).unwrap();
    let mut want = [0u8; 64];
    want[..32].copy_from_slice(&cloud_ra_verify::crypto::sha256(view.claims));
    assert_eq!(report.report_data, want, "REPORT_DATA binds the runtime claims");
    let claims: serde_json::Value = serde_json::from_slice(view.claims).unwrap();
    assert_eq!(claims["keys"][0], jwk(ak_public), "HCLAkPub is the quoting AK");
    verify_embedded_snp(view.hw_report, &want);
    vouched
}

/// The embedded SNP report verifies against the simulated AMD chain with the binding as REPORT_DATA.
fn verify_embedded_snp(report: &[u8], report_data: &[u8; 64]) {
    let sim = SimAmd::get();
    let mut c = cloud_ra_verify::Collateral::default();
    c.add_file("ark", sim.ark_der()).unwrap();
    c.add_file("ask", sim.ask_der()).unwrap();
    c.add_file("vcek", &sim.vek_der(&ReportBuilder::new().vek_spec(VekKind::Vcek))).unwrap();
    let mut o = cloud_ra_verify::VerifyOptions::at(now());
    o.trust_simulated = true;
    o.nonce = Some(report_data.to_vec());
    let out = cloud_ra_verify::verify_evidence(report, &c, &o, None);
    assert!(out.verified, "embedded SNP report: {:?}", out.failures);
}

/// `verify_evidence` on an SNP bundle with the simulated AMD chain carried in `certs`, the
/// simulated roots trusted, the seed's PCRs required.
fn verify_snp_bundle(b: &Bundle, nonce: &[u8]) -> cloud_ra_verify::Outcome {
    let sim = SimAmd::get();
    let mut b = b.clone();
    for (kind, der) in [
        ("vcek", sim.vek_der(&ReportBuilder::new().vek_spec(VekKind::Vcek))),
        ("ask", sim.ask_der().to_vec()),
        ("ark", sim.ark_der().to_vec()),
    ] {
        b.certs.push(cloud_ra_verify::bundle::BundleCert { kind: kind.into(), der: cloud_ra_verify::bundle::B64(der) });
    }
    let mut opts = cloud_ra_verify::VerifyOptions::at(now());
    opts.trust_simulated = true;
    opts.nonce = Some(nonce.to_vec());
    opts.policy = cloud_ra_verify::Policy::parse("p.toml", "[azure]\nrequired_pcrs = [15, 16, 22]\n").unwrap();
    cloud_ra_verify::verify_evidence(b.to_json().as_bytes(), &cloud_ra_verify::Collateral::default(), &opts, None)
}

fn seed_pcrs() -> PcrSelection {
    PcrSelection::parse("sha256:15,16,22").unwrap()
}

#[test]
fn azure_snp_rsa_ak_end_to_end() {
    let (_sw, mut tpm) = start();
    let ak_pub = provision_azure_ak(&mut tpm, KeyAlg::Rsa2048);
    assert_eq!(PublicInfo::parse(&ak_pub).unwrap().scheme_name(), "RSASSA-SHA256");
    put_hcl(&mut tpm, &snp_hcl(&ak_pub, &[0u8; 64]));

    let nonce: Vec<u8> = (0..32).collect();
    let mut o = AzureOptions::new(nonce.clone(), now());
    o.pcrs = PcrSelection::parse("sha256:0,15,16,22+sha384:0,1").unwrap();
    let b = collect_azure(&mut tpm, None, &o).expect("collect");
    assert_eq!(b.platform, "azure-snp-vtpm");
    assert_eq!(b.aux, serde_json::json!({"fresh_report": false}));
    assert_eq!(ev(&b, "hcl_report").len(), NV_MAX, "whole index read (chunked: NV buffer is 1024 on swtpm)");
    assert!(!b.evidence.contains_key("td_quote") && !b.evidence.contains_key("thim"));
    let vouched = check_bundle(&b, &nonce, &ak_pub);
    assert_eq!(vouched[&AlgId::SHA256].keys().copied().collect::<Vec<_>>(), vec![0, 15, 16, 22]);
    assert_eq!(vouched[&AlgId::SHA384].keys().copied().collect::<Vec<_>>(), vec![0, 1]);
    // The bundle survives JSON.
    assert_eq!(Bundle::parse(b.to_json().as_bytes()).unwrap(), b);

    // The seed's selection and a 64-byte nonce.
    let mut o = AzureOptions::new(vec![0xEE; 64], now());
    o.pcrs = seed_pcrs();
    let b = collect_azure(&mut tpm, None, &o).expect("collect");
    check_bundle(&b, &[0xEE; 64], &ak_pub);
    let out = verify_snp_bundle(&b, &[0xEE; 64]);
    assert!(out.verified && out.exit_code() == 0, "{:?}", out.failures);
    // A quote over other PCRs than the policy requires is refused.
    let mut o = AzureOptions::new(vec![0xEE; 64], now());
    o.pcrs = PcrSelection::parse("sha256:15,16").unwrap();
    let out = verify_snp_bundle(&collect_azure(&mut tpm, None, &o).expect("collect"), &[0xEE; 64]);
    assert_ne!(out.exit_code(), 0);
    assert!(out.failures.iter().any(|f| f.detail.contains("22")), "{:?}", out.failures);
}

#[test]
fn azure_ecc_ak_quotes_too() {
    let (_sw, mut tpm) = start();
    let ak_pub = provision_azure_ak(&mut tpm, KeyAlg::EccP256);
    assert_eq!(PublicInfo::parse(&ak_pub).unwrap().scheme_name(), "ECDSA-SHA256");
    put_hcl(&mut tpm, &snp_hcl(&ak_pub, &[0u8; 64]));
    let mut o = AzureOptions::new(b"verifier nonce".to_vec(), now());
    o.pcrs = seed_pcrs();
    let b = collect_azure(&mut tpm, None, &o).expect("collect");
    check_bundle(&b, b"verifier nonce", &ak_pub);
    let out = verify_snp_bundle(&b, b"verifier nonce");
    assert!(out.verified && out.exit_code() == 0, "{:?}", out.failures);
    assert_eq!(out.claims["ak_pub"]["kty"], "EC", "{}", out.claims);
}

#[test]
fn azure_tdx_asks_imds_for_the_td_quote() {
    use cloud_ra_sim::intel::{QuoteKind, QuoteSpec, SimIntel};
    let (_sw, mut tpm) = start();
    let ak_pub = provision_azure_ak(&mut tpm, KeyAlg::Rsa2048);
    let claims = claims_json(&ak_pub, &[0u8; 64]);
    let mut tdreport = vec![0u8; 1024];
    tdreport[0] = 0x81; // TDREPORT type
    tdreport[128..160].copy_from_slice(&cloud_ra_verify::crypto::sha256(&claims));
    put_hcl(&mut tpm, &hcl(4, &tdreport, &claims));
    let stub = common::Imds::start(|req| {
        let v: serde_json::Value = serde_json::from_slice(&req.body).unwrap_or_default();
        let report = v["report"]
            .as_str()
            .and_then(|r| base64::engine::general_purpose::URL_SAFE.decode(r).ok())
            .unwrap_or_default();
        if req.target != "/acc/tdquote" || report.len() != 1024 {
            return (400, b"{}".to_vec());
        }
        let mut rd = [0u8; 64];
        rd.copy_from_slice(&report[128..192]);
        let q = SimIntel::get().quote(&QuoteSpec { report_data: rd, ..QuoteSpec::new(QuoteKind::TdxV4) });
        (200, serde_json::json!({"quote": B64URL.encode(q)}).to_string().into_bytes())
    });
    let imds = Imds::new(&stub.base, Duration::from_secs(5)).unwrap();
    let mut o = AzureOptions::new(vec![7; 32], now());
    o.pcrs = seed_pcrs();
    // Without the IMDS a TDX CVM cannot be attested: said precisely.
    let e = collect_azure(&mut tpm, None, &o).unwrap_err();
    assert!(e.to_string().contains("IMDS"), "{e}");
    // `attest --platform azure-snp` on a TDX CVM: refused before anything is written or quoted.
    o.expect = Some(AzureTee::Snp);
    let e = collect_azure(&mut tpm, Some(&imds), &o).unwrap_err().to_string();
    assert!(e.contains("expected an Azure SEV-SNP CVM") && e.contains("TDX paravisor"), "{e}");
    assert!(stub.requests().is_empty());
    o.expect = Some(AzureTee::Tdx);
    let b = collect_azure(&mut tpm, Some(&imds), &o).expect("collect");
    assert_eq!(b.platform, "azure-tdx-vtpm");
    let q = ev(&b, "td_quote");
    assert_eq!(&q[48 + 520..48 + 584], &tdreport[128..192], "TD quote REPORTDATA = TDREPORT REPORTDATA");
    let ak = AkPublic::parse(ev(&b, "ak_public")).unwrap();
    let pcrs = quoted_pcrs(ev(&b, "tpm_quote"), ev(&b, "tpm_pcrs"));
    verify_quote(&ak, ev(&b, "tpm_quote"), ev(&b, "tpm_signature"), &[7; 32], &pcrs).expect("quote");

    // The whole bundle through the verifier, with the simulated Intel collateral beside it.
    let mut b = b;
    for (name, bytes) in SimIntel::get().collateral(true, now().0) {
        let kind = name.split('.').next().unwrap_or("collateral").to_string();
        b.certs.push(cloud_ra_verify::bundle::BundleCert { kind, der: cloud_ra_verify::bundle::B64(bytes) });
    }
    let mut opts = cloud_ra_verify::VerifyOptions::at(now());
    opts.trust_simulated = true;
    opts.nonce = Some(vec![7; 32]);
    opts.policy = cloud_ra_verify::Policy::parse("p.toml", "[azure]\nrequired_pcrs = [15, 16, 22]\n").unwrap();
    let out =
        cloud_ra_verify::verify_evidence(b.to_json().as_bytes(), &cloud_ra_verify::Collateral::default(), &opts, None);
    assert!(out.verified, "{:?}", out.failures);
}

fn fresh_opts(ud: [u8; 64]) -> AzureOptions {
    let mut o = AzureOptions::new(ud[..32].to_vec(), now());
    o.pcrs = seed_pcrs();
    o.fresh_report = Some(ud);
    o.refresh_timeout = Duration::from_secs(5);
    o.poll_interval = Duration::from_millis(10);
    o
}

#[test]
fn fresh_report_waits_for_the_paravisor() {
    let (_sw, mut tpm) = start();
    let ak_pub = provision_azure_ak(&mut tpm, KeyAlg::Rsa2048);
    let mut boot = snp_hcl(&ak_pub, &[0u8; 64]);
    put_hcl(&mut tpm, &boot);
    boot.resize(NV_MAX, 0); // as read back
    assert!(matches!(tpm.nv_info(NV_HCL_USER_DATA), Err(TpmError::Absent(_))));
    let mut pv = SimParavisor::new(tpm, ak_pub.clone());
    pv.delay_reads = 3;

    // Twice: the second run finds 0x01400002 defined (the seed's script dies there).
    for round in 1u8..=2 {
        let ud = [round; 64];
        let b = collect_azure(&mut pv, None, &fresh_opts(ud)).unwrap_or_else(|e| panic!("round {round}: {e}"));
        assert_eq!(b.aux, serde_json::json!({"fresh_report": true, "user_data": hex::encode(ud)}));
        assert!(pv.reads_seen > 3, "polled until the report changed ({} reads)", pv.reads_seen);
        assert_ne!(ev(&b, "hcl_report"), &boot[..]);
        let view = HclView::parse(ev(&b, "hcl_report")).unwrap();
        assert_eq!(view.user_data().unwrap(), ud.to_vec(), "claims carry the user data written");
        check_bundle(&b, &ud[..32], &ak_pub);
        assert_eq!(pv.tpm.nv_read(NV_HCL_USER_DATA).unwrap(), ud.to_vec());
    }
    assert_eq!(pv.tpm.nv_info(NV_HCL_USER_DATA).unwrap().size, 64);
}

#[test]
fn fresh_report_times_out_precisely() {
    let (_sw, mut tpm) = start();
    let ak_pub = provision_azure_ak(&mut tpm, KeyAlg::Rsa2048);
    put_hcl(&mut tpm, &snp_hcl(&ak_pub, &[0u8; 64]));
    let mut o = fresh_opts([9; 64]);
    o.refresh_timeout = Duration::from_millis(300);
    // No paravisor: the report never changes.
    match collect_azure(&mut tpm, None, &o) {
        Err(AzureError::Tpm(TpmError::Timeout(m))) => {
            assert!(m.contains("never changed") && m.contains("300 ms"), "{m}")
        }
        other => panic!("{other:?}"),
    }
    // The write itself happened.
    assert_eq!(tpm.nv_read(NV_HCL_USER_DATA).unwrap(), vec![9; 64]);

    // A paravisor that writes a report carrying other user data: still refused, and said so.
    let mut pv = SimParavisor::new(tpm, ak_pub);
    pv.delay_reads = 0;
    pv.wrong_user_data = true;
    match collect_azure(&mut pv, None, &o) {
        Err(AzureError::Tpm(TpmError::Timeout(m))) => assert!(m.contains("do not carry the user data"), "{m}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn collection_leaves_nothing_loaded() {
    let (_sw, mut tpm) = start();
    let ak_pub = provision_azure_ak(&mut tpm, KeyAlg::Rsa2048);
    put_hcl(&mut tpm, &snp_hcl(&ak_pub, &[0u8; 64]));
    // One long-lived connection (as in a service or survey; swtpm has no resource manager, so
    // nothing is flushed for us), and more runs than swtpm has object slots (3): a leak fails
    // here, checked by listing every transient/session range.
    for i in 0..6u8 {
        let mut o = AzureOptions::new(vec![i; 16], now());
        o.pcrs = seed_pcrs();
        collect_azure(&mut tpm, None, &o).expect("collect");
        tpm.derive_ek_public(KeyAlg::EccP256).expect("derive EK");
        list_keys(&mut tpm).expect("list");
        for range in [HR_TRANSIENT, HR_HMAC_SESSION, HR_POLICY_SESSION] {
            assert_eq!(tpm.handles(range).unwrap(), Vec::<u32>::new(), "range {range:#010x} after run {i}");
        }
    }
}

#[test]
fn collection_errors_are_precise() {
    let (_sw, mut tpm) = start();
    let o = AzureOptions::new(vec![1; 32], now());
    let e = collect_azure(&mut tpm, None, &o).unwrap_err().to_string();
    assert!(e.contains("0x01400001") && e.contains("not an Azure CVM"), "{e}");

    // An index that holds no HCL report.
    tpm.nv_define(NV_HCL_REPORT, 64).unwrap();
    tpm.nv_write(NV_HCL_REPORT, &[0u8; 64]).unwrap();
    let e = collect_azure(&mut tpm, None, &o).unwrap_err().to_string();
    assert!(e.contains("'HCLA'"), "{e}");

    // A report but no AK.
    let (_sw2, mut tpm) = start();
    put_hcl(&mut tpm, &hcl(2, &[0u8; 1184], b"{}"));
    let e = collect_azure(&mut tpm, None, &o).unwrap_err().to_string();
    assert!(e.contains("no AK at persistent handle 0x81000003"), "{e}");

    // Lying sizes in the runtime data.
    let mut blob = hcl(2, &[0u8; 1184], b"{}");
    blob[1216 + 16..1216 + 20].copy_from_slice(&5000u32.to_le_bytes());
    let e = HclView::parse(&blob).unwrap_err().to_string();
    assert!(e.contains("claims size 5000"), "{e}");
    blob[1216..1220].copy_from_slice(&6000u32.to_le_bytes());
    let e = HclView::parse(&blob).unwrap_err().to_string();
    assert!(e.contains("past the end"), "{e}");

    // Nonces the TPM cannot carry.
    let e = collect_azure(&mut tpm, None, &AzureOptions::new(vec![1; 65], now())).unwrap_err();
    assert!(matches!(e, AzureError::Usage(ref m) if m.contains("65")), "{e}");
    // A quote by something that is not an AK.
    tpm.persist_ek(KeyAlg::Rsa2048, EK_HANDLE).unwrap();
    let e = tpm.quote(EK_HANDLE, b"n", &seed_pcrs()).unwrap_err().to_string();
    assert!(e.contains("not a restricted signing key"), "{e}");
}

#[test]
fn setup_ak_is_idempotent_and_survives_a_restart() {
    let (mut sw, mut tpm) = start();
    assert!(tpm.handles(0x8100_0000).unwrap().is_empty());
    let r = setup_ak(&mut tpm, KeyAlg::Rsa2048, EK_HANDLE, KeyAlg::Rsa2048, AK_HANDLE).unwrap();
    assert_eq!((r.ek.clone(), r.ak.clone()), (SetupStep::Created, SetupStep::Created));
    let again = setup_ak(&mut tpm, KeyAlg::Rsa2048, EK_HANDLE, KeyAlg::Rsa2048, AK_HANDLE).unwrap();
    assert_eq!((again.ek.clone(), again.ak.clone()), (SetupStep::AlreadyPresent, SetupStep::AlreadyPresent));
    assert_eq!((&again.ek_public, &again.ak_public), (&r.ek_public, &r.ak_public));
    assert_eq!(tpm.handles(0x8100_0000).unwrap(), vec![AK_HANDLE, EK_HANDLE]);
    let kinds: Vec<(u32, String)> =
        classify_persistent(&mut tpm).unwrap().into_iter().map(|(h, k, p)| (h, k.short(p.as_deref()))).collect();
    assert_eq!(kinds, vec![(AK_HANDLE, "AK-RSA".to_string()), (EK_HANDLE, "EK-RSA".to_string())]);

    let keys = list_keys(&mut tpm).unwrap();
    assert_eq!(keys.len(), 2);
    let ak = keys.iter().find(|k| k.handle == AK_HANDLE).unwrap();
    assert_eq!(ak.kind, KeyKind::Ak("RSA-2048 RSASSA-SHA256".into()));
    assert!(ak.usable, "{}", ak.note);
    let ek = keys.iter().find(|k| k.handle == EK_HANDLE).unwrap();
    assert_eq!(ek.kind, KeyKind::Ek(KeyAlg::Rsa2048));
    assert!(ek.usable, "{}", ek.note);

    // The talk's "reboot": stop the TPM, start it on the same state.
    drop(tpm);
    sw.restart().expect("restart swtpm");
    let mut tpm = TpmClient::open(&sw.tcti()).unwrap();
    assert_eq!(tpm.handles(0x8100_0000).unwrap(), vec![AK_HANDLE, EK_HANDLE]);
    assert_eq!(tpm.read_public(AK_HANDLE).unwrap(), r.ak_public);
    let after = list_keys(&mut tpm).unwrap();
    assert!(after.iter().all(|k| k.usable), "{after:?}");
    let again = setup_ak(&mut tpm, KeyAlg::Rsa2048, EK_HANDLE, KeyAlg::Rsa2048, AK_HANDLE).unwrap();
    assert_eq!((again.ek, again.ak), (SetupStep::AlreadyPresent, SetupStep::AlreadyPresent));
    // And the persisted AK still quotes, verifiably.
    let q = tpm.quote(AK_HANDLE, b"after reboot", &seed_pcrs()).unwrap();
    let akp = AkPublic::parse(&r.ak_public).unwrap();
    verify_quote(&akp, &q.attest, &q.signature, b"after reboot", &quoted_pcrs(&q.attest, &q.pcrs)).unwrap();
}

#[test]
fn setup_ak_refuses_to_clobber() {
    let (_sw, mut tpm) = start();
    // An ECC AK where an RSA one is asked for.
    tpm.persist_ek(KeyAlg::Rsa2048, EK_HANDLE).unwrap();
    let ecc_ak = tpm.persist_ak(EK_HANDLE, KeyAlg::EccP256, AK_HANDLE).unwrap();
    let e = setup_ak(&mut tpm, KeyAlg::Rsa2048, EK_HANDLE, KeyAlg::Rsa2048, AK_HANDLE).unwrap_err().to_string();
    assert!(e.contains("0x81000002") && e.contains("refusing") && e.contains("ECC P-256"), "{e}");
    assert_eq!(tpm.read_public(AK_HANDLE).unwrap(), ecc_ak, "left as it was");
    let kinds: Vec<String> =
        classify_persistent(&mut tpm).unwrap().into_iter().map(|(_, k, p)| k.short(p.as_deref())).collect();
    assert_eq!(kinds, vec!["AK-ECC", "EK-RSA"]);

    // An RSA EK where the ECC EK is asked for.
    let e = setup_ak(&mut tpm, KeyAlg::EccP256, EK_HANDLE, KeyAlg::EccP256, AK_HANDLE).unwrap_err().to_string();
    assert!(e.contains("0x81010001") && e.contains("refusing") && e.contains("EK RSA-2048"), "{e}");

    // An AK sitting at the EK handle.
    tpm.evict(EK_HANDLE).unwrap();
    tpm.evict(AK_HANDLE).unwrap();
    tpm.persist_ek(KeyAlg::Rsa2048, 0x8101_0002).unwrap();
    tpm.persist_ak(0x8101_0002, KeyAlg::Rsa2048, EK_HANDLE).unwrap();
    let e = setup_ak(&mut tpm, KeyAlg::Rsa2048, EK_HANDLE, KeyAlg::Rsa2048, AK_HANDLE).unwrap_err().to_string();
    assert!(e.contains("already holds an AK"), "{e}");
    assert!(!tpm.handles(0x8100_0000).unwrap().contains(&AK_HANDLE), "nothing created after a refusal");
}

#[test]
fn a_tpm_that_is_not_there() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let tcti = format!("swtpm:host=127.0.0.1,port={port}");
    match TpmClient::open(&tcti) {
        Err(TpmError::Unavailable { tcti: t, detail }) => {
            assert_eq!(t, tcti);
            assert!(detail.to_lowercase().contains("refused"), "{detail}");
        }
        Err(e) => panic!("{e}"),
        Ok(_) => panic!("connected to nothing"),
    }
    match TpmClient::open("device:/nonexistent/tpmrm0") {
        Err(TpmError::Unavailable { detail, .. }) => assert!(detail.contains("does not exist"), "{detail}"),
        Err(e) => panic!("{e}"),
        Ok(_) => panic!("opened a missing device"),
    }
    assert!(matches!(TpmClient::open("nosuchtcti:foo"), Err(TpmError::Unavailable { .. })));

    // A TPM that goes away mid-session.
    let (mut sw, mut tpm) = start();
    sw.stop();
    let e = tpm.handles(0x8100_0000).unwrap_err();
    assert!(matches!(e, TpmError::Command { .. }), "{e}");
}

/// The whole bundle through the verifier (`verify_evidence`, simulated AMD root trusted): VCEK
/// from the IMDS THIM answer carried in the bundle, all 24 SHA-256 PCRs (the verifier's default
/// requirement), a fresh report from the paravisor, and the nonce.
#[test]
fn azure_bundle_verifies_end_to_end() {
    let sim = SimAmd::get();
    let vcek = sim.vek_der(&ReportBuilder::new().vek_spec(VekKind::Vcek));
    let thim = serde_json::json!({
        "vcekCert": cloud_ra_sim::pem("CERTIFICATE", &vcek),
        "certificateChain": format!("{}{}", cloud_ra_sim::pem("CERTIFICATE", sim.ask_der()), cloud_ra_sim::pem("CERTIFICATE", sim.ark_der())),
        "tcbm": "DB18000000000003",
    })
    .to_string()
    .into_bytes();
    let stub = common::Imds::start(move |req| match req.target.as_str() {
        "/metadata/THIM/amd/certification" => (200, thim.clone()),
        _ => (404, b"{}".to_vec()),
    });
    let imds = Imds::new(&stub.base, Duration::from_secs(5)).unwrap();

    let (_sw, mut tpm) = start();
    let ak_pub = provision_azure_ak(&mut tpm, KeyAlg::Rsa2048);
    put_hcl(&mut tpm, &snp_hcl(&ak_pub, &[0u8; 64]));
    let mut pv = SimParavisor::new(tpm, ak_pub);
    pv.delay_reads = 1;
    let nonce: Vec<u8> = (100..132).collect();
    let verify = |b: &Bundle, nonce: &[u8]| {
        let mut opts = cloud_ra_verify::VerifyOptions::at(now());
        opts.trust_simulated = true;
        opts.nonce = Some(nonce.to_vec());
        cloud_ra_verify::verify_evidence(b.to_json().as_bytes(), &cloud_ra_verify::Collateral::default(), &opts, None)
    };
    for fresh in [None, Some(cloud_ra_verify::policy::pad64(&nonce))] {
        let mut o = AzureOptions::new(nonce.clone(), now());
        o.fetch_thim = true;
        o.fresh_report = fresh;
        o.poll_interval = Duration::from_millis(10);
        let b = collect_azure(&mut pv, Some(&imds), &o).expect("collect");
        assert!(b.evidence.contains_key("thim"));
        let out = verify(&b, &nonce);
        assert!(out.verified && out.exit_code() == 0, "fresh={}: {:?}", fresh.is_some(), out.failures);
        assert_eq!(out.claims["freshness"], "tpm-quote", "{}", out.claims);
        // Another verifier nonce: refused.
        let out = verify(&b, b"a different nonce");
        assert_ne!(out.exit_code(), 0);
        assert!(
            out.failures.iter().any(|f| matches!(f.check, Check::PolicyNonce | Check::TpmNonce)),
            "{:?}",
            out.failures
        );
    }
}

/// swtpm's server port also speaks the TPM simulator framing (`mssim:`), and TPM2TOOLS_TCTI
/// strings name the same TPM: persistent keys made through one transport are seen through the
/// other.
#[test]
fn mssim_framing_reaches_the_same_tpm() {
    let (sw, mut tpm) = start();
    let ak = provision_azure_ak(&mut tpm, KeyAlg::EccP256);
    drop(tpm);
    let mut m = TpmClient::open(&format!("mssim:host=localhost,port={}", sw.port())).expect("mssim");
    assert_eq!(m.read_public(AZURE_AK_HANDLE).unwrap(), ak);
    let q = m.quote(AZURE_AK_HANDLE, b"mssim", &seed_pcrs()).unwrap();
    let akp = AkPublic::parse(&ak).unwrap();
    verify_quote(&akp, &q.attest, &q.signature, b"mssim", &quoted_pcrs(&q.attest, &q.pcrs)).unwrap();
    assert!(m.describe().contains("mssim:host=localhost"), "{}", m.describe());
    for range in [HR_TRANSIENT, HR_HMAC_SESSION, HR_POLICY_SESSION] {
        assert_eq!(m.handles(range).unwrap(), Vec::<u32>::new());
    }
}

/// The TCG high-range EK templates (H-1 RSA-2048, H-2 ECC P-256: policy B, userWithAuth, empty
/// unique): created, persisted, classified as EKs that equal what the TPM derives, differing from
/// the low-range EK, and an AK made under one (password authorisation) quotes verifiably.
#[test]
fn high_range_ek_templates() {
    use cloud_ra_attest::tpm::EkRange;
    let (_sw, mut tpm) = start();
    for (alg, handle) in [(KeyAlg::Rsa2048, 0x8101_0016), (KeyAlg::EccP256, 0x8101_0017)] {
        let high = tpm.persist_ek_in(alg, EkRange::High, handle).unwrap();
        let info = PublicInfo::parse(&high).unwrap();
        assert_eq!(info.ek_range(), Some(EkRange::High), "{}", alg.name());
        assert_eq!(tpm.derive_ek_public_in(alg, EkRange::High).unwrap(), high);
        assert_ne!(tpm.derive_ek_public(alg).unwrap(), high, "the low range is another key");
    }
    let keys = list_keys(&mut tpm).unwrap();
    assert_eq!(keys.len(), 2);
    assert!(keys.iter().all(|k| matches!(k.kind, KeyKind::Ek(_)) && k.usable), "{keys:?}");
    let ak = tpm.persist_ak(0x8101_0017, KeyAlg::Rsa2048, AK_HANDLE).unwrap();
    let q = tpm.quote(AK_HANDLE, b"high", &seed_pcrs()).unwrap();
    verify_quote(&AkPublic::parse(&ak).unwrap(), &q.attest, &q.signature, b"high", &quoted_pcrs(&q.attest, &q.pcrs))
        .unwrap();
    for range in [HR_TRANSIENT, HR_HMAC_SESSION, HR_POLICY_SESSION] {
        assert_eq!(tpm.handles(range).unwrap(), Vec::<u32>::new());
    }
}
