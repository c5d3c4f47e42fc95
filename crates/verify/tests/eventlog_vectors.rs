//! Event logs of shared/testdata/{ccel,tpm}: CCEL replay against a verified TD quote (gcp-cos113),
//! the other CCELs against expected_rtmrs.json and trustee's decodings, every crypto-agile TPM
//! log against expected_pcrs.json, the legacy SHA-1 log, strict-parsing findings, secure boot.

use base64::Engine;
use cloud_ra_sim::testdata;
use cloud_ra_verify::claims::Registers;
use cloud_ra_verify::eventlog::bind::{self, CheckStatus};
use cloud_ra_verify::eventlog::claims::{SecureBoot, analyse};
use cloud_ra_verify::eventlog::{self, AlgId, Flavour, LogFormat, parse, parse_ccel, replay};
use cloud_ra_verify::{Collateral, Status, Timestamp, VerifyOptions, verify_evidence};
use serde_json::Value;
use std::collections::BTreeMap;

fn json(rel: &str) -> Value {
    serde_json::from_slice(&testdata::read(rel)).expect("json")
}

const CCELS: &[&str] = &[
    "ccel/gcp-cos113/ccel_data.dat",
    "ccel/go-eventlog/CCEL_unpadded.data.bin",
    "ccel/go-eventlog/cos-113-intel-tdx-dupe-separator.bin",
    "ccel/go-eventlog/event_log.bin",
    "ccel/trustee/CCEL_data",
    "ccel/trustee/CCEL_data_grub",
    "ccel/trustee/CCEL_data_grub_gke",
    "ccel/trustee/CCEL_data_ovmf",
];

#[test]
fn ccels_replay_to_expected_rtmrs() {
    let exp = json("ccel/expected_rtmrs.json");
    for f in CCELS {
        let log = parse(&testdata::read(f), Flavour::Auto).unwrap_or_else(|e| panic!("{f}: {e}"));
        assert_eq!(log.format, LogFormat::Ccel, "{f}");
        let e = &exp["logs"][*f];
        assert_eq!(log.log_bytes as u64, e["log_bytes"].as_u64().expect("log_bytes"), "{f}");
        assert_eq!(log.body().count() as u64, e["events"].as_u64().expect("events"), "{f}: event count");
        let r = replay(&log).unwrap_or_else(|e| panic!("{f}: {e}"));
        assert_eq!(r.to_json()["mr"], e["mr"], "{f}");
    }
}

#[test]
fn ccel_duplicate_separator_refused() {
    let f = "ccel/go-eventlog/cos-113-intel-tdx-dupe-separator.bin";
    let log = parse_ccel(&testdata::read("ccel/go-eventlog/CCEL.bin"), &testdata::read(f)).expect("parses");
    // It replays (expected_rtmrs.json has its values) but its boot state is refused.
    replay(&log).expect("replays");
    let a = analyse(&log, &|_| true);
    let e = a.refused.expect("duplicate separator refused");
    assert_eq!(a.secure_boot, SecureBoot::Unknown);
    assert_eq!(e.check, "eventlog.separator");
    assert!(e.detail.contains("event 16"), "{e}");
    assert!(e.detail.contains("duplicate separator at event"), "{e}");
}

#[test]
fn ccel_table_parses() {
    let t = eventlog::parse_ccel_table(&testdata::read("ccel/gcp-cos113/ccel_table.dat")).expect("table");
    assert!(t.checksum_ok);
    assert_eq!(t.cc_type, 2, "TDX");
    assert_eq!(t.log_area_minimum_length, 0x40000);
    let log =
        parse_ccel(&testdata::read("ccel/gcp-cos113/ccel_table.dat"), &testdata::read("ccel/gcp-cos113/ccel_data.dat"))
            .expect("ccel");
    assert!(log.ccel_table.is_some());
}

