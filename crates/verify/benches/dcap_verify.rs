//! DCAP verification cost against the floor (the two P-256 verifications every quote needs: the
//! QE report signature by the PCK key and the quote signature by the attestation key).
//!
//! `cargo bench -p cloud-ra-verify --bench dcap_verify -- --warm-up-time 1 --measurement-time 3`
//!
//! * `floor_2x_ecdsa_p256`: the two signatures alone (keys parsed once);
//! * `{tdx,sgx}_verify_{cached,uncached}`: `dcap::verify::verify` on the dcap-qvl TDX v4 and SGX v3
//!   quotes with their collateral files, with a warmed `CollateralCache` / without one.
//!
//! The `dcap-qvl::verify` baseline is in `crates/dcap-diff` (`cargo bench -p cloud-ra-dcap-diff`),
//! so that dcap-qvl never becomes a dependency of cloud-ra-verify.

use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED, ParsedPublicKey};
use cloud_ra_verify::dcap::verify::verify;
use cloud_ra_verify::dcap::{CollateralCache, DcapOptions, Quote};
use cloud_ra_verify::x509::Certificate;
use cloud_ra_verify::{Collateral, Timestamp};
use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;

struct Vector {
    quote: Vec<u8>,
    collateral: Collateral,
    opts: DcapOptions,
}

fn vector(quote: &str, coll: &str, at: &str) -> Vector {
    let quote = cloud_ra_sim::testdata::read(quote);
    let mut collateral = Collateral::default();
    collateral.add_file(coll, &cloud_ra_sim::testdata::read(coll)).expect("collateral parses");
    let at = Timestamp::parse_rfc3339(at).expect("time");
    Vector { quote, collateral, opts: DcapOptions { at, require_crl: true, trust_simulated: false } }
}

fn bench(c: &mut Criterion) {
    let tdx = vector(
        "tdx/dcap-qvl-emr-v4/tdx_quote",
        "tdx/dcap-qvl-emr-v4/tdx_quote_collateral.json",
        "2025-07-19T10:00:34Z",
    );
    let sgx =
        vector("sgx/dcap-qvl-sgx/sgx_quote", "sgx/dcap-qvl-sgx/sgx_quote_collateral.json", "2025-07-19T10:01:17Z");

    // Floor: the two per-quote signatures.
    let q = Quote::parse(&tdx.quote).expect("quote parses");
    let pck_der = q.pck_certification().pck_chain().and_then(|c| c.first()).expect("PCK").clone();
    let pck = Certificate::from_der(&pck_der).expect("PCK parses");
    let pck_key = ParsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, &pck.public_key.expect("key").bytes).expect("key");
    let mut point = vec![0x04];
    point.extend_from_slice(&q.attestation_key);
    let ak = ParsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, &point).expect("ak");

    let mut g = c.benchmark_group("dcap");
    g.bench_function("floor_2x_ecdsa_p256", |b| {
        b.iter(|| {
            pck_key.verify_sig(black_box(&q.qe_report.raw), &q.qe_report_signature).expect("qe");
            ak.verify_sig(black_box(q.signed_bytes()), &q.quote_signature).expect("quote");
        })
    });
    for (name, v) in [("tdx", &tdx), ("sgx", &sgx)] {
        let cache = CollateralCache::new();
        verify(&v.quote, &v.collateral, &v.opts, Some(&cache)).expect("verifies");
        g.bench_function(format!("{name}_verify_cached"), |b| {
            b.iter(|| verify(black_box(&v.quote), &v.collateral, &v.opts, Some(&cache)).expect("verifies"))
        });
        g.bench_function(format!("{name}_verify_uncached"), |b| {
            b.iter(|| verify(black_box(&v.quote), &v.collateral, &v.opts, None).expect("verifies"))
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
