//! Performances: a show in a hall layout at a date-time, with its web sale window and quotas.

use super::{shows, venues};
use crate::db;
use crate::error::{CoreError, FieldErrors, Result};
use crate::events::Event;
use crate::store::{flag, Actor, Change, Store};
use crate::time;
use chrono::{DateTime, Utc};

/// Places held back for a family of buyers (school, group, company, invitation…).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Quota {
    /// Family code (see [`super::QUOTA_FAMILIES`]).
    pub family: String,
    /// Places.
    pub places: i64,
}

/// A performance.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Performance {
    /// Id.
    pub id: i64,
    /// Show.
    pub show_id: i64,
    /// Show name.
    pub show_name: String,
    /// Season of the show.
    pub season_id: i64,
    /// Hall.
    pub hall_id: i64,
    /// Hall name.
    pub hall_name: String,
    /// Layout.
    pub layout_id: i64,
    /// Layout name.
    pub layout_name: String,
    /// Numbered placement.
    pub numbered: bool,
    /// Places.
    pub capacity: i64,
    /// Start, UTC.
    pub starts_at: DateTime<Utc>,
    /// Web sale opening, UTC.
    pub web_sale_opens_at: Option<DateTime<Utc>>,
    /// Web sale closing, UTC.
    pub web_sale_closes_at: Option<DateTime<Utc>>,
    /// Cancelled.
    pub cancelled: bool,
    /// Quotas.
    pub quotas: Vec<Quota>,
}

impl Performance {
    /// On sale on the web at `now`: not cancelled, not started, inside its window.
    pub fn on_sale_at(&self, now: DateTime<Utc>) -> bool {
        !self.cancelled
            && now < self.starts_at
            && self.web_sale_opens_at.is_none_or(|o| o <= now)
            && self.web_sale_closes_at.is_none_or(|c| now < c)
    }
}

/// What a form or the API sends to create or edit a performance.
#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize)]
#[serde(default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PerformanceInput {
    /// Show.
    pub show_id: Option<i64>,
    /// Layout; when absent, the first layout of `hall_id`.
    pub layout_id: Option<i64>,
    /// Hall (to pick its first layout).
    pub hall_id: Option<i64>,
    /// Start: RFC 3339, or Paris time `2026-10-03T20:30`.
    pub starts_at: String,
    /// Web sale opening.
    pub web_sale_opens_at: Option<String>,
    /// Web sale closing (default: the start).
    pub web_sale_closes_at: Option<String>,
    /// Cancelled.
    pub cancelled: bool,
    /// Quotas (replace the existing ones when given).
    pub quotas: Option<Vec<Quota>>,
}

/// Filters for listing performances.
#[derive(Debug, Clone, Default)]
pub struct PerformanceQuery {
    /// Season id.
    pub season_id: Option<i64>,
    /// Show id.
    pub show_id: Option<i64>,
    /// One performance.
    pub performance_id: Option<i64>,
}

struct Valid {
    show_id: i64,
    layout_id: i64,
    starts_at: String,
    opens: Option<String>,
    closes: Option<String>,
    quotas: Option<Vec<Quota>>,
}

async fn validate(store: &Store, input: &PerformanceInput) -> Result<Valid> {
    let mut e = FieldErrors::new();
    let show_id = match input.show_id {
        Some(id) if shows::get_show(store, id).await.is_ok() => id,
        Some(_) => {
            e.add("show_id", "spectacle inconnu");
            0
        }
        None => {
            e.add("show_id", "choisissez un spectacle");
            0
        }
    };
    let layouts = venues::list_hall_layouts(store).await?;
    let layout = match (input.layout_id, input.hall_id) {
        (Some(l), _) => layouts.iter().find(|x| x.layout_id == l),
        (None, Some(h)) => layouts.iter().find(|x| x.hall_id == h),
        (None, None) => None,
    };
    if layout.is_none() {
        e.add("layout_id", "choisissez une salle et sa configuration");
    }
    let starts = time::parse_instant(&input.starts_at);
    if starts.is_none() {
        e.add("starts_at", "date et heure de la séance invalides (jj/mm/aaaa hh:mm)");
    }
    let mut parse_opt = |field: &str, v: &Option<String>| match v.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(s) => {
            let t = time::parse_instant(s);
            if t.is_none() {
                e.add(field, "date et heure invalides (jj/mm/aaaa hh:mm)");
            }
            t
        }
    };
    let opens = parse_opt("web_sale_opens_at", &input.web_sale_opens_at);
    let closes = parse_opt("web_sale_closes_at", &input.web_sale_closes_at).or(starts);
    if let (Some(o), Some(c)) = (opens, closes) {
        if o >= c {
            e.add("web_sale_closes_at", "la fermeture de la vente doit suivre son ouverture");
        }
    }
    if let (Some(q), Some(l)) = (&input.quotas, layout) {
        if q.iter().any(|x| x.places < 0 || !super::is_in(super::QUOTA_FAMILIES, &x.family)) {
            e.add("quotas", "contingent invalide (famille inconnue ou nombre négatif)");
        } else {
            // Checked: places sent are any i64, and a wrapped sum would pass the gauge.
            match q.iter().try_fold(0i64, |sum, x| sum.checked_add(x.places)) {
                Some(total) if total <= l.capacity => {}
                Some(total) => e.add(
                    "quotas",
                    format!("les contingents ({total} places) dépassent la jauge ({})", l.capacity),
                ),
                None => e.add("quotas", format!("les contingents dépassent la jauge ({})", l.capacity)),
            }
        }
    }
    e.into_result()?;
    let (Some(layout), Some(starts)) = (layout, starts) else {
        return Err(CoreError::Internal("validation incomplète".into()));
    };
    Ok(Valid {
        show_id,
        layout_id: layout.layout_id,
        starts_at: time::to_db(starts),
        opens: opens.map(time::to_db),
        closes: closes.map(time::to_db),
        quotas: input.quotas.clone(),
    })
}

