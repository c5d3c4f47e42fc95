//! HTTP endpoints. Every refusal is an RFC 9457 problem (`application/problem+json`) naming the
//! check; input never causes a 500 (a database failure is a 503).

// Helpers return the ready refusal (`Response`) as their error, the axum idiom; its size is fine.
#![allow(clippy::result_large_err)]

use crate::AppState;
use crate::listener::ClientAddr;
use crate::policies::{self, Resolved};
use crate::result::{NonceSource, ResultInput, build_ear, sign};
use crate::store::{Appraisal, Claim, Completion, Filter, Record, now_ms};
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, DefaultBodyLimit, MatchedPath, Path, RawQuery, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE, URL_SAFE_NO_PAD};
use cloud_ra_verify::bundle::{Detected, Evidence, detect};
use cloud_ra_verify::outcome::verify_detected;
use cloud_ra_verify::{Check, Outcome, Platform, Timestamp, VerifyOptions};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub const MT_BUNDLE: &str = "application/vnd.cloud-ra.evidence+json";
pub const MT_SNP: &str = "application/vnd.cloud-ra.snp-report";
pub const MT_DCAP: &str = "application/vnd.cloud-ra.dcap-quote";
pub const MT_NITRO: &str = "application/vnd.cloud-ra.nitro-document";
/// Azure vTPM evidence outside a bundle: a raw HCL report, or CoCo trustee's az-*-vtpm JSON.
pub const MT_AZURE: &str = "application/vnd.cloud-ra.azure-vtpm";
/// A GCE vTPM attestation (go-tpm-tools `Attestation` protobuf).
pub const MT_GCE: &str = "application/vnd.cloud-ra.gce-vtpm-attestation";
/// Evidence media types, each checked against what the body turns out to be.
pub const MEDIA_TYPES: &[&str] = &[MT_BUNDLE, MT_SNP, MT_DCAP, MT_NITRO, MT_AZURE, MT_GCE];

const CR: &str = "/challenge-response/v1";

type S = State<Arc<AppState>>;

pub fn router(state: Arc<AppState>) -> Router {
    let timeout = Duration::from_secs(state.cfg.request_timeout_secs);
    let attest = Router::new()
        .route(&format!("{CR}/newSession"), post(new_session))
        .route(&format!("{CR}/session/{{id}}"), post(submit).get(get_session).delete(delete_session))
        .route("/v1/attest/{platform}", post(attest_once))
        .route_layer(middleware::from_fn_with_state(state.clone(), rate_limit));
    let admin = Router::new()
        .route("/metrics", get(metrics))
        .route("/v1/appraisals", get(list_appraisals))
        .route("/v1/appraisals/counts", get(count_appraisals))
        .route("/v1/appraisals/{id}", get(get_appraisal))
        .route("/v1/policies", get(list_policies))
        .route("/v1/policies/{name}", get(get_policy).put(put_policy).delete(delete_policy))
        .route_layer(middleware::from_fn_with_state(state.clone(), require_token));
    Router::new()
        .route("/.well-known/veraison/verification", get(well_known))
        .route("/.well-known/jwks.json", get(jwks))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/", get(crate::dashboard::page))
        .merge(attest)
        .merge(admin)
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(state.cfg.max_body_bytes))
        .layer(middleware::from_fn(as_problem))
        .layer(middleware::from_fn_with_state(state.clone(), observe))
        .layer(middleware::from_fn(move |req: Request, next: Next| deadline(timeout, req, next)))
        .with_state(state)
}

/// An RFC 9457 problem.
pub fn problem(status: StatusCode, check: &str, detail: impl Into<String>) -> Response {
    let title = status.canonical_reason().unwrap_or("error");
    let body = json!({
        "type": format!("urn:cloud-ra:problem:{check}"),
        "title": title,
        "status": status.as_u16(),
        "check": check,
        "detail": detail.into(),
    });
    let mut r = (status, body.to_string()).into_response();
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
    r
}

fn json_response(status: StatusCode, v: &Value) -> Response {
    let mut r = (status, v.to_string()).into_response();
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    r
}

fn db_unavailable(e: crate::store::DbError) -> Response {
    tracing::error!(error = %e, "store unavailable");
    problem(
        StatusCode::SERVICE_UNAVAILABLE,
        "store",
        "the audit store is unavailable; nothing was recorded, retry later",
    )
}

async fn not_found() -> Response {
    problem(StatusCode::NOT_FOUND, "route", "no such endpoint")
}

async fn method_not_allowed() -> Response {
    problem(StatusCode::METHOD_NOT_ALLOWED, "method", "method not allowed on this endpoint")
}

/// Request metrics and one structured log line per request.
async fn observe(State(st): S, req: Request, next: Next) -> Response {
    let start = Instant::now();
    let method = req.method().clone();
    let route =
        req.extensions().get::<MatchedPath>().map(|p| p.as_str().to_string()).unwrap_or_else(|| "unmatched".into());
    let client = req.extensions().get::<ConnectInfo<ClientAddr>>().map(|c| c.0.0.to_string()).unwrap_or_default();
    let resp = next.run(req).await;
    let secs = start.elapsed().as_secs_f64();
    st.metrics.request(method.as_str(), &route, resp.status().as_u16(), secs);
    tracing::debug!(%method, route, status = resp.status().as_u16(), client, ms = secs * 1e3, "request");
    resp
}

