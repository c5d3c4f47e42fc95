//! `cloud-ra token verify`: a cloud-ra attestation result (EAR JWT) checked as a relying party
//! would: signature against the verifier's JWKS (`kid`), exp/nbf/iat at the evaluation time, the
//! EAR profile, and the nonce echoed.

use crate::maa::TokenArgs;
use crate::print::{self, fail};
use base64::Engine;
use cloud_ra_verify::Check;
use cloud_ra_verify::Error;
use cloud_ra_verify::jwt::{self, Checks, Jws};
use serde_json::{Value, json};

use cloud_ra_server::result::EAR_PROFILE;

#[derive(clap::Subcommand)]
pub enum TokenCmd {
    /// Verify an attestation result (EAR JWT) from `cloud-ra serve` and print its appraisal. Exit 0 when
    /// ear.status is affirming or warning, 4 when contraindicated, 2 when the token does not verify.
    Verify(VerifyArgs),
}

#[derive(clap::Args)]
pub struct VerifyArgs {
    #[command(flatten)]
    t: TokenArgs,
    /// The nonce of the session (hex or base64): the token's eat_nonce must equal it.
    #[arg(long)]
    nonce: Option<String>,
}

pub fn run(c: TokenCmd) -> i32 {
    match c {
        TokenCmd::Verify(a) => match verify(&a) {
            Ok(v) => {
                let status = v["ear_status"].as_str().unwrap_or_default().to_string();
                if a.t.json {
                    print::json(&v);
                } else {
                    println!("EAR token VERIFIED; ear.status: {status}");
                    print::tree(&v, 1);
                }
                if status == "contraindicated" { 4 } else { 0 }
            }
            Err(e) => fail(&e),
        },
    }
}

fn decode_nonce(s: &str) -> Result<Vec<u8>, Error> {
    let s = s.trim();
    if let Ok(v) = hex::decode(s) {
        return Ok(v);
    }
    let b64 = base64::engine::general_purpose::STANDARD;
    let url = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    b64.decode(s)
        .or_else(|_| url.decode(s.trim_end_matches('=')))
        .map_err(|_| Error::usage(Check::Nonce, "--nonce is neither hex nor base64"))
}

fn verify(a: &VerifyArgs) -> Result<Value, Error> {
    let (token, jwks, at) = a.t.load()?;
    let v = jwt::verify(&token, &jwks, &Checks::at(at))?;
    let c = &v.claims;
    match c.get("eat_profile").and_then(Value::as_str) {
        Some(EAR_PROFILE) => {}
        other => {
            return Err(Error::evidence(Check::EarProfile, format!("eat_profile {other:?}, expected '{EAR_PROFILE}'")));
        }
    }
    let status = c
        .get("ear_status")
        .and_then(Value::as_str)
        .ok_or_else(|| Error::evidence(Check::EarStatus, "the token has no ear_status"))?;
    if !["affirming", "warning", "contraindicated", "none"].contains(&status) {
        return Err(Error::evidence(Check::EarStatus, format!("unknown ear_status '{status}'")));
    }
    let submods = c
        .get("submods")
        .and_then(Value::as_object)
        .filter(|m| !m.is_empty())
        .ok_or_else(|| Error::evidence(Check::EarSubmods, "the token has no submodules"))?;
    if let Some(n) = &a.nonce {
        let want = decode_nonce(n)?;
        let got = c.get("eat_nonce").and_then(Value::as_str).map(|s| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(s.trim_end_matches('=')).unwrap_or_default()
        });
        if got.as_deref() != Some(want.as_slice()) {
            return Err(Error::evidence(Check::EarNonce, "the token's eat_nonce is not the nonce given"));
        }
    }
    let subs: serde_json::Map<String, Value> = submods
        .iter()
        .map(|(k, s)| {
            (
                k.clone(),
                json!({
                    "ear_status": s.get("ear_status"),
                    "trustworthiness_vector": s.get("ear_trustworthiness_vector"),
                    "verifier_claims": s.get("ear_verifier_claims"),
                }),
            )
        })
        .collect();
    Ok(json!({
        "verified": true,
        "alg": v.alg,
        "kid": v.kid,
        "ear_status": status,
        "iat": c.get("iat"),
        "exp": c.get("exp"),
        "verifier": c.get("ear_verifier_id"),
        "nonce_checked": a.nonce.is_some(),
        "submods": subs,
    }))
}

/// The `ear_status` of a token, read without verification (for a progress message only).
pub fn ear_status(token: &str) -> Option<String> {
    Jws::decode(token).ok()?.claims.get("ear_status")?.as_str().map(str::to_string)
}
