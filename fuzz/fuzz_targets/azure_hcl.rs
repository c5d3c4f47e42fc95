//! Azure HCL report, runtime claims and TPM structure parsers: never panic on arbitrary bytes;
//! what parses keeps its invariants (the claims are the exact bytes the binding hashes).
#![no_main]

use cloud_ra_verify::azure::format::{HclReport, kinvolk_quote};
use cloud_ra_verify::tpm::{AkPublic, Attest, Signature};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(h) = HclReport::parse(data) {
        assert_eq!(h.header.report_size as usize, 0x4D4 + h.claims.raw.len());
        assert_eq!(&data[0x4D4..0x4D4 + h.claims.raw.len()], &h.claims.raw[..]);
        let _ = h.report_data();
        let _ = h.expected_report_data();
    }
    if let Ok(a) = Attest::parse(data) {
        let _ = a.split_pcrs(data);
        let _ = a.to_bytes();
    }
    if let Ok(s) = Signature::parse(data) {
        assert_eq!(Signature::parse(&s.to_bytes()).ok(), Some(s));
    }
    let _ = AkPublic::parse(data);
    let _ = kinvolk_quote(data);
});