#[test]
fn trustee_decodings_match_event_by_event() {
    for f in [
        "ccel/trustee/CCEL_data",
        "ccel/trustee/CCEL_data_grub",
        "ccel/trustee/CCEL_data_grub_gke",
        "ccel/trustee/CCEL_data_ovmf",
    ] {
        let log = parse(&testdata::read(f), Flavour::Ccel).unwrap_or_else(|e| panic!("{f}: {e}"));
        let out = json(&format!("{f}_out.json"));
        let want = out["uefi_event_logs"].as_array().expect("uefi_event_logs");
        let have: Vec<_> = log.body().collect();
        assert_eq!(have.len(), want.len(), "{f}: event count");
        for (h, w) in have.iter().zip(want) {
            assert_eq!(h.type_name(), w["type_name"].as_str().expect("type"), "{f} event {}", h.number);
            assert_eq!(u64::from(h.register), w["index"].as_u64().expect("index"), "{f} event {}", h.number);
            let wd = w["digests"][0]["digest"].as_str().expect("digest");
            assert_eq!(hex::encode(h.digest(AlgId::SHA384).expect("sha384")), wd, "{f} event {}", h.number);
            // trustee's decoded details, field by field where both decoders describe the payload.
            let (hd, wd) = (eventlog::decode::details(h), &w["details"]);
            if let Some(name) = wd["unicode_name"].as_str() {
                assert_eq!(hd["name"], name, "{f} event {}", h.number);
                let data = base64::engine::general_purpose::STANDARD
                    .decode(wd["variable_data"].as_str().unwrap_or(""))
                    .expect("base64");
                assert_eq!(hd["data"], hex::encode(&data), "{f} event {} ({name})", h.number);
                assert_eq!(hd["data_length"], wd["variable_data_length"], "{f} event {}", h.number);
            } else if let Some(paths) = wd["device_paths"].as_array() {
                let mine = hd["device_path"].as_array().expect("device path");
                assert_eq!(mine.len(), paths.len(), "{f} event {}: device path nodes", h.number);
                // The last node (the file, or a vendor media node): same text up to GUID case.
                let norm = |v: Option<&Value>| v.and_then(|x| x.as_str()).map(|x| x.to_ascii_lowercase());
                assert_eq!(norm(mine.last()), norm(paths.last()), "{f} event {}: the last node", h.number);
            } else if let Some(text) = wd["string"].as_str() {
                let have = hd["string"].as_str().or(hd["description"].as_str());
                if h.event_type != eventlog::format::EV_PLATFORM_CONFIG_FLAGS {
                    // systemd-stub's PE section names (".linux", ".cmdline", ...): trustee drops the dot.
                    let dotted = format!(".{text}");
                    assert!(
                        have == Some(text) || have == Some(dotted.as_str()),
                        "{f} event {} ({}): {have:?} vs {text}",
                        h.number,
                        h.type_name()
                    );
                }
            }
            if w["digest_matches_event"] == Value::Bool(true) {
                assert_eq!(
                    eventlog::decode::digest_check(h),
                    eventlog::decode::DigestCheck::Matches,
                    "{f} event {} ({})",
                    h.number,
                    h.type_name()
                );
            }
        }
    }
}

/// The Intel collateral that covers the cos-113 quote on 2025-11-01.
fn cos113_collateral() -> Collateral {
    let mut c = Collateral::default();
    for f in [
        "tdx/automata-spr-collateral-1025/tcb_info.json",
        "tdx/automata-spr-collateral-1025/identity.json",
        "tdx/automata-spr-collateral-1025/pck_crl.der",
        "roots/intel/intel_root_ca_crl.der",
        "roots/intel/tcb_signing.der",
    ] {
        c.add_file(f, &testdata::read(f)).expect("collateral");
    }
    c
}

fn gcp_outcome(logs: Vec<eventlog::EventLog>) -> cloud_ra_verify::Outcome {
    let c = cos113_collateral();
    let mut opts = VerifyOptions::at(Timestamp::parse_rfc3339("2025-11-01T00:00:00Z").expect("time"));
    opts.eventlogs = logs;
    verify_evidence(&testdata::read("ccel/gcp-cos113/cos-113-tdx-quote.dat"), &c, &opts, None)
}

