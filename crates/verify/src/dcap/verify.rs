//! DCAP quote verification, step by step as Intel's QVL (`QuoteVerifier.cpp`, numbered 4.1.2.4.x)
//! with the TCB level matching and status convergence of `TcbLevelCheck.cpp`, `TdxModuleCheck.cpp`
//! and `TDRelaunchCheck.cpp`. Each failure names its check:
//!
//! 1. `dcap.quote`            byte-exact parse (trailing bytes: a warning)
//! 2. `dcap.pck_chain`        PCK → PCK Platform/Processor CA → Intel SGX Root CA (pinned), validity
//! 3. `dcap.root_crl`         Root CA CRL fresh, signed by the root; PCK CA and TCB Signing not revoked
//! 4. `dcap.pck_crl`          PCK CRL of the PCK's issuer fresh and signed; PCK not revoked
//! 5. `dcap.tcb_info`         id/version/FMSPC/PCE-ID, TCB Signing chain, signature over the raw bytes, dates
//! 6. `dcap.qe_identity`      id (TD_QE / QE), version, signature over the raw bytes, dates
//! 7. `dcap.tdx_module`       MRSIGNERSEAM and SEAMATTRIBUTES against the TDX module (identity)
//! 8. `dcap.qe_report`        QE report signature by the PCK key
//! 9. `dcap.qe_report_data`   QE report data = SHA-256(attestation key || QE auth data)
//! 10. `dcap.qe_identity`     QE report against the identity (MISCSELECT, ATTRIBUTES, MRSIGNER, ISVPRODID)
//! 11. `dcap.quote_signature` quote signature by the attestation key over header (+ descriptor) + body
//! 12. `dcap.tcb_level`       TCB level matching and status convergence
//!
//! Steps 2 to 6 depend only on collateral: they run once per collateral set and are cached, keyed
//! by the content of every certificate, CRL and document involved.

use super::collateral::{DcapItem, EnclaveIdentity, IsvTcbLevel, Signed, TcbInfo, TcbLevel};
use super::format::{Body, CertData, Quote};
use super::pck::PckExtensions;
use super::roots;
use crate::Check;
use crate::cache::VerifiedCache;
use crate::collateral::Collateral;
use crate::crypto::{KeyKind, PublicKey, SigAlg, sha256};
use crate::error::{Error, Result};
use crate::time::Timestamp;
use crate::x509::{Certificate, Crl, X509Error};
use aws_lc_rs::signature::ParsedPublicKey;
use serde::Serialize;

use std::sync::Arc;

/// Options of one verification. `at` is the evaluation time: nothing here reads the clock.
#[derive(Debug, Clone, Copy)]
pub struct DcapOptions {
    /// The evaluation time: certificate validity, CRL and collateral freshness.
    pub at: Timestamp,
    /// Root CA CRL and PCK CRL must be supplied (otherwise a missing CRL is a warning).
    pub require_crl: bool,
    /// Trust cloud-ra's simulated Intel root (negative tests, demos).
    pub trust_simulated: bool,
}

/// The TCB status, with Intel's names. `TcbLevelNotFound` is QVL's TCB_NOT_SUPPORTED.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum TcbStatus {
    /// `UpToDate`: the platform runs the latest TCB.
    UpToDate,
    /// `SWHardeningNeeded`: up to date, but the enclave software must mitigate the advisories.
    SWHardeningNeeded,
    /// `ConfigurationNeeded`: up to date, but the platform's configuration must change.
    ConfigurationNeeded,
    /// `ConfigurationAndSWHardeningNeeded`: both of the above.
    ConfigurationAndSWHardeningNeeded,
    /// `OutOfDate`: a newer TCB exists (the advisories name what it fixes).
    OutOfDate,
    /// `OutOfDateConfigurationNeeded`: out of date and the configuration must change.
    OutOfDateConfigurationNeeded,
    /// `Revoked`: the TCB (or the QE) is revoked.
    Revoked,
    /// `TDRelaunchAdvised` (TDX): the TDX module was updated in place; relaunch the TD.
    TDRelaunchAdvised,
    /// `TDRelaunchAdvisedConfigurationNeeded` (TDX): relaunch advised and configuration needed.
    TDRelaunchAdvisedConfigurationNeeded,
    /// No TCB level of the TCB info matches the quote (QVL's TCB_NOT_SUPPORTED).
    TcbLevelNotFound,
}

impl TcbStatus {
    /// Intel's name of the status (as in the TCB info's `tcbStatus`).
    pub fn name(self) -> &'static str {
        use TcbStatus::*;
        match self {
            UpToDate => "UpToDate",
            SWHardeningNeeded => "SWHardeningNeeded",
            ConfigurationNeeded => "ConfigurationNeeded",
            ConfigurationAndSWHardeningNeeded => "ConfigurationAndSWHardeningNeeded",
            OutOfDate => "OutOfDate",
            OutOfDateConfigurationNeeded => "OutOfDateConfigurationNeeded",
            Revoked => "Revoked",
            TDRelaunchAdvised => "TDRelaunchAdvised",
            TDRelaunchAdvisedConfigurationNeeded => "TDRelaunchAdvisedConfigurationNeeded",
            TcbLevelNotFound => "TcbLevelNotFound",
        }
    }
    /// The status Intel's name names (case-insensitive), if any.
    pub fn parse(s: &str) -> Option<Self> {
        use TcbStatus::*;
        [
            UpToDate,
            SWHardeningNeeded,
            ConfigurationNeeded,
            ConfigurationAndSWHardeningNeeded,
            OutOfDate,
            OutOfDateConfigurationNeeded,
            Revoked,
            TDRelaunchAdvised,
            TDRelaunchAdvisedConfigurationNeeded,
            TcbLevelNotFound,
        ]
        .into_iter()
        .find(|x| x.name().eq_ignore_ascii_case(s.trim()))
    }
}

/// Intel's VALID_TCB_INFO_STATUSES.
const TCB_INFO_STATUSES: &[TcbStatus] = &[
    TcbStatus::UpToDate,
    TcbStatus::OutOfDate,
    TcbStatus::ConfigurationNeeded,
    TcbStatus::Revoked,
    TcbStatus::OutOfDateConfigurationNeeded,
    TcbStatus::SWHardeningNeeded,
    TcbStatus::ConfigurationAndSWHardeningNeeded,
];
/// Intel's VALID_MODULE_TCB_STATUSES.
const MODULE_STATUSES: &[TcbStatus] = &[TcbStatus::UpToDate, TcbStatus::OutOfDate, TcbStatus::Revoked];

fn status_of(s: &str, valid: &[TcbStatus], what: &str) -> Result<TcbStatus> {
    valid.iter().copied().find(|v| v.name() == s).ok_or_else(|| {
        Error::collateral(
            Check::DcapTcbLevel,
            format!("{what} has the unrecognised TCB status \"{s}\" (QVL: TCB_UNRECOGNIZED_STATUS)"),
        )
    })
}

