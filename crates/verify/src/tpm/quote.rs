//! TPMT_PUBLIC, TPMS_ATTEST (TPM_ST_ATTEST_QUOTE) and TPMT_SIGNATURE.

use crate::crypto::{KeyKind, PublicKey, SigAlg};
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
const TPM_ECC_NIST_P256: u16 = 0x0003;

struct R<'a> {
    b: &'a [u8],
    pos: usize,
    what: &'static str,
}

impl<'a> R<'a> {
    fn err(&self, m: impl std::fmt::Display) -> Error {
        Error::evidence("tpm.format", format!("{} at offset {}: {m}", self.what, self.pos))
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

/// An attestation key from TPMT_PUBLIC.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AkPublic {
    pub key: PublicKey,
    pub name_alg: u16,
    /// The key's signing scheme hash, when it fixes one.
    pub scheme_hash: Option<u16>,
}

fn der_len(n: usize, out: &mut Vec<u8>) {
    if n < 0x80 {
        out.push(n as u8);
    } else if n < 0x100 {
        out.extend([0x81, n as u8]);
    } else {
        out.extend([0x82, (n >> 8) as u8, n as u8]);
    }
}

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

impl AkPublic {
    /// Parses TPMT_PUBLIC (RSA or ECC P-256 signing keys).
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
        let key = match ty {
            TPM_ALG_RSA => {
                if scheme != TPM_ALG_NULL && scheme != TPM_ALG_RSASSA {
                    return Err(r.err(format!("RSA scheme {scheme:#06x} is not supported (RSASSA only)")));
                }
                let bits = r.u16()?;
                let exp = r.u32()?;
                let n = r.tpm2b()?;
                if !(2048..=8192).contains(&bits) || n.len() * 8 != bits as usize {
                    return Err(r.err(format!("RSA modulus of {} bytes for keyBits {bits}", n.len())));
                }
                let e = if exp == 0 { 65537u32 } else { exp };
                let mut body = Vec::new();
                der_uint(n, &mut body);
                der_uint(&e.to_be_bytes(), &mut body);
                let mut der = vec![0x30];
                der_len(body.len(), &mut der);
                der.extend(body);
                PublicKey { kind: KeyKind::Rsa, bytes: der }
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
                if curve != TPM_ECC_NIST_P256 {
                    return Err(r.err(format!("curve {curve:#06x} is not supported (P-256 only)")));
                }
                let x = r.tpm2b()?;
                let y = r.tpm2b()?;
                if x.len() > 32 || y.len() > 32 {
                    return Err(r.err("P-256 coordinates longer than 32 bytes"));
                }
                let mut p = vec![4u8];
                p.extend(std::iter::repeat_n(0, 32 - x.len()));
                p.extend_from_slice(x);
                p.extend(std::iter::repeat_n(0, 32 - y.len()));
                p.extend_from_slice(y);
                PublicKey { kind: KeyKind::EcP256, bytes: p }
            }
            t => return Err(r.err(format!("key type {t:#06x} is not RSA or ECC"))),
        };
        r.end()?;
        Ok(AkPublic { key, name_alg, scheme_hash })
    }
}

/// A parsed TPMS_ATTEST of type quote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attest {
    pub qualified_signer: Vec<u8>,
    pub extra_data: Vec<u8>,
    pub clock: u64,
    pub reset_count: u32,
    pub restart_count: u32,
    pub safe: bool,
    pub firmware_version: u64,
    /// (bank, selected PCR indices in ascending order), in selection order.
    pub selection: Vec<(AlgId, Vec<u32>)>,
    pub pcr_digest: Vec<u8>,
}

impl Attest {
    pub fn parse(b: &[u8]) -> Result<Attest> {
        let mut r = R { b, pos: 0, what: "TPMS_ATTEST" };
        if r.u32()? != TPM_GENERATED_VALUE {
            return Err(Error::evidence("tpm.magic", "TPMS_ATTEST.magic is not TPM_GENERATED_VALUE"));
        }
        let ty = r.u16()?;
        if ty != TPM_ST_ATTEST_QUOTE {
            return Err(Error::evidence("tpm.type", format!("TPMS_ATTEST.type {ty:#06x} is not a quote")));
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

/// PCR values (bank → index → value) that a verified quote vouches for.
pub type QuotedPcrs = BTreeMap<AlgId, BTreeMap<u32, Vec<u8>>>;

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
    let a = Attest::parse(attest)?;
    let mut r = R { b: signature, pos: 0, what: "TPMT_SIGNATURE" };
    let sig_alg = r.u16()?;
    let hash = r.u16()?;
    let (alg, sig) = match (sig_alg, hash, ak.key.kind) {
        (TPM_ALG_RSASSA, 0x000B, KeyKind::Rsa) => (SigAlg::RsaPkcs1Sha256, r.tpm2b()?.to_vec()),
        (TPM_ALG_RSASSA, 0x000C, KeyKind::Rsa) => (SigAlg::RsaPkcs1Sha384, r.tpm2b()?.to_vec()),
        (TPM_ALG_ECDSA, 0x000B, KeyKind::EcP256) => {
            let (x, y) = (r.tpm2b()?, r.tpm2b()?);
            if x.len() > 32 || y.len() > 32 {
                return Err(r.err("ECDSA r or s longer than 32 bytes"));
            }
            let mut s = vec![0u8; 64];
            s[32 - x.len()..32].copy_from_slice(x);
            s[64 - y.len()..].copy_from_slice(y);
            (SigAlg::EcdsaP256Sha256Fixed, s)
        }
        _ => {
            return Err(Error::evidence(
                "tpm.signature",
                format!("signature scheme {sig_alg:#06x} with hash {hash:#06x} does not fit the attestation key"),
            ));
        }
    };
    r.end()?;
    if ak.scheme_hash.is_some_and(|h| h != hash) {
        return Err(Error::evidence("tpm.signature", "the signature's hash is not the key's scheme hash"));
    }
    ak.key.verify(alg, attest, &sig).map_err(|e| Error::evidence("tpm.signature", e))?;
    if a.extra_data != nonce {
        return Err(Error::evidence(
            "tpm.nonce",
            format!("extraData {} is not the nonce {}", hex::encode(&a.extra_data), hex::encode(nonce)),
        ));
    }
    let mut concat = Vec::new();
    let mut out = QuotedPcrs::new();
    for (bank, idx) in &a.selection {
        for i in idx {
            let v = pcrs.get(bank).and_then(|m| m.get(i)).ok_or_else(|| {
                Error::evidence("tpm.pcrs", format!("the quote selects {} PCR{i} but no value was given", bank.name()))
            })?;
            concat.extend_from_slice(v);
            out.entry(*bank).or_default().insert(*i, v.clone());
        }
    }
    let digest = AlgId(hash).hash(&concat).ok_or_else(|| Error::evidence("tpm.pcrs", "unsupported hash"))?;
    if digest != a.pcr_digest {
        return Err(Error::evidence("tpm.pcrs", "the PCR values do not hash to the quote's pcrDigest"));
    }
    Ok(out)
}
