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
