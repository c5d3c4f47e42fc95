//! The `cloud-ra` binary as a user runs it: exit codes, JSON contract, bad input.

mod cli_common;

use cli_common::*;
use cloud_ra_sim::testdata;
use serde_json::Value;

#[test]
fn version_names_commit_profile_and_target() {
    let o = run(&["--version"]);
    assert_eq!(code(&o), 0);
    let v = stdout(&o);
    assert!(v.starts_with(&format!("cloud-ra {} (commit ", env!("CARGO_PKG_VERSION"))), "{v}");
    let commit = v.split("(commit ").nth(1).and_then(|r| r.split(',').next()).unwrap_or_default();
    assert!(commit == "unknown" || (commit.len() == 12 && commit.bytes().all(|b| b.is_ascii_hexdigit())), "{v}");
    assert!(v.contains(" build, x86_64-") || v.contains(" build, aarch64-"), "profile and target: {v}");
}

#[test]
fn completions_and_man_pages_come_from_the_argument_definitions() {
    for (shell, marker) in [("bash", "complete -F"), ("zsh", "#compdef cloud-ra"), ("fish", "complete -c cloud-ra")] {
        let o = run(&["completions", shell]);
        assert_eq!(code(&o), 0, "{shell}: {}", stderr(&o));
        let s = stdout(&o);
        assert!(s.contains(marker), "{shell}: {}", &s[..s.len().min(300)]);
        for sub in ["verify", "attest", "collateral", "measure", "serve"] {
            assert!(s.contains(sub), "{shell} completes {sub}");
        }
    }
    let o = run(&["man"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let m = stdout(&o);
    assert!(
        m.contains(".TH cloud-ra 1") && m.contains("verify") && m.contains("Exit codes"),
        "{}",
        &m[..m.len().min(400)]
    );
    let dir = std::env::temp_dir().join(format!("cloud-ra-man-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let o = run(&["man", "-o", dir.to_str().expect("utf8")]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    for page in ["cloud-ra.1", "cloud-ra-verify.1", "cloud-ra-collateral-fetch.1"] {
        assert!(dir.join(page).is_file(), "{page}");
    }
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(code(&run(&["completions", "powershell-of-doom"])), 1);
}

#[test]
fn verbosity_goes_to_stderr_and_leaves_stdout_alone() {
    let args = ["verify", "--json", "--offline", "--at", "2024-01-01T00:00:00Z"];
    let report = tv("snp/trustee-milan/test-report.bin");
    let vcek = tv("snp/trustee-milan/test-vcek.der");
    let mut quiet: Vec<&str> = args.to_vec();
    quiet.extend([report.as_str(), "--collateral", vcek.as_str()]);
    let mut loud = vec!["-vv"];
    loud.extend(quiet.iter().copied());
    let (q, l) = (
        bin().env_remove("CLOUD_RA_LOG").env_remove("RUST_LOG").args(&quiet).output(),
        bin().env_remove("CLOUD_RA_LOG").env_remove("RUST_LOG").args(&loud).output(),
    );
    let (q, l) = (q.expect("runs"), l.expect("runs"));
    assert_eq!((code(&q), code(&l)), (0, 0), "{}", stderr(&l));
    assert_eq!(json(&q), json(&l), "stdout is the result either way");
    assert!(!stderr(&q).contains("INFO"), "{}", stderr(&q));
    assert!(
        stderr(&l).contains("INFO") && stderr(&l).contains("detected raw SNP attestation report"),
        "{}",
        stderr(&l)
    );
    // The environment selects the level as well.
    let e = bin().env("CLOUD_RA_LOG", "info").env_remove("RUST_LOG").args(&quiet).output().expect("runs");
    assert!(stderr(&e).contains("detected raw SNP"), "{}", stderr(&e));
}

#[test]
fn demo_verifies_with_a_fresh_nonce() {
    let o = run(&["demo", "--json"]);
    assert_eq!(code(&o), 0, "{}{}", stdout(&o), stderr(&o));
    let j = json(&o);
    assert_eq!(j["verified"], true);
    assert_eq!(j["status"], "affirming");
    assert_eq!(j["claims"]["simulated"], true);
    assert_eq!(j["claims"]["nonce_bound"], true);
    // Two runs use two different nonces.
    let j2 = json(&run(&["demo", "--json"]));
    assert_ne!(j["claims"]["report_data"], j2["claims"]["report_data"]);
    let human = run(&["demo"]);
    assert_eq!(code(&human), 0);
    assert!(stdout(&human).contains("VERIFIED, appraisal passed (affirming)"), "{}", stdout(&human));
}

#[test]
fn verify_json_contract_on_real_evidence() {
    let o = run(&[
        "verify",
        &tv("snp/go-sev-guest-milan/attestation.bin"),
        "--collateral",
        &tv("snp/go-sev-guest-milan/vcek.testcer"),
        "--at",
        "2022-09-24T01:00:00Z",
        "--json",
    ]);
    assert_eq!(code(&o), 4, "debug refused by default: {}", stdout(&o));
    let j = json(&o);
    assert_eq!(j["platform"], "snp");
    assert_eq!(j["verified"], true);
    assert_eq!(j["status"], "contraindicated");
    assert_eq!(j["failures"][0]["check"], "policy.debug");
    for k in [
        "measurement",
        "report_data",
        "host_data",
        "vmpl",
        "chip_id",
        "signing_key",
        "product",
        "reported_tcb",
        "policy",
        "version",
    ] {
        assert!(j["claims"].get(k).is_some(), "claim {k} missing");
    }
    assert_eq!(j["claims"]["policy"]["debug"], true);
    assert_eq!(j["claims"]["reported_tcb"]["microcode"], 68);
    let ok = run(&[
        "verify",
        &tv("snp/go-sev-guest-milan/attestation.bin"),
        "--collateral",
        &tv("snp/go-sev-guest-milan/vcek.testcer"),
        "--at",
        "2022-09-24T01:00:00Z",
        "--allow-debug",
    ]);
    assert_eq!(code(&ok), 0, "{}", stdout(&ok));
    assert!(stdout(&ok).starts_with("VERIFIED"));
}

#[test]
fn aws_vlek_with_policy_file_and_asvk_collateral() {
    let s = Scratch::new("aws");
    let policy = s.file("p.json", br#"{"snp": {"vmpl": 1, "signing_key": "vlek", "minimum_tcb": {"snp": 24}}}"#);
    let args = |extra: &[&str]| {
        let mut v = vec![
            "verify".to_string(),
            tv("snp/trustee-vlek-aws/test-vlek-report.bin"),
            "--collateral".into(),
            tv("snp/trustee-vlek-aws/test-vlek.der"),
            "--at".into(),
            "2025-06-01T00:00:00Z".into(),
            "--policy".into(),
            policy.clone(),
        ];
        v.extend(extra.iter().map(|x| x.to_string()));
        v
    };
    let o = bin().args(args(&[])).output().expect("runs");
    assert_eq!(code(&o), 3, "ASVK missing is collateral: {}", stdout(&o));
    let o = bin().args(args(&["--collateral", &tv("roots/amd/ask_ark_milan_vlek.pem")])).output().expect("runs");
    assert_eq!(code(&o), 0, "{}", stdout(&o));
}

#[test]
fn attest_then_verify_on_the_simulated_device() {
    let s = Scratch::new("attest");
    let out = s.path("bundle.json");
    let nonce = "00112233445566778899aabbccddeeff";
    for platform in ["sim-snp", "sim-snp-vlek"] {
        let a = run(&["attest", "--platform", platform, "--nonce", nonce, "--extended", "-o", &out]);
        assert_eq!(code(&a), 0, "{}", stderr(&a));
        let bundle: Value = serde_json::from_slice(&std::fs::read(&out).expect("bundle")).expect("bundle JSON");
        assert_eq!(bundle["format"], "cloud-ra/evidence/v1");
        assert_eq!(bundle["platform_info"]["simulated"], true);
        let v = run(&["verify", &out, "--trust-simulated", "--nonce", nonce, "--json"]);
        assert_eq!(code(&v), 0, "{platform}: {}", stdout(&v));
        let j = json(&v);
        assert_eq!(j["claims"]["nonce_bound"], true);
        assert_eq!(j["claims"]["signing_key"], if platform == "sim-snp" { "vcek" } else { "vlek" });
        // Without --trust-simulated the simulated root is refused; the VLEK host (like AWS's)
        // ships no ASVK, and the simulated ASVK is offered only with --trust-simulated.
        let v = run(&["verify", &out, "--json"]);
        let (want_code, want_check) = if platform == "sim-snp" { (2, "snp.ark") } else { (3, "snp.chain") };
        assert_eq!(code(&v), want_code, "{}", stdout(&v));
        assert_eq!(json(&v)["failures"][0]["check"], want_check);
        // Another nonce is refused.
        let v = run(&["verify", &out, "--trust-simulated", "--nonce", "01"]);
        assert_eq!(code(&v), 4);
    }
    // VMPL 2 requested explicitly (Sakura) is recorded and appraised.
    let a = run(&["attest", "--platform", "sim-snp", "--vmpl", "2", "--extended", "-o", &out]);
    assert_eq!(code(&a), 0);
    let p = s.file("vmpl.toml", b"[snp]\nvmpl = 2\n");
    let v = run(&["verify", &out, "--trust-simulated", "--policy", &p]);
    assert_eq!(code(&v), 0, "{}", stdout(&v));
    // Without --extended the bundle has no certificates: the VCEK is collateral that is missing.
    let a = run(&["attest", "--platform", "sim-snp", "-o", &out]);
    assert_eq!(code(&a), 0);
    let v = run(&["verify", &out, "--trust-simulated"]);
    assert_eq!(code(&v), 3, "{}", stdout(&v));
}

#[test]
fn show_prints_every_field() {
    let o = run(&["show", &tv("snp/trustee-vlek-aws/test-vlek-report.bin"), "--json"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let j = json(&o);
    let r = &j["report"];
    for k in [
        "version",
        "guest_svn",
        "policy",
        "family_id",
        "image_id",
        "vmpl",
        "signature_algo",
        "current_tcb",
        "platform_info",
        "author_key_en",
        "mask_chip_key",
        "signing_key",
        "report_data",
        "measurement",
        "host_data",
        "id_key_digest",
        "author_key_digest",
        "report_id",
        "report_id_ma",
        "reported_tcb",
        "cpuid",
        "chip_id",
        "committed_tcb",
        "current_firmware",
        "committed_firmware",
        "launch_tcb",
        "signature",
    ] {
        assert!(r.get(k).is_some(), "field {k} missing from show");
    }
    assert_eq!(r["signing_key"], "vlek");
    assert_eq!(r["reported_tcb"]["components"]["snp"], 24);
    let human = run(&["show", &tv("snp/trustee-milan/test-report.bin"), "--product", "milan"]);
    assert_eq!(code(&human), 0);
    assert!(stdout(&human).contains("measurement: a1f39304"), "{}", stdout(&human));
    let cert = run(&["show", &tv("snp/trustee-vlek-aws/test-vlek.der")]);
    assert_eq!(code(&cert), 0);
    assert!(stdout(&cert).contains("SEV-VLEK"));
}

#[test]
fn bad_input_gets_a_one_line_error_and_the_documented_exit_code() {
    let s = Scratch::new("bad");
    let report = testdata::read("snp/trustee-milan/test-report.bin");
    let vcek = tv("snp/trustee-milan/test-vcek.der");
    let at = "2024-01-01T00:00:00Z";
    let cases: Vec<(Vec<String>, i32, &str)> = vec![
        (vec!["verify".into(), s.file("empty.bin", b"")], 2, "empty"),
        (vec!["verify".into(), s.file("trunc.bin", &report[..1000])], 2, "1000 bytes"),
        (vec!["verify".into(), s.file("big.bin", &vec![0u8; 17 << 20])], 2, "more than"),
        (
            {
                let mut r = report.clone();
                r[0] = 6;
                vec!["verify".into(), s.file("v6.bin", &r), "--collateral".into(), vcek.clone()]
            },
            2,
            "VERSION",
        ),
        (vec!["verify".into(), s.path("missing.bin")], 1, "missing.bin"),
        (
            vec![
                "verify".into(),
                tv("snp/trustee-milan/test-report.bin"),
                "--collateral".into(),
                s.file("g.pem", b"-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n"),
            ],
            3,
            "base64",
        ),
        (
            vec![
                "verify".into(),
                tv("snp/trustee-milan/test-report.bin"),
                "--collateral".into(),
                s.file("junk.der", b"\x30\x03\x02\x01\x00"),
            ],
            3,
            "junk.der",
        ),
        (
            vec![
                "verify".into(),
                tv("snp/trustee-milan/test-report.bin"),
                "--collateral".into(),
                tv("roots/intel/TrustedRootCA.der"),
                "--no-builtin-certs".into(),
                "--at".into(),
                at.into(),
            ],
            3,
            "VCEK",
        ),
        (
            vec!["verify".into(), tv("snp/trustee-milan/test-report.bin"), "--product".into(), "venice".into()],
            1,
            "venice",
        ),
        (
            vec!["verify".into(), tv("snp/trustee-milan/test-report.bin"), "--at".into(), "yesterday".into()],
            1,
            "RFC 3339",
        ),
        (
            vec![
                "verify".into(),
                tv("snp/trustee-milan/test-report.bin"),
                "--policy".into(),
                s.file("bad.toml", b"[snp\nvmpl="),
            ],
            1,
            "TOML",
        ),
        (
            vec![
                "verify".into(),
                tv("snp/trustee-milan/test-report.bin"),
                "--policy".into(),
                s.file("typo.toml", b"[snp]\nmeasurment = \"00\"\n"),
            ],
            1,
            "measurment",
        ),
        (vec!["verify".into(), tv("snp/trustee-milan/test-report.bin"), "--nonce".into(), "zz".into()], 1, "hex"),
        (
            vec!["verify".into(), tv("snp/trustee-milan/test-report.bin"), "--nonce".into(), "00".repeat(65)],
            1,
            "at most 64",
        ),
        (
            vec![
                "verify".into(),
                s.file("bundle.json", br#"{"format":"cloud-ra/evidence/v9","platform":"snp","evidence":{}}"#),
            ],
            2,
            "v9",
        ),
        (
            vec![
                "verify".into(),
                s.file("trail.json", br#"{"format":"cloud-ra/evidence/v1","platform":"snp","evidence":{}} x"#),
            ],
            2,
            "bundle",
        ),
        (
            vec![
                "verify".into(),
                s.file("plat.json", br#"{"format":"cloud-ra/evidence/v1","platform":"quantum","evidence":{}}"#),
            ],
            2,
            "quantum",
        ),
        (vec!["verify".into(), "--frobnicate".into()], 1, "frobnicate"),
        (vec!["verify".into()], 1, "EVIDENCE"),
        (vec!["show".into(), s.file("garbage.bin", b"hello world")], 2, "neither"),
    ];
    for (args, want, needle) in cases {
        let o = bin().args(&args).output().expect("runs");
        let all = format!("{}{}", stdout(&o), stderr(&o));
        assert_eq!(code(&o), want, "{args:?}: {all}");
        assert!(all.contains(needle), "{args:?}: expected '{needle}' in: {all}");
        assert!(!all.contains("panicked"), "{args:?} panicked: {all}");
    }
}

#[test]
fn nitro_serve_and_request_over_loopback() {
    // Pick a free port, then let the server bind it (the readiness probe is one connection).
    let port = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
    let addr = format!("127.0.0.1:{port}");
    let mut server = bin()
        .args(["nitro", "serve", "--tcp", &addr, "--simulated", "--max-connections", "4"])
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("server starts");
    let mut ready = false;
    for _ in 0..100 {
        if std::net::TcpStream::connect(&addr).is_ok() {
            ready = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(ready, "server did not start");
    let s = Scratch::new("nitro");
    let doc = s.path("doc.cbor");
    let o = run(&["nitro", "request", "--tcp", &addr, "--trust-simulated", "--json", "-o", &doc]);
    assert_eq!(code(&o), 0, "{}{}", stdout(&o), stderr(&o));
    let j = json(&o);
    assert_eq!(j["platform"], "nitro");
    assert_eq!(j["claims"]["nonce_bound"], true);
    assert_eq!(j["claims"]["user_data"], hex::encode("hello"));
    // Without trusting the simulated root the client exits non-zero (the seed's client did not).
    let o = run(&["nitro", "request", "--tcp", &addr]);
    assert_eq!(code(&o), 2, "{}", stdout(&o));
    // A policy that the document does not meet.
    let p = s.file("m.json", br#"{"Measurements": {"HashAlgorithm": "Sha384 { ... }", "PCR0": "00"}}"#);
    let o = run(&["nitro", "request", "--tcp", &addr, "--trust-simulated", "--policy", &p]);
    assert_eq!(code(&o), 4, "{}", stdout(&o));
    let _ = server.wait();
    // The saved document verifies offline at its own time, and `show` prints it.
    let v = run(&["verify", &doc, "--trust-simulated", "--at", "document"]);
    assert_eq!(code(&v), 0, "{}", stdout(&v));
    let sh = run(&["show", &doc, "--json"]);
    assert_eq!(code(&sh), 0);
    assert_eq!(json(&sh)["document"]["digest"], "SHA384");
}

#[test]
fn nitro_real_documents_from_the_cli() {
    let f = tv("nitro/veracruz/aws_nitro_document.cbor");
    let o = run(&["verify", &f, "--at", "2022-11-09T23:30:00Z", "--json"]);
    assert_eq!(code(&o), 0, "{}", stdout(&o));
    // The human output names the bank a Nitro document's PCRs are in: SHA-384, never SHA-256.
    let o = run(&["verify", &f, "--at", "2022-11-09T23:30:00Z"]);
    assert!(stdout(&o).contains("SHA-384 PCRs in the signed document"), "{}", stdout(&o));
    assert!(!stdout(&o).contains("SHA-256"), "{}", stdout(&o));
    let o = run(&["verify", &f]);
    assert_eq!(code(&o), 2, "expired at now: {}", stdout(&o));
    assert!(stdout(&o).contains("expired at"));
    let o = run(&["verify", &tv("nitro/veracruz/aws_nitro_document_bad_sig.cbor"), "--at", "document"]);
    assert_eq!(code(&o), 2);
    assert!(stdout(&o).contains("nitro.signature"));
    let o = run(&["verify", &tv("nitro/sparsity/attestation_1.report"), "--at", "document"]);
    assert_eq!(code(&o), 4, "debug-mode enclave refused by default");
    let o = run(&["show", &tv("nitro/evervault/valid-attestation-doc-base64")]);
    assert_eq!(code(&o), 0);
    assert!(stdout(&o).contains("module_id"));
}

#[test]
fn azure_trustee_evidence_verify_and_show() {
    use base64::Engine;
    let ev = tv("azure/trustee-az-snp-vtpm/evidence-v1.json");
    let nonce = hex::encode("challenge");
    let at = "2025-06-01T00:00:00Z";
    let o = run(&["verify", &ev, "--nonce", &nonce, "--at", at, "--offline", "--json"]);
    assert_eq!(code(&o), 0, "{}{}", stdout(&o), stderr(&o));
    let j = json(&o);
    assert_eq!(j["platform"], "azure-snp-vtpm");
    assert_eq!(j["verified"], true);
    assert_eq!(j["claims"]["freshness"], "tpm-quote");
    assert_eq!(j["claims"]["nonce_bound"], true);
    assert_eq!(j["claims"]["pcrs"].as_object().map(|m| m.len()), Some(24));
    // Human output names the freshness.
    let o = run(&["verify", &ev, "--nonce", &nonce, "--at", at, "--offline"]);
    assert_eq!(code(&o), 0);
    assert!(stdout(&o).contains("freshness         tpm-quote"), "{}", stdout(&o));
    // Another nonce: appraisal fails (4).
    let o = run(&["verify", &ev, "--nonce", "0102030405", "--at", at, "--offline", "--json"]);
    assert_eq!(code(&o), 4, "{}", stdout(&o));
    assert_eq!(json(&o)["failures"][0]["check"], "policy.nonce");
    // One byte of the runtime claims changed: the binding to the SNP report breaks (2).
    let mut v: Value = serde_json::from_slice(&std::fs::read(&ev).expect("read")).expect("JSON");
    let b64 = base64::engine::general_purpose::URL_SAFE;
    let mut hcl = b64.decode(v["hcl_report"].as_str().expect("hcl")).expect("b64url");
    hcl[0x6e0] ^= 1;
    v["hcl_report"] = Value::String(b64.encode(&hcl));
    let s = Scratch::new("azure");
    let bad = s.file("tampered.json", v.to_string().as_bytes());
    let o = run(&["verify", &bad, "--nonce", &nonce, "--at", at, "--offline", "--json"]);
    assert_eq!(code(&o), 2, "{}", stdout(&o));
    assert_eq!(json(&o)["failures"][0]["check"], "azure.binding");
    // show: the HCL report, the binding, the runtime claims and the quote.
    let o = run(&["show", &ev, "--json"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let j = json(&o);
    assert_eq!(j["hcl_report"]["tee"], "snp");
    assert_eq!(j["binding"]["holds"], true);
    assert_eq!(j["runtime_claims"]["json"]["keys"][0]["kid"], "HCLAkPub");
    assert_eq!(j["tpm_quote"]["extra_data"], nonce);
    assert_eq!(j["hardware_report"]["version"], 3);
    // A raw HCL report with a lying size: one line, exit 2.
    let mut raw = std::fs::read(tv("azure/kinvolk/hcl-report-snp.bin")).expect("read");
    raw[8] ^= 1;
    let f = s.file("lying.bin", &raw);
    let o = run(&["show", &f]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("header.report_size at offset 0x8"), "{}", stderr(&o));
}

#[test]
fn maa_request_bodies_dry_run() {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::URL_SAFE;
    let hcl_path = tv("azure/trustee-az-snp-vtpm/hcl-report.bin");
    let hcl = std::fs::read(&hcl_path).expect("read");
    let claims_len = u32::from_le_bytes([hcl[0x4D0], hcl[0x4D1], hcl[0x4D2], hcl[0x4D3]]) as usize;
    let claims = &hcl[0x4D4..0x4D4 + claims_len];
    let vcek = tv("azure/trustee-az-snp-vtpm/vcek.pem");
    let o = run(&["maa", "request", "--tee", "SevSnpVm", "--hcl", &hcl_path, "--vcek", &vcek, "--dry-run"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(stderr(&o).contains("POST https://sharedjpe.jpe.attest.azure.net/attest/SevSnpVm?api-version=2022-08-01"));
    let j = json(&o);
    let nonce = j["nonce"].as_str().expect("nonce");
    assert_eq!(nonce.len(), 64, "32 fresh bytes as hex");
    let inner: Value = serde_json::from_slice(&b64.decode(j["report"].as_str().expect("report")).expect("b64url"))
        .expect("inner JSON");
    assert_eq!(b64.decode(inner["SnpReport"].as_str().expect("SnpReport")).expect("b64"), &hcl[32..32 + 1184]);
    let chain = b64.decode(inner["VcekCertChain"].as_str().expect("chain")).expect("b64");
    assert_eq!(chain, std::fs::read(&vcek).expect("read"));
    assert_eq!(j["runtimeData"]["dataType"], "JSON");
    assert_eq!(b64.decode(j["runtimeData"]["data"].as_str().expect("data")).expect("b64"), claims);
    // A second run has another nonce.
    let o2 = run(&["maa", "request", "--tee", "SevSnpVm", "--hcl", &hcl_path, "--vcek", &vcek, "--dry-run"]);
    assert_ne!(json(&o2)["nonce"], j["nonce"]);
    // TdxVm: the TD quote and the TDX HCL report's claims; the given nonce.
    let tdx_hcl = tv("azure/trustee-az-tdx-vtpm/hcl-report.bin");
    let td = tv("azure/trustee-az-tdx-vtpm/td-quote.bin");
    let o =
        run(&["maa", "request", "--tee", "TdxVm", "--hcl", &tdx_hcl, "--quote", &td, "--nonce", "0a0b", "--dry-run"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let j = json(&o);
    assert_eq!(j["nonce"], "0a0b");
    assert_eq!(b64.decode(j["quote"].as_str().expect("quote")).expect("b64"), std::fs::read(&td).expect("read"));
    assert!(stderr(&o).contains("/attest/TdxVm?api-version=2025-06-01"));
    // The TD quote beside another report's claims is refused; so is an SNP report for TdxVm.
    let o = run(&[
        "maa",
        "request",
        "--tee",
        "TdxVm",
        "--hcl",
        &tv("azure/kinvolk/hcl-report-tdx.bin"),
        "--quote",
        &td,
        "--dry-run",
    ]);
    assert_eq!(code(&o), 1);
    assert!(stderr(&o).contains("REPORTDATA"), "{}", stderr(&o));
    let o = run(&["maa", "request", "--tee", "TdxVm", "--hcl", &hcl_path, "--quote", &td, "--dry-run"]);
    assert_eq!(code(&o), 1);
    // SgxEnclave with runtime data; missing inputs and sending are usage errors.
    let s = Scratch::new("maa");
    let rd = s.file("rd.bin", b"G_a||G_b||VK");
    let sgx = tv("sgx/dcap-qvl-sgx/sgx_quote");
    let o = run(&[
        "maa",
        "request",
        "--tee",
        "SgxEnclave",
        "--quote",
        &sgx,
        "--runtime-data",
        &rd,
        "--provider",
        "http://127.0.0.1:9/",
        "--dry-run",
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(json(&o)["runtimeData"]["dataType"], "Binary");
    assert!(stderr(&o).contains("POST http://127.0.0.1:9/attest/SgxEnclave?api-version=2025-06-01"));
    let o = run(&["maa", "request", "--tee", "SevSnpVm", "--hcl", &hcl_path, "--dry-run"]);
    assert_eq!(code(&o), 1);
    assert!(stderr(&o).contains("needs --vcek"));
    // Sending while offline (these tests run with CLOUD_RA_OFFLINE=1): refused, nothing sent.
    let o = run(&["maa", "request", "--tee", "SgxEnclave", "--quote", &sgx]);
    assert_eq!(code(&o), 3);
    assert!(stderr(&o).contains("offline") && stderr(&o).contains("--dry-run"), "{}", stderr(&o));
}

// ---- eventlog show | replay [--against] and verify --eventlog -------------------------------

const COS113_COLLATERAL: [&str; 5] = [
    "tdx/automata-spr-collateral-1025/tcb_info.json",
    "tdx/automata-spr-collateral-1025/identity.json",
    "tdx/automata-spr-collateral-1025/pck_crl.der",
    "roots/intel/intel_root_ca_crl.der",
    "roots/intel/tcb_signing.der",
];

fn expected(file: &str, rel: &str) -> Value {
    let v: Value = serde_json::from_slice(&testdata::read(file)).expect("expectations");
    v["logs"][rel].clone()
}

#[test]
fn eventlog_replay_json_has_the_expectation_shapes() {
    for rel in ["rhel8-uefi.bin", "ubuntu-2104-no-secure-boot.bin", "gdc-host.bin"] {
        let o = run(&["eventlog", "replay", &tv(&format!("tpm/eventlogs/{rel}")), "--json"]);
        assert_eq!(code(&o), 0, "{}", stderr(&o));
        let want = expected("tpm/eventlogs/expected_pcrs.json", rel);
        let got = json(&o);
        assert_eq!(got["pcrs"], want["pcrs"], "{rel}");
        // Ours counts the Spec ID header event too; the expectations count TCG_PCR_EVENT2s.
        assert_eq!(got["events"].as_u64(), want["events"].as_u64().map(|n| n + 1), "{rel}");
        assert!(got["note"].as_str().unwrap_or("").contains("not vouched for"));
    }
    let rel = "ccel/trustee/CCEL_data_grub_gke";
    let o = run(&["eventlog", "replay", &tv(rel), "--json"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(json(&o)["mr"], expected("ccel/expected_rtmrs.json", rel)["mr"]);
}

#[test]
fn eventlog_show_decodes_events() {
    let o = run(&[
        "eventlog",
        "show",
        &tv("ccel/gcp-cos113/ccel_data.dat"),
        "--table",
        &tv("ccel/gcp-cos113/ccel_table.dat"),
        "--json",
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let v = json(&o);
    let events = v["events"].as_array().expect("events");
    let want = expected("ccel/expected_rtmrs.json", "ccel/gcp-cos113/ccel_data.dat")["events"].as_u64();
    assert_eq!(Some(events.len() as u64), want.map(|n| n + 1), "the header event plus the expectations' events");
    assert_eq!(events[0]["type"], "EV_NO_ACTION");
    assert!(events.iter().any(|e| e["type"] == "EV_EFI_VARIABLE_DRIVER_CONFIG"));
    // Human output names the events too.
    let o = run(&["eventlog", "show", &tv("tpm/eventlogs/rhel8-uefi.bin")]);
    assert_eq!(code(&o), 0);
    assert!(stdout(&o).contains("EV_SEPARATOR"));
}

#[test]
fn eventlog_replay_against_a_verified_td_quote() {
    let mut args = vec![
        "eventlog".to_string(),
        "replay".into(),
        tv("ccel/gcp-cos113/ccel_data.dat"),
        "--table".into(),
        tv("ccel/gcp-cos113/ccel_table.dat"),
        "--against".into(),
        tv("ccel/gcp-cos113/cos-113-tdx-quote.dat"),
        "--at".into(),
        "2025-11-01T00:00:00Z".into(),
        "--offline".into(),
    ];
    for c in COS113_COLLATERAL {
        args.push("--collateral".into());
        args.push(tv(c));
    }
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let o = run(&[refs.as_slice(), &["--json"]].concat());
    assert_eq!(code(&o), 0, "{}{}", stdout(&o), stderr(&o));
    let v = json(&o);
    assert_eq!(v["against"]["verified"], true);
    let st = |r: &str| {
        v["registers"].as_array().and_then(|a| a.iter().find(|c| c["register"] == r)).map(|c| c["status"].clone())
    };
    assert_eq!(st("RTMR0"), Some(Value::from("matches")));
    assert_eq!(st("RTMR2"), Some(Value::from("matches")));
    assert_eq!(st("RTMR3"), Some(Value::from("unverified")));
    assert_eq!(v["claims"]["secure_boot"], "disabled", "{}", v["claims"]);
    assert_eq!(v["claims"]["secure_boot_variable"]["variable_data"], "00");
    // Human output: one line per register.
    let o = run(&refs);
    assert_eq!(code(&o), 0);
    let s = stdout(&o);
    assert!(s.contains("evidence VERIFIED") && s.contains("RTMR1  matches"), "{s}");

    // Another VM's log against the same quote: binding fails, exit 4.
    let mut bad = args.clone();
    bad[2] = tv("ccel/trustee/CCEL_data_grub_gke");
    bad.drain(3..5);
    let refs: Vec<&str> = bad.iter().map(String::as_str).collect();
    let o = run(&refs);
    assert_eq!(code(&o), 4, "{}{}", stdout(&o), stderr(&o));
    assert!(stdout(&o).contains("FAIL eventlog.binding"), "{}", stdout(&o));

    // verify --eventlog: the same binding inside the verify contract.
    let mut v_args = vec!["verify".to_string(), tv("ccel/gcp-cos113/cos-113-tdx-quote.dat")];
    v_args.extend(args[9..].iter().cloned());
    v_args.extend([
        "--eventlog".into(),
        tv("ccel/gcp-cos113/ccel_data.dat"),
        "--at".into(),
        "2025-11-01T00:00:00Z".into(),
    ]);
    v_args.push("--json".into());
    let refs: Vec<&str> = v_args.iter().map(String::as_str).collect();
    let o = run(&refs);
    assert_eq!(code(&o), 0, "{}{}", stdout(&o), stderr(&o));
    assert_eq!(json(&o)["claims"]["secure_boot"], "disabled");
}

#[test]
fn eventlog_bad_input_is_refused_precisely() {
    let s = Scratch::new("eventlog-bad");
    let log = testdata::read("tpm/eventlogs/debian-10.bin");
    let o = run(&["eventlog", "show", &s.file("trunc.bin", &log[..3000])]);
    assert_eq!(code(&o), 2);
    let e = stderr(&o);
    assert!(e.contains("eventlog.format") && e.contains("event 5") && e.contains("offset"), "{e}");
    let o = run(&["eventlog", "replay", &s.file("empty.bin", b"")]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("empty"), "{}", stderr(&o));
    let o = run(&["eventlog", "show", &s.path("missing.bin")]);
    assert_ne!(code(&o), 0);
    assert!(stderr(&o).contains("missing.bin"), "{}", stderr(&o));
    // The go-eventlog duplicate separator: replays, but its boot state is refused.
    let o = run(&["eventlog", "replay", &tv("ccel/go-eventlog/cos-113-intel-tdx-dupe-separator.bin"), "--json"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(json(&o).to_string().contains("duplicate separator"), "{}", stdout(&o));
}

// ---- GCE vTPM: go-tpm-tools Attestation (.pb) ----------------------------------------------

const GCE_PB: &str = "tpm/gce-cos-85/gce-cos-85-nonce9009.pb";
const GCE_AT: &str = "2025-01-01T00:00:00Z";

fn gce_args(extra: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = vec![
        "--collateral".into(),
        tv("roots/google/tpm_ek_intermediate_2.crt"),
        "--collateral".into(),
        tv("roots/google/tpm_ek_root_1.cer"),
        "--at".into(),
        GCE_AT.into(),
    ];
    v.extend(extra.iter().map(|s| s.to_string()));
    v
}

fn run_owned(args: Vec<String>) -> std::process::Output {
    bin().args(&args).output().expect("cloud-ra runs")
}

#[test]
fn gce_vtpm_verify_exit_codes() {
    let verify = |extra: &[&str]| {
        let mut a = vec!["verify".to_string(), tv(GCE_PB)];
        a.extend(gce_args(extra));
        run_owned(a)
    };
    let o = verify(&["--nonce", "9009", "--json"]);
    assert_eq!(code(&o), 0, "{}{}", stdout(&o), stderr(&o));
    let j = json(&o);
    assert_eq!(j["platform"], "gce-vtpm");
    assert_eq!(j["claims"]["nonce_bound"], true);
    assert_eq!(j["claims"]["secure_boot"], "enabled");
    assert_eq!(j["claims"]["pcrs_sha384"].as_object().map(|m| m.len()), Some(24));
    let human = verify(&["--nonce", "9009"]);
    assert_eq!(code(&human), 0);
    let out = stdout(&human);
    assert!(out.contains("VERIFIED") && out.contains("gce-vtpm") && out.contains("go-tpm-tools Attestation"), "{out}");
    assert!(out.contains("extra_data        9009") && out.contains("secure_boot       enabled"), "{out}");
    // Wrong nonce: appraisal (4). No roots: collateral (3).
    let o = verify(&["--nonce", "900a", "--json"]);
    assert_eq!(code(&o), 4, "{}", stdout(&o));
    assert_eq!(json(&o)["failures"][0]["check"], "policy.nonce");
    let o = run(&["verify", &tv(GCE_PB), "--nonce", "9009", "--at", GCE_AT]);
    assert_eq!(code(&o), 3, "{}", stdout(&o));
    assert!(stdout(&o).contains("FAIL tpm.ak_cert"), "{}", stdout(&o));
    // show decodes every field.
    let o = run(&["show", &tv(GCE_PB), "--json"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let j = json(&o);
    assert_eq!(j["quotes"].as_array().map(|q| q.len()), Some(3));
    assert_eq!(j["quotes"][0]["attest"]["extra_data"], "9009");
    assert_eq!(j["event_log_bytes"], 23970);
}

#[test]
fn gce_vtpm_eventlog_replay_against_the_attestation() {
    // The derived copy of the log inside the .pb, against the .pb: PCR0-9 match in every bank.
    let mut a = vec![
        "eventlog".to_string(),
        "replay".into(),
        tv("tpm/gce-cos-85/derived/event_log.bin"),
        "--against".into(),
        tv(GCE_PB),
        "--json".into(),
    ];
    a.extend(gce_args(&[]));
    let o = run_owned(a);
    assert_eq!(code(&o), 0, "{}{}", stdout(&o), stderr(&o));
    let j = json(&o);
    assert_eq!(j["against"]["platform"], "gce-vtpm");
    assert_eq!(j["against"]["verified"], true);
    let regs = j["registers"].as_array().expect("registers");
    for bank in ["sha1", "sha256", "sha384"] {
        for i in 0..=9 {
            let r = regs.iter().find(|r| r["bank"] == bank && r["index"] == i).expect("register");
            assert_eq!(r["status"], "matches", "{bank} PCR{i}");
        }
    }
    assert_eq!(j["claims"]["secure_boot"], "enabled");
    // Another machine's log against this attestation: mismatches, appraisal failure.
    let mut a = vec![
        "eventlog".to_string(),
        "replay".into(),
        tv("tpm/eventlogs/cos-101-amd-sev.bin"),
        "--against".into(),
        tv(GCE_PB),
    ];
    a.extend(gce_args(&[]));
    let o = run_owned(a);
    assert_eq!(code(&o), 4, "{}", stdout(&o));
    assert!(stdout(&o).contains("mismatches") && stdout(&o).contains("FAIL eventlog.binding"), "{}", stdout(&o));
    // The log inside the .pb, given as LOG: replayed (not vouched without --against).
    let o = run(&["eventlog", "replay", &tv(GCE_PB), "--json"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let j = json(&o);
    assert_eq!(j["events"], 45);
    let q: Value = serde_json::from_slice(&testdata::read("tpm/gce-cos-85/derived/quoted_pcrs.json")).expect("JSON");
    for bank in ["sha1", "sha256", "sha384"] {
        assert_eq!(j["pcrs"][bank]["0"], q["pcrs"][bank]["0"], "{bank}");
    }
    assert!(j["note"].as_str().is_some_and(|n| n.contains("not vouched")));
}

// ---- text encodings of binary evidence -------------------------------------------------------

/// `bytes` as hex text in 64-character lines (how virtee's tests store reports), `0x`-prefixed.
fn hex_lines(bytes: &[u8]) -> String {
    let h = hex::encode(bytes);
    let lines: Vec<&str> = h.as_bytes().chunks(64).map(|c| std::str::from_utf8(c).expect("ascii")).collect();
    format!("0x{}\n", lines.join("\n"))
}

#[test]
fn hex_and_base64_text_of_binary_evidence_is_decoded() {
    use base64::Engine;
    use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
    let s = Scratch::new("text");
    // SNP report: hex lines, standard base64 (padded, wrapped), URL-safe base64 without padding.
    let report = testdata::read("snp/trustee-milan/test-report.bin");
    let vcek = tv("snp/trustee-milan/test-vcek.der");
    let b64 = STANDARD.encode(&report);
    let wrapped: Vec<&str> = b64.as_bytes().chunks(76).map(|c| std::str::from_utf8(c).expect("ascii")).collect();
    for (name, text, enc) in [
        ("report.hex", hex_lines(&report), "hex"),
        ("report.b64", wrapped.join("\r\n"), "base64"),
        ("report.b64url", URL_SAFE_NO_PAD.encode(&report), "base64"),
    ] {
        let f = s.file(name, text.as_bytes());
        let o =
            run(&["verify", &f, "--collateral", &vcek, "--product", "milan", "--at", "2024-01-01T00:00:00Z", "--json"]);
        assert_eq!(code(&o), 0, "{name}: {}", stdout(&o));
        let j = json(&o);
        assert_eq!(j["platform"], "snp", "{name}");
        let want = format!("raw SNP attestation report (1184 bytes), decoded from {enc} text");
        assert_eq!(j["detected"], want.as_str(), "{name}");
        let o = run(&["show", &f, "--product", "milan", "--json"]);
        assert_eq!(code(&o), 0, "{name}: {}", stderr(&o));
        assert_eq!(json(&o)["report"]["version"], 2, "{name}");
    }
    // DCAP quote as URL-safe base64.
    let quote = testdata::read("ccel/gcp-cos113/cos-113-tdx-quote.dat");
    let f = s.file("quote.b64", URL_SAFE_NO_PAD.encode(&quote).as_bytes());
    let mut args: Vec<String> = vec!["verify".into(), f, "--at".into(), "2025-11-01T00:00:00Z".into(), "--json".into()];
    for c in COS113_COLLATERAL {
        args.push("--collateral".into());
        args.push(tv(c));
    }
    let o = run_owned(args);
    assert_eq!(code(&o), 0, "{}", stdout(&o));
    assert!(json(&o)["detected"].as_str().is_some_and(|d| d.ends_with("decoded from base64 text")), "{}", stdout(&o));
    // Nitro document as hex (base64 was read before).
    let doc = testdata::read("nitro/veracruz/aws_nitro_document.cbor");
    let f = s.file("doc.hex", hex_lines(&doc).as_bytes());
    let o = run(&["verify", &f, "--at", "2022-11-09T23:30:00Z", "--json"]);
    assert_eq!(code(&o), 0, "{}", stdout(&o));
    assert_eq!(json(&o)["detected"], "AWS Nitro attestation document (COSE_Sign1), decoded from hex text");
    let o = run(&["show", &tv("nitro/evervault/valid-attestation-doc-base64"), "--json"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(json(&o)["detected"].as_str().is_some_and(|d| d.ends_with("decoded from base64 text")));
    // Azure HCL report as base64; GCE go-tpm-tools Attestation as hex.
    let hcl = testdata::read("azure/trustee-az-snp-vtpm/hcl-report.bin");
    let f = s.file("hcl.b64", STANDARD.encode(&hcl).as_bytes());
    let o = run(&["show", &f, "--json"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let j = json(&o);
    assert_eq!(j["hcl_report"]["tee"], "snp");
    assert!(j["detected"].as_str().is_some_and(|d| d.starts_with("Azure HCL report") && d.ends_with("base64 text")));
    let pb = testdata::read(GCE_PB);
    let f = s.file("att.hex", hex::encode(&pb).as_bytes());
    let mut args = vec!["verify".to_string(), f];
    args.extend(gce_args(&["--nonce", "9009", "--json"]));
    let o = run_owned(args);
    assert_eq!(code(&o), 0, "{}", stdout(&o));
    assert_eq!(json(&o)["platform"], "gce-vtpm");
    // Text that decodes to nothing known says what it decoded; JSON and PEM are not base64.
    let f = s.file("short.hex", b"0x0102030405\n");
    let o = run(&["verify", &f]);
    assert_eq!(code(&o), 2);
    assert!(stdout(&o).contains("hex text decoding to 5 bytes that are neither"), "{}", stdout(&o));
    let o = run(&["show", &tv("roots/amd/ask_ark_milan.pem"), "--json"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(json(&o)["detected"], "certificates/CRLs");
    let o = run(&["verify", &s.file("b.json", br#"{"format":"cloud-ra/evidence/v1","platform":"snp","evidence":{}}"#)]);
    assert!(stdout(&o).contains("evidence.report is missing"), "{}", stdout(&o));
}

// ---- CoCo trustee legacy (v0) evidence -------------------------------------------------------

/// Trustee's v0 evidence from its v1 file: no `version`, every byte string a JSON list of
/// integers (serde's `Vec<u8>`), the PCRs lists of 32; SNP: `quote`, `report` and the VCEK as PEM
/// text; TDX: `tpm_quote`, `hcl_report`, `td_quote`.
fn trustee_v0_from_v1(v1: &Value) -> Value {
    use base64::Engine;
    let b64 = |v: &Value| {
        let s = v.as_str().expect("base64url string");
        base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(s.trim_end_matches('=')).expect("base64url")
    };
    let ints = |b: &[u8]| Value::from(b.iter().map(|&x| Value::from(x)).collect::<Vec<_>>());
    let hexints = |v: &Value| ints(&hex::decode(v.as_str().expect("hex")).expect("hex"));
    let q = &v1["tpm_quote"];
    let quote = serde_json::json!({
        "signature": hexints(&q["signature"]),
        "message": hexints(&q["message"]),
        "pcrs": q["pcrs"].as_array().expect("pcrs").iter().map(hexints).collect::<Vec<_>>(),
    });
    if v1.get("td_quote").is_some() {
        serde_json::json!({"tpm_quote": quote, "hcl_report": ints(&b64(&v1["hcl_report"])), "td_quote": ints(&b64(&v1["td_quote"]))})
    } else {
        let der = base64::engine::general_purpose::STANDARD.encode(b64(&v1["vcek"]));
        let lines: Vec<&str> = der.as_bytes().chunks(64).map(|c| std::str::from_utf8(c).expect("ascii")).collect();
        let pem = format!("-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n", lines.join("\n"));
        serde_json::json!({"quote": quote, "report": ints(&b64(&v1["hcl_report"])), "vcek": pem})
    }
}

#[test]
fn trustee_v0_evidence_verifies_like_v1_and_damaged_trustee_json_says_what_it_was_taken_for() {
    let s = Scratch::new("trustee-v0");
    let nonce = hex::encode("challenge");
    let tdx_collateral: Vec<String> = [
        "tdx/automata-gcp-spr-0725/tcb_info_v3_with_tdx_module.json",
        "tdx/automata-gcp-spr-0725/qe_identity.json",
        "tdx/automata-gcp-spr-0725/pck_platform_crl.der",
        "roots/intel/intel_root_ca_crl.der",
        "roots/intel/tcb_signing.der",
    ]
    .iter()
    .flat_map(|c| ["--collateral".to_string(), tv(c)])
    .collect();
    for (kind, at, collateral, want_code) in [
        ("az-snp-vtpm", "2025-06-01T00:00:00Z", Vec::new(), 0),
        // The TD quote's TCB is out of date at this time: appraisal fails (4), for v0 as for v1.
        ("az-tdx-vtpm", "2025-07-20T00:00:00Z", tdx_collateral, 4),
    ] {
        let v1_path = tv(&format!("azure/trustee-{kind}/evidence-v1.json"));
        let v1: Value = serde_json::from_slice(&std::fs::read(&v1_path).expect("read")).expect("JSON");
        let v0_path = s.file(&format!("{kind}-v0.json"), trustee_v0_from_v1(&v1).to_string().as_bytes());
        let verify = |f: &str| {
            let mut a = vec!["verify".to_string(), f.to_string(), "--nonce".into(), nonce.clone()];
            a.extend(["--at".to_string(), at.to_string(), "--offline".into(), "--json".into()]);
            a.extend(collateral.iter().cloned());
            run_owned(a)
        };
        let (o1, o0) = (verify(&v1_path), verify(&v0_path));
        assert_eq!(code(&o1), want_code, "{kind} v1: {}", stdout(&o1));
        assert_eq!(code(&o0), want_code, "{kind} v0: {}", stdout(&o0));
        let (mut j1, mut j0) = (json(&o1), json(&o0));
        assert_eq!(j0["detected"], format!("CoCo trustee {kind} evidence v0").as_str());
        assert_eq!(j1["detected"], format!("CoCo trustee {kind} evidence v1").as_str());
        assert_eq!(j0["claims"]["evidence_format"], "trustee-v0");
        assert_eq!(j1["claims"]["evidence_format"], "trustee-v1");
        for j in [&mut j0, &mut j1] {
            j["detected"] = Value::Null;
            j["claims"]["evidence_format"] = Value::Null;
        }
        assert_eq!(j0, j1, "{kind}: v0 verifies exactly as v1");
        assert_eq!(j0["claims"]["nonce_bound"], true);
        // show reads it too.
        let o = run(&["show", &v0_path, "--json"]);
        assert_eq!(code(&o), 0, "{}", stderr(&o));
        assert_eq!(json(&o)["binding"]["holds"], true);
    }
    // Damaged trustee documents: the error names the format taken and what is wrong with it.
    let v1: Value =
        serde_json::from_slice(&testdata::read("azure/trustee-az-snp-vtpm/evidence-v1.json")).expect("JSON");
    let mut v0 = trustee_v0_from_v1(&v1);
    v0["quote"]["pcrs"][3][0] = Value::from(256);
    let mut no_quote = v1.clone();
    no_quote.as_object_mut().expect("object").remove("tpm_quote");
    let mut bad_hex = v1.clone();
    bad_hex["tpm_quote"]["message"] = Value::from("zz");
    for (name, doc, needle) in [
        ("v0-pcr.json", v0, "CoCo trustee az-snp-vtpm evidence v0: quote.pcrs[3][0] is 256, not a byte value"),
        ("v1-no-quote.json", no_quote, "CoCo trustee az-snp-vtpm evidence v1: \"tpm_quote\" is missing"),
        ("v1-bad-hex.json", bad_hex, "CoCo trustee az-snp-vtpm evidence v1: tpm_quote.message is not hex"),
    ] {
        let f = s.file(name, doc.to_string().as_bytes());
        let o = run(&["verify", &f, "--json"]);
        assert_eq!(code(&o), 2, "{name}: {}", stdout(&o));
        let j = json(&o);
        assert_eq!(j["failures"][0]["check"], "azure.evidence", "{name}");
        let detail = j["failures"][0]["detail"].as_str().unwrap_or_default();
        assert!(detail.starts_with(needle), "{name}: {detail}");
        assert!(!detail.contains("cloud-ra evidence bundle"), "{name}: {detail}");
    }
}

#[test]
fn a_malformed_policy_value_is_a_usage_error_in_the_headline() {
    let s = Scratch::new("policy-usage");
    let report = tv("snp/trustee-milan/test-report.bin");
    let vcek = tv("snp/trustee-milan/test-vcek.der");
    let args = |policy: &str, json: bool| {
        let mut a =
            vec!["verify", &report, "--collateral", &vcek, "--product", "milan", "--at", "2024-01-01T00:00:00Z"];
        a.extend(["--policy", policy]);
        if json {
            a.push("--json");
        }
        run(&a)
    };
    let bad = s.file("zz.toml", b"[snp]\nmeasurement = \"zz\"\n");
    let o = args(&bad, false);
    assert_eq!(code(&o), 1, "{}", stdout(&o));
    let out = stdout(&o);
    assert!(out.starts_with("USAGE ERROR in the policy: evidence VERIFIED, NOT appraised: snp ["), "{out}");
    assert!(!out.contains("appraisal FAILED"), "{out}");
    assert!(out.contains("FAIL policy: measurement 'zz' is not hex"), "{out}");
    // The JSON contract is unchanged: verified, the failure's check is `policy`.
    let j = json(&args(&bad, true));
    assert_eq!(j["verified"], true);
    assert_eq!(j["failures"][0]["check"], "policy");
    // A well-formed policy the evidence does not meet is still an appraisal failure (4).
    let miss = s.file("miss.toml", format!("[snp]\nmeasurement = \"{}\"\n", "00".repeat(48)).as_bytes());
    let o = args(&miss, false);
    assert_eq!(code(&o), 4, "{}", stdout(&o));
    assert!(stdout(&o).starts_with("VERIFIED, but appraisal FAILED"), "{}", stdout(&o));
}

#[test]
fn human_verify_output_prints_every_register_a_user_compares() {
    let line = |out: &str, k: &str| -> Option<String> {
        out.lines().find_map(|l| l.strip_prefix(&format!("  {k:<17} ")).map(str::to_string))
    };
    // Nitro: PCR0/1/2/3/4/8, unset ones (all zero) as (empty); the JSON keeps the hex.
    let f = tv("nitro/veracruz/aws_nitro_document.cbor");
    let o = run(&["verify", &f, "--at", "2022-11-09T23:30:00Z"]);
    assert_eq!(code(&o), 0, "{}", stdout(&o));
    let out = stdout(&o);
    let j = json(&run(&["verify", &f, "--at", "2022-11-09T23:30:00Z", "--json"]));
    for i in [0, 1, 2, 4] {
        let k = format!("pcr{i}");
        assert_eq!(line(&out, &k).as_deref(), j["claims"]["measurements"][&k].as_str(), "{k}: {out}");
    }
    assert_eq!(line(&out, "pcr3").as_deref(), Some("(empty)"), "{out}");
    assert_eq!(line(&out, "pcr8").as_deref(), Some("(empty)"), "{out}");
    assert!(out.contains("SHA-384 PCRs in the signed document"), "{out}");
    // A document without user_data says so.
    let o = run(&["verify", &tv("nitro/evervault/valid-attestation-doc-bytes"), "--at", "document"]);
    assert_eq!(line(&stdout(&o), "user_data").as_deref(), Some("(empty)"), "{}", stdout(&o));
    assert_eq!(line(&stdout(&o), "pcr8").as_deref().map(str::len), Some(96), "{}", stdout(&o));
    // TDX: MRTD and RTMR0..3.
    let mut args = vec!["verify".to_string(), tv("ccel/gcp-cos113/cos-113-tdx-quote.dat")];
    args.extend(["--at".to_string(), "2025-11-01T00:00:00Z".into()]);
    for c in COS113_COLLATERAL {
        args.push("--collateral".into());
        args.push(tv(c));
    }
    let o = run_owned(args.clone());
    assert_eq!(code(&o), 0, "{}", stdout(&o));
    let out = stdout(&o);
    args.push("--json".into());
    let j = json(&run_owned(args));
    for k in ["mrtd", "rtmr0", "rtmr1", "rtmr2", "rtmr3"] {
        assert_eq!(line(&out, k).as_deref(), j["claims"]["measurements"][k].as_str(), "{k}: {out}");
    }
    // SNP: MEASUREMENT, HOST_DATA, REPORT_DATA.
    let report = tv("snp/trustee-milan/test-report.bin");
    let vcek = tv("snp/trustee-milan/test-vcek.der");
    let at = ["--product", "milan", "--at", "2024-01-01T00:00:00Z"];
    let o = run(&[&["verify", report.as_str(), "--collateral", vcek.as_str()][..], &at].concat());
    let out = stdout(&o);
    let j = json(&run(&[&["verify", report.as_str(), "--collateral", vcek.as_str(), "--json"][..], &at].concat()));
    for k in ["measurement", "host_data", "report_data"] {
        assert_eq!(line(&out, k).as_deref(), j["claims"][k].as_str(), "{k}: {out}");
    }
}

/// Every object key of `v`, recursively.
fn all_keys(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                out.push(k.clone());
                all_keys(x, out);
            }
        }
        Value::Array(a) => a.iter().for_each(|x| all_keys(x, out)),
        _ => {}
    }
}

#[test]
fn show_names_dcap_fields_as_verify_does_and_decodes_td_attributes() {
    let snake = |j: &Value, what: &str| {
        let mut keys = Vec::new();
        all_keys(j, &mut keys);
        let bad: Vec<&String> = keys
            .iter()
            .filter(|k| !k.bytes().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'_'))
            .collect();
        assert!(bad.is_empty(), "{what}: keys not in snake_case: {bad:?}");
    };
    // TDX: show's body keys are verify's claim keys, with the same values.
    let quote = tv("ccel/gcp-cos113/cos-113-tdx-quote.dat");
    let o = run(&["show", &quote, "--json"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let shown = json(&o);
    snake(&shown, "tdx quote");
    let mut args =
        vec!["verify".to_string(), quote.clone(), "--at".into(), "2025-11-01T00:00:00Z".into(), "--json".into()];
    for c in COS113_COLLATERAL {
        args.push("--collateral".into());
        args.push(tv(c));
    }
    let claims = json(&run_owned(args))["claims"].clone();
    let body = &shown["quote"]["body"];
    for k in [
        "mrtd",
        "rtmr0",
        "rtmr1",
        "rtmr2",
        "rtmr3",
        "mrconfigid",
        "mrowner",
        "mrownerconfig",
        "mrseam",
        "mrsignerseam",
        "seam_attributes",
        "td_attributes",
        "xfam",
        "tee_tcb_svn",
    ] {
        assert!(!body[k].is_null(), "show has no {k}: {body}");
        assert_eq!(body[k], claims[k], "{k}");
    }
    assert_eq!(body["report_data"], claims["report_data"]);
    // The debug TD's attributes, decoded.
    let o = run(&["show", &tv("tdx/trustee-misc/tdx_quote_4.dat"), "--json"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let td = &json(&o)["quote"]["body"]["td_attributes"];
    assert_eq!(td["debug"], true, "{td}");
    assert_eq!(td["sept_ve_disable"].as_bool(), Some(true), "{td}");
    // Human show prints the same names.
    let o = run(&["show", &quote]);
    assert!(stdout(&o).contains("  rtmr0: ") && !stdout(&o).contains("rtMr0"), "{}", stdout(&o));
    // SGX quote v3 (QE report, certification data) and the Azure TD report and TD quote.
    let o = run(&["show", &tv("sgx/dcap-qvl-sgx/sgx_quote"), "--json"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let j = json(&o);
    snake(&j, "sgx quote");
    assert_eq!(j["quote"]["body"]["attributes"]["debug"], false);
    assert!(j["quote"]["body"]["mrenclave"].as_str().is_some_and(|m| m.starts_with("33d8736d")));
    let o = run(&["show", &tv("azure/trustee-az-tdx-vtpm/evidence-v1.json"), "--json"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let j = json(&o);
    snake(&j["td_quote"], "azure td quote");
    assert_eq!(j["hardware_report"]["td_attributes"]["debug"], false, "{}", j["hardware_report"]);
    assert_eq!(j["hardware_report"]["rtmr0"], j["td_quote"]["body"]["rtmr0"]);
}
