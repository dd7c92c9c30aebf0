//! Venues (main site and off-site), halls and their layouts.

use crate::db;
use crate::error::{CoreError, Result};
use crate::events::Event;
use crate::store::{flag, on_unique, Actor, Change, Store};

/// A venue: the main site or an off-site place.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Venue {
    /// Id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// True for the venue's own building.
    pub main_site: bool,
    /// City.
    pub city: String,
}

/// One layout of one hall: what `GET /api/v1/halls` lists.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct HallLayout {
    /// Hall id.
    pub hall_id: i64,
    /// Hall name.
    pub hall_name: String,
    /// Venue name.
    pub venue_name: String,
    /// Layout id.
    pub layout_id: i64,
    /// Layout name.
    pub layout_name: String,
    /// Numbered seats, or free placement.
    pub numbered: bool,
    /// Places.
    pub capacity: i64,
    /// Wheelchair places.
    pub pmr_places: i64,
    /// A template plan (circus tent, off-site) whose capacity varies.
    pub is_template: bool,
}

/// Creates a venue, or returns the existing one with that name.
pub async fn ensure_venue(store: &Store, actor: &Actor, name: &str, main_site: bool, city: &str) -> Result<i64> {
    if let Some((id,)) = db::query_as::<(i64,)>("SELECT id FROM venues WHERE name = $1")
        .bind(name)
        .fetch_optional(store.pool())
        .await?
    {
        return Ok(id);
    }
    let mut tx = store.write(actor).await?;
    let (id,): (i64,) = db::query_as("INSERT INTO venues (name, main_site, city, created_at) VALUES ($1, $2, $3, $4) RETURNING id")
        .bind(name)
        .bind(main_site as i64)
        .bind(city)
        .bind(crate::time::now_db())
        .fetch_one(tx.conn())
        .await
        .map_err(|e| on_unique(e, format!("le lieu « {name} » existe déjà")))?;
    let venue = Venue {
        id,
        name: name.into(),
        main_site,
        city: city.into(),
    };
    tx.record(
        Change::new("venue.create", "venue", id).after(&venue),
        Some(Event::VenueCreated {
            venue_id: id,
            name: name.into(),
            main_site,
        }),
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// Creates a hall in a venue, or returns the existing one.
pub async fn ensure_hall(store: &Store, actor: &Actor, venue_id: i64, name: &str) -> Result<i64> {
    if let Some((id,)) = db::query_as::<(i64,)>("SELECT id FROM halls WHERE venue_id = $1 AND name = $2")
        .bind(venue_id)
        .bind(name)
        .fetch_optional(store.pool())
        .await?
    {
        return Ok(id);
    }
    let mut tx = store.write(actor).await?;
    let (id,): (i64,) = db::query_as("INSERT INTO halls (venue_id, name, created_at) VALUES ($1, $2, $3) RETURNING id")
        .bind(venue_id)
        .bind(name)
        .bind(crate::time::now_db())
        .fetch_one(tx.conn())
        .await?;
    tx.record(
        Change::new("hall.create", "hall", id).after(&serde_json::json!({ "venue_id": venue_id, "name": name })),
        Some(Event::HallCreated {
            hall_id: id,
            venue_id,
            name: name.into(),
        }),
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// Creates a layout of a hall, or returns the existing one. Numbered layouts start empty:
/// their seats come from [`crate::catalog::plans::import_plan`], which sets the capacity.
pub async fn ensure_layout(
    store: &Store,
    actor: &Actor,
    hall_id: i64,
    name: &str,
    numbered: bool,
    capacity: i64,
    pmr_places: i64,
    is_template: bool,
) -> Result<i64> {
    if let Some((id,)) = db::query_as::<(i64,)>("SELECT id FROM layouts WHERE hall_id = $1 AND name = $2")
        .bind(hall_id)
        .bind(name)
        .fetch_optional(store.pool())
        .await?
    {
        return Ok(id);
    }
    if capacity < 0 || pmr_places < 0 || pmr_places > capacity.max(pmr_places) {
        return Err(CoreError::invalid("capacity", "jauge invalide"));
    }
    let capacity = if numbered { 0 } else { capacity };
    let mut tx = store.write(actor).await?;
    let (id,): (i64,) = db::query_as(
        "INSERT INTO layouts (hall_id, name, numbered, capacity, pmr_places, is_template, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
    )
    .bind(hall_id)
    .bind(name)
    .bind(numbered as i64)
    .bind(capacity)
    .bind(if numbered { 0 } else { pmr_places })
    .bind(is_template as i64)
    .bind(crate::time::now_db())
    .fetch_one(tx.conn())
    .await?;
    tx.record(
        Change::new("layout.create", "layout", id)
            .after(&serde_json::json!({ "hall_id": hall_id, "name": name, "numbered": numbered, "capacity": capacity })),
        Some(Event::LayoutCreated {
            layout_id: id,
            hall_id,
            name: name.into(),
            numbered,
            capacity,
        }),
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// Every hall layout, by venue, hall and layout name.
pub async fn list_hall_layouts(store: &Store) -> Result<Vec<HallLayout>> {
    let rows: Vec<(i64, String, String, i64, String, i64, i64, i64, i64)> = db::query_as(
        "SELECT h.id, h.name, v.name, l.id, l.name, l.numbered, l.capacity, l.pmr_places, l.is_template \
         FROM layouts l JOIN halls h ON h.id = l.hall_id JOIN venues v ON v.id = h.venue_id \
         ORDER BY v.main_site DESC, v.name, h.id, l.id",
    )
    .fetch_all(store.pool())
    .await?;
    Ok(rows
        .into_iter()
        .map(
            |(hall_id, hall_name, venue_name, layout_id, layout_name, numbered, capacity, pmr, tpl)| HallLayout {
                hall_id,
                hall_name,
                venue_name,
                layout_id,
                layout_name,
                numbered: flag(numbered),
                capacity,
                pmr_places: pmr,
                is_template: flag(tpl),
            },
        )
        .collect())
}

/// One layout.
pub async fn get_layout(store: &Store, layout_id: i64) -> Result<HallLayout> {
    list_hall_layouts(store)
        .await?
        .into_iter()
        .find(|l| l.layout_id == layout_id)
        .ok_or_else(|| CoreError::NotFound(format!("configuration de salle {layout_id}")))
}

/// Every venue.
pub async fn list_venues(store: &Store) -> Result<Vec<Venue>> {
    let rows: Vec<(i64, String, i64, String)> = db::query_as("SELECT id, name, main_site, city FROM venues ORDER BY main_site DESC, name")
        .fetch_all(store.pool())
        .await?;
    Ok(rows
        .into_iter()
        .map(|(id, name, m, city)| Venue {
            id,
            name,
            main_site: flag(m),
            city,
        })
        .collect())
}
