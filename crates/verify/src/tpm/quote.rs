//! TPMT_PUBLIC, TPMS_ATTEST (TPM_ST_ATTEST_QUOTE) and TPMT_SIGNATURE.

use crate::Check;
use crate::crypto::{KeyKind, PublicKey, SigAlg, der_put as der_tlv};
use crate::error::{Error, Result};
use crate::eventlog::AlgId;
use std::collections::BTreeMap;

const TPM_GENERATED_VALUE: u32 = 0xff54_4347;
const TPM_ST_ATTEST_QUOTE: u16 = 0x8018;
const TPM_ALG_RSA: u16 = 0x0001;
const TPM_ALG_ECC: u16 = 0x0023;
const TPM_ALG_NULL: u16 = 0x0010;
const TPM_ALG_RSASSA: u16 = 0x0014;
const TPM_ALG_ECDSA: u16 = 0x0018;
const TPM_ALG_RSAPSS: u16 = 0x0016;
const TPM_ECC_NIST_P256: u16 = 0x0003;
const TPM_ECC_NIST_P384: u16 = 0x0004;

struct R<'a> {
    b: &'a [u8],
    pos: usize,
    what: &'static str,
}

impl<'a> R<'a> {
    fn err(&self, m: impl std::fmt::Display) -> Error {
        Error::evidence(Check::TpmFormat, format!("{} at offset {}: {m}", self.what, self.pos))
    }
    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let s = self.pos.checked_add(n).and_then(|e| self.b.get(self.pos..e)).ok_or_else(|| self.err("truncated"))?;
        self.pos += n;
        Ok(s)
    }
    fn u8(&mut self) -> Result<u8> {
        Ok(self.take(1)?[0])
    }
    fn u16(&mut self) -> Result<u16> {
        let s = self.take(2)?;
        Ok(u16::from_be_bytes([s[0], s[1]]))
    }
    fn u32(&mut self) -> Result<u32> {
        let s = self.take(4)?;
        Ok(u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
    }
    fn u64(&mut self) -> Result<u64> {
        let s = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(s);
        Ok(u64::from_be_bytes(a))
    }
    fn tpm2b(&mut self) -> Result<&'a [u8]> {
        let n = self.u16()? as usize;
        self.take(n)
    }
    fn end(&self) -> Result<()> {
        if self.pos != self.b.len() {
            return Err(self.err(format!("{} trailing bytes", self.b.len() - self.pos)));
        }
        Ok(())
    }
}

/// The public part of an attestation key, as a TPM or a JWK gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyParams {
    /// Big-endian modulus without leading zeros, and the public exponent (TPM 0 means 65537).
    Rsa {
        /// The modulus, big-endian without leading zeros.
        modulus: Vec<u8>,
        /// The public exponent.
        exponent: u32,
    },
    /// TPM_ECC_CURVE and the affine coordinates, each left-padded to the curve size.
    Ecc {
        /// TPM_ECC_CURVE: TPM_ECC_NIST_P256 (0x0003) or TPM_ECC_NIST_P384 (0x0004).
        curve: u16,
        /// The affine x coordinate, left-padded to the curve size.
        x: Vec<u8>,
        /// The affine y coordinate, left-padded to the curve size.
        y: Vec<u8>,
    },
}

/// An attestation key from TPMT_PUBLIC (or a SubjectPublicKeyInfo).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AkPublic {
    /// The key in the form the crypto layer verifies with.
    pub key: PublicKey,
    /// The key's parameters (RSA modulus and exponent, or ECC curve and point).
    pub params: KeyParams,
    /// nameAlg (TPMI_ALG_HASH): the key's name algorithm (TPM_ALG_SHA256 when not from a TPMT_PUBLIC).
    pub name_alg: u16,
    /// The key's signing scheme (TPM_ALG_RSASSA, _RSAPSS, _ECDSA), when it fixes one.
    pub scheme: Option<u16>,
    /// The key's signing scheme hash, when it fixes one.
    pub scheme_hash: Option<u16>,
}

