//! After the sale: cancel, exchange to another performance, refund (full or
//! partial), duplicate a ticket (its old barcode revoked), and paying an option. Each is one
//! transaction with its events; money rows are only ever appended.
//!
//! Each operation reads and checks what it depends on (the order's state, its balance, the
//! ticket's status) inside its own write transaction, after taking the order's lock, and
//! every conditional update must change exactly the rows expected, or nothing is written:
//! sixteen identical refunds sent at once give back the money once. Each accepts an
//! [`IdempotencyKey`]: the same key twice returns the first answer.

use super::carts::{check_on_sale, ticket_price};
use super::orders::{get_order, lock_order, next_in_sequence, read_order, record_payment, Order};
use super::{OrderStatus, TicketStatus};
use crate::catalog::{performances, seasons};
use crate::db;
use crate::error::{CoreError, FieldErrors, Result};
use crate::events::Event;
use crate::idempotency::{self, IdempotencyKey};
use crate::money::Money;
use crate::payments::{self, Tender};
use crate::seating::inventory;
use crate::seating::PlaceState;
use crate::store::{Actor, Change, Conn, Store, WriteTx};
use crate::time;

/// An exchange request.
#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
pub struct ExchangeInput {
    /// The ticket to exchange.
    pub ticket_id: i64,
    /// The new performance.
    pub performance_id: i64,
    /// New price category (default: the same).
    pub price_category_id: Option<i64>,
    /// A seat picked on the new plan (default: best available).
    pub seat_id: Option<i64>,
    /// Settlement of the difference: payments when the new ticket costs more, one refund tender when less.
    pub payments: Vec<Tender>,
}

/// A refund request.
#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
pub struct RefundInput {
    /// Amount to give back, euros (default: everything paid).
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub amount: Option<Money>,
    /// Method used to give it back.
    pub method: String,
    /// Also cancel the tickets (a full refund usually does).
    pub cancel_tickets: Option<bool>,
}

/// Cancels one valid ticket: its code is revoked (barcode version raised), its place freed.
/// Refused (nothing written) unless the ticket is still valid at this instant.
async fn cancel_ticket(tx: &mut WriteTx, ticket_id: i64, order_id: i64, performance_id: i64, seat_id: Option<i64>) -> Result<()> {
    let changed = db::query(
        "UPDATE tickets SET status = 'cancelled', barcode_version = barcode_version + 1, updated_at = $1 WHERE id = $2 AND order_id = $3 AND status = 'valid'",
    )
    .bind(time::now_db())
    .bind(ticket_id)
    .bind(order_id)
    .execute(tx.conn())
    .await?
    .rows_affected();
    if changed != 1 {
        return Err(CoreError::Conflict(
            "ce billet vient d'être annulé ou échangé par une autre opération : rien n'a été fait".into(),
        ));
    }
    inventory::release_ticket(tx, ticket_id).await?;
    tx.record(
        Change::new("ticket.cancel", "ticket", ticket_id)
            .before(&TicketStatus::Valid)
            .after(&TicketStatus::Cancelled),
        Some(Event::TicketCancelled {
            ticket_id,
            order_id,
            performance_id,
            seat_id,
        }),
    )
    .await
}

/// Takes the inventory locks of several performances in id order (no lock cycles).
async fn lock_in_order(tx: &mut WriteTx, perfs: impl Iterator<Item = i64>) -> Result<()> {
    let mut ids: Vec<i64> = perfs.collect();
    ids.sort_unstable();
    ids.dedup();
    for id in ids {
        inventory::lock(tx, id).await?;
    }
    Ok(())
}

/// Opens the write transaction of an operation on `order_id`: the idempotency key claimed
/// first, then the order's lock, then the order read as it is now. `Err(Ok(answer))` is the
/// stored answer of a key already used for this very request.
async fn begin(
    store: &Store,
    actor: &Actor,
    order_id: i64,
    key: Option<&IdempotencyKey>,
) -> Result<std::result::Result<(WriteTx, Order), Order>> {
    let mut tx = store.write(actor).await?;
    if let Some(k) = key {
        if let Some(previous) = idempotency::claim::<Order>(&mut tx, k).await? {
            return Ok(Err(previous));
        }
    }
    lock_order(&mut tx, order_id).await?;
    let order = read_order(Conn::Tx(&mut tx), order_id).await?;
    Ok(Ok((tx, order)))
}

