//! Microsoft Azure Attestation.
//!
//! `cloud-ra maa verify`: MAA tokens checked as a relying party should (the seed's scripts only
//! base64-decode them): signature against the provider's JWKS, `jku` and `kid`, `iss`,
//! exp/nbf/iat at the evaluation time, and the nonce echoed.
//!
//! `cloud-ra maa request`: the request bodies the seed sends (seed-system §2.9), built from the
//! evidence files with a fresh nonce; `--dry-run` prints them, otherwise they are POSTed to the
//! provider and the returned token is verified as `maa verify` does.
//! * SevSnpVm: `{"report": b64url(JSON {"SnpReport": b64url(1184-byte report), "VcekCertChain":
//!   b64url(VCEK + chain PEM)}), "runtimeData": {"data": b64url(runtime claims), "dataType":
//!   "JSON"}, "nonce": hex}` — the report and the runtime claims come from the HCL report.
//! * TdxVm: `{"quote": b64url(TD quote), "runtimeData": {... claims ...}, "nonce": hex}`.
//! * SgxEnclave: `{"quote": b64url(quote), "runtimeData": {"data": b64url(bytes), "dataType":
//!   "Binary"}, "nonce": hex}`.
//!
//! base64url is padded, as `basenc --base64url` in the seed's scripts writes it.

use crate::input::read_file;
use crate::print::{self, fail};
use base64::Engine;
use clap::{Args, ValueEnum};
use cloud_ra_verify::Check;
use cloud_ra_verify::azure::{HclReport, Tee};
use cloud_ra_verify::jwt::{self, Checks, Jwks};
use cloud_ra_verify::{Error, Timestamp};
use serde_json::{Map, Value, json};

#[derive(clap::Subcommand)]
pub enum MaaCmd {
    /// Verify an MAA token (JWT) and print its x-ms-* claims.
    Verify(VerifyArgs),
    /// Build the attestation request for MAA; send it and verify the returned token (or --dry-run).
    Request(RequestArgs),
}

/// A signed token and the keys to check it with (`maa verify`, `token verify`).
#[derive(Args)]
pub struct TokenArgs {
    /// The token: the JWT, a file holding it, or a response JSON `{"token": ...}` (MAA's).
    token: String,
    /// The signer's keys: a JWKS file, or its URL (MAA: `{provider}/certs`; `cloud-ra serve`:
    /// `{verifier}/.well-known/jwks.json`).
    #[arg(long, value_name = "FILE|URL")]
    jwks: String,
    /// Evaluation time (RFC 3339). Default: now.
    #[arg(long)]
    at: Option<String>,
    /// One JSON object on stdout.
    #[arg(long)]
    pub json: bool,
    /// Never use the network (a JWKS URL is then refused; env CLOUD_RA_OFFLINE=1).
    #[arg(long)]
    offline: bool,
}

impl TokenArgs {
    /// The token text, the key set and the evaluation time.
    pub fn load(&self) -> Result<(String, Jwks, Timestamp), Error> {
        let at = match self.at.as_deref() {
            Some(s) => Timestamp::parse_rfc3339(s)?,
            None => Timestamp::now(),
        };
        Ok((read_token(&self.token)?, load_jwks(&self.jwks, self.offline)?, at))
    }
}

#[derive(Args)]
pub struct VerifyArgs {
    #[command(flatten)]
    t: TokenArgs,
    /// The attestation provider (e.g. https://sharedjpe.jpe.attest.azure.net): `iss` must equal it
    /// and the token's `jku` must be `{provider}/certs`.
    #[arg(long, value_name = "URL")]
    provider: Option<String>,
    /// The nonce sent in the request: the token's `nonce` claim must echo it.
    #[arg(long)]
    nonce: Option<String>,
}

pub fn run(c: MaaCmd) -> i32 {
    match c {
        MaaCmd::Verify(a) => match verify(&a) {
            Ok(v) => {
                if a.t.json {
                    print::json(&v);
                } else {
                    println!("MAA token VERIFIED");
                    print::tree(&v, 1);
                }
                0
            }
            Err(e) => fail(&e),
        },
        MaaCmd::Request(a) => run_request(&a),
    }
}

