//! Parterre pipelines: the outbox drain into the Avro event log ([`log`]), the projection of
//! events into the Parquet warehouse tables ([`project`]), the pipeline that runs both and
//! commits each step as a manifest generation ([`pipeline`]), and the whole-warehouse
//! operations: rebuild from the log, purge of rows ([`maintain`]).
//!
//! It depends on `parterre-core` (events, outbox) and `parterre-warehouse` (table schemas,
//! writer) and must never serve HTTP nor run user SQL.

pub mod log;
pub mod maintain;
pub mod pipeline;
pub mod project;

pub use pipeline::{Options, Pipeline, Status};

/// A place where a crash must be harmless. When `PARTERRE_CRASH_AT=n` is set, the process
/// aborts (like `kill -9`) at the n-th such place it reaches: the crash test uses it to stop
/// the pipeline between every two writes that matter, not only where a timer happens to fall.
pub(crate) fn crash_point() {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::OnceLock;
    static AT: OnceLock<Option<u64>> = OnceLock::new();
    static PASSED: AtomicU64 = AtomicU64::new(0);
    if let Some(n) = *AT.get_or_init(|| std::env::var("PARTERRE_CRASH_AT").ok().and_then(|v| v.parse().ok())) {
        if PASSED.fetch_add(1, Ordering::Relaxed) + 1 == n {
            std::process::abort();
        }
    }
}

/// What can stop the pipeline.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    /// A segment of the log (or a checkpoint) cannot be read: named, with where it breaks.
    #[error("journal d'événements endommagé : {file}, octet {offset} : {reason}")]
    Corrupt {
        /// The file.
        file: String,
        /// Where the unreadable part starts (the block's offset for a segment).
        offset: u64,
        /// What was wrong.
        reason: String,
    },
    /// Another process runs the pipeline on this data folder.
    #[error("le pipeline tourne déjà sur ce dossier (verrou {0}) : arrêtez l'autre processus (parterre serve ?)")]
    Locked(String),
    /// An event carries a value the warehouse cannot hold: the pipeline stops before it.
    #[error(
        "événement {seq} ({kind}, {event_id}) : {field} = {value} ne tient pas dans l'entrepôt \
         ({column}) ; rien de son lot n'est publié, le pipeline reprendra à cet événement une fois \
         la donnée corrigée"
    )]
    Unfit {
        /// Outbox sequence number.
        seq: i64,
        /// Event id.
        event_id: String,
        /// Event kind.
        kind: String,
        /// The field.
        field: String,
        /// Its value (cents, or basis points).
        value: i64,
        /// The warehouse type it must fit.
        column: String,
    },
    /// Files could not be read or written.
    #[error("{0}")]
    Io(String),
    /// The core refused.
    #[error(transparent)]
    Core(#[from] parterre_core::CoreError),
    /// The warehouse refused.
    #[error(transparent)]
    Warehouse(#[from] parterre_warehouse::WarehouseError),
}

/// Result of pipeline operations.
pub type Result<T> = std::result::Result<T, PipelineError>;
