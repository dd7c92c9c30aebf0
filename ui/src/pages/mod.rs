//! Server-rendered pages: login, the page shell with its navigation, and the admin screens.
//! Every route checks its permission; every form carries the session's CSRF token.

mod box_office;
mod halls;
mod performances;
mod prices;
mod shows;
mod sql;
mod users;

use crate::auth::{PageUser, SESSION_COOKIE};
use crate::error::{AppError, AppResult, Surface};
use crate::templates::{render, AREAS};
use crate::SharedState;
use axum::extract::{Query, State};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use minijinja::{context, Value};
use parterre_core::auth::{sessions, users as core_users};
use parterre_core::db;
use parterre_core::CoreError;
use std::collections::HashMap;
use std::time::Instant;

/// The pages' routes.
pub fn router() -> Router<SharedState> {
    let mut r = Router::new()
        .route("/healthz", get(healthz))
        .route("/static/app.css", get(css))
        .route("/login", get(login_page).post(login))
        .route("/logout", post(logout))
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
    match db::query("SELECT 1").execute(state.store.pool()).await {
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

fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains("://") => n.to_string(),
        _ => "/".to_string(),
    }
}

async fn login_page(Query(q): Query<HashMap<String, String>>) -> AppResult<Response> {
    let html = render(
        "login.html",
        context! { next => safe_next(q.get("next").map(String::as_str)), login => "" },
    )?;
    Ok(Html(html).into_response())
}

async fn login(State(state): State<SharedState>, Form(form): Form<Vec<(String, String)>>) -> AppResult<Response> {
    let form = FormData(form);
    let login = form.text("login");
    let next = safe_next(form.get("next"));
    let password = form
        .0
        .iter()
        .find(|(k, _)| k == "password")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    let again = |status: StatusCode, error: String| -> AppResult<Response> {
        let html = render("login.html", context! { next => next.clone(), login => login.clone(), error })?;
        Ok((status, Html(html)).into_response())
    };
    let key = login.to_lowercase();
    let wait = state
        .throttle
        .lock()
        .map_err(|_| AppError::page(StatusCode::INTERNAL_SERVER_ERROR, "verrou"))?
        .wait(&key, Instant::now());
    if let Some(w) = wait {
        return again(
            StatusCode::TOO_MANY_REQUESTS,
            format!("Trop d'essais infructueux : réessayez dans {} secondes.", w.as_secs().max(1)),
        );
    }
    match core_users::verify_login(&state.store, &login, &password).await {
        Ok(user) => {
            if let Ok(mut t) = state.throttle.lock() {
                t.succeeded(&key);
            }
            let cookie = sessions::create_session(&state.store, &user).await.map_err(page_err)?;
            let set = format!(
                "{SESSION_COOKIE}={cookie}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}",
                sessions::SESSION_HOURS * 3600
            );
            Ok(([(header::SET_COOKIE, set)], Redirect::to(&next)).into_response())
        }
        Err(CoreError::BadCredentials) => {
            if let Ok(mut t) = state.throttle.lock() {
                t.failed(&key, Instant::now());
            }
            again(StatusCode::UNAUTHORIZED, "Identifiant ou mot de passe incorrect.".into())
        }
        Err(e) => Err(page_err(e)),
    }
}

async fn logout(State(state): State<SharedState>, user: PageUser, Form(form): Form<Vec<(String, String)>>) -> AppResult<Response> {
    user.check_csrf(FormData(form).csrf())?;
    sessions::delete_session(&state.store, &user.user.actor(), &user.cookie)
        .await
        .map_err(page_err)?;
    let clear = format!("{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0");
    Ok(([(header::SET_COOKIE, clear)], Redirect::to("/login")).into_response())
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