/// Reads the order as the transaction leaves it, stores it as the key's answer, commits.
async fn finish(mut tx: WriteTx, key: Option<&IdempotencyKey>, order_id: i64) -> Result<Order> {
    let order = read_order(Conn::Tx(&mut tx), order_id).await?;
    if let Some(k) = key {
        idempotency::complete(&mut tx, k, &order).await?;
    }
    tx.commit().await?;
    Ok(order)
}

/// Valid tickets of an order with their performance and seat.
fn valid_tickets(order: &Order) -> Vec<(i64, i64, Option<i64>)> {
    order
        .tickets
        .iter()
        .filter(|t| t.status == TicketStatus::Valid)
        .map(|t| (t.id, t.performance_id, t.seat.as_ref().map(|s| s.0)))
        .collect()
}

/// Cancels an order: every valid ticket is cancelled and its place freed. Money is not
/// touched: refund separately.
pub async fn cancel_order(store: &Store, actor: &Actor, order_id: i64) -> Result<Order> {
    cancel_order_keyed(store, actor, order_id, None).await
}

/// [`cancel_order`] with an idempotency key.
pub async fn cancel_order_keyed(store: &Store, actor: &Actor, order_id: i64, key: Option<&IdempotencyKey>) -> Result<Order> {
    let (mut tx, before) = match begin(store, actor, order_id, key).await? {
        Ok(open) => open,
        Err(previous) => return Ok(previous),
    };
    if before.status == OrderStatus::Cancelled {
        return Err(CoreError::Conflict(format!("la commande {} est déjà annulée", before.number)));
    }
    let tickets = valid_tickets(&before);
    lock_in_order(&mut tx, tickets.iter().map(|t| t.1)).await?;
    for (tid, perf, seat) in &tickets {
        cancel_ticket(&mut tx, *tid, order_id, *perf, *seat).await?;
    }
    let changed = db::query("UPDATE orders SET status = 'cancelled' WHERE id = $1 AND status = $2")
        .bind(order_id)
        .bind(before.status)
        .execute(tx.conn())
        .await?
        .rows_affected();
    if changed != 1 {
        return Err(CoreError::Conflict(format!(
            "la commande {} vient de changer : rien n'a été fait",
            before.number
        )));
    }
    tx.record(
        Change::new("order.cancel", "order", order_id)
            .before(&before.status)
            .after(&OrderStatus::Cancelled),
        Some(Event::OrderCancelled { order_id }),
    )
    .await?;
    let mut freed: Vec<i64> = tickets.iter().map(|p| p.1).collect();
    freed.sort_unstable();
    freed.dedup();
    for p in freed {
        super::waitlist::notify_in_tx(&mut tx, p).await?;
    }
    finish(tx, key, order_id).await
}

/// Checks that `method` is one of the venue's active payment methods.
fn known_method(methods: &[payments::PaymentMethod], field: &str, method: &str) -> Result<()> {
    if methods.iter().any(|m| m.code == method) {
        return Ok(());
    }
    let shown: String = method.chars().take(40).collect();
    Err(CoreError::invalid(field, format!("moyen de remboursement inconnu : {shown}")))
}

/// Gives money back (full or partial), optionally cancelling the tickets.
pub async fn refund(store: &Store, actor: &Actor, order_id: i64, input: &RefundInput) -> Result<Order> {
    refund_keyed(store, actor, order_id, input, None).await
}

