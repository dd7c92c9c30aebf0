//! Parterre warehouse: the table catalogue and schemas of the Parquet warehouse (`dim_*`,
//! `fact_*`, `events`), the manifest that commits each generation of files atomically, the
//! writer of those files, and the read-only DataFusion session that runs SQL over exactly one
//! generation.
//!
//! It depends on no crate of ours and must never touch the core database: the pipelines fill
//! the tables, everything else reads them through [`Warehouse`].
//!
//! Layout other tools rely on: `DIR/<table>/season=<YYYY-YYYY>/part-<generation>.parquet`
//! (Hive partitioning; `season` is the partition column, not stored in the files), holding
//! only the live files; `DIR/_manifest/<generation>.json` names them exactly
//! ([`manifest`]).
//!
//! User SQL runs within limits ([`limits`]: shared memory pool, places, its own threads;
//! [`bounded`]: functions that could build huge values are checked first). Queries between two
//! commits share one warehouse opened on that generation ([`Engine::snapshot`]), which keeps
//! the rollups and dimensions in memory ([`resident`]) and the plans of the SQL it has seen
//! ([`plans`]): a dashboard's question costs milliseconds, not a file open and a planning.

pub mod bench;
pub mod bounded;
pub mod catalog;
pub mod codes;
pub mod columns;
pub mod limits;
pub mod manifest;
pub mod plans;
pub mod query;
pub mod resident;
pub mod rewrite;
pub mod store;
pub mod write;

pub use datafusion;
pub use datafusion::arrow;
pub use datafusion::parquet;
pub use limits::{Engine, Limits};
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
    /// The query needed more memory (or spill space) than the limit.
    #[error("requête trop gourmande en mémoire (limite {limit}) : {detail}")]
    Memory {
        /// The limit, as people read it (`1 Go`).
        limit: String,
        /// What ran out.
        detail: String,
    },
    /// Too many queries are running: try again in a moment.
    #[error("trop de requêtes en cours : réessayez dans un instant ({0})")]
    Busy(String),
    /// Reading or writing files.
    #[error("{0}")]
    Io(String),
    /// A value does not fit its column (money beyond DECIMAL(12,2)…).
    #[error("valeur hors limites pour la colonne {column} : {detail}")]
    OutOfRange {
        /// The column.
        column: String,
        /// The value and the limit.
        detail: String,
    },
}

impl From<datafusion::error::DataFusionError> for WarehouseError {
    fn from(e: datafusion::error::DataFusionError) -> Self {
        match e.find_root() {
            datafusion::error::DataFusionError::ResourcesExhausted(detail) => WarehouseError::Memory {
                limit: "?".into(),
                detail: detail.lines().next().unwrap_or_default().to_string(),
            },
            _ => WarehouseError::Sql(e.to_string()),
        }
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
