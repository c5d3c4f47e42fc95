//! SNP ATTESTATION_REPORT parser: never panics on arbitrary bytes, a report that parses
//! re-parses from its kept raw bytes to an equal report, and encodes from its fields alone
//! (`Report::to_bytes`) to exactly the bytes it was parsed from.
#![no_main]

use cloud_ra_verify::snp::format::Report;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(report) = Report::parse(data) {
        assert_eq!(&report.raw[..], data, "raw must be the received bytes");
        let again = Report::parse(&report.raw[..]).expect("the raw bytes of a parsed report parse again");
        assert_eq!(report, again);
        let mut fields_only = report.clone();
        fields_only.raw.fill(0);
        assert_eq!(&fields_only.to_bytes()[..], data, "to_bytes must be the inverse of parse");
        // Accessors on a parsed report must not panic either.
        let _ = report.signed_bytes();
        let _ = report.signature_fixed();
        let _ = report.product_from_cpuid();
    }
});
