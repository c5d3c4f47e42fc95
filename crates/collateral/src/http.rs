//! One HTTP exchange (GET, or POST of a JSON body) with the rules every remote source needs: a timeout for the whole exchange,
//! a bounded body, retries with exponential backoff on transport errors, 5xx and 429 (honouring
//! `Retry-After` up to a bound), and no retry on other 4xx.

use crate::config::Config;
use crate::error::{CollError, Kind};
use std::io::Read;
use std::time::Duration;

/// A successful (200) response, body read completely.
#[derive(Debug, Clone)]
pub struct Response {
    pub url: String,
    pub content_type: Option<String>,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// Requests sent (1 = no retry).
    pub attempts: u32,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

pub struct Http {
    client: reqwest::blocking::Client,
    retries: u32,
    backoff: Duration,
    max_retry_after: Duration,
    max_body: usize,
    timeout: Duration,
}

enum Attempt {
    Done(Response),
    /// Worth another try after at least this long.
    Retry(CollError, Duration),
    Fail(CollError),
}

impl Http {
    pub fn new(cfg: &Config) -> Result<Self, CollError> {
        let client = reqwest::blocking::Client::builder()
            .timeout(cfg.timeout)
            .connect_timeout(cfg.connect_timeout)
            .user_agent(concat!("cloud-ra/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| CollError::new(Kind::Network, format!("cannot set up the HTTP client: {e}")))?;
        Ok(Http {
            client,
            retries: cfg.retries,
            backoff: cfg.backoff,
            max_retry_after: cfg.max_retry_after,
            max_body: cfg.max_body,
            timeout: cfg.timeout,
        })
    }

    /// GETs `url`. `not_found` explains the usual causes of a 404 for this item.
    pub fn get(&self, url: &str, headers: &[(&str, &str)], not_found: &str) -> Result<Response, CollError> {
        self.exchange(url, headers, None, not_found)
    }

    /// POSTs a JSON body to `url` (Azure IMDS `/acc/tdquote`, MAA `/attest/...`); same rules as GET.
    pub fn post_json(
        &self,
        url: &str,
        headers: &[(&str, &str)],
        body: &[u8],
        not_found: &str,
    ) -> Result<Response, CollError> {
        self.exchange(url, headers, Some(body), not_found)
    }

    fn exchange(
        &self,
        url: &str,
        headers: &[(&str, &str)],
        body: Option<&[u8]>,
        not_found: &str,
    ) -> Result<Response, CollError> {
        let mut last = None;
        for attempt in 0..=self.retries {
            match self.once(url, headers, body, not_found, attempt + 1) {
                Attempt::Done(r) => return Ok(r),
                Attempt::Fail(e) => return Err(e),
                Attempt::Retry(e, wait) => {
                    if attempt < self.retries {
                        let backoff = self.backoff.saturating_mul(1 << attempt.min(10));
                        std::thread::sleep(wait.max(backoff));
                    }
                    last = Some(e);
                }
            }
        }
        let e = last.unwrap_or_else(|| CollError::new(Kind::Network, "no attempt made"));
        Err(CollError::new(e.kind, format!("{} (gave up after {} attempts)", e.detail, self.retries + 1)))
    }

    fn once(&self, url: &str, headers: &[(&str, &str)], body: Option<&[u8]>, not_found: &str, n: u32) -> Attempt {
        let m = if body.is_some() { "POST" } else { "GET" };
        let mut req = match body {
            None => self.client.get(url),
            Some(b) => self.client.post(url).header("content-type", "application/json").body(b.to_vec()),
        };
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        tracing::debug!("{m} {url} (attempt {n})");
        let started = std::time::Instant::now();
        let resp = match req.send() {
            Ok(r) => r,
            Err(e) if e.is_timeout() => {
                return Attempt::Retry(
                    CollError::new(Kind::Network, format!("{m} {url}: no answer within {:?}", self.timeout)),
                    Duration::ZERO,
                );
            }
            Err(e) => {
                return Attempt::Retry(
                    CollError::new(Kind::Network, format!("{m} {url}: {}", error_chain(&e))),
                    Duration::ZERO,
                );
            }
        };
        let status = resp.status().as_u16();
        tracing::debug!("{m} {url}: HTTP {status} in {} ms", started.elapsed().as_millis());
        let header_pairs: Vec<(String, String)> = resp
            .headers()
            .iter()
            .filter_map(|(k, v)| v.to_str().ok().map(|v| (k.as_str().to_string(), v.to_string())))
            .collect();
        let get_h = |name: &str| header_pairs.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v);
        match status {
            200 => {}
            404 => {
                return Attempt::Fail(CollError::new(Kind::NotFound, format!("{m} {url}: 404 Not Found. {not_found}")));
            }
            429 | 500..=599 => {
                let what = if status == 429 {
                    "429 Too Many Requests (rate limited)".to_string()
                } else {
                    format!("HTTP {status}")
                };
                let wait = match get_h("retry-after").map(|v| v.trim().parse::<u64>()) {
                    Some(Ok(s)) => {
                        let d = Duration::from_secs(s);
                        if d > self.max_retry_after {
                            return Attempt::Fail(CollError::new(
                                Kind::Network,
                                format!(
                                    "{m} {url}: {what}, Retry-After {s} s is longer than the {} s this client waits; try again later",
                                    self.max_retry_after.as_secs()
                                ),
                            ));
                        }
                        d
                    }
                    _ => Duration::ZERO,
                };
                tracing::info!("{m} {url}: {what}; retrying after {} s", wait.as_secs());
                return Attempt::Retry(CollError::new(Kind::Network, format!("{m} {url}: {what}")), wait);
            }
            other => {
                return Attempt::Fail(CollError::new(
                    Kind::Invalid,
                    format!("{m} {url}: HTTP {other} {}", resp.status().canonical_reason().unwrap_or("")),
                ));
            }
        }
        let declared = get_h("content-length").and_then(|v| v.trim().parse::<u64>().ok());
        if let Some(len) = declared
            && len > self.max_body as u64
        {
            return Attempt::Fail(CollError::new(
                Kind::Invalid,
                format!("{m} {url}: body of {len} bytes is larger than the {} accepted", self.max_body),
            ));
        }
        let content_type = get_h("content-type").cloned();
        let mut body = Vec::new();
        let limit = self.max_body as u64 + 1;
        if let Err(e) = resp.take(limit).read_to_end(&mut body) {
            let timeout = error_chain(&e).contains("timed out") || e.kind() == std::io::ErrorKind::TimedOut;
            let what = if timeout {
                format!("body not complete within {:?} ({} bytes read)", self.timeout, body.len())
            } else {
                format!("body truncated after {} bytes: {e}", body.len())
            };
            return Attempt::Retry(CollError::new(Kind::Network, format!("{m} {url}: {what}")), Duration::ZERO);
        }
        if body.len() > self.max_body {
            return Attempt::Fail(CollError::new(
                Kind::Invalid,
                format!("{m} {url}: body larger than the {} bytes accepted", self.max_body),
            ));
        }
        if let Some(len) = declared
            && len != body.len() as u64
        {
            return Attempt::Retry(
                CollError::new(
                    Kind::Network,
                    format!("{m} {url}: body truncated: {} of the {len} bytes announced", body.len()),
                ),
                Duration::ZERO,
            );
        }
        Attempt::Done(Response { url: url.to_string(), content_type, headers: header_pairs, body, attempts: n })
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        let t = c.to_string();
        if !s.contains(&t) {
            s.push_str(": ");
            s.push_str(&t);
        }
        cur = c.source();
    }
    s
}
