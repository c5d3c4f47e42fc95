//! GCE vTPM evidence: go-tpm-tools' `attest.Attestation` of `tpm/gce-cos-85` read in place
//! (MANIFEST: valid with nonce 0x9009 and Google's roots and intermediate), verified through
//! `verify_evidence` at a pinned time, and every way of breaking it; plus a synthetic attestation
//! whose AK certificate chains to a root that is not pinned.

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature;
use cloud_ra_sim::der;
use cloud_ra_sim::testdata;
use cloud_ra_verify::bundle::{B64, Bundle, BundleCert, Evidence, detect};
use cloud_ra_verify::eventlog::AlgId;
use cloud_ra_verify::tpm::gotpm::{Attestation, Pcrs, Quote};
use cloud_ra_verify::tpm::{Attest, KeyParams, Signature};
use cloud_ra_verify::{Category, Collateral, Outcome, Status, Timestamp, VerifyOptions, verify_evidence};
use serde_json::Value;
use std::collections::BTreeMap;

const PB: &str = "tpm/gce-cos-85/gce-cos-85-nonce9009.pb";
/// Inside the AK certificate's window (2021-08-31 .. 2051-08-24) and the roots'.
const AT: &str = "2025-01-01T00:00:00Z";
const NONCE: &[u8] = &[0x90, 0x09];

fn at(s: &str) -> Timestamp {
    Timestamp::parse_rfc3339(s).expect("time")
}

fn google() -> Collateral {
    let mut c = Collateral::default();
    for f in ["roots/google/tpm_ek_intermediate_2.crt", "roots/google/tpm_ek_root_1.cer"] {
        c.add_file(f, &testdata::read(f)).expect("Google certificate");
    }
    c
}

fn opts(nonce: Option<&[u8]>) -> VerifyOptions {
    let mut o = VerifyOptions::at(at(AT));
    o.nonce = nonce.map(|n| n.to_vec());
    o
}

fn first(o: &Outcome) -> (&str, &str) {
    o.failures.first().map(|f| (f.check.as_str(), f.detail.as_str())).unwrap_or(("", ""))
}

fn pb() -> Vec<u8> {
    testdata::read(PB)
}

fn parsed() -> Attestation {
    Attestation::parse(&pb()).expect("the attestation parses")
}

/// The PCR values MANIFEST's derived `quoted_pcrs.json` lists (bank name -> index -> hex).
fn quoted_pcrs_json() -> Value {
    serde_json::from_slice(&testdata::read("tpm/gce-cos-85/derived/quoted_pcrs.json")).expect("JSON")
}

#[test]
fn the_protobuf_parses_field_by_field_into_the_derived_parts() {
    let a = parsed();
    assert_eq!(a.ak_pub, testdata::read("tpm/gce-cos-85/derived/ak_pub.tpmt_public"));
    assert_eq!(a.ak_cert, testdata::read("tpm/gce-cos-85/derived/ak_cert.der"));
    assert_eq!(a.event_log, testdata::read("tpm/gce-cos-85/derived/event_log.bin"));
    assert_eq!(a.quotes.len(), 3);
    let want = quoted_pcrs_json();
    for q in &a.quotes {
        let bank = q.pcrs.hash.name();
        assert_eq!(q.quote, testdata::read(&format!("tpm/gce-cos-85/derived/quote_{bank}.tpms_attest")));
        assert_eq!(q.raw_sig, testdata::read(&format!("tpm/gce-cos-85/derived/quote_{bank}.tpmt_signature")));
        let m = want["pcrs"][&bank].as_object().expect("bank in quoted_pcrs.json");
        assert_eq!(q.pcrs.values.len(), m.len(), "{bank}");
        for (i, v) in m {
            let idx: u32 = i.parse().expect("index");
            assert_eq!(hex::encode(&q.pcrs.values[&idx]), v.as_str().expect("hex"), "{bank} PCR{i}");
        }
    }
    assert!(a.intermediate_certs.is_empty() && a.instance_info.is_none() && a.tee_attestation.is_none());
    assert!(a.unknown_fields.is_empty());
    // Our encoding reads back to the same message.
    assert_eq!(Attestation::parse(&a.to_bytes()).expect("re-encoded"), a);
}

