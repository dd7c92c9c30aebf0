//! Waiting lists: people in chronological order per performance; when places
//! free up, the first entries that now fit are notified (an event; the email comes with the
//! campaigns issue).

use super::Channel;
use crate::catalog::{performances, prices};
use crate::db;
use crate::error::{CoreError, FieldErrors, Result};
use crate::events::Event;
use crate::store::{Actor, Change, Store, WriteTx};
use crate::time;

crate::row_struct! {
/// A waiting-list entry.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct WaitlistEntry {
    /// Id.
    pub id: i64,
    /// Performance.
    pub performance_id: i64,
    /// Price category wanted.
    pub price_category_id: Option<i64>,
    /// Places wanted.
    pub quantity: i64,
    /// Last name.
    pub last_name: String,
    /// First name.
    pub first_name: String,
    /// Email.
    pub email: String,
    /// Phone.
    pub phone: String,
    /// Channel.
    pub channel: Channel,
    /// When they joined.
    pub created_at: String,
    /// When they were told places are free.
    pub notified_at: Option<String>,
}
}

/// Joining a waiting list.
#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
pub struct WaitlistInput {
    /// Price category.
    pub price_category_id: Option<i64>,
    /// Places wanted (default 1).
    pub quantity: Option<i64>,
    /// Last name.
    pub last_name: String,
    /// First name.
    pub first_name: String,
    /// Email.
    pub email: String,
    /// Phone.
    pub phone: String,
    /// Channel (default counter).
    pub channel: Option<Channel>,
}

/// Adds someone to the list of a performance.
pub async fn join(store: &Store, actor: &Actor, performance_id: i64, input: &WaitlistInput) -> Result<WaitlistEntry> {
    performances::get_performance(store, performance_id).await?;
    let mut e = FieldErrors::new();
    if input.last_name.trim().is_empty() {
        e.add("last_name", "nom obligatoire");
    }
    if input.email.trim().is_empty() && input.phone.trim().is_empty() {
        e.add("email", "une adresse électronique ou un téléphone pour prévenir la personne");
    }
    if !input.email.trim().is_empty() && !crate::contacts::email_ok(input.email.trim()) {
        e.add("email", "adresse électronique invalide");
    }
    for (field, value, max) in [
        ("last_name", &input.last_name, 100),
        ("first_name", &input.first_name, 100),
        ("email", &input.email, 254),
        ("phone", &input.phone, 40),
    ] {
        if value.chars().count() > max {
            e.add(field, format!("{max} caractères au plus"));
        }
    }
    if let Some(pc) = input.price_category_id {
        if !prices::list_price_categories(store).await?.iter().any(|c| c.id == pc) {
            e.add("price_category_id", "tarif inconnu");
        }
    }
    let quantity = input.quantity.unwrap_or(1);
    if !(1..=20).contains(&quantity) {
        e.add("quantity", "entre 1 et 20 places");
    }
    e.into_result()?;
    let channel = input.channel.unwrap_or(Channel::Counter);
    let mut tx = store.write(actor).await?;
    let (id,): (i64,) = db::query_as(
        "INSERT INTO waitlist (performance_id, price_category_id, quantity, last_name, first_name, email, phone, channel, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
    )
    .bind(performance_id)
    .bind(input.price_category_id)
    .bind(quantity)
    .bind(input.last_name.trim().to_uppercase())
    .bind(input.first_name.trim())
    .bind(input.email.trim().to_lowercase())
    .bind(input.phone.trim())
    .bind(channel)
    .bind(time::now_db())
    .fetch_one(tx.conn())
    .await?;
    tx.record(
        // Names, email and phone stay in `waitlist`; the audit row has what was asked.
        Change::new("waitlist.join", "waitlist", id).after(&serde_json::json!({
            "performance_id": performance_id,
            "price_category_id": input.price_category_id,
            "quantity": quantity,
            "channel": channel,
        })),
        Some(Event::WaitlistJoined {
            entry_id: id,
            performance_id,
            quantity,
        }),
    )
    .await?;
    tx.commit().await?;
    list(store, performance_id)
        .await?
        .into_iter()
        .find(|w| w.id == id)
        .ok_or_else(|| CoreError::Internal("entrée perdue".into()))
}

/// The list of a performance, in the order people joined.
pub async fn list(store: &Store, performance_id: i64) -> Result<Vec<WaitlistEntry>> {
    db::query_as(
        "SELECT id, performance_id, price_category_id, quantity, last_name, first_name, email, phone, channel, created_at, notified_at \
         FROM waitlist WHERE performance_id = $1 ORDER BY created_at, id",
    )
    .bind(performance_id)
    .fetch_all(store.pool())
    .await
    .map_err(Into::into)
}

/// After places were freed at a performance: notifies, in order, the entries not yet
/// notified whose quantity fits in what is free now.
pub async fn notify_in_tx(tx: &mut WriteTx, performance_id: i64) -> Result<()> {
    let (held_or_sold,): (i64,) = db::query_as("SELECT COUNT(*) FROM places WHERE performance_id = $1 AND family = ''")
        .bind(performance_id)
        .fetch_one(tx.conn())
        .await?;
    let cap: Option<(i64,)> = db::query_as("SELECT l.capacity FROM performances p JOIN layouts l ON l.id = p.layout_id WHERE p.id = $1")
        .bind(performance_id)
        .fetch_optional(tx.conn())
        .await?;
    let (quota_total,): (i64,) = db::query_as("SELECT CAST(COALESCE(SUM(places), 0) AS BIGINT) FROM quotas WHERE performance_id = $1")
        .bind(performance_id)
        .fetch_one(tx.conn())
        .await?;
    let mut free = cap.map(|c| c.0).unwrap_or(0) - quota_total - held_or_sold;
    if free <= 0 {
        return Ok(());
    }
    let waiting: Vec<(i64, i64)> =
        db::query_as("SELECT id, quantity FROM waitlist WHERE performance_id = $1 AND notified_at IS NULL ORDER BY created_at, id")
            .bind(performance_id)
            .fetch_all(tx.conn())
            .await?;
    for (id, qty) in waiting {
        if qty > free {
            break;
        }
        free -= qty;
        db::query("UPDATE waitlist SET notified_at = $1 WHERE id = $2")
            .bind(time::now_db())
            .bind(id)
            .execute(tx.conn())
            .await?;
        tx.record(
            Change::new("waitlist.notify", "waitlist", id),
            Some(Event::WaitlistNotified {
                entry_id: id,
                performance_id,
            }),
        )
        .await?;
    }
    Ok(())
}
