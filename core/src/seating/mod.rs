//! Per-performance inventory: which places are held, sold, optioned, given as
//! invitations, set aside for a quota family or blocked, and choosing seats side by side.
//!
//! A place changes state only through a conditional statement inside the caller's write
//! transaction: an insert guarded by the unique (performance, seat) key, an update guarded by
//! the current state, or a count under a per-performance lock for free placement. Two buyers
//! can never get the same seat and a pool can never go below zero, on SQLite (one writer) and
//! on PostgreSQL (advisory transaction lock per performance).

pub mod allocate;
pub mod inventory;

pub use allocate::{best_available, Allocation, PlanSeat};
pub use inventory::{Availability, SeatState, StateCounts};
