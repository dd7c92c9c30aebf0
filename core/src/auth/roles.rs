//! Roles: named sets of permissions, created, edited and duplicated by administrators.

use super::permissions;
use crate::db;
use crate::error::{CoreError, FieldErrors, Result};
use crate::events::Event;
use crate::store::{on_unique, Actor, Change, Store, WriteTx};

/// A role with its permissions.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Role {
    /// Id.
    pub id: i64,
    /// Stable code, e.g. `box_office`.
    pub code: String,
    /// French label, e.g. « Billetterie ».
    pub label: String,
    /// Permission names.
    pub permissions: Vec<String>,
}

fn validate(code: &str, label: &str, perms: &[String]) -> Result<()> {
    let mut e = FieldErrors::new();
    if code.is_empty() || code.len() > 40 || !code.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_') {
        e.add("code", "code obligatoire : minuscules, chiffres et _ (40 au plus)");
    }
    if label.trim().is_empty() {
        e.add("label", "libellé obligatoire");
    }
    if let Some(p) = perms.iter().find(|p| !permissions::is_known(p)) {
        e.add("permissions", format!("permission inconnue : {p}"));
    }
    e.into_result()
}

async fn write_permissions(tx: &mut WriteTx, role_id: i64, perms: &[String]) -> Result<()> {
    db::query("DELETE FROM role_permissions WHERE role_id = $1")
        .bind(role_id)
        .execute(tx.conn())
        .await?;
    for p in perms {
        db::query("INSERT INTO role_permissions (role_id, permission) VALUES ($1, $2)")
            .bind(role_id)
            .bind(p)
            .execute(tx.conn())
            .await?;
    }
    Ok(())
}

fn normalise(perms: &[String]) -> Vec<String> {
    let mut v: Vec<String> = perms.iter().map(|p| p.trim().to_string()).filter(|p| !p.is_empty()).collect();
    v.sort();
    v.dedup();
    v
}

/// Creates a role.
pub async fn create_role(store: &Store, actor: &Actor, code: &str, label: &str, perms: &[String]) -> Result<Role> {
    let perms = normalise(perms);
    validate(code, label, &perms)?;
    let mut tx = store.write(actor).await?;
    let (id,): (i64,) = db::query_as("INSERT INTO roles (code, label, created_at) VALUES ($1, $2, $3) RETURNING id")
        .bind(code)
        .bind(label.trim())
        .bind(crate::time::now_db())
        .fetch_one(tx.conn())
        .await
        .map_err(|e| on_unique(e, format!("le profil « {code} » existe déjà")))?;
    write_permissions(&mut tx, id, &perms).await?;
    let role = Role {
        id,
        code: code.into(),
        label: label.trim().into(),
        permissions: perms.clone(),
    };
    tx.record(
        Change::new("role.create", "role", id).after(&role),
        Some(Event::RoleCreated {
            role_id: id,
            code: code.into(),
            permissions: perms,
        }),
    )
    .await?;
    tx.commit().await?;
    Ok(role)
}

/// Changes a role's label and permissions (the code stays).
pub async fn update_role(store: &Store, actor: &Actor, id: i64, label: &str, perms: &[String]) -> Result<Role> {
    let before = get_role(store, id).await?;
    let perms = normalise(perms);
    validate(&before.code, label, &perms)?;
    let mut tx = store.write(actor).await?;
    db::query("UPDATE roles SET label = $1 WHERE id = $2")
        .bind(label.trim())
        .bind(id)
        .execute(tx.conn())
        .await?;
    write_permissions(&mut tx, id, &perms).await?;
    let after = Role {
        id,
        code: before.code.clone(),
        label: label.trim().into(),
        permissions: perms.clone(),
    };
    tx.record(
        Change::new("role.update", "role", id).before(&before).after(&after),
        Some(Event::RoleUpdated {
            role_id: id,
            code: before.code.clone(),
            permissions: perms,
        }),
    )
    .await?;
    tx.commit().await?;
    Ok(after)
}

/// Copies a role under a new code and label.
pub async fn duplicate_role(store: &Store, actor: &Actor, id: i64, code: &str, label: &str) -> Result<Role> {
    let source = get_role(store, id).await?;
    create_role(store, actor, code, label, &source.permissions).await
}

/// Every role with its permissions, by code.
pub async fn list_roles(store: &Store) -> Result<Vec<Role>> {
    let rows: Vec<(i64, String, String)> = db::query_as("SELECT id, code, label FROM roles ORDER BY code")
        .fetch_all(store.pool())
        .await?;
    let perms: Vec<(i64, String)> = db::query_as("SELECT role_id, permission FROM role_permissions ORDER BY permission")
        .fetch_all(store.pool())
        .await?;
    Ok(rows
        .into_iter()
        .map(|(id, code, label)| Role {
            id,
            code,
            label,
            permissions: perms.iter().filter(|(r, _)| *r == id).map(|(_, p)| p.clone()).collect(),
        })
        .collect())
}

/// One role.
pub async fn get_role(store: &Store, id: i64) -> Result<Role> {
    list_roles(store)
        .await?
        .into_iter()
        .find(|r| r.id == id)
        .ok_or_else(|| CoreError::NotFound(format!("profil {id}")))
}

/// One role by code.
pub async fn find_role(store: &Store, code: &str) -> Result<Option<Role>> {
    Ok(list_roles(store).await?.into_iter().find(|r| r.code == code))
}
