//! Nitro verification: ES384 over the COSE Sig_structure, and leaf -> cabundle (reversed) -> the
//! pinned AWS root, every certificate checked (validity, basic constraints, key usage) at the
//! evaluation time.
//!
//! 1. `nitro.format`    COSE_Sign1 and the attestation document parse
//! 2. `nitro.alg`       ES384
//! 3. `nitro.root` / `nitro.chain`  the chain to the pinned root, at the evaluation time
//!    (`--at document`: at the document's own timestamp), validated once per chain and cached
//! 4. `nitro.signature` ES384 over the Sig_structure with the leaf's key
//! 5. `nitro.timestamp` the signed timestamp lies inside the signing certificate's validity and
//!    not more than `MAX_SKEW_SECONDS` after the evaluation time: the NSM signs with a
//!    certificate it holds for a few hours, so a timestamp outside that window was not made by it.

use super::format::{ALG_ES384, AttestationDoc, CoseSign1, Document};
use super::roots;
use crate::Check;
use crate::crypto::{KeyKind, SigAlg};
use crate::error::{Error, Result};
use crate::time::Timestamp;
use crate::x509::Certificate;
use aws_lc_rs::signature::ParsedPublicKey;
use std::sync::Arc;

/// How far a document's timestamp may lie after the evaluation time (clock skew).
pub(crate) const MAX_SKEW_SECONDS: i64 = 300;

/// Options of one Nitro verification.
#[derive(Debug, Clone, Copy)]
pub struct NitroOptions {
    /// The evaluation time (now, or `--at`).
    pub at: Timestamp,
    /// Evaluate certificates at the document's own signed timestamp instead (archived documents).
    pub use_document_time: bool,
    /// Also trust cloud-ra's simulated Nitro root ([`roots::SIMULATED_ROOT`]).
    pub trust_simulated: bool,
}

/// A chain that passed every check at any time inside `valid_from..=valid_until`.
pub struct ValidChain {
    /// Earliest evaluation time at which every certificate of the chain is valid.
    pub valid_from: i64,
    /// Latest evaluation time at which every certificate of the chain is valid.
    pub valid_until: i64,
    /// The signing (leaf) certificate.
    pub leaf: Certificate,
    /// The leaf's public key, parsed once for the document signatures.
    pub leaf_key: ParsedPublicKey,
    /// The chain ends at cloud-ra's simulated root.
    pub simulated: bool,
}

/// Validated chains keyed by the SHA-256 of the whole chain (leaf included): documents of one
/// enclave share a leaf for its ~3-hour life, and the intermediates repeat across a region.
pub type NitroCache = crate::cache::VerifiedCache<ValidChain>;

impl crate::cache::Window for ValidChain {
    fn valid_from(&self) -> i64 {
        self.valid_from
    }
    fn valid_until(&self) -> i64 {
        self.valid_until
    }
}

/// What a successful Nitro verification established.
pub struct VerifiedNitro {
    /// The attestation document.
    pub doc: AttestationDoc,
    /// Its COSE_Sign1 envelope.
    pub cose: CoseSign1,
    /// The time certificates were evaluated at.
    pub evaluated_at: Timestamp,
    /// The verified chain (possibly shared through the cache).
    pub chain: Arc<ValidChain>,
}

fn chain_key(doc: &AttestationDoc) -> [u8; 32] {
    let mut all = Vec::with_capacity(32 * (doc.cabundle.len() + 1));
    for c in doc.cabundle.iter().chain(std::iter::once(&doc.certificate)) {
        all.extend_from_slice(&crate::crypto::sha256(c));
    }
    crate::crypto::sha256(&all)
}

/// Step 3a: `cabundle[0]` is the pinned AWS root (or, on request, cloud-ra's simulated one).
/// Returns whether it is the simulated root.
fn pinned_root(root: &Certificate, opts: &NitroOptions) -> Result<bool> {
    let fp = root.fingerprint_hex();
    if fp == roots::AWS_NITRO_ROOT_G1 {
        Ok(false)
    } else if fp == roots::SIMULATED_ROOT {
        if !opts.trust_simulated {
            return Err(Error::evidence(
                Check::NitroRoot,
                "cabundle[0] is cloud-ra's SIMULATED Nitro root (trusted only with --trust-simulated)",
            ));
        }
        Ok(true)
    } else {
        Err(Error::evidence(
            Check::NitroRoot,
            format!(
                "cabundle[0] '{}' (SHA-256 {fp}) is not the pinned AWS Nitro Enclaves Root-G1 ({}): the bundle must start with the root",
                root.subject,
                roots::AWS_NITRO_ROOT_G1
            ),
        ))
    }
}

