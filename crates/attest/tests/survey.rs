//! detect/survey on fixture trees that mimic each cloud's /sys, /dev and /proc (RECONSTRUCTED,
//! see tests/fixtures/RECONSTRUCTED.md), with simulated devices injected where a report is needed;
//! the TDREPORT parser; the survey file format.

use cloud_ra_attest::configfs_tsm::{SimProvider, SimTsm};
use cloud_ra_attest::sim_sev_guest::{HostCerts, SimSevGuest};
use cloud_ra_attest::survey::{PersistentHandle, Probe, Survey, SurveyError, TpmProbe, Trust, survey};
use cloud_ra_attest::tdx_guest::{DevTdxGuest, SimTdxGuest, TdReport, TdxGuest, TdxGuestError};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/roots").join(name)
}

/// A scratch copy of a fixture root (symlinks kept), removed on drop.
struct Scratch(PathBuf);
impl Scratch {
    fn copy_of(name: &str) -> Self {
        static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let dst = std::env::temp_dir().join(format!("cloud-ra-survey-{name}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dst);
        copy(&fixture(name), &dst);
        Scratch(dst)
    }
}
impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
fn copy(src: &Path, dst: &Path) {
    std::fs::create_dir_all(dst).expect("mkdir");
    for e in std::fs::read_dir(src).expect("readdir") {
        let e = e.expect("entry");
        let t = e.file_type().expect("type");
        let to = dst.join(e.file_name());
        if t.is_symlink() {
            std::os::unix::fs::symlink(std::fs::read_link(e.path()).expect("link"), &to).expect("symlink");
        } else if t.is_dir() {
            copy(&e.path(), &to);
        } else {
            std::fs::copy(e.path(), &to).expect("copy");
        }
    }
}

fn val<'a>(s: &'a Survey, k: &str) -> &'a Value {
    s.fact(k).unwrap_or_else(|| panic!("fact {k} missing: {:#?}", s.facts))
}
fn trust(s: &Survey, k: &str) -> Trust {
    s.facts.get(k).map(|f| f.trust).unwrap_or_else(|| panic!("fact {k} missing"))
}
fn iface<'a>(s: &'a Survey, name: &str) -> &'a cloud_ra_attest::survey::Interface {
    s.interfaces.iter().find(|i| i.name == name).unwrap_or_else(|| panic!("interface {name}"))
}

#[test]
fn each_cloud_fixture_is_recognised_from_its_files() {
    // (root, tee, cloud, vtpm present, tee_rooted, secure boot, ccel)
    type Case = (&'static str, &'static str, &'static str, bool, Option<&'static str>, Value, bool);
    let cases: [Case; 9] = [
        ("aws-snp", "sev-snp", "aws", false, None, json!(false), false),
        ("azure-snp", "sev-snp", "azure", true, Some("paravisor"), json!(true), false),
        ("gcp-snp", "sev-snp", "gcp", true, Some("no"), json!(true), false),
        ("sakura-snp", "sev-snp", "other", true, Some("no"), json!(false), false),
        ("azure-tdx", "unknown", "azure", true, Some("paravisor"), json!(true), false),
        ("gcp-tdx", "tdx", "gcp", true, Some("no"), json!(true), true),
        ("azure-sgx", "sgx", "azure", true, Some("no"), json!(true), false),
        ("aws-nitro-enclave", "nitro-enclave", "unknown", false, None, json!(false), false),
        ("bare", "none", "unknown", false, None, json!(false), false),
    ];
    for (root, tee, cloud, vtpm, rooted, sb, ccel) in cases {
        let s = survey(&Probe::new(fixture(root)));
        assert_eq!(val(&s, "tee"), tee, "{root}: {:#?}", s.facts.get("tee"));
        assert_eq!(trust(&s, "tee"), Trust::GuestOs, "{root}: no report, so only guest-OS facts");
        assert_eq!(val(&s, "cloud"), cloud, "{root}");
        assert_eq!(val(&s, "vtpm.present"), vtpm, "{root}");
        assert_eq!(s.fact("vtpm.tee_rooted").and_then(Value::as_str), rooted, "{root}");
        assert_eq!(val(&s, "secure_boot"), &sb, "{root}");
        assert_eq!(val(&s, "eventlog.ccel"), ccel, "{root}");
        assert_eq!(s.machine, format!("{cloud}-{tee}"));
        assert!(val(&s, "cpuid").is_null(), "{root}: CPUID is not read for a fixture root");
        assert!(s.facts["cpuid"].source.contains("not read"));
    }
}

