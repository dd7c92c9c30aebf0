//! Carts: created by a channel, valid for a limited time; every ticket in a cart holds its
//! place until checkout or expiry.

use super::{CartStatus, Channel};
use crate::catalog::{performances, prices, shows, Performance};
use crate::db;
use crate::error::{CoreError, FieldErrors, Result};
use crate::events::Event;
use crate::money::Money;
use crate::seating::{self, inventory};
use crate::store::{Actor, Change, Store, WriteTx};
use crate::time;
use chrono::Duration;

/// A line of a cart.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CartItem {
    /// Id.
    pub id: i64,
    /// `ticket` or `product`.
    pub kind: String,
    /// Performance of a ticket.
    pub performance_id: Option<i64>,
    /// Seat of a numbered ticket: (id, row, number).
    pub seat: Option<(i64, String, i64)>,
    /// Quota family the place comes from (empty: general sale).
    pub family: String,
    /// Price category of a ticket.
    pub price_category_id: Option<i64>,
    /// Product (formule, pass, annex…).
    pub product_id: Option<i64>,
    /// For a formule's tickets: the formule line.
    pub parent_item_id: Option<i64>,
    /// What the line is.
    pub label: String,
    /// Unit price TTC.
    pub unit: Money,
    /// Promo discount per unit.
    pub discount: Money,
    /// Quantity (1 for tickets).
    pub quantity: i64,
    /// VAT rate.
    pub vat_rate_bp: i64,
    /// Spectator name, if given.
    pub spectator: String,
    /// Amount due for the line: (unit − discount) × quantity, computed checked when read.
    pub amount: Money,
}

impl CartItem {
    /// Amount due for the line, checked.
    fn line_amount(&self) -> Result<Money> {
        Ok(self.unit.checked_sub(self.discount)?.checked_mul(self.quantity)?)
    }
}

/// Places a single request may add (R-5.2: a party, not a block booking).
pub const MAX_PLACES_PER_REQUEST: i64 = 50;

/// A cart.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Cart {
    /// Id.
    pub id: i64,
    /// Where it is sold.
    pub channel: Channel,
    /// Open, ordered or expired.
    pub status: CartStatus,
    /// Until when holds are kept.
    pub expires_at: String,
    /// Lines.
    pub items: Vec<CartItem>,
    /// Applied promo code.
    pub promo_code: Option<String>,
    /// Total due.
    pub amount_due: Money,
}

/// Tickets to add.
#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
pub struct TicketRequest {
    /// Performance.
    pub performance_id: i64,
    /// Price category.
    pub price_category_id: i64,
    /// Number of places (ignored when `seat_ids` is given).
    pub quantity: Option<i64>,
    /// Seats picked on the plan.
    pub seat_ids: Option<Vec<i64>>,
    /// Refuse unless all places are side by side.
    pub together: Option<bool>,
    /// Take the places from this quota family (school, group…).
    pub quota: Option<String>,
    /// Wheelchair places wanted.
    pub pmr: Option<bool>,
    /// Spectator names, one per place.
    pub spectators: Option<Vec<String>>,
    /// Several price categories for one party seated together (instead of
    /// `price_category_id` + `quantity`): e.g. 2 full price and 2 under 30.
    pub parts: Option<Vec<TicketPart>>,
}

/// Part of a party: a price category and a number of places.
#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TicketPart {
    /// Price category.
    pub price_category_id: i64,
    /// Places.
    pub quantity: i64,
}

/// A product to add.
#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
pub struct ProductRequest {
    /// Product.
    pub product_id: i64,
    /// Quantity (formules: 1 per request).
    pub quantity: Option<i64>,
    /// A formule's chosen performances, one per show.
    pub performance_ids: Option<Vec<i64>>,
    /// Price category of a formule's tickets (default: full price).
    pub price_category_id: Option<i64>,
    /// Reduced price (Pass Curiosité).
    pub reduced: Option<bool>,
    /// Amount of a gift card, euros.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub amount: Option<Money>,
}

type ItemRow = (
    i64,
    String,
    Option<i64>,
    Option<i64>,
    String,
    Option<i64>,
    Option<i64>,
    Option<i64>,
    i64,
    i64,
    i64,
    i64,
    String,
);

crate::row_struct! {
    struct CartHead { channel: Channel, status: CartStatus, expires_at: String, promo_code_id: Option<i64> }
}

