//! configfs-tsm: the real file protocol against the simulated provider tree, end to end into a
//! bundle that verifies with the simulated roots trusted; the generation race; bad providers.

use cloud_ra_attest::collect::{CollectError, collect_tsm_bundle};
use cloud_ra_attest::configfs_tsm::{ConfigfsTsm, Race, SimProvider, SimTsm, TsmError, TsmRequest};
use cloud_ra_attest::sim_sev_guest::{HostCerts, SimSevGuest};
use cloud_ra_verify::{Collateral, Status, Timestamp, VerifyOptions, verify_evidence};
use std::path::PathBuf;

fn now() -> Timestamp {
    Timestamp::parse_rfc3339("2026-01-15T12:00:00Z").expect("time")
}

fn nonce() -> Vec<u8> {
    (0u8..64).map(|i| i.wrapping_mul(7)).collect()
}

fn verify(bundle: &cloud_ra_verify::bundle::Bundle, nonce: &[u8]) -> cloud_ra_verify::Outcome {
    let mut o = VerifyOptions::at(now());
    o.trust_simulated = true;
    o.nonce = Some(nonce.to_vec());
    let mut c = Collateral::default();
    c.merge(&cloud_ra_collateral_free_sim_amd());
    verify_evidence(bundle.to_json().as_bytes(), &c, &o, None)
}

/// The simulated ASVK/ARK the verifier needs for VLEK bundles (the CLI adds them with
/// --trust-simulated); built from cloud-ra-sim directly.
fn cloud_ra_collateral_free_sim_amd() -> Collateral {
    let sim = cloud_ra_sim::SimAmd::get();
    let mut c = Collateral::default();
    for der in [sim.ark_der(), sim.ask_der(), sim.asvk_der()] {
        c.add_file("sim", der).expect("sim certificate parses");
    }
    c
}

/// Entries left behind under the report directory.
fn leftovers(root: &std::path::Path) -> Vec<PathBuf> {
    std::fs::read_dir(root).map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect()).unwrap_or_default()
}

#[test]
fn sev_guest_provider_end_to_end_at_each_vmpl() {
    for (host, vmpl) in [(HostCerts::VcekChain, 0), (HostCerts::VlekOnly, 1), (HostCerts::VcekChain, 3)] {
        let sim = SimTsm::new(SimProvider::SevGuest(SimSevGuest { host_certs: host, ..SimSevGuest::default() }))
            .expect("sim tree");
        let root = sim.report_root();
        let tsm = sim.into_tsm();
        let n = nonce();
        let b = collect_tsm_bundle(&tsm, &n, Some(vmpl), Some("sev_guest"), now()).expect("collects");
        assert_eq!(b.platform, "snp");
        assert_eq!(b.platform_info["provider"], "sev_guest");
        assert_eq!(b.platform_info["simulated"], true);
        assert_eq!(b.platform_info["requested_vmpl"], vmpl);
        // privlevel + inblob: two writes.
        assert_eq!(b.platform_info["generation"], 2);
        assert!(b.evidence.contains_key("cert_table"), "auxblob carried the host's certificates");
        let out = verify(&b, &n);
        assert!(out.verified, "{host:?}: {:?}", out.failures);
        assert_eq!(out.status, Status::Affirming);
        assert_eq!(out.claims["vmpl"], vmpl);
        assert_eq!(out.claims["signing_key"], if host == HostCerts::VlekOnly { "vlek" } else { "vcek" });
        assert!(leftovers(&root).is_empty(), "entry removed afterwards: {:?}", leftovers(&root));
    }
}

#[test]
fn tdx_guest_provider_end_to_end() {
    let sim = SimTsm::new(SimProvider::TdxGuest).expect("sim tree");
    let root = sim.report_root();
    let tsm = sim.into_tsm();
    let n = nonce();
    let b = collect_tsm_bundle(&tsm, &n, None, Some("tdx_guest"), now()).expect("collects");
    assert_eq!(b.platform, "tdx");
    assert_eq!(b.platform_info["generation"], 1, "only inblob written");
    let out = verify(&b, &n);
    assert!(out.verified, "{:?}", out.failures);
    assert_eq!(out.claims["simulated"], true);
    assert!(leftovers(&root).is_empty());
    // A wrong nonce is an appraisal failure, not a pass.
    let out = verify(&b, &[9u8; 64]);
    assert_eq!(out.status, Status::Contraindicated);
}