#[test]
fn detected_as_a_go_tpm_tools_attestation() {
    let d = detect(&pb()).expect("detected");
    assert!(matches!(d.evidence, Evidence::GceVtpm(_)), "{}", d.what);
    assert!(d.what.contains("go-tpm-tools Attestation") && d.what.contains("3 quotes"), "{}", d.what);
}

#[test]
fn verifies_with_nonce_9009_every_bank_and_the_carried_event_log() {
    let o = verify_evidence(&pb(), &google(), &opts(Some(NONCE)), None);
    assert_eq!(o.exit_code(), 0, "{:?}", o.failures);
    assert!(o.verified);
    assert_eq!(o.platform, "gce-vtpm");
    let c = &o.claims;
    assert_eq!(c["nonce_bound"], true);
    assert_eq!(c["freshness"], "tpm-quote");
    assert_eq!(c["extra_data"], hex::encode(NONCE));
    // All three quotes verified, each over all 24 PCRs of its bank.
    let banks: Vec<&str> =
        c["tpm_quotes"].as_array().expect("quotes").iter().filter_map(|q| q["bank"].as_str()).collect();
    assert_eq!(banks.len(), 3);
    for b in ["sha1", "sha256", "sha384"] {
        assert!(banks.contains(&b), "{banks:?}");
    }
    let want = quoted_pcrs_json();
    for (key, bank) in [("pcrs_sha1", "sha1"), ("pcrs", "sha256"), ("pcrs_sha384", "sha384")] {
        assert_eq!(c[key].as_object().map(|m| m.len()), Some(24), "{key}");
        assert_eq!(c[key]["7"], want["pcrs"][bank]["7"], "{key} PCR7");
    }
    // AK: certificate to the pinned root; its key is the AK; the signed instance extension.
    let derived = cloud_ra_verify::tpm::AkPublic::parse(&testdata::read("tpm/gce-cos-85/derived/ak_pub.tpmt_public"))
        .expect("AK");
    assert_eq!(c["ak_pub"]["sha256"], derived.params.fingerprint());
    assert_eq!(c["ak_cert"]["root_sha256"], cloud_ra_verify::tpm::GOOGLE_AK_ROOTS[0]);
    let cert_sha = hex::encode(cloud_ra_verify::crypto::sha256(&testdata::read("tpm/gce-cos-85/derived/ak_cert.der")));
    assert_eq!(c["ak_cert"]["sha256"], cert_sha);
    assert_eq!(c["ak_cert"]["chain"].as_array().map(|a| a.len()), Some(2));
    assert_eq!(c["ak_cert"]["not_before"], "2021-08-31T23:11:05Z");
    assert_eq!(c["instance"]["zone"], "us-central1-a");
    assert_eq!(c["instance"]["instance_name"], "cos-test");
    // The attestation's event log replayed against the quoted PCRs (eventlog::bind): PCR0-9
    // match in every bank (MANIFEST), and the vouched log yields the secure-boot state.
    let regs = c["eventlog"][0]["registers"].as_array().expect("registers");
    for bank in ["sha1", "sha256", "sha384"] {
        for i in 0..=9 {
            let r = regs.iter().find(|r| r["bank"] == bank && r["index"] == i).expect("register");
            assert_eq!(r["status"], "matches", "{bank} PCR{i}: {}", r["detail"]);
        }
    }
    assert_eq!(c["secure_boot"], "enabled");
    assert!(c["measured_boot"]["separators"].as_array().is_some_and(|s| !s.is_empty()));
}

#[test]
fn nonce_from_the_policy_and_no_nonce_at_all() {
    let mut o = opts(None);
    o.policy.nonce = Some("9009".into());
    let out = verify_evidence(&pb(), &google(), &o, None);
    assert_eq!(out.exit_code(), 0, "{:?}", out.failures);
    assert_eq!(out.claims["nonce_bound"], true);
    o.policy.nonce = Some("900a".into());
    let out = verify_evidence(&pb(), &google(), &o, None);
    assert_eq!((out.exit_code(), first(&out).0), (4, "policy.nonce"));
    // Without a nonce: verified, not bound, a freshness warning.
    let out = verify_evidence(&pb(), &google(), &opts(None), None);
    assert_eq!(out.exit_code(), 0);
    assert_eq!(out.status, Status::Warning);
    assert_eq!(out.claims["nonce_bound"], false);
    assert!(out.warnings.iter().any(|w| w.check == "gce.freshness"), "{:?}", out.warnings);
}