async fn write_quotas(tx: &mut crate::WriteTx, performance_id: i64, quotas: &[Quota]) -> Result<()> {
    db::query("DELETE FROM quotas WHERE performance_id = $1")
        .bind(performance_id)
        .execute(tx.conn())
        .await?;
    for q in quotas.iter().filter(|q| q.places > 0) {
        db::query("INSERT INTO quotas (performance_id, family, places) VALUES ($1, $2, $3)")
            .bind(performance_id)
            .bind(&q.family)
            .bind(q.places)
            .execute(tx.conn())
            .await?;
        tx.record(
            Change::new("quota.set", "performance", performance_id).after(q),
            Some(Event::QuotaSet {
                performance_id,
                family: q.family.clone(),
                places: q.places,
            }),
        )
        .await?;
    }
    Ok(())
}

/// Creates a performance.
pub async fn create_performance(store: &Store, actor: &Actor, input: &PerformanceInput) -> Result<Performance> {
    let v = validate(store, input).await?;
    let now = time::now_db();
    let mut tx = store.write(actor).await?;
    let (id,): (i64,) = db::query_as(
        "INSERT INTO performances (show_id, layout_id, starts_at, web_sale_opens_at, web_sale_closes_at, cancelled, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
    )
    .bind(v.show_id)
    .bind(v.layout_id)
    .bind(&v.starts_at)
    .bind(&v.opens)
    .bind(&v.closes)
    .bind(input.cancelled as i64)
    .bind(&now)
    .bind(&now)
    .fetch_one(tx.conn())
    .await?;
    let layout = venues::get_layout(store, v.layout_id).await?;
    tx.record(
        Change::new("performance.create", "performance", id).after(&serde_json::json!({
            "show_id": v.show_id, "layout_id": v.layout_id, "starts_at": v.starts_at,
            "web_sale_opens_at": v.opens, "web_sale_closes_at": v.closes })),
        Some(Event::PerformanceCreated {
            performance_id: id,
            show_id: v.show_id,
            hall_id: layout.hall_id,
            layout_id: v.layout_id,
            starts_at: v.starts_at.clone(),
            capacity: layout.capacity,
        }),
    )
    .await?;
    if let Some(q) = &v.quotas {
        write_quotas(&mut tx, id, q).await?;
        crate::seating::inventory::allocate_quota_seats(store, &mut tx, id, v.layout_id, q).await?;
    }
    tx.commit().await?;
    get_performance(store, id).await
}

