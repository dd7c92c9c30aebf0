//! The layers every request goes through, outermost first: a request id and its tracing span,
//! then, as one middleware, security headers, error bodies in our shape, a panic net, a request
//! timeout and a cap on requests in flight; last a body-size limit.
//!
//! They exist because one hostile request must not take the server down or make it answer
//! in a shape clients do not expect: a handler that panics answers 500 and the process goes on;
//! a client that sends its body one byte a minute is cut off; axum's own plain-text rejections
//! (405, 413…) become the JSON error body under `/api` and the French error page elsewhere.

use crate::error::{AppError, Surface};
use crate::settings::HttpSettings;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{header, HeaderName, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::Router;
use futures_util::FutureExt;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use tokio::sync::Semaphore;
use tower_http::trace::TraceLayer;

/// The request id header, taken from the client when it is a plausible id, generated otherwise,
/// and echoed in the answer.
pub static X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Pages use only our own files: no inline script or style, no framing by other sites.
pub const CONTENT_SECURITY_POLICY: &str =
    "default-src 'self'; base-uri 'none'; object-src 'none'; form-action 'self'; frame-ancestors 'none'";

/// Wraps `router` in every layer, with the limits of `settings`.
pub fn apply(router: Router, settings: &HttpSettings) -> Router {
    let guard = Arc::new(Guard {
        slots: Arc::new(Semaphore::new(settings.max_in_flight.max(1))),
        timeout: settings.request_timeout,
    });
    // `Router::layer` wraps what is already there: the last one added runs first. The guards
    // are one middleware, not five: each `from_fn` layer boxes a service and a future per
    // request, which cost the sales bench ~8 % at 64 requests in flight.
    router
        .layer(DefaultBodyLimit::max(settings.max_body_bytes))
        .layer(middleware::from_fn(move |req: Request, next: Next| {
            let guard = guard.clone();
            async move { guarded(&guard, req, next).await }
        }))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|req: &Request| {
                    let id = req.headers().get(&X_REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or("-");
                    tracing::info_span!("requête", id = %id, method = %req.method(), path = %req.uri().path())
                })
                // A failure is logged where it happens (panic net, internal errors), once.
                .on_failure(()),
        )
        .layer(middleware::from_fn(request_id))
}

/// The limits [`guarded`] applies.
struct Guard {
    slots: Arc<Semaphore>,
    timeout: std::time::Duration,
}

/// From the outside in: security headers on every answer, error answers rewritten in our
/// shape, the panic net, the request timeout, the cap on requests in flight.
async fn guarded(guard: &Guard, req: Request, next: Next) -> Response {
    let surface = surface_of(req.uri().path());
    let (method, uri) = (req.method().clone(), req.uri().clone());
    let res = match AssertUnwindSafe(time_limit(
        guard.timeout,
        surface,
        limit_in_flight(&guard.slots, surface, req, next),
    ))
    .catch_unwind()
    .await
    {
        Ok(res) => res,
        Err(payload) => {
            tracing::error!(panic = %panic_text(payload.as_ref()), "un traitement a paniqué ; réponse 500");
            error_for(
                surface,
                StatusCode::INTERNAL_SERVER_ERROR,
                "erreur interne du serveur ; l'incident est consigné",
            )
            .into_response()
        }
    };
    security_headers(error_body(surface, method.as_str(), uri.path(), res).await)
}

/// Under `/api` errors are JSON; elsewhere, pages.
fn surface_of(path: &str) -> Surface {
    if path == "/api" || path.starts_with("/api/") {
        Surface::Api
    } else {
        Surface::Page
    }
}

fn error_for(surface: Surface, status: StatusCode, message: impl Into<String>) -> AppError {
    match surface {
        Surface::Api => AppError::api(status, message),
        Surface::Page => AppError::page(status, message),
    }
}

/// A request id a client may choose: 1 to 64 letters, digits, `-`, `_` or `.`.
fn plausible_id(v: &HeaderValue) -> bool {
    let b = v.as_bytes();
    !b.is_empty() && b.len() <= 64 && b.iter().all(|c| c.is_ascii_alphanumeric() || b"-_.".contains(c))
}

