//! Whole-warehouse operations, each committed as one generation like a step: the rebuild
//! from the log alone, the purge of given rows (GDPR erasure calls it), and the rollups of a
//! warehouse written without a pipeline (the benchmark's).
//!
//! Both run under the pipeline's lock. A crash during either leaves the generation before
//! readable; the files it had written are deleted at the next start.

use crate::log::{EventLog, EventRecord};
use crate::pipeline::{events_dir, io, lock, warehouse_dir, write_dirty, write_refs, Pipeline};
use crate::project::parts::Source;
use crate::project::{check_fits, event_batch, event_rows, Refs, State};
use crate::{PipelineError, Result};
use parterre_warehouse::catalog::Table;
use parterre_warehouse::manifest::{newest_generation, settle, FileEntry, Manifest, HISTORY_DIR};
use parterre_warehouse::write::{read_file, without, write_file};
use std::collections::HashSet;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// Rebuilds the warehouse from the log alone, as one new generation: every event replayed,
/// the partitions written in parallel (one thread per core), then committed; the files of the
/// generation before move to `_history/`. An unreadable manifest does not stop it (this is
/// the way out of one). `progress(done, total)` is called as events are read. Returns the
/// events replayed.
pub fn rebuild(data: &Path, mut progress: impl FnMut(u64, u64)) -> Result<u64> {
    let events = events_dir(data);
    let _lock = lock(&events)?;
    let log = EventLog::open(&events)?;
    let total = log.checkpoint().events;
    let root = warehouse_dir(data);
    std::fs::create_dir_all(&root).map_err(|e| io(&root, e))?;
    let mut generation = newest_generation(&root).unwrap_or(0) + 1;
    let mut next = Manifest::empty();
    let mut state = State::new(
        Source {
            root: &root,
            manifest: None,
        },
        Refs::default(),
    );
    let mut buffer: Vec<EventRecord> = Vec::new();
    let mut done = 0u64;
    // Raw events go out in blocks (their payloads are the bulk), each block a generation number
    // of its own so that the files of one partition never share a name.
    let flush = |buffer: &mut Vec<EventRecord>, next: &mut Manifest, generation: &mut u64| -> Result<()> {
        for (season, rows) in event_rows(buffer) {
            let first = rows.first().map(|r| r.seq).unwrap_or(0);
            let end = rows.last().map(|r| r.seq).unwrap_or(0);
            next.add(
                Table::Events,
                write_file(&root, Table::Events, &season, *generation, (first, end), &event_batch(&rows)?)?,
            );
        }
        *generation += 1;
        buffer.clear();
        Ok(())
    };
    crate::log::replay(&events, log.checkpoint(), 0, |r| {
        check_fits(&r)?;
        state.apply(&r)?;
        buffer.push(r);
        done += 1;
        if buffer.len() >= 200_000 {
            flush(&mut buffer, &mut next, &mut generation)?;
        }
        if done.is_multiple_of(10_000) {
            progress(done, total);
        }
        Ok(())
    })?;
    flush(&mut buffer, &mut next, &mut generation)?;
    progress(done, total);
    next.generation = generation;
    state.finish()?;
    write_partitions(&root, &state, &mut next)?;
    if state.refs != Refs::default() {
        write_refs(&root, &state.refs, &mut next, generation)?;
    }
    next.commit(&root, log.checkpoint().last_seq)?;
    settle(&root, &next)?;
    let legacy = root.join("_projection.json");
    if legacy.exists() {
        std::fs::remove_file(&legacy).map_err(|e| io(&legacy, e))?;
    }
    Ok(done)
}

/// Writes every partition of `state` as files of `next`'s generation, on one thread per core.
fn write_partitions(root: &Path, state: &State<'_>, next: &mut Manifest) -> Result<()> {
    let dirty = state.dirty();
    let generation = next.generation;
    let at = AtomicUsize::new(0);
    let written: Mutex<Vec<(Table, String, Option<FileEntry>)>> = Mutex::new(Vec::new());
    let failed: Mutex<Option<PipelineError>> = Mutex::new(None);
    let threads = std::thread::available_parallelism()
        .map(usize::from)
        .unwrap_or(2)
        .min(dirty.len().max(1));
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| loop {
                let i = at.fetch_add(1, Ordering::Relaxed);
                let Some(d) = dirty.get(i) else { break };
                let mut one = Manifest::empty();
                let mut retired = Vec::new();
                match write_dirty(root, None, &mut one, generation, d, &mut retired) {
                    Ok(()) => {
                        let file = one.table(d.table).first().cloned();
                        written
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .push((d.table, d.season.clone(), file));
                    }
                    Err(e) => {
                        failed.lock().unwrap_or_else(|e| e.into_inner()).get_or_insert(e);
                        break;
                    }
                }
            });
        }
    });
    if let Some(e) = failed.into_inner().unwrap_or_else(|e| e.into_inner()) {
        return Err(e);
    }
    for (table, season, file) in written.into_inner().unwrap_or_else(|e| e.into_inner()) {
        next.replace_partition(table, &season, file);
    }
    Ok(())
}

/// What a purge removed.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Purged {
    /// Rows removed from the live files.
    pub rows: usize,
    /// Files of `_history/` deleted because they held some of those rows.
    pub history_files: usize,
}

