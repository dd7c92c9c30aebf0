//! Parterre segments (to come): declarative segment files and dynamic criteria (Prévoyant,
//! Réactif, Opportuniste) compiled into warehouse queries, and the campaigns that use them.
//!
//! It depends on `parterre-warehouse` for queries and `parterre-core` for stored definitions,
//! overrides and sends; never on the web app.
