//! The PDF of an order's printable tickets: the core gathers what each ticket says and signs
//! its code (`parterre_core::sales::printing`), the reports crate draws the pages.

use crate::error::{AppError, AppResult};
use crate::AppState;
use axum::http::StatusCode;
use parterre_core::sales::printing;
use parterre_reports::tickets::render_tickets;

/// The PDF of an order's valid tickets, one per page.
pub async fn order_pdf(state: &AppState, order_id: i64) -> AppResult<Vec<u8>> {
    let signer = state.ticket_signer().await?;
    let prints = printing::order_tickets(&state.store, &signer, order_id).await?;
    render_tickets(&prints).map_err(|e| AppError::api(StatusCode::CONFLICT, e.to_string()))
}