/// Reads a JWKS from a file or fetches it from a URL (with the collateral crate's HTTP rules).
pub fn load_jwks(src: &str, offline: bool) -> Result<Jwks, Error> {
    if src.starts_with("https://") || src.starts_with("http://") {
        let offline = offline || std::env::var("CLOUD_RA_OFFLINE").is_ok_and(|v| v == "1" || v == "true");
        if offline {
            return Err(Error::collateral(Check::Jwks, format!("offline: cannot fetch the JWKS {src}")));
        }
        let cfg = cloud_ra_collateral::Config::with_cache_dir(std::env::temp_dir());
        let http = cloud_ra_collateral::http::Http::new(&cfg).map_err(|e| Error::collateral(Check::Jwks, e.detail))?;
        let r = http
            .get(src, &[], "is this the provider's /certs URL?")
            .map_err(|e| Error::collateral(Check::Jwks, e.detail))?;
        return Jwks::parse(&r.body);
    }
    Jwks::parse(&read_file(src, "JWKS")?)
}

/// A token given inline, in a file, or inside MAA's response JSON.
pub fn read_token(arg: &str) -> Result<String, Error> {
    let text = if std::path::Path::new(arg).is_file() {
        String::from_utf8(read_file(arg, "token")?)
            .map_err(|_| Error::usage(Check::Input, format!("{arg} is not text")))?
    } else {
        arg.to_string()
    };
    let t = text.trim();
    if t.starts_with('{') {
        let v: Value =
            serde_json::from_str(t).map_err(|e| Error::evidence(Check::JwtFormat, format!("{arg}: not JSON: {e}")))?;
        return v
            .get("token")
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| Error::evidence(Check::JwtFormat, format!("{arg}: JSON without a 'token' string")));
    }
    Ok(t.to_string())
}

fn verify(a: &VerifyArgs) -> Result<Value, Error> {
    let (token, jwks, at) = a.t.load()?;
    let provider = a.provider.as_deref().map(|p| p.trim_end_matches('/'));
    check_token(&token, &jwks, provider, a.nonce.as_deref(), at)
}

/// The relying party's checks of an MAA token: signature by `jwks`, times at `at`; with a
/// provider, `iss` = provider and `jku` = `{provider}/certs`; with a nonce, the token echoes it.
fn check_token(
    token: &str,
    jwks: &Jwks,
    provider: Option<&str>,
    nonce: Option<&str>,
    at: Timestamp,
) -> Result<Value, Error> {
    let mut checks = Checks::at(at);
    checks.issuer = provider.map(str::to_string);
    let v = jwt::verify(token, jwks, &checks)?;
    if let Some(p) = provider {
        let want = format!("{p}/certs");
        if v.jku.as_deref() != Some(want.as_str()) {
            let got = v.jku.as_deref().map(|j| format!("'{j}'")).unwrap_or_else(|| "absent".into());
            return Err(Error::evidence(Check::JwtJku, format!("jku is {got}, expected '{want}'")));
        }
    }
    // A valid token whose claims do not match what was sent: an appraisal failure (exit 4), as
    // for native evidence bound to another nonce.
    if let Some(n) = nonce {
        match v.claims.get("nonce").and_then(Value::as_str) {
            Some(got) if got.eq_ignore_ascii_case(n) => {}
            Some(got) => {
                return Err(Error::appraisal(
                    Check::JwtNonce,
                    format!("the token echoes nonce {got}, not the one sent ({n})"),
                ));
            }
            None => {
                return Err(Error::appraisal(
                    Check::JwtNonce,
                    format!("the token has no nonce claim; the request sent {n}"),
                ));
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
        "nonce_checked": nonce.is_some(),
        "x_ms": ms,
    }))
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TeeType {
    #[value(name = "SevSnpVm")]
    SevSnpVm,
    #[value(name = "TdxVm")]
    TdxVm,
    #[value(name = "SgxEnclave")]
    SgxEnclave,
}

impl TeeType {
    fn name(self) -> &'static str {
        match self {
            TeeType::SevSnpVm => "SevSnpVm",
            TeeType::TdxVm => "TdxVm",
            TeeType::SgxEnclave => "SgxEnclave",
        }
    }
    /// The seed's default provider and API version for this TEE type.
    fn defaults(self) -> (&'static str, &'static str) {
        match self {
            TeeType::SevSnpVm => ("https://sharedjpe.jpe.attest.azure.net", "2022-08-01"),
            TeeType::TdxVm => ("https://sharedeus.eus.attest.azure.net", "2025-06-01"),
            TeeType::SgxEnclave => ("https://sharedjpe.jpe.attest.azure.net", "2025-06-01"),
        }
    }
}