/// Refusals produced by the framework itself (a path that is not valid UTF-8, ...) become
/// problems too, so every error answer has the same shape.
async fn as_problem(req: Request, next: Next) -> Response {
    let r = next.run(req).await;
    let is_problem = r.headers().get(header::CONTENT_TYPE).is_some_and(|v| v == "application/problem+json");
    if r.status().as_u16() < 400 || is_problem {
        return r;
    }
    let status = r.status();
    let body = axum::body::to_bytes(r.into_body(), 4096).await.unwrap_or_default();
    problem(status, "request", String::from_utf8_lossy(&body).trim().to_string())
}

/// The per-request deadline (slow uploads included). An appraisal that already has its evidence
/// still completes and is recorded; only the answer is replaced by the 408.
async fn deadline(limit: Duration, req: Request, next: Next) -> Response {
    match tokio::time::timeout(limit, next.run(req)).await {
        Ok(r) => r,
        Err(_) => problem(
            StatusCode::REQUEST_TIMEOUT,
            "timeout",
            format!("the request took longer than {} s", limit.as_secs()),
        ),
    }
}

async fn rate_limit(State(st): S, ConnectInfo(addr): ConnectInfo<ClientAddr>, req: Request, next: Next) -> Response {
    if let Err(wait) = st.limiter.check(addr.0.ip()) {
        st.metrics.rate_limited();
        let mut r =
            problem(StatusCode::TOO_MANY_REQUESTS, "rate_limit", "too many attestation requests from this address");
        if let Ok(v) = HeaderValue::from_str(&format!("{}", wait.ceil().max(1.0) as u64)) {
            r.headers_mut().insert(header::RETRY_AFTER, v);
        }
        return r;
    }
    next.run(req).await
}

/// Bearer token, compared in constant time (over SHA-256 digests, so lengths leak nothing).
pub fn token_ok(expected: Option<&str>, headers: &HeaderMap) -> bool {
    let Some(expected) = expected else { return false };
    let Some(given) = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) else { return false };
    let Some(given) = given.strip_prefix("Bearer ") else { return false };
    let d = |s: &str| aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, s.as_bytes());
    aws_lc_rs::constant_time::verify_slices_are_equal(d(given.trim()).as_ref(), d(expected).as_ref()).is_ok()
}

async fn require_token(State(st): S, req: Request, next: Next) -> Response {
    if !token_ok(st.cfg.admin_token.as_deref(), req.headers()) {
        let mut r = problem(StatusCode::UNAUTHORIZED, "auth", "a valid bearer token is required");
        r.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer realm=\"cloud-ra\""));
        return r;
    }
    next.run(req).await
}

/// Veraison's discovery media type (veraison/docs api/well-known).
pub const MT_DISCOVERY: &str = "application/vnd.veraison.discovery+json";

/// `GET /.well-known/veraison/verification`: Veraison's `WellKnownInfo` (veraison/services
/// capability/well-known.go): the EAR key as a JWK, the evidence media types, the version, the
/// service state, and `api-endpoints`, the relative URL of each public endpoint by Veraison's
/// names (clients find `newChallengeResponseSession` there), plus cloud-ra's own.
async fn well_known(State(st): S) -> Response {
    let mut r = json_response(
        StatusCode::OK,
        &json!({
            "ear-verification-key": st.key.jwk,
            "media-types": MEDIA_TYPES,
            "version": env!("CARGO_PKG_VERSION"),
            "service-state": "READY",
            "api-endpoints": {
                "newChallengeResponseSession": format!("{CR}/newSession"),
                "oneShotVerification": "/v1/attest/{platform}",
                "jwks": "/.well-known/jwks.json",
            },
        }),
    );
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(MT_DISCOVERY));
    r
}

async fn jwks(State(st): S) -> Response {
    let mut r = json_response(StatusCode::OK, &st.key.jwks());
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/jwk-set+json"));
    r
}

async fn healthz() -> Response {
    json_response(StatusCode::OK, &json!({"status": "ok"}))
}

async fn readyz(State(st): S) -> Response {
    match st.store.ping().await {
        Ok(()) => json_response(StatusCode::OK, &json!({"status": "ready", "store": st.store.backend()})),
        Err(e) => db_unavailable(e),
    }
}

async fn metrics(State(st): S) -> Response {
    let mut r = st.metrics.render().into_response();
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; version=0.0.4"));
    r
}

fn query_params(q: Option<&str>) -> Result<Vec<(String, String)>, Response> {
    let mut out = Vec::new();
    for pair in q.unwrap_or_default().split('&').filter(|s| !s.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let v = percent_decode(v).ok_or_else(|| {
            problem(StatusCode::BAD_REQUEST, "query", format!("query parameter {k:?} is not valid percent-encoding"))
        })?;
        out.push((k.to_string(), v));
    }
    Ok(out)
}

fn percent_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' => {
                let h = std::str::from_utf8(b.get(i + 1..i + 3)?).ok()?;
                out.push(u8::from_str_radix(h, 16).ok()?);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

fn random(n: usize) -> Result<Vec<u8>, Response> {
    let mut v = vec![0u8; n];
    getrandom::fill(&mut v)
        .map_err(|_| problem(StatusCode::SERVICE_UNAVAILABLE, "randomness", "no randomness available"))?;
    Ok(v)
}

