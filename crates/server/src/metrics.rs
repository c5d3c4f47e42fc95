//! Prometheus text metrics: requests by route and status, verifications by platform and
//! outcome, latency histograms. Hand-written: a few counters do not need a metrics stack.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;

const BUCKETS: &[f64] = &[0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0];

#[derive(Default, Clone)]
struct Histogram {
    counts: Vec<u64>,
    sum: f64,
    count: u64,
}

impl Histogram {
    fn observe(&mut self, secs: f64) {
        if self.counts.is_empty() {
            self.counts = vec![0; BUCKETS.len()];
        }
        for (i, b) in BUCKETS.iter().enumerate() {
            if secs <= *b {
                self.counts[i] += 1;
            }
        }
        self.sum += secs;
        self.count += 1;
    }

    fn render(&self, out: &mut String, name: &str, labels: &str) {
        let sep = if labels.is_empty() { "" } else { "," };
        for (i, b) in BUCKETS.iter().enumerate() {
            let c = self.counts.get(i).copied().unwrap_or(0);
            let _ = writeln!(out, "{name}_bucket{{{labels}{sep}le=\"{b}\"}} {c}");
        }
        let _ = writeln!(out, "{name}_bucket{{{labels}{sep}le=\"+Inf\"}} {}", self.count);
        let _ = writeln!(out, "{name}_sum{{{labels}}} {}", self.sum);
        let _ = writeln!(out, "{name}_count{{{labels}}} {}", self.count);
    }
}

#[derive(Default)]
struct Inner {
    requests: BTreeMap<(String, String, u16), u64>,
    request_latency: BTreeMap<String, Histogram>,
    verifications: BTreeMap<(String, String), u64>,
    verify_latency: BTreeMap<String, Histogram>,
    rate_limited: u64,
}

#[derive(Default)]
pub struct Metrics {
    inner: Mutex<Inner>,
}

impl Metrics {
    pub fn request(&self, method: &str, route: &str, status: u16, secs: f64) {
        if let Ok(mut m) = self.inner.lock() {
            *m.requests.entry((method.into(), route.into(), status)).or_default() += 1;
            m.request_latency.entry(route.into()).or_default().observe(secs);
        }
    }

    pub fn verification(&self, platform: &str, outcome: &str, secs: f64) {
        if let Ok(mut m) = self.inner.lock() {
            *m.verifications.entry((platform.into(), outcome.into())).or_default() += 1;
            m.verify_latency.entry(platform.into()).or_default().observe(secs);
        }
    }

    pub fn rate_limited(&self) {
        if let Ok(mut m) = self.inner.lock() {
            m.rate_limited += 1;
        }
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        let Ok(m) = self.inner.lock() else { return out };
        out.push_str("# HELP cloud_ra_http_requests_total HTTP requests by method, route and status.\n# TYPE cloud_ra_http_requests_total counter\n");
        for ((method, route, status), n) in &m.requests {
            let _ = writeln!(
                out,
                "cloud_ra_http_requests_total{{method=\"{method}\",route=\"{}\",status=\"{status}\"}} {n}",
                esc(route)
            );
        }
        out.push_str("# HELP cloud_ra_http_request_duration_seconds HTTP request latency by route.\n# TYPE cloud_ra_http_request_duration_seconds histogram\n");
        for (route, h) in &m.request_latency {
            h.render(&mut out, "cloud_ra_http_request_duration_seconds", &format!("route=\"{}\"", esc(route)));
        }
        out.push_str("# HELP cloud_ra_verifications_total Appraisals by platform and outcome.\n# TYPE cloud_ra_verifications_total counter\n");
        for ((platform, outcome), n) in &m.verifications {
            let _ = writeln!(
                out,
                "cloud_ra_verifications_total{{platform=\"{}\",outcome=\"{outcome}\"}} {n}",
                esc(platform)
            );
        }
        out.push_str("# HELP cloud_ra_verification_duration_seconds Verification latency (on the verification pool) by platform.\n# TYPE cloud_ra_verification_duration_seconds histogram\n");
        for (platform, h) in &m.verify_latency {
            h.render(&mut out, "cloud_ra_verification_duration_seconds", &format!("platform=\"{}\"", esc(platform)));
        }
        out.push_str("# HELP cloud_ra_rate_limited_total Attestation requests refused by the per-address rate limit.\n# TYPE cloud_ra_rate_limited_total counter\n");
        let _ = writeln!(out, "cloud_ra_rate_limited_total {}", m.rate_limited);
        out
    }
}

fn esc(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}
