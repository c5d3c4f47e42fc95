//! What verified GCE vTPM evidence says: the AK and its certificate, every quote, the PCRs by
//! bank (the same shape as Azure's), the instance the AK certificate names.

use super::verify::VerifiedGce;
use crate::claims::{Claims, Registers, pcr_measurements};
use crate::time::Timestamp;
use crate::tpm::KeyParams;
use serde_json::{Map, Value, json};

/// Claims of verified GCE vTPM evidence.
pub(crate) fn claims(v: &VerifiedGce) -> Claims {
    let (kty, bits) = match &v.ak.params {
        KeyParams::Rsa { modulus, .. } => ("RSA", modulus.len() * 8),
        KeyParams::Ecc { x, .. } => ("EC", x.len() * 8),
    };
    let c = &v.ak_cert;
    let mut obj = Map::new();
    obj.insert("evidence_format".into(), json!("go-tpm-tools attest.Attestation"));
    obj.insert("freshness".into(), json!("tpm-quote"));
    obj.insert("extra_data".into(), json!(hex::encode(&v.extra_data)));
    obj.insert("ak_pub".into(), json!({"sha256": v.ak.params.fingerprint(), "kty": kty, "bits": bits}));
    obj.insert(
        "ak_cert".into(),
        json!({
            "subject": c.subject,
            "issuer": c.issuer,
            "serial": hex::encode(&c.serial),
            "sha256": c.fingerprint_hex(),
            "not_before": Timestamp(c.not_before).to_rfc3339(),
            "not_after": Timestamp(c.not_after).to_rfc3339(),
            "chain": v.chain.chain,
            "root_sha256": v.chain.root_sha256,
        }),
    );
    obj.insert("instance".into(), v.instance.clone().unwrap_or(Value::Null));
    obj.insert(
        "tpm_quotes".into(),
        json!(
            v.quotes
                .iter()
                .map(|q| {
                    let mut j = q.attest.to_json();
                    j["bank"] = json!(q.attest.selection.first().map(|(b, _)| b.name()));
                    j["signature"] = json!(q.signature.scheme_name());
                    j
                })
                .collect::<Vec<_>>()
        ),
    );
    // The same shape as Azure's: `pcrs` = SHA-256 bank by index, `pcrs_<bank>` for the others.
    crate::tpm::quote::insert_pcr_claims(&mut obj, &v.pcrs);
    let a = &v.attestation;
    obj.insert(
        "unverified".into(),
        json!({
            "note": "carried in the attestation, not signed: not evaluated",
            "instance_info": a.instance_info,
            "canonical_event_log_bytes": a.canonical_event_log.len(),
            "tee_attestation": a.tee_attestation.as_ref().map(|(n, b)| json!({"field": n, "bytes": b.len()})),
            "unknown_fields": a.unknown_fields,
        }),
    );
    Claims::new(crate::Platform::GceVtpm, Value::Object(obj))
        .with_measurements(pcr_measurements(&v.pcrs))
        .with_simulated(false)
        .with_signer("ak", v.ak.params.fingerprint())
        .with_registers(Registers::Pcrs(v.pcrs.clone()))
}
