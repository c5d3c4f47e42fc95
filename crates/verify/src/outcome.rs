//! The `verify` contract: evidence bytes in, one `Outcome` out (verdict, status, failures,
//! claims), with the documented exit codes.

use crate::Check;
use crate::bundle::{Detected, Evidence, detect};
use crate::collateral::Collateral;
use crate::error::{Category, Error};
use crate::platform::Platform;
use crate::policy::Policy;
use crate::snp;
use crate::time::Timestamp;
use serde::Serialize;
use serde_json::{Value, json};

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
    pub claims: Value,
}

impl Outcome {
    fn failed(platform: Platform, detected: &str, e: &Error) -> Self {
        Outcome {
            platform,
            detected: detected.into(),
            verified: false,
            status: Status::Contraindicated,
            failures: vec![e.into()],
            warnings: Vec::new(),
            claims: json!({}),
        }
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
        Err(e) => return Outcome::failed(Platform::Unknown, "unrecognised input", &e),
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
        Evidence::Snp { report, cert_table } => verify_snp(d, report, cert_table, collateral, opts, caches),
        Evidence::Dcap { quote } => verify_dcap(d, quote, collateral, opts, caches),
        Evidence::Nitro { document } => verify_nitro(d, document, opts, caches),
        Evidence::AzureVtpm(e) => verify_azure(d, e, collateral, opts, caches),
        Evidence::GceVtpm(a) => verify_gce(d, a, collateral, opts),
    };
    // Measured boot: replay the given logs and those the bundle carries against the verified
    // registers (claims + `[eventlog]`). A carried log that does not parse fails the evidence.
    let carried = match crate::eventlog::bind::bundle_logs(d) {
        Ok(l) => l,
        Err(e) => {
            // Part of the evidence is invalid: the outcome as a whole is not verified.
            o.failures.insert(0, Failure::from(&e));
            o.status = Status::Contraindicated;
            o.verified = false;
            Vec::new()
        }
    };
    if !opts.eventlogs.is_empty() || !carried.is_empty() || opts.policy.eventlog.is_active() {
        let logs: Vec<crate::eventlog::EventLog> = opts.eventlogs.iter().cloned().chain(carried).collect();
        crate::eventlog::bind::attach(&mut o, &logs, &opts.policy.eventlog);
    }
    o
}

impl Outcome {
    /// The outcome of verified evidence: claims plus the appraisal's failures and warnings.
    pub(crate) fn appraised(
        platform: Platform,
        detected: &str,
        claims: Value,
        fails: &[Error],
        warns: &[Error],
    ) -> Outcome {
        let status = if !fails.is_empty() {
            Status::Contraindicated
        } else if !warns.is_empty() {
            Status::Warning
        } else {
            Status::Affirming
        };
        Outcome {
            platform,
            detected: detected.into(),
            verified: true,
            status,
            failures: fails.iter().map(Failure::from).collect(),
            warnings: warns.iter().map(Failure::from).collect(),
            claims,
        }
    }

    /// Verified evidence whose appraisal could not run (a malformed policy value).
    pub(crate) fn policy_error(platform: Platform, detected: &str, e: &Error) -> Outcome {
        let mut o = Outcome::failed(platform, detected, e);
        o.verified = true;
        o
    }
}

