//! Projection: events of the log → the warehouse tables.
//!
//! A step applies its events to the partitions they touch, read from their live files
//! ([`parts`]): applying an event is an upsert keyed by id, so applying it twice changes
//! nothing. Each row knows its season; the partitions an event changed are written as new
//! files by the pipeline, which then commits them in one manifest generation. Raw events go
//! to the `events` table as new files, never rewritten.
//!
//! What events refer to and no table holds (seasons, halls, venues, price categories,
//! products, promo-code batches) is the reference data ([`Refs`]), a small file named by the
//! manifest, read at each step and rewritten only when it changes.

pub mod calendar;
pub mod parts;
pub mod rollups;
mod rows;
pub mod wants;

use parterre_core::events::Event;
use parterre_core::payments::split_vat;
use parterre_core::sales::{OrderStatus, TicketStatus};
use parterre_core::seating::PlaceState;
use parterre_core::Money;
use parterre_warehouse::arrow::record_batch::RecordBatch;
use parterre_warehouse::catalog::Table;
use parts::{Parts, Source};
pub use rows::{event_batch, ContactRow, OrderRow, PaymentRow, PerformanceRow, Row, ShowRow, TicketRow};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

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

/// A ticket's price family, from what sold it: an invitation; a formule, pass or
/// card (the product's kind); else its price category (`school`, `pass_culture`, `full` or
/// none, anything else reduced). Always a label of [`parterre_warehouse::codes::PRICE_FAMILY`].
pub fn price_family(issued_as: PlaceState, product_kind: Option<&str>, price_category: Option<&str>) -> &'static str {
    if issued_as == PlaceState::Invitation || price_category == Some("invitation") {
        return "invitation";
    }
    match (product_kind, price_category) {
        (Some("formule"), _) => "formule",
        (Some("pass"), _) => "pass",
        (Some("card"), _) => "card",
        (Some(_), _) => "product",
        (None, Some("school")) => "school",
        (None, Some("pass_culture")) => "pass_culture",
        (None, Some("full") | None) => "full",
        (None, Some(_)) => "reduced",
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

/// What events refer to and no table holds: small (the size of the catalogue), read at each
/// step from the file the manifest names.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Refs {
    /// Season names by id.
    pub seasons: BTreeMap<i64, String>,
    /// Venue names by id.
    pub venues: BTreeMap<i64, String>,
    /// Halls: (name, venue id).
    pub halls: BTreeMap<i64, (String, i64)>,
    /// Price category codes by id.
    pub price_categories: BTreeMap<i64, String>,
    /// Formules and products: (kind, name).
    pub products: BTreeMap<i64, (String, String)>,
    /// Promo codes' single-use batch, for those that have one (the code text never reaches the log).
    pub promo_batches: BTreeMap<i64, String>,
}

/// The working set of one step (or of a rebuild): the partitions it touched.
#[derive(Debug)]
pub struct State<'a> {
    src: Source<'a>,
    /// Reference data.
    pub refs: Refs,
    /// The reference data changed in this step.
    pub refs_changed: bool,
    pub(crate) shows: Parts<ShowRow>,
    pub(crate) performances: Parts<PerformanceRow>,
    pub(crate) contacts: Parts<ContactRow>,
    pub(crate) tickets: Parts<TicketRow>,
    pub(crate) payments: Parts<PaymentRow>,
    pub(crate) orders: Parts<OrderRow>,
    pub(crate) carts: Parts<wants::CartRow>,
    pub(crate) waitlist: Parts<wants::WaitlistRow>,
    /// Last seq applied.
    pub last_seq: i64,
}

/// A partition to write: its table, season, the seqs of the events that changed it in this
/// step, and how to build its batch (rows sorted; empty when the partition is gone).
pub struct Dirty<'s> {
    /// The table.
    pub table: Table,
    /// The season.
    pub season: String,
    /// Seqs of this step's events that changed it.
    pub seqs: (i64, i64),
    /// Builds the batch.
    pub batch: Batcher<'s>,
}

fn dirty_of<'s, R: Row>(parts: &'s Parts<R>, out: &mut Vec<Dirty<'s>>) {
    for (season, p) in parts.dirty() {
        out.push(Dirty {
            table: R::TABLE,
            season: season.clone(),
            seqs: p.seqs.unwrap_or_default(),
            batch: Box::new(move || R::encode(p.rows.values().collect())),
        });
    }
}

