//! Appraisal of a verified SNP report against policy: failures, warnings and whether the nonce is bound.

use super::format::{GuestPolicy, Product, Report, Tcb, policy_bits};
use super::verify::VerifiedSnp;
use crate::Check;
use crate::error::{Error, Result};
use crate::policy::{Policy, SnpPolicy, TcbMin, pad64, parse_hex};
use crate::tee::{Appraisal, Nonce};

fn tcb_from_min(m: &TcbMin, product: Product) -> Tcb {
    Tcb {
        fmc: if product.turin_layout() { Some(m.fmc.unwrap_or(0)) } else { None },
        bootloader: m.bootloader.unwrap_or(0),
        tee: m.tee.unwrap_or(0),
        snp: m.snp.unwrap_or(0),
        microcode: m.microcode.unwrap_or(0),
    }
}

fn hex_in(field: &'static str, actual: &[u8], accepted: &[&str], max: usize) -> Result<Option<Error>> {
    let mut values = Vec::new();
    for a in accepted {
        values.push(parse_hex(field, a, max)?);
    }
    if values.iter().any(|v| v.as_slice() == actual) {
        Ok(None)
    } else {
        Ok(Some(Error::appraisal(
            Check::PolicyReferenceValue,
            format!(
                "{} {} is not among the accepted values ({})",
                field.to_uppercase(),
                hex::encode(actual),
                accepted.join(", ")
            ),
        )))
    }
}

/// Appraises. Errors in the policy itself (bad hex, ...) are usage errors. The steps:
/// [`binding`] (nonce, `report_data`), [`reference_values`] (measurement, host data, key
/// digests, VMPL, guest SVN, signing key), [`guest_policy`] (debug, then the most permissive
/// acceptable policy), [`tcb`] (minimum reported and launch TCB, reported ≤ current) and
/// [`firmware`] (committed ≤ current, provisional firmware, minimum version and build).
pub(crate) fn appraise(
    v: &VerifiedSnp,
    policy: &Policy,
    nonce: Option<&Nonce>,
    allow_debug: bool,
) -> Result<Appraisal> {
    let p = &policy.snp;
    let mut fail = Vec::new();
    let nonce_bound = binding(&v.report, p, nonce, &mut fail)?;
    reference_values(&v.report, p, &mut fail)?;
    guest_policy(&v.report, policy, allow_debug, &mut fail);
    tcb(v, p, &mut fail);
    firmware(&v.report, p, &mut fail)?;
    Ok(Appraisal { failures: fail, warnings: v.warnings.clone(), nonce_bound })
}

/// The nonce (zero-padded to 64 bytes) and the policy's `report_data` against REPORT_DATA.
/// Returns whether the nonce is bound.
fn binding(r: &Report, p: &SnpPolicy, nonce: Option<&Nonce>, fail: &mut Vec<Error>) -> Result<bool> {
    // Freshness / binding.
    let mut nonce_bound = false;
    if let Some(n) = nonce {
        let bytes = n.within(64)?;
        nonce_bound = Nonce::bind(fail, |fail| {
            if pad64(bytes) != r.report_data {
                fail.push(Error::appraisal(
                    Check::PolicyNonce,
                    format!(
                        "REPORT_DATA {} does not carry the nonce {} (zero-padded to 64 bytes)",
                        hex::encode(r.report_data),
                        hex::encode(bytes)
                    ),
                ));
            }
        });
    }
    if let Some(rd) = &p.report_data {
        let want = pad64(&parse_hex("report_data", rd, 64)?);
        if want != r.report_data {
            fail.push(Error::appraisal(
                Check::PolicyReportData,
                format!("REPORT_DATA {} is not {}", hex::encode(r.report_data), hex::encode(want)),
            ));
        }
    }
    Ok(nonce_bound)
}

