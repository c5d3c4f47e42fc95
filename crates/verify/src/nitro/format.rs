//! The AWS Nitro Enclaves attestation document: a COSE_Sign1 (tag 18 optional) whose payload is
//! a CBOR map. Field constraints follow AWS's `attestation_process.md`; where AWS's documents
//! contradict each other (user_data and nonce: 512 in one place, 1024 in another —
//! aws-nitro-enclaves-nsm-api#52) the larger limit is accepted.

use crate::Check;
use crate::cbor::{self, Value};
use crate::error::{Error, Result};
use std::collections::BTreeMap;

const CHECK: Check = Check::NitroFormat;
/// COSE algorithm ES384 (ECDSA P-384 with SHA-384).
pub(crate) const ALG_ES384: i128 = -35;
/// The largest document read (the NSM's response buffer is 0x3000 bytes).
pub(crate) const MAX_DOCUMENT: usize = 64 * 1024;
pub(crate) const MAX_USER_DATA: usize = 1024;
pub(crate) const MAX_NONCE: usize = 1024;
pub(crate) const MAX_PUBLIC_KEY: usize = 1024;
pub(crate) const MAX_CERT: usize = 1024;

/// COSE_Sign1 as received: the raw protected header and payload bytes are kept for the
/// Sig_structure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CoseSign1 {
    /// The document carried CBOR tag 18 (COSE_Sign1).
    pub tagged: bool,
    /// The protected header, the serialized map as received (signed in the Sig_structure).
    pub protected: Vec<u8>,
    /// The protected header's `alg` (label 1); ES384 is -35.
    pub alg: i128,
    /// The payload: the CBOR-encoded attestation document.
    pub payload: Vec<u8>,
    /// The signature: r || s for ES384.
    pub signature: Vec<u8>,
}

impl CoseSign1 {
    /// Parses a COSE_Sign1 (tagged or not) of at most 64 KiB.
    pub fn parse(b: &[u8]) -> Result<Self> {
        if b.len() > MAX_DOCUMENT {
            return Err(Error::evidence(CHECK, format!("document is {} bytes, more than {MAX_DOCUMENT}", b.len())));
        }
        let v = cbor::decode(b).map_err(|e| Error::evidence(CHECK, format!("COSE_Sign1: {e}")))?;
        let (tagged, inner) = match v {
            Value::Tag(18, inner) => (true, *inner),
            Value::Tag(t, _) => {
                return Err(Error::evidence(CHECK, format!("CBOR tag {t} is not COSE_Sign1 (18)")));
            }
            other => (false, other),
        };
        let Value::Array(items) = inner else {
            return Err(Error::evidence(CHECK, format!("COSE_Sign1 is a {}, not an array of 4", inner.kind())));
        };
        let [protected, unprotected, payload, signature]: [Value; 4] = items
            .try_into()
            .map_err(|v: Vec<Value>| Error::evidence(CHECK, format!("COSE_Sign1 has {} elements, not 4", v.len())))?;
        let Value::Bytes(protected) = protected else {
            return Err(Error::evidence(CHECK, "COSE_Sign1 protected header is not a byte string"));
        };
        if !matches!(unprotected, Value::Map(_)) {
            return Err(Error::evidence(CHECK, "COSE_Sign1 unprotected header is not a map"));
        }
        let Value::Bytes(payload) = payload else {
            return Err(Error::evidence(
                CHECK,
                "COSE_Sign1 payload is not a byte string (detached payloads are not used by Nitro)",
            ));
        };
        let Value::Bytes(signature) = signature else {
            return Err(Error::evidence(CHECK, "COSE_Sign1 signature is not a byte string"));
        };
        let header = cbor::decode(&protected).map_err(|e| Error::evidence(CHECK, format!("protected header: {e}")))?;
        let Value::Map(entries) = header else {
            return Err(Error::evidence(CHECK, "protected header is not a map"));
        };
        let alg = entries
            .iter()
            .find(|(k, _)| *k == Value::Uint(1))
            .and_then(|(_, v)| v.as_i128())
            .ok_or_else(|| Error::evidence(CHECK, "protected header has no integer alg (label 1)"))?;
        Ok(CoseSign1 { tagged, protected, alg, payload, signature })
    }

