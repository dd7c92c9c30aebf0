//! The one store API over SQLite and PostgreSQL.
//!
//! The backend is chosen from the URL scheme (`sqlite:` or `postgres://`), as atuin does.
//! Queries are runtime statements of [`crate::db`] with `$N` placeholders, which both databases
//! accept; storage types are the portable subset (integers, text), so one SQL text serves
//! both. SQLite runs in place through rusqlite, PostgreSQL through sqlx. Each backend has its
//! own migration folder with the same version numbers.
//!
//! Writes go through [`WriteTx`]: a transaction that cannot commit unless it recorded at least
//! one change, and every change writes its audit row and its outbox event together.

use crate::db::{pg_run, query, query_as, sqlite_run, Arg, DbError, Exec, Output, Want};
use crate::error::{CoreError, Result};
use crate::events::{Event, EventEnvelope};
use sqlite::{SqliteDb, SqliteTx};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

/// Which database the store talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// One local file, the embedded default.
    Sqlite,
    /// The production server.
    Postgres,
}

impl Backend {
    /// Reads the backend from a database URL.
    pub fn from_url(url: &str) -> Result<Self> {
        if url.starts_with("sqlite:") {
            Ok(Backend::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Backend::Postgres)
        } else {
            Err(CoreError::Internal(format!(
                "adresse de base non reconnue (sqlite: ou postgres:// attendu) : {}",
                redact(url)
            )))
        }
    }
}

/// Hides the password of a URL for logs and messages.
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

/// Who performs an operation: audit rows and events name it by [`Actor::reference`].
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Actor {
    /// The user, when a person or a token acts.
    pub user_id: Option<i64>,
    /// The login, or `system` for the CLI and background tasks.
    pub login: String,
}

impl Actor {
    /// The system itself (CLI, demo loader, background tasks).
    pub fn system() -> Self {
        Actor {
            user_id: None,
            login: "system".into(),
        }
    }
    /// A user.
    pub fn user(id: i64, login: &str) -> Self {
        Actor {
            user_id: Some(id),
            login: login.to_string(),
        }
    }
    /// How audit rows and events name the actor: `user:ID`, or `system`. Never the login,
    /// which is personal data kept in `users` only (so erasing a user reaches it).
    pub fn reference(&self) -> String {
        match self.user_id {
            Some(id) => format!("user:{id}"),
            None => "system".into(),
        }
    }
}

pub(crate) mod sqlite;

/// The transactional store.
#[derive(Debug, Clone)]
pub struct Store {
    db: Db,
    backend: Backend,
    /// Seat plans by layout. A layout's plan never changes once imported (a new plan is a new
    /// layout), so it is read once per process.
    seat_cache: Arc<std::sync::RwLock<std::collections::HashMap<i64, Arc<Vec<crate::catalog::Seat>>>>>,
    /// The same plans as the seat allocator reads them.
    alloc_cache: Arc<std::sync::RwLock<std::collections::HashMap<i64, Arc<Vec<crate::seating::PlanSeat>>>>>,
    /// Reference data read by every sale.
    memo: Arc<crate::memo::Memo>,
    /// Where password hashes run (bounded; the process-wide pool unless a test isolates it).
    hashing: Arc<crate::auth::hashing::HashPool>,
}

/// The connections of each backend.
#[derive(Clone)]
pub(crate) enum Db {
    Sqlite(Arc<SqliteDb>),
    Postgres {
        /// Reads (autocommit).
        reader: PgPool,
        /// Write transactions: a pool of its own, so that a transaction reading through the
        /// reader pool while it holds its writer connection can never exhaust a shared pool.
        writer: PgPool,
    },
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Db::Sqlite(s) => s.fmt(f),
            Db::Postgres { .. } => f.write_str("Postgres"),
        }
    }
}

