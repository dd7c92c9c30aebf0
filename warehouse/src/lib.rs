//! Parterre warehouse (to come with the event-pipeline issue): the table catalogue and schemas
//! of the Parquet warehouse (`dim_*`, `fact_*`, `events`), the read-only DataFusion session
//! and SQL execution.
//!
//! It depends on no crate of ours and must never touch the core database.
