//! The SQLite backend: statements in place through rusqlite, one writer taken in turn, and
//! group commit with the flush to disk off the writer's path.
//!
//! SQLite has one writer, so what limits a box office on an opening day is how long each
//! write transaction keeps it. Two things keep that short:
//! - Group commit: a write transaction runs inside a savepoint of a longer SQLite
//!   transaction (the group); when it is done it releases the savepoint and hands the writer
//!   over. The group is committed as soon as nobody is waiting for the writer, or when it is
//!   [`GROUP_WINDOW`] old or [`GROUP_MAX`] strong, whichever comes first.
//! - The flush is not the writer's job: the writer commits with `synchronous=NORMAL` (COMMIT
//!   appends to the write-ahead log without waiting for the disk) and goes on at once, while
//!   [`durable::Syncer`] flushes the log. A transaction is acknowledged only once its group is
//!   on disk, so no acknowledged sale is ever lost; other connections may see a committed
//!   change a fraction of a millisecond before it is on disk (a crash at that moment loses
//!   only transactions nobody was told had succeeded). A reader that passes on what it reads
//!   to something that outlives a crash (the outbox drain) must wait for the flush first.

mod durable;

use crate::db::DbError;
use crate::error::{CoreError, Result};
use durable::{Outcome, Syncer};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{watch, Mutex, OwnedMutexGuard};

/// Readers of a SQLite store (threads that may read at the same moment).
const READERS: usize = 4;

/// Longest a group stays open while transactions keep queueing for the writer. Under load a
/// bigger group writes fewer pages to the log (a page touched by ten transactions is written
/// once); 2, 8, 10 and 30 ms were tried with `parterre bench sales`, 10 ms and more did best.
const GROUP_WINDOW: Duration = Duration::from_millis(10);

/// Most transactions in one group.
const GROUP_MAX: usize = 128;

/// The SQLite transaction open on the writer, shared by the write transactions of a group.
struct Group {
    /// Tells a late committer whether the group it was started for is still open.
    id: u64,
    /// Write transactions released into the group and waiting for its commit.
    members: usize,
    /// When the group was opened.
    opened: Instant,
    /// Where members learn the outcome.
    done: watch::Sender<Outcome>,
}

/// The writer connection and its open group, if any.
pub(crate) struct Writer {
    conn: rusqlite::Connection,
    group: Option<Group>,
    groups: u64,
    syncer: Syncer,
}

impl Writer {
    /// Ends the open group: tells every member how it went.
    fn finish_group(&mut self, outcome: std::result::Result<(), String>) {
        if let Some(g) = self.group.take() {
            let _ = g.done.send(Some(outcome));
        }
    }

    /// Commits the open group (closes it when nobody joined it); its members are told once
    /// it is on disk.
    fn commit_group(&mut self) {
        let Some(g) = &self.group else { return };
        if g.members == 0 {
            close_if_empty(self);
            return;
        }
        let committed = if self.conn.is_autocommit() {
            Err("la transaction a été interrompue par la base".to_string())
        } else {
            self.conn.execute_batch("COMMIT").map_err(|e| e.to_string())
        };
        match committed {
            Ok(()) => {
                if let Some(g) = self.group.take() {
                    self.syncer.durable(g.done);
                }
            }
            Err(e) => {
                if !self.conn.is_autocommit() {
                    let _ = self.conn.execute_batch("ROLLBACK");
                }
                self.finish_group(Err(e));
            }
        }
    }

    /// Commits the open group if its time has come: nobody is waiting for the writer, or it
    /// is old or large enough.
    fn commit_if_due(&mut self, waiting: usize) {
        if let Some(g) = &self.group {
            if g.members > 0 && (waiting == 0 || g.members >= GROUP_MAX || g.opened.elapsed() >= GROUP_WINDOW) {
                self.commit_group();
            }
        }
    }
}

