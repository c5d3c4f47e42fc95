//! Where collateral comes from and where it is kept. Each setting is taken from, in order: the
//! command line, the environment (`CLOUD_RA_KDS_URL`, `CLOUD_RA_PCS_URL`, `CLOUD_RA_THIM_URL`,
//! `CLOUD_RA_AWS_ROOT_URL`, `CLOUD_RA_CACHE_DIR`, `CLOUD_RA_OFFLINE`), the config file
//! (`$CLOUD_RA_CONFIG`, else `$XDG_CONFIG_HOME/cloud-ra/config.toml` or
//! `~/.config/cloud-ra/config.toml`, table `[collateral]`), then the defaults below.

use crate::error::{CollError, Kind};
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub const DEFAULT_KDS_URL: &str = "https://kdsintf.amd.com";
pub const DEFAULT_PCS_URL: &str = "https://api.trustedservices.intel.com";
/// Azure IMDS; THIM answers `/metadata/THIM/amd/certification` there (only inside Azure).
pub const DEFAULT_THIM_URL: &str = "http://169.254.169.254";
pub const DEFAULT_AWS_ROOT_URL: &str = "https://aws-nitro-enclaves.amazonaws.com";

/// Resolved settings.
#[derive(Debug, Clone)]
pub struct Config {
    pub kds_url: String,
    pub pcs_url: String,
    /// Set only when the user asked for THIM (flag, env or file): then VCEKs come from THIM first.
    pub thim_url: Option<String>,
    pub aws_root_url: String,
    pub cache_dir: PathBuf,
    pub offline: bool,
    /// Serve an expired copy when refreshing it fails (and say so).
    pub allow_stale: bool,
    /// Also accept AMD collateral (chains, VCEKs, CRLs) that chains to cloud-ra's simulated ARK
    /// (`cloud-ra-sim`). Never set from files or the environment: only a caller that trusts the
    /// simulated root (`--trust-simulated`) sets it.
    pub trust_simulated: bool,
    pub timeout: Duration,
    pub connect_timeout: Duration,
    /// Attempts after the first on 5xx, 429 and transport errors.
    pub retries: u32,
    pub backoff: Duration,
    /// The longest Retry-After honoured; a longer one fails at once.
    pub max_retry_after: Duration,
    pub max_body: usize,
}

/// Values given on the command line (None: not given).
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub kds_url: Option<String>,
    pub pcs_url: Option<String>,
    pub thim_url: Option<String>,
    pub aws_root_url: Option<String>,
    pub cache_dir: Option<PathBuf>,
    pub offline: bool,
    pub allow_stale: bool,
    pub config_file: Option<PathBuf>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileTop {
    #[serde(default)]
    collateral: FileConfig,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    kds_url: Option<String>,
    pcs_url: Option<String>,
    thim_url: Option<String>,
    aws_root_url: Option<String>,
    cache_dir: Option<PathBuf>,
    offline: Option<bool>,
    allow_stale: Option<bool>,
    timeout_ms: Option<u64>,
    retries: Option<u32>,
    backoff_ms: Option<u64>,
    max_retry_after_s: Option<u64>,
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|s| !s.trim().is_empty())
}

fn env_bool(name: &str) -> bool {
    env(name).is_some_and(|v| !matches!(v.trim().to_ascii_lowercase().as_str(), "0" | "false" | "no"))
}

/// `$XDG_CACHE_HOME/cloud-ra`, else `~/.cache/cloud-ra`.
pub fn default_cache_dir() -> Option<PathBuf> {
    if let Some(x) = std::env::var_os("XDG_CACHE_HOME").filter(|x| Path::new(x).is_absolute()) {
        return Some(PathBuf::from(x).join("cloud-ra"));
    }
    std::env::var_os("HOME").filter(|h| !h.is_empty()).map(|h| PathBuf::from(h).join(".cache").join("cloud-ra"))
}

fn default_config_file() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("CLOUD_RA_CONFIG") {
        return Some(PathBuf::from(p));
    }
    let base = match std::env::var_os("XDG_CONFIG_HOME").filter(|x| Path::new(x).is_absolute()) {
        Some(x) => PathBuf::from(x),
        None => PathBuf::from(std::env::var_os("HOME")?).join(".config"),
    };
    Some(base.join("cloud-ra").join("config.toml"))
}

