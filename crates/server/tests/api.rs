//! The verifier service over real HTTP on loopback, on SQLite and (CLOUD_RA_TEST_POSTGRES)
//! PostgreSQL: challenge–response with the simulated platform and with real SNP evidence, nonce
//! replay and expiry, refusals of bad input, authentication, replicas racing for one nonce.

mod common;
use base64::Engine;
use common::*;
use serde_json::Value;
use std::time::Duration;

/// The full Veraison flow with the simulated SNP device: new session, evidence bound to its
/// nonce, a signed EAR that verifies against the JWKS, the session and audit record after.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn challenge_response_simulated_snp() {
    for backend in backends() {
        let dir = scratch("flow");
        let db = fresh_db(backend, &dir).await;
        let s = TestServer::start(config(&dir, &db)).await;
        let c = client();
        let r = c.get(s.url("/.well-known/veraison/verification")).send().await.unwrap();
        assert_eq!(r.headers()["content-type"], "application/vnd.veraison.discovery+json");
        let wk = json(r).await;
        assert_eq!(wk["service-state"], "READY");
        // Veraison clients find the session endpoint by this name.
        assert_eq!(wk["api-endpoints"]["newChallengeResponseSession"], "/challenge-response/v1/newSession");
        assert!(wk["media-types"].as_array().unwrap().iter().any(|m| m == MT_BUNDLE));
        let (url, nonce) = new_session(&c, &s, "?nonceSize=48").await;
        assert_eq!(nonce.len(), 48);
        let (status, body) = submit(&c, &url, MT_BUNDLE, sim_bundle(&nonce)).await;
        assert_eq!(status, 200, "{backend}: {body}");
        assert_eq!(body["status"], "complete", "{backend}: {body}");
        assert_eq!(body["evidence"]["type"], MT_BUNDLE);
        let token = body["result"].as_str().expect("result token");
        // The key the well-known endpoint announces is the one in the JWKS, and it verifies the result.
        let keys = jwks(&c, &s).await;
        assert_eq!(keys.keys[0].kid.as_deref(), wk["ear-verification-key"]["kid"].as_str());
        let claims = verify_token(token, &keys);
        assert_eq!(claims["eat_profile"], "tag:github.com,2023:veraison/ear");
        let sub = &claims["submods"]["snp"];
        // Simulated hardware is never "genuine": hardware 32 (unsafe) makes the result a warning.
        assert_eq!(sub["ear_trustworthiness_vector"]["hardware"], 32, "{sub}");
        assert_eq!(sub["ear_trustworthiness_vector"]["instance-identity"], 2);
        assert_eq!(sub["ear_status"], "warning");
        assert_eq!(claims["ear_status"], "warning");
        assert_eq!(sub["ear_attester_claims"]["nonce_bound"], true);
        assert_eq!(sub["ear_attester_claims"]["simulated"], true);
        assert_eq!(sub["ear_verifier_claims"]["nonce_source"], "verifier-issued");
        // Interoperability: Veraison's ear crate reads the result as a valid EAR.
        let text = serde_json::to_string(&claims).unwrap();
        let parsed: ear::Ear = serde_json::from_str(&text).expect("Veraison's ear crate parses the EAR");
        parsed.validate().expect("a valid EAR");
        assert_eq!(parsed.submods["snp"].status, ear::TrustTier::Warning);
        assert_eq!(parsed.submods["snp"].trust_vector.hardware.value(), 32);
        assert_eq!(parsed.profile, "tag:github.com,2023:veraison/ear");
        let b64url = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        assert_eq!(b64url.decode(claims["eat_nonce"].as_str().unwrap()).unwrap(), nonce);
        // GET shows the same completed session (Veraison's session media type); the audit log
        // holds the appraisal.
        let r = c.get(&url).send().await.unwrap();
        assert_eq!(r.headers()["content-type"], "application/vnd.veraison.challenge-response-session+json");
        let got = json(r).await;
        assert!(got["expiry"].as_str().unwrap().ends_with('Z'), "{got}");
        let ev = base64::engine::general_purpose::STANDARD.decode(got["evidence"]["value"].as_str().unwrap()).unwrap();
        assert_eq!(serde_json::from_slice::<Value>(&ev).unwrap()["platform"], "snp", "evidence.value: standard base64");
        assert_eq!(got["status"], "complete");
        assert_eq!(got["result"], body["result"]);
        let id = got["appraisal"].as_str().expect("appraisal id");
        let a = admin_get(&c, &s, &format!("/v1/appraisals/{id}")).await;
        assert_eq!(a["status"], "warning");
        assert_eq!(a["platform"], "snp");
        assert_eq!(a["nonce"], hex::encode(&nonce));
        assert_eq!(a["token"], body["result"]);
        assert_eq!(a["claims"]["nonce_bound"], true);
        let text = c.get(s.url("/metrics")).bearer_auth(TOKEN).send().await.unwrap().text().await.unwrap();
        assert!(text.contains("cloud_ra_verifications_total{platform=\"snp\",outcome=\"warning\"} 1"), "{text}");
        assert!(text.contains("cloud_ra_verification_duration_seconds_count{platform=\"snp\"} 1"), "{text}");
        // DELETE removes the session (the audit record stays).
        assert_eq!(c.delete(&url).send().await.unwrap().status(), 204);
        assert_eq!(c.get(&url).send().await.unwrap().status(), 404);
        assert_eq!(admin_get(&c, &s, "/v1/appraisals").await["appraisals"].as_array().unwrap().len(), 1);
        s.stop().await;
    }
}

