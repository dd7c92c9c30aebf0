//! The `Idempotency-Key` header of the API's money-moving writes, read into the core's
//! [`IdempotencyKey`] (bound to the caller and to the request). The rule itself lives in
//! `parterre_core::idempotency`; this only reads the header.

use crate::auth::ApiUser;
use crate::error::AppError;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::StatusCode;
use parterre_core::idempotency::IdempotencyKey;

/// The raw header, when sent.
#[derive(Debug, Clone, Default)]
pub struct IdempotencyHeader(Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for IdempotencyHeader {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        match parts.headers.get("idempotency-key") {
            None => Ok(IdempotencyHeader(None)),
            Some(v) => v.to_str().map(|s| IdempotencyHeader(Some(s.to_string()))).map_err(|_| {
                AppError::api(
                    StatusCode::BAD_REQUEST,
                    "en-tête Idempotency-Key invalide : 1 à 128 caractères ASCII visibles",
                )
            }),
        }
    }
}

impl IdempotencyHeader {
    /// The key for `operation` on `target` with `body`, scoped to `user`.
    pub fn key(
        &self,
        user: &ApiUser,
        operation: &str,
        target: i64,
        body: &impl serde::Serialize,
    ) -> Result<Option<IdempotencyKey>, AppError> {
        match &self.0 {
            None => Ok(None),
            Some(raw) => IdempotencyKey::new(raw, Some(user.0.id), operation, target, body)
                .map(Some)
                .map_err(|e| AppError::api(StatusCode::BAD_REQUEST, e.to_string())),
        }
    }
}