fn rfc3339_ms(ms: i64) -> String {
    Timestamp(ms.div_euclid(1000)).to_rfc3339()
}

/// `POST /challenge-response/v1/newSession?nonceSize=N` or `?nonce=BASE64`. A caller-chosen
/// nonce is labelled `caller-supplied` in the session, its result and its audit record (the
/// caller may hold evidence made for it long ago); `refuse_caller_nonce` refuses them.
async fn new_session(State(st): S, RawQuery(q): RawQuery) -> Response {
    let params = match query_params(q.as_deref()) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let mut size: Option<usize> = None;
    let mut given: Option<Vec<u8>> = None;
    let mut policy: Option<String> = None;
    for (k, v) in &params {
        match k.as_str() {
            "policy" => policy = Some(v.clone()),
            "nonceSize" => match v.parse::<usize>() {
                Ok(n) if (8..=64).contains(&n) => size = Some(n),
                _ => return problem(StatusCode::BAD_REQUEST, "nonceSize", "nonceSize must be an integer from 8 to 64"),
            },
            "nonce" if st.cfg.refuse_caller_nonce => {
                return problem(
                    StatusCode::FORBIDDEN,
                    "nonce.caller_supplied",
                    "this verifier issues its own nonces (refuse_caller_nonce): ask for one with ?nonceSize=N or no parameter",
                );
            }
            "nonce" => {
                let t = v.trim();
                let d = STANDARD.decode(t).or_else(|_| URL_SAFE.decode(t)).or_else(|_| URL_SAFE_NO_PAD.decode(t));
                match d {
                    Ok(n) if (8..=64).contains(&n.len()) => given = Some(n),
                    Ok(n) => {
                        return problem(
                            StatusCode::BAD_REQUEST,
                            "nonce",
                            format!("the nonce is {} bytes; 8 to 64 accepted", n.len()),
                        );
                    }
                    Err(_) => return problem(StatusCode::BAD_REQUEST, "nonce", "the nonce is not base64"),
                }
            }
            other => return problem(StatusCode::BAD_REQUEST, "query", format!("unknown query parameter {other:?}")),
        }
    }
    if size.is_some() && given.is_some() {
        return problem(StatusCode::BAD_REQUEST, "nonce", "give nonceSize or nonce, not both");
    }
    // The named policy must exist now; the session is appraised under its version current at
    // submission (a policy deleted meanwhile refuses the evidence before the nonce is spent).
    let policy = match policy {
        None => None,
        Some(name) => match resolve_policy(&st, Some(&name)).await {
            Ok(p) if p.name == policies::DEFAULT => None,
            Ok(p) => Some(p.name),
            Err(r) => return r,
        },
    };
    let (nonce, source) = match given {
        Some(n) => (n, NonceSource::CallerSupplied),
        None => match random(size.unwrap_or(32)) {
            Ok(n) => (n, NonceSource::VerifierIssued),
            Err(r) => return r,
        },
    };
    let id = match random(16) {
        Ok(b) => hex::encode(b),
        Err(r) => return r,
    };
    let now = now_ms();
    let expires = now + st.cfg.session_ttl_secs as i64 * 1000;
    if let Err(e) = st.store.create_session(&id, &nonce, source.as_str(), policy.as_deref(), now, expires).await {
        // A caller-chosen nonce that is already in use collides on the UNIQUE column.
        if e.unique_violation {
            return problem(StatusCode::CONFLICT, "nonce", "this nonce was already issued; nonces are single-use");
        }
        return db_unavailable(e);
    }
    let body = json!({
        "nonce": STANDARD.encode(&nonce),
        "expiry": rfc3339_ms(expires),
        "accept": MEDIA_TYPES,
        "status": "waiting",
        "nonce_source": source.as_str(),
        "policy": policy.as_deref().unwrap_or(policies::DEFAULT),
    });
    let mut r = session_response(StatusCode::CREATED, &body);
    if let Ok(v) = HeaderValue::from_str(&format!("session/{id}")) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    r
}

fn valid_id(id: &str) -> bool {
    id.len() == 32 && id.bytes().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
}

/// Veraison's challenge-response session media type (veraison/docs api/challenge-response).
pub const MT_SESSION: &str = "application/vnd.veraison.challenge-response-session+json";

/// A session resource, labelled with Veraison's media type.
fn session_response(status: StatusCode, v: &Value) -> Response {
    let mut r = (status, v.to_string()).into_response();
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(MT_SESSION));
    r
}

/// A session in the shape of Veraison's `ChallengeResponseSession` (`nonce` standard base64,
/// `expiry` RFC 3339, `accept`, `status` waiting/processing/complete/failed, `evidence`
/// {`type`, `value` base64}, `result` the EAR JWT), plus cloud-ra's own members: `nonce_source`,
/// `failure` (why evidence was refused), `appraisal` (the audit record's id), and status
/// `expired` for a waiting session past its expiry.
fn session_json(s: &crate::store::Session) -> Value {
    let mut v = json!({
        "nonce": STANDARD.encode(&s.nonce),
        "expiry": rfc3339_ms(s.expires_ms),
        "accept": MEDIA_TYPES,
        "status": s.state,
        "nonce_source": s.nonce_source,
        "policy": s.policy.as_deref().unwrap_or(policies::DEFAULT),
    });
    if let (Some(mt), Some(ev)) = (&s.media_type, &s.evidence_b64) {
        v["evidence"] = json!({"type": mt, "value": ev});
    }
    if let Some(r) = &s.result {
        v["result"] = json!(r);
    }
    if let Some(f) = &s.failure {
        v["failure"] = serde_json::from_str(f).unwrap_or_else(|_| json!(f));
    }
    if let Some(a) = &s.appraisal_id {
        v["appraisal"] = json!(a);
    }
    v
}

