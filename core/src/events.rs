//! The event enum: every state change of the core, as a past-tense fact.
//!
//! Each write appends one of these to the `outbox` table in the same transaction as the data
//! (see [`crate::store::WriteTx::record`]); the pipelines drain the outbox into the Avro log.
//! Variants carry ids, amounts in cents and what the warehouse needs to project them.
//! Evolve only by adding variants or optional fields: old segments must stay readable.
//!
//! People are named by id only (contacts, users, the actor): names, emails, phones and logins
//! stay in their own tables, where erasure reaches them. No secret enters an event: promo code
//! text (single-use codes are bearer secrets), token ids or secrets, keys. Schema 3 removed the
//! fields that broke this rule (`UserCreated.login`, `PromoCodeCreated.code`,
//! `ApiTokenCreated.token_id`); the log
//! reads older segments by field name, so their extra fields are simply not read.

use crate::store::Actor;
use serde::{Deserialize, Serialize};

/// Version of the event schema, bumped when a variant or an optional field is added.
/// 4: `TicketIssued.family` and `TicketIssued.spectator_named`.
pub const SCHEMA_VERSION: u32 = 4;

/// A fact that happened in the core.
///
/// Serialised as `{"type": "ticket_issued", "data": {…}}`: the same shape in the outbox (JSON)
/// and in the Avro log, where `type` is an Avro enum and `data` a union of one record per
/// variant (apache-avro's `record_tag_content`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "avro", derive(apache_avro::AvroSchema), avro(repr = "record_tag_content"))]
#[serde(tag = "type", content = "data", rename_all = "snake_case")]
#[allow(missing_docs)]
pub enum Event {
    UserCreated {
        user_id: i64,
    },
    UserUpdated {
        user_id: i64,
        active: bool,
    },
    UserRolesSet {
        user_id: i64,
        role_ids: Vec<i64>,
    },
    RoleCreated {
        role_id: i64,
        code: String,
        permissions: Vec<String>,
    },
    RoleUpdated {
        role_id: i64,
        code: String,
        permissions: Vec<String>,
    },
    /// No token id: which token is a matter for the audit trail, not for the warehouse.
    ApiTokenCreated {
        user_id: i64,
    },
    VenueCreated {
        venue_id: i64,
        name: String,
        main_site: bool,
    },
    HallCreated {
        hall_id: i64,
        venue_id: i64,
        name: String,
    },
    LayoutCreated {
        layout_id: i64,
        hall_id: i64,
        name: String,
        numbered: bool,
        capacity: i64,
    },
    SeatPlanImported {
        layout_id: i64,
        seats: i64,
        pmr_places: i64,
    },
    SeasonCreated {
        season_id: i64,
        name: String,
        starts_on: String,
        ends_on: String,
    },
    SeasonCarriedOver {
        from_season_id: i64,
        to_season_id: i64,
    },
    PriceCategoryCreated {
        price_category_id: i64,
        code: String,
        name: String,
        needs_proof: bool,
    },
    PriceGridSet {
        season_id: i64,
        tier: crate::catalog::Tier,
        price_category_id: i64,
        amount_cents: i64,
    },
    ShowCreated {
        show_id: i64,
        season_id: i64,
        name: String,
        discipline: crate::catalog::Discipline,
        audience: String,
        tier: crate::catalog::Tier,
        vat_rate_bp: i64,
        is_creation: bool,
    },
    ShowUpdated {
        show_id: i64,
        name: String,
        discipline: crate::catalog::Discipline,
        tier: crate::catalog::Tier,
        archived: bool,
    },
    ShowDuplicated {
        source_show_id: i64,
        show_id: i64,
    },
    ShowPriceSet {
        show_id: i64,
        price_category_id: i64,
        amount_cents: Option<i64>,
    },
    PerformanceCreated {
        performance_id: i64,
        show_id: i64,
        hall_id: i64,
        layout_id: i64,
        starts_at: String,
        capacity: i64,
    },
    PerformanceUpdated {
        performance_id: i64,
        layout_id: i64,
        starts_at: String,
        cancelled: bool,
    },
    QuotaSet {
        performance_id: i64,
        family: String,
        places: i64,
    },
    ProductCreated {
        product_id: i64,
        season_id: i64,
        kind: String,
        name: String,
        price_cents: Option<i64>,
    },
    ContactCreated {
        contact_id: i64,
        /// Added in schema version 2.
        #[serde(default)]
        postal_code: Option<String>,
        /// Added in schema version 2.
        #[serde(default)]
        city: Option<String>,
    },
    CartCreated {
        cart_id: i64,
        channel: crate::sales::Channel,
    },
    SeatsHeld {
        cart_id: i64,
        performance_id: i64,
        seat_ids: Vec<i64>,
        free_places: i64,
        family: String,
        expires_at: String,
    },
    CartItemRemoved {
        cart_id: i64,
        item_id: i64,
    },
    CartExpired {
        cart_id: i64,
    },
    PromoCodeCreated {
        promo_code_id: i64,
        /// Name of the single-use batch (`lot-…`, generated, not a code).
        batch: Option<String>,
    },
    PromoCodeApplied {
        cart_id: i64,
        promo_code_id: i64,
    },
    OrderPlaced {
        order_id: i64,
        number: String,
        cart_id: i64,
        payer_contact_id: i64,
        channel: crate::sales::Channel,
        status: crate::sales::OrderStatus,
        total_cents: i64,
        option_until: Option<String>,
    },
    TicketIssued {
        ticket_id: i64,
        order_id: i64,
        number: String,
        performance_id: i64,
        seat_id: Option<i64>,
        price_category_id: Option<i64>,
        product_id: Option<i64>,
        promo_code_id: Option<i64>,
        amount_cents: i64,
        vat_rate_bp: i64,
        channel: crate::sales::Channel,
        state: crate::seating::PlaceState,
        /// The quota family the place came from (`None`: general sale). Added in schema version 4.
        #[serde(default)]
        family: Option<String>,
        /// Whether a spectator other than the buyer was named on the ticket (the name stays in
        /// the core); `None` in events older than schema version 4, which did not say.
        #[serde(default)]
        spectator_named: Option<bool>,
    },
    ProductSold {
        order_id: i64,
        product_id: i64,
        quantity: i64,
        amount_cents: i64,
        vat_rate_bp: i64,
    },
    PaymentRecorded {
        payment_id: i64,
        order_id: i64,
        method: String,
        amount_cents: i64,
    },
    OptionConfirmed {
        order_id: i64,
    },
    TicketCancelled {
        ticket_id: i64,
        order_id: i64,
        performance_id: i64,
        seat_id: Option<i64>,
    },
    TicketExchanged {
        old_ticket_id: i64,
        new_ticket_id: i64,
        order_id: i64,
    },
    TicketDuplicated {
        ticket_id: i64,
        barcode_version: i64,
    },
    OrderCancelled {
        order_id: i64,
    },
    WaitlistJoined {
        entry_id: i64,
        performance_id: i64,
        quantity: i64,
    },
    WaitlistNotified {
        entry_id: i64,
        performance_id: i64,
    },
}

