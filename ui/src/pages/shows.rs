//! Admin pages for shows: list by season, create, edit, duplicate.

use super::{done, page, page_err, page_with_status, FormData};
use crate::auth::perm::{CatalogEdit, CatalogRead, Page};
use crate::auth::PageUser;
use crate::error::AppResult;
use crate::extract::{Path, Query};
use crate::SharedState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Form, Router};
use minijinja::context;
use parterre_core::auth::permissions::CATALOG_EDIT;
use parterre_core::catalog::{self, performances, seasons, shows, venues, PerformanceQuery, ShowInput};
use parterre_core::{CoreError, FieldErrors};
use std::collections::HashMap;

pub(super) fn router() -> axum::Router<SharedState> {
    Router::new()
        .route("/admin/shows", get(list).post(create))
        .route("/admin/shows/new", get(new))
        .route("/admin/shows/{id}/edit", get(edit))
        .route("/admin/shows/{id}", post(update))
        .route("/admin/shows/{id}/duplicate", post(duplicate))
}

const AREA: &str = "/admin/shows";

async fn list(State(state): State<SharedState>, user: Page<CatalogRead>, Query(q): Query<HashMap<String, String>>) -> AppResult<Response> {
    let store = &state.store;
    let all_seasons = seasons::list_seasons(store).await.map_err(page_err)?;
    let current = seasons::season_for(store, parterre_core::time::today_paris())
        .await
        .map_err(page_err)?;
    let season_id = q
        .get("season")
        .and_then(|s| s.parse::<i64>().ok())
        .or(current.map(|s| s.id))
        .or(all_seasons.first().map(|s| s.id));
    let list = shows::list_shows(store, season_id, true).await.map_err(page_err)?;
    let perfs = performances::list_performances(
        store,
        &PerformanceQuery {
            season_id,
            show_id: None,
            ..Default::default()
        },
    )
    .await
    .map_err(page_err)?;
    let rows: Vec<_> = list
        .iter()
        .map(|s| {
            context! {
                id => s.id, name => s.name, tier => s.tier, archived => s.archived,
                discipline_label => s.discipline.label(),
                audience_label => catalog::label_of(catalog::AUDIENCES, &s.audience),
                performances => perfs.iter().filter(|p| p.show_id == s.id).count(),
            }
        })
        .collect();
    page(
        &user,
        AREA,
        "admin/shows.html",
        context! { seasons => all_seasons, season_id, shows => rows, can_edit => user.user.can(CATALOG_EDIT) },
    )
}

fn input_from(form: &FormData, errors: &mut FieldErrors) -> ShowInput {
    ShowInput {
        season_id: form.int("season_id", errors),
        name: form.text("name"),
        picture_url: form.text("picture_url"),
        duration_minutes: form.int("duration_minutes", errors),
        discipline: form.text("discipline"),
        audience: form.text("audience"),
        min_age: form.int("min_age", errors),
        tier: form.text("tier"),
        vat_rate: form.get("vat_rate").map(String::from),
        web_sale_opens_at: form.get("web_sale_opens_at").map(String::from),
        web_sale_closes_at: form.get("web_sale_closes_at").map(String::from),
        hall_id: form.int("hall_id", errors),
        numbered: form.flag("numbered"),
        ticket_prefix: form.text("ticket_prefix"),
        analytic_code: form.text("analytic_code"),
        artistic_director: form.text("artistic_director"),
        company: form.text("company"),
        description: form.text("description"),
        is_creation: form.flag("is_creation"),
        archived: form.flag("archived"),
        is_template: form.flag("is_template"),
    }
}

/// Parse errors of the form plus every rule the core would check, so all fields are reported.
fn all_errors(input: &ShowInput, mut errors: FieldErrors) -> CoreError {
    if let Err(CoreError::Invalid(e)) = input.validate(0) {
        for (k, v) in e.0 {
            errors.0.entry(k).or_insert(v);
        }
    }
    CoreError::Invalid(errors)
}

