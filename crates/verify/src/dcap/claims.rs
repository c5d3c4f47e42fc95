//! What a verified DCAP quote says, as JSON claims, and every field of a quote (for `cloud-ra
//! show`), both with the specification's names in snake_case (`mrtd`, `rtmr0`, `td_attributes`).

use super::format::{Body, CertData, CertificationData, EnclaveReport, Quote, TdReport, td_attr};
use super::verify::VerifiedDcap;
use crate::Platform;
use crate::claims::{Claims, Registers, TdxRegisters};
use crate::time::Timestamp;
use serde_json::{Value, json};

fn enclave_report_fields(r: &EnclaveReport) -> Value {
    json!({
        "cpu_svn": hex::encode(r.cpu_svn),
        "misc_select": format!("{:08x}", r.misc_select),
        "reserved1": hex::encode(r.reserved1),
        "attributes": sgx_attributes(r),
        "mrenclave": hex::encode(r.mr_enclave),
        "reserved2": hex::encode(r.reserved2),
        "mrsigner": hex::encode(r.mr_signer),
        "reserved3": hex::encode(r.reserved3),
        "isv_prod_id": r.isv_prod_id,
        "isv_svn": r.isv_svn,
        "reserved4": hex::encode(r.reserved4),
        "report_data": hex::encode(r.report_data),
    })
}

fn sgx_attributes(e: &EnclaveReport) -> Value {
    json!({"raw": hex::encode(e.attributes), "debug": e.debug(), "mode64bit": e.attributes[0] & 0x04 != 0})
}

fn td_report_fields(t: &TdReport) -> Value {
    let mut v = json!({
        "tee_tcb_svn": hex::encode(t.tee_tcb_svn),
        "mrseam": hex::encode(t.mr_seam),
        "mrsignerseam": hex::encode(t.mr_signer_seam),
        "seam_attributes": hex::encode(t.seam_attributes),
        "td_attributes": td_attributes(t),
        "xfam": hex::encode(t.xfam),
        "mrtd": hex::encode(t.mr_td),
        "mrconfigid": hex::encode(t.mr_config_id),
        "mrowner": hex::encode(t.mr_owner),
        "mrownerconfig": hex::encode(t.mr_owner_config),
        "rtmr0": hex::encode(t.rt_mr[0]),
        "rtmr1": hex::encode(t.rt_mr[1]),
        "rtmr2": hex::encode(t.rt_mr[2]),
        "rtmr3": hex::encode(t.rt_mr[3]),
        "report_data": hex::encode(t.report_data),
    });
    if let Some(obj) = v.as_object_mut() {
        if let Some(s) = t.tee_tcb_svn2 {
            obj.insert("tee_tcb_svn2".into(), json!(hex::encode(s)));
        }
        if let Some(m) = t.mr_service_td {
            obj.insert("mrservicetd".into(), json!(hex::encode(m)));
        }
    }
    v
}

fn cert_data_fields(c: &CertificationData) -> Value {
    let data = match &c.data {
        CertData::PpidCleartext { ppid, cpu_svn, pce_svn, pce_id } => json!({
            "ppid": hex::encode(ppid), "cpu_svn": hex::encode(cpu_svn), "pce_svn": pce_svn, "pce_id": format!("{pce_id:04x}"),
        }),
        CertData::PpidEncrypted { encrypted_ppid, cpu_svn, pce_svn, pce_id } => json!({
            "encrypted_ppid": hex::encode(encrypted_ppid), "cpu_svn": hex::encode(cpu_svn), "pce_svn": pce_svn, "pce_id": format!("{pce_id:04x}"),
        }),
        CertData::PckLeaf { der, .. } | CertData::PckChain { der, .. } => {
            let certs: Vec<Value> = der
                .iter()
                .map(|d| match crate::x509::Certificate::from_der(d) {
                    Ok(c) => json!({
                        "subject": c.subject, "issuer": c.issuer, "serial": hex::encode(&c.serial),
                        "not_before": Timestamp(c.not_before).to_rfc3339(), "not_after": Timestamp(c.not_after).to_rfc3339(),
                        "sha256": c.fingerprint_hex(),
                    }),
                    Err(e) => json!({"error": e.to_string()}),
                })
                .collect();
            json!({ "certificates": certs })
        }
        CertData::QeReport(q) => json!({
            "qe_report": enclave_report_fields(&q.qe_report),
            "qe_report_signature": hex::encode(q.qe_report_signature),
            "qe_auth_data": hex::encode(&q.qe_auth_data),
            "certification_data": cert_data_fields(&q.certification_data),
        }),
    };
    json!({ "certification_data_type": c.cert_type, "certification_data_size": c.size, "data": data })
}

