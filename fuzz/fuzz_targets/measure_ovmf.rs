//! OVMF footer GUID table, SEV metadata and TDX metadata parsers, and the SNP / MRTD
//! computations over them: never panic, whatever the image.
#![no_main]

use cloud_ra_verify::measure::ovmf::Ovmf;
use cloud_ra_verify::measure::snp::{self, SevMode, SnpInputs, VmmType};
use cloud_ra_verify::measure::tdx;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(o) = Ovmf::parse(data) {
        let _ = o.tdx_sections();
    }
    let _ = tdx::measure(&tdx::TdxInputs { firmware: data, ..Default::default() });
    for mode in [SevMode::Snp, SevMode::SevEs] {
        let mut i = SnpInputs::new(mode, data);
        i.vmm = VmmType::Ec2;
        i.vcpus = 2;
        i.kernel = Some(b"k");
        let _ = snp::launch_digest(&i);
        i.kernel = None;
        let _ = snp::launch_digest(&i);
    }
    // The same bytes as an SVSM image below a minimal OVMF are not needed: parse_svsm is the
    // same parser under another check name.
    let _ = Ovmf::parse_svsm(data);
});