/// A SQLite database: one writer, a few readers, all in WAL mode.
pub(crate) struct SqliteDb {
    path: PathBuf,
    writer: Arc<Mutex<Writer>>,
    /// The same flushing thread as the writer's, for readers that wait for the disk.
    flusher: Syncer,
    /// Transactions waiting for the writer.
    waiting: Arc<AtomicUsize>,
    readers: Vec<std::sync::Mutex<rusqlite::Connection>>,
    next: AtomicUsize,
}

impl std::fmt::Debug for SqliteDb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteDb").field("path", &self.path).finish()
    }
}

/// How long a connection waits for a lock before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// How long the writer's finishing checkpoint waits for readers still on the log.
const RESTART_WAIT: Duration = Duration::from_millis(100);

/// A connection in WAL mode. Savepoint journals stay in memory (`temp_store`): they only
/// serve to undo one transaction of a group. A 32 MB page cache and reads through a memory
/// map keep a season's hot pages (places, tickets, their indexes) without a system call per
/// page (with the indexes of migration 0004: demo history 32.6 s → 22 s for 71,000 tickets).
fn connect(path: &Path) -> Result<rusqlite::Connection> {
    let c = rusqlite::Connection::open(path).map_err(DbError::from)?;
    c.execute_batch(
        "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON; \
         PRAGMA temp_store=MEMORY; PRAGMA cache_size=-32768; PRAGMA mmap_size=268435456;",
    )
    .map_err(DbError::from)?;
    c.busy_timeout(BUSY_TIMEOUT).map_err(DbError::from)?;
    c.set_prepared_statement_cache_capacity(256);
    Ok(c)
}

/// Counts a transaction as waiting for the writer until it has it (or gives up).
struct Waiting(Arc<AtomicUsize>);

impl Waiting {
    fn new(count: &Arc<AtomicUsize>) -> Self {
        count.fetch_add(1, Ordering::SeqCst);
        Waiting(count.clone())
    }
}

impl Drop for Waiting {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl SqliteDb {
    /// Opens the connections (the schema is already migrated).
    pub(crate) fn open(path: &Path) -> Result<Self> {
        let writer = connect(path)?;
        // Flushes and checkpoints are the syncer's (see the module doc); a log that grew
        // past 64 MB is cut back when it starts over.
        writer
            .execute_batch("PRAGMA synchronous=NORMAL; PRAGMA wal_autocheckpoint=0; PRAGMA journal_size_limit=67108864;")
            .map_err(DbError::from)?;
        let syncer = Syncer::start(path).map_err(|e| CoreError::Internal(format!("fil d'écriture sur disque : {e}")))?;
        let readers = (0..READERS)
            .map(|_| connect(path).map(std::sync::Mutex::new))
            .collect::<Result<Vec<_>>>()?;
        Ok(SqliteDb {
            path: path.to_path_buf(),
            writer: Arc::new(Mutex::new(Writer {
                conn: writer,
                group: None,
                groups: 0,
                syncer: syncer.clone(),
            })),
            flusher: syncer,
            waiting: Arc::new(AtomicUsize::new(0)),
            readers,
            next: AtomicUsize::new(0),
        })
    }