/// A new request id: 16 hex digits drawn once per process, then a counter (32 characters).
/// Unique within a run and across restarts, without asking the system for randomness on
/// every request (a request id is a label for the logs, not a secret).
fn fresh_request_id() -> HeaderValue {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::OnceLock;
    static PREFIX: OnceLock<String> = OnceLock::new();
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let prefix = PREFIX.get_or_init(|| parterre_core::auth::random_secret()[..16].to_string());
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    HeaderValue::from_str(&format!("{prefix}{n:016x}")).unwrap_or(HeaderValue::from_static("-"))
}

async fn request_id(mut req: Request, next: Next) -> Response {
    let id = match req.headers().get(&X_REQUEST_ID) {
        Some(v) if plausible_id(v) => v.clone(),
        _ => fresh_request_id(),
    };
    req.headers_mut().insert(X_REQUEST_ID.clone(), id.clone());
    let mut res = next.run(req).await;
    res.headers_mut().insert(X_REQUEST_ID.clone(), id);
    res
}

fn security_headers(mut res: Response) -> Response {
    let h = res.headers_mut();
    for (name, value) in [
        (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "same-origin"),
        (header::X_FRAME_OPTIONS, "DENY"),
    ] {
        h.entry(name).or_insert(HeaderValue::from_static(value));
    }
    res
}

/// What a bare error status means, in French.
fn message_for(status: StatusCode, method: &str, path: &str) -> String {
    match status {
        StatusCode::BAD_REQUEST => "requête invalide".into(),
        StatusCode::NOT_FOUND => format!("page introuvable : {path}"),
        StatusCode::METHOD_NOT_ALLOWED => format!("méthode {method} non permise sur {path}"),
        StatusCode::PAYLOAD_TOO_LARGE => "corps de requête trop volumineux".into(),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "type de contenu non pris en charge".into(),
        StatusCode::UNPROCESSABLE_ENTITY => "saisie invalide".into(),
        StatusCode::TOO_MANY_REQUESTS => "trop de requêtes : réessayez dans un instant".into(),
        s if s.is_server_error() => "erreur interne du serveur ; l'incident est consigné".into(),
        s => format!("requête refusée ({})", s.as_u16()),
    }
}

/// Error answers that are not already ours (empty, or axum's plain text) are rewritten: the
/// JSON error body under `/api`, the error page elsewhere. Headers such as `Allow` are kept.
async fn error_body(surface: Surface, method: &str, path: &str, res: Response) -> Response {
    let status = res.status();
    if !(status.is_client_error() || status.is_server_error()) || path == "/healthz" {
        return res;
    }
    let ours = match (surface, res.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok())) {
        (_, None) => false,
        (Surface::Api, Some(ct)) => ct.starts_with("application/json") || ct.starts_with("application/pdf"),
        (Surface::Page, Some(ct)) => !ct.starts_with("text/plain"),
    };
    if ours {
        return res;
    }
    let (parts, body) = res.into_parts();
    if let Ok(text) = axum::body::to_bytes(body, 64 * 1024).await {
        if !text.is_empty() {
            tracing::debug!(detail = %String::from_utf8_lossy(&text), "réponse d'erreur réécrite");
        }
    }
    let mut out = error_for(surface, status, message_for(status, method, path)).into_response();
    for (name, value) in parts.headers.iter() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            out.headers_mut().entry(name.clone()).or_insert(value.clone());
        }
    }
    out
}

/// The text of a panic's payload.
fn panic_text(payload: &(dyn std::any::Any + Send)) -> &str {
    payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(message non textuel)")
}

/// A request that takes longer than `limit` answers 503 and its connection is closed.
async fn time_limit(limit: std::time::Duration, surface: Surface, work: impl std::future::Future<Output = Response>) -> Response {
    match tokio::time::timeout(limit, work).await {
        Ok(res) => res,
        Err(_) => {
            tracing::warn!(seconds = limit.as_secs(), "requête interrompue : délai dépassé");
            let mut res = error_for(
                surface,
                StatusCode::SERVICE_UNAVAILABLE,
                format!(
                    "délai dépassé : le serveur n'a pas pu répondre en {} s ; réessayez",
                    limit.as_secs()
                ),
            )
            .into_response();
            res.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
            res
        }
    }
}