#[allow(clippy::too_many_arguments)]
async fn form_page(
    state: &SharedState,
    user: &PageUser,
    heading: &str,
    action: &str,
    f: &ShowInput,
    errors: &FieldErrors,
    prices: Vec<minijinja::Value>,
    status: StatusCode,
) -> AppResult<Response> {
    let store = &state.store;
    let seasons: Vec<(String, String)> = seasons::list_seasons(store)
        .await
        .map_err(page_err)?
        .into_iter()
        .map(|s| (s.id.to_string(), s.name))
        .collect();
    let mut halls: Vec<(String, String)> = Vec::new();
    for h in venues::list_hall_layouts(store).await.map_err(page_err)? {
        if !halls.iter().any(|(id, _)| *id == h.hall_id.to_string()) {
            halls.push((h.hall_id.to_string(), format!("{} — {}", h.hall_name, h.venue_name)));
        }
    }
    let pairs = |l: &[(&str, &str)]| l.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect::<Vec<_>>();
    let tiers = catalog::Tier::pairs();
    page_with_status(
        user,
        AREA,
        "admin/show_form.html",
        context! {
            heading, action, f, errors => errors.0.clone(), seasons, halls, tiers, prices,
            disciplines => catalog::Discipline::pairs(), audiences => pairs(catalog::AUDIENCES),
        },
        status,
    )
}

async fn new(State(state): State<SharedState>, user: Page<CatalogEdit>) -> AppResult<Response> {
    let current = seasons::season_for(&state.store, parterre_core::time::today_paris())
        .await
        .map_err(page_err)?;
    let f = ShowInput {
        season_id: current.map(|s| s.id),
        audience: "all".into(),
        ..Default::default()
    };
    form_page(
        &state,
        &user,
        "Nouveau spectacle",
        "/admin/shows",
        &f,
        &FieldErrors::new(),
        vec![],
        StatusCode::OK,
    )
    .await
}

async fn create(State(state): State<SharedState>, user: Page<CatalogEdit>, Form(form): Form<Vec<(String, String)>>) -> AppResult<Response> {
    let form = FormData(form);
    user.check_csrf(form.csrf())?;
    let mut errors = FieldErrors::new();
    let input = input_from(&form, &mut errors);
    let result = if errors.is_empty() {
        shows::create_show(&state.store, &user.user.actor(), &input).await
    } else {
        Err(all_errors(&input, errors.clone()))
    };
    match result {
        Ok(show) => Ok(done(&format!("/admin/shows?season={}", show.season_id))),
        Err(CoreError::Invalid(mut e)) => {
            for (k, v) in errors.0 {
                e.0.entry(k).or_insert(v);
            }
            form_page(
                &state,
                &user,
                "Nouveau spectacle",
                "/admin/shows",
                &input,
                &e,
                vec![],
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(e) => Err(page_err(e)),
    }
}

async fn price_rows(state: &SharedState, show: &shows::Show) -> AppResult<Vec<minijinja::Value>> {
    Ok(shows::show_prices(&state.store, show)
        .await
        .map_err(page_err)?
        .into_iter()
        .map(|p| context! { name => p.name, cents => p.amount.as_cents(), special => p.special })
        .collect())
}

async fn edit(State(state): State<SharedState>, user: Page<CatalogEdit>, Path(id): Path<i64>) -> AppResult<Response> {
    let show = shows::get_show(&state.store, id).await.map_err(page_err)?;
    let prices = price_rows(&state, &show).await?;
    let heading = format!("Modifier « {} »", show.name);
    form_page(
        &state,
        &user,
        &heading,
        &format!("/admin/shows/{id}"),
        &ShowInput::from_show(&show),
        &FieldErrors::new(),
        prices,
        StatusCode::OK,
    )
    .await
}

async fn update(
    State(state): State<SharedState>,
    user: Page<CatalogEdit>,
    Path(id): Path<i64>,
    Form(form): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    let form = FormData(form);
    user.check_csrf(form.csrf())?;
    let show = shows::get_show(&state.store, id).await.map_err(page_err)?;
    let mut errors = FieldErrors::new();
    let input = input_from(&form, &mut errors);
    let result = if errors.is_empty() {
        shows::update_show(&state.store, &user.user.actor(), id, &input).await
    } else {
        Err(all_errors(&input, errors.clone()))
    };
    match result {
        Ok(s) => Ok(done(&format!("/admin/shows?season={}", s.season_id))),
        Err(CoreError::Invalid(mut e)) => {
            for (k, v) in errors.0 {
                e.0.entry(k).or_insert(v);
            }
            let prices = price_rows(&state, &show).await?;
            let heading = format!("Modifier « {} »", show.name);
            form_page(
                &state,
                &user,
                &heading,
                &format!("/admin/shows/{id}"),
                &input,
                &e,
                prices,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(e) => Err(page_err(e)),
    }
}

async fn duplicate(
    State(state): State<SharedState>,
    user: Page<CatalogEdit>,
    Path(id): Path<i64>,
    Form(form): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    user.check_csrf(FormData(form).csrf())?;
    let copy = shows::duplicate_show(&state.store, &user.user.actor(), id)
        .await
        .map_err(page_err)?;
    Ok(done(&format!("/admin/shows/{}/edit", copy.id)))
}
