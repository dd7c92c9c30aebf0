//! Promo codes: scope (shows, performances, price categories), validity window,
//! quota of uses, single-use batches; applying one says exactly why it fails.

use super::carts::{open_cart_tx, CartItem};
use crate::catalog::performances;
use crate::db;
use crate::error::{CoreError, FieldErrors, Result};
use crate::events::Event;
use crate::money::Money;
use crate::store::{on_unique, Actor, Change, Store};
use crate::time;

/// A promo code.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PromoCode {
    /// Id.
    pub id: i64,
    /// The code typed by the buyer (upper case).
    pub code: String,
    /// Batch name for single-use codes.
    pub batch: Option<String>,
    /// Start of validity (UTC storage text).
    pub valid_from: Option<String>,
    /// End of validity.
    pub valid_until: Option<String>,
    /// Uses allowed (none: unlimited).
    pub max_uses: Option<i64>,
    /// Uses so far.
    pub uses: i64,
    /// Percentage off.
    pub discount_percent: Option<i64>,
    /// Amount off per ticket.
    pub discount: Option<Money>,
    /// Shows it applies to (empty: all).
    pub show_ids: Vec<i64>,
    /// Performances it applies to (empty: all).
    pub performance_ids: Vec<i64>,
    /// Price categories it applies to (empty: all).
    pub price_category_ids: Vec<i64>,
}

/// What creates one code or a batch of single-use codes.
#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
pub struct PromoInput {
    /// The code (for a single code).
    pub code: Option<String>,
    /// Number of single-use codes to generate (instead of `code`).
    pub batch_size: Option<i64>,
    /// Shows.
    pub show_ids: Option<Vec<i64>>,
    /// Performances.
    pub performance_ids: Option<Vec<i64>>,
    /// Price categories.
    pub price_category_ids: Option<Vec<i64>>,
    /// Start of validity (RFC 3339 or Paris time).
    pub valid_from: Option<String>,
    /// End of validity.
    pub valid_until: Option<String>,
    /// Uses allowed.
    pub max_uses: Option<i64>,
    /// Percent off (1–100).
    pub discount_percent: Option<i64>,
    /// Amount off per ticket, euros.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub discount_amount: Option<Money>,
}

fn ids(s: &str) -> Vec<i64> {
    s.split(',').filter_map(|x| x.trim().parse().ok()).collect()
}