/// A used nonce is refused; evidence bound to another nonce is refused and audited as such.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replay_and_wrong_nonce_refused() {
    for backend in backends() {
        let dir = scratch("replay");
        let db = fresh_db(backend, &dir).await;
        let s = TestServer::start(config(&dir, &db)).await;
        let c = client();
        let (url, nonce) = new_session(&c, &s, "").await;
        assert_eq!(nonce.len(), 32, "default nonce size");
        let evidence = sim_bundle(&nonce);
        assert_eq!(submit(&c, &url, MT_BUNDLE, evidence.clone()).await.1["status"], "complete");
        let (status, p) = submit(&c, &url, MT_BUNDLE, evidence.clone()).await;
        assert_eq!(status, 409, "{backend}: replay must be refused: {p}");
        assert_eq!(p["check"], "session.used");
        // The same evidence in a new session: its REPORT_DATA carries the old nonce.
        let (url2, _) = new_session(&c, &s, "").await;
        let (status, body) = submit(&c, &url2, MT_BUNDLE, evidence).await;
        assert_eq!(status, 200);
        assert_eq!(body["status"], "failed", "{body}");
        assert_eq!(body["failure"]["check"], "policy.nonce");
        assert!(body.get("result").is_none(), "no result for refused evidence");
        let list = admin_get(&c, &s, "/v1/appraisals").await;
        let statuses: Vec<&str> =
            list["appraisals"].as_array().unwrap().iter().map(|a| a["status"].as_str().unwrap()).collect();
        assert_eq!(statuses, ["refused", "warning"], "{backend}");
        // Unknown and malformed session ids, SQL-looking ones included.
        let unknown = s.url(&format!("{CR}/session/{}", "0".repeat(32)));
        assert_eq!(submit(&c, &unknown, MT_BUNDLE, sim_bundle(&nonce)).await.0, 404);
        for bad in ["1'%20OR%20'1'='1", "x;DROP%20TABLE%20sessions", "..%2F..%2Fetc"] {
            let u = s.url(&format!("{CR}/session/{bad}"));
            assert_eq!(c.get(&u).send().await.unwrap().status(), 404, "{bad}");
            assert_eq!(submit(&c, &u, MT_BUNDLE, "{}").await.0, 404, "{bad}");
        }
        s.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_session_refused() {
    for backend in backends() {
        let dir = scratch("expiry");
        let db = fresh_db(backend, &dir).await;
        let mut cfg = config(&dir, &db);
        cfg.session_ttl_secs = 1;
        let s = TestServer::start(cfg).await;
        let c = client();
        let (url, nonce) = new_session(&c, &s, "").await;
        let evidence = sim_bundle(&nonce);
        tokio::time::sleep(Duration::from_millis(1300)).await;
        assert_eq!(json(c.get(&url).send().await.unwrap()).await["status"], "expired");
        let (status, p) = submit(&c, &url, MT_BUNDLE, evidence).await;
        assert_eq!(status, 410, "{backend}: {p}");
        assert_eq!(p["check"], "session.expired");
        s.stop().await;
    }
}

/// Real SNP evidence (trustee's Milan report) cannot carry a fresh nonce: a session whose nonce
/// is the report's REPORT_DATA (`?nonce=`), and the one-shot endpoint with a caller nonce.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_snp_evidence() {
    let (report, vcek, at) = real_snp();
    let rd = report_data(&report);
    // What the verification library says about these inputs, for comparison.
    let mut coll = cloud_ra_collateral::builtin_amd();
    coll.add_file("vcek", &std::fs::read(&vcek).unwrap()).unwrap();
    let mut opts = cloud_ra_verify::VerifyOptions::at(at);
    opts.nonce = Some(rd.clone());
    let expected = cloud_ra_verify::verify_evidence(&report, &coll, &opts, None);
    assert!(expected.verified, "{:?}", expected.failures);
    let expected_status = format!("{:?}", expected.status).to_lowercase();
    for backend in backends() {
        let dir = scratch("real");
        let db = fresh_db(backend, &dir).await;
        let mut cfg = config(&dir, &db);
        cfg.trust_simulated = false;
        cfg.collateral = vec![vcek.clone()];
        cfg.verify_at = Some(at);
        let s = TestServer::start(cfg).await;
        let c = client();
        let keys = jwks(&c, &s).await;
        let nonce_q = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&rd);
        let (url, nonce) = new_session(&c, &s, &format!("?nonce={nonce_q}")).await;
        assert_eq!(nonce, rd);
        let (status, body) = submit(&c, &url, MT_SNP, report.clone()).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["status"], "complete", "{body}");
        let claims = verify_token(body["result"].as_str().unwrap(), &keys);
        let sub = &claims["submods"]["snp"];
        assert_eq!(sub["ear_status"], expected_status.as_str());
        assert_eq!(sub["ear_trustworthiness_vector"]["hardware"], 2, "genuine AMD chain");
        assert_eq!(sub["ear_attester_claims"]["measurement"], expected.claims["measurement"]);
        // The same nonce again: refused (nonces are unique, even caller-chosen ones).
        let r = c.post(s.url(&format!("{CR}/newSession?nonce={nonce_q}"))).send().await.unwrap();
        assert_eq!(r.status(), 409);
        // One-shot: the caller's nonce is only claimed, and the result says so.
        let (status, one) =
            submit(&c, &s.url(&format!("/v1/attest/snp?nonce={}", hex::encode(&rd))), MT_SNP, report.clone()).await;
        assert_eq!(status, 200, "{one}");
        assert_eq!(one["verified"], true);
        assert_eq!(one["status"], expected_status.as_str());
        assert_eq!(one["nonce_source"], "caller-supplied");
        let claims = verify_token(one["result"].as_str().unwrap(), &keys);
        assert_eq!(claims["submods"]["snp"]["ear_verifier_claims"]["nonce_source"], "caller-supplied");
        // A wrong caller nonce: verified evidence, contraindicated appraisal (policy.nonce).
        let (_, bad) = submit(&c, &s.url("/v1/attest/snp?nonce=00ff"), MT_SNP, report.clone()).await;
        assert_eq!(bad["status"], "contraindicated", "{bad}");
        assert!(bad["failures"].as_array().unwrap().iter().any(|f| f["check"] == "policy.nonce"));
        // The platform in the path must be what the evidence is.
        let (status, p) = submit(&c, &s.url("/v1/attest/tdx"), MT_SNP, report.clone()).await;
        assert_eq!(status, 422, "{p}");
        // Simulated evidence is refused without --trust-simulated.
        let (status, sim) = submit(&c, &s.url("/v1/attest/snp"), MT_BUNDLE, sim_bundle(&[7u8; 32])).await;
        assert_eq!(status, 200);
        assert_eq!(sim["verified"], false, "{sim}");
        assert_eq!(sim["status"], "contraindicated");
        s.stop().await;
    }
}

