//! Veraison's own Rust API client (github.com/veraison/rust-apiclient, in ../shared/clients, see
//! its README.md) against `cloud-ra serve`: discovery (`/.well-known/veraison/verification`,
//! its `api-endpoints`), a new challenge–response session, evidence from `cloud-ra attest` for
//! the session's nonce, the session resource with the result; the result is then checked with
//! `cloud-ra token verify` against the server's JWKS and the nonce of the audit record.
//!
//! The client is built once per run (`--locked` with the lock file beside this test: the shared
//! copy ships none) from a copy of its sources outside this workspace, into
//! `target/veraison-client`. A debug build: cold, it costs about 60% of the CPU time of a
//! release one (4.4 against 7.2 CPU-minutes here), and the flow needs no speed.

mod cli_common;

use cli_common::{bin, serve};
use std::path::{Path, PathBuf};
use std::process::Command;

const TOKEN: &str = "veraison-client-admin-token-0123456789";
const LOCK: &[u8] = include_bytes!("veraison-client.Cargo.lock");

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The shared clients (`CLOUD_RA_CLIENTS`, else ../shared/clients); fails loudly when missing.
fn clients() -> PathBuf {
    let d = std::env::var_os("CLOUD_RA_CLIENTS").map(PathBuf::from).unwrap_or_else(|| repo().join("../shared/clients"));
    assert!(
        d.join("veraison-apiclient/Cargo.toml").is_file(),
        "Veraison's client not found at {} (set CLOUD_RA_CLIENTS)",
        d.display()
    );
    d
}

/// Copies `from` into `to`, rewriting only files whose content differs (so cargo's fingerprints
/// of an earlier build stay valid), and leaves the copy writable.
fn sync(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        let (src, dst) = (e.path(), to.join(e.file_name()));
        let t = e.file_type().unwrap();
        if t.is_dir() {
            if e.file_name() != "target" {
                sync(&src, &dst);
            }
        } else if t.is_file() {
            let bytes = std::fs::read(&src).unwrap();
            if std::fs::read(&dst).ok().as_deref() != Some(&bytes[..]) {
                std::fs::write(&dst, &bytes).unwrap();
            }
        }
    }
}

fn write_if_changed(p: &Path, bytes: &[u8]) {
    if std::fs::read(p).ok().as_deref() != Some(bytes) {
        std::fs::write(p, bytes).unwrap();
    }
}

/// Builds the `cloudra` example of Veraison's client; returns the executable.
fn build_client() -> PathBuf {
    let src = std::env::temp_dir().join("cloud-ra-veraison-client-src");
    for krate in ["veraison-apiclient", "coserv-rs"] {
        sync(&clients().join(krate), &src.join(krate));
    }
    write_if_changed(&src.join("veraison-apiclient/Cargo.lock"), LOCK);
    let target = repo().join("target/veraison-client");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let start = std::time::Instant::now();
    let out = Command::new(cargo)
        .args(["build", "--locked", "--example", "cloudra", "--manifest-path"])
        .arg(src.join("veraison-apiclient/Cargo.toml"))
        .arg("--target-dir")
        .arg(&target)
        .env_remove("CARGO_TARGET_DIR")
        .output()
        .expect("cargo runs");
    assert!(out.status.success(), "building Veraison's client: {}", String::from_utf8_lossy(&out.stderr));
    eprintln!("Veraison's client built in {:.1} s", start.elapsed().as_secs_f64());
    target.join("debug/examples/cloudra")
}

#[test]
fn veraison_rust_client_runs_the_challenge_response_flow() {
    let client = build_client();
    let dir = std::env::temp_dir().join(format!("cloud-ra-veraison-client-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let (mut server, url) = serve(&dir, TOKEN);

    let out = Command::new(&client)
        .env("BASE", &url)
        .env("CLOUD_RA_BIN", env!("CARGO_BIN_EXE_cloud-ra"))
        .env("TMPDIR", &dir)
        .output()
        .expect("the client runs");
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let log = std::fs::read_to_string(dir.join("server.log")).unwrap_or_default();
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{}\nserver:\n{log}", String::from_utf8_lossy(&out.stderr));
    // Discovery found Veraison's endpoint name.
    assert!(stdout.contains("newChallengeResponseSession"), "{stdout}");
    let token = stdout
        .lines()
        .find_map(|l| l.strip_prefix("RESULT "))
        .unwrap_or_else(|| panic!("no RESULT line: {stdout}"))
        .trim()
        .to_string();

    // The result, as a relying party checks it: the server's JWKS, the session's nonce.
    let c = reqwest::blocking::Client::new();
    let jwks = dir.join("jwks.json");
    std::fs::write(&jwks, c.get(format!("{url}/.well-known/jwks.json")).send().unwrap().bytes().unwrap()).unwrap();
    let list = c.get(format!("{url}/v1/appraisals")).bearer_auth(TOKEN).send().unwrap().bytes().unwrap();
    let list: serde_json::Value = serde_json::from_slice(&list).unwrap();
    let a = &list["appraisals"][0];
    assert_eq!(a["token"], token.as_str(), "the audit record holds the result the client got");
    assert_eq!(a["nonce_source"], "verifier-issued");
    let nonce = a["nonce"].as_str().expect("nonce").to_string();
    let result = dir.join("ear.jwt");
    std::fs::write(&result, &token).unwrap();
    let ok = bin()
        .args(["token", "verify"])
        .arg(&result)
        .arg("--jwks")
        .arg(&jwks)
        .args(["--nonce", &nonce, "--json"])
        .output()
        .unwrap();
    assert_eq!(ok.status.code(), Some(0), "{}", String::from_utf8_lossy(&ok.stderr));
    let v: serde_json::Value = serde_json::from_slice(&ok.stdout).unwrap();
    assert_eq!(v["nonce_checked"], true);
    assert_eq!(v["ear_status"], "warning", "simulated hardware: {v}");
    // SAFETY: signalling our own child process.
    unsafe {
        libc::kill(server.id() as i32, libc::SIGTERM);
    }
    assert_eq!(server.wait().unwrap().code(), Some(0));
}