fn strip_zeros(v: &[u8]) -> Vec<u8> {
    let i = v.iter().position(|&x| x != 0).unwrap_or(v.len());
    v[i..].to_vec()
}

/// Curve sizes of the TPM curves cloud-ra verifies.
fn curve_size(curve: u16) -> Option<(usize, KeyKind)> {
    match curve {
        TPM_ECC_NIST_P256 => Some((32, KeyKind::EcP256)),
        TPM_ECC_NIST_P384 => Some((48, KeyKind::EcP384)),
        _ => None,
    }
}

impl KeyParams {
    /// The parameters of a crypto-layer key (RSA modulus and exponent, or EC point).
    pub(crate) fn from_public_key(k: &PublicKey) -> std::result::Result<KeyParams, String> {
        match k.kind {
            KeyKind::Rsa => {
                let (n, e) = k.rsa_parts().ok_or("not a PKCS#1 RSA public key")?;
                if e.is_empty() || e.len() > 4 {
                    return Err(format!("RSA exponent of {} bytes", e.len()));
                }
                Ok(KeyParams::Rsa { modulus: n, exponent: e.iter().fold(0u32, |a, &b| (a << 8) | b as u32) })
            }
            KeyKind::EcP256 | KeyKind::EcP384 => {
                let (curve, size) =
                    if k.kind == KeyKind::EcP256 { (TPM_ECC_NIST_P256, 32) } else { (TPM_ECC_NIST_P384, 48) };
                if k.bytes.len() != 1 + 2 * size || k.bytes[0] != 4 {
                    return Err("not an uncompressed EC point".into());
                }
                Ok(KeyParams::Ecc { curve, x: k.bytes[1..1 + size].to_vec(), y: k.bytes[1 + size..].to_vec() })
            }
        }
    }

    /// The key in the form the crypto layer verifies with (PKCS#1 RSAPublicKey or SEC1 point).
    pub(crate) fn to_public_key(&self) -> std::result::Result<PublicKey, String> {
        match self {
            KeyParams::Rsa { modulus, exponent } => {
                let bits = modulus.len() * 8;
                if !(2048..=8192).contains(&bits) {
                    return Err(format!("RSA modulus of {} bytes (2048..8192 bits accepted)", modulus.len()));
                }
                Ok(PublicKey::rsa(modulus, &exponent.to_be_bytes()))
            }
            KeyParams::Ecc { curve, x, y } => {
                let (size, kind) = curve_size(*curve)
                    .ok_or_else(|| format!("ECC curve {curve:#06x} is not supported (P-256, P-384)"))?;
                if x.len() != size || y.len() != size {
                    return Err(format!(
                        "ECC point coordinates of {} and {} bytes for a {size}-byte curve",
                        x.len(),
                        y.len()
                    ));
                }
                PublicKey::ec(kind, x, y)
            }
        }
    }

    /// DER SubjectPublicKeyInfo (what `tpm2_readpublic -f der` and `openssl pkey -pubin` give).
    pub fn spki_der(&self) -> Vec<u8> {
        let (alg, key) = match self {
            KeyParams::Rsa { .. } => {
                let mut alg = Vec::new();
                der_tlv(0x06, &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01], &mut alg);
                alg.extend([0x05, 0x00]);
                (alg, self.to_public_key().map(|k| k.bytes).unwrap_or_default())
            }
            KeyParams::Ecc { curve, x, y } => {
                let mut alg = Vec::new();
                der_tlv(0x06, &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01], &mut alg);
                let oid: &[u8] = if *curve == TPM_ECC_NIST_P384 {
                    &[0x2b, 0x81, 0x04, 0x00, 0x22]
                } else {
                    &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07]
                };
                der_tlv(0x06, oid, &mut alg);
                let mut p = vec![4u8];
                p.extend_from_slice(x);
                p.extend_from_slice(y);
                (alg, p)
            }
        };
        let mut alg_seq = Vec::new();
        der_tlv(0x30, &alg, &mut alg_seq);
        let mut bits = vec![0u8];
        bits.extend(key);
        let mut body = alg_seq;
        der_tlv(0x03, &bits, &mut body);
        let mut out = Vec::new();
        der_tlv(0x30, &body, &mut out);
        out
    }

    /// SHA-256 of the SubjectPublicKeyInfo, hex: the key's fingerprint in claims.
    pub fn fingerprint(&self) -> String {
        hex::encode(crate::crypto::sha256(&self.spki_der()))
    }

    /// Whether two keys are the same key (RSA: modulus and exponent; ECC: curve and point).
    pub fn same_key(&self, other: &KeyParams) -> bool {
        match (self, other) {
            (KeyParams::Rsa { modulus: a, exponent: e }, KeyParams::Rsa { modulus: b, exponent: f }) => {
                strip_zeros(a) == strip_zeros(b) && e == f
            }
            _ => self == other,
        }
    }
}

