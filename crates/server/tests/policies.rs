//! Policies as data (`/v1/policies`), on SQLite and (CLOUD_RA_TEST_POSTGRES) PostgreSQL: create,
//! replace, list, get and delete behind the admin token; refusals naming the check (does not
//! parse, unknown key, oversized, not UTF-8, bad name, unknown name, the reserved default);
//! sessions and one-shot requests appraised under a named policy, whose EAR and audit record name
//! it `NAME@VERSION` and pass or fail by it; deleting a policy after use leaves the record as it
//! was; the audit filters and verdict counts.

mod common;
use common::*;
use serde_json::Value;

const ZERO48: &str = "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000";

async fn put(c: &reqwest::Client, s: &TestServer, name: &str, body: impl Into<reqwest::Body>) -> (u16, Value) {
    let r = c.put(s.url(&format!("/v1/policies/{name}"))).bearer_auth(TOKEN).body(body).send().await.expect("PUT");
    answer(r).await
}

async fn get(c: &reqwest::Client, s: &TestServer, path: &str) -> (u16, Value) {
    answer(c.get(s.url(path)).bearer_auth(TOKEN).send().await.expect("GET")).await
}

async fn delete(c: &reqwest::Client, s: &TestServer, name: &str) -> u16 {
    let r = c.delete(s.url(&format!("/v1/policies/{name}"))).bearer_auth(TOKEN).send().await.expect("DELETE");
    let status = r.status().as_u16();
    if status >= 400 {
        assert_eq!(r.headers()["content-type"], "application/problem+json");
    }
    status
}

