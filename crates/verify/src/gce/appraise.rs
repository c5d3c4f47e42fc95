//! Appraisal of verified GCE vTPM evidence: the verifier's nonce against the quotes' extraData.

use super::verify::VerifiedGce;
use crate::Check;
use crate::error::{Error, Result};
use crate::tee::{Appraisal, Nonce};

/// Appraises: the verifier's nonce (`--nonce`, else the policy's) must be every quote's extraData.
pub(crate) fn appraise(v: &VerifiedGce, nonce: Option<&Nonce>) -> Result<Appraisal> {
    let mut failures = Vec::new();
    let mut warnings = Vec::new();
    let mut nonce_bound = false;
    match nonce {
        Some(nonce) => {
            let n = nonce.within(64)?;
            nonce_bound = Nonce::bind(&mut failures, |failures| {
                if n != v.extra_data.as_slice() {
                    failures.push(Error::appraisal(
                        Check::PolicyNonce,
                        format!(
                            "the vTPM quotes' extraData {} is not the nonce {} ({} bytes vs {})",
                            hex::encode(&v.extra_data),
                            hex::encode(n),
                            v.extra_data.len(),
                            n.len()
                        ),
                    ))
                }
            });
        }
        None => warnings.push(Error::appraisal(
            Check::GceFreshness,
            format!(
                "no nonce given: the quotes' extraData {} is not checked (the attestation may be replayed)",
                hex::encode(&v.extra_data)
            ),
        )),
    }
    if let Some((n, b)) = &v.attestation.tee_attestation {
        warnings.push(Error::appraisal(
            Check::GceTeeAttestation,
            format!(
                "the attestation carries a TEE attestation (field {n}, {} bytes) that cloud-ra does not evaluate",
                b.len()
            ),
        ));
    }
    Ok(Appraisal { failures, warnings, nonce_bound })
}
