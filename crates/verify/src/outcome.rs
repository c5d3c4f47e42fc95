//! The `verify` contract: evidence bytes in, one `Outcome` out (verdict, status, failures,
//! claims), with the documented exit codes.

use crate::Check;
use crate::bundle::{Detected, Evidence, detect};
use crate::claims::Claims;
use crate::collateral::Collateral;
use crate::error::{Category, Error};
use crate::platform::Platform;
use crate::policy::Policy;
use crate::snp;
use crate::tee::run;
use crate::time::Timestamp;
use crate::{azure, dcap, gce, nitro};
use serde::Serialize;
use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Affirming,
    Warning,
    Contraindicated,
}

/// Everything a verification needs besides the evidence and collateral.
#[derive(Debug, Clone)]
pub struct VerifyOptions {
    pub at: Timestamp,
    pub policy: Policy,
    pub nonce: Option<Vec<u8>>,
    pub product: Option<snp::Product>,
    pub allow_debug: bool,
    pub trust_simulated: bool,
    /// Nitro: evaluate certificates at the document's own signed timestamp (`--at document`);
    /// `at` then only bounds the document's age (policy `nitro.max_age`).
    pub use_document_time: bool,
    /// Event logs (TPM or CCEL) to replay against the verified registers (`verify --eventlog`).
    pub eventlogs: Vec<crate::eventlog::EventLog>,
}

impl VerifyOptions {
    pub fn at(at: Timestamp) -> Self {
        VerifyOptions {
            at,
            policy: Policy::default(),
            nonce: None,
            product: None,
            allow_debug: false,
            trust_simulated: false,
            use_document_time: false,
            eventlogs: Vec::new(),
        }
    }
}

/// Caches shared across verifications (a server keeps one).
#[derive(Default)]
pub struct Caches {
    pub snp: snp::ChainCache,
    pub nitro: crate::nitro::NitroCache,
    pub dcap: crate::dcap::CollateralCache,
}

#[derive(Debug, Clone, Serialize)]
pub struct Failure {
    pub check: Check,
    pub detail: String,
    #[serde(skip)]
    pub category: Category,
}

impl From<&Error> for Failure {
    fn from(e: &Error) -> Self {
        Failure { check: e.check, detail: e.detail.clone(), category: e.category }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    pub platform: Platform,
    pub detected: String,
    pub verified: bool,
    pub status: Status,
    pub failures: Vec<Failure>,
    pub warnings: Vec<Failure>,
    pub claims: Claims,
}

impl Outcome {
    pub(crate) fn failed(platform: Platform, detected: &str, e: &Error) -> Self {
        Outcome {
            platform,
            detected: detected.into(),
            verified: false,
            status: Status::Contraindicated,
            failures: vec![e.into()],
            warnings: Vec::new(),
            claims: Claims::none(),
        }
    }

    /// The outcome of input no detector recognised (`e` says why): platform unknown, not verified.
    pub fn unrecognised(e: &Error) -> Self {
        Outcome::failed(Platform::Unknown, "unrecognised input", e)
    }

