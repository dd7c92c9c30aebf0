//! After the sale: cancel, exchange to another performance, refund (full or
//! partial), duplicate a ticket (its old barcode revoked), and paying an option. Each is one
//! transaction with its events; money rows are only ever appended.

use super::carts::{check_on_sale, ticket_price};
use super::orders::{get_order, next_in_sequence, record_payment, valid_ticket_ids, Order};
use crate::catalog::{performances, seasons};
use crate::db;
use crate::error::{CoreError, FieldErrors, Result};
use crate::events::Event;
use crate::money::Money;
use crate::payments::{self, Tender};
use crate::seating::inventory;
use crate::store::{Actor, Change, Store, WriteTx};
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

async fn cancel_ticket(tx: &mut WriteTx, ticket_id: i64, order_id: i64, performance_id: i64, seat_id: Option<i64>) -> Result<()> {
    db::query("UPDATE tickets SET status = 'cancelled', updated_at = $1 WHERE id = $2 AND status = 'valid'")
        .bind(time::now_db())
        .bind(ticket_id)
        .execute(tx.conn())
        .await?;
    inventory::release_ticket(tx, ticket_id).await?;
    tx.record(
        Change::new("ticket.cancel", "ticket", ticket_id)
            .before(&"valid")
            .after(&"cancelled"),
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

/// Cancels an order: every valid ticket is cancelled and its place freed. Money is not
/// touched: refund separately.
pub async fn cancel_order(store: &Store, actor: &Actor, order_id: i64) -> Result<Order> {
    let before = get_order(store, order_id).await?;
    if before.status == "cancelled" {
        return Err(CoreError::Conflict(format!("la commande {} est déjà annulée", before.number)));
    }
    let mut tx = store.write(actor).await?;
    let perfs: Vec<(i64, i64, Option<i64>)> = valid_ticket_ids(&mut tx, order_id).await?;
    lock_in_order(&mut tx, perfs.iter().map(|p| p.1)).await?;
    for (tid, perf, seat) in &perfs {
        cancel_ticket(&mut tx, *tid, order_id, *perf, *seat).await?;
    }
    db::query("UPDATE orders SET status = 'cancelled' WHERE id = $1")
        .bind(order_id)
        .execute(tx.conn())
        .await?;
    tx.record(
        Change::new("order.cancel", "order", order_id)
            .before(&before.status)
            .after(&"cancelled"),
        Some(Event::OrderCancelled { order_id }),
    )
    .await?;
    let mut freed: Vec<i64> = perfs.iter().map(|p| p.1).collect();
    freed.dedup();
    for p in freed {
        super::waitlist::notify_in_tx(&mut tx, p).await?;
    }
    tx.commit().await?;
    get_order(store, order_id).await
}

/// Gives money back (full or partial), optionally cancelling the tickets.
pub async fn refund(store: &Store, actor: &Actor, order_id: i64, input: &RefundInput) -> Result<Order> {
    let order = get_order(store, order_id).await?;
    let methods = payments::list_methods(store).await?;
    if !methods.iter().any(|m| m.code == input.method) {
        return Err(CoreError::invalid(
            "method",
            format!("moyen de remboursement inconnu : {}", input.method),
        ));
    }
    let paid = order.paid();
    let amount = input.amount.unwrap_or(paid);
    if amount.0 <= 0 {
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
    let mut tx = store.write(actor).await?;
    record_payment(&mut tx, order_id, &input.method, Money(-amount.0), actor.user_id).await?;
    if input.cancel_tickets.unwrap_or(false) {
        let tickets = valid_ticket_ids(&mut tx, order_id).await?;
        lock_in_order(&mut tx, tickets.iter().map(|t| t.1)).await?;
        for (tid, perf, seat) in tickets {
            cancel_ticket(&mut tx, tid, order_id, perf, seat).await?;
            super::waitlist::notify_in_tx(&mut tx, perf).await?;
        }
    }
    tx.commit().await?;
    get_order(store, order_id).await
}

/// Records payments on an order (paying an option confirms it).
pub async fn pay(store: &Store, actor: &Actor, order_id: i64, tenders: &[Tender]) -> Result<Order> {
    let order = get_order(store, order_id).await?;
    if order.status == "cancelled" {
        return Err(CoreError::Conflict("commande annulée".into()));
    }
    let methods = payments::list_methods(store).await?;
    let balance = Money(order.due().0 - order.paid().0);
    payments::check_tenders(tenders, &methods, balance, false)?;
    let mut tx = store.write(actor).await?;
    for t in tenders {
        record_payment(&mut tx, order_id, &t.method, t.amount, actor.user_id).await?;
    }
    if order.status == "option" {
        db::query("UPDATE orders SET status = 'confirmed', option_until = NULL WHERE id = $1")
            .bind(order_id)
            .execute(tx.conn())
            .await?;
        db::query("UPDATE places SET state = 'sold' WHERE state = 'option' AND ticket_id IN (SELECT id FROM tickets WHERE order_id = $1)")
            .bind(order_id)
            .execute(tx.conn())
            .await?;
        tx.record(
            Change::new("order.confirm", "order", order_id)
                .before(&"option")
                .after(&"confirmed"),
            Some(Event::OptionConfirmed { order_id }),
        )
        .await?;
    }
    tx.commit().await?;
    get_order(store, order_id).await
}

/// Exchanges one ticket for a place at another performance; the price difference is settled
/// with `payments` (the buyer pays more) or refunded with one tender (the buyer pays less).
pub async fn exchange(store: &Store, actor: &Actor, order_id: i64, input: &ExchangeInput) -> Result<Order> {
    let order = get_order(store, order_id).await?;
    let old = order
        .tickets
        .iter()
        .find(|t| t.id == input.ticket_id && t.status == "valid")
        .ok_or_else(|| CoreError::invalid("ticket_id", "billet introuvable ou déjà annulé dans cette commande"))?
        .clone();
    let perf = performances::get_performance(store, input.performance_id)
        .await
        .map_err(|_| CoreError::invalid("performance_id", "séance introuvable"))?;
    check_on_sale(&perf, &order.channel)?;
    let pc = input
        .price_category_id
        .or(old.price_category_id)
        .ok_or_else(|| CoreError::invalid("price_category_id", "tarif obligatoire"))?;
    let (new_amount, vat) = ticket_price(store, perf.show_id, pc).await?;
    let difference = new_amount.0 - old.amount.0;
    let methods = payments::list_methods(store).await?;
    let mut e = FieldErrors::new();
    let paid_now: i64 = input.payments.iter().map(|t| t.amount.0).sum();
    if difference > 0 {
        payments::check_tenders(&input.payments, &methods, Money(difference), false)?;
    } else if difference < 0 && (input.payments.len() != 1 || paid_now != -difference) {
        e.add(
            "payments",
            format!(
                "indiquez un moyen de remboursement de la différence ({})",
                Money(-difference).display_fr()
            ),
        );
    } else if difference == 0 && !input.payments.is_empty() {
        e.add("payments", "aucune différence de prix à régler");
    }
    e.into_result()?;
    let season = seasons::get_season(store, perf.season_id).await?;
    let mut tx = store.write(actor).await?;
    inventory::lock(&mut tx, perf.id).await?;
    let old_perf = old.performance_id;
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
    .bind(new_amount.0)
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
            amount_cents: new_amount.0,
            vat_rate_bp: vat,
            channel: order.channel.clone(),
            state: "sold".into(),
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
    if difference > 0 {
        for t in &input.payments {
            record_payment(&mut tx, order_id, &t.method, t.amount, actor.user_id).await?;
        }
    } else if difference < 0 {
        record_payment(&mut tx, order_id, &input.payments[0].method, Money(difference), actor.user_id).await?;
    }
    super::waitlist::notify_in_tx(&mut tx, old_perf).await?;
    tx.commit().await?;
    get_order(store, order_id).await
}

/// Issues a duplicate of a ticket: the barcode version goes up, so the old QR code is revoked.
pub async fn duplicate_ticket(store: &Store, actor: &Actor, ticket_id: i64) -> Result<i64> {
    let mut tx = store.write(actor).await?;
    let row: Option<(i64, String)> = db::query_as("SELECT barcode_version, status FROM tickets WHERE id = $1")
        .bind(ticket_id)
        .fetch_optional(tx.conn())
        .await?;
    let (version, status) = row.ok_or_else(|| CoreError::NotFound(format!("billet {ticket_id}")))?;
    if status != "valid" {
        return Err(CoreError::Conflict("billet annulé : pas de duplicata".into()));
    }
    let next = version + 1;
    db::query("UPDATE tickets SET barcode_version = $1, updated_at = $2 WHERE id = $3 AND barcode_version = $4")
        .bind(next)
        .bind(time::now_db())
        .bind(ticket_id)
        .bind(version)
        .execute(tx.conn())
        .await?;
    tx.record(
        Change::new("ticket.duplicate", "ticket", ticket_id).before(&version).after(&next),
        Some(Event::TicketDuplicated {
            ticket_id,
            barcode_version: next,
        }),
    )
    .await?;
    tx.commit().await?;
    Ok(next)
}
