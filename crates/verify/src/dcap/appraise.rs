//! Appraisal of a verified DCAP quote against policy: failures, warnings and whether the nonce is bound.
//!
//! TCB status: accepted statuses are explicit policy. Default: UpToDate affirms;
//! SWHardeningNeeded, ConfigurationNeeded and ConfigurationAndSWHardeningNeeded are accepted with a
//! warning; anything else is contraindicated. Revoked is never accepted.

use super::claims::is_debug;
use super::format::{Body, td_attr};
use super::verify::{TcbStatus, VerifiedDcap};
use crate::Check;
use crate::error::{Error, Result};
use crate::policy::{OneOrMany, Policy, pad64, parse_hex};
use crate::tee::{Appraisal, Nonce};
use crate::time::Timestamp;

const DEFAULT_WARN: &[TcbStatus] =
    &[TcbStatus::SWHardeningNeeded, TcbStatus::ConfigurationNeeded, TcbStatus::ConfigurationAndSWHardeningNeeded];

fn reference(fail: &mut Vec<Error>, field: &'static str, actual: &[u8], accepted: &Option<OneOrMany>) -> Result<()> {
    let Some(acc) = accepted else { return Ok(()) };
    let values = acc.values();
    for a in &values {
        if parse_hex(field, a, actual.len())?.as_slice() == actual {
            return Ok(());
        }
    }
    fail.push(Error::appraisal(
        Check::PolicyReferenceValue,
        format!(
            "{} {} is not among the accepted values ({})",
            field.to_uppercase(),
            hex::encode(actual),
            values.join(", ")
        ),
    ));
    Ok(())
}

/// Appraises. Errors in the policy itself (bad hex, unknown status name) are usage errors. The
/// steps: [`tcb`] (the TCB status against the accepted statuses, the minimum tcbDate), [`debug`],
/// [`binding`] (the nonce and `report_data` against REPORTDATA) and [`reference_values`].
pub(crate) fn appraise(
    v: &VerifiedDcap,
    policy: &Policy,
    nonce: Option<&Nonce>,
    allow_debug: bool,
) -> Result<Appraisal> {
    let mut fail = Vec::new();
    let mut warn: Vec<Error> = v.warnings.clone();
    let tdx = v.quote.body.td().is_some();
    let (accepted, min_date, report_data) = if tdx {
        (&policy.tdx.accepted_tcb_statuses, &policy.tdx.minimum_tcb_date, &policy.tdx.report_data)
    } else {
        (&policy.sgx.accepted_tcb_statuses, &policy.sgx.minimum_tcb_date, &policy.sgx.report_data)
    };
    tcb(v, accepted, min_date, &mut fail, &mut warn)?;
    debug(v, policy, allow_debug, &mut fail);
    let nonce_bound = binding(v, nonce, report_data, &mut fail)?;
    reference_values(v, policy, &mut fail)?;
    Ok(Appraisal { failures: fail, warnings: warn, nonce_bound })
}

/// The TCB status (Revoked never; by default UpToDate, and with a warning the statuses of
/// `DEFAULT_WARN`; else the policy's list), then the policy's minimum tcbDate.
fn tcb(
    v: &VerifiedDcap,
    accepted: &Option<Vec<String>>,
    min_date: &Option<String>,
    fail: &mut Vec<Error>,
    warn: &mut Vec<Error>,
) -> Result<()> {
    let status = v.tcb.status;
    let accepted: Option<Vec<TcbStatus>> = match accepted {
        None => None,
        Some(list) => Some(
            list.iter()
                .map(|s| {
                    TcbStatus::parse(s).ok_or_else(|| {
                        Error::usage(Check::Policy, format!("accepted_tcb_statuses: '{s}' is not an Intel TCB status"))
                    })
                })
                .collect::<Result<_>>()?,
        ),
    };
    let detail = || {
        let ids = if v.advisory_ids.is_empty() {
            String::new()
        } else {
            format!(", advisories {}", v.advisory_ids.join(", "))
        };
        format!(
            "TCB status {} (platform level tcbDate {}{ids}; QE {})",
            status.name(),
            v.tcb_date.as_deref().unwrap_or("none"),
            v.qe_status.name()
        )
    };
    let ok = match &accepted {
        _ if status == TcbStatus::Revoked => false,
        None => status == TcbStatus::UpToDate || DEFAULT_WARN.contains(&status),
        Some(list) => list.contains(&status),
    };
    if !ok {
        fail.push(Error::appraisal(
            Check::PolicyTcbStatus,
            format!(
                "{} is not accepted (accepted: {})",
                detail(),
                match &accepted {
                    None => "UpToDate; with a warning SWHardeningNeeded, ConfigurationNeeded, ConfigurationAndSWHardeningNeeded".to_string(),
                    Some(l) => l.iter().map(|s| s.name()).collect::<Vec<_>>().join(", "),
                }
            ),
        ));
    } else if status != TcbStatus::UpToDate {
        warn.push(Error::appraisal(Check::PolicyTcbStatus, format!("{} is accepted by policy", detail())));
    }
    if let Some(min) = min_date {
        let want = Timestamp::parse_rfc3339(min)
            .map_err(|_| Error::usage(Check::Policy, format!("minimum_tcb_date '{min}' is not an RFC 3339 time")))?;
        let have = v.tcb_date.as_deref().and_then(|d| Timestamp::parse_rfc3339(d).ok());
        match have {
            Some(h) if h >= want => {}
            _ => fail.push(Error::appraisal(
                Check::PolicyTcbDate,
                format!("tcbDate {} is older than the minimum {min}", v.tcb_date.as_deref().unwrap_or("(no level)")),
            )),
        }
    }

    Ok(())
}

