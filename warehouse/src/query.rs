//! The read-only DataFusion session over the Parquet tables, and SQL execution with a row
//! limit and a time limit. User SQL runs here and nowhere else: never on the core database.

use crate::catalog::{Table, TABLES};
use crate::limits::{memory_label, Limits, Resources};
use crate::resident::{Budget, Residency, Resident, RESIDENT_BYTES};
use crate::{Result, WarehouseError};
use datafusion::arrow::array::{Array, ArrayRef, BooleanArray, RecordBatch};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use datafusion::catalog::TableProvider;
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::{ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl};
use datafusion::datasource::MemTable;
use datafusion::execution::context::{SessionConfig, SessionContext};
use datafusion::execution::runtime_env::RuntimeEnv;
use datafusion::sql::parser::{DFParser, Statement as DfStatement};
use datafusion::sql::sqlparser::ast::Statement;
use serde::Serialize;
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// Limits of one query.
#[derive(Debug, Clone, Copy)]
pub struct QueryOptions {
    /// Rows returned at most (the result says when there were more).
    pub max_rows: usize,
    /// Time allowed.
    pub timeout: Duration,
}

impl Default for QueryOptions {
    fn default() -> Self {
        QueryOptions {
            max_rows: 10_000,
            timeout: Duration::from_secs(30),
        }
    }
}

/// A column of a result.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Column {
    /// Its name.
    pub name: String,
    /// Its SQL type as DataFusion names it (`Int64`, `Decimal128(12, 2)`, `Utf8`…).
    #[serde(rename = "type")]
    pub data_type: String,
}

/// What a query returned, as JSON-ready values: integers, floats and booleans as JSON
/// numbers and booleans, decimals (money) as exact strings, times as ISO 8601 text.
#[derive(Debug, Clone, Serialize)]
pub struct QueryResult {
    /// The columns.
    pub columns: Vec<Column>,
    /// The rows, one array of values each.
    pub rows: Vec<Vec<serde_json::Value>>,
    /// More rows existed than `max_rows`.
    pub truncated: bool,
}

/// Longest SQL text accepted (a literal in it is copied into every row of a batch).
pub const MAX_SQL_BYTES: usize = 100_000;

/// The warehouse, open for reading.
pub struct Warehouse {
    ctx: SessionContext,
    /// The same tables, planned on one partition (queries of small tables only).
    small: SessionContext,
    /// Tables small enough for [`Self::small`].
    small_tables: HashSet<String>,
    /// The optimised plans of statements already run on this generation.
    plans: crate::plans::Plans,
    generation: u64,
    root: PathBuf,
    memory_bytes: usize,
}

impl std::fmt::Debug for Warehouse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Warehouse").field("root", &self.root).finish()
    }
}

/// The schema queries see: the scan schema plus the `season` partition column.
pub fn table_schema(t: Table) -> SchemaRef {
    let mut fields: Vec<Field> = scan_schema(t).fields().iter().map(|f| f.as_ref().clone()).collect();
    fields.push(Field::new("season", DataType::Utf8, false));
    Arc::new(Schema::new(fields))
}

/// The schema tables are read with: text as `Utf8View` (DataFusion's faster string layout,
/// what it reads Parquet text as by default), the rest as written.
fn scan_schema(t: Table) -> SchemaRef {
    let fields: Vec<Field> = t
        .schema()
        .fields()
        .iter()
        .map(|f| match f.data_type() {
            DataType::Utf8 => f.as_ref().clone().with_data_type(DataType::Utf8View),
            _ => f.as_ref().clone(),
        })
        .collect();
    Arc::new(Schema::new(fields))
}

/// A label table: `code`, `label` (as stored in the facts), `name` (in French, for the closed
/// lists).
fn label_table(dict: &crate::codes::Dictionary) -> Result<MemTable> {
    let schema = Arc::new(Schema::new(vec![
        Field::new("code", DataType::Int64, false),
        Field::new("label", DataType::Utf8View, false),
        Field::new("name", DataType::Utf8View, true),
    ]));
    use datafusion::arrow::array::{Int64Array, StringViewArray};
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![
            Arc::new(Int64Array::from_iter_values(dict.entries.keys().copied())),
            Arc::new(StringViewArray::from_iter_values(dict.entries.values().map(|(l, _)| l.as_str()))),
            Arc::new(StringViewArray::from_iter(dict.entries.values().map(|(_, n)| n.as_deref()))),
        ],
    )?;
    Ok(MemTable::try_new(schema, vec![vec![batch]])?)
}