#[test]
fn gcp_cos113_binds_to_verified_quote_secure_boot_disabled() {
    let log =
        parse_ccel(&testdata::read("ccel/gcp-cos113/ccel_table.dat"), &testdata::read("ccel/gcp-cos113/ccel_data.dat"))
            .expect("ccel");
    let o = gcp_outcome(vec![log.clone()]);
    assert!(o.verified, "{:?}", o.failures);
    assert_eq!(o.status, Status::Warning, "{:?}", o.failures);
    assert!(o.failures.is_empty(), "{:?}", o.failures);
    let regs = o.claims["eventlog"][0]["registers"].as_array().expect("registers");
    let st = |r: &str| regs.iter().find(|c| c["register"] == r).map(|c| c["status"].as_str().unwrap_or("").to_string());
    assert_eq!(st("RTMR0").as_deref(), Some("matches"));
    assert_eq!(st("RTMR1").as_deref(), Some("matches"));
    assert_eq!(st("RTMR2").as_deref(), Some("matches"));
    assert_eq!(st("RTMR3").as_deref(), Some("unverified"));
    assert_eq!(st("MRTD").as_deref(), Some("not_covered"));
    assert_eq!(o.claims["secure_boot"], "disabled");
    assert_eq!(o.claims["measured_boot"]["secure_boot_variable"]["variable_data"], "00");
    assert!(o.warnings.iter().any(|w| w.check == "eventlog.rtmr3"));

    // The same registers from the library API: the typed registers of the verified quote.
    let Registers::Tdx(regs) = o.claims.registers() else { panic!("TDX registers: {:?}", o.claims.registers()) };
    assert_eq!(o.claims["mrtd"], hex::encode(regs.mrtd));
    let r = bind::bind_tdx(&log, regs).expect("binds");
    assert!(r.checks.iter().filter(|c| (1..=3).contains(&c.index)).all(|c| c.status == CheckStatus::Matches));
}

#[test]
fn gcp_cos113_wrong_log_fails_binding() {
    // A different VM's log against this quote: mismatches, and no claims from it.
    let log = parse(&testdata::read("ccel/trustee/CCEL_data_grub_gke"), Flavour::Ccel).expect("ccel");
    let o = gcp_outcome(vec![log]);
    assert!(o.verified);
    assert_eq!(o.status, Status::Contraindicated);
    assert_eq!(o.exit_code(), 4);
    assert!(o.failures.iter().any(|f| f.check == "eventlog.binding"), "{:?}", o.failures);
    assert_eq!(o.claims["secure_boot"], "unknown");
    // A log whose boot state is refused (duplicate separator) is invalid evidence.
    let log = parse(&testdata::read("ccel/trustee/CCEL_data_ovmf"), Flavour::Ccel).expect("ccel");
    let o = gcp_outcome(vec![log]);
    assert_eq!(o.exit_code(), 2);
    assert_eq!(o.failures[0].check, "eventlog.separator");
}

#[test]
fn gcp_cos113_policy() {
    let log =
        parse_ccel(&testdata::read("ccel/gcp-cos113/ccel_table.dat"), &testdata::read("ccel/gcp-cos113/ccel_data.dat"))
            .expect("ccel");
    let c = cos113_collateral();
    let mut opts = VerifyOptions::at(Timestamp::parse_rfc3339("2025-11-01T00:00:00Z").expect("time"));
    opts.policy = cloud_ra_verify::Policy::parse("p", "[eventlog]\nrequire_secure_boot = true\n").expect("policy");
    opts.eventlogs = vec![log];
    let q = testdata::read("ccel/gcp-cos113/cos-113-tdx-quote.dat");
    let o = verify_evidence(&q, &c, &opts, None);
    assert!(o.failures.iter().any(|f| f.check == "policy.eventlog.secure_boot"), "{:?}", o.failures);
    // No log at all: an [eventlog] policy fails closed.
    opts.eventlogs.clear();
    let o = verify_evidence(&q, &c, &opts, None);
    assert!(o.failures.iter().any(|f| f.check == "policy.eventlog"), "{:?}", o.failures);
    assert!(cloud_ra_verify::Policy::parse("p", "[eventlog]\nrequire_secureboot = true\n").is_err());
}

