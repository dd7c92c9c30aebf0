//! What people wanted and did not (yet) buy: carts (`fact_cart`: created, abandoned or
//! converted, what the D+1 basket reminder reads) and waiting lists (`fact_waitlist`).
//!
//! A cart changes with several events (places held, items removed, expiry, checkout): each
//! row remembers the last event applied to it, so applying an event twice changes nothing.

use super::rows::{Cols, Row};
use super::{micros, season_of_time, Res, State};
use crate::log::EventRecord;
use parterre_core::events::Event;
use parterre_core::sales::CartStatus;
use parterre_warehouse::arrow::record_batch::RecordBatch;
use parterre_warehouse::catalog::Table;
use parterre_warehouse::codes::with_codes;
use parterre_warehouse::columns::{ints, opt_ints, opt_times, texts, times};

/// A cart (`fact_cart`).
#[derive(Debug, Clone, PartialEq)]
pub struct CartRow {
    pub cart_id: i64,
    pub channel: String,
    pub created_at: i64,
    /// Places held in it over its life.
    pub places_held: i64,
    /// The first performance it held places at.
    pub first_performance_id: Option<i64>,
    /// Items taken out of it.
    pub items_removed: i64,
    /// open, ordered or expired.
    pub status: String,
    pub expired_at: Option<i64>,
    pub ordered_at: Option<i64>,
    pub order_id: Option<i64>,
    pub buyer_id: Option<i64>,
    /// The last event applied (an event at or before it is not applied again).
    pub last_seq: i64,
    pub season: String,
}

impl Row for CartRow {
    const TABLE: Table = Table::FactCart;
    fn key(&self) -> i64 {
        self.cart_id
    }
    fn decode(b: &RecordBatch, season: &str) -> Res<Vec<Self>> {
        let c = Cols(b);
        let (id, channel, created, held, first) = (
            c.int("cart_id")?,
            c.text("channel")?,
            c.time("created_at")?,
            c.int("places_held")?,
            c.int("first_performance_id")?,
        );
        let (removed, status, expired, ordered, order, buyer, last) = (
            c.int("items_removed")?,
            c.text("status")?,
            c.time("expired_at")?,
            c.time("ordered_at")?,
            c.int("order_id")?,
            c.int("buyer_id")?,
            c.int("last_seq")?,
        );
        Ok((0..b.num_rows())
            .map(|i| CartRow {
                cart_id: id.value(i),
                channel: channel.value(i).to_string(),
                created_at: created.value(i),
                places_held: held.value(i),
                first_performance_id: Cols::opt_int(first, i),
                items_removed: removed.value(i),
                status: status.value(i).to_string(),
                expired_at: Cols::opt_time(expired, i),
                ordered_at: Cols::opt_time(ordered, i),
                order_id: Cols::opt_int(order, i),
                buyer_id: Cols::opt_int(buyer, i),
                last_seq: last.value(i),
                season: season.to_string(),
            })
            .collect())
    }
    fn encode(mut r: Vec<&Self>) -> Res<RecordBatch> {
        r.sort_by_key(|r| r.cart_id);
        with_codes(
            Self::TABLE,
            vec![
                ints(r.iter().map(|r| r.cart_id)),
                texts(r.iter().map(|r| r.channel.as_str())),
                times(r.iter().map(|r| r.created_at)),
                ints(r.iter().map(|r| r.places_held)),
                opt_ints(r.iter().map(|r| r.first_performance_id)),
                ints(r.iter().map(|r| r.items_removed)),
                texts(r.iter().map(|r| r.status.as_str())),
                opt_times(r.iter().map(|r| r.expired_at)),
                opt_times(r.iter().map(|r| r.ordered_at)),
                opt_ints(r.iter().map(|r| r.order_id)),
                opt_ints(r.iter().map(|r| r.buyer_id)),
                ints(r.iter().map(|r| r.last_seq)),
            ],
        )
    }
}

/// A waiting-list entry (`fact_waitlist`): no name, email or phone (they stay in the core).
#[derive(Debug, Clone, PartialEq)]
pub struct WaitlistRow {
    pub entry_id: i64,
    pub performance_id: i64,
    pub show_id: Option<i64>,
    pub quantity: i64,
    pub joined_at: i64,
    pub notified_at: Option<i64>,
    pub season: String,
}

