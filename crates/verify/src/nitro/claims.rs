//! What a verified Nitro document says.

use super::verify::VerifiedNitro;
use crate::claims::Claims;
use crate::time::Timestamp;
use serde_json::{Map, Value, json};

/// The parent instance ID from the signing certificate's CN
/// (`i-0123456789abcdef0-enc0123456789abcdef.us-east-1.aws`).
pub(crate) fn parent_instance_id(cn: &str) -> Option<String> {
    let id = cn.split("-enc").next()?;
    (id.starts_with("i-") && id.len() > 2 && id[2..].chars().all(|c| c.is_ascii_hexdigit())).then(|| id.to_string())
}

/// Every field of the document (used by `show` and the claims).
pub(crate) fn document_fields(d: &super::format::AttestationDoc) -> Value {
    let mut pcrs = Map::new();
    for (i, v) in &d.pcrs {
        pcrs.insert(i.to_string(), json!(hex::encode(v)));
    }
    json!({
        "module_id": d.module_id,
        "digest": d.digest,
        "timestamp": d.timestamp,
        "timestamp_utc": Timestamp((d.timestamp / 1000) as i64).to_rfc3339(),
        "pcrs": pcrs,
        "certificate": hex::encode(&d.certificate),
        "cabundle": d.cabundle.iter().map(hex::encode).collect::<Vec<_>>(),
        "public_key": d.public_key.as_ref().map(hex::encode),
        "user_data": d.user_data.as_ref().map(hex::encode),
        "nonce": d.nonce.as_ref().map(hex::encode),
    })
}

pub(crate) fn claims(v: &VerifiedNitro) -> Claims {
    let mut c = document_fields(&v.doc);
    if let Some(o) = c.as_object_mut() {
        o.remove("certificate");
        o.remove("cabundle");
        o.insert("parent_instance_id".into(), json!(parent_instance_id(&v.chain.leaf.subject_cn)));
        o.insert("signing_certificate".into(), json!(v.chain.leaf.subject));
        o.insert("evaluated_at".into(), json!(v.evaluated_at.to_rfc3339()));
    }
    // PCRs are SHA-384 (the document's `digest`); named `pcr0`.. like the policy's table.
    let pcrs = v.doc.pcrs.iter().map(|(i, p)| (format!("pcr{i}"), p.as_slice()));
    Claims::new(crate::Platform::Nitro, c)
        .with_measurements(pcrs)
        .with_debug(v.doc.debug_mode())
        .with_simulated(v.chain.simulated)
        .with_signer("nitro", hex::encode(crate::crypto::sha256(&v.doc.certificate)))
}