/// Path of the file of a `sqlite:` URL (`sqlite://dir/file.db?mode=rwc`, `sqlite:file.db`).
fn sqlite_path(url: &str) -> Result<PathBuf> {
    let rest = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")).unwrap_or(url);
    let path = rest.split('?').next().unwrap_or_default();
    if path.is_empty() || path.contains(":memory:") {
        return Err(CoreError::Internal(format!(
            "base SQLite en mémoire non prise en charge : donner un fichier ({url})"
        )));
    }
    Ok(PathBuf::from(path))
}

impl Store {
    /// Opens (and migrates) the database at `url`.
    pub async fn open(url: &str) -> Result<Self> {
        let backend = Backend::from_url(url)?;
        let db = match backend {
            Backend::Sqlite => {
                let path = sqlite_path(url)?;
                if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir)
                        .map_err(|e| CoreError::Internal(format!("impossible de créer {} : {e}", dir.display())))?;
                }
                // Migrations through sqlx (their bookkeeping table is sqlx's), then our own
                // connections.
                let opts = sqlx::sqlite::SqliteConnectOptions::new()
                    .filename(&path)
                    .create_if_missing(true)
                    .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal)
                    .synchronous(sqlx::sqlite::SqliteSynchronous::Full)
                    .foreign_keys(true)
                    .busy_timeout(Duration::from_secs(10));
                let pool = sqlx::sqlite::SqlitePoolOptions::new()
                    .max_connections(1)
                    .connect_with(opts)
                    .await
                    .map_err(DbError::from)?;
                let migrated = sqlx::migrate!("../migrations/sqlite").run(&pool).await;
                pool.close().await;
                migrated?;
                Db::Sqlite(Arc::new(SqliteDb::open(&path)?))
            }
            Backend::Postgres => {
                let opts = PgConnectOptions::from_str(url).map_err(DbError::from)?;
                let options = || PgPoolOptions::new().max_connections(8).acquire_timeout(Duration::from_secs(30));
                let writer = options().connect_with(opts.clone()).await.map_err(DbError::from)?;
                let reader = options().connect_with(opts).await.map_err(DbError::from)?;
                sqlx::migrate!("../migrations/postgres").run(&writer).await?;
                Db::Postgres { reader, writer }
            }
        };
        Ok(Store {
            db,
            backend,
            seat_cache: Default::default(),
            alloc_cache: Default::default(),
            memo: Default::default(),
            hashing: crate::auth::hashing::HashPool::global(),
        })
    }

    /// Opens the embedded default: `DATA/parterre.db`, creating the folder.
    pub async fn open_data_dir(data: &Path) -> Result<Self> {
        std::fs::create_dir_all(data).map_err(|e| CoreError::Internal(format!("impossible de créer {} : {e}", data.display())))?;
        let file = data.join("parterre.db");
        Self::open(&format!("sqlite://{}?mode=rwc", file.display())).await
    }

    /// `PARTERRE_DATABASE_URL` when set, the SQLite file of `data` otherwise.
    pub async fn open_default(data: &Path) -> Result<Self> {
        match std::env::var("PARTERRE_DATABASE_URL") {
            Ok(url) if !url.trim().is_empty() => Self::open(url.trim()).await,
            _ => Self::open_data_dir(data).await,
        }
    }

    /// The bounded pool password hashes run on.
    pub fn hashing(&self) -> &Arc<crate::auth::hashing::HashPool> {
        &self.hashing
    }

    /// The same store with a hashing pool of its own (tests that flood one app must not
    /// starve the others running in the same process).
    pub fn with_own_hashing(mut self) -> Self {
        self.hashing = crate::auth::hashing::HashPool::new(crate::auth::hashing::HASHING_THREADS, crate::auth::hashing::MAX_WAITING);
        self
    }

    /// The reference-data cache.
    pub fn memo(&self) -> &crate::memo::Memo {
        &self.memo
    }

    /// A cached seat plan.
    pub(crate) fn cached_plan(&self, layout_id: i64) -> Option<Arc<Vec<crate::catalog::Seat>>> {
        self.seat_cache.read().ok()?.get(&layout_id).cloned()
    }

    /// Remembers a seat plan.
    pub(crate) fn cache_plan(&self, layout_id: i64, seats: Arc<Vec<crate::catalog::Seat>>) {
        if let Ok(mut c) = self.seat_cache.write() {
            c.insert(layout_id, seats);
        }
    }

    /// A cached allocator plan.
    pub(crate) fn cached_alloc_plan(&self, layout_id: i64) -> Option<Arc<Vec<crate::seating::PlanSeat>>> {
        self.alloc_cache.read().ok()?.get(&layout_id).cloned()
    }

    /// Remembers an allocator plan.
    pub(crate) fn cache_alloc_plan(&self, layout_id: i64, plan: Arc<Vec<crate::seating::PlanSeat>>) {
        if let Ok(mut c) = self.alloc_cache.write() {
            c.insert(layout_id, plan);
        }
    }

    /// The backend in use.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The connections (for the outbox horizon).
    pub(crate) fn db(&self) -> &Db {
        &self.db
    }

    /// Where reads run (autocommit, outside any write transaction).
    pub fn pool(&self) -> Exec<'_> {
        Exec::Store(self)
    }

    /// Starts a write transaction on behalf of `actor`.
    pub async fn write(&self, actor: &Actor) -> Result<WriteTx> {
        let conn = match &self.db {
            Db::Sqlite(s) => TxConn::Sqlite(Some(s.begin().await?)),
            Db::Postgres { writer, .. } => TxConn::Postgres(Some(writer.begin().await.map_err(DbError::from)?)),
        };
        Ok(WriteTx {
            conn,
            actor: actor.clone(),
            pending: Vec::new(),
            backend: self.backend,
            memo: self.memo.clone(),
        })
    }

    /// Answers when the database does (health checks).
    pub async fn ping(&self) -> Result<()> {
        query("SELECT 1").execute(self.pool()).await?;
        Ok(())
    }

    /// Reads a setting.
    pub async fn setting(&self, key: &str) -> Result<Option<String>> {
        let v: Option<(String,)> = query_as("SELECT value FROM settings WHERE key = $1")
            .bind(key)
            .fetch_optional(self.pool())
            .await?;
        Ok(v.map(|r| r.0))
    }

    /// Closes the connections.
    pub async fn close(&self) {
        if let Db::Postgres { reader, writer } = &self.db {
            reader.close().await;
            writer.close().await;
        }
    }
}

