//! The warehouse's generations seen from outside: a step reads nothing of the log it has
//! already projected, a purge leaves no trace of the rows in live files nor in `_history/`,
//! and a damaged file or manifest stops the pipeline with its path while queries go on
//! answering from the last good generation.

mod common;

use common::{demo_venue, scratch};
use parterre_core::{outbox, Store};
use parterre_pipelines::{Options, Pipeline};
use parterre_warehouse::arrow::array::{Array, Int64Array};
use parterre_warehouse::catalog::Table;
use parterre_warehouse::manifest::{Manifest, HISTORY_DIR, MANIFEST_DIR};
use parterre_warehouse::Warehouse;
use std::path::{Path, PathBuf};

async fn one(w: &Warehouse, sql: &str) -> i64 {
    let r = w.query(sql, Default::default()).await.unwrap();
    r.rows[0][0].as_i64().unwrap()
}

/// A demo venue with `orders` orders sold, and its season's id.
async fn venue(data: &Path, orders: usize) -> (Store, i64) {
    let (store, season) = demo_venue(data).await;
    parterre_core::demo::sales::sell(&store, season.id, 0, orders, 3).await.unwrap();
    (store, season.id)
}

/// Every `.parquet` file under `dir`.
fn parquet_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                todo.push(p);
            } else if p.extension().is_some_and(|x| x == "parquet") {
                out.push(p);
            }
        }
    }
    out
}

