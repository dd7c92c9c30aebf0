//! The pipeline: drain the outbox into the log, project the log into the warehouse, keep both
//! checkpoints, and report how far behind it is.
//!
//! Order of each step, and why a kill at any point is harmless:
//! 1. read the outbox up to the core's horizon (committed, durable, final rows);
//! 2. append them to the log and move the log's checkpoint (`events/drain.json`): before
//!    that, a crash leaves bytes that the next start cuts off;
//! 3. apply them to the projected state, add the raw events' file, rewrite the partitions
//!    they changed (each atomically), and only then move the projection's checkpoint
//!    (`warehouse/_projection.json`): before that, a restart replays the same events over
//!    the same state, which gives the same rows, and removes the events' files written past
//!    the checkpoint.
//!
//! One pipeline per data folder: it holds a lock on `events/.lock`.

use crate::log::{read_json, replay, write_json_atomic, Checkpoint, EventLog, EventRecord};
use crate::project::{check_fits, event_batch, event_rows, State};
use crate::{PipelineError, Result};
use parterre_core::{outbox, Store};
use parterre_warehouse::catalog::Table;
use parterre_warehouse::write::{append_file, clean, compact, trim_appended, write_partition};
use serde::{Deserialize, Serialize};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Settings of a pipeline.
#[derive(Debug, Clone)]
pub struct Options {
    /// Outbox rows read (and logged as one block) at a time.
    pub batch: i64,
    /// How long a logged outbox row is kept before it is deleted.
    pub outbox_retention: Duration,
    /// Files an `events` partition may have before they are merged.
    pub compact_after: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            batch: 5_000,
            outbox_retention: Duration::from_secs(7 * 24 * 3600),
            compact_after: 64,
        }
    }
}

/// Where the projection stands.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct ProjectionCheckpoint {
    last_seq: i64,
}

/// The event log folder of a data folder.
pub fn events_dir(data: &Path) -> PathBuf {
    data.join("events")
}

/// The warehouse folder of a data folder.
pub fn warehouse_dir(data: &Path) -> PathBuf {
    data.join("warehouse")
}

fn projection_path(warehouse: &Path) -> PathBuf {
    warehouse.join("_projection.json")
}

fn io(path: &Path, e: impl std::fmt::Display) -> PipelineError {
    PipelineError::Io(format!("{} : {e}", path.display()))
}

/// Takes the pipeline's lock on a data folder (released when the file is dropped).
fn lock(events: &Path) -> Result<File> {
    std::fs::create_dir_all(events).map_err(|e| io(events, e))?;
    let path = events.join(".lock");
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| io(&path, e))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(PipelineError::Locked(path.display().to_string())),
        Err(std::fs::TryLockError::Error(e)) => Err(io(&path, e)),
    }
}

/// Runs blocking file work without stalling other tasks of a multi-threaded runtime.
fn blocking<T>(f: impl FnOnce() -> T) -> T {
    match tokio::runtime::Handle::try_current() {
        Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => tokio::task::block_in_place(f),
        _ => f(),
    }
}

/// The running pipeline of one data folder.
#[derive(Debug)]
pub struct Pipeline {
    warehouse: PathBuf,
    log: EventLog,
    state: State,
    projected: i64,
    options: Options,
    last_prune: Option<Instant>,
    _lock: File,
}

impl Pipeline {
    /// Opens the pipeline of `data`: recovers the log, rebuilds the projected state from it,
    /// and projects whatever the log holds past the projection's checkpoint.
    pub fn open(data: &Path, options: Options) -> Result<Self> {
        let events = events_dir(data);
        let lock = lock(&events)?;
        let log = EventLog::open(&events)?;
        let warehouse = warehouse_dir(data);
        std::fs::create_dir_all(&warehouse).map_err(|e| io(&warehouse, e))?;
        clean(&warehouse);
        let ck: ProjectionCheckpoint = read_json(&projection_path(&warehouse))?.unwrap_or_default();
        let projected = ck.last_seq.min(log.checkpoint().last_seq);
        trim_appended(&warehouse, Table::Events, projected)?;
        let mut state = State::default();
        let mut pending = Vec::new();
        replay(&events, log.checkpoint(), 0, |r| {
            if r.seq <= projected {
                state.apply(&r);
            } else {
                pending.push(r);
            }
            Ok(())
        })?;
        state.dirty.clear();
        let mut p = Pipeline {
            warehouse,
            log,
            state,
            projected,
            options,
            last_prune: None,
            _lock: lock,
        };
        for chunk in pending.chunks(p.options.batch.max(1) as usize) {
            p.project(chunk)?;
        }
        Ok(p)
    }

