//! Admin page for the price grid by show category, price categories and products.

use super::{done, page, page_err, FormData};
use crate::auth::PageUser;
use crate::error::{AppError, AppResult};
use crate::SharedState;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Form, Router};
use minijinja::context;
use parterre_core::auth::permissions::{CATALOG_EDIT, CATALOG_READ};
use parterre_core::catalog::{self, prices, seasons};
use parterre_core::{time, Money};
use std::collections::HashMap;

pub(super) fn router() -> axum::Router<SharedState> {
    Router::new()
        .route("/admin/prices", get(show).post(set_price))
        .route("/admin/seasons/{id}/carry-over", post(carry_over))
}

const AREA: &str = "/admin/shows";

async fn show(State(state): State<SharedState>, user: PageUser, Query(q): Query<HashMap<String, String>>) -> AppResult<Response> {
    user.require(&state, CATALOG_READ, "/admin/prices").await?;
    let store = &state.store;
    let all = seasons::list_seasons(store).await.map_err(page_err)?;
    let wanted = q.get("season").and_then(|s| s.parse::<i64>().ok());
    let current = seasons::season_for(store, time::today_paris()).await.map_err(page_err)?;
    let season = match wanted {
        Some(id) => all.iter().find(|s| s.id == id).cloned(),
        None => current.or_else(|| all.first().cloned()),
    }
    .ok_or_else(|| {
        AppError::page(
            StatusCode::NOT_FOUND,
            "aucune saison : chargez la démonstration ou créez une saison",
        )
    })?;
    let cats = prices::list_price_categories(store).await.map_err(page_err)?;
    let grid = prices::grid(store, season.id).await.map_err(page_err)?;
    let rows: Vec<_> = cats
        .iter()
        .map(|c| {
            let cells: Vec<Option<i64>> = catalog::TIERS
                .iter()
                .map(|t| {
                    grid.iter()
                        .find(|g| g.tier == *t && g.price_category_id == c.id)
                        .map(|g| g.amount.0)
                })
                .collect();
            context! { id => c.id, name => c.name, needs_proof => c.needs_proof, cells }
        })
        .collect();
    let products: Vec<_> = prices::list_products(store, Some(season.id))
        .await
        .map_err(page_err)?
        .into_iter()
        .map(|p| {
            context! {
                name => p.name, kind_label => catalog::label_of(catalog::PRODUCT_KINDS, &p.kind), size => p.size,
                price => p.price.map(|m| m.0), reduced_price => p.reduced_price.map(|m| m.0), vat_rate_bp => p.vat_rate_bp,
            }
        })
        .collect();
    page(
        &user,
        AREA,
        "admin/prices.html",
        context! { season, tiers => catalog::TIERS, grid => rows, products, can_edit => user.user.can(CATALOG_EDIT), error => q.get("erreur") },
    )
}

async fn set_price(State(state): State<SharedState>, user: PageUser, Form(form): Form<Vec<(String, String)>>) -> AppResult<Response> {
    user.require(&state, CATALOG_EDIT, "/admin/prices").await?;
    let form = FormData(form);
    user.check_csrf(form.csrf())?;
    let mut errors = parterre_core::FieldErrors::new();
    let season_id = form.int("season_id", &mut errors).unwrap_or(0);
    let pc = form.int("price_category_id", &mut errors).unwrap_or(0);
    let back = |msg: &str| done(&format!("/admin/prices?season={season_id}&erreur={}", crate::auth::urlencode(msg)));
    let Some(amount) = form.get("amount").and_then(Money::parse) else {
        return Ok(back("prix invalide : saisissez un montant en euros, par exemple 12,50"));
    };
    match prices::set_grid_price(&state.store, &user.user.actor(), season_id, &form.text("tier"), pc, amount).await {
        Ok(()) => Ok(done(&format!("/admin/prices?season={season_id}"))),
        Err(e @ parterre_core::CoreError::Invalid(_)) => Ok(back(&e.to_string())),
        Err(e) => Err(page_err(e)),
    }
}

async fn carry_over(
    State(state): State<SharedState>,
    user: PageUser,
    Path(id): Path<i64>,
    Form(form): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    user.require(&state, CATALOG_EDIT, "/admin/seasons/{id}/carry-over").await?;
    user.check_csrf(FormData(form).csrf())?;
    let result = seasons::carry_over(&state.store, &user.user.actor(), id, true)
        .await
        .map_err(page_err)?;
    Ok(done(&format!("/admin/prices?season={}", result.season_id)))
}
