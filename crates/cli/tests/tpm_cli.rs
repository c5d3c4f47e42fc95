//! `cloud-ra tpm ...`, `attest --platform azure-snp` and `survey` against swtpm, in the default build.

use std::process::{Command, Output};

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cloud-ra"))
        .args(args)
        .env_remove("TPM2TOOLS_TCTI")
        .env_remove("TCTI")
        .output()
        .expect("run cloud-ra")
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

mod with_tpm {
    use super::*;
    use cloud_ra_sim::swtpm::Swtpm;

    fn json(o: &Output) -> serde_json::Value {
        assert_eq!(o.status.code(), Some(0), "{}", text(o));
        serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(o)))
    }

    #[test]
    fn setup_ak_keys_quote_and_reboot() {
        let mut sw = Swtpm::start().expect("swtpm");
        let tcti = sw.tcti();
        let keys = json(&run(&["tpm", "keys", "--tcti", &tcti, "--json"]));
        assert_eq!(keys["persistent"], serde_json::json!([]));

        let first = json(&run(&["tpm", "setup-ak", "--tcti", &tcti, "--json"]));
        assert_eq!(first["ek"]["action"], "created");
        assert_eq!(first["ak"]["action"], "created");
        assert_eq!(first["ak"]["handle"], "0x81000002");
        let again = json(&run(&["tpm", "setup-ak", "--tcti", &tcti, "--json"]));
        assert_eq!(again["ek"]["action"], "already present");
        assert_eq!(again["ak"]["public"], first["ak"]["public"]);

        // A different AK algorithm at the same handle is refused, exit 1.
        let o = run(&["tpm", "setup-ak", "--tcti", &tcti, "--ak-alg", "ecc"]);
        assert_eq!(o.status.code(), Some(1), "{}", text(&o));
        assert!(text(&o).contains("refusing to replace"), "{}", text(&o));

        sw.restart().expect("restart");
        let tcti = sw.tcti();
        let keys = json(&run(&["tpm", "keys", "--tcti", &tcti, "--json"]));
        let list = keys["persistent"].as_array().unwrap();
        assert_eq!(list.len(), 2, "{keys}");
        assert_eq!(list[0]["handle"], "0x81000002");
        assert_eq!(list[0]["kind"], "ak");
        assert_eq!(list[1]["handle"], "0x81010001");
        assert_eq!(list[1]["kind"], "ek");
        assert!(list.iter().all(|k| k["usable"] == true), "{keys}");
        let human = run(&["tpm", "keys", "--tcti", &tcti]);
        assert!(text(&human).contains("EK RSA-2048 (TCG default template)"), "{}", text(&human));

        let q = json(&run(&[
            "tpm",
            "quote",
            "--tcti",
            &tcti,
            "--ak",
            "0x81000002",
            "--nonce",
            "c0ffee",
            "--pcrs",
            "sha256:15,16,22",
        ]));
        let h = |k: &str| hex::decode(q[k].as_str().unwrap()).unwrap();
        let ak = cloud_ra_verify::tpm::AkPublic::parse(&h("ak_public")).unwrap();
        let pcrs = h("tpm_pcrs");
        let mut m = cloud_ra_verify::tpm::QuotedPcrs::new();
        for (n, i) in [15u32, 16, 22].iter().enumerate() {
            m.entry(cloud_ra_verify::eventlog::AlgId::SHA256)
                .or_default()
                .insert(*i, pcrs[n * 32..n * 32 + 32].to_vec());
        }
        cloud_ra_verify::tpm::verify_quote(&ak, &h("tpm_quote"), &h("tpm_signature"), &[0xc0, 0xff, 0xee], &m)
            .expect("quote verifies");
    }

    #[test]
    fn no_tpm_is_a_precise_error() {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let o = run(&["tpm", "keys", "--tcti", &format!("swtpm:host=127.0.0.1,port={port}")]);
        assert_eq!(o.status.code(), Some(1), "{}", text(&o));
        assert!(text(&o).contains("no TPM reachable via TCTI"), "{}", text(&o));
        let o = run(&["tpm", "keys", "--tcti", "device:/nonexistent/tpm"]);
        assert!(text(&o).contains("/nonexistent/tpm does not exist"), "{}", text(&o));
        // A TCTI that does not parse, and one cloud-ra does not speak: one line each, exit 1.
        for (tcti, want) in [("swtpm:port=x", "port 'x' is not a number"), ("tabrmd:", "'tabrmd' is not a TCTI")] {
            let o = run(&["tpm", "quote", "--tcti", tcti, "--nonce", "00"]);
            assert_eq!(o.status.code(), Some(1), "{}", text(&o));
            assert!(text(&o).contains(want), "{}", text(&o));
            assert_eq!(text(&o).trim().lines().count(), 1, "{}", text(&o));
        }
        // The environment names the TPM like tpm2-tools: $TPM2TOOLS_TCTI, else $TCTI.
        let o = Command::new(env!("CARGO_BIN_EXE_cloud-ra"))
            .args(["tpm", "keys"])
            .env_remove("TPM2TOOLS_TCTI")
            .env("TCTI", "mssim:host=127.0.0.1,port=x")
            .output()
            .unwrap();
        assert!(text(&o).contains("mssim:host=127.0.0.1,port=x"), "{}", text(&o));
    }

    /// A swtpm provisioned like an Azure SNP CVM by the simulated paravisor.
    fn azure_swtpm() -> (Swtpm, Vec<u8>) {
        let sw = Swtpm::start().expect("swtpm");
        let mut tpm = cloud_ra_attest::TpmClient::open(&sw.tcti()).expect("open");
        let ak = cloud_ra_attest::sim_azure::provision(
            &mut tpm,
            cloud_ra_attest::azure::AzureTee::Snp,
            cloud_ra_attest::tpm::KeyAlg::Rsa2048,
        )
        .expect("provision");
        (sw, ak)
    }

    #[test]
    fn attest_azure_on_a_simulated_azure_vtpm() {
        let (sw, ak) = azure_swtpm();
        let tcti = sw.tcti();
        let dir = std::env::temp_dir().join(format!("cloud-ra-tpm-cli-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let out = dir.join("evidence.json");
        let nonce = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
        let o = run(&[
            "attest",
            "--platform",
            "azure-snp",
            "--nonce",
            nonce,
            "--tcti",
            &tcti,
            "--pcrs",
            "sha256:15,16,22",
            "-o",
            out.to_str().unwrap(),
        ]);
        assert_eq!(o.status.code(), Some(0), "{}", text(&o));
        let b = cloud_ra_verify::bundle::Bundle::parse(&std::fs::read(&out).unwrap()).unwrap();
        assert_eq!(b.platform, "azure-snp-vtpm");
        assert_eq!(b.nonce.as_deref(), Some(nonce));
        assert_eq!(b.aux, serde_json::json!({"fresh_report": false}));
        assert_eq!(b.evidence["ak_public"].0, ak);
        let akp = cloud_ra_verify::tpm::AkPublic::parse(&ak).unwrap();
        let pcrs = &b.evidence["tpm_pcrs"].0;
        let mut m = cloud_ra_verify::tpm::QuotedPcrs::new();
        for (n, i) in [15u32, 16, 22].iter().enumerate() {
            m.entry(cloud_ra_verify::eventlog::AlgId::SHA256)
                .or_default()
                .insert(*i, pcrs[n * 32..n * 32 + 32].to_vec());
        }
        cloud_ra_verify::tpm::verify_quote(
            &akp,
            &b.evidence["tpm_quote"].0,
            &b.evidence["tpm_signature"].0,
            &hex::decode(nonce).unwrap(),
            &m,
        )
        .expect("quote verifies");

        // `verify` takes it: the simulated AMD chain as collateral, the seed's PCRs required.
        let vcek = dir.join("vcek.pem");
        let sim = cloud_ra_sim::SimAmd::get();
        let spec = cloud_ra_sim::ReportBuilder::new().vek_spec(cloud_ra_sim::VekKind::Vcek);
        std::fs::write(&vcek, cloud_ra_sim::pem("CERTIFICATE", &sim.vek_der(&spec))).unwrap();
        let policy = dir.join("policy.toml");
        std::fs::write(&policy, "[azure]\nrequired_pcrs = [15, 16, 22]\n").unwrap();
        let verify = |nonce: &str| {
            run(&[
                "verify",
                out.to_str().unwrap(),
                "--trust-simulated",
                "--offline",
                "--nonce",
                nonce,
                "--collateral",
                vcek.to_str().unwrap(),
                "--policy",
                policy.to_str().unwrap(),
                "--json",
            ])
        };
        let v = verify(nonce);
        assert_eq!(v.status.code(), Some(0), "{}", text(&v));
        let j: serde_json::Value = serde_json::from_slice(&v.stdout).unwrap();
        assert_eq!(j["claims"]["freshness"], "tpm-quote", "{j}");
        let v = verify("0badc0de");
        assert_ne!(v.status.code(), Some(0), "{}", text(&v));

        // Without --nonce: 32 fresh bytes (every TPM takes them as qualifying data), printed.
        let o = run(&["attest", "--platform", "azure-snp", "--tcti", &tcti, "-o", out.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(0), "{}", text(&o));
        let b = cloud_ra_verify::bundle::Bundle::parse(&std::fs::read(&out).unwrap()).unwrap();
        let fresh = b.nonce.expect("nonce recorded");
        assert_eq!(fresh.len(), 64, "{fresh}");
        assert!(text(&o).contains(&format!("nonce: {fresh}")), "{}", text(&o));
        assert_eq!(verify(&fresh).status.code(), Some(0));

        // The other TEE, and a fresh report nobody answers: precise refusals, exit 1.
        let o = run(&["attest", "--platform", "azure-tdx", "--nonce", nonce, "--tcti", &tcti]);
        assert_eq!(o.status.code(), Some(1), "{}", text(&o));
        assert!(text(&o).contains("expected an Azure TDX CVM"), "{}", text(&o));
        let o = run(&[
            "attest",
            "--platform",
            "azure-snp",
            "--nonce",
            nonce,
            "--tcti",
            &tcti,
            "--fresh-report",
            "nonce",
            "--fresh-timeout-ms",
            "200",
        ]);
        assert_eq!(o.status.code(), Some(1), "{}", text(&o));
        assert!(text(&o).contains("never changed"), "{}", text(&o));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn survey_reads_the_tpm_named_by_the_environment() {
        let (sw, _) = azure_swtpm();
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../attest/tests/fixtures/roots/azure-snp");
        let o = Command::new(env!("CARGO_BIN_EXE_cloud-ra"))
            .args(["survey", "--json", "--no-report", "--root", root.to_str().unwrap()])
            .env("TPM2TOOLS_TCTI", sw.tcti())
            .output()
            .unwrap();
        let j = json(&o);
        let handles = &j["facts"]["tpm.persistent_handles"]["value"];
        assert_eq!(
            handles,
            &serde_json::json!([{"handle": "0x81000003", "kind": "AK-RSA"}, {"handle": "0x81010001", "kind": "EK-RSA"}]),
            "{j}"
        );
        let nv = j["facts"]["tpm.nv_indexes"]["value"].as_array().unwrap();
        assert!(nv.iter().any(|v| v["index"] == "0x01400001"), "{j}");
        assert_eq!(j["facts"]["vtpm.tee_rooted"]["value"], "paravisor", "{j}");
        // Without a named TPM, a fixture tree gets no TPM probe.
        let o = run(&["survey", "--json", "--no-report", "--root", root.to_str().unwrap()]);
        assert!(json(&o)["facts"].get("tpm.persistent_handles").is_none());
    }
}
