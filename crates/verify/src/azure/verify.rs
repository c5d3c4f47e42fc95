//! Azure vTPM verification: the hardware report (SNP: VCEK -> ASK -> pinned ARK and the report
//! signature, by the SNP verifier; TDX: the TD quote by the DCAP verifier, whose REPORTDATA must
//! be the TDREPORT's), the runtime-claims binding (REPORT_DATA = hash(claims) zero-padded), the AK
//! (`HCLAkPub`, and the TPM's own AK public when given), and the vTPM quote (signature by that
//! AK, magic and type, PCR digest over the supplied values).
//!
//! The numbered steps are listed on [`verify`].

use super::format::{AzureEvidence, HclReport, Source, Tee, thim_pems};
use crate::Check;
use crate::collateral::Collateral;
use crate::dcap::{self, verify::VerifiedDcap};
use crate::error::{Error, Result};
use crate::snp::{self, Product, VerifiedSnp};
use crate::time::Timestamp;
use crate::tpm::{AkPublic, Attest, VerifiedQuote, verify_quote_signed};
use serde::Serialize;

/// Options of one verification. `at` is the evaluation time: nothing here reads the clock.
#[derive(Debug, Clone, Copy)]
pub struct AzureOptions {
    /// The evaluation time for certificate, CRL and collateral validity.
    pub at: Timestamp,
    /// The SNP product line the caller names (`--product`).
    pub product: Option<Product>,
    /// Also trust cloud-ra's simulated roots.
    pub trust_simulated: bool,
    /// Fail unless the certificate revocation lists are supplied.
    pub require_crl: bool,
}

/// What the verifier's nonce can be bound to in this evidence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Freshness {
    /// The extraData of a verified vTPM quote.
    TpmQuote,
    /// The `user-data` of a fresh HCL report (written to NV 0x01400002 before it was made).
    HclUserData,
    /// A boot-time report and no quote: replayable.
    None,
}

/// The verified hardware report.
pub enum Hardware {
    /// An SEV-SNP report, verified by the SNP verifier.
    Snp(Box<VerifiedSnp>),
    /// A TD quote of the TDREPORT, verified by the DCAP verifier.
    Tdx(Box<VerifiedDcap>),
}

/// What a successful verification established.
pub struct VerifiedAzure {
    /// Where the evidence came from.
    pub source: Source,
    /// The parsed HCL report.
    pub hcl: HclReport,
    /// The verified hardware report.
    pub hardware: Hardware,
    /// The AK the runtime claims vouch for (`HCLAkPub`).
    pub ak: AkPublic,
    /// The TPM's AK public (TPMT_PUBLIC) was supplied and equals `HCLAkPub`.
    pub ak_public_checked: bool,
    /// The verified vTPM quote, when the evidence has one.
    pub quote: Option<VerifiedQuote>,
    /// What the verifier's nonce can be bound to.
    pub freshness: Freshness,
    /// The evidence's fresh-report user data (checked equal to the HCL `user-data`).
    pub fresh_user_data: Option<[u8; 64]>,
    /// Input to trustauthority-cli's user-data = SHA-512(nonce ‖ input), from the evidence.
    pub user_data_input: Option<Vec<u8>>,
    /// The HCL `user-data` carries the verifier's nonce (trustee evidence v2).
    pub user_data_carries_nonce: bool,
    /// Checks that passed with a caveat: each becomes a warning.
    pub warnings: Vec<Error>,
}

impl VerifiedAzure {
    pub(crate) fn platform(&self) -> crate::Platform {
        self.hcl.tee.platform()
    }
}

fn ev(check: Check, d: impl Into<String>) -> Error {
    Error::evidence(check, d)
}

/// Collateral of the caller plus the certificates the evidence carries (trustee's `vcek`, a THIM
/// response).
fn with_carried(ev_: &AzureEvidence, collateral: &Collateral) -> Result<Option<Collateral>> {
    if ev_.certs.is_empty() && ev_.thim.is_none() {
        return Ok(None);
    }
    let mut c = collateral.clone();
    for (i, cert) in ev_.certs.iter().enumerate() {
        c.add_file(&format!("evidence certificate {i}"), cert)
            .map_err(|e| ev(Check::AzureCerts, format!("certificate {i} carried by the evidence: {}", e.detail)))?;
    }
    if let Some(t) = &ev_.thim {
        c.add_file("THIM response", &thim_pems(t)?)?;
    }
    Ok(Some(c))
}