/// Where a read runs: the store's readers, or inside a write transaction (so a check made
/// there sees exactly what the transaction will change).
pub enum Conn<'a> {
    /// Autocommit reads.
    Store(&'a Store),
    /// Reads inside the caller's write transaction.
    Tx(&'a mut WriteTx),
}

impl Conn<'_> {
    /// The executor for one statement.
    pub fn exec(&mut self) -> Exec<'_> {
        match self {
            Conn::Store(s) => s.pool(),
            Conn::Tx(t) => t.conn(),
        }
    }
}

/// Runs one statement where `ex` says: in place on SQLite, over the network on PostgreSQL.
pub(crate) async fn run(ex: Exec<'_>, sql: &str, args: Vec<Arg>, want: Want) -> std::result::Result<Output, DbError> {
    match ex {
        Exec::Store(store) => match &store.db {
            Db::Sqlite(s) => s.read(|c| sqlite_run(c, sql, &args, want)),
            Db::Postgres { reader, .. } => pg_run(reader, sql, args, want).await,
        },
        Exec::Tx(tx) => match &mut tx.conn {
            TxConn::Sqlite(Some(t)) => sqlite_run(t.conn()?, sql, &args, want),
            TxConn::Sqlite(None) => Err(DbError::Aborted),
            TxConn::Postgres(Some(t)) => pg_run(&mut **t, sql, args, want).await,
            TxConn::Postgres(None) => Err(DbError::Aborted),
        },
    }
}

/// One change to record: the audit row's content.
#[derive(Debug, Clone)]
pub struct Change {
    /// What was done, e.g. `show.update`.
    pub action: String,
    /// The kind of thing changed, e.g. `show`.
    pub entity: String,
    /// Its id.
    pub entity_id: Option<String>,
    /// Values before (None on creation).
    pub before: Option<serde_json::Value>,
    /// Values after (None on deletion).
    pub after: Option<serde_json::Value>,
}