/// [`refund`] with an idempotency key.
pub async fn refund_keyed(store: &Store, actor: &Actor, order_id: i64, input: &RefundInput, key: Option<&IdempotencyKey>) -> Result<Order> {
    let methods = payments::list_methods(store).await?;
    known_method(&methods, "method", &input.method)?;
    if let Some(a) = input.amount {
        if !a.is_positive() {
            return Err(CoreError::invalid("amount", "rien à rembourser"));
        }
        if !a.within_entry_bounds() {
            return Err(CoreError::invalid("amount", "un remboursement ne peut dépasser 100 000 €"));
        }
    }
    let (mut tx, order) = match begin(store, actor, order_id, key).await? {
        Ok(open) => open,
        Err(previous) => return Ok(previous),
    };
    // What was paid, read under the order's lock: two refunds cannot both see it.
    let paid = order.paid;
    let amount = input.amount.unwrap_or(paid);
    if !amount.is_positive() {
        return Err(CoreError::invalid("amount", "rien à rembourser"));
    }
    if amount > paid {
        return Err(CoreError::invalid(
            "amount",
            format!(
                "remboursement ({}) supérieur à ce qui a été payé ({})",
                amount.display_fr(),
                paid.display_fr()
            ),
        ));
    }
    record_payment(&mut tx, order_id, &input.method, amount.checked_neg()?, actor.user_id).await?;
    if input.cancel_tickets.unwrap_or(false) {
        let tickets = valid_tickets(&order);
        lock_in_order(&mut tx, tickets.iter().map(|t| t.1)).await?;
        for (tid, perf, seat) in tickets {
            cancel_ticket(&mut tx, tid, order_id, perf, seat).await?;
            super::waitlist::notify_in_tx(&mut tx, perf).await?;
        }
    }
    finish(tx, key, order_id).await
}

/// Records payments on an order (paying an option confirms it).
pub async fn pay(store: &Store, actor: &Actor, order_id: i64, tenders: &[Tender]) -> Result<Order> {
    pay_keyed(store, actor, order_id, tenders, None).await
}

/// [`pay`] with an idempotency key.
pub async fn pay_keyed(store: &Store, actor: &Actor, order_id: i64, tenders: &[Tender], key: Option<&IdempotencyKey>) -> Result<Order> {
    let methods = payments::list_methods(store).await?;
    let (mut tx, order) = match begin(store, actor, order_id, key).await? {
        Ok(open) => open,
        Err(previous) => return Ok(previous),
    };
    if order.status == OrderStatus::Cancelled {
        return Err(CoreError::Conflict("commande annulée".into()));
    }
    // The balance read under the order's lock: concurrent payments cannot overpay it.
    let balance = order.balance()?;
    if !balance.is_positive() {
        return Err(CoreError::Conflict(format!("la commande {} est déjà réglée", order.number)));
    }
    payments::check_tenders(tenders, &methods, balance, false)?;
    for t in tenders {
        record_payment(&mut tx, order_id, &t.method, t.amount, actor.user_id).await?;
    }
    if order.status == OrderStatus::Option {
        let confirmed = db::query("UPDATE orders SET status = 'confirmed', option_until = NULL WHERE id = $1 AND status = 'option'")
            .bind(order_id)
            .execute(tx.conn())
            .await?
            .rows_affected();
        if confirmed != 1 {
            return Err(CoreError::Conflict(format!(
                "l'option {} vient de changer : rien n'a été fait",
                order.number
            )));
        }
        db::query("UPDATE places SET state = 'sold' WHERE state = 'option' AND ticket_id IN (SELECT id FROM tickets WHERE order_id = $1)")
            .bind(order_id)
            .execute(tx.conn())
            .await?;
        tx.record(
            Change::new("order.confirm", "order", order_id)
                .before(&OrderStatus::Option)
                .after(&OrderStatus::Confirmed),
            Some(Event::OptionConfirmed { order_id }),
        )
        .await?;
    }
    finish(tx, key, order_id).await
}

/// Exchanges one ticket for a place at another performance; the price difference is settled
/// with `payments` (the buyer pays more) or refunded with one tender (the buyer pays less).
pub async fn exchange(store: &Store, actor: &Actor, order_id: i64, input: &ExchangeInput) -> Result<Order> {
    exchange_keyed(store, actor, order_id, input, None).await
}