    /// 0 verified and appraised OK; 1 usage; 2 evidence invalid; 3 collateral; 4 appraisal.
    pub fn exit_code(&self) -> i32 {
        match self.failures.first() {
            None => 0,
            Some(f) if self.verified && f.category == Category::Appraisal => 4,
            Some(f) => f.category.exit_code(),
        }
    }

    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

/// Detects, verifies and appraises one piece of evidence.
pub fn verify_evidence(
    bytes: &[u8],
    collateral: &Collateral,
    opts: &VerifyOptions,
    caches: Option<&Caches>,
) -> Outcome {
    let detected = match detect(bytes) {
        Ok(d) => d,
        Err(e) => return Outcome::unrecognised(&e),
    };
    verify_detected(&detected, collateral, opts, caches)
}

pub fn verify_detected(
    d: &Detected,
    collateral: &Collateral,
    opts: &VerifyOptions,
    caches: Option<&Caches>,
) -> Outcome {
    let mut o = match &d.evidence {
        Evidence::Snp { report, cert_table } => {
            run::<snp::Snp>(&d.what, &snp::SnpEvidence { report, cert_table }, collateral, opts, caches)
        }
        Evidence::Dcap { quote } => {
            // The platform before verification: from the header's TEE type.
            let platform = if d.platform() == Platform::Tdx { Platform::Tdx } else { Platform::Sgx };
            let ev = dcap::DcapEvidence { quote, platform };
            with_bundle_collateral(d, collateral, platform, |c| run::<dcap::Dcap>(&d.what, &ev, c, opts, caches))
        }
        Evidence::Nitro { document } => run::<nitro::Nitro>(&d.what, &document.as_slice(), collateral, opts, caches),
        Evidence::AzureVtpm(e) => {
            let platform = <azure::Azure as crate::tee::Tee>::platform_of(e);
            with_bundle_collateral(d, collateral, platform, |c| run::<azure::Azure>(&d.what, e, c, opts, caches))
        }
        Evidence::GceVtpm(a) => {
            with_bundle_collateral(d, collateral, Platform::GceVtpm, |c| run::<gce::Gce>(&d.what, a, c, opts, caches))
        }
    };
    // Measured boot: replay the given logs and those the bundle carries against the verified
    // registers (claims + `[eventlog]`). A carried log that does not parse fails the evidence.
    let carried = match crate::eventlog::bind::bundle_logs(d) {
        Ok(l) => l,
        Err(e) => {
            // Part of the evidence is invalid: the outcome as a whole is not verified.
            o.failures.insert(0, Failure::from(&e));
            o.verified = false;
            o.status = Status::of(&o.failures, &o.warnings);
            Vec::new()
        }
    };
    if !opts.eventlogs.is_empty() || !carried.is_empty() || opts.policy.eventlog.is_active() {
        let logs: Vec<crate::eventlog::EventLog> = opts.eventlogs.iter().cloned().chain(carried).collect();
        let b = crate::eventlog::bind::bind(o.verified, o.platform, o.claims.registers(), &logs, &opts.policy.eventlog);
        o.merge_eventlogs(b);
    }
    o
}

/// The caller's collateral plus what a bundle carries in `certs` (PCS bodies, certificates, CRLs).
fn with_bundle_collateral(
    d: &Detected,
    collateral: &Collateral,
    platform: Platform,
    f: impl FnOnce(&Collateral) -> Outcome,
) -> Outcome {
    let c = match d.bundle_collateral() {
        Ok(c) => c,
        Err(e) => return Outcome::failed(platform, &d.what, &e),
    };
    if c.certs.is_empty() && c.crls.is_empty() && c.dcap.is_empty() {
        return f(collateral);
    }
    let mut all = collateral.clone();
    all.merge(&c);
    f(&all)
}

impl Status {
    /// The one status rule: any failure contraindicates, any warning warns.
    pub(crate) fn of(failures: &[Failure], warnings: &[Failure]) -> Status {
        if !failures.is_empty() {
            Status::Contraindicated
        } else if !warnings.is_empty() {
            Status::Warning
        } else {
            Status::Affirming
        }
    }
}

impl Outcome {
    /// The outcome of verified evidence: claims plus the appraisal's failures and warnings.
    pub(crate) fn appraised(
        platform: Platform,
        detected: &str,
        claims: Claims,
        fails: Vec<Error>,
        warns: Vec<Error>,
    ) -> Outcome {
        let failures: Vec<Failure> = fails.iter().map(Failure::from).collect();
        let warnings: Vec<Failure> = warns.iter().map(Failure::from).collect();
        Outcome {
            platform,
            detected: detected.into(),
            verified: true,
            status: Status::of(&failures, &warnings),
            failures,
            warnings,
            claims,
        }
    }

    /// Adds an event-log binding's findings: a log that fails to replay goes first, the appraisal's
    /// failures and warnings after; the status follows the one rule.
    fn merge_eventlogs(&mut self, b: crate::eventlog::bind::Binding) {
        for (k, v) in b.claims {
            self.claims.insert(k, v);
        }
        for e in &b.evidence_failures {
            self.failures.insert(0, Failure::from(e));
        }
        self.failures.extend(b.failures.iter().map(Failure::from));
        self.warnings.extend(b.warnings.iter().map(Failure::from));
        self.status = Status::of(&self.failures, &self.warnings);
    }

    /// Verified evidence whose appraisal could not run (a malformed policy value).
    pub(crate) fn policy_error(platform: Platform, detected: &str, e: &Error) -> Outcome {
        let mut o = Outcome::failed(platform, detected, e);
        o.verified = true;
        o
    }
}
