//! The collection-side HCL view on the recorded Azure HCL reports (real ones exceed swtpm's
//! 2048-byte NV limit, so the swtpm tests use small synthetic ones; these are the real layout).

use cloud_ra_attest::azure::{AzureTee, HclView};
use cloud_ra_sim::testdata;

#[test]
fn recorded_hcl_reports_parse_and_bind() {
    for (file, tee) in [
        ("azure/trustee-az-snp-vtpm/hcl-report.bin", AzureTee::Snp),
        ("azure/trustee-az-tdx-vtpm/hcl-report.bin", AzureTee::Tdx),
        ("azure/kinvolk/hcl-report-snp.bin", AzureTee::Snp),
        ("azure/kinvolk/hcl-report-tdx.bin", AzureTee::Tdx),
    ] {
        let blob = testdata::read(file);
        let v = HclView::parse(&blob).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!(v.tee, tee, "{file}");
        let claims: serde_json::Value = serde_json::from_slice(v.claims).unwrap_or_else(|e| panic!("{file}: {e}"));
        let keys = claims["keys"].as_array().unwrap_or_else(|| panic!("{file}: no keys"));
        assert!(keys.iter().any(|k| k["kid"] == "HCLAkPub"), "{file}");
        // REPORT_DATA (SNP, report offset 0x50) / REPORTDATA (TDREPORT offset 128) binds the claims.
        let bound = match tee {
            AzureTee::Snp => &v.hw_report[0x50..0x70],
            AzureTee::Tdx => &v.tdreport().expect("tdreport")[128..160],
        };
        assert_eq!(bound, cloud_ra_verify::crypto::sha256(v.claims), "{file}");
        assert_eq!(v.tdreport().is_some(), tee == AzureTee::Tdx);
    }
}

#[test]
fn lying_sizes_in_a_recorded_report_are_refused() {
    let blob = testdata::read("azure/trustee-az-snp-vtpm/hcl-report.bin");
    for (off, what) in [(1216usize, "runtime data size"), (1216 + 16, "claims size")] {
        let mut b = blob.clone();
        b[off..off + 4].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(HclView::parse(&b).is_err(), "{what} u32::MAX accepted");
    }
    let mut b = blob.clone();
    b[1216 + 8..1216 + 12].copy_from_slice(&3u32.to_le_bytes());
    let e = HclView::parse(&b).unwrap_err().to_string();
    assert!(e.contains("report type 3"), "{e}");
    let mut b = blob;
    b[0] = b'X';
    assert!(HclView::parse(&b).unwrap_err().to_string().contains("HCLA"));
    for n in [0, 4, 31, 1215, 1219, 1235] {
        let b = testdata::read("azure/kinvolk/hcl-report-tdx.bin");
        assert!(HclView::parse(&b[..n]).is_err(), "{n} bytes accepted");
    }
}
