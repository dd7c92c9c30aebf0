//! Parterre warehouse: the table catalogue and schemas of the Parquet warehouse (`dim_*`,
//! `fact_*`, `events`), the writer that replaces a partition atomically, and the read-only
//! DataFusion session that runs SQL over the tables.
//!
//! It depends on no crate of ours and must never touch the core database: the pipelines fill
//! the tables, everything else reads them through [`Warehouse`].
//!
//! Layout other tools rely on: `DIR/<table>/season=<YYYY-YYYY>/part-0.parquet` (Hive
//! partitioning; `season` is the partition column, not stored in the files).

pub mod bench;
pub mod catalog;
pub mod columns;
pub mod query;
pub mod write;

pub use datafusion;
pub use datafusion::arrow;
pub use datafusion::parquet;
pub use query::{QueryOptions, QueryResult, Warehouse};

/// What can go wrong in the warehouse.
#[derive(Debug, thiserror::Error)]
pub enum WarehouseError {
    /// The SQL was refused or failed: DataFusion's own message.
    #[error("{0}")]
    Sql(String),
    /// A statement that would change something: only queries run here.
    #[error("seules les requêtes de lecture (SELECT, WITH, EXPLAIN…) sont acceptées ici : {0}")]
    NotAQuery(String),
    /// The query ran past its time limit.
    #[error("la requête a dépassé le temps imparti ({0} s) : ajoutez un filtre ou une limite")]
    Timeout(u64),
    /// Reading or writing files.
    #[error("{0}")]
    Io(String),
}

impl From<datafusion::error::DataFusionError> for WarehouseError {
    fn from(e: datafusion::error::DataFusionError) -> Self {
        WarehouseError::Sql(e.to_string())
    }
}

impl From<datafusion::arrow::error::ArrowError> for WarehouseError {
    fn from(e: datafusion::arrow::error::ArrowError) -> Self {
        WarehouseError::Sql(e.to_string())
    }
}

impl From<datafusion::parquet::errors::ParquetError> for WarehouseError {
    fn from(e: datafusion::parquet::errors::ParquetError) -> Self {
        WarehouseError::Io(e.to_string())
    }
}

/// Result of warehouse operations.
pub type Result<T> = std::result::Result<T, WarehouseError>;