impl AkPublic {
    /// Parses TPMT_PUBLIC (RSA or ECC P-256/P-384 signing keys).
    pub fn parse(b: &[u8]) -> Result<AkPublic> {
        let mut r = R { b, pos: 0, what: "TPMT_PUBLIC" };
        let ty = r.u16()?;
        let name_alg = r.u16()?;
        let _attributes = r.u32()?;
        let _auth_policy = r.tpm2b()?;
        let sym = r.u16()?;
        if sym != TPM_ALG_NULL {
            return Err(r.err("a signing key has a symmetric algorithm"));
        }
        let scheme = r.u16()?;
        let scheme_hash = if scheme == TPM_ALG_NULL { None } else { Some(r.u16()?) };
        let params = match ty {
            TPM_ALG_RSA => {
                if ![TPM_ALG_NULL, TPM_ALG_RSASSA, TPM_ALG_RSAPSS].contains(&scheme) {
                    return Err(r.err(format!("RSA scheme {scheme:#06x} is not supported (RSASSA, RSAPSS)")));
                }
                let bits = r.u16()?;
                let exp = r.u32()?;
                let n = r.tpm2b()?;
                if !(2048..=8192).contains(&bits) || n.len() * 8 != bits as usize {
                    return Err(r.err(format!("RSA modulus of {} bytes for keyBits {bits}", n.len())));
                }
                KeyParams::Rsa { modulus: strip_zeros(n), exponent: if exp == 0 { 65537 } else { exp } }
            }
            TPM_ALG_ECC => {
                if scheme != TPM_ALG_NULL && scheme != TPM_ALG_ECDSA {
                    return Err(r.err(format!("ECC scheme {scheme:#06x} is not supported (ECDSA only)")));
                }
                let curve = r.u16()?;
                let kdf = r.u16()?;
                if kdf != TPM_ALG_NULL {
                    r.u16()?;
                }
                let Some((size, _)) = curve_size(curve) else {
                    return Err(r.err(format!("curve {curve:#06x} is not supported (P-256, P-384)")));
                };
                let x = r.tpm2b()?;
                let y = r.tpm2b()?;
                if x.len() > size || y.len() > size {
                    return Err(r.err(format!("ECC coordinates longer than {size} bytes")));
                }
                let pad = |v: &[u8]| {
                    let mut o = vec![0u8; size - v.len()];
                    o.extend_from_slice(v);
                    o
                };
                KeyParams::Ecc { curve, x: pad(x), y: pad(y) }
            }
            t => return Err(r.err(format!("key type {t:#06x} is not RSA or ECC"))),
        };
        r.end()?;
        let key = params.to_public_key().map_err(|e| r.err(e))?;
        let scheme = (scheme != TPM_ALG_NULL).then_some(scheme);
        Ok(AkPublic { key, params, name_alg, scheme, scheme_hash })
    }

    /// An AK given as a DER SubjectPublicKeyInfo (`tpm2_readpublic -f pem`, kinvolk's akpub.pem).
    pub fn from_spki(der: &[u8]) -> Result<AkPublic> {
        let params = crate::x509::spki_params(der)
            .map_err(|e| Error::evidence(Check::TpmAk, format!("SubjectPublicKeyInfo: {e}")))?;
        let key = params.to_public_key().map_err(|e| Error::evidence(Check::TpmAk, e))?;
        Ok(AkPublic { key, params, name_alg: 0x000B, scheme: None, scheme_hash: None })
    }