#[test]
fn wrong_nonce_is_an_appraisal_failure() {
    for n in [&[0x90, 0x0a][..], &[0x90][..], &[0x90, 0x09, 0x00][..]] {
        let o = verify_evidence(&pb(), &google(), &opts(Some(n)), None);
        assert_eq!(o.exit_code(), 4, "{n:?}: {:?}", o.failures);
        let (check, detail) = first(&o);
        assert_eq!(check, "policy.nonce");
        assert!(detail.contains("9009") && detail.contains(&hex::encode(n)), "{detail}");
        assert_eq!(o.claims["nonce_bound"], false);
    }
}

fn run_modified(f: impl FnOnce(&mut Attestation)) -> Outcome {
    let mut a = parsed();
    f(&mut a);
    verify_evidence(&a.to_bytes(), &google(), &opts(Some(NONCE)), None)
}

#[test]
fn tampered_quotes_pcrs_and_ak_certificate_are_refused() {
    // A flipped byte in each quote's TPMS_ATTEST (its clock): the AK's signature fails.
    for i in 0..3 {
        let o = run_modified(|a| {
            let q = &mut a.quotes[i].quote;
            let n = q.len() - 40;
            q[n] ^= 1;
        });
        assert_eq!(o.exit_code(), 2, "quote {i}");
        let (check, detail) = first(&o);
        assert_eq!(check, "tpm.signature", "{detail}");
        assert!(detail.starts_with(&format!("quote {i} (")), "{detail}");
    }
    // A flipped signature byte.
    let o = run_modified(|a| a.quotes[1].raw_sig[20] ^= 1);
    assert_eq!((o.exit_code(), first(&o).0), (2, "tpm.signature"));
    // A changed PCR value: the pcrDigest no longer matches.
    let o = run_modified(|a| {
        if let Some(v) = a.quotes[0].pcrs.values.get_mut(&7) {
            v[0] ^= 1;
        }
    });
    assert_eq!((o.exit_code(), first(&o).0), (2, "tpm.pcrs"));
    // A PCR value missing, or one the quote does not select riding along.
    let o = run_modified(|a| {
        a.quotes[2].pcrs.values.remove(&23);
    });
    assert_eq!((o.exit_code(), first(&o).0), (2, "tpm.pcrs"));
    let o = run_modified(|a| {
        a.quotes[0].pcrs.values.insert(24, vec![0; 20]);
    });
    assert_eq!(o.exit_code(), 2);
    assert!(first(&o).1.contains("not selected"), "{}", first(&o).1);
    // The values of one bank labelled as another.
    let o = run_modified(|a| a.quotes[1].pcrs.hash = AlgId::SHA1);
    assert_eq!((o.exit_code(), first(&o).0), (2, "tpm.pcrs"));
    // No quotes; no AK; another AK (the certificate's key no longer matches).
    let o = run_modified(|a| a.quotes.clear());
    assert_eq!((o.exit_code(), first(&o).0), (2, "tpm.quote"));
    // Without ak_pub the bytes are not recognised as an attestation; in a bundle they are.
    let o = run_modified(|a| a.ak_pub.clear());
    assert_eq!((o.exit_code(), first(&o).0), (2, "detect"));
    let mut a = parsed();
    a.ak_pub.clear();
    let o = verify_evidence(&gce_bundle(&a.to_bytes()), &google(), &opts(Some(NONCE)), None);
    assert_eq!((o.exit_code(), first(&o).0), (2, "tpm.ak"));
    let o = run_modified(|a| {
        let n = a.ak_pub.len() - 10;
        a.ak_pub[n] ^= 1;
    });
    assert_eq!(o.exit_code(), 2);
    assert_eq!(first(&o).0, "tpm.ak_cert", "{:?}", o.failures);
    // The AK certificate: a flipped byte in its signature, in its TBS, absent, not DER.
    let o = run_modified(|a| {
        let n = a.ak_cert.len() - 5;
        a.ak_cert[n] ^= 1;
    });
    assert_eq!((o.exit_code(), first(&o).0), (2, "tpm.ak_cert"));
    let o = run_modified(|a| a.ak_cert[200] ^= 1);
    assert_eq!((o.exit_code(), first(&o).0), (2, "tpm.ak_cert"));
    let o = run_modified(|a| a.ak_cert.clear());
    assert_eq!((o.exit_code(), first(&o).0), (2, "tpm.ak_cert"));
    let o = run_modified(|a| a.ak_cert.truncate(100));
    assert_eq!((o.exit_code(), first(&o).0), (2, "tpm.ak_cert"));
}

