//! Writing and reading the warehouse's files: each written once under a name of its own
//! (`<table>/season=<season>/part-<generation>.parquet`), never rewritten.
//!
//! A file is written to a hidden temporary name, flushed, renamed and its folder flushed; it
//! only becomes visible to readers when a manifest that lists it is committed
//! ([`crate::manifest`]). Reading one back (the projection reads the partitions it changes)
//! checks it against its manifest entry: present, of the listed size and row count, or the
//! path is named in the error. Only the pipeline (and the benchmark's generator) write here.

use crate::catalog::{is_season, Table};
use crate::manifest::{resolve, sync_dir, FileEntry};
use crate::{Result, WarehouseError};
use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::datatypes::Int64Type;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::parquet::basic::Compression;
use datafusion::parquet::file::properties::{EnabledStatistics, WriterProperties};
use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};

/// Folder of a table's partition: `ROOT/<table>/season=<season>`.
pub fn partition_dir(root: &Path, table: Table, season: &str) -> PathBuf {
    root.join(table.name()).join(format!("season={season}"))
}

/// The path under the root of the file `generation` writes for `table` in `season`.
pub fn file_path(table: Table, season: &str, generation: u64) -> String {
    format!("{}/season={season}/part-{generation:012}.parquet", table.name())
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

/// The smallest and largest value of each lookup key of `table` in `batch`.
fn key_ranges(table: Table, batch: &RecordBatch) -> BTreeMap<String, (i64, i64)> {
    let mut out = BTreeMap::new();
    for k in table.key_columns() {
        let Some(col) = batch.column_by_name(k) else { continue };
        let Some(a) = col.as_primitive_opt::<Int64Type>() else { continue };
        let lo = datafusion::arrow::compute::min(a);
        let hi = datafusion::arrow::compute::max(a);
        if let (Some(lo), Some(hi)) = (lo, hi) {
            out.insert((*k).to_string(), (lo, hi));
        }
    }
    out
}

/// Writes `batch` (already sorted, not empty) as the file of `generation` for `table` in
/// `season`, holding the effects of events `seqs`. Returns its manifest entry.
pub fn write_file(root: &Path, table: Table, season: &str, generation: u64, seqs: (i64, i64), batch: &RecordBatch) -> Result<FileEntry> {
    if !is_season(season) {
        return Err(WarehouseError::Io(format!("nom de saison invalide : {season}")));
    }
    let rel = file_path(table, season, generation);
    let path = root.join(&rel);
    let dir = path.parent().unwrap_or(root);
    std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
    let tmp = dir.join(format!(".part-{generation:012}.parquet.tmp"));
    let file = File::create(&tmp).map_err(|e| io(&tmp, e))?;
    let mut w = ArrowWriter::try_new(file, batch.schema(), Some(properties(table, batch.num_rows())))?;
    w.write(batch)?;
    let file = w.into_inner()?;
    file.sync_all().map_err(|e| io(&tmp, e))?;
    let bytes = file.metadata().map_err(|e| io(&tmp, e))?.len();
    drop(file);
    std::fs::rename(&tmp, &path).map_err(|e| io(&path, e))?;
    sync_dir(dir)?;
    Ok(FileEntry {
        path: rel,
        season: season.to_string(),
        rows: batch.num_rows() as u64,
        bytes,
        seqs,
        keys: key_ranges(table, batch),
    })
}

/// Reads a live file back whole, checking it against its manifest entry (present, same size,
/// same row count): a mismatch names the path and what differs.
pub fn read_file(root: &Path, table: Table, entry: &FileEntry) -> Result<RecordBatch> {
    let path = resolve(root, &entry.path);
    let bad = |what: String| {
        WarehouseError::Io(format!(
            "{} ne correspond pas au manifeste : {what} ; l'entrepôt reste à la génération précédente, \
             reconstruisez-le (parterre pipeline rebuild)",
            path.display()
        ))
    };
    let file = File::open(&path).map_err(|e| bad(format!("fichier absent ({e})")))?;
    let len = file.metadata().map_err(|e| io(&path, e))?.len();
    if len != entry.bytes {
        return Err(bad(format!("{len} octets au lieu de {}", entry.bytes)));
    }
    let builder = ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| bad(format!("illisible ({e})")))?;
    let rows = builder.metadata().file_metadata().num_rows();
    if rows != entry.rows as i64 {
        return Err(bad(format!("{rows} lignes au lieu de {}", entry.rows)));
    }
    let reader = builder.with_batch_size(64 * 1024).build()?;
    let batches = reader
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| bad(format!("illisible ({e})")))?;
    // Read with the catalogue's schema: a file written by an older version with fewer
    // columns would fail here rather than be silently misread.
    let schema = table.schema();
    if batches.first().is_some_and(|b| b.schema().fields() != schema.fields()) {
        return Err(bad("colonnes différentes du catalogue".into()));
    }
    Ok(datafusion::arrow::compute::concat_batches(&schema, &batches)?)
}

/// Rows of `batch` whose `column` is not in `values`, and how many went (the erasure of given
/// people's rows).
pub fn without(batch: &RecordBatch, column: &str, values: &std::collections::HashSet<i64>) -> Result<(RecordBatch, usize)> {
    let Some(col) = batch.column_by_name(column) else {
        return Ok((batch.clone(), 0));
    };
    let Some(a) = col.as_primitive_opt::<Int64Type>() else {
        return Err(WarehouseError::Io(format!("{column} n'est pas une colonne d'identifiants")));
    };
    let keep: datafusion::arrow::array::BooleanArray = (0..a.len()).map(|i| Some(a.is_null(i) || !values.contains(&a.value(i)))).collect();
    let gone = keep.iter().filter(|k| *k == Some(false)).count();
    Ok((datafusion::arrow::compute::filter_record_batch(batch, &keep)?, gone))
}