/// The QE identity result (Intel's STATUS_SGX_ENCLAVE_REPORT_ISVSVN_*).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum QeStatus {
    /// The QE's ISVSVN matches the identity's latest `UpToDate` level.
    UpToDate,
    /// The QE's ISVSVN matches an `OutOfDate` level.
    OutOfDate,
    /// The QE's ISVSVN matches a `Revoked` level.
    Revoked,
    /// No level of the QE identity matches the QE's ISVSVN.
    TcbLevelNotFound,
}

impl QeStatus {
    pub(crate) fn name(self) -> &'static str {
        match self {
            QeStatus::UpToDate => "UpToDate",
            QeStatus::OutOfDate => "OutOfDate",
            QeStatus::Revoked => "Revoked",
            QeStatus::TcbLevelNotFound => "TcbLevelNotFound",
        }
    }
}

/// Collateral checks that passed, for one collateral set, inside `valid_from..=valid_until`.
pub struct VerifiedCollateral {
    /// Start of the interval in which every certificate, CRL and document is valid (Unix s).
    pub valid_from: i64,
    /// End of that interval (Unix s, inclusive).
    pub valid_until: i64,
    /// The PCK certificate (its key signed the QE report).
    pub pck: Certificate,
    /// The PCK's ECDSA P-256 key, parsed once.
    pub pck_key: ParsedPublicKey,
    /// The PCK certificate's SGX extensions (FMSPC, PCE-ID, TCB components, PCESVN).
    pub pck_ext: PckExtensions,
    /// The Intel SGX PCK Platform or Processor CA that issued the PCK.
    pub pck_ca: Certificate,
    /// SHA-256 of the root certificate the chain ends in.
    pub root_sha256: [u8; 32],
    /// The root is cloud-ra's simulated Intel root (trusted only on request).
    pub simulated: bool,
    /// The TCB info chosen for the quote (FMSPC, PCE-ID, SGX or TDX).
    pub tcb_info: Arc<TcbInfo>,
    /// The QE identity chosen for the quote (QE or TD_QE).
    pub qe_identity: Arc<EnclaveIdentity>,
    /// How many CRLs were checked (the root CA's and the PCK CA's).
    pub crls_checked: usize,
    /// Collateral findings that do not fail verification (a CRL not supplied, ...).
    pub warnings: Vec<Error>,
}

/// Verified collateral keyed by content (certificates, CRLs, TCB info, QE identity), and the
/// parsed PCK chains of quotes keyed by SHA-256 of their raw PEM bytes (so repeated quotes from
/// one platform skip parsing their three certificates). Safe to share.
#[derive(Default)]
pub struct CollateralCache {
    map: VerifiedCache<VerifiedCollateral>,
    chains: VerifiedCache<Vec<Certificate>>,
}

impl crate::cache::Window for VerifiedCollateral {
    fn valid_from(&self) -> i64 {
        self.valid_from
    }
    fn valid_until(&self) -> i64 {
        self.valid_until
    }
}

impl CollateralCache {
    /// An empty cache.
    pub fn new() -> Self {
        Self::default()
    }
    /// The number of verified collateral sets kept.
    pub fn len(&self) -> usize {
        self.map.len()
    }
    /// Nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// The number of parsed PCK chains kept.
    pub fn parsed_chains(&self) -> usize {
        self.chains.len()
    }
}

/// The TDX module evaluation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModuleEval {
    /// The TDX module identity's id (`TDX_%02X` of `TEE_TCB_SVN[1]`).
    pub id: String,
    /// The module's ISVSVN (`TEE_TCB_SVN[0]`).
    pub isv_svn: u8,
    /// The status of the module's matching level.
    pub status: TcbStatus,
    /// The matching level, if any.
    pub level: Option<IsvTcbLevel>,
}

/// The outcome of TCB level matching (step 12).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TcbEval {
    /// The converged status (platform, QE and TDX module).
    pub status: TcbStatus,
    /// The level matched on SGX components + PCESVN.
    pub sgx_level: Option<TcbLevel>,
    /// TDX: the level also matched on TEE_TCB_SVN.
    pub tdx_level: Option<TcbLevel>,
    /// TDX: the TDX module's evaluation, when the TCB info has module identities.
    pub module: Option<ModuleEval>,
}

/// What a successful verification established.
pub struct VerifiedDcap {
    /// The quote, parsed.
    pub quote: Quote,
    /// The collateral it verified against.
    pub collateral: Arc<VerifiedCollateral>,
    /// The TCB level matching (step 12).
    pub tcb: TcbEval,
    /// The QE identity result (step 10).
    pub qe_status: QeStatus,
    /// The QE identity level that matched, if any.
    pub qe_level: Option<IsvTcbLevel>,
    /// Union of the advisory IDs of the platform level, the TDX module level and the QE level.
    pub advisory_ids: Vec<String>,
    /// tcbDate of the platform level that decided the status.
    pub tcb_date: Option<String>,
    /// Findings that do not fail verification (trailing bytes, CRLs not supplied, ...).
    pub warnings: Vec<Error>,
}

impl VerifiedDcap {
    /// The converged TCB status.
    pub fn tcb_status(&self) -> TcbStatus {
        self.tcb.status
    }
}

fn ev(check: Check, d: impl Into<String>) -> Error {
    Error::evidence(check, d)
}
fn co(check: Check, d: impl Into<String>) -> Error {
    Error::collateral(check, d)
}

/// Fresh CRLs of one issuer (thisUpdate <= at < nextUpdate), signature-checked; `None` when none
/// was supplied. Stale or future CRLs are ignored when a fresh one is present, refused otherwise.
fn crls_for<'a>(check: Check, crls: &[&'a Crl], issuer: &Certificate, at: Timestamp) -> Result<Option<Vec<&'a Crl>>> {
    let mine: Vec<&Crl> = crls.iter().copied().filter(|c| c.issuer_raw == issuer.subject_raw).collect();
    if mine.is_empty() {
        return Ok(None);
    }
    let mut fresh = Vec::new();
    let mut why = Vec::new();
    for c in &mine {
        match c.check(issuer, at) {
            Ok(()) => fresh.push(*c),
            Err(e) if e.is_crl_freshness() => why.push(e.to_string()),
            Err(e) => return Err(ev(check, format!("CRL of '{}': {e}", issuer.subject_cn))),
        }
    }
    if fresh.is_empty() {
        return Err(co(check, format!("no CRL of '{}' is fresh at {at}: {}", issuer.subject_cn, why.join("; "))));
    }
    Ok(Some(fresh))
}

