//! A simulated AWS Nitro Enclaves PKI and NSM document signer. The root key and certificate are
//! deterministic (fixed seed); the chain below it is issued for a given time, with AWS's
//! lifetimes (regional ~20 days, zonal ~6 days, instance ~1 day, enclave leaf ~3 hours), all
//! ECDSA P-384 with SHA-384, like the real one.

use super::{der, extension, rng_for, sha256};
use cloud_ra_verify::cbor::{Value, encode};
use p384::ecdsa::signature::Signer as _;
use p384::ecdsa::{DerSignature, Signature, SigningKey};
use std::collections::BTreeMap;
use std::sync::OnceLock;

const OID_ECDSA_SHA384: &str = "1.2.840.10045.4.3.3";
const OID_EC_PUBLIC_KEY: &str = "1.2.840.10045.2.1";
const OID_SECP384R1: &str = "1.3.132.0.34";
/// Root validity: 2019-10-28 .. 2049-10-28, like AWS Root-G1.
pub const ROOT_NOT_BEFORE: i64 = 1_572_220_800;
pub const ROOT_NOT_AFTER: i64 = 2_518_992_000;

fn key(label: &str) -> SigningKey {
    SigningKey::random(&mut rng_for(&[b"nitro", label.as_bytes()]))
}

fn spki(k: &SigningKey) -> Vec<u8> {
    let point = k.verifying_key().to_encoded_point(false);
    der::sequence(&[
        &der::sequence(&[&der::oid(OID_EC_PUBLIC_KEY), &der::oid(OID_SECP384R1)]),
        &der::bit_string(point.as_bytes()),
    ])
}

fn name(cn: &str) -> Vec<u8> {
    let rdn = |oid: &str, value: Vec<u8>| der::set(&[&der::sequence(&[&der::oid(oid), &value])]);
    der::sequence_of(&[
        rdn("2.5.4.6", der::printable_string("US")),
        rdn("2.5.4.10", der::utf8_string("cloud-ra SIMULATED (not Amazon)")),
        rdn("2.5.4.11", der::utf8_string("AWS")),
        rdn("2.5.4.3", der::utf8_string(cn)),
    ])
}

/// What one certificate of the chain looks like.
#[derive(Debug, Clone)]
pub struct CertSpec {
    pub cn: String,
    pub ca: bool,
    pub not_before: i64,
    pub not_after: i64,
    pub serial: u64,
}

fn cert(spec: &CertSpec, subject_key: &SigningKey, issuer_cn: &str, issuer_key: &SigningKey) -> Vec<u8> {
    let alg = der::sequence(&[&der::oid(OID_ECDSA_SHA384)]);
    let bc = if spec.ca { der::sequence(&[&der::boolean(true)]) } else { der::sequence(&[]) };
    // keyUsage: keyCertSign + cRLSign for CAs (bits 5, 6), digitalSignature (bit 0) for the leaf.
    let ku = if spec.ca { der::named_bits(&[5, 6]) } else { der::named_bits(&[0]) };
    let exts = [extension("2.5.29.19", true, &bc), extension("2.5.29.15", true, &ku)];
    let tbs = der::sequence_of(&[
        der::explicit(0, &der::small_uint(2)),
        der::uint(&spec.serial.to_be_bytes()),
        alg.clone(),
        name(issuer_cn),
        der::sequence(&[&der::time(spec.not_before), &der::time(spec.not_after)]),
        name(&spec.cn),
        spki(subject_key),
        der::explicit(3, &der::sequence_of(&exts)),
    ]);
    let sig: DerSignature = issuer_key.sign(&tbs);
    der::sequence(&[&tbs, &alg, &der::bit_string(sig.as_bytes())])
}

/// The simulated root. Obtain it with [`SimNitro::get`].
pub struct SimNitro {
    root_key: SigningKey,
    root_der: Vec<u8>,
    impostor_key: SigningKey,
}

pub const ROOT_CN: &str = "aws.nitro-enclaves";