#[test]
fn device_nodes_that_are_not_devices_are_present_but_not_usable() {
    let s = survey(&Probe::new(fixture("aws-snp")));
    let sev = iface(&s, "sev-guest");
    assert!(sev.present);
    assert_eq!(sev.usable, Some(false));
    assert!(sev.detail.contains("regular file (not a device node)"), "{}", sev.detail);
    let tsm = iface(&s, "configfs-tsm");
    assert!(!tsm.present);
    assert!(tsm.detail.contains("configfs is not mounted"), "{}", tsm.detail);
    assert!(s.fact("vmpl").is_none(), "no report, no VMPL");
    let tdx = survey(&Probe::new(fixture("gcp-tdx")));
    assert_eq!(iface(&tdx, "tdx-guest").usable, Some(false));
    assert!(iface(&tdx, "tdx-guest").detail.contains("TDX_CMD_GET_REPORT0 failed"));
    let absent = iface(&s, "tdx-guest");
    assert!(!absent.present && absent.detail.contains("modprobe tdx-guest") && absent.detail.contains("mknod"));
    assert_eq!(val(&s, "kernel"), "6.8.0-1021-aws");
    assert_eq!(val(&s, "cpu.flags"), &json!(["hypervisor", "sev", "sev_es", "sev_snp"]));
}

#[test]
fn vmpl_signing_key_and_tcb_come_from_a_report_and_are_cpu_signed() {
    // AWS: VLEK, VMPL 0; Sakura: guest at VMPL 2, no host certificates.
    for (root, guest, vmpl, key, table) in [
        (
            "aws-snp",
            SimSevGuest { host_certs: HostCerts::VlekOnly, ..SimSevGuest::default() },
            0,
            "vlek",
            Some(json!(["vlek"])),
        ),
        ("gcp-snp", SimSevGuest::default(), 0, "vcek", Some(json!(["ark", "ask", "vcek"]))),
        (
            "sakura-snp",
            SimSevGuest { host_certs: HostCerts::None, guest_vmpl: 2, ..SimSevGuest::default() },
            2,
            "vcek",
            None,
        ),
    ] {
        let mut p = Probe::new(fixture(root));
        p.sev_guest = Some(Box::new(guest));
        let s = survey(&p);
        assert_eq!(val(&s, "vmpl"), vmpl, "{root}");
        assert_eq!(trust(&s, "vmpl"), Trust::CpuSigned);
        assert_eq!(val(&s, "report.signing_key"), key, "{root}");
        assert_eq!(val(&s, "report.version"), 3);
        assert_eq!(val(&s, "report.product"), "Milan");
        assert!(val(&s, "report.tcb").get("snp").is_some());
        assert_eq!(s.fact("snp.cert_table"), table.as_ref(), "{root}");
        assert_eq!(val(&s, "tee"), "sev-snp");
        assert_eq!(trust(&s, "tee"), Trust::CpuSigned);
        let sev = iface(&s, "sev-guest");
        assert_eq!(sev.usable, Some(true));
        assert!(sev.detail.contains(&format!("lowest VMPL the firmware accepts: {vmpl}")), "{}", sev.detail);
    }
}

#[test]
fn configfs_tsm_is_surveyed_through_the_file_protocol() {
    let snp = Scratch::copy_of("aws-snp");
    let sim = SimTsm::at(&snp.0, SimProvider::SevGuest(SimSevGuest { guest_vmpl: 1, ..SimSevGuest::default() }))
        .expect("tree");
    let mut p = Probe::new(&snp.0);
    p.tsm = Some(sim.into_tsm());
    let s = survey(&p);
    let t = iface(&s, "configfs-tsm");
    assert!(t.present && t.usable == Some(true), "{t:?}");
    assert_eq!(t.detail, "provider sev_guest");
    assert_eq!(val(&s, "vmpl.floor"), 1);
    assert_eq!(val(&s, "vmpl"), 1, "the report was asked at the privlevel floor");
    assert_eq!(val(&s, "snp.cert_table"), &json!(["ark", "ask", "vcek"]));
    // Nothing left behind in the tree.
    let entries: Vec<_> = std::fs::read_dir(snp.0.join("sys/kernel/config/tsm/report")).expect("dir").collect();
    assert!(entries.is_empty());

    let tdx = Scratch::copy_of("gcp-tdx");
    let mut p = Probe::new(&tdx.0);
    p.tsm = Some(SimTsm::at(&tdx.0, SimProvider::TdxGuest).expect("tree").into_tsm());
    p.tdx_guest = Some(Box::new(SimTdxGuest::default()));
    let s = survey(&p);
    assert_eq!(val(&s, "quote.version"), 4);
    assert_eq!(val(&s, "tee"), "tdx");
    assert_eq!(trust(&s, "tee"), Trust::CpuSigned);
    assert_eq!(iface(&s, "tdx-guest").usable, Some(true));
    assert_eq!(val(&s, "td.debug"), false);
    assert_eq!(trust(&s, "td.mrtd"), Trust::GuestOs, "a TDREPORT is not verifiable remotely");
}

