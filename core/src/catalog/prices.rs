//! Price categories, the price grid by show category and products.

use super::Tier;
use crate::db;
use crate::error::{CoreError, FieldErrors, Result};
use crate::events::Event;
use crate::money::Money;
use crate::store::{flag, on_unique, Actor, Change, Store};

/// A price category (full, reduced, under 30…).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PriceCategory {
    /// Id.
    pub id: i64,
    /// Stable code, e.g. `full`.
    pub code: String,
    /// French name.
    pub name: String,
    /// A proof (student card, AAH…) must be checked before an e-ticket is issued.
    pub needs_proof: bool,
}

crate::row_struct! {
    /// One cell of the price grid.
    #[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
    pub struct GridCell {
        /// Show category (A+ … D).
        pub tier: Tier,
        /// Price category.
        pub price_category_id: i64,
        /// Amount TTC.
        pub amount: Money,
    }
}

/// A product sold beside tickets.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Product {
    /// Id.
    pub id: i64,
    /// Season.
    pub season_id: i64,
    /// Stable code within the season.
    pub code: String,
    /// Name.
    pub name: String,
    /// formule | pass | card | annex | gift_card | suspended.
    pub kind: String,
    /// Number of shows of a formule.
    pub size: Option<i64>,
    /// Price TTC (none for formules, priced per show, and gift cards, free amount).
    pub price: Option<Money>,
    /// Reduced price, where there is one (Pass Curiosité).
    pub reduced_price: Option<Money>,
    /// VAT in basis points.
    pub vat_rate_bp: i64,
    /// On sale.
    pub active: bool,
}

/// What is needed to create a product.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct ProductInput {
    /// Code.
    pub code: String,
    /// Name.
    pub name: String,
    /// Kind.
    pub kind: String,
    /// Formule size.
    pub size: Option<i64>,
    /// Price.
    pub price: Option<Money>,
    /// Reduced price.
    pub reduced_price: Option<Money>,
    /// VAT in basis points.
    pub vat_rate_bp: i64,
}

/// Creates a price category, or returns the existing one with that code.
pub async fn ensure_price_category(
    store: &Store,
    actor: &Actor,
    code: &str,
    name: &str,
    needs_proof: bool,
    sort_order: i64,
) -> Result<i64> {
    if let Some((id,)) = db::query_as::<(i64,)>("SELECT id FROM price_categories WHERE code = $1")
        .bind(code)
        .fetch_optional(store.pool())
        .await?
    {
        return Ok(id);
    }
    create_price_category(store, actor, code, name, needs_proof, sort_order).await
}

