//! GCE vTPM verification, in numbered steps (each names the check it fails):
//!
//! 1. [`ak`]: the attestation carries an AK (`tpm.ak`) and at least one quote (`tpm.quote`).
//! 2. [`ak_chain`]: the AK certificate chains through the carried or given intermediates to a
//!    Google EK/AK root pinned by fingerprint, and certifies this AK (`tpm.ak_cert`).
//! 3. [`quote`]: each quote is signed by the AK, selects exactly the PCR values it carries in its
//!    own bank, and those hash to its pcrDigest (`tpm.quote`, `tpm.pcrs`).
//! 4. [`merge`]: all quotes carry the same extraData (`tpm.nonce`) and agree on every PCR they
//!    share (`tpm.pcrs`).

use crate::Check;
use crate::collateral::Collateral;
use crate::error::{Error, Result};
use crate::time::Timestamp;
use crate::tpm::gotpm::{Attestation, Quote as GoQuote};
use crate::tpm::{AkPublic, GOOGLE_AK_ROOTS, QuotedPcrs, VerifiedAkCert, VerifiedQuote};
use crate::x509::Certificate;
use serde_json::{Value, json};

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
    // 1. The AK and the quotes are there.
    let ak = ak(a)?;
    // 2. Trust in the AK: its certificate up to a pinned Google root.
    let (leaf, chain) = ak_chain(a, &ak, collateral, at)?;
    // 3 and 4. Every quote, then one set of values and one extraData.
    let mut quotes = Vec::new();
    let mut pcrs = QuotedPcrs::new();
    let mut extra: Option<Vec<u8>> = None;
    for (i, q) in a.quotes.iter().enumerate() {
        let bank = q.pcrs.hash;
        let ctx = |e: Error| Error::new(e.category, e.check, format!("quote {i} ({}): {}", bank.name(), e.detail));
        let v = quote(&ak, q).map_err(ctx)?;
        merge(&v, &mut extra, &mut pcrs).map_err(ctx)?;
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

/// Step 1: the AK (TPMT_PUBLIC) parses and there is something it signed.
fn ak(a: &Attestation) -> Result<AkPublic> {
    if a.ak_pub.is_empty() {
        return Err(Error::evidence(Check::TpmAk, "the attestation has no ak_pub (field 1)"));
    }
    let ak = AkPublic::parse(&a.ak_pub)?;
    if a.quotes.is_empty() {
        return Err(Error::evidence(Check::TpmQuote, "the attestation has no quotes (field 2)"));
    }
    Ok(ak)
}

/// Step 2: the AK certificate, its intermediates (carried, then given), a pinned Google root.
fn ak_chain(
    a: &Attestation,
    ak: &AkPublic,
    collateral: &Collateral,
    at: Timestamp,
) -> Result<(Certificate, VerifiedAkCert)> {
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
    let chain = crate::tpm::verify_ak_certificate(ak, &leaf, &inters, &roots, GOOGLE_AK_ROOTS, at)?;
    Ok((leaf, chain))
}

/// Step 3: one quote, signed by the AK, carrying exactly the values it selects in its own bank.
fn quote(ak: &AkPublic, q: &GoQuote) -> Result<VerifiedQuote> {
    let bank = q.pcrs.hash;
    if bank.hash(&[]).is_none() {
        return Err(Error::evidence(Check::TpmPcrs, format!("PCRs.hash {:#06x} is not a known bank", bank.0)));
    }
    let mut given = QuotedPcrs::new();
    given.insert(bank, q.pcrs.values.clone());
    let v = crate::tpm::verify_quote_signed(ak, &q.quote, &q.raw_sig, &given)?;
    // The values carried must be exactly those the quote selects: nothing unvouched rides along.
    let selected = v.attest.selected();
    if let Some((b, _)) = selected.iter().find(|(b, _)| *b != bank) {
        return Err(Error::evidence(
            Check::TpmPcrs,
            format!("the quote selects the {} bank but carries {} values", b.name(), bank.name()),
        ));
    }
    let extra_pcrs: Vec<u32> =
        q.pcrs.values.keys().copied().filter(|k| !selected.iter().any(|(_, s)| s == k)).collect();
    if !extra_pcrs.is_empty() {
        return Err(Error::evidence(
            Check::TpmPcrs,
            format!("PCR values {extra_pcrs:?} are carried but not selected by the quote"),
        ));
    }
    Ok(v)
}

/// Step 4: the quote's extraData is the first quote's, and its values agree with the others'.
fn merge(v: &VerifiedQuote, extra: &mut Option<Vec<u8>>, pcrs: &mut QuotedPcrs) -> Result<()> {
    match extra {
        None => *extra = Some(v.attest.extra_data.clone()),
        Some(x) if *x != v.attest.extra_data => {
            return Err(Error::evidence(
                Check::TpmNonce,
                format!(
                    "extraData {} differs from the first quote's {}",
                    hex::encode(&v.attest.extra_data),
                    hex::encode(x)
                ),
            ));
        }
        Some(_) => {}
    }
    for (b, m) in &v.pcrs {
        let dst = pcrs.entry(*b).or_default();
        for (idx, val) in m {
            if let Some(prev) = dst.insert(*idx, val.clone())
                && prev != *val
            {
                return Err(Error::evidence(
                    Check::TpmPcrs,
                    format!("{} PCR{idx} differs from another quote's value for it", b.name()),
                ));
            }
        }
    }
    Ok(())
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