impl Row for WaitlistRow {
    const TABLE: Table = Table::FactWaitlist;
    fn key(&self) -> i64 {
        self.entry_id
    }
    fn decode(b: &RecordBatch, season: &str) -> Res<Vec<Self>> {
        let c = Cols(b);
        let (id, perf, show, qty, joined, notified) = (
            c.int("entry_id")?,
            c.int("performance_id")?,
            c.int("show_id")?,
            c.int("quantity")?,
            c.time("joined_at")?,
            c.time("notified_at")?,
        );
        Ok((0..b.num_rows())
            .map(|i| WaitlistRow {
                entry_id: id.value(i),
                performance_id: perf.value(i),
                show_id: Cols::opt_int(show, i),
                quantity: qty.value(i),
                joined_at: joined.value(i),
                notified_at: Cols::opt_time(notified, i),
                season: season.to_string(),
            })
            .collect())
    }
    fn encode(mut r: Vec<&Self>) -> Res<RecordBatch> {
        r.sort_by_key(|r| r.entry_id);
        with_codes(
            Self::TABLE,
            vec![
                ints(r.iter().map(|r| r.entry_id)),
                ints(r.iter().map(|r| r.performance_id)),
                opt_ints(r.iter().map(|r| r.show_id)),
                ints(r.iter().map(|r| r.quantity)),
                times(r.iter().map(|r| r.joined_at)),
                opt_times(r.iter().map(|r| r.notified_at)),
            ],
        )
    }
}

impl State<'_> {
    /// Changes cart `id` by event `seq`, unless the event was already applied to it.
    fn cart(&mut self, seq: i64, id: i64, change: impl FnOnce(&mut CartRow)) -> Res<()> {
        let src = self.src;
        self.carts.update(&src, seq, id, |c| {
            if seq > c.last_seq {
                change(c);
                c.last_seq = seq;
            }
        })
    }

    /// Applies the events of carts and waiting lists (the rest of [`State::apply`]).
    pub(super) fn apply_wants(&mut self, r: &EventRecord) -> Res<()> {
        let at = micros(&r.occurred_at).unwrap_or(0);
        let seq = r.seq;
        let src = self.src;
        match &r.event {
            Event::CartCreated { cart_id, channel } => {
                let season = season_of_time(&r.occurred_at);
                if self.carts.get(&src, *cart_id)?.is_none() {
                    let row = CartRow {
                        cart_id: *cart_id,
                        channel: channel.code().into(),
                        created_at: at,
                        places_held: 0,
                        first_performance_id: None,
                        items_removed: 0,
                        status: CartStatus::Open.code().into(),
                        expired_at: None,
                        ordered_at: None,
                        order_id: None,
                        buyer_id: None,
                        last_seq: seq,
                        season: season.clone(),
                    };
                    self.carts.insert(&src, seq, &season, row)?;
                }
            }
            Event::SeatsHeld {
                cart_id,
                performance_id,
                seat_ids,
                free_places,
                ..
            } => {
                let places = i64::try_from(seat_ids.len()).unwrap_or(i64::MAX).saturating_add(*free_places);
                self.cart(seq, *cart_id, |c| {
                    c.places_held = c.places_held.saturating_add(places);
                    c.first_performance_id.get_or_insert(*performance_id);
                })?
            }
            Event::CartItemRemoved { cart_id, .. } => self.cart(seq, *cart_id, |c| c.items_removed = c.items_removed.saturating_add(1))?,
            Event::CartExpired { cart_id } => self.cart(seq, *cart_id, |c| {
                c.status = CartStatus::Expired.code().into();
                c.expired_at = Some(at);
            })?,
            Event::OrderPlaced {
                order_id,
                cart_id,
                payer_contact_id,
                ..
            } => self.cart(seq, *cart_id, |c| {
                c.status = CartStatus::Ordered.code().into();
                c.ordered_at = Some(at);
                c.order_id = Some(*order_id);
                c.buyer_id = Some(*payer_contact_id);
            })?,
            Event::WaitlistJoined {
                entry_id,
                performance_id,
                quantity,
            } => {
                let (perf, season) = self.performance_and_season(*performance_id, &r.occurred_at)?;
                let notified_at = self.waitlist.get(&src, *entry_id)?.and_then(|w| w.notified_at);
                let row = WaitlistRow {
                    entry_id: *entry_id,
                    performance_id: *performance_id,
                    show_id: perf.map(|p| p.show_id),
                    quantity: *quantity,
                    joined_at: at,
                    notified_at,
                    season: season.clone(),
                };
                self.waitlist.insert(&src, seq, &season, row)?;
            }
            Event::WaitlistNotified { entry_id, .. } => self.waitlist.update(&src, seq, *entry_id, |w| {
                w.notified_at.get_or_insert(at);
            })?,
            _ => {}
        }
        Ok(())
    }
}
