//! What the CLI test binaries share: the binary with no network and a private cache, output
//! accessors, the shared test vectors, and a scratch directory removed on drop.
#![allow(dead_code)]

use cloud_ra_sim::testdata;
use serde_json::Value;
use std::path::PathBuf;
use std::process::{Command, Output};

/// The binary with no network and no user cache: collateral comes from the files given.
pub fn bin() -> Command {
    let cache = std::env::temp_dir().join(format!("cloud-ra-cli-cache-{}", std::process::id()));
    let mut c = Command::new(env!("CARGO_BIN_EXE_cloud-ra"));
    c.env("CLOUD_RA_OFFLINE", "1").env("CLOUD_RA_CACHE_DIR", cache).env_remove("CLOUD_RA_CONFIG");
    c
}

pub fn run(args: &[&str]) -> Output {
    bin().args(args).output().expect("cloud-ra runs")
}

pub fn code(o: &Output) -> i32 {
    o.status.code().expect("exit code")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

pub fn json(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {}", stdout(o)))
}

/// A shared test vector's path.
pub fn tv(rel: &str) -> String {
    testdata::path(rel).to_string_lossy().into_owned()
}

pub struct Scratch(pub PathBuf);

impl Scratch {
    pub fn new(name: &str) -> Self {
        let d = std::env::temp_dir().join(format!("cloud-ra-cli-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).expect("scratch dir");
        Scratch(d)
    }
    pub fn file(&self, name: &str, bytes: &[u8]) -> String {
        let p = self.0.join(name);
        std::fs::write(&p, bytes).expect("write scratch file");
        p.to_string_lossy().into_owned()
    }
    pub fn path(&self, name: &str) -> String {
        self.0.join(name).to_string_lossy().into_owned()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Starts `cloud-ra serve` on a loopback port with the simulated roots trusted, its SQLite audit
/// database, signing key and log (`server.log`) in `dir`, admin token `token`; returns the child
/// and the base URL from its first stdout line.
pub fn serve(dir: &std::path::Path, token: &str) -> (std::process::Child, String) {
    let mut cmd = bin();
    cmd.args(["serve", "--listen", "127.0.0.1:0", "--trust-simulated"])
        .arg("--db")
        .arg(format!("sqlite://{}", dir.join("audit.db").display()))
        .arg("--signing-key")
        .arg(dir.join("key.pem"))
        .env("CLOUD_RA_ADMIN_TOKEN", token);
    let (child, line) = spawn_listening(cmd, dir);
    let url = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_string();
    (child, url)
}

/// Spawns a server command with stdout piped and stderr in `dir/server.log`; returns the child
/// and its first stdout line (the "listening on" line, once it is ready).
pub fn spawn_listening(mut cmd: Command, dir: &std::path::Path) -> (std::process::Child, String) {
    use std::io::{BufRead, BufReader};
    let mut child = cmd
        .stdout(std::process::Stdio::piped())
        .stderr(std::fs::File::create(dir.join("server.log")).expect("server log"))
        .spawn()
        .expect("cloud-ra serve starts");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout")).read_line(&mut line).expect("first line");
    (child, line)
}
