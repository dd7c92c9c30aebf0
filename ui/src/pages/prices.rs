//! Admin page for the price grid by show category, price categories and products.

use super::{done, page_err, FormData};
use crate::auth::perm::{CatalogEdit, CatalogRead, Page};
use crate::auth::PageUser;
use crate::error::{AppError, AppResult};
use crate::extract::{Path, Query};
use crate::SharedState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Form, Router};
use minijinja::context;
use parterre_core::auth::permissions::CATALOG_EDIT;
use parterre_core::catalog::{self, prices, seasons};
use parterre_core::{time, Money};
use std::collections::HashMap;

pub(super) fn router() -> axum::Router<SharedState> {
    Router::new()
        .route("/admin/prices", get(show).post(set_price))
        .route("/admin/price-categories", post(create_category))
        .route("/admin/products", post(create_product))
        .route("/admin/seasons/{id}/carry-over", post(carry_over))
}

const AREA: &str = "/admin/shows";

async fn show(State(state): State<SharedState>, user: Page<CatalogRead>, Query(q): Query<HashMap<String, String>>) -> AppResult<Response> {
    let wanted = q.get("season").and_then(|s| s.parse::<i64>().ok());
    let extra = context! { error => q.get("erreur") };
    prices_page(&state, &user, wanted, extra, StatusCode::OK).await
}

/// The prices page; `extra` carries a form's errors and typed values.
async fn prices_page(
    state: &SharedState,
    user: &PageUser,
    wanted: Option<i64>,
    extra: minijinja::Value,
    status: StatusCode,
) -> AppResult<Response> {
    let store = &state.store;
    let all = seasons::list_seasons(store).await.map_err(page_err)?;
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
            let cells: Vec<Option<i64>> = catalog::Tier::ALL
                .iter()
                .map(|t| {
                    grid.iter()
                        .find(|g| g.tier == *t && g.price_category_id == c.id)
                        .map(|g| g.amount.as_cents())
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
                price => p.price.map(|m| m.as_cents()), reduced_price => p.reduced_price.map(|m| m.as_cents()), vat_rate_bp => p.vat_rate_bp,
            }
        })
        .collect();
    let kinds: Vec<(String, String)> = catalog::PRODUCT_KINDS.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect();
    let empty = std::collections::BTreeMap::<String, String>::new();
    let ctx = context! {
        season, tiers => catalog::Tier::ALL, grid => rows, products, kinds, can_edit => user.user.can(CATALOG_EDIT),
        pcf => empty.clone(), prf => empty.clone(), pc_errors => empty.clone(), pr_errors => empty,
    };
    super::page_with_status(user, AREA, "admin/prices.html", context! { ..extra, ..ctx }, status)
}

