//! JWS compact tokens (JWT) checked against a JWKS: the one place where cloud-ra verifies signed
//! JSON tokens — its own attestation results (EAR) and Microsoft Azure Attestation tokens.
//!
//! Strict: exactly three base64url (unpadded) parts, JSON objects, an asymmetric `alg` from a
//! fixed list (`none` and HMAC are refused), the key chosen by `kid` (or the only key), `exp` /
//! `nbf` / `iat` checked at the caller's evaluation time. `jku` is reported, never fetched: the
//! caller decides which JWKS it trusts.

use crate::Check;
use crate::crypto::{KeyKind, PublicKey, SigAlg};
use crate::error::{Error, Result};
use crate::time::Timestamp;
use base64::Engine;
use serde_json::{Map, Value};

/// Largest token accepted (MAA tokens are ~10 KiB; EARs a few KiB).
pub const MAX_TOKEN_SIZE: usize = 256 << 10;
const B64URL: base64::engine::GeneralPurpose = base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// A public key from a JWK.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Jwk {
    /// `kid`: the key ID, if the JWK names one.
    pub kid: Option<String>,
    /// `alg`: the algorithm the key is for, if the JWK names one; a token must then use it.
    pub alg: Option<String>,
    /// The public key.
    pub key: PublicKey,
    /// The JWK as given.
    pub json: Value,
}

fn b64url_field(o: &Map<String, Value>, name: &str, ctx: &str) -> Result<Vec<u8>> {
    let s = o
        .get(name)
        .and_then(Value::as_str)
        .ok_or_else(|| Error::evidence(Check::Jwk, format!("{ctx}: member '{name}' missing or not a string")))?;
    B64URL
        .decode(s.trim_end_matches('='))
        .map_err(|e| Error::evidence(Check::Jwk, format!("{ctx}: member '{name}' is not base64url: {e}")))
}

impl Jwk {
    /// Reads an RSA or EC (P-256, P-384) public JWK; with `x5c`, the key of its first
    /// certificate (which must equal `n`/`e` or `x`/`y` when those are present too).
    pub fn from_json(v: &Value) -> Result<Jwk> {
        let o = v.as_object().ok_or_else(|| Error::evidence(Check::Jwk, "a JWK is not a JSON object"))?;
        let kid = o.get("kid").and_then(Value::as_str).map(str::to_string);
        let ctx = format!("JWK kid={}", kid.as_deref().unwrap_or("(none)"));
        if o.contains_key("d") {
            return Err(Error::evidence(Check::Jwk, format!("{ctx}: carries a private key ('d'); refusing it")));
        }
        let kty = o
            .get("kty")
            .and_then(Value::as_str)
            .ok_or_else(|| Error::evidence(Check::Jwk, format!("{ctx}: 'kty' missing")))?;
        let from_params = match kty {
            "RSA" if o.contains_key("n") => {
                let n = b64url_field(o, "n", &ctx)?;
                let e = b64url_field(o, "e", &ctx)?;
                if n.len() < 256 || n.len() > 1024 {
                    return Err(Error::evidence(Check::Jwk, format!("{ctx}: RSA modulus of {} bytes", n.len())));
                }
                Some(PublicKey::rsa(&n, &e))
            }
            "EC" if o.contains_key("x") => {
                let kind = match o.get("crv").and_then(Value::as_str) {
                    Some("P-256") => KeyKind::EcP256,
                    Some("P-384") => KeyKind::EcP384,
                    c => return Err(Error::evidence(Check::Jwk, format!("{ctx}: curve {c:?} is not P-256 or P-384"))),
                };
                let x = b64url_field(o, "x", &ctx)?;
                let y = b64url_field(o, "y", &ctx)?;
                Some(PublicKey::ec(kind, &x, &y).map_err(|e| Error::evidence(Check::Jwk, format!("{ctx}: {e}")))?)
            }
            "RSA" | "EC" => None,
            other => return Err(Error::evidence(Check::Jwk, format!("{ctx}: key type '{other}' is not RSA or EC"))),
        };
        let from_cert = match o.get("x5c").and_then(Value::as_array).and_then(|a| a.first()) {
            None => None,
            Some(c) => {
                let der = c
                    .as_str()
                    .and_then(|s| base64::engine::general_purpose::STANDARD.decode(s).ok())
                    .ok_or_else(|| Error::evidence(Check::Jwk, format!("{ctx}: x5c[0] is not base64")))?;
                let cert = crate::x509::Certificate::from_der(&der)
                    .map_err(|e| Error::evidence(Check::Jwk, format!("{ctx}: x5c[0]: {e}")))?;
                Some(cert.public_key.ok_or_else(|| {
                    Error::evidence(Check::Jwk, format!("{ctx}: x5c[0] has a key type cloud-ra does not verify with"))
                })?)
            }
        };
        let key = match (from_params, from_cert) {
            (Some(a), Some(b)) if a != b => {
                return Err(Error::evidence(
                    Check::Jwk,
                    format!("{ctx}: the x5c certificate's key differs from n/e or x/y"),
                ));
            }
            (Some(a), _) => a,
            (None, Some(b)) => b,
            (None, None) => return Err(Error::evidence(Check::Jwk, format!("{ctx}: neither key parameters nor x5c"))),
        };
        Ok(Jwk { kid, alg: o.get("alg").and_then(Value::as_str).map(str::to_string), key, json: v.clone() })
    }

