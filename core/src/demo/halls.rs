//! The demo venue's halls with their exact capacities and row naming.

use crate::catalog::{plans, venues, SeatSpec};
use crate::error::Result;
use crate::store::{Actor, Store};

/// Ids of the demo layouts, for scheduling.
#[derive(Debug, Clone, Copy)]
pub struct DemoHalls {
    /// Grande salle, numbered (843).
    pub grande_numbered: i64,
    /// Black Box frontal, numbered (303).
    pub bb_frontal: i64,
    /// Black Box bi-frontal, free (400).
    pub bb_bifrontal: i64,
    /// Black Box standing, free (1,200).
    pub bb_standing: i64,
    /// René Gonzalez, free (99).
    pub gonzalez: i64,
    /// Circus tent template, free.
    pub chapiteau: i64,
    /// Partner venue off-site, free.
    pub partner: i64,
}

/// Seats per row of the Grande salle: stalls A–P, then Q–Z and 1–7 upstairs; 843 in all.
pub fn grande_salle_rows() -> Vec<(String, i64, &'static str)> {
    let mut rows = Vec::new();
    for (i, c) in ('A'..='P').enumerate() {
        let n = 24 + 2 * (i.min(4) as i64);
        rows.push((c.to_string(), n, "parterre"));
    }
    for c in 'Q'..='Z' {
        rows.push((c.to_string(), 22, "balcon"));
    }
    for r in 1..=7 {
        rows.push((r.to_string(), if r == 7 { 17 } else { 19 }, "balcon"));
    }
    rows
}

/// Seats per row of the Black Box frontal layout: rows A–N, 303 in all.
pub fn black_box_rows() -> Vec<(String, i64, &'static str)> {
    ('A'..='N')
        .map(|c| (c.to_string(), if c == 'N' { 17 } else { 22 }, "gradin"))
        .collect()
}

/// Builds a plan with French odd/even numbering from the centre aisle: odd numbers on the
/// left (côté impair), even on the right (côté pair), 1 and 2 nearest the aisle.
/// `pmr_rows` rows get their two outermost seats flagged as wheelchair places.
pub fn odd_even_plan(rows: &[(String, i64, &'static str)], pmr_rows: &[&str]) -> Vec<SeatSpec> {
    let mut seats = Vec::new();
    let mut y = 0;
    let mut last_zone = "";
    for (row, n, zone) in rows {
        if !last_zone.is_empty() && *zone != last_zone {
            y += 30; // gap between stalls and balcony
        }
        last_zone = zone;
        let odd = (n + 1) / 2;
        let even = n / 2;
        for k in 0..odd {
            let outermost = k == odd - 1;
            seats.push(SeatSpec {
                row: row.clone(),
                number: 2 * k + 1,
                side: "impair".into(),
                zone: zone.to_string(),
                pmr: outermost && pmr_rows.contains(&row.as_str()),
                x: 500 - 12 - 20 * k,
                y,
            });
        }
        for k in 0..even {
            let outermost = k == even - 1;
            seats.push(SeatSpec {
                row: row.clone(),
                number: 2 * k + 2,
                side: "pair".into(),
                zone: zone.to_string(),
                pmr: outermost && pmr_rows.contains(&row.as_str()),
                x: 500 + 12 + 20 * k,
                y,
            });
        }
        y += 22;
    }
    seats
}

async fn numbered(store: &Store, actor: &Actor, hall: i64, name: &str, plan: Vec<SeatSpec>) -> Result<i64> {
    let layout = venues::ensure_layout(store, actor, hall, name, true, 0, 0, false).await?;
    if plans::seats(store, layout).await?.is_empty() {
        plans::import_plan(store, actor, layout, &plan).await?;
    }
    Ok(layout)
}

/// Creates (or finds) the demo venues, halls and layouts.
pub async fn ensure_halls(store: &Store, actor: &Actor) -> Result<DemoHalls> {
    let main = venues::ensure_venue(store, actor, "Scène nationale – site principal", true, "Lieusaint").await?;
    let grande = venues::ensure_hall(store, actor, main, "Grande salle").await?;
    let grande_numbered = numbered(
        store,
        actor,
        grande,
        "Numérotée",
        odd_even_plan(&grande_salle_rows(), &["A", "P", "Q"]),
    )
    .await?;
    venues::ensure_layout(store, actor, grande, "Placement libre", false, 843, 6, false).await?;
    let bb = venues::ensure_hall(store, actor, main, "Black Box").await?;
    let bb_frontal = numbered(store, actor, bb, "Frontal", odd_even_plan(&black_box_rows(), &["A", "N"])).await?;
    let bb_bifrontal = venues::ensure_layout(store, actor, bb, "Bi-frontal", false, 400, 6, false).await?;
    let bb_standing = venues::ensure_layout(store, actor, bb, "Debout", false, 1200, 10, false).await?;
    let rg = venues::ensure_hall(store, actor, main, "Salle René Gonzalez").await?;
    let gonzalez = venues::ensure_layout(store, actor, rg, "Placement libre", false, 99, 3, false).await?;
    let tent_site = venues::ensure_venue(store, actor, "Chapiteau – parc de la Mairie", false, "Combs-la-Ville").await?;
    let tent = venues::ensure_hall(store, actor, tent_site, "Chapiteau").await?;
    let chapiteau = venues::ensure_layout(store, actor, tent, "Gabarit chapiteau", false, 500, 6, true).await?;
    let partner_site = venues::ensure_venue(store, actor, "Salle des fêtes de Moissy-Cramayel", false, "Moissy-Cramayel").await?;
    let partner_hall = venues::ensure_hall(store, actor, partner_site, "Salle des fêtes").await?;
    let partner = venues::ensure_layout(store, actor, partner_hall, "Placement libre", false, 250, 4, true).await?;
    Ok(DemoHalls {
        grande_numbered,
        bb_frontal,
        bb_bifrontal,
        bb_standing,
        gonzalez,
        chapiteau,
        partner,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::plans::validate_plan;

    #[test]
    fn grande_salle_has_843_seats_in_33_rows() {
        let rows = grande_salle_rows();
        assert_eq!(rows.len(), 33);
        assert_eq!(rows.iter().map(|r| r.1).sum::<i64>(), 843);
        assert_eq!(rows[0].0, "A");
        assert_eq!(rows[15].0, "P");
        assert_eq!(rows[16].0, "Q");
        assert_eq!(rows[32].0, "7");
        let plan = odd_even_plan(&rows, &["A"]);
        assert_eq!(plan.len(), 843);
        validate_plan(&plan).unwrap();
        // Row A: 24 seats, odd 1..23 on the left, even 2..24 on the right.
        let a: Vec<_> = plan.iter().filter(|s| s.row == "A").collect();
        assert_eq!(a.len(), 24);
        assert!(a.iter().filter(|s| s.side == "impair").all(|s| s.number % 2 == 1 && s.x < 500));
        assert!(a.iter().filter(|s| s.side == "pair").all(|s| s.number % 2 == 0 && s.x > 500));
        assert_eq!(plan.iter().filter(|s| s.pmr).count(), 2);
    }

    #[test]
    fn black_box_frontal_has_303_seats_rows_a_to_n() {
        let rows = black_box_rows();
        assert_eq!(rows.len(), 14);
        assert_eq!(rows.iter().map(|r| r.1).sum::<i64>(), 303);
        validate_plan(&odd_even_plan(&rows, &[])).unwrap();
    }
}