#[test]
fn tpm_logs_replay_to_expected_pcrs() {
    let exp = json("tpm/eventlogs/expected_pcrs.json");
    let logs = exp["logs"].as_object().expect("logs");
    assert_eq!(logs.len(), 8);
    for (name, e) in logs {
        let f = format!("tpm/eventlogs/{name}");
        let log = parse(&testdata::read(&f), Flavour::Auto).unwrap_or_else(|e| panic!("{f}: {e}"));
        assert_eq!(log.format, LogFormat::CryptoAgile, "{f}");
        assert_eq!(log.body().count() as u64, e["events"].as_u64().expect("events"), "{f}: event count");
        assert_eq!(log.startup_locality.map(u64::from), e["startup_locality"].as_u64(), "{f}");
        let r = replay(&log).unwrap_or_else(|e| panic!("{f}: {e}"));
        assert_eq!(r.to_json()["pcrs"], e["pcrs"], "{f}");
    }
}

#[test]
fn debian_10_is_legacy_sha1() {
    let log = parse(&testdata::read("tpm/eventlogs/debian-10.bin"), Flavour::Auto).expect("legacy");
    assert_eq!(log.format, LogFormat::LegacySha1);
    assert!(log.spec_id.is_none());
    assert!(log.events.len() > 10);
    let r = replay(&log).expect("replays");
    assert!(r.to_json()["pcrs"]["sha1"]["0"].is_string());
}

#[test]
fn arch_linux_strict_findings() {
    let log = parse(&testdata::read("tpm/eventlogs/arch-linux-workstation.bin"), Flavour::Auto).expect("parses");
    let a = analyse(&log, &|_| true);
    let details: Vec<&str> = a.findings.iter().map(|f| f.detail.as_str()).collect();
    assert!(details.iter().any(|d| d.contains("SecureBoot data len is 0, expected 1")), "{details:?}");
    assert!(
        details.iter().any(|d| d.contains("found EFIBootServicesApplication in PCR4 before CallingEFIApp event")),
        "{details:?}"
    );
    assert_eq!(a.secure_boot, SecureBoot::Unknown);
}

#[test]
fn secure_boot_from_tpm_logs() {
    let sb = |f: &str| {
        let log = parse(&testdata::read(f), Flavour::Auto).expect("parses");
        analyse(&log, &|_| true).secure_boot
    };
    assert_eq!(sb("tpm/eventlogs/rhel8-uefi.bin"), SecureBoot::Enabled);
    assert_eq!(sb("tpm/eventlogs/ubuntu-2104-no-secure-boot.bin"), SecureBoot::Disabled);
    // Unvouched registers give nothing.
    let log = parse(&testdata::read("tpm/eventlogs/rhel8-uefi.bin"), Flavour::Auto).expect("parses");
    assert_eq!(analyse(&log, &|_| false).secure_boot, SecureBoot::Unknown);
}

fn gce_quoted_pcrs() -> BTreeMap<AlgId, BTreeMap<u32, Vec<u8>>> {
    let q = json("tpm/gce-cos-85/derived/quoted_pcrs.json");
    let mut quoted: BTreeMap<AlgId, BTreeMap<u32, Vec<u8>>> = BTreeMap::new();
    for (bank, m) in q["pcrs"].as_object().expect("pcrs") {
        let alg = AlgId::from_name(bank).expect("bank");
        for (i, v) in m.as_object().expect("map") {
            quoted
                .entry(alg)
                .or_default()
                .insert(i.parse().expect("idx"), hex::decode(v.as_str().expect("hex")).expect("hex"));
        }
    }
    quoted
}

