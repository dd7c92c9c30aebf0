//! Parterre reports (to come): saved queries, the built-in report library, accounting states,
//! SIBIL declarations and exporters (xlsx, csv with BOM and `;`, pdf, json).
//!
//! It depends on `parterre-warehouse` for queries and `parterre-core` for stored definitions;
//! never on the web app.

pub mod tickets;
