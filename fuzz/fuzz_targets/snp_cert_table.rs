//! Extended-report certificate table: never panics, and parse -> write -> parse keeps the entries.
#![no_main]

use cloud_ra_verify::snp::format::{parse_cert_table, write_cert_table};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(entries) = parse_cert_table(data) {
        let written = write_cert_table(&entries);
        let again = parse_cert_table(&written).expect("a written table parses");
        assert_eq!(entries, again);
    }
});
