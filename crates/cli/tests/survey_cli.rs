//! `attest` on every simulated interface, `detect`/`survey` on the reconstructed cloud fixture
//! trees, `compare` reproducing the talk's per-cloud tables (Markdown cells, and the HTML page
//! rendered in headless Chromium), and bad input.

mod cli_common;

use cli_common::{Scratch, bin, code, run, stderr, stdout};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Output;

fn out(o: &Output) -> String {
    stdout(o)
}
fn err(o: &Output) -> String {
    stderr(o)
}
fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../attest/tests/fixtures")
}
fn root(name: &str) -> String {
    fixtures().join("roots").join(name).to_string_lossy().into_owned()
}
fn surveys(names: &[&str]) -> Vec<String> {
    let mut v = Vec::new();
    for n in names {
        for phase in ["initial", "after-setup", "after-reboot"] {
            let p = fixtures().join(format!("surveys/{n}-{phase}.json"));
            if p.exists() {
                v.push(p.to_string_lossy().into_owned());
            }
        }
    }
    v
}

#[test]
fn attest_through_every_simulated_interface_then_verify() {
    let s = Scratch::new("attest");
    let nonce = "c0ffee00112233445566778899";
    // (platform, extra args, bundle platform, interface marker, claims checks)
    for (platform, extra, kind, iface) in [
        ("sim-snp", vec!["--extended"], "snp", "SIMULATED /dev/sev-guest"),
        ("sim-snp-vlek", vec!["--extended"], "snp", "SIMULATED /dev/sev-guest"),
        ("sim-snp-vmpl2", vec!["--vmpl", "2"], "snp", "guest VMPL 2"),
        ("sim-snp-tsm", vec!["--vmpl", "1"], "snp", "SIMULATED configfs-tsm (provider sev_guest"),
        ("sim-tdx", vec![], "tdx", "SIMULATED configfs-tsm (provider tdx_guest"),
        ("sim-sgx", vec![], "sgx", "simulated SGX quoting enclave"),
        ("sim-nitro", vec![], "nitro", "SIMULATED /dev/nsm"),
    ] {
        let file = s.path(&format!("{platform}.json"));
        let mut args = vec!["attest", "--platform", platform, "--nonce", nonce, "-o", &file];
        args.extend(extra.iter().copied());
        let a = run(&args);
        assert_eq!(code(&a), 0, "{platform}: {}", err(&a));
        let b: Value = serde_json::from_slice(&std::fs::read(&file).expect("bundle")).expect("JSON");
        assert_eq!(b["platform"], kind, "{platform}");
        assert_eq!(b["platform_info"]["simulated"], true, "{platform}: the bundle says it is simulated");
        assert!(
            b["platform_info"]["interface"].as_str().is_some_and(|i| i.contains(iface)),
            "{platform}: {}",
            b["platform_info"]
        );
        let mut v = vec!["verify", &file, "--trust-simulated", "--nonce", nonce, "--json"];
        let vcek;
        if platform == "sim-snp-vmpl2" {
            // Standard attestation: the VCEK comes as collateral (from KDS on a real machine).
            let spec = cloud_ra_sim::ReportBuilder::new().vek_spec(cloud_ra_sim::VekKind::Vcek);
            vcek = s.path("vcek.der");
            std::fs::write(&vcek, cloud_ra_sim::SimAmd::get().vek_der(&spec)).expect("vcek");
            v.extend(["--collateral", &vcek]);
        }
        let o = run(&v);
        assert_eq!(code(&o), 0, "{platform}: {}", out(&o));
        let j: Value = serde_json::from_str(&out(&o)).expect("verify JSON");
        assert_eq!(j["verified"], true);
        if kind == "snp" {
            let want_vmpl = match platform {
                "sim-snp-vmpl2" => 2,
                "sim-snp-tsm" => 1,
                _ => 0,
            };
            assert_eq!(j["claims"]["vmpl"], want_vmpl, "{platform}");
            assert_eq!(b["platform_info"]["requested_vmpl"], want_vmpl);
        }
        // The simulated root is never trusted implicitly.
        let o = run(&["verify", &file, "--nonce", nonce]);
        assert_ne!(code(&o), 0, "{platform}: simulated evidence passed without --trust-simulated");
    }
}

