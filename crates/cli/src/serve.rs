//! `cloud-ra serve` (the verifier service) and `cloud-ra attest --verifier URL` (the attester's
//! side of the challenge–response flow).

use crate::print::fail;
use cloud_ra_server::{Config, Server};
use cloud_ra_verify::Check;
use cloud_ra_verify::bundle::Bundle;
use cloud_ra_verify::{Error, Timestamp};
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct ServeArgs {
    /// Address to listen on (default 127.0.0.1:8443). Plain HTTP is refused off loopback unless --allow-plain-http.
    #[arg(long)]
    listen: Option<String>,
    /// Store: sqlite://PATH (created mode 0600 on first start; its directory must exist) or
    /// postgres://USER@HOST/DB. Default: sqlite://STATE/cloud-ra.db, STATE being $STATE_DIRECTORY, else
    /// $XDG_STATE_HOME/cloud-ra, else /var/lib/cloud-ra for root, else ~/.local/state/cloud-ra (created 0700).
    #[arg(long)]
    db: Option<String>,
    /// TOML configuration file (keys: listen, db, signing_key, admin_token, admin_token_file, trust_simulated,
    /// allow_plain_http, tls_cert, tls_key, policy, collateral, session_ttl_secs, result_ttl_secs, max_body_bytes,
    /// request_timeout_secs, verify_workers, rate_limit_per_sec, rate_limit_burst, refuse_caller_nonce,
    /// allow_readable_db). Flags override it.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Accept evidence chained to cloud-ra's SIMULATED roots (demos and tests only).
    #[arg(long)]
    trust_simulated: bool,
    /// TLS certificate chain (PEM).
    #[arg(long)]
    tls_cert: Option<PathBuf>,
    /// TLS private key (PEM).
    #[arg(long)]
    tls_key: Option<PathBuf>,
    /// Serve plain HTTP on a non-loopback address (behind a TLS-terminating proxy).
    #[arg(long)]
    allow_plain_http: bool,
    /// Result-signing key (PKCS#8 PEM, ES256); created with mode 0600 at first start. Default: STATE/signing-key.pem
    /// (STATE as for --db).
    #[arg(long)]
    signing_key: Option<PathBuf>,
    /// File whose first line is the bearer token for the dashboard, /v1/appraisals, /v1/policies and /metrics
    /// (or set CLOUD_RA_ADMIN_TOKEN). Without one, those answer 401.
    #[arg(long)]
    admin_token_file: Option<PathBuf>,
    /// Appraisal policy (TOML or JSON) applied to every verification.
    #[arg(long)]
    policy: Option<PathBuf>,
    /// Certificate/CRL file offered to every verification (e.g. a VCEK). Repeatable.
    #[arg(long)]
    collateral: Vec<PathBuf>,
    /// Evaluate every verification at this time (RFC 3339) instead of now: archived evidence and tests.
    #[arg(long)]
    at: Option<String>,
    /// Refuse sessions whose nonce the caller chooses (newSession?nonce=, 403). Without it they are accepted and
    /// their results say nonce_source: caller-supplied (no freshness guarantee).
    #[arg(long)]
    refuse_caller_nonce: bool,
    /// Start on an existing SQLite database file (or its -wal/-shm) that group or others can read.
    #[arg(long)]
    allow_readable_db: bool,
}

fn config(a: &ServeArgs) -> Result<Config, Error> {
    let mut c = Config::default();
    if let Some(p) = &a.config {
        let text =
            std::fs::read_to_string(p).map_err(|e| Error::usage(Check::Config, format!("{}: {e}", p.display())))?;
        c.apply_file(&text).map_err(|e| Error::usage(Check::Config, e))?;
    }
    if let Some(l) = &a.listen {
        c.listen = l.parse().map_err(|e| Error::usage(Check::Listen, format!("{l}: {e}")))?;
    }
    if let Some(d) = &a.db {
        c.db = d.clone();
    }
    if let Ok(t) = std::env::var("CLOUD_RA_ADMIN_TOKEN")
        && !t.is_empty()
    {
        c.admin_token = Some(t);
    }
    if let Some(p) = &a.admin_token_file {
        let t = std::fs::read_to_string(p)
            .map_err(|e| Error::usage(Check::AdminTokenFile, format!("{}: {e}", p.display())))?;
        c.admin_token = Some(t.lines().next().unwrap_or_default().trim().to_string());
    }
    c.trust_simulated |= a.trust_simulated;
    c.allow_plain_http |= a.allow_plain_http;
    c.refuse_caller_nonce |= a.refuse_caller_nonce;
    c.allow_readable_db |= a.allow_readable_db;
    if a.tls_cert.is_some() {
        c.tls_cert = a.tls_cert.clone();
    }
    if a.tls_key.is_some() {
        c.tls_key = a.tls_key.clone();
    }
    if let Some(k) = &a.signing_key {
        c.signing_key = k.clone();
    }
    if a.policy.is_some() {
        c.policy = a.policy.clone();
    }
    c.collateral.extend(a.collateral.iter().cloned());
    if let Some(t) = &a.at {
        c.verify_at = Some(Timestamp::parse_rfc3339(t)?);
    }
    c.check().map_err(|e| Error::usage(Check::Serve, e))?;
    Ok(c)
}

