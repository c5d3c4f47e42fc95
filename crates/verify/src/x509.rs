//! X.509 certificates and CRLs, owned and pre-digested once: the shared mechanism for every chain
//! cloud-ra checks (AMD, and later Intel, AWS, Google). Parsing is x509-parser; signatures are
//! always verified over the received TBS bytes, never over a re-serialisation.

use crate::Check;
use crate::crypto::{KeyKind, PublicKey, SigAlg, sha256};
use crate::error::{Category, Error};
use crate::time::Timestamp;
use base64::Engine;
use x509_parser::prelude::*;
use x509_parser::signature_algorithm::SignatureAlgorithm;

/// Why a certificate or CRL cannot be used. The text of each variant is what the user reads; the
/// callers map variants (never the text) to checks and exit-code categories.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum X509Error {
    /// The bytes are not a well-formed certificate, CRL or PEM block.
    #[error("{0}")]
    Malformed(String),
    /// The evaluation time is before the certificate's notBefore.
    #[error("'{subject}' is not valid before {not_before} (evaluation time {at})")]
    NotYetValid {
        /// The certificate's subject commonName.
        subject: String,
        /// Its notBefore.
        not_before: Timestamp,
        /// The evaluation time.
        at: Timestamp,
    },
    /// The evaluation time is after the certificate's notAfter.
    #[error("'{subject}' expired at {not_after} (evaluation time {at})")]
    Expired {
        /// The certificate's subject commonName.
        subject: String,
        /// Its notAfter.
        not_after: Timestamp,
        /// The evaluation time.
        at: Timestamp,
    },
    /// The certificate names another issuer than the one it is checked against.
    #[error("issuer '{issuer}' is not the subject of '{subject}'")]
    WrongIssuer {
        /// The certificate's issuer name.
        issuer: String,
        /// The subject name of the certificate it was checked against.
        subject: String,
    },
    /// The issuer may not sign certificates (basicConstraints or keyUsage).
    #[error("'{subject}' {why}")]
    NotAnIssuer {
        /// The would-be issuer's subject name.
        subject: String,
        /// The reason: not a CA by basicConstraints, or keyUsage lacking keyCertSign or cRLSign.
        why: &'static str,
    },
    /// The signature or key algorithm is not one cloud-ra verifies.
    #[error("{0}")]
    UnsupportedAlgorithm(String),
    /// The signature does not verify.
    #[error("{0}")]
    BadSignature(String),
    /// A critical extension cloud-ra does not understand (RFC 5280 makes it unusable).
    #[error("unknown critical extension {oid} in '{subject}'")]
    UnknownCriticalExtension {
        /// The extension's extnID, dotted decimal.
        oid: String,
        /// The certificate's subject commonName.
        subject: String,
    },
    /// The CRL names another issuer than the one it is checked against.
    #[error("CRL issuer '{crl_issuer}' is not '{issuer}'")]
    CrlWrongIssuer {
        /// The CRL's issuer name.
        crl_issuer: String,
        /// The subject name of the certificate it was checked against.
        issuer: String,
    },
    /// The CRL's thisUpdate lies after the evaluation time.
    #[error("CRL thisUpdate {this_update} is after the evaluation time {at}")]
    FutureCrl {
        /// The CRL's thisUpdate.
        this_update: Timestamp,
        /// The evaluation time.
        at: Timestamp,
    },
    /// The CRL's nextUpdate is not after the evaluation time.
    #[error("CRL is stale: nextUpdate {next_update} is not after the evaluation time {at}")]
    StaleCrl {
        /// The CRL's nextUpdate.
        next_update: Timestamp,
        /// The evaluation time.
        at: Timestamp,
    },
    /// The certificate's serial is on its issuer's CRL.
    #[error("'{subject}' serial {serial} is revoked by the {by}")]
    Revoked {
        /// The certificate's subject commonName.
        subject: String,
        /// Its serialNumber, hex.
        serial: String,
        /// The CRL that lists it, for messages (such as "Root CA CRL").
        by: &'static str,
    },
    /// The CRL has no nextUpdate, so its freshness cannot be judged.
    #[error("CRL has no nextUpdate")]
    CrlWithoutNextUpdate,
}

