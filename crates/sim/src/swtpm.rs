//! A real software TPM for tests: `swtpm socket` on free loopback ports with its state in a
//! directory, killed on drop. Restartable on the same state (a "reboot": persistent handles and
//! NV indexes survive, transient objects and PCRs do not).

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running swtpm. The TCTI string is `swtpm:host=127.0.0.1,port=N` (control port N+1).
pub struct Swtpm {
    child: Option<Child>,
    port: u16,
    dir: PathBuf,
    owns_dir: bool,
}

fn free_port_pair() -> Result<u16, String> {
    for _ in 0..50 {
        let a = TcpListener::bind("127.0.0.1:0").map_err(|e| format!("bind loopback: {e}"))?;
        let p = a.local_addr().map_err(|e| e.to_string())?.port();
        if p == u16::MAX {
            continue;
        }
        if TcpListener::bind(("127.0.0.1", p + 1)).is_ok() {
            return Ok(p);
        }
    }
    Err("no two adjacent free loopback ports".into())
}

impl Swtpm {
    /// Whether the `swtpm` binary is installed.
    pub fn available() -> bool {
        Command::new("swtpm").arg("--version").stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok()
    }

    /// Starts swtpm with a fresh state directory under the system temp dir (removed on drop).
    pub fn start() -> Result<Swtpm, String> {
        static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("cloud-ra-swtpm-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let mut s = Swtpm { child: None, port: 0, dir, owns_dir: true };
        s.spawn()?;
        Ok(s)
    }

    /// Starts swtpm on an existing state directory (kept on drop).
    pub fn start_in(dir: &Path) -> Result<Swtpm, String> {
        let mut s = Swtpm { child: None, port: 0, dir: dir.to_path_buf(), owns_dir: false };
        s.spawn()?;
        Ok(s)
    }

    fn spawn(&mut self) -> Result<(), String> {
        // One start at a time in this process, from picking the ports until swtpm listens on
        // them, so parallel tests never pick the same pair (and never talk to each other's TPM).
        static STARTING: std::sync::Mutex<()> = std::sync::Mutex::new(());
        let _guard = STARTING.lock().unwrap_or_else(|p| p.into_inner());
        let mut last = String::new();
        for _ in 0..5 {
            let port = free_port_pair()?;
            let child = Command::new("swtpm")
                .arg("socket")
                .arg("--tpm2")
                .arg("--tpmstate")
                .arg(format!("dir={}", self.dir.display()))
                .arg("--server")
                .arg(format!("type=tcp,port={port},bindaddr=127.0.0.1"))
                .arg("--ctrl")
                .arg(format!("type=tcp,port={},bindaddr=127.0.0.1", port + 1))
                .arg("--flags")
                .arg("not-need-init,startup-clear")
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .map_err(|e| format!("cannot run swtpm (apt-get install swtpm): {e}"))?;
            self.child = Some(child);
            self.port = port;
            let deadline = Instant::now() + Duration::from_secs(10);
            loop {
                let alive = |c: &mut Option<Child>| c.as_mut().is_some_and(|c| matches!(c.try_wait(), Ok(None)));
                if alive(&mut self.child)
                    && TcpStream::connect(("127.0.0.1", port)).is_ok()
                    && TcpStream::connect(("127.0.0.1", port + 1)).is_ok()
                {
                    // Still ours: a swtpm that lost the ports to another process exits at once.
                    std::thread::sleep(Duration::from_millis(30));
                    if alive(&mut self.child) {
                        return Ok(());
                    }
                }
                if let Some(c) = self.child.as_mut()
                    && let Ok(Some(status)) = c.try_wait()
                {
                    let mut err = String::new();
                    if let Some(mut e) = c.stderr.take() {
                        let _ = std::io::Read::read_to_string(&mut e, &mut err);
                    }
                    last = format!("swtpm exited ({status}): {}", err.trim());
                    self.child = None;
                    break;
                }
                if Instant::now() > deadline {
                    self.stop();
                    return Err(format!("swtpm did not listen on 127.0.0.1:{port} within 10 s"));
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        Err(last)
    }

    /// `swtpm:host=127.0.0.1,port=N`.
    pub fn tcti(&self) -> String {
        format!("swtpm:host=127.0.0.1,port={}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn state_dir(&self) -> &Path {
        &self.dir
    }

    /// Stops the TPM (kill; the state directory stays).
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Stops and starts again on the same state directory (new ports).
    pub fn restart(&mut self) -> Result<(), String> {
        self.stop();
        self.spawn()
    }
}

impl Drop for Swtpm {
    fn drop(&mut self) {
        self.stop();
        if self.owns_dir {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}
