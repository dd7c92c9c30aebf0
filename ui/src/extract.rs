//! Path and query extractors whose rejections speak our error shape.
//!
//! axum's own `Path` and `Query` answer a malformed parameter (`/api/v1/orders/abc`,
//! `?days=beaucoup`) with an English plain-text 400. These wrappers keep axum's parsing and
//! answer with [`AppError`]: the JSON error body under `/api`, the French error page elsewhere.
//! They are named `Path` and `Query` so handlers (and utoipa, which recognises parameters by
//! those names) only change their `use` line; the client address for the login throttle is
//! read here too.

use crate::error::AppError;
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::StatusCode;
use serde::de::DeserializeOwned;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

/// The 400 for a parameter that does not parse, shown where the request came from.
fn bad_parameter(parts: &Parts, what: &str, detail: String) -> AppError {
    let message = format!("paramètre invalide ({what}) : {detail}");
    if parts.uri.path().starts_with("/api/") {
        AppError::api(StatusCode::BAD_REQUEST, message)
    } else {
        AppError::page(StatusCode::BAD_REQUEST, message)
    }
}

/// Explains an axum parse failure in French, keeping serde's precise part (field and value).
fn detail(text: &str) -> String {
    // axum: "Failed to deserialize query string: days: invalid digit found in string",
    // "Invalid URL: Cannot parse `abc` to a `i64`". The part after the first ':' names the
    // culprit; it is clipped so an enormous parameter is not echoed back whole.
    let cause = text.split_once(": ").map(|(_, c)| c).unwrap_or(text);
    clip(cause)
}

/// Path parameters (`/orders/{id}`); a malformed one answers 400 in our error shape.
#[derive(Debug, Clone, Copy, Default)]
pub struct Path<T>(pub T);

impl<T, S> FromRequestParts<S> for Path<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        use axum::extract::path::ErrorKind;
        use axum::extract::rejection::PathRejection;
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(v)) => Ok(Path(v)),
            Err(PathRejection::FailedToDeserializePathParams(e)) => {
                let why = match e.kind() {
                    ErrorKind::ParseErrorAtKey {
                        key, value, expected_type, ..
                    } => format!("« {} » ne convient pas pour « {key} » ({})", clip(value), expected(expected_type)),
                    ErrorKind::ParseErrorAtIndex { value, expected_type, .. } | ErrorKind::ParseError { value, expected_type } => {
                        format!("« {} » ne convient pas ({})", clip(value), expected(expected_type))
                    }
                    ErrorKind::InvalidUtf8InPathParam { key } => format!("« {key} » n'est pas de l'UTF-8 valide"),
                    _ => detail(&e.body_text()),
                };
                Err(bad_parameter(parts, "chemin", why))
            }
            Err(e) => {
                tracing::error!(error = %e.body_text(), "path extractor used on a route without parameters");
                let mut err = bad_parameter(parts, "chemin", "route mal configurée".into());
                err.status = StatusCode::INTERNAL_SERVER_ERROR;
                Err(err)
            }
        }
    }
}

/// What a Rust type name means to a user.
fn expected(type_name: &str) -> &'static str {
    match type_name.rsplit("::").next().unwrap_or(type_name) {
        "i8" | "i16" | "i32" | "i64" | "u8" | "u16" | "u32" | "u64" | "usize" | "isize" => "nombre entier attendu",
        "f32" | "f64" | "Decimal" => "nombre attendu",
        "bool" => "true ou false attendu",
        _ => "valeur d'un autre type attendue",
    }
}

/// At most 100 characters of a user's value, to echo it back.
fn clip(value: &str) -> String {
    let mut out: String = value.chars().take(100).collect();
    if value.chars().count() > 100 {
        out.push('…');
    }
    out
}

/// Query-string parameters; a malformed query answers 400 in our error shape.
#[derive(Debug, Clone, Copy, Default)]
pub struct Query<T>(pub T);

impl<T, S> FromRequestParts<S> for Query<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(v)) => Ok(Query(v)),
            Err(e) => Err(bad_parameter(parts, "requête", detail(&e.body_text()))),
        }
    }
}

/// The client's address as the server saw it (the TCP peer). Requests served without
/// connection information (an in-process test router) count as 0.0.0.0.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub IpAddr);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let addr = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip())
            .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
        Ok(ClientAddr(addr))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::routing::get;
    use axum::Router;
    use tower::ServiceExt;

    async fn call(app: Router, uri: &str) -> (StatusCode, String, String) {
        let r = app
            .oneshot(axum::http::Request::get(uri).body(Body::empty()).unwrap())
            .await
            .unwrap();
        let status = r.status();
        let ct = r
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default();
        let body = axum::body::to_bytes(r.into_body(), 1 << 20).await.unwrap();
        (status, ct, String::from_utf8_lossy(&body).into_owned())
    }

    #[derive(serde::Deserialize)]
    struct Days {
        #[allow(dead_code)]
        days: i64,
    }

    fn app() -> Router {
        Router::new()
            .route("/api/v1/orders/{id}", get(|Path(id): Path<i64>| async move { id.to_string() }))
            .route("/api/v1/options", get(|Query(_q): Query<Days>| async { "ok" }))
            .route("/box-office/orders/{id}", get(|Path(id): Path<i64>| async move { id.to_string() }))
    }

    #[tokio::test]
    async fn malformed_parameters_answer_400_in_our_shape() {
        let (s, ct, body) = call(app(), "/api/v1/orders/abc").await;
        assert_eq!(s, StatusCode::BAD_REQUEST);
        assert!(ct.starts_with("application/json"), "{ct}");
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert!(v["error"].as_str().unwrap().starts_with("paramètre invalide"), "{body}");
        assert!(body.contains("« abc »") && body.contains("nombre entier"), "{body}");
        assert!(v["reason"].is_string());
        let (s, ct, body) = call(app(), "/api/v1/options?days=beaucoup").await;
        assert_eq!(s, StatusCode::BAD_REQUEST);
        assert!(ct.starts_with("application/json") && body.contains("days"), "{body}");
        let (s, ct, _) = call(app(), "/box-office/orders/abc").await;
        assert_eq!(s, StatusCode::BAD_REQUEST);
        assert!(ct.starts_with("text/html"), "{ct}");
        assert_eq!(call(app(), "/api/v1/orders/12").await.2, "12");
    }

    #[test]
    fn details_are_clipped() {
        let long = format!("Invalid URL: {}", "x".repeat(10_000));
        assert!(detail(&long).chars().count() <= 101);
        assert_eq!(
            detail("Failed to deserialize query string: days: invalid digit"),
            "days: invalid digit"
        );
    }
}