    /// Waits until every transaction committed so far is on disk.
    pub(crate) async fn flushed(&self) -> Result<()> {
        self.flusher.flushed().await.map_err(CoreError::Internal)
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
        let queued = Waiting::new(&self.waiting);
        let mut w = self.writer.clone().lock_owned().await;
        drop(queued);
        if w.group.is_some() && w.conn.is_autocommit() {
            // The database ended the group's transaction on an error: its members failed.
            w.finish_group(Err("la transaction a été interrompue par la base".into()));
        }
        if w.group.is_none() {
            if w.syncer.finish_due() {
                // Between two groups nothing lands in the log while this copies the frames the
                // checkpoint thread left; RESTART then waits for the readers still on the log,
                // so the next group starts the log over (see `durable`). Sales wait meanwhile:
                // at most 100 ms for readers, then it gives up until the next request.
                let _ = w.conn.busy_timeout(RESTART_WAIT);
                if let Err(e) = w.conn.query_row("PRAGMA wal_checkpoint(RESTART)", [], |_| Ok(())) {
                    tracing::warn!("point de reprise de la base non effectué : {e}");
                }
                let _ = w.conn.busy_timeout(BUSY_TIMEOUT);
            }
            w.conn.execute_batch("BEGIN IMMEDIATE").map_err(DbError::from)?;
            w.groups += 1;
            w.group = Some(Group {
                id: w.groups,
                members: 0,
                opened: Instant::now(),
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
            waiting: self.waiting.clone(),
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
    waiting: Arc<AtomicUsize>,
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
    /// group is committed and on disk.
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
        let id = group.id;
        w.commit_if_due(self.waiting.load(Ordering::SeqCst));
        if w.group.as_ref().is_some_and(|g| g.id == id && g.members == 1) {
            // Left open for the transactions queued behind this one, one of which normally
            // commits it; should they all give up waiting, this task commits it.
            let shared = self.shared.clone();
            tokio::spawn(async move {
                tokio::time::sleep(GROUP_WINDOW).await;
                let mut w = shared.lock().await;
                if w.group.as_ref().is_some_and(|g| g.id == id) {
                    w.commit_group();
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
            w.commit_if_due(self.waiting.load(Ordering::SeqCst));
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

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_log_starts_over_under_steady_writes_and_reads() {
        // Sales never pause: the checkpoint thread never finds the log quiet. Without the
        // writer finishing its checkpoints the log grew with every write (725 MB for a 51 MB
        // database in a demo history).
        let (db, dir) = db().await;
        let db = Arc::new(db);
        let wal = dir.join("t.db-wal");
        let written = Arc::new(AtomicUsize::new(0));
        let target = 48 * durable::CHECKPOINT_BYTES as usize;
        let mut tasks = Vec::new();
        for _ in 0..4 {
            let (db, written) = (db.clone(), written.clone());
            tasks.push(tokio::spawn(async move {
                while written.load(Ordering::Relaxed) < target {
                    let tx = db.begin().await.unwrap();
                    tx.conn()
                        .unwrap()
                        .execute("INSERT INTO t (v) VALUES (?1)", ["x".repeat(4000)])
                        .unwrap();
                    tx.commit().await.unwrap();
                    written.fetch_add(4096, Ordering::Relaxed);
                }
            }));
        }
        for _ in 0..2 {
            let (db, written) = (db.clone(), written.clone());
            tasks.push(tokio::spawn(async move {
                while written.load(Ordering::Relaxed) < target {
                    count(&db);
                    tokio::task::yield_now().await;
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        let size = std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0);
        assert!(
            size < 16 * durable::CHECKPOINT_BYTES,
            "the log started over: {size} bytes after {} MB written",
            target >> 20
        );
        let _ = std::fs::remove_dir_all(dir);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_group_is_committed_even_when_the_transactions_queued_behind_it_give_up() {
        let (db, dir) = db().await;
        let db = Arc::new(db);
        let tx = db.begin().await.unwrap();
        tx.conn().unwrap().execute("INSERT INTO t (v) VALUES ('vendu')", []).unwrap();
        // A second transaction queues for the writer, so the first one leaves its group open
        // for it…
        let queued = {
            let db = db.clone();
            tokio::spawn(async move { db.begin().await.map(|_| ()) })
        };
        while db.waiting.load(Ordering::SeqCst) == 0 {
            tokio::task::yield_now().await;
        }
        let committing = tokio::spawn(tx.commit());
        // …then gives up before getting it.
        queued.abort();
        let committed = tokio::time::timeout(Duration::from_secs(10), committing).await;
        assert!(matches!(committed, Ok(Ok(Ok(())))), "the sale is acknowledged: {committed:?}");
        assert_eq!(count(&db), 1, "and it is in the database");
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
