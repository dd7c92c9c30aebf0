//! Admin pages for performances: list, create, edit, and the hall plan drawn as SVG.

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
use parterre_core::catalog::{self, performances, plans, seasons, shows, venues, Performance, PerformanceInput, PerformanceQuery, Quota};
use parterre_core::{time, CoreError, FieldErrors};
use std::collections::HashMap;

pub(super) fn router() -> axum::Router<SharedState> {
    Router::new()
        .route("/admin/performances", get(list).post(create))
        .route("/admin/performances/new", get(new))
        .route("/admin/performances/{id}/edit", get(edit))
        .route("/admin/performances/{id}", post(update))
        .route("/admin/performances/{id}/plan", get(plan))
}

const AREA: &str = "/admin/shows";

fn row(p: &Performance) -> minijinja::Value {
    context! {
        id => p.id, show_id => p.show_id, show_name => p.show_name, hall_name => p.hall_name, layout_name => p.layout_name,
        capacity => p.capacity, cancelled => p.cancelled, on_sale => p.on_sale_at(chrono::Utc::now()),
        starts_at => time::to_db(p.starts_at),
    }
}

async fn list(State(state): State<SharedState>, user: Page<CatalogRead>, Query(q): Query<HashMap<String, String>>) -> AppResult<Response> {
    let store = &state.store;
    let show_id = q.get("show").and_then(|s| s.parse::<i64>().ok());
    let show = match show_id {
        Some(id) => Some(shows::get_show(store, id).await.map_err(page_err)?),
        None => None,
    };
    let season_id = match &show {
        Some(_) => None,
        None => seasons::season_for(store, time::today_paris())
            .await
            .map_err(page_err)?
            .map(|s| s.id),
    };
    let list = performances::list_performances(
        store,
        &PerformanceQuery {
            season_id,
            show_id,
            ..Default::default()
        },
    )
    .await
    .map_err(page_err)?;
    let rows: Vec<_> = list.iter().map(row).collect();
    let show_ctx = show.map(|s| context! { id => s.id, name => s.name });
    page(
        &user,
        AREA,
        "admin/performances.html",
        context! { performances => rows, show => show_ctx, can_edit => user.user.can(CATALOG_EDIT) },
    )
}

fn input_from(form: &FormData, errors: &mut FieldErrors) -> PerformanceInput {
    let mut quotas = Vec::new();
    for (code, _) in catalog::QUOTA_FAMILIES {
        if let Some(n) = form.int(&format!("quota_{code}"), errors) {
            quotas.push(Quota {
                family: code.to_string(),
                places: n,
            });
        }
    }
    PerformanceInput {
        show_id: form.int("show_id", errors),
        layout_id: form.int("layout_id", errors),
        hall_id: None,
        starts_at: form.text("starts_at"),
        web_sale_opens_at: form.get("web_sale_opens_at").map(String::from),
        web_sale_closes_at: form.get("web_sale_closes_at").map(String::from),
        cancelled: form.flag("cancelled"),
        quotas: Some(quotas),
    }
}

async fn form_page(
    state: &SharedState,
    user: &PageUser,
    heading: &str,
    action: &str,
    f: &PerformanceInput,
    errors: &FieldErrors,
    status: StatusCode,
) -> AppResult<Response> {
    let store = &state.store;
    let season = seasons::season_for(store, time::today_paris()).await.map_err(page_err)?;
    let shows: Vec<(String, String)> = shows::list_shows(store, season.map(|s| s.id), false)
        .await
        .map_err(page_err)?
        .into_iter()
        .map(|s| (s.id.to_string(), s.name))
        .collect();
    let layouts: Vec<(String, String)> = venues::list_hall_layouts(store)
        .await
        .map_err(page_err)?
        .into_iter()
        .map(|l| {
            (
                l.layout_id.to_string(),
                format!("{} — {} ({} places)", l.hall_name, l.layout_name, l.capacity),
            )
        })
        .collect();
    let quotas: HashMap<String, i64> = f.quotas.iter().flatten().map(|q| (q.family.clone(), q.places)).collect();
    let families: Vec<(String, String)> = catalog::QUOTA_FAMILIES
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    page_with_status(
        user,
        AREA,
        "admin/performance_form.html",
        context! { heading, action, f, errors => errors.0.clone(), shows, layouts, quotas, families },
        status,
    )
}

