//! The one contract every TEE verifier implements, and the one path that runs it.
//!
//! Each TEE (SNP, DCAP for TDX and SGX, Nitro, Azure vTPM, GCE vTPM) has the same rooms:
//! `verify` (evidence + collateral + time → a verified type, or the failing check),
//! `appraise(&verified, &Policy, Option<&Nonce>, ...) -> Appraisal`, and `claims(&verified) ->
//! Claims`. [`run`] is the only place that strings them together, so the nonce is resolved once,
//! `nonce_bound` is decided by one rule and a policy error is handled one way for every TEE.

use crate::Check;
use crate::claims::Claims;
use crate::collateral::Collateral;
use crate::error::{Error, Result};
use crate::outcome::{Caches, Outcome, VerifyOptions};
use crate::platform::Platform;
use crate::policy::{Policy, parse_hex};

/// Where the nonce the verifier expects came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NonceSource {
    /// The caller: `--nonce`, or the verifier service's session.
    Caller,
    /// The policy's `nonce`.
    Policy,
}

/// The nonce the verifier expects, resolved once: the caller's, else the policy's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Nonce {
    bytes: Vec<u8>,
    source: NonceSource,
}

/// The longest policy nonce any TEE binds (a Nitro document's `nonce` field).
const MAX_POLICY_NONCE: usize = 1024;

impl Nonce {
    /// The caller's nonce, else the policy's (`nonce = "hex"`); `None` when neither is given.
    pub(crate) fn resolve(given: Option<&[u8]>, policy: &Policy) -> Result<Option<Nonce>> {
        if let Some(n) = given {
            return Ok(Some(Nonce { bytes: n.to_vec(), source: NonceSource::Caller }));
        }
        match &policy.nonce {
            Some(h) => Ok(Some(Nonce { bytes: parse_hex("nonce", h, MAX_POLICY_NONCE)?, source: NonceSource::Policy })),
            None => Ok(None),
        }
    }

    /// The bytes, if the TEE can bind a nonce of this length (1..=`max` bytes).
    pub(crate) fn within(&self, max: usize) -> Result<&[u8]> {
        let n = &self.bytes;
        if n.is_empty() {
            return Err(Error::usage(Check::Nonce, "the nonce is empty"));
        }
        if n.len() > max {
            let what = match self.source {
                NonceSource::Caller => "the nonce",
                NonceSource::Policy => "the policy's nonce",
            };
            return Err(Error::usage(Check::Nonce, format!("{what} is {} bytes, at most {max}", n.len())));
        }
        Ok(n)
    }

    /// Runs a TEE's binding check; the nonce is bound when the check adds no failure.
    /// The one rule for `nonce_bound` (the claims say whether the binding held).
    pub(crate) fn bind(failures: &mut Vec<Error>, check: impl FnOnce(&mut Vec<Error>)) -> bool {
        let before = failures.len();
        check(failures);
        failures.len() == before
    }
}

/// What an appraisal found.
#[derive(Debug, Default)]
pub(crate) struct Appraisal {
    pub failures: Vec<Error>,
    pub warnings: Vec<Error>,
    /// A nonce was required and its binding held.
    pub nonce_bound: bool,
}

/// The settings of one verification (everything but evidence, collateral and policy).
pub(crate) struct Context<'a> {
    pub opts: &'a VerifyOptions,
    pub caches: Option<&'a Caches>,
}

impl Context<'_> {
    pub(crate) fn require_crl(&self) -> bool {
        self.opts.policy.require_crl.unwrap_or(false)
    }

    /// `--product`, else the policy's `[snp] product`.
    pub(crate) fn snp_product(&self) -> Result<Option<crate::snp::Product>> {
        match (self.opts.product, self.opts.policy.snp.product.as_deref()) {
            (Some(p), _) => Ok(Some(p)),
            (None, Some(s)) => crate::snp::Product::parse(s).map(Some),
            _ => Ok(None),
        }
    }
}

/// One TEE's verifier: the same rooms for every TEE.
pub(crate) trait Tee {
    /// The evidence as detected (borrowed from the input).
    type Evidence<'e>;
    /// What verification establishes.
    type Verified;
    /// The platform named before verification (what a failure is reported under).
    fn platform_of(ev: &Self::Evidence<'_>) -> Platform;
    /// Signatures, chains to the pinned vendor roots, bindings, collateral, at `cx.opts.at`.
    fn verify(ev: &Self::Evidence<'_>, collateral: &Collateral, cx: &Context) -> Result<Self::Verified>;
    /// The platform of verified evidence.
    fn platform(v: &Self::Verified) -> Platform;
    /// Reference values, nonce, debug and TCB policy. `Err` is a malformed policy value.
    fn appraise(v: &Self::Verified, policy: &Policy, nonce: Option<&Nonce>, cx: &Context) -> Result<Appraisal>;
    /// What the verified evidence says.
    fn claims(v: &Self::Verified) -> Claims;
}

/// Verifies, appraises and describes one piece of evidence with `T`.
pub(crate) fn run<T: Tee>(
    detected: &str,
    ev: &T::Evidence<'_>,
    collateral: &Collateral,
    opts: &VerifyOptions,
    caches: Option<&Caches>,
) -> Outcome {
    let cx = Context { opts, caches };
    let before = T::platform_of(ev);
    let verified = match T::verify(ev, collateral, &cx) {
        Ok(v) => v,
        Err(e) => return Outcome::failed(before, detected, &e),
    };
    let platform = T::platform(&verified);
    let appraisal = match Nonce::resolve(opts.nonce.as_deref(), &opts.policy)
        .and_then(|n| T::appraise(&verified, &opts.policy, n.as_ref(), &cx))
    {
        Ok(a) => a,
        Err(e) => return Outcome::policy_error(platform, detected, &e),
    };
    let mut claims = T::claims(&verified);
    claims.set_nonce_bound(appraisal.nonce_bound);
    Outcome::appraised(platform, detected, claims, appraisal.failures, appraisal.warnings)
}
