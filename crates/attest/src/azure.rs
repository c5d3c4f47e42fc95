//! Azure confidential VMs (SNP and TDX behind the paravisor): evidence comes from the vTPM, not
//! from `/dev/sev-guest` or `/dev/tdx_guest`. Collection reads the HCL report (NV 0x01400001),
//! optionally makes the paravisor refresh it with 64 bytes of user data (NV 0x01400002), quotes
//! the requested PCRs with the AK (0x81000003) over the verifier's nonce, and for TDX asks the
//! IMDS for the TD quote of the report's TDREPORT. The bundle follows the shared Azure contract
//! (README, "Azure vTPM evidence bundle").
//!
//! This module only reads as much of the HCL report as collection needs (its header, report
//! type, TDREPORT and runtime claims' `user-data`); the verifier parses and checks all of it.

use crate::imds::{Imds, ImdsError};
use crate::tpm::{AZURE_AK_HANDLE, NV_HCL_REPORT, NV_HCL_USER_DATA, PcrSelection, Tpm, TpmError};
use cloud_ra_verify::Timestamp;
use cloud_ra_verify::bundle::{B64, Bundle, FORMAT_V1};
use serde_json::json;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// 'HCLA' as a little-endian u32.
const HCL_SIGNATURE: u32 = 0x414C_4348;
const HCL_HEADER_LEN: usize = 32;
/// The hardware report slot: an SNP report (1184 bytes) or a TDREPORT (1024) + padding.
const HW_REPORT_LEN: usize = 1184;
const TDREPORT_LEN: usize = 1024;
const RUNTIME_DATA_OFFSET: usize = HCL_HEADER_LEN + HW_REPORT_LEN;
const IGVM_REPORT_TYPE_SNP: u32 = 2;
const IGVM_REPORT_TYPE_TDX: u32 = 4;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AzureError {
    #[error(transparent)]
    Tpm(#[from] TpmError),
    #[error(transparent)]
    Imds(#[from] ImdsError),
    /// The HCL report in NV 0x01400001 is not one.
    #[error("HCL report (NV 0x01400001): {0}")]
    Hcl(String),
    #[error("{0}")]
    Usage(String),
}

/// Which TEE the paravisor runs in, from the HCL report's IGVM request data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AzureTee {
    Snp,
    Tdx,
}

impl AzureTee {
    pub fn name(self) -> &'static str {
        match self {
            AzureTee::Snp => "SEV-SNP",
            AzureTee::Tdx => "TDX",
        }
    }

    pub fn platform(self) -> cloud_ra_verify::Platform {
        match self {
            AzureTee::Snp => cloud_ra_verify::Platform::AzureSnpVtpm,
            AzureTee::Tdx => cloud_ra_verify::Platform::AzureTdxVtpm,
        }
    }
}

fn le32(b: &[u8], off: usize) -> Option<u32> {
    b.get(off..off + 4).map(|s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}

/// The parts of an HCL report collection needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HclView<'a> {
    pub tee: AzureTee,
    /// The hardware report slot (SNP report, or TDREPORT followed by padding).
    pub hw_report: &'a [u8],
    /// The runtime-claims JSON bytes.
    pub claims: &'a [u8],
}

impl<'a> HclView<'a> {
    pub fn parse(b: &'a [u8]) -> Result<HclView<'a>, AzureError> {
        let bad = |m: String| AzureError::Hcl(m);
        let sig = le32(b, 0).ok_or_else(|| bad(format!("{} bytes, shorter than the header", b.len())))?;
        if sig != HCL_SIGNATURE {
            return Err(bad(format!("signature {sig:#010x} is not 'HCLA' (an all-zero index was never written)")));
        }
        let hw_report = b
            .get(HCL_HEADER_LEN..RUNTIME_DATA_OFFSET)
            .ok_or_else(|| bad(format!("{} bytes, too short for the hardware report", b.len())))?;
        let data_size = le32(b, RUNTIME_DATA_OFFSET).ok_or_else(|| bad("no runtime data".into()))? as usize;
        if RUNTIME_DATA_OFFSET.checked_add(data_size).is_none_or(|end| end > b.len()) {
            return Err(bad(format!(
                "runtime data of {data_size} bytes at offset {RUNTIME_DATA_OFFSET} runs past the end ({} bytes)",
                b.len()
            )));
        }
        let report_type = le32(b, RUNTIME_DATA_OFFSET + 8).ok_or_else(|| bad("no runtime data".into()))?;
        let tee = match report_type {
            IGVM_REPORT_TYPE_SNP => AzureTee::Snp,
            IGVM_REPORT_TYPE_TDX => AzureTee::Tdx,
            t => return Err(bad(format!("report type {t} is neither 2 (SEV-SNP) nor 4 (TDX)"))),
        };
        let claim_size = le32(b, RUNTIME_DATA_OFFSET + 16).ok_or_else(|| bad("no runtime data".into()))? as usize;
        let claims_at = RUNTIME_DATA_OFFSET + 20;
        if claim_size.checked_add(20).is_none_or(|n| n > data_size) {
            return Err(bad(format!("claims size {claim_size} does not fit the runtime data size {data_size}")));
        }
        let claims = claims_at
            .checked_add(claim_size)
            .and_then(|end| b.get(claims_at..end))
            .ok_or_else(|| bad(format!("claims of {claim_size} bytes run past the end ({} bytes)", b.len())))?;
        Ok(HclView { tee, hw_report, claims })
    }

    /// The TDREPORT (TDX only).
    pub fn tdreport(&self) -> Option<&'a [u8]> {
        (self.tee == AzureTee::Tdx).then(|| &self.hw_report[..TDREPORT_LEN])
    }

