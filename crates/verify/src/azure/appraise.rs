//! Appraisal of verified Azure vTPM evidence: the hardware report by the SNP or DCAP appraisal
//! (without the nonce: on Azure REPORT_DATA is the runtime-claims hash), then `[azure]`: the
//! verifier's nonce against what the evidence binds it to, freshness, the PCR set and reference
//! values, `vm-configuration`: failures, warnings and whether the nonce is bound.

use super::verify::{Freshness, Hardware, VerifiedAzure};
use crate::Check;
use crate::error::{Error, Result};
use crate::eventlog::AlgId;
use crate::policy::{AzurePolicy, ConfigValue, Policy, pad64, parse_hex};
use crate::tee::{Appraisal, Nonce};
use serde_json::Value;

fn fail(v: &mut Vec<Error>, check: Check, d: impl Into<String>) {
    v.push(Error::appraisal(check, d));
}

/// The PCR bank the policy speaks of.
pub(crate) fn policy_bank(policy: &Policy) -> Result<AlgId> {
    match &policy.azure.pcr_bank {
        None => Ok(AlgId::SHA256),
        Some(s) => AlgId::from_name(s).ok_or_else(|| {
            Error::usage(Check::Policy, format!("azure.pcr_bank '{s}' is not sha1, sha256, sha384 or sha512"))
        }),
    }
}

/// Whether `ud` (the HCL user-data) carries `nonce`: zero-padded (trustee, cloud-ra), or
/// SHA-512(nonce ‖ input) as trustauthority-cli writes it.
pub(crate) fn user_data_binds(ud: &[u8; 64], nonce: &[u8], input: Option<&[u8]>) -> bool {
    if nonce.len() <= 64 && pad64(nonce) == *ud {
        return true;
    }
    let mut m = nonce.to_vec();
    m.extend_from_slice(input.unwrap_or(&[]));
    crate::crypto::sha512(&m) == *ud
}

fn config_matches(have: &Value, want: &ConfigValue) -> bool {
    match (have, want) {
        (Value::Bool(a), ConfigValue::Bool(b)) => a == b,
        (Value::Number(a), ConfigValue::Int(b)) => a.as_i64() == Some(*b),
        (Value::String(a), ConfigValue::Str(b)) => a.eq_ignore_ascii_case(b),
        // "true"/"false" written as strings by some tools.
        (Value::String(a), ConfigValue::Bool(b)) => a.eq_ignore_ascii_case(if *b { "true" } else { "false" }),
        _ => false,
    }
}

/// Appraises. Errors in the policy itself (bad hex, ...) are usage errors. The steps:
/// [`hardware`] (the SNP or DCAP appraisal of the hardware report, without the nonce),
/// [`binding`] (the nonce against what the evidence binds it to), [`freshness`] (replayable
/// evidence), [`user_data`], [`pcrs`] (the required set and reference values) and
/// [`vm_configuration`].
pub(crate) fn appraise(
    v: &VerifiedAzure,
    policy: &Policy,
    nonce: Option<&Nonce>,
    allow_debug: bool,
) -> Result<Appraisal> {
    let p = &policy.azure;
    let hw = hardware(v, policy, allow_debug)?;
    let (mut failures, mut warnings) = (hw.failures, hw.warnings);
    warnings.extend(v.warnings.iter().cloned());
    let nonce_bound = binding(v, nonce, &mut failures)?;
    freshness(v, p, nonce.is_some(), &mut failures, &mut warnings);
    user_data(v, p, &mut failures)?;
    pcrs(v, policy, &mut failures, &mut warnings)?;
    vm_configuration(v, p, &mut failures);
    Ok(Appraisal { failures, warnings, nonce_bound })
}

