//! The machine's attestation platform and collection from it: which interface `auto` resolves
//! to under a root (the real `/` or a fixture tree), and one bundle collected from any
//! [`Source`], real or simulated, with the verifier's nonce.
//!
//! What a user should read along the way (the VMPL asked for, a fallback taken, an event log
//! left out) goes to the caller's `log`, one line each; the CLI writes them to stderr.

use crate::collect::{SnpCollectOptions, collect_snp_bundle, collect_tsm_bundle};
use crate::configfs_tsm::{ConfigfsTsm, DEFAULT_ROOT, SimProvider, SimTsm};
use crate::nsm::{DevNsm, Nsm, SimNsm};
use crate::sim_sev_guest::{HostCerts, SimSevGuest};
use crate::source::Source;
use crate::tpm::PcrSelection;
use crate::{DevSevGuest, SevGuest, TpmClient};
use cloud_ra_verify::bundle::Bundle;
use cloud_ra_verify::policy::pad64;
use cloud_ra_verify::{Check, Error, Timestamp};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

/// Where the lines for the user go.
pub type Log<'a> = &'a mut dyn FnMut(&str);

fn usage(detail: impl Into<String>) -> Error {
    Error::usage(Check::Attest, detail.into())
}

fn under(root: &Path, abs: &str) -> PathBuf {
    root.join(abs.trim_start_matches('/'))
}

/// The platform `auto` resolves to, from what exists under `root`; or why there is none.
pub fn detect_platform(root: &Path, log: Log) -> Result<Source, Error> {
    let exists = |p: &str| std::fs::symlink_metadata(under(root, p)).is_ok();
    if exists("/dev/nsm") {
        return Ok(Source::Nitro);
    }
    let tsm = ConfigfsTsm::real(under(root, DEFAULT_ROOT));
    let tsm_state = tsm.check();
    if tsm_state.is_ok() {
        return match tsm.provider() {
            Ok(p) if p == "tdx_guest" => Ok(Source::Tdx),
            Ok(p) if p == "sev_guest" => Ok(Source::Snp),
            Ok(p) => Err(usage(format!(
                "configfs-tsm provider '{p}' is not one cloud-ra collects from (sev_guest, tdx_guest)"
            ))),
            Err(e) if exists("/dev/sev-guest") => {
                log(&format!("note: configfs-tsm unusable ({e}); using /dev/sev-guest"));
                Ok(Source::Snp)
            }
            Err(e) => Err(usage(e.to_string())),
        };
    }
    if exists("/dev/sev-guest") {
        return Ok(Source::Snp);
    }
    if exists("/dev/tdx_guest") {
        return Err(usage(
            "only /dev/tdx_guest is present: it gives a TDREPORT (MAC'd, verifiable only on this machine); a TDX quote needs configfs-tsm (Linux ≥ 6.7: `mount -t configfs none /sys/kernel/config`)",
        ));
    }
    let vendor = std::fs::read_to_string(under(root, "/sys/class/dmi/id/sys_vendor")).unwrap_or_default();
    let azure = vendor.trim() == "Microsoft Corporation";
    if exists("/dev/sgx_enclave") {
        // An SGX machine (Azure DCsv2/DCsv3): the TEE is the enclave, not the VM; its vTPM
        // (Trusted launch) is not rooted in a CPU report, so the azure-* platforms do not apply.
        return Err(usage(format!(
            "an Intel SGX machine (/dev/sgx_enclave): the TEE is an enclave, and its DCAP quote comes from the enclave application (quoting enclave via AESM or the DCAP QPL); cloud-ra does not collect it: verify the quote the application writes with `cloud-ra verify QUOTE`{}",
            if azure {
                " (this VM's vTPM is outside the enclave: --platform azure-snp / azure-tdx are for confidential VMs)"
            } else {
                ""
            }
        )));
    }
    if (exists("/dev/tpmrm0") || exists("/dev/tpm0")) && azure {
        return Err(usage(
            "an Azure machine with a vTPM and no guest device: use --platform azure-snp or azure-tdx (the HCL report is in vTPM NV 0x01400001)",
        ));
    }
    let tsm_why = tsm_state.err().map(|e| e.to_string()).unwrap_or_default();
    Err(usage(format!(
        "no attestation interface under {}: {}; configfs-tsm: {tsm_why}; /dev/tdx_guest and /dev/nsm absent",
        root.display(),
        crate::SevGuestError::Absent
    )))
}

