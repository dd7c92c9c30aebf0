//! What each printed ticket of an order says (R-6.2, regulations §2): the mentions French law
//! requires (operator, show and séance, seat or « Placement libre », price category, price,
//! ticket number, date of sale), the venue's licences and terms (settings `venue.licences`,
//! `venue.terms`) and the signed access code. Drawing the page is `parterre_reports`' job; the
//! facts are gathered here, with the store, so no other crate reads seats or settings itself.

use super::orders;
use super::TicketStatus;
use crate::access::{TicketClaim, TicketSigner};
use crate::auth::users;
use crate::catalog::{performances, plans, prices, venues};
use crate::error::Result;
use crate::store::Store;
use crate::time;
use chrono::Datelike;

/// Licence numbers printed when the venue has not set its own.
pub const DEFAULT_LICENCES: &str = "Licences d'entrepreneur de spectacles : PLATESV-R-2026-000001 (cat. 1), PLATESV-R-2026-000002 (cat. 2), PLATESV-R-2026-000003 (cat. 3)";
/// Terms printed when the venue has not set its own.
pub const DEFAULT_TERMS: &str = "Billet ni repris ni échangé, sauf annulation du spectacle ou échange au guichet selon les conditions générales de vente. \
     Toute revente à un prix supérieur au prix imprimé est interdite (loi du 12 mars 2012). Les retardataires sont placés selon les possibilités de la salle. \
     Présentez ce billet (papier ou écran) au contrôle : son code est vérifié à l'entrée.";

const WEEKDAYS: [&str; 7] = ["lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"];

/// Everything printed on one ticket (French mentions, arrêté du 8 mars 1993 / CGI ann. IV art. 50 sexies B).
#[derive(Debug, Clone)]
pub struct TicketPrint {
    /// Organiser / venue (the « exploitant »).
    pub venue_name: String,
    /// "Licences d'entrepreneur de spectacles : L-R-21-001234 …".
    pub licences: String,
    /// Title of the show.
    pub show_name: String,
    /// Already formatted Paris time, "samedi 03/10/2026 20:30".
    pub starts_at: String,
    /// Hall of the venue.
    pub hall: String,
    /// "Rang C n° 12 (côté impair)"; `None` prints « Placement libre ».
    pub seat: Option<String>,
    /// Seat or price category, "Plein tarif".
    pub price_category: String,
    /// Formatted price, "33,00 €"; « Gratuité » is printed instead when `amount_cents` is zero.
    pub amount: String,
    /// The price paid, in cents.
    pub amount_cents: i64,
    /// Order number.
    pub order_number: String,
    /// Ticket number (the « numéro d'ordre »).
    pub ticket_number: String,
    /// Who sold it.
    pub operator: String,
    /// "Guichet", "Téléphone", "Web".
    pub channel: String,
    /// Date of sale, formatted ("23/11/2026"): advance sales must show it.
    pub sold_at: String,
    /// Spectator name, when known.
    pub spectator: Option<String>,
    /// Payload of the QR code (uppercase base32).
    pub qr_text: String,
    /// Terms of sale, printed small at the bottom ("back" of the ticket).
    pub terms: String,
}

/// `samedi 03/10/2026 20:30`, Paris time.
pub fn long_date(t: chrono::DateTime<chrono::Utc>) -> String {
    let local = t.with_timezone(&time::VENUE_TZ);
    format!(
        "{} {}",
        WEEKDAYS[local.weekday().num_days_from_monday() as usize],
        time::display_paris(t)
    )
}

/// `Rang C n° 12 (côté impair)`, or without the side when the plan gives none.
pub fn seat_line(row: &str, number: i64, side: &str) -> String {
    if side.is_empty() {
        format!("Rang {row} n° {number}")
    } else {
        format!("Rang {row} n° {number} (côté {side})")
    }
}

/// The tickets of an order that admit someone, in order, each with its signed current code.
/// Cancelled, refunded and exchanged tickets are not printed (their codes are revoked).
pub async fn order_tickets(store: &Store, signer: &TicketSigner, order_id: i64) -> Result<Vec<TicketPrint>> {
    let order = orders::get_order(store, order_id).await?;
    let cats = prices::list_price_categories(store).await?;
    let products = prices::list_products(store, None).await?;
    let venue_name = venues::list_venues(store)
        .await?
        .into_iter()
        .find(|v| v.main_site)
        .map(|v| v.name)
        .unwrap_or_else(|| "Parterre".into());
    let licences = store.setting("venue.licences").await?.unwrap_or_else(|| DEFAULT_LICENCES.into());
    let terms = store.setting("venue.terms").await?.unwrap_or_else(|| DEFAULT_TERMS.into());
    let operator = match order.operator_id {
        Some(id) => users::get_user(store, id)
            .await
            .map(|u| u.display_name)
            .unwrap_or_else(|_| "—".into()),
        None => "vente en ligne".into(),
    };
    let sold_at = time::from_db(&order.created_at)
        .map(|t| time::display_date(t.with_timezone(&time::VENUE_TZ).date_naive()))
        .unwrap_or_default();
    let mut prints = Vec::new();
    for t in order.tickets.iter().filter(|t| t.status == TicketStatus::Valid) {
        let perf = performances::get_performance(store, t.performance_id).await?;
        let seat = match &t.seat {
            Some((id, row, n)) => {
                let plan = plans::seats_shared(store, perf.layout_id).await?;
                let side = plan.iter().find(|s| s.id == *id).map(|s| s.spec.side.as_str()).unwrap_or("");
                Some(seat_line(row, *n, side))
            }
            None => None,
        };
        let mut category = t
            .price_category_id
            .and_then(|id| cats.iter().find(|c| c.id == id))
            .map(|c| c.name.clone())
            .unwrap_or_default();
        if let Some(p) = t.product_id.and_then(|id| products.iter().find(|p| p.id == id)) {
            category = format!("{} — {category}", p.name);
        }
        let qr_text = signer.sign(&TicketClaim {
            ticket_id: t.id,
            performance_id: t.performance_id,
            seat_id: t.seat.as_ref().map(|s| s.0),
            barcode_version: u32::try_from(t.barcode_version).unwrap_or(u32::MAX),
        })?;
        prints.push(TicketPrint {
            venue_name: venue_name.clone(),
            licences: licences.clone(),
            show_name: perf.show_name.clone(),
            starts_at: long_date(perf.starts_at),
            hall: format!("{} — {}", perf.hall_name, perf.layout_name),
            seat,
            price_category: category,
            amount: t.amount.display_fr(),
            amount_cents: t.amount.as_cents(),
            order_number: order.number.clone(),
            ticket_number: t.number.clone(),
            operator: operator.clone(),
            channel: order.channel.label().to_string(),
            sold_at: sold_at.clone(),
            spectator: (!t.spectator.is_empty()).then(|| t.spectator.clone()),
            qr_text,
            terms: terms.clone(),
        });
    }
    Ok(prints)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seat_lines_name_the_side_only_when_the_plan_has_one() {
        assert_eq!(seat_line("C", 12, "impair"), "Rang C n° 12 (côté impair)");
        assert_eq!(seat_line("AA", 3, ""), "Rang AA n° 3");
    }

    #[test]
    fn dates_are_spelled_in_paris_time() {
        let t = chrono::DateTime::parse_from_rfc3339("2026-10-03T18:30:00Z")
            .unwrap()
            .with_timezone(&chrono::Utc);
        assert_eq!(long_date(t), "samedi 03/10/2026 20:30");
    }
}
