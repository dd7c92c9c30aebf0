//! Parterre web application: server-rendered pages (minijinja), the JSON API under `/api/v1`
//! and its OpenAPI document, generated from the handlers.
//!
//! This crate owns HTTP: routing, sessions, CSRF, permission checks at every route, and the
//! translation of core errors into pages or JSON. It must hold no business rule: handlers
//! parse, check rights, call `parterre-core`, and render.

pub mod api;
pub mod auth;
pub mod error;
pub mod pages;
pub mod templates;
pub mod tickets;

use axum::Router;
use parterre_core::auth::throttle::LoginThrottle;
use parterre_core::Store;
use std::sync::{Arc, Mutex};
use tokio::net::TcpListener;

/// Everything handlers share.
#[derive(Debug)]
pub struct AppState {
    /// The core store.
    pub store: Store,
    /// Page templates.
    pub templates: templates::Templates,
    /// Failed-login tracker.
    pub throttle: Mutex<LoginThrottle>,
    /// Cart validity in seconds.
    pub cart_ttl: i64,
}

/// Shared state handle.
pub type SharedState = Arc<AppState>;

/// Builds the state around a store.
pub fn state(store: Store) -> SharedState {
    state_with_ttl(store, parterre_core::sales::cart_ttl_seconds(None))
}

/// Builds the state with a given cart validity (seconds).
pub fn state_with_ttl(store: Store, cart_ttl: i64) -> SharedState {
    Arc::new(AppState {
        store,
        templates: templates::Templates::new(),
        throttle: Mutex::new(LoginThrottle::new()),
        cart_ttl,
    })
}

/// The whole application: pages, API and OpenAPI document.
pub fn router(state: SharedState) -> Router {
    let (api_router, openapi) = api::router().split_for_parts();
    let openapi_json = openapi.to_pretty_json().unwrap_or_else(|_| "{}".into());
    Router::new()
        .merge(pages::router())
        .merge(api_router)
        .route(
            "/api/openapi.json",
            axum::routing::get(move || {
                let body = openapi_json.clone();
                async move { ([(axum::http::header::CONTENT_TYPE, "application/json")], body) }
            }),
        )
        .fallback(error::not_found)
        .with_state(state)
}

/// The OpenAPI document, as served at `/api/openapi.json`.
pub fn openapi() -> utoipa::openapi::OpenApi {
    api::router().split_for_parts().1
}

/// Serves the application on `listener` until `shutdown` completes.
pub async fn serve(
    store: Store,
    listener: TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_with(state(store), listener, shutdown).await
}

/// Serves a prepared state; a background task releases expired cart holds every 5 seconds.
pub async fn serve_with(
    state: SharedState,
    listener: TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let sweeper_store = state.store.clone();
    let sweeper = tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(5));
        loop {
            tick.tick().await;
            if let Err(e) = parterre_core::sales::carts::sweep_expired(&sweeper_store).await {
                tracing::warn!(error = %e, "expiry sweep failed");
            }
        }
    });
    let app = router(state);
    let result = axum::serve(listener, app).with_graceful_shutdown(shutdown).await;
    sweeper.abort();
    result
}
