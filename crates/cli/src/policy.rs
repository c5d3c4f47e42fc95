//! `cloud-ra policy push|list|show|delete --verifier URL`: the named appraisal policies of a
//! running `cloud-ra serve` (its `/v1/policies` admin API). The admin token comes from
//! `--token-file` (first line) or `CLOUD_RA_ADMIN_TOKEN`, never from the command line.

use crate::print::{self, fail};
use cloud_ra_server::policies::valid_name;
use cloud_ra_verify::{Check, Error, Policy, Timestamp};
use serde_json::{Value, json};
use std::path::PathBuf;

#[derive(clap::Subcommand)]
pub enum PolicyCmd {
    /// Create or replace policy NAME from FILE (TOML or JSON, as `verify --policy`; validated here and by the
    /// verifier). Prints NAME@VERSION, the id results will carry.
    Push {
        name: String,
        file: PathBuf,
        #[command(flatten)]
        remote: Remote,
    },
    /// The verifier's policies: the configured default and the stored ones, with their versions.
    List {
        #[command(flatten)]
        remote: Remote,
    },
    /// One policy's text on stdout (as uploaded), its id on stderr.
    Show {
        name: String,
        #[command(flatten)]
        remote: Remote,
    },
    /// Delete policy NAME (results and audit records made under it stay as they are).
    Delete {
        name: String,
        #[command(flatten)]
        remote: Remote,
    },
}

#[derive(clap::Args)]
pub struct Remote {
    /// The verifier's base URL (`cloud-ra serve`).
    #[arg(long)]
    verifier: String,
    /// File whose first line is the verifier's admin token (default: $CLOUD_RA_ADMIN_TOKEN).
    #[arg(long)]
    token_file: Option<PathBuf>,
    /// Extra CA certificate (PEM) to trust for the verifier's TLS certificate.
    #[arg(long)]
    verifier_ca: Option<PathBuf>,
    /// The verifier's JSON answer on stdout.
    #[arg(long)]
    json: bool,
}

pub fn run(c: PolicyCmd) -> i32 {
    match run_cmd(c) {
        Ok(()) => 0,
        Err(e) => fail(&e),
    }
}

fn run_cmd(c: PolicyCmd) -> Result<(), Error> {
    match c {
        PolicyCmd::Push { name, file, remote } => {
            check_name(&name)?;
            let bytes =
                std::fs::read(&file).map_err(|e| Error::usage(Check::Policy, format!("{}: {e}", file.display())))?;
            let text = String::from_utf8(bytes)
                .map_err(|_| Error::usage(Check::Policy, format!("{} is not UTF-8 text", file.display())))?;
            // The same validation as `verify --policy`, before anything is sent.
            Policy::parse(&file.display().to_string(), &text)?;
            let v = Api::new(&remote)?.call(reqwest::Method::PUT, &format!("/v1/policies/{name}"), Some(text))?;
            if remote.json {
                print::json(&v);
            } else {
                let how = if v["created"] == true { "created" } else { "replaced" };
                println!("{} {how}", v["id"].as_str().unwrap_or_default());
            }
        }
        PolicyCmd::List { remote } => {
            let v = Api::new(&remote)?.call(reqwest::Method::GET, "/v1/policies", None)?;
            if remote.json {
                print::json(&v);
            } else {
                let empty = Vec::new();
                let list = v["policies"].as_array().unwrap_or(&empty);
                println!("{:<24} {:<16} {:<7} UPDATED", "NAME", "VERSION", "SOURCE");
                for p in list {
                    println!(
                        "{:<24} {:<16} {:<7} {}",
                        p["name"].as_str().unwrap_or_default(),
                        p["version"].as_str().unwrap_or_default(),
                        p["source"].as_str().unwrap_or_default(),
                        p["updated_ms"].as_i64().map(rfc3339).unwrap_or_else(|| "-".into()),
                    );
                }
            }
        }
        PolicyCmd::Show { name, remote } => {
            check_name(&name)?;
            let v = Api::new(&remote)?.call(reqwest::Method::GET, &format!("/v1/policies/{name}"), None)?;
            if remote.json {
                print::json(&v);
            } else {
                let updated = v["updated_ms"].as_i64().map(|t| format!(", updated {}", rfc3339(t))).unwrap_or_default();
                eprintln!(
                    "{} ({}{updated})",
                    v["id"].as_str().unwrap_or_default(),
                    v["source"].as_str().unwrap_or_default()
                );
                print!("{}", v["body"].as_str().unwrap_or_default());
            }
        }
        PolicyCmd::Delete { name, remote } => {
            check_name(&name)?;
            Api::new(&remote)?.call(reqwest::Method::DELETE, &format!("/v1/policies/{name}"), None)?;
            if remote.json {
                print::json(&json!({"deleted": name}));
            } else {
                println!("deleted {name}");
            }
        }
    }
    Ok(())
}