    /// `Sig_structure = ["Signature1", protected, external_aad = b"", payload]`, CBOR-encoded.
    pub fn to_be_signed(&self) -> Vec<u8> {
        cbor::encode(&Value::Array(vec![
            Value::Text("Signature1".into()),
            Value::Bytes(self.protected.clone()),
            Value::Bytes(Vec::new()),
            Value::Bytes(self.payload.clone()),
        ]))
    }
}

/// The attestation document (the COSE payload).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttestationDoc {
    /// `module_id`: the ID of the issuing Nitro Secure Module.
    pub module_id: String,
    /// `digest`: the PCR digest algorithm, always `SHA384`.
    pub digest: String,
    /// Milliseconds since the Unix epoch.
    pub timestamp: u64,
    /// `pcrs`: PCR index to value (32, 48 or 64 bytes).
    pub pcrs: BTreeMap<u8, Vec<u8>>,
    /// `certificate`: the DER certificate whose key signed the document.
    pub certificate: Vec<u8>,
    /// Root first, then the intermediates down to the one that issued `certificate`.
    pub cabundle: Vec<Vec<u8>>,
    /// `public_key`: an optional key the attestation consumer can encrypt data to.
    pub public_key: Option<Vec<u8>>,
    /// `user_data`: optional signed data the enclave supplied.
    pub user_data: Option<Vec<u8>>,
    /// `nonce`: an optional nonce the attestation consumer supplied, for freshness.
    pub nonce: Option<Vec<u8>>,
}

fn bytes(field: &str, v: Value, min: usize, max: usize) -> Result<Vec<u8>> {
    match v {
        Value::Bytes(b) if (min..=max).contains(&b.len()) => Ok(b),
        Value::Bytes(b) => Err(Error::evidence(CHECK, format!("{field} is {} bytes; allowed {min}..={max}", b.len()))),
        other => Err(Error::evidence(CHECK, format!("{field} is a {}, not a byte string", other.kind()))),
    }
}

fn optional(field: &str, v: Value, max: usize) -> Result<Option<Vec<u8>>> {
    match v {
        Value::Null => Ok(None),
        other => bytes(field, other, 0, max).map(Some),
    }
}

