//! A minimal TPM 2.0 quote verifier, pure Rust: TPMT_PUBLIC (RSA, ECC P-256/P-384 attestation
//! keys), TPMS_ATTEST (quote), TPMT_SIGNATURE (RSASSA, RSAPSS, ECDSA), PCR selections and the PCR
//! digest. All structures are big-endian and parsed byte-exactly; anything left over or malformed
//! is refused.
//!
//! `gotpm`: go-tpm-tools' `Attestation` protobuf (GCE vTPM evidence), verified by `gce`.
//!
//! Scope: what event-log binding, Azure and GCE vTPM evidence need (PCR values a signed quote vouches
//! for). Trust in the attestation key (a certificate chain, or Azure's runtime claims) is the
//! caller's.

pub(crate) mod akcert;
pub mod gotpm;
pub(crate) mod quote;

pub use akcert::{GOOGLE_AK_ROOTS, VerifiedAkCert, verify_ak_certificate};
pub use quote::{AkPublic, Attest, KeyParams, QuotedPcrs, Signature, VerifiedQuote, verify_quote, verify_quote_signed};