/// Options of the Azure vTPM collection (`azure-snp`, `azure-tdx`), as the user gives them.
#[derive(Debug, Clone)]
pub struct AzureRequest {
    /// The TPM (TCTI string); `None`: $TPM2TOOLS_TCTI, else $TCTI, else the device.
    pub tcti: Option<String>,
    /// PCRs to quote, tpm2-tools syntax (`sha256:15,16,22`).
    pub pcrs: String,
    /// Ask the paravisor for a fresh HCL report with these 64 bytes (hex) as user data, or
    /// `nonce`: the nonce, zero-padded.
    pub fresh_report: Option<String>,
    /// How long to wait for the fresh report (milliseconds).
    pub fresh_timeout_ms: u64,
    /// The AK's persistent handle.
    pub ak_handle: u32,
    /// Azure IMDS base URL (TD quotes on TDX; THIM).
    pub imds: String,
    /// SNP: include the VCEK chain from IMDS THIM.
    pub thim: bool,
}

/// One collection: where from and how.
#[derive(Debug, Clone)]
pub struct CollectRequest {
    /// The source; [`Source::Auto`] is detected under `root`.
    pub platform: Source,
    /// SNP interface: `auto` (configfs-tsm when present, else /dev/sev-guest), `sev-guest`,
    /// `configfs-tsm`.
    pub interface: String,
    /// SNP VMPL to request the report at (default 0, the ioctl's).
    pub vmpl: Option<u32>,
    /// SNP: SNP_GET_EXT_REPORT with the host's certificate table.
    pub extended: bool,
    /// SNP guest message version for the /dev/sev-guest ioctls.
    pub msg_version: u8,
    /// Device node for /dev/sev-guest (default `<root>/dev/sev-guest`).
    pub device: Option<String>,
    /// Root of the machine's file system (/dev, /sys).
    pub root: PathBuf,
    pub azure: AzureRequest,
}

/// A fresh nonce for `platform` (`auto` detected under `root`): 64 random bytes, or 32 for a
/// vTPM. A TPM quote's qualifying data is a TPM2B_DATA: at most the size of the largest digest
/// the TPM implements (48 bytes on a TPM without SHA-512). 32 fresh bytes fit every TPM; SNP/TDX
/// report data takes all 64.
pub fn fresh_nonce(platform: Source, root: &Path, log: Log) -> Result<Vec<u8>, Error> {
    let n = crate::collect::fresh_nonce().map_err(|e| Error::usage(Check::Nonce, e))?;
    let vtpm =
        platform.is_vtpm() || (platform == Source::Auto && detect_platform(root, log).is_ok_and(Source::is_vtpm));
    Ok(if vtpm { n[..32].to_vec() } else { n.to_vec() })
}

fn sim_snp(platform: Source) -> Option<SimSevGuest> {
    match platform {
        Source::SimSnp | Source::SimSnpTsm => Some(SimSevGuest::default()),
        Source::SimSnpVlek => Some(SimSevGuest { host_certs: HostCerts::VlekOnly, ..SimSevGuest::default() }),
        Source::SimSnpVmpl2 => {
            Some(SimSevGuest { host_certs: HostCerts::None, guest_vmpl: 2, ..SimSevGuest::default() })
        }
        _ => None,
    }
}

