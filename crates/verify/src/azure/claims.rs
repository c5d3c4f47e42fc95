//! Claims of verified Azure vTPM evidence: the SNP or TDX claims of the hardware report, plus the
//! HCL report, `vm_configuration`, `user_data`, the quoted PCRs by index, the AK fingerprint and
//! `freshness`.

use super::format::HclReport;
use super::verify::{Hardware, VerifiedAzure};
use crate::claims::{Claims, Registers, pcr_measurements};
use serde_json::{Map, Value, json};

/// The HCL report's own fields (used by `show` and the claims).
pub(crate) fn hcl_fields(h: &HclReport) -> Value {
    json!({
        "version": h.header.version,
        "report_size": h.header.report_size,
        "request_type": h.header.request_type,
        "status": h.header.status,
        "report_type": h.request.report_type,
        "tee": h.tee,
        "request_version": h.request.version,
        "hash_type": h.request.hash_type,
        "variable_data_size": h.request.variable_data_size,
        "padding": h.padding,
        "report_data": hex::encode(h.report_data()),
        "runtime_claims_digest": hex::encode(h.request.hash_type.hash(&h.claims.raw)),
    })
}

/// The runtime claims for `show`: the JSON as stored, plus the AK fingerprint.
pub(crate) fn runtime_claims_fields(h: &HclReport) -> Value {
    let ak = &h.claims.ak_pub.params;
    json!({
        "json": h.claims.json,
        "ak_pub_sha256": ak.fingerprint(),
        "user_data": h.claims.user_data.map(hex::encode),
    })
}

/// Claims of verified evidence: the hardware's, under the Azure platform. `nonce_bound` comes from
/// the appraisal.
pub(crate) fn claims(v: &VerifiedAzure) -> Claims {
    let mut c = match &v.hardware {
        Hardware::Snp(s) => crate::snp::claims::claims(s),
        Hardware::Tdx(d) => crate::dcap::claims::claims(d),
    };
    let mut native = Map::new();
    let obj = &mut native;
    let hw = c.remove("platform").unwrap_or(Value::Null);
    c.set_platform(v.platform());
    obj.insert("hardware_platform".into(), hw);
    obj.insert("evidence_format".into(), json!(v.source));
    obj.insert("hcl".into(), hcl_fields(&v.hcl));
    obj.insert("vm_configuration".into(), v.hcl.claims.vm_configuration.clone().unwrap_or(Value::Null));
    obj.insert("user_data".into(), json!(v.hcl.claims.user_data.map(hex::encode)));
    obj.insert("freshness".into(), json!(v.freshness));
    let ak = &v.ak.params;
    let (kty, bits) = match ak {
        crate::tpm::KeyParams::Rsa { modulus, .. } => ("RSA", modulus.len() * 8),
        crate::tpm::KeyParams::Ecc { x, .. } => ("EC", x.len() * 8),
    };
    obj.insert(
        "ak_pub".into(),
        json!({"sha256": ak.fingerprint(), "kty": kty, "bits": bits, "tpm_public_checked": v.ak_public_checked}),
    );
    match &v.quote {
        Some(q) => {
            let mut quote = q.attest.to_json();
            quote["signature"] = json!(q.signature.scheme_name());
            obj.insert("tpm_quote".into(), quote);
            crate::tpm::quote::insert_pcr_claims(obj, &q.pcrs);
        }
        None => {
            obj.insert("tpm_quote".into(), Value::Null);
        }
    }
    for (k, val) in native {
        c.insert(&k, val);
    }
    // The hardware's measurements plus the quoted PCRs; an event log replays against the PCRs
    // (on Azure TDX the RTMRs measure the paravisor, not the guest's boot).
    match &v.quote {
        Some(q) => c.with_measurements(pcr_measurements(&q.pcrs)).with_registers(Registers::Pcrs(q.pcrs.clone())),
        None => c.with_registers(Registers::None),
    }
}
