//! Google Compute Engine vTPM evidence: go-tpm-tools' `attest.Attestation` (`tpm::gotpm`).
//!
//! Verification: the AK (TPMT_PUBLIC) is vouched for by its certificate, which must chain through
//! the carried or given intermediates to a Google EK/AK root pinned by fingerprint
//! (`tpm::GOOGLE_AK_ROOTS`); every quote (one per PCR bank) is signed by the AK, carries exactly
//! the PCR values it selects, and those hash to its pcrDigest; all quotes carry the same
//! extraData. Appraisal: that extraData against the verifier's nonce. The attestation's event log
//! is replayed against the quoted PCRs by `eventlog::bind` (like every carried log).

use crate::Check;
use crate::collateral::Collateral;
use crate::error::{Error, Result};
use crate::policy::{Policy, parse_hex};
use crate::time::Timestamp;
use crate::tpm::gotpm::Attestation;
use crate::tpm::{AkPublic, GOOGLE_AK_ROOTS, KeyParams, QuotedPcrs, VerifiedAkCert, VerifiedQuote};
use crate::x509::Certificate;
use serde_json::{Map, Value, json};

/// Verified GCE vTPM evidence.
#[derive(Debug, Clone)]
pub(crate) struct VerifiedGce {
    pub ak: AkPublic,
    pub ak_cert: Certificate,
    pub chain: VerifiedAkCert,
    /// One per quote, in attestation order.
    pub quotes: Vec<VerifiedQuote>,
    /// Every bank's quoted values, vouched for by the AK.
    pub pcrs: QuotedPcrs,
    /// The quotes' common extraData.
    pub extra_data: Vec<u8>,
    /// The GCE instance the AK certificate names (Google extension 1.3.6.1.4.1.11129.2.1.21).
    pub instance: Option<Value>,
    pub attestation: Attestation,
}

const GCE_INSTANCE_OID: &str = "1.3.6.1.4.1.11129.2.1.21";

/// Verifies the attestation at `at`. The roots and intermediates come from `collateral` (and the
/// attestation's own `intermediate_certs`); only a root pinned in `GOOGLE_AK_ROOTS` is trusted.
pub(crate) fn verify(a: &Attestation, collateral: &Collateral, at: Timestamp) -> Result<VerifiedGce> {
    if a.ak_pub.is_empty() {
        return Err(Error::evidence(Check::TpmAk, "the attestation has no ak_pub (field 1)"));
    }
    let ak = AkPublic::parse(&a.ak_pub)?;
    if a.quotes.is_empty() {
        return Err(Error::evidence(Check::TpmQuote, "the attestation has no quotes (field 2)"));
    }
    // Trust in the AK: its certificate up to a pinned Google root.
    if a.ak_cert.is_empty() {
        return Err(Error::evidence(
            Check::TpmAkCert,
            "the attestation carries no AK certificate (field 6): nothing vouches for the AK",
        ));
    }
    let leaf = Certificate::from_der(&a.ak_cert)
        .map_err(|e| Error::evidence(Check::TpmAkCert, format!("AK certificate (field 6): {e}")))?;
    let mut inters = Vec::new();
    for (i, d) in a.intermediate_certs.iter().enumerate() {
        inters.push(
            Certificate::from_der(d)
                .map_err(|e| Error::evidence(Check::TpmAkCert, format!("intermediate_certs[{i}] (field 7): {e}")))?,
        );
    }
    let mut roots = Vec::new();
    for c in &collateral.certs {
        if c.is_self_issued() {
            roots.push(c.clone());
        } else {
            inters.push(c.clone());
        }
    }
    let chain = crate::tpm::verify_ak_certificate(&ak, &leaf, &inters, &roots, GOOGLE_AK_ROOTS, at)?;

    // Every quote.
    let mut quotes = Vec::new();
    let mut pcrs = QuotedPcrs::new();
    let mut extra: Option<Vec<u8>> = None;
    for (i, q) in a.quotes.iter().enumerate() {
        let bank = q.pcrs.hash;
        let ctx = |e: Error| Error::new(e.category, e.check, format!("quote {i} ({}): {}", bank.name(), e.detail));
        if bank.hash(&[]).is_none() {
            return Err(ctx(Error::evidence(Check::TpmPcrs, format!("PCRs.hash {:#06x} is not a known bank", bank.0))));
        }
        let mut given = QuotedPcrs::new();
        given.insert(bank, q.pcrs.values.clone());
        let v = crate::tpm::verify_quote_signed(&ak, &q.quote, &q.raw_sig, &given).map_err(ctx)?;
        // The values carried must be exactly those the quote selects: nothing unvouched rides along.
        let selected = v.attest.selected();
        if let Some((b, _)) = selected.iter().find(|(b, _)| *b != bank) {
            return Err(ctx(Error::evidence(
                Check::TpmPcrs,
                format!("the quote selects the {} bank but carries {} values", b.name(), bank.name()),
            )));
        }
        let extra_pcrs: Vec<u32> =
            q.pcrs.values.keys().copied().filter(|k| !selected.iter().any(|(_, s)| s == k)).collect();
        if !extra_pcrs.is_empty() {
            return Err(ctx(Error::evidence(
                Check::TpmPcrs,
                format!("PCR values {extra_pcrs:?} are carried but not selected by the quote"),
            )));
        }
        match &extra {
            None => extra = Some(v.attest.extra_data.clone()),
            Some(x) if *x != v.attest.extra_data => {
                return Err(ctx(Error::evidence(
                    Check::TpmNonce,
                    format!(
                        "extraData {} differs from the first quote's {}",
                        hex::encode(&v.attest.extra_data),
                        hex::encode(x)
                    ),
                )));
            }
            Some(_) => {}
        }
        for (b, m) in &v.pcrs {
            let dst = pcrs.entry(*b).or_default();
            for (idx, val) in m {
                if let Some(prev) = dst.insert(*idx, val.clone())
                    && prev != *val
                {
                    return Err(ctx(Error::evidence(
                        Check::TpmPcrs,
                        format!("{} PCR{idx} differs from another quote's value for it", b.name()),
                    )));
                }
            }
        }
        quotes.push(v);
    }
    let instance = leaf.extension(GCE_INSTANCE_OID).and_then(|x| instance_info(&x.value));
    Ok(VerifiedGce {
        ak,
        ak_cert: leaf,
        chain,
        quotes,
        pcrs,
        extra_data: extra.unwrap_or_default(),
        instance,
        attestation: a.clone(),
    })
}

