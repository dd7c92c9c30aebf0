//! Reading the outbox safely from outside the core: what the event pipeline may export.
//!
//! A row the drain exports must never vanish afterwards, and no row may be skipped. Two
//! things stand in the way, one per backend:
//! - SQLite commits groups before their flush to disk (see `store::sqlite`), so a reader can
//!   see a row a power cut would still erase: the horizon waits for the flush first.
//! - PostgreSQL sequence values can commit out of order: a row with seq 10 may appear after
//!   seq 11 was read. Every write transaction takes a shared advisory lock before it inserts
//!   outbox rows; the horizon takes the same lock exclusively for a moment, so no writer is
//!   between its insert and its commit when MAX(seq) is read, and any later row gets a
//!   greater seq.
//!
//! Everything up to [`Store::outbox_horizon`] is committed, durable and final.

use crate::db::{self, query, query_as, DbError};
use crate::error::Result;
use crate::events::EventEnvelope;
use crate::store::{Change, Db};
use crate::{Actor, Store};

/// The advisory lock that orders outbox inserts against the horizon (PostgreSQL). Far above
/// any performance id (inventory locks use those).
pub(crate) const LOCK: i64 = 0x5041_5254_4F55_5442;

impl Store {
    /// The highest outbox seq below which every row is committed, on disk and final.
    pub async fn outbox_horizon(&self) -> Result<i64> {
        match self.db() {
            Db::Sqlite(s) => {
                let max = max_seq(self).await?;
                s.flushed().await?;
                Ok(max)
            }
            Db::Postgres { writer, .. } => {
                let mut tx = writer.begin().await.map_err(DbError::from)?;
                sqlx::query("SELECT pg_advisory_xact_lock($1)")
                    .bind(LOCK)
                    .execute(&mut *tx)
                    .await
                    .map_err(DbError::from)?;
                let (max,): (i64,) = sqlx::query_as(PG_HIGH_WATER).fetch_one(&mut *tx).await.map_err(DbError::from)?;
                tx.commit().await.map_err(DbError::from)?;
                Ok(max)
            }
        }
    }
}

/// The highest seq ever given (pruned rows included), committed: SQLite keeps it in
/// `sqlite_sequence` (AUTOINCREMENT), PostgreSQL in the sequence, read under the lock.
const SQLITE_HIGH_WATER: &str = "SELECT COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'outbox'), 0)";
const PG_HIGH_WATER: &str = "SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM outbox_seq_seq";

async fn max_seq(store: &Store) -> Result<i64> {
    let sql = match store.backend() {
        crate::Backend::Sqlite => SQLITE_HIGH_WATER,
        // Outside the lock a sequence value may belong to a transaction still in flight.
        crate::Backend::Postgres => "SELECT COALESCE(MAX(seq), 0) FROM outbox",
    };
    let (max,): (i64,) = query_as(sql).fetch_one(store.pool()).await?;
    Ok(max)
}

/// Outbox rows with `after < seq <= upto`, in seq order, at most `limit`.
pub async fn read(store: &Store, after: i64, upto: i64, limit: i64) -> Result<Vec<(i64, EventEnvelope)>> {
    let rows: Vec<(i64, String)> = db::query_as("SELECT seq, payload FROM outbox WHERE seq > $1 AND seq <= $2 ORDER BY seq LIMIT $3")
        .bind(after)
        .bind(upto)
        .bind(limit)
        .fetch_all(store.pool())
        .await?;
    rows.into_iter().map(|(seq, p)| Ok((seq, serde_json::from_str(&p)?))).collect()
}

/// Time of the first outbox row after `seq` (`None` when there is none).
pub async fn first_after(store: &Store, seq: i64) -> Result<Option<String>> {
    let row: Option<(String,)> = query_as("SELECT occurred_at FROM outbox WHERE seq > $1 ORDER BY seq LIMIT 1")
        .bind(seq)
        .fetch_optional(store.pool())
        .await?;
    Ok(row.map(|r| r.0))
}

/// The last seq of the outbox (committed; on SQLite it survives pruning).
pub async fn last_seq(store: &Store) -> Result<i64> {
    max_seq(store).await
}

/// Deletes rows up to `logged` (which the event log holds and has held long enough).
/// Returns how many went; an audit row says so when any did.
pub async fn prune(store: &Store, logged: i64) -> Result<u64> {
    let (n,): (i64,) = query_as("SELECT COUNT(*) FROM outbox WHERE seq <= $1")
        .bind(logged)
        .fetch_one(store.pool())
        .await?;
    if n == 0 {
        return Ok(0);
    }
    let mut tx = store.write(&Actor::system()).await?;
    let gone = query("DELETE FROM outbox WHERE seq <= $1")
        .bind(logged)
        .execute(tx.conn())
        .await?
        .rows_affected();
    tx.record(
        Change::new("outbox.prune", "outbox", logged).after(&serde_json::json!({ "rows": gone })),
        None,
    )
    .await?;
    tx.commit().await?;
    Ok(gone)
}

/// The core's own counts, for reconciliation with the warehouse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct CoreCounts {
    /// Every ticket ever issued (whatever its status).
    pub tickets: i64,
    /// Orders.
    pub orders: i64,
    /// Payment rows (refunds included).
    pub payments: i64,
    /// Contacts.
    pub contacts: i64,
}

/// Counts of the core tables the warehouse mirrors.
pub async fn counts(store: &Store) -> Result<CoreCounts> {
    let (tickets, orders, payments, contacts): (i64, i64, i64, i64) = query_as(
        "SELECT (SELECT COUNT(*) FROM tickets), (SELECT COUNT(*) FROM orders), (SELECT COUNT(*) FROM payments), \
         (SELECT COUNT(*) FROM contacts)",
    )
    .fetch_one(store.pool())
    .await?;
    Ok(CoreCounts {
        tickets,
        orders,
        payments,
        contacts,
    })
}
