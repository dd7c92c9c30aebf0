//! Projection: events of the log → the warehouse tables.
//!
//! The projection keeps the current rows of the dimension and fact tables in memory, keyed
//! by their id, so applying an event is an upsert and applying it twice changes nothing
//! (replays after a crash are harmless). Each row knows its season; an event marks the
//! (table, season) partitions it changed, and only those are rewritten (see [`flush`]).
//! Raw events go to the `events` table as new files, never rewritten.
//!
//! On start the state is rebuilt by replaying the log up to the projection's checkpoint
//! (`warehouse/_projection.json`); events after it are then applied and their partitions
//! written, and the checkpoint moves last.

mod rows;

use parterre_core::events::Event;
use parterre_core::payments::split_vat;
use parterre_core::sales::{OrderStatus, TicketStatus};
use parterre_core::seating::PlaceState;
use parterre_core::Money;
use parterre_warehouse::catalog::Table;
pub use rows::{event_batch, ContactRow, OrderRow, PaymentRow, PerformanceRow, ShowRow, TicketRow};
use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::log::EventRecord;

/// Microseconds since the epoch of a storage time (`None` when unreadable).
pub fn micros(db_time: &str) -> Option<i64> {
    parterre_core::time::from_db(db_time).map(|t| t.timestamp_micros())
}

/// A ticket's status in `fact_ticket`: `valid` once sold, else the state its place took
/// (`option`, `invitation`), until it is cancelled.
fn ticket_status(issued_as: PlaceState) -> &'static str {
    match issued_as {
        PlaceState::Sold => TicketStatus::Valid.code(),
        other => other.code(),
    }
}

/// Season of a storage time, by its date in the venue's time zone.
pub fn season_of_time(db_time: &str) -> String {
    match parterre_core::time::from_db(db_time) {
        Some(t) => {
            let d = t.with_timezone(&parterre_core::time::VENUE_TZ).date_naive();
            use chrono::Datelike;
            parterre_warehouse::catalog::season_name(d.year(), d.month())
        }
        None => "1970-1971".into(),
    }
}

/// The projected state.
#[derive(Debug, Default)]
pub struct State {
    seasons: HashMap<i64, String>,
    venues: HashMap<i64, String>,
    halls: HashMap<i64, (String, i64)>,
    price_categories: HashMap<i64, String>,
    /// Formules and products: (kind, name).
    products: HashMap<i64, (String, String)>,
    /// Promo codes: their batch (the code text never reaches the log).
    promo_codes: HashMap<i64, Option<String>>,
    pub(crate) orders: HashMap<i64, OrderRow>,
    order_tickets: HashMap<i64, Vec<i64>>,
    pub(crate) shows: HashMap<i64, ShowRow>,
    pub(crate) performances: HashMap<i64, PerformanceRow>,
    pub(crate) contacts: HashMap<i64, ContactRow>,
    pub(crate) tickets: HashMap<i64, TicketRow>,
    pub(crate) payments: HashMap<i64, PaymentRow>,
    /// Partitions changed since the last flush.
    pub(crate) dirty: BTreeSet<(Table, String)>,
    /// Last seq applied.
    pub last_seq: i64,
}

impl State {
    fn touch(&mut self, t: Table, season: &str) {
        if !self.dirty.contains(&(t, season.to_string())) {
            self.dirty.insert((t, season.to_string()));
        }
    }