impl AttestationDoc {
    /// Parses the CBOR payload map; unknown keys and missing mandatory fields are refused.
    pub fn parse(payload: &[u8]) -> Result<Self> {
        let v = cbor::decode(payload).map_err(|e| Error::evidence(CHECK, format!("payload: {e}")))?;
        let Value::Map(entries) = v else {
            return Err(Error::evidence(CHECK, format!("payload is a {}, not a map", v.kind())));
        };
        let (mut module_id, mut digest, mut timestamp, mut pcrs, mut certificate, mut cabundle) =
            (None, None, None, None, None, None);
        let (mut public_key, mut user_data, mut nonce) = (None, None, None);
        for (k, v) in entries {
            let Value::Text(key) = k else {
                return Err(Error::evidence(CHECK, format!("payload key is a {}, not text", k.kind())));
            };
            match key.as_str() {
                "module_id" => match v {
                    Value::Text(t) if !t.is_empty() && t.len() <= 256 => module_id = Some(t),
                    _ => return Err(Error::evidence(CHECK, "module_id must be non-empty text")),
                },
                "digest" => match v {
                    Value::Text(t) if t == "SHA384" => digest = Some(t),
                    Value::Text(t) => {
                        return Err(Error::evidence(CHECK, format!("digest is '{t}'; Nitro documents use SHA384")));
                    }
                    other => return Err(Error::evidence(CHECK, format!("digest is a {}", other.kind()))),
                },
                "timestamp" => match v {
                    Value::Uint(t) if t > 0 => timestamp = Some(t),
                    _ => return Err(Error::evidence(CHECK, "timestamp must be a positive integer (ms)")),
                },
                "pcrs" => {
                    let Value::Map(m) = v else { return Err(Error::evidence(CHECK, "pcrs is not a map")) };
                    if m.is_empty() || m.len() > 32 {
                        return Err(Error::evidence(CHECK, format!("pcrs has {} entries; allowed 1..=32", m.len())));
                    }
                    let mut out = BTreeMap::new();
                    for (i, val) in m {
                        let idx = match i {
                            Value::Uint(n) if n < 32 => n as u8,
                            other => {
                                return Err(Error::evidence(CHECK, format!("PCR index {other:?} is not 0..=31")));
                            }
                        };
                        let b = bytes(&format!("pcrs[{idx}]"), val, 32, 64)?;
                        if ![32, 48, 64].contains(&b.len()) {
                            return Err(Error::evidence(
                                CHECK,
                                format!("pcrs[{idx}] is {} bytes; 32, 48 or 64 allowed", b.len()),
                            ));
                        }
                        out.insert(idx, b);
                    }
                    pcrs = Some(out);
                }
                "certificate" => certificate = Some(bytes("certificate", v, 1, MAX_CERT)?),
                "cabundle" => {
                    let Value::Array(a) = v else { return Err(Error::evidence(CHECK, "cabundle is not an array")) };
                    if a.is_empty() || a.len() > 16 {
                        return Err(Error::evidence(
                            CHECK,
                            format!("cabundle has {} entries; allowed 1..=16", a.len()),
                        ));
                    }
                    let mut out = Vec::with_capacity(a.len());
                    for (i, c) in a.into_iter().enumerate() {
                        out.push(bytes(&format!("cabundle[{i}]"), c, 1, MAX_CERT)?);
                    }
                    cabundle = Some(out);
                }
                "public_key" => public_key = optional("public_key", v, MAX_PUBLIC_KEY)?,
                "user_data" => user_data = optional("user_data", v, MAX_USER_DATA)?,
                "nonce" => nonce = optional("nonce", v, MAX_NONCE)?,
                other => return Err(Error::evidence(CHECK, format!("unknown payload key '{other}'"))),
            }
        }
        let missing = |f: &str| Error::evidence(CHECK, format!("payload lacks the mandatory field {f}"));
        Ok(AttestationDoc {
            module_id: module_id.ok_or_else(|| missing("module_id"))?,
            digest: digest.ok_or_else(|| missing("digest"))?,
            timestamp: timestamp.ok_or_else(|| missing("timestamp"))?,
            pcrs: pcrs.ok_or_else(|| missing("pcrs"))?,
            certificate: certificate.ok_or_else(|| missing("certificate"))?,
            cabundle: cabundle.ok_or_else(|| missing("cabundle"))?,
            public_key,
            user_data,
            nonce,
        })
    }

    /// A debug-mode enclave reports PCR0, PCR1 and PCR2 all zero.
    pub fn debug_mode(&self) -> bool {
        [0u8, 1, 2].iter().all(|i| self.pcrs.get(i).is_some_and(|p| p.iter().all(|&b| b == 0)))
    }
}

/// A parsed document: envelope plus payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    /// The COSE_Sign1 envelope.
    pub cose: CoseSign1,
    /// Its payload, parsed.
    pub doc: AttestationDoc,
}

impl Document {
    /// Parses the COSE_Sign1 and its payload.
    pub fn parse(b: &[u8]) -> Result<Self> {
        let cose = CoseSign1::parse(b)?;
        let doc = AttestationDoc::parse(&cose.payload)?;
        Ok(Document { cose, doc })
    }
}

/// `show` of a Nitro document: the COSE envelope, every document field, the CA bundle and the
/// signing certificate decoded.
pub fn describe(document: &[u8]) -> Result<serde_json::Value> {
    use serde_json::json;
    let doc = Document::parse(document)?;
    let certificates: Vec<serde_json::Value> = doc
        .doc
        .cabundle
        .iter()
        .chain(std::iter::once(&doc.doc.certificate))
        .map(|c| crate::describe::pki_json(c))
        .collect();
    Ok(json!({
        "cose": {"tagged": doc.cose.tagged, "alg": doc.cose.alg.to_string(), "protected": hex::encode(&doc.cose.protected), "signature": hex::encode(&doc.cose.signature)},
        "document": super::claims::document_fields(&doc.doc),
        "certificates": certificates,
    }))
}