/// The hardware report's own appraisal (`[snp]` or `[tdx]`), without the nonce: on Azure
/// REPORT_DATA is the runtime-claims hash. The paravisor's report is requested at VMPL 0.
fn hardware(v: &VerifiedAzure, policy: &Policy, allow_debug: bool) -> Result<Appraisal> {
    Ok(match &v.hardware {
        Hardware::Snp(s) => {
            let mut a = crate::snp::appraise::appraise(s, policy, None, allow_debug)?;
            if policy.snp.vmpl.is_none() && s.report.vmpl != 0 {
                fail(
                    &mut a.failures,
                    Check::PolicyVmpl,
                    format!(
                        "the SNP report is at VMPL {}; the paravisor's HCL report is requested at VMPL 0",
                        s.report.vmpl
                    ),
                );
            }
            a
        }
        Hardware::Tdx(d) => crate::dcap::appraise::appraise(d, policy, None, allow_debug)?,
    })
}

/// The verifier's nonce against the quote's extraData (and the HCL user-data when the attester
/// put it there too), or a fresh report's user-data. Returns whether it is bound.
fn binding(v: &VerifiedAzure, nonce: Option<&Nonce>, failures: &mut Vec<Error>) -> Result<bool> {
    let ud = v.hcl.claims.user_data;
    let mut nonce_bound = false;
    if let Some(nonce) = nonce {
        let n = nonce.within(64)?;
        nonce_bound = Nonce::bind(failures, |failures| match v.freshness {
            Freshness::TpmQuote => {
                let x = v.quote.as_ref().map(|q| q.attest.extra_data.clone()).unwrap_or_default();
                if x != n {
                    fail(
                        failures,
                        Check::PolicyNonce,
                        format!(
                            "the vTPM quote's extraData {} is not the nonce {} ({} bytes vs {})",
                            hex::encode(&x),
                            hex::encode(n),
                            x.len(),
                            n.len()
                        ),
                    );
                }
                if v.user_data_carries_nonce
                    && !ud.is_some_and(|u| user_data_binds(&u, n, v.user_data_input.as_deref()))
                {
                    fail(
                        failures,
                        Check::PolicyUserData,
                        format!(
                            "the user-data in the HCL runtime claims ({}) does not carry the nonce {}",
                            ud.map(hex::encode).unwrap_or_else(|| "absent".into()),
                            hex::encode(n)
                        ),
                    );
                }
            }
            Freshness::HclUserData => {
                if !ud.is_some_and(|u| user_data_binds(&u, n, v.user_data_input.as_deref())) {
                    fail(
                        failures,
                        Check::PolicyNonce,
                        format!(
                            "the HCL user-data {} is neither the nonce {} zero-padded nor SHA-512(nonce ‖ user-data input)",
                            ud.map(hex::encode).unwrap_or_default(),
                            hex::encode(n)
                        ),
                    );
                }
            }
            Freshness::None => fail(
                failures,
                Check::PolicyFreshness,
                "a nonce was given but the evidence is a boot-time HCL report without a vTPM quote: nothing binds the nonce (replayable)",
            ),
        });
    }
    Ok(nonce_bound)
}

/// Boot-time evidence without a quote is replayable: refused when the policy requires freshness,
/// else a warning (unless a nonce was given: `binding` failed it already).
fn freshness(
    v: &VerifiedAzure,
    p: &AzurePolicy,
    nonce_given: bool,
    failures: &mut Vec<Error>,
    warnings: &mut Vec<Error>,
) {
    if v.freshness == Freshness::None {
        if p.require_freshness == Some(true) {
            fail(
                failures,
                Check::PolicyFreshness,
                "the policy requires freshness; a boot-time HCL report without a vTPM quote is replayable",
            );
        } else if !nonce_given {
            warnings.push(Error::appraisal(
                Check::AzureFreshness,
                "boot-time HCL report without a vTPM quote: replayable (write 64 bytes to NV 0x01400002 for a fresh report, or add a quote)",
            ));
        }
    }
}

