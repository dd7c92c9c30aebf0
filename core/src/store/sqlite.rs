//! The SQLite backend: statements in place through rusqlite, one writer taken in turn, and
//! group commit.
//!
//! Why group commit: with `synchronous=FULL` every COMMIT waits for the disk (0.1–0.4 ms
//! here), and SQLite has one writer, so a box office selling 500 orders a second (three write
//! transactions each) would spend its whole time in fsync. Instead, a write transaction runs
//! inside a savepoint of a longer SQLite transaction; when it is done it releases the
//! savepoint, hands the writer to the next transaction in the queue and waits. A committer
//! task queued behind them commits the whole group with one fsync and tells every member.
//! Nothing is confirmed before it is on disk, and no other connection sees a change before it
//! is on disk: durability is exactly that of one COMMIT per transaction.

use crate::db::DbError;
use crate::error::{CoreError, Result};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use tokio::sync::{watch, Mutex, OwnedMutexGuard};

/// Readers of a SQLite store (threads that may read at the same moment).
const READERS: usize = 4;

/// The outcome of a group, once committed: `Ok` or the reason it failed.
type Outcome = Option<std::result::Result<(), String>>;

/// The SQLite transaction open on the writer, shared by the write transactions of a group.
struct Group {
    /// Write transactions released into the group and waiting for its commit.
    members: usize,
    /// A committer task is queued for the writer.
    committer_queued: bool,
    /// Where members learn the outcome.
    done: watch::Sender<Outcome>,
}

/// The writer connection and its open group, if any.
pub(crate) struct Writer {
    conn: rusqlite::Connection,
    group: Option<Group>,
}

impl Writer {
    /// Ends the open group: tells every member how it went.
    fn finish_group(&mut self, outcome: std::result::Result<(), String>) {
        if let Some(g) = self.group.take() {
            let _ = g.done.send(Some(outcome));
        }
    }

    /// Commits the open group in place (closes it when nobody joined it).
    fn commit_group(&mut self) {
        let Some(g) = &self.group else { return };
        if g.members == 0 {
            close_if_empty(self);
            return;
        }
        let outcome = if self.conn.is_autocommit() {
            Err("la transaction a été interrompue par la base".to_string())
        } else {
            self.conn.execute_batch("COMMIT").map_err(|e| e.to_string())
        };
        if outcome.is_err() && !self.conn.is_autocommit() {
            let _ = self.conn.execute_batch("ROLLBACK");
        }
        self.finish_group(outcome);
    }
}

/// A SQLite database: one writer, a few readers, all in WAL mode with `synchronous=FULL`.
pub(crate) struct SqliteDb {
    path: PathBuf,
    writer: Arc<Mutex<Writer>>,
    readers: Vec<std::sync::Mutex<rusqlite::Connection>>,
    next: AtomicUsize,
}

impl std::fmt::Debug for SqliteDb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteDb").field("path", &self.path).finish()
    }
}

/// A connection in WAL mode, every commit durable (`synchronous=FULL`). Savepoint journals
/// stay in memory (`temp_store`): they only serve to undo one transaction of a group.
fn connect(path: &Path) -> Result<rusqlite::Connection> {
    let c = rusqlite::Connection::open(path).map_err(DbError::from)?;
    c.execute_batch(
        "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON; PRAGMA busy_timeout=10000; \
         PRAGMA temp_store=MEMORY;",
    )
    .map_err(DbError::from)?;
    c.set_prepared_statement_cache_capacity(256);
    Ok(c)
}

impl SqliteDb {
    /// Opens the connections (the schema is already migrated).
    pub(crate) fn open(path: &Path) -> Result<Self> {
        let writer = connect(path)?;
        let readers = (0..READERS)
            .map(|_| connect(path).map(std::sync::Mutex::new))
            .collect::<Result<Vec<_>>>()?;
        Ok(SqliteDb {
            path: path.to_path_buf(),
            writer: Arc::new(Mutex::new(Writer { conn: writer, group: None })),
            readers,
            next: AtomicUsize::new(0),
        })
    }

    /// Runs `f` on a free reader (or waits briefly for one).
    pub(crate) fn read<T>(&self, f: impl FnOnce(&rusqlite::Connection) -> T) -> T {
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        let n = self.readers.len();
        for k in 0..n {
            if let Ok(c) = self.readers[(start + k) % n].try_lock() {
                return f(&c);
            }
        }
        let c = self.readers[start % n].lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        f(&c)
    }

    /// Takes the writer (in turn) and opens a write transaction: a savepoint inside the
    /// group's SQLite transaction.
    pub(crate) async fn begin(&self) -> Result<SqliteTx> {
        let mut w = self.writer.clone().lock_owned().await;
        if w.group.is_some() && w.conn.is_autocommit() {
            // The database ended the group's transaction on an error: its members failed.
            w.finish_group(Err("la transaction a été interrompue par la base".into()));
        }
        if w.group.is_none() {
            w.conn.execute_batch("BEGIN IMMEDIATE").map_err(DbError::from)?;
            w.group = Some(Group {
                members: 0,
                committer_queued: false,
                done: watch::channel(None).0,
            });
        }
        if let Err(e) = w.conn.execute_batch("SAVEPOINT w") {
            close_if_empty(&mut w);
            return Err(DbError::from(e).into());
        }
        Ok(SqliteTx {
            writer: Some(w),
            shared: self.writer.clone(),
        })
    }
}

/// Closes a group nobody joined (its transaction holds nothing).
fn close_if_empty(w: &mut Writer) {
    if w.group.as_ref().is_some_and(|g| g.members == 0) {
        if !w.conn.is_autocommit() {
            let _ = w.conn.execute_batch("ROLLBACK");
        }
        w.finish_group(Ok(()));
    }
}

