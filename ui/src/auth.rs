//! Who is calling: bearer tokens for scripts, session cookies for browsers; permission checks
//! that audit every refusal; CSRF tokens bound to the session. Handlers name the permission
//! they need in their signature ([`perm::Api`], [`perm::Page`]).

pub mod perm;

use crate::error::{AppError, Surface};
use crate::SharedState;
use axum::extract::{FromRequestParts, OptionalFromRequestParts};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use parterre_core::auth::{audit, sessions, tokens, AuthUser};

/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "parterre_session";

/// The cookie value of the request, if any.
pub fn session_cookie(parts: &Parts) -> Option<String> {
    parts
        .headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|kv| {
            let (k, v) = kv.trim().split_once('=')?;
            (k == SESSION_COOKIE && !v.is_empty()).then(|| v.to_string())
        })
}

/// A caller of the JSON API: bearer token or browser session.
#[derive(Debug, Clone)]
pub struct ApiUser(pub AuthUser);

impl FromRequestParts<SharedState> for ApiUser {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &SharedState) -> Result<Self, Self::Rejection> {
        let unauthorized = || {
            AppError::api(
                StatusCode::UNAUTHORIZED,
                "authentification requise : jeton (Authorization: Bearer …) absent ou invalide",
            )
        };
        if let Some(h) = parts.headers.get(header::AUTHORIZATION) {
            let value = h.to_str().map_err(|_| unauthorized())?;
            let secret = value.strip_prefix("Bearer ").ok_or_else(unauthorized)?;
            return match tokens::authenticate(&state.store, secret.trim()).await? {
                Some(u) => Ok(ApiUser(u)),
                None => Err(unauthorized()),
            };
        }
        if let Some(cookie) = session_cookie(parts) {
            if let Some(s) = sessions::find_session(&state.store, &cookie).await? {
                // Session-authenticated writes must come from our own pages (CSRF).
                if !parts.method.is_safe() && !same_origin(parts) {
                    return Err(AppError::api(StatusCode::FORBIDDEN, "requête d'une autre origine refusée"));
                }
                return Ok(ApiUser(s.user));
            }
        }
        Err(unauthorized())
    }
}

/// True unless the browser says the request comes from another site.
fn same_origin(parts: &Parts) -> bool {
    match parts.headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        Some(site) => site == "same-origin" || site == "none",
        None => {
            let host = parts.headers.get(header::HOST).and_then(|v| v.to_str().ok());
            match (parts.headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()), host) {
                (Some(origin), Some(host)) => origin.split("://").nth(1) == Some(host),
                (Some(_), None) => false,
                (None, _) => true,
            }
        }
    }
}

/// A logged-in browser user, with the session's CSRF token.
#[derive(Debug, Clone)]
pub struct PageUser {
    /// The user.
    pub user: AuthUser,
    /// The token every form sends back.
    pub csrf: String,
    /// The cookie value (for logout).
    pub cookie: String,
}

/// Sent to the login page when there is no session.
#[derive(Debug)]
pub struct LoginRedirect(String);

impl IntoResponse for LoginRedirect {
    fn into_response(self) -> Response {
        Redirect::to(&format!("/login?next={}", urlencode(&self.0))).into_response()
    }
}

/// Percent-encodes a path for a query parameter.
pub fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'/' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

impl FromRequestParts<SharedState> for PageUser {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &SharedState) -> Result<Self, Self::Rejection> {
        let target = parts.uri.path().to_string();
        let Some(cookie) = session_cookie(parts) else {
            return Err(LoginRedirect(target).into_response());
        };
        match sessions::find_session(&state.store, &cookie).await {
            Ok(Some(s)) => Ok(PageUser {
                user: s.user,
                csrf: s.csrf_token,
                cookie,
            }),
            Ok(None) => Err(LoginRedirect(target).into_response()),
            Err(e) => Err(AppError::from_core(e, Surface::Page).into_response()),
        }
    }
}

impl OptionalFromRequestParts<SharedState> for PageUser {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &SharedState) -> Result<Option<Self>, Self::Rejection> {
        Ok(<PageUser as FromRequestParts<SharedState>>::from_request_parts(parts, state)
            .await
            .ok())
    }
}

/// Refuses (403, audited) unless `user` holds `perm`.
pub async fn require(state: &SharedState, user: &AuthUser, perm: &str, target: &str, surface: Surface) -> Result<(), AppError> {
    if user.can(perm) {
        return Ok(());
    }
    if let Err(e) = audit::permission_denied(&state.store, &user.actor(), perm, target).await {
        tracing::error!(error = %e, "could not audit a refused access");
    }
    let message = format!(
        "accès refusé : la permission « {perm} » ({}) est nécessaire",
        parterre_core::auth::permissions::label(perm)
    );
    Err(AppError {
        status: StatusCode::FORBIDDEN,
        message,
        fields: None,
        surface,
        extra: None,
    })
}

impl PageUser {
    /// Refuses unless the user holds `perm` (for a route whose permission depends on what it
    /// shows; every other handler names its permission in its type, see [`perm`]).
    pub async fn require(&self, state: &SharedState, perm: &str, target: &str) -> Result<(), AppError> {
        require(state, &self.user, perm, target, Surface::Page).await
    }
    /// Refuses a form whose CSRF token does not match the session's.
    pub fn check_csrf(&self, sent: Option<&str>) -> Result<(), AppError> {
        match sent {
            Some(t) if parterre_core::auth::constant_time_eq(t, &self.csrf) => Ok(()),
            _ => Err(AppError::page(
                StatusCode::FORBIDDEN,
                "formulaire expiré ou d'une autre origine : rechargez la page et recommencez",
            )),
        }
    }
}
