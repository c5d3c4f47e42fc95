//! GCE vTPM attestation (tpm/gce-cos-85, go-tpm-tools protobuf, 29.6 KB) cost.
//!
//! `cargo bench -p cloud-ra-verify --bench gce_verify -- --warm-up-time 1 --measurement-time 3`
//!
//! * `gce_parse`: the strict protobuf reader alone;
//! * `gce_rsa2048_verify_floor`: one RSA-2048 PKCS#1 signature verification (one quote's);
//! * `gce_verify_evidence`: detect + AK chain (2 RSA-2048 certificate signatures) + 3 quotes (3 RSA
//!   verifications, PCR digests) + the carried 45-event log parsed, replayed in 3 banks, bound and
//!   analysed — the whole `verify_evidence`, nonce 0x9009.

use cloud_ra_sim::testdata;
use cloud_ra_verify::tpm::gotpm::Attestation;
use cloud_ra_verify::tpm::{AkPublic, QuotedPcrs, verify_quote_signed};
use cloud_ra_verify::{Collateral, Timestamp, VerifyOptions, verify_evidence};
use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;

fn bench(c: &mut Criterion) {
    let pb = testdata::read("tpm/gce-cos-85/gce-cos-85-nonce9009.pb");
    let mut coll = Collateral::default();
    for f in ["roots/google/tpm_ek_intermediate_2.crt", "roots/google/tpm_ek_root_1.cer"] {
        coll.add_file(f, &testdata::read(f)).expect("certificate");
    }
    let mut opts = VerifyOptions::at(Timestamp::parse_rfc3339("2025-01-01T00:00:00Z").expect("time"));
    opts.nonce = Some(vec![0x90, 0x09]);
    let a = Attestation::parse(&pb).expect("parses");
    let ak = AkPublic::parse(&a.ak_pub).expect("AK");
    let q = &a.quotes[0];
    let mut pcrs = QuotedPcrs::new();
    pcrs.insert(q.pcrs.hash, q.pcrs.values.clone());
    assert_eq!(verify_evidence(&pb, &coll, &opts, None).exit_code(), 0);
    c.bench_function("gce_parse", |b| b.iter(|| Attestation::parse(black_box(&pb)).expect("parses")));
    c.bench_function("gce_rsa2048_verify_floor", |b| {
        b.iter(|| verify_quote_signed(&ak, black_box(&q.quote), &q.raw_sig, &pcrs).expect("verifies"))
    });
    c.bench_function("gce_verify_evidence", |b| b.iter(|| verify_evidence(black_box(&pb), &coll, &opts, None)));
}

criterion_group!(benches, bench);
criterion_main!(benches);