#[test]
fn roots_missing_expired_or_not_pinned() {
    // No roots given: the chain stops at the AK certificate's issuer (collateral, exit 3).
    let o = verify_evidence(&pb(), &Collateral::default(), &opts(Some(NONCE)), None);
    assert_eq!(o.exit_code(), 3, "{:?}", o.failures);
    assert_eq!(first(&o).0, "tpm.ak_cert");
    // The intermediate carried inside the attestation (field 7), the root from collateral.
    let mut a = parsed();
    a.intermediate_certs.push(testdata::read("roots/google/tpm_ek_intermediate_2.crt"));
    let mut root = Collateral::default();
    root.add_file("root", &testdata::read("roots/google/tpm_ek_root_1.cer")).expect("root");
    let o = verify_evidence(&a.to_bytes(), &root, &opts(Some(NONCE)), None);
    assert_eq!(o.exit_code(), 0, "{:?}", o.failures);
    // Before the AK certificate's notBefore.
    let mut early = opts(Some(NONCE));
    early.at = at("2021-01-01T00:00:00Z");
    let o = verify_evidence(&pb(), &google(), &early, None);
    assert_eq!((o.exit_code(), first(&o).0), (2, "tpm.ak_cert"));
}

// ---------------------------------------------------------------------------------------------
// A synthetic attestation: a fresh AK, its quotes, an AK certificate from a root nobody pinned.

fn rsa_key() -> aws_lc_rs::rsa::KeyPair {
    aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).expect("RSA key")
}

fn modulus(k: &aws_lc_rs::rsa::KeyPair) -> Vec<u8> {
    use aws_lc_rs::signature::KeyPair;
    let der = k.public_key().as_ref();
    assert_eq!((der[0], der[1], der[4], der[5]), (0x30, 0x82, 0x02, 0x82));
    let n = u16::from_be_bytes([der[6], der[7]]) as usize;
    der[8..8 + n].iter().copied().skip_while(|&b| b == 0).collect()
}

fn tpmt_public(n: &[u8]) -> Vec<u8> {
    let mut o = Vec::new();
    for v in [0x0001u16, 0x000B] {
        o.extend(v.to_be_bytes());
    }
    o.extend(0x0005_0072u32.to_be_bytes());
    for v in [0u16, 0x0010, 0x0014, 0x000B, 2048] {
        o.extend(v.to_be_bytes());
    }
    o.extend(0u32.to_be_bytes());
    o.extend((n.len() as u16).to_be_bytes());
    o.extend_from_slice(n);
    o
}

fn name(cn: &str) -> Vec<u8> {
    der::sequence(&[&der::set(&[&der::sequence(&[&der::oid("2.5.4.3"), &der::utf8_string(cn)])])])
}

