//! Parterre pipelines (to come with the event-pipeline issue): the outbox drain into the Avro
//! event log, the projection of events into the Parquet warehouse tables, and bulk imports.
//!
//! It will depend on `parterre-core` (events, outbox) and `parterre-warehouse` (table schemas,
//! writer) and must never serve HTTP nor run user SQL.