/// A table read from the generation's files (`parterre://warehouse/<table>/`), partitioned
/// by season.
fn listing_table(t: Table, runtime: &RuntimeEnv) -> Result<Arc<dyn TableProvider>> {
    let url = ListingTableUrl::parse(format!("{}/{}/", crate::store::STORE_URL, t.name()))?.with_table_ref(t.name().into());
    let options = ListingOptions::new(Arc::new(ParquetFormat::default()))
        .with_file_extension(".parquet")
        .with_table_partition_cols(vec![("season".to_string(), DataType::Utf8)]);
    let config = ListingTableConfig::new(url)
        .with_listing_options(options)
        .with_schema(scan_schema(t));
    let table = ListingTable::try_new(config)?.with_cache(runtime.cache_manager.get_file_statistic_cache());
    Ok(Arc::new(table))
}

impl Warehouse {
    /// The session settings every warehouse uses.
    pub fn config() -> SessionConfig {
        let mut config = SessionConfig::new()
            .with_information_schema(true)
            .with_default_catalog_and_schema("parterre", "public");
        // Measured with `parterre bench warehouse --scale 10` (README, Performance):
        // - twice as many partitions as cores: a season's file splits into row groups of
        //   unequal size, and with one partition per core one of them idles at the end
        //   (-15 to -25 % on every query of the set on 2 cores);
        // - filters after the scan rather than inside it: the common filter (`status =
        //   'valid'`) keeps 93 % of the rows, so decoding the other columns row by row costs
        //   more than it saves (-10 to -20 %).
        let cores = std::thread::available_parallelism().map(usize::from).unwrap_or(2);
        config.options_mut().execution.target_partitions = cores * 2;
        config.options_mut().execution.parquet.pushdown_filters = false;
        config
    }

    /// Opens the warehouse folder `root` at its newest readable generation (a missing folder
    /// or table reads as empty), every table, with a memory pool of its own sized by [`Limits::from_env`].
    pub async fn open(root: &Path) -> Result<Self> {
        Self::open_with(root, Self::config()).await
    }

    /// Opens with other session settings (benchmarks try them).
    pub async fn open_with(root: &Path, config: SessionConfig) -> Result<Self> {
        Self::open_in(root, config, &Limits::from_env().resources()?, &TABLES).await
    }

    /// Opens with `tables` only (the others do not exist for this session: a caller without
    /// the right to read raw events gets no `events` table), on shared `resources`.
    ///
    /// The rollups and dimensions of at most [`crate::resident::RESIDENT_ROWS`] rows are kept
    /// in memory once read ([`Residency::Summaries`]), and a query that reads only such tables
    /// is planned on one partition: on a few thousand rows, handing batches between threads
    /// costs more than it saves.
    pub async fn open_in(root: &Path, config: SessionConfig, resources: &Resources, tables: &[Table]) -> Result<Self> {
        Self::open_inner(root, config, resources, tables, Residency::Summaries).await
    }

    /// Opens with every table read from its files and every query planned on all partitions
    /// (no table kept in memory): the path large tables take, for tests to compare with.
    pub async fn open_from_files(root: &Path) -> Result<Self> {
        Self::open_inner(root, Self::config(), &Limits::from_env().resources()?, &TABLES, Residency::None).await
    }

    /// Opens with every small table kept in memory, facts included: the in-memory path on a
    /// small warehouse, for tests.
    pub async fn open_resident(root: &Path) -> Result<Self> {
        Self::open_inner(root, Self::config(), &Limits::from_env().resources()?, &TABLES, Residency::Small).await
    }

