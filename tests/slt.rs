//! The warehouse's SQL behaviour, as sqllogictest files under `warehouse/tests/slt/`, run
//! against a warehouse projected from a fixed demo (the demo season and 60 simulated orders,
//! seed 42) through the real pipeline. Queries go through `Warehouse` (read-only), so the
//! files also check what is refused.

use parterre_warehouse::arrow::datatypes::DataType;
use parterre_warehouse::arrow::util::display::{ArrayFormatter, FormatOptions};
use parterre_warehouse::Warehouse;
use sqllogictest::{DBOutput, DefaultColumnType};
use std::path::{Path, PathBuf};
use std::time::Duration;

struct Db(std::sync::Arc<Warehouse>);

#[async_trait::async_trait]
impl sqllogictest::AsyncDB for Db {
    type Error = parterre_warehouse::WarehouseError;
    type ColumnType = DefaultColumnType;

    async fn run(&mut self, sql: &str) -> Result<DBOutput<DefaultColumnType>, Self::Error> {
        let (schema, batches) = self.0.batches(sql, Duration::from_secs(60)).await?;
        let types = schema
            .fields()
            .iter()
            .map(|f| match f.data_type() {
                DataType::Int8 | DataType::Int16 | DataType::Int32 | DataType::Int64 | DataType::UInt64 => DefaultColumnType::Integer,
                DataType::Float32 | DataType::Float64 | DataType::Decimal128(_, _) => DefaultColumnType::FloatingPoint,
                _ => DefaultColumnType::Text,
            })
            .collect();
        let opts = FormatOptions::default().with_null("NULL");
        let mut rows = Vec::new();
        for b in &batches {
            let fmts = b
                .columns()
                .iter()
                .map(|c| ArrayFormatter::try_new(c.as_ref(), &opts))
                .collect::<Result<Vec<_>, _>>()?;
            for i in 0..b.num_rows() {
                rows.push(
                    fmts.iter()
                        .map(|f| {
                            let v = f.value(i).to_string();
                            if v.is_empty() {
                                "(empty)".to_string()
                            } else {
                                v
                            }
                        })
                        .collect(),
                );
            }
        }
        Ok(DBOutput::Rows { types, rows })
    }

    async fn shutdown(&mut self) {}
}

async fn fixture() -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let data = std::env::temp_dir().join(format!("parterre-slt-{}-{nanos}", std::process::id()));
    let store = parterre_core::Store::open_data_dir(&data).await.unwrap();
    let today = chrono::NaiveDate::from_ymd_opt(2026, 10, 1).unwrap();
    let demo = parterre_core::demo::load(&store, today).await.unwrap();
    let season = parterre_core::catalog::seasons::find_season(&store, &demo.season)
        .await
        .unwrap()
        .unwrap();
    parterre_core::demo::sales::sell(&store, season.id, 0, 60, 42).await.unwrap();
    let mut p = parterre_pipelines::Pipeline::open(&data, Default::default()).unwrap();
    p.step(&store).await.unwrap();
    drop(p);
    store.close().await;
    data
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn warehouse_sql_files() {
    let data = fixture().await;
    let root = data.join("warehouse");
    // Every table of the fixture is small: `open_resident` keeps them all in memory and plans
    // on one partition, keeping plans; `open` keeps the rollups and dimensions only;
    // `open_from_files` reads the files on every partition, as large tables are. All must
    // answer every file, and the first one twice (the second time from the plans it kept).
    let resident = std::sync::Arc::new(Warehouse::open_resident(&root).await.unwrap());
    let summaries = std::sync::Arc::new(Warehouse::open(&root).await.unwrap());
    let from_files = std::sync::Arc::new(Warehouse::open_from_files(&root).await.unwrap());
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("warehouse/tests/slt");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "slt"))
        .collect();
    files.sort();
    assert!(!files.is_empty());
    let mut failures = Vec::new();
    for (pass, w) in [
        ("en mémoire", &resident),
        ("plans gardés", &resident),
        ("agrégats en mémoire", &summaries),
        ("fichiers", &from_files),
    ] {
        for f in &files {
            let w = w.clone();
            let mut runner = sqllogictest::Runner::new(move || {
                let w = w.clone();
                async move { Ok(Db(w)) }
            });
            if let Err(e) = runner.run_file_async(f).await {
                failures.push(format!("{pass} : {}: {e}", f.display()));
            }
        }
    }
    let _ = std::fs::remove_dir_all(&data);
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
