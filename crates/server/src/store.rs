//! The store: sessions (nonces) and the audit log of appraisals, on SQLite (embedded default) or
//! PostgreSQL (shared by replicas). One set of SQL statements (`$N` placeholders, BIGINT/TEXT
//! columns only) runs on both; `on_pool!` expands each call once per backend.

use serde::Serialize;
use sqlx::Row;
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};
use std::str::FromStr;
use std::time::Duration;

#[derive(Clone)]
pub enum Store {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// A database failure: never the client's fault (answered 503), except a unique-key violation,
/// which the caller may answer otherwise (a caller-chosen nonce issued twice).
#[derive(Debug)]
pub struct DbError {
    pub detail: String,
    /// The database refused a row whose unique key exists (as the driver classifies it).
    pub unique_violation: bool,
}

impl DbError {
    /// A failure other than a unique-key violation.
    pub fn new(detail: impl Into<String>) -> DbError {
        DbError { detail: detail.into(), unique_violation: false }
    }
}

impl std::fmt::Display for DbError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "database: {}", self.detail)
    }
}

impl From<sqlx::Error> for DbError {
    fn from(e: sqlx::Error) -> Self {
        let unique_violation = matches!(&e, sqlx::Error::Database(d) if d.is_unique_violation());
        DbError { detail: e.to_string(), unique_violation }
    }
}

type R<T> = Result<T, DbError>;

/// Runs the same expression against whichever pool the store holds.
macro_rules! on_pool {
    ($store:expr, $pool:ident => $body:expr) => {
        match $store {
            Store::Sqlite($pool) => $body,
            Store::Postgres($pool) => $body,
        }
    };
}

/// Schema versions, applied in order, each once (recorded in `cloud_ra_schema`).
const MIGRATIONS: &[(i64, &str)] = &[
    (
        1,
        "CREATE TABLE sessions (
        id TEXT PRIMARY KEY,
        nonce TEXT NOT NULL UNIQUE,
        state TEXT NOT NULL,
        created_ms BIGINT NOT NULL,
        expires_ms BIGINT NOT NULL,
        updated_ms BIGINT NOT NULL,
        media_type TEXT,
        evidence_b64 TEXT,
        result TEXT,
        failure TEXT,
        appraisal_id TEXT
    );
    CREATE TABLE appraisals (
        id TEXT PRIMARY KEY,
        created_ms BIGINT NOT NULL,
        session_id TEXT,
        client TEXT NOT NULL,
        evidence_sha256 TEXT NOT NULL,
        media_type TEXT NOT NULL,
        platform TEXT NOT NULL,
        detected TEXT NOT NULL,
        verified BIGINT NOT NULL,
        status TEXT NOT NULL,
        nonce TEXT,
        nonce_source TEXT NOT NULL,
        claims TEXT NOT NULL,
        failures TEXT NOT NULL,
        warnings TEXT NOT NULL,
        token TEXT
    );
    CREATE INDEX appraisals_created ON appraisals (created_ms);
    CREATE INDEX sessions_expires ON sessions (expires_ms)",
    ),
    // Who chose the session's nonce. Sessions from before this column existed may have had a
    // caller-chosen one (`?nonce=`): they are labelled so (fail closed), never verifier-issued.
    (2, "ALTER TABLE sessions ADD COLUMN nonce_source TEXT NOT NULL DEFAULT 'caller-supplied'"),
    // Named policies (admin API), the policy a session was opened under, and the policy each
    // appraisal ran under (`NAME@VERSION`; NULL for appraisals recorded before this version).
    // No foreign keys: deleting a policy leaves the audit log as it was.
    (
        3,
        "CREATE TABLE policies (
        name TEXT PRIMARY KEY,
        version TEXT NOT NULL,
        body TEXT NOT NULL,
        created_ms BIGINT NOT NULL,
        updated_ms BIGINT NOT NULL
    );
    ALTER TABLE sessions ADD COLUMN policy TEXT;
    ALTER TABLE appraisals ADD COLUMN policy_name TEXT;
    ALTER TABLE appraisals ADD COLUMN policy_id TEXT",
    ),
];