fn pinned(root: &Certificate, trust_simulated: bool) -> Result<bool> {
    let fp = root.fingerprint_hex();
    if fp == roots::INTEL_SGX_ROOT_CA {
        return Ok(false);
    }
    if trust_simulated && roots::SIMULATED_ROOT_CA.contains(&fp.as_str()) {
        return Ok(true);
    }
    Err(ev(
        Check::DcapPckChain,
        format!(
            "root '{}' ({fp}) is not the pinned Intel SGX Root CA ({}){}",
            root.subject_cn,
            roots::INTEL_SGX_ROOT_CA,
            if roots::SIMULATED_ROOT_CA.contains(&fp.as_str()) {
                "; it is cloud-ra's SIMULATED Intel root (trusted only with --trust-simulated)"
            } else {
                ""
            }
        ),
    ))
}

struct Docs {
    tcb_info: Arc<TcbInfo>,
    qe_identity: Arc<EnclaveIdentity>,
}

/// A signed Intel document with an issueDate..nextUpdate window.
trait Dated {
    fn window(&self) -> (Timestamp, Timestamp);
    fn evaluation_number(&self) -> u32;
    fn source(&self) -> &str;
}

impl Dated for TcbInfo {
    fn window(&self) -> (Timestamp, Timestamp) {
        (self.issue_date, self.next_update)
    }
    fn evaluation_number(&self) -> u32 {
        self.json.tcb_evaluation_data_number.unwrap_or(0)
    }
    fn source(&self) -> &str {
        &self.signed.source
    }
}

impl Dated for EnclaveIdentity {
    fn window(&self) -> (Timestamp, Timestamp) {
        (self.issue_date, self.next_update)
    }
    fn evaluation_number(&self) -> u32 {
        self.json.tcb_evaluation_data_number.unwrap_or(0)
    }
    fn source(&self) -> &str {
        &self.signed.source
    }
}

/// The candidate valid at `at` with the highest TCB evaluation number; when none is valid, an
/// error naming the one that expired last (or is not valid yet).
fn freshest<T: Dated>(candidates: &[&Arc<T>], at: Timestamp, check: Check, what: &str) -> Result<Arc<T>> {
    let fresh = candidates.iter().filter(|t| {
        let (issued, next) = t.window();
        issued <= at && at < next
    });
    if let Some(t) = fresh.max_by_key(|t| t.evaluation_number()) {
        return Ok((*t).clone());
    }
    let t = candidates.iter().max_by_key(|t| t.window().1.0).ok_or_else(|| co(check, format!("no {what}")))?;
    let (issued, next) = t.window();
    let (state, when) =
        if at < issued { ("is not yet valid: issueDate", issued) } else { ("has expired: nextUpdate", next) };
    Err(co(check, format!("{what} ({}) {state} {when}, evaluation time {at}", t.source())))
}

/// A narrowing of the supplied documents of one kind: those it keeps, or the reason none fits
/// (told the first candidate it refused).
type Filter<'f, T> = (&'f dyn Fn(&T) -> bool, &'f dyn Fn(&T) -> String);