/// A debug TD or enclave is refused unless allowed (`--allow-debug`, `allow_debug`).
fn debug(v: &VerifiedDcap, policy: &Policy, allow_debug: bool, fail: &mut Vec<Error>) {
    let (q, tdx) = (&v.quote, v.quote.body.td().is_some());
    let debug_ok = allow_debug || policy.allow_debug.unwrap_or(false);
    if is_debug(q) && !debug_ok {
        fail.push(Error::appraisal(
            Check::PolicyDebug,
            if tdx {
                "TDATTRIBUTES.DEBUG is set: the host VMM can read and change the TD (use --allow-debug to accept)"
            } else {
                "ATTRIBUTES.DEBUG is set: the enclave is a debug enclave (use --allow-debug to accept)"
            },
        ));
    }
}

/// The nonce (zero-padded to 64 bytes) and the policy's `report_data` against REPORTDATA.
/// Returns whether the nonce is bound.
fn binding(
    v: &VerifiedDcap,
    nonce: Option<&Nonce>,
    report_data: &Option<String>,
    fail: &mut Vec<Error>,
) -> Result<bool> {
    let q = &v.quote;
    let rd = q.body.report_data();
    let mut nonce_bound = false;
    if let Some(n) = nonce {
        let bytes = n.within(64)?;
        nonce_bound = Nonce::bind(fail, |fail| {
            if &pad64(bytes) != rd {
                fail.push(Error::appraisal(
                    Check::PolicyNonce,
                    format!(
                        "REPORTDATA {} does not carry the nonce {} (zero-padded to 64 bytes)",
                        hex::encode(rd),
                        hex::encode(bytes)
                    ),
                ));
            }
        });
    }
    if let Some(h) = report_data {
        let want = pad64(&parse_hex("report_data", h, 64)?);
        if &want != rd {
            fail.push(Error::appraisal(
                Check::PolicyReportData,
                format!("REPORTDATA {} is not {}", hex::encode(rd), hex::encode(want)),
            ));
        }
    }

    Ok(nonce_bound)
}

/// The policy's reference values: `[tdx]` MRTD, RTMRs, MRCONFIGID, MROWNER, MROWNERCONFIG,
/// MRSEAM and SEPT_VE_DISABLE; `[sgx]` MRENCLAVE, MRSIGNER, ISVPRODID and the minimum ISVSVN.
fn reference_values(v: &VerifiedDcap, policy: &Policy, fail: &mut Vec<Error>) -> Result<()> {
    let q = &v.quote;
    match &q.body {
        Body::Td10(t) | Body::Td15(t) => {
            let p = &policy.tdx;
            reference(fail, "mrtd", &t.mr_td, &p.mrtd)?;
            reference(fail, "rtmr0", &t.rt_mr[0], &p.rtmr0)?;
            reference(fail, "rtmr1", &t.rt_mr[1], &p.rtmr1)?;
            reference(fail, "rtmr2", &t.rt_mr[2], &p.rtmr2)?;
            reference(fail, "rtmr3", &t.rt_mr[3], &p.rtmr3)?;
            reference(fail, "mrconfigid", &t.mr_config_id, &p.mrconfigid)?;
            reference(fail, "mrowner", &t.mr_owner, &p.mrowner)?;
            reference(fail, "mrownerconfig", &t.mr_owner_config, &p.mrownerconfig)?;
            reference(fail, "mrseam", &t.mr_seam, &p.mrseam)?;
            if p.require_sept_ve_disable == Some(true) && t.td_attributes_u64() & td_attr::SEPT_VE_DISABLE == 0 {
                fail.push(Error::appraisal(Check::PolicyTdAttributes, "TDATTRIBUTES.SEPT_VE_DISABLE is not set"));
            }
        }
        Body::Sgx(e) => {
            let p = &policy.sgx;
            reference(fail, "mrenclave", &e.mr_enclave, &p.mrenclave)?;
            reference(fail, "mrsigner", &e.mr_signer, &p.mrsigner)?;
            if let Some(id) = p.isv_prod_id
                && id != e.isv_prod_id
            {
                fail.push(Error::appraisal(
                    Check::PolicyReferenceValue,
                    format!("ISVPRODID {} is not {id}", e.isv_prod_id),
                ));
            }
            if let Some(min) = p.minimum_isv_svn
                && e.isv_svn < min
            {
                fail.push(Error::appraisal(
                    Check::PolicyIsvSvn,
                    format!("ISVSVN {} is below the minimum {min}", e.isv_svn),
                ));
            }
        }
    }
    Ok(())
}