/// Collects a bundle with `nonce` as the report data (zero-padded) or quote's qualifying data;
/// `verify --trust-simulated` accepts the simulated ones. The machine's event logs ride along
/// (not for a simulated platform, which is not this machine).
pub fn collect(r: &CollectRequest, nonce: &[u8], log: Log) -> Result<Bundle, Error> {
    if r.vmpl.is_some_and(|v| v > 3) {
        return Err(usage(format!("--vmpl {} does not exist (0..=3)", r.vmpl.unwrap_or_default())));
    }
    let now = Timestamp::now();
    let platform = if r.platform == Source::Auto { detect_platform(&r.root, log)? } else { r.platform };
    let snp_opts = |vmpl: u32| SnpCollectOptions {
        report_data: pad64(nonce),
        vmpl,
        extended: r.extended,
        msg_version: r.msg_version,
    };
    let vmpl = r.vmpl.unwrap_or(0);
    let vmpl_line = format!(
        "requesting the SNP report at VMPL {vmpl}{}",
        if r.vmpl.is_none() { " (default, the ioctl's; snpguest asks 1; Sakura guests need --vmpl 2)" } else { "" }
    );
    let tsm_err = |e: crate::collect::CollectError| usage(e.to_string());
    let mut bundle = match platform {
        Source::SimSgx => crate::collect::collect_sim_dcap_bundle(false, pad64(nonce), nonce, now),
        Source::SimTdx => {
            let sim = SimTsm::new(SimProvider::TdxGuest).map_err(|e| usage(format!("simulated configfs-tsm: {e}")))?;
            collect_tsm_bundle(&sim.into_tsm(), nonce, None, Some("tdx_guest"), now).map_err(tsm_err)?
        }
        Source::SimSnpTsm => {
            log(&vmpl_line);
            let guest = sim_snp(platform).unwrap_or_default();
            let sim =
                SimTsm::new(SimProvider::SevGuest(guest)).map_err(|e| usage(format!("simulated configfs-tsm: {e}")))?;
            collect_tsm_bundle(&sim.into_tsm(), nonce, Some(vmpl), Some("sev_guest"), now).map_err(tsm_err)?
        }
        p if sim_snp(p).is_some() => {
            log(&vmpl_line);
            let dev = sim_snp(p).unwrap_or_default();
            collect_snp_bundle(&dev, &snp_opts(vmpl), nonce, now).map_err(|e| usage(e.to_string()))?
        }
        Source::SimNitro | Source::Nitro => {
            let nsm: Box<dyn Nsm> = if platform == Source::SimNitro {
                Box::new(SimNsm::default())
            } else {
                let path = under(&r.root, "/dev/nsm");
                Box::new(DevNsm::open(&path.to_string_lossy()).map_err(|e| usage(e.to_string()))?)
            };
            let doc = crate::nsm::request_document(nsm.as_ref(), None, Some(nonce), None)
                .map_err(|e| usage(e.to_string()))?;
            let mut b = Bundle::new_nitro(&doc);
            b.nonce = Some(hex::encode(nonce));
            b.collected_at = Some(now.to_rfc3339());
            b.platform_info = json!({"interface": nsm.describe(), "simulated": nsm.simulated()});
            b
        }
        Source::Snp => {
            let tsm = ConfigfsTsm::real(under(&r.root, DEFAULT_ROOT));
            let use_tsm = match r.interface.as_str() {
                "configfs-tsm" => true,
                "sev-guest" => false,
                "auto" => tsm.check().is_ok() && r.device.is_none(),
                other => return Err(usage(format!("--interface '{other}': auto, sev-guest or configfs-tsm"))),
            };
            log(&vmpl_line);
            if use_tsm {
                collect_tsm_bundle(&tsm, nonce, Some(vmpl), Some("sev_guest"), now).map_err(tsm_err)?
            } else {
                let path =
                    r.device.clone().unwrap_or_else(|| under(&r.root, "/dev/sev-guest").to_string_lossy().into_owned());
                let dev = DevSevGuest::open(&path).map_err(|e| usage(e.to_string()))?;
                collect_snp_bundle(&dev as &dyn SevGuest, &snp_opts(vmpl), nonce, now)
                    .map_err(|e| usage(e.to_string()))?
            }
        }
        Source::Tdx => {
            let tsm = ConfigfsTsm::real(under(&r.root, DEFAULT_ROOT));
            collect_tsm_bundle(&tsm, nonce, None, Some("tdx_guest"), now).map_err(tsm_err)?
        }
        Source::AzureSnp => collect_azure_bundle(&r.azure, Some(crate::azure::AzureTee::Snp), nonce, now, log)?,
        Source::AzureTdx => collect_azure_bundle(&r.azure, Some(crate::azure::AzureTee::Tdx), nonce, now, log)?,
        other => return Err(usage(format!("platform '{other}' cannot be collected from here"))),
    };
    if bundle.platform_info.get("simulated").and_then(Value::as_bool) != Some(true) {
        let notes = crate::collect::add_eventlogs(&mut bundle, &r.root);
        for n in &notes {
            log(&format!("note: event log {n}"));
        }
        if !notes.is_empty() {
            bundle.platform_info["eventlog_notes"] = json!(notes);
        }
    }
    Ok(bundle)
}

