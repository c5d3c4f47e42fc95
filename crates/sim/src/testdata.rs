//! The one way tests find the shared, read-only test vectors: `$CLOUD_RA_TESTDATA`, or
//! `../shared/testdata` beside the checkout. Missing vectors fail the test loudly (never skip).

use std::path::PathBuf;

/// The test-vector directory.
pub fn dir() -> PathBuf {
    let d = match std::env::var_os("CLOUD_RA_TESTDATA") {
        Some(p) => PathBuf::from(p),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/testdata"),
    };
    assert!(
        d.join("MANIFEST.md").is_file(),
        "test vectors not found at {} (set CLOUD_RA_TESTDATA to the shared/testdata directory)",
        d.display()
    );
    d
}

/// A file under the test-vector directory, e.g. `snp/trustee-milan/test-report.bin`.
pub fn path(rel: &str) -> PathBuf {
    dir().join(rel)
}

/// Reads a test vector; panics with the path when it is missing.
pub fn read(rel: &str) -> Vec<u8> {
    let p = path(rel);
    std::fs::read(&p).unwrap_or_else(|e| panic!("test vector {}: {e}", p.display()))
}
