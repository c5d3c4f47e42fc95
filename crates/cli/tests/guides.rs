//! Every `cloud-ra` command of docs/clouds/*.md is run here, on the simulated platforms, the
//! reconstructed fixture trees and the shared recorded evidence (docs/clouds/README.md, "How these
//! guides are tested"). A command this test cannot map fails it.

use cloud_ra_sim::testdata;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output};

const NONCE: &str = "6e6f6e63652066726f6d20746865207665726966696572";

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

struct Guide {
    file: &'static str,
    /// Fixture root (crates/attest/tests/fixtures/roots/<root>) for detect and survey.
    root: &'static str,
    /// Real platform -> simulated platform.
    platforms: &'static [(&'static str, &'static str)],
    /// Whether the evidence of this guide is simulated (verify then trusts the simulated roots).
    simulated: bool,
    /// Files named in the guide -> shared test vectors (recorded evidence).
    recorded: &'static [(&'static str, &'static str)],
}

const GUIDES: &[Guide] = &[
    Guide {
        file: "aws-snp.md",
        root: "aws-snp",
        platforms: &[("snp", "sim-snp-vlek")],
        simulated: true,
        recorded: &[],
    },
    Guide { file: "gcp-snp.md", root: "gcp-snp", platforms: &[("snp", "sim-snp")], simulated: true, recorded: &[] },
    Guide {
        file: "sakura-snp.md",
        root: "sakura-snp",
        platforms: &[("snp", "sim-snp-vmpl2")],
        simulated: true,
        recorded: &[],
    },
    Guide { file: "gcp-tdx.md", root: "gcp-tdx", platforms: &[("tdx", "sim-tdx")], simulated: true, recorded: &[] },
    Guide { file: "azure-snp.md", root: "azure-snp", platforms: &[], simulated: false, recorded: &[] },
    Guide { file: "azure-tdx.md", root: "azure-tdx", platforms: &[], simulated: false, recorded: &[] },
    Guide {
        file: "azure-sgx.md",
        root: "azure-sgx",
        platforms: &[],
        simulated: false,
        recorded: &[
            ("quote.dat", "sgx/automata-icx-0825/quotev3.hex"),
            ("tcbinfo.json", "sgx/automata-icx-0825/sgx_tcbinfov3_00606a000000.json"),
            ("qe_identity.json", "sgx/automata-icx-0825/sgx_qeidentity_v4.json"),
            ("pck_crl.der", "sgx/automata-icx-0825/platform_crl.der"),
            ("tcb_signing.der", "roots/intel/tcb_signing.der"),
            ("root_crl.der", "roots/intel/intel_root_ca_crl.der"),
        ],
    },
    Guide {
        file: "aws-nitro.md",
        root: "aws-nitro-enclave",
        platforms: &[("nitro", "sim-nitro")],
        simulated: true,
        recorded: &[],
    },
    // Last: compares the surveys the guides above wrote.
    Guide { file: "README.md", root: "bare", platforms: &[], simulated: false, recorded: &[] },
];

/// (command tokens, expected exit code) of every `cloud-ra` line in the guide's `sh` blocks.
fn commands(text: &str) -> Vec<(Vec<String>, i32)> {
    let mut out = Vec::new();
    let mut in_sh = false;
    for line in text.lines() {
        let t = line.trim();
        if t.starts_with("```") {
            in_sh = !in_sh && t == "```sh";
            continue;
        }
        if !in_sh || !t.starts_with("cloud-ra ") {
            continue;
        }
        let (cmd, comment) = t.split_once('#').unwrap_or((t, ""));
        let code = comment.trim().strip_prefix("exit ").map(|n| n.trim().parse().expect("exit code")).unwrap_or(0);
        assert!(!cmd.contains(['"', '\'', '|', '>', '<']), "guides keep commands simple: {t}");
        out.push((cmd.split_whitespace().skip(1).map(str::to_string).collect(), code));
    }
    out
}

fn bin(cwd: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_cloud-ra"));
    c.current_dir(cwd)
        .env("CLOUD_RA_OFFLINE", "1")
        .env("CLOUD_RA_CACHE_DIR", cwd.join("cache"))
        .env_remove("CLOUD_RA_CONFIG");
    c
}

