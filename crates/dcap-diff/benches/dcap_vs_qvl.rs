//! One criterion run: cloud-ra vs `dcap_qvl::verify::verify` on the same TDX v4 and SGX v3 quotes
//! (the dcap-qvl vectors) with their collateral in hand, cloud-ra on repeated quotes with the
//! verified-collateral cache, and the floor.
//!
//! `cargo bench --workspace --locked --bench dcap_vs_qvl -- --warm-up-time 1 --measurement-time 3`
//!
//! Per platform (`tdx`, `sgx`):
//! * `cloud_ra_uncached`: `dcap::verify::verify` without a cache (every collateral check each time);
//! * `cloud_ra_cached`: the same quote again with a warmed `CollateralCache` (repeated quotes from
//!   one platform: PCK chain, CRLs, TCB info and QE identity verified once per collateral set);
//! * `dcap_qvl`: `dcap_qvl::verify::verify` with the same collateral (`QuoteCollateralV3`);
//! * `cloud_ra_from_file` / `dcap_qvl_from_file`: the same, starting from the collateral JSON
//!   file's bytes (`Collateral::add_file` / `serde_json::from_slice::<QuoteCollateralV3>`);
//! * `floor`: the P-256 verifications a repeated quote needs: the QE report signature by the
//!   (already verified, pre-parsed) PCK key and the quote signature by the attestation key, which
//!   comes in the quote and is parsed per quote;
//! * `floor_all_p256`: every P-256 verification of an uncached quote (PCK chain 3, TCB Signing
//!   certificate 1, Root CA CRL and PCK CRL 2, TCB info and QE identity 2, QE report and quote 2).

use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED, ParsedPublicKey, UnparsedPublicKey};
use cloud_ra_verify::dcap::collateral::DcapItem;
use cloud_ra_verify::dcap::verify::verify;
use cloud_ra_verify::dcap::{CollateralCache, DcapOptions, Quote};
use cloud_ra_verify::x509::Certificate;
use cloud_ra_verify::{Collateral, Timestamp};
use criterion::{Criterion, criterion_group, criterion_main};
use dcap_qvl::QuoteCollateralV3;
use std::hint::black_box;

struct Vector {
    name: &'static str,
    quote: Vec<u8>,
    file: (String, Vec<u8>),
    collateral: Collateral,
    qvl: QuoteCollateralV3,
    opts: DcapOptions,
}

fn vector(name: &'static str, quote: &str, coll: &str, at: &str) -> Vector {
    let quote = cloud_ra_sim::testdata::read(quote);
    let text = cloud_ra_sim::testdata::read(coll);
    let mut collateral = Collateral::default();
    collateral.add_file(coll, &text).expect("collateral parses");
    let j: serde_json::Value = serde_json::from_slice(&text).expect("json");
    let s = |k: &str| j[k].as_str().expect("string member").to_string();
    let h = |k: &str| hex::decode(s(k)).expect("hex member");
    let qvl = QuoteCollateralV3 {
        pck_crl_issuer_chain: s("pck_crl_issuer_chain"),
        root_ca_crl: h("root_ca_crl"),
        pck_crl: h("pck_crl"),
        tcb_info_issuer_chain: s("tcb_info_issuer_chain"),
        tcb_info: s("tcb_info"),
        tcb_info_signature: h("tcb_info_signature"),
        qe_identity_issuer_chain: s("qe_identity_issuer_chain"),
        qe_identity: s("qe_identity"),
        qe_identity_signature: h("qe_identity_signature"),
        pck_certificate_chain: None,
    };
    let at = Timestamp::parse_rfc3339(at).expect("time");
    let opts = DcapOptions { at, require_crl: true, trust_simulated: false };
    Vector { name, quote, file: (coll.to_string(), text), collateral, qvl, opts }
}

/// The fixed r || s of a DER ECDSA signature.
fn der_to_fixed(der: &[u8]) -> Vec<u8> {
    // SEQUENCE { INTEGER r, INTEGER s } -> 32-byte r || s.
    let mut out = Vec::with_capacity(64);
    let mut i = 2;
    for _ in 0..2 {
        let len = der[i + 1] as usize;
        let v = &der[i + 2..i + 2 + len];
        let v = if v.len() > 32 { &v[v.len() - 32..] } else { v };
        out.extend(std::iter::repeat_n(0u8, 32 - v.len()));
        out.extend_from_slice(v);
        i += 2 + len;
    }
    out
}