#[test]
fn attest_errors_say_what_is_missing() {
    // (args, exit, message)
    let aws = root("aws-snp");
    let bare = root("bare");
    let azure = root("azure-snp");
    let gcp_tdx = root("gcp-tdx");
    let cases: Vec<(Vec<&str>, i32, &str)> = vec![
        (vec!["attest", "--root", &bare, "--nonce", "01"], 1, "modprobe sev-guest"),
        (vec!["attest", "--root", &bare, "--nonce", "01"], 1, "mount -t configfs"),
        (vec!["attest", "--root", &azure, "--nonce", "01"], 1, "--platform azure-snp or azure-tdx"),
        (vec!["attest", "--root", &gcp_tdx, "--nonce", "01"], 1, "a TDX quote needs configfs-tsm"),
        (
            vec!["attest", "--platform", "snp", "--root", &bare, "--nonce", "01"],
            1,
            "mknod /dev/sev-guest c MAJOR MINOR",
        ),
        (
            vec!["attest", "--platform", "snp", "--interface", "configfs-tsm", "--root", &aws, "--nonce", "01"],
            1,
            "configfs is not mounted",
        ),
        (vec!["attest", "--platform", "snp", "--root", &aws, "--nonce", "01"], 1, "/dev/sev-guest request failed"),
        (vec!["attest", "--platform", "tdx", "--root", &gcp_tdx, "--nonce", "01"], 1, "configfs is not mounted"),
        (vec!["attest", "--platform", "nitro", "--root", &bare, "--nonce", "01"], 1, "nsm"),
        (
            vec!["attest", "--platform", "azure-tdx", "--nonce", "01", "--tcti", "device:/nonexistent/tpmrm0"],
            1,
            "/nonexistent/tpmrm0 does not exist",
        ),
        (vec!["attest", "--platform", "sim-snp", "--vmpl", "4", "--nonce", "01"], 1, "--vmpl 4 does not exist"),
        (vec!["attest", "--platform", "sim-snp-vmpl2", "--nonce", "01"], 1, "STATUS is 0x16"),
        (vec!["attest", "--platform", "sim-snp-tsm", "--vmpl", "4", "--nonce", "01"], 1, "does not exist"),
        (vec!["attest", "--platform", "mars", "--nonce", "01"], 1, "platform 'mars' is not known"),
        (vec!["attest", "--platform", "sim-snp", "--msg-version", "2", "--nonce", "01"], 1, "errno 22"),
        (vec!["attest", "--platform", "sim-snp", "--nonce", "zz"], 1, "nonce"),
        (
            vec!["attest", "--platform", "snp", "--interface", "ioctl", "--root", &aws, "--nonce", "01"],
            1,
            "--interface 'ioctl'",
        ),
    ];
    for (args, want, msg) in cases {
        let o = run(&args);
        assert_eq!(code(&o), want, "{args:?}: {}", err(&o));
        assert!(err(&o).contains(msg), "{args:?}: expected '{msg}' in: {}", err(&o));
        assert!(!err(&o).contains("panicked"));
    }
    // The VMPL choice is printed when it is the default.
    let o = run(&["attest", "--platform", "sim-snp", "--nonce", "01"]);
    assert!(err(&o).contains("VMPL 0 (default"), "{}", err(&o));
}