/// A challenge–response session as stored.
#[derive(Debug, Clone, Serialize)]
pub struct Session {
    pub id: String,
    pub nonce: Vec<u8>,
    /// `verifier-issued` (random, made here) or `caller-supplied` (`newSession?nonce=`).
    pub nonce_source: String,
    pub state: String,
    pub created_ms: i64,
    pub expires_ms: i64,
    pub media_type: Option<String>,
    pub evidence_b64: Option<String>,
    pub result: Option<String>,
    pub failure: Option<String>,
    pub appraisal_id: Option<String>,
    /// The named policy the session was opened under (`newSession?policy=`); `None`: the default.
    pub policy: Option<String>,
}

/// One audit record: everything needed to explain an appraisal later.
#[derive(Debug, Clone, Serialize)]
pub struct Appraisal {
    pub id: String,
    pub created_ms: i64,
    pub session_id: Option<String>,
    pub client: String,
    pub evidence_sha256: String,
    pub media_type: String,
    pub platform: String,
    pub detected: String,
    pub verified: bool,
    pub status: String,
    pub nonce: Option<String>,
    pub nonce_source: String,
    pub claims: serde_json::Value,
    pub failures: serde_json::Value,
    pub warnings: serde_json::Value,
    pub token: Option<String>,
    /// The policy the appraisal ran under, `NAME@VERSION` (`None` for records from before
    /// policies were named).
    pub policy_id: Option<String>,
    /// Its `NAME` (the filter column).
    #[serde(skip)]
    pub policy_name: Option<String>,
}

/// A named policy as stored: the uploaded text and its version (a content hash).
#[derive(Debug, Clone, Serialize)]
pub struct StoredPolicy {
    pub name: String,
    pub version: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    pub created_ms: i64,
    pub updated_ms: i64,
}

/// Which appraisals a listing (or a count) covers; `None` matches everything.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub platform: Option<String>,
    /// The verdict (`status`: affirming, warning, contraindicated, refused).
    pub status: Option<String>,
    /// A policy `NAME` (any version) or `NAME@VERSION`.
    pub policy: Option<String>,
}

/// The filter as bind values: empty strings match everything (one statement for all cases).
macro_rules! filter_sql {
    () => {
        "($1 = '' OR platform = $1) AND ($2 = '' OR status = $2) AND ($3 = '' OR policy_name = $3 OR policy_id = $3)"
    };
}

/// The final state a session reaches with its appraisal.
pub struct Completion {
    pub state: &'static str,
    pub result: Option<String>,
    pub failure: Option<String>,
    pub media_type: &'static str,
    pub evidence_b64: String,
}

/// One appraisal to record, with its session's final state when it has one.
pub struct Record {
    pub appraisal: Appraisal,
    pub session: Option<Completion>,
}

/// Why a session cannot take evidence.
#[derive(Debug, PartialEq, Eq)]
pub enum Claim {
    /// The nonce, and whether the caller chose it (`newSession?nonce=`).
    Claimed {
        nonce: Vec<u8>,
        caller_chosen: bool,
    },
    Unknown,
    Expired,
    Used(String),
}

macro_rules! cols {
    () => {
        "id, created_ms, session_id, client, evidence_sha256, media_type, platform, detected, verified, status, nonce, nonce_source, claims, failures, warnings, token, policy_id, policy_name"
    };
}

macro_rules! appraisal_from_row {
    ($r:expr) => {{
        let r = $r;
        (|| -> R<Appraisal> {
            let json = |col: &str| -> R<serde_json::Value> {
                let s: String = r.try_get(col)?;
                serde_json::from_str(&s).map_err(|e| DbError::new(format!("column {col}: {e}")))
            };
            Ok(Appraisal {
                id: r.try_get("id")?,
                created_ms: r.try_get("created_ms")?,
                session_id: r.try_get("session_id")?,
                client: r.try_get("client")?,
                evidence_sha256: r.try_get("evidence_sha256")?,
                media_type: r.try_get("media_type")?,
                platform: r.try_get("platform")?,
                detected: r.try_get("detected")?,
                verified: r.try_get::<i64, _>("verified")? != 0,
                status: r.try_get("status")?,
                nonce: r.try_get("nonce")?,
                nonce_source: r.try_get("nonce_source")?,
                claims: json("claims")?,
                failures: json("failures")?,
                warnings: json("warnings")?,
                token: r.try_get("token")?,
                policy_id: r.try_get("policy_id")?,
                policy_name: r.try_get("policy_name")?,
            })
        })()
    }};
}

