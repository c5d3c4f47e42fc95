//! Collateral errors: what went wrong, where (URL or path), and what to do about it. They map to
//! the CLI's exit codes through [`cloud_ra_verify::Error`] (usage 1, collateral 3).

use cloud_ra_verify::Check;
use std::path::Path;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Bad configuration or arguments.
    Usage,
    /// The server has no such item (404).
    NotFound,
    /// Transport failure, timeout, or retries exhausted on 5xx / 429.
    Network,
    /// A response that is not the collateral asked for (error page, wrong type, bad signature,
    /// fingerprint mismatch, oversized or truncated body).
    Invalid,
    /// Cannot be fetched at all (VLEK, masked CHIP_ID, unknown product line).
    Unfetchable,
    /// `--offline` and not in the cache.
    Offline,
    /// The cache directory cannot be read or written.
    Cache,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CollError {
    pub kind: Kind,
    pub detail: String,
}

impl CollError {
    pub fn new(kind: Kind, detail: impl Into<String>) -> Self {
        CollError { kind, detail: detail.into() }
    }
    pub fn io(kind: Kind, path: &Path, e: std::io::Error) -> Self {
        let hint = match e.raw_os_error() {
            Some(libc::ENOSPC) => " (no space left on the device)",
            Some(libc::EDQUOT) => " (disk quota exceeded)",
            Some(libc::EROFS) => " (read-only file system)",
            Some(libc::EACCES) | Some(libc::EPERM) => " (permission denied: choose another --cache-dir)",
            _ => "",
        };
        CollError::new(kind, format!("{}: {e}{hint}", path.display()))
    }
    pub fn check(&self) -> Check {
        match self.kind {
            Kind::Usage => Check::CollateralConfig,
            Kind::Cache => Check::CollateralCache,
            Kind::Offline => Check::CollateralOffline,
            _ => Check::CollateralFetch,
        }
    }
}

impl std::fmt::Display for CollError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.detail)
    }
}

impl std::error::Error for CollError {}

impl From<CollError> for cloud_ra_verify::Error {
    fn from(e: CollError) -> Self {
        match e.kind {
            Kind::Usage => cloud_ra_verify::Error::usage(e.check(), e.detail),
            _ => cloud_ra_verify::Error::collateral(e.check(), e.detail),
        }
    }
}