/// Every field of a quote, by the specification's names in snake_case: the keys of the claims
/// (`mrtd`, `rtmr0`, `td_attributes` decoded; `mrenclave`, `isv_svn`, `attributes` decoded).
pub fn quote_fields(q: &Quote) -> Value {
    let h = &q.header;
    let mut header = json!({
        "version": h.version,
        "attestation_key_type": h.attestation_key_type,
        "tee_type": format!("{:#x}", h.tee_type),
        "qe_vendor_id": hex::encode(h.qe_vendor_id),
        "user_data": hex::encode(h.user_data),
    });
    if let Some(obj) = header.as_object_mut() {
        if h.version == 3 {
            obj.insert("qe_svn".into(), json!(h.qe_svn));
            obj.insert("pce_svn".into(), json!(h.pce_svn));
        } else {
            obj.insert("reserved".into(), json!(format!("{:04x}{:04x}", h.qe_svn, h.pce_svn)));
        }
    }
    let body = match &q.body {
        Body::Sgx(e) => enclave_report_fields(e),
        Body::Td10(t) | Body::Td15(t) => td_report_fields(t),
    };
    let mut sig = json!({
        "ecdsa_256_bit_signature": hex::encode(q.quote_signature),
        "ecdsa_attestation_key": hex::encode(q.attestation_key),
    });
    if let Some(obj) = sig.as_object_mut() {
        if q.header.version == 3 {
            obj.insert("qe_report".into(), enclave_report_fields(&q.qe_report));
            obj.insert("qe_report_signature".into(), json!(hex::encode(q.qe_report_signature)));
            obj.insert("qe_auth_data".into(), json!(hex::encode(&q.qe_auth_data)));
        }
        obj.insert("certification_data".into(), cert_data_fields(&q.outer_certification));
    }
    let mut v = json!({
        "header": header,
        "body": body,
        "body_type": q.body.name(),
        "signature_data_length": q.signature_data_len,
        "signature_data": sig,
        "quote_length": q.raw.len(),
        "trailing_bytes": q.trailing,
    });
    if let (Some((t, s)), Some(obj)) = (q.body_descriptor, v.as_object_mut()) {
        obj.insert("body_descriptor".into(), json!({"type": t, "size": s}));
    }
    v
}

fn td_attributes(t: &TdReport) -> Value {
    td_attributes_fields(&t.td_attributes)
}

/// TDATTRIBUTES (8 bytes, little-endian) decoded: `raw` hex and each defined bit.
pub(crate) fn td_attributes_fields(raw: &[u8; 8]) -> Value {
    let a = u64::from_le_bytes(*raw);
    json!({
        "raw": hex::encode(raw),
        "debug": a & td_attr::DEBUG != 0,
        "sept_ve_disable": a & td_attr::SEPT_VE_DISABLE != 0,
        "pks": a & td_attr::PKS != 0,
        "kl": a & td_attr::KL != 0,
        "perfmon": a & td_attr::PERFMON != 0,
        "reserved_bits_set": a & td_attr::RESERVED != 0,
    })
}