/// An X.509 v3 certificate signed RSA-PKCS1-SHA256 by `signer`.
fn cert(subject: &str, issuer: &str, spki: &[u8], ca: bool, signer: &aws_lc_rs::rsa::KeyPair) -> Vec<u8> {
    let alg = der::sequence(&[&der::oid("1.2.840.113549.1.1.11"), &der::null()]);
    let bc = der::sequence(&[
        &der::oid("2.5.29.19"),
        &der::boolean(true),
        &der::octet_string(&if ca { der::sequence(&[&der::boolean(true)]) } else { der::sequence(&[]) }),
    ]);
    let tbs = der::sequence(&[
        &der::explicit(0, &der::small_uint(2)),
        &der::small_uint(7),
        &alg,
        &name(issuer),
        &der::sequence(&[&der::time(1_600_000_000), &der::time(2_500_000_000)]),
        &name(subject),
        spki,
        &der::explicit(3, &der::sequence(&[&bc])),
    ]);
    let mut sig = vec![0u8; signer.public_modulus_len()];
    signer.sign(&signature::RSA_PKCS1_SHA256, &SystemRandom::new(), &tbs, &mut sig).expect("sign");
    der::sequence(&[&tbs, &alg, &der::bit_string(&sig)])
}

fn rsa_spki(k: &aws_lc_rs::rsa::KeyPair) -> Vec<u8> {
    KeyParams::Rsa { modulus: modulus(k), exponent: 65537 }.spki_der()
}

/// A quote of `bank` over PCRs 0..24 (value i = hash(i)) with `extra`, signed by `ak`.
fn quote(ak: &aws_lc_rs::rsa::KeyPair, bank: AlgId, extra: &[u8]) -> Quote {
    let mut values = BTreeMap::new();
    let mut concat = Vec::new();
    for i in 0..24u32 {
        let v = bank.hash(&i.to_be_bytes()).expect("bank");
        concat.extend_from_slice(&v);
        values.insert(i, v);
    }
    let a = Attest {
        qualified_signer: vec![0, 0x0B, 1, 2, 3],
        extra_data: extra.to_vec(),
        clock: 1,
        reset_count: 0,
        restart_count: 0,
        safe: true,
        firmware_version: 0,
        selection: vec![(bank, (0..24).collect())],
        pcr_digest: cloud_ra_verify::crypto::sha256(&concat).to_vec(),
    };
    let attest = a.to_bytes();
    let mut sig = vec![0u8; ak.public_modulus_len()];
    ak.sign(&signature::RSA_PKCS1_SHA256, &SystemRandom::new(), &attest, &mut sig).expect("sign");
    Quote {
        quote: attest,
        raw_sig: Signature { scheme: 0x0014, hash: 0x000B, sig }.to_bytes(),
        pcrs: Pcrs { hash: bank, values },
    }
}

#[test]
fn synthetic_attestation_from_an_unpinned_root_is_refused() {
    let (ak, root) = (rsa_key(), rsa_key());
    let root_der = cert("Impostor EK/AK Root", "Impostor EK/AK Root", &rsa_spki(&root), true, &root);
    let ak_cert = cert("ak", "Impostor EK/AK Root", &rsa_spki(&ak), false, &root);
    let a = Attestation {
        ak_pub: tpmt_public(&modulus(&ak)),
        quotes: vec![quote(&ak, AlgId::SHA256, NONCE), quote(&ak, AlgId::SHA1, NONCE)],
        ak_cert: ak_cert.clone(),
        ..Default::default()
    };
    // The root given as collateral, or carried in the attestation: either way not pinned.
    let mut c = Collateral::default();
    c.add_file("impostor root", &root_der).expect("root");
    let o = verify_evidence(&a.to_bytes(), &c, &opts(Some(NONCE)), None);
    assert_eq!(o.exit_code(), 2, "{:?}", o.failures);
    let (check, detail) = first(&o);
    assert_eq!(check, "tpm.ak_cert");
    assert!(detail.contains("Impostor EK/AK Root") && detail.contains("is not a pinned AK root"), "{detail}");
    let mut carried = a.clone();
    carried.intermediate_certs.push(root_der);
    let o = verify_evidence(&carried.to_bytes(), &Collateral::default(), &opts(Some(NONCE)), None);
    assert_eq!(o.exit_code(), 2, "{:?}", o.failures);
    assert!(first(&o).1.contains("is not a pinned AK root"), "{}", first(&o).1);
    assert_eq!(o.failures[0].category, Category::Evidence);
    // Quotes that disagree on extraData are refused before any nonce is compared.
    let mut split = a.clone();
    split.quotes[1] = quote(&ak, AlgId::SHA1, b"other");
    split.intermediate_certs = carried.intermediate_certs.clone();
    let o = verify_evidence(&split.to_bytes(), &Collateral::default(), &opts(Some(NONCE)), None);
    assert_eq!(o.exit_code(), 2);
}