async fn create_category(
    State(state): State<SharedState>,
    user: Page<CatalogEdit>,
    Form(form): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    let form = FormData(form);
    user.check_csrf(form.csrf())?;
    let mut errors = parterre_core::FieldErrors::new();
    let season_id = form.int("season_id", &mut errors);
    let sort = prices::list_price_categories(&state.store).await.map_err(page_err)?.len() as i64;
    let (code, name) = (form.text("code"), form.text("name"));
    match prices::create_price_category(&state.store, &user.user.actor(), &code, &name, form.flag("needs_proof"), sort).await {
        Ok(_) => Ok(done(&format!("/admin/prices?season={}", season_id.unwrap_or(0)))),
        Err(parterre_core::CoreError::Invalid(e)) => {
            let extra = context! { pc_errors => e.0, pcf => context! { code, name, needs_proof => form.flag("needs_proof") } };
            prices_page(&state, &user, season_id, extra, StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(parterre_core::CoreError::Conflict(msg)) => {
            let extra =
                context! { pc_errors => context! { code => msg }, pcf => context! { code, name, needs_proof => form.flag("needs_proof") } };
            prices_page(&state, &user, season_id, extra, StatusCode::CONFLICT).await
        }
        Err(e) => Err(page_err(e)),
    }
}

async fn create_product(
    State(state): State<SharedState>,
    user: Page<CatalogEdit>,
    Form(form): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    let form = FormData(form);
    user.check_csrf(form.csrf())?;
    let mut errors = parterre_core::FieldErrors::new();
    let season_id = form.int("season_id", &mut errors).unwrap_or(0);
    let size = form.int("size", &mut errors);
    let mut money = |field: &str| match form.get(field) {
        None => None,
        Some(v) => {
            let m = Money::parse(v);
            if m.is_none() {
                errors.add(field, "montant invalide (ex. 12,50)");
            }
            m
        }
    };
    let price = money("price");
    let reduced_price = money("reduced_price");
    let vat = parterre_core::money::vat_parse(form.get("vat_rate").unwrap_or("5,5"));
    if vat.is_none() {
        errors.add("vat_rate", "taux de TVA invalide (ex. 5,5)");
    }
    let input = prices::ProductInput {
        code: form.text("code"),
        name: form.text("name"),
        kind: form.text("kind"),
        size,
        price,
        reduced_price,
        vat_rate_bp: vat.unwrap_or(0),
    };
    let result = if errors.is_empty() {
        prices::create_product(&state.store, &user.user.actor(), season_id, &input).await
    } else {
        Err(parterre_core::CoreError::Invalid(errors))
    };
    match result {
        Ok(_) => Ok(done(&format!("/admin/prices?season={season_id}"))),
        Err(parterre_core::CoreError::Invalid(e)) => product_errors(&state, &user, season_id, &form, e.0).await,
        Err(parterre_core::CoreError::Conflict(msg)) => {
            product_errors(&state, &user, season_id, &form, [("code".to_string(), msg)].into_iter().collect()).await
        }
        Err(e) => Err(page_err(e)),
    }
}

async fn product_errors(
    state: &SharedState,
    user: &PageUser,
    season_id: i64,
    form: &FormData,
    errors: std::collections::BTreeMap<String, String>,
) -> AppResult<Response> {
    let prf: HashMap<&str, String> = ["code", "name", "kind", "size", "price", "reduced_price", "vat_rate"]
        .into_iter()
        .map(|k| (k, form.text(k)))
        .collect();
    let extra = context! { pr_errors => errors, prf };
    prices_page(state, user, Some(season_id), extra, StatusCode::UNPROCESSABLE_ENTITY).await
}

async fn set_price(
    State(state): State<SharedState>,
    user: Page<CatalogEdit>,
    Form(form): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    let form = FormData(form);
    user.check_csrf(form.csrf())?;
    let mut errors = parterre_core::FieldErrors::new();
    let season_id = form.int("season_id", &mut errors).unwrap_or(0);
    let pc = form.int("price_category_id", &mut errors).unwrap_or(0);
    let back = |msg: &str| done(&format!("/admin/prices?season={season_id}&erreur={}", crate::auth::urlencode(msg)));
    let Some(amount) = form.get("amount").and_then(Money::parse) else {
        return Ok(back("prix invalide : saisissez un montant en euros, par exemple 12,50"));
    };
    let Some(tier) = catalog::Tier::parse(&form.text("tier")) else {
        return Ok(back(&format!(
            "catégorie de spectacle inconnue : choisissez {}",
            catalog::Tier::codes()
        )));
    };
    match prices::set_grid_price(&state.store, &user.user.actor(), season_id, tier, pc, amount).await {
        Ok(()) => Ok(done(&format!("/admin/prices?season={season_id}"))),
        Err(e @ parterre_core::CoreError::Invalid(_)) => Ok(back(&e.to_string())),
        Err(e) => Err(page_err(e)),
    }
}

async fn carry_over(
    State(state): State<SharedState>,
    user: Page<CatalogEdit>,
    Path(id): Path<i64>,
    Form(form): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    user.check_csrf(FormData(form).csrf())?;
    let result = seasons::carry_over(&state.store, &user.user.actor(), id, true)
        .await
        .map_err(page_err)?;
    Ok(done(&format!("/admin/prices?season={}", result.season_id)))
}
