//! Catalogue endpoints: halls, seasons, shows, performances, plans, prices, products.

use super::dto::*;
use crate::auth::perm::{Api, CatalogEdit, CatalogRead};
use crate::error::{ApiJson, AppError, AppResult};
use crate::extract::{Path, Query};
use crate::SharedState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use parterre_core::catalog::{performances, plans, prices, seasons, shows, venues, PerformanceInput, PerformanceQuery, ShowInput};
use parterre_core::time;
use serde::Deserialize;
use utoipa::IntoParams;

/// List halls: one entry per hall layout.
#[utoipa::path(get, path = "/api/v1/halls", tag = "catalogue",
    responses((status = 200, description = "Hall layouts", body = [HallDto]),
              (status = 401, description = "Not authenticated", body = ErrorBody),
              (status = 403, description = "Permission catalog.read missing", body = ErrorBody)))]
pub async fn list_halls(State(state): State<SharedState>, _: Api<CatalogRead>) -> AppResult<Json<Vec<HallDto>>> {
    Ok(Json(
        venues::list_hall_layouts(&state.store)
            .await?
            .into_iter()
            .map(HallDto::from)
            .collect(),
    ))
}

/// Filters of `GET /api/v1/shows`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ShowFilter {
    /// Season name (`2026-2027`) or id; all seasons when absent.
    pub season: Option<String>,
    /// Include archived shows.
    pub archived: Option<bool>,
}

async fn season_id(state: &SharedState, season: Option<&str>) -> AppResult<Option<i64>> {
    let Some(s) = season.map(str::trim).filter(|s| !s.is_empty()) else {
        return Ok(None);
    };
    let all = seasons::list_seasons(&state.store).await?;
    all.iter()
        .find(|x| x.name == s || x.id.to_string() == s)
        .map(|x| Some(x.id))
        .ok_or_else(|| AppError::api(StatusCode::UNPROCESSABLE_ENTITY, format!("saison inconnue : {s}")))
}

async fn show_dto(state: &SharedState, show: shows::Show) -> AppResult<ShowDto> {
    let prices = shows::show_prices(&state.store, &show).await?;
    Ok(ShowDto::new(show, prices))
}

/// List shows.
#[utoipa::path(get, path = "/api/v1/shows", tag = "catalogue", params(ShowFilter),
    responses((status = 200, description = "Shows", body = [ShowDto]),
              (status = 401, description = "Not authenticated", body = ErrorBody),
              (status = 403, description = "Permission catalog.read missing", body = ErrorBody)))]
pub async fn list_shows(
    State(state): State<SharedState>,
    _: Api<CatalogRead>,
    Query(f): Query<ShowFilter>,
) -> AppResult<Json<Vec<ShowDto>>> {
    let sid = season_id(&state, f.season.as_deref()).await?;
    let mut out = Vec::new();
    for s in shows::list_shows(&state.store, sid, f.archived.unwrap_or(false)).await? {
        out.push(show_dto(&state, s).await?);
    }
    Ok(Json(out))
}

/// Create a show.
#[utoipa::path(post, path = "/api/v1/shows", tag = "catalogue", request_body = ShowInput,
    responses((status = 201, description = "Created", body = ShowDto),
              (status = 401, description = "Not authenticated", body = ErrorBody),
              (status = 403, description = "Permission catalog.edit missing", body = ErrorBody),
              (status = 422, description = "Invalid fields", body = ErrorBody)))]
pub async fn create_show(
    State(state): State<SharedState>,
    user: Api<CatalogEdit>,
    ApiJson(input): ApiJson<ShowInput>,
) -> AppResult<(StatusCode, Json<ShowDto>)> {
    let show = shows::create_show(&state.store, &user.0.actor(), &input).await?;
    Ok((StatusCode::CREATED, Json(show_dto(&state, show).await?)))
}

/// One show.
#[utoipa::path(get, path = "/api/v1/shows/{id}", tag = "catalogue", params(("id" = i64, Path, description = "Show id")),
    responses((status = 200, description = "The show", body = ShowDto),
              (status = 401, description = "Not authenticated", body = ErrorBody),
              (status = 403, description = "Permission catalog.read missing", body = ErrorBody),
              (status = 404, description = "Unknown show", body = ErrorBody)))]
