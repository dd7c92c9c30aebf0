//! Reading the audit trail, and recording refused accesses.

use crate::db;
use crate::error::Result;
use crate::store::{audit_only, Actor, Store};

/// One audit row.
#[derive(Debug, Clone, serde::Serialize)]
pub struct AuditEntry {
    /// Id.
    pub id: i64,
    /// When (UTC, storage format).
    pub at: String,
    /// Who (login or `system`).
    pub actor: String,
    /// What was done.
    pub action: String,
    /// On what.
    pub entity: String,
    /// Which one.
    pub entity_id: Option<String>,
    /// Values before, JSON.
    pub before_json: Option<String>,
    /// Values after, JSON.
    pub after_json: Option<String>,
}

/// The latest audit rows, newest first, optionally for one entity kind.
pub async fn recent(store: &Store, entity: Option<&str>, limit: i64) -> Result<Vec<AuditEntry>> {
    let rows: Vec<(i64, String, String, String, String, Option<String>, Option<String>, Option<String>)> = db::query_as(
        "SELECT id, at, actor, action, entity, entity_id, before_json, after_json FROM audit_log \
         WHERE ($1 = '' OR entity = $2) ORDER BY id DESC LIMIT $3",
    )
    .bind(entity.unwrap_or(""))
    .bind(entity.unwrap_or(""))
    .bind(limit)
    .fetch_all(store.pool())
    .await?;
    Ok(rows
        .into_iter()
        .map(|(id, at, actor, action, entity, entity_id, before_json, after_json)| AuditEntry {
            id,
            at,
            actor,
            action,
            entity,
            entity_id,
            before_json,
            after_json,
        })
        .collect())
}

/// Records that `actor` was refused `permission` on `target` (a route or API path).
pub async fn permission_denied(store: &Store, actor: &Actor, permission: &str, target: &str) -> Result<()> {
    audit_only(
        store,
        actor,
        "permission.denied",
        "access",
        serde_json::json!({ "permission": permission, "target": target }),
    )
    .await
}
