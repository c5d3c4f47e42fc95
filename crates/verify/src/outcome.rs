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

/// The verdict, in the trustworthiness tiers of an attestation result (EAR).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Verified and appraised with no failure and no warning.
    Affirming,
    /// Verified and appraised with no failure, but with warnings.
    Warning,
    /// At least one failure: not to be trusted.
    Contraindicated,
}

/// Everything a verification needs besides the evidence and collateral.
#[derive(Debug, Clone)]
pub struct VerifyOptions {
    /// The evaluation time: nothing below the CLI reads the clock.
    pub at: Timestamp,
    /// The appraisal policy.
    pub policy: Policy,
    /// The verifier's nonce the evidence must be bound to (else the policy's `nonce`, if any).
    pub nonce: Option<Vec<u8>>,
    /// The SNP product line (`--product`); else the policy's `[snp] product`.
    pub product: Option<snp::Product>,
    /// Accept debug-mode TEEs whatever the policy says (`--allow-debug`).
    pub allow_debug: bool,
    /// Also trust cloud-ra's simulated roots (`--trust-simulated`).
    pub trust_simulated: bool,
    /// Nitro: evaluate certificates at the document's own signed timestamp (`--at document`);
    /// `at` then only bounds the document's age (policy `nitro.max_age`).
    pub use_document_time: bool,
    /// Event logs (TPM or CCEL) to replay against the verified registers (`verify --eventlog`).
    pub eventlogs: Vec<crate::eventlog::EventLog>,
}

impl VerifyOptions {
    /// The defaults at `at`: the default policy, no nonce, no event logs, nothing relaxed.
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
    /// Verified SNP certificate chains.
    pub snp: snp::ChainCache,
    /// Verified Nitro certificate chains.
    pub nitro: crate::nitro::NitroCache,
    /// Verified Intel DCAP collateral.
    pub dcap: crate::dcap::CollateralCache,
}

/// One failed (or warned) check of an outcome.
#[derive(Debug, Clone, Serialize)]
pub struct Failure {
    /// The check.
    pub check: Check,
    /// The field and what was wrong with it.
    pub detail: String,
    /// The failure's category (not serialised; it decides the exit code).
    #[serde(skip)]
    pub category: Category,
}

impl From<&Error> for Failure {
    fn from(e: &Error) -> Self {
        Failure { check: e.check, detail: e.detail.clone(), category: e.category }
    }
}

/// The result of verifying and appraising one piece of evidence.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    /// The platform of the evidence (as detected, when verification failed).
    pub platform: Platform,
    /// What the input was detected as, for people.
    pub detected: String,
    /// The evidence verified (format, signatures, chains, bindings); appraisal may still have failed.
    pub verified: bool,
    /// The verdict.
    pub status: Status,
    /// Failed checks; a failure that makes the evidence invalid comes first.
    pub failures: Vec<Failure>,
    /// Checks that passed with a caveat.
    pub warnings: Vec<Failure>,
    /// What the evidence says (empty when it did not verify).
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

    /// The outcome as JSON (its serialisation).
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

/// Verifies and appraises evidence already detected (see [`verify_evidence`]).
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
