//! Checkout: a cart becomes an order with numbered tickets and its payments, in one
//! transaction. Options hold places unpaid until a deadline.

use super::carts::{get_cart, open_cart_tx};
use super::{Channel, OrderStatus, PaymentStatus, TicketStatus};
use crate::catalog::seasons;
use crate::contacts::{self, PayerInput};
use crate::db;
use crate::error::{CoreError, Result};
use crate::events::Event;
use crate::idempotency::{self, IdempotencyKey};
use crate::money::Money;
use crate::payments::{self, Tender};
use crate::seating::PlaceState;
use crate::store::{Actor, Change, Conn, Store, WriteTx};
use crate::time;

/// What checkout needs.
#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
pub struct CheckoutInput {
    /// Who pays.
    pub payer: PayerInput,
    /// Tenders; their sum must equal the amount due (an option may be unpaid or partly paid).
    pub payments: Vec<Tender>,
    /// Makes the order an option held unpaid until then (RFC 3339 or Paris time).
    pub option_until: Option<String>,
}

/// A ticket of an order.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct OrderTicket {
    /// Id.
    pub id: i64,
    /// Number, unique, per-season sequence.
    pub number: String,
    /// Performance.
    pub performance_id: i64,
    /// Seat (id, row, number).
    pub seat: Option<(i64, String, i64)>,
    /// Price category.
    pub price_category_id: Option<i64>,
    /// Formule it belongs to.
    pub product_id: Option<i64>,
    /// Amount TTC.
    pub amount: Money,
    /// VAT rate.
    pub vat_rate_bp: i64,
    /// Valid or cancelled.
    pub status: TicketStatus,
    /// Incremented by each duplicate; older barcodes are revoked.
    pub barcode_version: i64,
    /// Spectator.
    pub spectator: String,
}

/// A payment or refund line.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PaymentLine {
    /// Id.
    pub id: i64,
    /// Method code.
    pub method: String,
    /// Amount (negative for refunds).
    pub amount: Money,
    /// When.
    pub created_at: String,
}

/// A product line of an order.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct OrderLine {
    /// Product.
    pub product_id: i64,
    /// Quantity.
    pub quantity: i64,
    /// Amount TTC for the line.
    pub amount: Money,
}

/// An order.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Order {
    /// Id.
    pub id: i64,
    /// Number (`C26-000045`).
    pub number: String,
    /// Confirmed, option or cancelled.
    pub status: OrderStatus,
    /// Channel.
    pub channel: Channel,
    /// Payer contact.
    pub payer_contact_id: i64,
    /// Operator.
    pub operator_id: Option<i64>,
    /// Option deadline.
    pub option_until: Option<String>,
    /// Total TTC at checkout.
    pub total: Money,
    /// When.
    pub created_at: String,
    /// Tickets.
    pub tickets: Vec<OrderTicket>,
    /// Product lines.
    pub lines: Vec<OrderLine>,
    /// Payments and refunds.
    pub payments: Vec<PaymentLine>,
    /// Sum of valid tickets and product lines: what the buyer owes now (computed, checked).
    pub due: Money,
    /// Sum of payments minus refunds (computed, checked).
    pub paid: Money,
}

impl Order {
    /// What is still to pay (negative: to give back).
    pub fn balance(&self) -> Result<Money> {
        Ok(self.due.checked_sub(self.paid)?)
    }
    /// Paid, underpaid or overpaid (computed, never stored).
    pub fn payment_status(&self) -> PaymentStatus {
        match self.paid.cmp(&self.due) {
            std::cmp::Ordering::Equal => PaymentStatus::Paid,
            std::cmp::Ordering::Less => PaymentStatus::Underpaid,
            std::cmp::Ordering::Greater => PaymentStatus::Overpaid,
        }
    }
}

/// Next value of a gapless sequence, inside the caller's transaction.
pub async fn next_in_sequence(tx: &mut WriteTx, name: &str) -> Result<i64> {
    // One upsert: concurrent first uses cannot both insert the row.
    let (v,): (i64,) = db::query_as(
        "INSERT INTO sequences (name, value) VALUES ($1, 1) ON CONFLICT (name) DO UPDATE SET value = sequences.value + 1 RETURNING value",
    )
    .bind(name)
    .fetch_one(tx.conn())
    .await?;
    Ok(v)
}