async fn get_session(State(st): S, Path(id): Path<String>) -> Response {
    if !valid_id(&id) {
        return problem(StatusCode::NOT_FOUND, "session", "no such session");
    }
    match st.store.session(&id).await {
        Ok(Some(s)) => {
            let mut v = session_json(&s);
            if s.state == "waiting" && s.expires_ms <= now_ms() {
                v["status"] = json!("expired");
            }
            session_response(StatusCode::OK, &v)
        }
        Ok(None) => problem(StatusCode::NOT_FOUND, "session", "no such session"),
        Err(e) => db_unavailable(e),
    }
}

async fn delete_session(State(st): S, Path(id): Path<String>) -> Response {
    if !valid_id(&id) {
        return problem(StatusCode::NOT_FOUND, "session", "no such session");
    }
    match st.store.delete_session(&id).await {
        Ok(true) => StatusCode::NO_CONTENT.into_response(),
        Ok(false) => problem(StatusCode::NOT_FOUND, "session", "no such session"),
        Err(e) => db_unavailable(e),
    }
}

/// The declared media type (parameters ignored), which must be one this verifier accepts.
fn media_type(headers: &HeaderMap) -> Result<&'static str, Response> {
    let Some(ct) = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()) else {
        return Err(problem(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "media_type",
            format!("no Content-Type; accepted: {}", MEDIA_TYPES.join(", ")),
        ));
    };
    let base = ct.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    MEDIA_TYPES.iter().find(|m| **m == base).copied().ok_or_else(|| {
        problem(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "media_type",
            format!("media type {:?} is not accepted; accepted: {}", truncate(&base, 100), MEDIA_TYPES.join(", ")),
        )
    })
}

fn truncate(s: &str, n: usize) -> String {
    s.chars().take(n).collect()
}

/// Reads the whole body, at most `limit` bytes.
async fn read_body(headers: &HeaderMap, body: Body, limit: usize) -> Result<Bytes, Response> {
    let too_large =
        || problem(StatusCode::PAYLOAD_TOO_LARGE, "body", format!("the body exceeds the {limit}-byte limit"));
    let declared =
        headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(too_large());
    }
    match axum::body::to_bytes(body, limit).await {
        Ok(b) if b.is_empty() => {
            Err(problem(StatusCode::BAD_REQUEST, "body", "the request body (the evidence) is empty"))
        }
        Ok(b) => Ok(b),
        Err(e) if is_length_limit(&e) => Err(too_large()),
        Err(e) => Err(problem(StatusCode::BAD_REQUEST, "body", format!("the body could not be read: {e}"))),
    }
}

/// Runs a request's work in its own task: once the whole evidence has arrived, the appraisal
/// (nonce consumed, result recorded) completes even if the client goes away meanwhile.
async fn detached(work: impl std::future::Future<Output = Response> + Send + 'static) -> Response {
    tokio::spawn(work)
        .await
        .unwrap_or_else(|_| problem(StatusCode::SERVICE_UNAVAILABLE, "verify", "the appraisal task failed"))
}

/// Reads the whole body (bounded) and detects the evidence in it as its media type says.
async fn read_evidence(headers: &HeaderMap, body: Body, max: usize, mt: &str) -> Result<(Bytes, Detected), Response> {
    let body = read_body(headers, body, max).await?;
    let d = detect_as(&body, mt)?;
    Ok((body, d))
}

/// Parses the evidence and checks it is what its media type says, then parses it whole at the
/// format level (`Detected::check_format`): cheap, and before the nonce is spent, so malformed
/// evidence never consumes a session.
fn detect_as(bytes: &[u8], mt: &str) -> Result<Detected, Response> {
    let d = detect(bytes).map_err(|e| problem(StatusCode::UNPROCESSABLE_ENTITY, e.check.as_str(), e.detail.clone()))?;
    let ok = matches!(
        (&d.evidence, d.bundle.is_some(), mt),
        (_, true, MT_BUNDLE)
            | (Evidence::Snp { .. }, false, MT_SNP)
            | (Evidence::Dcap { .. }, false, MT_DCAP)
            | (Evidence::Nitro { .. }, false, MT_NITRO)
            | (Evidence::AzureVtpm(_), false, MT_AZURE)
            | (Evidence::GceVtpm(_), false, MT_GCE)
    );
    if !ok {
        return Err(problem(
            StatusCode::UNPROCESSABLE_ENTITY,
            "media_type",
            format!("the body is {}, not {mt}", d.what),
        ));
    }
    d.check_format().map_err(|e| problem(StatusCode::UNPROCESSABLE_ENTITY, e.check.as_str(), e.detail.clone()))?;
    Ok(d)
}