impl Pipeline {
    /// Removes the rows of `table` whose `column` is one of `ids`, from the live files (a new
    /// generation without them; the files it replaces are deleted, not kept in `_history/`)
    /// and from `_history/` (each file there holding any is deleted). Idempotent: after a
    /// crash, run it again.
    pub fn purge(&mut self, table: Table, column: &str, ids: &[i64]) -> Result<Purged> {
        if table.schema().field_with_name(column).is_err() {
            return Err(PipelineError::Io(format!("{} n'a pas de colonne {column}", table.name())));
        }
        let ids: HashSet<i64> = ids.iter().copied().collect();
        let root = warehouse_dir_of(self);
        let mut next = self.manifest().next();
        let generation = next.generation;
        let mut out = Purged::default();
        let mut superseded = Vec::new();
        let key = table.key_columns().contains(&column);
        let seasons: std::collections::BTreeSet<String> = self.manifest().table(table).iter().map(|f| f.season.clone()).collect();
        for season in seasons {
            // A lookup key's range tells which files cannot hold any of the ids.
            let files: Vec<FileEntry> = self
                .manifest()
                .partition(table, &season)
                .filter(|f| !key || ids.iter().any(|id| f.may_hold(column, *id)))
                .cloned()
                .collect();
            let mut kept = Vec::new();
            let mut gone = 0;
            for f in &files {
                let (b, n) = without(&read_file(&root, table, f)?, column, &ids)?;
                gone += n;
                kept.push(b);
            }
            if gone == 0 {
                continue;
            }
            out.rows += gone;
            let merged = parterre_warehouse::arrow::compute::concat_batches(&table.schema(), &kept)
                .map_err(parterre_warehouse::WarehouseError::from)?;
            let seqs = files
                .iter()
                .map(|f| f.seqs)
                .fold((i64::MAX, i64::MIN), |a, b| (a.0.min(b.0), a.1.max(b.1)));
            let file = if merged.num_rows() == 0 {
                None
            } else {
                Some(write_file(&root, table, &season, generation, seqs, &merged)?)
            };
            let paths: Vec<String> = files.into_iter().map(|f| f.path).collect();
            superseded.extend(next.swap(table, &paths, file));
        }
        if !superseded.is_empty() {
            next.commit(&root, self.manifest().last_seq)?;
            self.set_manifest(next);
            for p in &superseded {
                let path = root.join(p);
                std::fs::remove_file(&path).map_err(|e| io(&path, e))?;
            }
        }
        out.history_files = purge_history(&root, table, column, &ids)?;
        Ok(out)
    }
}

fn warehouse_dir_of(p: &Pipeline) -> std::path::PathBuf {
    p.warehouse().to_path_buf()
}

/// Deletes the files of `_history/<table>/` holding a row whose `column` is in `ids`.
fn purge_history(root: &Path, table: Table, column: &str, ids: &HashSet<i64>) -> Result<usize> {
    use parterre_warehouse::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    let mut gone = 0;
    let dir = root.join(HISTORY_DIR).join(table.name());
    for season in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
        for e in std::fs::read_dir(season.path()).into_iter().flatten().flatten() {
            let path = e.path();
            let holds = (|| -> Result<bool> {
                let f = std::fs::File::open(&path).map_err(|e| io(&path, e))?;
                let reader = ParquetRecordBatchReaderBuilder::try_new(f)
                    .and_then(|b| b.build())
                    .map_err(|e| io(&path, e))?;
                for b in reader {
                    let b = b.map_err(|e| io(&path, e))?;
                    if without(&b, column, ids)?.1 > 0 {
                        return Ok(true);
                    }
                }
                Ok(false)
            })();
            // A file that cannot be read is deleted too: nothing may be left that could hold them.
            // One the sweep deleted meanwhile is gone already.
            if holds.unwrap_or(true) {
                match std::fs::remove_file(&path) {
                    Ok(()) => gone += 1,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => return Err(io(&path, e)),
                }
            }
        }
    }
    Ok(gone)
}

/// Recomputes every rollup of the warehouse at `root` from its facts, as one new generation.
/// For a warehouse written without a pipeline (the benchmark's synthetic one); a running
/// pipeline keeps its rollups current by itself.
pub fn write_rollups(root: &Path) -> Result<u64> {
    let current = Manifest::latest(root)?.ok_or_else(|| PipelineError::Io(format!("{} : aucune génération", root.display())))?;
    let mut next = current.next();
    let generation = next.generation;
    let seasons: std::collections::BTreeSet<String> = [Table::FactTicket, Table::DimPerformance]
        .into_iter()
        .flat_map(|t| current.table(t).iter().map(|f| f.season.clone()))
        .collect();
    let mut state = State::new(
        Source {
            root,
            manifest: Some(&current),
        },
        Refs::default(),
    );
    state.load_for_rollups(&seasons)?;
    let mut retired = Vec::new();
    for d in state.rollups(&seasons) {
        write_dirty(root, Some(&current), &mut next, generation, &d, &mut retired)?;
    }
    next.commit(root, current.last_seq)?;
    parterre_warehouse::manifest::retire(root, &retired)?;
    Ok(generation)
}