/// The season's short prefix: `26` for 2026-2027.
fn season_tag(name: &str) -> String {
    name.get(2..4).unwrap_or("00").to_string()
}

/// Turns the cart into an order.
pub async fn checkout(store: &Store, actor: &Actor, cart_id: i64, input: &CheckoutInput) -> Result<Order> {
    checkout_keyed(store, actor, cart_id, input, None).await
}

/// [`checkout`] with an idempotency key: the same key twice gives the first order back.
pub async fn checkout_keyed(
    store: &Store,
    actor: &Actor,
    cart_id: i64,
    input: &CheckoutInput,
    key: Option<&IdempotencyKey>,
) -> Result<Order> {
    if let Some(k) = key {
        if let Some(previous) = idempotency::answered::<Order>(store, k).await? {
            return Ok(previous);
        }
    }
    match checkout_once(store, actor, cart_id, input, key).await {
        // The same request may have been answered while this one waited for the writer.
        Err(CoreError::Conflict(m)) => match key {
            Some(k) => idempotency::answered::<Order>(store, k).await?.ok_or(CoreError::Conflict(m)),
            None => Err(CoreError::Conflict(m)),
        },
        other => other,
    }
}

async fn checkout_once(store: &Store, actor: &Actor, cart_id: i64, input: &CheckoutInput, key: Option<&IdempotencyKey>) -> Result<Order> {
    let cart = get_cart(store, cart_id).await?;
    let option_until = match input.option_until.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => {
            let t = time::parse_instant(s).ok_or_else(|| CoreError::invalid("option_until", "date limite de l'option invalide"))?;
            if t <= crate::time::now() {
                return Err(CoreError::invalid(
                    "option_until",
                    "la date limite de l'option doit être dans le futur",
                ));
            }
            Some(time::to_db(t))
        }
    };
    // Reference reads before the writer is taken, to keep its turn short.
    let methods = payments::list_methods(store).await?;
    let season = match cart.items.iter().find_map(|i| i.performance_id) {
        Some(p) => Some(seasons::get_season(store, crate::catalog::performances::get_performance(store, p).await?.season_id).await?),
        None if cart.items.is_empty() => None,
        None => Some(
            seasons::season_for(store, time::today_paris())
                .await?
                .ok_or_else(|| CoreError::Conflict("aucune saison en cours".into()))?,
        ),
    };
    let (mut tx, channel) = open_cart_tx(store, actor, cart_id).await?;
    if let Some(k) = key {
        if let Some(previous) = idempotency::claim::<Order>(&mut tx, k).await? {
            return Ok(previous);
        }
    }
    // No season only when the cart is empty.
    let Some(season) = season else {
        return Err(CoreError::invalid("cart", "panier vide"));
    };
    payments::check_tenders(&input.payments, &methods, cart.amount_due, option_until.is_some())?;
    // The cart was read before the writer was taken (to keep its turn short): if another
    // request changed its lines meanwhile, the amount read is stale and nothing is written.
    let (lines, last): (i64, i64) = db::query_as("SELECT COUNT(*), COALESCE(MAX(id), 0) FROM cart_items WHERE cart_id = $1")
        .bind(cart_id)
        .fetch_one(tx.conn())
        .await?;
    if lines != cart.items.len() as i64 || last != cart.items.iter().map(|i| i.id).max().unwrap_or(0) {
        return Err(CoreError::Conflict(
            "le panier a changé pendant la validation : vérifier le montant et valider à nouveau".into(),
        ));
    }
    let payer = contacts::resolve_payer(&mut tx, &input.payer).await?;
    // The promo code's quota is taken now, conditionally: two carts cannot both use the last use.
    let promo_id: Option<(Option<i64>,)> = db::query_as("SELECT promo_code_id FROM carts WHERE id = $1")
        .bind(cart_id)
        .fetch_optional(tx.conn())
        .await?;
    let promo_id = promo_id.and_then(|p| p.0);
    if let Some(pid) = promo_id {
        if cart.items.iter().any(|i| i.discount.is_positive()) {
            let used = db::query("UPDATE promo_codes SET uses = uses + 1 WHERE id = $1 AND (max_uses IS NULL OR uses < max_uses)")
                .bind(pid)
                .execute(tx.conn())
                .await?
                .rows_affected();
            if used != 1 {
                return Err(CoreError::invalid("code", "quota épuisé"));
            }
        }
    }
    let tag = season_tag(&season.name);
    let order_seq = next_in_sequence(&mut tx, &format!("order.{}", season.name)).await?;
    let number = format!("C{tag}-{order_seq:06}");
    let status = if option_until.is_some() {
        OrderStatus::Option
    } else {
        OrderStatus::Confirmed
    };
    let now = time::now_db();
    let (order_id,): (i64,) = db::query_as(
        "INSERT INTO orders (season_id, number, cart_id, payer_contact_id, channel, operator_id, status, option_until, total_cents, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
    )
    .bind(season.id)
    .bind(&number)
    .bind(cart_id)
    .bind(payer.id)
    .bind(channel)
    .bind(actor.user_id)
    .bind(status)
    .bind(&option_until)
    .bind(cart.amount_due.as_cents())
    .bind(&now)
    .fetch_one(tx.conn())
    .await?;
    tx.record(
        Change::new("order.create", "order", order_id)
            .after(&serde_json::json!({ "number": number, "total": cart.amount_due, "status": status })),
        Some(Event::OrderPlaced {
            order_id,
            number: number.clone(),
            cart_id,
            payer_contact_id: payer.id,
            channel,
            status,
            total_cents: cart.amount_due.as_cents(),
            option_until: option_until.clone(),
        }),
    )
    .await?;
    let invitation_id: Option<(i64,)> = db::query_as("SELECT id FROM price_categories WHERE code = 'invitation'")
        .fetch_optional(tx.conn())
        .await?;
    for item in &cart.items {
        if item.kind == "product" {
            {
                db::query("INSERT INTO order_lines (order_id, product_id, quantity, amount_cents, vat_rate_bp, created_at) VALUES ($1, $2, $3, $4, $5, $6)")
                    .bind(order_id)
                    .bind(item.product_id)
                    .bind(item.quantity)
                    .bind(item.amount.as_cents())
                    .bind(item.vat_rate_bp)
                    .bind(&now)
                    .execute(tx.conn())
                    .await?;
                tx.record(
                    Change::new("order.product", "order", order_id)
                        .after(&serde_json::json!({ "product_id": item.product_id, "quantity": item.quantity })),
                    Some(Event::ProductSold {
                        order_id,
                        product_id: item.product_id.unwrap_or(0),
                        quantity: item.quantity,
                        amount_cents: item.amount.as_cents(),
                        vat_rate_bp: item.vat_rate_bp,
                    }),
                )
                .await?;
            }
            continue;
        }
    }
    let tickets: Vec<&super::CartItem> = cart.items.iter().filter(|i| i.kind == "ticket").collect();
    issue_tickets(
        &mut tx,
        &tickets,
        IssueContext {
            order_id,
            season: &season,
            promo_id,
            option: option_until.is_some(),
            invitation_id: invitation_id.map(|i| i.0),
            channel,
            now: &now,
            cart_id,
        },
    )
    .await?;
    for t in &input.payments {
        record_payment(&mut tx, order_id, &t.method, t.amount, actor.user_id).await?;
    }
    let closed = db::query("UPDATE carts SET status = 'ordered', order_id = $1 WHERE id = $2 AND status = 'open'")
        .bind(order_id)
        .bind(cart_id)
        .execute(tx.conn())
        .await?
        .rows_affected();
    if closed != 1 {
        return Err(CoreError::Conflict("panier déjà commandé".into()));
    }
    // With a key, the answer is stored in the same transaction (read under the writer); without
    // one, the order is read after commit on a reader, so the single writer is held no longer
    // than the sale itself needs.
    match key {
        Some(k) => {
            let order = read_order(Conn::Tx(&mut tx), order_id).await?;
            idempotency::complete(&mut tx, k, &order).await?;
            tx.commit().await?;
            Ok(order)
        }
        None => {
            tx.commit().await?;
            get_order(store, order_id).await
        }
    }
}