    /// The log's checkpoint.
    pub fn drained(&self) -> &Checkpoint {
        self.log.checkpoint()
    }

    /// Last seq in the warehouse.
    pub fn projected(&self) -> i64 {
        self.projected
    }

    /// Applies `records` and writes what they changed, then the checkpoint.
    fn project(&mut self, records: &[EventRecord]) -> Result<()> {
        let Some(last) = records.last().map(|r| r.seq) else { return Ok(()) };
        // Checked before anything changes: a refused event leaves state and files as they were.
        for r in records {
            check_fits(r)?;
        }
        for r in records {
            self.state.apply(r);
        }
        let by_season = event_rows(records);
        for (season, rows) in &by_season {
            let first = rows.first().map(|r| r.seq).unwrap_or(last);
            let end = rows.last().map(|r| r.seq).unwrap_or(last);
            append_file(&self.warehouse, Table::Events, season, first, end, &event_batch(rows)?)?;
            crate::crash_point();
        }
        for (table, season) in std::mem::take(&mut self.state.dirty) {
            write_partition(&self.warehouse, table, &season, &self.state.batch(table, &season)?)?;
            crate::crash_point();
        }
        write_json_atomic(&projection_path(&self.warehouse), &ProjectionCheckpoint { last_seq: last })?;
        self.projected = last;
        crate::crash_point();
        for season in by_season.keys() {
            compact(&self.warehouse, Table::Events, season, self.options.compact_after)?;
            crate::crash_point();
        }
        Ok(())
    }

    /// Drains the outbox up to the core's horizon and projects it. Returns the events moved.
    pub async fn step(&mut self, store: &Store) -> Result<u64> {
        let horizon = store.outbox_horizon().await?;
        if horizon < self.log.checkpoint().last_seq {
            return Err(PipelineError::Io(format!(
                "le journal d'événements ({}) va plus loin que la base (dernier événement {horizon}) : \
                 ce dossier de données ne correspond pas à cette base",
                self.log.checkpoint().last_seq
            )));
        }
        // Events logged but not projected (a step that failed after logging them) come first,
        // so that no later event is projected before them.
        if self.projected < self.log.checkpoint().last_seq {
            let mut pending = Vec::new();
            let projected = self.projected;
            blocking(|| {
                replay(self.log.dir(), self.log.checkpoint(), projected, |r| {
                    pending.push(r);
                    Ok(())
                })
            })?;
            for chunk in pending.chunks(self.options.batch.max(1) as usize) {
                blocking(|| self.project(chunk))?;
            }
        }
        let mut moved = 0u64;
        loop {
            let after = self.log.checkpoint().last_seq;
            if after >= horizon {
                break;
            }
            let rows = outbox::read(store, after, horizon, self.options.batch).await?;
            if rows.is_empty() {
                break;
            }
            let records: Vec<EventRecord> = rows.into_iter().map(|(seq, env)| EventRecord::from_outbox(seq, env)).collect();
            // An event the warehouse cannot hold stays in the outbox, out of the log: the next
            // step finds it again, and goes on once it has been corrected.
            for r in &records {
                check_fits(r)?;
            }
            blocking(|| {
                self.log.append(&records)?;
                self.project(&records)
            })?;
            moved += records.len() as u64;
        }
        self.prune(store).await?;
        Ok(moved)
    }

