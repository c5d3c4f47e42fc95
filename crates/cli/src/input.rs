//! Input helpers shared by the subcommands: files read with a size bound, argument parsers.

use cloud_ra_verify::snp::Product;
use cloud_ra_verify::{Check, Error};

/// `--product NAME`.
pub fn parse_product(s: &str) -> Result<Product, String> {
    Product::parse(s).map_err(|e| e.detail)
}

/// A file of at most 64 MiB; `what` names it in the error.
pub fn read_file(path: &str, what: &str) -> Result<Vec<u8>, Error> {
    let meta = std::fs::metadata(path).map_err(|e| Error::usage(Check::Input, format!("{what} {path}: {e}")))?;
    if meta.len() > (64 << 20) {
        return Err(Error::usage(Check::Input, format!("{what} {path} is {} bytes, too large", meta.len())));
    }
    std::fs::read(path).map_err(|e| Error::usage(Check::Input, format!("{what} {path}: {e}")))
}