    /// An RSA modulus/exponent or EC point as a JWK (public members only, RFC 7517).
    pub fn public_json(key: &PublicKey) -> Value {
        match key.kind {
            KeyKind::Rsa => {
                let (n, e) = key.rsa_parts().unwrap_or_default();
                serde_json::json!({"kty": "RSA", "n": B64URL.encode(n), "e": B64URL.encode(e)})
            }
            KeyKind::EcP256 | KeyKind::EcP384 => {
                let (crv, size) = if key.kind == KeyKind::EcP256 { ("P-256", 32) } else { ("P-384", 48) };
                let x = key.bytes.get(1..1 + size).unwrap_or_default();
                let y = key.bytes.get(1 + size..).unwrap_or_default();
                serde_json::json!({"kty": "EC", "crv": crv, "x": B64URL.encode(x), "y": B64URL.encode(y)})
            }
        }
    }

    /// RFC 7638 SHA-256 thumbprint, base64url.
    pub fn thumbprint(key: &PublicKey) -> String {
        let j = Jwk::public_json(key);
        // Required members in lexicographic order, no whitespace.
        let canon = match key.kind {
            KeyKind::Rsa => format!(r#"{{"e":"{}","kty":"RSA","n":"{}"}}"#, str_of(&j, "e"), str_of(&j, "n")),
            _ => format!(
                r#"{{"crv":"{}","kty":"EC","x":"{}","y":"{}"}}"#,
                str_of(&j, "crv"),
                str_of(&j, "x"),
                str_of(&j, "y")
            ),
        };
        B64URL.encode(crate::crypto::sha256(canon.as_bytes()))
    }
}

fn str_of<'a>(v: &'a Value, k: &str) -> &'a str {
    v.get(k).and_then(Value::as_str).unwrap_or_default()
}

/// A JSON Web Key Set.
#[derive(Debug, Clone, Default)]
pub struct Jwks {
    /// The keys, in the order of the set.
    pub keys: Vec<Jwk>,
}

impl Jwks {
    /// Reads `{"keys": [...]}` (or a single JWK). Keys of types cloud-ra cannot use (e.g. `oct`)
    /// are refused rather than skipped, so a JWKS never silently loses the signer.
    pub fn parse(bytes: &[u8]) -> Result<Jwks> {
        let v: Value =
            serde_json::from_slice(bytes).map_err(|e| Error::evidence(Check::Jwks, format!("not JSON: {e}")))?;
        let keys = match v.get("keys") {
            Some(Value::Array(a)) => a.iter().map(Jwk::from_json).collect::<Result<Vec<_>>>()?,
            Some(_) => return Err(Error::evidence(Check::Jwks, "'keys' is not an array")),
            None if v.get("kty").is_some() => vec![Jwk::from_json(&v)?],
            None => return Err(Error::evidence(Check::Jwks, "neither a JWKS ('keys') nor a JWK ('kty')")),
        };
        if keys.is_empty() {
            return Err(Error::evidence(Check::Jwks, "the key set is empty"));
        }
        Ok(Jwks { keys })
    }