/// Creates a price category; a code already used is a conflict.
pub async fn create_price_category(
    store: &Store,
    actor: &Actor,
    code: &str,
    name: &str,
    needs_proof: bool,
    sort_order: i64,
) -> Result<i64> {
    let mut e = FieldErrors::new();
    if code.is_empty() || code.len() > 30 || !code.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_') {
        e.add("code", "code obligatoire : minuscules, chiffres et _ (30 au plus)");
    }
    if name.trim().is_empty() {
        e.add("name", "libellé obligatoire");
    }
    e.into_result()?;
    let mut tx = store.write(actor).await?;
    let (id,): (i64,) = db::query_as(
        "INSERT INTO price_categories (code, name, needs_proof, sort_order, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(code)
    .bind(name)
    .bind(needs_proof as i64)
    .bind(sort_order)
    .bind(crate::time::now_db())
    .fetch_one(tx.conn())
    .await
    .map_err(|e| on_unique(e, format!("le tarif « {code} » existe déjà")))?;
    let pc = PriceCategory {
        id,
        code: code.into(),
        name: name.into(),
        needs_proof,
    };
    tx.record(
        Change::new("price_category.create", "price_category", id).after(&pc),
        Some(Event::PriceCategoryCreated {
            price_category_id: id,
            code: code.into(),
            name: name.into(),
            needs_proof,
        }),
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// Every price category in display order.
pub async fn list_price_categories(store: &Store) -> Result<Vec<PriceCategory>> {
    let memo_key = "price_categories".to_string();
    if let Some(v) = store.memo().get::<Vec<PriceCategory>>(&memo_key) {
        return Ok(v);
    }
    let value: Vec<PriceCategory> = crate::memo::compute(async {
        let rows: Vec<(i64, String, String, i64)> =
            db::query_as("SELECT id, code, name, needs_proof FROM price_categories ORDER BY sort_order, id")
                .fetch_all(store.pool())
                .await?;
        Ok(rows
            .into_iter()
            .map(|(id, code, name, p)| PriceCategory {
                id,
                code,
                name,
                needs_proof: flag(p),
            })
            .collect())
    })
    .await?;
    store.memo().put(&memo_key, value.clone());
    Ok(value)
}

/// Sets one cell of a season's grid (creates or replaces it).
pub async fn set_grid_price(store: &Store, actor: &Actor, season_id: i64, tier: Tier, price_category_id: i64, amount: Money) -> Result<()> {
    if amount.as_cents() < 0 {
        return Err(CoreError::invalid("amount", "un prix ne peut pas être négatif"));
    }
    let before = grid(store, season_id)
        .await?
        .into_iter()
        .find(|c| c.tier == tier && c.price_category_id == price_category_id);
    let mut tx = store.write(actor).await?;
    db::query("DELETE FROM price_grid WHERE season_id = $1 AND tier = $2 AND price_category_id = $3")
        .bind(season_id)
        .bind(tier)
        .bind(price_category_id)
        .execute(tx.conn())
        .await?;
    db::query("INSERT INTO price_grid (season_id, tier, price_category_id, amount_cents) VALUES ($1, $2, $3, $4)")
        .bind(season_id)
        .bind(tier)
        .bind(price_category_id)
        .bind(amount.as_cents())
        .execute(tx.conn())
        .await?;
    let after = GridCell {
        tier,
        price_category_id,
        amount,
    };
    let mut change = Change::new("price_grid.set", "price_grid", format!("{season_id}/{tier}/{price_category_id}")).after(&after);
    if let Some(b) = &before {
        change = change.before(b);
    }
    tx.record(
        change,
        Some(Event::PriceGridSet {
            season_id,
            tier,
            price_category_id,
            amount_cents: amount.as_cents(),
        }),
    )
    .await?;
    tx.commit().await
}

/// A season's price grid.
pub async fn grid(store: &Store, season_id: i64) -> Result<Vec<GridCell>> {
    Ok(
        db::query_as("SELECT tier, price_category_id, amount_cents FROM price_grid WHERE season_id = $1")
            .bind(season_id)
            .fetch_all(store.pool())
            .await?,
    )
}

/// Creates a product in a season, or returns the existing one with that code.
pub async fn ensure_product(store: &Store, actor: &Actor, season_id: i64, input: &ProductInput) -> Result<i64> {
    if let Some((id,)) = db::query_as::<(i64,)>("SELECT id FROM products WHERE season_id = $1 AND code = $2")
        .bind(season_id)
        .bind(&input.code)
        .fetch_optional(store.pool())
        .await?
    {
        return Ok(id);
    }
    create_product(store, actor, season_id, input).await
}

/// Creates a product in a season; a code already used in the season is a conflict.
pub async fn create_product(store: &Store, actor: &Actor, season_id: i64, input: &ProductInput) -> Result<i64> {
    let mut e = FieldErrors::new();
    if input.name.trim().is_empty() {
        e.add("name", "nom obligatoire");
    }
    if !super::is_in(super::PRODUCT_KINDS, &input.kind) {
        e.add("kind", format!("type de produit inconnu : {}", input.kind));
    }
    if input.code.is_empty() || !input.code.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_') {
        e.add("code", "code obligatoire : minuscules, chiffres et _");
    }
    if input.kind == "formule" && !matches!(input.size, Some(n) if n > 0) {
        e.add("size", "une formule indique son nombre de spectacles");
    }
    e.into_result()?;
    let mut tx = store.write(actor).await?;
    let (id,): (i64,) = db::query_as(
        "INSERT INTO products (season_id, code, name, kind, size, price_cents, reduced_price_cents, vat_rate_bp, active, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 1, $9) RETURNING id",
    )
    .bind(season_id)
    .bind(&input.code)
    .bind(input.name.trim())
    .bind(&input.kind)
    .bind(input.size)
    .bind(input.price.map(|m| m.as_cents()))
    .bind(input.reduced_price.map(|m| m.as_cents()))
    .bind(input.vat_rate_bp)
    .bind(crate::time::now_db())
    .fetch_one(tx.conn())
    .await
    .map_err(|e| on_unique(e, format!("le code « {} » existe déjà dans cette saison", input.code)))?;
    tx.record(
        Change::new("product.create", "product", id)
            .after(&serde_json::json!({ "code": input.code, "name": input.name, "kind": input.kind })),
        Some(Event::ProductCreated {
            product_id: id,
            season_id,
            kind: input.kind.clone(),
            name: input.name.clone(),
            price_cents: input.price.map(|m| m.as_cents()),
        }),
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// A season's products (all seasons when `None`).
pub async fn list_products(store: &Store, season_id: Option<i64>) -> Result<Vec<Product>> {
    type Row = (i64, i64, String, String, String, Option<i64>, Option<i64>, Option<i64>, i64, i64);
    let rows: Vec<Row> = db::query_as(
        "SELECT id, season_id, code, name, kind, size, price_cents, reduced_price_cents, vat_rate_bp, active FROM products \
         WHERE ($1 = 0 OR season_id = $2) ORDER BY season_id, kind, size, id",
    )
    .bind(season_id.unwrap_or(0))
    .bind(season_id.unwrap_or(0))
    .fetch_all(store.pool())
    .await?;
    Ok(rows
        .into_iter()
        .map(|(id, season_id, code, name, kind, size, p, r, vat, active)| Product {
            id,
            season_id,
            code,
            name,
            kind,
            size,
            price: p.map(Money::cents),
            reduced_price: r.map(Money::cents),
            vat_rate_bp: vat,
            active: flag(active),
        })
        .collect())
}
