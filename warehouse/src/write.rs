//! Writing the warehouse: one Parquet file per table and season, replaced atomically.
//!
//! Files are immutable: a partition is rewritten whole into a hidden temporary file, flushed
//! to disk, then renamed over the old one, so a reader (or a crash) sees the old partition or
//! the new one, never half of one. Only the pipeline writes here.

use crate::catalog::{is_season, Table};
use crate::{Result, WarehouseError};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::parquet::basic::Compression;
use datafusion::parquet::file::properties::{EnabledStatistics, WriterProperties};
use std::fs::File;
use std::path::{Path, PathBuf};

/// The one file of a partition.
pub const PART_FILE: &str = "part-0.parquet";

/// Folder of a table's partition: `ROOT/<table>/season=<season>`.
pub fn partition_dir(root: &Path, table: Table, season: &str) -> PathBuf {
    root.join(table.name()).join(format!("season={season}"))
}

fn io(what: &Path, e: impl std::fmt::Display) -> WarehouseError {
    WarehouseError::Io(format!("{} : {e}", what.display()))
}

/// Writer settings: Snappy pages (cheap to decode), page statistics, bloom filters on the
/// table's lookup columns, rows kept in the order the caller sorted them.
fn properties(table: Table, rows: usize) -> WriterProperties {
    let mut b = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_statistics_enabled(EnabledStatistics::Page)
        .set_max_row_group_row_count(Some(256 * 1024));
    for c in table.bloom_columns() {
        b = b
            .set_column_bloom_filter_enabled((*c).into(), true)
            .set_column_bloom_filter_max_ndv((*c).into(), rows.max(1) as u64)
            .set_column_bloom_filter_fpp((*c).into(), 0.01);
    }
    b.build()
}

/// Replaces the partition `season` of `table` with `batch` (already sorted). An empty batch
/// removes the partition.
pub fn write_partition(root: &Path, table: Table, season: &str, batch: &RecordBatch) -> Result<()> {
    if !is_season(season) {
        return Err(WarehouseError::Io(format!("nom de saison invalide : {season}")));
    }
    let dir = partition_dir(root, table, season);
    let target = dir.join(PART_FILE);
    if batch.num_rows() == 0 {
        if target.exists() {
            std::fs::remove_file(&target).map_err(|e| io(&target, e))?;
            sync_dir(&dir)?;
        }
        return Ok(());
    }
    write_file(&target, table, batch)
}

/// Makes a rename or a removal in `dir` durable.
pub fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir).and_then(|d| d.sync_all()).map_err(|e| io(dir, e))
}

/// Seasons that have a partition of `table`.
pub fn seasons(root: &Path, table: Table) -> Vec<String> {
    let mut out: Vec<String> = std::fs::read_dir(root.join(table.name()))
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_str().and_then(|n| n.strip_prefix("season=")).map(str::to_string))
        .filter(|s| is_season(s))
        .collect();
    out.sort();
    out
}

/// Removes leftovers of interrupted writes (hidden temporary files).
pub fn clean(root: &Path) {
    for t in crate::catalog::TABLES {
        for s in seasons(root, t) {
            for e in std::fs::read_dir(partition_dir(root, t, &s)).into_iter().flatten().flatten() {
                let name = e.file_name();
                let name = name.to_string_lossy();
                if name.starts_with('.') && name.ends_with(".tmp") {
                    let _ = std::fs::remove_file(e.path());
                }
            }
        }
    }
}

/// Name of an appended file holding rows with seq `first..=last`.
pub fn seq_file(first: i64, last: i64) -> String {
    format!("seq-{first:012}-{last:012}.parquet")
}

/// The seq range of an appended file's name.
pub fn seq_range(name: &str) -> Option<(i64, i64)> {
    let core = name.strip_prefix("seq-")?.strip_suffix(".parquet")?;
    let (a, b) = core.split_once('-')?;
    Some((a.parse().ok()?, b.parse().ok()?))
}

fn seq_files(dir: &Path) -> Vec<(i64, i64, PathBuf)> {
    let mut out: Vec<(i64, i64, PathBuf)> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let name = e.file_name();
            let (a, b) = seq_range(name.to_str()?)?;
            Some((a, b, e.path()))
        })
        .collect();
    out.sort();
    out
}

fn write_file(path: &Path, table: Table, batch: &RecordBatch) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
    let tmp = dir.join(format!(".{}.tmp", path.file_name().and_then(|n| n.to_str()).unwrap_or("part")));
    let file = File::create(&tmp).map_err(|e| io(&tmp, e))?;
    let mut w = ArrowWriter::try_new(file, batch.schema(), Some(properties(table, batch.num_rows())))?;
    w.write(batch)?;
    let file = w.into_inner()?;
    file.sync_all().map_err(|e| io(&tmp, e))?;
    drop(file);
    std::fs::rename(&tmp, path).map_err(|e| io(path, e))?;
    sync_dir(dir)
}

/// Adds a file of rows with seq `first..=last` to an append-only table (`events`).
pub fn append_file(root: &Path, table: Table, season: &str, first: i64, last: i64, batch: &RecordBatch) -> Result<()> {
    if !is_season(season) {
        return Err(WarehouseError::Io(format!("nom de saison invalide : {season}")));
    }
    if batch.num_rows() == 0 {
        return Ok(());
    }
    write_file(&partition_dir(root, table, season).join(seq_file(first, last)), table, batch)
}

/// Brings an append-only table back to `upto`: removes files started after it (written by a
/// flush whose checkpoint never came) and files whose range another file covers (left by an
/// interrupted compaction).
pub fn trim_appended(root: &Path, table: Table, upto: i64) -> Result<()> {
    for s in seasons(root, table) {
        let dir = partition_dir(root, table, &s);
        let files = seq_files(&dir);
        for (a, b, p) in &files {
            let covered = files.iter().any(|(a2, b2, p2)| p2 != p && a2 <= a && b <= b2 && (a2, b2) != (a, b));
            if *a > upto || covered {
                std::fs::remove_file(p).map_err(|e| io(p, e))?;
            }
        }
        sync_dir(&dir)?;
    }
    Ok(())
}

/// Merges the files of an append-only partition into one once there are more than
/// `max_files`: the merged file is written first, then the small ones go.
pub fn compact(root: &Path, table: Table, season: &str, max_files: usize) -> Result<bool> {
    use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    let dir = partition_dir(root, table, season);
    let files = seq_files(&dir);
    if files.len() <= max_files {
        return Ok(false);
    }
    let mut batches = Vec::new();
    for (_, _, p) in &files {
        let f = File::open(p).map_err(|e| io(p, e))?;
        let reader = ParquetRecordBatchReaderBuilder::try_new(f)?.build()?;
        for b in reader {
            batches.push(b?);
        }
    }
    let merged = datafusion::arrow::compute::concat_batches(&table.schema(), &batches)?;
    let first = files.first().map(|f| f.0).unwrap_or(0);
    let last = files.iter().map(|f| f.1).max().unwrap_or(0);
    write_file(&dir.join(seq_file(first, last)), table, &merged)?;
    for (a, b, p) in &files {
        if (*a, *b) != (first, last) {
            std::fs::remove_file(p).map_err(|e| io(p, e))?;
        }
    }
    sync_dir(&dir)?;
    Ok(true)
}