/// What one appraisal produced, ready to store and answer.
struct Done {
    appraisal: Appraisal,
    outcome: Outcome,
    token: Option<String>,
    /// Set when the evidence is refused outright (not bound to the session's nonce).
    refusal: Option<Value>,
}

/// Where the nonce of an appraisal comes from.
enum NonceFrom {
    /// A session: its nonce is consumed (once, atomically) before verification.
    Session(String),
    /// The one-shot endpoint: whatever the caller gave, if anything.
    Caller(Option<Vec<u8>>),
}

/// Consumes the session's nonce, verifies on the bounded pool, builds and signs the result,
/// records it durably. Runs in its own task once the whole request has arrived: a client that
/// disconnects does not cancel an appraisal half-way (the nonce spent, nothing recorded).
async fn appraise(
    st: Arc<AppState>,
    d: Detected,
    evidence: Bytes,
    mt: &'static str,
    from: NonceFrom,
    policy: Resolved,
    client: String,
) -> Result<Done, Response> {
    let _inflight = st.inflight.enter();
    {
        let (nonce, source, session_id) = match from {
            NonceFrom::Caller(n) => {
                let src = if n.is_some() { NonceSource::CallerSupplied } else { NonceSource::None };
                (n, src, None)
            }
            NonceFrom::Session(id) => match st.store.claim_session(&id, now_ms()).await {
                Ok(Claim::Claimed { nonce, caller_chosen }) => {
                    let src = if caller_chosen { NonceSource::CallerSupplied } else { NonceSource::VerifierIssued };
                    (Some(nonce), src, Some(id))
                }
                Ok(Claim::Unknown) => return Err(problem(StatusCode::NOT_FOUND, "session", "no such session")),
                Ok(Claim::Expired) => {
                    return Err(problem(
                        StatusCode::GONE,
                        "session.expired",
                        "the session expired; its nonce can no longer be used",
                    ));
                }
                Ok(Claim::Used(state)) => {
                    return Err(problem(
                        StatusCode::CONFLICT,
                        "session.used",
                        format!("the session's nonce was already used (state {state}); nonces are single-use"),
                    ));
                }
                Err(e) => return Err(db_unavailable(e)),
            },
        };
        let permit = st
            .pool
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| problem(StatusCode::SERVICE_UNAVAILABLE, "shutdown", "the verifier is shutting down"))?;
        let st2 = st.clone();
        let nonce2 = nonce.clone();
        let ev = evidence.clone();
        let pol = policy.policy.clone();
        let (outcome, sha, secs) = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let start = Instant::now();
            let mut opts = VerifyOptions::at(st2.cfg.verify_at.unwrap_or_else(Timestamp::now));
            opts.policy = (*pol).clone();
            opts.nonce = nonce2;
            opts.trust_simulated = st2.cfg.trust_simulated;
            let o = verify_detected(&d, &st2.collateral, &opts, Some(&st2.caches));
            let sha = hex::encode(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &ev));
            (o, sha, start.elapsed().as_secs_f64())
        })
        .await
        .map_err(|_| problem(StatusCode::SERVICE_UNAVAILABLE, "verify", "the verification worker stopped"))?;
        let nonce_failure = outcome.failures.iter().find(|f| f.check == Check::PolicyNonce);
        // Evidence not bound to a session's nonce (whoever chose it) is refused outright.
        let refusal = match (&session_id, nonce_failure) {
            (Some(_), Some(f)) => Some(json!({
                "check": Check::PolicyNonce,
                "detail": format!("the evidence is not bound to this session's nonce: {}", f.detail),
            })),
            _ => None,
        };
        let now = now_ms();
        let policy_id = policy.id();
        let mut verdict = "refused".to_string();
        let token = if refusal.is_none() {
            let ear = build_ear(&ResultInput {
                outcome: &outcome,
                nonce: nonce.as_deref(),
                nonce_source: source,
                evidence_sha256: &sha,
                policy_id: &policy_id,
                iat: now.div_euclid(1000),
                ttl_secs: st.cfg.result_ttl_secs as i64,
            });
            verdict = ear["ear_status"].as_str().unwrap_or_default().to_string();
            Some(sign(&ear, &st.key).map_err(|e| {
                tracing::error!(error = %e, "signing");
                problem(StatusCode::SERVICE_UNAVAILABLE, "sign", "the result could not be signed")
            })?)
        } else {
            None
        };
        st.metrics.verification(outcome.platform.as_str(), &verdict, secs);
        let id = hex::encode(random(16)?);
        let appraisal = Appraisal {
            id,
            created_ms: now,
            session_id: session_id.clone(),
            client,
            evidence_sha256: sha,
            media_type: mt.into(),
            platform: outcome.platform.as_str().to_string(),
            detected: outcome.detected.clone(),
            verified: outcome.verified,
            status: verdict,
            nonce: nonce.as_ref().map(hex::encode),
            nonce_source: source.as_str().into(),
            claims: outcome.claims.to_value(),
            failures: serde_json::to_value(&outcome.failures).unwrap_or(Value::Null),
            warnings: serde_json::to_value(&outcome.warnings).unwrap_or(Value::Null),
            token: token.clone(),
            policy_id: Some(policy_id),
            policy_name: Some(policy.name.clone()),
        };
        let completion = session_id.as_ref().map(|_| Completion {
            state: if refusal.is_some() { "failed" } else { "complete" },
            result: token.clone(),
            failure: refusal.as_ref().map(|r| r.to_string()),
            media_type: mt,
            evidence_b64: STANDARD.encode(&evidence),
        });
        let record = st.writer.record(Record { appraisal, session: completion }).await.map_err(db_unavailable)?;
        let appraisal = record.appraisal;
        tracing::info!(appraisal = %appraisal.id, platform = %appraisal.platform, status = %appraisal.status, session = ?appraisal.session_id, policy = ?appraisal.policy_id, "appraisal recorded");
        Ok(Done { appraisal, outcome, token, refusal })
    }
}