    /// Deletes the outbox rows that have been in the log for longer than the retention
    /// (counted from when they were logged, whatever their own date), at most every 10 minutes.
    async fn prune(&mut self, store: &Store) -> Result<()> {
        if self.last_prune.is_some_and(|t| t.elapsed() < Duration::from_secs(600)) {
            return Ok(());
        }
        self.last_prune = Some(Instant::now());
        let retention = chrono::Duration::from_std(self.options.outbox_retention).unwrap_or(chrono::Duration::days(7));
        let before = parterre_core::time::to_db(chrono::Utc::now() - retention);
        let Some(upto) = self
            .log
            .checkpoint()
            .marks
            .iter()
            .filter(|(t, _)| t.as_str() <= before.as_str())
            .map(|(_, seq)| *seq)
            .max()
        else {
            return Ok(());
        };
        let gone = outbox::prune(store, upto).await?;
        if gone > 0 {
            tracing::info!("outbox : {gone} événements déjà journalisés supprimés");
        }
        Ok(())
    }

    /// Steps every `interval` until `stop` resolves; an error is logged and retried.
    pub async fn follow(&mut self, store: &Store, interval: Duration, stop: impl std::future::Future<Output = ()>) {
        self.follow_with(store, interval, &Follow::default(), stop).await
    }

    /// Like [`Pipeline::follow`], also stepping at once when `follow.nudge` is notified, and
    /// publishing the last projected seq on `follow.projected` after every step.
    pub async fn follow_with(&mut self, store: &Store, interval: Duration, follow: &Follow, stop: impl std::future::Future<Output = ()>) {
        tokio::pin!(stop);
        loop {
            match self.step(store).await {
                Ok(_) => {
                    follow.projected.send_replace(self.projected);
                }
                Err(e) => tracing::error!("pipeline : {e}"),
            }
            tokio::select! {
                _ = &mut stop => return,
                _ = tokio::time::sleep(interval) => {}
                _ = follow.nudge.notified() => {}
            }
        }
    }
}

/// How a running pipeline is asked for a step now, and tells how far it has projected.
#[derive(Debug, Clone)]
pub struct Follow {
    /// Notify to have the pipeline step at once.
    pub nudge: std::sync::Arc<tokio::sync::Notify>,
    /// The last seq in the warehouse, after each step.
    pub projected: std::sync::Arc<tokio::sync::watch::Sender<i64>>,
}

impl Default for Follow {
    fn default() -> Self {
        Follow {
            nudge: Default::default(),
            projected: std::sync::Arc::new(tokio::sync::watch::Sender::new(0)),
        }
    }
}

impl Follow {
    /// Waits until the warehouse holds every event committed so far (at most `limit`):
    /// what lets a query see the sale made a moment before it. Returns false on time-out.
    pub async fn caught_up(&self, store: &Store, limit: Duration) -> bool {
        let Ok(last) = outbox::last_seq(store).await else { return false };
        let mut rx = self.projected.subscribe();
        if *rx.borrow_and_update() >= last {
            return true;
        }
        self.nudge.notify_one();
        tokio::time::timeout(limit, async {
            while rx.changed().await.is_ok() {
                if *rx.borrow_and_update() >= last {
                    return true;
                }
            }
            false
        })
        .await
        .unwrap_or(false)
    }
}

