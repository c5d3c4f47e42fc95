//! Appraisal of a verified Nitro document: PCRs (any subset), user data, public key, nonce,
//! debug mode, maximum age.

use super::verify::VerifiedNitro;
use crate::Check;
use crate::error::{Error, Result};
use crate::policy::{Policy, parse_hex};
use crate::tee::{Appraisal, Nonce};
use crate::time::Timestamp;

/// The longest nonce accepted for a Nitro document (the NSM API allows 512 bytes; this is the
/// looser bound cloud-ra has always applied).
const MAX_NONCE: usize = 1024;

use super::verify::MAX_SKEW_SECONDS;

pub(crate) fn appraise(
    v: &VerifiedNitro,
    policy: &Policy,
    nonce: Option<&Nonce>,
    allow_debug: bool,
    now: Timestamp,
) -> Result<Appraisal> {
    let d = &v.doc;
    let p = &policy.nitro;
    let mut fail = Vec::new();
    let warn: Vec<Error> = Vec::new();
    if d.debug_mode() && !(allow_debug || policy.allow_debug.unwrap_or(false)) {
        fail.push(Error::appraisal(
            Check::PolicyDebug,
            "PCR0, PCR1 and PCR2 are all zero: a debug-mode enclave (its memory is readable from the parent; use --allow-debug to accept)",
        ));
    }
    for (idx, want) in &p.pcrs {
        let i: u8 =
            idx.parse().ok().filter(|i| *i < 32).ok_or_else(|| {
                Error::usage(Check::Policy, format!("nitro.pcrs key '{idx}' is not a PCR index 0..=31"))
            })?;
        let want = parse_hex("nitro.pcrs", want, 64)?;
        match d.pcrs.get(&i) {
            None => fail
                .push(Error::appraisal(Check::PolicyPcrs, format!("PCR{i} is required but absent from the document"))),
            Some(have) if *have != want => fail.push(Error::appraisal(
                Check::PolicyPcrs,
                format!("PCR{i} is {} but the policy expects {}", hex::encode(have), hex::encode(&want)),
            )),
            _ => {}
        }
    }
    let exact =
        |check: Check, field: &'static str, have: &Option<Vec<u8>>, want: &str, fail: &mut Vec<Error>| -> Result<()> {
            let want = parse_hex(field, want, 1024)?;
            if have.as_deref() != Some(want.as_slice()) {
                fail.push(Error::appraisal(
                    check,
                    format!(
                        "{field} is {} but the policy expects {}",
                        have.as_ref().map(hex::encode).unwrap_or_else(|| "absent".into()),
                        hex::encode(&want)
                    ),
                ));
            }
            Ok(())
        };
    if let Some(u) = &p.user_data {
        exact(Check::PolicyUserData, "user_data", &d.user_data, u, &mut fail)?;
    }
    if let Some(k) = &p.public_key {
        exact(Check::PolicyPublicKey, "public_key", &d.public_key, k, &mut fail)?;
    }
    let mut nonce_bound = false;
    if let Some(n) = nonce {
        let bytes = n.within(MAX_NONCE)?;
        nonce_bound = Nonce::bind(&mut fail, |fail| {
            if d.nonce.as_deref() != Some(bytes) {
                fail.push(Error::appraisal(
                    Check::PolicyNonce,
                    format!(
                        "document nonce {} is not the verifier's nonce {}",
                        d.nonce.as_ref().map(hex::encode).unwrap_or_else(|| "(absent)".into()),
                        hex::encode(bytes)
                    ),
                ));
            }
        });
    }
    if let Some(max) = p.max_age {
        let doc_time = (d.timestamp / 1000) as i64;
        let age = now.0 - doc_time;
        if age > max as i64 {
            fail.push(Error::appraisal(
                Check::PolicyMaxAge,
                format!(
                    "the document was made at {} , {age} s before {now}; at most {max} s allowed",
                    Timestamp(doc_time)
                ),
            ));
        } else if age < -MAX_SKEW_SECONDS {
            fail.push(Error::appraisal(
                Check::PolicyMaxAge,
                format!("the document's timestamp {} is {} s after {now}", Timestamp(doc_time), -age),
            ));
        }
    }
    Ok(Appraisal { failures: fail, warnings: warn, nonce_bound })
}