type Res<T> = parterre_warehouse::Result<T>;
type Batcher<'s> = Box<dyn Fn() -> Res<RecordBatch> + Send + Sync + 's>;

impl<'a> State<'a> {
    /// An empty working set over `src`, with the reference data `refs`.
    pub fn new(src: Source<'a>, refs: Refs) -> Self {
        State {
            src,
            refs,
            refs_changed: false,
            shows: Parts::default(),
            performances: Parts::default(),
            contacts: Parts::default(),
            tickets: Parts::default(),
            payments: Parts::default(),
            orders: Parts::default(),
            carts: Parts::default(),
            waitlist: Parts::default(),
            last_seq: 0,
        }
    }

    /// The partitions changed, ready to be written.
    pub fn dirty<'s>(&'s self) -> Vec<Dirty<'s>> {
        let mut out = Vec::new();
        dirty_of(&self.shows, &mut out);
        dirty_of(&self.performances, &mut out);
        dirty_of(&self.contacts, &mut out);
        dirty_of(&self.tickets, &mut out);
        dirty_of(&self.payments, &mut out);
        dirty_of(&self.orders, &mut out);
        dirty_of(&self.carts, &mut out);
        dirty_of(&self.waitlist, &mut out);
        // The rollups of every season whose tickets or performances changed, from the
        // season's whole partitions (read by `finish`).
        out.extend(self.rollups(&self.rollup_seasons()));
        out
    }

    /// A performance (if projected) and the season its facts go to: the performance's, else
    /// that of the event's time.
    pub(crate) fn performance_and_season(&mut self, id: i64, occurred_at: &str) -> Res<(Option<PerformanceRow>, String)> {
        let src = self.src;
        let perf = self.performances.get(&src, id)?.cloned();
        let season = perf
            .as_ref()
            .map(|p| p.season.clone())
            .unwrap_or_else(|| season_of_time(occurred_at));
        Ok((perf, season))
    }

    /// Reads what the rollups of each season whose tickets or performances changed need (its
    /// shows, performances and tickets); call once the step's events are applied.
    pub fn finish(&mut self) -> Res<()> {
        self.load_for_rollups(&self.rollup_seasons())
    }
    /// The seasons whose rollups this step rewrites: those whose tickets or performances changed.
    fn rollup_seasons(&self) -> BTreeSet<String> {
        self.tickets
            .dirty()
            .map(|(s, _)| s.clone())
            .chain(self.performances.dirty().map(|(s, _)| s.clone()))
            .collect()
    }

    /// The rollups of `seasons`, from their loaded partitions ([`Self::load_for_rollups`]).
    pub fn rollups<'s>(&'s self, seasons: &BTreeSet<String>) -> Vec<Dirty<'s>> {
        let mut out = Vec::new();
        for season in seasons {
            let tickets = self.tickets.loaded.get(season);
            let perfs = self.performances.loaded.get(season);
            let shows = self.shows.loaded.get(season);
            let seqs = [tickets.and_then(|p| p.seqs), perfs.and_then(|p| p.seqs)]
                .into_iter()
                .flatten()
                .reduce(|a, b| (a.0.min(b.0), a.1.max(b.1)))
                .unwrap_or_default();
            let t = move || tickets.map(|p| p.rows.values().collect::<Vec<_>>()).unwrap_or_default();
            let rollup = |table: Table, batch: Batcher<'s>| -> Dirty<'s> {
                Dirty {
                    table,
                    season: season.clone(),
                    seqs,
                    batch,
                }
            };
            out.push(rollup(Table::AggSales, Box::new(move || rollups::sales(&t()))));
            out.push(rollup(Table::AggSalesDay, Box::new(move || rollups::sales_day(&t()))));
            out.push(rollup(
                Table::AggCapacity,
                Box::new(move || {
                    let p = perfs.map(|p| p.rows.values().collect::<Vec<_>>()).unwrap_or_default();
                    rollups::capacity(&p, &t())
                }),
            ));
            out.push(rollup(
                Table::FactCapacity,
                Box::new(move || rollups::capacity_offer(&perfs.map(|p| p.rows.values().collect::<Vec<_>>()).unwrap_or_default())),
            ));
            let name = season.clone();
            out.push(rollup(Table::DimDate, Box::new(move || rollups::dates(&name, &t()))));
            out.push(rollup(
                Table::AggContactSeason,
                Box::new(move || {
                    let shows = shows.map(|s| s.rows.iter().map(|(id, r)| (*id, r)).collect()).unwrap_or_default();
                    rollups::contact_season(&t(), &shows)
                }),
            ));
        }
        out
    }

    /// Reads the partitions the rollups of `seasons` are computed from (shows, performances,
    /// tickets).
    pub fn load_for_rollups(&mut self, seasons: &BTreeSet<String>) -> Res<()> {
        for s in seasons {
            self.shows.load(&self.src, s)?;
            self.performances.load(&self.src, s)?;
            self.tickets.load(&self.src, s)?;
        }
        Ok(())
    }

    fn set_ref<V: PartialEq>(map: &mut BTreeMap<i64, V>, changed: &mut bool, id: i64, v: V) {
        if map.get(&id) != Some(&v) {
            map.insert(id, v);
            *changed = true;
        }
    }

    /// Applies one event (idempotent), reading the partitions it needs.
    pub fn apply(&mut self, r: &EventRecord) -> Res<()> {
        self.last_seq = self.last_seq.max(r.seq);
        let at = micros(&r.occurred_at).unwrap_or(0);
        let seq = r.seq;
        let src = self.src;
        let changed = &mut self.refs_changed;
        match &r.event {
            Event::SeasonCreated { season_id, name, .. } => Self::set_ref(&mut self.refs.seasons, changed, *season_id, name.clone()),
            Event::VenueCreated { venue_id, name, .. } => Self::set_ref(&mut self.refs.venues, changed, *venue_id, name.clone()),
            Event::HallCreated { hall_id, venue_id, name } => {
                Self::set_ref(&mut self.refs.halls, changed, *hall_id, (name.clone(), *venue_id))
            }
            Event::PriceCategoryCreated {
                price_category_id, code, ..
            } => Self::set_ref(&mut self.refs.price_categories, changed, *price_category_id, code.clone()),
            Event::ProductCreated {
                product_id, kind, name, ..
            } => Self::set_ref(&mut self.refs.products, changed, *product_id, (kind.clone(), name.clone())),
            Event::PromoCodeCreated {
                promo_code_id,
                batch: Some(b),
            } => Self::set_ref(&mut self.refs.promo_batches, changed, *promo_code_id, b.clone()),
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
                    .refs
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
                self.shows.insert(&src, seq, &season, row)?;
            }
            Event::ShowUpdated {
                show_id,
                name,
                discipline,
                tier,
                archived,
            } => self.shows.update(&src, seq, *show_id, |s| {
                s.name = name.clone();
                s.discipline = discipline.code().into();
                s.tier = tier.code().into();
                s.archived = *archived;
            })?,
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
                    .get(&src, *show_id)?
                    .map(|s| s.season.clone())
                    .unwrap_or_else(|| season_of_time(starts_at));
                let (hall, venue) = match self.refs.halls.get(hall_id) {
                    Some((h, v)) => (Some(h.clone()), self.refs.venues.get(v).cloned()),
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
                    quotas: BTreeMap::new(),
                    season: season.clone(),
                };
                self.performances.insert(&src, seq, &season, row)?;
            }
            Event::QuotaSet {
                performance_id,
                family,
                places,
            } => self.performances.update(&src, seq, *performance_id, |p| {
                if *places > 0 {
                    p.quotas.insert(family.clone(), *places);
                } else {
                    p.quotas.remove(family);
                }
            })?,
            Event::PerformanceUpdated {
                performance_id,
                layout_id,
                starts_at,
                cancelled,
            } => self.performances.update(&src, seq, *performance_id, |p| {
                p.layout_id = *layout_id;
                p.starts_at = micros(starts_at).unwrap_or(p.starts_at);
                p.cancelled = *cancelled;
            })?,
            Event::ContactCreated {
                contact_id,
                postal_code,
                city,
            } => {
                let season = season_of_time(&r.occurred_at);
                let row = ContactRow {
                    contact_id: *contact_id,
                    postal_code: postal_code.clone(),
                    city: city.clone(),
                    created_at: at,
                    season: season.clone(),
                };
                self.contacts.insert(&src, seq, &season, row)?;
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
                let row = OrderRow {
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
                };
                self.orders.insert(&src, seq, &season, row)?;
            }
            Event::OrderCancelled { order_id } => self.orders.update(&src, seq, *order_id, |o| {
                o.status = OrderStatus::Cancelled.code().into();
                o.cancelled_at = Some(at);
            })?,
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
                family: quota_family,
                spectator_named,
            } => {
                let (perf, season) = self.performance_and_season(*performance_id, &r.occurred_at)?;
                let (order_number, buyer_id) = match self.orders.get(&src, *order_id)? {
                    Some(o) => (Some(o.number.clone()), Some(o.buyer_id)),
                    None => (None, None),
                };
                let product = product_id.and_then(|p| self.refs.products.get(&p));
                let formule = product.filter(|(k, _)| k == "formule");
                let price_category = price_category_id.and_then(|p| self.refs.price_categories.get(&p).cloned());
                let family = price_family(*state, product.map(|(k, _)| k.as_str()), price_category.as_deref());
                let (ht, vat) = split_vat(Money::cents(*amount_cents), *vat_rate_bp);
                let row = TicketRow {
                    ticket_id: *ticket_id,
                    number: number.clone(),
                    order_id: *order_id,
                    order_number,
                    performance_id: *performance_id,
                    performance_starts_at: perf.as_ref().map(|p| p.starts_at),
                    show_id: perf.as_ref().map(|p| p.show_id),
                    hall_id: perf.as_ref().map(|p| p.hall_id),
                    seat_id: *seat_id,
                    price_category_id: *price_category_id,
                    price_category,
                    price_family: family.into(),
                    formule_id: formule.map(|_| product_id.unwrap_or_default()),
                    formule: formule.map(|(_, n)| n.clone()),
                    promo_code_id: *promo_code_id,
                    promo_batch: promo_code_id.and_then(|p| self.refs.promo_batches.get(&p).cloned()),
                    quota_family: quota_family.clone().filter(|f| !f.is_empty()),
                    channel: channel.code().into(),
                    operator_id: r.actor_id,
                    buyer_id,
                    // The buyer attends unless the ticket names someone else (whose name stays
                    // in the core: no contact id to give); events before schema 4 do not say.
                    spectator_id: if *spectator_named == Some(false) { buyer_id } else { None },
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
                self.tickets.insert(&src, seq, &season, row)?;
            }
            Event::OptionConfirmed { order_id } => {
                self.orders.update(&src, seq, *order_id, |o| {
                    o.status = OrderStatus::Confirmed.code().into();
                    o.option_until = None;
                    o.confirmed_at = Some(at);
                })?;
                self.tickets.load_holding(&src, "order_id", *order_id)?;
                for p in self.tickets.loaded.values_mut() {
                    let mut changed = false;
                    for t in p.rows.values_mut().filter(|t| t.order_id == *order_id) {
                        if t.status == PlaceState::Option.code() {
                            t.status = TicketStatus::Valid.code().into();
                            t.confirmed_at = Some(at);
                            changed = true;
                        }
                    }
                    if changed {
                        p.touch(seq);
                    }
                }
            }
            Event::TicketCancelled { ticket_id, .. } => self.tickets.update(&src, seq, *ticket_id, |t| {
                t.status = TicketStatus::Cancelled.code().into();
                t.cancelled_at = Some(at);
            })?,
            Event::TicketExchanged {
                old_ticket_id,
                new_ticket_id,
                ..
            } => self.tickets.update(&src, seq, *old_ticket_id, |t| {
                t.status = rollups::EXCHANGED.into();
                t.exchanged_at = Some(at);
                t.exchanged_for = Some(*new_ticket_id);
            })?,
            Event::PaymentRecorded {
                payment_id,
                order_id,
                method,
                amount_cents,
            } => {
                let season = season_of_time(&r.occurred_at);
                let buyer = self.orders.get(&src, *order_id)?.map(|o| o.buyer_id);
                let row = PaymentRow {
                    payment_id: *payment_id,
                    order_id: *order_id,
                    buyer_id: buyer,
                    method: method.clone(),
                    amount: *amount_cents,
                    operator_id: r.actor_id,
                    paid_at: at,
                    season: season.clone(),
                };
                self.payments.insert(&src, seq, &season, row)?;
            }
            _ => {}
        }
        self.apply_wants(r)
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

#[cfg(test)]
mod tests;