fn gce_bundle_of(attestation: &[u8]) -> Bundle {
    let mut b = Bundle::new_snp(&[], None);
    b.platform = "gce-vtpm".into();
    b.evidence.clear();
    b.evidence.insert("attestation".into(), B64(attestation.to_vec()));
    b
}

fn gce_bundle(attestation: &[u8]) -> Vec<u8> {
    gce_bundle_of(attestation).to_json().into_bytes()
}

#[test]
fn bundle_platform_gce_vtpm() {
    let mut b = gce_bundle_of(&pb());
    for (kind, f) in
        [("intermediate", "roots/google/tpm_ek_intermediate_2.crt"), ("root", "roots/google/tpm_ek_root_1.cer")]
    {
        b.certs.push(BundleCert { kind: kind.into(), der: B64(testdata::read(f)) });
    }
    b.nonce = Some("9009".into());
    let o = verify_evidence(b.to_json().as_bytes(), &Collateral::default(), &opts(Some(NONCE)), None);
    assert_eq!(o.exit_code(), 0, "{:?}", o.failures);
    assert!(o.detected.contains("gce-vtpm"), "{}", o.detected);
    assert_eq!(o.claims["secure_boot"], "enabled");
    // Missing key, or an attestation that does not parse.
    b.evidence.clear();
    let e = detect(b.to_json().as_bytes()).expect_err("missing");
    assert!(e.detail.contains("evidence.attestation is missing"), "{}", e.detail);
    b.evidence.insert("attestation".into(), B64(vec![0x0a, 0x09, 1]));
    let e = detect(b.to_json().as_bytes()).expect_err("garbage");
    assert_eq!(e.check, "gotpm.format");
    assert!(e.detail.contains("field 1: length 9 runs past the end"), "{}", e.detail);
}

#[test]
fn a_carried_event_log_that_does_not_parse_or_does_not_replay() {
    // Not a log: the evidence is refused (exit 2), naming the field.
    let o = run_modified(|a| a.event_log.truncate(1000));
    assert_eq!(o.exit_code(), 2, "{:?}", o.failures);
    assert!(!o.verified);
    assert!(o.failures[0].detail.contains("event_log (field 3)"), "{}", o.failures[0].detail);
    // A log whose first event digest is changed parses, but PCR0 no longer replays: binding fails.
    let good = parsed();
    let log = cloud_ra_verify::eventlog::parse(&good.event_log, cloud_ra_verify::eventlog::Flavour::Tpm).expect("log");
    let e = log.body().find(|e| e.register == 0 && e.extends()).expect("a PCR0 event");
    let off = e.offset + 8 + 4 + 2; // TCG_PCR_EVENT2: PCRIndex, EventType, digests.count, first algId
    let o = run_modified(|a| a.event_log[off + 2] ^= 1);
    assert_eq!(o.exit_code(), 4, "{:?}", o.failures);
    assert!(o.failures.iter().any(|f| f.check == "eventlog.binding" && f.detail.contains("PCR0")), "{:?}", o.failures);
}

#[test]
fn eventlog_policy_applies_to_the_carried_log() {
    let want = quoted_pcrs_json();
    let mut o = opts(Some(NONCE));
    o.policy.eventlog.require_secure_boot = Some(true);
    let pcr7 = want["pcrs"]["sha256"]["7"].as_str().expect("PCR7").to_string();
    o.policy
        .eventlog
        .pcrs
        .entry("sha256".into())
        .or_default()
        .insert("7".into(), cloud_ra_verify::policy::OneOrMany::One(pcr7.clone()));
    let out = verify_evidence(&pb(), &google(), &o, None);
    assert_eq!(out.exit_code(), 0, "{:?}", out.failures);
    let mut wrong = pcr7.into_bytes();
    wrong[0] = if wrong[0] == b'0' { b'1' } else { b'0' };
    o.policy
        .eventlog
        .pcrs
        .entry("sha256".into())
        .or_default()
        .insert("7".into(), cloud_ra_verify::policy::OneOrMany::One(String::from_utf8(wrong).expect("hex")));
    let out = verify_evidence(&pb(), &google(), &o, None);
    assert_eq!((out.exit_code(), first(&out).0), (4, "policy.eventlog.pcrs"));
}