    /// An AK from key parameters alone (a JWK): no TPM attributes, no fixed scheme.
    pub fn from_params(params: KeyParams) -> std::result::Result<AkPublic, String> {
        let key = params.to_public_key()?;
        Ok(AkPublic { key, params, name_alg: 0x000B, scheme: None, scheme_hash: None })
    }
}

/// A parsed TPMS_ATTEST of type quote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attest {
    /// qualifiedSigner (TPM2B_NAME): the qualified name of the signing key.
    pub qualified_signer: Vec<u8>,
    /// extraData (TPM2B_DATA): the qualifying data the caller supplied (the nonce).
    pub extra_data: Vec<u8>,
    /// clockInfo.clock: the TPM's Clock in milliseconds (it advances while the TPM is powered).
    pub clock: u64,
    /// clockInfo.resetCount: TPM Resets since the last TPM2_Clear.
    pub reset_count: u32,
    /// clockInfo.restartCount: TPM Restarts or Resumes since the last TPM Reset or TPM2_Clear.
    pub restart_count: u32,
    /// clockInfo.safe: no value of Clock greater than the current one has been reported.
    pub safe: bool,
    /// firmwareVersion: the TPM vendor's firmware version.
    pub firmware_version: u64,
    /// (bank, selected PCR indices in ascending order), in selection order.
    pub selection: Vec<(AlgId, Vec<u32>)>,
    /// attested.quote.pcrDigest (TPMS_QUOTE_INFO): the digest of the selected PCRs.
    pub pcr_digest: Vec<u8>,
}

impl Attest {
    /// Parses a TPMS_ATTEST; its magic must be TPM_GENERATED_VALUE and its type TPM_ST_ATTEST_QUOTE.
    pub fn parse(b: &[u8]) -> Result<Attest> {
        let mut r = R { b, pos: 0, what: "TPMS_ATTEST" };
        if r.u32()? != TPM_GENERATED_VALUE {
            return Err(Error::evidence(Check::TpmMagic, "TPMS_ATTEST.magic is not TPM_GENERATED_VALUE"));
        }
        let ty = r.u16()?;
        if ty != TPM_ST_ATTEST_QUOTE {
            return Err(Error::evidence(Check::TpmType, format!("TPMS_ATTEST.type {ty:#06x} is not a quote")));
        }
        let qualified_signer = r.tpm2b()?.to_vec();
        let extra_data = r.tpm2b()?.to_vec();
        let clock = r.u64()?;
        let reset_count = r.u32()?;
        let restart_count = r.u32()?;
        let safe = r.u8()? != 0;
        let firmware_version = r.u64()?;
        let count = r.u32()? as usize;
        if count > 16 {
            return Err(r.err(format!("{count} PCR selections")));
        }
        let mut selection = Vec::new();
        for _ in 0..count {
            let alg = AlgId(r.u16()?);
            let n = r.u8()? as usize;
            let bits = r.take(n)?;
            let mut idx = Vec::new();
            for (byte, v) in bits.iter().enumerate() {
                for bit in 0..8 {
                    if v & (1 << bit) != 0 {
                        idx.push((byte * 8 + bit) as u32);
                    }
                }
            }
            selection.push((alg, idx));
        }
        let pcr_digest = r.tpm2b()?.to_vec();
        r.end()?;
        Ok(Attest {
            qualified_signer,
            extra_data,
            clock,
            reset_count,
            restart_count,
            safe,
            firmware_version,
            selection,
            pcr_digest,
        })
    }
}