    fn select(&self, kid: Option<&str>) -> Result<&Jwk> {
        match kid {
            Some(k) => self
                .keys
                .iter()
                .find(|j| j.kid.as_deref() == Some(k))
                .ok_or_else(|| Error::evidence(Check::JwtKid, format!("no key with kid '{k}' in the JWKS"))),
            None if self.keys.len() == 1 => Ok(&self.keys[0]),
            None => Err(Error::evidence(
                Check::JwtKid,
                format!("the token names no kid and the JWKS has {} keys", self.keys.len()),
            )),
        }
    }
}

/// A decoded (not yet verified) compact JWS.
#[derive(Debug, Clone)]
pub struct Jws {
    /// The JOSE header.
    pub header: Map<String, Value>,
    /// The payload's claims.
    pub claims: Map<String, Value>,
    signing_input_len: usize,
    token: String,
    /// The signature bytes (decoded from base64url).
    pub signature: Vec<u8>,
}

fn part_json(p: &str, what: &str) -> Result<Map<String, Value>> {
    let raw =
        B64URL.decode(p).map_err(|e| Error::evidence(Check::JwtFormat, format!("{what} is not base64url: {e}")))?;
    match serde_json::from_slice::<Value>(&raw) {
        Ok(Value::Object(o)) => Ok(o),
        Ok(_) => Err(Error::evidence(Check::JwtFormat, format!("{what} is not a JSON object"))),
        Err(e) => Err(Error::evidence(Check::JwtFormat, format!("{what} is not JSON: {e}"))),
    }
}

impl Jws {
    /// Splits a compact JWS (three base64url parts) and decodes its header and payload; nothing is verified.
    pub fn decode(token: &str) -> Result<Jws> {
        let token = token.trim();
        if token.len() > MAX_TOKEN_SIZE {
            return Err(Error::evidence(
                Check::JwtFormat,
                format!("token of {} bytes exceeds {MAX_TOKEN_SIZE}", token.len()),
            ));
        }
        let parts: Vec<&str> = token.split('.').collect();
        if parts.len() != 3 {
            return Err(Error::evidence(
                Check::JwtFormat,
                format!("{} dot-separated parts; a compact JWS has 3 (JWE is not supported)", parts.len()),
            ));
        }
        let header = part_json(parts[0], "header")?;
        let claims = part_json(parts[1], "payload")?;
        let signature =
            B64URL.decode(parts[2]).map_err(|e| Error::evidence(Check::JwtFormat, format!("signature: {e}")))?;
        Ok(Jws {
            header,
            claims,
            signing_input_len: parts[0].len() + 1 + parts[1].len(),
            token: token.to_string(),
            signature,
        })
    }

    pub(crate) fn header_str(&self, k: &str) -> Option<&str> {
        self.header.get(k).and_then(Value::as_str)
    }

    fn signing_input(&self) -> &[u8] {
        self.token.as_bytes().get(..self.signing_input_len).unwrap_or_default()
    }
}

fn sig_alg(alg: &str) -> Result<SigAlg> {
    Ok(match alg {
        "RS256" => SigAlg::RsaPkcs1Sha256,
        "RS384" => SigAlg::RsaPkcs1Sha384,
        "PS256" => SigAlg::RsaPssSha256,
        "PS384" => SigAlg::RsaPssSha384,
        "ES256" => SigAlg::EcdsaP256Sha256Fixed,
        "ES384" => SigAlg::EcdsaP384Sha384Fixed,
        "none" => return Err(Error::evidence(Check::JwtAlg, "alg 'none': unsigned tokens are refused")),
        a if a.starts_with("HS") => {
            return Err(Error::evidence(Check::JwtAlg, format!("alg '{a}': symmetric (HMAC) tokens are refused")));
        }
        a => return Err(Error::evidence(Check::JwtAlg, format!("alg '{a}' is not supported"))),
    })
}