impl Event {
    /// The variant's name, stored beside the payload for quick filtering.
    pub fn kind(&self) -> &'static str {
        match self {
            Event::UserCreated { .. } => "user_created",
            Event::UserUpdated { .. } => "user_updated",
            Event::UserRolesSet { .. } => "user_roles_set",
            Event::RoleCreated { .. } => "role_created",
            Event::RoleUpdated { .. } => "role_updated",
            Event::ApiTokenCreated { .. } => "api_token_created",
            Event::VenueCreated { .. } => "venue_created",
            Event::HallCreated { .. } => "hall_created",
            Event::LayoutCreated { .. } => "layout_created",
            Event::SeatPlanImported { .. } => "seat_plan_imported",
            Event::SeasonCreated { .. } => "season_created",
            Event::SeasonCarriedOver { .. } => "season_carried_over",
            Event::PriceCategoryCreated { .. } => "price_category_created",
            Event::PriceGridSet { .. } => "price_grid_set",
            Event::ShowCreated { .. } => "show_created",
            Event::ShowUpdated { .. } => "show_updated",
            Event::ShowDuplicated { .. } => "show_duplicated",
            Event::ShowPriceSet { .. } => "show_price_set",
            Event::PerformanceCreated { .. } => "performance_created",
            Event::PerformanceUpdated { .. } => "performance_updated",
            Event::QuotaSet { .. } => "quota_set",
            Event::ProductCreated { .. } => "product_created",
            Event::ContactCreated { .. } => "contact_created",
            Event::CartCreated { .. } => "cart_created",
            Event::SeatsHeld { .. } => "seats_held",
            Event::CartItemRemoved { .. } => "cart_item_removed",
            Event::CartExpired { .. } => "cart_expired",
            Event::PromoCodeCreated { .. } => "promo_code_created",
            Event::PromoCodeApplied { .. } => "promo_code_applied",
            Event::OrderPlaced { .. } => "order_placed",
            Event::TicketIssued { .. } => "ticket_issued",
            Event::ProductSold { .. } => "product_sold",
            Event::PaymentRecorded { .. } => "payment_recorded",
            Event::OptionConfirmed { .. } => "option_confirmed",
            Event::TicketCancelled { .. } => "ticket_cancelled",
            Event::TicketExchanged { .. } => "ticket_exchanged",
            Event::TicketDuplicated { .. } => "ticket_duplicated",
            Event::OrderCancelled { .. } => "order_cancelled",
            Event::WaitlistJoined { .. } => "waitlist_joined",
            Event::WaitlistNotified { .. } => "waitlist_notified",
        }
    }
}

