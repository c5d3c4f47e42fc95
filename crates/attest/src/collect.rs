//! Evidence collection: device in, bundle out. Knows nothing of crypto policy.

use crate::sev_guest::{ReportReq, SevGuest, SevGuestError, report_from_resp};
use cloud_ra_verify::bundle::Bundle;
use cloud_ra_verify::{Platform, Timestamp};
use serde_json::json;

/// Options of one SNP collection.
#[derive(Debug, Clone)]
pub struct SnpCollectOptions {
    /// REPORT_DATA: the verifier's nonce, zero-padded to 64 bytes.
    pub report_data: [u8; 64],
    /// Requested VMPL. The kernel ioctl default is 0; snpguest's default is 1; Sakura's guests run
    /// at 2 and must ask for 2 or higher. cloud-ra always asks explicitly and records it.
    pub vmpl: u32,
    /// Use SNP_GET_EXT_REPORT and keep the host's certificate table.
    pub extended: bool,
    /// Guest message version (1 on every kernel so far).
    pub msg_version: u8,
}

/// At most this many retries of SNP_GET_EXT_REPORT with the size the firmware asks for.
const EXT_RETRIES: usize = 3;
/// Upper bound on a certificate table (the kernel caps it at a few pages too).
const MAX_CERTS_LEN: usize = 1 << 20;

pub fn collect_snp(dev: &dyn SevGuest, o: &SnpCollectOptions) -> Result<(Vec<u8>, Option<Vec<u8>>), SevGuestError> {
    if o.vmpl > 3 {
        return Err(SevGuestError::Io(format!("VMPL {} does not exist (0..=3)", o.vmpl)));
    }
    let req = ReportReq { user_data: o.report_data, vmpl: o.vmpl };
    if !o.extended {
        let resp = dev.get_report(o.msg_version, &req)?;
        return Ok((report_from_resp(&resp)?, None));
    }
    // One page first, as the kernel's own default; the firmware says if it needs more.
    let mut len = 4096;
    for _ in 0..EXT_RETRIES {
        let mut certs = vec![0u8; len];
        match dev.get_ext_report(o.msg_version, &req, &mut certs) {
            Ok(resp) => {
                let report = report_from_resp(&resp)?;
                // An empty table (the host caches no certificates) is all zeros.
                let table = if certs.iter().all(|&b| b == 0) { None } else { Some(trim_table(certs)) };
                return Ok((report, table));
            }
            Err(SevGuestError::CertsTooSmall { needed }) if needed > len && needed <= MAX_CERTS_LEN => {
                len = needed.div_ceil(4096) * 4096;
            }
            Err(e) => return Err(e),
        }
    }
    Err(SevGuestError::BadResponse(format!(
        "the firmware kept asking for a larger certificate buffer (last {len} bytes)"
    )))
}

/// Drops the zero padding after the last certificate of a GUID table.
fn trim_table(mut certs: Vec<u8>) -> Vec<u8> {
    match cloud_ra_verify::snp::format::parse_cert_table(&certs) {
        Ok(entries) => cloud_ra_verify::snp::format::write_cert_table(&entries),
        Err(_) => {
            while certs.last() == Some(&0) && certs.len() > 24 {
                certs.pop();
            }
            certs
        }
    }
}

/// Collects a report (and certificates) into a bundle.
pub fn collect_snp_bundle(
    dev: &dyn SevGuest,
    o: &SnpCollectOptions,
    nonce: &[u8],
    now: Timestamp,
) -> Result<Bundle, SevGuestError> {
    let (report, table) = collect_snp(dev, o)?;
    let mut b = Bundle::new_snp(&report, table.as_deref());
    b.nonce = Some(hex::encode(nonce));
    b.collected_at = Some(now.to_rfc3339());
    b.platform_info = json!({
        "interface": dev.describe(),
        "simulated": dev.simulated(),
        "requested_vmpl": o.vmpl,
        "extended": o.extended,
        "msg_version": o.msg_version,
    });
    Ok(b)
}

/// 64 fresh random bytes from the OS.
pub fn fresh_nonce() -> Result<[u8; 64], String> {
    let mut n = [0u8; 64];
    getrandom::fill(&mut n).map_err(|e| format!("no randomness available: {e}"))?;
    Ok(n)
}

/// A quote from the SIMULATED Intel quoting enclave (crate `cloud-ra-sim`, published seed): TDX
/// v4 (`tdx`) or SGX v3, REPORTDATA = `report_data`, with the simulated platform's collateral
/// valid at `now` (TCB info, QE identity, TCB Signing chain, Root CA and PCK CRLs) in `certs`.
/// Verifies only with `--trust-simulated`.
pub fn collect_sim_dcap_bundle(tdx: bool, report_data: [u8; 64], nonce: &[u8], now: Timestamp) -> Bundle {
    use cloud_ra_sim::intel::{QuoteKind, QuoteSpec, SimIntel};
    use cloud_ra_verify::bundle::{B64, BundleCert};
    let sim = SimIntel::get();
    let spec = QuoteSpec { report_data, ..QuoteSpec::new(if tdx { QuoteKind::TdxV4 } else { QuoteKind::SgxV3 }) };
    let mut b = Bundle::new_dcap(if tdx { Platform::Tdx } else { Platform::Sgx }, &sim.quote(&spec));
    b.certs = sim
        .collateral(tdx, now.0)
        .into_iter()
        .map(|(name, bytes)| BundleCert {
            kind: name.split('.').next().unwrap_or("collateral").into(),
            der: B64(bytes),
        })
        .collect();
    b.nonce = Some(hex::encode(nonce));
    b.collected_at = Some(now.to_rfc3339());
    b.platform_info = json!({
        "interface": if tdx { "simulated TDX quoting enclave (cloud-ra-sim)" } else { "simulated SGX quoting enclave (cloud-ra-sim)" },
        "simulated": true,
    });
    b
}

