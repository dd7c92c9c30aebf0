//! Browser sessions: a random cookie value, stored hashed, with its CSRF token.

use super::{hash_secret, random_secret, users, AuthUser};
use crate::db;
use crate::error::Result;
use crate::store::{Actor, Change, Store};
use chrono::{Duration, Utc};

/// How long a session lasts without a new login.
pub const SESSION_HOURS: i64 = 12;

/// A live session.
#[derive(Debug, Clone)]
pub struct Session {
    /// The user.
    pub user: AuthUser,
    /// The token every form must send back.
    pub csrf_token: String,
}

/// Opens a session; returns the cookie value.
pub async fn create_session(store: &Store, user: &AuthUser) -> Result<String> {
    let secret = random_secret();
    let now = Utc::now();
    let mut tx = store.write(&user.actor()).await?;
    db::query("DELETE FROM sessions WHERE expires_at < $1")
        .bind(crate::time::to_db(now))
        .execute(tx.conn())
        .await?;
    db::query("INSERT INTO sessions (id_hash, user_id, csrf_token, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)")
        .bind(hash_secret(&secret))
        .bind(user.id)
        .bind(random_secret())
        .bind(crate::time::to_db(now))
        .bind(crate::time::to_db(now + Duration::hours(SESSION_HOURS)))
        .execute(tx.conn())
        .await?;
    tx.record(Change::new("login", "user", user.id), None).await?;
    tx.commit().await?;
    Ok(secret)
}

/// The session behind a cookie value, if valid.
pub async fn find_session(store: &Store, secret: &str) -> Result<Option<Session>> {
    let row: Option<(i64, String)> = db::query_as("SELECT user_id, csrf_token FROM sessions WHERE id_hash = $1 AND expires_at > $2")
        .bind(hash_secret(secret))
        .bind(crate::time::now_db())
        .fetch_optional(store.pool())
        .await?;
    let Some((uid, csrf_token)) = row else { return Ok(None) };
    Ok(users::auth_user(store, uid).await?.map(|user| Session { user, csrf_token }))
}

/// Closes a session.
pub async fn delete_session(store: &Store, actor: &Actor, secret: &str) -> Result<()> {
    let mut tx = store.write(actor).await?;
    db::query("DELETE FROM sessions WHERE id_hash = $1")
        .bind(hash_secret(secret))
        .execute(tx.conn())
        .await?;
    tx.record(
        Change {
            action: "logout".into(),
            entity: "user".into(),
            entity_id: actor.user_id.map(|i| i.to_string()),
            before: None,
            after: None,
        },
        None,
    )
    .await?;
    tx.commit().await
}
