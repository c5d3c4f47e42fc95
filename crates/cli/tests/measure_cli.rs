//! `cloud-ra measure`: the round trip "measure artefacts → policy → verify a report booted from
//! them", the JSON contract, and bad input.

mod cli_common;

use cli_common::*;
use cloud_ra_sim::{ReportBuilder, SimAmd, VekKind};

const OVMF: &str = "refvals/snp/sev-snp-measure/ovmf_AmdSev_suffix.bin";

/// A simulated SNP report carrying `measurement`, and its VCEK, written to the scratch dir.
fn booted_report(s: &Scratch, name: &str, measurement: &str) -> (String, String) {
    let m: [u8; 48] = hex::decode(measurement).expect("hex").try_into().expect("48 bytes");
    let b = ReportBuilder::new().with_measurement(m);
    let sim = SimAmd::get();
    let report = s.file(&format!("{name}.bin"), &b.sign(sim, VekKind::Vcek));
    let vcek = s.file(&format!("{name}-vcek.der"), &sim.vek_der(&b.vek_spec(VekKind::Vcek)));
    (report, vcek)
}

#[test]
fn snp_measure_policy_verify_round_trip() {
    let s = Scratch::new("measure-rt");
    let kernel = s.file("vmlinuz", b"");
    let policy = s.path("policy.toml");
    let args = |append: &str, policy: &str| {
        let o = run(&[
            "measure",
            "snp",
            "--mode",
            "snp",
            "--vcpus",
            "1",
            "--vcpu-type",
            "EPYC-v4",
            "--ovmf",
            &tv(OVMF),
            "--kernel",
            &kernel,
            "--initrd",
            &kernel,
            "--append",
            append,
            "--guest-features",
            "0x21",
            "--json",
            "--emit-policy",
            policy,
        ]);
        assert_eq!(code(&o), 0, "{}", stderr(&o));
        let j = json(&o);
        assert_eq!(j["mode"], "snp");
        let names: Vec<&str> =
            j["inputs"].as_array().expect("inputs").iter().filter_map(|i| i["name"].as_str()).collect();
        for n in ["ovmf", "kernel", "initrd", "append", "vcpus", "vcpu_sig", "vmm_type", "guest_features"] {
            assert!(names.contains(&n), "input {n} missing: {names:?}");
        }
        j["measurement"].as_str().expect("measurement").to_string()
    };
    let m = args("console=ttyS0 loglevel=7", &policy);
    // sev-snp-measure's test_snp_default asserts exactly this digest for these inputs.
    assert_eq!(m, "803f691094946e42068aaa3a8f9e26a5c89f36f7b73ecfb28c653360fe4b3aba7e534442e7e1e17895dfe778d0228977");
    let text = std::fs::read_to_string(&policy).expect("policy written");
    assert!(text.contains("[snp]") && text.contains(&m), "{text}");
    let (report, vcek) = booted_report(&s, "booted", &m);
    let v = run(&["verify", &report, "--collateral", &vcek, "--trust-simulated", "--policy", &policy, "--json"]);
    assert_eq!(code(&v), 0, "{}", stdout(&v));
    assert_eq!(json(&v)["claims"]["measurement"], m.as_str());
    // A guest booted with another command line does not match the policy.
    let other = args("console=ttyS0", &s.path("other.toml"));
    assert_ne!(other, m);
    let (report2, vcek2) = booted_report(&s, "other", &other);
    let v = run(&["verify", &report2, "--collateral", &vcek2, "--trust-simulated", "--policy", &policy, "--json"]);
    assert_eq!(code(&v), 4, "{}", stdout(&v));
    let failures = json(&v)["failures"].to_string();
    assert!(failures.contains("policy.reference_value") && failures.contains("MEASUREMENT"), "{failures}");
}

