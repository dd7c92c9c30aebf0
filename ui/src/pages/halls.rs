//! Admin page listing venues, halls and their layouts with capacities.

use super::{page, page_err};
use crate::auth::perm::{CatalogRead, Page};
use crate::error::AppResult;
use crate::SharedState;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use minijinja::context;
use parterre_core::catalog::venues;

pub(super) fn router() -> axum::Router<SharedState> {
    Router::new().route("/admin/halls", get(list))
}

async fn list(State(state): State<SharedState>, user: Page<CatalogRead>) -> AppResult<Response> {
    let halls = venues::list_hall_layouts(&state.store).await.map_err(page_err)?;
    page(&user, "/admin/shows", "admin/halls.html", context! { halls })
}
