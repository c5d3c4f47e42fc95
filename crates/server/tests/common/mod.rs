//! Shared harness: a real server on loopback over a real database (SQLite file, or a fresh
//! PostgreSQL database when CLOUD_RA_TEST_POSTGRES names a server), real HTTP clients.
#![allow(dead_code)]

use base64::Engine;
use cloud_ra_attest::collect::{SnpCollectOptions, collect_snp_bundle};
use cloud_ra_attest::sim_sev_guest::SimSevGuest;
use cloud_ra_server::{Config, Server};
use cloud_ra_verify::Timestamp;
use cloud_ra_verify::jwt::{Checks, Jwks};
use serde_json::Value;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

pub const TOKEN: &str = "test-admin-token-0123456789";
pub const MT_BUNDLE: &str = "application/vnd.cloud-ra.evidence+json";
pub const MT_SNP: &str = "application/vnd.cloud-ra.snp-report";
pub const CR: &str = "/challenge-response/v1";

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// A fresh scratch directory under the system temp dir.
pub fn scratch(name: &str) -> PathBuf {
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    let d = std::env::temp_dir().join(format!("cloud-ra-server-test-{}-{name}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("scratch dir");
    d
}

/// The backends every store test runs on: SQLite always; PostgreSQL when configured.
pub fn backends() -> Vec<&'static str> {
    let mut v = vec!["sqlite"];
    if std::env::var("CLOUD_RA_TEST_POSTGRES").is_ok_and(|s| !s.is_empty()) {
        v.push("postgres");
    } else {
        eprintln!("CLOUD_RA_TEST_POSTGRES not set: PostgreSQL runs skipped (scripts/test.sh sets it)");
    }
    v
}

/// A database URL of a fresh, empty database on `backend`.
pub async fn fresh_db(backend: &str, dir: &std::path::Path) -> String {
    match backend {
        "sqlite" => format!("sqlite://{}", dir.join("audit.db").display()),
        _ => {
            let base = std::env::var("CLOUD_RA_TEST_POSTGRES").expect("CLOUD_RA_TEST_POSTGRES");
            let mut rnd = [0u8; 6];
            getrandom::fill(&mut rnd).expect("random");
            let name = format!("cloudra_t_{}_{}", std::process::id(), hex::encode(rnd));
            let pool = sqlx::postgres::PgPoolOptions::new()
                .max_connections(1)
                .connect(&base)
                .await
                .expect("PostgreSQL at CLOUD_RA_TEST_POSTGRES");
            drop_leftovers(&pool).await;
            sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                .execute(&pool)
                .await
                .expect("CREATE DATABASE");
            pool.close().await;
            // Replace the database name (the path after the last '/', before any '?').
            let (head, query) = match base.split_once('?') {
                Some((h, q)) => (h.to_string(), format!("?{q}")),
                None => (base.clone(), String::new()),
            };
            let cut = head.rfind('/').expect("database URL with a path");
            format!("{}/{name}{query}", &head[..cut])
        }
    }
}

/// Drops the scratch databases of earlier test processes that are gone (once per process).
async fn drop_leftovers(pool: &sqlx::PgPool) {
    static DONE: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    if DONE.swap(true, Ordering::SeqCst) {
        return;
    }
    let names: Vec<String> = sqlx::query_scalar("SELECT datname FROM pg_database WHERE datname LIKE 'cloudra\\_t\\_%'")
        .fetch_all(pool)
        .await
        .unwrap_or_else(|e| {
            eprintln!("listing leftover test databases: {e}");
            Vec::new()
        });
    for name in names {
        let pid = name.split('_').nth(2).unwrap_or_default();
        let alive = !pid.is_empty() && std::path::Path::new(&format!("/proc/{pid}")).exists();
        if alive || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            continue;
        }
        if let Err(e) =
            sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))).execute(pool).await
        {
            eprintln!("dropping leftover test database {name}: {e}");
        }
    }
}

pub fn config(dir: &std::path::Path, db: &str) -> Config {
    Config {
        listen: "127.0.0.1:0".parse().expect("addr"),
        db: db.into(),
        signing_key: dir.join("signing-key.pem"),
        admin_token: Some(TOKEN.into()),
        trust_simulated: true,
        rate_limit_per_sec: 0.0,
        ..Config::default()
    }
}

pub struct TestServer {
    pub base: String,
    pub addr: std::net::SocketAddr,
    pub state: Arc<cloud_ra_server::AppState>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    handle: Option<tokio::task::JoinHandle<Result<(), String>>>,
}