/// An event with its identity, time, actor and schema version: one outbox row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventEnvelope {
    /// Unique id (UUID v4), the key that makes replays idempotent.
    pub event_id: String,
    /// When it happened, UTC, storage format.
    pub occurred_at: String,
    /// The actor by id: `user:ID`, or `system` for the CLI and background tasks (schema 3;
    /// before, the login).
    pub actor: String,
    /// The actor's user id.
    pub actor_id: Option<i64>,
    /// Event schema version.
    pub schema_version: u32,
    /// The fact itself.
    pub event: Event,
}

impl EventEnvelope {
    /// Wraps `event` with a fresh id and the current time.
    pub fn new(actor: &Actor, event: Event) -> Self {
        EventEnvelope {
            event_id: uuid::Uuid::new_v4().to_string(),
            occurred_at: crate::time::now_db(),
            actor: actor.reference(),
            actor_id: actor.user_id,
            schema_version: SCHEMA_VERSION,
            event,
        }
    }
}

/// Reads the outbox in sequence order (tests and diagnostics; the pipelines read up to
/// [`crate::Store::outbox_horizon`] through [`crate::outbox::read`]).
pub async fn read_outbox(store: &crate::Store, after_seq: i64, limit: i64) -> crate::error::Result<Vec<(i64, EventEnvelope)>> {
    crate::outbox::read(store, after_seq, i64::MAX, limit).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelope_round_trips_through_json() {
        let env = EventEnvelope::new(
            &Actor::system(),
            Event::QuotaSet {
                performance_id: 3,
                family: "school".into(),
                places: 40,
            },
        );
        let text = serde_json::to_string(&env).unwrap();
        assert!(text.contains("\"type\":\"quota_set\""));
        let back: EventEnvelope = serde_json::from_str(&text).unwrap();
        assert_eq!(back, env);
        assert_eq!(back.event.kind(), "quota_set");
    }
}