impl X509Error {
    /// The CRL is genuine but not fresh at the evaluation time (stale, from the future, or
    /// undated): a collateral problem, fixed by fetching a current CRL, not an evidence one.
    pub(crate) fn is_crl_freshness(&self) -> bool {
        matches!(self, X509Error::FutureCrl { .. } | X509Error::StaleCrl { .. } | X509Error::CrlWithoutNextUpdate)
    }

    /// The exit-code category, by variant: a genuine CRL that is not fresh is collateral (exit 3);
    /// everything else wrong with a certificate or CRL is evidence (exit 2).
    pub(crate) fn category(&self) -> Category {
        if self.is_crl_freshness() { Category::Collateral } else { Category::Evidence }
    }

    /// This failure as an error of `check`, in its category; `context` (if any) precedes the reason.
    pub fn into_error(self, check: Check, context: &str) -> Error {
        let detail = if context.is_empty() { self.to_string() } else { format!("{context}: {self}") };
        Error::new(self.category(), check, detail)
    }
}

/// For callers that carry the reason as text (a detail of a check).
impl From<X509Error> for String {
    fn from(e: X509Error) -> String {
        e.to_string()
    }
}

/// Largest certificate or CRL file cloud-ra reads (bounded input).
pub(crate) const MAX_OBJECT_SIZE: usize = 1 << 20;

/// One certificate extension (RFC 5280 section 4.1.2.9).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Extension {
    /// extnID, dotted decimal.
    pub oid: String,
    /// The critical flag.
    pub critical: bool,
    /// The contents of extnValue (the OCTET STRING's bytes).
    pub value: Vec<u8>,
}

/// A certificate with everything a chain check needs, extracted once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Certificate {
    /// The certificate's DER, as received.
    pub der: Vec<u8>,
    /// SHA-256 of `der`: the certificate's fingerprint.
    pub sha256: [u8; 32],
    /// The subject name as text, for messages.
    pub subject: String,
    /// The subject's first commonName; empty when there is none.
    pub subject_cn: String,
    /// The subject name's DER, compared byte for byte when chaining names.
    pub subject_raw: Vec<u8>,
    /// The issuer name as text, for messages.
    pub issuer: String,
    /// The issuer name's DER, compared byte for byte when chaining names.
    pub issuer_raw: Vec<u8>,
    /// Serial, big-endian, leading zero bytes stripped (serial 0 is `[0]`).
    pub serial: Vec<u8>,
    /// notBefore, in seconds since the Unix epoch.
    pub not_before: i64,
    /// notAfter, in seconds since the Unix epoch.
    pub not_after: i64,
    tbs: std::ops::Range<usize>,
    /// The signatureAlgorithm; `None` when cloud-ra does not support it.
    pub sig_alg: Option<SigAlg>,
    /// The signatureAlgorithm OID, dotted decimal.
    pub sig_alg_oid: String,
    /// The signatureValue bytes.
    pub signature: Vec<u8>,
    /// The subjectPublicKeyInfo key; `None` when neither RSA nor EC P-256/P-384.
    pub public_key: Option<PublicKey>,
    /// The extensions, in certificate order.
    pub extensions: Vec<Extension>,
    /// basicConstraints is present with cA true.
    pub is_ca: bool,
    /// keyUsage bits as x509-parser numbers them, when the extension is present.
    pub key_usage: Option<u16>,
}

fn strip_serial(raw: &[u8]) -> Vec<u8> {
    let first = raw.iter().position(|&b| b != 0).unwrap_or(raw.len().saturating_sub(1));
    if raw.is_empty() { vec![0] } else { raw[first..].to_vec() }
}

