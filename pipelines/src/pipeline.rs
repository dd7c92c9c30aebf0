//! The pipeline: drain the outbox into the log, project the log into the warehouse, commit
//! each step as one manifest generation, and report how far behind it is.
//!
//! Order of each step, and why a kill at any point is harmless:
//! 1. read the outbox up to the core's horizon (committed, durable, final rows);
//! 2. append them to the log and move the log's checkpoint (`events/drain.json`): before
//!    that, a crash leaves bytes that the next start cuts off;
//! 3. apply them to the partitions they touch (read from their live files), write each
//!    changed partition and the raw events as new files, then commit the manifest of the next
//!    generation (`warehouse/_manifest/<generation>.json`), which also records the last event
//!    projected. Before the commit, a crash leaves files no manifest names: the next start
//!    deletes them and projects the same events again from the log. After it, the superseded
//!    files move to `warehouse/_history/`; a crash before that is finished at the next start.
//!
//! Nothing is kept in memory between steps but the current manifest: start-up reads it and
//! nothing else (no replay), and a step's memory is the partitions it touches.
//!
//! One pipeline per data folder: it holds a lock on `events/.lock`.

use crate::log::{replay, EventLog, EventRecord};
pub use crate::maintain::{rebuild, Purged};
use crate::project::parts::Source;
use crate::project::{check_fits, event_batch, event_rows, Dirty, Refs, State};
use crate::{PipelineError, Result};
use parterre_core::{outbox, Store};
use parterre_warehouse::catalog::Table;
use parterre_warehouse::manifest::{refs_path, resolve, retire, settle, sweep, write_atomic, Manifest, DEFAULT_GRACE};
use parterre_warehouse::write::{read_file, write_file};
use serde::Serialize;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
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
    /// How long a superseded file stays in `_history/` (longer than the longest query).
    pub grace: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            batch: 5_000,
            outbox_retention: Duration::from_secs(7 * 24 * 3600),
            compact_after: 64,
            grace: DEFAULT_GRACE,
        }
    }
}

/// Events applied per step when the log is ahead of the warehouse (after a crash, an upgrade).
const CATCH_UP: usize = 50_000;

/// The event log folder of a data folder.
pub fn events_dir(data: &Path) -> PathBuf {
    data.join("events")
}

/// The warehouse folder of a data folder.
pub fn warehouse_dir(data: &Path) -> PathBuf {
    data.join("warehouse")
}

/// The checkpoint file of warehouses written before the manifest (removed on upgrade).
const LEGACY_CHECKPOINT: &str = "_projection.json";

pub(crate) fn io(path: &Path, e: impl std::fmt::Display) -> PipelineError {
    PipelineError::Io(format!("{} : {e}", path.display()))
}