#[test]
fn gce_cos_85_replays_against_verified_quotes_in_three_banks() {
    use cloud_ra_verify::tpm::{AkPublic, verify_quote};
    use cloud_ra_verify::x509::Certificate;
    let ak = AkPublic::parse(&testdata::read("tpm/gce-cos-85/derived/ak_pub.tpmt_public")).expect("AK");
    // The AK certificate carries the same key and chains to Google's EK/AK roots.
    let cert = Certificate::from_der(&testdata::read("tpm/gce-cos-85/derived/ak_cert.der")).expect("cert");
    assert_eq!(cert.public_key.as_ref().map(|k| &k.bytes), Some(&ak.key.bytes));
    let inter = Certificate::from_der(&testdata::read("roots/google/tpm_ek_intermediate_2.crt")).expect("inter");
    let root = Certificate::from_der(&testdata::read("roots/google/tpm_ek_root_1.cer")).expect("root");
    cert.verify_issued_by(&inter).expect("AK cert by intermediate");
    inter.verify_issued_by(&root).expect("intermediate by root");
    let at = Timestamp::parse_rfc3339("2025-01-01T00:00:00Z").expect("time");
    for c in [&cert, &inter, &root] {
        c.check_validity(at).expect("valid");
    }

    let carried = gce_quoted_pcrs();
    let log = parse(&testdata::read("tpm/gce-cos-85/derived/event_log.bin"), Flavour::Auto).expect("parses");
    let r = replay(&log).expect("replays");
    for bank in ["sha1", "sha256", "sha384"] {
        let attest = testdata::read(&format!("tpm/gce-cos-85/derived/quote_{bank}.tpms_attest"));
        let sig = testdata::read(&format!("tpm/gce-cos-85/derived/quote_{bank}.tpmt_signature"));
        let vouched =
            verify_quote(&ak, &attest, &sig, &[0x90, 0x09], &carried).unwrap_or_else(|e| panic!("{bank}: {e}"));
        let alg = AlgId::from_name(bank).expect("bank");
        assert_eq!(vouched.get(&alg).map(|m| m.len()), Some(24), "{bank}: all 24 PCRs quoted");
        let checks = bind::compare_pcrs(&r, &vouched);
        for i in 0..=9 {
            let c = checks.iter().find(|c| c.bank == bank && c.index == i).expect("check");
            assert_eq!(c.status, CheckStatus::Matches, "{bank} PCR{i}: {}", c.detail);
        }
        // Tampering: a wrong nonce, a flipped attest byte, a changed PCR value are refused.
        assert_eq!(verify_quote(&ak, &attest, &sig, &[0x90, 0x0a], &carried).expect_err("nonce").check, "tpm.nonce");
        let mut bad = attest.clone();
        let last = bad.len() - 1;
        bad[last] ^= 1;
        assert_eq!(verify_quote(&ak, &bad, &sig, &[0x90, 0x09], &carried).expect_err("sig").check, "tpm.signature");
        let mut pcrs = carried.clone();
        if let Some(v) = pcrs.get_mut(&alg).and_then(|m| m.get_mut(&0)) {
            v[0] ^= 1;
        }
        assert_eq!(verify_quote(&ak, &attest, &sig, &[0x90, 0x09], &pcrs).expect_err("pcrs").check, "tpm.pcrs");
    }
    // Truncated structures never panic.
    let attest = testdata::read("tpm/gce-cos-85/derived/quote_sha256.tpms_attest");
    for n in 0..attest.len() {
        assert!(cloud_ra_verify::tpm::Attest::parse(&attest[..n]).is_err());
    }
}

fn gcp_bundle(extra: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let mut b = cloud_ra_verify::bundle::Bundle::new_dcap(
        cloud_ra_verify::Platform::Tdx,
        &testdata::read("ccel/gcp-cos113/cos-113-tdx-quote.dat"),
    );
    for (k, v) in extra {
        b.evidence.insert(k.to_string(), cloud_ra_verify::bundle::B64(v.clone()));
    }
    b.to_json().into_bytes()
}

fn gcp_bundle_outcome(extra: &[(&str, Vec<u8>)]) -> cloud_ra_verify::Outcome {
    let c = cos113_collateral();
    let opts = VerifyOptions::at(Timestamp::parse_rfc3339("2025-11-01T00:00:00Z").expect("time"));
    verify_evidence(&gcp_bundle(extra), &c, &opts, None)
}