/// Reads a cart with its lines and totals (promo discounts computed now).
pub async fn get_cart(store: &Store, id: i64) -> Result<Cart> {
    let row: Option<CartHead> = db::query_as("SELECT channel, status, expires_at, promo_code_id FROM carts WHERE id = $1")
        .bind(id)
        .fetch_optional(store.pool())
        .await?;
    let CartHead {
        channel,
        status,
        expires_at,
        promo_code_id: promo_id,
    } = row.ok_or_else(|| CoreError::NotFound(format!("panier {id}")))?;
    let rows: Vec<ItemRow> = db::query_as(
        "SELECT id, kind, performance_id, seat_id, family, price_category_id, product_id, parent_item_id, unit_cents, discount_cents, vat_rate_bp, quantity, spectator \
         FROM cart_items WHERE cart_id = $1 ORDER BY id",
    )
    .bind(id)
    .fetch_all(store.pool())
    .await?;
    let promo = match promo_id {
        Some(p) => super::promo::get(store, p).await?,
        None => None,
    };
    let mut items = Vec::new();
    let mut labels = Labels::default();
    let seat_rows: Vec<(i64, String, i64)> =
        db::query_as("SELECT s.id, s.row_label, s.number FROM seats s JOIN cart_items i ON i.seat_id = s.id WHERE i.cart_id = $1")
            .bind(id)
            .fetch_all(store.pool())
            .await?;
    let seat_labels: std::collections::HashMap<i64, (String, i64)> = seat_rows.into_iter().map(|(i, r, n)| (i, (r, n))).collect();
    for (iid, kind, perf, seat_id, family, pc, product, parent, unit, _disc, vat, qty, spectator) in rows {
        let seat = seat_id.and_then(|s| seat_labels.get(&s).map(|(r, n)| (s, r.clone(), *n)));
        let label = labels.label(store, &kind, perf, pc, product).await?;
        let mut item = CartItem {
            id: iid,
            kind,
            performance_id: perf,
            seat,
            family,
            price_category_id: pc,
            product_id: product,
            parent_item_id: parent,
            label,
            unit: Money::cents(unit),
            discount: Money::ZERO,
            quantity: qty,
            vat_rate_bp: vat,
            spectator,
            amount: Money::ZERO,
        };
        if let Some(p) = &promo {
            item.discount = super::promo::discount_for(store, p, &item).await?;
        }
        item.amount = item.line_amount()?;
        items.push(item);
    }
    let amount_due = Money::sum(items.iter().map(|i| i.amount))?;
    Ok(Cart {
        id,
        channel,
        status,
        expires_at,
        items,
        promo_code: promo.map(|p| p.code),
        amount_due,
    })
}

/// Labels of cart lines, reading each performance, category and product once.
#[derive(Default)]
struct Labels {
    perfs: std::collections::HashMap<i64, (String, String)>,
    cats: Option<Vec<prices::PriceCategory>>,
    products: std::collections::HashMap<i64, String>,
}

impl Labels {
    async fn label(&mut self, store: &Store, kind: &str, perf: Option<i64>, pc: Option<i64>, product: Option<i64>) -> Result<String> {
        if kind == "ticket" {
            let (show, when) = match perf {
                Some(id) => {
                    if let std::collections::hash_map::Entry::Vacant(slot) = self.perfs.entry(id) {
                        let p = performances::get_performance(store, id).await?;
                        slot.insert((p.show_name.clone(), time::display_paris(p.starts_at)));
                    }
                    self.perfs.get(&id).cloned().unwrap_or_default()
                }
                None => ("?".to_string(), String::new()),
            };
            if self.cats.is_none() {
                self.cats = Some(prices::list_price_categories(store).await?);
            }
            let cat = self
                .cats
                .as_ref()
                .and_then(|c| c.iter().find(|c| Some(c.id) == pc))
                .map(|c| format!(" — {}", c.name))
                .unwrap_or_default();
            return Ok(format!("{show} — {when}{cat}"));
        }
        let id = product.unwrap_or(0);
        if let std::collections::hash_map::Entry::Vacant(slot) = self.products.entry(id) {
            let name: Option<(String,)> = db::query_as("SELECT name FROM products WHERE id = $1")
                .bind(id)
                .fetch_optional(store.pool())
                .await?;
            slot.insert(name.map(|n| n.0).unwrap_or_else(|| "produit".into()));
        }
        Ok(self.products.get(&id).cloned().unwrap_or_default())
    }
}

