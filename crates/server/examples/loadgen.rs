//! Load generator for `cloud-ra serve` (used by scripts/bench-server.sh).
//!
//! `loadgen load URL EVIDENCE SECONDS CONCURRENCY ACKED_FILE [nonce-hex]`: POSTs the raw SNP
//! report EVIDENCE to `URL/v1/attest/snp` from CONCURRENCY connections for SECONDS, prints
//! verifications/s and p50/p99/max latency, and appends the id of every appraisal the server
//! acknowledged (HTTP 200) to ACKED_FILE as soon as it is acknowledged. Stops early, without
//! failing, when the server goes away (the durability run kills it).
//!
//! `loadgen check URL TOKEN ACKED_FILE`: every acknowledged id must be in the audit log.

use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

fn usage() -> ! {
    eprintln!(
        "usage: loadgen load URL EVIDENCE SECONDS CONCURRENCY ACKED_FILE [NONCE_HEX] | loadgen check URL TOKEN ACKED_FILE"
    );
    std::process::exit(1)
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("load") if args.len() >= 7 => load(&args[2..]).await,
        Some("check") if args.len() == 5 => check(&args[2], &args[3], &args[4]).await,
        _ => usage(),
    }
}

async fn load(a: &[String]) {
    let base = a[0].trim_end_matches('/').to_string();
    let evidence = std::fs::read(&a[1]).expect("evidence file");
    let secs: u64 = a[2].parse().expect("seconds");
    let conc: usize = a[3].parse().expect("concurrency");
    let acked = Arc::new(std::sync::Mutex::new(
        std::fs::OpenOptions::new().create(true).append(true).open(&a[4]).expect("acked file"),
    ));
    let url = match a.get(5) {
        Some(n) => format!("{base}/v1/attest/snp?nonce={n}"),
        None => format!("{base}/v1/attest/snp"),
    };
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(conc)
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client");
    let stop = Arc::new(AtomicBool::new(false));
    let errors = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let deadline = start + Duration::from_secs(secs);
    let mut tasks = Vec::new();
    for _ in 0..conc {
        let (client, url, evidence, acked, stop, errors) =
            (client.clone(), url.clone(), evidence.clone(), acked.clone(), stop.clone(), errors.clone());
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            while Instant::now() < deadline && !stop.load(Ordering::Relaxed) {
                let t = Instant::now();
                let r = client
                    .post(&url)
                    .header("content-type", "application/vnd.cloud-ra.snp-report")
                    .body(evidence.clone())
                    .send()
                    .await;
                let resp = match r {
                    Ok(r) => r,
                    Err(_) => {
                        // Server gone (durability run) or overloaded.
                        if errors.fetch_add(1, Ordering::Relaxed) > 100 {
                            stop.store(true, Ordering::Relaxed);
                        }
                        tokio::time::sleep(Duration::from_millis(10)).await;
                        continue;
                    }
                };
                let ok = resp.status() == 200;
                let Ok(text) = resp.text().await else {
                    errors.fetch_add(1, Ordering::Relaxed);
                    continue;
                };
                if !ok {
                    errors.fetch_add(1, Ordering::Relaxed);
                    continue;
                }
                lat.push(t.elapsed());
                let v: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
                if let Some(id) = v["appraisal"].as_str()
                    && let Ok(mut f) = acked.lock()
                {
                    let _ = writeln!(f, "{id}");
                }
            }
            lat
        }));
    }
    let mut all: Vec<Duration> = Vec::new();
    for t in tasks {
        all.extend(t.await.expect("worker"));
    }
    let elapsed = start.elapsed().min(Duration::from_secs(secs)).as_secs_f64();
    all.sort();
    let pct = |p: f64| {
        all.get(((all.len() as f64 * p) as usize).min(all.len().saturating_sub(1)))
            .map(|d| d.as_secs_f64() * 1e3)
            .unwrap_or(0.0)
    };
    println!(
        "verifications: {} in {:.1} s = {:.0}/s; latency p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms; errors {}",
        all.len(),
        elapsed,
        all.len() as f64 / elapsed,
        pct(0.50),
        pct(0.99),
        all.last().map(|d| d.as_secs_f64() * 1e3).unwrap_or(0.0),
        errors.load(Ordering::Relaxed)
    );
}

async fn check(base: &str, token: &str, acked: &str) {
    let base = base.trim_end_matches('/');
    let ids: Vec<String> = std::fs::read_to_string(acked).expect("acked file").lines().map(str::to_string).collect();
    let client = reqwest::Client::new();
    let mut missing = 0;
    for id in &ids {
        let r = client.get(format!("{base}/v1/appraisals/{id}")).bearer_auth(token).send().await.expect("server up");
        if r.status() != 200 {
            missing += 1;
            eprintln!("acknowledged appraisal {id} missing from the audit log ({})", r.status());
        }
    }
    println!("durability: {} acknowledged appraisals, {} missing from the audit log", ids.len(), missing);
    if missing > 0 || ids.is_empty() {
        std::process::exit(1);
    }
}
