//! Attestation results: an IETF RATS EAR (Veraison's `ear` crate) per appraisal, signed ES256.
//!
//! One submodule per attested component (today: the TEE named by the evidence's platform), its
//! `ear.status` from the appraisal, the AR4SI trustworthiness vector where the evidence says
//! something, the normalised claims as the submodule's attester claims (annotated evidence) and
//! the verifier's own findings (detected format, failures, warnings, nonce provenance) as its
//! verifier claims.

use crate::keys::SigningKey;
use cloud_ra_verify::{Outcome, Status};
use ear::{Appraisal, Ear, RawValue, TrustTier, VerifierID};
use serde_json::Value;
use std::collections::BTreeMap;

pub const EAR_PROFILE: &str = "tag:github.com,2023:veraison/ear";
pub const EAR_MEDIA_TYPE: &str = "application/eat+jwt; eat_profile=\"tag:github.com,2023:veraison/ear\"";

/// Where the nonce in a result comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NonceSource {
    /// Issued by this verifier in a session and consumed once.
    Session,
    /// Only claimed by the caller of the one-shot endpoint: not a freshness guarantee.
    Caller,
    None,
}

impl NonceSource {
    pub fn as_str(self) -> &'static str {
        match self {
            NonceSource::Session => "verifier-issued",
            NonceSource::Caller => "caller-supplied",
            NonceSource::None => "none",
        }
    }
}

pub struct ResultInput<'a> {
    pub outcome: &'a Outcome,
    pub nonce: Option<&'a [u8]>,
    pub nonce_source: NonceSource,
    pub evidence_sha256: &'a str,
    pub policy_id: &'a str,
    pub iat: i64,
    pub ttl_secs: i64,
}

pub fn tier(s: Status) -> TrustTier {
    match s {
        Status::Affirming => TrustTier::Affirming,
        Status::Warning => TrustTier::Warning,
        Status::Contraindicated => TrustTier::Contraindicated,
    }
}

/// Builds the EAR for one appraisal.
pub fn build_ear(r: &ResultInput<'_>) -> Ear {
    use ear::claim::*;
    let o = r.outcome;
    let mut a = Appraisal::new();
    a.profile = None;
    let simulated = o.claims.get("simulated").and_then(Value::as_bool).unwrap_or(false);
    let debug = o.claims.get("debug").and_then(Value::as_bool).unwrap_or(false);
    let tv = &mut a.trust_vector;
    if !o.verified {
        // Signature, chain or binding did not verify: nothing about the instance can be believed.
        tv.instance_identity.set(CRYPTO_VALIDATION_FAILED);
    } else {
        tv.instance_identity.set(TRUSTWORTHY_INSTANCE);
        // Chained to a vendor root; the simulated roots (--trust-simulated) are not genuine hardware.
        tv.hardware.set(if simulated { UNSAFE_HARDWARE } else { GENUINE_HARDWARE });
        // SNP, TDX, SGX and Nitro all run the workload in memory encrypted or isolated by the TEE.
        tv.runtime_opaque.set(ENCRYPTED_MEMORY_RUNTIME);
        let failed = |needle: &str| o.failures.iter().any(|f| f.check.contains(needle));
        tv.configuration.set(if !o.failures.iter().all(|f| f.check.contains("measurement")) {
            UNSUPPORTABLE_CONFIG
        } else if debug || !o.warnings.is_empty() {
            UNSAFE_CONFIG
        } else {
            APPROVED_CONFIG
        });
        if failed("measurement") {
            tv.executables.set(CONTRAINDICATED_RUNTIME);
        }
    }
    a.update_status_from_trust_vector();
    let outcome_tier = tier(o.status);
    if a.status < outcome_tier {
        a.status = outcome_tier;
    }
    a.policy_ids = vec![r.policy_id.to_string()];
    let bound = o.claims.get("nonce_bound").and_then(Value::as_bool).unwrap_or(false);
    if bound && let Some(n) = r.nonce {
        a.nonce = ear::Nonce::try_from(n).ok();
    }
    if let Value::Object(m) = &o.claims {
        for (k, v) in m {
            a.attester_claims.insert(k.clone(), raw(v));
        }
    }
    let mut vc: BTreeMap<String, RawValue> = BTreeMap::new();
    vc.insert("verified".into(), RawValue::Bool(o.verified));
    vc.insert("detected".into(), RawValue::String(o.detected.clone()));
    vc.insert("platform".into(), RawValue::String(o.platform.clone()));
    vc.insert("nonce_source".into(), RawValue::String(r.nonce_source.as_str().into()));
    vc.insert("evidence_sha256".into(), RawValue::String(r.evidence_sha256.into()));
    vc.insert("failures".into(), raw(&serde_json::to_value(&o.failures).unwrap_or(Value::Null)));
    vc.insert("warnings".into(), raw(&serde_json::to_value(&o.warnings).unwrap_or(Value::Null)));
    a.verifier_claims = vc;

    let mut e = Ear::new();
    e.profile = EAR_PROFILE.into();
    e.iat = r.iat;
    e.exp = Some(r.iat + r.ttl_secs);
    e.vid = VerifierID {
        build: concat!("cloud-ra-server ", env!("CARGO_PKG_VERSION")).into(),
        developer: "cloud-ra".into(),
    };
    if let Some(n) = r.nonce {
        e.nonce = ear::Nonce::try_from(n).ok();
    }
    let status = a.status;
    let submod = if o.platform.is_empty() { "unknown".to_string() } else { o.platform.clone() };
    e.submods.insert(submod, a);
    e.status = Some(status);
    e
}

/// Signs an EAR as a JWT (ES256, `kid` = the JWK thumbprint). Serialising checks the EAR
/// (profile, verifier id, submodule statuses) first.
pub fn sign(e: &Ear, key: &SigningKey) -> Result<String, String> {
    let claims = serde_json::to_vec(e).map_err(|err| format!("the EAR does not serialise: {err}"))?;
    key.sign_jws(&claims).map_err(|err| format!("signing the result: {err}"))
}

/// serde_json → the EAR crate's raw claim values.
pub fn raw(v: &Value) -> RawValue {
    match v {
        Value::Null => RawValue::Null,
        Value::Bool(b) => RawValue::Bool(*b),
        Value::Number(n) => match n.as_i64() {
            Some(i) => RawValue::Integer(i),
            None => RawValue::Float(n.as_f64().unwrap_or(0.0)),
        },
        Value::String(s) => RawValue::String(s.clone()),
        Value::Array(a) => RawValue::Array(a.iter().map(raw).collect()),
        Value::Object(m) => RawValue::Map(m.iter().map(|(k, v)| (RawValue::String(k.clone()), raw(v))).collect()),
    }
}