/// [`exchange`] with an idempotency key.
pub async fn exchange_keyed(
    store: &Store,
    actor: &Actor,
    order_id: i64,
    input: &ExchangeInput,
    key: Option<&IdempotencyKey>,
) -> Result<Order> {
    // What never changes on a ticket or an order (channel, price category, amount) may be
    // read before the writer is taken; its status is checked again inside.
    let order = get_order(store, order_id).await?;
    let old = order
        .tickets
        .iter()
        .find(|t| t.id == input.ticket_id && t.status == TicketStatus::Valid)
        .ok_or_else(|| CoreError::invalid("ticket_id", "billet introuvable ou déjà annulé dans cette commande"))?
        .clone();
    let perf = performances::get_performance(store, input.performance_id)
        .await
        .map_err(|_| CoreError::invalid("performance_id", "séance introuvable"))?;
    check_on_sale(&perf, order.channel)?;
    let pc = input
        .price_category_id
        .or(old.price_category_id)
        .ok_or_else(|| CoreError::invalid("price_category_id", "tarif obligatoire"))?;
    let (new_amount, vat) = ticket_price(store, perf.show_id, pc).await?;
    let difference = new_amount.checked_sub(old.amount)?;
    let methods = payments::list_methods(store).await?;
    let mut e = FieldErrors::new();
    if difference.is_positive() {
        payments::check_tenders(&input.payments, &methods, difference, false)?;
    } else if difference.is_negative() {
        let owed = difference.checked_neg()?;
        match input.payments.as_slice() {
            [one] if one.amount == owed => known_method(&methods, "payments", &one.method)?,
            _ => e.add(
                "payments",
                format!("indiquez un moyen de remboursement de la différence ({})", owed.display_fr()),
            ),
        }
    } else if !input.payments.is_empty() {
        e.add("payments", "aucune différence de prix à régler");
    }
    e.into_result()?;
    let season = seasons::get_season(store, perf.season_id).await?;
    let (mut tx, now_order) = match begin(store, actor, order_id, key).await? {
        Ok(open) => open,
        Err(previous) => return Ok(previous),
    };
    if now_order.status == OrderStatus::Cancelled {
        return Err(CoreError::Conflict("commande annulée".into()));
    }
    if difference.is_negative() && now_order.paid < difference.checked_neg()? {
        return Err(CoreError::invalid(
            "payments",
            format!(
                "la différence ({}) dépasse ce qui a été payé ({})",
                difference.checked_neg()?.display_fr(),
                now_order.paid.display_fr()
            ),
        ));
    }
    let old_perf = old.performance_id;
    lock_in_order(&mut tx, [perf.id, old_perf].into_iter()).await?;
    // Refused here if another exchange or a cancellation took the ticket meanwhile.
    cancel_ticket(&mut tx, old.id, order_id, old_perf, old.seat.as_ref().map(|s| s.0)).await?;
    // Hold the new place directly as sold, under the same rules as a cart hold.
    let seat_id = if perf.numbered {
        let plan = inventory::plan(store, perf.layout_id).await?;
        let free = inventory::seat_choice(&mut tx, perf.id, "").await?;
        let id = match input.seat_id {
            Some(s) if plan.iter().any(|p| p.id == s) => s,
            Some(_) => return Err(CoreError::invalid("seat_id", "ce siège n'appartient pas à la salle de la séance")),
            None => crate::seating::best_available(&plan, &|id| free.allows(id), 1, false)
                .and_then(|a| a.seat_ids.first().copied())
                .ok_or_else(|| CoreError::Conflict("séance complète".into()))?,
        };
        Some(id)
    } else if inventory::free_left(&mut tx, &perf, "").await? < 1 {
        return Err(CoreError::Conflict("séance complète".into()));
    } else {
        None
    };
    let tag = season.name.get(2..4).unwrap_or("00").to_string();
    let seq = next_in_sequence(&mut tx, &format!("ticket.{}", season.name)).await?;
    let number = format!("T{tag}-{seq:06}");
    let now = time::now_db();
    let (new_id,): (i64,) = db::query_as(
        "INSERT INTO tickets (order_id, season_id, number, performance_id, seat_id, family, price_category_id, product_id, amount_cents, vat_rate_bp, status, spectator, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, '', $6, $7, $8, $9, 'valid', $10, $11, $12) RETURNING id",
    )
    .bind(order_id)
    .bind(season.id)
    .bind(&number)
    .bind(perf.id)
    .bind(seat_id)
    .bind(pc)
    .bind(old.product_id)
    .bind(new_amount.as_cents())
    .bind(vat)
    .bind(&old.spectator)
    .bind(&now)
    .bind(&now)
    .fetch_one(tx.conn())
    .await?;
    let inserted = db::query(
        "INSERT INTO places (performance_id, seat_id, family, state, ticket_id, created_at) VALUES ($1, $2, '', 'sold', $3, $4) ON CONFLICT DO NOTHING",
    )
    .bind(perf.id)
    .bind(seat_id)
    .bind(new_id)
    .bind(&now)
    .execute(tx.conn())
    .await?
    .rows_affected();
    if inserted != 1 {
        return Err(CoreError::Conflict("ce siège n'est plus disponible".into()));
    }
    tx.record(
        Change::new("ticket.issue", "ticket", new_id)
            .after(&serde_json::json!({ "number": number, "amount": new_amount, "exchange_of": old.id })),
        Some(Event::TicketIssued {
            ticket_id: new_id,
            order_id,
            number,
            performance_id: perf.id,
            seat_id,
            price_category_id: Some(pc),
            product_id: old.product_id,
            promo_code_id: None,
            amount_cents: new_amount.as_cents(),
            vat_rate_bp: vat,
            channel: order.channel,
            state: PlaceState::Sold,
            family: None,
            spectator_named: Some(!old.spectator.trim().is_empty()),
        }),
    )
    .await?;
    tx.record(
        Change::new("ticket.exchange", "ticket", old.id).after(&new_id),
        Some(Event::TicketExchanged {
            old_ticket_id: old.id,
            new_ticket_id: new_id,
            order_id,
        }),
    )
    .await?;
    if difference.is_positive() {
        for t in &input.payments {
            record_payment(&mut tx, order_id, &t.method, t.amount, actor.user_id).await?;
        }
    } else if let (true, Some(t)) = (difference.is_negative(), input.payments.first()) {
        record_payment(&mut tx, order_id, &t.method, difference, actor.user_id).await?;
    }
    super::waitlist::notify_in_tx(&mut tx, old_perf).await?;
    finish(tx, key, order_id).await
}

