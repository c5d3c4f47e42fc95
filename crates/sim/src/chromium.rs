//! Headless Chromium for the browser tests (Debian's `chromium`, installed by scripts/install-deps.sh;
//! `CLOUD_RA_CHROMIUM` names another binary): the flags this closed-network machine needs, a fresh
//! profile directory, and a bounded run time.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

/// The Chromium binary; panics with what to do when it is missing (a test needs it).
pub fn binary() -> String {
    let path = std::env::var("CLOUD_RA_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    assert!(
        Path::new(&path).exists(),
        "{path} not found: install chromium (scripts/install-deps.sh does) or set CLOUD_RA_CHROMIUM"
    );
    path
}

/// Runs headless Chromium with `args` (e.g. `--dump-dom URL`, `--screenshot=FILE URL`) in the
/// profile directory `profile`; panics if it does not finish within 120 s.
pub fn headless(args: &[&str], profile: &Path) -> Output {
    let mut child = Command::new(binary())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            &format!("--user-data-dir={}", profile.display()),
        ])
        .args(args)
        .env("HOME", profile)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("chromium starts");
    for _ in 0..1200 {
        if child.try_wait().expect("wait").is_some() {
            return child.wait_with_output().expect("output");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = child.kill();
    panic!("chromium did not finish within 120 s: {args:?}");
}