    async fn open_inner(root: &Path, config: SessionConfig, resources: &Resources, tables: &[Table], residency: Residency) -> Result<Self> {
        let manifest = crate::manifest::Manifest::readable(root);
        let runtime = resources.runtime_env()?;
        // A folder without a generation (none yet, or none readable) serves empty tables and
        // needs no store: the folder itself may not exist.
        if manifest.generation > 0 {
            let store = crate::store::GenerationStore::new(root, &manifest)?;
            let store_url = url::Url::parse(crate::store::STORE_URL).map_err(|e| WarehouseError::Io(e.to_string()))?;
            runtime.register_object_store(&store_url, Arc::new(store));
        }
        // The small tables' session: one partition, and no dynamic filters (they save nothing
        // on a few thousand rows in memory, and a plan without them can run again: plans.rs).
        let mut small_config = config.clone();
        small_config.options_mut().execution.target_partitions = 1;
        small_config
            .options_mut()
            .set("datafusion.optimizer.enable_dynamic_filter_pushdown", "false")?;
        let ctx = SessionContext::new_with_config_rt(config, runtime.clone());
        let small = SessionContext::new_with_config_rt(small_config, runtime.clone());
        let dicts = crate::codes::dictionaries(&manifest.labels);
        let mut providers: Vec<(String, Arc<dyn TableProvider>)> = Vec::new();
        let mut small_tables = HashSet::new();
        for (dim, dict) in &dicts {
            providers.push((dim.table_name().to_string(), Arc::new(label_table(dict)?)));
            small_tables.insert(dim.table_name().to_string());
        }
        let budget = Budget::new(RESIDENT_BYTES);
        for t in TABLES.into_iter().filter(|t| tables.contains(t)) {
            let rows = manifest.tables.get(t.name()).map_or(0, |f| f.rows);
            let kept = residency.keeps(t, rows);
            let provider: Arc<dyn TableProvider> = if manifest.table(t).is_empty() {
                Arc::new(MemTable::try_new(table_schema(t), vec![vec![]])?)
            } else {
                let files = listing_table(t, &runtime)?;
                if kept {
                    Arc::new(Resident::new(files, budget.clone()))
                } else {
                    files
                }
            };
            if kept || manifest.table(t).is_empty() {
                small_tables.insert(t.name().to_string());
            }
            providers.push((t.name().to_string(), provider));
        }
        for c in [&ctx, &small] {
            crate::bounded::register(c);
            c.add_analyzer_rule(Arc::new(crate::rewrite::CodedColumns::new(dicts.clone())));
            for (name, provider) in &providers {
                c.register_table(name.as_str(), provider.clone())?;
            }
        }
        Ok(Warehouse {
            ctx,
            small,
            small_tables,
            plans: Default::default(),
            generation: manifest.generation,
            root: root.to_path_buf(),
            memory_bytes: resources.memory_bytes(),
        })
    }

    /// Does `statement` read only small tables (then it runs on one partition)? A query of
    /// the catalogue's `information_schema`, or of no table, takes the general session.
    fn is_small(&self, statement: &DfStatement) -> bool {
        match tables_of(statement) {
            Ok(tables) => !tables.is_empty() && tables.iter().all(|t| self.small_tables.contains(t)),
            Err(_) => false,
        }
    }

    /// The session that runs `sql` (benchmarks look at its plans).
    pub fn session_for(&self, sql: &str) -> &SessionContext {
        match DFParser::parse_sql(sql).ok().and_then(|mut s| s.pop_front()) {
            Some(statement) if self.is_small(&statement) => &self.small,
            _ => &self.ctx,
        }
    }

    /// Plans `sql` with at most `limit` rows (or takes the plan kept for it) and runs it.
    async fn execute(&self, sql: &str, limit: Option<usize>) -> Result<(SchemaRef, Vec<RecordBatch>)> {
        let planned = match self.plans.get(sql, limit) {
            Some(p) => p,
            None => {
                let statement = parse_read_only(sql)?;
                let small = self.is_small(&statement);
                let session = if small { &self.small } else { &self.ctx };
                self.plans.plan(session, small, sql, statement, limit).await?
            }
        };
        let session = if planned.small { &self.small } else { &self.ctx };
        let batches = crate::plans::run(session, &planned).await?;
        Ok((planned.schema.clone(), batches))
    }

    /// Names the memory limit in a refusal for lack of memory.
    fn with_limit(&self, e: WarehouseError) -> WarehouseError {
        match e {
            WarehouseError::Memory { detail, .. } => WarehouseError::Memory {
                limit: memory_label(self.memory_bytes),
                detail,
            },
            e => e,
        }
    }

    /// The DataFusion session (read-only use: tests, benchmarks, segments).
    pub fn context(&self) -> &SessionContext {
        &self.ctx
    }

    /// The manifest generation this warehouse reads (0: nothing committed yet).
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// The folder read.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Runs one read-only statement and returns its batches (no row limit).
    pub async fn batches(&self, sql: &str, timeout: Duration) -> Result<(SchemaRef, Vec<RecordBatch>)> {
        tokio::time::timeout(timeout, self.execute(sql, None))
            .await
            .map_err(|_| WarehouseError::Timeout(timeout.as_secs()))?
            .map_err(|e| self.with_limit(e))
    }