impl Attest {
    /// Marshals a quote TPMS_ATTEST (magic, TPM_ST_ATTEST_QUOTE, ...) as a TPM would.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut o = Vec::new();
        o.extend(TPM_GENERATED_VALUE.to_be_bytes());
        o.extend(TPM_ST_ATTEST_QUOTE.to_be_bytes());
        for b in [&self.qualified_signer, &self.extra_data] {
            o.extend((b.len() as u16).to_be_bytes());
            o.extend_from_slice(b);
        }
        o.extend(self.clock.to_be_bytes());
        o.extend(self.reset_count.to_be_bytes());
        o.extend(self.restart_count.to_be_bytes());
        o.push(u8::from(self.safe));
        o.extend(self.firmware_version.to_be_bytes());
        o.extend((self.selection.len() as u32).to_be_bytes());
        for (alg, idx) in &self.selection {
            o.extend(alg.0.to_be_bytes());
            let size = idx.iter().map(|i| *i as usize / 8 + 1).max().unwrap_or(0).max(3);
            let mut bits = vec![0u8; size];
            for i in idx {
                bits[*i as usize / 8] |= 1 << (i % 8);
            }
            o.push(size as u8);
            o.extend(bits);
        }
        o.extend((self.pcr_digest.len() as u16).to_be_bytes());
        o.extend_from_slice(&self.pcr_digest);
        o
    }

    /// The (bank, index) pairs the quote covers, in selection order (the order of `pcrDigest`).
    pub fn selected(&self) -> Vec<(AlgId, u32)> {
        self.selection.iter().flat_map(|(a, idx)| idx.iter().map(move |i| (*a, *i))).collect()
    }

    /// Splits PCR values concatenated in selection order (the bundle's `tpm_pcrs`) by bank and index.
    pub fn split_pcrs(&self, concat: &[u8]) -> Result<QuotedPcrs> {
        let mut out = QuotedPcrs::new();
        let mut pos = 0usize;
        for (bank, i) in self.selected() {
            let n = bank.known_size().ok_or_else(|| {
                Error::evidence(
                    Check::TpmPcrs,
                    format!("the quote selects bank {} whose digest size is unknown", bank.name()),
                )
            })?;
            let v = concat.get(pos..pos + n).ok_or_else(|| {
                Error::evidence(
                    Check::TpmPcrs,
                    format!(
                        "{} bytes of PCR values, but the quote's selection needs {} ({} PCR{i} at offset {pos} is missing)",
                        concat.len(),
                        self.selected().iter().map(|(b, _)| b.known_size().unwrap_or(0)).sum::<usize>(),
                        bank.name()
                    ),
                )
            })?;
            out.entry(bank).or_default().insert(i, v.to_vec());
            pos += n;
        }
        if pos != concat.len() {
            return Err(Error::evidence(
                Check::TpmPcrs,
                format!("{} bytes of PCR values, but the quote's selection covers {pos}", concat.len()),
            ));
        }
        Ok(out)
    }
}

/// TPMT_SIGNATURE: the scheme, its hash, and the signature in the form the crypto layer takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature {
    /// TPM_ALG_RSASSA, TPM_ALG_RSAPSS or TPM_ALG_ECDSA.
    pub scheme: u16,
    /// The signature scheme's hash algorithm (TPMI_ALG_HASH).
    pub hash: u16,
    /// RSA: the signature; ECDSA: r || s, each left-padded to the curve size.
    pub sig: Vec<u8>,
}

impl Signature {
    /// Parses a TPMT_SIGNATURE of scheme RSASSA, RSAPSS or ECDSA.
    pub fn parse(b: &[u8]) -> Result<Signature> {
        let mut r = R { b, pos: 0, what: "TPMT_SIGNATURE" };
        let scheme = r.u16()?;
        let hash = r.u16()?;
        let sig = match scheme {
            TPM_ALG_RSASSA | TPM_ALG_RSAPSS => r.tpm2b()?.to_vec(),
            TPM_ALG_ECDSA => {
                let (x, y) = (r.tpm2b()?, r.tpm2b()?);
                let size = if x.len() > 32 || y.len() > 32 { 48 } else { 32 };
                if x.len() > size || y.len() > size {
                    return Err(r.err("ECDSA r or s longer than 48 bytes"));
                }
                let mut s = vec![0u8; 2 * size];
                s[size - x.len()..size].copy_from_slice(x);
                s[2 * size - y.len()..].copy_from_slice(y);
                s
            }
            other => {
                return Err(Error::evidence(
                    Check::TpmSignature,
                    format!("TPMT_SIGNATURE.sigAlg {other:#06x} is not RSASSA, RSAPSS or ECDSA"),
                ));
            }
        };
        r.end()?;
        Ok(Signature { scheme, hash, sig })
    }