async fn new(State(state): State<SharedState>, user: Page<CatalogEdit>, Query(q): Query<HashMap<String, String>>) -> AppResult<Response> {
    // `?from=ID` duplicates a performance: same show, hall and quotas, the next day.
    if let Some(from) = q.get("from").and_then(|s| s.parse::<i64>().ok()) {
        let p = performances::get_performance(&state.store, from).await.map_err(page_err)?;
        let f = PerformanceInput {
            show_id: Some(p.show_id),
            layout_id: Some(p.layout_id),
            hall_id: None,
            starts_at: time::input_paris(p.starts_at + chrono::Duration::days(1)),
            web_sale_opens_at: p.web_sale_opens_at.map(time::input_paris),
            web_sale_closes_at: None,
            cancelled: false,
            quotas: Some(p.quotas.clone()),
        };
        let heading = format!("Dupliquer la séance du {}", time::display_paris(p.starts_at));
        return form_page(
            &state,
            &user,
            &heading,
            "/admin/performances",
            &f,
            &FieldErrors::new(),
            StatusCode::OK,
        )
        .await;
    }
    let f = PerformanceInput {
        show_id: q.get("show").and_then(|s| s.parse().ok()),
        ..Default::default()
    };
    form_page(
        &state,
        &user,
        "Nouvelle séance",
        "/admin/performances",
        &f,
        &FieldErrors::new(),
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
        performances::create_performance(&state.store, &user.user.actor(), &input).await
    } else {
        Err(CoreError::Invalid(errors.clone()))
    };
    match result {
        Ok(p) => Ok(done(&format!("/admin/performances?show={}", p.show_id))),
        Err(CoreError::Invalid(mut e)) => {
            e.0.extend(errors.0);
            form_page(
                &state,
                &user,
                "Nouvelle séance",
                "/admin/performances",
                &input,
                &e,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(e) => Err(page_err(e)),
    }
}

async fn edit(State(state): State<SharedState>, user: Page<CatalogEdit>, Path(id): Path<i64>) -> AppResult<Response> {
    let p = performances::get_performance(&state.store, id).await.map_err(page_err)?;
    let f = PerformanceInput {
        show_id: Some(p.show_id),
        layout_id: Some(p.layout_id),
        hall_id: None,
        starts_at: time::input_paris(p.starts_at),
        web_sale_opens_at: p.web_sale_opens_at.map(time::input_paris),
        web_sale_closes_at: p.web_sale_closes_at.map(time::input_paris),
        cancelled: p.cancelled,
        quotas: Some(p.quotas.clone()),
    };
    let heading = format!("Modifier la séance du {}", time::display_paris(p.starts_at));
    form_page(
        &state,
        &user,
        &heading,
        &format!("/admin/performances/{id}"),
        &f,
        &FieldErrors::new(),
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
    let mut errors = FieldErrors::new();
    let input = input_from(&form, &mut errors);
    let result = if errors.is_empty() {
        performances::update_performance(&state.store, &user.user.actor(), id, &input).await
    } else {
        Err(CoreError::Invalid(errors.clone()))
    };
    match result {
        Ok(p) => Ok(done(&format!("/admin/performances?show={}", p.show_id))),
        Err(CoreError::Invalid(mut e)) => {
            e.0.extend(errors.0);
            form_page(
                &state,
                &user,
                "Modifier la séance",
                &format!("/admin/performances/{id}"),
                &input,
                &e,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(e) => Err(page_err(e)),
    }
}

/// Colour and French label of a seat on a plan.
pub type SeatLook = (&'static str, String);

/// Draws a layout as SVG: seats as circles coloured by `look`, or a box for free placement.
pub fn plan_svg(title: &str, numbered: bool, capacity: i64, seats: &[plans::Seat], look: &dyn Fn(&plans::Seat) -> SeatLook) -> String {
    let esc = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
    };
    if !numbered || seats.is_empty() {
        return format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 400 160\" role=\"img\" aria-labelledby=\"plan-title\">\
             <title id=\"plan-title\">{t} : placement libre, {capacity} places</title>\
             <rect x=\"10\" y=\"10\" width=\"380\" height=\"30\" fill=\"#444\"/><text x=\"200\" y=\"30\" fill=\"#fff\" text-anchor=\"middle\" font-size=\"14\">Scène</text>\
             <rect x=\"40\" y=\"60\" width=\"320\" height=\"80\" fill=\"#2e7d32\"/>\
             <text x=\"200\" y=\"105\" fill=\"#fff\" text-anchor=\"middle\" font-size=\"16\">Placement libre — {capacity} places</text></svg>",
            t = esc(title)
        );
    }
    let min_x = seats.iter().map(|s| s.spec.x).min().unwrap_or(0) - 50;
    let max_x = seats.iter().map(|s| s.spec.x).max().unwrap_or(0) + 20;
    let max_y = seats.iter().map(|s| s.spec.y).max().unwrap_or(0) + 20;
    let width = max_x - min_x;
    let mut out = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"{min_x} -50 {width} {h}\" role=\"img\" aria-labelledby=\"plan-title\">\
         <title id=\"plan-title\">{t} : {n} sièges numérotés</title>\
         <rect x=\"{sx}\" y=\"-45\" width=\"{sw}\" height=\"25\" fill=\"#444\"/><text x=\"{cx}\" y=\"-28\" fill=\"#fff\" text-anchor=\"middle\" font-size=\"14\">Scène</text>",
        h = max_y + 60,
        t = esc(title),
        n = seats.len(),
        sx = min_x + width / 4,
        sw = width / 2,
        cx = min_x + width / 2,
    );
    let mut rows_seen: Vec<&str> = Vec::new();
    for s in seats {
        let (fill, label) = look(s);
        out.push_str(&format!(
            "<circle cx=\"{}\" cy=\"{}\" r=\"8\" fill=\"{fill}\" data-seat=\"{}\"><title>Rang {} n° {}{} — {}</title></circle>",
            s.spec.x,
            s.spec.y,
            s.id,
            esc(&s.spec.row),
            s.spec.number,
            if s.spec.pmr { " (PMR)" } else { "" },
            esc(&label)
        ));
        if !rows_seen.contains(&s.spec.row.as_str()) {
            rows_seen.push(&s.spec.row);
            out.push_str(&format!(
                "<text x=\"{}\" y=\"{}\" font-size=\"11\" text-anchor=\"middle\">{}</text>",
                min_x + 15,
                s.spec.y + 4,
                esc(&s.spec.row)
            ));
        }
    }
    out.push_str("</svg>");
    out
}

async fn plan(State(state): State<SharedState>, user: Page<CatalogRead>, Path(id): Path<i64>) -> AppResult<Response> {
    let p = performances::get_performance(&state.store, id).await.map_err(page_err)?;
    let layout = venues::get_layout(&state.store, p.layout_id).await.map_err(page_err)?;
    let seats = plans::seats(&state.store, p.layout_id).await.map_err(page_err)?;
    let look = |s: &plans::Seat| {
        if s.spec.pmr {
            ("#1565c0", "place PMR".to_string())
        } else {
            ("#2e7d32", "disponible".to_string())
        }
    };
    let svg = plan_svg(
        &format!("{} — {}", p.hall_name, p.layout_name),
        p.numbered,
        p.capacity,
        &seats,
        &look,
    );
    let mut rows: Vec<(String, Vec<i64>)> = Vec::new();
    for s in &seats {
        match rows.iter_mut().find(|(r, _)| *r == s.spec.row) {
            Some((_, n)) => n.push(s.spec.number),
            None => rows.push((s.spec.row.clone(), vec![s.spec.number])),
        }
    }
    let rows: Vec<_> = rows
        .into_iter()
        .map(|(r, mut n)| {
            n.sort();
            context! { row => r, count => n.len(), numbers => n.iter().map(|x| x.to_string()).collect::<Vec<_>>().join(" ") }
        })
        .collect();
    let quotas: Vec<_> = p
        .quotas
        .iter()
        .map(|q| context! { label => catalog::label_of(catalog::QUOTA_FAMILIES, &q.family), places => q.places })
        .collect();
    page(
        &user,
        AREA,
        "admin/plan.html",
        context! { p => row(&p), svg, rows, quotas, pmr => layout.pmr_places },
    )
}
