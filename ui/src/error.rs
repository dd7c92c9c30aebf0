//! Errors as HTTP answers: JSON for the API, a French page for browsers.

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::Json;
use parterre_core::{CoreError, FieldErrors};

/// Where an error will be shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Surface {
    /// JSON body `{error, reason?, fields?}`.
    Api,
    /// An HTML page.
    Page,
}

/// An error answer.
#[derive(Debug)]
pub struct AppError {
    /// HTTP status.
    pub status: StatusCode,
    /// Message for people.
    pub message: String,
    /// Per-field messages (422).
    pub fields: Option<FieldErrors>,
    /// JSON or HTML.
    pub surface: Surface,
    /// More JSON fields for the API body (alternatives to a sold-out performance…).
    pub extra: Option<serde_json::Value>,
}

impl AppError {
    /// An error with a status and message, for the API.
    pub fn api(status: StatusCode, message: impl Into<String>) -> Self {
        AppError {
            status,
            message: message.into(),
            fields: None,
            surface: Surface::Api,
            extra: None,
        }
    }
    /// An error with a status and message, for pages.
    pub fn page(status: StatusCode, message: impl Into<String>) -> Self {
        AppError {
            status,
            message: message.into(),
            fields: None,
            surface: Surface::Page,
            extra: None,
        }
    }
    /// The same error shown as a page.
    pub fn on_page(mut self) -> Self {
        self.surface = Surface::Page;
        self
    }
    /// Maps a core error for `surface`.
    pub fn from_core(e: CoreError, surface: Surface) -> Self {
        let (status, fields) = match &e {
            CoreError::Invalid(f) => (StatusCode::UNPROCESSABLE_ENTITY, Some(f.clone())),
            CoreError::NotFound(_) => (StatusCode::NOT_FOUND, None),
            CoreError::Conflict(_) => (StatusCode::CONFLICT, None),
            CoreError::Gone(_) => (StatusCode::GONE, None),
            CoreError::BadCredentials => (StatusCode::UNAUTHORIZED, None),
            CoreError::Forbidden(_) => (StatusCode::FORBIDDEN, None),
            CoreError::Busy(_) => (StatusCode::SERVICE_UNAVAILABLE, None),
            CoreError::Database(_) | CoreError::Migration(_) | CoreError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, None),
        };
        let message = if status == StatusCode::INTERNAL_SERVER_ERROR {
            tracing::error!(error = %e, "internal error");
            "erreur interne du serveur ; l'incident est consigné".to_string()
        } else {
            e.to_string()
        };
        AppError {
            status,
            message,
            fields,
            surface,
            extra: None,
        }
    }
}

impl From<CoreError> for AppError {
    fn from(e: CoreError) -> Self {
        AppError::from_core(e, Surface::Api)
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        match self.surface {
            Surface::Api => {
                // `reason` is the plain cause ("code inconnu"); `error` the full sentence.
                let reason = match &self.fields {
                    Some(f) if !f.is_empty() => f.0.values().cloned().collect::<Vec<_>>().join(" ; "),
                    _ => self.message.clone(),
                };
                let mut body = serde_json::json!({ "error": self.message, "reason": reason });
                if let Some(f) = &self.fields {
                    body["fields"] = serde_json::to_value(f).unwrap_or_default();
                }
                if let Some(serde_json::Value::Object(extra)) = &self.extra {
                    for (k, v) in extra {
                        body[k] = v.clone();
                    }
                }
                (self.status, Json(body)).into_response()
            }
            Surface::Page => {
                let html = crate::templates::render_error(self.status, &self.message);
                (self.status, Html(html)).into_response()
            }
        }
    }
}

/// Result of handlers.
pub type AppResult<T> = Result<T, AppError>;

/// 404 for unknown paths.
pub async fn not_found(uri: axum::http::Uri) -> AppError {
    let message = format!("page introuvable : {}", uri.path());
    if uri.path().starts_with("/api/") {
        AppError::api(StatusCode::NOT_FOUND, message)
    } else {
        AppError::page(StatusCode::NOT_FOUND, message)
    }
}

/// `Json<T>` whose rejections (bad JSON, wrong content type) answer in the API's JSON shape.
#[derive(Debug)]
pub struct ApiJson<T>(pub T);

impl<S, T> axum::extract::FromRequest<S> for ApiJson<T>
where
    Json<T>: axum::extract::FromRequest<S, Rejection = axum::extract::rejection::JsonRejection>,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, Self::Rejection> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(v)) => Ok(ApiJson(v)),
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => Err(AppError::api(e.status(), "corps de requête trop volumineux")),
            Err(e) => Err(AppError::api(e.status(), format!("corps JSON invalide : {}", e.body_text()))),
        }
    }
}