fn range_of(outer: &[u8], inner: &[u8]) -> Option<std::ops::Range<usize>> {
    let start = (inner.as_ptr() as usize).checked_sub(outer.as_ptr() as usize)?;
    let end = start.checked_add(inner.len())?;
    (end <= outer.len()).then_some(start..end)
}

fn sig_alg(alg: &AlgorithmIdentifier<'_>) -> Result<SigAlg, X509Error> {
    sig_alg_text(alg).map_err(X509Error::UnsupportedAlgorithm)
}

fn sig_alg_text(alg: &AlgorithmIdentifier<'_>) -> Result<SigAlg, String> {
    let oid = alg.algorithm.to_id_string();
    match oid.as_str() {
        "1.2.840.113549.1.1.11" => Ok(SigAlg::RsaPkcs1Sha256),
        "1.2.840.113549.1.1.12" => Ok(SigAlg::RsaPkcs1Sha384),
        "1.2.840.10045.4.3.2" => Ok(SigAlg::EcdsaSha256),
        "1.2.840.10045.4.3.3" => Ok(SigAlg::EcdsaSha384),
        "1.2.840.113549.1.1.10" => {
            let Ok(SignatureAlgorithm::RSASSA_PSS(params)) = SignatureAlgorithm::try_from(alg) else {
                return Err("RSASSA-PSS parameters do not parse".into());
            };
            let hash = params.hash_algorithm_oid().to_id_string();
            let mgf = params.mask_gen_algorithm().map_err(|e| format!("RSASSA-PSS mask generation parameters: {e}"))?;
            let mgf_hash = mgf.hash.to_id_string();
            let salt = params.salt_length();
            match (hash.as_str(), mgf_hash.as_str(), salt) {
                ("2.16.840.1.101.3.4.2.2", "2.16.840.1.101.3.4.2.2", 48) => Ok(SigAlg::RsaPssSha384),
                ("2.16.840.1.101.3.4.2.1", "2.16.840.1.101.3.4.2.1", 32) => Ok(SigAlg::RsaPssSha256),
                _ => Err(format!("RSASSA-PSS with hash {hash}, MGF1 hash {mgf_hash}, salt {salt} is not supported")),
            }
        }
        other => Err(format!("signature algorithm {other} is not supported")),
    }
}

fn public_key(spki: &SubjectPublicKeyInfo<'_>) -> Option<PublicKey> {
    let oid = spki.algorithm.algorithm.to_id_string();
    let bytes = spki.subject_public_key.data.to_vec();
    match oid.as_str() {
        "1.2.840.113549.1.1.1" | "1.2.840.113549.1.1.10" => Some(PublicKey { kind: KeyKind::Rsa, bytes }),
        "1.2.840.10045.2.1" => {
            let curve = spki.algorithm.parameters.as_ref()?.as_oid().ok()?.to_id_string();
            let kind = match curve.as_str() {
                "1.2.840.10045.3.1.7" => KeyKind::EcP256,
                "1.3.132.0.34" => KeyKind::EcP384,
                _ => return None,
            };
            Some(PublicKey { kind, bytes })
        }
        _ => None,
    }
}

fn first_cn(name: &X509Name<'_>) -> String {
    name.iter_common_name().next().and_then(|cn| cn.as_str().ok()).unwrap_or("").to_string()
}

impl Certificate {
    /// Parses one DER certificate; trailing bytes are refused.
    pub fn from_der(der: &[u8]) -> Result<Self, X509Error> {
        Self::parse(der).map_err(X509Error::Malformed)
    }