#[test]
fn a_provider_answering_garbage_makes_the_interface_unusable_not_a_fact() {
    let snp = Scratch::copy_of("aws-snp");
    let mut p = Probe::new(&snp.0);
    p.tsm = Some(
        SimTsm::at(&snp.0, SimProvider::Garbage { name: "sev_guest".into(), outblob: vec![0xee; 1184] })
            .expect("tree")
            .into_tsm(),
    );
    let s = survey(&p);
    assert!(s.fact("vmpl").is_none() && s.fact("report.version").is_none(), "no facts from garbage");
    assert_eq!(val(&s, "tee"), "sev-snp");
    assert_eq!(trust(&s, "tee"), Trust::GuestOs);
    let mut p = Probe::new(fixture("gcp-tdx"));
    p.tdx_guest = Some(Box::new(SimTdxGuest { garbage: Some(vec![0x81; 1024]) }));
    let s = survey(&p);
    let t = iface(&s, "tdx-guest");
    assert_eq!(t.usable, Some(false));
    assert!(t.detail.contains("TEE_TCB_INFO_HASH"), "{}", t.detail);
}

struct FakeTpm {
    handles: Result<Vec<PersistentHandle>, String>,
    nv: Result<Vec<u32>, String>,
}
impl TpmProbe for FakeTpm {
    fn persistent_handles(&self) -> Result<Vec<PersistentHandle>, String> {
        self.handles.clone()
    }
    fn nv_indexes(&self) -> Result<Vec<u32>, String> {
        self.nv.clone()
    }
}

#[test]
fn the_tpm_probe_adds_handles_and_nv_indexes() {
    let tpm = FakeTpm {
        handles: Ok(vec![
            PersistentHandle { handle: 0x8100_0001, kind: "EK-RSA".into() },
            PersistentHandle { handle: 0x8100_0003, kind: "unknown-RSA".into() },
        ]),
        nv: Ok(vec![0x0140_0001, 0x0140_0002, 0x01C1_01D0]),
    };
    // On GCP the hypervisor vTPM is not TEE-rooted; an HCL report NV index makes it the paravisor's.
    let mut p = Probe::new(fixture("gcp-snp"));
    p.tpm = Some(&tpm);
    let s = survey(&p);
    assert_eq!(
        val(&s, "tpm.persistent_handles"),
        &json!([{"handle": "0x81000001", "kind": "EK-RSA"}, {"handle": "0x81000003", "kind": "unknown-RSA"}])
    );
    assert_eq!(
        val(&s, "tpm.nv_indexes"),
        &json!([
            {"index": "0x01400001", "what": "Azure HCL report (SNP/TDX report + runtime claims)"},
            {"index": "0x01400002", "what": "Azure HCL user data (64 bytes written to refresh the report)"},
            {"index": "0x01c101d0", "what": "AK certificate (Azure)"}
        ])
    );
    assert_eq!(val(&s, "vtpm.tee_rooted"), "paravisor");
    assert_eq!(trust(&s, "vtpm.tee_rooted"), Trust::Tpm);
    let broken = FakeTpm { handles: Err("TPM_RC_LOCKOUT".into()), nv: Err("TPM_RC_LOCKOUT".into()) };
    let mut p = Probe::new(fixture("gcp-snp"));
    p.tpm = Some(&broken);
    let s = survey(&p);
    assert!(val(&s, "tpm.persistent_handles").is_null());
    assert!(s.facts["tpm.persistent_handles"].source.contains("TPM_RC_LOCKOUT"));
}

