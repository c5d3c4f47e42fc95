//! cloud-ra verification core: byte-exact parsers, signature and chain checks, claims and
//! appraisal. No network, no devices, no clock: the evaluation time is always an input.

pub mod azure;
pub mod bundle;
pub mod cache;
pub mod cbor;
pub mod collateral;
pub mod crypto;
pub mod dcap;
pub mod error;
pub mod eventlog;
pub mod gce;
pub mod jwt;
pub mod measure;
pub mod nitro;
pub mod outcome;
pub mod policy;
pub mod snp;
pub mod time;
pub mod tpm;
pub mod x509;

pub use collateral::Collateral;
pub use error::{Category, Error, Result};
pub use outcome::{Caches, Outcome, Status, VerifyOptions, verify_evidence};
pub use policy::Policy;
pub use time::Timestamp;