/// Verifies Azure vTPM evidence. `collateral` holds the caller's certificates, CRLs and DCAP
/// collateral. The steps, each naming the check it fails:
///
/// 1. `hcl_format`: the HCL report byte-exactly, and the platform the evidence names
///    (`azure.hcl_report`, `azure.runtime_claims`, `azure.platform`).
/// 2. `hardware`: the SNP report by the SNP verifier, or the TD quote by the DCAP verifier and
///    its REPORTDATA = the TDREPORT's (`snp.*`, `dcap.*`, `azure.td_quote`).
/// 3. `binding`: REPORT_DATA = hash(runtime claims) zero-padded, with the declared hash type
///    (`azure.binding`).
/// 4. `attestation_key`: `HCLAkPub`, equal to the TPM's AK public when given (`azure.ak`).
/// 5. `quote`: the vTPM quote signed by that AK over the supplied PCRs, its extraData the nonce
///    the evidence says it used (`tpm.*`).
/// 6. `freshness`: a fresh report's user-data is what the attester wrote to NV 0x01400002
///    (`azure.user_data`); what the nonce can be bound to.
pub fn verify(
    e: &AzureEvidence,
    collateral: &Collateral,
    opts: &AzureOptions,
    snp_cache: Option<&snp::ChainCache>,
    dcap_cache: Option<&dcap::CollateralCache>,
) -> Result<VerifiedAzure> {
    let hcl = hcl_format(e)?;
    let merged = with_carried(e, collateral)?;
    let collateral = merged.as_ref().unwrap_or(collateral);
    let hardware = hardware(e, &hcl, collateral, opts, snp_cache, dcap_cache)?;
    binding(&hcl)?;
    let (ak, ak_public_checked) = attestation_key(e, &hcl)?;
    let quote = quote(e, &ak)?;
    let freshness = freshness(e, &hcl, quote.is_some())?;
    Ok(VerifiedAzure {
        source: e.source,
        hcl,
        hardware,
        ak,
        ak_public_checked,
        quote,
        freshness,
        fresh_user_data: e.fresh_user_data,
        user_data_input: e.user_data_input.clone(),
        user_data_carries_nonce: e.user_data_carries_nonce,
        warnings: Vec::new(),
    })
}

/// Step 1: the HCL report, of the TEE the evidence says it is.
fn hcl_format(e: &AzureEvidence) -> Result<HclReport> {
    let hcl = HclReport::parse(&e.hcl_report)?;
    if let Some(t) = e.tee
        && t != hcl.tee
    {
        return Err(ev(
            Check::AzurePlatform,
            format!(
                "the evidence says {} but the HCL report's request.report_type is {} ({})",
                t.platform(),
                hcl.request.report_type,
                hcl.tee.platform()
            ),
        ));
    }
    Ok(hcl)
}

/// Step 2: the hardware report, by the SNP or the DCAP verifier.
fn hardware(
    e: &AzureEvidence,
    hcl: &HclReport,
    collateral: &Collateral,
    opts: &AzureOptions,
    snp_cache: Option<&snp::ChainCache>,
    dcap_cache: Option<&dcap::CollateralCache>,
) -> Result<Hardware> {
    match hcl.tee {
        Tee::Snp => {
            let sopts = snp::SnpOptions {
                at: opts.at,
                product: opts.product,
                trust_simulated: opts.trust_simulated,
                require_crl: opts.require_crl,
            };
            let sev = snp::SnpEvidence { report: &hcl.hw_report, cert_table: &[] };
            let v = snp::verify::verify(&sev, collateral, &sopts, snp_cache)?;
            Ok(Hardware::Snp(Box::new(v)))
        }
        Tee::Tdx => {
            let q = e.td_quote.as_deref().ok_or_else(|| {
                ev(
                    Check::AzureTdQuote,
                    "a TDX HCL report needs the TD quote (IMDS /acc/tdquote over its TDREPORT): a TDREPORT is MAC'd for the local CPU, not signed",
                )
            })?;
            let dopts =
                dcap::DcapOptions { at: opts.at, require_crl: opts.require_crl, trust_simulated: opts.trust_simulated };
            let v = dcap::verify::verify(q, collateral, &dopts, dcap_cache)?;
            let Some(td) = v.quote.body.td() else {
                return Err(ev(Check::AzureTdQuote, "the TD quote is an SGX quote, not a TDX quote"));
            };
            let tdreport_rd = hcl.report_data();
            if td.report_data != tdreport_rd {
                return Err(ev(
                    Check::AzureTdQuote,
                    format!(
                        "the TD quote's REPORTDATA {} is not the TDREPORT's REPORTDATA {} (HCL offset {:#x}): the quote is not of this HCL report",
                        hex::encode(td.report_data),
                        hex::encode(tdreport_rd),
                        super::format::HW_REPORT_OFFSET + super::format::TD_REPORT_DATA_OFFSET
                    ),
                ));
            }
            Ok(Hardware::Tdx(Box::new(v)))
        }
    }
}