#[test]
fn unreadable_and_malformed_files_become_null_facts_with_the_reason() {
    let r = Scratch::copy_of("gcp-snp");
    // A directory where a file should be (reads fail even as root), a short EFI variable.
    std::fs::remove_file(r.0.join("sys/class/dmi/id/sys_vendor")).expect("rm");
    std::fs::create_dir(r.0.join("sys/class/dmi/id/sys_vendor")).expect("mkdir");
    let sb = r.0.join(format!("sys/firmware/efi/efivars/SecureBoot-{}", cloud_ra_attest::survey::EFI_GLOBAL_GUID));
    std::fs::write(&sb, [1u8, 2]).expect("write");
    let s = survey(&Probe::new(&r.0));
    assert!(val(&s, "dmi.sys_vendor").is_null());
    assert!(s.facts["dmi.sys_vendor"].source.contains("sys_vendor:"), "{}", s.facts["dmi.sys_vendor"].source);
    assert_eq!(val(&s, "cloud"), "gcp", "product_name still says Google Compute Engine");
    assert!(val(&s, "secure_boot").is_null());
    assert!(s.facts["secure_boot"].source.contains("2 bytes, expected 4 attribute bytes + 1"));
}

#[test]
fn survey_files_round_trip_and_newer_formats_are_refused_precisely() {
    let mut p = Probe::new(fixture("azure-snp"));
    p.request_report = false;
    let s = survey(&p);
    let text = serde_json::to_vec(&s).expect("json");
    assert_eq!(Survey::parse("s.json", &text).expect("parses"), s);
    let mut v: Value = serde_json::from_slice(&text).expect("json");
    v["format"] = json!("cloud-ra/survey/v2");
    let e = Survey::parse("new.json", &serde_json::to_vec(&v).expect("json")).expect_err("newer");
    assert_eq!(e, SurveyError::Newer { file: "new.json".into(), format: "cloud-ra/survey/v2".into(), version: 2 });
    assert!(e.to_string().contains("newer than this cloud-ra reads (cloud-ra/survey/v1); upgrade cloud-ra"), "{e}");
    v["format"] = json!("cloud-ra/evidence/v1");
    assert!(matches!(
        Survey::parse("b.json", &serde_json::to_vec(&v).expect("j")),
        Err(SurveyError::Unsupported { .. })
    ));
    v["format"] = json!("cloud-ra/survey/v1");
    v["surprise"] = json!(1);
    let e = Survey::parse("u.json", &serde_json::to_vec(&v).expect("j")).expect_err("unknown field");
    assert!(e.to_string().contains("surprise"), "{e}");
    for bad in [&b"not json"[..], b"{}", b"[1,2]", b"{\"format\": 7}"] {
        assert!(matches!(Survey::parse("x", bad), Err(SurveyError::NotASurvey { .. })));
    }
    // The committed survey fixtures parse.
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/surveys");
    let mut n = 0;
    for e in std::fs::read_dir(dir).expect("surveys") {
        let p = e.expect("entry").path();
        let s = Survey::parse(&p.display().to_string(), &std::fs::read(&p).expect("read")).expect("fixture parses");
        assert!(s.provenance.as_deref().is_some_and(|p| p.starts_with("RECONSTRUCTED")));
        n += 1;
    }
    assert_eq!(n, 19);
}

#[test]
fn tdreport_from_the_simulated_device_parses_and_is_checked() {
    let dev = SimTdxGuest::default();
    let raw = dev.get_report0(&[0x42; 64]).expect("report");
    let r = TdReport::parse(&raw).expect("parses");
    assert_eq!(r.report_type, 0x81);
    assert_eq!(r.report_data, [0x42; 64]);
    let td = cloud_ra_sim::intel::QuoteSpec::new(cloud_ra_sim::intel::QuoteKind::TdxV4).td;
    assert_eq!(r.mr_td, td.mr_td);
    assert_eq!(r.rt_mr, td.rt_mr);
    assert_eq!(r.td_attributes, td.td_attributes);
    for (offset, want) in [(600usize, "TEE_INFO_HASH"), (300, "TEE_TCB_INFO_HASH"), (0, "REPORTTYPE")] {
        let mut bad = raw.clone();
        bad[offset] ^= 1;
        let e = TdReport::parse(&bad).expect_err("tampered");
        assert!(e.to_string().contains(want), "{offset}: {e}");
    }
    assert!(TdReport::parse(&raw[..1000]).expect_err("short").to_string().contains("1000 bytes"));
}