fn validate_chain(doc: &AttestationDoc, opts: &NitroOptions, at: Timestamp) -> Result<ValidChain> {
    let chain_err = |d: String| Error::evidence(Check::NitroChain, d);
    let mut certs = Vec::with_capacity(doc.cabundle.len() + 1);
    for (i, der) in doc.cabundle.iter().enumerate() {
        certs.push(Certificate::from_der(der).map_err(|e| chain_err(format!("cabundle[{i}]: {e}")))?);
    }
    certs.push(Certificate::from_der(&doc.certificate).map_err(|e| chain_err(format!("certificate: {e}")))?);
    let root = &certs[0];
    let simulated = pinned_root(root, opts)?;
    root.verify_issued_by(root).map_err(|e| Error::evidence(Check::NitroRoot, format!("root self-signature: {e}")))?;
    let last = certs.len() - 1;
    for (i, c) in certs.iter().enumerate() {
        let name = if i == last { "certificate".to_string() } else { format!("cabundle[{i}]") };
        c.check_critical_extensions().map_err(|e| chain_err(format!("{name}: {e}")))?;
        c.check_validity(at).map_err(|e| chain_err(format!("{name}: {e}")))?;
        if i < last && !c.is_ca {
            return Err(chain_err(format!("{name} '{}' is not a CA (basicConstraints)", c.subject_cn)));
        }
        if i == last {
            if c.is_ca {
                return Err(chain_err(format!("the signing certificate '{}' is a CA", c.subject_cn)));
            }
            if let Some(ku) = c.key_usage
                && ku & 1 == 0
            {
                return Err(chain_err(format!("certificate '{}' keyUsage lacks digitalSignature", c.subject_cn)));
            }
        }
        if i > 0 {
            c.verify_issued_by(&certs[i - 1]).map_err(|e| {
                chain_err(format!(
                    "{name} is not issued by cabundle[{}] (cabundle must be root first, in order): {e}",
                    i - 1
                ))
            })?;
        }
    }
    let leaf = certs.pop().ok_or_else(|| chain_err("empty chain".into()))?;
    let key = leaf
        .public_key
        .as_ref()
        .filter(|k| k.kind == KeyKind::EcP384)
        .ok_or_else(|| chain_err(format!("certificate '{}' does not carry an ECDSA P-384 key", leaf.subject_cn)))?;
    let leaf_key = key.parsed(SigAlg::EcdsaP384Sha384Fixed).map_err(chain_err)?;
    let valid_from = certs.iter().map(|c| c.not_before).chain([leaf.not_before]).max().unwrap_or(i64::MAX);
    let valid_until = certs.iter().map(|c| c.not_after).chain([leaf.not_after]).min().unwrap_or(i64::MIN);
    Ok(ValidChain { valid_from, valid_until, leaf, leaf_key, simulated })
}

/// Verifies a document in the steps listed at the top of this module; the failing step's check
/// names the error.
pub fn verify(bytes: &[u8], opts: &NitroOptions, cache: Option<&NitroCache>) -> Result<VerifiedNitro> {
    // 1 and 2. The format and the algorithm.
    let Document { cose, doc } = Document::parse(bytes)?;
    check_alg(&cose)?;
    // 3. The chain to the pinned root, at the evaluation time (or the document's own).
    let at = if opts.use_document_time { Timestamp((doc.timestamp / 1000) as i64) } else { opts.at };
    let chain = chain(&doc, opts, at, cache)?;
    // 4. The signature.
    check_signature(&cose, &chain)?;
    // 5. The signed timestamp against the signing certificate's validity and the evaluation time.
    check_timestamp(&doc, &chain.leaf, opts.at)?;
    Ok(VerifiedNitro { doc, cose, evaluated_at: at, chain })
}

/// Step 2: Nitro documents are ES384.
fn check_alg(cose: &CoseSign1) -> Result<()> {
    if cose.alg != ALG_ES384 {
        return Err(Error::evidence(
            Check::NitroAlg,
            format!("protected header alg is {}; Nitro documents are ES384 (-35)", cose.alg),
        ));
    }
    Ok(())
}

/// Step 3: the validated chain, from the cache when the same chain was validated for `at`.
fn chain(
    doc: &AttestationDoc,
    opts: &NitroOptions,
    at: Timestamp,
    cache: Option<&NitroCache>,
) -> Result<Arc<ValidChain>> {
    let key = chain_key(doc);
    let cached = cache.and_then(|c| c.get_valid(&key, at)).filter(|ch| !ch.simulated || opts.trust_simulated);
    if let Some(ch) = cached {
        return Ok(ch);
    }
    let ch = Arc::new(validate_chain(doc, opts, at)?);
    if let Some(c) = cache {
        c.insert(key, ch.clone());
    }
    Ok(ch)
}

/// Step 4: ES384 over the COSE Sig_structure with the leaf's key.
fn check_signature(cose: &CoseSign1, chain: &ValidChain) -> Result<()> {
    if cose.signature.len() != 96 {
        return Err(Error::evidence(
            Check::NitroSignature,
            format!("COSE signature is {} bytes; ES384 signatures are 96 (r || s)", cose.signature.len()),
        ));
    }
    chain.leaf_key.verify_sig(&cose.to_be_signed(), &cose.signature).map_err(|_| {
        Error::evidence(
            Check::NitroSignature,
            format!("ES384 COSE_Sign1 signature does not verify with the key of '{}'", chain.leaf.subject_cn),
        )
    })
}

/// Step 5: a timestamp outside the leaf's validity, or in the future beyond the skew, is refused.
fn check_timestamp(doc: &AttestationDoc, leaf: &Certificate, now: Timestamp) -> Result<()> {
    let ms = i64::try_from(doc.timestamp).unwrap_or(i64::MAX);
    let t = ms.div_euclid(1000);
    let shown = Timestamp(t);
    if t < leaf.not_before || t > leaf.not_after {
        return Err(Error::evidence(
            Check::NitroTimestamp,
            format!(
                "the document's timestamp {shown} lies outside its signing certificate '{}' validity ({} .. {}): not made by that certificate's key holder",
                leaf.subject_cn,
                Timestamp(leaf.not_before),
                Timestamp(leaf.not_after)
            ),
        ));
    }
    if t > now.0.saturating_add(MAX_SKEW_SECONDS) {
        return Err(Error::evidence(
            Check::NitroTimestamp,
            format!(
                "the document's timestamp {shown} is {} s after the evaluation time {now} (at most {MAX_SKEW_SECONDS} s of clock skew)",
                t - now.0
            ),
        ));
    }
    Ok(())
}
