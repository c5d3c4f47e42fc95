//! Evidence detection (bundle JSON, raw and extended SNP reports) and the PEM/DER certificate and
//! CRL reader: neither panics on arbitrary bytes.
#![no_main]

use cloud_ra_verify::bundle::detect;
use cloud_ra_verify::x509::read_objects;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = detect(data);
    let _ = read_objects(data);
});