#[test]
fn tdx_guest_device_errors_name_what_is_missing() {
    let e = DevTdxGuest::open("/nonexistent/dev/tdx_guest").err().expect("absent");
    assert!(matches!(e, TdxGuestError::Absent { .. }));
    let msg = e.to_string();
    assert!(
        msg.contains("modprobe tdx-guest") && msg.contains("mknod /nonexistent/dev/tdx_guest c MAJOR MINOR"),
        "{msg}"
    );
    let f = fixture("gcp-tdx").join("dev/tdx_guest");
    let dev = DevTdxGuest::open(&f.to_string_lossy()).expect("a regular file opens");
    let e = dev.get_report0(&[0; 64]).expect_err("not a device");
    assert!(e.to_string().contains("TDX_CMD_GET_REPORT0 failed"), "{e}");
}

#[test]
fn event_logs_present_under_the_root_ride_along_in_the_bundle() {
    use cloud_ra_attest::collect::{SnpCollectOptions, add_eventlogs, collect_snp_bundle};
    use cloud_ra_verify::{Collateral, Status, Timestamp, VerifyOptions, verify_evidence};
    let o = SnpCollectOptions { report_data: [1; 64], vmpl: 0, extended: true, msg_version: 1 };
    let now = Timestamp::now();
    let bundle = || collect_snp_bundle(&SimSevGuest::default(), &o, &[1], now).expect("bundle");
    let verify = |b: &cloud_ra_verify::bundle::Bundle| {
        let mut vo = VerifyOptions::at(now);
        vo.trust_simulated = true;
        verify_evidence(b.to_json().as_bytes(), &Collateral::default(), &vo, None)
    };
    // A machine root whose logs are real recorded logs (linked from the shared vectors, read in place).
    let r = Scratch::copy_of("bare");
    for (abs, rel) in [
        ("sys/kernel/security/tpm0/binary_bios_measurements", "tpm/eventlogs/cos-101-amd-sev.bin"),
        ("sys/firmware/acpi/tables/data/CCEL", "ccel/gcp-cos113/ccel_data.dat"),
        ("sys/firmware/acpi/tables/CCEL", "ccel/gcp-cos113/ccel_table.dat"),
    ] {
        let p = r.0.join(abs);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::os::unix::fs::symlink(cloud_ra_sim::testdata::path(rel), &p).expect("symlink");
    }
    let mut b = bundle();
    assert!(add_eventlogs(&mut b, &r.0).is_empty());
    for (key, rel) in [
        ("eventlog_tpm", "tpm/eventlogs/cos-101-amd-sev.bin"),
        ("eventlog_ccel", "ccel/gcp-cos113/ccel_data.dat"),
        ("eventlog_ccel_table", "ccel/gcp-cos113/ccel_table.dat"),
    ] {
        assert_eq!(b.evidence[key].0, std::fs::read(cloud_ra_sim::testdata::path(rel)).expect("vector"), "{key}");
    }
    // verify replays what the bundle carries; an SNP report has no registers to bind them to, so
    // nothing from them is trusted (a warning), and the evidence still verifies.
    let out = verify(&b);
    assert!(out.verified && out.status != Status::Contraindicated, "{:?}", out.failures);
    assert!(out.claims.get("eventlog").is_some(), "{}", out.claims);
    assert!(out.warnings.iter().any(|w| w.check == "eventlog.binding"), "{:?}", out.warnings);

    // Absent: nothing added, nothing to say.
    let mut b2 = bundle();
    assert!(add_eventlogs(&mut b2, &fixture("bare")).is_empty());
    assert!(!b2.evidence.contains_key("eventlog_tpm"));
    // The reconstructed fixtures' placeholder logs are not event logs: verify refuses the bundle
    // naming the key (fail closed), exit 2.
    let mut b3 = bundle();
    assert!(add_eventlogs(&mut b3, &fixture("gcp-tdx")).is_empty());
    let out = verify(&b3);
    assert_eq!(out.exit_code(), 2);
    assert!(out.failures[0].detail.contains("bundle evidence 'eventlog_"), "{:?}", out.failures);
    // Unreadable: a note naming the file.
    let r = Scratch::copy_of("azure-snp");
    let log = r.0.join("sys/kernel/security/tpm0/binary_bios_measurements");
    std::fs::remove_file(&log).expect("rm");
    std::fs::create_dir(&log).expect("dir in its place");
    let notes = add_eventlogs(&mut b2, &r.0);
    assert_eq!(notes.len(), 1);
    assert!(notes[0].contains("binary_bios_measurements") && notes[0].contains("not included"), "{notes:?}");
}
