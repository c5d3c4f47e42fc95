//! Service configuration: a TOML file (`--config`), overridden by command-line flags.
//!
//! State (the signing key, the SQLite audit database) lives in a state directory, never the
//! working directory: `$STATE_DIRECTORY` (systemd's `StateDirectory=`), else
//! `$XDG_STATE_HOME/cloud-ra`, else `/var/lib/cloud-ra` for root, else
//! `~/.local/state/cloud-ra`. It is created mode 0700 when a default path is used.

use serde::Deserialize;
use std::net::SocketAddr;
use std::path::PathBuf;

/// The `--config` file. Every key is optional; unknown keys are refused.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub listen: Option<String>,
    pub db: Option<String>,
    /// PKCS#8 PEM ES256 key; created (0600) at first start when missing.
    pub signing_key: Option<PathBuf>,
    /// Bearer token for the dashboard, audit listing, policy API (`/v1/policies`) and /metrics.
    pub admin_token: Option<String>,
    /// File holding the bearer token (first line), instead of `admin_token`.
    pub admin_token_file: Option<PathBuf>,
    pub trust_simulated: Option<bool>,
    pub allow_plain_http: Option<bool>,
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    /// Appraisal policy (TOML or JSON, as `cloud-ra verify --policy`).
    pub policy: Option<PathBuf>,
    /// Certificate/CRL files offered to every verification (VCEK, ARK/ASK, ...).
    #[serde(default)]
    pub collateral: Vec<PathBuf>,
    pub session_ttl_secs: Option<u64>,
    pub result_ttl_secs: Option<u64>,
    pub max_body_bytes: Option<usize>,
    pub request_timeout_secs: Option<u64>,
    pub verify_workers: Option<usize>,
    /// Attestation requests per second per client address (0 = unlimited) and the burst allowed.
    pub rate_limit_per_sec: Option<f64>,
    pub rate_limit_burst: Option<f64>,
    /// Refuse sessions whose nonce the caller chooses (`newSession?nonce=`).
    pub refuse_caller_nonce: Option<bool>,
    /// Start on an existing SQLite database that group or others can read.
    pub allow_readable_db: Option<bool>,
}

/// The resolved configuration the server runs with.
#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    pub db: String,
    pub signing_key: PathBuf,
    pub admin_token: Option<String>,
    pub trust_simulated: bool,
    pub allow_plain_http: bool,
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    pub policy: Option<PathBuf>,
    pub collateral: Vec<PathBuf>,
    pub session_ttl_secs: u64,
    pub result_ttl_secs: u64,
    pub max_body_bytes: usize,
    pub request_timeout_secs: u64,
    pub verify_workers: usize,
    pub rate_limit_per_sec: f64,
    pub rate_limit_burst: f64,
    /// Evaluation time of every verification (tests pin it); `None`: the current time.
    pub verify_at: Option<cloud_ra_verify::Timestamp>,
    /// Refuse `newSession?nonce=` (403 `nonce.caller_supplied`); otherwise such sessions are
    /// accepted and labelled `caller-supplied`.
    pub refuse_caller_nonce: bool,
    /// Start on an existing SQLite database file that group or others can read.
    pub allow_readable_db: bool,
    /// The state directory the default paths lie in (created 0700 when they are used); `None`
    /// when none could be found (then `signing_key` and `db` must be given).
    pub state_dir: Option<PathBuf>,
}

/// The state directory from the environment (see the module doc); relative values are ignored,
/// as they would name the working directory.
pub fn state_dir_from(env: impl Fn(&str) -> Option<String>, is_root: bool) -> Option<PathBuf> {
    let abs = |v: Option<String>| v.map(PathBuf::from).filter(|p| p.is_absolute());
    // systemd sets a colon-separated list when several StateDirectory= are given: the first.
    if let Some(p) = abs(env("STATE_DIRECTORY").and_then(|v| v.split(':').next().map(str::to_string))) {
        return Some(p);
    }
    if let Some(p) = abs(env("XDG_STATE_HOME")) {
        return Some(p.join("cloud-ra"));
    }
    if is_root {
        return Some(PathBuf::from("/var/lib/cloud-ra"));
    }
    abs(env("HOME")).map(|h| h.join(".local/state/cloud-ra"))
}

/// The state directory of this process.
pub fn state_dir() -> Option<PathBuf> {
    // Running as root: /proc/self belongs to the process's effective user (Linux). Without
    // /proc the answer is "not root", which only moves the default to $HOME.
    #[cfg(unix)]
    let root = {
        use std::os::unix::fs::MetadataExt;
        std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
    };
    #[cfg(not(unix))]
    let root = false;
    state_dir_from(|k| std::env::var(k).ok().filter(|v| !v.is_empty()), root)
}