impl Change {
    /// A change of `entity` `id` by `action`.
    pub fn new(action: &str, entity: &str, id: impl ToString) -> Self {
        Change {
            action: action.into(),
            entity: entity.into(),
            entity_id: Some(id.to_string()),
            before: None,
            after: None,
        }
    }
    /// With the values before.
    pub fn before<T: serde::Serialize>(mut self, v: &T) -> Self {
        self.before = serde_json::to_value(v).ok();
        self
    }
    /// With the values after.
    pub fn after<T: serde::Serialize>(mut self, v: &T) -> Self {
        self.after = serde_json::to_value(v).ok();
        self
    }
}

/// A write transaction that records audit rows and outbox events with the data they describe.
/// They are written together at commit, in a couple of multi-row statements, in record order.
#[derive(Debug)]
pub struct WriteTx {
    conn: TxConn,
    actor: Actor,
    pending: Vec<(Change, Option<EventEnvelope>)>,
    backend: Backend,
    memo: Arc<crate::memo::Memo>,
}

/// The connection a write transaction holds (taken at commit).
#[derive(Debug)]
enum TxConn {
    /// A savepoint on the SQLite writer (see [`sqlite`]).
    Sqlite(Option<SqliteTx>),
    /// A PostgreSQL transaction (sqlx rolls it back when dropped uncommitted).
    Postgres(Option<sqlx::Transaction<'static, sqlx::Postgres>>),
}

/// Entities whose changes leave the reference-data cache valid.
const SALES_ENTITIES: &[&str] = &["cart", "order", "ticket", "payment", "contact", "waitlist", "promo_code", "access"];

/// Rows per multi-row insert (well under both databases' parameter limits).
const BATCH: usize = 200;

impl WriteTx {
    /// The connection, for the data statements themselves.
    pub fn conn(&mut self) -> Exec<'_> {
        Exec::Tx(self)
    }

    /// The backend, for the few statements that differ (advisory locks, aggregates).
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The actor of this transaction.
    pub fn actor(&self) -> &Actor {
        &self.actor
    }

    /// Records a change: its audit row and, when given, its outbox event (written at commit).
    pub async fn record(&mut self, change: Change, event: Option<Event>) -> Result<()> {
        let env = event.map(|e| EventEnvelope::new(&self.actor, e));
        self.pending.push((change, env));
        Ok(())
    }

    async fn flush(&mut self) -> Result<()> {
        let at = crate::time::now_db();
        let pending = std::mem::take(&mut self.pending);
        for chunk in pending.chunks(BATCH) {
            let values: Vec<String> = (0..chunk.len())
                .map(|i| {
                    let b = i * 8;
                    format!(
                        "(${}, ${}, ${}, ${}, ${}, ${}, ${}, ${})",
                        b + 1,
                        b + 2,
                        b + 3,
                        b + 4,
                        b + 5,
                        b + 6,
                        b + 7,
                        b + 8
                    )
                })
                .collect();
            let sql = format!(
                "INSERT INTO audit_log (at, user_id, actor, action, entity, entity_id, before_json, after_json) VALUES {}",
                values.join(", ")
            );
            let mut q = query(&sql);
            for (change, _) in chunk {
                q = q
                    .bind(at.clone())
                    .bind(self.actor.user_id)
                    .bind(self.actor.reference())
                    .bind(change.action.clone())
                    .bind(change.entity.clone())
                    .bind(change.entity_id.clone())
                    .bind(change.before.as_ref().map(|v| v.to_string()))
                    .bind(change.after.as_ref().map(|v| v.to_string()));
            }
            q.execute(self.conn()).await?;
            let events: Vec<&EventEnvelope> = chunk.iter().filter_map(|(_, e)| e.as_ref()).collect();
            if events.is_empty() {
                continue;
            }
            let values: Vec<String> = (0..events.len())
                .map(|i| {
                    let b = i * 5;
                    format!("(${}, ${}, ${}, ${}, ${})", b + 1, b + 2, b + 3, b + 4, b + 5)
                })
                .collect();
            let sql = format!(
                "INSERT INTO outbox (event_id, occurred_at, kind, actor, payload) VALUES {}",
                values.join(", ")
            );
            if self.backend == Backend::Postgres {
                // Orders this insert against the outbox horizon (see crate::outbox).
                query("SELECT pg_advisory_xact_lock_shared($1)")
                    .bind(crate::outbox::LOCK)
                    .execute(self.conn())
                    .await?;
            }
            let mut q = query(&sql);
            for env in events {
                q = q
                    .bind(env.event_id.clone())
                    .bind(env.occurred_at.clone())
                    .bind(env.event.kind())
                    .bind(env.actor.clone())
                    .bind(serde_json::to_string(env)?);
            }
            q.execute(self.conn()).await?;
        }
        Ok(())
    }

