//! Trust in an attestation key through its certificate: AK certificate -> intermediate(s) -> a
//! root pinned by the SHA-256 of its DER. The certificate's key must be the AK.
//!
//! Google Compute Engine's vTPM AK certificates chain to Google's EK/AK roots (go-tpm-tools
//! `server/ca-certs`); the pins below are those roots' fingerprints.

use super::quote::AkPublic;
use crate::Check;
use crate::error::{Error, Result};
use crate::time::Timestamp;
use crate::x509::Certificate;

/// GCE vTPM EK/AK roots: `tpm_ek_v1_cloud_host_root-signer-0-2018-04-06` and the newer
/// "EK/AK CA Root" of the Google Cloud CAS hierarchy.
pub const GOOGLE_AK_ROOTS: &[&str] = &[
    "9bd5285f8fb18502a7947e621ffd470266f49fcd3b73e19a190f690ad32a7caf",
    "594759594b9b61524f6c8ef668f7177f7b9066bc0674f2f49fe9e052be78beb2",
];

/// A verified AK certificate chain.
#[derive(Debug, Clone)]
pub struct VerifiedAkCert {
    /// The AK certificate's subject.
    pub leaf_subject: String,
    /// Subjects from the leaf's issuer up to the root.
    pub chain: Vec<String>,
    /// SHA-256 of the pinned root's DER, hex.
    pub root_sha256: String,
}

fn err(d: impl Into<String>) -> Error {
    Error::evidence(Check::TpmAkCert, d)
}

/// Verifies `leaf` (the AK certificate) up to one of `roots` whose fingerprint is in `pinned`,
/// through any of `intermediates`, all valid at `at`; the leaf's key must be `ak`. A self-issued
/// certificate among `intermediates` (carried by the evidence) is a root like the others: refused
/// unless pinned. A chain that stops short of a root is a collateral error (exit 3) when no pinned
/// root was given, else an evidence error.
pub fn verify_ak_certificate(
    ak: &AkPublic,
    leaf: &Certificate,
    intermediates: &[Certificate],
    roots: &[Certificate],
    pinned: &[&str],
    at: Timestamp,
) -> Result<VerifiedAkCert> {
    if leaf.public_key.as_ref().map(|k| &k.bytes) != Some(&ak.key.bytes) {
        return Err(err(format!("the AK certificate '{}' does not carry the AK's public key", leaf.subject)));
    }
    leaf.check_validity(at).map_err(|e| err(format!("AK certificate: {e}")))?;
    // The TCG credential profile puts the TPM's identity in a critical subjectAltName when the
    // subject is empty (as on GCE); cloud-ra matches no names, so that extension is understood.
    const KNOWN: &[&str] = &["2.5.29.19", "2.5.29.15", "2.5.29.37", "2.5.29.14", "2.5.29.35", "2.5.29.17"];
    if let Some(x) = leaf.extensions.iter().find(|x| x.critical && !KNOWN.contains(&x.oid.as_str())) {
        return Err(err(format!("AK certificate: unknown critical extension {}", x.oid)));
    }
    let mut chain = Vec::new();
    let mut cur = leaf;
    for _ in 0..8 {
        // A root (self-issued) that issued `cur` ends the chain: pinned, or refused.
        if let Some(root) = roots
            .iter()
            .chain(intermediates.iter().filter(|c| c.is_self_issued()))
            .find(|r| r.is_self_issued() && r.subject_raw == cur.issuer_raw && cur.verify_issued_by(r).is_ok())
        {
            let fp = root.fingerprint_hex();
            if !pinned.contains(&fp.as_str()) {
                return Err(err(format!("root '{}' (sha256 {fp}) is not a pinned AK root", root.subject)));
            }
            root.check_validity(at).map_err(|e| err(format!("root: {e}")))?;
            root.verify_issued_by(root).map_err(|e| err(format!("root self-signature: {e}")))?;
            chain.push(root.subject.clone());
            return Ok(VerifiedAkCert { leaf_subject: leaf.subject.clone(), chain, root_sha256: fp });
        }
        let Some(next) =
            intermediates.iter().find(|c| !c.is_self_issued() && c.subject_raw == cur.issuer_raw && c.is_ca)
        else {
            // The chain stops short of a root. With no pinned root at hand, the root is missing
            // collateral (exit 3); with a pinned root given that nothing chains to, the evidence
            // is wrong.
            let no_roots = !roots
                .iter()
                .chain(intermediates.iter().filter(|c| c.is_self_issued()))
                .any(|r| pinned.contains(&r.fingerprint_hex().as_str()));
            let category = if no_roots { crate::error::Category::Collateral } else { crate::error::Category::Evidence };
            return Err(Error::new(
                category,
                Check::TpmAkCert,
                format!(
                    "no certificate issued '{}' (issuer '{}'){}",
                    cur.subject,
                    cur.issuer,
                    if no_roots { ": give the issuer's certificate and the pinned root (--collateral)" } else { "" }
                ),
            ));
        };
        cur.verify_issued_by(next).map_err(|e| err(format!("'{}' by '{}': {e}", cur.subject, next.subject)))?;
        next.check_validity(at).map_err(|e| err(format!("intermediate '{}': {e}", next.subject)))?;
        chain.push(next.subject.clone());
        cur = next;
    }
    Err(err("the chain is longer than 8 certificates"))
}
