//! Typed errors of the core, with plain-French messages a box-office user can act on.

use std::collections::BTreeMap;

/// Validation errors keyed by field name, so forms can show each message next to its field.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct FieldErrors(pub BTreeMap<String, String>);

impl FieldErrors {
    /// An empty set of errors.
    pub fn new() -> Self {
        Self::default()
    }
    /// Records `message` for `field` (the first message for a field wins).
    pub fn add(&mut self, field: &str, message: impl Into<String>) {
        self.0.entry(field.to_string()).or_insert_with(|| message.into());
    }
    /// True when no field has an error.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    /// The message for `field`, if any.
    pub fn get(&self, field: &str) -> Option<&str> {
        self.0.get(field).map(String::as_str)
    }
    /// `Ok(())` when empty, the errors otherwise.
    pub fn into_result(self) -> Result<(), CoreError> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(CoreError::Invalid(self))
        }
    }
}

/// Everything a core operation can refuse or fail with.
#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    /// The input is wrong; each field carries its own message.
    #[error("saisie invalide : {}", .0.0.iter().map(|(k, v)| format!("{k} : {v}")).collect::<Vec<_>>().join(" ; "))]
    Invalid(FieldErrors),
    /// The thing asked for does not exist.
    #[error("{0} introuvable")]
    NotFound(String),
    /// The operation conflicts with existing data (duplicate name, seat label…).
    #[error("{0}")]
    Conflict(String),
    /// Login or password wrong, or account disabled.
    #[error("identifiant ou mot de passe incorrect")]
    BadCredentials,
    /// The thing existed but is gone (an expired cart).
    #[error("{0}")]
    Gone(String),
    /// The server is at its limit for this kind of work (password checks…): try again shortly.
    #[error("{0}")]
    Busy(String),
    /// The actor lacks a permission.
    #[error("permission « {0} » requise")]
    Forbidden(String),
    /// The database failed.
    #[error("erreur de base de données : {0}")]
    Database(#[from] crate::db::DbError),
    /// Migrations failed at start-up.
    #[error("migration de la base impossible : {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    /// Anything else that is our fault, not the user's.
    #[error("erreur interne : {0}")]
    Internal(String),
}

impl CoreError {
    /// A one-field validation error.
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        let mut e = FieldErrors::new();
        e.add(field, message);
        CoreError::Invalid(e)
    }
}

impl From<serde_json::Error> for CoreError {
    fn from(e: serde_json::Error) -> Self {
        CoreError::Internal(e.to_string())
    }
}

/// Result alias of the core.
pub type Result<T, E = CoreError> = std::result::Result<T, E>;