    fn parse(der: &[u8]) -> Result<Self, String> {
        if der.len() > MAX_OBJECT_SIZE {
            return Err(format!("certificate of {} bytes is larger than {MAX_OBJECT_SIZE}", der.len()));
        }
        let (rest, cert) = X509Certificate::from_der(der).map_err(|e| format!("not a DER X.509 certificate: {e}"))?;
        if !rest.is_empty() {
            return Err(format!("{} bytes after the certificate", rest.len()));
        }
        let tbs = range_of(der, cert.tbs_certificate.as_ref())
            .ok_or_else(|| "TBS certificate outside the input".to_string())?;
        let (sig, sig_alg_oid) =
            (sig_alg(&cert.signature_algorithm), cert.signature_algorithm.algorithm.to_id_string());
        let mut extensions = Vec::new();
        for ext in cert.extensions() {
            extensions.push(Extension {
                oid: ext.oid.to_id_string(),
                critical: ext.critical,
                value: ext.value.to_vec(),
            });
        }
        let is_ca = matches!(cert.basic_constraints(), Ok(Some(bc)) if bc.value.ca);
        let key_usage = match cert.key_usage() {
            Ok(Some(ku)) => Some(ku.value.flags),
            _ => None,
        };
        Ok(Certificate {
            sha256: sha256(der),
            subject: cert.subject().to_string(),
            subject_cn: first_cn(cert.subject()),
            subject_raw: cert.subject().as_raw().to_vec(),
            issuer: cert.issuer().to_string(),
            issuer_raw: cert.issuer().as_raw().to_vec(),
            serial: strip_serial(cert.tbs_certificate.raw_serial()),
            not_before: cert.validity().not_before.timestamp(),
            not_after: cert.validity().not_after.timestamp(),
            tbs,
            sig_alg: sig.ok(),
            sig_alg_oid,
            signature: cert.signature_value.data.to_vec(),
            public_key: public_key(cert.public_key()),
            extensions,
            is_ca,
            key_usage,
            der: der.to_vec(),
        })
    }

    /// The received TBSCertificate bytes.
    pub fn tbs(&self) -> &[u8] {
        &self.der[self.tbs.clone()]
    }

    pub(crate) fn extension(&self, oid: &str) -> Option<&Extension> {
        self.extensions.iter().find(|e| e.oid == oid)
    }

    pub(crate) fn is_self_issued(&self) -> bool {
        self.subject_raw == self.issuer_raw
    }

    /// The SHA-256 fingerprint, lowercase hex.
    pub fn fingerprint_hex(&self) -> String {
        hex::encode(self.sha256)
    }

    /// Checks that `issuer` issued this certificate: names chain, issuer is a CA allowed to sign
    /// certificates, and the signature verifies over the received TBS bytes.
    pub fn verify_issued_by(&self, issuer: &Certificate) -> Result<(), X509Error> {
        if self.issuer_raw != issuer.subject_raw {
            return Err(X509Error::WrongIssuer { issuer: self.issuer.clone(), subject: issuer.subject.clone() });
        }
        if !issuer.is_ca {
            return Err(X509Error::NotAnIssuer {
                subject: issuer.subject.clone(),
                why: "is not a CA (basicConstraints)",
            });
        }
        if let Some(ku) = issuer.key_usage
            && ku & (1 << 5) == 0
        {
            return Err(X509Error::NotAnIssuer { subject: issuer.subject.clone(), why: "keyUsage lacks keyCertSign" });
        }
        let alg = self.sig_alg.ok_or_else(|| {
            X509Error::UnsupportedAlgorithm(format!("signature algorithm {} is not supported", self.sig_alg_oid))
        })?;
        let key = issuer.public_key.as_ref().ok_or_else(|| {
            X509Error::UnsupportedAlgorithm(format!("public key of '{}' is not supported", issuer.subject))
        })?;
        key.verify(alg, self.tbs(), &self.signature).map_err(|e| {
            X509Error::BadSignature(format!("signature of '{}' by '{}': {e}", self.subject, issuer.subject))
        })
    }

    /// notBefore <= at <= notAfter.
    pub fn check_validity(&self, at: Timestamp) -> Result<(), X509Error> {
        if at.0 < self.not_before {
            return Err(X509Error::NotYetValid {
                subject: self.subject_cn.clone(),
                not_before: Timestamp(self.not_before),
                at,
            });
        }
        if at.0 > self.not_after {
            return Err(X509Error::Expired {
                subject: self.subject_cn.clone(),
                not_after: Timestamp(self.not_after),
                at,
            });
        }
        Ok(())
    }