#[test]
fn snp_human_output_names_every_input() {
    let o = run(&[
        "measure",
        "snp",
        "--mode",
        "snp",
        "--vcpus",
        "4",
        "--vmm-type",
        "gce",
        "--ovmf",
        &tv(OVMF),
        "--kernel",
        "/dev/null",
        "--initrd",
        "/dev/null",
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.starts_with("SNP launch digest (MEASUREMENT): 5c5debf1"), "{out}");
    for k in [
        "ovmf",
        "sha256 8f765dfa",
        "kernel",
        "initrd",
        "append",
        "vcpus",
        "vmm_type",
        "gce",
        "guest_features",
        "ovmf_hash",
        "vmsa_pages",
    ] {
        assert!(out.contains(k), "{k} missing: {out}");
    }
    // EC2: the current VMSA by default, the legacy one on request.
    let ec2 = |extra: &[&str]| {
        let mut a = vec!["measure", "snp", "--mode", "snp", "--vcpus", "1", "--vmm-type", "ec2", "--ovmf"];
        let ovmf = tv(OVMF);
        a.push(&ovmf);
        a.extend_from_slice(&["--kernel", "/dev/null", "--initrd", "/dev/null", "--json"]);
        a.extend_from_slice(extra);
        json(&run(&a))["measurement"].as_str().unwrap_or_default().to_string()
    };
    assert!(ec2(&[]).starts_with("0883bd0e"));
    assert!(ec2(&["--ec2-vmsa", "legacy"]).starts_with("7d375615"));
}

#[test]
fn snp_bad_input_is_a_usage_error() {
    let s = Scratch::new("measure-bad");
    let junk = s.file("junk.fd", &[0u8; 8192]);
    let o = run(&["measure", "snp", "--mode", "snp", "--vcpus", "1", "--vcpu-type", "EPYC-v4", "--ovmf", &junk]);
    assert_eq!(code(&o), 1);
    assert!(stderr(&o).contains("measure.ovmf") && stderr(&o).contains("footer GUID table"), "{}", stderr(&o));
    let o = run(&["measure", "snp", "--mode", "snp", "--vcpus", "1", "--vcpu-type", "EPYC-v99", "--ovmf", &tv(OVMF)]);
    assert_eq!(code(&o), 1);
    assert!(stderr(&o).contains("unknown vCPU type"), "{}", stderr(&o));
    let o = run(&["measure", "snp", "--mode", "snp", "--ovmf", &tv(OVMF)]);
    assert_eq!(code(&o), 1);
    assert!(stderr(&o).contains("--vcpus"), "{}", stderr(&o));
    let o = run(&["measure", "snp", "--mode", "sev", "--ovmf", &tv(OVMF), "--emit-policy", "-"]);
    assert_eq!(code(&o), 1, "a SEV digest is not a report MEASUREMENT");
}

#[test]
fn tdx_and_nitro() {
    let fw = tv("refvals/gcp/gce-tcb-verifier/derived/clean_example_2MiB.fd");
    let o = run(&["measure", "tdx", "--firmware", &fw, "--json"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let mrtd = "6e540be4917f24f74cc3292b59803d06dc7c38eb4a3c1fd6be9c735ba74bb7a23e25f98da94779d17508b243e4fb582b";
    assert_eq!(json(&o)["mrtd"], mrtd);
    let o = run(&["measure", "tdx", "--firmware", &fw, "--kernel", "/dev/null", "--append", "foo bar"]);
    let out = stdout(&o);
    assert!(out.contains(&format!("mrtd: {mrtd}")), "{out}");
    assert!(out.contains("cmdline_sha384") && out.contains("ae062a0d46d7899081d8068d"), "{out}");
    let o = run(&["measure", "tdx", "--firmware", &fw, "--emit-policy", "-"]);
    assert!(stdout(&o).contains(&format!("[tdx]\nmrtd = \"{mrtd}\"")), "{}", stdout(&o));
    // The same file is also an SNP firmware: Google's asserted digest.
    let o = run(&["measure", "snp", "--mode", "snp", "--vcpus", "1", "--vmm-type", "gce", "--ovmf", &fw]);
    assert!(stdout(&o).contains("20ec0dbd1c0a26d184a6f11ec5a796d68ec03c9d"), "{}", stdout(&o));

    let s = Scratch::new("measure-nitro");
    let e = cloud_ra_verify::measure::eif::build(4, &[(1, b"kernel"), (2, b"cmdline"), (3, b"init"), (3, b"app")]);
    let path = s.file("x.eif", &e);
    let o = run(&["measure", "nitro", &path, "--json"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let j = json(&o);
    assert!(j["pcr0"].as_str().is_some_and(|p| p.len() == 96));
    let o = run(&["measure", "nitro", &path, "--emit-policy", "-"]);
    assert!(stdout(&o).contains("[nitro.pcrs]"));
    let mut bad = e.clone();
    bad[10] ^= 1;
    let o = run(&["measure", "nitro", &s.file("bad.eif", &bad)]);
    assert_eq!(code(&o), 1);
    assert!(stderr(&o).contains("measure.eif") && stderr(&o).contains("CRC mismatch"), "{}", stderr(&o));
}

/// A Google launch endorsement (simulated PKI) → `measure gce-endorsement --emit-policy` →
/// `verify --policy` of a simulated SNP report booted with the endorsed 2-vCPU measurement.
#[test]
fn gce_endorsement_policy_verify_round_trip() {
    use cloud_ra_sim::google::{Golden, SimGoogle};
    let s = Scratch::new("measure-gce");
    let g = SimGoogle::get();
    let fw = cloud_ra_sim::testdata::read("refvals/gcp/gce-tcb-verifier/derived/clean_example_2MiB.fd");
    let digest: Vec<u8> =
        hex::decode("6510d598074bb1b31662903576518baacc2fa6f946d09a6bc0d494ad60cf8837ea289408198ca7d70ef20a2e62a065ba")
            .expect("hex");
    let golden = Golden {
        timestamp: 1_725_000_000,
        digest,
        snp: Some((1, vec![(1, [0x11; 48]), (2, [0x22; 48])], [0; 16], [0; 16], 0x30000)),
        tdx: Some((1, vec![(1, false, [0x33; 48])])),
        ..Default::default()
    };
    let e = s.file("endorsement.binarypb", &g.endorsement(&golden));
    let root = s.file("root.pem", g.root_pem().as_bytes());
    let at = "2025-01-01T00:00:00Z";
    let o = run(&["measure", "gce-endorsement", &e, "--root", &root, "--at", at, "--json"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let j = json(&o);
    assert_eq!(j["snp"]["measurements"]["2"], "22".repeat(48));
    assert_eq!(j["tdx"]["measurements"][0]["mrtd"], "33".repeat(48));
    assert_eq!(j["verified_at"], at);
    let o = run(&["measure", "gce-endorsement", &e, "--root", &root, "--at", at]);
    let out = stdout(&o);
    assert!(out.contains("measurement (2 vCPUs) 2222") && out.contains("GCE-uefi-signer"), "{out}");
    // The firmware check: the CleanExample is the endorsed image; another file is not.
    let fwp = s.file("fw.fd", &fw);
    let o = run(&["measure", "gce-endorsement", &e, "--root", &root, "--at", at, "--firmware", &fwp]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let o = run(&["measure", "gce-endorsement", &e, "--root", &root, "--at", at, "--firmware", &root]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("is not the endorsed UEFI digest"), "{}", stderr(&o));
    // Policy for 2 vCPUs, then a report booted with that measurement verifies against it.
    let policy = s.path("gce.toml");
    let o =
        run(&["measure", "gce-endorsement", &e, "--root", &root, "--at", at, "--vcpus", "2", "--emit-policy", &policy]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let text = std::fs::read_to_string(&policy).expect("policy");
    assert!(text.contains(&format!("[snp]\nmeasurement = [\"{}\"]", "22".repeat(48))), "{text}");
    let (report, vcek) = booted_report(&s, "gce", &"22".repeat(48));
    let v = run(&["verify", &report, "--collateral", &vcek, "--trust-simulated", "--policy", &policy, "--json"]);
    assert_eq!(code(&v), 0, "{}", stdout(&v));
    let (report, vcek) = booted_report(&s, "gce1", &"11".repeat(48));
    let v = run(&["verify", &report, "--collateral", &vcek, "--trust-simulated", "--policy", &policy, "--json"]);
    assert_eq!(code(&v), 4, "the 1-vCPU measurement was not selected: {}", stdout(&v));
    // Expired at a later time, wrong root, unendorsed vCPU count, garbage.
    let o = run(&["measure", "gce-endorsement", &e, "--root", &root, "--at", "2030-01-01T00:00:00Z"]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("measure.endorsement") && stderr(&o).contains("expired"), "{}", stderr(&o));
    let dev = tv("refvals/gcp/gce-tcb-verifier/devkeys/root.crt");
    let o = run(&["measure", "gce-endorsement", &e, "--root", &dev, "--at", at]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("no issuer"), "{}", stderr(&o));
    let o = run(&["measure", "gce-endorsement", &e, "--root", &root, "--at", at, "--vcpus", "3"]);
    assert_eq!(code(&o), 1);
    let o = run(&["measure", "gce-endorsement", &root, "--root", &root, "--at", at]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("VMLaunchEndorsement at offset"), "{}", stderr(&o));
}

/// `measure tdx --memory` and three `--acpi-digest`s predict RTMR0 and write it to the policy.
#[test]
fn tdx_rtmr0_prediction() {
    let fw = tv("refvals/gcp/gce-tcb-verifier/derived/clean_example_2MiB.fd");
    let a = "ab".repeat(48);
    let args = ["measure", "tdx", "--firmware", &fw, "--memory", "2048", "--acpi-digest", &a, "--acpi-digest", &a];
    let mut three: Vec<&str> = args.to_vec();
    three.extend(["--acpi-digest", &a, "--json"]);
    let o = run(&three);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let j = json(&o);
    let r0 = j["rtmrs"][0]["value"].as_str().expect("rtmr0 predicted").to_string();
    // The first event is the QEMU TD HOB of 2048 MiB (oasis vector, and the trustee OVMF CCEL).
    assert_eq!(
        j["rtmrs"][0]["events"][0]["digest"],
        "0b8772e5b0b41b83e6044a68397e02f49fb47066b4fbe4917ea2c45c64f323fdacbb37948f821ebaf8bc9c938ba8a749"
    );
    assert!(j["rtmrs"][1]["value"].is_null());
    three.pop();
    three.extend(["--emit-policy", "-"]);
    let o = run(&three);
    assert!(stdout(&o).contains(&format!("rtmr0 = \"{r0}\"")), "{}", stdout(&o));
    assert!(stdout(&o).contains("# rtmr1: not predicted"), "{}", stdout(&o));
    let o = run(&args);
    assert_eq!(code(&o), 1, "two ACPI digests");
    let o = run(&["measure", "tdx", "--firmware", &fw, "--acpi-digest", "zz"]);
    assert_eq!(code(&o), 1);
    let o = run(&["measure", "tdx", "--firmware", &fw]);
    assert!(stdout(&o).contains("rtmr0: not predicted") && stdout(&o).contains("needs --memory"), "{}", stdout(&o));
}