impl TestServer {
    pub async fn start(cfg: Config) -> TestServer {
        let server = Server::bind(cfg).await.expect("server binds");
        let scheme = if server.tls { "https" } else { "http" };
        let addr = server.local_addr;
        let base = format!("{scheme}://{addr}");
        let state = server.state.clone();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let handle = tokio::spawn(server.run(async move {
            let _ = rx.await;
        }));
        TestServer { base, addr, state, stop: Some(tx), handle: Some(handle) }
    }

    /// Graceful shutdown; waits until the server has stopped.
    pub async fn stop(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(h) = self.handle.take() {
            h.await.expect("server task").expect("server ran");
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder().timeout(std::time::Duration::from_secs(60)).build().expect("client")
}

/// A session: (session URL, nonce).
pub async fn new_session(c: &reqwest::Client, s: &TestServer, query: &str) -> (String, Vec<u8>) {
    let r = c.post(s.url(&format!("{CR}/newSession{query}"))).send().await.expect("newSession");
    assert_eq!(r.status(), 201, "newSession{query}");
    let loc = r.headers().get("location").expect("Location").to_str().expect("ascii").to_string();
    assert!(loc.starts_with("session/"), "{loc}");
    let body = json(r).await;
    assert_eq!(body["status"], "waiting");
    let nonce = base64::engine::general_purpose::STANDARD.decode(body["nonce"].as_str().expect("nonce")).expect("b64");
    (s.url(&format!("{CR}/{loc}")), nonce)
}

/// An extended SNP report from the simulated device with REPORT_DATA = nonce (zero-padded).
pub fn sim_bundle(nonce: &[u8]) -> String {
    let dev = SimSevGuest::default();
    let o = SnpCollectOptions {
        report_data: cloud_ra_verify::policy::pad64(nonce),
        vmpl: 0,
        extended: true,
        msg_version: 1,
    };
    collect_snp_bundle(&dev, &o, nonce, Timestamp::now()).expect("simulated collection").to_json()
}

pub async fn submit(c: &reqwest::Client, url: &str, mt: &str, body: impl Into<reqwest::Body>) -> (u16, Value) {
    let r = c.post(url).header("content-type", mt).body(body).send().await.expect("submit");
    let status = r.status().as_u16();
    let ct = r.headers().get("content-type").map(|v| v.to_str().unwrap_or_default().to_string()).unwrap_or_default();
    let text = r.text().await.expect("body");
    if status >= 400 {
        assert_eq!(ct, "application/problem+json", "error {status} without problem+json: {text}");
    }
    assert!(status < 500 || status == 503, "server error {status}: {text}");
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

pub async fn jwks(c: &reqwest::Client, s: &TestServer) -> Jwks {
    let b = c.get(s.url("/.well-known/jwks.json")).send().await.expect("jwks").bytes().await.expect("bytes");
    Jwks::parse(&b).expect("JWKS parses")
}

/// Verifies a result token with the verify crate's JWS verifier (as a relying party would).
pub fn verify_token(token: &str, jwks: &Jwks) -> serde_json::Map<String, Value> {
    cloud_ra_verify::jwt::verify(token, jwks, &Checks::at(Timestamp::now())).expect("the result verifies").claims
}

/// The real SNP vector (trustee Milan, VCEK), its VCEK and an evaluation time inside its window.
pub fn real_snp() -> (Vec<u8>, PathBuf, Timestamp) {
    let report = cloud_ra_sim::testdata::read("snp/trustee-milan/test-report.bin");
    let vcek = cloud_ra_sim::testdata::path("snp/trustee-milan/test-vcek.der");
    (report, vcek, Timestamp::parse_rfc3339("2024-06-01T00:00:00Z").expect("time"))
}

/// REPORT_DATA (offset 0x50, 64 bytes) of a raw SNP report.
pub fn report_data(report: &[u8]) -> Vec<u8> {
    report[0x50..0x90].to_vec()
}

pub async fn admin_get(c: &reqwest::Client, s: &TestServer, path: &str) -> Value {
    let r = c.get(s.url(path)).bearer_auth(TOKEN).send().await.expect("admin get");
    assert_eq!(r.status(), 200, "{path}");
    json(r).await
}

pub async fn json(r: reqwest::Response) -> Value {
    let t = r.text().await.expect("body");
    serde_json::from_str(&t).unwrap_or_else(|e| panic!("not JSON ({e}): {t}"))
}
