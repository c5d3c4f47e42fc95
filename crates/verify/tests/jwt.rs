//! JWS/JWKS verification: signatures by freshly generated keys (ES256, ES384, RS256, PS256), and
//! every refusal (tampering, alg none/HMAC, unknown kid, times, issuer, malformed parts, JWKs).

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{KeyPair as RsaKeyPair, KeySize};
use aws_lc_rs::signature::{self, EcdsaKeyPair, KeyPair};
use base64::Engine;
use cloud_ra_verify::crypto::{KeyKind, PublicKey};
use cloud_ra_verify::jwt::{self, Checks, Jwk, Jwks};
use cloud_ra_verify::time::Timestamp;
use serde_json::{Value, json};

const T0: i64 = 1_800_000_000;

fn b64(b: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

enum Signer {
    Ec(EcdsaKeyPair, KeyKind),
    Rsa(RsaKeyPair),
}

impl Signer {
    fn ec256() -> Signer {
        Signer::Ec(EcdsaKeyPair::generate(&signature::ECDSA_P256_SHA256_FIXED_SIGNING).unwrap(), KeyKind::EcP256)
    }
    fn ec384() -> Signer {
        Signer::Ec(EcdsaKeyPair::generate(&signature::ECDSA_P384_SHA384_FIXED_SIGNING).unwrap(), KeyKind::EcP384)
    }
    fn rsa() -> Signer {
        Signer::Rsa(RsaKeyPair::generate(KeySize::Rsa2048).unwrap())
    }
    fn public(&self) -> PublicKey {
        match self {
            Signer::Ec(k, kind) => PublicKey { kind: *kind, bytes: k.public_key().as_ref().to_vec() },
            Signer::Rsa(k) => PublicKey { kind: KeyKind::Rsa, bytes: k.public_key().as_ref().to_vec() },
        }
    }
    fn jwk(&self, kid: &str) -> Value {
        let mut j = Jwk::public_json(&self.public());
        j["kid"] = json!(kid);
        j
    }
    fn sign(&self, alg: &str, header: Value, claims: Value) -> String {
        let mut h = header;
        h["alg"] = json!(alg);
        let input = format!("{}.{}", b64(h.to_string().as_bytes()), b64(claims.to_string().as_bytes()));
        let rng = SystemRandom::new();
        let sig = match self {
            Signer::Ec(k, _) => k.sign(&rng, input.as_bytes()).unwrap().as_ref().to_vec(),
            Signer::Rsa(k) => {
                let pad: &dyn signature::RsaEncoding = match alg {
                    "RS256" => &signature::RSA_PKCS1_SHA256,
                    "PS256" => &signature::RSA_PSS_SHA256,
                    _ => panic!("test signer: {alg}"),
                };
                let mut s = vec![0u8; k.public_modulus_len()];
                k.sign(pad, &rng, input.as_bytes(), &mut s).unwrap();
                s
            }
        };
        format!("{input}.{}", b64(&sig))
    }
}

fn jwks(keys: &[Value]) -> Jwks {
    Jwks::parse(json!({ "keys": keys }).to_string().as_bytes()).unwrap()
}

fn claims() -> Value {
    json!({"iss": "https://verifier.test", "iat": T0 - 10, "nbf": T0 - 10, "exp": T0 + 300, "eat_nonce": "abc"})
}

fn at(t: i64) -> Checks {
    Checks::at(Timestamp(t))
}

#[test]
fn every_supported_alg_verifies() {
    for (signer, alg) in
        [(Signer::ec256(), "ES256"), (Signer::ec384(), "ES384"), (Signer::rsa(), "RS256"), (Signer::rsa(), "PS256")]
    {
        let set = jwks(&[signer.jwk("k1")]);
        let tok = signer.sign(alg, json!({"kid": "k1", "jku": "https://verifier.test/jwks"}), claims());
        let v = jwt::verify(&tok, &set, &at(T0)).unwrap_or_else(|e| panic!("{alg}: {e}"));
        assert_eq!(v.alg, alg);
        assert_eq!(v.kid.as_deref(), Some("k1"));
        assert_eq!(v.jku.as_deref(), Some("https://verifier.test/jwks"));
        assert_eq!(v.claims["eat_nonce"], "abc");
    }
}

#[test]
fn tampered_payload_and_wrong_key_fail_the_signature_check() {
    let s = Signer::ec256();
    let set = jwks(&[s.jwk("k1")]);
    let tok = s.sign("ES256", json!({"kid": "k1"}), claims());
    let mut parts: Vec<String> = tok.split('.').map(str::to_string).collect();
    let mut c = claims();
    c["eat_nonce"] = json!("abd");
    parts[1] = b64(c.to_string().as_bytes());
    let e = jwt::verify(&parts.join("."), &set, &at(T0)).unwrap_err();
    assert_eq!(e.check, "jwt.signature", "{e}");

    let other = Signer::ec256();
    let e = jwt::verify(&tok, &jwks(&[other.jwk("k1")]), &at(T0)).unwrap_err();
    assert_eq!(e.check, "jwt.signature", "{e}");
    // An RS256 token presented to an EC key: refused, not confused.
    let r = Signer::rsa();
    let rt = r.sign("RS256", json!({"kid": "k1"}), claims());
    assert_eq!(jwt::verify(&rt, &set, &at(T0)).unwrap_err().check, "jwt.signature");
}

#[test]
fn unsigned_and_symmetric_tokens_are_refused() {
    let s = Signer::ec256();
    let set = jwks(&[s.jwk("k1")]);
    for alg in ["none", "HS256"] {
        let h = b64(json!({"alg": alg, "kid": "k1"}).to_string().as_bytes());
        let tok = format!("{h}.{}.", b64(claims().to_string().as_bytes()));
        let e = jwt::verify(&tok, &set, &at(T0)).unwrap_err();
        assert_eq!(e.check, "jwt.alg", "{alg}: {e}");
    }
    let h = b64(json!({"kid": "k1"}).to_string().as_bytes());
    let e = jwt::verify(&format!("{h}.{}.AA", b64(b"{}")), &set, &at(T0)).unwrap_err();
    assert_eq!(e.check, "jwt.alg");
}

#[test]
fn key_selection_by_kid() {
    let a = Signer::ec256();
    let b = Signer::ec256();
    let set = jwks(&[a.jwk("a"), b.jwk("b")]);
    let tok = b.sign("ES256", json!({"kid": "b"}), claims());
    assert!(jwt::verify(&tok, &set, &at(T0)).is_ok());
    let tok = b.sign("ES256", json!({"kid": "c"}), claims());
    assert_eq!(jwt::verify(&tok, &set, &at(T0)).unwrap_err().check, "jwt.kid");
    // No kid: fine with one key, ambiguous with two.
    let tok = b.sign("ES256", json!({}), claims());
    assert_eq!(jwt::verify(&tok, &set, &at(T0)).unwrap_err().check, "jwt.kid");
    assert!(jwt::verify(&tok, &jwks(&[b.jwk("b")]), &at(T0)).is_ok());
    // A JWK pinned to another alg.
    let mut j = b.jwk("b");
    j["alg"] = json!("ES384");
    let tok = b.sign("ES256", json!({"kid": "b"}), claims());
    assert_eq!(jwt::verify(&tok, &jwks(&[j]), &at(T0)).unwrap_err().check, "jwt.alg");
}

#[test]
fn times_and_issuer_are_checked_at_the_evaluation_time() {
    let s = Signer::ec256();
    let set = jwks(&[s.jwk("k")]);
    let tok = s.sign("ES256", json!({"kid": "k"}), claims());
    assert!(jwt::verify(&tok, &set, &at(T0 + 300 + 59)).is_ok(), "within leeway");
    assert_eq!(jwt::verify(&tok, &set, &at(T0 + 300 + 60)).unwrap_err().check, "jwt.exp");
    assert_eq!(jwt::verify(&tok, &set, &at(T0 - 10 - 61)).unwrap_err().check, "jwt.nbf");
    let mut c = claims();
    c.as_object_mut().unwrap().remove("nbf");
    c["iat"] = json!(T0 + 1000);
    let tok2 = s.sign("ES256", json!({"kid": "k"}), c);
    assert_eq!(jwt::verify(&tok2, &set, &at(T0)).unwrap_err().check, "jwt.iat");
    let mut c = claims();
    c.as_object_mut().unwrap().remove("exp");
    let tok3 = s.sign("ES256", json!({"kid": "k"}), c);
    assert_eq!(jwt::verify(&tok3, &set, &at(T0)).unwrap_err().check, "jwt.exp");
    let mut lax = at(T0);
    lax.require_exp = false;
    assert!(jwt::verify(&tok3, &set, &lax).is_ok());
    let mut c = claims();
    c["exp"] = json!("tomorrow");
    let tok4 = s.sign("ES256", json!({"kid": "k"}), c);
    assert_eq!(jwt::verify(&tok4, &set, &at(T0)).unwrap_err().check, "jwt.claims");

    let mut iss = at(T0);
    iss.issuer = Some("https://verifier.test".into());
    assert!(jwt::verify(&tok, &set, &iss).is_ok());
    iss.issuer = Some("https://verifier.test/".into());
    assert_eq!(jwt::verify(&tok, &set, &iss).unwrap_err().check, "jwt.iss");
}

#[test]
fn malformed_tokens_are_refused_precisely() {
    let s = Signer::ec256();
    let set = jwks(&[s.jwk("k")]);
    let tok = s.sign("ES256", json!({"kid": "k"}), claims());
    let parts: Vec<&str> = tok.split('.').collect();
    for (bad, why) in [
        (format!("{}.{}", parts[0], parts[1]), "parts"),
        (format!("{tok}.x.y"), "parts"),
        (format!("{}.{}.{}", "!!", parts[1], parts[2]), "base64url"),
        (format!("{}.{}.{}", b64(b"[1]"), parts[1], parts[2]), "JSON object"),
        (format!("{}.{}.{}", parts[0], b64(b"not json"), parts[2]), "not JSON"),
        ("a".repeat(jwt::MAX_TOKEN_SIZE + 1), "exceeds"),
    ] {
        let e = jwt::verify(&bad, &set, &at(T0)).unwrap_err();
        assert_eq!(e.check, "jwt.format", "{why}: {e}");
        assert!(e.detail.contains(why), "{why}: {e}");
    }
    let h = b64(json!({"alg": "ES256", "kid": "k", "crit": ["exp"]}).to_string().as_bytes());
    let e = jwt::verify(&format!("{h}.{}.{}", parts[1], parts[2]), &set, &at(T0)).unwrap_err();
    assert_eq!(e.check, "jwt.crit");
}

#[test]
fn jwks_parsing_refuses_what_it_cannot_use() {
    for (bad, needle) in [
        (json!({"keys": []}), "empty"),
        (json!({"keys": [{"kty": "oct", "k": "AAAA"}]}), "not RSA or EC"),
        (json!({"keys": [{"kty": "EC", "crv": "P-521", "x": "AA", "y": "AA"}]}), "curve"),
        (json!({"keys": [{"kty": "RSA", "n": "AQAB", "e": "AQAB"}]}), "modulus"),
        (json!({"keys": [{"kty": "RSA", "e": "AQAB"}]}), "neither"),
        (json!({"keys": [{"kty": "EC", "crv": "P-256", "x": "AA", "y": "AA", "d": "AA"}]}), "private"),
        (json!({"keys": "x"}), "not an array"),
        (json!([1]), "neither a JWKS"),
    ] {
        let e = Jwks::parse(bad.to_string().as_bytes()).unwrap_err();
        assert!(e.detail.contains(needle), "{needle}: {e}");
    }
    assert!(Jwks::parse(b"{").is_err());
    // A single JWK is accepted as a one-key set.
    let s = Signer::ec384();
    assert_eq!(Jwks::parse(s.jwk("x").to_string().as_bytes()).unwrap().keys.len(), 1);
}

#[test]
fn x5c_keys_come_from_the_certificate_and_must_agree_with_the_parameters() {
    let sim = cloud_ra_sim::nitro::SimNitro::get();
    let der = sim.root_der();
    let cert = cloud_ra_verify::x509::Certificate::from_der(der).unwrap();
    let x5c = base64::engine::general_purpose::STANDARD.encode(der);
    let only = Jwk::from_json(&json!({"kty": "EC", "kid": "r", "x5c": [x5c]})).unwrap();
    assert_eq!(Some(only.key.clone()), cert.public_key);
    let mut with_params = Jwk::public_json(&only.key);
    with_params["x5c"] = json!([x5c]);
    assert!(Jwk::from_json(&with_params).is_ok());
    let mut lying = Jwk::public_json(&Signer::ec384().public());
    lying["x5c"] = json!([x5c]);
    assert!(Jwk::from_json(&lying).unwrap_err().detail.contains("differs"));
}

#[test]
fn thumbprints_are_stable_and_distinct() {
    let a = Signer::rsa().public();
    let b = Signer::ec256().public();
    assert_eq!(Jwk::thumbprint(&a), Jwk::thumbprint(&a));
    assert_ne!(Jwk::thumbprint(&a), Jwk::thumbprint(&b));
    assert_eq!(Jwk::thumbprint(&a).len(), 43);
    // The JWK round-trips to the same key.
    assert_eq!(Jwk::from_json(&Jwk::public_json(&a)).unwrap().key, a);
    assert_eq!(Jwk::from_json(&Jwk::public_json(&b)).unwrap().key, b);
}