/// `POST /challenge-response/v1/session/{id}`: evidence bound to the session's nonce.
async fn submit(
    State(st): S,
    ConnectInfo(addr): ConnectInfo<ClientAddr>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    if !valid_id(&id) {
        return problem(StatusCode::NOT_FOUND, "session", "no such session");
    }
    let mt = match media_type(&headers) {
        Ok(m) => m,
        Err(r) => return r,
    };
    detached(async move {
        let (body, d) = match read_evidence(&headers, body, st.cfg.max_body_bytes, mt).await {
            Ok(x) => x,
            Err(r) => return r,
        };
        // The session's policy, resolved before its nonce is spent.
        let policy = match st.store.session_policy(&id).await {
            Ok(None) => return problem(StatusCode::NOT_FOUND, "session", "no such session"),
            Ok(Some(name)) => match resolve_policy(&st, name.as_deref()).await {
                Ok(p) => p,
                Err(r) => return r,
            },
            Err(e) => return db_unavailable(e),
        };
        match appraise(st.clone(), d, body, mt, NonceFrom::Session(id.clone()), policy, addr.0.to_string()).await {
            Err(r) => r,
            Ok(_) => match st.store.session(&id).await {
                Ok(Some(s)) => session_response(StatusCode::OK, &session_json(&s)),
                Ok(None) => problem(StatusCode::NOT_FOUND, "session", "the session was deleted meanwhile"),
                Err(e) => db_unavailable(e),
            },
        }
    })
    .await
}

/// `POST /v1/attest/{platform}[?nonce=HEX]`: one-shot verification without a session. The nonce
/// is only what the caller claims, and the result says so (`nonce_source: caller-supplied`).
async fn attest_once(
    State(st): S,
    ConnectInfo(addr): ConnectInfo<ClientAddr>,
    Path(platform): Path<String>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let params = match query_params(q.as_deref()) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let mut nonce = None;
    let mut policy = None;
    for (k, v) in &params {
        match k.as_str() {
            "policy" => policy = Some(v.clone()),
            "nonce" => match cloud_ra_verify::policy::parse_hex("nonce", v, 64) {
                Ok(n) if !n.is_empty() => nonce = Some(n),
                Ok(_) => return problem(StatusCode::BAD_REQUEST, "nonce", "the nonce is empty"),
                Err(e) => return problem(StatusCode::BAD_REQUEST, "nonce", e.detail),
            },
            other => {
                return problem(
                    StatusCode::BAD_REQUEST,
                    "query",
                    format!("unknown query parameter {:?}", truncate(other, 64)),
                );
            }
        }
    }
    let mt = match media_type(&headers) {
        Ok(m) => m,
        Err(r) => return r,
    };
    let policy = match resolve_policy(&st, policy.as_deref()).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    detached(async move {
        let (body, d) = match read_evidence(&headers, body, st.cfg.max_body_bytes, mt).await {
            Ok(x) => x,
            Err(r) => return r,
        };
        let found = d.platform();
        // `auto`, or the platform the evidence must be (its name in bundles and outcomes).
        if platform != "auto" && Platform::from_evidence_name(&platform) != Some(found) {
            return problem(
                StatusCode::UNPROCESSABLE_ENTITY,
                "platform",
                format!("the evidence is {found}, not {}", truncate(&platform, 64)),
            );
        }
        match appraise(st, d, body, mt, NonceFrom::Caller(nonce), policy, addr.0.to_string()).await {
            Err(r) => r,
            Ok(done) => json_response(
                StatusCode::OK,
                &json!({
                    "appraisal": done.appraisal.id,
                    "platform": done.outcome.platform,
                    "verified": done.outcome.verified,
                    "status": done.appraisal.status,
                    "nonce_source": done.appraisal.nonce_source,
                    "policy": done.appraisal.policy_id,
                    "failures": done.outcome.failures,
                    "warnings": done.outcome.warnings,
                    "result": done.token,
                    "refusal": done.refusal,
                }),
            ),
        }
    })
    .await
}

/// The verdicts an appraisal can have (`status`).
const VERDICTS: &[&str] = &["affirming", "warning", "contraindicated", "refused"];

