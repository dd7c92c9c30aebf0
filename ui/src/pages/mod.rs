//! Server-rendered pages: login, the page shell with its navigation, and the admin screens.
//! Every route checks its permission; every form carries the session's CSRF token (the login
//! form, before any session, a cookie's: see `login`).

mod box_office;
mod halls;
mod login;
mod performances;
mod prices;
mod shows;
mod sql;
mod users;

use crate::auth::PageUser;
use crate::error::{AppError, AppResult, Surface};
use crate::templates::{render, AREAS};
use crate::SharedState;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use minijinja::{context, Value};
use parterre_core::CoreError;

/// The pages' routes.
pub fn router() -> Router<SharedState> {
    let mut r = Router::new()
        .route("/healthz", get(healthz))
        .route("/static/app.css", get(css))
        .route("/login", get(login::login_page).post(login::login))
        .route("/logout", post(login::logout))
        .route("/", get(home));
    for (path, _, _) in AREAS {
        if !path.starts_with("/admin") && *path != "/box-office" {
            r = r.route(path, get(area));
        }
    }
    r.merge(shows::router())
        .merge(performances::router())
        .merge(prices::router())
        .merge(halls::router())
        .merge(users::router())
        .merge(box_office::router())
        .merge(sql::router())
}

/// Form fields as sent (repeated names kept, for checkbox lists).
#[derive(Debug, Default)]
pub struct FormData(pub Vec<(String, String)>);

impl FormData {
    /// The first value of `name`, trimmed; `None` when absent or empty.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim())
            .filter(|v| !v.is_empty())
    }
    /// The value of `name` or "".
    pub fn text(&self, name: &str) -> String {
        self.get(name).unwrap_or("").to_string()
    }
    /// Every value of `name`.
    pub fn all(&self, name: &str) -> Vec<String> {
        self.0.iter().filter(|(k, _)| k == name).map(|(_, v)| v.clone()).collect()
    }
    /// A checkbox.
    pub fn flag(&self, name: &str) -> bool {
        self.get(name).is_some()
    }
    /// An optional integer; a bad one is reported in `errors`.
    pub fn int(&self, name: &str, errors: &mut parterre_core::FieldErrors) -> Option<i64> {
        let v = self.get(name)?;
        match v.parse::<i64>() {
            Ok(n) => Some(n),
            Err(_) => {
                errors.add(name, format!("« {v} » n'est pas un nombre entier"));
                None
            }
        }
    }
    /// The CSRF token sent.
    pub fn csrf(&self) -> Option<&str> {
        self.get("csrf")
    }
}

/// Renders a page with the shell's context (user, CSRF token, current area).
pub fn page(user: &PageUser, area: &str, name: &str, ctx: Value) -> AppResult<Response> {
    page_with_status(user, area, name, ctx, StatusCode::OK)
}

/// Same, with a status (422 for a form with errors).
pub fn page_with_status(user: &PageUser, area: &str, name: &str, ctx: Value, status: StatusCode) -> AppResult<Response> {
    let shell = context! {
        user => context! { display_name => user.user.display_name.clone(), login => user.user.login.clone(),
                           permissions => user.user.permissions.iter().cloned().collect::<Vec<_>>() },
        csrf => user.csrf.clone(),
        current_area => area,
    };
    let html = render(name, context! { ..ctx, ..shell })?;
    Ok((status, Html(html)).into_response())
}

/// Maps a core error for pages.
pub fn page_err(e: CoreError) -> AppError {
    AppError::from_core(e, Surface::Page)
}

async fn healthz(State(state): State<SharedState>) -> Response {
    match state.store.ping().await {
        Ok(_) => (StatusCode::OK, "ok").into_response(),
        Err(e) => (StatusCode::SERVICE_UNAVAILABLE, format!("base indisponible : {e}")).into_response(),
    }
}

async fn css() -> Response {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
        include_str!("../../static/app.css"),
    )
        .into_response()
}

async fn home(State(state): State<SharedState>, user: PageUser) -> AppResult<Response> {
    use parterre_core::catalog::{performances, seasons, shows, PerformanceQuery};
    let season = seasons::season_for(&state.store, parterre_core::time::today_paris())
        .await
        .map_err(page_err)?;
    let (mut n_shows, mut n_perfs, mut upcoming) = (0, 0, 0);
    if let Some(s) = &season {
        n_shows = shows::list_shows(&state.store, Some(s.id), false).await.map_err(page_err)?.len();
        let perfs = performances::list_performances(
            &state.store,
            &PerformanceQuery {
                season_id: Some(s.id),
                show_id: None,
                ..Default::default()
            },
        )
        .await
        .map_err(page_err)?;
        n_perfs = perfs.len();
        upcoming = perfs.iter().filter(|p| p.starts_at > chrono::Utc::now()).count();
    }
    page(
        &user,
        "/",
        "home.html",
        context! { season, shows => n_shows, performances => n_perfs, upcoming },
    )
}

async fn area(State(state): State<SharedState>, user: PageUser, uri: axum::http::Uri) -> AppResult<Response> {
    let path = uri.path().to_string();
    let Some((p, label, perm)) = AREAS.iter().find(|(p, _, _)| *p == path) else {
        return Err(AppError::page(StatusCode::NOT_FOUND, "espace inconnu"));
    };
    user.require(&state, perm, p).await?;
    page(&user, p, "area.html", context! { label })
}

/// Redirect after a successful form, with a notice in the query string.
pub fn done(to: &str) -> Response {
    Redirect::to(to).into_response()
}