/// What ticket issuing needs to know about the order.
struct IssueContext<'a> {
    order_id: i64,
    season: &'a crate::catalog::Season,
    promo_id: Option<i64>,
    option: bool,
    invitation_id: Option<i64>,
    channel: Channel,
    now: &'a str,
    cart_id: i64,
}

/// Issues the tickets of a cart in a few statements: one block of numbers from the season's
/// sequence, one multi-row insert, one conditional update turning every held place into
/// sold/option/invitation. If any place is no longer held by this cart, nothing is issued.
async fn issue_tickets(tx: &mut WriteTx, items: &[&super::CartItem], c: IssueContext<'_>) -> Result<()> {
    if items.is_empty() {
        return Ok(());
    }
    let n = items.len() as i64;
    let (last,): (i64,) = db::query_as(
        "INSERT INTO sequences (name, value) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET value = sequences.value + $3 RETURNING value",
    )
    .bind(format!("ticket.{}", c.season.name))
    .bind(n)
    .bind(n)
    .fetch_one(tx.conn())
    .await?;
    let first = last - n + 1;
    let tag = season_tag(&c.season.name);
    let mut ids: std::collections::HashMap<i64, i64> = std::collections::HashMap::new();
    let mut numbers: std::collections::HashMap<i64, String> = std::collections::HashMap::new();
    for (chunk_no, chunk) in items.chunks(40).enumerate() {
        let values: Vec<String> = (0..chunk.len())
            .map(|k| {
                let b = k * 13;
                let ps: Vec<String> = (1..=13).map(|i| format!("${}", b + i)).collect();
                format!("({}, 'valid', $0a, $0b)", ps.join(", "))
            })
            .collect();
        let base = chunk.len() * 13;
        let sql = format!(
            "INSERT INTO tickets (order_id, season_id, number, performance_id, seat_id, family, price_category_id, product_id, promo_code_id, amount_cents, vat_rate_bp, spectator, cart_item_id, status, created_at, updated_at) \
             VALUES {} RETURNING id, cart_item_id",
            values.join(", ")
        )
        .replace("$0a", &format!("${}", base + 1))
        .replace("$0b", &format!("${}", base + 2));
        let mut q = db::query_as::<(i64, Option<i64>)>(&sql);
        for (k, item) in chunk.iter().enumerate() {
            let number = format!("T{tag}-{:06}", first + (chunk_no * 40 + k) as i64);
            numbers.insert(item.id, number.clone());
            q = q
                .bind(c.order_id)
                .bind(c.season.id)
                .bind(number)
                .bind(item.performance_id)
                .bind(item.seat.as_ref().map(|s| s.0))
                .bind(item.family.clone())
                .bind(item.price_category_id)
                .bind(item.product_id)
                .bind(if item.discount.is_positive() { c.promo_id } else { None })
                .bind(item.amount.as_cents())
                .bind(item.vat_rate_bp)
                .bind(item.spectator.clone())
                .bind(item.id);
        }
        q = q.bind(c.now.to_string()).bind(c.now.to_string());
        for (id, item_id) in q.fetch_all(tx.conn()).await? {
            if let Some(item_id) = item_id {
                ids.insert(item_id, id);
            }
        }
    }
    // Every held place of the cart becomes its ticket's, in one conditional statement.
    let state = if c.option { PlaceState::Option } else { PlaceState::Sold };
    let converted = db::query(
        "UPDATE places SET \
         state = CASE WHEN $1 = 0 AND (SELECT ci.price_category_id FROM cart_items ci WHERE ci.id = places.cart_item_id) = $2 THEN 'invitation' ELSE $3 END, \
         ticket_id = (SELECT t.id FROM tickets t WHERE t.cart_item_id = places.cart_item_id AND t.order_id = $4), \
         cart_item_id = NULL, expires_at = NULL \
         WHERE state = 'held' AND cart_item_id IN (SELECT id FROM cart_items WHERE cart_id = $5 AND kind = 'ticket')",
    )
    .bind(c.option as i64)
    .bind(c.invitation_id.unwrap_or(-1))
    .bind(state)
    .bind(c.order_id)
    .bind(c.cart_id)
    .execute(tx.conn())
    .await?
    .rows_affected();
    if converted != n as u64 {
        return Err(CoreError::Gone("panier expiré : une place n'était plus réservée".into()));
    }
    for item in items {
        let ticket_id = ids.get(&item.id).copied().unwrap_or(0);
        let state = if c.option {
            PlaceState::Option
        } else if c.invitation_id.is_some() && item.price_category_id == c.invitation_id {
            PlaceState::Invitation
        } else {
            PlaceState::Sold
        };
        tx.record(
            Change::new("ticket.issue", "ticket", ticket_id)
                .after(&serde_json::json!({ "number": numbers.get(&item.id), "amount": item.amount, "state": state })),
            Some(Event::TicketIssued {
                ticket_id,
                order_id: c.order_id,
                number: numbers.get(&item.id).cloned().unwrap_or_default(),
                performance_id: item.performance_id.unwrap_or(0),
                seat_id: item.seat.as_ref().map(|s| s.0),
                price_category_id: item.price_category_id,
                product_id: item.product_id,
                promo_code_id: if item.discount.is_positive() { c.promo_id } else { None },
                amount_cents: item.amount.as_cents(),
                vat_rate_bp: item.vat_rate_bp,
                channel: c.channel,
                state,
                family: Some(item.family.clone()).filter(|f| !f.is_empty()),
                spectator_named: Some(!item.spectator.trim().is_empty()),
            }),
        )
        .await?;
    }
    Ok(())
}

