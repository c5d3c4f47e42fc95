//! Nitro document verification: uncached chain, already-verified chain (cached), and one bare
//! ES384 verification of the same Sig_structure (the floor).

use aws_lc_rs::signature::{ECDSA_P384_SHA384_FIXED, ParsedPublicKey};
use cloud_ra_sim::testdata;
use cloud_ra_verify::Timestamp;
use cloud_ra_verify::nitro::Document;
use cloud_ra_verify::nitro::verify::{NitroCache, NitroOptions, verify};
use cloud_ra_verify::x509::Certificate;
use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;

fn bench(c: &mut Criterion) {
    let doc = testdata::read("nitro/veracruz/aws_nitro_document.cbor");
    let opts = NitroOptions {
        at: Timestamp::parse_rfc3339("2022-11-09T23:30:00Z").expect("time"),
        use_document_time: false,
        trust_simulated: false,
    };
    let parsed = Document::parse(&doc).expect("parses");
    let leaf = Certificate::from_der(&parsed.doc.certificate).expect("leaf");
    let point = leaf.public_key.expect("key").bytes;
    let key = ParsedPublicKey::new(&ECDSA_P384_SHA384_FIXED, &point).expect("P-384 key");
    let tbs = parsed.cose.to_be_signed();
    let sig = parsed.cose.signature.clone();
    let cache = NitroCache::default();
    verify(&doc, &opts, Some(&cache)).expect("warm the cache");

    let mut g = c.benchmark_group("nitro");
    g.bench_function("floor_es384", |b| b.iter(|| key.verify_sig(black_box(&tbs), black_box(&sig)).expect("verifies")));
    g.bench_function("nitro_verify_cached", |b| {
        b.iter(|| verify(black_box(&doc), &opts, Some(&cache)).expect("verifies"))
    });
    g.bench_function("nitro_verify_uncached", |b| b.iter(|| verify(black_box(&doc), &opts, None).expect("verifies")));
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
