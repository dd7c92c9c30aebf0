//! API tokens for scripts: a bearer secret shown once, stored as a SHA-256 hash.

use super::{hash_secret, random_secret, users, AuthUser};
use crate::db;
use crate::error::{CoreError, Result};
use crate::events::Event;
use crate::store::{Actor, Change, Store};

/// Prefix of every token, so a leaked one is recognisable.
pub const TOKEN_PREFIX: &str = "prt_";

/// Creates a token for `login`; returns the secret (the only time it is visible).
pub async fn create_token(store: &Store, actor: &Actor, login: &str, label: &str) -> Result<String> {
    let user = users::find_by_login(store, login)
        .await?
        .ok_or_else(|| CoreError::NotFound(format!("utilisateur « {login} »")))?;
    let secret = format!("{TOKEN_PREFIX}{}", random_secret());
    let mut tx = store.write(actor).await?;
    let (id,): (i64,) =
        db::query_as("INSERT INTO api_tokens (user_id, token_hash, label, created_at) VALUES ($1, $2, $3, $4) RETURNING id")
            .bind(user.id)
            .bind(hash_secret(&secret))
            .bind(label)
            .bind(crate::time::now_db())
            .fetch_one(tx.conn())
            .await?;
    tx.record(
        Change::new("token.create", "api_token", id).after(&serde_json::json!({ "user_id": user.id, "label": label })),
        Some(Event::ApiTokenCreated { user_id: user.id }),
    )
    .await?;
    tx.commit().await?;
    Ok(secret)
}

/// The user behind a bearer token, if it is valid and not revoked.
pub async fn authenticate(store: &Store, secret: &str) -> Result<Option<AuthUser>> {
    if !secret.starts_with(TOKEN_PREFIX) {
        return Ok(None);
    }
    let hash = hash_secret(secret);
    let key = format!("token:{hash}");
    let row: Option<(i64,)> = match store.memo().get::<Option<(i64,)>>(&key) {
        Some(r) => r,
        None => {
            let r: Option<(i64,)> = db::query_as("SELECT user_id FROM api_tokens WHERE token_hash = $1 AND revoked_at IS NULL")
                .bind(&hash)
                .fetch_optional(store.pool())
                .await?;
            store.memo().put(&key, r);
            r
        }
    };
    match row {
        Some((uid,)) => users::auth_user(store, uid).await,
        None => Ok(None),
    }
}
