//! AMD SEV-SNP: `format` (byte-exact report and cert table), `verify` (chain, CRL, signature),
//! `claims`, `appraise`, and the pinned `roots`.

pub mod appraise;
pub mod claims;
pub mod format;
pub mod roots;
pub mod verify;

pub use format::{CertKind, CertTableEntry, Product, Report, SigningKey, Tcb};
pub use verify::{ChainCache, SnpEvidence, SnpOptions, VerifiedSnp};