#[test]
fn bundle_carried_ccel_is_replayed_against_the_verified_quote() {
    let table = testdata::read("ccel/gcp-cos113/ccel_table.dat");
    let log = testdata::read("ccel/gcp-cos113/ccel_data.dat");
    let o = gcp_bundle_outcome(&[("eventlog_ccel", log.clone()), ("eventlog_ccel_table", table.clone())]);
    assert!(o.verified, "{:?}", o.failures);
    assert!(o.failures.is_empty(), "{:?}", o.failures);
    assert_eq!(o.claims["secure_boot"], "disabled");
    let regs = o.claims["eventlog"][0]["registers"].as_array().expect("registers");
    assert!(regs.iter().filter(|r| r["register"] == "RTMR1").all(|r| r["status"] == "matches"));
    // Without the table the log area is parsed alone: same result.
    let o = gcp_bundle_outcome(&[("eventlog_ccel", log.clone())]);
    assert_eq!(o.claims["secure_boot"], "disabled", "{:?}", o.failures);
    // Another VM's log carried in the bundle fails the binding (exit 4), as with --eventlog.
    let o = gcp_bundle_outcome(&[("eventlog_ccel", testdata::read("ccel/trustee/CCEL_data_grub_gke"))]);
    assert_eq!(o.exit_code(), 4, "{:?}", o.failures);
    assert!(o.failures.iter().any(|f| f.check == "eventlog.binding"));
    // A truncated carried log is invalid evidence that names the bundle key.
    let o = gcp_bundle_outcome(&[("eventlog_tpm", log[..100].to_vec())]);
    assert_eq!(o.exit_code(), 2, "{:?}", o.failures);
    assert!(!o.verified);
    assert!(o.failures[0].detail.contains("bundle evidence 'eventlog_tpm'"), "{:?}", o.failures);
    // A bundle without logs has no eventlog claims.
    let o = gcp_bundle_outcome(&[]);
    assert!(o.claims.get("eventlog").is_none());
    assert_eq!(o.claims["secure_boot"], Value::Null);
}

/// go-tpm-tools `internal/test` (Cos85AmdSevCmdline, Cos101AmdSevCmdline): the kernel command
/// lines of tpm/eventlogs/cos-85-amd-sev.bin and cos-101-amd-sev.bin, without the trailing NUL.
const COS85_CMDLINE: &str = "/syslinux/vmlinuz.A init=/usr/lib/systemd/systemd boot=local rootwait ro noresume noswap loglevel=7 noinitrd console=ttyS0 security=apparmor virtio_net.napi_tx=1 systemd.unified_cgroup_hierarchy=false systemd.legacy_systemd_cgroup_controller=false csm.disabled=1 loadpin.exclude=kernel-module modules-load=loadpin_trigger module.sig_enforce=1 dm_verity.error_behavior=3 dm_verity.max_bios=-1 dm_verity.dev_wait=1 i915.modeset=1 cros_efi root=/dev/dm-0 \"dm=1 vroot none ro 1,0 4077568 verity payload=PARTUUID=EF8ECEE2-2385-AE4F-A146-1ED93D8AC217 hashtree=PARTUUID=EF8ECEE2-2385-AE4F-A146-1ED93D8AC217 hashstart=4077568 alg=sha256 root_hexdigest=795872ee03859c10dfcc4d67b4b96c85094b340c2d8784783abc2fa12a6ed671 salt=40eb77fb9093cbff56a6f9c2214c4f7554817d079513b7c77de4953d6b8ffc16\"";
const COS101_CMDLINE: &str = "/syslinux/vmlinuz.A init=/usr/lib/systemd/systemd boot=local rootwait ro noresume loglevel=7 console=tty1 console=ttyS0 security=apparmor virtio_net.napi_tx=1 nmi_watchdog=0 csm.disabled=1 loadpin.exclude=kernel-module modules-load=loadpin_trigger module.sig_enforce=1 dm_verity.error_behavior=3 dm_verity.max_bios=-1 dm_verity.dev_wait=1 i915.modeset=1 cros_efi root=/dev/dm-0 \"dm=1 vroot none ro 1,0 4077568 verity payload=PARTUUID=1D70214B-9AB3-E542-8372-3CCD786534FA hashtree=PARTUUID=1D70214B-9AB3-E542-8372-3CCD786534FA hashstart=4077568 alg=sha256 root_hexdigest=48d436350a7e83bde985cd3f7e79fa443557743b42243803ce31104ca4719c5d salt=b323b014b6f463172fca758a1c5a6745a2c8e5872be0e175e2f4b40c8295b2ab\"";

