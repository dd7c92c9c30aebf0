//! The one store API over SQLite and PostgreSQL.
//!
//! The backend is chosen from the URL scheme (`sqlite:` or `postgres://`), as atuin does.
//! Queries are runtime `sqlx::query` calls over the `Any` driver with `$N` placeholders, which
//! both databases accept; storage types are the portable subset (integers, text), so one SQL
//! text serves both. Each backend has its own migration folder with the same version numbers.
//!
//! Writes go through [`WriteTx`]: a transaction that cannot commit unless it recorded at least
//! one change, and every change writes its audit row and its outbox event together.

use crate::error::{CoreError, Result};
use crate::events::{Event, EventEnvelope};
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{Any, AnyPool, Executor, Transaction};
use std::path::Path;
use std::str::FromStr;
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

/// Who performs an operation: written in every audit row and event.
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
}

/// The transactional store.
#[derive(Debug, Clone)]
pub struct Store {
    /// Reads (several connections).
    pool: AnyPool,
    /// Writes: on SQLite a single connection, so write transactions queue instead of failing
    /// on lock upgrades; on PostgreSQL a pool of its own.
    writer: AnyPool,
    backend: Backend,
    /// Seat plans by layout. A layout's plan never changes once imported (a new plan is a new
    /// layout), so it is read once per process.
    seat_cache: std::sync::Arc<std::sync::RwLock<std::collections::HashMap<i64, std::sync::Arc<Vec<crate::catalog::Seat>>>>>,
    /// Reference data read by every sale.
    memo: std::sync::Arc<crate::memo::Memo>,
}

impl Store {
    /// Opens (and migrates) the database at `url`.
    pub async fn open(url: &str) -> Result<Self> {
        sqlx::any::install_default_drivers();
        let backend = Backend::from_url(url)?;
        let opts = AnyConnectOptions::from_str(url)?;
        let (pool, writer) = match backend {
            Backend::Sqlite => {
                let options = |max: u32| {
                    AnyPoolOptions::new()
                        .max_connections(max)
                        .acquire_timeout(Duration::from_secs(30))
                        .after_connect(|conn, _meta| {
                            Box::pin(async move {
                                conn.execute(
                                    "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; \
                                     PRAGMA foreign_keys=ON; PRAGMA busy_timeout=10000;",
                                )
                                .await?;
                                Ok(())
                            })
                        })
                };
                let writer = options(1).connect_with(opts.clone()).await?;
                let reader = options(4).connect_with(opts).await?;
                (reader, writer)
            }
            Backend::Postgres => {
                // Separate pools: a write transaction may read through the reader pool while it
                // holds its writer connection; sharing one pool would let writers exhaust it and
                // wait on each other forever.
                let options = || AnyPoolOptions::new().max_connections(8).acquire_timeout(Duration::from_secs(30));
                let writer = options().connect_with(opts.clone()).await?;
                let reader = options().connect_with(opts).await?;
                (reader, writer)
            }
        };
        let store = Store {
            pool,
            writer,
            backend,
            seat_cache: Default::default(),
            memo: Default::default(),
        };
        store.migrate().await?;
        Ok(store)
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

    async fn migrate(&self) -> Result<()> {
        match self.backend {
            Backend::Sqlite => sqlx::migrate!("../migrations/sqlite").run(&self.writer).await?,
            Backend::Postgres => sqlx::migrate!("../migrations/postgres").run(&self.writer).await?,
        }
        Ok(())
    }

    /// The reference-data cache.
    pub fn memo(&self) -> &crate::memo::Memo {
        &self.memo
    }

    /// A cached seat plan.
    pub(crate) fn cached_plan(&self, layout_id: i64) -> Option<std::sync::Arc<Vec<crate::catalog::Seat>>> {
        self.seat_cache.read().ok()?.get(&layout_id).cloned()
    }

    /// Remembers a seat plan.
    pub(crate) fn cache_plan(&self, layout_id: i64, seats: std::sync::Arc<Vec<crate::catalog::Seat>>) {
        if let Ok(mut c) = self.seat_cache.write() {
            c.insert(layout_id, seats);
        }
    }

    /// The backend in use.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The pool, for reads.
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Starts a write transaction on behalf of `actor`.
    pub async fn write(&self, actor: &Actor) -> Result<WriteTx> {
        let tx = self.writer.begin().await?;
        Ok(WriteTx {
            tx,
            actor: actor.clone(),
            pending: Vec::new(),
            backend: self.backend,
            memo: self.memo.clone(),
        })
    }

    /// Reads a setting.
    pub async fn setting(&self, key: &str) -> Result<Option<String>> {
        let v: Option<(String,)> = sqlx::query_as("SELECT value FROM settings WHERE key = $1")
            .bind(key)
            .fetch_optional(&self.pool)
            .await?;
        Ok(v.map(|r| r.0))
    }

    /// Closes the pool.
    pub async fn close(&self) {
        self.pool.close().await;
        self.writer.close().await;
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
    tx: Transaction<'static, Any>,
    actor: Actor,
    pending: Vec<(Change, Option<EventEnvelope>)>,
    backend: Backend,
    memo: std::sync::Arc<crate::memo::Memo>,
}

/// Entities whose changes leave the reference-data cache valid.
const SALES_ENTITIES: &[&str] = &["cart", "order", "ticket", "payment", "contact", "waitlist", "promo_code", "access"];

/// Rows per multi-row insert (well under both databases' parameter limits).
const BATCH: usize = 200;

impl WriteTx {
    /// The connection, for the data statements themselves.
    pub fn conn(&mut self) -> &mut sqlx::AnyConnection {
        &mut self.tx
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
            let mut q = sqlx::query(&sql);
            for (change, _) in chunk {
                q = q
                    .bind(at.clone())
                    .bind(self.actor.user_id)
                    .bind(self.actor.login.clone())
                    .bind(change.action.clone())
                    .bind(change.entity.clone())
                    .bind(change.entity_id.clone())
                    .bind(change.before.as_ref().map(|v| v.to_string()))
                    .bind(change.after.as_ref().map(|v| v.to_string()));
            }
            q.execute(&mut *self.tx).await?;
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
            let mut q = sqlx::query(&sql);
            for env in events {
                q = q
                    .bind(env.event_id.clone())
                    .bind(env.occurred_at.clone())
                    .bind(env.event.kind())
                    .bind(env.actor.clone())
                    .bind(serde_json::to_string(env)?);
            }
            q.execute(&mut *self.tx).await?;
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
        self.tx.commit().await?;
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
    sqlx::query("DELETE FROM settings WHERE key = $1")
        .bind(key)
        .execute(tx.conn())
        .await?;
    sqlx::query("INSERT INTO settings (key, value) VALUES ($1, $2)")
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
pub fn on_unique(e: sqlx::Error, message: impl Into<String>) -> CoreError {
    if let sqlx::Error::Database(db) = &e {
        if db.is_unique_violation() {
            return CoreError::Conflict(message.into());
        }
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
    }
}