/// Google's instance-information extension: SEQUENCE { zone UTF8String, project_number INTEGER,
/// project_id UTF8String, instance_id INTEGER, instance_name UTF8String, [0] security properties }.
fn instance_info(v: &[u8]) -> Option<Value> {
    use crate::crypto::der_tlv;
    let (tag, body, _) = der_tlv(v)?;
    if tag != 0x30 {
        return None;
    }
    fn text(b: &[u8]) -> Option<(String, &[u8])> {
        let (t, s, rest) = der_tlv(b)?;
        (t == 0x0c).then(|| (String::from_utf8_lossy(s).into_owned(), rest))
    }
    fn int(b: &[u8]) -> Option<(u64, &[u8])> {
        let (t, s, rest) = der_tlv(b)?;
        (t == 0x02 && s.len() <= 9).then(|| (s.iter().fold(0u64, |a, &x| (a << 8) | u64::from(x)), rest))
    }
    let (zone, r) = text(body)?;
    let (project_number, r) = int(r)?;
    let (project_id, r) = text(r)?;
    let (instance_id, r) = int(r)?;
    let (instance_name, _) = text(r)?;
    Some(json!({
        "zone": zone, "project_number": project_number, "project_id": project_id,
        "instance_id": instance_id, "instance_name": instance_name,
    }))
}

/// The result of the appraisal.
pub(crate) struct Appraisal {
    pub failures: Vec<Error>,
    pub warnings: Vec<Error>,
    pub nonce_bound: bool,
}

/// Appraises: the verifier's nonce (`--nonce`, else the policy's) must be every quote's extraData.
pub(crate) fn appraise(v: &VerifiedGce, policy: &Policy, nonce: Option<&[u8]>) -> Result<Appraisal> {
    let mut failures = Vec::new();
    let mut warnings = Vec::new();
    let nonce = match (nonce, &policy.nonce) {
        (Some(n), _) => Some(n.to_vec()),
        (None, Some(h)) => Some(parse_hex("nonce", h, 64)?),
        _ => None,
    };
    let mut nonce_bound = false;
    match &nonce {
        Some(n) if *n == v.extra_data => nonce_bound = true,
        Some(n) => failures.push(Error::appraisal(
            Check::PolicyNonce,
            format!(
                "the vTPM quotes' extraData {} is not the nonce {} ({} bytes vs {})",
                hex::encode(&v.extra_data),
                hex::encode(n),
                v.extra_data.len(),
                n.len()
            ),
        )),
        None => warnings.push(Error::appraisal(
            Check::GceFreshness,
            format!(
                "no nonce given: the quotes' extraData {} is not checked (the attestation may be replayed)",
                hex::encode(&v.extra_data)
            ),
        )),
    }
    if let Some((n, b)) = &v.attestation.tee_attestation {
        warnings.push(Error::appraisal(
            Check::GceTeeAttestation,
            format!(
                "the attestation carries a TEE attestation (field {n}, {} bytes) that cloud-ra does not evaluate",
                b.len()
            ),
        ));
    }
    Ok(Appraisal { failures, warnings, nonce_bound })
}

/// Claims of verified GCE vTPM evidence.
pub(crate) fn claims(v: &VerifiedGce) -> Value {
    let (kty, bits) = match &v.ak.params {
        KeyParams::Rsa { modulus, .. } => ("RSA", modulus.len() * 8),
        KeyParams::Ecc { x, .. } => ("EC", x.len() * 8),
    };
    let c = &v.ak_cert;
    let mut obj = Map::new();
    obj.insert("platform".into(), json!("gce-vtpm"));
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
    Value::Object(obj)
}