    /// A bare RSASSA-PKCS1-v1_5/SHA-256 signature (what tss-esapi hands out for Azure's AK and
    /// trustee/kinvolk carry), as the TPMT_SIGNATURE the TPM returned.
    pub(crate) fn rsassa_sha256(sig: &[u8]) -> Signature {
        Signature { scheme: TPM_ALG_RSASSA, hash: 0x000B, sig: sig.to_vec() }
    }

    /// Marshals as TPMT_SIGNATURE.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut o = Vec::new();
        o.extend(self.scheme.to_be_bytes());
        o.extend(self.hash.to_be_bytes());
        if self.scheme == TPM_ALG_ECDSA {
            let (r, s) = self.sig.split_at(self.sig.len() / 2);
            for v in [r, s] {
                o.extend((v.len() as u16).to_be_bytes());
                o.extend_from_slice(v);
            }
        } else {
            o.extend((self.sig.len() as u16).to_be_bytes());
            o.extend_from_slice(&self.sig);
        }
        o
    }

    /// The scheme's name, for claims and messages.
    pub(crate) fn scheme_name(&self) -> String {
        let s = match self.scheme {
            TPM_ALG_RSASSA => "rsassa",
            TPM_ALG_RSAPSS => "rsapss",
            TPM_ALG_ECDSA => "ecdsa",
            _ => "unknown",
        };
        format!("{s}-{}", AlgId(self.hash).name())
    }
}

/// PCR values (bank → index → value) that a verified quote vouches for.
pub type QuotedPcrs = BTreeMap<AlgId, BTreeMap<u32, Vec<u8>>>;

/// A quote whose signature, and PCR digest over the supplied values, verified.
#[derive(Debug, Clone)]
pub struct VerifiedQuote {
    /// The quote's TPMS_ATTEST.
    pub attest: Attest,
    /// The AK's signature over it.
    pub signature: Signature,
    /// The selected PCR values, vouched for by the AK.
    pub pcrs: QuotedPcrs,
}

