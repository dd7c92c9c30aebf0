//! Small tables kept in memory for the life of a generation.
//!
//! The dashboards, the report library and segments ask the rollups (`agg_*`) and the small
//! dimensions all day. Read from Parquet, a question on a table of a few thousand rows costs
//! more in opening and decoding the file than in answering it. A generation's files never
//! change, so once a small table has been read it is kept, decoded, for as long as the
//! warehouse serves that generation ([`Resident`]): the next questions scan memory.
//!
//! Its rows are kept per season, and a scan asked for some seasons (`season = '2025-2026'`,
//! `season IN (…)`) hands over only theirs, as reading the files would have.
//!
//! What stays in memory is bounded: only the rollups and dimensions whose manifest counts at
//! most [`RESIDENT_ROWS`] rows are candidates ([`Residency`]; the facts are read from their
//! files, where a count needs only the footers and a scan decodes only the columns it reads),
//! and their decoded size is taken from a budget shared by the warehouse ([`Budget`],
//! [`RESIDENT_BYTES`] by default); a table that does not fit is read from its files as before.

use crate::catalog::Table;
use datafusion::arrow::array::{Array, AsArray, RecordBatch};
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::catalog::{Session, TableProvider};
use datafusion::common::Result as DfResult;
use datafusion::common::ScalarValue;
use datafusion::datasource::memory::{DataSourceExec, MemorySourceConfig};
use datafusion::logical_expr::expr::InList;
use datafusion::logical_expr::{BinaryExpr, Expr, Operator, TableProviderFilterPushDown, TableType};
use datafusion::physical_plan::{collect, ExecutionPlan};
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// Tables of at most this many rows (all seasons) are kept in memory once read.
pub const RESIDENT_ROWS: u64 = 200_000;
/// Decoded bytes the resident tables of one warehouse may take together.
pub const RESIDENT_BYTES: usize = 64 * 1024 * 1024;

/// Which tables a warehouse keeps in memory once read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Residency {
    /// The rollups (`agg_*`) and dimensions (`dim_*`) of at most [`RESIDENT_ROWS`] rows.
    Summaries,
    /// Every table of at most [`RESIDENT_ROWS`] rows, facts included (tests).
    Small,
    /// None: everything is read from its files.
    None,
}

impl Residency {
    /// Is `table`, of `rows` rows, kept?
    pub fn keeps(self, table: Table, rows: u64) -> bool {
        let summary = table.name().starts_with("agg_") || table.name().starts_with("dim_");
        match self {
            Residency::Summaries => summary && rows <= RESIDENT_ROWS,
            Residency::Small => rows <= RESIDENT_ROWS,
            Residency::None => false,
        }
    }
}

/// Bytes left for resident tables.
#[derive(Debug)]
pub struct Budget {
    left: AtomicUsize,
}

impl Budget {
    /// A budget of `bytes`.
    pub fn new(bytes: usize) -> Arc<Budget> {
        Arc::new(Budget {
            left: AtomicUsize::new(bytes),
        })
    }

    /// Takes `bytes` if they are left.
    fn take(&self, bytes: usize) -> bool {
        self.left
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |left| left.checked_sub(bytes))
            .is_ok()
    }

    /// Bytes left.
    pub fn left(&self) -> usize {
        self.left.load(Ordering::Acquire)
    }
}

/// A table read from its files once, then from memory.
#[derive(Debug)]
pub struct Resident {
    files: Arc<dyn TableProvider>,
    budget: Arc<Budget>,
    /// The decoded rows by season, or `None` when they did not fit the budget.
    rows: tokio::sync::OnceCell<Option<Vec<(String, RecordBatch)>>>,
}

impl Resident {
    /// `files` kept in memory once read, within `budget`.
    pub fn new(files: Arc<dyn TableProvider>, budget: Arc<Budget>) -> Self {
        Resident {
            files,
            budget,
            rows: tokio::sync::OnceCell::new(),
        }
    }

    /// Is the table in memory now?
    pub fn is_loaded(&self) -> bool {
        matches!(self.rows.get(), Some(Some(_)))
    }