/// The one selection rule of DCAP collateral documents (TCB info, QE identity): of the supplied
/// documents of this kind, keep those that pass each filter in turn (a filter that keeps none
/// fails with its reason), then the freshest valid at `at`.
fn select<T: Dated>(
    candidates: Vec<&Arc<T>>,
    check: Check,
    what: &str,
    missing: String,
    filters: &[Filter<'_, T>],
    at: Timestamp,
) -> Result<Arc<T>> {
    if candidates.is_empty() {
        return Err(co(check, missing));
    }
    let mut kept = candidates;
    for (keep, why) in filters {
        let next: Vec<&Arc<T>> = kept.iter().copied().filter(|t| keep(t)).collect();
        if next.is_empty() {
            return Err(co(check, why(kept[0])));
        }
        kept = next;
    }
    freshest(&kept, at, check, what)
}

/// Chooses the TCB info and QE identity for this quote (steps 5 and 6, selection part).
fn select_docs(items: &[&DcapItem], fmspc: &[u8; 6], pce_id: &[u8; 2], tdx: bool, at: Timestamp) -> Result<Docs> {
    let (want_tcb, want_qe, path, kind) =
        if tdx { ("TDX", "TD_QE", "tdx", "TDX") } else { ("SGX", "QE", "sgx", "SGX") };
    let fmspc_hex = hex::encode_upper(fmspc);
    let infos: Vec<&Arc<TcbInfo>> = items
        .iter()
        .filter_map(|i| match i {
            DcapItem::TcbInfo(t) => Some(t),
            _ => None,
        })
        .collect();
    let fmspcs: Vec<String> = infos.iter().map(|t| hex::encode_upper(t.fmspc)).collect();
    let tcb_info = select(
        infos,
        Check::DcapTcbInfo,
        "TCB info",
        format!("no TCB info supplied: fetch Intel PCS /{path}/certification/v4/tcb?fmspc={fmspc_hex}"),
        &[
            (&|t: &TcbInfo| &t.fmspc == fmspc, &|_: &TcbInfo| {
                format!("TCB info is for FMSPC {} but the PCK certificate says FMSPC {fmspc_hex}", fmspcs.join(", "))
            }),
            (&|t: &TcbInfo| t.id() == want_tcb, &|t: &TcbInfo| {
                format!(
                    "TCB info id is \"{}\" but a {kind} quote needs \"{want_tcb}\" (QVL 4.1.2.4.9: TCB_INFO_MISMATCH)",
                    t.id()
                )
            }),
        ],
        at,
    )?;
    if tcb_info.json.version < 3 {
        return Err(co(
            Check::DcapTcbInfo,
            format!("TCB info version {} is not supported (Intel PCS API v4 serves version 3)", tcb_info.json.version),
        ));
    }
    if &tcb_info.pce_id != pce_id {
        return Err(co(
            Check::DcapTcbInfo,
            format!(
                "TCB info pceId {} is not the PCK certificate's PCE-ID {} (QVL 4.1.2.4.10)",
                hex::encode_upper(tcb_info.pce_id),
                hex::encode_upper(pce_id)
            ),
        ));
    }

    let ids: Vec<&Arc<EnclaveIdentity>> = items
        .iter()
        .filter_map(|i| match i {
            DcapItem::EnclaveIdentity(e) => Some(e),
            _ => None,
        })
        .collect();
    let qe_identity = select(
        ids,
        Check::DcapQeIdentity,
        "QE identity",
        format!("no QE identity supplied: fetch Intel PCS /{path}/certification/v4/qe/identity"),
        &[(&|e: &EnclaveIdentity| e.json.id == want_qe, &|e: &EnclaveIdentity| {
            format!(
                "enclave identity id is \"{}\" but a {kind} quote needs \"{want_qe}\" (QVL 4.1.2.4.14: QE_IDENTITY_MISMATCH)",
                e.json.id
            )
        })],
        at,
    )?;
    if qe_identity.json.version < 2 {
        return Err(co(
            Check::DcapQeIdentity,
            format!("enclave identity version {} is not supported (QVL requires version 2)", qe_identity.json.version),
        ));
    }
    Ok(Docs { tcb_info, qe_identity })
}

/// Verifies a quote. `collateral` holds every certificate, CRL and DCAP document the caller has;
/// the PCK chain embedded in the quote is added to it.
pub fn verify(
    quote_bytes: &[u8],
    collateral: &Collateral,
    opts: &DcapOptions,
    cache: Option<&CollateralCache>,
) -> Result<VerifiedDcap> {
    // 1. Quote.
    let quote = Quote::parse(quote_bytes)?;
    let mut warnings = Vec::new();
    if quote.trailing > 0 {
        warnings.push(ev(
            Check::DcapQuote,
            format!(
                "{} bytes after the declared signature data (offset {:#x}) were ignored{}",
                quote.trailing,
                quote.raw.len(),
                if quote.trailing_zero { " (zero padding)" } else { " (not zero)" }
            ),
        ));
    }
    let coll = verify_collateral(&quote, collateral, opts, cache)?;
    warnings.extend(coll.warnings.iter().cloned());
    let tdx = quote.is_tdx();

    // 7. TDX module (QVL 4.1.2.4.11).
    if let Some(td) = quote.body.td() {
        check_tdx_module(&quote, td, &coll.tcb_info)?;
    }

    // 8. QE report signature by the PCK key (4.1.2.4.12).
    coll.pck_key.verify_sig(&quote.qe_report.raw, &quote.qe_report_signature).map_err(|_| {
        ev(
            Check::DcapQeReport,
            format!(
                "QE report signature does not verify with the PCK key of '{}' (serial {})",
                coll.pck.subject_cn,
                hex::encode(&coll.pck.serial)
            ),
        )
    })?;
    // 9. QE report data (4.1.2.4.13).
    let mut ak_auth = Vec::with_capacity(64 + quote.qe_auth_data.len());
    ak_auth.extend_from_slice(&quote.attestation_key);
    ak_auth.extend_from_slice(&quote.qe_auth_data);
    let h = sha256(&ak_auth);
    if quote.qe_report.report_data[..32] != h {
        return Err(ev(
            Check::DcapQeReportData,
            format!(
                "qeReport.reportData[0..32] {} is not SHA-256(attestation key || QE auth data) {}",
                hex::encode(&quote.qe_report.report_data[..32]),
                hex::encode(h)
            ),
        ));
    }
    // 10. QE identity (4.1.2.4.14, 4.1.2.4.15 / 4.1.2.9.x).
    let (qe_status, qe_level) = check_qe_identity(&quote, &coll.qe_identity)?;
    // 11. Quote signature (4.1.2.4.16).
    let mut point = Vec::with_capacity(65);
    point.push(0x04);
    point.extend_from_slice(&quote.attestation_key);
    let ak = PublicKey { kind: KeyKind::EcP256, bytes: point };
    ak.verify(SigAlg::EcdsaP256Sha256Fixed, quote.signed_bytes(), &quote.quote_signature).map_err(|e| {
        ev(
            Check::DcapQuoteSignature,
            format!(
                "quote signature over bytes 0x0..{:#x} (header{} + body) does not verify with the attestation key: {e}",
                quote.signed_len,
                if quote.body_descriptor.is_some() { " + body descriptor" } else { "" }
            ),
        )
    })?;
    // 12. TCB level (4.1.2.4.17).
    let tcb = check_tcb_level(&coll.tcb_info, &coll.pck_ext, &quote, qe_status)?;
    let platform = if tdx { tcb.tdx_level.as_ref() } else { tcb.sgx_level.as_ref() };
    let mut advisory_ids: Vec<String> = Vec::new();
    let mut add = |ids: &[String]| {
        for a in ids {
            if !advisory_ids.contains(a) {
                advisory_ids.push(a.clone());
            }
        }
    };
    if let Some(l) = platform {
        add(&l.advisory_ids);
    }
    if let Some(l) = tcb.module.as_ref().and_then(|m| m.level.as_ref()) {
        add(&l.advisory_ids);
    }
    if let Some(l) = &qe_level {
        add(&l.advisory_ids);
    }
    let tcb_date = platform.map(|l| l.tcb_date.clone());
    Ok(VerifiedDcap { quote, collateral: coll, tcb, qe_status, qe_level, advisory_ids, tcb_date, warnings })
}

/// The PCK chain the quote carries (types 4 and 5), leaf first; empty for types 1..3. A
/// certificate whose exact DER bytes are also in `collateral` is that parsed certificate (the
/// quote's PCK CA and root usually are); the others are parsed. With a cache, parsed chains are
/// reused, keyed by SHA-256 of the raw PEM bytes they were parsed from.
fn quote_chain<'a>(
    quote: &Quote,
    collateral: &'a Collateral,
    cache: Option<&CollateralCache>,
    parsed: &'a mut Option<Arc<Vec<Certificate>>>,
) -> Result<Vec<&'a Certificate>> {
    let cd = quote.pck_certification();
    let (pem, ders) = match &cd.data {
        CertData::PckChain { pem, der } | CertData::PckLeaf { pem, der } => (pem, der),
        _ => return Ok(Vec::new()),
    };
    let parse = |i: usize, d: &[u8]| {
        Certificate::from_der(d)
            .map_err(|e| ev(Check::DcapPckChain, format!("certificate {i} of the quote's PCK chain: {e}")))
    };
    let Some(c) = cache else {
        // One pass: each certificate is the collateral's (same bytes) or parsed here.
        let mut known: Vec<Option<&'a Certificate>> = Vec::with_capacity(ders.len());
        let mut own = Vec::new();
        for (i, d) in ders.iter().enumerate() {
            let h = sha256(d);
            let k = collateral.certs.iter().find(|c| c.sha256 == h);
            if k.is_none() {
                own.push(parse(i, d)?);
            }
            known.push(k);
        }
        let own: &'a Vec<Certificate> = parsed.insert(Arc::new(own));
        let mut own = own.iter();
        return Ok(known.into_iter().filter_map(|k| k.or_else(|| own.next())).collect());
    };
    let mut k = Vec::with_capacity(pem.len() + 2);
    k.extend_from_slice(&cd.cert_type.to_le_bytes());
    k.extend_from_slice(pem);
    let key = sha256(&k);
    let certs = match c.chains.get(&key) {
        Some(v) => v,
        None => {
            let mut certs = Vec::with_capacity(ders.len());
            for (i, d) in ders.iter().enumerate() {
                certs.push(parse(i, d)?);
            }
            let certs = Arc::new(certs);
            c.chains.insert(key, certs.clone());
            certs
        }
    };
    let certs: &'a Vec<Certificate> = parsed.insert(certs);
    Ok(certs.iter().collect())
}

/// The interval in which every document and certificate of the collateral is valid at once.
struct Window {
    from: i64,
    until: i64,
}

impl Window {
    fn narrow(&mut self, from: i64, until: i64) {
        self.from = self.from.max(from);
        self.until = self.until.min(until);
    }
}

