//! Attestation results: an IETF RATS EAR per appraisal, signed ES256, in the JSON serialisation
//! of Veraison's EAR profile (`tag:github.com,2023:veraison/ear`; the claim names, tiers and trust
//! claim values of Veraison's `ear` crate, which the tests use to parse every result). The crate
//! itself is not a dependency of the service: through `cmw` it builds reqwest 0.12 with
//! native-tls, i.e. OpenSSL headers on the build machine.
//!
//! One submodule per attested component (today: the TEE named by the evidence's platform), its
//! `ear.status` from the appraisal, the AR4SI trustworthiness vector where the evidence says
//! something, the normalised claims as the submodule's attester claims (annotated evidence) and
//! the verifier's own findings (detected format, failures, warnings, nonce provenance) as its
//! verifier claims.

use crate::keys::SigningKey;
use base64::Engine;
use cloud_ra_verify::{Outcome, Status};
use serde_json::{Map, Value, json};

pub const EAR_PROFILE: &str = "tag:github.com,2023:veraison/ear";
pub const EAR_MEDIA_TYPE: &str = "application/eat+jwt; eat_profile=\"tag:github.com,2023:veraison/ear\"";

/// Where the nonce in a result comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NonceSource {
    /// Random, made by this verifier for a session and consumed once: a freshness guarantee.
    VerifierIssued,
    /// Chosen by the caller (a session's `?nonce=`, the one-shot endpoint's `?nonce=`): single-use
    /// in a session, but the caller may have had evidence for it long before, so not a freshness
    /// guarantee.
    CallerSupplied,
    None,
}

impl NonceSource {
    pub fn as_str(self) -> &'static str {
        match self {
            NonceSource::VerifierIssued => "verifier-issued",
            NonceSource::CallerSupplied => "caller-supplied",
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

/// AR4SI trustworthiness claim values (draft-ietf-rats-ar4si) used here.
pub mod claim {
    pub const TRUSTWORTHY_INSTANCE: i8 = 2;
    pub const CRYPTO_VALIDATION_FAILED: i8 = 99;
    pub const GENUINE_HARDWARE: i8 = 2;
    pub const UNSAFE_HARDWARE: i8 = 32;
    pub const ENCRYPTED_MEMORY_RUNTIME: i8 = 2;
    pub const APPROVED_CONFIG: i8 = 2;
    pub const UNSAFE_CONFIG: i8 = 32;
    pub const UNSUPPORTABLE_CONFIG: i8 = 96;
    pub const CONTRAINDICATED_RUNTIME: i8 = 96;
}

/// An EAR trust tier, ordered from none to contraindicated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Tier {
    None,
    Affirming,
    Warning,
    Contraindicated,
}

impl Tier {
    pub fn name(self) -> &'static str {
        match self {
            Tier::None => "none",
            Tier::Affirming => "affirming",
            Tier::Warning => "warning",
            Tier::Contraindicated => "contraindicated",
        }
    }
    /// The tier of a trust claim value (AR4SI: -1..=1 none, <32 affirming, <96 warning).
    pub fn of_claim(v: i8) -> Tier {
        match v.unsigned_abs() {
            0..=1 => Tier::None,
            2..=31 => Tier::Affirming,
            32..=95 => Tier::Warning,
            _ => Tier::Contraindicated,
        }
    }
}

pub fn tier(s: Status) -> Tier {
    match s {
        Status::Affirming => Tier::Affirming,
        Status::Warning => Tier::Warning,
        Status::Contraindicated => Tier::Contraindicated,
    }
}

/// An EAR nonce: base64url without padding (8 to 64 bytes, else left out).
fn ear_nonce(n: &[u8]) -> Option<Value> {
    (8..=64).contains(&n.len()).then(|| json!(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(n)))
}

/// Builds the EAR claims set for one appraisal.
pub fn build_ear(r: &ResultInput<'_>) -> Value {
    use claim::*;
    let o = r.outcome;
    let (simulated, debug) = (o.claims.simulated(), o.claims.debug());
    let mut tv: Vec<(&str, i8)> = Vec::new();
    if !o.verified {
        // Signature, chain or binding did not verify: nothing about the instance can be believed.
        tv.push(("instance-identity", CRYPTO_VALIDATION_FAILED));
    } else {
        tv.push(("instance-identity", TRUSTWORTHY_INSTANCE));
        // A measurement that is not the reference value is the executables claim; any other
        // appraisal failure makes the configuration unsupportable.
        tv.push((
            "configuration",
            if !o.failures.iter().all(|f| f.check.is_measurement()) {
                UNSUPPORTABLE_CONFIG
            } else if debug || !o.warnings.is_empty() {
                UNSAFE_CONFIG
            } else {
                APPROVED_CONFIG
            },
        ));
        if o.failures.iter().any(|f| f.check.is_measurement()) {
            tv.push(("executables", CONTRAINDICATED_RUNTIME));
        }
        // Chained to a vendor root; the simulated roots (--trust-simulated) are not genuine hardware.
        tv.push(("hardware", if simulated { UNSAFE_HARDWARE } else { GENUINE_HARDWARE }));
        // SNP, TDX, SGX and Nitro all run the workload in memory encrypted or isolated by the TEE.
        tv.push(("runtime-opaque", ENCRYPTED_MEMORY_RUNTIME));
    }
    let status = tv.iter().map(|(_, v)| Tier::of_claim(*v)).chain([tier(o.status)]).max().unwrap_or(Tier::None);

    let mut a = Map::new();
    a.insert("ear_status".into(), json!(status.name()));
    a.insert(
        "ear_trustworthiness_vector".into(),
        Value::Object(tv.iter().map(|(k, v)| (k.to_string(), json!(v))).collect()),
    );
    a.insert("ear_appraisal_policy_ids".into(), json!([r.policy_id]));
    if o.claims.nonce_bound()
        && let Some(n) = r.nonce.and_then(ear_nonce)
    {
        a.insert("eat_nonce".into(), n);
    }
    if o.claims.iter().next().is_some() {
        a.insert("ear_attester_claims".into(), o.claims.to_value());
    }
    a.insert(
        "ear_verifier_claims".into(),
        json!({
            "verified": o.verified,
            "detected": o.detected,
            "platform": o.platform,
            "nonce_source": r.nonce_source.as_str(),
            "evidence_sha256": r.evidence_sha256,
            "failures": o.failures,
            "warnings": o.warnings,
        }),
    );
    let submod = o.platform.as_str();
    let mut e = Map::new();
    e.insert("eat_profile".into(), json!(EAR_PROFILE));
    e.insert("iat".into(), json!(r.iat));
    e.insert("exp".into(), json!(r.iat + r.ttl_secs));
    e.insert(
        "ear_verifier_id".into(),
        json!({"build": concat!("cloud-ra-server ", env!("CARGO_PKG_VERSION")), "developer": "cloud-ra"}),
    );
    e.insert("submods".into(), json!({ submod: Value::Object(a) }));
    e.insert("ear_status".into(), json!(status.name()));
    if let Some(n) = r.nonce.and_then(ear_nonce) {
        e.insert("eat_nonce".into(), n);
    }
    Value::Object(e)
}

/// Signs an EAR as a JWT (ES256, `kid` = the JWK thumbprint).
pub fn sign(e: &Value, key: &SigningKey) -> Result<String, String> {
    let claims = serde_json::to_vec(e).map_err(|err| format!("the EAR does not serialise: {err}"))?;
    key.sign_jws(&claims).map_err(|err| format!("signing the result: {err}"))
}
