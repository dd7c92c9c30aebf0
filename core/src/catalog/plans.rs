//! Seat plans of numbered layouts: import with validation, and reading for drawing.
//!
//! A plan file is a `;`-separated CSV (the way Excel writes it in France), one seat per line:
//! `rang;numero;cote;zone;pmr;x;y`. A plan with two seats of the same label is refused whole.

use crate::db;
use crate::error::{CoreError, Result};
use crate::events::Event;
use crate::store::{flag, Actor, Change, Store};
use std::collections::HashMap;

/// A seat as described in a plan, before import.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SeatSpec {
    /// Row label (`A`, `Q`, `3`…).
    pub row: String,
    /// Seat number in the row.
    pub number: i64,
    /// Side of the centre aisle (`impair` / `pair`, or `centre`).
    pub side: String,
    /// Zone (`parterre`, `balcon`…), used for pricing and filters.
    pub zone: String,
    /// Wheelchair place.
    pub pmr: bool,
    /// Drawing position (arbitrary units, y downwards from the stage).
    pub x: i64,
    /// Drawing position.
    pub y: i64,
}

impl SeatSpec {
    /// The seat's label as printed on tickets: `C 12`.
    pub fn label(&self) -> String {
        format!("{} {}", self.row, self.number)
    }
}

/// A stored seat.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Seat {
    /// Id.
    pub id: i64,
    /// Its description.
    #[serde(flatten)]
    pub spec: SeatSpec,
}

/// Parses a plan CSV. Errors name the line.
pub fn parse_plan_csv(text: &str) -> Result<Vec<SeatSpec>> {
    let mut seats = Vec::new();
    for (i, raw) in text.trim_start_matches('\u{feff}').lines().enumerate() {
        let line_no = i + 1;
        let line = raw.trim();
        if line.is_empty() || (i == 0 && line.to_lowercase().starts_with("rang")) {
            continue;
        }
        let cols: Vec<&str> = line.split(';').map(str::trim).collect();
        if cols.len() != 7 {
            return Err(CoreError::invalid(
                "plan",
                format!(
                    "ligne {line_no} : 7 colonnes attendues (rang;numero;cote;zone;pmr;x;y), {} trouvées",
                    cols.len()
                ),
            ));
        }
        let int = |s: &str, what: &str| {
            s.parse::<i64>()
                .map_err(|_| CoreError::invalid("plan", format!("ligne {line_no} : {what} « {s} » n'est pas un nombre entier")))
        };
        if cols[0].is_empty() {
            return Err(CoreError::invalid("plan", format!("ligne {line_no} : rang manquant")));
        }
        seats.push(SeatSpec {
            row: cols[0].to_string(),
            number: int(cols[1], "numéro")?,
            side: cols[2].to_string(),
            zone: cols[3].to_string(),
            pmr: matches!(cols[4].to_lowercase().as_str(), "1" | "oui" | "o" | "x" | "pmr" | "true"),
            x: int(cols[5], "x")?,
            y: int(cols[6], "y")?,
        });
    }
    Ok(seats)
}

/// Checks a plan: not empty, positive numbers, no seat label twice.
pub fn validate_plan(seats: &[SeatSpec]) -> Result<()> {
    if seats.is_empty() {
        return Err(CoreError::invalid("plan", "le plan ne contient aucun siège"));
    }
    let mut seen: HashMap<(String, i64), usize> = HashMap::new();
    for (i, s) in seats.iter().enumerate() {
        if s.number <= 0 {
            return Err(CoreError::invalid("plan", format!("siège {} : numéro invalide", s.label())));
        }
        if let Some(first) = seen.insert((s.row.clone(), s.number), i) {
            return Err(CoreError::invalid(
                "plan",
                format!(
                    "siège en double : {} (sièges n° {} et {} du plan) ; import refusé",
                    s.label(),
                    first + 1,
                    i + 1
                ),
            ));
        }
    }
    Ok(())
}