/// Opens a cart for a channel.
pub async fn create_cart(store: &Store, actor: &Actor, channel: Channel, ttl_seconds: i64) -> Result<Cart> {
    let now = crate::time::now();
    let expires = time::to_db(now + Duration::seconds(ttl_seconds));
    let mut tx = store.write(actor).await?;
    let (id,): (i64,) = db::query_as(
        "INSERT INTO carts (channel, operator_id, status, created_at, expires_at) VALUES ($1, $2, 'open', $3, $4) RETURNING id",
    )
    .bind(channel)
    .bind(actor.user_id)
    .bind(time::to_db(now))
    .bind(&expires)
    .fetch_one(tx.conn())
    .await?;
    tx.record(
        Change::new("cart.create", "cart", id),
        Some(Event::CartCreated { cart_id: id, channel }),
    )
    .await?;
    tx.commit().await?;
    get_cart(store, id).await
}

/// Opens a write transaction on an open cart: sweeps expired holds first, and answers 410
/// « panier expiré » when this cart's time is up (its holds are then already released).
pub(crate) async fn open_cart_tx(store: &Store, actor: &Actor, cart_id: i64) -> Result<(WriteTx, Channel)> {
    let mut tx = store.write(actor).await?;
    // Expired holds of other carts need no sweep here: every hold statement treats them as
    // free (the background task tidies them up). Only this cart's own expiry matters.
    let row: Option<CartState> = db::query_as("SELECT status, channel, expires_at FROM carts WHERE id = $1")
        .bind(cart_id)
        .fetch_optional(tx.conn())
        .await?;
    let Some(row) = row else {
        return Err(CoreError::NotFound(format!("panier {cart_id}")));
    };
    let lapsed = row.expires_at < time::now_db();
    match (row.status, lapsed) {
        (CartStatus::Open, false) => Ok((tx, row.channel)),
        (CartStatus::Ordered, _) => Err(CoreError::Conflict("panier déjà commandé".into())),
        (CartStatus::Expired, _) | (CartStatus::Open, true) => {
            if row.status == CartStatus::Open {
                // Release its holds now and say so.
                let expired = inventory::expire_holds(&mut tx).await?;
                for c in &expired {
                    tx.record(Change::new("cart.expire", "cart", c), Some(Event::CartExpired { cart_id: *c }))
                        .await?;
                }
                if !expired.is_empty() {
                    tx.commit().await?;
                }
            }
            Err(CoreError::Gone("panier expiré : les places ont été libérées".into()))
        }
    }
}

crate::row_struct! {
    struct CartState { status: CartStatus, channel: Channel, expires_at: String }
}

/// Pushes the cart's expiry to now + ttl, for the cart and its holds.
pub(super) async fn refresh(tx: &mut WriteTx, cart_id: i64, ttl_seconds: i64) -> Result<String> {
    let expires = time::to_db(crate::time::now() + Duration::seconds(ttl_seconds));
    db::query("UPDATE carts SET expires_at = $1 WHERE id = $2")
        .bind(&expires)
        .bind(cart_id)
        .execute(tx.conn())
        .await?;
    db::query("UPDATE places SET expires_at = $1 WHERE state = 'held' AND cart_item_id IN (SELECT id FROM cart_items WHERE cart_id = $2)")
        .bind(&expires)
        .bind(cart_id)
        .execute(tx.conn())
        .await?;
    Ok(expires)
}

/// Checks that a performance can be sold on a channel now.
pub fn check_on_sale(perf: &Performance, channel: Channel) -> Result<()> {
    let now = crate::time::now();
    if perf.cancelled {
        return Err(CoreError::Conflict("séance annulée".into()));
    }
    if now >= perf.starts_at {
        return Err(CoreError::Conflict("séance commencée ou passée : vente close".into()));
    }
    if channel == Channel::Web && !perf.on_sale_at(now) {
        return Err(CoreError::Conflict("vente en ligne fermée pour cette séance".into()));
    }
    Ok(())
}

pub(super) struct NewItem<'a> {
    pub(super) cart_id: i64,
    pub(super) kind: &'a str,
    pub(super) performance_id: Option<i64>,
    pub(super) seat_id: Option<i64>,
    pub(super) family: &'a str,
    pub(super) price_category_id: Option<i64>,
    pub(super) product_id: Option<i64>,
    pub(super) parent_item_id: Option<i64>,
    pub(super) unit: Money,
    pub(super) vat_rate_bp: i64,
    pub(super) quantity: i64,
    pub(super) spectator: &'a str,
}