fn check_url(what: &str, u: String) -> Result<String, CollError> {
    let t = u.trim().trim_end_matches('/').to_string();
    if !(t.starts_with("http://") || t.starts_with("https://")) || t.len() <= "https://".len() {
        return Err(CollError::new(Kind::Usage, format!("{what} '{u}' is not an http:// or https:// URL")));
    }
    Ok(t)
}

impl Config {
    /// Defaults only (no environment, no file): for tests and libraries.
    pub fn with_cache_dir(cache_dir: impl Into<PathBuf>) -> Self {
        Config {
            kds_url: DEFAULT_KDS_URL.into(),
            pcs_url: DEFAULT_PCS_URL.into(),
            thim_url: None,
            aws_root_url: DEFAULT_AWS_ROOT_URL.into(),
            cache_dir: cache_dir.into(),
            offline: false,
            allow_stale: false,
            trust_simulated: false,
            timeout: Duration::from_secs(20),
            connect_timeout: Duration::from_secs(10),
            retries: 3,
            backoff: Duration::from_millis(500),
            max_retry_after: Duration::from_secs(30),
            max_body: 2 << 20,
        }
    }

    /// Command line, then environment, then config file, then defaults.
    pub fn resolve(o: &Overrides) -> Result<Self, CollError> {
        let file_path = o.config_file.clone().or_else(default_config_file);
        let explicit = o.config_file.is_some() || std::env::var_os("CLOUD_RA_CONFIG").is_some();
        let file = match file_path {
            Some(p) if p.is_file() => {
                let meta = std::fs::metadata(&p).map_err(|e| CollError::io(Kind::Usage, &p, e))?;
                if meta.len() > 1 << 20 {
                    return Err(CollError::new(Kind::Usage, format!("config file {} is too large", p.display())));
                }
                let text = std::fs::read_to_string(&p).map_err(|e| CollError::io(Kind::Usage, &p, e))?;
                toml::from_str::<FileTop>(&text)
                    .map_err(|e| CollError::new(Kind::Usage, format!("config file {}: {e}", p.display())))?
                    .collateral
            }
            Some(p) if explicit => {
                return Err(CollError::new(Kind::Usage, format!("config file {} does not exist", p.display())));
            }
            _ => FileConfig::default(),
        };
        let pick = |flag: &Option<String>, var: &str, f: &Option<String>, d: &str| -> String {
            flag.clone().or_else(|| env(var)).or_else(|| f.clone()).unwrap_or_else(|| d.to_string())
        };
        let cache_dir = o
            .cache_dir
            .clone()
            .or_else(|| env("CLOUD_RA_CACHE_DIR").map(PathBuf::from))
            .or(file.cache_dir.clone())
            .or_else(default_cache_dir)
            .ok_or_else(|| {
                CollError::new(Kind::Usage, "no cache directory: set --cache-dir, CLOUD_RA_CACHE_DIR or HOME")
            })?;
        let thim = o.thim_url.clone().or_else(|| env("CLOUD_RA_THIM_URL")).or(file.thim_url.clone());
        let mut c = Config::with_cache_dir(cache_dir);
        c.kds_url = check_url("KDS URL", pick(&o.kds_url, "CLOUD_RA_KDS_URL", &file.kds_url, DEFAULT_KDS_URL))?;
        c.pcs_url = check_url("PCS URL", pick(&o.pcs_url, "CLOUD_RA_PCS_URL", &file.pcs_url, DEFAULT_PCS_URL))?;
        c.aws_root_url = check_url(
            "AWS root URL",
            pick(&o.aws_root_url, "CLOUD_RA_AWS_ROOT_URL", &file.aws_root_url, DEFAULT_AWS_ROOT_URL),
        )?;
        c.thim_url = thim.map(|t| check_url("THIM URL", t)).transpose()?;
        c.offline = o.offline || env_bool("CLOUD_RA_OFFLINE") || file.offline.unwrap_or(false);
        c.allow_stale = o.allow_stale || file.allow_stale.unwrap_or(false);
        if let Some(ms) = file.timeout_ms {
            c.timeout = Duration::from_millis(ms.clamp(100, 600_000));
            c.connect_timeout = c.connect_timeout.min(c.timeout);
        }
        if let Some(r) = file.retries {
            c.retries = r.min(10);
        }
        if let Some(ms) = file.backoff_ms {
            c.backoff = Duration::from_millis(ms.min(60_000));
        }
        if let Some(s) = file.max_retry_after_s {
            c.max_retry_after = Duration::from_secs(s.min(600));
        }
        Ok(c)
    }
}
