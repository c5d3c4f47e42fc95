//! `show`: every field of a piece of evidence, or of a file of certificates and CRLs, as one
//! JSON value (objects with sorted keys). What each evidence kind shows is decided beside its
//! format (`snp::format`, `dcap::format`, `nitro::format`, `azure::format`, `tpm::gotpm`); this
//! module only dispatches and describes the PKI objects they all carry.

use crate::bundle::{Detected, Evidence, detect};
use crate::error::Result;
use crate::snp::Product;
use crate::time::Timestamp;
use crate::x509::{PkiObject, read_objects};
use serde_json::{Value, json};

/// Every field of detected evidence: `detected` (what the input was taken to be) and the
/// decoded structures. `product` decodes the TCB fields of SNP reports without CPUID (v2).
/// Fails when the evidence itself does not parse.
pub fn describe(d: &Detected, product: Option<Product>) -> Result<Value> {
    let mut v = match &d.evidence {
        Evidence::Snp { report, cert_table } => crate::snp::format::describe(report, cert_table, product)?,
        Evidence::Nitro { document } => crate::nitro::format::describe(document)?,
        Evidence::Dcap { quote } => crate::dcap::format::describe(quote)?,
        Evidence::GceVtpm(a) => crate::tpm::gotpm::describe(a),
        Evidence::AzureVtpm(e) => crate::azure::format::describe(e, product)?,
    };
    v["detected"] = json!(d.what);
    Ok(v)
}

/// [`describe`] of any input: evidence (detected from its content), else certificates and CRLs
/// (PEM or DER). When it is neither, the error is the evidence detection's.
pub fn describe_file(bytes: &[u8], product: Option<Product>) -> Result<Value> {
    match detect(bytes) {
        Ok(d) => describe(&d, product),
        Err(evidence_err) => match read_objects(bytes) {
            Ok(objs) => Ok(json!({"detected": "certificates/CRLs", "objects": objects_json(&objs)})),
            Err(_) => Err(evidence_err),
        },
    }
}

/// The certificates or CRLs in `der` (PEM or DER), or `{"error": why}` when they do not parse.
pub(crate) fn pki_json(der: &[u8]) -> Value {
    match read_objects(der) {
        Ok(objs) => objects_json(&objs).into(),
        Err(e) => json!({"error": e}),
    }
}

pub(crate) fn objects_json(objs: &[PkiObject]) -> Vec<Value> {
    objs.iter().map(object_json).collect()
}

fn object_json(o: &PkiObject) -> Value {
    match o {
        PkiObject::Certificate(c) => json!({
            "type": "certificate", "subject": c.subject, "issuer": c.issuer, "serial": hex::encode(&c.serial),
            "not_before": Timestamp(c.not_before).to_rfc3339(), "not_after": Timestamp(c.not_after).to_rfc3339(),
            "sha256": c.fingerprint_hex(), "signature_algorithm": c.sig_alg_oid, "ca": c.is_ca,
            "extensions": c.extensions.iter().map(|e| json!({"oid": e.oid, "critical": e.critical, "value": hex::encode(&e.value)})).collect::<Vec<_>>(),
        }),
        PkiObject::Crl(c) => json!({
            "type": "crl", "issuer": c.issuer, "this_update": Timestamp(c.this_update).to_rfc3339(),
            "next_update": c.next_update.map(|t| Timestamp(t).to_rfc3339()), "revoked": c.revoked.iter().map(hex::encode).collect::<Vec<_>>(),
            "sha256": hex::encode(c.sha256),
        }),
    }
}