pub(super) async fn insert_item(tx: &mut WriteTx, i: NewItem<'_>) -> Result<i64> {
    let (id,): (i64,) = db::query_as(
        "INSERT INTO cart_items (cart_id, kind, performance_id, seat_id, family, price_category_id, product_id, parent_item_id, unit_cents, vat_rate_bp, quantity, spectator, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id",
    )
    .bind(i.cart_id)
    .bind(i.kind)
    .bind(i.performance_id)
    .bind(i.seat_id)
    .bind(i.family)
    .bind(i.price_category_id)
    .bind(i.product_id)
    .bind(i.parent_item_id)
    .bind(i.unit.as_cents())
    .bind(i.vat_rate_bp)
    .bind(i.quantity)
    .bind(i.spectator)
    .bind(time::now_db())
    .fetch_one(tx.conn())
    .await?;
    Ok(id)
}

/// Inserts several lines in one statement; returns (item id, seat id) of each.
pub(super) async fn insert_items(tx: &mut WriteTx, items: &[NewItem<'_>]) -> Result<Vec<(i64, Option<i64>)>> {
    let mut out = Vec::with_capacity(items.len());
    for chunk in items.chunks(50) {
        let values: Vec<String> = (0..chunk.len())
            .map(|k| {
                let b = k * 13;
                let ps: Vec<String> = (1..=13).map(|i| format!("${}", b + i)).collect();
                format!("({})", ps.join(", "))
            })
            .collect();
        let sql = format!(
            "INSERT INTO cart_items (cart_id, kind, performance_id, seat_id, family, price_category_id, product_id, parent_item_id, unit_cents, vat_rate_bp, quantity, spectator, created_at) \
             VALUES {} RETURNING id, seat_id",
            values.join(", ")
        );
        let now = time::now_db();
        let mut q = db::query_as::<(i64, Option<i64>)>(&sql);
        for i in chunk {
            q = q
                .bind(i.cart_id)
                .bind(i.kind)
                .bind(i.performance_id)
                .bind(i.seat_id)
                .bind(i.family)
                .bind(i.price_category_id)
                .bind(i.product_id)
                .bind(i.parent_item_id)
                .bind(i.unit.as_cents())
                .bind(i.vat_rate_bp)
                .bind(i.quantity)
                .bind(i.spectator)
                .bind(now.clone());
        }
        out.extend(q.fetch_all(tx.conn()).await?);
    }
    Ok(out)
}

/// Places tickets of one performance into the cart: holds seats (picked, or best available
/// side by side) or free places. Returns the allocator's message when the party had to be split.
#[allow(clippy::too_many_arguments)]
pub(super) async fn hold_tickets(
    store: &Store,
    tx: &mut WriteTx,
    cart_id: i64,
    perf: &Performance,
    family: &str,
    n: usize,
    picked: Option<&[i64]>,
    must_be_together: bool,
    pmr: bool,
    prices: &[(Option<i64>, Money, i64)],
    product: (Option<i64>, Option<i64>),
    spectators: &[String],
    expires: &str,
) -> Result<Option<String>> {
    if prices.len() != n {
        return Err(CoreError::Internal("un prix par place attendu".into()));
    }
    let (product_id, parent_item_id) = product;
    inventory::lock(tx, perf.id).await?;
    let mut message = None;
    let seats: Vec<Option<i64>> = if perf.numbered {
        let plan = inventory::plan(store, perf.layout_id).await?;
        let chosen = match picked {
            Some(ids) => {
                let mut seen = std::collections::HashSet::new();
                for id in ids {
                    if !plan.iter().any(|s| s.id == *id) {
                        return Err(CoreError::invalid(
                            "seat_ids",
                            format!("le siège {id} n'appartient pas à la salle de cette séance"),
                        ));
                    }
                    if !seen.insert(*id) {
                        return Err(CoreError::invalid("seat_ids", format!("le siège {id} est demandé deux fois")));
                    }
                }
                ids.to_vec()
            }
            None => {
                let choice = inventory::seat_choice(tx, perf.id, family).await?;
                let available = |id: i64| choice.allows(id);
                let alloc = seating::best_available(&plan, &available, n, pmr).ok_or_else(|| {
                    CoreError::Conflict(if family.is_empty() {
                        "complet : pas assez de places disponibles".to_string()
                    } else {
                        format!("contingent {family} insuffisant")
                    })
                })?;
                if !alloc.together && must_be_together {
                    return Err(CoreError::Conflict(
                        alloc.message.unwrap_or_else(|| "pas de places côte à côte".into()),
                    ));
                }
                message = alloc.message;
                alloc.seat_ids
            }
        };
        chosen.into_iter().map(Some).collect()
    } else {
        if picked.is_some_and(|p| !p.is_empty()) {
            return Err(CoreError::invalid("seat_ids", "placement libre : pas de choix de siège"));
        }
        vec![None; n]
    };
    let items: Vec<NewItem> = seats
        .iter()
        .enumerate()
        .map(|(k, seat)| {
            let (price_category_id, unit, vat) = prices[k];
            NewItem {
                cart_id,
                kind: "ticket",
                performance_id: Some(perf.id),
                seat_id: *seat,
                family,
                price_category_id,
                product_id,
                parent_item_id,
                unit,
                vat_rate_bp: vat,
                quantity: 1,
                spectator: spectators.get(k).map(String::as_str).unwrap_or(""),
            }
        })
        .collect();
    let inserted = insert_items(tx, &items).await?;
    let item_ids: Vec<i64> = inserted.iter().map(|(id, _)| *id).collect();
    if perf.numbered {
        // Items come back with their seat: pair them by seat, not by position.
        let pairs: Vec<(i64, i64)> = inserted.iter().filter_map(|(id, seat)| seat.map(|s| (s, *id))).collect();
        inventory::hold_seats(tx, perf, family, &pairs, expires).await?;
    } else {
        inventory::hold_free(tx, perf, family, &item_ids, expires).await?;
    }
    tx.record(
        Change::new("cart.hold", "cart", cart_id)
            .after(&serde_json::json!({ "performance_id": perf.id, "seats": seats, "family": family })),
        Some(Event::SeatsHeld {
            cart_id,
            performance_id: perf.id,
            seat_ids: seats.iter().flatten().copied().collect(),
            free_places: if perf.numbered { 0 } else { n as i64 },
            family: family.into(),
            expires_at: expires.into(),
        }),
    )
    .await?;
    Ok(message)
}

/// The price of a show in a category (special price, else the season grid).
pub async fn ticket_price(store: &Store, show_id: i64, price_category_id: i64) -> Result<(Money, i64)> {
    let show = shows::get_show(store, show_id).await?;
    let p = shows::show_prices(store, &show).await?;
    let price = p
        .iter()
        .find(|p| p.price_category_id == price_category_id)
        .ok_or_else(|| CoreError::invalid("price_category_id", "ce tarif n'existe pas pour ce spectacle"))?;
    Ok((price.amount, show.vat_rate_bp))
}

/// Adds tickets for one performance.
pub async fn add_tickets(
    store: &Store,
    actor: &Actor,
    cart_id: i64,
    req: &TicketRequest,
    ttl_seconds: i64,
) -> Result<(Cart, Option<String>)> {
    let perf = performances::get_performance(store, req.performance_id)
        .await
        .map_err(|_| CoreError::invalid("performance_id", format!("séance {} introuvable", req.performance_id)))?;
    let cats = prices::list_price_categories(store).await?;
    // One price category for all places, or several parts of one party (2 full + 2 under 30).
    let parts: Vec<(i64, i64)> = match &req.parts {
        Some(p) if !p.is_empty() => p.iter().map(|x| (x.price_category_id, x.quantity)).collect(),
        _ => {
            let n = match &req.seat_ids {
                Some(ids) if !ids.is_empty() => ids.len() as i64,
                _ => req.quantity.unwrap_or(1),
            };
            vec![(req.price_category_id, n)]
        }
    };
    let mut e = FieldErrors::new();
    // Each part is checked before anything is added up: no sum of huge quantities can wrap
    // around into the allowed range.
    let max = MAX_PLACES_PER_REQUEST;
    let n = if parts.len() > max as usize || parts.iter().any(|p| !(1..=max).contains(&p.1)) {
        None
    } else {
        parts
            .iter()
            .try_fold(0i64, |acc, p| acc.checked_add(p.1))
            .filter(|n| (1..=max).contains(n))
    };
    let Some(n) = n else {
        e.add("quantity", format!("entre 1 et {max} places par demande"));
        return Err(CoreError::Invalid(e));
    };
    if let Some(ids) = req.seat_ids.as_ref().filter(|s| !s.is_empty()) {
        if ids.len() as i64 != n {
            e.add("seat_ids", format!("{} sièges choisis pour {n} places", ids.len()));
        }
    }
    if req
        .spectators
        .as_ref()
        .is_some_and(|s| s.len() as i64 > n || s.iter().any(|x| x.chars().count() > 200))
    {
        e.add("spectators", "un nom de 200 caractères au plus par place");
    }
    let family = req.quota.clone().unwrap_or_default();
    if !family.is_empty() && !perf.quotas.iter().any(|q| q.family == family) {
        e.add("quota", format!("pas de contingent « {family} » pour cette séance"));
    }
    let mut chosen = Vec::new();
    for (pc, _) in &parts {
        match cats.iter().find(|c| c.id == *pc) {
            Some(c) => chosen.push(c.clone()),
            None => e.add("price_category_id", "tarif inconnu"),
        }
    }
    e.into_result()?;
    let mut price_list = Vec::new();
    for (cat, (_, qty)) in chosen.iter().zip(&parts) {
        let (unit, vat) = ticket_price(store, perf.show_id, cat.id).await?;
        for _ in 0..*qty {
            price_list.push((Some(cat.id), unit, vat));
        }
    }
    let (mut tx, channel) = open_cart_tx(store, actor, cart_id).await?;
    check_on_sale(&perf, channel)?;
    if let Some(cat) = chosen.iter().find(|c| channel == Channel::Web && c.needs_proof) {
        return Err(CoreError::Conflict(format!(
            "le tarif « {} » exige un justificatif : vente au guichet ou après contrôle du justificatif",
            cat.name
        )));
    }
    let expires = refresh(&mut tx, cart_id, ttl_seconds).await?;
    let message = hold_tickets(
        store,
        &mut tx,
        cart_id,
        &perf,
        &family,
        n as usize,
        req.seat_ids.as_deref().filter(|s| !s.is_empty()),
        req.together.unwrap_or(false),
        req.pmr.unwrap_or(false),
        &price_list,
        (None, None),
        req.spectators.as_deref().unwrap_or(&[]),
        &expires,
    )
    .await?;
    tx.commit().await?;
    Ok((get_cart(store, cart_id).await?, message))
}

pub use super::products::add_product;

/// Removes a line (and, for a formule, its tickets), releasing their places.
pub async fn remove_item(store: &Store, actor: &Actor, cart_id: i64, item_id: i64) -> Result<Cart> {
    let (mut tx, _) = open_cart_tx(store, actor, cart_id).await?;
    let ids: Vec<(i64,)> = db::query_as("SELECT id FROM cart_items WHERE cart_id = $1 AND (id = $2 OR parent_item_id = $3)")
        .bind(cart_id)
        .bind(item_id)
        .bind(item_id)
        .fetch_all(tx.conn())
        .await?;
    if ids.is_empty() {
        return Err(CoreError::NotFound(format!("ligne {item_id} du panier {cart_id}")));
    }
    let ids: Vec<i64> = ids.into_iter().map(|r| r.0).collect();
    inventory::release_items(&mut tx, &ids).await?;
    for id in &ids {
        db::query("DELETE FROM cart_items WHERE id = $1")
            .bind(id)
            .execute(tx.conn())
            .await?;
    }
    tx.record(
        Change::new("cart.remove", "cart", cart_id).after(&ids),
        Some(Event::CartItemRemoved { cart_id, item_id }),
    )
    .await?;
    tx.commit().await?;
    get_cart(store, cart_id).await
}

/// Releases every expired hold now (the background task calls this every few seconds; cart
/// operations also sweep on access). Returns the number of carts that expired.
pub async fn sweep_expired(store: &Store) -> Result<usize> {
    let mut tx = store.write(&Actor::system()).await?;
    let expired = inventory::expire_holds(&mut tx).await?;
    if expired.is_empty() {
        return Ok(0);
    }
    for c in &expired {
        tx.record(Change::new("cart.expire", "cart", c), Some(Event::CartExpired { cart_id: *c }))
            .await?;
    }
    tx.commit().await?;
    Ok(expired.len())
}