/// A chain issued at some time: `cabundle` root first, then regional, zonal, instance; `leaf`
/// signs documents.
#[derive(Clone)]
pub struct NitroChain {
    pub cabundle: Vec<Vec<u8>>,
    pub leaf: Vec<u8>,
    leaf_key: SigningKey,
}

/// The certificates of a chain issued at `now` (override any of them for negative tests).
#[derive(Debug, Clone)]
pub struct ChainSpec {
    pub regional: CertSpec,
    pub zonal: CertSpec,
    pub instance: CertSpec,
    pub leaf: CertSpec,
    /// Issue everything under a self-signed impostor root with the same name.
    pub impostor_root: bool,
}

impl ChainSpec {
    pub fn at(now: i64) -> Self {
        let c = |cn: &str, ca: bool, back: i64, life: i64, serial: u64| CertSpec {
            cn: cn.into(),
            ca,
            not_before: now - back,
            not_after: now - back + life,
            serial,
        };
        ChainSpec {
            regional: c("0123456789abcdef.us-east-1.aws.nitro-enclaves", true, 5 * 86400, 20 * 86400, 11),
            zonal: c("fedcba9876543210.zonal.us-east-1.aws.nitro-enclaves", true, 2 * 86400, 6 * 86400, 12),
            instance: c("00aa11bb22cc33dd.i-0123456789abcdef0.us-east-1.aws.nitro-enclaves", true, 3600, 86400, 13),
            leaf: c("i-0123456789abcdef0-enc0123456789abcdef.us-east-1.aws", false, 60, 3 * 3600, 14),
            impostor_root: false,
        }
    }
}

/// The attestation document to sign.
#[derive(Debug, Clone)]
pub struct DocSpec {
    pub module_id: String,
    pub timestamp_ms: u64,
    pub pcrs: BTreeMap<u8, Vec<u8>>,
    pub user_data: Option<Vec<u8>>,
    pub nonce: Option<Vec<u8>>,
    pub public_key: Option<Vec<u8>>,
    /// COSE alg in the protected header (-35 = ES384).
    pub alg: i64,
    /// Wrap in CBOR tag 18.
    pub tagged: bool,
    /// Reverse the cabundle (root last) — a malformed bundle.
    pub reverse_cabundle: bool,
    /// Further payload entries (unknown keys, for negative tests).
    pub extra: Vec<(String, Value)>,
}

impl DocSpec {
    /// A production-looking enclave: PCR0..2 and PCR8 non-zero, PCR3/4 set, 16 PCRs in all.
    pub fn at(now: i64) -> Self {
        let mut pcrs = BTreeMap::new();
        for i in 0u8..16 {
            let v = match i {
                0..=4 | 8 => sha384_of(&[b"cloud-ra sim pcr", &[i]]).to_vec(),
                _ => vec![0u8; 48],
            };
            pcrs.insert(i, v);
        }
        DocSpec {
            module_id: "i-0123456789abcdef0-enc0123456789abcdef".into(),
            timestamp_ms: (now as u64) * 1000,
            pcrs,
            user_data: None,
            nonce: None,
            public_key: None,
            alg: -35,
            tagged: false,
            reverse_cabundle: false,
            extra: Vec::new(),
        }
    }
    /// A debug-mode enclave: every PCR zero.
    pub fn debug(mut self) -> Self {
        for v in self.pcrs.values_mut() {
            v.iter_mut().for_each(|b| *b = 0);
        }
        self
    }
}

