//! A minimal TPM 2.0 quote verifier: TPMT_PUBLIC (RSA / ECC P-256 attestation keys), TPMS_ATTEST
//! (quote), TPMT_SIGNATURE (RSASSA, ECDSA), and the PCR digest. All structures are big-endian and
//! parsed byte-exactly; anything left over or malformed is refused.
//!
//! Scope: what event-log binding needs (PCR values a signed quote vouches for). Trust in the
//! attestation key (its certificate chain) is the caller's.

pub mod quote;

pub use quote::{AkPublic, Attest, QuotedPcrs, verify_quote};
