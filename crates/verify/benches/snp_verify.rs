//! SNP verification cost against the physical floor (one ECDSA P-384/SHA-384 verification).
//!
//! `cargo bench -p cloud-ra-verify --bench snp_verify -- --warm-up-time 1 --measurement-time 3`
//!
//! All benchmarks are in one group so they can be compared directly:
//! * `floor_ecdsa_p384`: the report signature alone, aws-lc-rs `ParsedPublicKey` (key parsed once);
//! * `snp_verify_{cached,uncached}`: `snp::verify::verify` on the real trustee-milan report and
//!   VCEK with the built-in Milan ARK/ASK (RSA-4096), with a warmed `ChainCache` / without one;
//! * `snp_verify_evidence_cached`: the whole `verify_evidence` path (detect, verify, appraise,
//!   claims JSON) with warmed `Caches`;
//! * `sim_snp_verify_{cached,uncached}`: the same on a simulated report (RSA-2048 ARK/ASK).
//!
//! Evidence and collateral are read and parsed once, outside the measured loops.

use aws_lc_rs::signature::{ECDSA_P384_SHA384_FIXED, ParsedPublicKey, VerificationAlgorithm};
use cloud_ra_sim::{ReportBuilder, SimAmd, VekKind};
use cloud_ra_verify::snp::verify::verify;
use cloud_ra_verify::snp::{ChainCache, Report, SnpEvidence, SnpOptions};
use cloud_ra_verify::x509::Certificate;
use cloud_ra_verify::{Caches, Collateral, Timestamp, VerifyOptions, verify_evidence};
use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;

/// 2024-01-01T00:00:00Z: inside the validity of the trustee-milan VCEK and the simulated PKI.
const AT: Timestamp = Timestamp(1_704_067_200);

struct Vector {
    report: Vec<u8>,
    collateral: Collateral,
    opts: SnpOptions,
}

/// The trustee-milan report and VCEK, plus the built-in AMD ARKs and ASKs.
fn milan() -> Vector {
    let report = cloud_ra_sim::testdata::read("snp/trustee-milan/test-report.bin");
    let vcek = cloud_ra_sim::testdata::read("snp/trustee-milan/test-vcek.der");
    let mut collateral = cloud_ra_collateral::builtin_amd();
    collateral.add_file("trustee-milan/test-vcek.der", &vcek).expect("VCEK parses");
    let opts = SnpOptions { at: AT, product: None, trust_simulated: false, require_crl: false };
    Vector { report, collateral, opts }
}

/// A report of the simulated Milan chip with its simulated ARK, ASK and VCEK.
fn simulated() -> Vector {
    let sim = SimAmd::get();
    let builder = ReportBuilder::new();
    let report = builder.sign(sim, VekKind::Vcek);
    let mut collateral = Collateral::default();
    collateral.add_file("sim ARK", sim.ark_der()).expect("sim ARK parses");
    collateral.add_file("sim ASK", sim.ask_der()).expect("sim ASK parses");
    collateral.add_file("sim VCEK", &sim.vek_der(&builder.vek_spec(VekKind::Vcek))).expect("sim VCEK parses");
    let opts = SnpOptions { at: AT, product: None, trust_simulated: true, require_crl: false };
    Vector { report, collateral, opts }
}

/// The floor: the VCEK's point parsed once, then one verification (SHA-384 of the 672 signed
/// bytes included).
fn floor_key(v: &Vector) -> (ParsedPublicKey, Report) {
    let report = Report::parse(&v.report).expect("report parses");
    let vcek: &Certificate =
        v.collateral.certs.iter().find(|c| c.subject_cn == "SEV-VCEK").expect("a VCEK in the collateral");
    let point = &vcek.public_key.as_ref().expect("VCEK key").bytes;
    let alg: &'static dyn VerificationAlgorithm = &ECDSA_P384_SHA384_FIXED;
    let key = ParsedPublicKey::new(alg, point).expect("P-384 point parses");
    key.verify_sig(report.signed_bytes(), &report.signature_fixed()).expect("the report signature verifies");
    (key, report)
}

fn bench(c: &mut Criterion) {
    let real = milan();
    let sim = simulated();
    let no_table = [];

    let mut g = c.benchmark_group("snp_verify");

    let (key, report) = floor_key(&real);
    let signed = report.signed_bytes();
    let sig = report.signature_fixed();
    g.bench_function("floor_ecdsa_p384", |b| {
        b.iter(|| key.verify_sig(black_box(signed), black_box(&sig)).is_ok());
    });

    for (prefix, v) in [("", &real), ("sim_", &sim)] {
        let ev = SnpEvidence { report: &v.report, cert_table: &no_table };
        let cache = ChainCache::new();
        verify(&ev, &v.collateral, &v.opts, Some(&cache)).unwrap_or_else(|e| panic!("{prefix}report verifies: {e}"));
        assert_eq!(cache.len(), 1, "the chain is cached");
        g.bench_function(format!("{prefix}snp_verify_cached"), |b| {
            b.iter(|| verify(black_box(&ev), &v.collateral, &v.opts, Some(&cache)).is_ok());
        });
        g.bench_function(format!("{prefix}snp_verify_uncached"), |b| {
            b.iter(|| verify(black_box(&ev), &v.collateral, &v.opts, None).is_ok());
        });
    }

    let caches = Caches::default();
    let vopts = VerifyOptions::at(AT);
    let outcome = verify_evidence(&real.report, &real.collateral, &vopts, Some(&caches));
    assert!(outcome.verified, "verify_evidence verifies the report: {:?}", outcome.failures);
    g.bench_function("snp_verify_evidence_cached", |b| {
        b.iter(|| verify_evidence(black_box(&real.report), &real.collateral, &vopts, Some(&caches)).verified);
    });

    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