impl Default for Config {
    /// The defaults; the key and database in [`state_dir`].
    fn default() -> Self {
        let state_dir = state_dir();
        let (db, signing_key) = match &state_dir {
            Some(d) => (format!("sqlite://{}", d.join("cloud-ra.db").display()), d.join("signing-key.pem")),
            None => (String::new(), PathBuf::new()),
        };
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 8443)),
            db,
            signing_key,
            admin_token: None,
            trust_simulated: false,
            allow_plain_http: false,
            tls_cert: None,
            tls_key: None,
            policy: None,
            collateral: Vec::new(),
            session_ttl_secs: 300,
            result_ttl_secs: 3600,
            max_body_bytes: 1 << 20,
            request_timeout_secs: 30,
            verify_workers: std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2),
            rate_limit_per_sec: 50.0,
            rate_limit_burst: 100.0,
            verify_at: None,
            refuse_caller_nonce: false,
            allow_readable_db: false,
            state_dir,
        }
    }
}

impl Config {
    /// Applies a config file's values over the defaults.
    pub fn apply_file(&mut self, text: &str) -> Result<(), String> {
        let f: FileConfig = toml::from_str(text).map_err(|e| format!("config: {e}"))?;
        if let Some(l) = f.listen {
            self.listen = l.parse().map_err(|e| format!("config listen {l:?}: {e}"))?;
        }
        if let Some(v) = f.db {
            self.db = v;
        }
        if let Some(v) = f.signing_key {
            self.signing_key = v;
        }
        if let Some(v) = f.admin_token {
            self.admin_token = Some(v);
        }
        if let Some(p) = f.admin_token_file {
            let t = std::fs::read_to_string(&p).map_err(|e| format!("admin_token_file {}: {e}", p.display()))?;
            self.admin_token = Some(t.lines().next().unwrap_or_default().trim().to_string());
        }
        macro_rules! set {
            ($($k:ident),*) => { $( if let Some(v) = f.$k { self.$k = v; } )* };
        }
        set!(
            trust_simulated,
            allow_plain_http,
            session_ttl_secs,
            result_ttl_secs,
            max_body_bytes,
            request_timeout_secs,
            verify_workers,
            rate_limit_per_sec,
            rate_limit_burst,
            refuse_caller_nonce,
            allow_readable_db
        );
        if f.tls_cert.is_some() {
            self.tls_cert = f.tls_cert;
        }
        if f.tls_key.is_some() {
            self.tls_key = f.tls_key;
        }
        if f.policy.is_some() {
            self.policy = f.policy;
        }
        self.collateral.extend(f.collateral);
        Ok(())
    }

    /// Refuses configurations that would be unsafe or cannot work.
    pub fn check(&self) -> Result<(), String> {
        if self.db.is_empty() || self.signing_key.as_os_str().is_empty() {
            return Err("no state directory for the signing key and database (set STATE_DIRECTORY, XDG_STATE_HOME or HOME), or give --signing-key and --db".into());
        }

        if self.tls_cert.is_some() != self.tls_key.is_some() {
            return Err("--tls-cert and --tls-key go together".into());
        }
        if self.tls_cert.is_none() && !self.listen.ip().is_loopback() && !self.allow_plain_http {
            return Err(format!(
                "refusing plain HTTP on {} (not loopback): give --tls-cert/--tls-key, or --allow-plain-http behind a TLS proxy",
                self.listen
            ));
        }
        if let Some(t) = &self.admin_token
            && t.len() < 16
        {
            return Err("the admin token must be at least 16 characters".into());
        }
        if self.verify_workers == 0 || self.max_body_bytes == 0 || self.session_ttl_secs == 0 {
            return Err("verify_workers, max_body_bytes and session_ttl_secs must be positive".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |k| pairs.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string())
    }

    #[test]
    fn state_directory_order() {
        let all = [("STATE_DIRECTORY", "/run/sd:/other"), ("XDG_STATE_HOME", "/x"), ("HOME", "/home/u")];
        assert_eq!(state_dir_from(env(&all), false), Some(PathBuf::from("/run/sd")));
        assert_eq!(state_dir_from(env(&all[1..]), true), Some(PathBuf::from("/x/cloud-ra")));
        assert_eq!(state_dir_from(env(&all[2..]), true), Some(PathBuf::from("/var/lib/cloud-ra")));
        assert_eq!(state_dir_from(env(&all[2..]), false), Some(PathBuf::from("/home/u/.local/state/cloud-ra")));
        // Relative values would be the working directory: ignored.
        let rel = [("STATE_DIRECTORY", "state"), ("XDG_STATE_HOME", "."), ("HOME", "home")];
        assert_eq!(state_dir_from(env(&rel), false), None);
        assert_eq!(state_dir_from(env(&[]), false), None);
    }

    #[test]
    fn defaults_never_in_the_working_directory() {
        let c = Config::default();
        if let Some(d) = &c.state_dir {
            assert!(d.is_absolute());
            assert!(c.signing_key.starts_with(d));
            assert!(c.db.starts_with("sqlite:///"), "{}", c.db);
        } else {
            assert!(c.check().is_err());
        }
    }
}