pub async fn get_show(State(state): State<SharedState>, _: Api<CatalogRead>, Path(id): Path<i64>) -> AppResult<Json<ShowDto>> {
    let show = shows::get_show(&state.store, id).await?;
    Ok(Json(show_dto(&state, show).await?))
}

/// Replace a show's fields.
#[utoipa::path(put, path = "/api/v1/shows/{id}", tag = "catalogue", params(("id" = i64, Path, description = "Show id")), request_body = ShowInput,
    responses((status = 200, description = "Updated", body = ShowDto),
              (status = 401, description = "Not authenticated", body = ErrorBody),
              (status = 403, description = "Permission catalog.edit missing", body = ErrorBody),
              (status = 404, description = "Unknown show", body = ErrorBody),
              (status = 422, description = "Invalid fields", body = ErrorBody)))]
pub async fn update_show(
    State(state): State<SharedState>,
    user: Api<CatalogEdit>,
    Path(id): Path<i64>,
    ApiJson(input): ApiJson<ShowInput>,
) -> AppResult<Json<ShowDto>> {
    let show = shows::update_show(&state.store, &user.0.actor(), id, &input).await?;
    Ok(Json(show_dto(&state, show).await?))
}

/// Duplicate a show (fields and special prices; not its performances).
#[utoipa::path(post, path = "/api/v1/shows/{id}/duplicate", tag = "catalogue", params(("id" = i64, Path, description = "Show id")),
    responses((status = 201, description = "The copy", body = ShowDto),
              (status = 401, description = "Not authenticated", body = ErrorBody),
              (status = 403, description = "Permission catalog.edit missing", body = ErrorBody),
              (status = 404, description = "Unknown show", body = ErrorBody)))]
pub async fn duplicate_show(
    State(state): State<SharedState>,
    user: Api<CatalogEdit>,
    Path(id): Path<i64>,
) -> AppResult<(StatusCode, Json<ShowDto>)> {
    let copy = shows::duplicate_show(&state.store, &user.0.actor(), id).await?;
    Ok((StatusCode::CREATED, Json(show_dto(&state, copy).await?)))
}

/// List seasons, newest first.
#[utoipa::path(get, path = "/api/v1/seasons", tag = "catalogue",
    responses((status = 200, description = "Seasons", body = [SeasonDto]),
              (status = 401, description = "Not authenticated", body = ErrorBody),
              (status = 403, description = "Permission catalog.read missing", body = ErrorBody)))]
pub async fn list_seasons(State(state): State<SharedState>, _: Api<CatalogRead>) -> AppResult<Json<Vec<SeasonDto>>> {
    let today = time::today_paris();
    Ok(Json(
        seasons::list_seasons(&state.store)
            .await?
            .into_iter()
            .map(|s| SeasonDto::new(s, today))
            .collect(),
    ))
}

/// Filters of `GET /api/v1/performances`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PerformanceFilter {
    /// Season name (`2026-2027`) or id.
    pub season: Option<String>,
    /// Show id.
    pub show: Option<i64>,
}

/// List performances by start time.
#[utoipa::path(get, path = "/api/v1/performances", tag = "catalogue", params(PerformanceFilter),
    responses((status = 200, description = "Performances", body = [PerformanceDto]),
              (status = 401, description = "Not authenticated", body = ErrorBody),
              (status = 403, description = "Permission catalog.read missing", body = ErrorBody)))]
pub async fn list_performances(
    State(state): State<SharedState>,
    _: Api<CatalogRead>,
    Query(f): Query<PerformanceFilter>,
) -> AppResult<Json<Vec<PerformanceDto>>> {
    let season_id = season_id(&state, f.season.as_deref()).await?;
    let list = performances::list_performances(
        &state.store,
        &PerformanceQuery {
            season_id,
            show_id: f.show,
            ..Default::default()
        },
    )
    .await?;
    Ok(Json(list.into_iter().map(PerformanceDto::from).collect()))
}

/// Create a performance.
#[utoipa::path(post, path = "/api/v1/performances", tag = "catalogue", request_body = PerformanceInput,
    responses((status = 201, description = "Created", body = PerformanceDto),
              (status = 401, description = "Not authenticated", body = ErrorBody),
              (status = 403, description = "Permission catalog.edit missing", body = ErrorBody),
              (status = 422, description = "Invalid fields", body = ErrorBody)))]