/// Garbage, wrong media types, oversized bodies, bad parameters: precise 4xx problems, the
/// session's nonce not spent, never a 500.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_refused_precisely() {
    for backend in backends() {
        let dir = scratch("bad");
        let db = fresh_db(backend, &dir).await;
        let mut cfg = config(&dir, &db);
        cfg.max_body_bytes = 64 << 10;
        let s = TestServer::start(cfg).await;
        let c = client();
        let (url, nonce) = new_session(&c, &s, "").await;
        let cases: Vec<(&str, Vec<u8>, u16, &str)> = vec![
            ("text/plain", b"hello".to_vec(), 415, "media_type"),
            ("application/json", b"{}".to_vec(), 415, "media_type"),
            (MT_BUNDLE, b"{not json".to_vec(), 422, "bundle"),
            (
                MT_BUNDLE,
                br#"{"format":"cloud-ra/evidence/v1","platform":"snp'; DROP TABLE appraisals; --","evidence":{}}"#
                    .to_vec(),
                422,
                "",
            ),
            (MT_BUNDLE, vec![], 400, "body"),
            (MT_SNP, vec![0u8; 100], 422, "detect"),
            (MT_SNP, sim_bundle(&nonce).into_bytes(), 422, "media_type"),
            (MT_BUNDLE, vec![b'{'; 100 << 10], 413, "body"),
        ];
        for (mt, body, want, check) in cases {
            let (status, p) = submit(&c, &url, mt, body).await;
            assert_eq!(status, want, "{backend} {mt}: {p}");
            if !check.is_empty() {
                assert!(p["check"].as_str().unwrap_or_default().starts_with(check), "{mt}: {p}");
            }
            assert!(!p["detail"].as_str().unwrap_or_default().is_empty());
        }
        let r = c.post(&url).body("x").send().await.unwrap();
        assert_eq!(r.status(), 415, "no content type");
        for q in [
            "?nonceSize=7",
            "?nonceSize=65",
            "?nonceSize=abc",
            "?nonce=%%%",
            "?nonce=AAAA",
            "?nonceSize=8&nonce=AAAAAAAAAAA=",
            "?x=1'--",
        ] {
            let r = c.post(s.url(&format!("{CR}/newSession{q}"))).send().await.unwrap();
            assert_eq!(r.status(), 400, "{q}");
            assert_eq!(r.headers()["content-type"], "application/problem+json");
        }
        assert_eq!(c.get(s.url("/nope")).send().await.unwrap().status(), 404);
        // Paths the framework itself refuses (not UTF-8) are problems as well.
        for u in [format!("{CR}/session/%FF%FE"), "/v1/attest/%FF".to_string()] {
            let r = c.post(s.url(&u)).header("content-type", MT_BUNDLE).body("{}").send().await.unwrap();
            assert_eq!(r.status(), 400, "{u}");
            assert_eq!(r.headers()["content-type"], "application/problem+json", "{u}");
        }
        assert_eq!(c.put(s.url(&format!("{CR}/newSession"))).send().await.unwrap().status(), 405);
        // After all that, the session still takes its evidence.
        let (status, body) = submit(&c, &url, MT_BUNDLE, sim_bundle(&nonce)).await;
        assert_eq!((status, body["status"].as_str()), (200, Some("complete")), "{body}");
        s.stop().await;
    }
}