/// Step 3: REPORT_DATA = hash(runtime claims) zero-padded to 64.
fn binding(hcl: &HclReport) -> Result<()> {
    let have = hcl.report_data();
    let want = hcl.expected_report_data();
    if have == want {
        return Ok(());
    }
    Err(ev(
        Check::AzureBinding,
        format!(
            "{} REPORT_DATA {} is not {:?}(runtime claims, {} bytes at offset {:#x}) zero-padded = {}",
            match hcl.tee {
                Tee::Snp => "SNP",
                Tee::Tdx => "TDREPORT",
            },
            hex::encode(have),
            hcl.request.hash_type,
            hcl.claims.raw.len(),
            super::format::CLAIMS_OFFSET,
            hex::encode(want)
        ),
    ))
}

/// Step 4: the AK is `HCLAkPub`; the TPM's AK public, if given, is the same key (and says which
/// scheme it signs with). Returns the AK and whether the TPM's copy was checked.
fn attestation_key(e: &AzureEvidence, hcl: &HclReport) -> Result<(AkPublic, bool)> {
    let ak = AkPublic::from_params(hcl.claims.ak_pub.params.clone())
        .map_err(|e| ev(Check::AzureAk, format!("HCLAkPub in the runtime claims: {e}")))?;
    let Some(tp) = &e.ak_public else { return Ok((ak, false)) };
    let tpm_ak = AkPublic::parse(tp)?;
    if !tpm_ak.params.same_key(&ak.params) {
        return Err(ev(
            Check::AzureAk,
            format!(
                "the TPM's AK public (sha256 {}) is not HCLAkPub of the runtime claims (sha256 {})",
                tpm_ak.params.fingerprint(),
                ak.params.fingerprint()
            ),
        ));
    }
    Ok((tpm_ak, true))
}

/// Step 5: the vTPM quote, if carried.
fn quote(e: &AzureEvidence, ak: &AkPublic) -> Result<Option<VerifiedQuote>> {
    let Some(q) = &e.quote else { return Ok(None) };
    let a = Attest::parse(&q.attest)?;
    let pcrs = a.split_pcrs(&q.pcrs)?;
    let v = verify_quote_signed(ak, &q.attest, &q.signature, &pcrs)?;
    if let Some(n) = &e.nonce
        && v.attest.extra_data != *n
    {
        return Err(ev(
            Check::TpmNonce,
            format!(
                "the quote's extraData {} is not the nonce {} the evidence says it used",
                hex::encode(&v.attest.extra_data),
                hex::encode(n)
            ),
        ));
    }
    Ok(Some(v))
}

/// Step 6: a fresh report's user-data is what the attester wrote; what binds the nonce.
fn freshness(e: &AzureEvidence, hcl: &HclReport, quoted: bool) -> Result<Freshness> {
    let user_data = hcl.claims.user_data;
    if let Some(w) = &e.fresh_user_data {
        match &user_data {
            Some(u) if u == w => {}
            Some(u) => {
                return Err(ev(
                    Check::AzureUserData,
                    format!(
                        "the runtime claims' user-data {} is not the {} written to NV 0x01400002: the HCL report is not the fresh one",
                        hex::encode(u),
                        hex::encode(w)
                    ),
                ));
            }
            None => {
                return Err(ev(
                    Check::AzureUserData,
                    "a fresh report was requested but the runtime claims have no user-data",
                ));
            }
        }
    }
    let fresh = user_data.is_some_and(|u| u.iter().any(|&b| b != 0));
    Ok(if quoted {
        Freshness::TpmQuote
    } else if fresh {
        Freshness::HclUserData
    } else {
        Freshness::None
    })
}