    /// Critical extensions cloud-ra does not understand make a certificate unusable (RFC 5280).
    pub(crate) fn check_critical_extensions(&self) -> Result<(), X509Error> {
        const KNOWN: &[&str] = &["2.5.29.19", "2.5.29.15", "2.5.29.37", "2.5.29.14", "2.5.29.35"];
        match self.extensions.iter().find(|e| e.critical && !KNOWN.contains(&e.oid.as_str())) {
            Some(e) => {
                Err(X509Error::UnknownCriticalExtension { oid: e.oid.clone(), subject: self.subject_cn.clone() })
            }
            None => Ok(()),
        }
    }
}

/// A CRL, extracted once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Crl {
    /// The CRL's DER, as received.
    pub der: Vec<u8>,
    /// SHA-256 of `der`.
    pub sha256: [u8; 32],
    /// The issuer name as text, for messages.
    pub issuer: String,
    /// The issuer name's DER, compared byte for byte with the issuer's subject.
    pub issuer_raw: Vec<u8>,
    /// thisUpdate, in seconds since the Unix epoch.
    pub this_update: i64,
    /// nextUpdate, in seconds since the Unix epoch, when present.
    pub next_update: Option<i64>,
    /// Revoked serials, normalised like [`Certificate::serial`].
    pub revoked: Vec<Vec<u8>>,
    tbs: std::ops::Range<usize>,
    /// The signatureAlgorithm; `None` when cloud-ra does not support it.
    pub sig_alg: Option<SigAlg>,
    /// The signatureAlgorithm OID, dotted decimal.
    pub sig_alg_oid: String,
    /// The signatureValue bytes.
    pub signature: Vec<u8>,
}

impl Crl {
    /// Parses one DER CRL; trailing bytes are refused.
    pub fn from_der(der: &[u8]) -> Result<Self, X509Error> {
        Self::parse(der).map_err(X509Error::Malformed)
    }

    fn parse(der: &[u8]) -> Result<Self, String> {
        if der.len() > MAX_OBJECT_SIZE {
            return Err(format!("CRL of {} bytes is larger than {MAX_OBJECT_SIZE}", der.len()));
        }
        let (rest, crl) = CertificateRevocationList::from_der(der).map_err(|e| format!("not a DER X.509 CRL: {e}"))?;
        if !rest.is_empty() {
            return Err(format!("{} bytes after the CRL", rest.len()));
        }
        let tbs = range_of(der, crl.tbs_cert_list.as_ref()).ok_or_else(|| "TBS CRL outside the input".to_string())?;
        Ok(Crl {
            sha256: sha256(der),
            issuer: crl.issuer().to_string(),
            issuer_raw: crl.issuer().as_raw().to_vec(),
            this_update: crl.last_update().timestamp(),
            next_update: crl.next_update().map(|t| t.timestamp()),
            revoked: crl.iter_revoked_certificates().map(|r| strip_serial(r.raw_serial())).collect(),
            tbs,
            sig_alg: sig_alg_text(&crl.signature_algorithm).ok(),
            sig_alg_oid: crl.signature_algorithm.algorithm.to_id_string(),
            signature: crl.signature_value.data.to_vec(),
            der: der.to_vec(),
        })
    }

    /// The received TBSCertList bytes.
    pub fn tbs(&self) -> &[u8] {
        &self.der[self.tbs.clone()]
    }

