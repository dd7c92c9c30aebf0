//! `POST /api/v1/sql`: read-only SQL on the warehouse, for users with `warehouse.query`.

use super::dto::ErrorBody;
use crate::auth::perm::{Api, WarehouseQuery};
use crate::error::{ApiJson, AppError, AppResult, Surface};
use crate::SharedState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use parterre_core::auth::permissions::WAREHOUSE_EVENTS;
use parterre_core::auth::AuthUser;
use parterre_warehouse::catalog::{Table, TABLES};
use parterre_warehouse::{QueryOptions, QueryResult, WarehouseError};
use serde::{Deserialize, Serialize};
use std::time::Duration;
use utoipa::ToSchema;

/// Most rows a query returns (more are cut, and `truncated` says so).
pub const MAX_ROWS: usize = 10_000;
/// Longest a query waits for the pipeline to bring in what was committed before it.
const CATCH_UP: Duration = Duration::from_secs(2);

/// A query.
#[derive(Debug, Deserialize, ToSchema)]
pub struct SqlRequest {
    /// One read-only statement (SELECT, WITH, EXPLAIN, SHOW…) over the warehouse tables.
    pub query: String,
    /// Rows wanted at most (default and ceiling 10,000).
    pub max_rows: Option<usize>,
}

/// A column of the answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct SqlColumn {
    /// Name.
    pub name: String,
    /// Type as the engine names it (`Int64`, `Decimal128(12, 2)`, `Utf8`, `Timestamp(µs, "UTC")`…).
    #[serde(rename = "type")]
    pub data_type: String,
}

/// The answer: integers and booleans as JSON values, decimals (money) as exact strings,
/// instants as ISO 8601 text, NULL as null.
#[derive(Debug, Serialize, ToSchema)]
pub struct SqlResponse {
    /// The columns, in order.
    pub columns: Vec<SqlColumn>,
    /// One array of values per row.
    #[schema(value_type = Vec<Vec<Object>>)]
    pub rows: Vec<Vec<serde_json::Value>>,
    /// More rows existed than were returned.
    pub truncated: bool,
}

/// Maps a warehouse refusal to an HTTP answer on `surface`.
pub fn warehouse_error(e: WarehouseError, surface: Surface) -> AppError {
    let status = match &e {
        WarehouseError::Sql(_) => StatusCode::BAD_REQUEST,
        WarehouseError::NotAQuery(_) => StatusCode::UNPROCESSABLE_ENTITY,
        WarehouseError::Timeout(_) => StatusCode::REQUEST_TIMEOUT,
        WarehouseError::Memory { .. } | WarehouseError::OutOfRange { .. } => StatusCode::UNPROCESSABLE_ENTITY,
        WarehouseError::Busy(_) => StatusCode::TOO_MANY_REQUESTS,
        WarehouseError::Io(_) => StatusCode::INTERNAL_SERVER_ERROR,
    };
    if status == StatusCode::INTERNAL_SERVER_ERROR {
        tracing::error!(error = %e, "entrepôt");
    }
    match surface {
        Surface::Api => AppError::api(status, e.to_string()),
        Surface::Page => AppError::page(status, e.to_string()),
    }
}

/// The tables `user` may read: the raw `events` only with `warehouse.events`.
pub fn tables_for(user: &AuthUser) -> Vec<Table> {
    TABLES
        .into_iter()
        .filter(|t| *t != Table::Events || user.can(WAREHOUSE_EVENTS))
        .collect()
}

/// Runs `sql` for `user` on this app's warehouse, within the engine's limits (memory, time,
/// places in the queue), on the engine's threads.
pub async fn run(
    state: &SharedState,
    user: &AuthUser,
    sql: &str,
    max_rows: usize,
    surface: Surface,
    target: &str,
) -> AppResult<QueryResult> {
    let Some(dir) = state.warehouse_dir() else {
        return Err(warehouse_error(
            WarehouseError::Io("cet exécutable n'a pas d'entrepôt (dossier de données absent)".into()),
            surface,
        ));
    };
    // The raw events need a permission of their own; without it the table does not exist
    // for this session either.
    let read = parterre_warehouse::query::tables_read(sql).map_err(|e| warehouse_error(e, surface))?;
    if read.iter().any(|t| t == Table::Events.name()) {
        crate::auth::require(state, user, WAREHOUSE_EVENTS, target, surface).await?;
    }
    // Everything committed before the query is in it: the pipeline is asked to catch up.
    if !state.pipeline.caught_up(&state.store, CATCH_UP).await {
        tracing::warn!("entrepôt en retard : requête sur les données déjà projetées");
    }
    let engine = &state.warehouse;
    engine
        .query(
            &user.id.to_string(),
            &dir,
            &tables_for(user),
            sql,
            QueryOptions {
                max_rows: max_rows.clamp(1, MAX_ROWS),
                timeout: engine.limits().timeout,
            },
        )
        .await
        .map_err(|e| warehouse_error(e, surface))
}

/// Run a read-only SQL query on the warehouse.
#[utoipa::path(post, path = "/api/v1/sql", tag = "warehouse", request_body = SqlRequest,
    responses((status = 200, description = "Columns and rows", body = SqlResponse),
              (status = 400, description = "SQL error (the engine's message)", body = ErrorBody),
              (status = 401, description = "Not authenticated", body = ErrorBody),
              (status = 403, description = "Permission warehouse.query missing, or warehouse.events for the raw `events` table", body = ErrorBody),
              (status = 408, description = "Time limit (30 s by default) exceeded: the query is stopped", body = ErrorBody),
              (status = 422, description = "Not a query (DDL, DML, SET…), or more memory needed than the limit (1 GiB by default)", body = ErrorBody),
              (status = 429, description = "Too many queries running (overall or for this user): try again in a moment", body = ErrorBody)))]
pub async fn sql(
    State(state): State<SharedState>,
    user: Api<WarehouseQuery>,
    ApiJson(req): ApiJson<SqlRequest>,
) -> AppResult<Json<SqlResponse>> {
    let r = run(
        &state,
        &user.0,
        &req.query,
        req.max_rows.unwrap_or(MAX_ROWS),
        Surface::Api,
        "/api/v1/sql",
    )
    .await?;
    Ok(Json(SqlResponse {
        columns: r
            .columns
            .into_iter()
            .map(|c| SqlColumn {
                name: c.name,
                data_type: c.data_type,
            })
            .collect(),
        rows: r.rows,
        truncated: r.truncated,
    }))
}