/// The dashboard, the audit listing and /metrics need the bearer token; an almost-right one fails.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_endpoints_need_the_token() {
    let dir = scratch("auth");
    let s = TestServer::start(config(&dir, &fresh_db("sqlite", &dir).await)).await;
    let c = client();
    let mut almost = TOKEN.to_string();
    almost.pop();
    almost.push('X');
    let longer = format!("{TOKEN}0");
    for path in ["/metrics", "/v1/appraisals", "/v1/appraisals/00000000000000000000000000000000"] {
        assert_eq!(c.get(s.url(path)).send().await.unwrap().status(), 401, "{path} without a token");
        for bad in [almost.as_str(), longer.as_str(), &TOKEN[..TOKEN.len() - 1], ""] {
            let r = c.get(s.url(path)).header("authorization", format!("Bearer {bad}")).send().await.unwrap();
            assert_eq!(r.status(), 401, "{path} with {bad:?}");
            assert_eq!(r.headers()["www-authenticate"], "Bearer realm=\"cloud-ra\"");
        }
        let r = c.get(s.url(path)).basic_auth("admin", Some(TOKEN)).send().await.unwrap();
        assert_eq!(r.status(), 401, "Basic is not Bearer");
    }
    assert_eq!(c.get(s.url("/metrics")).bearer_auth(TOKEN).send().await.unwrap().status(), 200);
    assert_eq!(c.get(s.url("/v1/appraisals")).bearer_auth(TOKEN).send().await.unwrap().status(), 200);
    // Open endpoints.
    for path in ["/healthz", "/readyz", "/.well-known/jwks.json", "/"] {
        assert_eq!(c.get(s.url(path)).send().await.unwrap().status(), 200, "{path}");
    }
    // The JWKS and well-known document publish the public key only.
    let text = c.get(s.url("/.well-known/jwks.json")).send().await.unwrap().text().await.unwrap();
    assert!(!text.contains("\"d\""), "{text}");
    s.stop().await;
    // No token configured: the admin endpoints stay closed.
    let dir = scratch("auth-none");
    let mut cfg = config(&dir, &fresh_db("sqlite", &dir).await);
    cfg.admin_token = None;
    let s = TestServer::start(cfg).await;
    assert_eq!(c.get(s.url("/metrics")).bearer_auth(TOKEN).send().await.unwrap().status(), 401);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attestation_endpoints_rate_limited_per_address() {
    let dir = scratch("rate");
    let mut cfg = config(&dir, &fresh_db("sqlite", &dir).await);
    cfg.rate_limit_per_sec = 0.5;
    cfg.rate_limit_burst = 3.0;
    let s = TestServer::start(cfg).await;
    let c = client();
    let mut codes = Vec::new();
    for _ in 0..5 {
        let r = c.post(s.url(&format!("{CR}/newSession"))).send().await.unwrap();
        codes.push(r.status().as_u16());
        if r.status() == 429 {
            assert!(r.headers().contains_key("retry-after"));
        }
    }
    assert_eq!(codes, [201, 201, 201, 429, 429]);
    // Other endpoints are not limited.
    assert_eq!(c.get(s.url("/healthz")).send().await.unwrap().status(), 200);
    s.stop().await;
}

