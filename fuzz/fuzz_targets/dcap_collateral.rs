//! The DCAP collateral JSON parsers (PCS/PCCS bodies, dcap-qvl collateral file, the raw-value
//! scanner): never panic, whatever the bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = cloud_ra_verify::dcap::collateral::object_members(data);
    let _ = cloud_ra_verify::dcap::collateral::parse_json("fuzz", data);
});