fn verify_snp(
    d: &Detected,
    report: &[u8],
    cert_table: &[snp::CertTableEntry],
    collateral: &Collateral,
    opts: &VerifyOptions,
    caches: Option<&Caches>,
) -> Outcome {
    let product = match (opts.product, opts.policy.snp.product.as_deref()) {
        (Some(p), _) => Some(p),
        (None, Some(s)) => match snp::Product::parse(s) {
            Ok(p) => Some(p),
            Err(e) => return Outcome::failed(Platform::Snp, &d.what, &e),
        },
        _ => None,
    };
    let sopts = snp::SnpOptions {
        at: opts.at,
        product,
        trust_simulated: opts.trust_simulated,
        require_crl: opts.policy.require_crl.unwrap_or(false),
    };
    let ev = snp::SnpEvidence { report, cert_table };
    let verified = match snp::verify::verify(&ev, collateral, &sopts, caches.map(|c| &c.snp)) {
        Ok(v) => v,
        Err(e) => return Outcome::failed(Platform::Snp, &d.what, &e),
    };
    let ov = snp::appraise::Overrides { nonce: opts.nonce.clone(), allow_debug: opts.allow_debug };
    let (fails, warns) = match snp::appraise::appraise(&verified, &opts.policy, &ov) {
        Ok(x) => x,
        Err(e) => return Outcome::policy_error(Platform::Snp, &d.what, &e),
    };
    let mut claims = snp::claims::claims(&verified);
    mark_nonce_bound(&mut claims, opts, &fails);
    Outcome::appraised(Platform::Snp, &d.what, claims, &fails, &warns)
}

/// The caller's collateral plus what a bundle carries in `certs` (PCS bodies, certificates, CRLs).
fn with_bundle_collateral<'a>(
    d: &Detected,
    collateral: &'a Collateral,
) -> Result<std::borrow::Cow<'a, Collateral>, Error> {
    let c = d.bundle_collateral()?;
    if c.certs.is_empty() && c.crls.is_empty() && c.dcap.is_empty() {
        return Ok(std::borrow::Cow::Borrowed(collateral));
    }
    let mut all = collateral.clone();
    all.merge(&c);
    Ok(std::borrow::Cow::Owned(all))
}

/// `nonce_bound`: a nonce was required (flag or policy) and its check passed.
fn mark_nonce_bound(claims: &mut Value, opts: &VerifyOptions, fails: &[Error]) {
    if let Some(obj) = claims.as_object_mut() {
        let bound = (opts.nonce.is_some() || opts.policy.nonce.is_some())
            && !fails.iter().any(|f| f.check == Check::PolicyNonce);
        obj.insert("nonce_bound".into(), json!(bound));
    }
}

fn verify_nitro(d: &Detected, document: &[u8], opts: &VerifyOptions, caches: Option<&Caches>) -> Outcome {
    use crate::nitro;
    let nopts = nitro::NitroOptions {
        at: opts.at,
        use_document_time: opts.use_document_time,
        trust_simulated: opts.trust_simulated,
    };
    let verified = match nitro::verify::verify(document, &nopts, caches.map(|c| &c.nitro)) {
        Ok(v) => v,
        Err(e) => return Outcome::failed(Platform::Nitro, &d.what, &e),
    };
    let (fails, warns) =
        match nitro::appraise::appraise(&verified, &opts.policy, opts.nonce.as_deref(), opts.allow_debug, opts.at) {
            Ok(x) => x,
            Err(e) => return Outcome::policy_error(Platform::Nitro, &d.what, &e),
        };
    let mut claims = nitro::claims::claims(&verified);
    mark_nonce_bound(&mut claims, opts, &fails);
    Outcome::appraised(Platform::Nitro, &d.what, claims, &fails, &warns)
}