/// The values of `column` in the parquet file `path`.
fn column_values(path: &Path, column: &str) -> Vec<Option<i64>> {
    use parterre_warehouse::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    let reader = ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(path).unwrap())
        .unwrap()
        .build()
        .unwrap();
    let mut out = Vec::new();
    for b in reader {
        let b = b.unwrap();
        let c = b
            .column_by_name(column)
            .unwrap()
            .as_any()
            .downcast_ref::<Int64Array>()
            .unwrap()
            .clone();
        out.extend((0..c.len()).map(|i| c.is_valid(i).then(|| c.value(i))));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_step_reads_nothing_of_the_log_it_has_already_projected() {
    let data = scratch("noreplay");
    let (store, season) = venue(&data, 20).await;
    let mut p = Pipeline::open(&data, Options::default()).unwrap();
    p.step(&store).await.unwrap();
    drop(p);
    // Every byte logged so far is garbled (the lengths stay): a start or a step that read
    // them back would fail on the first.
    let events = data.join("events");
    let mut garbled = 0;
    for e in std::fs::read_dir(&events).unwrap().flatten() {
        let path = e.path();
        if path.extension().is_some_and(|x| x == "avro") {
            let len = std::fs::metadata(&path).unwrap().len() as usize;
            std::fs::write(&path, vec![0xA5u8; len]).unwrap();
            garbled += 1;
        }
    }
    assert!(garbled > 0, "no segment found in {}", events.display());

    parterre_core::demo::sales::sell(&store, season, 20, 20, 4).await.unwrap();
    let mut p = Pipeline::open(&data, Options::default()).expect("the start reads the log it projected");
    let moved = p.step(&store).await.expect("the step reads the log it projected");
    assert!(moved > 0);
    drop(p);
    let w = Warehouse::open(&data.join("warehouse")).await.unwrap();
    let counts = outbox::counts(&store).await.unwrap();
    assert_eq!(one(&w, "SELECT count(*) FROM fact_ticket").await, counts.tickets);
    assert_eq!(one(&w, "SELECT count(*) FROM fact_order").await, counts.orders);
    assert_eq!(
        one(&w, "SELECT count(*) FROM events").await,
        outbox::last_seq(&store).await.unwrap()
    );
    // The garbling was real: a rebuild, which does read the log, refuses it.
    let e = parterre_pipelines::pipeline::rebuild(&data, |_, _| {}).unwrap_err().to_string();
    assert!(e.contains("events"), "{e}");
    store.close().await;
    let _ = std::fs::remove_dir_all(&data);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_purge_removes_the_rows_from_live_files_and_from_history() {
    let data = scratch("purge");
    let (store, season) = venue(&data, 15).await;
    let mut p = Pipeline::open(&data, Options::default()).unwrap();
    p.step(&store).await.unwrap();
    // A second step rewrites the partitions: the first files go to `_history/`.
    parterre_core::demo::sales::sell(&store, season, 15, 15, 5).await.unwrap();
    p.step(&store).await.unwrap();
    let wh = data.join("warehouse");
    let history = wh.join(HISTORY_DIR).join(Table::FactTicket.name());
    assert!(!parquet_files(&history).is_empty(), "nothing in {}", history.display());

    let w = Warehouse::open(&wh).await.unwrap();
    let buyer = one(&w, "SELECT min(buyer_id) FROM fact_ticket").await;
    let theirs = one(&w, &format!("SELECT count(*) FROM fact_ticket WHERE buyer_id = {buyer}")).await;
    let total = one(&w, "SELECT count(*) FROM fact_ticket").await;
    assert!(theirs > 0);
    let in_history = parquet_files(&history)
        .iter()
        .filter(|f| column_values(f, "buyer_id").contains(&Some(buyer)))
        .count();
    assert!(in_history > 0, "the buyer's earlier tickets should be in _history before the purge");
    drop(w);

    let e = p.purge(Table::FactTicket, "no_such_column", &[buyer]).unwrap_err().to_string();
    assert!(e.contains("no_such_column"), "{e}");
    let purged = p.purge(Table::FactTicket, "buyer_id", &[buyer]).unwrap();
    assert_eq!(purged.rows as i64, theirs);
    assert_eq!(purged.history_files, in_history);

    let w = Warehouse::open(&wh).await.unwrap();
    assert_eq!(
        one(&w, &format!("SELECT count(*) FROM fact_ticket WHERE buyer_id = {buyer}")).await,
        0
    );
    assert_eq!(one(&w, "SELECT count(*) FROM fact_ticket").await, total - theirs, "others kept");
    for f in parquet_files(&wh) {
        if f.to_string_lossy().contains(Table::FactTicket.name()) {
            assert!(
                !column_values(&f, "buyer_id").contains(&Some(buyer)),
                "{} still holds the purged buyer",
                f.display()
            );
        }
    }
    // Purging again finds nothing; the pipeline goes on from the purged generation.
    assert_eq!(p.purge(Table::FactTicket, "buyer_id", &[buyer]).unwrap().rows, 0);
    parterre_core::demo::sales::sell(&store, season, 30, 5, 6).await.unwrap();
    p.step(&store).await.unwrap();
    let w = Warehouse::open(&wh).await.unwrap();
    assert!(one(&w, "SELECT count(*) FROM fact_ticket").await > total - theirs);
    store.close().await;
    let _ = std::fs::remove_dir_all(&data);
}

/// The live file of `table` in the newest generation.
fn live_file(wh: &Path, table: Table) -> PathBuf {
    let m = Manifest::latest(wh).unwrap().unwrap();
    wh.join(&m.table(table)[0].path)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_damaged_file_or_manifest_stops_the_pipeline_named_and_queries_answer_from_the_last_good_generation() {
    let data = scratch("damaged");
    let (store, season) = venue(&data, 10).await;
    let wh = data.join("warehouse");
    let mut p = Pipeline::open(&data, Options::default()).unwrap();
    p.step(&store).await.unwrap();
    let good = one(&Warehouse::open(&wh).await.unwrap(), "SELECT count(*) FROM fact_ticket").await;
    parterre_core::demo::sales::sell(&store, season, 10, 10, 8).await.unwrap();
    p.step(&store).await.unwrap();
    let newer = Warehouse::open(&wh).await.unwrap();
    let later = one(&newer, "SELECT count(*) FROM fact_ticket").await;
    assert!(later > good);
    let damaged_gen = newer.generation();
    drop(newer);

    for (round, damage) in ["truncated", "missing"].into_iter().enumerate() {
        let file = live_file(&wh, Table::FactTicket);
        let saved = std::fs::read(&file).unwrap();
        if damage == "truncated" {
            std::fs::write(&file, &saved[..saved.len() / 2]).unwrap();
        } else {
            std::fs::remove_file(&file).unwrap();
        }
        // Readers skip the damaged generation for the one before it, whole.
        let w = Warehouse::open(&wh).await.unwrap();
        assert!(
            w.generation() < damaged_gen,
            "{damage}: still reading generation {}",
            w.generation()
        );
        assert_eq!(one(&w, "SELECT count(*) FROM fact_ticket").await, good, "{damage}");
        // The pipeline refuses to build on it, naming the file.
        parterre_core::demo::sales::sell(&store, season, 100 + 2 * round as u64, 2, 9)
            .await
            .unwrap();
        let e = p.step(&store).await.unwrap_err().to_string();
        let name = file.file_name().unwrap().to_string_lossy().to_string();
        assert!(e.contains(&name), "{damage}: {e}");
        assert_eq!(
            Manifest::latest(&wh).unwrap().unwrap().generation,
            damaged_gen,
            "{damage}: nothing committed"
        );
        std::fs::write(&file, &saved).unwrap();
    }
    // Repaired, the pipeline goes on with what it had refused.
    p.step(&store).await.unwrap();
    let w = Warehouse::open(&wh).await.unwrap();
    assert_eq!(
        one(&w, "SELECT count(*) FROM fact_ticket").await,
        outbox::counts(&store).await.unwrap().tickets
    );
    drop(w);
    drop(p);

    // A manifest that does not parse: the pipeline does not start, readers use the one before.
    let m = Manifest::latest(&wh).unwrap().unwrap();
    let bad = wh.join(MANIFEST_DIR).join(format!("{:012}.json", m.generation + 1));
    std::fs::write(&bad, b"{\"format\": 1, \"generation\": ").unwrap();
    let e = Pipeline::open(&data, Options::default()).unwrap_err().to_string();
    assert!(e.contains(&bad.file_name().unwrap().to_string_lossy().to_string()), "{e}");
    let w = Warehouse::open(&wh).await.unwrap();
    assert_eq!(w.generation(), m.generation);
    assert_eq!(
        one(&w, "SELECT count(*) FROM fact_ticket").await,
        outbox::counts(&store).await.unwrap().tickets
    );
    store.close().await;
    let _ = std::fs::remove_dir_all(&data);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_warehouse_of_an_older_format_is_rebuilt_from_the_log_at_the_next_start() {
    let data = scratch("oldformat");
    let (store, _) = venue(&data, 15).await;
    let mut p = Pipeline::open(&data, Options::default()).unwrap();
    p.step(&store).await.unwrap();
    drop(p);
    let wh = data.join("warehouse");
    let m = Manifest::latest(&wh).unwrap().unwrap();
    // The manifest as the version before the coded columns wrote it.
    let path = wh.join(MANIFEST_DIR).join(format!("{:012}.json", m.generation));
    let mut json: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    json["format"] = 1.into();
    std::fs::write(&path, serde_json::to_vec(&json).unwrap()).unwrap();
    assert_eq!(
        Warehouse::open(&wh).await.unwrap().generation(),
        0,
        "a reader does not guess at an older format"
    );

    let p = Pipeline::open(&data, Options::default()).expect("the start rebuilds");
    assert!(p.manifest().generation > m.generation);
    drop(p);
    let w = Warehouse::open(&wh).await.unwrap();
    let counts = outbox::counts(&store).await.unwrap();
    assert_eq!(one(&w, "SELECT count(*) FROM fact_ticket").await, counts.tickets);
    assert_eq!(
        one(&w, "SELECT count(*) FROM fact_ticket WHERE channel_code IS NULL").await,
        0,
        "the rebuilt files have their codes"
    );
    store.close().await;
    let _ = std::fs::remove_dir_all(&data);
}
