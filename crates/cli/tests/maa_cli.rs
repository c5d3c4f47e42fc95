//! `cloud-ra maa verify` against a local signer and a JWKS served on loopback, as MAA serves
//! `{provider}/certs`: good tokens verify; every relying-party check refuses what it should.

#[path = "../../collateral/tests/common/mod.rs"]
mod common;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{KeyPair, KeySize};
use aws_lc_rs::signature::{self, KeyPair as _};
use base64::Engine;
use cloud_ra_verify::crypto::{KeyKind, PublicKey};
use cloud_ra_verify::jwt::Jwk;
use common::{JSON_CT, Reply, Server};
use serde_json::{Value, json};
use std::process::{Command, Output};

const T0: i64 = 1_790_000_000; // 2026-09-21T14:13:20Z
const AT: &str = "2026-09-21T15:00:00Z";

fn b64(b: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

struct Maa {
    key: KeyPair,
    server: Server,
}

impl Maa {
    fn new() -> Maa {
        let key = KeyPair::generate(KeySize::Rsa2048).expect("rsa key");
        let server = Server::start();
        let mut jwk = Jwk::public_json(&PublicKey { kind: KeyKind::Rsa, bytes: key.public_key().as_ref().to_vec() });
        jwk["kid"] = json!("maa-key-1");
        server.route("/certs", Reply::ok(JSON_CT, json!({"keys": [jwk]}).to_string().into_bytes()));
        Maa { key, server }
    }
    fn token(&self, header: Value, claims: Value) -> String {
        let input = format!("{}.{}", b64(header.to_string().as_bytes()), b64(claims.to_string().as_bytes()));
        let mut sig = vec![0u8; self.key.public_modulus_len()];
        self.key.sign(&signature::RSA_PKCS1_SHA256, &SystemRandom::new(), input.as_bytes(), &mut sig).expect("sign");
        format!("{input}.{}", b64(&sig))
    }
    fn header(&self) -> Value {
        json!({"alg": "RS256", "kid": "maa-key-1", "jku": format!("{}/certs", self.server.base), "typ": "JWT"})
    }
    fn claims(&self) -> Value {
        json!({
            "iss": self.server.base, "iat": T0, "nbf": T0, "exp": T0 + 8 * 3600,
            "nonce": "00112233445566778899aabbccddeeff",
            "x-ms-attestation-type": "sevsnpvm",
            "x-ms-compliance-status": "azure-compliant-cvm",
            "x-ms-sevsnpvm-is-debuggable": false,
            "x-ms-ver": "1.0"
        })
    }
}

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cloud-ra"))
        .args(args)
        .env_remove("CLOUD_RA_OFFLINE")
        .env_remove("CLOUD_RA_CONFIG")
        .output()
        .expect("cloud-ra runs")
}