/// Takes the pipeline's lock on a data folder (released when the file is dropped).
pub(crate) fn lock(events: &Path) -> Result<File> {
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

/// The reference data `manifest` names (none yet: empty).
pub(crate) fn read_refs(root: &Path, manifest: &Manifest) -> Result<Refs> {
    let Some(rel) = &manifest.refs else { return Ok(Refs::default()) };
    let path = resolve(root, rel);
    let bytes = std::fs::read(&path).map_err(|e| io(&path, e))?;
    serde_json::from_slice(&bytes).map_err(|e| io(&path, format!("données de référence illisibles : {e}")))
}

/// Writes the reference data of generation `generation` and names it in `next`.
pub(crate) fn write_refs(root: &Path, refs: &Refs, next: &mut Manifest, generation: u64) -> Result<()> {
    let rel = refs_path(generation);
    let bytes = serde_json::to_vec(refs).map_err(|e| io(&root.join(&rel), e))?;
    write_atomic(&root.join(&rel), &bytes)?;
    next.refs = Some(rel);
    // The venue's labels of coded columns travel in the manifest, with the files they decode.
    let categories = refs.price_categories.clone().into_iter().collect();
    next.labels
        .insert(parterre_warehouse::codes::Dim::PriceCategory.key().to_string(), categories);
    Ok(())
}

/// Writes one changed partition as a file of `generation` (or drops it when it has no rows
/// left) in `next`; what it supersedes is added to `retired`.
pub(crate) fn write_dirty(
    root: &Path,
    current: Option<&Manifest>,
    next: &mut Manifest,
    generation: u64,
    d: &Dirty<'_>,
    retired: &mut Vec<String>,
) -> Result<()> {
    let before = current.and_then(|m| {
        m.partition(d.table, &d.season)
            .map(|f| f.seqs)
            .reduce(|a, b| (a.0.min(b.0), a.1.max(b.1)))
    });
    let seqs = match before {
        Some((lo, hi)) => (lo.min(d.seqs.0), hi.max(d.seqs.1)),
        None => d.seqs,
    };
    let batch = (d.batch)()?;
    let file = if batch.num_rows() == 0 {
        None
    } else {
        Some(write_file(root, d.table, &d.season, generation, seqs, &batch)?)
    };
    retired.extend(next.replace_partition(d.table, &d.season, file));
    Ok(())
}

/// The running pipeline of one data folder.
#[derive(Debug)]
pub struct Pipeline {
    warehouse: PathBuf,
    log: EventLog,
    manifest: Manifest,
    options: Options,
    last_prune: Option<Instant>,
    /// A sweep of `_history/` is running on a thread of its own.
    sweeping: Arc<AtomicBool>,
    _lock: File,
}

impl Pipeline {
    /// Opens the pipeline of `data`: recovers the log, reads the warehouse's newest manifest
    /// (an unreadable one stops here, named), finishes or discards what a crash interrupted,
    /// and projects whatever the log holds past the manifest. A warehouse written before
    /// the manifest existed, or in an older format of it, is rebuilt from the log.
    pub fn open(data: &Path, options: Options) -> Result<Self> {
        if parterre_warehouse::manifest::outdated(&warehouse_dir(data)) {
            tracing::info!("entrepôt d'un format antérieur : reconstruction depuis le journal");
            crate::maintain::rebuild(data, |_, _| {})?;
        }
        let events = events_dir(data);
        let lock = lock(&events)?;
        let log = EventLog::open(&events)?;
        let warehouse = warehouse_dir(data);
        std::fs::create_dir_all(&warehouse).map_err(|e| io(&warehouse, e))?;
        let manifest = Manifest::latest(&warehouse)?.unwrap_or_else(Manifest::empty);
        let (deleted, moved) = settle(&warehouse, &manifest)?;
        if deleted + moved > 0 {
            tracing::info!("entrepôt : {deleted} fichiers d'une étape interrompue supprimés, {moved} fichiers remplacés mis à l'écart");
        }
        let legacy = warehouse.join(LEGACY_CHECKPOINT);
        if legacy.exists() {
            std::fs::remove_file(&legacy).map_err(|e| io(&legacy, e))?;
        }
        let mut p = Pipeline {
            warehouse,
            log,
            manifest,
            options,
            last_prune: None,
            sweeping: Arc::new(AtomicBool::new(false)),
            _lock: lock,
        };
        p.sweep_in_background();
        p.catch_up()?;
        Ok(p)
    }

    /// The log's checkpoint.
    pub fn drained(&self) -> &crate::log::Checkpoint {
        self.log.checkpoint()
    }

    /// Last seq in the warehouse.
    pub fn projected(&self) -> i64 {
        self.manifest.last_seq
    }

    /// The generation committed last.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// The warehouse folder.
    pub fn warehouse(&self) -> &Path {
        &self.warehouse
    }

    /// Records a generation committed by a maintenance operation.
    pub(crate) fn set_manifest(&mut self, m: Manifest) {
        self.manifest = m;
    }

    /// Projects the events logged but not yet in the warehouse (a step that failed after
    /// logging them, a crash), in order, reading only the log's segments that hold them.
    fn catch_up(&mut self) -> Result<()> {
        if self.manifest.last_seq >= self.log.checkpoint().last_seq {
            return Ok(());
        }
        let dir = self.log.dir().to_path_buf();
        let checkpoint = self.log.checkpoint().clone();
        let after = self.manifest.last_seq;
        let chunk = CATCH_UP.max(self.options.batch.max(1) as usize);
        let mut pending = Vec::new();
        replay(&dir, &checkpoint, after, |r| {
            pending.push(r);
            if pending.len() >= chunk {
                self.project(&pending)?;
                pending.clear();
            }
            Ok(())
        })?;
        self.project(&pending)
    }

    /// Applies `records` to the partitions they touch, writes those and the raw events as
    /// files of the next generation, and commits it.
    fn project(&mut self, records: &[EventRecord]) -> Result<()> {
        let Some(last) = records.last().map(|r| r.seq) else { return Ok(()) };
        // Checked before anything is written: a refused event leaves the warehouse as it was.
        for r in records {
            check_fits(r)?;
        }
        let root = self.warehouse.clone();
        let mut next = self.manifest.next();
        let generation = next.generation;
        let mut retired = Vec::new();
        let by_season = event_rows(records);
        {
            let refs = read_refs(&root, &self.manifest)?;
            let mut state = State::new(
                Source {
                    root: &root,
                    manifest: Some(&self.manifest),
                },
                refs,
            );
            for r in records {
                state.apply(r)?;
            }
            state.finish()?;
            for (season, rows) in &by_season {
                let first = rows.first().map(|r| r.seq).unwrap_or(last);
                let end = rows.last().map(|r| r.seq).unwrap_or(last);
                let f = write_file(&root, Table::Events, season, generation, (first, end), &event_batch(rows)?)?;
                next.add(Table::Events, f);
                crate::crash_point();
            }
            for d in state.dirty() {
                write_dirty(&root, Some(&self.manifest), &mut next, generation, &d, &mut retired)?;
                crate::crash_point();
            }
            if state.refs_changed {
                write_refs(&root, &state.refs, &mut next, generation)?;
            }
        }
        next.commit(&root, last)?;
        self.manifest = next;
        crate::crash_point();
        retire(&root, &retired)?;
        crate::crash_point();
        for season in by_season.keys() {
            self.compact(season, self.options.compact_after)?;
        }
        // A past season gets no new events: once a catch-up has moved on from it, its files
        // are merged into one, so that the manifest (read at every start) stops growing.
        let events = self.manifest.table(Table::Events);
        let newest = events.iter().map(|f| f.season.as_str()).max().map(str::to_string);
        let past: std::collections::BTreeSet<String> = events
            .iter()
            .filter(|f| Some(f.season.as_str()) < newest.as_deref())
            .map(|f| f.season.clone())
            .collect();
        for season in past {
            self.compact(&season, 1)?;
        }
        Ok(())
    }

    /// Merges the `events` files of `season` into one, as a generation of its own, once there
    /// are more than `more_than`.
    fn compact(&mut self, season: &str, more_than: usize) -> Result<()> {
        let files: Vec<_> = self.manifest.partition(Table::Events, season).cloned().collect();
        if files.len() <= more_than {
            return Ok(());
        }
        let root = self.warehouse.clone();
        let mut batches = Vec::with_capacity(files.len());
        for f in &files {
            batches.push(read_file(&root, Table::Events, f)?);
        }
        let merged = parterre_warehouse::arrow::compute::concat_batches(&Table::Events.schema(), &batches)
            .map_err(parterre_warehouse::WarehouseError::from)?;
        let seqs = files
            .iter()
            .map(|f| f.seqs)
            .fold((i64::MAX, i64::MIN), |a, b| (a.0.min(b.0), a.1.max(b.1)));
        let mut next = self.manifest.next();
        let f = write_file(&root, Table::Events, season, next.generation, seqs, &merged)?;
        crate::crash_point();
        let paths: Vec<String> = files.into_iter().map(|f| f.path).collect();
        let retired = next.swap(Table::Events, &paths, Some(f));
        next.commit(&root, self.manifest.last_seq)?;
        self.manifest = next;
        crate::crash_point();
        retire(&root, &retired)?;
        crate::crash_point();
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
        blocking(|| self.catch_up())?;
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

    /// Deletes what the grace period no longer protects (`_history/`, old manifests) on a
    /// thread of its own, unless a sweep is already running: after a long catch-up there may be
    /// thousands of files to look at, and neither the start nor a step waits for them.
    fn sweep_in_background(&self) {
        if self.sweeping.swap(true, Ordering::AcqRel) {
            return;
        }
        let (root, grace, sweeping) = (self.warehouse.clone(), self.options.grace, self.sweeping.clone());
        let spawned = std::thread::Builder::new().name("parterre-sweep".into()).spawn(move || {
            let swept = sweep(&root, grace);
            if swept > 0 {
                tracing::info!(
                    "entrepôt : {swept} fichiers remplacés depuis plus de {} s supprimés",
                    grace.as_secs()
                );
            }
            sweeping.store(false, Ordering::Release);
        });
        if let Err(e) = spawned {
            tracing::warn!("entrepôt : nettoyage de _history/ non lancé : {e}");
            self.sweeping.store(false, Ordering::Release);
        }
    }

    /// Deletes the outbox rows that have been in the log for longer than the retention
    /// (counted from when they were logged, whatever their own date), at most every 10 minutes.
    async fn prune(&mut self, store: &Store) -> Result<()> {
        if self.last_prune.is_some_and(|t| t.elapsed() < Duration::from_secs(600)) {
            return Ok(());
        }
        self.last_prune = Some(Instant::now());
        self.sweep_in_background();
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
                    follow.projected.send_replace(self.manifest.last_seq);
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

/// How far behind the warehouse is, and the counts to reconcile it with the core.
#[derive(Debug, Clone, Serialize)]
pub struct Status {
    /// Last event committed in the core.
    pub outbox_last_seq: i64,
    /// Last event in the Avro log.
    pub logged_seq: i64,
    /// Last event in the warehouse.
    pub projected_seq: i64,
    /// The warehouse's manifest generation (what queries read).
    pub generation: u64,
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
    let manifest = Manifest::readable(&wh);
    let projected = manifest.last_seq;
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
        generation: manifest.generation,
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
