//! Digests and signature verification on AWS-LC: the one place where cloud-ra touches crypto.

use aws_lc_rs::{digest, signature};

/// SHA-256 of `data`.
pub fn sha256(data: &[u8]) -> [u8; 32] {
    let d = digest::digest(&digest::SHA256, data);
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

/// SHA-384 of `data`.
pub fn sha384(data: &[u8]) -> [u8; 48] {
    let d = digest::digest(&digest::SHA384, data);
    let mut out = [0u8; 48];
    out.copy_from_slice(d.as_ref());
    out
}

/// SHA-512 of `data`.
pub fn sha512(data: &[u8]) -> [u8; 64] {
    let d = digest::digest(&digest::SHA512, data);
    let mut out = [0u8; 64];
    out.copy_from_slice(d.as_ref());
    out
}

/// An incremental digest (SHA-256 or SHA-384) for inputs measured piece by piece.
pub(crate) struct Hasher(digest::Context);

impl Hasher {
    pub(crate) fn sha256() -> Self {
        Hasher(digest::Context::new(&digest::SHA256))
    }
    pub(crate) fn sha384() -> Self {
        Hasher(digest::Context::new(&digest::SHA384))
    }
    pub(crate) fn update(&mut self, data: &[u8]) {
        self.0.update(data);
    }
    /// The digest (32 or 48 bytes).
    pub(crate) fn finish(self) -> Vec<u8> {
        self.0.finish().as_ref().to_vec()
    }
}

/// Signature algorithms cloud-ra accepts on certificates, CRLs and evidence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SigAlg {
    /// RSASSA-PSS, SHA-384, MGF1-SHA-384, salt 48 (AMD's certificates and CRLs).
    RsaPssSha384,
    /// RSASSA-PSS, SHA-256, MGF1-SHA-256, salt 32.
    RsaPssSha256,
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    RsaPkcs1Sha256,
    /// RSASSA-PKCS1-v1_5 with SHA-384.
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
    /// What kind of key `bytes` holds.
    pub kind: KeyKind,
    /// The key: a PKCS#1 RSAPublicKey (DER) or an uncompressed SEC1 point.
    pub bytes: Vec<u8>,
}

impl PublicKey {
    /// An RSA key from its big-endian modulus and exponent (PKCS#1 RSAPublicKey DER inside).
    pub(crate) fn rsa(n: &[u8], e: &[u8]) -> PublicKey {
        let mut body = Vec::new();
        der_uint(n, &mut body);
        der_uint(e, &mut body);
        let mut der = vec![0x30];
        der_len(body.len(), &mut der);
        der.extend(body);
        PublicKey { kind: KeyKind::Rsa, bytes: der }
    }

    /// Modulus and exponent of an RSA key (big-endian, leading zeros stripped).
    pub(crate) fn rsa_parts(&self) -> Option<(Vec<u8>, Vec<u8>)> {
        if self.kind != KeyKind::Rsa {
            return None;
        }
        let (t, seq, _) = der_tlv(&self.bytes)?;
        let (t1, n, rest) = der_tlv(seq)?;
        let (t2, e, _) = der_tlv(rest)?;
        if t != 0x30 || t1 != 2 || t2 != 2 {
            return None;
        }
        let strip = |v: &[u8]| v.iter().position(|&x| x != 0).map(|i| v[i..].to_vec()).unwrap_or_else(|| vec![0]);
        Some((strip(n), strip(e)))
    }

    /// An EC key from big-endian affine coordinates (left-padded to the field size).
    pub(crate) fn ec(kind: KeyKind, x: &[u8], y: &[u8]) -> Result<PublicKey, String> {
        let size = match kind {
            KeyKind::EcP256 => 32,
            KeyKind::EcP384 => 48,
            KeyKind::Rsa => return Err("not an EC key kind".into()),
        };
        if x.len() > size || y.len() > size {
            return Err(format!("EC coordinates longer than {size} bytes"));
        }
        let mut p = vec![4u8];
        p.extend(std::iter::repeat_n(0, size - x.len()));
        p.extend_from_slice(x);
        p.extend(std::iter::repeat_n(0, size - y.len()));
        p.extend_from_slice(y);
        Ok(PublicKey { kind, bytes: p })
    }

    /// The AWS-LC algorithm for verifying `alg` signatures with this key, if the pair makes sense.
    pub(crate) fn algorithm(&self, alg: SigAlg) -> Option<&'static dyn signature::VerificationAlgorithm> {
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

pub(crate) fn der_len(n: usize, out: &mut Vec<u8>) {
    if n < 0x80 {
        out.push(n as u8);
    } else if n < 0x100 {
        out.extend([0x81, n as u8]);
    } else {
        out.extend([0x82, (n >> 8) as u8, n as u8]);
    }
}

/// A DER INTEGER of an unsigned big-endian value (leading zeros stripped, sign byte added).
fn der_uint(v: &[u8], out: &mut Vec<u8>) {
    let v = match v.iter().position(|&x| x != 0) {
        Some(i) => &v[i..],
        None => &[0u8][..],
    };
    let pad = v.first().is_some_and(|&x| x & 0x80 != 0);
    out.push(0x02);
    der_len(v.len() + usize::from(pad), out);
    if pad {
        out.push(0);
    }
    out.extend_from_slice(v);
}

/// Writes one DER TLV (the writer's counterpart of `der_tlv`).
pub(crate) fn der_put(tag: u8, body: &[u8], out: &mut Vec<u8>) {
    out.push(tag);
    der_len(body.len(), out);
    out.extend_from_slice(body);
}

/// One DER TLV: (tag, value, rest); None when malformed (lengths up to 3 bytes).
pub(crate) fn der_tlv(b: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let tag = *b.first()?;
    let l0 = *b.get(1)?;
    let (len, hdr) = if l0 < 0x80 {
        (l0 as usize, 2)
    } else {
        let n = (l0 & 0x7F) as usize;
        if n == 0 || n > 3 {
            return None;
        }
        let mut len = 0usize;
        for i in 0..n {
            len = (len << 8) | *b.get(2 + i)? as usize;
        }
        (len, 2 + n)
    };
    let end = hdr.checked_add(len)?;
    Some((tag, b.get(hdr..end)?, b.get(end..)?))
}
