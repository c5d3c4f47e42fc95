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
            let mut want = want;
            let mut must_say: Option<&str> = None;
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
                        // Pending the TPM backend: refused with that reason.
                        want = 1;
                        must_say = Some("needs the vTPM backend");
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
            if let Some(m) = must_say {
                assert!(err.contains(m), "{}: {err}", g.file);
            }
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
