//! Seasons (1 July – 30 June) and carrying a season's configuration over to the next.

use crate::db;
use crate::error::{CoreError, Result};
use crate::events::Event;
use crate::store::{on_unique, Actor, Change, Store};
use crate::time;
use chrono::NaiveDate;

/// A season.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Season {
    /// Id.
    pub id: i64,
    /// `2026-2027`.
    pub name: String,
    /// 1 July.
    pub starts_on: NaiveDate,
    /// 30 June.
    pub ends_on: NaiveDate,
}

impl Season {
    /// True when `day` falls in the season.
    pub fn contains(&self, day: NaiveDate) -> bool {
        self.starts_on <= day && day <= self.ends_on
    }
}

/// Every season, newest first.
pub async fn list_seasons(store: &Store) -> Result<Vec<Season>> {
    let memo_key = "seasons".to_string();
    if let Some(v) = store.memo().get::<Vec<Season>>(&memo_key) {
        return Ok(v);
    }
    let value: Vec<Season> = crate::memo::compute(async {
        let rows: Vec<(i64, String, String, String)> =
            db::query_as("SELECT id, name, starts_on, ends_on FROM seasons ORDER BY starts_on DESC")
                .fetch_all(store.pool())
                .await?;
        Ok(rows
            .into_iter()
            .filter_map(|(id, name, s, e)| {
                Some(Season {
                    id,
                    name,
                    starts_on: time::date_from_db(&s)?,
                    ends_on: time::date_from_db(&e)?,
                })
            })
            .collect())
    })
    .await?;
    store.memo().put(&memo_key, value.clone());
    Ok(value)
}

/// One season by id.
pub async fn get_season(store: &Store, id: i64) -> Result<Season> {
    list_seasons(store)
        .await?
        .into_iter()
        .find(|s| s.id == id)
        .ok_or_else(|| CoreError::NotFound(format!("saison {id}")))
}

/// One season by name (`2026-2027`).
pub async fn find_season(store: &Store, name: &str) -> Result<Option<Season>> {
    Ok(list_seasons(store).await?.into_iter().find(|s| s.name == name))
}

/// The season containing `day`, if it exists.
pub async fn season_for(store: &Store, day: NaiveDate) -> Result<Option<Season>> {
    Ok(list_seasons(store).await?.into_iter().find(|s| s.contains(day)))
}

/// Creates the season containing `day`, or returns it.
pub async fn ensure_season_for(store: &Store, actor: &Actor, day: NaiveDate) -> Result<Season> {
    if let Some(s) = season_for(store, day).await? {
        return Ok(s);
    }
    let (year, first, last) = time::season_of(day);
    let name = time::season_name(year);
    let mut tx = store.write(actor).await?;
    let (id,): (i64,) = db::query_as("INSERT INTO seasons (name, starts_on, ends_on, created_at) VALUES ($1, $2, $3, $4) RETURNING id")
        .bind(&name)
        .bind(time::date_to_db(first))
        .bind(time::date_to_db(last))
        .bind(time::now_db())
        .fetch_one(tx.conn())
        .await
        .map_err(|e| on_unique(e, format!("la saison {name} existe déjà")))?;
    let season = Season {
        id,
        name: name.clone(),
        starts_on: first,
        ends_on: last,
    };
    tx.record(
        Change::new("season.create", "season", id).after(&season),
        Some(Event::SeasonCreated {
            season_id: id,
            name,
            starts_on: time::date_to_db(first),
            ends_on: time::date_to_db(last),
        }),
    )
    .await?;
    tx.commit().await?;
    Ok(season)
}

/// What a carry-over copied.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct CarryOver {
    /// The new season.
    pub season_id: i64,
    /// Price grid cells copied.
    pub grid_cells: i64,
    /// Products copied.
    pub products: i64,
    /// Shows copied as templates (archived, without performances).
    pub show_templates: i64,
}

/// Copies a season's price grid and products, and optionally its shows as templates, into the
/// following season (created if needed). Existing entries of the target are kept, not doubled.
pub async fn carry_over(store: &Store, actor: &Actor, from_id: i64, with_shows: bool) -> Result<CarryOver> {
    let from = get_season(store, from_id).await?;
    let next_day = from
        .ends_on
        .succ_opt()
        .ok_or_else(|| CoreError::Internal("date hors limites".into()))?;
    let to = ensure_season_for(store, actor, next_day).await?;
    let mut tx = store.write(actor).await?;
    let grid = db::query(
        "INSERT INTO price_grid (season_id, tier, price_category_id, amount_cents) \
         SELECT $1, g.tier, g.price_category_id, g.amount_cents FROM price_grid g WHERE g.season_id = $2 \
         AND NOT EXISTS (SELECT 1 FROM price_grid t WHERE t.season_id = $3 AND t.tier = g.tier AND t.price_category_id = g.price_category_id)",
    )
    .bind(to.id)
    .bind(from.id)
    .bind(to.id)
    .execute(tx.conn())
    .await?
    .rows_affected() as i64;
    let products = db::query(
        "INSERT INTO products (season_id, code, name, kind, size, price_cents, reduced_price_cents, vat_rate_bp, active, created_at) \
         SELECT $1, p.code, p.name, p.kind, p.size, p.price_cents, p.reduced_price_cents, p.vat_rate_bp, p.active, $2 FROM products p \
         WHERE p.season_id = $3 AND NOT EXISTS (SELECT 1 FROM products t WHERE t.season_id = $4 AND t.code = p.code)",
    )
    .bind(to.id)
    .bind(time::now_db())
    .bind(from.id)
    .bind(to.id)
    .execute(tx.conn())
    .await?
    .rows_affected() as i64;
    let show_templates = if with_shows {
        let now = time::now_db();
        db::query(
            "INSERT INTO shows (season_id, name, picture_url, duration_minutes, discipline, audience, min_age, tier, vat_rate_bp, \
             hall_id, numbered, ticket_prefix, analytic_code, artistic_director, company, description, is_creation, archived, is_template, created_at, updated_at) \
             SELECT $1, s.name, s.picture_url, s.duration_minutes, s.discipline, s.audience, s.min_age, s.tier, s.vat_rate_bp, \
             s.hall_id, s.numbered, s.ticket_prefix, s.analytic_code, s.artistic_director, s.company, s.description, s.is_creation, 1, 1, $2, $3 \
             FROM shows s WHERE s.season_id = $4 AND NOT EXISTS (SELECT 1 FROM shows t WHERE t.season_id = $5 AND t.name = s.name)",
        )
        .bind(to.id)
        .bind(&now)
        .bind(&now)
        .bind(from.id)
        .bind(to.id)
        .execute(tx.conn())
        .await?
        .rows_affected() as i64
    } else {
        0
    };
    let result = CarryOver {
        season_id: to.id,
        grid_cells: grid,
        products,
        show_templates,
    };
    tx.record(
        Change::new("season.carry_over", "season", to.id).after(&result),
        Some(Event::SeasonCarriedOver {
            from_season_id: from.id,
            to_season_id: to.id,
        }),
    )
    .await?;
    tx.commit().await?;
    Ok(result)
}
