//! go-tpm-tools `Attestation` protobuf (GCE vTPM evidence): the strict reader never panics, and
//! what parses re-encodes to a message that parses to the same value.
#![no_main]

use cloud_ra_verify::tpm::gotpm::Attestation;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(a) = Attestation::parse(data) {
        let again = Attestation::parse(&a.to_bytes()).expect("our encoding parses");
        assert_eq!(again.quotes, a.quotes);
        assert_eq!(again.ak_pub, a.ak_pub);
        assert_eq!(again.event_log, a.event_log);
        assert_eq!(again.intermediate_certs, a.intermediate_certs);
    }
    let _ = Attestation::looks_like(data);
});