/// Steps 2 to 6, cached by content.
fn verify_collateral(
    quote: &Quote,
    collateral: &Collateral,
    opts: &DcapOptions,
    cache: Option<&CollateralCache>,
) -> Result<Arc<VerifiedCollateral>> {
    let at = opts.at;
    // 2. PCK chain: from the quote (types 4/5), else from collateral.
    let mut parsed = None;
    let quote_certs = quote_chain(quote, collateral, cache, &mut parsed)?;
    let pool: Vec<&Certificate> = quote_certs.iter().copied().chain(collateral.certs.iter()).collect();
    let pck = pck_leaf(quote, quote_certs.first().copied(), collateral)?;
    let (pck_ca, root) = pck_issuers(pck, &pool)?;
    let simulated = pinned(root, opts.trust_simulated)?;
    let crls: Vec<&Crl> = collateral.crls.iter().collect();
    let docs: Vec<&DcapItem> = collateral.dcap.iter().collect();

    // Validity first (cheap, and it names the certificate), signatures below (cached).
    let chain_err = |d: String| ev(Check::DcapPckChain, d);
    for c in [pck, pck_ca, root] {
        c.check_critical_extensions().map_err(|e| chain_err(e.into()))?;
        c.check_validity(at).map_err(|e| chain_err(e.into()))?;
    }
    let pck_ext = PckExtensions::read(pck)?;
    let docs = select_docs(&docs, &pck_ext.fmspc, &pck_ext.pce_id, quote.is_tdx(), at)?;

    // Cache key: every input of steps 2..6.
    let root_crls: Vec<&Crl> = crls.iter().copied().filter(|c| c.issuer_raw == root.subject_raw).collect();
    let ca_crls: Vec<&Crl> = crls.iter().copied().filter(|c| c.issuer_raw == pck_ca.subject_raw).collect();
    let signers: Vec<&Certificate> = pool
        .iter()
        .copied()
        .filter(|c| c.subject_cn == roots::TCB_SIGNING_CN && c.issuer_raw == root.subject_raw)
        .collect();
    let mut key = Vec::with_capacity(32 * 8);
    for c in [root, pck_ca, pck] {
        key.extend_from_slice(&c.sha256);
    }
    for c in &signers {
        key.extend_from_slice(&c.sha256);
    }
    for c in root_crls.iter().chain(ca_crls.iter()) {
        key.extend_from_slice(&c.sha256);
    }
    key.extend_from_slice(&docs.tcb_info.signed.digest);
    key.extend_from_slice(&docs.qe_identity.signed.digest);
    key.push(opts.require_crl as u8);
    key.push(opts.trust_simulated as u8);
    let key = sha256(&key);
    if let Some(v) = cache.and_then(|c| c.map.get_valid(&key, at)) {
        return Ok(v);
    }

    // The pinned Intel root is trusted as exactly these bytes (its fingerprint): its
    // self-signature, a property of those bytes, was checked when it was pinned. Any other
    // (simulated) root has its self-signature checked.
    if simulated {
        root.verify_issued_by(root).map_err(|e| chain_err(format!("root self-signature: {e}")))?;
    }
    pck_ca.verify_issued_by(root).map_err(|e| chain_err(e.into()))?;
    pck.verify_issued_by(pck_ca).map_err(|e| chain_err(e.into()))?;
    if pck.is_ca {
        return Err(chain_err(format!("PCK '{}' is a CA certificate", pck.subject_cn)));
    }
    let mut w = Window {
        from: root.not_before.max(pck_ca.not_before).max(pck.not_before),
        until: root.not_after.min(pck_ca.not_after).min(pck.not_after),
    };
    let mut warnings = Vec::new();
    let mut crls_checked = 0;

    // 3. Root CA CRL.
    let root_fresh = crls_for(Check::DcapRootCrl, &root_crls, root, at)?;
    let missing_root_crl =
        "no Intel SGX Root CA CRL was supplied (Intel PCS /sgx/certification/v4/rootcacrl)".to_string();
    match revocation(Check::DcapRootCrl, root_fresh.as_deref(), opts.require_crl, missing_root_crl, &mut w)? {
        None => warnings.push(co(
            Check::DcapRootCrl,
            "no Intel SGX Root CA CRL supplied: revocation of the PCK CA and TCB Signing certificates was not checked",
        )),
        Some(list) => {
            crls_checked += list.len();
            if list.iter().any(|crl| crl.is_revoked(&pck_ca.serial)) {
                return Err(ev(
                    Check::DcapRootCrl,
                    format!(
                        "'{}' serial {} is revoked by the Root CA CRL",
                        pck_ca.subject_cn,
                        hex::encode(&pck_ca.serial)
                    ),
                ));
            }
        }
    }
    // 4. PCK CRL.
    let ca_fresh = crls_for(Check::DcapPckCrl, &ca_crls, pck_ca, at)?;
    let missing_pck_crl = format!(
        "no CRL of '{}' was supplied (Intel PCS /sgx/certification/v4/pckcrl?ca={})",
        pck_ca.subject_cn,
        if pck_ca.subject_cn == roots::PROCESSOR_CA_CN { "processor" } else { "platform" }
    );
    match revocation(Check::DcapPckCrl, ca_fresh.as_deref(), opts.require_crl, missing_pck_crl, &mut w)? {
        None => warnings.push(co(
            Check::DcapPckCrl,
            format!("no CRL of '{}' supplied: revocation of the PCK certificate was not checked", pck_ca.subject_cn),
        )),
        Some(list) => {
            crls_checked += list.len();
            if list.iter().any(|crl| crl.is_revoked(&pck.serial)) {
                return Err(ev(
                    Check::DcapPckCrl,
                    format!(
                        "PCK certificate serial {} is revoked by the CRL of '{}' (QVL: PCK_REVOKED)",
                        hex::encode(&pck.serial),
                        pck_ca.subject_cn
                    ),
                ));
            }
        }
    }
    let pck_key = pck
        .public_key
        .as_ref()
        .ok_or_else(|| chain_err("PCK public key is not supported".into()))?
        .parsed(SigAlg::EcdsaP256Sha256Fixed)
        .map_err(|e| chain_err(format!("PCK public key: {e} (an ECDSA P-256 key is required)")))?;

    // TCB Signing certificate (signs TCB info and QE identity).
    let signer = tcb_signer(&signers, root, root_fresh.as_deref(), at)?;
    let signer_key =
        signer.public_key.as_ref().ok_or_else(|| co(Check::DcapTcbInfo, "TCB Signing key is not supported"))?;
    w.narrow(signer.not_before, signer.not_after);

    // 5. TCB info signature over the raw bytes; 6. QE identity signature.
    let (ti, qi) = (&docs.tcb_info, &docs.qe_identity);
    check_signed(Check::DcapTcbInfo, "TCB info", &ti.signed, signer_key)?;
    w.narrow(ti.issue_date.0, ti.next_update.0.saturating_sub(1));
    check_signed(Check::DcapQeIdentity, "QE identity", &qi.signed, signer_key)?;
    w.narrow(qi.issue_date.0, qi.next_update.0.saturating_sub(1));

    let v = Arc::new(VerifiedCollateral {
        valid_from: w.from,
        valid_until: w.until,
        pck: pck.clone(),
        pck_key,
        pck_ext,
        pck_ca: pck_ca.clone(),
        root_sha256: root.sha256,
        simulated,
        tcb_info: docs.tcb_info.clone(),
        qe_identity: docs.qe_identity.clone(),
        crls_checked,
        warnings,
    });
    if let Some(c) = cache {
        c.map.insert(key, v.clone());
    }
    Ok(v)
}