fn sha384_of(parts: &[&[u8]]) -> [u8; 48] {
    use sha2::Digest;
    let mut h = sha2::Sha384::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

impl SimNitro {
    pub fn get() -> &'static SimNitro {
        static S: OnceLock<SimNitro> = OnceLock::new();
        S.get_or_init(|| {
            let root_key = key("root");
            let spec = CertSpec {
                cn: ROOT_CN.into(),
                ca: true,
                not_before: ROOT_NOT_BEFORE,
                not_after: ROOT_NOT_AFTER,
                serial: 1,
            };
            let root_der = cert(&spec, &root_key, ROOT_CN, &root_key);
            SimNitro { root_key, root_der, impostor_key: key("impostor-root") }
        })
    }

    pub fn root_der(&self) -> &[u8] {
        &self.root_der
    }

    pub fn root_sha256(&self) -> [u8; 32] {
        sha256(&self.root_der)
    }

    /// Issues regional -> zonal -> instance -> leaf under the (or an impostor) root.
    pub fn chain(&self, spec: &ChainSpec) -> NitroChain {
        let (root_key, root_der) = if spec.impostor_root {
            let rs = CertSpec {
                cn: ROOT_CN.into(),
                ca: true,
                not_before: ROOT_NOT_BEFORE,
                not_after: ROOT_NOT_AFTER,
                serial: 1,
            };
            (&self.impostor_key, cert(&rs, &self.impostor_key, ROOT_CN, &self.impostor_key))
        } else {
            (&self.root_key, self.root_der.clone())
        };
        let (rk, zk, ik, lk) = (key("regional"), key("zonal"), key("instance"), key("leaf"));
        let regional = cert(&spec.regional, &rk, ROOT_CN, root_key);
        let zonal = cert(&spec.zonal, &zk, &spec.regional.cn, &rk);
        let instance = cert(&spec.instance, &ik, &spec.zonal.cn, &zk);
        let leaf = cert(&spec.leaf, &lk, &spec.instance.cn, &ik);
        NitroChain { cabundle: vec![root_der, regional, zonal, instance], leaf, leaf_key: lk }
    }
}

impl NitroChain {
    /// The COSE_Sign1 document, signed ES384 by the leaf key.
    pub fn sign(&self, d: &DocSpec) -> Vec<u8> {
        let opt = |v: &Option<Vec<u8>>| v.as_ref().map(|b| Value::Bytes(b.clone())).unwrap_or(Value::Null);
        let mut cabundle: Vec<Value> = self.cabundle.iter().map(|c| Value::Bytes(c.clone())).collect();
        if d.reverse_cabundle {
            cabundle.reverse();
        }
        let mut payload = vec![
            (Value::Text("module_id".into()), Value::Text(d.module_id.clone())),
            (Value::Text("digest".into()), Value::Text("SHA384".into())),
            (Value::Text("timestamp".into()), Value::Uint(d.timestamp_ms)),
            (
                Value::Text("pcrs".into()),
                Value::Map(d.pcrs.iter().map(|(i, v)| (Value::Uint(*i as u64), Value::Bytes(v.clone()))).collect()),
            ),
            (Value::Text("certificate".into()), Value::Bytes(self.leaf.clone())),
            (Value::Text("cabundle".into()), Value::Array(cabundle)),
            (Value::Text("public_key".into()), opt(&d.public_key)),
            (Value::Text("user_data".into()), opt(&d.user_data)),
            (Value::Text("nonce".into()), opt(&d.nonce)),
        ];
        payload.extend(d.extra.iter().map(|(k, v)| (Value::Text(k.clone()), v.clone())));
        let payload = encode(&Value::Map(payload));
        let alg = if d.alg < 0 { Value::Nint((-1 - d.alg) as u64) } else { Value::Uint(d.alg as u64) };
        let protected = encode(&Value::Map(vec![(Value::Uint(1), alg)]));
        let tbs = encode(&Value::Array(vec![
            Value::Text("Signature1".into()),
            Value::Bytes(protected.clone()),
            Value::Bytes(Vec::new()),
            Value::Bytes(payload.clone()),
        ]));
        let sig: Signature = self.leaf_key.sign(&tbs);
        let cose = Value::Array(vec![
            Value::Bytes(protected),
            Value::Map(Vec::new()),
            Value::Bytes(payload),
            Value::Bytes(sig.to_bytes().to_vec()),
        ]);
        encode(&if d.tagged { Value::Tag(18, Box::new(cose)) } else { cose })
    }
}