    async fn load(&self, state: &dyn Session) -> DfResult<Option<Vec<(String, RecordBatch)>>> {
        let plan = self.files.scan(state, None, &[], None).await?;
        let batches = collect(plan, state.task_ctx()).await?;
        let season = self.schema().index_of(SEASON)?;
        let mut rows = Vec::new();
        for b in batches.into_iter().filter(|b| b.num_rows() > 0) {
            by_season(&b, season, &mut rows)?;
        }
        let bytes = rows.iter().map(|(_, b)| b.get_array_memory_size()).sum();
        Ok(self.budget.take(bytes).then_some(rows))
    }
}

#[async_trait::async_trait]
impl TableProvider for Resident {
    fn schema(&self) -> SchemaRef {
        self.files.schema()
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    /// Filters are applied above the scan (a partition filter still prunes files when the
    /// table is read from them).
    fn supports_filters_pushdown(&self, filters: &[&Expr]) -> DfResult<Vec<TableProviderFilterPushDown>> {
        Ok(vec![TableProviderFilterPushDown::Inexact; filters.len()])
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> DfResult<Arc<dyn ExecutionPlan>> {
        match self.rows.get_or_try_init(|| self.load(state)).await? {
            Some(rows) => {
                let wanted = seasons_wanted(filters);
                let batches: Vec<RecordBatch> = rows
                    .iter()
                    .filter(|(s, _)| wanted.as_ref().is_none_or(|w| w.contains(s)))
                    .map(|(_, b)| b.clone())
                    .collect();
                let source = MemorySourceConfig::try_new(&[batches], self.schema(), projection.cloned())?;
                Ok(DataSourceExec::from_data_source(source))
            }
            None => self.files.scan(state, projection, filters, limit).await,
        }
    }
}

/// The partition column every table has.
const SEASON: &str = "season";

/// Splits `batch` by the value of its `season` column (a batch read from one file has one).
fn by_season(batch: &RecordBatch, column: usize, out: &mut Vec<(String, RecordBatch)>) -> DfResult<()> {
    use datafusion::arrow::compute::{filter_record_batch, kernels::cmp::eq};
    let seasons = batch.column(column).as_string::<i32>();
    let first = seasons.value(0).to_string();
    if seasons.null_count() == 0 && seasons.iter().all(|s| s == Some(first.as_str())) {
        out.push((first, batch.clone()));
        return Ok(());
    }
    let distinct: BTreeSet<&str> = seasons.iter().flatten().collect();
    for s in distinct {
        let mask = eq(seasons, &datafusion::arrow::array::StringArray::new_scalar(s))?;
        out.push((s.to_string(), filter_record_batch(batch, &mask)?));
    }
    Ok(())
}

/// The text of a literal, if it is one.
fn text(e: &Expr) -> Option<&str> {
    match e {
        Expr::Literal(ScalarValue::Utf8(Some(s)) | ScalarValue::Utf8View(Some(s)) | ScalarValue::LargeUtf8(Some(s)), _) => Some(s),
        _ => None,
    }
}

fn is_season(e: &Expr) -> bool {
    matches!(e, Expr::Column(c) if c.name == SEASON)
}

/// The seasons a scan's filters (all of which hold) allow: `None` when they do not say.
fn seasons_wanted(filters: &[Expr]) -> Option<BTreeSet<String>> {
    let mut wanted: Option<BTreeSet<String>> = None;
    for f in filters {
        let these: BTreeSet<String> = match f {
            Expr::BinaryExpr(BinaryExpr {
                left,
                op: Operator::Eq,
                right,
            }) => match (is_season(left), text(right), is_season(right), text(left)) {
                (true, Some(s), _, _) | (_, _, true, Some(s)) => BTreeSet::from([s.to_string()]),
                _ => continue,
            },
            Expr::InList(InList {
                expr,
                list,
                negated: false,
            }) if is_season(expr) => {
                match list
                    .iter()
                    .map(|e| text(e).map(str::to_string))
                    .collect::<Option<BTreeSet<String>>>()
                {
                    Some(set) => set,
                    None => continue,
                }
            }
            _ => continue,
        };
        wanted = Some(match wanted {
            None => these,
            Some(w) => w.intersection(&these).cloned().collect(),
        });
    }
    wanted
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{Int64Array, StringArray};
    use datafusion::arrow::datatypes::{DataType, Field, Schema};
    use datafusion::datasource::MemTable;
    use datafusion::logical_expr::{col, lit};
    use datafusion::prelude::SessionContext;

    /// A table of 3 rows over two seasons, standing for its files.
    fn files() -> Arc<dyn TableProvider> {
        let schema = Arc::new(Schema::new(vec![
            Field::new("n", DataType::Int64, false),
            Field::new(SEASON, DataType::Utf8, false),
        ]));
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(Int64Array::from(vec![1, 2, 3])),
                Arc::new(StringArray::from(vec!["2024-2025", "2025-2026", "2024-2025"])),
            ],
        )
        .unwrap();
        Arc::new(MemTable::try_new(schema, vec![vec![batch]]).unwrap())
    }