    /// Runs one read-only statement within `options`' limits.
    pub async fn query(&self, sql: &str, options: QueryOptions) -> Result<QueryResult> {
        // One row more than allowed tells whether the result was cut (an EXPLAIN keeps its
        // plan at the root: its few rows are cut after).
        let run = self.execute(sql, Some(options.max_rows.saturating_add(1)));
        let (schema, batches) = tokio::time::timeout(options.timeout, run)
            .await
            .map_err(|_| WarehouseError::Timeout(options.timeout.as_secs()))?
            .map_err(|e| self.with_limit(e))?;
        let mut rows = json_rows(&batches)?;
        let truncated = rows.len() > options.max_rows;
        rows.truncate(options.max_rows);
        Ok(QueryResult {
            columns: columns(&schema),
            rows,
            truncated,
        })
    }
}

/// Refuses anything but one query (SELECT, WITH, VALUES, EXPLAIN, SHOW, DESCRIBE).
pub fn check_read_only(sql: &str) -> Result<()> {
    parse_read_only(sql).map(|_| ())
}

/// The one query `sql` holds, parsed; anything else refused.
fn parse_read_only(sql: &str) -> Result<DfStatement> {
    if sql.len() > MAX_SQL_BYTES {
        return Err(WarehouseError::Sql(format!(
            "requête trop longue : {} octets (au plus {MAX_SQL_BYTES})",
            sql.len()
        )));
    }
    let mut statements = DFParser::parse_sql(sql).map_err(|e| WarehouseError::Sql(e.to_string()))?;
    if statements.len() != 1 {
        return Err(WarehouseError::NotAQuery(format!(
            "une seule instruction à la fois ({} reçues)",
            statements.len()
        )));
    }
    let statement = statements
        .pop_front()
        .ok_or_else(|| WarehouseError::NotAQuery("aucune instruction".into()))?;
    let query = match &statement {
        DfStatement::Statement(s) => match s.as_ref() {
            Statement::Query(_) | Statement::ShowTables { .. } | Statement::ShowColumns { .. } => Ok(()),
            Statement::Explain { statement, .. } if matches!(statement.as_ref(), Statement::Query(_)) => Ok(()),
            other => Err(WarehouseError::NotAQuery(first_words(&other.to_string()))),
        },
        DfStatement::Explain(e) => match e.statement.as_ref() {
            DfStatement::Statement(s) if matches!(s.as_ref(), Statement::Query(_)) => Ok(()),
            _ => Err(WarehouseError::NotAQuery(
                "EXPLAIN d'une instruction qui n'est pas une requête".into(),
            )),
        },
        other => Err(WarehouseError::NotAQuery(first_words(&other.to_string()))),
    };
    query.map(|()| statement)
}

/// The tables a statement reads (not the names of its CTEs), lower-cased, without their
/// catalogue and schema: what a permission on a table is checked against.
pub fn tables_read(sql: &str) -> Result<Vec<String>> {
    let statements = DFParser::parse_sql(sql).map_err(|e| WarehouseError::Sql(e.to_string()))?;
    let mut out = Vec::new();
    for s in &statements {
        out.extend(tables_of(s)?);
    }
    out.sort();
    out.dedup();
    Ok(out)
}

/// The tables one parsed statement reads (see [`tables_read`]).
fn tables_of(statement: &DfStatement) -> Result<Vec<String>> {
    let (tables, _ctes) = datafusion::sql::resolve::resolve_table_references(statement, true)?;
    let mut out: Vec<String> = tables.iter().map(|t| t.table().to_lowercase()).collect();
    out.sort();
    out.dedup();
    Ok(out)
}

fn first_words(s: &str) -> String {
    s.split_whitespace().take(3).collect::<Vec<_>>().join(" ")
}

/// The columns of a schema.
pub fn columns(schema: &Schema) -> Vec<Column> {
    schema
        .fields()
        .iter()
        .map(|f| Column {
            name: f.name().clone(),
            data_type: f.data_type().to_string(),
        })
        .collect()
}

fn format_options() -> FormatOptions<'static> {
    FormatOptions::default().with_null("")
}