impl Store {
    /// Opens (and for SQLite creates) the database named by `url` and brings its schema up to date.
    pub async fn open(url: &str) -> R<Store> {
        let store = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let pool =
                PgPoolOptions::new().max_connections(16).acquire_timeout(Duration::from_secs(5)).connect(url).await?;
            Store::Postgres(pool)
        } else if url.starts_with("sqlite:") {
            let opts = SqliteConnectOptions::from_str(url)?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                // FULL: a commit is on disk (WAL fsync) before the client is answered.
                .synchronous(SqliteSynchronous::Full)
                .busy_timeout(Duration::from_secs(5));
            let pool = SqlitePoolOptions::new()
                .max_connections(4)
                .acquire_timeout(Duration::from_secs(5))
                .connect_with(opts)
                .await?;
            Store::Sqlite(pool)
        } else {
            return Err(DbError::new(format!(
                "unsupported database URL (expected sqlite://PATH or postgres://...): {}",
                redact(url)
            )));
        };
        store.migrate().await?;
        Ok(store)
    }

    pub fn backend(&self) -> &'static str {
        match self {
            Store::Sqlite(_) => "sqlite",
            Store::Postgres(_) => "postgres",
        }
    }

    async fn migrate(&self) -> R<()> {
        // Replicas starting together on one PostgreSQL take turns (advisory lock, per session).
        on_pool!(self, pool => {
            let mut conn = pool.acquire().await?;
            if matches!(self, Store::Postgres(_)) {
                sqlx::query("SELECT pg_advisory_lock(727274)").execute(&mut *conn).await?;
            }
            let r: R<()> = async {
                sqlx::query("CREATE TABLE IF NOT EXISTS cloud_ra_schema (version BIGINT PRIMARY KEY, applied_ms BIGINT NOT NULL)")
                    .execute(&mut *conn)
                    .await?;
                for (version, sql) in MIGRATIONS {
                    let done: Option<i64> = sqlx::query_scalar("SELECT version FROM cloud_ra_schema WHERE version = $1")
                        .bind(*version)
                        .fetch_optional(&mut *conn)
                        .await?;
                    if done.is_some() {
                        continue;
                    }
                    sqlx::query("BEGIN").execute(&mut *conn).await?;
                    let applied: R<()> = async {
                        for stmt in sql.split(';').map(str::trim).filter(|s| !s.is_empty()) {
                            sqlx::query(stmt).execute(&mut *conn).await?;
                        }
                        sqlx::query("INSERT INTO cloud_ra_schema (version, applied_ms) VALUES ($1, $2)")
                            .bind(*version)
                            .bind(now_ms())
                            .execute(&mut *conn)
                            .await?;
                        Ok(())
                    }
                    .await;
                    match applied {
                        Ok(()) => { sqlx::query("COMMIT").execute(&mut *conn).await?; }
                        Err(e) => {
                            let _ = sqlx::query("ROLLBACK").execute(&mut *conn).await;
                            return Err(DbError::new(format!("migration {version}: {}", e.detail)));
                        }
                    }
                }
                Ok(())
            }
            .await;
            if matches!(self, Store::Postgres(_)) {
                let _ = sqlx::query("SELECT pg_advisory_unlock(727274)").execute(&mut *conn).await;
            }
            r
        })
    }

    /// A cheap round trip (readiness).
    pub async fn ping(&self) -> R<()> {
        on_pool!(self, pool => { sqlx::query("SELECT 1").execute(pool).await?; });
        Ok(())
    }

    /// A new session in state `waiting`; `nonce_source` says who chose its nonce, `policy` names
    /// the policy it is appraised under (`None`: the default).
    pub async fn create_session(
        &self,
        id: &str,
        nonce: &[u8],
        nonce_source: &str,
        policy: Option<&str>,
        now_ms: i64,
        expires_ms: i64,
    ) -> R<()> {
        on_pool!(self, pool => {
            sqlx::query("INSERT INTO sessions (id, nonce, nonce_source, state, created_ms, expires_ms, updated_ms, policy) VALUES ($1, $2, $3, 'waiting', $4, $5, $4, $6)")
                .bind(id)
                .bind(hex::encode(nonce))
                .bind(nonce_source)
                .bind(now_ms)
                .bind(expires_ms)
                .bind(policy)
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    /// Consumes the session's nonce: one atomic `UPDATE ... WHERE state = 'waiting'`, so of any
    /// number of concurrent submissions (on any replica) exactly one wins.
    pub async fn claim_session(&self, id: &str, now_ms: i64) -> R<Claim> {
        let won: Option<(String, String)> = on_pool!(self, pool => {
            sqlx::query_as("UPDATE sessions SET state = 'processing', updated_ms = $2 WHERE id = $1 AND state = 'waiting' AND expires_ms > $2 RETURNING nonce, nonce_source")
                .bind(id)
                .bind(now_ms)
                .fetch_optional(pool)
                .await?
        });
        if let Some((n, source)) = won {
            let nonce = hex::decode(&n).map_err(|_| DbError::new("stored nonce is not hex"))?;
            // Anything but our own label counts as chosen by the caller.
            return Ok(Claim::Claimed { nonce, caller_chosen: source != "verifier-issued" });
        }
        Ok(match self.session(id).await? {
            None => Claim::Unknown,
            Some(s) if s.state == "waiting" => Claim::Expired,
            Some(s) => Claim::Used(s.state),
        })
    }

    pub async fn session(&self, id: &str) -> R<Option<Session>> {
        let row = on_pool!(self, pool => {
            sqlx::query("SELECT id, nonce, nonce_source, state, created_ms, expires_ms, media_type, evidence_b64, result, failure, appraisal_id, policy FROM sessions WHERE id = $1")
                .bind(id)
                .fetch_optional(pool)
                .await?
                .map(|r| -> R<Session> {
                    Ok(Session {
                        id: r.try_get("id")?,
                        nonce: hex::decode(r.try_get::<String, _>("nonce")?).map_err(|_| DbError::new("stored nonce is not hex"))?,
                        nonce_source: r.try_get("nonce_source")?,
                        state: r.try_get("state")?,
                        created_ms: r.try_get("created_ms")?,
                        expires_ms: r.try_get("expires_ms")?,
                        media_type: r.try_get("media_type")?,
                        evidence_b64: r.try_get("evidence_b64")?,
                        result: r.try_get("result")?,
                        failure: r.try_get("failure")?,
                        appraisal_id: r.try_get("appraisal_id")?,
                        policy: r.try_get("policy")?,
                    })
                })
        });
        row.transpose()
    }

    /// The policy a session was opened under: `None` when there is no such session, `Some(None)`
    /// for the default.
    pub async fn session_policy(&self, id: &str) -> R<Option<Option<String>>> {
        let row: Option<(Option<String>,)> = on_pool!(self, pool => {
            sqlx::query_as("SELECT policy FROM sessions WHERE id = $1").bind(id).fetch_optional(pool).await?
        });
        Ok(row.map(|(p,)| p))
    }

    pub async fn delete_session(&self, id: &str) -> R<bool> {
        let n = on_pool!(self, pool => {
            sqlx::query("DELETE FROM sessions WHERE id = $1").bind(id).execute(pool).await?.rows_affected()
        });
        Ok(n > 0)
    }

    /// Drops sessions that expired more than `keep_ms` ago (their appraisals stay in the audit log).
    pub async fn purge_sessions(&self, now_ms: i64, keep_ms: i64) -> R<u64> {
        let n = on_pool!(self, pool => {
            sqlx::query("DELETE FROM sessions WHERE expires_ms < $1 AND state <> 'processing'")
                .bind(now_ms - keep_ms)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(n)
    }

    /// Records appraisals and, for those of a session, the session's final state, all in one
    /// transaction (group commit). Returns after the commit: durable before any client is answered.
    pub async fn record(&self, records: &[&Record]) -> R<()> {
        on_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            for rec in records {
                let a = &rec.appraisal;
                sqlx::query("INSERT INTO appraisals (id, created_ms, session_id, client, evidence_sha256, media_type, platform, detected, verified, status, nonce, nonce_source, claims, failures, warnings, token, policy_id, policy_name) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)")
                    .bind(&a.id)
                    .bind(a.created_ms)
                    .bind(&a.session_id)
                    .bind(&a.client)
                    .bind(&a.evidence_sha256)
                    .bind(&a.media_type)
                    .bind(&a.platform)
                    .bind(&a.detected)
                    .bind(i64::from(a.verified))
                    .bind(&a.status)
                    .bind(&a.nonce)
                    .bind(&a.nonce_source)
                    .bind(a.claims.to_string())
                    .bind(a.failures.to_string())
                    .bind(a.warnings.to_string())
                    .bind(&a.token)
                    .bind(&a.policy_id)
                    .bind(&a.policy_name)
                    .execute(&mut *tx)
                    .await?;
                if let (Some(sid), Some(c)) = (&a.session_id, &rec.session) {
                    sqlx::query("UPDATE sessions SET state = $2, result = $3, failure = $4, media_type = $5, evidence_b64 = $6, appraisal_id = $7, updated_ms = $8 WHERE id = $1")
                        .bind(sid)
                        .bind(c.state)
                        .bind(&c.result)
                        .bind(&c.failure)
                        .bind(c.media_type)
                        .bind(&c.evidence_b64)
                        .bind(&a.id)
                        .bind(a.created_ms)
                        .execute(&mut *tx)
                        .await?;
                }
            }
            tx.commit().await?;
        });
        Ok(())
    }

    /// The most recent appraisals, newest first.
    pub async fn recent(&self, limit: i64) -> R<Vec<Appraisal>> {
        self.recent_where(limit, &Filter::default()).await
    }

    /// The most recent appraisals `filter` matches, newest first.
    pub async fn recent_where(&self, limit: i64, filter: &Filter) -> R<Vec<Appraisal>> {
        let rows = on_pool!(self, pool => {
            sqlx::query(concat!("SELECT ", cols!(), " FROM appraisals WHERE ", filter_sql!(), " ORDER BY created_ms DESC, id DESC LIMIT $4"))
                .bind(filter.platform.as_deref().unwrap_or_default())
                .bind(filter.status.as_deref().unwrap_or_default())
                .bind(filter.policy.as_deref().unwrap_or_default())
                .bind(limit)
                .fetch_all(pool)
                .await?
                .iter()
                .map(|r| appraisal_from_row!(r))
                .collect::<R<Vec<_>>>()?
        });
        Ok(rows)
    }

    pub async fn appraisal(&self, id: &str) -> R<Option<Appraisal>> {
        let row = on_pool!(self, pool => {
            sqlx::query(concat!("SELECT ", cols!(), " FROM appraisals WHERE id = $1"))
                .bind(id)
                .fetch_optional(pool)
                .await?
                .map(|r| appraisal_from_row!(&r))
        });
        row.transpose()
    }

    /// How many appraisals `filter` matches, by verdict (`status`).
    pub async fn count_by_status(&self, filter: &Filter) -> R<Vec<(String, i64)>> {
        let rows: Vec<(String, i64)> = on_pool!(self, pool => {
            sqlx::query_as(concat!("SELECT status, COUNT(*) FROM appraisals WHERE ", filter_sql!(), " GROUP BY status ORDER BY status"))
                .bind(filter.platform.as_deref().unwrap_or_default())
                .bind(filter.status.as_deref().unwrap_or_default())
                .bind(filter.policy.as_deref().unwrap_or_default())
                .fetch_all(pool)
                .await?
        });
        Ok(rows)
    }

    /// Creates or replaces the named policy; returns its creation time (`now_ms` when it was
    /// created by this call, earlier when it replaced one).
    pub async fn put_policy(&self, name: &str, version: &str, body: &str, now_ms: i64) -> R<i64> {
        // One atomic upsert, so replicas writing the same name at once leave one row.
        let created_ms: i64 = on_pool!(self, pool => {
            sqlx::query_scalar("INSERT INTO policies (name, version, body, created_ms, updated_ms) VALUES ($1, $2, $3, $4, $4) ON CONFLICT (name) DO UPDATE SET version = excluded.version, body = excluded.body, updated_ms = excluded.updated_ms RETURNING created_ms")
                .bind(name)
                .bind(version)
                .bind(body)
                .bind(now_ms)
                .fetch_one(pool)
                .await?
        });
        Ok(created_ms)
    }

    /// The stored policies (without their text), by name.
    pub async fn policies(&self) -> R<Vec<StoredPolicy>> {
        let rows: Vec<(String, String, i64, i64)> = on_pool!(self, pool => {
            sqlx::query_as("SELECT name, version, created_ms, updated_ms FROM policies ORDER BY name")
                .fetch_all(pool)
                .await?
        });
        Ok(rows
            .into_iter()
            .map(|(name, version, created_ms, updated_ms)| StoredPolicy {
                name,
                version,
                body: None,
                created_ms,
                updated_ms,
            })
            .collect())
    }

    /// One stored policy with its text.
    pub async fn policy(&self, name: &str) -> R<Option<StoredPolicy>> {
        let row: Option<(String, String, String, i64, i64)> = on_pool!(self, pool => {
            sqlx::query_as("SELECT name, version, body, created_ms, updated_ms FROM policies WHERE name = $1")
                .bind(name)
                .fetch_optional(pool)
                .await?
        });
        Ok(row.map(|(name, version, body, created_ms, updated_ms)| StoredPolicy {
            name,
            version,
            body: Some(body),
            created_ms,
            updated_ms,
        }))
    }

    /// Deletes a stored policy; whether it existed. Appraisals made under it keep their record.
    pub async fn delete_policy(&self, name: &str) -> R<bool> {
        let n = on_pool!(self, pool => {
            sqlx::query("DELETE FROM policies WHERE name = $1").bind(name).execute(pool).await?.rows_affected()
        });
        Ok(n > 0)
    }

    pub async fn count_appraisals(&self) -> R<i64> {
        let n: i64 = on_pool!(self, pool => {
            sqlx::query_scalar("SELECT COUNT(*) FROM appraisals").fetch_one(pool).await?
        });
        Ok(n)
    }

    pub async fn close(&self) {
        on_pool!(self, pool => pool.close().await)
    }
}

/// The file of a `sqlite:` URL (`sqlite://PATH`, `sqlite:PATH`, a `?...` query cut off);
/// `None` for in-memory databases.
pub fn sqlite_path(url: &str) -> Option<std::path::PathBuf> {
    let rest = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or_default();
    (!path.is_empty() && path != ":memory:" && !url.contains("mode=memory")).then(|| path.into())
}

/// Makes the SQLite database file private before SQLite opens it: a missing file is created
/// empty with mode 0600 (its `-wal` and `-shm` files then get the same mode), its directory must
/// exist; an existing file, `-wal` or `-shm` that group or others can read is refused unless
/// `allow_readable`. The audit log holds evidence, results and client addresses.
pub fn prepare_sqlite_file(path: &std::path::Path, allow_readable: bool) -> Result<(), String> {
    match std::fs::metadata(path) {
        Ok(_) => {
            #[cfg(unix)]
            for p in [path.to_path_buf(), sidecar(path, "-wal"), sidecar(path, "-shm")] {
                use std::os::unix::fs::PermissionsExt;
                let Ok(meta) = std::fs::metadata(&p) else { continue };
                let mode = meta.permissions().mode() & 0o777;
                if mode & 0o077 != 0 && !allow_readable {
                    return Err(format!(
                        "database {}: mode {mode:o} lets others read the audit log; chmod 600 it (and its -wal/-shm files), or start with --allow-readable-db",
                        p.display()
                    ));
                }
            }
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let mut o = std::fs::OpenOptions::new();
            o.write(true).create_new(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt;
                o.mode(0o600);
            }
            match o.open(path) {
                Ok(_) => Ok(()),
                // Another replica created it meanwhile: check that one.
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => prepare_sqlite_file(path, allow_readable),
                Err(e) => Err(format!("database {}: {e}", path.display())),
            }
        }
        Err(e) => Err(format!("database {}: {e}", path.display())),
    }
}

fn sidecar(path: &std::path::Path, suffix: &str) -> std::path::PathBuf {
    let mut s = path.as_os_str().to_os_string();
    s.push(suffix);
    s.into()
}

/// Creates `dir` (and missing parents) with mode 0700.
pub fn create_private_dir(dir: &std::path::Path) -> Result<(), String> {
    let mut b = std::fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        b.mode(0o700);
    }
    b.create(dir).map_err(|e| format!("{}: {e}", dir.display()))
}

pub fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

/// A database URL without its password, for messages and logs.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.find(':') {
                Some(c) => format!("{}{}:***{}", &url[..s + 3], &creds[..c], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}