fn join(v: &Option<Vec<i64>>) -> String {
    v.as_deref()
        .unwrap_or(&[])
        .iter()
        .map(|i| i.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

type Row = (
    i64,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<i64>,
    i64,
    Option<i64>,
    Option<i64>,
    String,
    String,
    String,
);

const COLS: &str = "id, code, batch, valid_from, valid_until, max_uses, uses, discount_percent, discount_cents, show_ids, performance_ids, price_category_ids";

fn from_row(r: Row) -> PromoCode {
    PromoCode {
        id: r.0,
        code: r.1,
        batch: r.2,
        valid_from: r.3,
        valid_until: r.4,
        max_uses: r.5,
        uses: r.6,
        discount_percent: r.7,
        discount: r.8.map(Money::cents),
        show_ids: ids(&r.9),
        performance_ids: ids(&r.10),
        price_category_ids: ids(&r.11),
    }
}

/// One code by id.
pub async fn get(store: &Store, id: i64) -> Result<Option<PromoCode>> {
    let r: Option<Row> = db::query_as(&format!("SELECT {COLS} FROM promo_codes WHERE id = $1"))
        .bind(id)
        .fetch_optional(store.pool())
        .await?;
    Ok(r.map(from_row))
}

/// Every code, newest first.
pub async fn list(store: &Store) -> Result<Vec<PromoCode>> {
    let r: Vec<Row> = db::query_as(&format!("SELECT {COLS} FROM promo_codes ORDER BY id DESC"))
        .fetch_all(store.pool())
        .await?;
    Ok(r.into_iter().map(from_row).collect())
}

fn random_code() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let hex = crate::auth::random_secret();
    hex.as_bytes()
        .chunks(2)
        .take(10)
        .map(|c| ALPHABET[(u8::from_str_radix(std::str::from_utf8(c).unwrap_or("0"), 16).unwrap_or(0) % 32) as usize] as char)
        .collect()
}

/// Creates one code, or `batch_size` single-use codes.
pub async fn create(store: &Store, actor: &Actor, input: &PromoInput) -> Result<Vec<PromoCode>> {
    let mut e = FieldErrors::new();
    match (input.discount_percent, input.discount_amount) {
        (Some(p), None) if (1..=100).contains(&p) => {}
        (None, Some(a)) if a.as_cents() > 0 => {}
        _ => e.add(
            "discount_percent",
            "indiquez soit un pourcentage (1 à 100), soit un montant de remise positif",
        ),
    }
    let parse = |field: &str, v: &Option<String>, e: &mut FieldErrors| match v.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => match time::parse_instant(s) {
            Some(t) => Some(time::to_db(t)),
            None => {
                e.add(field, "date et heure invalides");
                None
            }
        },
    };
    let from = parse("valid_from", &input.valid_from, &mut e);
    let until = parse("valid_until", &input.valid_until, &mut e);
    if let (Some(f), Some(u)) = (&from, &until) {
        if f >= u {
            e.add("valid_until", "la fin de validité doit suivre le début");
        }
    }
    let codes: Vec<String> = match (&input.code, input.batch_size) {
        (Some(c), None) if !c.trim().is_empty() && c.trim().len() <= 40 => vec![c.trim().to_uppercase()],
        (None, Some(n)) if (1..=10_000).contains(&n) => (0..n).map(|_| random_code()).collect(),
        _ => {
            e.add(
                "code",
                "indiquez un code (40 caractères au plus) ou un nombre de codes à usage unique (1 à 10 000)",
            );
            vec![]
        }
    };
    if input.max_uses.is_some_and(|m| m < 1) {
        e.add("max_uses", "au moins 1 utilisation");
    }
    e.into_result()?;
    let batch = input
        .batch_size
        .map(|_| format!("lot-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]));
    let max_uses = if batch.is_some() { Some(1) } else { input.max_uses };
    let mut tx = store.write(actor).await?;
    let mut made = Vec::new();
    for code in codes {
        let (id,): (i64,) = db::query_as(
            "INSERT INTO promo_codes (code, batch, valid_from, valid_until, max_uses, uses, discount_percent, discount_cents, show_ids, performance_ids, price_category_ids, created_at) \
             VALUES ($1, $2, $3, $4, $5, 0, $6, $7, $8, $9, $10, $11) RETURNING id",
        )
        .bind(&code)
        .bind(&batch)
        .bind(&from)
        .bind(&until)
        .bind(max_uses)
        .bind(input.discount_percent)
        .bind(input.discount_amount.map(|m| m.as_cents()))
        .bind(join(&input.show_ids))
        .bind(join(&input.performance_ids))
        .bind(join(&input.price_category_ids))
        .bind(time::now_db())
        .fetch_one(tx.conn())
        .await
        .map_err(|e| on_unique(e, format!("le code « {code} » existe déjà")))?;
        made.push(id);
        tx.record(
            // The code is a secret (single-use ones are bearer vouchers): by id only.
            Change::new("promo.create", "promo_code", id).after(&serde_json::json!({ "batch": batch, "max_uses": max_uses })),
            Some(Event::PromoCodeCreated {
                promo_code_id: id,
                batch: batch.clone(),
            }),
        )
        .await?;
    }
    tx.commit().await?;
    let all = list(store).await?;
    Ok(all.into_iter().filter(|p| made.contains(&p.id)).collect())
}

/// Why a code cannot be used now, or `None` when it can.
pub fn refusal(p: &PromoCode, now: &str) -> Option<&'static str> {
    if p.valid_from.as_deref().is_some_and(|f| now < f) {
        return Some("code pas encore valable");
    }
    if p.valid_until.as_deref().is_some_and(|u| now > u) {
        return Some("code expiré");
    }
    if p.max_uses.is_some_and(|m| p.uses >= m) {
        return Some("quota épuisé");
    }
    None
}

/// Does the code apply to this ticket line?
async fn applies(store: &Store, p: &PromoCode, item: &CartItem) -> Result<bool> {
    if item.kind != "ticket" || item.parent_item_id.is_some() {
        return Ok(false);
    }
    let Some(perf_id) = item.performance_id else { return Ok(false) };
    if !p.performance_ids.is_empty() && !p.performance_ids.contains(&perf_id) {
        return Ok(false);
    }
    if !p.price_category_ids.is_empty() && !item.price_category_id.is_some_and(|c| p.price_category_ids.contains(&c)) {
        return Ok(false);
    }
    if !p.show_ids.is_empty() {
        let perf = performances::get_performance(store, perf_id).await?;
        if !p.show_ids.contains(&perf.show_id) {
            return Ok(false);
        }
    }
    Ok(true)
}

/// The discount per unit of a line under a code.
pub async fn discount_for(store: &Store, p: &PromoCode, item: &CartItem) -> Result<Money> {
    if !applies(store, p, item).await? {
        return Ok(Money::ZERO);
    }
    Ok(match (p.discount_percent, p.discount) {
        (Some(pct), _) => item.unit.checked_percent(pct.clamp(0, 100))?,
        (None, Some(a)) => a.min(item.unit),
        _ => Money::ZERO,
    })
}

/// Applies a code to a cart, or says why not: « code inconnu », « code expiré »,
/// « quota épuisé », « ne s'applique pas à ce spectacle ».
pub async fn apply(store: &Store, actor: &Actor, cart_id: i64, code: &str) -> Result<super::Cart> {
    let wanted = code.trim().to_uppercase();
    let r: Option<Row> = db::query_as(&format!("SELECT {COLS} FROM promo_codes WHERE code = $1"))
        .bind(&wanted)
        .fetch_optional(store.pool())
        .await?;
    let p = r.map(from_row).ok_or_else(|| CoreError::invalid("code", "code inconnu"))?;
    if let Some(why) = refusal(&p, &time::now_db()) {
        return Err(CoreError::invalid("code", why));
    }
    let cart = super::carts::get_cart(store, cart_id).await?;
    let mut any = false;
    for item in &cart.items {
        if applies(store, &p, item).await? {
            any = true;
        }
    }
    if !any {
        return Err(CoreError::invalid("code", "ne s'applique pas à ce spectacle"));
    }
    let (mut tx, _) = open_cart_tx(store, actor, cart_id).await?;
    db::query("UPDATE carts SET promo_code_id = $1 WHERE id = $2")
        .bind(p.id)
        .bind(cart_id)
        .execute(tx.conn())
        .await?;
    tx.record(
        Change::new("cart.promo", "cart", cart_id).after(&serde_json::json!({ "promo_code_id": p.id })),
        Some(Event::PromoCodeApplied {
            cart_id,
            promo_code_id: p.id,
        }),
    )
    .await?;
    tx.commit().await?;
    super::carts::get_cart(store, cart_id).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code() -> PromoCode {
        PromoCode {
            id: 1,
            code: "AUTOMNE".into(),
            batch: None,
            valid_from: Some("2026-09-01T00:00:00.000000Z".into()),
            valid_until: Some("2026-10-01T00:00:00.000000Z".into()),
            max_uses: Some(2),
            uses: 0,
            discount_percent: Some(10),
            discount: None,
            show_ids: vec![],
            performance_ids: vec![],
            price_category_ids: vec![],
        }
    }

    #[test]
    fn refusals_say_why() {
        assert_eq!(refusal(&code(), "2026-08-01T00:00:00.000000Z"), Some("code pas encore valable"));
        assert_eq!(refusal(&code(), "2026-10-02T00:00:00.000000Z"), Some("code expiré"));
        assert_eq!(
            refusal(&PromoCode { uses: 2, ..code() }, "2026-09-10T00:00:00.000000Z"),
            Some("quota épuisé")
        );
        assert_eq!(refusal(&code(), "2026-09-10T00:00:00.000000Z"), None);
    }

    #[test]
    fn batch_codes_are_readable() {
        let c = random_code();
        assert_eq!(c.len(), 10);
        assert!(c.chars().all(|ch| ch.is_ascii_uppercase() || ch.is_ascii_digit()));
        assert!(!c.contains('O') && !c.contains('0') && !c.contains('I') && !c.contains('1'));
    }
}