#[test]
fn detect_and_survey_on_cloud_fixture_trees() {
    for (r, tee, cloud, platform) in [
        ("aws-snp", "sev-snp", "aws", Some("snp")),
        ("gcp-snp", "sev-snp", "gcp", Some("snp")),
        ("sakura-snp", "sev-snp", "other", Some("snp")),
        ("azure-snp", "sev-snp", "azure", None),
        ("gcp-tdx", "tdx", "gcp", None),
        ("aws-nitro-enclave", "nitro-enclave", "unknown", Some("nitro")),
        ("bare", "none", "unknown", None),
    ] {
        let o = run(&["detect", "--root", &root(r), "--json"]);
        assert_eq!(code(&o), 0, "{r}: {}", err(&o));
        let j: Value = serde_json::from_str(&out(&o)).expect("detect JSON");
        assert_eq!(j["tee"]["value"], tee, "{r}");
        assert_eq!(j["tee"]["trust"], "guest-os", "{r}");
        assert_eq!(j["cloud"]["value"], cloud, "{r}");
        assert_eq!(j["attest_platform"].as_str(), platform, "{r}: {}", j["attest_platform_error"]);
        let o = run(&["detect", "--root", &root(r)]);
        assert!(out(&o).contains(&format!("tee:        {tee}")), "{}", out(&o));
    }
    let s = Scratch::new("survey");
    let f = s.path("gcp.json");
    let o = run(&[
        "survey",
        "--root",
        &root("gcp-snp"),
        "--label",
        "GCP",
        "--phase",
        "initial",
        "--note",
        "vtpm_setting=immutable after VM creation",
        "-o",
        &f,
    ]);
    assert_eq!(code(&o), 0, "{}", err(&o));
    let j: Value = serde_json::from_slice(&std::fs::read(&f).expect("survey")).expect("JSON");
    assert_eq!(j["format"], "cloud-ra/survey/v1");
    assert_eq!(j["machine"], "GCP");
    assert_eq!(j["phase"], "initial");
    assert_eq!(j["facts"]["note.vtpm_setting"]["value"], "immutable after VM creation");
    assert_eq!(j["facts"]["note.vtpm_setting"]["trust"], "operator");
    assert_eq!(j["facts"]["secure_boot"]["value"], true);
    assert!(
        j["facts"]["secure_boot"]["source"]
            .as_str()
            .is_some_and(|s| s.ends_with("SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c"))
    );
    assert_eq!(j["facts"]["vtpm.driver"]["value"], "tpm_tis");
    // Human output lists every fact with its trust level.
    let o = run(&["survey", "--root", &root("gcp-tdx"), "--no-report"]);
    assert!(out(&o).contains("eventlog.ccel") && out(&o).contains("[guest-os:"), "{}", out(&o));
    // Bad input.
    let o = run(&["survey", "--root", "/nonexistent/root"]);
    assert_eq!(code(&o), 1);
    assert!(err(&o).contains("not a directory"));
    let o = run(&["survey", "--root", &root("bare"), "--note", "novalue"]);
    assert_eq!(code(&o), 1);
    assert!(err(&o).contains("expected KEY=VALUE"));
}

/// The cells of one row of a Markdown table (`| name | a | b |`), by the row's name.
fn row(md: &str, section: &str, name: &str) -> Vec<String> {
    let start = md.find(&format!("## {section}")).unwrap_or_else(|| panic!("section {section}"));
    let body = &md[start..];
    let end = body[3..].find("\n## ").map(|e| e + 3).unwrap_or(body.len());
    for line in body[..end].lines() {
        let cells: Vec<String> = line.trim_matches('|').split(" | ").map(|c| c.trim().to_string()).collect();
        let head = cells.first().map(|c| c.replace("**", "").replace('≠', "").trim().to_string());
        if head.as_deref() == Some(name) {
            return cells[1..].to_vec();
        }
    }
    panic!("row {name} not in {section}:\n{}", &body[..end]);
}