    async fn sum(table: Arc<Resident>, filter: &str) -> i64 {
        let ctx = SessionContext::new();
        ctx.register_table("t", table).unwrap();
        let batches = ctx
            .sql(&format!("SELECT coalesce(sum(n), 0) FROM t WHERE {filter}"))
            .await
            .unwrap()
            .collect()
            .await
            .unwrap();
        batches[0]
            .column(0)
            .as_primitive::<datafusion::arrow::datatypes::Int64Type>()
            .value(0)
    }

    #[test]
    fn rollups_and_dimensions_are_kept_facts_are_read_from_their_files() {
        assert!(Residency::Summaries.keeps(Table::AggSalesDay, 30_000));
        assert!(Residency::Summaries.keeps(Table::DimShow, 650));
        assert!(!Residency::Summaries.keeps(Table::AggSales, RESIDENT_ROWS + 1));
        assert!(!Residency::Summaries.keeps(Table::FactTicket, 60_000));
        assert!(Residency::Small.keeps(Table::FactTicket, 60_000));
        assert!(!Residency::None.keeps(Table::DimShow, 1));
    }

    #[tokio::test]
    async fn a_table_is_kept_within_the_budget_and_answers_the_same_either_way() {
        let kept = Arc::new(Resident::new(files(), Budget::new(RESIDENT_BYTES)));
        let budget = Budget::new(16);
        let too_big = Arc::new(Resident::new(files(), budget.clone()));
        for (filter, want) in [
            ("true", 6),
            ("season = '2024-2025'", 4),
            ("season IN ('2025-2026', '2030-2031')", 2),
            ("season <> '2024-2025'", 2),
            ("season = '2024-2025' AND n > 1", 3),
            ("season = '1999-2000'", 0),
        ] {
            assert_eq!(sum(kept.clone(), filter).await, want, "kept: {filter}");
            assert_eq!(sum(too_big.clone(), filter).await, want, "from files: {filter}");
        }
        assert!(kept.is_loaded());
        assert!(!too_big.is_loaded(), "over the budget, the rows stay in their files");
        assert_eq!(budget.left(), 16, "nothing taken from the budget");
    }

    #[test]
    fn a_scan_keeps_the_seasons_its_filters_name_and_all_when_they_name_none() {
        let w = |f: Vec<Expr>| seasons_wanted(&f).map(|s| s.into_iter().collect::<Vec<_>>());
        assert_eq!(w(vec![col("season").eq(lit("2025-2026"))]), Some(vec!["2025-2026".into()]));
        assert_eq!(w(vec![lit("2025-2026").eq(col("season"))]), Some(vec!["2025-2026".into()]));
        assert_eq!(
            w(vec![col("season").in_list(vec![lit("2024-2025"), lit("2025-2026")], false)]),
            Some(vec!["2024-2025".into(), "2025-2026".into()])
        );
        // Both filters hold: only the season in both.
        assert_eq!(
            w(vec![
                col("season").in_list(vec![lit("2024-2025"), lit("2025-2026")], false),
                col("season").eq(lit("2024-2025"))
            ]),
            Some(vec!["2024-2025".into()])
        );
        assert_eq!(w(vec![col("season").eq(lit("a")), col("season").eq(lit("b"))]), Some(vec![]));
        // What it cannot read keeps every season (the filter above the scan still applies).
        assert_eq!(w(vec![col("season").in_list(vec![lit("2024-2025")], true)]), None);
        assert_eq!(w(vec![col("season").not_eq(lit("2024-2025"))]), None);
        assert_eq!(w(vec![col("season").gt(lit("2024-2025"))]), None);
        assert_eq!(w(vec![col("status").eq(lit("valid"))]), None);
        assert_eq!(w(vec![col("season").eq(col("other"))]), None);
        assert_eq!(w(vec![]), None);
    }
}