/// Two replicas on one database: a nonce issued by A is accepted once, by whichever replica
/// wins, when many submissions race on both.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_race_for_one_nonce() {
    for backend in backends() {
        let dir = scratch("replicas");
        let db = fresh_db(backend, &dir).await;
        let a = TestServer::start(config(&dir, &db)).await;
        let b = TestServer::start(config(&dir, &db)).await;
        let c = client();
        // Same key file, so the replicas sign with one key.
        assert_eq!(jwks(&c, &a).await.keys[0].kid, jwks(&c, &b).await.keys[0].kid);
        for round in 0..3 {
            let (url_a, nonce) = new_session(&c, &a, "").await;
            let url_b = url_a.replace(&a.base, &b.base);
            let evidence = sim_bundle(&nonce);
            let mut tasks = Vec::new();
            for i in 0..8 {
                let url = if i % 2 == 0 { url_a.clone() } else { url_b.clone() };
                let (c, ev) = (c.clone(), evidence.clone());
                tasks.push(tokio::spawn(async move { submit(&c, &url, MT_BUNDLE, ev).await }));
            }
            let mut ok = 0;
            let mut conflicts = 0;
            for t in tasks {
                match t.await.unwrap() {
                    (200, body) => {
                        assert_eq!(body["status"], "complete");
                        ok += 1;
                    }
                    (409, _) => conflicts += 1,
                    (other, body) => panic!("{backend} round {round}: unexpected {other}: {body}"),
                }
            }
            assert_eq!((ok, conflicts), (1, 7), "{backend} round {round}");
            // Both replicas see the one completed session.
            let sa = json(c.get(&url_a).send().await.unwrap()).await;
            let sb = json(c.get(&url_b).send().await.unwrap()).await;
            assert_eq!(sa["status"], "complete");
            assert_eq!(sa["result"], sb["result"]);
        }
        assert_eq!(admin_get(&c, &b, "/v1/appraisals").await["appraisals"].as_array().unwrap().len(), 3);
        a.stop().await;
        b.stop().await;
    }
}

