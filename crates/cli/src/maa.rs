//! `cloud-ra maa verify`: Microsoft Azure Attestation tokens checked as a relying party should
//! (the seed's scripts only base64-decode them): signature against the provider's JWKS, `jku`
//! and `kid`, `iss`, exp/nbf/iat at the evaluation time, and the nonce echoed.

use crate::{fail, print_tree, read_file};
use clap::Args;
use cloud_ra_verify::jwt::{self, Checks, Jwks};
use cloud_ra_verify::{Error, Timestamp};
use serde_json::{Map, Value, json};

#[derive(clap::Subcommand)]
pub enum MaaCmd {
    /// Verify an MAA token (JWT) and print its x-ms-* claims.
    Verify(VerifyArgs),
}

#[derive(Args)]
pub struct VerifyArgs {
    /// The token: a file holding the JWT or MAA's response JSON `{"token": ...}`, or the JWT itself.
    token: String,
    /// The provider's signing keys: a JWKS file, or its URL (`{provider}/certs`).
    #[arg(long, value_name = "FILE|URL")]
    jwks: String,
    /// The attestation provider (e.g. https://sharedjpe.jpe.attest.azure.net): `iss` must equal it
    /// and the token's `jku` must be `{provider}/certs`.
    #[arg(long, value_name = "URL")]
    provider: Option<String>,
    /// The nonce sent in the request: the token's `nonce` claim must echo it.
    #[arg(long)]
    nonce: Option<String>,
    /// Evaluation time (RFC 3339). Default: now.
    #[arg(long)]
    at: Option<String>,
    /// One JSON object on stdout.
    #[arg(long)]
    json: bool,
    /// Never use the network (a JWKS URL is then refused; env CLOUD_RA_OFFLINE=1).
    #[arg(long)]
    offline: bool,
}

pub fn run(c: MaaCmd) -> i32 {
    match c {
        MaaCmd::Verify(a) => match verify(&a) {
            Ok(v) => {
                if a.json {
                    println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
                } else {
                    println!("MAA token VERIFIED");
                    print_tree(&v, 1);
                }
                0
            }
            Err(e) => fail(&e),
        },
    }
}

/// Reads a JWKS from a file or fetches it from a URL (with the collateral crate's HTTP rules).
pub fn load_jwks(src: &str, offline: bool) -> Result<Jwks, Error> {
    if src.starts_with("https://") || src.starts_with("http://") {
        let offline = offline || std::env::var("CLOUD_RA_OFFLINE").is_ok_and(|v| v == "1" || v == "true");
        if offline {
            return Err(Error::collateral("jwks", format!("offline: cannot fetch the JWKS {src}")));
        }
        let cfg = cloud_ra_collateral::Config::with_cache_dir(std::env::temp_dir());
        let http = cloud_ra_collateral::http::Http::new(&cfg).map_err(|e| Error::collateral("jwks", e.detail))?;
        let r = http
            .get(src, &[], "is this the provider's /certs URL?")
            .map_err(|e| Error::collateral("jwks", e.detail))?;
        return Jwks::parse(&r.body);
    }
    Jwks::parse(&read_file(src, "JWKS")?)
}

/// A token given inline, in a file, or inside MAA's response JSON.
pub fn read_token(arg: &str) -> Result<String, Error> {
    let text = if std::path::Path::new(arg).is_file() {
        String::from_utf8(read_file(arg, "token")?).map_err(|_| Error::usage("input", format!("{arg} is not text")))?
    } else {
        arg.to_string()
    };
    let t = text.trim();
    if t.starts_with('{') {
        let v: Value =
            serde_json::from_str(t).map_err(|e| Error::evidence("jwt.format", format!("{arg}: not JSON: {e}")))?;
        return v
            .get("token")
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| Error::evidence("jwt.format", format!("{arg}: JSON without a 'token' string")));
    }
    Ok(t.to_string())
}

fn verify(a: &VerifyArgs) -> Result<Value, Error> {
    let at = match a.at.as_deref() {
        Some(s) => Timestamp::parse_rfc3339(s)?,
        None => Timestamp::now(),
    };
    let token = read_token(&a.token)?;
    let jwks = load_jwks(&a.jwks, a.offline)?;
    let provider = a.provider.as_deref().map(|p| p.trim_end_matches('/').to_string());
    let mut checks = Checks::at(at);
    checks.issuer = provider.clone();
    let v = jwt::verify(&token, &jwks, &checks)?;
    if let Some(p) = &provider {
        let want = format!("{p}/certs");
        if v.jku.as_deref() != Some(want.as_str()) {
            return Err(Error::evidence("jwt.jku", format!("jku {:?}, expected '{want}'", v.jku)));
        }
    }
    if let Some(n) = &a.nonce {
        match v.claims.get("nonce").and_then(Value::as_str) {
            Some(got) if got.eq_ignore_ascii_case(n) => {}
            got => {
                return Err(Error::evidence("jwt.nonce", format!("the token echoes nonce {got:?}, not the one sent")));
            }
        }
    }
    let ms: Map<String, Value> =
        v.claims.iter().filter(|(k, _)| k.starts_with("x-ms-")).map(|(k, x)| (k.clone(), x.clone())).collect();
    Ok(json!({
        "verified": true,
        "alg": v.alg,
        "kid": v.kid,
        "jku": v.jku,
        "iss": v.claims.get("iss"),
        "iat": v.claims.get("iat"),
        "exp": v.claims.get("exp"),
        "nonce": v.claims.get("nonce"),
        "nonce_checked": a.nonce.is_some(),
        "x_ms": ms,
    }))
}