/// Verifies the AK's signature over `attest` (a quote: magic and type checked), and that `pcrs`
/// hash to the signed `pcrDigest` in selection order. The nonce is the caller's to compare.
pub fn verify_quote_signed(ak: &AkPublic, attest: &[u8], signature: &[u8], pcrs: &QuotedPcrs) -> Result<VerifiedQuote> {
    let a = Attest::parse(attest)?;
    let sig = Signature::parse(signature)?;
    let alg = match (sig.scheme, sig.hash, ak.key.kind) {
        (TPM_ALG_RSASSA, 0x000B, KeyKind::Rsa) => SigAlg::RsaPkcs1Sha256,
        (TPM_ALG_RSASSA, 0x000C, KeyKind::Rsa) => SigAlg::RsaPkcs1Sha384,
        (TPM_ALG_RSAPSS, 0x000B, KeyKind::Rsa) => SigAlg::RsaPssSha256,
        (TPM_ALG_RSAPSS, 0x000C, KeyKind::Rsa) => SigAlg::RsaPssSha384,
        (TPM_ALG_ECDSA, 0x000B, KeyKind::EcP256) if sig.sig.len() == 64 => SigAlg::EcdsaP256Sha256Fixed,
        (TPM_ALG_ECDSA, 0x000C, KeyKind::EcP384) if sig.sig.len() == 96 => SigAlg::EcdsaP384Sha384Fixed,
        _ => {
            return Err(Error::evidence(
                Check::TpmSignature,
                format!(
                    "signature scheme {:#06x} with hash {:#06x} ({} bytes) does not fit the {:?} attestation key",
                    sig.scheme,
                    sig.hash,
                    sig.sig.len(),
                    ak.key.kind
                ),
            ));
        }
    };
    if ak.scheme.is_some_and(|s| s != sig.scheme) {
        return Err(Error::evidence(Check::TpmSignature, "the signature's scheme is not the key's scheme"));
    }
    if ak.scheme_hash.is_some_and(|h| h != sig.hash) {
        return Err(Error::evidence(Check::TpmSignature, "the signature's hash is not the key's scheme hash"));
    }
    ak.key
        .verify(alg, attest, &sig.sig)
        .map_err(|e| Error::evidence(Check::TpmSignature, format!("quote signature by the AK: {e}")))?;
    let mut concat = Vec::new();
    let mut out = QuotedPcrs::new();
    for (bank, i) in a.selected() {
        let v = pcrs.get(&bank).and_then(|m| m.get(&i)).ok_or_else(|| {
            Error::evidence(Check::TpmPcrs, format!("the quote selects {} PCR{i} but no value was given", bank.name()))
        })?;
        concat.extend_from_slice(v);
        out.entry(bank).or_default().insert(i, v.clone());
    }
    let digest = AlgId(sig.hash).hash(&concat).ok_or_else(|| Error::evidence(Check::TpmPcrs, "unsupported hash"))?;
    if digest != a.pcr_digest {
        return Err(Error::evidence(
            Check::TpmPcrs,
            format!(
                "the supplied PCR values hash ({}) to {}, not the quote's pcrDigest {}",
                AlgId(sig.hash).name(),
                hex::encode(&digest),
                hex::encode(&a.pcr_digest)
            ),
        ));
    }
    Ok(VerifiedQuote { attest: a, signature: sig, pcrs: out })
}

/// Verifies a quote: the AK's signature over `attest`, `extraData == nonce`, and that `pcrs`
/// (the values the attestation carries) hash to the signed `pcrDigest`. Returns the selected
/// PCR values, now vouched for by the AK (whose own trust is the caller's).
pub fn verify_quote(
    ak: &AkPublic,
    attest: &[u8],
    signature: &[u8],
    nonce: &[u8],
    pcrs: &QuotedPcrs,
) -> Result<QuotedPcrs> {
    let v = verify_quote_signed(ak, attest, signature, pcrs)?;
    if v.attest.extra_data != nonce {
        return Err(Error::evidence(
            Check::TpmNonce,
            format!("extraData {} is not the nonce {}", hex::encode(&v.attest.extra_data), hex::encode(nonce)),
        ));
    }
    Ok(v.pcrs)
}

/// The fields of a quote's TPMS_ATTEST as JSON (the one shape claims and `show` use).
impl Attest {
    pub(crate) fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "qualified_signer": hex::encode(&self.qualified_signer),
            "extra_data": hex::encode(&self.extra_data),
            "clock": self.clock,
            "reset_count": self.reset_count,
            "restart_count": self.restart_count,
            "safe": self.safe,
            "firmware_version": format!("{:#018x}", self.firmware_version),
            "selection": self.selection.iter().map(|(b, i)| serde_json::json!({"bank": b.name(), "pcrs": i})).collect::<Vec<_>>(),
            "pcr_digest": hex::encode(&self.pcr_digest),
        })
    }
}

/// PCR values as claims: `pcrs` = the SHA-256 bank by index, `pcrs_<bank>` for the others.
pub(crate) fn insert_pcr_claims(obj: &mut serde_json::Map<String, serde_json::Value>, pcrs: &QuotedPcrs) {
    obj.insert("pcrs".into(), serde_json::json!({}));
    for (bank, m) in pcrs {
        let by_index: serde_json::Map<String, serde_json::Value> =
            m.iter().map(|(i, v)| (i.to_string(), serde_json::json!(hex::encode(v)))).collect();
        let key = if *bank == AlgId::SHA256 { "pcrs".to_string() } else { format!("pcrs_{}", bank.name()) };
        obj.insert(key, serde_json::Value::Object(by_index));
    }
}
