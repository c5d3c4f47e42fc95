//! The SNP collection code path against the simulated `/dev/sev-guest`, which answers like the
//! kernel interface (MSG_REPORT_RSP, certificate table, "buffer too small" with the needed size).

use cloud_ra_attest::collect::{SnpCollectOptions, collect_snp, collect_snp_bundle};
use cloud_ra_attest::sev_guest::{ReportReq, SevGuest, SevGuestError, report_from_resp};
use cloud_ra_attest::sim_sev_guest::{HostCerts, SimSevGuest};
use cloud_ra_verify::snp::format::{CertKind, Report, parse_cert_table};
use cloud_ra_verify::{Collateral, Timestamp, VerifyOptions, verify_evidence};
use std::cell::Cell;

fn opts(extended: bool, vmpl: u32) -> SnpCollectOptions {
    SnpCollectOptions { report_data: [7u8; 64], vmpl, extended, msg_version: 1 }
}

#[test]
fn plain_report_carries_the_nonce_and_vmpl() {
    let (report, table) = collect_snp(&SimSevGuest::default(), &opts(false, 1)).expect("report");
    assert!(table.is_none());
    let r = Report::parse(&report).expect("parses");
    assert_eq!(r.report_data, [7u8; 64]);
    assert_eq!(r.vmpl, 1);
}

/// Counts calls and the buffer sizes offered, to observe the retry protocol.
struct Spy {
    inner: SimSevGuest,
    sizes: std::cell::RefCell<Vec<usize>>,
    calls: Cell<usize>,
}
impl SevGuest for Spy {
    fn get_report(&self, v: u8, r: &ReportReq) -> Result<Vec<u8>, SevGuestError> {
        self.inner.get_report(v, r)
    }
    fn get_ext_report(&self, v: u8, r: &ReportReq, certs: &mut [u8]) -> Result<Vec<u8>, SevGuestError> {
        self.calls.set(self.calls.get() + 1);
        self.sizes.borrow_mut().push(certs.len());
        self.inner.get_ext_report(v, r, certs)
    }
    fn describe(&self) -> String {
        "spy".into()
    }
}

#[test]
fn extended_report_retries_with_the_size_the_firmware_asks_for() {
    // An unknown GUID entry (go-sev-guest appends "extra platform info" like this) pushes the
    // table past one page.
    let extra = (
        [0xec, 0xae, 0x0c, 0x0f, 0x95, 0x02, 0x43, 0xb1, 0xaf, 0xa6, 0x0a, 0xe2, 0xe0, 0xd5, 0x65, 0xb6],
        vec![0x42; 3000],
    );
    let sim = SimSevGuest {
        crl_issued_at: Some(1_900_000_000),
        extra_entries: vec![extra.clone()],
        ..SimSevGuest::default()
    };
    // What the host would return, and a first buffer deliberately too small for it.
    let mut big = vec![0u8; 1 << 16];
    sim.get_ext_report(1, &ReportReq { user_data: [0; 64], vmpl: 0 }, &mut big).expect("fits");
    let spy = Spy { inner: sim, sizes: Default::default(), calls: Cell::new(0) };
    let mut tiny = vec![0u8; 4096];
    let res = spy.inner.get_ext_report(1, &ReportReq { user_data: [0; 64], vmpl: 0 }, &mut tiny);
    let Err(SevGuestError::CertsTooSmall { needed }) = res else { panic!("expected CertsTooSmall") };
    assert!(needed > 4096 && needed % 4096 == 0, "needed {needed}");
    let (_, table) = collect_snp(&spy, &opts(true, 0)).expect("extended report");
    let entries = parse_cert_table(&table.expect("table")).expect("table parses");
    let kinds: Vec<CertKind> = entries.iter().map(|e| e.kind).collect();
    assert_eq!(kinds, vec![CertKind::Ark, CertKind::Ask, CertKind::Vcek, CertKind::Crl, CertKind::Other]);
    assert_eq!(entries[4].guid, extra.0);
    assert_eq!(entries[4].data, extra.1, "unknown entries are kept byte for byte");
    assert_eq!(*spy.sizes.borrow(), vec![4096, needed], "one page first, then what the firmware asked for");
}

#[test]
fn more_privileged_vmpl_than_the_guest_is_refused_like_hardware() {
    let sakura = SimSevGuest { guest_vmpl: 2, ..SimSevGuest::default() };
    let err = collect_snp(&sakura, &opts(false, 0)).unwrap_err();
    assert!(err.to_string().contains("0x16"), "{err}");
    let (report, _) = collect_snp(&sakura, &opts(false, 2)).expect("VMPL 2 works");
    assert_eq!(Report::parse(&report).expect("parses").vmpl, 2);
    assert!(collect_snp(&sakura, &opts(false, 4)).is_err());
}

#[test]
fn malformed_responses_are_refused() {
    assert!(report_from_resp(&[0u8; 10]).is_err());
    let mut resp = vec![0u8; 4000];
    resp[4..8].copy_from_slice(&1000u32.to_le_bytes());
    assert!(report_from_resp(&resp).unwrap_err().to_string().contains("REPORT_SIZE"));
    let bad_version = SimSevGuest::default().get_report(2, &ReportReq { user_data: [0; 64], vmpl: 0 });
    assert!(bad_version.is_err());
}

#[test]
fn host_without_certificates_gives_no_table() {
    let none = SimSevGuest { host_certs: HostCerts::None, ..SimSevGuest::default() };
    let (_, table) = collect_snp(&none, &opts(true, 0)).expect("report");
    assert!(table.is_none());
}

#[test]
fn bundle_from_the_simulated_device_verifies_only_with_the_simulated_root_trusted() {
    let nonce = [9u8; 64];
    let o = SnpCollectOptions { report_data: nonce, vmpl: 0, extended: true, msg_version: 1 };
    let at = Timestamp::parse_rfc3339("2030-01-01T00:00:00Z").expect("time");
    let b = collect_snp_bundle(&SimSevGuest::default(), &o, &nonce, at).expect("bundle");
    assert_eq!(b.platform_info["simulated"], true);
    assert_eq!(b.platform_info["requested_vmpl"], 0);
    let json = b.to_json();
    let mut vo = VerifyOptions::at(at);
    vo.nonce = Some(nonce.to_vec());
    let refused = verify_evidence(json.as_bytes(), &Collateral::default(), &vo, None);
    assert_eq!(refused.exit_code(), 2);
    assert_eq!(refused.failures[0].check, "snp.ark");
    vo.trust_simulated = true;
    let ok = verify_evidence(json.as_bytes(), &Collateral::default(), &vo, None);
    assert_eq!(ok.exit_code(), 0, "{:?}", ok.failures);
}