    /// Commits. A write transaction that recorded nothing is a bug: it is refused.
    pub async fn commit(mut self) -> Result<()> {
        if self.pending.is_empty() {
            return Err(CoreError::Internal("écriture sans trace d'audit refusée".into()));
        }
        let reference_changed = self.pending.iter().any(|(c, _)| !SALES_ENTITIES.contains(&c.entity.as_str()));
        self.flush().await?;
        match &mut self.conn {
            TxConn::Sqlite(t) => {
                if let Some(t) = t.take() {
                    t.commit().await?;
                }
            }
            TxConn::Postgres(t) => {
                if let Some(t) = t.take() {
                    t.commit().await.map_err(DbError::from)?;
                }
            }
        }
        if reference_changed {
            self.memo.clear();
        }
        Ok(())
    }
}

/// Records an audit row outside any data change (refused access, failed login).
pub async fn audit_only(store: &Store, actor: &Actor, action: &str, entity: &str, detail: serde_json::Value) -> Result<()> {
    let mut tx = store.write(actor).await?;
    tx.record(
        Change {
            action: action.into(),
            entity: entity.into(),
            entity_id: None,
            before: None,
            after: Some(detail),
        },
        None,
    )
    .await?;
    tx.commit().await
}

/// Writes a setting (audited).
pub async fn put_setting(store: &Store, actor: &Actor, key: &str, value: &str) -> Result<()> {
    let before = store.setting(key).await?;
    let mut tx = store.write(actor).await?;
    query("DELETE FROM settings WHERE key = $1").bind(key).execute(tx.conn()).await?;
    query("INSERT INTO settings (key, value) VALUES ($1, $2)")
        .bind(key)
        .bind(value)
        .execute(tx.conn())
        .await?;
    let mut change = Change::new("setting.set", "setting", key).after(&value);
    if let Some(b) = before {
        change = change.before(&b);
    }
    tx.record(change, None).await?;
    tx.commit().await
}

/// Maps a unique-constraint failure to a plain conflict message.
pub fn on_unique(e: DbError, message: impl Into<String>) -> CoreError {
    if e.is_unique_violation() {
        return CoreError::Conflict(message.into());
    }
    CoreError::Database(e)
}

/// Converts a stored 0/1 flag.
pub fn flag(v: i64) -> bool {
    v != 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backend_from_scheme_and_redaction() {
        assert_eq!(Backend::from_url("sqlite://x.db").unwrap(), Backend::Sqlite);
        assert_eq!(Backend::from_url("postgres://u@h/db").unwrap(), Backend::Postgres);
        assert!(Backend::from_url("mysql://h").is_err());
        assert_eq!(redact("postgres://u:secret@h/db"), "postgres://u:***@h/db");
        assert_eq!(sqlite_path("sqlite:///tmp/d/p.db?mode=rwc").unwrap(), PathBuf::from("/tmp/d/p.db"));
        assert_eq!(sqlite_path("sqlite://d/p.db").unwrap(), PathBuf::from("d/p.db"));
        assert!(sqlite_path("sqlite::memory:").is_err());
    }
}