/// A write transaction on SQLite (a savepoint of the group's transaction).
pub(crate) struct SqliteTx {
    /// The writer, until the transaction is released or rolled back.
    writer: Option<OwnedMutexGuard<Writer>>,
    shared: Arc<Mutex<Writer>>,
}

impl std::fmt::Debug for SqliteTx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteTx").field("open", &self.writer.is_some()).finish()
    }
}

impl SqliteTx {
    /// The connection, while the transaction is live.
    pub(crate) fn conn(&self) -> std::result::Result<&rusqlite::Connection, DbError> {
        match &self.writer {
            Some(w) if !w.conn.is_autocommit() => Ok(&w.conn),
            _ => Err(DbError::Aborted),
        }
    }

    /// Releases the transaction into its group, hands the writer over, and waits until the
    /// group is on disk.
    pub(crate) async fn commit(mut self) -> Result<()> {
        let Some(mut w) = self.writer.take() else {
            return Err(DbError::Aborted.into());
        };
        if w.conn.is_autocommit() {
            w.finish_group(Err("la transaction a été interrompue par la base".into()));
            return Err(DbError::Aborted.into());
        }
        if let Err(e) = w.conn.execute_batch("RELEASE w") {
            let _ = w.conn.execute_batch("ROLLBACK TO w; RELEASE w");
            close_if_empty(&mut w);
            return Err(DbError::from(e).into());
        }
        let Some(group) = w.group.as_mut() else {
            return Err(DbError::Aborted.into());
        };
        group.members += 1;
        let mut done = group.done.subscribe();
        if !group.committer_queued {
            group.committer_queued = true;
            // Queued behind the transactions already waiting for the writer: they join this
            // group, then the committer commits it. A task of its own, so that a caller that
            // gives up waiting cannot leave the group uncommitted.
            let shared = self.shared.clone();
            tokio::spawn(async move {
                let w = shared.lock_owned().await;
                let committed = tokio::task::spawn_blocking(move || {
                    let mut w = w;
                    w.commit_group();
                    w
                })
                .await;
                if let Err(e) = committed {
                    tracing::error!("validation groupée interrompue : {e}");
                }
            });
        }
        drop(w);
        let outcome = done
            .wait_for(Option::is_some)
            .await
            .map(|o| o.clone())
            .unwrap_or(Some(Err("validation interrompue".into())));
        match outcome {
            Some(Ok(())) => Ok(()),
            Some(Err(e)) => Err(CoreError::Internal(format!("la validation a échoué : {e}"))),
            None => Err(CoreError::Internal("validation interrompue".into())),
        }
    }
}

impl Drop for SqliteTx {
    /// Not committed: undoes this transaction only, before the writer goes to the next one.
    fn drop(&mut self) {
        if let Some(mut w) = self.writer.take() {
            if !w.conn.is_autocommit() {
                if let Err(e) = w.conn.execute_batch("ROLLBACK TO w; RELEASE w") {
                    tracing::error!("annulation de transaction impossible : {e}");
                }
            }
            if w.conn.is_autocommit() && w.group.as_ref().is_some_and(|g| g.members > 0) {
                w.finish_group(Err("la transaction a été interrompue par la base".into()));
            }
            close_if_empty(&mut w);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn db() -> (SqliteDb, PathBuf) {
        let dir = std::env::temp_dir().join(format!("parterre-sqlite-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("t.db");
        let c = connect(&path).unwrap();
        c.execute_batch("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)").unwrap();
        (SqliteDb::open(&path).unwrap(), dir)
    }

    fn count(db: &SqliteDb) -> i64 {
        db.read(|c| c.query_row("SELECT COUNT(*) FROM t", [], |r| r.get(0)).unwrap())
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_group_commits_every_member_and_only_commits_are_seen() {
        let (db, dir) = db().await;
        let db = Arc::new(db);
        let mut tasks = Vec::new();
        for i in 0..40 {
            let db = db.clone();
            tasks.push(tokio::spawn(async move {
                let tx = db.begin().await.unwrap();
                tx.conn()
                    .unwrap()
                    .execute("INSERT INTO t (v) VALUES (?1)", [format!("v{i}")])
                    .unwrap();
                if i % 4 == 0 {
                    drop(tx); // rolled back: must not take the others with it
                    return false;
                }
                tx.commit().await.unwrap();
                true
            }));
        }
        let mut committed = 0;
        for t in tasks {
            if t.await.unwrap() {
                committed += 1;
            }
        }
        assert_eq!(committed, 30);
        assert_eq!(count(&db), 30, "every acknowledged transaction is visible, no rolled-back one");
        // Uncommitted work is invisible to readers.
        let tx = db.begin().await.unwrap();
        tx.conn().unwrap().execute("INSERT INTO t (v) VALUES ('x')", []).unwrap();
        assert_eq!(count(&db), 30);
        drop(tx);
        assert_eq!(count(&db), 30);
        let _ = std::fs::remove_dir_all(dir);
    }

    #[tokio::test]
    async fn a_failed_statement_leaves_the_transaction_usable_and_a_lone_commit_works() {
        let (db, dir) = db().await;
        let tx = db.begin().await.unwrap();
        assert!(tx.conn().unwrap().execute("INSERT INTO t (v) VALUES (NULL)", []).is_err());
        tx.conn().unwrap().execute("INSERT INTO t (v) VALUES ('ok')", []).unwrap();
        tx.commit().await.unwrap();
        assert_eq!(count(&db), 1);
        let _ = std::fs::remove_dir_all(dir);
    }
}
