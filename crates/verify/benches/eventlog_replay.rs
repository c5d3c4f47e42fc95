//! Event-log cost: parse + replay of the largest logs of the test vectors.
//!
//! `cargo bench -p cloud-ra-verify --bench eventlog_replay -- --warm-up-time 1 --measurement-time 3`
//!
//! * `tpm_gdc_host_parse_replay`: gdc-host.bin (50 KiB, 159 records, SHA-256 bank) — the largest log
//!   by events;
//! * `ccel_grub_gke_parse_replay`: CCEL_data_grub_gke (262 KiB area, 21.9 KiB of events) — the CCEL
//!   with the most event bytes;
//! * `ccel_cos113_parse_replay_analyse`: the gcp-cos113 CCEL, parse + replay + claims.

use cloud_ra_verify::eventlog::{Flavour, claims, parse, replay};
use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;

fn bench(c: &mut Criterion) {
    let gdc = cloud_ra_sim::testdata::read("tpm/eventlogs/gdc-host.bin");
    let gke = cloud_ra_sim::testdata::read("ccel/trustee/CCEL_data_grub_gke");
    let cos = cloud_ra_sim::testdata::read("ccel/gcp-cos113/ccel_data.dat");
    c.bench_function("tpm_gdc_host_parse_replay", |b| {
        b.iter(|| {
            let l = parse(black_box(&gdc), Flavour::Auto).expect("parses");
            replay(&l).expect("replays")
        })
    });
    c.bench_function("ccel_grub_gke_parse_replay", |b| {
        b.iter(|| {
            let l = parse(black_box(&gke), Flavour::Auto).expect("parses");
            replay(&l).expect("replays")
        })
    });
    c.bench_function("ccel_cos113_parse_replay_analyse", |b| {
        b.iter(|| {
            let l = parse(black_box(&cos), Flavour::Auto).expect("parses");
            let r = replay(&l).expect("replays");
            (r, claims::analyse(&l, &|r| r != 4))
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