/// Whether the quoted TD or enclave is in debug mode.
pub(crate) fn is_debug(q: &Quote) -> bool {
    match &q.body {
        Body::Sgx(e) => e.debug(),
        Body::Td10(t) | Body::Td15(t) => t.td_attributes_u64() & td_attr::DEBUG != 0,
    }
}

/// Claims of a verified quote.
pub(crate) fn claims(v: &VerifiedDcap) -> Claims {
    let q = &v.quote;
    let c = &v.collateral;
    let mut out = match &q.body {
        Body::Sgx(e) => json!({
            "mrenclave": hex::encode(e.mr_enclave),
            "mrsigner": hex::encode(e.mr_signer),
            "isv_prod_id": e.isv_prod_id,
            "isv_svn": e.isv_svn,
            "attributes": sgx_attributes(e),
            "misc_select": format!("{:08x}", e.misc_select),
            "cpu_svn": hex::encode(e.cpu_svn),
        }),
        // The TD report's fields as `show` names them (REPORTDATA is the shared `report_data`).
        Body::Td10(t) | Body::Td15(t) => td_report_fields(t),
    };
    if let Some(obj) = out.as_object_mut() {
        obj.insert("quote_version".into(), json!(q.header.version));
        obj.insert("body_type".into(), json!(q.body.name()));
        obj.insert("fmspc".into(), json!(hex::encode_upper(c.pck_ext.fmspc)));
        obj.insert("pce_id".into(), json!(hex::encode_upper(c.pck_ext.pce_id)));
        obj.insert("advisory_ids".into(), json!(v.advisory_ids));
        obj.insert("tcb_date".into(), json!(v.tcb_date));
        obj.insert("qe_tcb_status".into(), json!(v.qe_status.name()));
        obj.insert("qe_tcb_date".into(), json!(v.qe_level.as_ref().map(|l| l.tcb_date.clone())));
        obj.insert(
            "tdx_module".into(),
            match &v.tcb.module {
                Some(m) => json!({"id": m.id, "isv_svn": m.isv_svn, "tcb_status": m.status.name(),
                    "tcb_date": m.level.as_ref().map(|l| l.tcb_date.clone())}),
                None => Value::Null,
            },
        );
        obj.insert("tcb_evaluation_data_number".into(), json!(c.tcb_info.json.tcb_evaluation_data_number));
        obj.insert("pck_sgx_tcb_components".into(), json!(c.pck_ext.sgx_tcb_components.to_vec()));
        obj.insert("pck_pce_svn".into(), json!(c.pck_ext.pce_svn));
        obj.insert(
            "pck".into(),
            json!({
                "subject": c.pck.subject,
                "issuer": c.pck_ca.subject_cn,
                "serial": hex::encode(&c.pck.serial),
                "not_after": Timestamp(c.pck.not_after).to_rfc3339(),
            }),
        );
        obj.insert("root_sha256".into(), json!(hex::encode(c.root_sha256)));
        obj.insert("crls_checked".into(), json!(c.crls_checked));
    }
    let (platform, measurements, registers) = match &q.body {
        Body::Sgx(e) => (
            Platform::Sgx,
            vec![("mrenclave".to_string(), &e.mr_enclave[..]), ("mrsigner".to_string(), &e.mr_signer[..])],
            Registers::None,
        ),
        Body::Td10(t) | Body::Td15(t) => {
            let mut m = vec![("mrtd".to_string(), &t.mr_td[..])];
            m.extend(t.rt_mr.iter().enumerate().map(|(i, r)| (format!("rtmr{i}"), &r[..])));
            (Platform::Tdx, m, Registers::Tdx(Box::new(TdxRegisters { mrtd: t.mr_td, rtmr: t.rt_mr })))
        }
    };
    Claims::new(platform, out)
        .with_measurements(measurements)
        .with_report_data(q.body.report_data())
        .with_debug(is_debug(q))
        .with_tcb_status(v.tcb.status.name())
        .with_simulated(c.simulated)
        .with_signer("pck", c.pck.fingerprint_hex())
        .with_registers(registers)
}