#[test]
fn compare_reproduces_the_talks_tables() {
    let mut args = vec!["compare".to_string()];
    args.extend(surveys(&["aws-snp", "azure-snp", "gcp-snp", "sakura-snp", "azure-tdx", "gcp-tdx"]));
    args.push(fixtures().join("surveys/aws-nitro.json").to_string_lossy().into_owned());
    let o = bin().args(&args).output().expect("runs");
    assert_eq!(code(&o), 0, "{}", err(&o));
    let md = out(&o);
    let snp = "AMD SEV-SNP on clouds";
    assert!(md.contains("| | AWS | Azure | GCP | Sakura |"), "{md}");
    // "AMD SEV-SNP on Clouds": attestation interface, VMPL, vTPM, secure boot.
    assert_eq!(
        row(&md, snp, "Attestation interface"),
        ["/dev/sev-guest", "/dev/tpm0", "/dev/sev-guest", "/dev/sev-guest"]
    );
    let vmpl = row(&md, snp, "VMPL of the OS");
    assert_eq!(vmpl[0], "0");
    assert!(vmpl[1].starts_with("0 (") && vmpl[1].contains("true result 2?"), "{}", vmpl[1]);
    assert_eq!((vmpl[2].as_str(), vmpl[3].as_str()), ("0", "2"));
    assert_eq!(
        row(&md, snp, "vTPM"),
        [
            "yes (immutable after VM creation)",
            "yes (immutable (always on))",
            "yes (immutable after VM creation)",
            "yes (immutable, ephemeral TPM)"
        ]
    );
    let sb = row(&md, snp, "Secure boot");
    assert!(sb[0].contains("setting is difficult"));
    assert_eq!(sb[1], "enabled (mutable)");
    assert_eq!(sb[2], "enabled (immutable after VM creation)");
    assert!(sb[3].contains("cannot be set on a CVM"));
    assert_eq!(row(&md, snp, "vTPM rooted in the TEE")[1], "via the paravisor (HCL report)");
    assert_eq!(row(&md, snp, "CPU attestation key"), ["VLEK", "VCEK", "VCEK", "VCEK"]);
    assert_eq!(
        row(&md, snp, "TPM attestation key"),
        ["AK-RSA at 0x81000002", "AK-RSA at 0x81000002", "AK-RSA at 0x81000002", "AK-RSA at 0x81000002"]
    );
    // "AMD SEV-SNP TPM Persistent Keys".
    assert_eq!(
        row(&md, snp, "TPM handles: initial"),
        ["0x81010001 (EK-RSA), 0x81010016 (EK-ECC)", "0x81000001 (EK-RSA), 0x81000003 (unknown-RSA)", "None", "None"]
    );
    let setup = row(&md, snp, "TPM handles: after EK/AK setup");
    assert_eq!(setup[1], "0x81000001 (EK-RSA), 0x81000002 (AK-RSA), 0x81000003 (unknown-RSA), 0x81010001 (EK-RSA)");
    assert_eq!(setup[3], "0x81000002 (AK-RSA), 0x81010001 (EK-RSA)");
    assert_eq!(row(&md, snp, "TPM handles: after reboot")[3], "None");
    assert_eq!(row(&md, snp, "Keys survive reboot"), ["yes", "yes", "yes", "no (lost 0x81000002, 0x81010001)"]);
    assert!(md.contains("| **Secure boot** ≠ |"), "differences are marked");
    // "Intel TDX on Clouds".
    let tdx = "Intel TDX on clouds";
    assert!(md.contains("| | Azure | GCP |"));
    let i = row(&md, tdx, "Attestation interface");
    assert_eq!(i[0], "/dev/tpm0");
    assert!(i[1].contains("/dev/tdx_guest"), "{}", i[1]);
    assert_eq!(row(&md, tdx, "Secure boot"), ["enabled (mutable)", "enabled (immutable after VM creation)"]);
    assert_eq!(row(&md, tdx, "Event logs"), ["TPM log", "TPM log, CCEL"], "Azure offers no CCEL");
    assert_eq!(row(&md, tdx, "TPM handles: initial"), ["0x81000001 (EK-RSA), 0x81000003 (unknown-RSA)", "None"]);
    assert_eq!(row(&md, tdx, "Keys survive reboot"), ["yes", "yes"]);
    assert!(md.contains("## AWS Nitro Enclaves on clouds"));
    assert!(md.contains("RECONSTRUCTED"), "provenance is shown");
}