/// The policy's `user_data` against the HCL user-data.
fn user_data(v: &VerifiedAzure, p: &AzurePolicy, failures: &mut Vec<Error>) -> Result<()> {
    let ud = v.hcl.claims.user_data;
    if let Some(h) = &p.user_data {
        let want = pad64(&parse_hex("azure.user_data", h, 64)?);
        if ud != Some(want) {
            fail(
                failures,
                Check::PolicyUserData,
                format!(
                    "HCL user-data {} is not {}",
                    ud.map(hex::encode).unwrap_or_else(|| "absent".into()),
                    hex::encode(want)
                ),
            );
        }
    }

    Ok(())
}

/// The quoted PCRs: the required set, then the reference values, in the policy's bank.
fn pcrs(v: &VerifiedAzure, policy: &Policy, failures: &mut Vec<Error>, warnings: &mut Vec<Error>) -> Result<()> {
    let p = &policy.azure;
    let bank = policy_bank(policy)?;
    let mut refs: Vec<(u32, Vec<Vec<u8>>)> = Vec::new();
    for (k, vals) in &p.pcrs {
        let i: u32 = k
            .parse()
            .ok()
            .filter(|i| *i < 24)
            .ok_or_else(|| Error::usage(Check::Policy, format!("azure.pcrs: '{k}' is not a PCR index 0..23")))?;
        let mut vs = Vec::new();
        for s in vals.values() {
            vs.push(parse_hex("azure.pcrs", s, 64)?);
        }
        refs.push((i, vs));
    }
    match &v.quote {
        Some(q) => {
            let required: Vec<u32> = p.required_pcrs.clone().unwrap_or_else(|| (0..24).collect());
            let have = q.pcrs.get(&bank);
            let missing: Vec<u32> =
                required.iter().copied().filter(|i| !have.is_some_and(|m| m.contains_key(i))).collect();
            if !missing.is_empty() {
                fail(
                    failures,
                    Check::PolicyPcrs,
                    format!(
                        "the vTPM quote does not cover {} PCRs {missing:?} (it covers {:?}); required: {required:?}",
                        bank.name(),
                        have.map(|m| m.keys().copied().collect::<Vec<_>>()).unwrap_or_default()
                    ),
                );
            }
            for (i, vals) in &refs {
                match have.and_then(|m| m.get(i)) {
                    Some(val) if vals.iter().any(|r| r == val) => {}
                    Some(val) => fail(
                        failures,
                        Check::PolicyPcrs,
                        format!("{} PCR{i} {} is not an accepted value", bank.name(), hex::encode(val)),
                    ),
                    None => fail(failures, Check::PolicyPcrs, format!("{} PCR{i} is not quoted", bank.name())),
                }
            }
        }
        None => {
            if p.required_pcrs.as_ref().is_some_and(|r| !r.is_empty()) || !refs.is_empty() {
                fail(failures, Check::PolicyPcrs, "the policy requires PCRs but the evidence has no vTPM quote");
            } else {
                warnings.push(Error::appraisal(Check::AzureTpmQuote, "no vTPM quote: no PCR is attested"));
            }
        }
    }

    Ok(())
}

/// The members of the runtime claims' `vm-configuration` the policy names.
fn vm_configuration(v: &VerifiedAzure, p: &AzurePolicy, failures: &mut Vec<Error>) {
    let cfg = v.hcl.claims.vm_configuration.as_ref();
    for (k, want) in &p.vm_configuration {
        match cfg.and_then(|c| c.get(k)) {
            Some(have) if config_matches(have, want) => {}
            Some(have) => fail(
                failures,
                Check::PolicyVmConfiguration,
                format!("vm-configuration \"{k}\" is {have}, the policy requires {want:?}"),
            ),
            None => fail(
                failures,
                Check::PolicyVmConfiguration,
                format!("vm-configuration has no \"{k}\"; the policy requires {want:?}"),
            ),
        }
    }
}