fn verify_dcap(
    d: &Detected,
    quote: &[u8],
    collateral: &Collateral,
    opts: &VerifyOptions,
    caches: Option<&Caches>,
) -> Outcome {
    use crate::dcap;
    // The platform name before verification: from the header's TEE type.
    let platform = if d.platform() == Platform::Tdx { Platform::Tdx } else { Platform::Sgx };
    // Collateral carried in a bundle (`certs`: PCS bodies, certificates, CRLs) joins the caller's.
    let collateral = match with_bundle_collateral(d, collateral) {
        Ok(c) => c,
        Err(e) => return Outcome::failed(platform, &d.what, &e),
    };
    let collateral = collateral.as_ref();
    let dopts = dcap::DcapOptions {
        at: opts.at,
        require_crl: opts.policy.require_crl.unwrap_or(false),
        trust_simulated: opts.trust_simulated,
    };
    let verified = match dcap::verify::verify(quote, collateral, &dopts, caches.map(|c| &c.dcap)) {
        Ok(v) => v,
        Err(e) => return Outcome::failed(platform, &d.what, &e),
    };
    let ov = dcap::appraise::Overrides { nonce: opts.nonce.clone(), allow_debug: opts.allow_debug };
    let (fails, warns) = match dcap::appraise::appraise(&verified, &opts.policy, &ov) {
        Ok(x) => x,
        Err(e) => return Outcome::policy_error(platform, &d.what, &e),
    };
    let mut claims = dcap::claims::claims(&verified);
    mark_nonce_bound(&mut claims, opts, &fails);
    Outcome::appraised(platform, &d.what, claims, &fails, &warns)
}

fn verify_azure(
    d: &Detected,
    e: &crate::azure::AzureEvidence,
    collateral: &Collateral,
    opts: &VerifyOptions,
    caches: Option<&Caches>,
) -> Outcome {
    use crate::azure;
    let platform = e.tee.map(|t| t.platform()).unwrap_or(Platform::AzureVtpm);
    let collateral = match with_bundle_collateral(d, collateral) {
        Ok(c) => c,
        Err(e) => return Outcome::failed(platform, &d.what, &e),
    };
    let collateral = collateral.as_ref();
    let product = match (opts.product, opts.policy.snp.product.as_deref()) {
        (Some(p), _) => Some(p),
        (None, Some(s)) => match snp::Product::parse(s) {
            Ok(p) => Some(p),
            Err(err) => return Outcome::failed(platform, &d.what, &err),
        },
        _ => None,
    };
    let aopts = azure::AzureOptions {
        at: opts.at,
        product,
        trust_simulated: opts.trust_simulated,
        require_crl: opts.policy.require_crl.unwrap_or(false),
    };
    let verified = match azure::verify::verify(e, collateral, &aopts, caches.map(|c| &c.snp), caches.map(|c| &c.dcap)) {
        Ok(v) => v,
        Err(err) => return Outcome::failed(platform, &d.what, &err),
    };
    let platform = verified.platform();
    let ov = azure::appraise::Overrides { nonce: opts.nonce.clone(), allow_debug: opts.allow_debug };
    let a = match azure::appraise::appraise(&verified, &opts.policy, &ov) {
        Ok(x) => x,
        Err(err) => return Outcome::policy_error(platform, &d.what, &err),
    };
    let mut claims = azure::claims::claims(&verified);
    if let Some(obj) = claims.as_object_mut() {
        obj.insert("nonce_bound".into(), json!(a.nonce_bound));
    }
    Outcome::appraised(platform, &d.what, claims, &a.failures, &a.warnings)
}

fn verify_gce(
    d: &Detected,
    a: &crate::tpm::gotpm::Attestation,
    collateral: &Collateral,
    opts: &VerifyOptions,
) -> Outcome {
    use crate::gce;
    const P: Platform = Platform::GceVtpm;
    let collateral = match with_bundle_collateral(d, collateral) {
        Ok(c) => c,
        Err(err) => return Outcome::failed(P, &d.what, &err),
    };
    let verified = match gce::verify(a, &collateral, opts.at) {
        Ok(v) => v,
        Err(err) => return Outcome::failed(P, &d.what, &err),
    };
    let ap = match gce::appraise(&verified, &opts.policy, opts.nonce.as_deref()) {
        Ok(x) => x,
        Err(err) => return Outcome::policy_error(P, &d.what, &err),
    };
    let mut claims = gce::claims(&verified);
    if let Some(obj) = claims.as_object_mut() {
        obj.insert("nonce_bound".into(), json!(ap.nonce_bound));
    }
    Outcome::appraised(P, &d.what, claims, &ap.failures, &ap.warnings)
}