#[test]
fn grub_kernel_command_lines_match_go_tpm_tools() {
    for (f, want) in
        [("tpm/eventlogs/cos-85-amd-sev.bin", COS85_CMDLINE), ("tpm/eventlogs/cos-101-amd-sev.bin", COS101_CMDLINE)]
    {
        let log = parse(&testdata::read(f), Flavour::Auto).expect("parses");
        let a = analyse(&log, &|_| true);
        let c = &a.claims["kernel_cmdline"];
        assert_eq!(c["text"], want, "{f}");
        assert_eq!(c["source"], "grub", "{f}");
        // The kernel GRUB loaded is the file its `linux` command names, with that event's digests.
        assert_eq!(a.claims["kernel"]["path"], "/syslinux/vmlinuz.A", "{f}");
        let n = a.claims["kernel"]["event"].as_u64().expect("kernel event") as usize;
        let e = log.events.iter().find(|e| e.number == n).expect("event");
        assert_eq!(a.claims["kernel"]["digests"]["sha256"], hex::encode(e.digest(AlgId::SHA256).expect("sha256")));
        // Nothing from registers that are not vouched.
        let none = analyse(&log, &|r| r != 8);
        assert!(
            none.claims["kernel_cmdline"].is_null()
                && none.claims["grub_commands"].as_array().is_some_and(|g| g.is_empty()),
            "{f}"
        );
    }
}

#[test]
fn tpm_event_types_decoded() {
    use eventlog::decode::{DigestCheck, details, digest_check};
    use eventlog::format::{EV_EFI_GPT_EVENT, EV_NO_ACTION, EV_POST_CODE, EV_S_CRTM_VERSION};
    let exp = json("tpm/eventlogs/expected_pcrs.json");
    for name in exp["logs"].as_object().expect("logs").keys().map(String::as_str).chain(["debian-10.bin"]) {
        let f = format!("tpm/eventlogs/{name}");
        let log = parse(&testdata::read(&f), Flavour::Auto).expect("parses");
        let r = replay(&log).expect("replays");
        // EV_NO_ACTION never extends: no register history names one.
        let no_action: Vec<usize> =
            log.events.iter().filter(|e| e.event_type == EV_NO_ACTION).map(|e| e.number).collect();
        for bank in r.banks.values() {
            for reg in bank.values() {
                assert!(reg.history.iter().all(|(n, _)| !no_action.contains(n)), "{f}");
            }
        }
        // The GPT event's digest is the hash of its data; its partitions are all decoded.
        for e in log.events.iter().filter(|e| e.event_type == EV_EFI_GPT_EVENT) {
            assert_eq!(digest_check(e), DigestCheck::Matches, "{f} event {}", e.number);
            let d = details(e);
            assert_eq!(d["partitions"].as_array().map(|p| p.len() as u64), d["partitions_declared"].as_u64(), "{f}");
        }
        // S-CRTM version: text (GCE's UTF-16 firmware name) or a GUID; POST codes: blob base/length.
        for e in log.events.iter().filter(|e| e.event_type == EV_S_CRTM_VERSION) {
            let d = details(e);
            match d["string"].as_str() {
                Some(s) if s.starts_with("GCE Virtual Firmware") => {
                    let utf16: Vec<u8> = s.encode_utf16().chain([0]).flat_map(|u| u.to_le_bytes()).collect();
                    assert_eq!(e.data, utf16, "{f}");
                }
                Some(s) => assert!(s.is_ascii(), "{f}: {s}"),
                None => assert_eq!(d["guid"].as_str().map(str::len), Some(36), "{f}: {d}"),
            }
        }
        for e in log.events.iter().filter(|e| e.event_type == EV_POST_CODE && e.data.len() == 16) {
            let d = details(e);
            let len = u64::from_le_bytes(e.data[8..16].try_into().expect("8 bytes"));
            assert_eq!(d["blob_length"], len, "{f}");
        }
    }
    // Startup locality 3 (gdc-host): PCR0 starts at ...03, not zero.
    let log = parse(&testdata::read("tpm/eventlogs/gdc-host.bin"), Flavour::Auto).expect("parses");
    assert_eq!(log.startup_locality, Some(3));
    let r = replay(&log).expect("replays");
    let pcr0 = &r.banks[&AlgId::SHA256][&0];
    assert_eq!(pcr0.initial.last(), Some(&3));
    assert!(pcr0.initial[..31].iter().all(|&b| b == 0));
}