pub fn run_serve(a: ServeArgs) -> i32 {
    let cfg = match config(&a) {
        Ok(c) => c,
        Err(e) => return fail(&e),
    };
    // Logging is set up by main (crate::log): CLOUD_RA_LOG=debug or -vv adds one line per
    // request; the default (info) logs appraisals and lifecycle.
    let rt = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => return fail(&Error::usage(Check::Serve, format!("tokio runtime: {e}"))),
    };
    rt.block_on(async move {
        let server = match Server::bind(cfg).await {
            Ok(s) => s,
            Err(e) => return fail(&Error::usage(Check::Serve, e)),
        };
        // Signal handlers first: a SIGTERM right after the line below is a graceful stop.
        let shutdown = cloud_ra_server::shutdown_signal();
        // One line on stdout that scripts can wait for.
        println!("listening on {}://{}", if server.tls { "https" } else { "http" }, server.local_addr);
        match server.run(shutdown).await {
            Ok(()) => 0,
            Err(e) => fail(&Error::usage(Check::Serve, e)),
        }
    })
}

/// Options of `cloud-ra attest --verifier URL`.
#[derive(clap::Args, Default)]
pub struct VerifierArgs {
    /// Run the challenge–response flow with this verifier (base URL): new session, collect with its nonce, submit,
    /// print the result (EAR JWT) and save it with -o/--result.
    #[arg(long)]
    pub verifier: Option<String>,
    /// Extra CA certificate (PEM) to trust for the verifier's TLS certificate.
    #[arg(long, requires = "verifier")]
    pub verifier_ca: Option<PathBuf>,
    /// Where to save the result token (default: stdout only).
    #[arg(long, requires = "verifier")]
    pub result: Option<PathBuf>,
}

fn http_client(ca: Option<&PathBuf>) -> Result<reqwest::blocking::Client, Error> {
    let mut b = reqwest::blocking::Client::builder().timeout(std::time::Duration::from_secs(60));
    if let Some(p) = ca {
        let pem = std::fs::read(p).map_err(|e| Error::usage(Check::VerifierCa, format!("{}: {e}", p.display())))?;
        let cert = reqwest::Certificate::from_pem(&pem)
            .map_err(|e| Error::usage(Check::VerifierCa, format!("{}: {e}", p.display())))?;
        b = b.add_root_certificate(cert);
    }
    b.build().map_err(|e| Error::usage(Check::Verifier, format!("HTTP client: {e}")))
}

fn json_body(r: reqwest::blocking::Response) -> Result<serde_json::Value, Error> {
    let status = r.status();
    let bytes = r.bytes().map_err(|e| Error::collateral(Check::Verifier, e.to_string()))?;
    serde_json::from_slice(&bytes).map_err(|_| {
        Error::collateral(
            Check::Verifier,
            format!("{status}: not a JSON answer: {}", String::from_utf8_lossy(&bytes[..bytes.len().min(200)])),
        )
    })
}

/// The attester's flow. `collect` gathers evidence on this machine with REPORT_DATA = the nonce.
pub fn attest_with_verifier(v: &VerifierArgs, collect: impl FnOnce(&[u8]) -> Result<Bundle, Error>) -> i32 {
    match attest_flow(v, collect) {
        Ok(code) => code,
        Err(e) => fail(&e),
    }
}

fn attest_flow(v: &VerifierArgs, collect: impl FnOnce(&[u8]) -> Result<Bundle, Error>) -> Result<i32, Error> {
    use base64::Engine;
    let base = v.verifier.as_deref().unwrap_or_default().trim_end_matches('/');
    let client = http_client(v.verifier_ca.as_ref())?;
    let net = |e: reqwest::Error| Error::collateral(Check::Verifier, format!("{base}: {e}"));
    let r = client.post(format!("{base}/challenge-response/v1/newSession?nonceSize=64")).send().map_err(net)?;
    let status = r.status();
    let loc = r.headers().get("location").and_then(|h| h.to_str().ok()).map(str::to_string);
    let body = json_body(r)?;
    if status.as_u16() != 201 {
        return Err(Error::collateral(Check::VerifierNewSession, format!("{status}: {body}")));
    }
    let nonce_b64 = body["nonce"].as_str().unwrap_or_default();
    let nonce = base64::engine::general_purpose::STANDARD
        .decode(nonce_b64)
        .map_err(|_| Error::evidence(Check::VerifierNonce, "the verifier's nonce is not base64"))?;
    let loc = loc.ok_or_else(|| Error::evidence(Check::VerifierNewSession, "no Location header"))?;
    let session_url = if loc.starts_with("http") {
        loc
    } else {
        format!("{base}/challenge-response/v1/{}", loc.trim_start_matches('/'))
    };
    eprintln!("session {session_url}, nonce {}", hex::encode(&nonce));
    let bundle = collect(&nonce)?;
    let r = client
        .post(&session_url)
        .header("content-type", cloud_ra_server::api::MT_BUNDLE)
        .body(bundle.to_json())
        .send()
        .map_err(net)?;
    let status = r.status();
    let body = json_body(r)?;
    if !status.is_success() {
        return Err(Error::evidence(
            Check::VerifierSubmit,
            format!("{status}: {}", body["detail"].as_str().unwrap_or(&body.to_string())),
        ));
    }
    match body["status"].as_str() {
        Some("complete") => {
            let token = body["result"].as_str().unwrap_or_default();
            println!("{token}");
            if let Some(p) = &v.result {
                std::fs::write(p, format!("{token}\n"))
                    .map_err(|e| Error::usage(Check::Result, format!("{}: {e}", p.display())))?;
                eprintln!("wrote {}", p.display());
            }
            let status = crate::token::ear_status(token).unwrap_or_else(|| "unknown".into());
            eprintln!("ear.status: {status}");
            Ok(if status == "contraindicated" { 4 } else { 0 })
        }
        other => {
            eprintln!("verification failed (status {}): {}", other.unwrap_or("?"), body["failure"]);
            Ok(2)
        }
    }
}