/// A client that goes away mid-upload does not spend the nonce; one that goes away after
/// sending its evidence still gets its appraisal recorded (the nonce was spent on it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_disconnects_mid_request() {
    use tokio::io::AsyncWriteExt;
    for backend in backends() {
        let dir = scratch("disconnect");
        let db = fresh_db(backend, &dir).await;
        let s = TestServer::start(config(&dir, &db)).await;
        let c = client();
        let (url, nonce) = new_session(&c, &s, "").await;
        let path = url.trim_start_matches(&s.base).to_string();
        let evidence = sim_bundle(&nonce);
        // Half a body, then gone.
        let mut tcp = tokio::net::TcpStream::connect(s.addr).await.unwrap();
        let head = format!(
            "POST {path} HTTP/1.1\r\nhost: x\r\ncontent-type: {MT_BUNDLE}\r\ncontent-length: {}\r\n\r\n",
            evidence.len()
        );
        tcp.write_all(head.as_bytes()).await.unwrap();
        tcp.write_all(&evidence.as_bytes()[..evidence.len() / 2]).await.unwrap();
        drop(tcp);
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(json(c.get(&url).send().await.unwrap()).await["status"], "waiting", "{backend}");
        // The whole body, then gone before the answer.
        let mut tcp = tokio::net::TcpStream::connect(s.addr).await.unwrap();
        tcp.write_all(head.as_bytes()).await.unwrap();
        tcp.write_all(evidence.as_bytes()).await.unwrap();
        tcp.flush().await.unwrap();
        // Gone without reading the answer (once the server has the request).
        tokio::time::sleep(Duration::from_millis(100)).await;
        drop(tcp);
        let mut state = Value::Null;
        for _ in 0..100 {
            state = json(c.get(&url).send().await.unwrap()).await;
            if state["status"] == "complete" {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(state["status"], "complete", "{backend}: {state}");
        let id = state["appraisal"].as_str().unwrap();
        assert_eq!(admin_get(&c, &s, &format!("/v1/appraisals/{id}")).await["status"], "warning");
        assert_eq!(c.get(s.url("/healthz")).send().await.unwrap().status(), 200);
        s.stop().await;
    }
}

/// Graceful restart on the same store and key: the audit log and the signing key persist.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_keeps_audit_log_and_key() {
    for backend in backends() {
        let dir = scratch("restart");
        let db = fresh_db(backend, &dir).await;
        let s = TestServer::start(config(&dir, &db)).await;
        let c = client();
        let kid = jwks(&c, &s).await.keys[0].kid.clone();
        let (url, nonce) = new_session(&c, &s, "").await;
        let (_, body) = submit(&c, &url, MT_BUNDLE, sim_bundle(&nonce)).await;
        s.stop().await;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.join("signing-key.pem")).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "the signing key is owner-only");
        }
        let s = TestServer::start(config(&dir, &db)).await;
        assert_eq!(jwks(&c, &s).await.keys[0].kid, kid, "same key after restart");
        let list = admin_get(&c, &s, "/v1/appraisals").await;
        assert_eq!(list["appraisals"][0]["token"], body["result"], "{backend}");
        s.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsafe_configurations_refused() {
    let dir = scratch("cfg");
    let db = fresh_db("sqlite", &dir).await;
    // Plain HTTP off loopback.
    let mut cfg = config(&dir, &db);
    cfg.listen = "0.0.0.0:0".parse().unwrap();
    let err = cloud_ra_server::Server::bind(cfg).await.err().expect("refused");
    assert!(err.contains("refusing plain HTTP"), "{err}");
    // A signing key others can read.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let key = dir.join("open-key.pem");
        std::fs::write(&key, "x").unwrap();
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
        let mut cfg = config(&dir, &db);
        cfg.signing_key = key;
        let err = cloud_ra_server::Server::bind(cfg).await.err().expect("refused");
        assert!(err.contains("chmod 600"), "{err}");
    }
    // A short admin token.
    let mut cfg = config(&dir, &db);
    cfg.admin_token = Some("short".into());
    assert!(cloud_ra_server::Server::bind(cfg).await.is_err());
    // A database that is not there: a precise error, no panic.
    let mut cfg = config(&dir, "sqlite:///nonexistent-dir/x/audit.db");
    cfg.signing_key = dir.join("k2.pem");
    let err = cloud_ra_server::Server::bind(cfg).await.err().expect("refused");
    assert!(err.contains("database"), "{err}");
}

/// TLS on loopback with a certificate made in the test.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_on_loopback() {
    let dir = scratch("tls");
    let ck = rcgen::generate_simple_self_signed(vec!["localhost".to_string(), "127.0.0.1".to_string()]).unwrap();
    std::fs::write(dir.join("cert.pem"), ck.cert.pem()).unwrap();
    std::fs::write(dir.join("key.pem"), ck.signing_key.serialize_pem()).unwrap();
    let mut cfg = config(&dir, &fresh_db("sqlite", &dir).await);
    cfg.tls_cert = Some(dir.join("cert.pem"));
    cfg.tls_key = Some(dir.join("key.pem"));
    let s = TestServer::start(cfg).await;
    assert!(s.base.starts_with("https://"));
    let ca = reqwest::Certificate::from_pem(ck.cert.pem().as_bytes()).unwrap();
    let c = reqwest::Client::builder().add_root_certificate(ca).build().unwrap();
    let (url, nonce) = new_session(&c, &s, "").await;
    let (status, body) = submit(&c, &url, MT_BUNDLE, sim_bundle(&nonce)).await;
    assert_eq!((status, body["status"].as_str()), (200, Some("complete")));
    // Plain HTTP to the TLS port gets no answer; a client that does not trust the cert fails.
    assert!(client().get(format!("http://{}/healthz", s.addr)).send().await.is_err());
    assert!(client().get(s.url("/healthz")).send().await.is_err());
    s.stop().await;
}