    /// Applies one event (idempotent).
    pub fn apply(&mut self, r: &EventRecord) {
        self.last_seq = self.last_seq.max(r.seq);
        let at = micros(&r.occurred_at).unwrap_or(0);
        match &r.event {
            Event::SeasonCreated { season_id, name, .. } => {
                self.seasons.insert(*season_id, name.clone());
            }
            Event::VenueCreated { venue_id, name, .. } => {
                self.venues.insert(*venue_id, name.clone());
            }
            Event::HallCreated { hall_id, venue_id, name } => {
                self.halls.insert(*hall_id, (name.clone(), *venue_id));
            }
            Event::PriceCategoryCreated {
                price_category_id, code, ..
            } => {
                self.price_categories.insert(*price_category_id, code.clone());
            }
            Event::ProductCreated {
                product_id, kind, name, ..
            } => {
                self.products.insert(*product_id, (kind.clone(), name.clone()));
            }
            Event::PromoCodeCreated { promo_code_id, batch } => {
                self.promo_codes.insert(*promo_code_id, batch.clone());
            }
            Event::ShowCreated {
                show_id,
                season_id,
                name,
                discipline,
                audience,
                tier,
                vat_rate_bp,
                is_creation,
            } => {
                let season = self
                    .seasons
                    .get(season_id)
                    .cloned()
                    .unwrap_or_else(|| season_of_time(&r.occurred_at));
                let row = ShowRow {
                    show_id: *show_id,
                    name: name.clone(),
                    discipline: discipline.code().into(),
                    audience: audience.clone(),
                    tier: tier.code().into(),
                    vat_rate_bp: *vat_rate_bp,
                    is_creation: *is_creation,
                    archived: false,
                    created_at: at,
                    season: season.clone(),
                };
                self.shows.insert(*show_id, row);
                self.touch(Table::DimShow, &season);
            }
            Event::ShowUpdated {
                show_id,
                name,
                discipline,
                tier,
                archived,
            } => {
                if let Some(s) = self.shows.get_mut(show_id) {
                    s.name = name.clone();
                    s.discipline = discipline.code().into();
                    s.tier = tier.code().into();
                    s.archived = *archived;
                    let season = s.season.clone();
                    self.touch(Table::DimShow, &season);
                }
            }
            Event::PerformanceCreated {
                performance_id,
                show_id,
                hall_id,
                layout_id,
                starts_at,
                capacity,
            } => {
                let season = self
                    .shows
                    .get(show_id)
                    .map(|s| s.season.clone())
                    .unwrap_or_else(|| season_of_time(starts_at));
                let (hall, venue) = match self.halls.get(hall_id) {
                    Some((h, v)) => (Some(h.clone()), self.venues.get(v).cloned()),
                    None => (None, None),
                };
                let row = PerformanceRow {
                    performance_id: *performance_id,
                    show_id: *show_id,
                    hall_id: *hall_id,
                    hall,
                    venue,
                    layout_id: *layout_id,
                    starts_at: micros(starts_at).unwrap_or(0),
                    capacity: *capacity,
                    cancelled: false,
                    season: season.clone(),
                };
                self.performances.insert(*performance_id, row);
                self.touch(Table::DimPerformance, &season);
            }
            Event::PerformanceUpdated {
                performance_id,
                layout_id,
                starts_at,
                cancelled,
            } => {
                if let Some(p) = self.performances.get_mut(performance_id) {
                    p.layout_id = *layout_id;
                    p.starts_at = micros(starts_at).unwrap_or(p.starts_at);
                    p.cancelled = *cancelled;
                    let season = p.season.clone();
                    self.touch(Table::DimPerformance, &season);
                }
            }
            Event::ContactCreated {
                contact_id,
                postal_code,
                city,
            } => {
                let season = season_of_time(&r.occurred_at);
                self.contacts.insert(
                    *contact_id,
                    ContactRow {
                        contact_id: *contact_id,
                        postal_code: postal_code.clone(),
                        city: city.clone(),
                        created_at: at,
                        season: season.clone(),
                    },
                );
                self.touch(Table::DimContact, &season);
            }
            Event::OrderPlaced {
                order_id,
                number,
                payer_contact_id,
                channel,
                status,
                total_cents,
                option_until,
                ..
            } => {
                let season = season_of_time(&r.occurred_at);
                self.orders.insert(
                    *order_id,
                    OrderRow {
                        order_id: *order_id,
                        number: number.clone(),
                        buyer_id: *payer_contact_id,
                        channel: channel.code().into(),
                        operator_id: r.actor_id,
                        status: status.code().into(),
                        total: *total_cents,
                        placed_at: at,
                        option_until: option_until.as_deref().and_then(micros),
                        confirmed_at: None,
                        cancelled_at: None,
                        season: season.clone(),
                    },
                );
                self.touch(Table::FactOrder, &season);
            }
            Event::OrderCancelled { order_id } => {
                if let Some(o) = self.orders.get_mut(order_id) {
                    o.status = OrderStatus::Cancelled.code().into();
                    o.cancelled_at = Some(at);
                    let season = o.season.clone();
                    self.touch(Table::FactOrder, &season);
                }
            }
            Event::TicketIssued {
                ticket_id,
                order_id,
                number,
                performance_id,
                seat_id,
                price_category_id,
                product_id,
                promo_code_id,
                amount_cents,
                vat_rate_bp,
                channel,
                state,
            } => {
                let perf = self.performances.get(performance_id);
                let season = perf.map(|p| p.season.clone()).unwrap_or_else(|| season_of_time(&r.occurred_at));
                let (order_number, buyer_id) = match self.orders.get(order_id) {
                    Some(o) => (Some(o.number.clone()), Some(o.buyer_id)),
                    None => (None, None),
                };
                let formule = product_id.and_then(|p| self.products.get(&p)).filter(|(k, _)| k == "formule");
                let (ht, vat) = split_vat(Money::cents(*amount_cents), *vat_rate_bp);
                let row = TicketRow {
                    ticket_id: *ticket_id,
                    number: number.clone(),
                    order_id: *order_id,
                    order_number,
                    performance_id: *performance_id,
                    performance_starts_at: perf.map(|p| p.starts_at),
                    show_id: perf.map(|p| p.show_id),
                    hall_id: perf.map(|p| p.hall_id),
                    seat_id: *seat_id,
                    price_category_id: *price_category_id,
                    price_category: price_category_id.and_then(|p| self.price_categories.get(&p).cloned()),
                    formule_id: formule.map(|_| product_id.unwrap_or_default()),
                    formule: formule.map(|(_, n)| n.clone()),
                    promo_code_id: *promo_code_id,
                    promo_batch: promo_code_id.and_then(|p| self.promo_codes.get(&p).cloned().flatten()),
                    channel: channel.code().into(),
                    operator_id: r.actor_id,
                    buyer_id,
                    spectator_id: None,
                    amount_ttc: *amount_cents,
                    amount_ht: ht.as_cents(),
                    vat_amount: vat.as_cents(),
                    vat_rate_bp: *vat_rate_bp,
                    status: ticket_status(*state).into(),
                    issued_at: at,
                    confirmed_at: None,
                    cancelled_at: None,
                    exchanged_at: None,
                    exchanged_for: None,
                    season: season.clone(),
                };
                let list = self.order_tickets.entry(*order_id).or_default();
                if !list.contains(ticket_id) {
                    list.push(*ticket_id);
                }
                self.tickets.insert(*ticket_id, row);
                self.touch(Table::FactTicket, &season);
            }
            Event::OptionConfirmed { order_id } => {
                if let Some(o) = self.orders.get_mut(order_id) {
                    o.status = OrderStatus::Confirmed.code().into();
                    o.option_until = None;
                    o.confirmed_at = Some(at);
                    let season = o.season.clone();
                    self.touch(Table::FactOrder, &season);
                }
                let ids = self.order_tickets.get(order_id).cloned().unwrap_or_default();
                for id in ids {
                    if let Some(t) = self.tickets.get_mut(&id) {
                        if t.status == PlaceState::Option.code() {
                            t.status = TicketStatus::Valid.code().into();
                            t.confirmed_at = Some(at);
                            let season = t.season.clone();
                            self.touch(Table::FactTicket, &season);
                        }
                    }
                }
            }
            Event::TicketCancelled { ticket_id, .. } => {
                if let Some(t) = self.tickets.get_mut(ticket_id) {
                    t.status = TicketStatus::Cancelled.code().into();
                    t.cancelled_at = Some(at);
                    let season = t.season.clone();
                    self.touch(Table::FactTicket, &season);
                }
            }
            Event::TicketExchanged {
                old_ticket_id,
                new_ticket_id,
                ..
            } => {
                if let Some(t) = self.tickets.get_mut(old_ticket_id) {
                    t.status = "exchanged".into();
                    t.exchanged_at = Some(at);
                    t.exchanged_for = Some(*new_ticket_id);
                    let season = t.season.clone();
                    self.touch(Table::FactTicket, &season);
                }
            }
            Event::PaymentRecorded {
                payment_id,
                order_id,
                method,
                amount_cents,
            } => {
                let season = season_of_time(&r.occurred_at);
                let buyer = self.orders.get(order_id).map(|o| o.buyer_id);
                self.payments.insert(
                    *payment_id,
                    PaymentRow {
                        payment_id: *payment_id,
                        order_id: *order_id,
                        buyer_id: buyer,
                        method: method.clone(),
                        amount: *amount_cents,
                        operator_id: r.actor_id,
                        paid_at: at,
                        season: season.clone(),
                    },
                );
                self.touch(Table::FactPayment, &season);
            }
            _ => {}
        }
    }