fn check_name(name: &str) -> Result<(), Error> {
    if valid_name(name) {
        return Ok(());
    }
    Err(Error::usage(
        Check::Policy,
        format!("policy name {name:?}: 1 to 64 characters of A-Z a-z 0-9 . _ -, starting with a letter or digit"),
    ))
}

fn rfc3339(ms: i64) -> String {
    Timestamp(ms.div_euclid(1000)).to_rfc3339()
}

/// The admin token: `--token-file`'s first line, else `CLOUD_RA_ADMIN_TOKEN`.
fn admin_token(r: &Remote) -> Result<String, Error> {
    let t = match &r.token_file {
        Some(p) => std::fs::read_to_string(p)
            .map_err(|e| Error::usage(Check::AdminTokenFile, format!("{}: {e}", p.display())))?
            .lines()
            .next()
            .unwrap_or_default()
            .trim()
            .to_string(),
        None => std::env::var("CLOUD_RA_ADMIN_TOKEN").unwrap_or_default().trim().to_string(),
    };
    if t.is_empty() {
        return Err(Error::usage(
            Check::AdminTokenFile,
            "no admin token: give --token-file FILE (first line) or set CLOUD_RA_ADMIN_TOKEN",
        ));
    }
    Ok(t)
}

struct Api {
    base: String,
    token: String,
    client: reqwest::blocking::Client,
}

impl Api {
    fn new(r: &Remote) -> Result<Api, Error> {
        let token = admin_token(r)?;
        let mut b = reqwest::blocking::Client::builder().timeout(std::time::Duration::from_secs(60));
        if let Some(p) = &r.verifier_ca {
            let pem = std::fs::read(p).map_err(|e| Error::usage(Check::VerifierCa, format!("{}: {e}", p.display())))?;
            let cert = reqwest::Certificate::from_pem(&pem)
                .map_err(|e| Error::usage(Check::VerifierCa, format!("{}: {e}", p.display())))?;
            b = b.add_root_certificate(cert);
        }
        let client = b.build().map_err(|e| Error::usage(Check::Verifier, format!("HTTP client: {e}")))?;
        Ok(Api { base: r.verifier.trim_end_matches('/').to_string(), token, client })
    }

    /// One request; the JSON answer (`null` for 204), or the verifier's problem as the error.
    fn call(&self, method: reqwest::Method, path: &str, body: Option<String>) -> Result<Value, Error> {
        let url = format!("{}{path}", self.base);
        let mut req = self.client.request(method, &url).bearer_auth(&self.token);
        if let Some(b) = body {
            req = req.header("content-type", "text/plain; charset=utf-8").body(b);
        }
        let r = req.send().map_err(|e| Error::collateral(Check::Verifier, format!("{}: {e}", self.base)))?;
        let status = r.status();
        let bytes = r.bytes().map_err(|e| Error::collateral(Check::Verifier, format!("{}: {e}", self.base)))?;
        if status.as_u16() == 204 {
            return Ok(Value::Null);
        }
        let v: Value = serde_json::from_slice(&bytes).map_err(|_| {
            Error::collateral(
                Check::Verifier,
                format!("{status}: not a JSON answer: {}", String::from_utf8_lossy(&bytes[..bytes.len().min(200)])),
            )
        })?;
        if !status.is_success() {
            let check = v["check"].as_str().unwrap_or("?");
            let detail = v["detail"].as_str().unwrap_or_default();
            // The policy was refused (bad text, name, size; unknown or reserved name): a usage
            // error about it. Anything else (token, server) is the verifier's.
            let about_the_policy = matches!(status.as_u16(), 400 | 404 | 409 | 413 | 422);
            let kind = if about_the_policy { Check::Policy } else { Check::Verifier };
            return Err(Error::usage(kind, format!("the verifier refused ({status}, {check}): {detail}")));
        }
        Ok(v)
    }
}