/// What to check besides the signature.
#[derive(Debug, Clone)]
pub struct Checks {
    /// The evaluation time for `exp`, `nbf` and `iat`.
    pub at: Timestamp,
    /// Tolerated clock skew in seconds for exp/nbf/iat.
    pub leeway: i64,
    /// A token without `exp` is refused.
    pub require_exp: bool,
    /// `iss` must equal this.
    pub issuer: Option<String>,
}

impl Checks {
    /// The defaults at `at`: 60 seconds of leeway, `exp` required, any issuer.
    pub fn at(at: Timestamp) -> Checks {
        Checks { at, leeway: 60, require_exp: true, issuer: None }
    }
}

/// A token whose signature and times checked out.
#[derive(Debug, Clone)]
pub struct Verified {
    /// The JOSE header.
    pub header: Map<String, Value>,
    /// The payload's claims.
    pub claims: Map<String, Value>,
    /// The header's `alg`.
    pub alg: String,
    /// The header's `kid`, if any.
    pub kid: Option<String>,
    /// The header's `jku`, if any (reported, never fetched).
    pub jku: Option<String>,
}

fn num_claim(c: &Map<String, Value>, k: &str) -> Result<Option<i64>> {
    match c.get(k) {
        None => Ok(None),
        Some(v) => v
            .as_i64()
            .or_else(|| v.as_f64().filter(|f| f.is_finite()).map(|f| f as i64))
            .map(Some)
            .ok_or_else(|| Error::evidence(Check::JwtClaims, format!("'{k}' is not a number"))),
    }
}

/// Verifies a compact JWS against a JWKS and the time checks.
pub fn verify(token: &str, jwks: &Jwks, checks: &Checks) -> Result<Verified> {
    let jws = Jws::decode(token)?;
    let alg = jws.header_str("alg").ok_or_else(|| Error::evidence(Check::JwtAlg, "header has no 'alg'"))?.to_string();
    if jws.header.contains_key("crit") {
        return Err(Error::evidence(Check::JwtCrit, "header names critical extensions cloud-ra does not understand"));
    }
    let salg = sig_alg(&alg)?;
    let kid = jws.header_str("kid").map(str::to_string);
    let jwk = jwks.select(kid.as_deref())?;
    if let Some(a) = &jwk.alg
        && a != &alg
    {
        return Err(Error::evidence(Check::JwtAlg, format!("token alg '{alg}' but the key is for '{a}'")));
    }
    jwk.key.verify(salg, jws.signing_input(), &jws.signature).map_err(|e| {
        Error::evidence(Check::JwtSignature, format!("kid={}: {e}", kid.as_deref().unwrap_or("(none)")))
    })?;

    let t = checks.at.0;
    let c = &jws.claims;
    match num_claim(c, "exp")? {
        Some(exp) if t >= exp.saturating_add(checks.leeway) => {
            return Err(Error::evidence(
                Check::JwtExp,
                format!("expired at {} (evaluated at {})", Timestamp(exp).to_rfc3339(), checks.at.to_rfc3339()),
            ));
        }
        None if checks.require_exp => return Err(Error::evidence(Check::JwtExp, "the token has no 'exp'")),
        _ => {}
    }
    if let Some(nbf) = num_claim(c, "nbf")?
        && t.saturating_add(checks.leeway) < nbf
    {
        return Err(Error::evidence(
            Check::JwtNbf,
            format!("not valid before {} (evaluated at {})", Timestamp(nbf).to_rfc3339(), checks.at.to_rfc3339()),
        ));
    }
    if let Some(iat) = num_claim(c, "iat")?
        && t.saturating_add(checks.leeway) < iat
    {
        return Err(Error::evidence(
            Check::JwtIat,
            format!(
                "issued in the future at {} (evaluated at {})",
                Timestamp(iat).to_rfc3339(),
                checks.at.to_rfc3339()
            ),
        ));
    }
    if let Some(want) = &checks.issuer {
        let got = c.get("iss").and_then(Value::as_str);
        if got != Some(want.as_str()) {
            return Err(Error::evidence(Check::JwtIss, format!("issuer {got:?}, expected '{want}'")));
        }
    }
    Ok(Verified { alg, kid, jku: jws.header_str("jku").map(str::to_string), header: jws.header, claims: jws.claims })
}
