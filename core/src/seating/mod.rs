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

crate::code_enum! {
    /// A place's state at one performance (labels as the plan legend says them, R-4.5). `available` is never stored: a place is available
    /// when no row of `places` (or only an expired hold) covers it.
    pub enum PlaceState {
        /// Free to sell.
        Available = "available" / "Disponible",
        /// In a cart until its hold expires.
        Held = "held" / "Dans un panier",
        /// Sold.
        Sold = "sold" / "Vendu",
        /// Kept by an option.
        Option = "option" / "Réservé non payé",
        /// Given as an invitation.
        Invitation = "invitation" / "Invitation",
        /// Set aside for a quota family, not yet used.
        Quota = "quota" / "Contingent",
        /// Blocked (technical, production).
        Blocked = "blocked" / "Bloqué",
    }
}