/// Status and JSON body; every refusal is problem+json and never a 500.
async fn answer(r: reqwest::Response) -> (u16, Value) {
    let status = r.status().as_u16();
    let ct = r.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    let text = r.text().await.expect("body");
    if status >= 400 {
        assert_eq!(ct, "application/problem+json", "{status}: {text}");
    }
    assert!(status < 500 || status == 503, "server error {status}: {text}");
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// The EAR submodule of a session or one-shot answer's result, verified against the JWKS.
async fn ear_snp(c: &reqwest::Client, s: &TestServer, token: &str) -> Value {
    let keys = jwks(c, s).await;
    let claims = Value::Object(verify_token(token, &keys));
    // Veraison's ear crate reads the same policy id.
    let parsed: ear::Ear = serde_json::from_str(&claims.to_string()).expect("Veraison's ear crate parses the EAR");
    assert_eq!(
        parsed.submods["snp"].policy_ids,
        vec![claims["submods"]["snp"]["ear_appraisal_policy_ids"][0].as_str().unwrap_or_default().to_string()]
    );
    claims["submods"]["snp"].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn policy_crud_and_validation() {
    for backend in backends() {
        let dir = scratch("policy-crud");
        let db = fresh_db(backend, &dir).await;
        let s = TestServer::start(config(&dir, &db)).await;
        let c = client();
        // The same token rules as the audit API.
        for (path, method) in
            [("/v1/policies", "GET"), ("/v1/policies/strict", "PUT"), ("/v1/policies/strict", "DELETE")]
        {
            let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
            let r = c.request(m.clone(), s.url(path)).body("allow_debug = false").send().await.unwrap();
            assert_eq!(r.status(), 401, "{method} {path} without a token");
            let r = c.request(m, s.url(path)).bearer_auth("test-admin-token-012345678X").send().await.unwrap();
            assert_eq!(r.status(), 401, "{method} {path} with an almost-right token");
        }
        // Only the configured default at first.
        let (status, list) = get(&c, &s, "/v1/policies").await;
        assert_eq!(status, 200);
        assert_eq!(list["default"], "default");
        let all = list["policies"].as_array().unwrap();
        assert_eq!(all.len(), 1, "{list}");
        assert_eq!(all[0]["name"], "default");
        assert_eq!(all[0]["source"], "config");
        let default_version = all[0]["version"].as_str().unwrap().to_string();
        assert_eq!(default_version.len(), 16);

        // Create (201), the same content spelled as JSON (200, same version), changed (new version).
        let toml = "# strict\nallow_debug = false\n[snp]\nvmpl = 0\nminimum_guest_svn = 0\n";
        let (status, v) = put(&c, &s, "strict", toml).await;
        assert_eq!(status, 201, "{backend}: {v}");
        assert_eq!(v["created"], true);
        let v1 = v["version"].as_str().unwrap().to_string();
        assert!(v1.len() == 16 && v1.bytes().all(|b| b.is_ascii_hexdigit()), "{v1}");
        assert_eq!(v["id"], format!("strict@{v1}"));
        let created_at = v["created_ms"].clone();
        assert!(created_at.is_i64(), "{v}");
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        let json = r#"{"snp": {"minimum_guest_svn": 0, "vmpl": 0}, "allow_debug": false}"#;
        let (status, v) = put(&c, &s, "strict", json).await;
        assert_eq!((status, v["version"].as_str()), (200, Some(v1.as_str())), "{v}");
        assert_eq!(v["created"], false);
        assert_eq!(v["created_ms"], created_at, "replacing keeps the creation time: {v}");
        let (status, v) = put(&c, &s, "strict", toml.replace("vmpl = 0", "vmpl = 1")).await;
        assert_eq!(status, 200);
        let v2 = v["version"].as_str().unwrap().to_string();
        assert_ne!(v1, v2);
        // GET gives the text as uploaded.
        let (status, p) = get(&c, &s, "/v1/policies/strict").await;
        assert_eq!(status, 200);
        assert_eq!(p["body"], toml.replace("vmpl = 0", "vmpl = 1"));
        assert_eq!(p["version"], v2.as_str());
        assert_eq!(p["source"], "store");
        let (_, list) = get(&c, &s, "/v1/policies").await;
        let names: Vec<&str> =
            list["policies"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
        assert_eq!(names, ["default", "strict"]);
        assert!(list["policies"][1].get("body").is_none(), "the listing carries no text");

        // Refusals name the failing check; the stored policy is unchanged by them.
        let (status, e) = put(&c, &s, "strict", "[snp\nvmpl = 1").await;
        assert_eq!((status, e["check"].as_str()), (422, Some("policy")), "{e}");
        assert!(e["detail"].as_str().unwrap().contains("invalid TOML policy"), "{e}");
        let (status, e) = put(&c, &s, "strict", "[snp]\nno_such_knob = 1\n").await;
        assert_eq!((status, e["check"].as_str()), (422, Some("policy")), "{e}");
        assert!(e["detail"].as_str().unwrap().contains("no_such_knob"), "{e}");
        let (status, e) = put(&c, &s, "strict", "{\"snp\": {\"vmpl\": \"two\"}}").await;
        assert_eq!((status, e["check"].as_str()), (422, Some("policy")), "{e}");
        assert!(e["detail"].as_str().unwrap().contains("invalid JSON policy"), "{e}");
        let (status, e) = put(&c, &s, "strict", vec![0xff, 0xfe, b'a']).await;
        assert_eq!((status, e["check"].as_str()), (400, Some("policy")), "{e}");
        let big = format!("allow_debug = false\n{}", "# padding\n".repeat(7000));
        let (status, e) = put(&c, &s, "strict", big).await;
        assert_eq!((status, e["check"].as_str()), (413, Some("policy.size")), "{e}");
        for bad in ["-x", "a%40b", "a%20b", "a;drop", &"x".repeat(65), "%C3%A4"] {
            let (status, e) = put(&c, &s, bad, "allow_debug = false").await;
            assert_eq!((status, e["check"].as_str()), (400, Some("policy.name")), "{bad}: {e}");
        }
        let (status, e) = put(&c, &s, "default", "allow_debug = true").await;
        assert_eq!((status, e["check"].as_str()), (409, Some("policy.reserved")), "{e}");
        assert_eq!(delete(&c, &s, "default").await, 409);
        let (status, e) = get(&c, &s, "/v1/policies/nosuch").await;
        assert_eq!((status, e["check"].as_str()), (404, Some("policy.unknown")), "{e}");
        assert_eq!(delete(&c, &s, "nosuch").await, 404);
        let (_, p) = get(&c, &s, "/v1/policies/strict").await;
        assert_eq!(p["version"], v2.as_str(), "refused uploads change nothing");
        // The default: its (empty, built-in) text and version.
        let (status, d) = get(&c, &s, "/v1/policies/default").await;
        assert_eq!((status, d["version"].as_str()), (200, Some(default_version.as_str())));
        assert_eq!(d["body"], "");

        // A second replica on the same database sees the same policies.
        let s2 = TestServer::start(config(&dir, &db)).await;
        let (status, p) = get(&c, &s2, "/v1/policies/strict").await;
        assert_eq!((status, p["version"].as_str()), (200, Some(v2.as_str())), "{backend}: replicas share policies");
        assert_eq!(delete(&c, &s2, "strict").await, 204);
        let (status, _) = get(&c, &s, "/v1/policies/strict").await;
        assert_eq!(status, 404, "deleted on one replica, gone on the other");
        s2.stop().await;
        s.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn appraisals_under_named_policies() {
    for backend in backends() {
        let dir = scratch("policy-use");
        let db = fresh_db(backend, &dir).await;
        let s = TestServer::start(config(&dir, &db)).await;
        let c = client();
        let (_, d) = get(&c, &s, "/v1/policies/default").await;
        let default_id = format!("default@{}", d["version"].as_str().unwrap());

        // Under the default: the EAR names default@VERSION.
        let (url, nonce) = new_session(&c, &s, "").await;
        let (status, body) = submit(&c, &url, MT_BUNDLE, sim_bundle(&nonce)).await;
        assert_eq!(status, 200, "{backend}: {body}");
        assert_eq!(body["policy"], "default");
        let sub = ear_snp(&c, &s, body["result"].as_str().unwrap()).await;
        assert_eq!(sub["ear_appraisal_policy_ids"], serde_json::json!([default_id]));
        assert_eq!(sub["ear_status"], "warning", "simulated hardware");
        let measurement = sub["ear_attester_claims"]["measurement"].as_str().expect("measurement claim").to_string();

        // Reference values as data: the right measurement passes, a wrong one fails.
        let (status, v) = put(&c, &s, "good", format!("[snp]\nmeasurement = \"{measurement}\"\n")).await;
        assert_eq!(status, 201, "{v}");
        let good_id = v["id"].as_str().unwrap().to_string();
        let (status, v) = put(&c, &s, "strict", format!("[snp]\nmeasurement = \"{ZERO48}\"\n")).await;
        assert_eq!(status, 201, "{v}");
        let strict_id = v["id"].as_str().unwrap().to_string();

        let (url, nonce) = new_session(&c, &s, "?policy=strict").await;
        let (status, body) = submit(&c, &url, MT_BUNDLE, sim_bundle(&nonce)).await;
        assert_eq!((status, body["status"].as_str()), (200, Some("complete")), "{body}");
        assert_eq!(body["policy"], "strict");
        let strict_token = body["result"].as_str().unwrap().to_string();
        let sub = ear_snp(&c, &s, &strict_token).await;
        assert_eq!(sub["ear_appraisal_policy_ids"], serde_json::json!([strict_id]));
        assert_eq!(sub["ear_status"], "contraindicated", "{sub}");
        assert_eq!(sub["ear_trustworthiness_vector"]["executables"], 96);
        let failures = sub["ear_verifier_claims"]["failures"].as_array().unwrap();
        assert!(failures.iter().any(|f| f["check"] == "policy.reference_value"), "{sub}");
        let strict_appraisal = body["appraisal"].as_str().unwrap().to_string();
        let (_, a) = get(&c, &s, &format!("/v1/appraisals/{strict_appraisal}")).await;
        assert_eq!(
            (a["policy_id"].as_str(), a["status"].as_str()),
            (Some(strict_id.as_str()), Some("contraindicated"))
        );

        let (url, nonce) = new_session(&c, &s, "?nonceSize=64&policy=good").await;
        let (status, body) = submit(&c, &url, MT_BUNDLE, sim_bundle(&nonce)).await;
        assert_eq!(status, 200, "{body}");
        let sub = ear_snp(&c, &s, body["result"].as_str().unwrap()).await;
        assert_eq!(sub["ear_appraisal_policy_ids"], serde_json::json!([good_id]));
        assert_eq!(sub["ear_status"], "warning", "passes (only the simulated hardware warns): {sub}");
        assert!(sub["ear_trustworthiness_vector"].get("executables").is_none(), "{sub}");

        // One-shot, named by query parameter.
        let n1 = b"one-shot-policy-nonce-0123456789";
        let (status, body) = submit(
            &c,
            &s.url(&format!("/v1/attest/auto?policy=strict&nonce={}", hex::encode(n1))),
            MT_BUNDLE,
            sim_bundle(n1),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(
            (body["status"].as_str(), body["policy"].as_str()),
            (Some("contraindicated"), Some(strict_id.as_str()))
        );

        // Unknown and malformed names: refused before anything is spent.
        let r = c.post(s.url(&format!("{CR}/newSession?policy=nosuch"))).send().await.unwrap();
        let (status, e) = answer(r).await;
        assert_eq!((status, e["check"].as_str()), (404, Some("policy.unknown")), "{e}");
        let r = c.post(s.url(&format!("{CR}/newSession?policy=a%40b"))).send().await.unwrap();
        let (status, e) = answer(r).await;
        assert_eq!((status, e["check"].as_str()), (400, Some("policy.name")), "{e}");
        let (status, e) = submit(&c, &s.url("/v1/attest/snp?policy=nosuch"), MT_BUNDLE, sim_bundle(n1)).await;
        assert_eq!((status, e["check"].as_str()), (404, Some("policy.unknown")), "{e}");

        // A session whose policy is deleted before the evidence arrives: refused, nonce unspent;
        // the policy pushed again, the same session completes under it.
        let (url, nonce) = new_session(&c, &s, "?policy=good").await;
        assert_eq!(delete(&c, &s, "good").await, 204);
        let (status, e) = submit(&c, &url, MT_BUNDLE, sim_bundle(&nonce)).await;
        assert_eq!((status, e["check"].as_str()), (404, Some("policy.unknown")), "{e}");
        let (_, sess) = answer(c.get(&url).send().await.unwrap()).await;
        assert_eq!(sess["status"], "waiting", "the nonce is not spent");
        let (status, _) = put(&c, &s, "good", format!("# again\n[snp]\nmeasurement = \"{measurement}\"\n")).await;
        assert_eq!(status, 201);
        let (status, body) = submit(&c, &url, MT_BUNDLE, sim_bundle(&nonce)).await;
        assert_eq!((status, body["status"].as_str()), (200, Some("complete")), "{body}");
        let sub = ear_snp(&c, &s, body["result"].as_str().unwrap()).await;
        assert_eq!(sub["ear_appraisal_policy_ids"], serde_json::json!([good_id]), "same content, same version");

        // Replaced: later appraisals name the new version, earlier records keep theirs.
        let (_, v) =
            put(&c, &s, "strict", format!("allow_debug = false\n[snp]\nmeasurement = [\"{ZERO48}\"]\nvmpl = 0\n"))
                .await;
        let strict2 = v["id"].as_str().unwrap().to_string();
        assert_ne!(strict2, strict_id);
        let (url, nonce) = new_session(&c, &s, "?policy=strict").await;
        let (_, body) = submit(&c, &url, MT_BUNDLE, sim_bundle(&nonce)).await;
        let sub = ear_snp(&c, &s, body["result"].as_str().unwrap()).await;
        assert_eq!(sub["ear_appraisal_policy_ids"], serde_json::json!([strict2]));

        // Deleting a policy after use changes no recorded result.
        assert_eq!(delete(&c, &s, "strict").await, 204);
        let (_, a) = get(&c, &s, &format!("/v1/appraisals/{strict_appraisal}")).await;
        assert_eq!(a["policy_id"], strict_id.as_str());
        assert_eq!(a["status"], "contraindicated");
        assert_eq!(a["token"], strict_token.as_str());

        // Filters (server-side) and counts.
        let (_, all) = get(&c, &s, "/v1/appraisals").await;
        assert_eq!(all["appraisals"].as_array().unwrap().len(), 6, "{all}");
        let (_, l) = get(&c, &s, "/v1/appraisals?verdict=contraindicated").await;
        let l = l["appraisals"].as_array().unwrap().clone();
        assert_eq!(l.len(), 3);
        assert!(l.iter().all(|a| a["status"] == "contraindicated"));
        let (_, l) = get(&c, &s, "/v1/appraisals?policy=strict").await;
        assert_eq!(l["appraisals"].as_array().unwrap().len(), 3, "by name: every version, deleted or not");
        let (_, l) = get(&c, &s, &format!("/v1/appraisals?policy={strict_id}")).await;
        assert_eq!(l["appraisals"].as_array().unwrap().len(), 2, "by NAME@VERSION");
        let (_, l) = get(&c, &s, "/v1/appraisals?platform=snp&verdict=warning&policy=good&limit=10").await;
        assert_eq!(l["appraisals"].as_array().unwrap().len(), 2);
        let (_, l) = get(&c, &s, "/v1/appraisals?platform=tdx").await;
        assert_eq!(l["appraisals"].as_array().unwrap().len(), 0);
        let (_, n) = get(&c, &s, "/v1/appraisals/counts").await;
        assert_eq!(n["total"], 6, "{n}");
        assert_eq!((n["counts"]["contraindicated"].as_i64(), n["counts"]["warning"].as_i64()), (Some(3), Some(3)));
        assert_eq!((n["counts"]["affirming"].as_i64(), n["counts"]["refused"].as_i64()), (Some(0), Some(0)));
        let (_, n) = get(&c, &s, "/v1/appraisals/counts?policy=good").await;
        assert_eq!(n["total"], 2, "{n}");
        for (q, check) in [
            ("verdict=maybe", "verdict"),
            ("platform=SNP%27--", "platform"),
            ("policy=a%27%20OR%201=1", "policy.name"),
            ("sort=id", "query"),
        ] {
            let (status, e) = get(&c, &s, &format!("/v1/appraisals?{q}")).await;
            assert_eq!((status, e["check"].as_str()), (400, Some(check)), "{q}: {e}");
        }
        let r = c.get(s.url("/v1/appraisals/counts")).send().await.unwrap();
        assert_eq!(r.status(), 401, "counts need the token too");
        s.stop().await;
    }
}

/// Schema version 2 as earlier servers left it, with one appraisal recorded.
const SCHEMA_2: &[&str] = &[
    "CREATE TABLE cloud_ra_schema (version BIGINT PRIMARY KEY, applied_ms BIGINT NOT NULL)",
    "CREATE TABLE sessions (id TEXT PRIMARY KEY, nonce TEXT NOT NULL UNIQUE, state TEXT NOT NULL, created_ms BIGINT NOT NULL, expires_ms BIGINT NOT NULL, updated_ms BIGINT NOT NULL, media_type TEXT, evidence_b64 TEXT, result TEXT, failure TEXT, appraisal_id TEXT)",
    "CREATE TABLE appraisals (id TEXT PRIMARY KEY, created_ms BIGINT NOT NULL, session_id TEXT, client TEXT NOT NULL, evidence_sha256 TEXT NOT NULL, media_type TEXT NOT NULL, platform TEXT NOT NULL, detected TEXT NOT NULL, verified BIGINT NOT NULL, status TEXT NOT NULL, nonce TEXT, nonce_source TEXT NOT NULL, claims TEXT NOT NULL, failures TEXT NOT NULL, warnings TEXT NOT NULL, token TEXT)",
    "CREATE INDEX appraisals_created ON appraisals (created_ms)",
    "CREATE INDEX sessions_expires ON sessions (expires_ms)",
    "ALTER TABLE sessions ADD COLUMN nonce_source TEXT NOT NULL DEFAULT 'caller-supplied'",
    "INSERT INTO cloud_ra_schema (version, applied_ms) VALUES (1, 0), (2, 0)",
    "INSERT INTO appraisals (id, created_ms, session_id, client, evidence_sha256, media_type, platform, detected, verified, status, nonce, nonce_source, claims, failures, warnings, token) VALUES ('0123456789abcdef0123456789abcdef', 1000, NULL, '127.0.0.1:1', 'ab', 'application/vnd.cloud-ra.snp-report', 'snp', 'SNP report', 1, 'warning', NULL, 'none', '{}', '[]', '[]', 'old.token')",
];

/// A database of schema version 2 (before named policies) upgrades in place: its records stay,
/// with no policy id, and new appraisals name theirs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upgrade_from_schema_2_keeps_records() {
    for backend in backends() {
        let dir = scratch("policy-upgrade");
        let db = fresh_db(backend, &dir).await;
        if backend == "sqlite" {
            let path = cloud_ra_server::store::sqlite_path(&db).expect("a file");
            cloud_ra_server::store::prepare_sqlite_file(&path, false).expect("private file");
            let pool = sqlx::SqlitePool::connect(&db).await.expect("sqlite");
            for stmt in SCHEMA_2 {
                sqlx::query(sqlx::AssertSqlSafe(*stmt)).execute(&pool).await.expect(stmt);
            }
            pool.close().await;
        } else {
            let pool = sqlx::PgPool::connect(&db).await.expect("postgres");
            for stmt in SCHEMA_2 {
                sqlx::query(sqlx::AssertSqlSafe(*stmt)).execute(&pool).await.expect(stmt);
            }
            pool.close().await;
        }
        let s = TestServer::start(config(&dir, &db)).await;
        let c = client();
        let (status, old) = get(&c, &s, "/v1/appraisals/0123456789abcdef0123456789abcdef").await;
        assert_eq!(status, 200, "{backend}: {old}");
        assert_eq!((old["token"].as_str(), old["policy_id"].is_null()), (Some("old.token"), true), "{old}");
        let (url, nonce) = new_session(&c, &s, "").await;
        let (status, body) = submit(&c, &url, MT_BUNDLE, sim_bundle(&nonce)).await;
        assert_eq!(status, 200, "{backend}: {body}");
        let (_, l) = get(&c, &s, "/v1/appraisals?policy=default").await;
        assert_eq!(l["appraisals"].as_array().unwrap().len(), 1, "only the new record has a policy");
        let (_, n) = get(&c, &s, "/v1/appraisals/counts").await;
        assert_eq!(n["total"], 2);
        s.stop().await;
    }
}