/// Why a configfs-tsm collection failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CollectError {
    #[error(transparent)]
    Tsm(#[from] crate::configfs_tsm::TsmError),
    /// The provider answered, but not with evidence of the kind it claims.
    #[error("configfs-tsm provider '{provider}': {detail}")]
    Garbage { provider: String, detail: String },
}

/// Collects through configfs-tsm: `sev_guest` gives an SNP report (+ certificate table in
/// `auxblob`), `tdx_guest` a TDX quote. The outblob is parsed before it is bundled, so a provider
/// answering garbage is refused here, naming the field. With `simulated_collateral`, the simulated
/// Intel collateral valid at `now` rides along (as `collect_sim_dcap_bundle` does).
pub fn collect_tsm_bundle(
    tsm: &crate::configfs_tsm::ConfigfsTsm,
    nonce: &[u8],
    vmpl: Option<u32>,
    expect_provider: Option<&str>,
    now: Timestamp,
) -> Result<Bundle, CollectError> {
    use crate::configfs_tsm::TsmRequest;
    let req =
        TsmRequest { inblob: nonce.to_vec(), privlevel: vmpl, expect_provider: expect_provider.map(str::to_string) };
    let resp = tsm.get(&req)?;
    let garbage = |detail: String| CollectError::Garbage { provider: resp.provider.clone(), detail };
    let mut b = match resp.provider.as_str() {
        "sev_guest" => {
            let report = cloud_ra_verify::snp::Report::parse(&resp.outblob)
                .map_err(|e| garbage(format!("outblob is not an SNP report: {e}")))?;
            let table = match &resp.auxblob {
                Some(a) if a.iter().any(|&x| x != 0) => {
                    let entries = cloud_ra_verify::snp::format::parse_cert_table(a)
                        .map_err(|e| garbage(format!("auxblob is not a certificate table: {e}")))?;
                    Some(cloud_ra_verify::snp::format::write_cert_table(&entries))
                }
                _ => None,
            };
            Bundle::new_snp(&report.raw[..], table.as_deref())
        }
        "tdx_guest" => {
            let q = cloud_ra_verify::dcap::Quote::parse(&resp.outblob)
                .map_err(|e| garbage(format!("outblob is not a TDX quote: {e}")))?;
            let mut b = Bundle::new_dcap(Platform::Tdx, &q.raw);
            if tsm.fs.simulated() {
                use cloud_ra_verify::bundle::{B64, BundleCert};
                b.certs = cloud_ra_sim::intel::SimIntel::get()
                    .collateral(true, now.0)
                    .into_iter()
                    .map(|(name, bytes)| BundleCert {
                        kind: name.split('.').next().unwrap_or("collateral").into(),
                        der: B64(bytes),
                    })
                    .collect();
            }
            b
        }
        other => {
            return Err(garbage(format!(
                "cloud-ra collects sev_guest and tdx_guest reports; this provider ('{other}') is not supported"
            )));
        }
    };
    b.nonce = Some(hex::encode(nonce));
    b.collected_at = Some(now.to_rfc3339());
    b.platform_info = json!({
        "interface": tsm.describe(),
        "simulated": tsm.fs.simulated(),
        "provider": resp.provider,
        "requested_vmpl": vmpl,
        "privlevel_floor": resp.privlevel_floor,
        "generation": resp.generation,
        "extended": resp.auxblob.is_some(),
    });
    Ok(b)
}

/// The TPM event log the kernel exposes (securityfs).
pub const TPM_EVENTLOG: &str = "/sys/kernel/security/tpm0/binary_bios_measurements";
/// The TDX CC event log (the log area the ACPI CCEL table points to).
pub const CCEL_DATA: &str = "/sys/firmware/acpi/tables/data/CCEL";
/// The ACPI CCEL table itself (its log-area length lets the verifier check the log).
pub const CCEL_TABLE: &str = "/sys/firmware/acpi/tables/CCEL";
const MAX_EVENTLOG: u64 = 16 << 20;

/// Adds the event logs present under `root` to the bundle (`evidence.eventlog_tpm`,
/// `evidence.eventlog_ccel` and `evidence.eventlog_ccel_table`, as the shared bundle contract
/// names them; `verify` replays them). Returns a note for each
/// log that exists but could not be read (e.g. securityfs needs root); absent logs are skipped.
pub fn add_eventlogs(b: &mut Bundle, root: &std::path::Path) -> Vec<String> {
    use std::io::Read;
    let mut notes = Vec::new();
    for (key, abs) in
        [("eventlog_tpm", TPM_EVENTLOG), ("eventlog_ccel", CCEL_DATA), ("eventlog_ccel_table", CCEL_TABLE)]
    {
        let p = root.join(abs.trim_start_matches('/'));
        if std::fs::symlink_metadata(&p).is_err() {
            continue;
        }
        let mut buf = Vec::new();
        match std::fs::File::open(&p).and_then(|f| f.take(MAX_EVENTLOG + 1).read_to_end(&mut buf)) {
            Ok(_) if buf.len() as u64 > MAX_EVENTLOG => {
                notes.push(format!("{}: larger than {MAX_EVENTLOG} bytes, not included", p.display()))
            }
            Ok(_) if buf.is_empty() => notes.push(format!("{}: empty, not included", p.display())),
            Ok(_) => {
                b.evidence.insert(key.into(), cloud_ra_verify::bundle::B64(buf));
            }
            Err(e) => notes.push(format!("{}: {e}, not included", p.display())),
        }
    }
    notes
}