fn replace_pair(args: &mut Vec<String>, flag: &str, value: &str, with: &[&str]) -> bool {
    let Some(i) = args.windows(2).position(|w| w[0] == flag && w[1] == value) else { return false };
    args.splice(i..i + 2, with.iter().map(|s| s.to_string()));
    true
}

/// A swtpm provisioned like an Azure CVM by the simulated paravisor (`cloud_ra_attest::sim_azure`),
/// and the arguments that point `attest` at it (and, for TDX, at a loopback IMDS).
fn azure_vtpm(tdx: bool) -> (cloud_ra_sim::swtpm::Swtpm, Vec<String>) {
    use cloud_ra_attest::azure::AzureTee;
    let sw = cloud_ra_sim::swtpm::Swtpm::start().expect("swtpm");
    let mut tpm = cloud_ra_attest::TpmClient::open(&sw.tcti()).expect("open swtpm");
    let tee = if tdx { AzureTee::Tdx } else { AzureTee::Snp };
    cloud_ra_attest::sim_azure::provision(&mut tpm, tee, cloud_ra_attest::tpm::KeyAlg::Rsa2048).expect("provision");
    drop(tpm);
    let mut extra = vec!["--tcti".to_string(), sw.tcti()];
    if tdx {
        extra.extend(["--imds".to_string(), imds_stub()]);
    }
    (sw, extra)
}

