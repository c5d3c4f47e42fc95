//! What a verified SNP report says, as JSON claims (names follow the ABI spec, lower-cased).

use super::format::{Report, Tcb};
use super::verify::VerifiedSnp;
use crate::claims::Claims;
use serde_json::{Value, json};

fn tcb_json(t: &Tcb) -> Value {
    let mut m = serde_json::Map::new();
    for (k, v) in t.components() {
        m.insert(k.to_string(), json!(v));
    }
    Value::Object(m)
}

/// Every field of a report, decoded for `product` (used by `show` and by the claims).
pub fn report_fields(r: &Report, product: Option<super::format::Product>) -> Value {
    let tcb = |raw: u64| match product {
        Some(p) => json!({"raw": format!("{raw:#018x}"), "components": tcb_json(&Tcb::decode(raw, p))}),
        None => json!({"raw": format!("{raw:#018x}")}),
    };
    json!({
        "version": r.version,
        "guest_svn": r.guest_svn,
        "policy": r.policy,
        "family_id": hex::encode(r.family_id),
        "image_id": hex::encode(r.image_id),
        "vmpl": r.vmpl,
        "signature_algo": r.signature_algo,
        "current_tcb": tcb(r.current_tcb),
        "platform_info": r.platform_info,
        "author_key_en": r.author_key_en,
        "mask_chip_key": r.mask_chip_key,
        "signing_key": r.signing_key,
        "report_data": hex::encode(r.report_data),
        "measurement": hex::encode(r.measurement),
        "host_data": hex::encode(r.host_data),
        "id_key_digest": hex::encode(r.id_key_digest),
        "author_key_digest": hex::encode(r.author_key_digest),
        "report_id": hex::encode(r.report_id),
        "report_id_ma": hex::encode(r.report_id_ma),
        "reported_tcb": tcb(r.reported_tcb),
        "cpuid": r.cpuid.map(|(f, m, s)| json!({"family": f, "model": m, "stepping": s})),
        "chip_id": hex::encode(r.chip_id),
        "committed_tcb": tcb(r.committed_tcb),
        "current_firmware": format!("{}.{}.{}", r.current_major, r.current_minor, r.current_build),
        "committed_firmware": format!("{}.{}.{}", r.committed_major, r.committed_minor, r.committed_build),
        "launch_tcb": tcb(r.launch_tcb),
        "launch_mit_vector": r.mit_vectors.map(|(l, _)| format!("{l:#018x}")),
        "current_mit_vector": r.mit_vectors.map(|(_, c)| format!("{c:#018x}")),
        "signature": {"r": hex::encode(r.sig_r), "s": hex::encode(r.sig_s)},
    })
}

/// Claims of a verified report.
pub(crate) fn claims(v: &VerifiedSnp) -> Claims {
    let r = &v.report;
    let p = v.product;
    let mut c = report_fields(r, Some(p));
    let obj = c.as_object_mut().expect("report_fields builds an object");
    obj.remove("signature");
    obj.insert("product".into(), json!(p));
    obj.insert("product_source".into(), json!(v.product_source));
    obj.insert("reported_tcb".into(), tcb_json(&v.reported_tcb));
    for (name, raw) in
        [("current_tcb", r.current_tcb), ("committed_tcb", r.committed_tcb), ("launch_tcb", r.launch_tcb)]
    {
        obj.insert(name.into(), tcb_json(&Tcb::decode(raw, p)));
    }
    obj.insert("crls_checked".into(), json!(v.chain.crls_checked));
    let vek = &v.chain.vek;
    obj.insert(
        "vek".into(),
        json!({
            "subject": vek.subject,
            "serial": hex::encode(&vek.serial),
            "sha256": vek.fingerprint_hex(),
            "not_after": crate::time::Timestamp(vek.not_after).to_rfc3339(),
            "product_name": v.chain.vek_ext.product_name,
            "csp_id": v.chain.vek_ext.csp_id,
        }),
    );
    obj.insert("ark_sha256".into(), json!(hex::encode(v.chain.ark_sha256)));
    Claims::new(crate::Platform::Snp, c)
        .with_measurements([("measurement".to_string(), &r.measurement[..])])
        .with_report_data(&r.report_data)
        .with_debug(r.policy.debug)
        .with_simulated(v.chain.simulated)
        .with_signer(r.signing_key.name(), vek.fingerprint_hex())
}
