//! Digests and signature verification on AWS-LC: the one place where cloud-ra touches crypto.

use aws_lc_rs::{digest, signature};

pub fn sha256(data: &[u8]) -> [u8; 32] {
    let d = digest::digest(&digest::SHA256, data);
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

pub fn sha384(data: &[u8]) -> [u8; 48] {
    let d = digest::digest(&digest::SHA384, data);
    let mut out = [0u8; 48];
    out.copy_from_slice(d.as_ref());
    out
}

pub fn sha512(data: &[u8]) -> [u8; 64] {
    let d = digest::digest(&digest::SHA512, data);
    let mut out = [0u8; 64];
    out.copy_from_slice(d.as_ref());
    out
}

/// Signature algorithms cloud-ra accepts on certificates, CRLs and evidence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SigAlg {
    /// RSASSA-PSS, SHA-384, MGF1-SHA-384, salt 48 (AMD's certificates and CRLs).
    RsaPssSha384,
    /// RSASSA-PSS, SHA-256, MGF1-SHA-256, salt 32.
    RsaPssSha256,
    RsaPkcs1Sha256,
    RsaPkcs1Sha384,
    /// ECDSA with SHA-256, DER-encoded signature.
    EcdsaSha256,
    /// ECDSA with SHA-384, DER-encoded signature.
    EcdsaSha384,
    /// ECDSA P-384 with SHA-384, fixed-size big-endian r || s (SNP reports, COSE).
    EcdsaP384Sha384Fixed,
    /// ECDSA P-256 with SHA-256, fixed-size big-endian r || s (DCAP quotes).
    EcdsaP256Sha256Fixed,
}

/// The kind of a subject public key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyKind {
    /// Bytes are a PKCS#1 RSAPublicKey.
    Rsa,
    /// Bytes are an uncompressed SEC1 point.
    EcP256,
    /// Bytes are an uncompressed SEC1 point.
    EcP384,
}

/// A public key as bytes plus its kind.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PublicKey {
    pub kind: KeyKind,
    pub bytes: Vec<u8>,
}

impl PublicKey {
    /// The AWS-LC algorithm for verifying `alg` signatures with this key, if the pair makes sense.
    pub fn algorithm(&self, alg: SigAlg) -> Option<&'static dyn signature::VerificationAlgorithm> {
        use KeyKind::*;
        use SigAlg::*;
        Some(match (self.kind, alg) {
            (Rsa, RsaPssSha384) => &signature::RSA_PSS_2048_8192_SHA384,
            (Rsa, RsaPssSha256) => &signature::RSA_PSS_2048_8192_SHA256,
            (Rsa, RsaPkcs1Sha256) => &signature::RSA_PKCS1_2048_8192_SHA256,
            (Rsa, RsaPkcs1Sha384) => &signature::RSA_PKCS1_2048_8192_SHA384,
            (EcP256, EcdsaSha256) => &signature::ECDSA_P256_SHA256_ASN1,
            (EcP256, EcdsaSha384) => &signature::ECDSA_P256_SHA384_ASN1,
            (EcP384, EcdsaSha256) => &signature::ECDSA_P384_SHA256_ASN1,
            (EcP384, EcdsaSha384) => &signature::ECDSA_P384_SHA384_ASN1,
            (EcP384, EcdsaP384Sha384Fixed) => &signature::ECDSA_P384_SHA384_FIXED,
            (EcP256, EcdsaP256Sha256Fixed) => &signature::ECDSA_P256_SHA256_FIXED,
            _ => return None,
        })
    }

    /// Verifies `sig` over `msg`. The error says why in words.
    pub fn verify(&self, alg: SigAlg, msg: &[u8], sig: &[u8]) -> Result<(), String> {
        let algorithm =
            self.algorithm(alg).ok_or_else(|| format!("a {:?} key cannot verify a {:?} signature", self.kind, alg))?;
        signature::UnparsedPublicKey::new(algorithm, &self.bytes)
            .verify(msg, sig)
            .map_err(|_| format!("{alg:?} signature does not verify"))
    }

    /// Parses the key once for repeated verification (the cached path).
    pub fn parsed(&self, alg: SigAlg) -> Result<signature::ParsedPublicKey, String> {
        let algorithm =
            self.algorithm(alg).ok_or_else(|| format!("a {:?} key cannot verify a {:?} signature", self.kind, alg))?;
        signature::ParsedPublicKey::new(algorithm, &self.bytes).map_err(|e| format!("public key rejected: {e}"))
    }
}