/// The database goes away (PostgreSQL database dropped under the server): precise 503s, no
/// panic, no answer that claims an appraisal was recorded.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn database_going_away_is_a_503() {
    if !backends().contains(&"postgres") {
        return;
    }
    let dir = scratch("db-gone");
    let db = fresh_db("postgres", &dir).await;
    let s = TestServer::start(config(&dir, &db)).await;
    let c = client();
    let (url, nonce) = new_session(&c, &s, "").await;
    let name = db.rsplit('/').next().unwrap().split('?').next().unwrap().to_string();
    let admin = sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .connect(&std::env::var("CLOUD_RA_TEST_POSTGRES").unwrap())
        .await
        .unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE {name} WITH (FORCE)"))).execute(&admin).await.unwrap();
    let (status, p) = submit(&c, &url, MT_BUNDLE, sim_bundle(&nonce)).await;
    assert_eq!(status, 503, "{p}");
    assert_eq!(p["check"], "store");
    let (status, _) = submit(&c, &s.url("/v1/attest/snp"), MT_BUNDLE, sim_bundle(&nonce)).await;
    assert_eq!(status, 503);
    let r = c.get(s.url("/readyz")).send().await.unwrap();
    assert_eq!(r.status(), 503);
    assert_eq!(c.get(s.url("/healthz")).send().await.unwrap().status(), 200, "alive, not ready");
    let r = c.post(s.url(&format!("{CR}/newSession"))).send().await.unwrap();
    assert_eq!(r.status(), 503);
    s.stop().await;
}

/// A slow upload runs into the request deadline: 408 problem, the nonce not spent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_upload_times_out() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let dir = scratch("slow");
    let mut cfg = config(&dir, &fresh_db("sqlite", &dir).await);
    cfg.request_timeout_secs = 1;
    let s = TestServer::start(cfg).await;
    let c = client();
    let (url, nonce) = new_session(&c, &s, "").await;
    let path = url.trim_start_matches(&s.base).to_string();
    let evidence = sim_bundle(&nonce);
    let mut tcp = tokio::net::TcpStream::connect(s.addr).await.unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nhost: x\r\ncontent-type: {MT_BUNDLE}\r\ncontent-length: {}\r\n\r\n",
        evidence.len()
    );
    tcp.write_all(head.as_bytes()).await.unwrap();
    tcp.write_all(&evidence.as_bytes()[..100]).await.unwrap();
    let mut answer = vec![0u8; 2048];
    let n = tokio::time::timeout(Duration::from_secs(10), tcp.read(&mut answer)).await.expect("answered").unwrap();
    let answer = String::from_utf8_lossy(&answer[..n]);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("application/problem+json") && answer.contains("\"check\":\"timeout\""), "{answer}");
    drop(tcp);
    assert_eq!(json(c.get(&url).send().await.unwrap()).await["status"], "waiting");
    let (status, body) = submit(&c, &url, MT_BUNDLE, evidence).await;
    assert_eq!((status, body["status"].as_str()), (200, Some("complete")));
    s.stop().await;
}

/// Evidence that is detected as a format but does not parse as one (1,184 zero bytes as an SNP
/// report, a bundle carrying them, a truncated Nitro document) is refused with the format check
/// before the nonce is spent: 422, the session still waiting, nothing recorded.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_evidence_refused_before_the_nonce_is_spent() {
    for backend in backends() {
        let dir = scratch("malformed");
        let db = fresh_db(backend, &dir).await;
        let s = TestServer::start(config(&dir, &db)).await;
        let c = client();
        let (url, nonce) = new_session(&c, &s, "").await;
        let mut bundle: Value = serde_json::from_str(&sim_bundle(&nonce)).unwrap();
        bundle["evidence"]["report"] = Value::String(base64::engine::general_purpose::STANDARD.encode([0u8; 1184]));
        // A COSE_Sign1 header (array of four, empty protected header) and nothing after it.
        let nitro = vec![0x84, 0x40, 0xA0];
        let cases: Vec<(&str, Vec<u8>, &str)> = vec![
            (MT_SNP, vec![0u8; 1184], "snp.format"),
            (MT_BUNDLE, bundle.to_string().into_bytes(), "snp.format"),
            ("application/vnd.cloud-ra.nitro-document", nitro, "nitro.format"),
        ];
        for (mt, body, check) in cases {
            let (status, p) = submit(&c, &url, mt, body).await;
            assert_eq!(status, 422, "{backend} {mt}: {p}");
            assert_eq!(p["check"], check, "{backend} {mt}: {p}");
            assert_eq!(json(c.get(&url).send().await.unwrap()).await["status"], "waiting", "{backend} {mt}");
        }
        assert_eq!(admin_get(&c, &s, "/v1/appraisals").await["appraisals"].as_array().unwrap().len(), 0);
        let (status, body) = submit(&c, &url, MT_BUNDLE, sim_bundle(&nonce)).await;
        assert_eq!((status, body["status"].as_str()), (200, Some("complete")), "{body}");
        s.stop().await;
    }
}