fn err(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn maa_token_verifies_against_the_providers_jwks() {
    let m = Maa::new();
    let tok = m.token(m.header(), m.claims());
    let certs = format!("{}/certs", m.server.base);
    let o = run(&[
        "maa",
        "verify",
        &tok,
        "--jwks",
        &certs,
        "--provider",
        &m.server.base,
        "--nonce",
        "00112233445566778899AABBCCDDEEFF",
        "--at",
        AT,
        "--json",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    let v: Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(v["verified"], true);
    assert_eq!(v["kid"], "maa-key-1");
    assert_eq!(v["nonce_checked"], true);
    assert_eq!(v["x_ms"]["x-ms-attestation-type"], "sevsnpvm");
    assert_eq!(m.server.hits("/certs"), 1);

    // MAA's response JSON in a file, JWKS from a file, human output.
    let dir = std::env::temp_dir().join(format!("cloud-ra-maa-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let resp = dir.join("maa-response.json");
    std::fs::write(&resp, json!({"token": tok}).to_string()).expect("write");
    let jwks = dir.join("certs.json");
    let mut jwk = Jwk::public_json(&PublicKey { kind: KeyKind::Rsa, bytes: m.key.public_key().as_ref().to_vec() });
    jwk["kid"] = json!("maa-key-1");
    std::fs::write(&jwks, json!({"keys": [jwk]}).to_string()).expect("write");
    let o = run(&[
        "maa",
        "verify",
        resp.to_str().unwrap_or_default(),
        "--jwks",
        jwks.to_str().unwrap_or_default(),
        "--at",
        AT,
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("MAA token VERIFIED") && out.contains("azure-compliant-cvm"), "{out}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn maa_relying_party_checks_refuse() {
    let m = Maa::new();
    let certs = format!("{}/certs", m.server.base);
    let check = |tok: &str, extra: &[&str], want: &str| {
        let mut args = vec!["maa", "verify", tok, "--jwks", &certs, "--provider", &m.server.base, "--at", AT];
        args.extend_from_slice(extra);
        let o = run(&args);
        assert_eq!(o.status.code(), Some(2), "{want}: {}", err(&o));
        assert!(err(&o).contains(want), "{want}: {}", err(&o));
    };
    let good = m.token(m.header(), m.claims());
    // A valid token that echoes another nonce: appraisal failed (exit 4), said in plain words.
    let mut args = vec!["maa", "verify", &good, "--jwks", &certs, "--provider", &m.server.base, "--at", AT];
    args.extend_from_slice(&["--nonce", "ff"]);
    let o = run(&args);
    assert_eq!(o.status.code(), Some(4), "{}", err(&o));
    assert!(err(&o).contains("jwt.nonce") && err(&o).contains("not the one sent (ff)"), "{}", err(&o));
    assert!(!err(&o).contains("Some("), "no Rust debug text: {}", err(&o));
    // Tampered claim.
    let mut parts: Vec<String> = good.split('.').map(str::to_string).collect();
    let mut c = m.claims();
    c["x-ms-sevsnpvm-is-debuggable"] = json!(true);
    parts[1] = b64(c.to_string().as_bytes());
    check(&parts.join("."), &[], "jwt.signature");
    // Another issuer, a foreign jku, an expired token, an unknown kid.
    let mut c = m.claims();
    c["iss"] = json!("https://sharedeus.eus.attest.azure.net");
    check(&m.token(m.header(), c), &[], "jwt.iss");
    let mut h = m.header();
    h["jku"] = json!("https://attacker.example/certs");
    check(&m.token(h, m.claims()), &[], "jwt.jku");
    let mut c = m.claims();
    c["exp"] = json!(T0 + 60);
    check(&m.token(m.header(), c), &[], "jwt.exp");
    let mut h = m.header();
    h["kid"] = json!("other");
    check(&m.token(h, m.claims()), &[], "jwt.kid");
    check("not.a.token", &[], "jwt.format");

    // Offline: a JWKS URL is refused (collateral, exit 3).
    let o = run(&["maa", "verify", &good, "--jwks", &certs, "--offline", "--at", AT]);
    assert_eq!(o.status.code(), Some(3), "{}", err(&o));
    assert!(err(&o).contains("offline"), "{}", err(&o));
}

#[test]
fn maa_request_posts_the_body_and_verifies_the_returned_token() {
    let m = Maa::new();
    let nonce = "00112233445566778899aabbccddeeff";
    // MAA answers the attestation request with a token echoing our nonce.
    let tok = m.token(m.header(), m.claims());
    m.server.route(
        "/attest/SevSnpVm?api-version=2022-08-01",
        Reply::ok(JSON_CT, json!({"token": tok}).to_string().into_bytes()),
    );
    let hcl = cloud_ra_sim::testdata::path("azure/trustee-az-snp-vtpm/hcl-report.bin");
    let vcek = cloud_ra_sim::testdata::path("azure/trustee-az-snp-vtpm/vcek.pem");
    let (hcl, vcek) = (hcl.to_string_lossy().into_owned(), vcek.to_string_lossy().into_owned());
    let req = |n: &str| {
        run(&[
            "maa",
            "request",
            "--tee",
            "SevSnpVm",
            "--hcl",
            &hcl,
            "--vcek",
            &vcek,
            "--provider",
            &m.server.base,
            "--nonce",
            n,
            "--at",
            AT,
            "--json",
        ])
    };
    let o = req(nonce);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    let v: Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(v["verified"], true);
    assert_eq!(v["x_ms"]["x-ms-attestation-type"], "sevsnpvm");
    assert_eq!(v["token"], tok);
    assert_eq!(m.server.hits("/attest/SevSnpVm?api-version=2022-08-01"), 1);
    let h = m.server.request_headers("/attest/SevSnpVm?api-version=2022-08-01");
    assert!(h.iter().any(|(k, v)| k.eq_ignore_ascii_case("content-type") && v.contains("application/json")), "{h:?}");
    // The token does not echo the nonce we sent: refused.
    let o = req("ffee");
    assert_eq!(o.status.code(), Some(4), "{}", err(&o));
    assert!(err(&o).contains("jwt.nonce"), "{}", err(&o));
    // A provider that answers without a token.
    m.server.route("/attest/SevSnpVm?api-version=2022-08-01", Reply::ok(JSON_CT, b"{\"error\":\"bad\"}".to_vec()));
    let o = req(nonce);
    assert_eq!(o.status.code(), Some(2), "{}", err(&o));
    assert!(err(&o).contains("no \"token\""), "{}", err(&o));
}