    /// The claims' `user-data` (hex), when they parse.
    pub fn user_data(&self) -> Option<Vec<u8>> {
        let v: serde_json::Value = serde_json::from_slice(self.claims).ok()?;
        hex::decode(v.get("user-data")?.as_str()?).ok()
    }
}

/// Options of one Azure collection.
#[derive(Debug, Clone)]
pub struct AzureOptions {
    /// The verifier's nonce: the quote's qualifying data (at most 64 bytes).
    pub nonce: Vec<u8>,
    /// PCRs to quote (the seed quotes sha256:15,16,22).
    pub pcrs: PcrSelection,
    /// Ask the paravisor for a fresh HCL report carrying these 64 bytes as `user-data`.
    pub fresh_report: Option<[u8; 64]>,
    /// How long to wait for the refreshed report, and how often to look.
    pub refresh_timeout: Duration,
    pub poll_interval: Duration,
    /// The AK (Azure: 0x81000003).
    pub ak_handle: u32,
    /// Include the AK's TPMT_PUBLIC (`ak_public`).
    pub include_ak_public: bool,
    /// Fetch the VCEK chain from IMDS THIM into `thim` (SNP).
    pub fetch_thim: bool,
    /// The TEE the caller expects (`attest --platform azure-snp|azure-tdx`); a report of the
    /// other kind is refused.
    pub expect: Option<AzureTee>,
    /// Collection time, recorded in the bundle.
    pub now: Timestamp,
}

impl AzureOptions {
    pub fn new(nonce: Vec<u8>, now: Timestamp) -> Self {
        AzureOptions {
            nonce,
            pcrs: PcrSelection(vec![(cloud_ra_verify::eventlog::AlgId::SHA256, (0..24).collect())]),
            fresh_report: None,
            refresh_timeout: Duration::from_secs(10),
            poll_interval: Duration::from_millis(200),
            ak_handle: AZURE_AK_HANDLE,
            include_ak_public: true,
            fetch_thim: false,
            expect: None,
            now,
        }
    }
}

/// Writes `user_data` to NV 0x01400002 (defining the index when absent; the seed's script fails
/// on its second run because it does not check) and polls NV 0x01400001 until the paravisor has
/// written a report that differs from `before` and whose claims carry `user_data`. Bounded by
/// `timeout`; returns the new report.
pub fn refresh_hcl_report(
    tpm: &mut dyn Tpm,
    before: &[u8],
    user_data: &[u8; 64],
    timeout: Duration,
    interval: Duration,
) -> Result<Vec<u8>, AzureError> {
    match tpm.nv_info(NV_HCL_USER_DATA) {
        Ok(info) if info.size < 64 => {
            return Err(AzureError::Tpm(TpmError::Invalid(format!(
                "NV 0x01400002 exists with {} bytes; the paravisor reads 64",
                info.size
            ))));
        }
        Ok(_) => {}
        Err(TpmError::Absent(_)) => tpm.nv_define(NV_HCL_USER_DATA, 64)?,
        Err(e) => return Err(e.into()),
    }
    tpm.nv_write(NV_HCL_USER_DATA, user_data)?;
    let start = Instant::now();
    let mut polls = 0u32;
    let mut changed_other = false;
    loop {
        let now = tpm.nv_read(NV_HCL_REPORT)?;
        polls += 1;
        if now != before {
            let ud = HclView::parse(&now).ok().and_then(|v| v.user_data());
            if ud.as_deref() == Some(&user_data[..]) {
                return Ok(now);
            }
            changed_other = true;
        }
        if start.elapsed() >= timeout {
            let what = if changed_other {
                "changed, but its runtime claims do not carry the user data written (another writer of 0x01400002?)"
            } else {
                "never changed (is a paravisor serving NV 0x01400002? this is not an Azure CVM, or the vTPM does not refresh reports)"
            };
            return Err(AzureError::Tpm(TpmError::Timeout(format!(
                "wrote 64 bytes to NV 0x01400002; the HCL report in NV 0x01400001 {what}; gave up after {} ms and {polls} reads",
                timeout.as_millis()
            ))));
        }
        std::thread::sleep(interval.min(timeout.saturating_sub(start.elapsed())));
    }
}

