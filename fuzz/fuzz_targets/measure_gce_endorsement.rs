//! Google launch-endorsement reader (`measure::gce`): the protobuf reader, the certificate and
//! ca_bundle parsing and the chain walk never panic. No root is trusted here, so verification
//! ends at the chain (every real failure mode before it is reached); the input is also tried as
//! the golden measurement inside a framed endorsement, so the nested readers see it directly.
#![no_main]

use cloud_ra_verify::Timestamp;
use cloud_ra_verify::measure::gce;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = gce::verify(data, &[], Timestamp(1_735_689_600), &[1]);
    // VMLaunchEndorsement { 1: data, 2: "s" }.
    let mut framed = vec![0x0a];
    let mut n = data.len();
    while n >= 0x80 {
        framed.push((n as u8) | 0x80);
        n >>= 7;
    }
    framed.push(n as u8);
    framed.extend_from_slice(data);
    framed.extend_from_slice(&[0x12, 0x01, b's']);
    if let Ok(e) = gce::parse(&framed) {
        assert_eq!(e.golden_bytes, data);
    }
    let _ = gce::certificates("fuzz", data);
});