/// Every P-256 verification of an uncached quote: (key point, message, r || s).
fn all_p256(v: &Vector) -> Vec<(Vec<u8>, Vec<u8>, Vec<u8>)> {
    let q = Quote::parse(&v.quote).expect("quote");
    let chain: Vec<Certificate> = q
        .pck_certification()
        .pck_chain()
        .expect("chain")
        .iter()
        .map(|d| Certificate::from_der(d).expect("cert"))
        .collect();
    let key = |c: &Certificate| c.public_key.as_ref().expect("key").bytes.clone();
    let (pck, ca, root) = (&chain[0], &chain[1], &chain[2]);
    let signer = v.collateral.certs.iter().find(|c| c.subject_cn == "Intel SGX TCB Signing").expect("signer");
    let mut out = vec![
        (key(root), root.tbs().to_vec(), der_to_fixed(&root.signature)),
        (key(root), ca.tbs().to_vec(), der_to_fixed(&ca.signature)),
        (key(ca), pck.tbs().to_vec(), der_to_fixed(&pck.signature)),
        (key(root), signer.tbs().to_vec(), der_to_fixed(&signer.signature)),
    ];
    for crl in &v.collateral.crls {
        let issuer = if crl.issuer_raw == root.subject_raw { root } else { ca };
        out.push((key(issuer), crl.tbs().to_vec(), der_to_fixed(&crl.signature)));
    }
    for d in &v.collateral.dcap {
        let s = match d {
            DcapItem::TcbInfo(t) => &t.signed,
            DcapItem::EnclaveIdentity(e) => &e.signed,
        };
        out.push((key(signer), s.raw.clone(), s.signature.to_vec()));
    }
    let mut ak = vec![0x04];
    ak.extend_from_slice(&q.attestation_key);
    out.push((key(pck), q.qe_report.raw.clone(), q.qe_report_signature.to_vec()));
    out.push((ak, q.signed_bytes().to_vec(), q.quote_signature.to_vec()));
    for (k, m, s) in &out {
        UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, k).verify(m, s).expect("verifies");
    }
    out
}

fn bench(c: &mut Criterion) {
    let vectors = [
        vector(
            "tdx",
            "tdx/dcap-qvl-emr-v4/tdx_quote",
            "tdx/dcap-qvl-emr-v4/tdx_quote_collateral.json",
            "2025-07-19T10:00:34Z",
        ),
        vector(
            "sgx",
            "sgx/dcap-qvl-sgx/sgx_quote",
            "sgx/dcap-qvl-sgx/sgx_quote_collateral.json",
            "2025-07-19T10:01:17Z",
        ),
    ];
    let mut g = c.benchmark_group("dcap");
    for v in &vectors {
        let now = u64::try_from(v.opts.at.0).expect("after 1970");
        // Same inputs, same verdict.
        let ours = verify(&v.quote, &v.collateral, &v.opts, None).expect("cloud-ra verifies");
        let theirs = dcap_qvl::verify::verify(&v.quote, &v.qvl, now).expect("dcap-qvl verifies");
        assert_eq!(ours.tcb_status().name(), theirs.status);

        let cache = CollateralCache::new();
        verify(&v.quote, &v.collateral, &v.opts, Some(&cache)).expect("verifies");
        g.bench_function(format!("{}_cloud_ra_cached", v.name), |b| {
            b.iter(|| verify(black_box(&v.quote), &v.collateral, &v.opts, Some(&cache)).expect("verifies"))
        });
        g.bench_function(format!("{}_cloud_ra_uncached", v.name), |b| {
            b.iter(|| verify(black_box(&v.quote), &v.collateral, &v.opts, None).expect("verifies"))
        });
        g.bench_function(format!("{}_dcap_qvl", v.name), |b| {
            b.iter(|| dcap_qvl::verify::verify(black_box(&v.quote), &v.qvl, now).expect("verifies"))
        });
        // From the collateral JSON file, as each library's user starts: cloud-ra's
        // `Collateral::add_file`, dcap-qvl's `serde_json::from_slice` (as its own tests do).
        let from_file = || {
            let mut c = Collateral::default();
            c.add_file(&v.file.0, black_box(&v.file.1)).expect("collateral parses");
            verify(black_box(&v.quote), &c, &v.opts, None).expect("verifies")
        };
        let qvl_from_file = || {
            let c: QuoteCollateralV3 = serde_json::from_slice(black_box(&v.file.1)).expect("collateral parses");
            dcap_qvl::verify::verify(black_box(&v.quote), &c, now).expect("verifies")
        };
        assert_eq!(from_file().tcb_status().name(), qvl_from_file().status);
        g.bench_function(format!("{}_cloud_ra_from_file", v.name), |b| b.iter(from_file));
        g.bench_function(format!("{}_dcap_qvl_from_file", v.name), |b| b.iter(qvl_from_file));

        let q = Quote::parse(&v.quote).expect("quote");
        let pck = Certificate::from_der(&q.pck_certification().pck_chain().expect("chain")[0]).expect("PCK");
        let pck_key = ParsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, &pck.public_key.expect("key").bytes).expect("key");
        let mut point = vec![0x04];
        point.extend_from_slice(&q.attestation_key);
        g.bench_function(format!("{}_floor", v.name), |b| {
            b.iter(|| {
                pck_key.verify_sig(black_box(&q.qe_report.raw), &q.qe_report_signature).expect("qe");
                UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, black_box(&point))
                    .verify(q.signed_bytes(), &q.quote_signature)
                    .expect("quote");
            })
        });
        let all = all_p256(v);
        g.bench_function(format!("{}_floor_all_p256_{}", v.name, all.len()), |b| {
            b.iter(|| {
                for (k, m, s) in &all {
                    UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, black_box(k)).verify(m, s).expect("verifies");
                }
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
