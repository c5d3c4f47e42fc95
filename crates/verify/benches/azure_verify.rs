//! Azure SNP vTPM verification: the trustee az-snp-vtpm evidence (HCL report, VCEK, TPM quote
//! over 24 PCRs with nonce "challenge"), read once outside the measured loops.
//!
//! `cargo bench -p cloud-ra-verify --bench azure_verify -- --warm-up-time 1 --measurement-time 3`
//!
//! * `hcl_parse`: the HCL report and runtime claims (JSON, JWKs);
//! * `quote_floor_rsa2048`: the quote's RSASSA-SHA256 signature alone (AK parsed once);
//! * `azure_verify_cached`: `azure::verify::verify` with a warmed SNP `ChainCache` (SNP report
//!   signature, binding, AK, quote signature and PCR digest; the chain comes from the cache);
//! * `azure_verify_uncached`: the same, validating ARK -> ASK -> VCEK every time;
//! * `azure_verify_evidence_cached`: the whole `verify_evidence` path (detect the trustee JSON,
//!   verify, appraise, claims) with warmed `Caches`.

use cloud_ra_verify::azure::format::{HclReport, trustee_evidence};
use cloud_ra_verify::azure::{AzureOptions, verify::verify};
use cloud_ra_verify::snp::ChainCache;
use cloud_ra_verify::tpm::{AkPublic, Signature};
use cloud_ra_verify::{Caches, Collateral, Timestamp, VerifyOptions, verify_evidence};
use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;

/// 2025-06-01T00:00:00Z: inside the VCEK's validity.
const AT: Timestamp = Timestamp(1_748_736_000);

fn bench(c: &mut Criterion) {
    let bytes = cloud_ra_sim::testdata::read("azure/trustee-az-snp-vtpm/evidence-v1.json");
    let v: serde_json::Value = serde_json::from_slice(&bytes).expect("JSON");
    let ev = trustee_evidence(&v).expect("trustee evidence");
    let mut collateral: Collateral = cloud_ra_collateral::builtin_amd();
    for (i, cert) in ev.certs.iter().enumerate() {
        collateral.add_file(&format!("vcek {i}"), cert).expect("VCEK");
    }
    let mut ev_no_certs = ev.clone();
    ev_no_certs.certs.clear();
    let opts = AzureOptions { at: AT, product: None, trust_simulated: false, require_crl: false };

    let mut g = c.benchmark_group("azure_verify");
    let hcl = ev.hcl_report.clone();
    g.bench_function("hcl_parse", |b| b.iter(|| HclReport::parse(black_box(&hcl)).expect("parses")));

    let h = HclReport::parse(&hcl).expect("parses");
    let ak = AkPublic::from_params(h.claims.ak_pub.params.clone()).expect("AK");
    let q = ev.quote.clone().expect("quote");
    let sig = Signature::parse(&q.signature).expect("sig");
    let key = ak.key.parsed(cloud_ra_verify::crypto::SigAlg::RsaPkcs1Sha256).expect("RSA key");
    key.verify_sig(&q.attest, &sig.sig).expect("quote signature");
    g.bench_function("quote_floor_rsa2048", |b| {
        b.iter(|| key.verify_sig(black_box(&q.attest), black_box(&sig.sig)).is_ok())
    });

    let cache = ChainCache::new();
    verify(&ev_no_certs, &collateral, &opts, Some(&cache), None).expect("verifies");
    g.bench_function("azure_verify_cached", |b| {
        b.iter(|| verify(black_box(&ev_no_certs), &collateral, &opts, Some(&cache), None).expect("verifies"))
    });
    g.bench_function("azure_verify_uncached", |b| {
        b.iter(|| verify(black_box(&ev_no_certs), &collateral, &opts, None, None).expect("verifies"))
    });

    let amd = cloud_ra_collateral::builtin_amd();
    let mut vo = VerifyOptions::at(AT);
    vo.nonce = Some(b"challenge".to_vec());
    let caches = Caches::default();
    let o = verify_evidence(&bytes, &amd, &vo, Some(&caches));
    assert_eq!(o.exit_code(), 0, "{:?}", o.failures);
    g.bench_function("azure_verify_evidence_cached", |b| {
        b.iter(|| verify_evidence(black_box(&bytes), &amd, &vo, Some(&caches)).exit_code())
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