/// A session whose nonce the caller chose (`newSession?nonce=`) is not a freshness guarantee:
/// the session, the signed result and the audit record all say `caller-supplied`; and a
/// verifier configured with `refuse_caller_nonce` refuses such sessions (403).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn caller_chosen_session_nonce_is_labelled_caller_supplied() {
    for backend in backends() {
        let dir = scratch("caller-nonce");
        let db = fresh_db(backend, &dir).await;
        let s = TestServer::start(config(&dir, &db)).await;
        let c = client();
        let keys = jwks(&c, &s).await;
        let chosen = [0x5Au8; 32];
        let q = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(chosen);
        let r = c.post(s.url(&format!("{CR}/newSession?nonce={q}"))).send().await.unwrap();
        assert_eq!(r.status(), 201);
        let loc = r.headers()["location"].to_str().unwrap().to_string();
        assert_eq!(json(r).await["nonce_source"], "caller-supplied", "{backend}");
        let url = s.url(&format!("{CR}/{loc}"));
        let (status, body) = submit(&c, &url, MT_BUNDLE, sim_bundle(&chosen)).await;
        assert_eq!(status, 200, "{backend}: {body}");
        assert_eq!(body["status"], "complete", "{backend}: {body}");
        assert_eq!(body["nonce_source"], "caller-supplied");
        let claims = verify_token(body["result"].as_str().unwrap(), &keys);
        assert_eq!(claims["submods"]["snp"]["ear_verifier_claims"]["nonce_source"], "caller-supplied", "{backend}");
        let a = admin_get(&c, &s, &format!("/v1/appraisals/{}", body["appraisal"].as_str().unwrap())).await;
        assert_eq!(a["nonce_source"], "caller-supplied", "{backend}");
        // A nonce the verifier made is labelled so.
        let (url, nonce) = new_session(&c, &s, "").await;
        let (_, body) = submit(&c, &url, MT_BUNDLE, sim_bundle(&nonce)).await;
        assert_eq!(body["nonce_source"], "verifier-issued");
        let claims = verify_token(body["result"].as_str().unwrap(), &keys);
        assert_eq!(claims["submods"]["snp"]["ear_verifier_claims"]["nonce_source"], "verifier-issued");
        s.stop().await;
        // Refused by configuration; server-chosen nonces still work.
        let mut cfg = config(&dir, &db);
        cfg.refuse_caller_nonce = true;
        let s = TestServer::start(cfg).await;
        let r = c.post(s.url(&format!("{CR}/newSession?nonce={q}"))).send().await.unwrap();
        assert_eq!(r.status(), 403, "{backend}");
        assert_eq!(r.headers()["content-type"], "application/problem+json");
        assert_eq!(json(r).await["check"], "nonce.caller_supplied");
        new_session(&c, &s, "?nonceSize=16").await;
        s.stop().await;
    }
}

/// The SQLite audit database (evidence, results, client addresses) is created owner-only (0600,
/// its -wal and -shm files too); an existing one that others can read is refused at start
/// unless allowed (`allow_readable_db`).
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_database_is_private() {
    use std::os::unix::fs::PermissionsExt;
    let dir = scratch("db-mode");
    let db = fresh_db("sqlite", &dir).await;
    let file = dir.join("audit.db");
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let s = TestServer::start(config(&dir, &db)).await;
    let c = client();
    let (url, nonce) = new_session(&c, &s, "").await;
    submit(&c, &url, MT_BUNDLE, sim_bundle(&nonce)).await;
    assert_eq!(mode(&file), 0o600, "the database file is owner-only");
    for side in ["audit.db-wal", "audit.db-shm"] {
        let p = dir.join(side);
        if p.exists() {
            assert_eq!(mode(&p), 0o600, "{side}");
        }
    }
    s.stop().await;
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let err = cloud_ra_server::Server::bind(config(&dir, &db)).await.err().expect("refused");
    assert!(err.contains("mode 644") && err.contains("--allow-readable-db"), "{err}");
    let mut cfg = config(&dir, &db);
    cfg.allow_readable_db = true;
    TestServer::start(cfg).await.stop().await;
}