/// Step 2a: the PCK certificate: the quote's (types 4/5), else the supplied one whose key signed
/// the QE report (types 1..3). Its CN must name it a PCK certificate (QVL 4.1.2.4.4).
fn pck_leaf<'a>(
    quote: &Quote,
    carried: Option<&'a Certificate>,
    collateral: &'a Collateral,
) -> Result<&'a Certificate> {
    let pck = match carried {
        Some(c) => c,
        None => {
            let signs = |c: &&Certificate| {
                c.public_key.as_ref().is_some_and(|k| {
                    k.verify(SigAlg::EcdsaP256Sha256Fixed, &quote.qe_report.raw, &quote.qe_report_signature).is_ok()
                })
            };
            collateral.certs.iter().filter(|c| c.subject_cn.contains(roots::PCK_CN_PHRASE)).find(signs).ok_or_else(|| {
                co(
                    Check::DcapPckChain,
                    format!(
                        "the quote carries certification data type {} (no PCK certificate) and no supplied PCK certificate signed its QE report: fetch it from Intel PCS /sgx/certification/v4/pckcert",
                        quote.pck_certification().cert_type
                    ),
                )
            })?
        }
    };
    if !pck.subject_cn.contains(roots::PCK_CN_PHRASE) {
        return Err(ev(
            Check::DcapPckChain,
            format!(
                "leaf '{}' is not a PCK certificate (CN must contain \"{}\", QVL 4.1.2.4.4)",
                pck.subject,
                roots::PCK_CN_PHRASE
            ),
        ));
    }
    Ok(pck)
}

/// Step 2b: the PCK's issuer (Intel SGX PCK Platform/Processor CA) and its self-issued root
/// (the pinned Intel root preferred) from the pool. Signatures are checked by the caller.
fn pck_issuers<'a>(pck: &Certificate, pool: &[&'a Certificate]) -> Result<(&'a Certificate, &'a Certificate)> {
    let cas: Vec<&Certificate> = pool
        .iter()
        .copied()
        .filter(|c| {
            c.subject_raw == pck.issuer_raw
                && (c.subject_cn == roots::PLATFORM_CA_CN || c.subject_cn == roots::PROCESSOR_CA_CN)
        })
        .collect();
    // One candidate (the usual case, possibly supplied twice: in the quote and in collateral) is
    // taken as is: its signature on the PCK is checked by the caller, or was checked when the
    // cached entry (keyed by this exact CA certificate) was made.
    let pck_ca = match cas.first() {
        Some(first) if cas.iter().all(|c| c.sha256 == first.sha256) => Some(*first),
        _ => None,
    };
    let pck_ca = pck_ca
        .or_else(|| cas.iter().copied().find(|c| pck.verify_issued_by(c).is_ok()))
        .or(cas.first().copied())
        .ok_or_else(|| {
            co(
                Check::DcapPckChain,
                format!("the PCK's issuer '{}' (Intel SGX PCK Platform/Processor CA) is not supplied", pck.issuer),
            )
        })?;
    let root_c: Vec<&Certificate> =
        pool.iter().copied().filter(|c| c.subject_raw == pck_ca.issuer_raw && c.is_self_issued()).collect();
    let root = root_c
        .iter()
        .copied()
        .find(|c| c.fingerprint_hex() == roots::INTEL_SGX_ROOT_CA)
        .or(root_c.first().copied())
        .ok_or_else(|| co(Check::DcapPckChain, format!("the root '{}' is not supplied", pck_ca.issuer)))?;
    Ok((pck_ca, root))
}

/// Steps 3 and 4, the shared part: the fresh CRLs of one issuer narrow the window; none is a
/// collateral failure when the policy requires CRLs (`missing` says which and where to get it).
fn revocation<'a>(
    check: Check,
    fresh: Option<&'a [&'a Crl]>,
    require_crl: bool,
    missing: String,
    w: &mut Window,
) -> Result<Option<&'a [&'a Crl]>> {
    match fresh {
        None if require_crl => Err(co(check, format!("policy requires CRLs and {missing}"))),
        None => Ok(None),
        Some(list) => {
            for crl in list {
                w.narrow(crl.this_update, crl.next_update.unwrap_or(i64::MIN).saturating_sub(1));
            }
            Ok(Some(list))
        }
    }
}

/// The TCB Signing certificate: the first supplied one that is valid, issued by the root and not
/// revoked by the root's CRL (it signs the TCB info and the QE identity).
fn tcb_signer<'a>(
    signers: &[&'a Certificate],
    root: &Certificate,
    root_crls: Option<&[&Crl]>,
    at: Timestamp,
) -> Result<&'a Certificate> {
    let mut refused = Vec::new();
    for s in signers {
        let r = s
            .check_critical_extensions()
            .and_then(|_| s.check_validity(at))
            .and_then(|_| s.verify_issued_by(root))
            .and_then(|_| match root_crls {
                Some(l) if l.iter().any(|c| c.is_revoked(&s.serial)) => Err(X509Error::Revoked {
                    subject: s.subject_cn.clone(),
                    serial: hex::encode(&s.serial),
                    by: "Root CA CRL",
                }),
                _ => Ok(()),
            });
        match r {
            Ok(()) => return Ok(s),
            Err(e) => refused.push(e),
        }
    }
    Err(co(
        Check::DcapTcbInfo,
        if refused.is_empty() {
            "no Intel SGX TCB Signing certificate issued by the root was supplied (the TCB info issuer chain)"
                .to_string()
        } else {
            format!(
                "no usable Intel SGX TCB Signing certificate: {}",
                refused.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")
            )
        },
    ))
}

/// Steps 5 and 6: a signed collateral document's signature over its raw bytes.
fn check_signed(check: Check, what: &str, signed: &Signed, key: &PublicKey) -> Result<()> {
    key.verify(SigAlg::EcdsaP256Sha256Fixed, &signed.raw, &signed.signature).map_err(|e| {
        co(check, format!("{what} ({}) signature over its {} raw bytes: {e}", signed.source, signed.raw.len()))
    })
}

fn find_module(info: &TcbInfo, version: u8) -> Option<&super::collateral::TdxModuleIdentity> {
    let want = format!("TDX_{version:02X}");
    info.json.tdx_module_identities.as_ref()?.iter().find(|m| m.id.to_ascii_uppercase() == want)
}