pub async fn create_performance(
    State(state): State<SharedState>,
    user: Api<CatalogEdit>,
    ApiJson(input): ApiJson<PerformanceInput>,
) -> AppResult<(StatusCode, Json<PerformanceDto>)> {
    let p = performances::create_performance(&state.store, &user.0.actor(), &input).await?;
    Ok((StatusCode::CREATED, Json(p.into())))
}

/// One performance.
#[utoipa::path(get, path = "/api/v1/performances/{id}", tag = "catalogue", params(("id" = i64, Path, description = "Performance id")),
    responses((status = 200, description = "The performance", body = PerformanceDto),
              (status = 401, description = "Not authenticated", body = ErrorBody),
              (status = 403, description = "Permission catalog.read missing", body = ErrorBody),
              (status = 404, description = "Unknown performance", body = ErrorBody)))]
pub async fn get_performance(
    State(state): State<SharedState>,
    _: Api<CatalogRead>,
    Path(id): Path<i64>,
) -> AppResult<Json<PerformanceDto>> {
    Ok(Json(performances::get_performance(&state.store, id).await?.into()))
}

/// The hall plan of a performance.
#[utoipa::path(get, path = "/api/v1/performances/{id}/plan", tag = "catalogue", params(("id" = i64, Path, description = "Performance id")),
    responses((status = 200, description = "The plan", body = PlanDto),
              (status = 401, description = "Not authenticated", body = ErrorBody),
              (status = 403, description = "Permission catalog.read missing", body = ErrorBody),
              (status = 404, description = "Unknown performance", body = ErrorBody)))]
pub async fn get_plan(State(state): State<SharedState>, _: Api<CatalogRead>, Path(id): Path<i64>) -> AppResult<Json<PlanDto>> {
    let p = performances::get_performance(&state.store, id).await?;
    let layout = venues::get_layout(&state.store, p.layout_id).await?;
    let seats = plans::seats(&state.store, p.layout_id).await?;
    Ok(Json(PlanDto {
        performance_id: p.id,
        hall_id: p.hall_id,
        layout_id: p.layout_id,
        numbered: p.numbered,
        capacity: p.capacity,
        pmr_places: layout.pmr_places,
        seats: seats
            .into_iter()
            .map(|s| SeatDto {
                id: s.id,
                row: s.spec.row,
                number: s.spec.number,
                side: s.spec.side,
                zone: s.spec.zone,
                pmr: s.spec.pmr,
                x: s.spec.x,
                y: s.spec.y,
            })
            .collect(),
    }))
}

/// List price categories.
#[utoipa::path(get, path = "/api/v1/price-categories", tag = "catalogue",
    responses((status = 200, description = "Price categories", body = [PriceCategoryDto]),
              (status = 401, description = "Not authenticated", body = ErrorBody),
              (status = 403, description = "Permission catalog.read missing", body = ErrorBody)))]
pub async fn list_price_categories(State(state): State<SharedState>, _: Api<CatalogRead>) -> AppResult<Json<Vec<PriceCategoryDto>>> {
    Ok(Json(
        prices::list_price_categories(&state.store)
            .await?
            .into_iter()
            .map(PriceCategoryDto::from)
            .collect(),
    ))
}

/// Filters of `GET /api/v1/products`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ProductFilter {
    /// Season name or id (default: the current season; all if there is none).
    pub season: Option<String>,
}

/// List products (formules, passes, cards, annex products, gift cards, billet suspendu).
#[utoipa::path(get, path = "/api/v1/products", tag = "catalogue", params(ProductFilter),
    responses((status = 200, description = "Products", body = [ProductDto]),
              (status = 401, description = "Not authenticated", body = ErrorBody),
              (status = 403, description = "Permission catalog.read missing", body = ErrorBody)))]
pub async fn list_products(
    State(state): State<SharedState>,
    _: Api<CatalogRead>,
    Query(f): Query<ProductFilter>,
) -> AppResult<Json<Vec<ProductDto>>> {
    let sid = match season_id(&state, f.season.as_deref()).await? {
        Some(id) => Some(id),
        None => seasons::season_for(&state.store, time::today_paris()).await?.map(|s| s.id),
    };
    Ok(Json(
        prices::list_products(&state.store, sid)
            .await?
            .into_iter()
            .map(ProductDto::from)
            .collect(),
    ))
}