/// Appends a payment (positive) or refund (negative) row.
pub async fn record_payment(tx: &mut WriteTx, order_id: i64, method: &str, amount: Money, operator: Option<i64>) -> Result<i64> {
    let (id,): (i64,) = db::query_as(
        "INSERT INTO payments (order_id, method, amount_cents, operator_id, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(order_id)
    .bind(method)
    .bind(amount.as_cents())
    .bind(operator)
    .bind(time::now_db())
    .fetch_one(tx.conn())
    .await?;
    tx.record(
        Change::new(
            if amount.is_negative() { "payment.refund" } else { "payment.record" },
            "payment",
            id,
        )
        .after(&serde_json::json!({ "order_id": order_id, "method": method, "amount": amount })),
        Some(Event::PaymentRecorded {
            payment_id: id,
            order_id,
            method: method.into(),
            amount_cents: amount.as_cents(),
        }),
    )
    .await?;
    Ok(id)
}

crate::row_struct! {
    struct OrderRow {
        number: String,
        status: OrderStatus,
        channel: Channel,
        payer_contact_id: i64,
        operator_id: Option<i64>,
        option_until: Option<String>,
        total: Money,
        created_at: String,
    }
}

crate::row_struct! {
    struct TicketRow {
        id: i64,
        number: String,
        performance_id: i64,
        seat_id: Option<i64>,
        row_label: Option<String>,
        seat_number: Option<i64>,
        price_category_id: Option<i64>,
        product_id: Option<i64>,
        amount: Money,
        vat_rate_bp: i64,
        status: TicketStatus,
        barcode_version: i64,
        spectator: String,
    }
}

crate::row_struct! {
    struct LineRow { product_id: i64, quantity: i64, amount: Money }
}

crate::row_struct! {
    struct PaymentRow { id: i64, method: String, amount: Money, created_at: String }
}

/// The order a checked-out cart became, if any.
pub async fn order_of_cart(store: &Store, cart_id: i64) -> Result<Option<i64>> {
    let row: Option<(i64,)> = db::query_as("SELECT id FROM orders WHERE cart_id = $1")
        .bind(cart_id)
        .fetch_optional(store.pool())
        .await?;
    Ok(row.map(|r| r.0))
}

/// Reads an order with its tickets, lines and payments.
pub async fn get_order(store: &Store, id: i64) -> Result<Order> {
    read_order(Conn::Store(store), id).await
}

/// Reads an order where `conn` says: inside a write transaction, every check made on it
/// holds until the transaction commits.
pub async fn read_order(mut conn: Conn<'_>, id: i64) -> Result<Order> {
    let row: Option<OrderRow> = db::query_as(
        "SELECT number, status, channel, payer_contact_id, operator_id, option_until, total_cents, created_at FROM orders WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(conn.exec())
    .await?;
    let o = row.ok_or_else(|| CoreError::NotFound(format!("commande {id}")))?;
    let tickets: Vec<TicketRow> = db::query_as(
        "SELECT t.id, t.number, t.performance_id, t.seat_id, s.row_label, s.number, t.price_category_id, t.product_id, t.amount_cents, t.vat_rate_bp, t.status, t.barcode_version, t.spectator \
         FROM tickets t LEFT JOIN seats s ON s.id = t.seat_id WHERE t.order_id = $1 ORDER BY t.id",
    )
    .bind(id)
    .fetch_all(conn.exec())
    .await?;
    let lines: Vec<LineRow> = db::query_as("SELECT product_id, quantity, amount_cents FROM order_lines WHERE order_id = $1 ORDER BY id")
        .bind(id)
        .fetch_all(conn.exec())
        .await?;
    let pays: Vec<PaymentRow> = db::query_as("SELECT id, method, amount_cents, created_at FROM payments WHERE order_id = $1 ORDER BY id")
        .bind(id)
        .fetch_all(conn.exec())
        .await?;
    let tickets: Vec<OrderTicket> = tickets
        .into_iter()
        .map(|t| OrderTicket {
            id: t.id,
            number: t.number,
            performance_id: t.performance_id,
            seat: match (t.seat_id, t.row_label, t.seat_number) {
                (Some(s), Some(r), Some(n)) => Some((s, r, n)),
                _ => None,
            },
            price_category_id: t.price_category_id,
            product_id: t.product_id,
            amount: t.amount,
            vat_rate_bp: t.vat_rate_bp,
            status: t.status,
            barcode_version: t.barcode_version,
            spectator: t.spectator,
        })
        .collect();
    let lines: Vec<OrderLine> = lines
        .into_iter()
        .map(|l| OrderLine {
            product_id: l.product_id,
            quantity: l.quantity,
            amount: l.amount,
        })
        .collect();
    let payments: Vec<PaymentLine> = pays
        .into_iter()
        .map(|p| PaymentLine {
            id: p.id,
            method: p.method,
            amount: p.amount,
            created_at: p.created_at,
        })
        .collect();
    let due = Money::sum(
        tickets
            .iter()
            .filter(|t| t.status == TicketStatus::Valid)
            .map(|t| t.amount)
            .chain(lines.iter().map(|l| l.amount)),
    )?;
    let paid = Money::sum(payments.iter().map(|p| p.amount))?;
    Ok(Order {
        id,
        number: o.number,
        status: o.status,
        channel: o.channel,
        payer_contact_id: o.payer_contact_id,
        operator_id: o.operator_id,
        option_until: o.option_until,
        total: o.total,
        created_at: o.created_at,
        tickets,
        lines,
        payments,
        due,
        paid,
    })
}

/// Takes the order's row lock for the rest of `tx` (PostgreSQL; on SQLite the one writer
/// already excludes every other write), so that what is read next stays true until commit.
pub(crate) async fn lock_order(tx: &mut WriteTx, order_id: i64) -> Result<()> {
    if tx.backend() == crate::store::Backend::Postgres {
        db::query("SELECT id FROM orders WHERE id = $1 FOR UPDATE")
            .bind(order_id)
            .execute(tx.conn())
            .await?;
    }
    Ok(())
}

/// The furthest an option alert list may look ahead (ten years).
pub const MAX_OPTION_DAYS: i64 = 3_650;

/// Options whose deadline or performance is within `days` days: the D-15 alert list.
pub async fn options_due(store: &Store, days: i64) -> Result<Vec<(i64, String, Option<String>)>> {
    if !(0..=MAX_OPTION_DAYS).contains(&days) {
        return Err(CoreError::invalid("days", format!("entre 0 et {MAX_OPTION_DAYS} jours")));
    }
    let limit = time::to_db(crate::time::now() + chrono::Duration::days(days));
    let rows: Vec<(i64, String, Option<String>)> = db::query_as(
        "SELECT DISTINCT o.id, o.number, o.option_until FROM orders o JOIN tickets t ON t.order_id = o.id JOIN performances p ON p.id = t.performance_id \
         WHERE o.status = 'option' AND t.status = 'valid' AND (p.starts_at <= $1 OR o.option_until <= $2) ORDER BY o.id",
    )
    .bind(&limit)
    .bind(&limit)
    .fetch_all(store.pool())
    .await?;
    Ok(rows)
}

/// Seats held by more than one valid ticket (must always be 0): the double-sale check used by
/// benchmarks and verifications.
pub async fn double_sales(store: &Store) -> Result<i64> {
    let (n,): (i64,) = db::query_as(
        "SELECT COUNT(*) FROM (SELECT performance_id, seat_id FROM tickets WHERE status = 'valid' AND seat_id IS NOT NULL \
         GROUP BY performance_id, seat_id HAVING COUNT(*) > 1) d",
    )
    .fetch_one(store.pool())
    .await?;
    Ok(n)
}