    /// Issued and signed by `issuer`, and fresh: thisUpdate <= at < nextUpdate (a CRL without
    /// nextUpdate is refused).
    pub fn check(&self, issuer: &Certificate, at: Timestamp) -> Result<(), X509Error> {
        if self.issuer_raw != issuer.subject_raw {
            return Err(X509Error::CrlWrongIssuer { crl_issuer: self.issuer.clone(), issuer: issuer.subject.clone() });
        }
        if let Some(ku) = issuer.key_usage
            && ku & (1 << 6) == 0
        {
            return Err(X509Error::NotAnIssuer { subject: issuer.subject.clone(), why: "keyUsage lacks cRLSign" });
        }
        let alg = self.sig_alg.ok_or_else(|| {
            X509Error::UnsupportedAlgorithm(format!("CRL signature algorithm {} is not supported", self.sig_alg_oid))
        })?;
        let key = issuer.public_key.as_ref().ok_or_else(|| {
            X509Error::UnsupportedAlgorithm(format!("public key of '{}' is not supported", issuer.subject))
        })?;
        key.verify(alg, self.tbs(), &self.signature)
            .map_err(|e| X509Error::BadSignature(format!("CRL signature by '{}': {e}", issuer.subject_cn)))?;
        if at.0 < self.this_update {
            return Err(X509Error::FutureCrl { this_update: Timestamp(self.this_update), at });
        }
        match self.next_update {
            None => Err(X509Error::CrlWithoutNextUpdate),
            Some(n) if at.0 >= n => Err(X509Error::StaleCrl { next_update: Timestamp(n), at }),
            Some(_) => Ok(()),
        }
    }

    /// Whether `serial` (big-endian; leading zero bytes ignored) is among the revoked serials.
    pub fn is_revoked(&self, serial: &[u8]) -> bool {
        let s = strip_serial(serial);
        self.revoked.contains(&s)
    }
}

/// One object read from a PEM or DER file.
#[derive(Debug, Clone)]
pub enum PkiObject {
    /// A certificate.
    Certificate(Box<Certificate>),
    /// A CRL.
    Crl(Box<Crl>),
}

/// Splits PEM text into (label, DER) blocks. Text outside blocks is ignored; a block whose body is
/// not base64 is an error.
pub fn pem_blocks(text: &str) -> Result<Vec<(String, Vec<u8>)>, String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("-----BEGIN ") {
        let after = &rest[start + 11..];
        let label_end = after.find("-----").ok_or_else(|| "unterminated PEM BEGIN line".to_string())?;
        let label = after[..label_end].to_string();
        let body_start = &after[label_end + 5..];
        let end_marker = format!("-----END {label}-----");
        let end = body_start.find(&end_marker).ok_or_else(|| format!("PEM block '{label}' has no END line"))?;
        // Every ASCII whitespace byte dropped: the lines' trimmed bytes copied whole (a line with
        // inner whitespace byte by byte), then one base64 decode.
        let mut body = Vec::with_capacity(end);
        for line in body_start.as_bytes()[..end].split(|&c| c == b'\n') {
            let line = line.trim_ascii();
            if line.iter().any(u8::is_ascii_whitespace) {
                body.extend(line.iter().filter(|c| !c.is_ascii_whitespace()));
            } else {
                body.extend_from_slice(line);
            }
        }
        let der = base64::engine::general_purpose::STANDARD
            .decode(&body)
            .map_err(|e| format!("PEM block '{label}' is not base64: {e}"))?;
        out.push((label, der));
        rest = &body_start[end + end_marker.len()..];
    }
    Ok(out)
}

/// Reads certificates and CRLs from DER or PEM bytes (one DER object, or any number of PEM blocks).
pub fn read_objects(bytes: &[u8]) -> Result<Vec<PkiObject>, String> {
    if bytes.is_empty() {
        return Err("empty file".into());
    }
    if bytes.len() > MAX_OBJECT_SIZE {
        return Err(format!("{} bytes is larger than {MAX_OBJECT_SIZE}", bytes.len()));
    }
    if bytes[0] == 0x30 {
        return der_object(bytes).map(|o| vec![o]);
    }
    let text = std::str::from_utf8(bytes).map_err(|_| "neither DER nor PEM text".to_string())?;
    let blocks = pem_blocks(text)?;
    if blocks.is_empty() {
        return Err("no PEM block and not DER".into());
    }
    let mut out = Vec::new();
    for (label, der) in blocks {
        match label.as_str() {
            "CERTIFICATE" | "TRUSTED CERTIFICATE" => out.push(PkiObject::Certificate(Box::new(
                Certificate::from_der(&der).map_err(|e| format!("PEM {label}: {e}"))?,
            ))),
            "X509 CRL" => {
                out.push(PkiObject::Crl(Box::new(Crl::from_der(&der).map_err(|e| format!("PEM {label}: {e}"))?)))
            }
            other => return Err(format!("PEM block '{other}' is neither a certificate nor a CRL")),
        }
    }
    Ok(out)
}