fn hex_field<const N: usize>(s: &str, what: &str) -> Result<[u8; N]> {
    let v = hex::decode(s).map_err(|e| co(Check::DcapTdxModule, format!("{what} '{s}' is not hex: {e}")))?;
    v.as_slice().try_into().map_err(|_| co(Check::DcapTdxModule, format!("{what} is {} bytes, expected {N}", v.len())))
}

/// QVL 4.1.2.4.11: MRSIGNERSEAM equal to the module's mrsigner; SEAMATTRIBUTES all zero and equal
/// to the module's attributes (Intel does not apply the mask).
fn check_tdx_module(quote: &Quote, td: &super::format::TdReport, info: &TcbInfo) -> Result<()> {
    if info.id() != "TDX" {
        return Ok(());
    }
    let version = td.tee_tcb_svn[1];
    let (mrsigner, attributes, src) = if quote.header.version > 3 && version > 0 {
        let m = find_module(info, version).ok_or_else(|| {
            ev(
                Check::DcapTdxModule,
                format!("TCB info has no tdxModuleIdentities entry TDX_{version:02X} for TEE_TCB_SVN[1] = {version} (QVL: TDX_MODULE_MISMATCH)"),
            )
        })?;
        (m.mrsigner.as_str(), m.attributes.as_str(), format!("tdxModuleIdentities {}", m.id))
    } else {
        let m =
            info.json.tdx_module.as_ref().ok_or_else(|| co(Check::DcapTdxModule, "TDX TCB info has no tdxModule"))?;
        (m.mrsigner.as_str(), m.attributes.as_str(), "tdxModule".to_string())
    };
    let mrsigner: [u8; 48] = hex_field(mrsigner, "mrsigner")?;
    let attributes: [u8; 8] = hex_field(attributes, "attributes")?;
    if mrsigner != td.mr_signer_seam {
        return Err(ev(
            Check::DcapTdxModule,
            format!(
                "MRSIGNERSEAM {} is not the {src} mrsigner {}",
                hex::encode(td.mr_signer_seam),
                hex::encode(mrsigner)
            ),
        ));
    }
    if td.seam_attributes.iter().zip(attributes.iter()).any(|(q, a)| *q != 0 || q != a) {
        return Err(ev(
            Check::DcapTdxModule,
            format!(
                "SEAMATTRIBUTES {} must be zero and equal to the {src} attributes {}",
                hex::encode(td.seam_attributes),
                hex::encode(attributes)
            ),
        ));
    }
    Ok(())
}

/// QVL 4.1.2.4.14/15 and EnclaveReportVerifier 4.1.2.9.5..10.
fn check_qe_identity(quote: &Quote, id: &EnclaveIdentity) -> Result<(QeStatus, Option<IsvTcbLevel>)> {
    let r = &quote.qe_report;
    let bad = |d: String| ev(Check::DcapQeIdentity, format!("{d} (QVL: QE_IDENTITY_MISMATCH)"));
    if r.misc_select & id.miscselect_mask != id.miscselect {
        return Err(bad(format!(
            "qeReport.miscSelect {:08x} & mask {:08x} is not {:08x}",
            r.misc_select, id.miscselect_mask, id.miscselect
        )));
    }
    let mut masked = r.attributes;
    for (a, m) in masked.iter_mut().zip(id.attributes_mask.iter()) {
        *a &= m;
    }
    if masked != id.attributes {
        return Err(bad(format!(
            "qeReport.attributes {} & mask {} is not {}",
            hex::encode(r.attributes),
            hex::encode(id.attributes_mask),
            hex::encode(id.attributes)
        )));
    }
    if r.mr_signer != id.mrsigner {
        return Err(bad(format!("qeReport.mrSigner {} is not {}", hex::encode(r.mr_signer), hex::encode(id.mrsigner))));
    }
    if u32::from(r.isv_prod_id) != id.json.isvprodid {
        return Err(bad(format!("qeReport.isvProdID {} is not {}", r.isv_prod_id, id.json.isvprodid)));
    }
    let level = id.json.tcb_levels.iter().find(|l| l.tcb.isvsvn <= u32::from(r.isv_svn));
    Ok(match level {
        None => (QeStatus::TcbLevelNotFound, None),
        Some(l) if l.tcb_status == "UpToDate" => (QeStatus::UpToDate, Some(l.clone())),
        Some(l) if l.tcb_status == "Revoked" => (QeStatus::Revoked, Some(l.clone())),
        Some(l) => (QeStatus::OutOfDate, Some(l.clone())),
    })
}

fn comps(level: &TcbLevel, tdx: bool) -> Result<Vec<u32>> {
    let list = if tdx { level.tcb.tdxtcbcomponents.as_deref().unwrap_or(&[]) } else { &level.tcb.sgxtcbcomponents };
    if list.len() != 16 {
        return Err(co(
            Check::DcapTcbInfo,
            format!(
                "a TCB level has {} {} components, 16 expected",
                list.len(),
                if tdx { "tdxtcbcomponents" } else { "sgxtcbcomponents" }
            ),
        ));
    }
    Ok(list.iter().map(|c| c.svn).collect())
}

/// The levels in Intel's order: a `std::set<TcbLevel, std::greater>` (SGX components, then PCESVN,
/// then, for TDX v3, the TDX components, descending; equal levels kept once).
/// (SGX components, PCESVN, TDX components, level).
type SortedLevel<'a> = (Vec<u32>, u32, Vec<u32>, &'a TcbLevel);

fn sorted_levels(info: &TcbInfo, tdx_id: bool) -> Result<Vec<SortedLevel<'_>>> {
    let mut v = Vec::with_capacity(info.json.tcb_levels.len());
    for l in &info.json.tcb_levels {
        let t = if tdx_id { comps(l, true)? } else { Vec::new() };
        v.push((comps(l, false)?, l.tcb.pcesvn, t, l));
    }
    v.sort_by(|a, b| (&b.0, b.1, &b.2).cmp(&(&a.0, a.1, &a.2)));
    v.dedup_by(|a, b| a.0 == b.0 && a.1 == b.1 && a.2 == b.2);
    Ok(v)
}

fn converge_with_qe(t: TcbStatus, qe: QeStatus) -> TcbStatus {
    use TcbStatus::*;
    if qe == QeStatus::OutOfDate {
        match t {
            UpToDate | SWHardeningNeeded => return OutOfDate,
            ConfigurationNeeded | ConfigurationAndSWHardeningNeeded => return OutOfDateConfigurationNeeded,
            _ => {}
        }
    }
    match qe {
        QeStatus::Revoked => Revoked,
        QeStatus::TcbLevelNotFound => TcbLevelNotFound,
        _ => t,
    }
}