/// Rebuilds the warehouse from the log alone, into a fresh folder swapped in at the end.
/// `progress(done, total)` is called as events are read. Returns the events replayed.
pub fn rebuild(data: &Path, mut progress: impl FnMut(u64, u64)) -> Result<u64> {
    let events = events_dir(data);
    let _lock = lock(&events)?;
    let log = EventLog::open(&events)?;
    let total = log.checkpoint().events;
    let target = data.join("warehouse.rebuild");
    if target.exists() {
        std::fs::remove_dir_all(&target).map_err(|e| io(&target, e))?;
    }
    std::fs::create_dir_all(&target).map_err(|e| io(&target, e))?;
    let mut state = State::default();
    let mut buffer: Vec<EventRecord> = Vec::new();
    let mut done = 0u64;
    let flush = |buffer: &mut Vec<EventRecord>| -> Result<()> {
        for (season, rows) in event_rows(buffer) {
            let first = rows.first().map(|r| r.seq).unwrap_or(0);
            let end = rows.last().map(|r| r.seq).unwrap_or(0);
            append_file(&target, Table::Events, &season, first, end, &event_batch(&rows)?)?;
        }
        buffer.clear();
        Ok(())
    };
    replay(&events, log.checkpoint(), 0, |r| {
        check_fits(&r)?;
        state.apply(&r);
        buffer.push(r);
        done += 1;
        if buffer.len() >= 200_000 {
            flush(&mut buffer)?;
        }
        if done.is_multiple_of(10_000) {
            progress(done, total);
        }
        Ok(())
    })?;
    flush(&mut buffer)?;
    progress(done, total);
    for (table, season) in state.all_partitions() {
        write_partition(&target, table, &season, &state.batch(table, &season)?)?;
    }
    write_json_atomic(
        &projection_path(&target),
        &ProjectionCheckpoint {
            last_seq: log.checkpoint().last_seq,
        },
    )?;
    let current = warehouse_dir(data);
    let old = data.join("warehouse.old");
    if old.exists() {
        std::fs::remove_dir_all(&old).map_err(|e| io(&old, e))?;
    }
    if current.exists() {
        std::fs::rename(&current, &old).map_err(|e| io(&current, e))?;
    }
    std::fs::rename(&target, &current).map_err(|e| io(&target, e))?;
    File::open(data).and_then(|d| d.sync_all()).map_err(|e| io(data, e))?;
    if old.exists() {
        std::fs::remove_dir_all(&old).map_err(|e| io(&old, e))?;
    }
    Ok(done)
}

/// How far behind the warehouse is, and the counts to reconcile it with the core.
#[derive(Debug, Clone, Serialize)]
pub struct Status {
    /// Last event committed in the core.
    pub outbox_last_seq: i64,
    /// Last event in the Avro log.
    pub logged_seq: i64,
    /// Last event in the warehouse.
    pub projected_seq: i64,
    /// Events committed in the core and not yet in the warehouse.
    pub lag_events: i64,
    /// Age of the oldest event not yet in the warehouse, in seconds (0 when up to date).
    pub lag_seconds: f64,
    /// Events in the log.
    pub logged_events: u64,
    /// Segments of the log.
    pub segments: usize,
    /// The core's counts.
    pub core: outbox::CoreCounts,
    /// The same counts read from the warehouse.
    pub warehouse: outbox::CoreCounts,
}

/// Reads the status of `data`'s pipeline (it need not be running).
pub async fn status(store: &Store, data: &Path) -> Result<Status> {
    let events = events_dir(data);
    let log = EventLog::read_checkpoint(&events)?;
    let wh = warehouse_dir(data);
    let projected = read_json::<ProjectionCheckpoint>(&projection_path(&wh))?
        .unwrap_or_default()
        .last_seq;
    let last = outbox::last_seq(store).await?;
    let lag_seconds = match outbox::first_after(store, projected).await? {
        Some(t) => parterre_core::time::from_db(&t)
            .map(|t| ((chrono::Utc::now() - t).num_milliseconds().max(0) as f64) / 1000.0)
            .unwrap_or(0.0),
        None => 0.0,
    };
    let core = outbox::counts(store).await?;
    let w = parterre_warehouse::Warehouse::open(&wh).await?;
    let (_, batches) = w
        .batches(
            "SELECT (SELECT count(*) FROM fact_ticket) AS t, (SELECT count(*) FROM fact_order) AS o, \
             (SELECT count(*) FROM fact_payment) AS p, (SELECT count(*) FROM dim_contact) AS c",
            Duration::from_secs(60),
        )
        .await?;
    let row = parterre_warehouse::query::json_rows(&batches)?;
    let n = |i: usize| row.first().and_then(|r| r.get(i)).and_then(|v| v.as_i64()).unwrap_or(0);
    Ok(Status {
        outbox_last_seq: last,
        logged_seq: log.last_seq,
        projected_seq: projected,
        lag_events: (last - projected).max(0),
        lag_seconds,
        logged_events: log.events,
        segments: crate::log::segments(&events)?.len(),
        core,
        warehouse: outbox::CoreCounts {
            tickets: n(0),
            orders: n(1),
            payments: n(2),
            contacts: n(3),
        },
    })
}