/// Imports the seats of a numbered layout, replacing none: a layout's plan is set once, then
/// copied into a new layout for changes (plans of past performances must stay viewable).
pub async fn import_plan(store: &Store, actor: &Actor, layout_id: i64, seats: &[SeatSpec]) -> Result<i64> {
    validate_plan(seats)?;
    let layout = super::venues::get_layout(store, layout_id).await?;
    if !layout.numbered {
        return Err(CoreError::invalid(
            "plan",
            "cette configuration est en placement libre : pas de plan de sièges",
        ));
    }
    let mut tx = store.write(actor).await?;
    let (existing,): (i64,) = db::query_as("SELECT COUNT(*) FROM seats WHERE layout_id = $1")
        .bind(layout_id)
        .fetch_one(tx.conn())
        .await?;
    if existing > 0 {
        return Err(CoreError::Conflict(format!(
            "la configuration « {} » a déjà un plan de {existing} sièges ; créez une nouvelle configuration",
            layout.layout_name
        )));
    }
    for s in seats {
        db::query("INSERT INTO seats (layout_id, row_label, number, side, zone, pmr, x, y) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")
            .bind(layout_id)
            .bind(&s.row)
            .bind(s.number)
            .bind(&s.side)
            .bind(&s.zone)
            .bind(s.pmr as i64)
            .bind(s.x)
            .bind(s.y)
            .execute(tx.conn())
            .await?;
    }
    let count = seats.len() as i64;
    let pmr = seats.iter().filter(|s| s.pmr).count() as i64;
    db::query("UPDATE layouts SET capacity = $1, pmr_places = $2 WHERE id = $3")
        .bind(count)
        .bind(pmr)
        .bind(layout_id)
        .execute(tx.conn())
        .await?;
    tx.record(
        Change::new("plan.import", "layout", layout_id).after(&serde_json::json!({ "seats": count, "pmr_places": pmr })),
        Some(Event::SeatPlanImported {
            layout_id,
            seats: count,
            pmr_places: pmr,
        }),
    )
    .await?;
    tx.commit().await?;
    Ok(count)
}

/// The seats of a layout, by row position then number (cached once the plan exists).
pub async fn seats(store: &Store, layout_id: i64) -> Result<Vec<Seat>> {
    Ok(seats_shared(store, layout_id).await?.as_ref().clone())
}

/// The seats of a layout, shared without copying.
pub async fn seats_shared(store: &Store, layout_id: i64) -> Result<std::sync::Arc<Vec<Seat>>> {
    if let Some(cached) = store.cached_plan(layout_id) {
        return Ok(cached);
    }
    let rows: Vec<(i64, String, i64, String, String, i64, i64, i64)> =
        db::query_as("SELECT id, row_label, number, side, zone, pmr, x, y FROM seats WHERE layout_id = $1 ORDER BY y, x, id")
            .bind(layout_id)
            .fetch_all(store.pool())
            .await?;
    let seats: Vec<Seat> = rows
        .into_iter()
        .map(|(id, row, number, side, zone, pmr, x, y)| Seat {
            id,
            spec: SeatSpec {
                row,
                number,
                side,
                zone,
                pmr: flag(pmr),
                x,
                y,
            },
        })
        .collect();
    let shared = std::sync::Arc::new(seats);
    if !shared.is_empty() {
        store.cache_plan(layout_id, shared.clone());
    }
    Ok(shared)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_french_csv_with_bom_and_header() {
        let text = "\u{feff}rang;numero;cote;zone;pmr;x;y\nA;1;impair;parterre;oui;10;20\nA;2;pair;parterre;0;30;20\n";
        let seats = parse_plan_csv(text).unwrap();
        assert_eq!(seats.len(), 2);
        assert!(seats[0].pmr);
        assert_eq!(seats[1].label(), "A 2");
    }

    #[test]
    fn duplicate_labels_are_refused_with_their_name() {
        let seats = parse_plan_csv("A;1;impair;p;0;0;0\nB;1;impair;p;0;0;10\nA;1;impair;p;0;5;0").unwrap();
        let err = validate_plan(&seats).unwrap_err().to_string();
        assert!(err.contains("siège en double : A 1"), "{err}");
    }

    #[test]
    fn bad_lines_are_named() {
        let err = parse_plan_csv("A;un;impair;p;0;0;0").unwrap_err().to_string();
        assert!(err.contains("ligne 1") && err.contains("« un »"), "{err}");
        assert!(validate_plan(&[]).is_err());
    }
}