/// Reference values: measurement, host data, ID and author key digests, VMPL, guest SVN and the
/// signing key.
fn reference_values(r: &Report, p: &SnpPolicy, fail: &mut Vec<Error>) -> Result<()> {
    // Reference values.
    if let Some(m) = &p.measurement
        && let Some(e) = hex_in("measurement", &r.measurement, &m.values(), 48)?
    {
        fail.push(e);
    }
    if let Some(h) = &p.host_data
        && let Some(e) = hex_in("host_data", &r.host_data, &[h.as_str()], 32)?
    {
        fail.push(e);
    }
    if let Some(m) = &p.id_key_digest
        && let Some(e) = hex_in("id_key_digest", &r.id_key_digest, &m.values(), 48)?
    {
        fail.push(e);
    }
    if let Some(m) = &p.author_key_digest
        && let Some(e) = hex_in("author_key_digest", &r.author_key_digest, &m.values(), 48)?
    {
        fail.push(e);
    }
    if let Some(vmpl) = p.vmpl
        && r.vmpl != vmpl
    {
        fail.push(Error::appraisal(Check::PolicyVmpl, format!("VMPL is {} but the policy requires {vmpl}", r.vmpl)));
    }
    if let Some(min) = p.minimum_guest_svn
        && r.guest_svn < min
    {
        fail.push(Error::appraisal(Check::PolicyGuestSvn, format!("GUEST_SVN {} is below {min}", r.guest_svn)));
    }
    if let Some(k) = &p.signing_key {
        let want = k.to_ascii_lowercase();
        if want != "vcek" && want != "vlek" {
            return Err(Error::usage(Check::Policy, format!("signing_key '{k}' is neither vcek nor vlek")));
        }
        if r.signing_key.name() != want {
            fail.push(Error::appraisal(
                Check::PolicySigningKey,
                format!(
                    "the report is signed by a {} but the policy requires a {}",
                    r.signing_key.name().to_uppercase(),
                    want.to_uppercase()
                ),
            ));
        }
    }

    Ok(())
}

/// The guest policy: debug first (refused by default), then the most permissive acceptable
/// policy (`guest_policy`).
fn guest_policy(r: &Report, policy: &Policy, allow_debug: bool, fail: &mut Vec<Error>) {
    let p = &policy.snp;
    let gp = &r.policy;
    let allowed = p.guest_policy.map(|n| GuestPolicy::decode(n.get()));
    let debug_ok = allow_debug || policy.allow_debug.unwrap_or(false) || allowed.is_some_and(|a| a.debug);
    if gp.debug && !debug_ok {
        fail.push(Error::appraisal(
            Check::PolicyDebug,
            "POLICY.DEBUG is set: the hypervisor can read and change guest memory (use --allow-debug to accept)",
        ));
    }
    if let Some(a) = allowed {
        if (gp.abi_major, gp.abi_minor) < (a.abi_major, a.abi_minor) {
            fail.push(Error::appraisal(
                Check::PolicyGuestPolicy,
                format!(
                    "POLICY ABI {}.{} is below the required {}.{}",
                    gp.abi_major, gp.abi_minor, a.abi_major, a.abi_minor
                ),
            ));
        }
        let permissive =
            [("MIGRATE_MA", policy_bits::MIGRATE_MA), ("SMT", policy_bits::SMT), ("CXL_ALLOW", policy_bits::CXL_ALLOW)];
        for (name, bit) in permissive {
            if gp.raw & bit != 0 && a.raw & bit == 0 {
                fail.push(Error::appraisal(
                    Check::PolicyGuestPolicy,
                    format!("POLICY.{name} is allowed by the guest but not by the policy"),
                ));
            }
        }
        let restrictive = [
            ("SINGLE_SOCKET", policy_bits::SINGLE_SOCKET),
            ("MEM_AES_256_XTS", policy_bits::MEM_AES_256_XTS),
            ("RAPL_DIS", policy_bits::RAPL_DIS),
            ("CIPHERTEXT_HIDING", policy_bits::CIPHERTEXT_HIDING),
            ("PAGE_SWAP_DISABLE", policy_bits::PAGE_SWAP_DISABLE),
        ];
        for (name, bit) in restrictive {
            if a.raw & bit != 0 && gp.raw & bit == 0 {
                fail.push(Error::appraisal(
                    Check::PolicyGuestPolicy,
                    format!("POLICY.{name} is required by the policy but not set by the guest"),
                ));
            }
        }
    }
}