/// The audit filter of `platform=`, `verdict=` and `policy=` (NAME or NAME@VERSION); an empty
/// value is no filter. `limit` is returned when `with_limit` allows it.
fn audit_filter(q: Option<&str>, with_limit: bool) -> Result<(Filter, i64), Response> {
    let mut f = Filter::default();
    let mut limit = 50i64;
    for (k, v) in query_params(q)? {
        let set = (!v.is_empty()).then(|| v.clone());
        match k.as_str() {
            "limit" if with_limit => match v.parse::<i64>() {
                Ok(n) if (1..=1000).contains(&n) => limit = n,
                _ => return Err(problem(StatusCode::BAD_REQUEST, "limit", "limit must be 1 to 1000")),
            },
            "platform" => {
                if v.len() > 32 || !v.bytes().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-') {
                    return Err(problem(
                        StatusCode::BAD_REQUEST,
                        "platform",
                        "platform must be a platform name (snp, tdx, ...)",
                    ));
                }
                f.platform = set;
            }
            "verdict" => {
                if !v.is_empty() && !VERDICTS.contains(&v.as_str()) {
                    return Err(problem(
                        StatusCode::BAD_REQUEST,
                        "verdict",
                        format!("verdict must be one of {}", VERDICTS.join(", ")),
                    ));
                }
                f.status = set;
            }
            "policy" => {
                if !v.is_empty() && !policies::valid_ref(&v) {
                    return Err(problem(StatusCode::BAD_REQUEST, "policy.name", "policy must be NAME or NAME@VERSION"));
                }
                f.policy = set;
            }
            _ => return Err(problem(StatusCode::BAD_REQUEST, "query", "unknown query parameter")),
        }
    }
    Ok((f, limit))
}

/// `GET /v1/appraisals[?limit=N&platform=P&verdict=V&policy=NAME[@VERSION]]`: newest first.
async fn list_appraisals(State(st): S, RawQuery(q): RawQuery) -> Response {
    let (filter, limit) = match audit_filter(q.as_deref(), true) {
        Ok(x) => x,
        Err(r) => return r,
    };
    match st.store.recent_where(limit, &filter).await {
        Ok(list) => json_response(StatusCode::OK, &json!({"appraisals": list})),
        Err(e) => db_unavailable(e),
    }
}

/// `GET /v1/appraisals/counts[?platform=&verdict=&policy=]`: how many appraisals the filter
/// matches, by verdict (every verdict named, zeros included), and in all.
async fn count_appraisals(State(st): S, RawQuery(q): RawQuery) -> Response {
    let (filter, _) = match audit_filter(q.as_deref(), false) {
        Ok(x) => x,
        Err(r) => return r,
    };
    match st.store.count_by_status(&filter).await {
        Ok(rows) => {
            let mut counts = serde_json::Map::new();
            for v in VERDICTS {
                counts.insert((*v).into(), json!(0));
            }
            let mut total = 0i64;
            for (status, n) in rows {
                total += n;
                counts.insert(status, json!(n));
            }
            json_response(StatusCode::OK, &json!({"counts": counts, "total": total}))
        }
        Err(e) => db_unavailable(e),
    }
}

async fn get_appraisal(State(st): S, Path(id): Path<String>) -> Response {
    if !valid_id(&id) {
        return problem(StatusCode::NOT_FOUND, "appraisal", "no such appraisal");
    }
    match st.store.appraisal(&id).await {
        Ok(Some(a)) => json_response(StatusCode::OK, &serde_json::to_value(&a).unwrap_or(Value::Null)),
        Ok(None) => problem(StatusCode::NOT_FOUND, "appraisal", "no such appraisal"),
        Err(e) => db_unavailable(e),
    }
}

/// The policy an appraisal runs under: the stored policy `name`, or the default (no name, or
/// `default`). An unknown name is a 404 (`policy.unknown`), a malformed one a 400.
pub async fn resolve_policy(st: &AppState, name: Option<&str>) -> Result<Resolved, Response> {
    let name = match name {
        None => return Ok(st.default_policy.clone()),
        Some(n) if n == policies::DEFAULT => return Ok(st.default_policy.clone()),
        Some(n) => n,
    };
    if !policies::valid_name(name) {
        return Err(bad_policy_name());
    }
    match st.store.policy(name).await {
        Ok(Some(p)) => match st.policy_cache.get(name, p.body.as_deref().unwrap_or_default()) {
            Ok(policy) => Ok(Resolved { name: p.name, version: p.version, policy }),
            Err(e) => {
                // Valid when uploaded; a server version that reads policies differently.
                tracing::error!(policy = name, check = %e.check, detail = %e.detail, "stored policy no longer parses");
                Err(problem(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "policy.stored",
                    format!("the stored policy {name:?} no longer parses ({}); push it again", e.detail),
                ))
            }
        },
        Ok(None) => Err(unknown_policy(name)),
        Err(e) => Err(db_unavailable(e)),
    }
}

fn bad_policy_name() -> Response {
    problem(
        StatusCode::BAD_REQUEST,
        "policy.name",
        "a policy name is 1 to 64 characters of A-Z a-z 0-9 . _ -, starting with a letter or digit",
    )
}

fn unknown_policy(name: &str) -> Response {
    problem(StatusCode::NOT_FOUND, "policy.unknown", format!("no policy named {name:?}"))
}

fn reserved_policy() -> Response {
    problem(
        StatusCode::CONFLICT,
        "policy.reserved",
        "\"default\" is the configured default policy (serve --policy); it cannot be replaced or deleted here",
    )
}

fn policy_json(p: &crate::store::StoredPolicy, source: &str) -> Value {
    let mut v = json!({
        "name": p.name,
        "version": p.version,
        "id": format!("{}@{}", p.name, p.version),
        "source": source,
    });
    if source == "store" {
        v["created_ms"] = json!(p.created_ms);
        v["updated_ms"] = json!(p.updated_ms);
    }
    if let Some(b) = &p.body {
        v["body"] = json!(b);
    }
    v
}