#[derive(clap::Args)]
pub struct RequestArgs {
    /// MAA TEE type.
    #[arg(long, value_enum)]
    tee: TeeType,
    /// HCL report (vTPM NV 0x01400001): SNP report and runtime claims (SevSnpVm), runtime claims (TdxVm).
    #[arg(long)]
    hcl: Option<String>,
    /// VCEK followed by its chain (PEM), or an IMDS THIM response JSON (SevSnpVm).
    #[arg(long)]
    vcek: Option<String>,
    /// Quote file: the TD quote from IMDS /acc/tdquote (TdxVm) or an SGX quote (SgxEnclave).
    #[arg(long)]
    quote: Option<String>,
    /// SgxEnclave: the runtime data whose hash the enclave put in REPORT_DATA (sent as "Binary").
    #[arg(long)]
    runtime_data: Option<String>,
    /// MAA provider URL. Default: the seed's shared provider for the TEE type.
    #[arg(long)]
    provider: Option<String>,
    /// API version. Default: 2022-08-01 for SevSnpVm, 2025-06-01 otherwise.
    #[arg(long)]
    api_version: Option<String>,
    /// Nonce (hex). Default: 32 fresh random bytes.
    #[arg(long)]
    nonce: Option<String>,
    /// Print the request body (JSON) on stdout and the URL on stderr; send nothing.
    #[arg(long)]
    dry_run: bool,
    /// The provider's signing keys for the returned token: a JWKS file or URL. Default: `{provider}/certs`.
    #[arg(long, value_name = "FILE|URL")]
    jwks: Option<String>,
    /// Evaluation time of the returned token (RFC 3339). Default: now.
    #[arg(long)]
    at: Option<String>,
    /// One JSON object on stdout.
    #[arg(long)]
    json: bool,
}

fn b64url(b: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE.encode(b)
}

fn need<'a>(v: &'a Option<String>, flag: &str, tee: TeeType) -> Result<&'a str, Error> {
    v.as_deref().ok_or_else(|| Error::usage(Check::Maa, format!("--tee {} needs {flag}", tee.name())))
}

fn hcl_of(path: &str, want: Tee) -> Result<HclReport, Error> {
    let h = HclReport::parse(&read_file(path, "HCL report")?)?;
    if h.tee != want {
        return Err(Error::usage(
            Check::Maa,
            format!("{path} is an HCL report of {}, not {}", h.tee.platform(), want.platform()),
        ));
    }
    Ok(h)
}

/// VCEK + chain as PEM text: a PEM file as is, or a THIM response's vcekCert + certificateChain.
fn vcek_chain_pem(path: &str) -> Result<Vec<u8>, Error> {
    let b = read_file(path, "VCEK chain")?;
    let pem = if b.iter().find(|c| !c.is_ascii_whitespace()) == Some(&b'{') {
        cloud_ra_verify::azure::format::thim_pems(&b)?
    } else {
        b
    };
    let objs = cloud_ra_verify::x509::read_objects(&pem)
        .map_err(|e| Error::usage(Check::Maa, format!("{path}: not PEM certificates: {e}")))?;
    if objs.is_empty() || pem.first() == Some(&0x30) {
        return Err(Error::usage(Check::Maa, format!("{path}: MAA takes the VCEK chain as PEM text")));
    }
    Ok(pem)
}

fn runtime_json(h: &HclReport) -> Value {
    json!({"data": b64url(&h.claims.raw), "dataType": "JSON"})
}