/// The SHA-256 of every certificate and of every CRL already held: an object whose exact DER
/// bytes are among them is not parsed again (it would parse to the same thing).
#[derive(Debug, Default)]
pub(crate) struct Seen {
    pub certs: Vec<[u8; 32]>,
    pub crls: Vec<[u8; 32]>,
}

impl Seen {
    /// A certificate's DER: `None` when these exact bytes are already held, else parsed.
    pub(crate) fn certificate(&mut self, der: &[u8]) -> Result<Option<PkiObject>, X509Error> {
        let h = sha256(der);
        if self.certs.contains(&h) {
            return Ok(None);
        }
        let c = Certificate::from_der(der)?;
        self.certs.push(h);
        Ok(Some(PkiObject::Certificate(Box::new(c))))
    }
    /// A CRL's DER, likewise.
    pub(crate) fn crl(&mut self, der: &[u8]) -> Result<Option<PkiObject>, X509Error> {
        let h = sha256(der);
        if self.crls.contains(&h) {
            return Ok(None);
        }
        let c = Crl::from_der(der)?;
        self.crls.push(h);
        Ok(Some(PkiObject::Crl(Box::new(c))))
    }
}

/// [`read_objects`] without the objects `seen` already holds (byte for byte): those are neither
/// parsed nor returned, and what is returned is added to `seen`. Errors are those of
/// [`read_objects`] (a duplicate of an object that parsed is, being the same bytes, no error).
pub(crate) fn read_new_objects(bytes: &[u8], seen: &mut Seen) -> Result<Vec<PkiObject>, String> {
    if bytes.is_empty() {
        return Err("empty file".into());
    }
    if bytes.len() > MAX_OBJECT_SIZE {
        return Err(format!("{} bytes is larger than {MAX_OBJECT_SIZE}", bytes.len()));
    }
    if bytes[0] == 0x30 {
        let h = sha256(bytes);
        if seen.certs.contains(&h) || seen.crls.contains(&h) {
            return Ok(Vec::new());
        }
        let o = der_object(bytes)?;
        match &o {
            PkiObject::Certificate(_) => seen.certs.push(h),
            PkiObject::Crl(_) => seen.crls.push(h),
        }
        return Ok(vec![o]);
    }
    let text = std::str::from_utf8(bytes).map_err(|_| "neither DER nor PEM text".to_string())?;
    let blocks = pem_blocks(text)?;
    if blocks.is_empty() {
        return Err("no PEM block and not DER".into());
    }
    let mut out = Vec::new();
    for (label, der) in blocks {
        let o = match label.as_str() {
            "CERTIFICATE" | "TRUSTED CERTIFICATE" => seen.certificate(&der),
            "X509 CRL" => seen.crl(&der),
            other => return Err(format!("PEM block '{other}' is neither a certificate nor a CRL")),
        };
        out.extend(o.map_err(|e| format!("PEM {label}: {e}"))?);
    }
    Ok(out)
}

fn der_object(der: &[u8]) -> Result<PkiObject, String> {
    match Certificate::from_der(der) {
        Ok(c) => Ok(PkiObject::Certificate(Box::new(c))),
        Err(cert_err) => match Crl::from_der(der) {
            Ok(c) => Ok(PkiObject::Crl(Box::new(c))),
            Err(_) => Err(cert_err.into()),
        },
    }
}