/// Issues a duplicate of a ticket: the barcode version goes up, so the old QR code is revoked.
pub async fn duplicate_ticket(store: &Store, actor: &Actor, ticket_id: i64) -> Result<i64> {
    duplicate_ticket_keyed(store, actor, ticket_id, None).await
}

/// [`duplicate_ticket`] with an idempotency key (the answer is the new barcode version).
pub async fn duplicate_ticket_keyed(store: &Store, actor: &Actor, ticket_id: i64, key: Option<&IdempotencyKey>) -> Result<i64> {
    let mut tx = store.write(actor).await?;
    if let Some(k) = key {
        if let Some(previous) = idempotency::claim::<i64>(&mut tx, k).await? {
            return Ok(previous);
        }
    }
    crate::row_struct! {
        struct TicketState { order_id: i64, barcode_version: i64, status: TicketStatus }
    }
    let row: Option<TicketState> = db::query_as("SELECT order_id, barcode_version, status FROM tickets WHERE id = $1")
        .bind(ticket_id)
        .fetch_optional(tx.conn())
        .await?;
    let t = row.ok_or_else(|| CoreError::NotFound(format!("billet {ticket_id}")))?;
    lock_order(&mut tx, t.order_id).await?;
    if t.status != TicketStatus::Valid {
        return Err(CoreError::Conflict("billet annulé : pas de duplicata".into()));
    }
    let next = t
        .barcode_version
        .checked_add(1)
        .filter(|v| *v <= i64::from(u16::MAX))
        .ok_or_else(|| CoreError::Conflict("trop de duplicatas pour ce billet".into()))?;
    let changed =
        db::query("UPDATE tickets SET barcode_version = $1, updated_at = $2 WHERE id = $3 AND barcode_version = $4 AND status = 'valid'")
            .bind(next)
            .bind(time::now_db())
            .bind(ticket_id)
            .bind(t.barcode_version)
            .execute(tx.conn())
            .await?
            .rows_affected();
    if changed != 1 {
        return Err(CoreError::Conflict(
            "ce billet vient de changer (autre duplicata ou annulation) : rien n'a été fait".into(),
        ));
    }
    tx.record(
        Change::new("ticket.duplicate", "ticket", ticket_id)
            .before(&t.barcode_version)
            .after(&next),
        Some(Event::TicketDuplicated {
            ticket_id,
            barcode_version: next,
        }),
    )
    .await?;
    if let Some(k) = key {
        idempotency::complete(&mut tx, k, &next).await?;
    }
    tx.commit().await?;
    Ok(next)
}