/// Calls `cell(column, formatter, row)` for every cell, row by row.
fn map_rows<T>(batches: &[RecordBatch], cell: impl Fn(&ArrayRef, &ArrayFormatter<'_>, usize) -> T) -> Result<Vec<Vec<T>>> {
    let opts = format_options();
    let mut out = Vec::new();
    for b in batches {
        let fmts = b
            .columns()
            .iter()
            .map(|c| ArrayFormatter::try_new(c.as_ref(), &opts))
            .collect::<std::result::Result<Vec<_>, _>>()?;
        for i in 0..b.num_rows() {
            out.push(b.columns().iter().zip(&fmts).map(|(c, f)| cell(c, f, i)).collect());
        }
    }
    Ok(out)
}

/// Cells as text (empty for NULL), the way the CSV and table outputs show them.
pub fn text_rows(batches: &[RecordBatch]) -> Result<Vec<Vec<String>>> {
    map_rows(batches, |_, f, i| f.value(i).to_string())
}

fn json_cell(col: &ArrayRef, fmt: &ArrayFormatter<'_>, i: usize) -> serde_json::Value {
    use datafusion::arrow::array::AsArray;
    use datafusion::arrow::datatypes as t;
    use serde_json::Value;
    if col.is_null(i) {
        return Value::Null;
    }
    match col.data_type() {
        DataType::Boolean => Value::Bool(col.as_any().downcast_ref::<BooleanArray>().is_some_and(|a| a.value(i))),
        DataType::Int8 => col.as_primitive::<t::Int8Type>().value(i).into(),
        DataType::Int16 => col.as_primitive::<t::Int16Type>().value(i).into(),
        DataType::Int32 => col.as_primitive::<t::Int32Type>().value(i).into(),
        DataType::Int64 => col.as_primitive::<t::Int64Type>().value(i).into(),
        DataType::UInt8 => col.as_primitive::<t::UInt8Type>().value(i).into(),
        DataType::UInt16 => col.as_primitive::<t::UInt16Type>().value(i).into(),
        DataType::UInt32 => col.as_primitive::<t::UInt32Type>().value(i).into(),
        DataType::UInt64 => col.as_primitive::<t::UInt64Type>().value(i).into(),
        DataType::Float32 => serde_json::Number::from_f64(col.as_primitive::<t::Float32Type>().value(i) as f64)
            .map(Value::Number)
            .unwrap_or(Value::Null),
        DataType::Float64 => serde_json::Number::from_f64(col.as_primitive::<t::Float64Type>().value(i))
            .map(Value::Number)
            .unwrap_or(Value::Null),
        _ => Value::String(fmt.value(i).to_string()),
    }
}

/// Cells as JSON values (see [`QueryResult`]).
pub fn json_rows(batches: &[RecordBatch]) -> Result<Vec<Vec<serde_json::Value>>> {
    map_rows(batches, json_cell)
}

/// `;`-separated text with a header line, quoted where needed (French spreadsheets).
pub fn to_csv(schema: &Schema, batches: &[RecordBatch]) -> Result<String> {
    fn cell(s: &str) -> String {
        if s.contains([';', '"', '\n', '\r']) {
            format!("\"{}\"", s.replace('"', "\"\""))
        } else {
            s.to_string()
        }
    }
    let mut out = String::new();
    let header: Vec<String> = schema.fields().iter().map(|f| cell(f.name())).collect();
    out.push_str(&header.join(";"));
    out.push('\n');
    for row in text_rows(batches)? {
        let cells: Vec<String> = row.iter().map(|c| cell(c)).collect();
        out.push_str(&cells.join(";"));
        out.push('\n');
    }
    Ok(out)
}

/// A boxed text table for terminals.
pub fn to_table(batches: &[RecordBatch]) -> Result<String> {
    Ok(datafusion::arrow::util::pretty::pretty_format_batches(batches)?.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_queries_pass() {
        assert!(check_read_only("SELECT 1").is_ok());
        assert!(check_read_only("WITH a AS (SELECT 1) SELECT * FROM a").is_ok());
        assert!(check_read_only("EXPLAIN SELECT 1").is_ok());
        for bad in [
            "CREATE TABLE x (a INT)",
            "INSERT INTO fact_ticket VALUES (1)",
            "COPY (SELECT 1) TO '/tmp/x.csv'",
            "DROP TABLE fact_ticket",
            "SELECT 1; SELECT 2",
            "SET datafusion.execution.batch_size = 1",
        ] {
            assert!(
                matches!(check_read_only(bad), Err(WarehouseError::NotAQuery(_))),
                "{bad} should be refused"
            );
        }
        assert!(matches!(check_read_only("SELEC 1"), Err(WarehouseError::Sql(_))));
    }
}

#[cfg(test)]
mod limit_tests {
    use super::*;

    fn empty_root() -> PathBuf {
        std::env::temp_dir().join(format!("parterre-wh-empty-{}", std::process::id()))
    }

    #[tokio::test]
    async fn explain_shows_the_plan() {
        let w = Warehouse::open(&empty_root()).await.unwrap();
        let r = w.query("EXPLAIN SELECT count(*) FROM fact_ticket", QueryOptions::default()).await;
        let r = r.unwrap();
        assert_eq!(r.columns.len(), 2, "{:?}", r.columns);
    }
}