/// Opens the TPM named by `tcti` (else $TPM2TOOLS_TCTI, $TCTI, the device); a fallback taken
/// (/dev/tpm0 for an absent /dev/tpmrm0) is logged as a warning.
pub fn open_tpm(tcti: Option<&str>, log: Log) -> Result<TpmClient, Error> {
    let tpm = TpmClient::open(&crate::tpm::default_tcti(tcti)).map_err(|e| Error::usage(Check::Tpm, e.to_string()))?;
    if let Some(w) = tpm.warning() {
        log(&format!("warning: {w}"));
    }
    Ok(tpm)
}

/// Collects an Azure vTPM bundle (`azure-snp-vtpm` / `azure-tdx-vtpm`, from the HCL report)
/// with `nonce` as the quote's qualifying data. `expect`: the TEE the HCL report must be of (a
/// report of the other kind is refused), or `None` for either.
pub fn collect_azure_bundle(
    a: &AzureRequest,
    expect: Option<crate::azure::AzureTee>,
    nonce: &[u8],
    now: Timestamp,
    log: Log,
) -> Result<Bundle, Error> {
    use crate::azure::{AzureOptions, collect_azure};
    use crate::imds::Imds;
    let mut o = AzureOptions::new(nonce.to_vec(), now);
    o.expect = expect;
    o.pcrs = PcrSelection::parse(&a.pcrs).map_err(|e| Error::usage(Check::Pcrs, e))?;
    o.ak_handle = a.ak_handle;
    o.fetch_thim = a.thim;
    o.refresh_timeout = std::time::Duration::from_millis(a.fresh_timeout_ms);
    o.fresh_report = match a.fresh_report.as_deref() {
        None => None,
        Some("nonce") => Some(pad64(nonce)),
        Some(h) => {
            let v = cloud_ra_verify::policy::parse_hex("fresh-report", h, 64)?;
            Some(v.try_into().map_err(|_| Error::usage(Check::FreshReport, "the user data must be exactly 64 bytes"))?)
        }
    };
    let imds =
        Imds::new(&a.imds, std::time::Duration::from_secs(20)).map_err(|e| Error::usage(Check::Imds, e.to_string()))?;
    let mut tpm = open_tpm(a.tcti.as_deref(), log)?;
    collect_azure(&mut tpm, Some(&imds), &o).map_err(|e| Error::usage(Check::Attest, e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use cloud_ra_sim::swtpm::Swtpm;

    fn request(tcti: &str) -> AzureRequest {
        AzureRequest {
            tcti: Some(tcti.to_string()),
            pcrs: "sha256:15,16,22".into(),
            fresh_report: None,
            fresh_timeout_ms: 100,
            ak_handle: 0x8100_0003,
            imds: "http://127.0.0.1:9".into(),
            thim: false,
        }
    }

    #[test]
    fn collect_azure_bundle_checks_its_arguments_then_the_tpm() {
        let sw = Swtpm::start().expect("swtpm");
        let now = Timestamp::now();
        let a = request(&sw.tcti());
        let mut log = |_: &str| {};
        let pcrs = AzureRequest { pcrs: "sha256:99".into(), ..a.clone() };
        let e = collect_azure_bundle(&pcrs, None, b"n", now, &mut log).unwrap_err();
        assert_eq!(e.check, "pcrs");
        let fresh = AzureRequest { fresh_report: Some("00".into()), ..a.clone() };
        let e = collect_azure_bundle(&fresh, None, b"n", now, &mut log).unwrap_err();
        assert!(e.detail.contains("64 bytes"), "{e}");
        // A TPM that is no Azure vTPM.
        let e = collect_azure_bundle(&a, Some(crate::azure::AzureTee::Snp), b"n", now, &mut log).unwrap_err();
        assert!(e.detail.contains("0x01400001") && e.detail.contains("not an Azure CVM"), "{e}");
        assert_eq!(e.exit_code(), 1);
    }
}
