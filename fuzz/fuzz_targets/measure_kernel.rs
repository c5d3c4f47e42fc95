//! TDX RTMR1 kernel inputs (`measure::rtmr`): the PE/COFF Authenticode reader and QEMU's setup
//! header patch never panic, with and without an initrd, and patching keeps the length.
#![no_main]

use cloud_ra_verify::measure::rtmr;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = rtmr::authenticode_sha384(data);
    for (initrd, mib) in [(None, None), (Some(data.len() as u64), Some(2048)), (Some(1 << 20), Some(64))] {
        if let Ok(k) = rtmr::qemu_patch_kernel(data, initrd, mib) {
            assert_eq!(k.len(), data.len());
            let _ = rtmr::authenticode_sha384(&k);
        }
    }
});