/// Collects an Azure vTPM evidence bundle (`azure-snp-vtpm` / `azure-tdx-vtpm`, by the HCL
/// report's type). `imds` is needed for TDX (the TD quote) and for `fetch_thim`.
pub fn collect_azure(tpm: &mut dyn Tpm, imds: Option<&Imds>, o: &AzureOptions) -> Result<Bundle, AzureError> {
    if o.nonce.is_empty() || o.nonce.len() > 64 {
        return Err(AzureError::Usage(format!("the nonce must be 1 to 64 bytes, not {}", o.nonce.len())));
    }
    let mut hcl = tpm.nv_read(NV_HCL_REPORT).map_err(|e| match e {
        TpmError::Absent(_) => AzureError::Tpm(TpmError::Absent(
            "NV index 0x01400001 (HCL report) is not defined: this TPM is not an Azure CVM's vTPM".into(),
        )),
        e => e.into(),
    })?;
    let boot = HclView::parse(&hcl)?;
    if let Some(want) = o.expect
        && boot.tee != want
    {
        return Err(AzureError::Usage(format!(
            "expected an Azure {} CVM, but the HCL report comes from a {} paravisor",
            want.name(),
            boot.tee.name()
        )));
    }
    if let Some(ud) = &o.fresh_report {
        hcl = refresh_hcl_report(tpm, &hcl, ud, o.refresh_timeout, o.poll_interval)?;
    }
    let view = HclView::parse(&hcl)?;
    let tee = view.tee;
    let tdreport = view.tdreport().map(<[u8]>::to_vec);

    let ak_public = tpm.read_public(o.ak_handle).map_err(|e| match e {
        TpmError::Absent(_) => AzureError::Tpm(TpmError::Absent(format!(
            "no AK at persistent handle {:#010x} (Azure provisions it at 0x81000003)",
            o.ak_handle
        ))),
        e => e.into(),
    })?;
    let quote = tpm.quote(o.ak_handle, &o.nonce, &o.pcrs)?;

    let mut evidence = BTreeMap::new();
    evidence.insert("hcl_report".to_string(), B64(hcl));
    evidence.insert("tpm_quote".to_string(), B64(quote.attest));
    evidence.insert("tpm_signature".to_string(), B64(quote.signature));
    evidence.insert("tpm_pcrs".to_string(), B64(quote.pcrs));
    if o.include_ak_public {
        evidence.insert("ak_public".to_string(), B64(ak_public));
    }
    if let Some(tdr) = &tdreport {
        let imds = imds.ok_or_else(|| AzureError::Usage("an Azure TDX CVM needs the IMDS for its TD quote".into()))?;
        evidence.insert("td_quote".to_string(), B64(imds.td_quote(tdr)?));
    }
    if o.fetch_thim && tee == AzureTee::Snp {
        let imds = imds.ok_or_else(|| AzureError::Usage("fetching THIM needs the IMDS".into()))?;
        evidence.insert("thim".to_string(), B64(imds.thim_amd()?));
    }
    let aux = match &o.fresh_report {
        Some(ud) => json!({"fresh_report": true, "user_data": hex::encode(ud)}),
        None => json!({"fresh_report": false}),
    };
    Ok(Bundle {
        format: FORMAT_V1.into(),
        platform: tee.platform().as_str().into(),
        evidence,
        certs: Vec::new(),
        aux,
        nonce: Some(hex::encode(&o.nonce)),
        collected_at: Some(o.now.to_rfc3339()),
        platform_info: json!({
            "interface": tpm.describe(),
            "simulated": false,
            "ak_handle": format!("{:#010x}", o.ak_handle),
            "imds": imds.map(|i| i.base().to_string()),
        }),
    })
}