/// Beyond the cap on requests in flight, 503 at once with `Retry-After: 1`.
async fn limit_in_flight(slots: &Arc<Semaphore>, surface: Surface, req: Request, next: Next) -> Response {
    match slots.clone().try_acquire_owned() {
        Ok(permit) => {
            let res = next.run(req).await;
            drop(permit);
            res
        }
        Err(_) => {
            tracing::warn!("requête refusée : trop de requêtes en cours");
            let mut res = error_for(
                surface,
                StatusCode::SERVICE_UNAVAILABLE,
                "serveur occupé : trop de requêtes en cours ; réessayez dans un instant",
            )
            .into_response();
            res.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            res
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::routing::{get, post};
    use std::time::Duration;
    use tower::ServiceExt;

    async fn boom() -> &'static str {
        panic!("boum")
    }

    async fn boom_formatted() -> &'static str {
        panic!("{}", String::from("boum"))
    }

    fn app(settings: &HttpSettings) -> Router {
        let r = Router::new()
            .route("/api/v1/boom", get(boom))
            .route("/box-office/boom", get(boom_formatted))
            .route(
                "/api/v1/slow",
                get(|| async {
                    tokio::time::sleep(Duration::from_secs(5)).await;
                    "lent"
                }),
            )
            .route("/api/v1/echo", post(|body: String| async move { body.len().to_string() }))
            .route(
                "/api/v1/log",
                get(|| async {
                    tracing::info!("dans le traitement");
                    "ok"
                }),
            );
        apply(r, settings)
    }

    async fn call(app: Router, req: axum::http::Request<Body>) -> (StatusCode, axum::http::HeaderMap, String) {
        let r = app.oneshot(req).await.unwrap();
        let (status, headers) = (r.status(), r.headers().clone());
        let body = axum::body::to_bytes(r.into_body(), 1 << 22).await.unwrap();
        (status, headers, String::from_utf8_lossy(&body).into_owned())
    }

    fn get_req(uri: &str) -> axum::http::Request<Body> {
        axum::http::Request::get(uri).body(Body::empty()).unwrap()
    }

    fn json(body: &str) -> serde_json::Value {
        serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}"))
    }

    #[tokio::test]
    async fn a_slow_request_is_cut_off_and_a_full_server_refuses_at_once() {
        let settings = HttpSettings {
            request_timeout: Duration::from_millis(200),
            max_in_flight: 1,
            ..Default::default()
        };
        let a = app(&settings);
        let started = std::time::Instant::now();
        let (s, _, body) = call(a.clone(), get_req("/api/v1/slow")).await;
        assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE);
        assert!(started.elapsed() < Duration::from_secs(2));
        assert!(json(&body)["error"].as_str().unwrap().contains("délai dépassé"));
        // One slow request in flight: the next is refused without waiting.
        let busy = tokio::spawn(call(a.clone(), get_req("/api/v1/slow")));
        tokio::time::sleep(Duration::from_millis(50)).await;
        let (s, h, body) = call(a.clone(), get_req("/api/v1/log")).await;
        assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(h["retry-after"], "1");
        assert!(json(&body)["error"].as_str().unwrap().contains("serveur occupé"));
        busy.await.unwrap();
        assert_eq!(call(a, get_req("/api/v1/log")).await.0, StatusCode::OK, "the slot is given back");
    }

    #[tokio::test]
    async fn bare_errors_get_our_body_and_every_answer_its_headers() {
        let settings = HttpSettings {
            max_body_bytes: 1000,
            ..Default::default()
        };
        let a = app(&settings);
        let (s, h, body) = call(a.clone(), axum::http::Request::delete("/api/v1/log").body(Body::empty()).unwrap()).await;
        assert_eq!(s, StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(h["allow"], "GET,HEAD");
        assert!(json(&body)["error"].as_str().unwrap().contains("méthode DELETE non permise"));
        let big = axum::http::Request::post("/api/v1/echo")
            .body(Body::from("x".repeat(5000)))
            .unwrap();
        let (s, _, body) = call(a.clone(), big).await;
        assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE);
        assert!(json(&body)["error"].as_str().unwrap().contains("trop volumineux"));
        let (s, h, body) = call(a.clone(), get_req("/api/v1/log")).await;
        assert_eq!((s, body.as_str()), (StatusCode::OK, "ok"));
        assert!(h["content-security-policy"].to_str().unwrap().contains("frame-ancestors 'none'"));
        assert_eq!(h["x-content-type-options"], "nosniff");
        assert_eq!(h["x-frame-options"], "DENY");
        assert_eq!(h["referrer-policy"], "same-origin");
        assert_eq!(h["x-request-id"].len(), 32, "an id is made when the client gives none");
    }

    /// Everything logged in this test process (one global subscriber: scoped ones miss
    /// callsites that tests on other threads met first).
    fn log_sink() -> Arc<std::sync::Mutex<Vec<u8>>> {
        use std::sync::{Mutex, OnceLock};
        #[derive(Clone)]
        struct Sink(Arc<Mutex<Vec<u8>>>);
        impl std::io::Write for Sink {
            fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(b);
                Ok(b.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        static SINK: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
        SINK.get_or_init(|| {
            let buf = Arc::new(Mutex::new(Vec::new()));
            let writer = Sink(buf.clone());
            let subscriber = tracing_subscriber::fmt()
                .with_writer(move || writer.clone())
                .with_ansi(false)
                .with_max_level(tracing::Level::INFO)
                .finish();
            tracing::subscriber::set_global_default(subscriber).expect("one subscriber");
            buf
        })
        .clone()
    }

    fn with_id(uri: &str, id: &str) -> axum::http::Request<Body> {
        axum::http::Request::get(uri)
            .header("x-request-id", id)
            .body(Body::empty())
            .unwrap()
    }

    #[tokio::test]
    async fn a_panic_answers_500_and_is_logged_once_with_the_request_id() {
        let sink = log_sink();
        let a = app(&HttpSettings::default());
        let (s, h, body) = call(a.clone(), with_id("/api/v1/boom", "panique-api")).await;
        assert_eq!(s, StatusCode::INTERNAL_SERVER_ERROR);
        assert!(h["content-type"].to_str().unwrap().starts_with("application/json"));
        assert!(json(&body)["error"].as_str().unwrap().contains("erreur interne"));
        assert!(!body.contains("boum"), "the panic message stays in the log");
        let (s, h, body) = call(a.clone(), with_id("/box-office/boom", "panique-page")).await;
        assert_eq!(s, StatusCode::INTERNAL_SERVER_ERROR);
        assert!(h["content-type"].to_str().unwrap().starts_with("text/html"));
        assert!(body.contains("Erreur 500"));
        // The app goes on; the client's request id is echoed and on the handler's log line.
        let (s, h, _) = call(a.clone(), with_id("/api/v1/log", "caisse-2.42")).await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(h["x-request-id"], "caisse-2.42");
        let hostile = "x".repeat(5000);
        let (_, h, _) = call(a, with_id("/api/v1/boom", &hostile)).await;
        let made = h["x-request-id"].to_str().unwrap().to_string();
        assert_eq!(made.len(), 32, "an implausible id is replaced");
        let log = String::from_utf8(sink.lock().unwrap().clone()).unwrap();
        let lines = |id: &str, text: &str| log.lines().filter(|l| l.contains(&format!("id={id} ")) && l.contains(text)).count();
        assert_eq!(lines("caisse-2.42", "dans le traitement"), 1, "{log}");
        for id in ["panique-api", "panique-page", made.as_str()] {
            assert_eq!(lines(id, "paniqué"), 1, "each panic is logged once, with its request id: {log}");
        }
        assert!(!log.contains(&hostile));
    }
}