/// The key of a DER SubjectPublicKeyInfo as TPM-style parameters (RSA modulus and exponent, or
/// an uncompressed P-256/P-384 point). Trailing bytes are refused.
pub(crate) fn spki_params(der: &[u8]) -> Result<crate::tpm::KeyParams, String> {
    let (rest, spki) = SubjectPublicKeyInfo::from_der(der).map_err(|e| format!("not DER: {e}"))?;
    if !rest.is_empty() {
        return Err(format!("{} bytes after the SubjectPublicKeyInfo", rest.len()));
    }
    let key = public_key(&spki).ok_or("neither an RSA nor a P-256/P-384 EC key")?;
    crate::tpm::KeyParams::from_public_key(&key)
}

/// The public key of PEM text (`-----BEGIN PUBLIC KEY-----`) or DER SubjectPublicKeyInfo bytes.
pub fn spki_der_of(bytes: &[u8]) -> Result<Vec<u8>, String> {
    if bytes.first() == Some(&0x30) {
        return Ok(bytes.to_vec());
    }
    let text = std::str::from_utf8(bytes).map_err(|_| "neither DER nor PEM text".to_string())?;
    pem_blocks(text)?
        .into_iter()
        .find(|(l, _)| l == "PUBLIC KEY")
        .map(|(_, d)| d)
        .ok_or_else(|| "no PEM 'PUBLIC KEY' block".to_string())
}

#[cfg(test)]
mod tests {
    use super::X509Error;
    use crate::{Check, Timestamp};

    #[test]
    fn pem_bodies_lose_every_whitespace_byte() {
        let der: Vec<u8> = (0..=255u8).cycle().take(700).collect();
        let b64 = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, &der);
        let lines: Vec<&str> = b64.as_bytes().chunks(64).map(|c| std::str::from_utf8(c).unwrap_or("")).collect();
        for (sep, indent) in [("\n", ""), ("\r\n", ""), ("\n", "  "), (" \t\n", "\t"), ("", "")] {
            let body: String = lines.iter().map(|l| format!("{indent}{l}{sep}")).collect();
            let text = format!("junk\n-----BEGIN CERTIFICATE-----{sep}{body}-----END CERTIFICATE-----\n");
            let blocks = super::pem_blocks(&text).expect("parses");
            assert_eq!(blocks, vec![("CERTIFICATE".to_string(), der.clone())], "{sep:?} {indent:?}");
        }
        // Whitespace inside a line, and a form feed (ASCII whitespace too).
        let text = format!("-----BEGIN X-----\n{} {}\x0c\n-----END X-----", &b64[..10], &b64[10..]);
        assert_eq!(super::pem_blocks(&text).expect("parses")[0].1, der);
        assert!(super::pem_blocks("-----BEGIN X-----\nAA=A\nAAAA\n-----END X-----").is_err());
    }

    #[test]
    fn exit_codes_by_variant_not_by_text() {
        let at = Timestamp(1_700_000_000);
        let later = Timestamp(1_800_000_000);
        for e in [
            X509Error::StaleCrl { next_update: at, at: later },
            X509Error::FutureCrl { this_update: later, at },
            X509Error::CrlWithoutNextUpdate,
        ] {
            assert_eq!(e.clone().into_error(Check::SnpCrl, "").exit_code(), 3, "{e}");
        }
        let expired = X509Error::Expired { subject: "SEV-VCEK".into(), not_after: at, at: later };
        let e = expired.into_error(Check::SnpChain, "VCEK");
        assert_eq!((e.exit_code(), e.check), (2, Check::SnpChain));
        assert!(e.detail.starts_with("VCEK: 'SEV-VCEK' expired at"), "{}", e.detail);
        // The words decide nothing: a bad signature whose reason mentions staleness is evidence.
        let odd = X509Error::BadSignature("stale CRL, thisUpdate and nextUpdate".into());
        assert_eq!(odd.into_error(Check::SnpCrl, "").exit_code(), 2);
        let revoked = X509Error::Revoked { subject: "x".into(), serial: "01".into(), by: "ARK's CRL" };
        assert_eq!(revoked.into_error(Check::SnpCrl, "").exit_code(), 2);
    }
}
