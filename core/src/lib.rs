//! Parterre core: the domain rules and the transactional store of the box office.
//!
//! This crate owns everything that must be true at the moment an operation is confirmed:
//! users and their rights, the audit trail, the catalogue (venues, halls, plans, seasons,
//! shows, performances, prices, products) and, in later issues, seating, sales and payments.
//! Every write runs in one database transaction that also appends its audit row and its
//! outbox event (see [`store::WriteTx`]).
//!
//! It must not know about HTTP, templates, Parquet or DataFusion: the web app (`parterre-ui`)
//! and the pipelines call into it, never the reverse.

pub mod access;
pub mod auth;
pub mod catalog;
pub mod codes;
pub mod contacts;
pub mod db;
pub mod demo;
pub mod error;
pub mod events;
pub mod idempotency;
pub mod memo;
pub mod money;
pub mod outbox;
pub mod payments;
pub mod sales;
pub mod seating;
pub mod store;
pub mod testing;
pub mod time;

pub use error::{CoreError, FieldErrors};
pub use money::Money;
pub use store::{Actor, Backend, Store, WriteTx};
