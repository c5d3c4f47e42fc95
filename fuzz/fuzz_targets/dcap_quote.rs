//! The DCAP quote parser (v3/v4/v5, certification data 1..6) and the `show` field dump: never
//! panic, whatever the bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(q) = cloud_ra_verify::dcap::Quote::parse(data) {
        let _ = cloud_ra_verify::dcap::claims::quote_fields(&q);
        let _ = q.signed_bytes();
        let _ = q.pck_certification().pck_chain();
    }
});
