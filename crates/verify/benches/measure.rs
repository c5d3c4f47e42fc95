//! Reference-value computation cost on the staged firmware.
//!
//! `cargo bench -p cloud-ra-verify --bench measure -- --warm-up-time 1 --measurement-time 5`
//!
//! * `snp_svsm_ovmf_4vcpu`: SNP launch digest, snp:svsm mode, the 3.6 MB svsm_ovmf.fd plus the
//!   1.1 MB SVSM image, 4 vCPUs (sev-snp-measure's test_snp_svsm_4_vcpus);
//! * `snp_clean_example_gce`: SNP launch digest of Google's 2 MiB CleanExample, GCE, 1 vCPU;
//! * `tdx_mrtd_clean_example`: TDX MRTD of the same 2 MiB file;
//! * `tdx_rtmr_clean_example`: MRTD plus the RTMR0 prediction (2048 MiB TD HOB, CFV, given ACPI
//!   digests) of the same file;
//! * `gce_endorsement_verify`: parse and verify a simulated Google launch endorsement (signer
//!   chain to the root, one RSA-2048 PSS signature, 3 SNP + 1 TDX values).
//!
//! Files are read once, outside the measured loops; parsing is inside.

use cloud_ra_verify::Timestamp;
use cloud_ra_verify::measure::snp::{self, SevMode, SnpInputs, VmmType};
use cloud_ra_verify::measure::{gce, tdx};
use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;

fn bench(c: &mut Criterion) {
    let ovmf = cloud_ra_sim::testdata::read("refvals/snp/sev-snp-measure/svsm_ovmf.fd");
    let svsm = cloud_ra_sim::testdata::read("refvals/snp/sev-snp-measure/svsm.bin");
    let clean = cloud_ra_sim::testdata::read("refvals/gcp/gce-tcb-verifier/derived/clean_example_2MiB.fd");
    let mut g = c.benchmark_group("measure");
    g.sample_size(20);
    g.bench_function("snp_svsm_ovmf_4vcpu", |b| {
        let mut i = SnpInputs::new(SevMode::SnpSvsm, &ovmf);
        i.vcpus = 4;
        i.vcpu_sig = Some(0x800f12);
        i.svsm = Some(&svsm);
        i.vars_size = 540672;
        b.iter(|| black_box(snp::launch_digest(black_box(&i)).expect("digest")))
    });
    g.bench_function("snp_clean_example_gce", |b| {
        let mut i = SnpInputs::new(SevMode::Snp, &clean);
        i.vmm = VmmType::Gce;
        b.iter(|| black_box(snp::launch_digest(black_box(&i)).expect("digest")))
    });
    g.bench_function("tdx_mrtd_clean_example", |b| {
        let i = tdx::TdxInputs { firmware: &clean, ..Default::default() };
        b.iter(|| black_box(tdx::measure(black_box(&i)).expect("mrtd")))
    });
    g.bench_function("tdx_rtmr_clean_example", |b| {
        let i = tdx::TdxInputs {
            firmware: &clean,
            memory_mib: Some(2048),
            acpi_digests: vec![[1; 48], [2; 48], [3; 48]],
            ..Default::default()
        };
        b.iter(|| black_box(tdx::measure(black_box(&i)).expect("rtmr")))
    });
    let sim = cloud_ra_sim::google::SimGoogle::get();
    let golden = cloud_ra_sim::google::Golden {
        digest: vec![0; 48],
        snp: Some((1, vec![(1, [1; 48]), (2, [2; 48]), (4, [4; 48])], [0; 16], [0; 16], 0x30000)),
        tdx: Some((1, vec![(1, false, [3; 48])])),
        ..Default::default()
    };
    let endorsement = sim.endorsement(&golden);
    let roots = gce::certificates("root", sim.root_der()).expect("root");
    g.bench_function("gce_endorsement_verify", |b| {
        b.iter(|| black_box(gce::verify(black_box(&endorsement), &roots, Timestamp(1_735_689_600), &[]).expect("ok")))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