/// TCB: the reported and launch TCBs against the policy's minimums; the reported TCB is not above
/// the current one.
fn tcb(v: &VerifiedSnp, p: &SnpPolicy, fail: &mut Vec<Error>) {
    let r = &v.report;
    let product = v.product;
    if let Some(m) = &p.minimum_tcb
        && let Some((c, have, want)) = v.reported_tcb.first_below(&tcb_from_min(m, product))
    {
        fail.push(Error::appraisal(
            Check::PolicyMinimumTcb,
            format!("REPORTED_TCB.{c} is {have}, below the minimum {want}"),
        ));
    }
    if let Some(m) = &p.minimum_launch_tcb
        && let Some((c, have, want)) = Tcb::decode(r.launch_tcb, product).first_below(&tcb_from_min(m, product))
    {
        fail.push(Error::appraisal(
            Check::PolicyMinimumLaunchTcb,
            format!("LAUNCH_TCB.{c} is {have}, below the minimum {want}"),
        ));
    }
    let current = Tcb::decode(r.current_tcb, product);
    if let Some((c, have, want)) = current.first_below(&v.reported_tcb) {
        fail.push(Error::appraisal(
            Check::PolicyTcb,
            format!(
                "REPORTED_TCB.{c} {want} is above CURRENT_TCB.{c} {have}: the platform claims a TCB it does not run"
            ),
        ));
    }
}

/// Firmware: committed not newer than current, provisional firmware, minimum version and build.
fn firmware(r: &Report, p: &SnpPolicy, fail: &mut Vec<Error>) -> Result<()> {
    let cur = (r.current_major, r.current_minor, r.current_build);
    let com = (r.committed_major, r.committed_minor, r.committed_build);
    if com > cur {
        fail.push(Error::appraisal(
            Check::PolicyFirmware,
            format!(
                "COMMITTED firmware {}.{}.{} is newer than CURRENT {}.{}.{}",
                com.0, com.1, com.2, cur.0, cur.1, cur.2
            ),
        ));
    } else if (com < cur || r.committed_tcb != r.current_tcb) && p.allow_provisional_firmware == Some(false) {
        fail.push(Error::appraisal(
            Check::PolicyFirmware,
            format!(
                "provisional firmware not allowed: CURRENT {}.{}.{} / TCB {:#x} vs COMMITTED {}.{}.{} / TCB {:#x}",
                cur.0, cur.1, cur.2, r.current_tcb, com.0, com.1, com.2, r.committed_tcb
            ),
        ));
    }
    if let Some(mv) = &p.minimum_version {
        let (maj, min) = mv
            .split_once('.')
            .and_then(|(a, b)| Some((a.trim().parse::<u8>().ok()?, b.trim().parse::<u8>().ok()?)))
            .ok_or_else(|| Error::usage(Check::Policy, format!("minimum_version '{mv}' is not MAJOR.MINOR")))?;
        if (r.current_major, r.current_minor) < (maj, min) {
            fail.push(Error::appraisal(
                Check::PolicyFirmware,
                format!("CURRENT firmware {}.{} is below the minimum {maj}.{min}", r.current_major, r.current_minor),
            ));
        }
    }
    if let Some(b) = p.minimum_build
        && r.current_build < b
    {
        fail.push(Error::appraisal(
            Check::PolicyFirmware,
            format!("CURRENT_BUILD {} is below the minimum {b}", r.current_build),
        ));
    }
    Ok(())
}