    /// Rows of `table` in `season`, as an Arrow batch sorted for the common filters.
    pub fn batch(&self, table: Table, season: &str) -> parterre_warehouse::Result<parterre_warehouse::arrow::record_batch::RecordBatch> {
        rows::batch(self, table, season)
    }

    /// Every (table, season) holding rows, for a full write.
    pub fn all_partitions(&self) -> BTreeSet<(Table, String)> {
        let mut out = BTreeSet::new();
        out.extend(self.shows.values().map(|r| (Table::DimShow, r.season.clone())));
        out.extend(self.performances.values().map(|r| (Table::DimPerformance, r.season.clone())));
        out.extend(self.contacts.values().map(|r| (Table::DimContact, r.season.clone())));
        out.extend(self.tickets.values().map(|r| (Table::FactTicket, r.season.clone())));
        out.extend(self.payments.values().map(|r| (Table::FactPayment, r.season.clone())));
        out.extend(self.orders.values().map(|r| (Table::FactOrder, r.season.clone())));
        out
    }
}

/// Refuses an event whose amounts do not fit the warehouse's columns (money is
/// DECIMAL(12,2): at most 9,999,999,999.99 €; VAT rates DECIMAL(5,2)), naming it: the
/// pipeline stops before it rather than write garbage, and carries on once it is fixed.
pub fn check_fits(r: &EventRecord) -> crate::Result<()> {
    use parterre_warehouse::columns::fits;
    let fields: Vec<(&str, i64, u8)> = match &r.event {
        Event::ShowCreated { vat_rate_bp, .. } => vec![("vat_rate_bp", *vat_rate_bp, 5)],
        Event::OrderPlaced { total_cents, .. } => vec![("total_cents", *total_cents, 12)],
        Event::TicketIssued {
            amount_cents, vat_rate_bp, ..
        } => vec![("amount_cents", *amount_cents, 12), ("vat_rate_bp", *vat_rate_bp, 5)],
        Event::PaymentRecorded { amount_cents, .. } => vec![("amount_cents", *amount_cents, 12)],
        _ => vec![],
    };
    match fields.into_iter().find(|(_, v, p)| !fits(*v, *p)) {
        Some((field, value, precision)) => Err(crate::PipelineError::Unfit {
            seq: r.seq,
            event_id: r.event_id.clone(),
            kind: r.event.kind().to_string(),
            field: field.to_string(),
            value,
            column: format!("DECIMAL({precision},2)"),
        }),
        None => Ok(()),
    }
}

/// Raw event rows of a batch of records, by season of their time.
pub fn event_rows(records: &[EventRecord]) -> BTreeMap<String, Vec<&EventRecord>> {
    let mut out: BTreeMap<String, Vec<&EventRecord>> = BTreeMap::new();
    for r in records {
        out.entry(season_of_time(&r.occurred_at)).or_default().push(r);
    }
    out
}
