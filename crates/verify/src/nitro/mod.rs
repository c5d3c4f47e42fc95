//! AWS Nitro Enclaves: `format` (COSE_Sign1 + attestation document), `verify` (ES384 and the
//! chain to the pinned AWS root), `claims`, `appraise`, `roots`.

pub mod appraise;
pub mod claims;
pub mod format;
pub mod roots;
pub mod verify;

pub use format::{AttestationDoc, CoseSign1, Document};
pub(crate) use verify::{NitroCache, NitroOptions};