#[test]
fn generation_race_is_detected_before_and_during_the_read() {
    for race in [Race::AfterInblob, Race::DuringOutblob] {
        let mut sim = SimTsm::new(SimProvider::SevGuest(SimSevGuest::default())).expect("sim tree");
        sim.race = race;
        let root = sim.report_root();
        let tsm = sim.into_tsm();
        let req = TsmRequest { inblob: nonce(), privlevel: Some(0), expect_provider: None };
        match tsm.get(&req) {
            Err(TsmError::GenerationRace { expected: 2, found: 3 }) => {}
            other => panic!("{race:?}: expected a generation race 2 -> 3, got {other:?}"),
        }
        assert!(leftovers(&root).is_empty(), "{race:?}: entry removed even on error");
        let msg = tsm.get(&req).expect_err("still racing").to_string();
        assert!(msg.contains("another process wrote to the entry"), "{msg}");
    }
}

#[test]
fn privlevel_rules_follow_the_kernel() {
    // A guest at VMPL 2 (Sakura) cannot ask for VMPL 0 or 1.
    let sim =
        SimTsm::new(SimProvider::SevGuest(SimSevGuest { guest_vmpl: 2, ..SimSevGuest::default() })).expect("tree");
    let tsm = sim.into_tsm();
    let e = tsm.get(&TsmRequest { inblob: vec![1], privlevel: Some(1), expect_provider: None }).expect_err("refused");
    assert_eq!(e, TsmError::PrivlevelRefused { level: 1, floor: "2".into() });
    assert!(e.to_string().contains("runs at VMPL 2"), "{e}");
    let r = tsm.get(&TsmRequest { inblob: vec![1], privlevel: Some(2), expect_provider: None }).expect("VMPL 2");
    assert_eq!(r.privlevel_floor, Some(2));
    let report = cloud_ra_verify::snp::Report::parse(&r.outblob).expect("report");
    assert_eq!(report.vmpl, 2);
    assert_eq!(report.report_data[0], 1);
    // TDX has no privlevel.
    let tdx = SimTsm::new(SimProvider::TdxGuest).expect("tree").into_tsm();
    let e =
        tdx.get(&TsmRequest { inblob: vec![1], privlevel: Some(0), expect_provider: None }).expect_err("no privlevel");
    assert_eq!(e, TsmError::PrivlevelUnsupported { provider: "tdx_guest".into() });
}

#[test]
fn provider_mismatch_and_oversized_inblob() {
    let tsm = SimTsm::new(SimProvider::TdxGuest).expect("tree").into_tsm();
    let e = collect_tsm_bundle(&tsm, &[1; 8], None, Some("sev_guest"), now()).expect_err("mismatch");
    assert_eq!(
        e,
        CollectError::Tsm(TsmError::ProviderMismatch { expected: "sev_guest".into(), found: "tdx_guest".into() })
    );
    let e = tsm.get(&TsmRequest { inblob: vec![0; 65], privlevel: None, expect_provider: None }).expect_err("65 B");
    assert_eq!(e, TsmError::InblobTooLarge(65));
}

#[test]
fn garbage_from_the_provider_is_refused_naming_the_blob() {
    for (name, blob, want) in [
        ("sev_guest", vec![0xAB; 1184], "outblob is not an SNP report"),
        ("sev_guest", vec![1, 2, 3], "outblob is not an SNP report"),
        ("tdx_guest", vec![0x55; 700], "outblob is not a TDX quote"),
        ("arm_cca_guest", vec![1; 64], "not supported"),
    ] {
        let tsm = SimTsm::new(SimProvider::Garbage { name: name.into(), outblob: blob }).expect("tree").into_tsm();
        let e = collect_tsm_bundle(&tsm, &[1; 8], None, None, now()).expect_err("garbage refused");
        let msg = e.to_string();
        assert!(matches!(e, CollectError::Garbage { .. }), "{msg}");
        assert!(msg.contains(want) && msg.contains(name), "{msg}");
    }
    // An empty outblob.
    let tsm =
        SimTsm::new(SimProvider::Garbage { name: "sev_guest".into(), outblob: Vec::new() }).expect("t").into_tsm();
    let e = tsm.get(&TsmRequest { inblob: vec![1], privlevel: None, expect_provider: None }).expect_err("empty");
    assert!(e.to_string().contains("empty report"), "{e}");
}

