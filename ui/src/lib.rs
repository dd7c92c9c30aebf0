//! Parterre web application: server-rendered pages (minijinja), the JSON API under `/api/v1`
//! and its OpenAPI document, generated from the handlers.
//!
//! This crate owns HTTP: routing, sessions, CSRF, permission checks at every route, and the
//! translation of core errors into pages or JSON. It must hold no business rule: handlers
//! parse, check rights, call `parterre-core`, and render.

pub mod api;
pub mod auth;
pub mod error;
pub mod extract;
pub mod layers;
pub mod pages;
pub mod settings;
pub mod templates;
pub mod tickets;

use axum::Router;
use parterre_core::auth::throttle::LoginThrottle;
use parterre_core::Store;
use std::path::PathBuf;
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
    /// The data folder (event log and warehouse), when the app runs the pipeline and
    /// answers warehouse queries.
    pub data_dir: Option<PathBuf>,
    /// The background pipeline's handle (a query waits for it to catch up first).
    pub pipeline: parterre_pipelines::pipeline::Follow,
    /// The HTTP server's limits and cookie policy.
    pub http: settings::HttpSettings,
    /// Where warehouse queries run: shared memory pool, query threads, places in the queue.
    pub warehouse: parterre_warehouse::Engine,
    /// The ticket signing key (from the environment or the data folder's key file, never
    /// from the database).
    pub keys: parterre_core::access::keys::Keys,
}

impl AppState {
    /// The warehouse folder, if this app has one.
    pub fn warehouse_dir(&self) -> Option<PathBuf> {
        self.data_dir.as_deref().map(parterre_pipelines::pipeline::warehouse_dir)
    }

    /// The ticket signer, loaded at first use and kept.
    pub async fn ticket_signer(&self) -> Result<Arc<parterre_core::access::TicketSigner>, parterre_core::CoreError> {
        self.keys.signer(&self.store).await
    }
}

/// Shared state handle.
pub type SharedState = Arc<AppState>;

/// Builds the state around a store.
pub fn state(store: Store) -> SharedState {
    state_with_ttl(store, parterre_core::sales::cart_ttl_seconds(None))
}

/// Builds the state with a given cart validity (seconds).
pub fn state_with_ttl(store: Store, cart_ttl: i64) -> SharedState {
    state_with_data(store, cart_ttl, None)
}

/// Builds the state with a data folder: [`serve_with`] then runs the event pipeline on it
/// and the warehouse answers queries from it.
pub fn state_with_data(store: Store, cart_ttl: i64, data_dir: Option<PathBuf>) -> SharedState {
    state_with_warehouse(
        store,
        cart_ttl,
        data_dir,
        parterre_warehouse::Engine::new(parterre_warehouse::Limits::from_env()),
    )
}

/// Builds the state with a data folder and the warehouse engine queries run on.
pub fn state_with_warehouse(store: Store, cart_ttl: i64, data_dir: Option<PathBuf>, warehouse: parterre_warehouse::Engine) -> SharedState {
    Arc::new(AppState {
        store,
        templates: templates::Templates::new(),
        throttle: Mutex::new(LoginThrottle::new()),
        cart_ttl,
        http: settings::HttpSettings::load(data_dir.as_deref()),
        keys: parterre_core::access::keys::Keys::from_env(data_dir.clone()),
        data_dir,
        pipeline: Default::default(),
        warehouse,
    })
}

/// The whole application: pages, API and OpenAPI document.
pub fn router(state: SharedState) -> Router {
    let (api_router, openapi) = api::router().split_for_parts();
    let openapi_json = openapi.to_pretty_json().unwrap_or_else(|_| "{}".into());
    let http = state.http.clone();
    let app = Router::new()
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
        .with_state(state);
    layers::apply(app, &http)
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

/// How often the background pipeline looks for new events (the warehouse is meant to be
/// fresh within 2 seconds).
const PIPELINE_INTERVAL: std::time::Duration = std::time::Duration::from_millis(250);

/// Runs the event pipeline of `data` until the task is aborted (a crash at any point is
/// harmless: see `parterre_pipelines::pipeline`).
async fn run_pipeline(store: Store, data: PathBuf, follow: parterre_pipelines::pipeline::Follow) {
    let opened = tokio::task::spawn_blocking(move || parterre_pipelines::Pipeline::open(&data, Default::default())).await;
    match opened {
        Ok(Ok(mut p)) => p.follow_with(&store, PIPELINE_INTERVAL, &follow, std::future::pending()).await,
        Ok(Err(e)) => tracing::error!("pipeline non démarré : {e}"),
        Err(e) => tracing::error!("pipeline non démarré : {e}"),
    }
}

/// Serves a prepared state; a background task releases expired cart holds every 5 seconds (and,
/// hourly, forgets idempotency answers older than a day), another runs the event pipeline when
/// the state has a data folder.
pub async fn serve_with(
    state: SharedState,
    listener: TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let sweeper_store = state.store.clone();
    let sweeper = tokio::spawn(async move {
        let mut rounds: u64 = 0;
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(5));
        loop {
            tick.tick().await;
            rounds += 1;
            // Answers kept for Idempotency-Key replays go after 24 hours (looked at hourly).
            if rounds % 720 == 1 {
                if let Err(e) = parterre_core::idempotency::prune(&sweeper_store).await {
                    tracing::warn!(error = %e, "idempotency prune failed");
                }
            }
            if let Err(e) = parterre_core::sales::carts::sweep_expired(&sweeper_store).await {
                tracing::warn!(error = %e, "expiry sweep failed");
            }
        }
    });
    let pipeline = state
        .data_dir
        .clone()
        .map(|data| tokio::spawn(run_pipeline(state.store.clone(), data, state.pipeline.clone())));
    let app = router(state).into_make_service_with_connect_info::<std::net::SocketAddr>();
    let result = axum::serve(listener, app).with_graceful_shutdown(shutdown).await;
    sweeper.abort();
    if let Some(p) = pipeline {
        p.abort();
    }
    result
}