#[test]
fn truncations_and_flips_never_panic_or_pass() {
    let b = pb();
    for n in (0..b.len()).step_by(97) {
        let _ = Attestation::parse(&b[..n]);
        let _ = detect(&b[..n]);
    }
    // Flips in the fields the verification covers (ak_pub, quotes, ak_cert): never exit 0.
    let a = parsed();
    let covered = a.ak_pub.len() + a.quotes.iter().map(|q| q.quote.len() + q.raw_sig.len()).sum::<usize>();
    assert!(covered > 0);
    for i in (0..b.len()).step_by(211) {
        let mut m = b.clone();
        m[i] ^= 0x01;
        let o = verify_evidence(&m, &google(), &opts(Some(NONCE)), None);
        if o.exit_code() == 0 {
            // Only bytes nothing vouches for may change without refusal: event-log bytes that
            // no extend covers (event data of EV_NO_ACTION) or the log's non-vouched registers.
            let ma = Attestation::parse(&m).expect("parses when it verifies");
            assert_eq!(ma.ak_pub, a.ak_pub, "offset {i}");
            assert_eq!(ma.quotes, a.quotes, "offset {i}");
            assert_eq!(ma.ak_cert, a.ak_cert, "offset {i}");
        }
    }
}

#[test]
fn measured_boot_claims_and_policy_from_the_vouched_log() {
    use cloud_ra_verify::policy::OneOrMany;
    let o = verify_evidence(&pb(), &google(), &opts(Some(NONCE)), None);
    assert_eq!(o.exit_code(), 0, "{:?}", o.failures);
    let m = &o.claims["measured_boot"];
    let a = parsed();
    let log = cloud_ra_verify::eventlog::parse(&a.event_log, cloud_ra_verify::eventlog::Flavour::Tpm).expect("log");
    let event = |n: &Value| {
        let n = n.as_u64().expect("event number") as usize;
        log.events.iter().find(|e| e.number == n).expect("event").clone()
    };
    // Secure-boot variable and key databases: each claim is the event's own digests.
    assert_eq!(m["secure_boot_variable"]["variable_data"], "01");
    for k in ["PK", "KEK", "db", "dbx"] {
        let c = &m["keys"][k];
        let e = event(&c["event"]);
        assert_eq!(c["digests"]["sha256"], hex::encode(e.digest(AlgId::SHA256).expect("sha256")), "{k}");
        assert!(c["entries"].as_u64().is_some_and(|n| n >= 1), "{k}: {c}");
    }
    // Events whose digests do not match their data are reported per event and give no claim:
    // this log's two db authority events (24 and 41) hash 1082 of their 1083 bytes.
    let mismatched: Vec<usize> = log
        .events
        .iter()
        .filter(|e| {
            e.extends()
                && cloud_ra_verify::eventlog::decode::digest_check(e)
                    == cloud_ra_verify::eventlog::decode::DigestCheck::Mismatches
        })
        .map(|e| e.number)
        .collect();
    assert_eq!(mismatched, vec![24, 41]);
    for n in &mismatched {
        assert!(
            o.warnings.iter().any(|w| w.check == "eventlog.findings"
                && w.detail.contains(&format!("event {n} "))
                && w.detail.contains("eventlog.digest")),
            "event {n}: {:?}",
            o.warnings
        );
        assert!(m["authorities"].as_array().into_iter().flatten().all(|x| x["event"] != *n), "event {n}");
    }
    // Kernel and command line (GRUB), boot applications (PCR4), separators.
    assert_eq!(m["kernel"]["path"], "/syslinux/vmlinuz.A");
    let cmdline = m["kernel_cmdline"]["text"].as_str().expect("cmdline").to_string();
    assert!(cmdline.starts_with("/syslinux/vmlinuz.A ") && cmdline.contains("console=ttyS0"), "{cmdline}");
    let apps: Vec<String> = m["boot_applications"]
        .as_array()
        .expect("apps")
        .iter()
        .map(|x| x["digests"]["sha256"].as_str().expect("sha256").to_string())
        .collect();
    assert!(!apps.is_empty());
    for x in m["boot_applications"].as_array().into_iter().flatten() {
        assert_eq!(x["pcr"], 4);
    }
    // PCR10 (IMA) is quoted non-zero without logged events: unverified, a warning, not trusted.
    let regs = o.claims["eventlog"][0]["registers"].as_array().expect("registers");
    let r10 = regs.iter().find(|r| r["bank"] == "sha256" && r["index"] == 10).expect("PCR10");
    assert_eq!(r10["status"], "unverified");
    assert!(
        o.warnings
            .iter()
            .any(|w| w.check == "eventlog.unverified" && w.detail.contains("PCR10 (sha1, sha256, sha384)"))
    );

    // Policy: the command line and the boot applications as claimed pass; anything else fails.
    let mut p = opts(Some(NONCE));
    p.policy.eventlog.kernel_cmdline = Some(OneOrMany::Many(vec!["other".into(), cmdline.clone()]));
    p.policy.eventlog.allowed_boot_applications = Some(apps.clone());
    let out = verify_evidence(&pb(), &google(), &p, None);
    assert_eq!(out.exit_code(), 0, "{:?}", out.failures);
    p.policy.eventlog.kernel_cmdline = Some(OneOrMany::One(format!("{cmdline} debug")));
    let out = verify_evidence(&pb(), &google(), &p, None);
    assert_eq!((out.exit_code(), first(&out).0), (4, "policy.eventlog.kernel_cmdline"));
    p.policy.eventlog.kernel_cmdline = None;
    p.policy.eventlog.allowed_boot_applications = Some(apps[1..].to_vec());
    let out = verify_evidence(&pb(), &google(), &p, None);
    assert_eq!((out.exit_code(), first(&out).0), (4, "policy.eventlog.boot_applications"));
    assert!(first(&out).1.contains("is not allowed"), "{}", first(&out).1);

    // Another machine's log against these quotes: it does not replay, so it yields no claims.
    let mut other = opts(Some(NONCE));
    other.eventlogs.push(
        cloud_ra_verify::eventlog::parse(
            &testdata::read("tpm/eventlogs/cos-101-amd-sev.bin"),
            cloud_ra_verify::eventlog::Flavour::Auto,
        )
        .expect("log"),
    );
    let mut stripped = parsed();
    stripped.event_log.clear();
    let out = verify_evidence(&stripped.to_bytes(), &google(), &other, None);
    assert_eq!(out.exit_code(), 4);
    assert_eq!(first(&out).0, "eventlog.binding");
    assert_eq!(out.claims["secure_boot"], "unknown");
    assert!(out.claims["measured_boot"]["kernel_cmdline"].is_null());
}

#[test]
fn shared_claims_are_typed_and_in_the_json() {
    use cloud_ra_verify::claims::Registers;
    let o = verify_evidence(&pb(), &google(), &opts(Some(NONCE)), None);
    assert_eq!(o.exit_code(), 0, "{:?}", o.failures);
    let c = &o.claims;
    assert_eq!(c.platform(), Some(cloud_ra_verify::Platform::GceVtpm));
    assert!(c.nonce_bound() && !c.simulated());
    assert_eq!(c.measurements().len(), 24, "the SHA-256 PCRs");
    assert_eq!(c["measurements"]["pcr7"], c["pcrs"]["7"]);
    let Registers::Pcrs(banks) = c.registers() else { panic!("PCRs: {:?}", c.registers()) };
    assert_eq!(banks.len(), 3, "every quoted bank is replayable");
    assert_eq!(c.signer().map(|s| s.sha256.as_str()), c["ak_pub"]["sha256"].as_str());
}
