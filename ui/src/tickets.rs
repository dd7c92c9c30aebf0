//! Assembles printable tickets (R-6.2, regulations §2) from an order: mentions, signed QR
//! code, and the venue's licence numbers and terms (settings `venue.licences`, `venue.terms`).

use crate::error::{AppError, AppResult};
use crate::AppState;
use axum::http::StatusCode;
use chrono::Datelike;
use parterre_core::access::TicketClaim;
use parterre_core::auth::users;
use parterre_core::catalog::{performances, prices, venues};
use parterre_core::db;
use parterre_core::sales::orders;
use parterre_core::time;
use parterre_reports::tickets::{render_tickets, TicketPrint};

/// Licence numbers printed when the venue has not set its own.
pub const DEFAULT_LICENCES: &str = "Licences d'entrepreneur de spectacles : PLATESV-R-2026-000001 (cat. 1), PLATESV-R-2026-000002 (cat. 2), PLATESV-R-2026-000003 (cat. 3)";
/// Terms printed when the venue has not set its own.
pub const DEFAULT_TERMS: &str = "Billet ni repris ni échangé, sauf annulation du spectacle ou échange au guichet selon les conditions générales de vente. \
     Toute revente à un prix supérieur au prix imprimé est interdite (loi du 12 mars 2012). Les retardataires sont placés selon les possibilités de la salle. \
     Présentez ce billet (papier ou écran) au contrôle : son code est vérifié à l'entrée.";

const WEEKDAYS: [&str; 7] = ["lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"];

/// `samedi 03/10/2026 20:30`, Paris time.
pub fn long_date(t: chrono::DateTime<chrono::Utc>) -> String {
    let local = t.with_timezone(&time::VENUE_TZ);
    format!(
        "{} {}",
        WEEKDAYS[local.weekday().num_days_from_monday() as usize],
        time::display_paris(t)
    )
}

fn channel_label(c: &str) -> &str {
    parterre_core::sales::CHANNELS
        .iter()
        .find(|(k, _)| *k == c)
        .map(|(_, l)| *l)
        .unwrap_or(c)
}

/// The PDF of an order's valid tickets, one per page.
pub async fn order_pdf(state: &AppState, order_id: i64) -> AppResult<Vec<u8>> {
    let store = &state.store;
    let order = orders::get_order(store, order_id).await?;
    let signer = state.ticket_signer().await?;
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
    for t in order.tickets.iter().filter(|t| t.status == "valid") {
        let perf = performances::get_performance(store, t.performance_id).await?;
        let seat_side: Option<(String,)> = match &t.seat {
            Some((id, _, _)) => db::query_as("SELECT side FROM seats WHERE id = $1")
                .bind(id)
                .fetch_optional(store.pool())
                .await
                .map_err(parterre_core::CoreError::from)?,
            None => None,
        };
        let seat = t.seat.as_ref().map(|(_, row, n)| match &seat_side {
            Some((side,)) if !side.is_empty() => format!("Rang {row} n° {n} (côté {side})"),
            _ => format!("Rang {row} n° {n}"),
        });
        let mut category = t
            .price_category_id
            .and_then(|id| cats.iter().find(|c| c.id == id))
            .map(|c| c.name.clone())
            .unwrap_or_default();
        if let Some(p) = t.product_id.and_then(|id| products.iter().find(|p| p.id == id)) {
            category = format!("{} — {category}", p.name);
        }
        let qr_text = signer
            .sign(&TicketClaim {
                ticket_id: t.id,
                performance_id: t.performance_id,
                seat_id: t.seat.as_ref().map(|s| s.0),
                barcode_version: t.barcode_version as u32,
            })
            .map_err(|e| AppError::api(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
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
            channel: channel_label(&order.channel).to_string(),
            sold_at: sold_at.clone(),
            spectator: (!t.spectator.is_empty()).then(|| t.spectator.clone()),
            qr_text,
            terms: terms.clone(),
        });
    }
    render_tickets(&prints).map_err(|e| AppError::api(StatusCode::CONFLICT, e.to_string()))
}
