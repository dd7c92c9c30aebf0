//! Makes committed SQLite transactions durable off the writer's path.
//!
//! The writer connection commits with `synchronous=NORMAL`: COMMIT appends the group's pages
//! to the write-ahead log without waiting for the disk, so the writer can go on with the next
//! transactions at once. This thread then flushes the log (`fdatasync`) and only then are the
//! group's transactions acknowledged. One flush serves every group committed while the
//! previous flush was running, and the log is sequential, so a flush covers every earlier
//! commit: when a transaction is acknowledged, it and everything it read are on disk.
//!
//! Checkpoints (copying the log back into the database file) are mostly not the writer's job
//! either: a thread of their own runs them, without blocking the writer, once the log has
//! grown past [`CHECKPOINT_BYTES`]. But SQLite starts the log over only when a checkpoint has
//! copied every frame in it, and under steady sales new groups land while the thread copies:
//! the log never starts over and grows without end (725 MB for a 51 MB database in a demo
//! history). So when the thread finds more than [`CHECKPOINT_BYTES`] in the log, it asks the
//! writer to finish the job between two groups ([`Syncer::finish_due`]): the writer copies the
//! few frames written since (nothing can land meanwhile) and waits for the readers still on the
//! log, and the next group starts the log over.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use tokio::sync::watch;

/// Log size past which a checkpoint is run (SQLite's own default is about 4 MB); small in
/// unit tests, so that a few seconds of writes cross it several times.
pub(super) const CHECKPOINT_BYTES: u64 = if cfg!(test) { 1 << 20 } else { 32 << 20 };

/// A checkpoint runs after this long without being asked for one.
const QUIET: std::time::Duration = std::time::Duration::from_secs(5);

/// Checkpoints are at least this far apart. The log file keeps its size when SQLite starts
/// writing it from the beginning again, so once it has grown past [`CHECKPOINT_BYTES`] every
/// flush asks for a checkpoint: without this gap they ran back to back (3,679 in a 33 s demo
/// history, each with its own flush of the database file, a core and the disk kept busy).
const MIN_GAP: std::time::Duration = std::time::Duration::from_millis(if cfg!(test) { 200 } else { 1000 });

/// The outcome of a group, once durable (or the reason it failed): `None` while pending.
pub(super) type Outcome = Option<std::result::Result<(), String>>;

/// Where committed groups wait for the flush of the log.
#[derive(Debug, Clone)]
pub(super) struct Syncer {
    queue: mpsc::Sender<watch::Sender<Outcome>>,
    finish: Arc<AtomicBool>,
}

impl Syncer {
    /// Starts the flushing thread for the database at `db`.
    pub(super) fn start(db: &Path) -> std::io::Result<Self> {
        let (queue, waiting) = mpsc::channel::<watch::Sender<Outcome>>();
        let mut log = Log::new(db);
        let finish = Arc::new(AtomicBool::new(false));
        let checkpoints = start_checkpointer(db, finish.clone())?;
        std::thread::Builder::new().name("parterre-fsync".into()).spawn(move || {
            // Ends when the database is closed (the sender is dropped).
            while let Ok(first) = waiting.recv() {
                let mut batch = vec![first];
                batch.extend(waiting.try_iter());
                let outcome = log.flush().map_err(|e| format!("écriture sur disque impossible : {e}"));
                if log.size() > CHECKPOINT_BYTES {
                    // Already due when the channel is full: one request is enough.
                    let _ = checkpoints.try_send(());
                }
                if let Err(e) = &outcome {
                    tracing::error!("{e}");
                }
                for group in batch {
                    let _ = group.send(Some(outcome.clone()));
                }
            }
        })?;
        Ok(Syncer { queue, finish })
    }

    /// Whether the writer should checkpoint before its next group (asks only once).
    pub(super) fn finish_due(&self) -> bool {
        self.finish.swap(false, Ordering::Relaxed)
    }