/// A loopback IMDS answering `POST /acc/tdquote` with a simulated TD quote for the TDREPORT's
/// REPORTDATA (`{"report": base64url}` in, `{"quote": base64url}` out).
fn imds_stub() -> String {
    use base64::Engine;
    use std::io::{BufRead, BufReader, Read, Write};
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let base = format!("http://{}", l.local_addr().expect("addr"));
    std::thread::spawn(move || {
        for mut s in l.incoming().flatten() {
            let mut r = BufReader::new(s.try_clone().expect("clone"));
            let (mut line, mut len) = (String::new(), 0usize);
            let _ = r.read_line(&mut line);
            let target = line.split_whitespace().nth(1).unwrap_or_default().to_string();
            loop {
                let mut h = String::new();
                if r.read_line(&mut h).unwrap_or(0) == 0 || h.trim().is_empty() {
                    break;
                }
                if let Some((k, v)) = h.split_once(':')
                    && k.trim().eq_ignore_ascii_case("content-length")
                {
                    len = v.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0u8; len];
            let _ = r.read_exact(&mut body);
            let report = serde_json::from_slice::<serde_json::Value>(&body)
                .ok()
                .and_then(|v| v["report"].as_str().map(str::to_string))
                .and_then(|r| base64::engine::general_purpose::URL_SAFE.decode(r).ok())
                .filter(|r| r.len() == 1024 && target == "/acc/tdquote");
            let (status, answer) = match report {
                Some(td) => {
                    let mut rd = [0u8; 64];
                    rd.copy_from_slice(&td[128..192]);
                    let spec = cloud_ra_sim::intel::QuoteSpec {
                        report_data: rd,
                        ..cloud_ra_sim::intel::QuoteSpec::new(cloud_ra_sim::intel::QuoteKind::TdxV4)
                    };
                    let q = cloud_ra_sim::intel::SimIntel::get().quote(&spec);
                    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(q);
                    (200, serde_json::json!({ "quote": b64 }).to_string())
                }
                None => (400, "{\"error\":\"bad request\"}".to_string()),
            };
            let _ = write!(
                s,
                "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{answer}",
                answer.len()
            );
        }
    });
    base
}

struct Server(Child);
impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn every_guide_command_runs_on_simulated_platforms_or_recorded_evidence() {
    let scratch = std::env::temp_dir().join(format!("cloud-ra-guides-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&scratch);
    std::fs::create_dir_all(&scratch).expect("scratch");
    // The VCEK the guides pass with --collateral (AMD KDS would serve it for a real report).
    let spec = cloud_ra_sim::ReportBuilder::new().vek_spec(cloud_ra_sim::VekKind::Vcek);
    let vcek = cloud_ra_sim::SimAmd::get().vek_der(&spec);
    std::fs::write(scratch.join("vcek.pem"), cloud_ra_sim::pem("CERTIFICATE", &vcek)).expect("vcek");

    let mut listed: Vec<String> = std::fs::read_dir(repo().join("docs/clouds"))
        .expect("docs/clouds")
        .map(|e| e.expect("e").file_name().to_string_lossy().into_owned())
        .collect();
    listed.sort();
    let mut known: Vec<String> = GUIDES.iter().map(|g| g.file.to_string()).collect();
    known.sort();
    assert_eq!(listed, known, "every guide is covered by this test");

    let mut ran = 0;
    let mut server: Option<(Server, String)> = None;
    let mut vtpms: Vec<cloud_ra_sim::swtpm::Swtpm> = Vec::new();
    for g in GUIDES {
        let text = std::fs::read_to_string(repo().join("docs/clouds").join(g.file)).expect("guide");
        let cmds = commands(&text);
        assert!(!cmds.is_empty(), "{}: no cloud-ra commands", g.file);
        for (orig, want) in cmds {
            let mut args: Vec<String> =
                orig.iter().map(|a| if a == "$NONCE" { NONCE.to_string() } else { a.clone() }).collect();
            for (name, rel) in g.recorded {
                for a in args.iter_mut() {
                    if a == name {
                        *a = testdata::path(rel).to_string_lossy().into_owned();
                    }
                }
            }
            match (args[0].as_str(), args.get(1).map(String::as_str)) {
                ("detect" | "survey", _) => {
                    let root = repo().join("crates/attest/tests/fixtures/roots").join(g.root);
                    args.extend(["--root".into(), root.to_string_lossy().into_owned()]);
                }
                ("attest", _) => {
                    let i = args.iter().position(|a| a == "--platform").expect("guides name the platform") + 1;
                    if let Some((_, sim)) = g.platforms.iter().find(|(real, _)| *real == args[i]) {
                        args[i] = sim.to_string();
                    } else if args[i].starts_with("azure-") {
                        // A swtpm the simulated paravisor provisioned like an Azure CVM (and a
                        // loopback IMDS for TDX).
                        let (sw, extra) = azure_vtpm(args[i] == "azure-tdx");
                        args.extend(extra);
                        vtpms.push(sw);
                    } else {
                        panic!("{}: cannot map platform {}", g.file, args[i]);
                    }
                }
                ("verify", _) => {
                    if g.simulated {
                        args.push("--trust-simulated".into());
                    }
                }
                ("show" | "compare", _) => {}
                ("nitro", Some("serve")) => {
                    let port =
                        std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("a").port();
                    let addr = format!("127.0.0.1:{port}");
                    assert!(replace_pair(
                        &mut args,
                        "--port",
                        "5000",
                        &["--tcp", &addr, "--simulated", "--max-connections", "8"]
                    ));
                    let child = bin(&scratch).args(&args).stderr(std::process::Stdio::null()).spawn().expect("server");
                    let up = (0..100).any(|_| {
                        std::thread::sleep(std::time::Duration::from_millis(50));
                        std::net::TcpStream::connect(&addr).is_ok()
                    });
                    assert!(up, "nitro serve did not start");
                    server = Some((Server(child), addr));
                    ran += 1;
                    continue;
                }
                ("nitro", Some("request")) => {
                    let addr = server.as_ref().map(|s| s.1.clone()).expect("serve runs first");
                    assert!(replace_pair(&mut args, "--cid", "16", &[]));
                    assert!(replace_pair(&mut args, "--port", "5000", &["--tcp", &addr, "--trust-simulated"]));
                }
                _ => panic!("{}: command not exercised by this test: cloud-ra {}", g.file, orig.join(" ")),
            }
            let o: Output = bin(&scratch).args(&args).output().expect("runs");
            let (out, err) = (String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
            assert_eq!(
                o.status.code(),
                Some(want),
                "{}: cloud-ra {}\n(ran: {})\nstdout: {out}\nstderr: {err}",
                g.file,
                orig.join(" "),
                args.join(" ")
            );
            assert!(!err.contains("panicked"), "{err}");
            ran += 1;
        }
    }
    // What the README's compare lines produced.
    let html = std::fs::read_to_string(scratch.join("clouds.html")).expect("compare --html wrote clouds.html");
    assert!(html.contains("<table id=\"sev-snp\">"));
    for label in ["aws-snp", "gcp-snp", "sakura-snp"] {
        assert!(html.contains(&format!("<th>{label}</th>")), "{label}");
    }
    assert!(ran >= 30, "only {ran} guide commands ran");
    drop(server);
    let _ = std::fs::remove_dir_all(&scratch);
}