#[test]
fn compare_refuses_bad_survey_files_precisely() {
    let s = Scratch::new("compare-bad");
    let good = fixtures().join("surveys/aws-nitro.json");
    let mut v: Value = serde_json::from_slice(&std::fs::read(&good).expect("read")).expect("json");
    v["format"] = "cloud-ra/survey/v3".into();
    let newer = s.path("newer.json");
    std::fs::write(&newer, v.to_string()).expect("w");
    let garbage = s.path("garbage.json");
    std::fs::write(&garbage, b"\x00\x01binary").expect("w");
    let good = good.to_string_lossy().into_owned();
    for (file, msg) in [
        (newer.as_str(), "survey format 'cloud-ra/survey/v3' (version 3) is newer than this cloud-ra reads"),
        (garbage.as_str(), "not a cloud-ra survey: not JSON"),
        ("/nonexistent.json", "/nonexistent.json"),
    ] {
        let o = run(&["compare", &good, file]);
        assert_eq!(code(&o), 1, "{file}");
        assert!(err(&o).contains(msg), "{file}: {}", err(&o));
    }
    let o = run(&["compare"]);
    assert_eq!(code(&o), 1, "at least one survey is required");
}

#[test]
fn compare_html_renders_in_headless_chromium() {
    assert!(
        Path::new("/usr/bin/chromium").exists(),
        "/usr/bin/chromium is missing: scripts/test.sh installs it (apt-get install chromium, as root)"
    );
    let s = Scratch::new("html");
    let page = s.path("clouds.html");
    let mut args = vec!["compare".to_string(), "--html".into(), "-o".into(), page.clone()];
    args.extend(surveys(&["aws-snp", "azure-snp", "gcp-snp", "sakura-snp", "azure-tdx", "gcp-tdx"]));
    let o = bin().args(&args).output().expect("runs");
    assert_eq!(code(&o), 0, "{}", err(&o));
    let html = std::fs::read_to_string(&page).expect("page");
    assert!(!html.contains("http://") && !html.contains("https://") && !html.contains("src="), "no external assets");
    let profile = s.0.join("profile");
    let url = format!("file://{page}");
    let dom = cloud_ra_sim::chromium::headless(&["--dump-dom", &url], &profile);
    let dom_text = String::from_utf8_lossy(&dom.stdout);
    assert!(dom.status.success(), "{}", String::from_utf8_lossy(&dom.stderr));
    assert!(dom_text.contains("<table id=\"sev-snp\">") && dom_text.contains("<table id=\"tdx\">"), "{dom_text}");
    assert!(dom_text.contains("<th>Sakura</th>"));
    assert!(dom_text.contains("<tr class=\"differs\"><th>Secure boot</th>"));
    assert!(dom_text.contains("<td>no (lost 0x81000002, 0x81010001)</td>"));
    let shot = s.path("clouds.png");
    let o =
        cloud_ra_sim::chromium::headless(&[&format!("--screenshot={shot}"), "--window-size=1400,1400", &url], &profile);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let png = std::fs::read(&shot).expect("screenshot written");
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    // A rendered page, not a blank one: a blank 1400x1400 PNG compresses to a few KB.
    assert!(png.len() > 20_000, "screenshot is only {} bytes", png.len());
}

#[test]
fn detect_on_an_azure_sgx_vm_gives_sgx_advice_not_the_cvm_platforms() {
    let sgx = root("azure-sgx");
    let o = run(&["detect", "--root", &sgx, "--json"]);
    assert_eq!(code(&o), 0, "{}", err(&o));
    let j: Value = serde_json::from_str(&out(&o)).expect("detect JSON");
    assert_eq!(j["tee"]["value"], "sgx");
    assert!(j["attest_platform"].is_null());
    let why = j["attest_platform_error"].as_str().unwrap_or_default();
    assert!(why.contains("Intel SGX machine") && why.contains("cloud-ra verify QUOTE"), "{why}");
    assert!(!why.contains("use --platform azure-snp"), "{why}");
    let o = run(&["detect", "--root", &sgx]);
    assert!(out(&o).contains("attest:     no interface to collect from: an Intel SGX machine"), "{}", out(&o));
    let o = run(&["attest", "--root", &sgx, "--nonce", "01"]);
    assert_eq!(code(&o), 1);
    assert!(err(&o).contains("DCAP quote comes from the enclave application"), "{}", err(&o));
    // The Azure CVMs keep their advice.
    let o = run(&["detect", "--root", &root("azure-tdx"), "--json"]);
    let j: Value = serde_json::from_str(&out(&o)).expect("detect JSON");
    assert!(j["attest_platform_error"].as_str().is_some_and(|e| e.contains("--platform azure-snp or azure-tdx")));
}
