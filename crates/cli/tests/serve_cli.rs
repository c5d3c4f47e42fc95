//! `cloud-ra serve`, `cloud-ra attest --verifier` and `cloud-ra token verify` as processes: the
//! attester's whole flow against a running verifier, the result checked as a relying party
//! would, and a graceful stop on SIGTERM.

mod cli_common;

use cli_common::{bin, serve, spawn_listening};
use std::path::PathBuf;

const TOKEN: &str = "cli-test-admin-token-0123456789";

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("cloud-ra-serve-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn attest_with_verifier_then_token_verify() {
    let dir = scratch("flow");
    let (mut server, url) = serve(&dir, TOKEN);
    let result = dir.join("ear.jwt");
    let out = bin()
        .args(["attest", "--platform", "sim-snp", "--extended", "--verifier", &url, "--result"])
        .arg(&result)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(err.contains("ear.status: warning"), "simulated hardware gives a warning: {err}");
    let token = std::fs::read_to_string(&result).unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), token.trim());
    // The session nonce the attester used, from its progress line.
    let nonce =
        err.split("nonce ").nth(1).and_then(|s| s.split_whitespace().next()).expect("nonce printed").to_string();
    let jwks = dir.join("jwks.json");
    let body = reqwest::blocking::get(format!("{url}/.well-known/jwks.json")).unwrap().bytes().unwrap();
    std::fs::write(&jwks, &body).unwrap();
    let jwks_s = jwks.to_str().unwrap();
    let res_s = result.to_str().unwrap();
    let ok = bin().args(["token", "verify", res_s, "--jwks", jwks_s, "--nonce", &nonce, "--json"]).output().unwrap();
    assert_eq!(ok.status.code(), Some(0), "{}", String::from_utf8_lossy(&ok.stderr));
    let v: serde_json::Value = serde_json::from_slice(&ok.stdout).unwrap();
    assert_eq!(v["ear_status"], "warning");
    assert_eq!(v["nonce_checked"], true);
    assert_eq!(v["submods"]["snp"]["trustworthiness_vector"]["hardware"], 32);
    // Another nonce, a tampered token, a foreign key: refused (exit 2).
    let other = "00".repeat(64);
    let wrong = bin().args(["token", "verify", res_s, "--jwks", jwks_s, "--nonce", &other]).output().unwrap();
    assert_eq!(wrong.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&wrong.stderr).contains("ear.nonce"));
    let mut parts: Vec<String> = token.trim().split('.').map(str::to_string).collect();
    parts[1] = parts[1].replacen('e', "f", 1);
    let tampered = bin().args(["token", "verify", &parts.join("."), "--jwks", jwks_s]).output().unwrap();
    assert_eq!(tampered.status.code(), Some(2), "{}", String::from_utf8_lossy(&tampered.stderr));
    // The key file is owner-only and the private key never appears in the log.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(dir.join("key.pem")).unwrap().permissions().mode() & 0o777, 0o600);
    }
    let key = std::fs::read_to_string(dir.join("key.pem")).unwrap();
    let key_b64 = key.lines().nth(1).unwrap();
    // SIGTERM: graceful stop, exit 0.
    // SAFETY: signalling our own child process.
    unsafe {
        libc::kill(server.id() as i32, libc::SIGTERM);
    }
    let status = server.wait().unwrap();
    assert_eq!(status.code(), Some(0));
    let log = std::fs::read_to_string(dir.join("server.log")).unwrap();
    assert!(log.contains("cloud-ra verifier stopped"), "{log}");
    assert!(!log.contains(key_b64) && !log.contains("PRIVATE KEY"), "{log}");
}

#[test]
fn serve_refuses_plain_http_off_loopback() {
    let dir = scratch("plain");
    let out = bin()
        .args(["serve", "--listen", "0.0.0.0:0", "--db"])
        .arg(format!("sqlite://{}", dir.join("a.db").display()))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("refusing plain HTTP"));
}

/// Without --db and --signing-key, the key and the audit database go to the state directory
/// ($STATE_DIRECTORY here), created 0700, the files 0600; nothing lands in the working directory.
#[cfg(unix)]
#[test]
fn default_state_lives_in_the_state_directory() {
    use std::os::unix::fs::PermissionsExt;
    let dir = scratch("state");
    let (state, cwd) = (dir.join("state"), dir.join("cwd"));
    std::fs::create_dir_all(&cwd).unwrap();
    let mut cmd = bin();
    cmd.args(["serve", "--listen", "127.0.0.1:0"]).current_dir(&cwd).env("STATE_DIRECTORY", &state);
    let (mut child, line) = spawn_listening(cmd, &dir);
    let log = || std::fs::read_to_string(dir.join("server.log")).unwrap_or_default();
    assert!(line.starts_with("listening on "), "{line:?}: {}", log());
    // SIGTERM at once: the handler is in place before the "listening" line (graceful, exit 0).
    // SAFETY: signalling our own child process.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGTERM);
    }
    assert_eq!(child.wait().unwrap().code(), Some(0), "{}", log());
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&state), 0o700, "state directory");
    assert_eq!(mode(&state.join("signing-key.pem")), 0o600);
    assert_eq!(mode(&state.join("cloud-ra.db")), 0o600);
    assert_eq!(std::fs::read_dir(&cwd).unwrap().count(), 0, "nothing in the working directory");
}
