//! Bad input for the event-log parsers: truncation at every offset, digest counts that do not
//! match the Spec ID event, absurd sizes, logs that lie about their length, padding. Never a panic;
//! errors name the event number and offset.

use cloud_ra_sim::testdata;
use cloud_ra_verify::eventlog::{Flavour, LogFormat, parse, replay};

fn ccel() -> Vec<u8> {
    testdata::read("ccel/go-eventlog/CCEL_unpadded.data.bin")
}

#[test]
fn truncation_at_every_offset_is_an_error_or_a_shorter_log() {
    for f in
        ["ccel/go-eventlog/CCEL_unpadded.data.bin", "tpm/eventlogs/debian-10.bin", "tpm/eventlogs/cos-85-amd-sev.bin"]
    {
        let b = testdata::read(f);
        let full = parse(&b, Flavour::Auto).expect("parses");
        // Cutting inside an event is always refused with the event and its offset.
        for cut in (1..b.len()).step_by(7) {
            match parse(&b[..cut], Flavour::Auto) {
                Ok(l) => {
                    let ends: Vec<usize> = full.events.iter().map(|e| e.offset).chain([full.log_bytes]).collect();
                    assert!(ends.contains(&cut), "{f}: cut at {cut} accepted");
                    assert!(l.events.len() < full.events.len());
                }
                Err(e) => {
                    assert_eq!(e.check, "eventlog.format", "{f}@{cut}: {e}");
                    assert!(e.detail.starts_with("event ") && e.detail.contains("offset"), "{f}@{cut}: {e}");
                }
            }
        }
    }
}

#[test]
fn padding_with_zeros_or_ff_ends_cleanly() {
    let b = ccel();
    let n = parse(&b, Flavour::Auto).expect("parses").events.len();
    for pad in [0u8, 0xFF] {
        let mut p = b.clone();
        p.extend(std::iter::repeat_n(pad, 4096));
        let l = parse(&p, Flavour::Auto).expect("padded");
        assert_eq!(l.events.len(), n);
        assert_eq!(l.log_bytes, b.len());
    }
    // Padding followed by more data: the log lies about its end.
    let mut p = b.clone();
    p.extend([0u8; 64]);
    p.extend([1u8; 8]);
    let e = parse(&p, Flavour::Auto).expect_err("non-padding after end");
    assert!(e.detail.contains(&format!("offset {}", b.len())), "{e}");
}

#[test]
fn digest_count_must_match_spec_id() {
    let mut b = ccel();
    // Event 1 starts right after the Spec ID header (65 bytes); its digest count is at +8.
    b[65 + 8] = 2;
    let e = parse(&b, Flavour::Auto).expect_err("count");
    assert!(e.detail.contains("event 1 at offset 65") && e.detail.contains("2 digests"), "{e}");
}

#[test]
fn absurd_and_lying_sizes() {
    let b = ccel();
    // Event 1: pcr(4) type(4) count(4) alg(2) digest(48) size(4).
    let size_at = 65 + 12 + 2 + 48;
    let mut absurd = b.clone();
    absurd[size_at..size_at + 4].copy_from_slice(&0xFFFF_FFF0u32.to_le_bytes());
    let e = parse(&absurd, Flavour::Auto).expect_err("absurd");
    assert!(e.detail.contains("event 1 at offset 65") && e.detail.contains("absurd"), "{e}");
    let mut lying = b.clone();
    lying[size_at..size_at + 4].copy_from_slice(&(b.len() as u32).to_le_bytes());
    let e = parse(&lying, Flavour::Auto).expect_err("lying");
    assert!(e.detail.contains("event 1 at offset 65") && e.detail.contains("truncated"), "{e}");
    // An unknown algorithm in an event.
    let mut alg = b.clone();
    alg[65 + 12] = 0x0B;
    let e = parse(&alg, Flavour::Auto).expect_err("alg");
    assert!(e.detail.contains("does not list"), "{e}");
    // A Spec ID event that lists an absurd number of algorithms.
    let mut spec = b.clone();
    spec[32 + 24..32 + 28].copy_from_slice(&1000u32.to_le_bytes());
    let e = parse(&spec, Flavour::Auto).expect_err("spec");
    assert!(e.detail.contains("event 0") && e.detail.contains("numberOfAlgorithms"), "{e}");
}

#[test]
fn empty_table_and_garbage() {
    assert!(parse(&[], Flavour::Auto).is_err());
    assert!(parse(&testdata::read("ccel/gcp-cos113/ccel_table.dat"), Flavour::Auto).is_err());
    assert!(parse(&[0xAB; 40], Flavour::Auto).is_err());
    for i in 0..64u8 {
        let junk: Vec<u8> = (0..200u32).map(|k| (k as u8).wrapping_mul(31).wrapping_add(i)).collect();
        if let Ok(l) = parse(&junk, Flavour::Auto) {
            let _ = replay(&l);
        }
    }
}

#[test]
fn flavour_override() {
    let b = testdata::read("tpm/eventlogs/cos-85-amd-sev.bin");
    assert!(parse(&b, Flavour::Ccel).is_err(), "a three-bank TPM log with PCR 8/9 is not a CCEL");
    assert_eq!(parse(&b, Flavour::Tpm).expect("tpm").format, LogFormat::CryptoAgile);
}
