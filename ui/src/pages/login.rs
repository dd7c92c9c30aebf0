//! Logging in and out: the one form a stranger may post, so it is the most guarded.
//!
//! Before a password is checked, in this order: the form's CSRF token must match its cookie
//! (no session exists yet, so it is a double-submit cookie set by `GET /login`); over-long
//! input is refused (nothing hashed, audited or counted); the throttle counts the attempt
//! (by client address and by login) and may refuse it or delay it. After login the browser
//! goes to `next` only if it is a path on this site.

use super::{page_err, FormData};
use crate::auth::{PageUser, SESSION_COOKIE};
use crate::error::{AppError, AppResult};
use crate::extract::{ClientAddr, Query};
use crate::templates::render;
use crate::SharedState;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::Form;
use minijinja::context;
use parterre_core::auth::throttle::Verdict;
use parterre_core::auth::{constant_time_eq, random_secret, sessions, users as core_users};
use parterre_core::CoreError;
use std::collections::HashMap;
use std::time::Instant;

/// The login form's CSRF cookie (a double submit: the same value is in the form).
pub const LOGIN_CSRF_COOKIE: &str = "parterre_login";
/// How long a login form stays valid.
const LOGIN_FORM_SECONDS: u32 = 3600;
/// Longest `next` kept.
const MAX_NEXT: usize = 2000;

/// `next` if it is a path on this site, `/` otherwise: no scheme, no `//host` or `/\\host`
/// (browsers read both as another host), no backslash, nothing but visible ASCII.
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n)
            if n.starts_with('/')
                && n.len() <= MAX_NEXT
                && !n.starts_with("//")
                && !n.contains('\\')
                && !n.contains("://")
                && n.bytes().all(|b| b.is_ascii_graphic()) =>
        {
            n.to_string()
        }
        _ => "/".to_string(),
    }
}

/// The value of cookie `name` in `headers`.
fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|kv| {
            let (k, v) = kv.trim().split_once('=')?;
            (k == name && !v.is_empty()).then(|| v.to_string())
        })
}

/// The login page with a fresh CSRF token (also set in its cookie), `status` and `error`.
fn form(state: &SharedState, status: StatusCode, next: &str, login: &str, error: Option<&str>) -> AppResult<Response> {
    let token = random_secret();
    let html = render("login.html", context! { next, login, error, csrf => token })?;
    let set = format!(
        "{LOGIN_CSRF_COOKIE}={token}{}; Max-Age={LOGIN_FORM_SECONDS}",
        state.http.cookie_attributes("/login", "Strict")
    );
    Ok((status, [(header::SET_COOKIE, set)], Html(html)).into_response())
}

pub(super) async fn login_page(State(state): State<SharedState>, Query(q): Query<HashMap<String, String>>) -> AppResult<Response> {
    let next = safe_next(q.get("next").map(String::as_str));
    form(&state, StatusCode::OK, &next, "", None)
}

pub(super) async fn login(
    State(state): State<SharedState>,
    ClientAddr(addr): ClientAddr,
    headers: HeaderMap,
    Form(fields): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    let fields = FormData(fields);
    let next = safe_next(fields.get("next"));
    let password = fields
        .0
        .iter()
        .find(|(k, _)| k == "password")
        .map(|(_, v)| v.as_str())
        .unwrap_or("");
    let login = fields.text("login");
    // The login is echoed in the form again: never a long one.
    let shown: String = login.chars().take(core_users::MAX_LOGIN_CHARS).collect();
    let again = |status: StatusCode, error: &str| form(&state, status, &next, &shown, Some(error));
    let csrf_ok = match (cookie(&headers, LOGIN_CSRF_COOKIE), fields.csrf()) {
        (Some(c), Some(f)) => constant_time_eq(&c, f),
        _ => false,
    };
    if !csrf_ok {
        return again(
            StatusCode::FORBIDDEN,
            "Formulaire expiré ou d'une autre origine : vérifiez vos identifiants et validez de nouveau.",
        );
    }
    if let Err(CoreError::Invalid(e)) = core_users::check_login_input(&login, password) {
        let message = e.0.values().cloned().collect::<Vec<_>>().join(" ; ");
        return again(StatusCode::UNPROCESSABLE_ENTITY, &capitalised(&message));
    }
    let verdict = state
        .throttle
        .lock()
        .map_err(|_| AppError::page(StatusCode::INTERNAL_SERVER_ERROR, "verrou du compteur de connexions"))?
        .attempt(addr, &login, Instant::now());
    match verdict {
        Verdict::Wait(w) => {
            return again(
                StatusCode::TOO_MANY_REQUESTS,
                &format!("Trop d'essais : réessayez dans {} secondes.", w.as_secs().max(1)),
            );
        }
        Verdict::Go { delay } if !delay.is_zero() => tokio::time::sleep(delay).await,
        Verdict::Go { .. } => {}
    }
    match core_users::verify_login(&state.store, &login, password).await {
        Ok(user) => {
            if let Ok(mut t) = state.throttle.lock() {
                t.succeeded(addr, &login);
            }
            let cookie = sessions::create_session(&state.store, &user).await.map_err(page_err)?;
            let set = format!(
                "{SESSION_COOKIE}={cookie}{}; Max-Age={}",
                state.http.cookie_attributes("/", "Lax"),
                sessions::SESSION_HOURS * 3600
            );
            let used = format!(
                "{LOGIN_CSRF_COOKIE}={}; Max-Age=0",
                state.http.cookie_attributes("/login", "Strict")
            );
            let mut res = Redirect::to(&next).into_response();
            res.headers_mut().append(header::SET_COOKIE, set.parse().map_err(|_| internal())?);
            res.headers_mut().append(header::SET_COOKIE, used.parse().map_err(|_| internal())?);
            Ok(res)
        }
        Err(CoreError::BadCredentials) => again(StatusCode::UNAUTHORIZED, "Identifiant ou mot de passe incorrect."),
        Err(CoreError::Busy(_)) => again(StatusCode::SERVICE_UNAVAILABLE, "Serveur occupé : réessayez dans un instant."),
        Err(e) => Err(page_err(e)),
    }
}

fn internal() -> AppError {
    AppError::page(StatusCode::INTERNAL_SERVER_ERROR, "en-tête de cookie invalide")
}

fn capitalised(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect::<String>() + ".",
        None => String::new(),
    }
}

pub(super) async fn logout(
    State(state): State<SharedState>,
    user: PageUser,
    Form(fields): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    user.check_csrf(FormData(fields).csrf())?;
    sessions::delete_session(&state.store, &user.user.actor(), &user.cookie)
        .await
        .map_err(page_err)?;
    let clear = format!("{SESSION_COOKIE}={}; Max-Age=0", state.http.cookie_attributes("/", "Lax"));
    Ok(([(header::SET_COOKIE, clear)], Redirect::to("/login")).into_response())
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn next_must_be_a_path_on_this_site() {
        for ok in ["/", "/box-office/orders/3", "/admin/shows?page=2", "/reports/sql%20x"] {
            assert_eq!(safe_next(Some(ok)), ok);
        }
        for bad in [
            "//evil.example",
            "/\\evil.example/",
            "\\\\evil.example",
            "https://evil.example",
            "evil.example",
            "/x\r\nSet-Cookie: a=b",
            "/\tevil",
            "/é",
            "",
        ] {
            assert_eq!(safe_next(Some(bad)), "/", "{bad:?}");
        }
        assert_eq!(safe_next(Some(&format!("/{}", "a".repeat(5000)))), "/");
        assert_eq!(safe_next(None), "/");
    }
}
