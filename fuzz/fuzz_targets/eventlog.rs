//! The event-log parsers (legacy SHA-1, crypto-agile, CCEL + ACPI table), replay, decoding and
//! claims, and the TPMT_PUBLIC / TPMS_ATTEST parsers: never panic, whatever the bytes.
#![no_main]

use cloud_ra_verify::eventlog::{self, Flavour};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The minimal TPM structures used to vouch for PCRs.
    let _ = cloud_ra_verify::tpm::AkPublic::parse(data);
    let _ = cloud_ra_verify::tpm::Attest::parse(data);
    let _ = eventlog::parse_ccel_table(data);
    if data.len() > 56 {
        let _ = eventlog::parse_ccel(&data[..56], &data[56..]);
    }
    for flavour in [Flavour::Auto, Flavour::Tpm, Flavour::Ccel] {
        if let Ok(log) = eventlog::parse(data, flavour) {
            let _ = eventlog::replay(&log);
            let _ = eventlog::show_json(&log);
            let _ = eventlog::claims::analyse(&log, &|_| true);
        }
    }
});
