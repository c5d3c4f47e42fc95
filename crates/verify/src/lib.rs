#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod azure;
pub mod bundle;
pub mod cache;
pub mod cbor;
pub mod check;
pub mod claims;
pub mod collateral;
pub mod crypto;
pub mod dcap;
mod describe;
pub mod error;
pub mod eventlog;
pub mod gce;
pub mod jwt;
pub mod measure;
pub mod nitro;
pub mod outcome;
pub mod platform;
pub mod policy;
pub mod snp;
mod tee;
pub mod time;
pub mod tpm;
pub mod x509;

pub use check::Check;
pub use claims::Claims;
pub use collateral::Collateral;
pub use describe::{describe, describe_file};
pub use error::{Category, Error, Result};
pub use outcome::{Caches, Outcome, Status, VerifyOptions, verify_evidence};
pub use platform::Platform;
pub use policy::Policy;
pub use time::Timestamp;