#[test]
fn first_divergent_event_and_runtime_extended_pcrs() {
    let log = parse(&testdata::read("tpm/eventlogs/rhel8-uefi.bin"), Flavour::Auto).expect("parses");
    let r = replay(&log).expect("replays");
    let pcr4 = &r.banks[&AlgId::SHA256][&4];
    assert!(pcr4.history.len() >= 2);
    // The register as it was before the last event: that event is named as the divergence.
    let (last, _) = pcr4.history[pcr4.history.len() - 1];
    let before = pcr4.history[pcr4.history.len() - 2].1.clone();
    let mut quoted: BTreeMap<AlgId, BTreeMap<u32, Vec<u8>>> = BTreeMap::new();
    quoted.entry(AlgId::SHA256).or_default().insert(4, before);
    // A PCR extended at runtime without logged events, and one at its reset value.
    quoted.entry(AlgId::SHA256).or_default().insert(10, vec![0x5a; 32]);
    quoted.entry(AlgId::SHA256).or_default().insert(17, vec![0xff; 32]);
    let checks = bind::compare_pcrs(&r, &quoted);
    let c4 = checks.iter().find(|c| c.bank == "sha256" && c.index == 4).expect("PCR4");
    assert_eq!((c4.status, c4.first_divergent_event), (CheckStatus::Mismatches, Some(last)));
    let c10 = checks.iter().find(|c| c.bank == "sha256" && c.index == 10).expect("PCR10");
    assert_eq!(c10.status, CheckStatus::Unverified, "{}", c10.detail);
    let c17 = checks.iter().find(|c| c.bank == "sha256" && c.index == 17).expect("PCR17");
    assert_eq!(c17.status, CheckStatus::NotCovered);
    // Neither vouches for anything.
    let v = bind::vouched(&checks);
    assert!(!v(4) && !v(10) && !v(17));
}

#[test]
fn unified_kernel_image_sections_from_systemd_stub() {
    // CCEL_data_grub_gke boots a UKI: systemd-stub logs each PE section twice on CC MR 3 (name,
    // then contents). The claims carry the contents' digests, checked against trustee's decoding.
    let f = "ccel/trustee/CCEL_data_grub_gke";
    let log = parse(&testdata::read(f), Flavour::Ccel).expect("parses");
    let want = json(&format!("{f}_out.json"));
    let digest_of = |n: u64| {
        let i = log.body().position(|e| e.number as u64 == n).expect("event");
        want["uefi_event_logs"][i]["digests"][0]["digest"].clone()
    };
    let a = analyse(&log, &|_| true);
    for (claim, section) in [("kernel", ".linux"), ("initrd", ".initrd"), ("kernel_cmdline", ".cmdline")] {
        let c = &a.claims[claim];
        assert_eq!((c["source"].as_str(), c["section"].as_str()), (Some("uki"), Some(section)), "{claim}: {c}");
        let n = c["event"].as_u64().expect("event");
        assert_eq!(c["digests"]["sha384"], digest_of(n), "{claim}");
        // The name event just before it hashes to the ASCII section name.
        let name_event = log.events.iter().find(|e| e.number as u64 == n - 1).expect("name event");
        assert_eq!(eventlog::decode::uki_section_name(name_event), Some(section));
        assert_eq!(eventlog::decode::digest_check(name_event), eventlog::decode::DigestCheck::Matches);
    }
    assert_eq!(a.claims["uki_sections"].as_array().map(|s| s.len()), Some(6));
    // Not vouched (MR 3): nothing.
    let none = analyse(&log, &|r| r != 3);
    assert!(none.claims["kernel"].is_null() && none.claims["uki_sections"].as_array().is_some_and(|s| s.is_empty()));
}