/// Builds (provider, URL, nonce hex, body).
pub fn build(a: &RequestArgs) -> Result<(String, String, String, Value), Error> {
    let nonce = match &a.nonce {
        Some(n) => {
            let v = cloud_ra_verify::policy::parse_hex("nonce", n, 64)?;
            if v.is_empty() {
                return Err(Error::usage(Check::Nonce, "--nonce is empty"));
            }
            v
        }
        None => cloud_ra_attest::collect::fresh_nonce().map_err(|e| Error::usage(Check::Nonce, e))?[..32].to_vec(),
    };
    let body = match a.tee {
        TeeType::SevSnpVm => {
            let h = hcl_of(need(&a.hcl, "--hcl", a.tee)?, Tee::Snp)?;
            let chain = vcek_chain_pem(need(&a.vcek, "--vcek", a.tee)?)?;
            let inner = json!({"SnpReport": b64url(&h.hw_report), "VcekCertChain": b64url(&chain)});
            json!({
                "report": b64url(inner.to_string().as_bytes()),
                "runtimeData": runtime_json(&h),
                "nonce": hex::encode(&nonce),
            })
        }
        TeeType::TdxVm => {
            let path = need(&a.quote, "--quote", a.tee)?;
            let q = read_file(path, "TD quote")?;
            let parsed = cloud_ra_verify::dcap::Quote::parse(&q)?;
            let Some(td) = parsed.body.td() else {
                return Err(Error::usage(Check::Maa, format!("{path} is an SGX quote; --tee TdxVm takes a TD quote")));
            };
            let h = hcl_of(need(&a.hcl, "--hcl", a.tee)?, Tee::Tdx)?;
            if td.report_data != h.report_data() {
                return Err(Error::usage(
                    Check::Maa,
                    "the TD quote's REPORTDATA is not the HCL report's TDREPORT REPORTDATA: they belong to different reports",
                ));
            }
            json!({"quote": b64url(&q), "runtimeData": runtime_json(&h), "nonce": hex::encode(&nonce)})
        }
        TeeType::SgxEnclave => {
            let path = need(&a.quote, "--quote", a.tee)?;
            let q = read_file(path, "SGX quote")?;
            let parsed = cloud_ra_verify::dcap::Quote::parse(&q)?;
            if parsed.body.td().is_some() {
                return Err(Error::usage(
                    Check::Maa,
                    format!("{path} is a TD quote; --tee SgxEnclave takes an SGX quote"),
                ));
            }
            let mut body = json!({"quote": b64url(&q), "nonce": hex::encode(&nonce)});
            if let Some(r) = &a.runtime_data {
                body["runtimeData"] = json!({"data": b64url(&read_file(r, "runtime data")?), "dataType": "Binary"});
            }
            body
        }
    };
    let (provider, version) = a.tee.defaults();
    let provider = a.provider.as_deref().unwrap_or(provider).trim_end_matches('/');
    let url = format!("{provider}/attest/{}?api-version={}", a.tee.name(), a.api_version.as_deref().unwrap_or(version));
    Ok((provider.to_string(), url, hex::encode(&nonce), body))
}

/// POSTs the request and verifies the token MAA returns: signature by the provider's JWKS, `jku`
/// = `{provider}/certs`, `iss` = the provider, times, and our nonce echoed.
fn send(a: &RequestArgs, provider: &str, url: &str, nonce: &str, body: &Value) -> Result<Value, Error> {
    let at = match a.at.as_deref() {
        Some(s) => Timestamp::parse_rfc3339(s)?,
        None => Timestamp::now(),
    };
    if std::env::var("CLOUD_RA_OFFLINE").is_ok_and(|v| v == "1" || v == "true") {
        return Err(Error::collateral(
            Check::Maa,
            format!("offline (CLOUD_RA_OFFLINE): not sending to {url}; --dry-run prints the request"),
        ));
    }
    let cfg = cloud_ra_collateral::Config::with_cache_dir(std::env::temp_dir());
    let http = cloud_ra_collateral::http::Http::new(&cfg).map_err(|e| Error::collateral(Check::Maa, e.detail))?;
    let r = http
        .post_json(
            url,
            &[],
            body.to_string().as_bytes(),
            "is this an MAA provider URL (https://NAME.REGION.attest.azure.net)?",
        )
        .map_err(|e| Error::collateral(Check::Maa, e.detail))?;
    let resp: Value = serde_json::from_slice(&r.body)
        .map_err(|e| Error::evidence(Check::Maa, format!("MAA's answer is not JSON: {e}")))?;
    let token = resp
        .get("token")
        .and_then(Value::as_str)
        .ok_or_else(|| Error::evidence(Check::Maa, format!("MAA's answer has no \"token\": {}", resp)))?;
    let jwks_src = a.jwks.clone().unwrap_or_else(|| format!("{provider}/certs"));
    let jwks = load_jwks(&jwks_src, false)?;
    let mut v = check_token(token, &jwks, Some(provider), Some(nonce), at)?;
    v["url"] = json!(url);
    v["token"] = json!(token);
    Ok(v)
}

fn run_request(a: &RequestArgs) -> i32 {
    let (provider, url, nonce, body) = match build(a) {
        Ok(x) => x,
        Err(e) => return fail(&e),
    };
    eprintln!("POST {url}");
    if a.dry_run {
        print::json(&body);
        return 0;
    }
    match send(a, &provider, &url, &nonce, &body) {
        Ok(v) => {
            if a.json {
                print::json(&v);
            } else {
                println!("MAA token VERIFIED (nonce {nonce})");
                let mut shown = v.clone();
                if let Some(o) = shown.as_object_mut() {
                    o.remove("token");
                }
                print::tree(&shown, 1);
            }
            0
        }
        Err(e) => fail(&e),
    }
}