    /// Waits until everything committed before the call is on disk.
    pub(super) async fn flushed(&self) -> std::result::Result<(), String> {
        let (tx, mut rx) = watch::channel(None);
        self.durable(tx);
        loop {
            if let Some(outcome) = rx.borrow_and_update().clone() {
                return outcome;
            }
            if rx.changed().await.is_err() {
                return Err("écriture sur disque interrompue".into());
            }
        }
    }

    /// Hands over a committed group: its members learn the outcome once the log is on disk.
    pub(super) fn durable(&self, group: watch::Sender<Outcome>) {
        if let Err(mpsc::SendError(group)) = self.queue.send(group) {
            let _ = group.send(Some(Err("écriture sur disque interrompue".into())));
        }
    }
}

/// Starts the thread that runs checkpoints when asked (and ends with the database).
fn start_checkpointer(db: &Path, finish: Arc<AtomicBool>) -> std::io::Result<mpsc::SyncSender<()>> {
    let (ask, asked) = mpsc::sync_channel::<()>(1);
    let conn = super::connect(db).map_err(|e| std::io::Error::other(e.to_string()))?;
    let page: i64 = conn
        .query_row("PRAGMA page_size", [], |r| r.get(0))
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    std::thread::Builder::new().name("parterre-checkpoint".into()).spawn(move || {
        // When asked, and also after a quiet spell, so that a venue's database file holds its
        // data (not only the log) soon after the last sale. Ends with the database.
        while !matches!(asked.recv_timeout(QUIET), Err(mpsc::RecvTimeoutError::Disconnected)) {
            // PASSIVE: copies what it can without waiting for (or blocking) the writer or
            // readers; what is left is copied next time.
            match conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| r.get::<_, i64>(1)) {
                // Frames in the log (-1 when the checkpoint could not run): past the limit, the
                // writer finishes (see the module doc).
                Ok(frames) if u64::try_from(frames * page).is_ok_and(|bytes| bytes > CHECKPOINT_BYTES) => {
                    finish.store(true, Ordering::Relaxed)
                }
                Ok(_) => {}
                Err(e) => tracing::warn!("point de reprise de la base non effectué : {e}"),
            }
            // Requests made meanwhile wait in the channel (one is enough).
            std::thread::sleep(MIN_GAP);
        }
    })?;
    Ok(ask)
}

/// The write-ahead log file (`<db>-wal`), opened once and again if SQLite recreates it.
struct Log {
    path: PathBuf,
    file: Option<(File, u64)>,
}

impl Log {
    fn new(db: &Path) -> Self {
        let mut name = db.as_os_str().to_owned();
        name.push("-wal");
        Log {
            path: PathBuf::from(name),
            file: None,
        }
    }

    /// Size of the log, as of the last flush (0 when unknown).
    fn size(&self) -> u64 {
        self.file
            .as_ref()
            .and_then(|(f, _)| f.metadata().ok())
            .map(|m| m.len())
            .unwrap_or(0)
    }

    /// Flushes the log to disk.
    fn flush(&mut self) -> std::io::Result<()> {
        let id = match std::fs::metadata(&self.path) {
            Ok(m) => file_id(&m),
            // No log: nothing was written since the last checkpoint removed it.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e),
        };
        let file = match self.file.take() {
            Some((f, known)) if id == Some(known) => f,
            _ => {
                let f = File::open(&self.path)?;
                // A new log file: its directory entry must be on disk too.
                if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
                    File::open(dir)?.sync_all()?;
                }
                f
            }
        };
        let flushed = file.sync_data();
        self.file = id.map(|id| (file, id));
        flushed
    }
}

/// Which file a path names now (its inode), to notice a log SQLite has recreated.
#[cfg(unix)]
fn file_id(m: &std::fs::Metadata) -> Option<u64> {
    use std::os::unix::fs::MetadataExt;
    Some(m.ino())
}

/// Without inode numbers, the log is reopened at every flush.
#[cfg(not(unix))]
fn file_id(_: &std::fs::Metadata) -> Option<u64> {
    None
}
