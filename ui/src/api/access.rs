//! Entry-control endpoints (permission `access.scan`): checking a ticket code against the
//! ticket's current state, and what an offline scanner needs (the public keys and the codes
//! revoked since its last call).

use super::dto::ErrorBody;
use crate::auth::perm::{AccessScan, Api};
use crate::error::{ApiJson, AppError, AppResult};
use crate::SharedState;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::Json;
use parterre_core::access::control::{self, CodeStatus, Revoked};
use serde::{Deserialize, Serialize};
use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, Schema, Type};
use utoipa::openapi::RefOr;
use utoipa::{IntoParams, ToSchema};

/// A code read from a ticket.
#[derive(Debug, Deserialize, ToSchema)]
pub struct VerifyRequest {
    /// The QR code's text (135 characters of base32).
    pub payload: String,
}

/// What the code is worth at the door.
#[derive(Debug, Serialize, ToSchema)]
pub struct VerifyDto {
    /// `valid` (admits), `revoked` (genuine but cancelled, refunded, exchanged or reissued), or
    /// `unknown` (unreadable, bad signature, unknown key or no such ticket).
    #[schema(pattern = "^(valid|revoked|unknown)$")]
    pub status: String,
    /// The ticket (null when unknown).
    pub ticket_id: Option<i64>,
    /// The performance it is for (null when unknown).
    pub performance_id: Option<i64>,
    /// The ticket's status (null when unknown).
    pub state: Option<parterre_core::sales::TicketStatus>,
    /// The ticket's current code version (null when unknown).
    pub barcode_version: Option<u32>,
    /// The version written in the code checked (null when unreadable).
    pub code_version: Option<u32>,
}

/// Check a ticket code: signature, then the ticket's current status and code version.
#[utoipa::path(post, path = "/api/v1/tickets/verify", tag = "access", request_body = VerifyRequest,
    responses((status = 200, description = "valid, revoked or unknown", body = VerifyDto),
              (status = 400, description = "Malformed JSON", body = ErrorBody),
              (status = 401, description = "Not authenticated", body = ErrorBody),
              (status = 403, description = "Permission access.scan missing", body = ErrorBody),
              (status = 415, description = "Not JSON", body = ErrorBody),
              (status = 422, description = "Missing payload", body = ErrorBody)))]
pub async fn verify_ticket(
    State(state): State<SharedState>,
    _: Api<AccessScan>,
    ApiJson(body): ApiJson<VerifyRequest>,
) -> AppResult<Json<VerifyDto>> {
    let signer = state.ticket_signer().await?;
    let v = control::verify(&state.store, &signer, &body.payload).await?;
    Ok(Json(VerifyDto {
        status: match v.status {
            CodeStatus::Valid => "valid",
            CodeStatus::Revoked => "revoked",
            CodeStatus::Unknown => "unknown",
        }
        .into(),
        ticket_id: v.ticket_id,
        performance_id: v.performance_id,
        state: v.state,
        barcode_version: v.barcode_version,
        code_version: v.code_version,
    }))
}

/// A public key for offline checks.
#[derive(Debug, Serialize, ToSchema)]
pub struct AccessKeyDto {
    /// The id written in the codes (second byte of the payload).
    pub key_id: u8,
    /// Ed25519 public key, base64url without padding (43 characters).
    pub public_key: String,
    /// `Ed25519`.
    pub algorithm: String,
}

/// The public keys that verify ticket codes (never the secret).
#[utoipa::path(get, path = "/api/v1/access/keys", tag = "access",
    responses((status = 200, description = "Public keys", body = [AccessKeyDto]),
              (status = 401, description = "Not authenticated", body = ErrorBody),
              (status = 403, description = "Permission access.scan missing", body = ErrorBody)))]
pub async fn access_keys(State(state): State<SharedState>, _: Api<AccessScan>) -> AppResult<Json<Vec<AccessKeyDto>>> {
    let signer = state.ticket_signer().await?;
    Ok(Json(
        control::public_keys(&signer)
            .into_iter()
            .map(|k| AccessKeyDto {
                key_id: k.key_id,
                public_key: k.public_key,
                algorithm: k.algorithm.into(),
            })
            .collect(),
    ))
}

/// Where the revocation list resumes.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RevocationQuery {
    /// The `next` of the previous answer, or an RFC 3339 instant; from the beginning if absent.
    pub since: Option<String>,
    /// Entries at most (1 to 5000, default 1000).
    pub limit: Option<i64>,
}

/// `"all"` or the lowest still-valid version.
fn min_valid_version_schema() -> RefOr<Schema> {
    OneOfBuilder::new()
        .item(ObjectBuilder::new().schema_type(Type::Integer).minimum(Some(1)))
        .item(ObjectBuilder::new().schema_type(Type::String).enum_values(Some(["all"])))
        .description(Some("`all` (no code of this ticket admits) or the lowest code version still valid"))
        .into()
}

/// One revoked ticket.
#[derive(Debug, Serialize, ToSchema)]
pub struct RevocationDto {
    /// The ticket.
    pub ticket_id: i64,
    /// `all`, or the lowest code version still valid (older codes are revoked).
    #[schema(schema_with = min_valid_version_schema)]
    pub min_valid_version: serde_json::Value,
    /// When (RFC 3339, UTC).
    pub revoked_at: String,
}

/// A page of revocations.
#[derive(Debug, Serialize, ToSchema)]
pub struct RevocationPageDto {
    /// In the order they happened. An entry may come again in a later page: applying it twice
    /// is harmless.
    pub revocations: Vec<RevocationDto>,
    /// Pass as `since` next time.
    pub next: String,
}

/// Ticket codes revoked since a cursor, for scanners that check offline.
#[utoipa::path(get, path = "/api/v1/access/revocations", tag = "access", params(RevocationQuery),
    responses((status = 200, description = "Revocations and the next cursor", body = RevocationPageDto),
              (status = 400, description = "Malformed query", body = ErrorBody),
              (status = 401, description = "Not authenticated", body = ErrorBody),
              (status = 403, description = "Permission access.scan missing", body = ErrorBody),
              (status = 422, description = "Bad since or limit", body = ErrorBody)))]
pub async fn revocations(
    State(state): State<SharedState>,
    _: Api<AccessScan>,
    query: Result<Query<RevocationQuery>, QueryRejection>,
) -> AppResult<Json<RevocationPageDto>> {
    let Query(q) = query.map_err(|e| AppError::api(StatusCode::BAD_REQUEST, format!("paramètres invalides : {}", e.body_text())))?;
    let page = control::revocations(&state.store, q.since.as_deref(), q.limit.unwrap_or(1_000)).await?;
    Ok(Json(RevocationPageDto {
        revocations: page
            .revocations
            .into_iter()
            .map(|r| RevocationDto {
                ticket_id: r.ticket_id,
                min_valid_version: match r.min_valid_version {
                    Revoked::All => serde_json::Value::from("all"),
                    Revoked::Below(v) => serde_json::Value::from(v),
                },
                revoked_at: r.revoked_at,
            })
            .collect(),
        next: page.next,
    }))
}
