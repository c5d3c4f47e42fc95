//! Azure Instance Metadata Service (IMDS), the two endpoints attestation needs:
//! `POST /acc/tdquote` (TDREPORT in, TD quote out; Azure TDX CVMs) and
//! `GET /metadata/THIM/amd/certification` (VCEK + ASK/ARK chain from the host's cache; Azure SNP CVMs).
//! Requests never go through an HTTP proxy (IMDS is link-local, as Azure documents).

use base64::Engine;
use std::time::Duration;

/// IMDS' fixed link-local address.
pub const DEFAULT_IMDS: &str = "http://169.254.169.254";
/// Largest IMDS answer read (a TD quote with its PCK chain is ~5 KiB; THIM ~4 KiB).
const MAX_BODY: usize = 1 << 20;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImdsError {
    #[error("IMDS {url}: {detail}")]
    Http { url: String, detail: String },
    #[error("IMDS {url}: HTTP {status}: {body}")]
    Status { url: String, status: u16, body: String },
    #[error("IMDS {url}: malformed answer: {detail}")]
    Answer { url: String, detail: String },
    #[error("{0}")]
    Input(String),
}

/// An IMDS client for one base URL.
pub struct Imds {
    base: String,
    client: reqwest::blocking::Client,
}

impl Imds {
    /// `base` like `http://169.254.169.254` (tests: a loopback server).
    pub fn new(base: &str, timeout: Duration) -> Result<Imds, ImdsError> {
        let base = base.trim_end_matches('/').to_string();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(ImdsError::Input(format!("IMDS base URL '{base}' is not http(s)")));
        }
        let client = reqwest::blocking::Client::builder()
            .no_proxy()
            .timeout(timeout)
            .build()
            .map_err(|e| ImdsError::Http { url: base.clone(), detail: e.to_string() })?;
        Ok(Imds { base, client })
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    fn finish(&self, url: &str, r: reqwest::Result<reqwest::blocking::Response>) -> Result<Vec<u8>, ImdsError> {
        let resp = r.map_err(|e| ImdsError::Http { url: url.to_string(), detail: error_chain(&e) })?;
        let status = resp.status().as_u16();
        let body = resp.bytes().map_err(|e| ImdsError::Http { url: url.to_string(), detail: error_chain(&e) })?;
        if body.len() > MAX_BODY {
            return Err(ImdsError::Answer { url: url.into(), detail: format!("{} bytes, too large", body.len()) });
        }
        if status != 200 {
            let text = String::from_utf8_lossy(&body[..body.len().min(300)]).into_owned();
            return Err(ImdsError::Status { url: url.into(), status, body: text });
        }
        Ok(body.to_vec())
    }

    /// TD quote for a 1024-byte TDREPORT: body `{"report": base64url (padded)}`, answer
    /// `{"quote": base64url (unpadded)}`.
    pub fn td_quote(&self, tdreport: &[u8]) -> Result<Vec<u8>, ImdsError> {
        if tdreport.len() != 1024 {
            return Err(ImdsError::Input(format!("a TDREPORT is 1024 bytes, not {}", tdreport.len())));
        }
        let url = format!("{}/acc/tdquote", self.base);
        let body =
            serde_json::json!({"report": base64::engine::general_purpose::URL_SAFE.encode(tdreport)}).to_string();
        let r = self
            .client
            .post(&url)
            .header("Content-Type", "application/json")
            .header("Metadata", "true")
            .body(body)
            .send();
        let answer = self.finish(&url, r)?;
        let bad = |detail: String| ImdsError::Answer { url: url.clone(), detail };
        let v: serde_json::Value = serde_json::from_slice(&answer).map_err(|e| bad(format!("not JSON: {e}")))?;
        let q = v.get("quote").and_then(|q| q.as_str()).ok_or_else(|| bad("no string member \"quote\"".into()))?;
        let quote = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(q.trim().trim_end_matches('='))
            .map_err(|e| bad(format!("\"quote\" is not base64url: {e}")))?;
        if quote.len() < 48 {
            return Err(bad(format!("\"quote\" is {} bytes, shorter than a quote header", quote.len())));
        }
        Ok(quote)
    }

    /// The THIM answer (JSON with `vcekCert`, `certificateChain`, `tcbm`, ...), as received,
    /// after checking that the two PEM members are there.
    pub fn thim_amd(&self) -> Result<Vec<u8>, ImdsError> {
        let url = format!("{}/metadata/THIM/amd/certification", self.base);
        let r = self.client.get(&url).header("Metadata", "true").send();
        let answer = self.finish(&url, r)?;
        let bad = |detail: String| ImdsError::Answer { url: url.clone(), detail };
        let v: serde_json::Value = serde_json::from_slice(&answer).map_err(|e| bad(format!("not JSON: {e}")))?;
        for member in ["vcekCert", "certificateChain"] {
            let s =
                v.get(member).and_then(|m| m.as_str()).ok_or_else(|| bad(format!("no string member \"{member}\"")))?;
            if !s.contains("-----BEGIN CERTIFICATE-----") {
                return Err(bad(format!("\"{member}\" holds no PEM certificate")));
            }
        }
        Ok(answer)
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(c) = src {
        s.push_str(": ");
        s.push_str(&c.to_string());
        src = c.source();
    }
    s
}