/// Edits a performance.
pub async fn update_performance(store: &Store, actor: &Actor, id: i64, input: &PerformanceInput) -> Result<Performance> {
    let before = get_performance(store, id).await?;
    let mut input = input.clone();
    input.show_id = Some(input.show_id.unwrap_or(before.show_id));
    let v = validate(store, &input).await?;
    let mut tx = store.write(actor).await?;
    db::query(
        "UPDATE performances SET show_id = $1, layout_id = $2, starts_at = $3, web_sale_opens_at = $4, web_sale_closes_at = $5, \
         cancelled = $6, updated_at = $7 WHERE id = $8",
    )
    .bind(v.show_id)
    .bind(v.layout_id)
    .bind(&v.starts_at)
    .bind(&v.opens)
    .bind(&v.closes)
    .bind(input.cancelled as i64)
    .bind(time::now_db())
    .bind(id)
    .execute(tx.conn())
    .await?;
    tx.record(
        Change::new("performance.update", "performance", id)
            .before(&before)
            .after(&serde_json::json!({
            "show_id": v.show_id, "layout_id": v.layout_id, "starts_at": v.starts_at,
            "web_sale_opens_at": v.opens, "web_sale_closes_at": v.closes, "cancelled": input.cancelled })),
        Some(Event::PerformanceUpdated {
            performance_id: id,
            layout_id: v.layout_id,
            starts_at: v.starts_at.clone(),
            cancelled: input.cancelled,
        }),
    )
    .await?;
    if let Some(q) = &v.quotas {
        write_quotas(&mut tx, id, q).await?;
        crate::seating::inventory::allocate_quota_seats(store, &mut tx, id, v.layout_id, q).await?;
    }
    tx.commit().await?;
    get_performance(store, id).await
}

type Row = (
    i64,
    i64,
    String,
    i64,
    i64,
    String,
    i64,
    String,
    i64,
    i64,
    String,
    Option<String>,
    Option<String>,
    i64,
);

/// Lists performances by start time.
pub async fn list_performances(store: &Store, q: &PerformanceQuery) -> Result<Vec<Performance>> {
    // Only the filters asked for, so each lookup uses its index (a lone id is a primary-key read).
    let mut conds: Vec<String> = Vec::new();
    let mut binds: Vec<i64> = Vec::new();
    for (col, v) in [("p.id", q.performance_id), ("p.show_id", q.show_id), ("s.season_id", q.season_id)] {
        if let Some(v) = v {
            binds.push(v);
            conds.push(format!("{col} = ${}", binds.len()));
        }
    }
    let filter = if conds.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", conds.join(" AND "))
    };
    let sql = format!(
        "SELECT p.id, p.show_id, s.name, s.season_id, h.id, h.name, l.id, l.name, l.numbered, l.capacity, p.starts_at, \
         p.web_sale_opens_at, p.web_sale_closes_at, p.cancelled \
         FROM performances p JOIN shows s ON s.id = p.show_id JOIN layouts l ON l.id = p.layout_id JOIN halls h ON h.id = l.hall_id \
         {filter} ORDER BY p.starts_at, p.id"
    );
    let mut query = db::query_as::<Row>(&sql);
    for b in &binds {
        query = query.bind(*b);
    }
    let rows: Vec<Row> = query.fetch_all(store.pool()).await?;
    let quotas: Vec<(i64, String, i64)> = match q.performance_id {
        Some(id) => {
            db::query_as("SELECT performance_id, family, places FROM quotas WHERE performance_id = $1 ORDER BY family")
                .bind(id)
                .fetch_all(store.pool())
                .await?
        }
        None => {
            db::query_as("SELECT performance_id, family, places FROM quotas ORDER BY family")
                .fetch_all(store.pool())
                .await?
        }
    };
    Ok(rows
        .into_iter()
        .map(
            |(
                id,
                show_id,
                show_name,
                season_id,
                hall_id,
                hall_name,
                layout_id,
                layout_name,
                numbered,
                capacity,
                starts,
                opens,
                closes,
                cancelled,
            )| {
                Performance {
                    id,
                    show_id,
                    show_name,
                    season_id,
                    hall_id,
                    hall_name,
                    layout_id,
                    layout_name,
                    numbered: flag(numbered),
                    capacity,
                    starts_at: time::from_db(&starts).unwrap_or_default(),
                    web_sale_opens_at: opens.as_deref().and_then(time::from_db),
                    web_sale_closes_at: closes.as_deref().and_then(time::from_db),
                    cancelled: flag(cancelled),
                    quotas: quotas
                        .iter()
                        .filter(|(p, _, _)| *p == id)
                        .map(|(_, f, n)| Quota {
                            family: f.clone(),
                            places: *n,
                        })
                        .collect(),
                }
            },
        )
        .collect())
}

/// One performance.
pub async fn get_performance(store: &Store, id: i64) -> Result<Performance> {
    let memo_key = format!("performance:{id}");
    if let Some(v) = store.memo().get::<Performance>(&memo_key) {
        return Ok(v);
    }
    let value: Performance = crate::memo::compute(async {
        list_performances(
            store,
            &PerformanceQuery {
                performance_id: Some(id),
                ..Default::default()
            },
        )
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| CoreError::NotFound(format!("séance {id}")))
    })
    .await?;
    store.memo().put(&memo_key, value.clone());
    Ok(value)
}