#[test]
fn missing_configfs_says_what_is_missing() {
    let dir = std::env::temp_dir().join(format!("cloud-ra-tsm-missing-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("sys/kernel/config")).expect("dir");
    let tsm = ConfigfsTsm::real(dir.join("sys/kernel/config/tsm/report"));
    let e = tsm.get(&TsmRequest { inblob: vec![1], privlevel: None, expect_provider: None }).expect_err("absent");
    assert!(matches!(e, TsmError::NotMounted { .. }), "{e}");
    assert!(e.to_string().contains("mount -t configfs"), "{e}");
    // configfs mounted (something in it) but no tsm provider.
    std::fs::create_dir_all(dir.join("sys/kernel/config/usb_gadget")).expect("dir");
    let e = tsm.get(&TsmRequest { inblob: vec![1], privlevel: None, expect_provider: None }).expect_err("absent");
    assert!(matches!(e, TsmError::NoProvider { .. }), "{e}");
    assert!(e.to_string().contains("modprobe sev-guest"), "{e}");
    // A report directory whose entries come without attributes (not configfs): precise error.
    std::fs::create_dir_all(dir.join("sys/kernel/config/tsm/report")).expect("dir");
    let e = tsm.get(&TsmRequest { inblob: vec![1], privlevel: None, expect_provider: None }).expect_err("no provider");
    assert!(e.to_string().contains("provider"), "{e}");
    assert!(leftovers(&dir.join("sys/kernel/config/tsm/report")).is_empty(), "entry removed");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_garbage_generation_attribute_is_refused() {
    struct BadGen(SimTsm);
    impl cloud_ra_attest::configfs_tsm::TsmFs for BadGen {
        fn create_dir(&self, p: &std::path::Path) -> std::io::Result<()> {
            self.0.create_dir(p)?;
            std::fs::write(p.join("generation"), "lots\n")
        }
        fn remove_dir(&self, p: &std::path::Path) -> std::io::Result<()> {
            self.0.remove_dir(p)
        }
        fn read(&self, p: &std::path::Path) -> std::io::Result<Vec<u8>> {
            self.0.read(p)
        }
        fn write(&self, p: &std::path::Path, d: &[u8]) -> std::io::Result<()> {
            self.0.write(p, d)
        }
        fn describe(&self) -> String {
            "bad generation".into()
        }
    }
    let sim = SimTsm::new(SimProvider::TdxGuest).expect("tree");
    let root = sim.report_root();
    let tsm = ConfigfsTsm { root, fs: Box::new(BadGen(sim)) };
    let e = tsm.get(&TsmRequest { inblob: vec![1], privlevel: None, expect_provider: None }).expect_err("bad gen");
    assert!(e.to_string().contains("'lots' is not a decimal number"), "{e}");
}

#[test]
fn permission_denied_names_the_path() {
    struct NoAccess(SimTsm);
    impl cloud_ra_attest::configfs_tsm::TsmFs for NoAccess {
        fn create_dir(&self, _p: &std::path::Path) -> std::io::Result<()> {
            Err(std::io::Error::from(std::io::ErrorKind::PermissionDenied))
        }
        fn remove_dir(&self, p: &std::path::Path) -> std::io::Result<()> {
            self.0.remove_dir(p)
        }
        fn read(&self, p: &std::path::Path) -> std::io::Result<Vec<u8>> {
            self.0.read(p)
        }
        fn write(&self, p: &std::path::Path, d: &[u8]) -> std::io::Result<()> {
            self.0.write(p, d)
        }
        fn describe(&self) -> String {
            "not root".into()
        }
    }
    let sim = SimTsm::new(SimProvider::TdxGuest).expect("tree");
    let root = sim.report_root();
    let tsm = ConfigfsTsm { root: root.clone(), fs: Box::new(NoAccess(sim)) };
    let e = tsm.get(&TsmRequest { inblob: vec![1], privlevel: None, expect_provider: None }).expect_err("denied");
    assert!(matches!(&e, TsmError::PermissionDenied { path } if path.starts_with(&root.display().to_string())), "{e}");
    assert!(e.to_string().contains("permission denied (configfs-tsm needs root"), "{e}");
}