fn converge_with_module(t: TcbStatus, m: TcbStatus) -> TcbStatus {
    use TcbStatus::*;
    if m == OutOfDate {
        match t {
            UpToDate | SWHardeningNeeded => return OutOfDate,
            ConfigurationNeeded | ConfigurationAndSWHardeningNeeded => return OutOfDateConfigurationNeeded,
            _ => {}
        }
    }
    if m == Revoked { Revoked } else { t }
}

fn is_configuration_needed(s: TcbStatus) -> bool {
    use TcbStatus::*;
    matches!(
        s,
        ConfigurationNeeded
            | OutOfDateConfigurationNeeded
            | ConfigurationAndSWHardeningNeeded
            | TDRelaunchAdvisedConfigurationNeeded
    )
}

/// TdxModuleCheck.cpp `checkTdxModuleTcbStatus`: Ok(None) when the module version is 0.
fn module_status(quote: &Quote, tee: &[u8; 16], info: &TcbInfo) -> Result<Option<ModuleEval>> {
    let (version, isv_svn) = (tee[1], tee[0]);
    if quote.header.version > 3 && version == 0 {
        return Ok(None);
    }
    let m = find_module(info, version).ok_or_else(|| {
        ev(Check::DcapTdxModule, format!("no tdxModuleIdentities entry TDX_{version:02X} (QVL: TDX_MODULE_MISMATCH)"))
    })?;
    let level = m.tcb_levels.iter().find(|l| u32::from(isv_svn) >= l.tcb.isvsvn);
    let (status, level) = match level {
        None => (TcbStatus::TcbLevelNotFound, None),
        Some(l) => (status_of(&l.tcb_status, MODULE_STATUSES, &format!("{} level", m.id))?, Some(l.clone())),
    };
    Ok(Some(ModuleEval { id: m.id.clone(), isv_svn, status, level }))
}

/// TcbLevelCheck.cpp `checkTcbLevel`.
pub(crate) fn check_tcb_level(info: &TcbInfo, pck: &PckExtensions, quote: &Quote, qe: QeStatus) -> Result<TcbEval> {
    let is_tdx = info.json.version >= 3 && info.id() == "TDX" && quote.is_tdx();
    let tee = if is_tdx { quote.body.td().map(|t| t.tee_tcb_svn) } else { None };
    let levels = sorted_levels(info, info.id() == "TDX")?;
    let mut sgx_level: Option<&TcbLevel> = None;
    let mut tdx_level: Option<&TcbLevel> = None;
    for (sgx, pcesvn, tdxc, level) in &levels {
        let sgx_ok = sgx.iter().zip(pck.sgx_tcb_components.iter()).all(|(l, p)| u32::from(*p) >= *l);
        if !(sgx_ok && u32::from(pck.pce_svn) >= *pcesvn) {
            continue;
        }
        match &tee {
            Some(t) => {
                if sgx_level.is_none() {
                    sgx_level = Some(level);
                }
                let start = if t[1] > 0 { 2 } else { 0 };
                if (start..16).all(|i| u32::from(t[i]) >= tdxc.get(i).copied().unwrap_or(u32::MAX)) {
                    tdx_level = Some(level);
                    break;
                }
            }
            None => {
                sgx_level = Some(level);
                break;
            }
        }
    }
    let mut eval = TcbEval {
        status: TcbStatus::TcbLevelNotFound,
        sgx_level: sgx_level.cloned(),
        tdx_level: tdx_level.cloned(),
        module: None,
    };
    let Some(sgx_level) = sgx_level else {
        return Ok(eval);
    };
    let sgx_status = status_of(&sgx_level.tcb_status, TCB_INFO_STATUSES, "TCB level")?;
    let Some(tee) = tee else {
        eval.status = converge_with_qe(sgx_status, qe);
        return Ok(eval);
    };
    let Some(tdx_level) = tdx_level else {
        return Ok(eval);
    };
    // 4.1.2.4.17.4.1
    let module = module_status(quote, &tee, info)?;
    let module_st = module.as_ref().map(|m| m.status).unwrap_or(TcbStatus::UpToDate);
    eval.module = module;
    if module_st == TcbStatus::TcbLevelNotFound {
        return Ok(eval);
    }
    let mut tdx_status =
        converge_with_module(status_of(&tdx_level.tcb_status, TCB_INFO_STATUSES, "TCB level")?, module_st);
    if tdx_status == TcbStatus::Revoked {
        eval.status = tdx_status;
        return Ok(eval);
    }
    // 4.1.2.4.17.4.3
    if let Body::Td15(td) = &quote.body
        && let Some(tee2) = td.tee_tcb_svn2
    {
        tdx_status = check_for_relaunch(&tee2, info, &levels, sgx_status, tdx_status, module_st, qe)?;
    }
    eval.status = converge_with_qe(tdx_status, qe);
    Ok(eval)
}

/// TDRelaunchCheck.cpp `checkForRelaunch`.
fn check_for_relaunch(
    tee2: &[u8; 16],
    info: &TcbInfo,
    levels: &[SortedLevel<'_>],
    sgx: TcbStatus,
    tdx: TcbStatus,
    module: TcbStatus,
    qe: QeStatus,
) -> Result<TcbStatus> {
    use TcbStatus::*;
    let qe_ok = !matches!(qe, QeStatus::OutOfDate | QeStatus::Revoked | QeStatus::TcbLevelNotFound);
    if !(qe_ok
        && matches!(sgx, UpToDate | SWHardeningNeeded | ConfigurationNeeded | ConfigurationAndSWHardeningNeeded)
        && matches!(tdx, OutOfDate | OutOfDateConfigurationNeeded)
        && module == OutOfDate)
    {
        return Ok(tdx);
    }
    let Some((_, _, latest_tdx, _)) = levels.first() else {
        return Ok(TcbLevelNotFound);
    };
    let c = |i: usize| latest_tdx.get(i).copied().unwrap_or(u32::MAX);
    let relaunch = || {
        if is_configuration_needed(sgx) || is_configuration_needed(tdx) {
            TDRelaunchAdvisedConfigurationNeeded
        } else {
            TDRelaunchAdvised
        }
    };
    if tee2[1] == 0 {
        if u32::from(tee2[0]) >= c(0) && u32::from(tee2[2]) >= c(2) {
            return Ok(relaunch());
        }
    } else {
        let m = find_module(info, tee2[1]).ok_or_else(|| {
            ev(
                Check::DcapTdxModule,
                format!(
                    "no tdxModuleIdentities entry TDX_{:02X} for TEE_TCB_SVN2[1] (QVL: TDX_MODULE_MISMATCH)",
                    tee2[1]
                ),
            )
        })?;
        let Some(latest) = m.tcb_levels.first() else {
            return Ok(TcbLevelNotFound);
        };
        if u32::from(tee2[0]) >= latest.tcb.isvsvn && u32::from(tee2[2]) >= c(2) {
            return Ok(relaunch());
        }
    }
    Ok(tdx)
}