fn default_policy_entry(st: &AppState, with_body: bool) -> crate::store::StoredPolicy {
    crate::store::StoredPolicy {
        name: st.default_policy.name.clone(),
        version: st.default_policy.version.clone(),
        body: with_body.then(|| st.default_policy_text.clone()),
        created_ms: 0,
        updated_ms: 0,
    }
}

/// `GET /v1/policies`: the configured default (`source: config`) and the stored policies.
async fn list_policies(State(st): S) -> Response {
    match st.store.policies().await {
        Ok(list) => {
            let mut out = vec![policy_json(&default_policy_entry(&st, false), "config")];
            out.extend(list.iter().map(|p| policy_json(p, "store")));
            json_response(StatusCode::OK, &json!({"default": policies::DEFAULT, "policies": out}))
        }
        Err(e) => db_unavailable(e),
    }
}

/// `GET /v1/policies/{name}`: one policy with its text (`body`, as uploaded).
async fn get_policy(State(st): S, Path(name): Path<String>) -> Response {
    if name == policies::DEFAULT {
        return json_response(StatusCode::OK, &policy_json(&default_policy_entry(&st, true), "config"));
    }
    if !policies::valid_name(&name) {
        return bad_policy_name();
    }
    match st.store.policy(&name).await {
        Ok(Some(p)) => json_response(StatusCode::OK, &policy_json(&p, "store")),
        Ok(None) => unknown_policy(&name),
        Err(e) => db_unavailable(e),
    }
}

/// `PUT /v1/policies/{name}`: creates (201) or replaces (200) a policy. The body is the policy
/// text (TOML or JSON, as `verify --policy`), validated as the CLI validates it.
async fn put_policy(State(st): S, Path(name): Path<String>, headers: HeaderMap, body: Body) -> Response {
    if !policies::valid_name(&name) {
        return bad_policy_name();
    }
    if name == policies::DEFAULT {
        return reserved_policy();
    }
    let limit = policies::MAX_POLICY_BYTES.min(st.cfg.max_body_bytes);
    let too_large =
        || problem(StatusCode::PAYLOAD_TOO_LARGE, "policy.size", format!("a policy is at most {limit} bytes"));
    let declared =
        headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return too_large();
    }
    let bytes = match axum::body::to_bytes(body, limit).await {
        Ok(b) => b,
        Err(e) if is_length_limit(&e) => return too_large(),
        Err(e) => return problem(StatusCode::BAD_REQUEST, "body", format!("the body could not be read: {e}")),
    };
    let Ok(text) = std::str::from_utf8(&bytes) else {
        return problem(StatusCode::BAD_REQUEST, "policy", format!("{name}: the policy is not UTF-8 text"));
    };
    let version = match policies::parse(&name, text) {
        Ok((_, v)) => v,
        Err(e) => return problem(StatusCode::UNPROCESSABLE_ENTITY, &e.check, e.detail),
    };
    let now = now_ms();
    match st.store.put_policy(&name, &version, text, now).await {
        Ok(created_ms) => {
            let created = created_ms == now;
            tracing::info!(policy = %name, version = %version, created, "policy stored");
            let p = crate::store::StoredPolicy { name: name.clone(), version, body: None, created_ms, updated_ms: now };
            let mut v = policy_json(&p, "store");
            v["created"] = json!(created);
            let mut r = json_response(if created { StatusCode::CREATED } else { StatusCode::OK }, &v);
            if let Ok(loc) = HeaderValue::from_str(&format!("/v1/policies/{name}")) {
                r.headers_mut().insert(header::LOCATION, loc);
            }
            r
        }
        Err(e) => db_unavailable(e),
    }
}

/// `DELETE /v1/policies/{name}`: 204. Appraisals made under it keep their record and result.
async fn delete_policy(State(st): S, Path(name): Path<String>) -> Response {
    if name == policies::DEFAULT {
        return reserved_policy();
    }
    if !policies::valid_name(&name) {
        return bad_policy_name();
    }
    match st.store.delete_policy(&name).await {
        Ok(true) => {
            tracing::info!(policy = %name, "policy deleted");
            StatusCode::NO_CONTENT.into_response()
        }
        Ok(false) => unknown_policy(&name),
        Err(e) => db_unavailable(e),
    }
}

/// Whether reading a body failed because it exceeded the limit (by the error's type, found in its
/// source chain, never by its wording).
fn is_length_limit(e: &axum::Error) -> bool {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if err.is::<http_body_util::LengthLimitError>() {
            return true;
        }
        cur = err.source();
    }
    false
}

#[cfg(test)]
mod body_limit_tests {
    use super::is_length_limit;

    #[tokio::test]
    async fn an_over_limit_body_is_recognised_by_type() {
        let big = axum::body::Body::from(vec![0u8; 2048]);
        let e = axum::body::to_bytes(big, 1024).await.expect_err("over the limit");
        assert!(is_length_limit(&e), "{e}");
        // Another failure, even one whose words say "length limit", is not taken for it.
        let other = axum::Error::new(std::io::Error::other("length limit exceeded (not really)"));
        assert!(!is_length_limit(&other), "{other}");
    }
}
