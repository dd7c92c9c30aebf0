//! Idempotency keys for writes that move money (checkout, payment, refund, exchange,
//! cancellation, duplicate): the same key sent twice moves the money once and gets the first
//! answer back.
//!
//! The key is claimed inside the operation's own write transaction, before anything else is
//! written, and the answer is stored in that same transaction: either both the money movement
//! and the key commit, or neither does (a refused operation leaves the key free for a retry).
//! A concurrent request with the same key waits for the first one (the single SQLite writer;
//! PostgreSQL's unique index) and then finds its answer.

use crate::db;
use crate::error::{CoreError, Result};
use crate::store::WriteTx;
use sha2::{Digest, Sha256};

/// Longest key accepted (clients usually send a UUID).
pub const MAX_KEY_LEN: usize = 128;

/// How long an answer is kept for replay.
pub const RETENTION_HOURS: i64 = 24;

/// A key sent with a request, bound to who sent it and to what was asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey {
    scope: String,
    key: String,
    fingerprint: String,
}

/// Why a key was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// Empty, too long, or with characters other than visible ASCII.
    #[error("en-tête Idempotency-Key invalide : 1 à 128 caractères ASCII visibles")]
    Malformed,
}

impl IdempotencyKey {
    /// A key sent by `user_id` (None: the system) for `operation` on `target` with `body`.
    /// Keys are per user: two users may send the same key.
    pub fn new(raw: &str, user_id: Option<i64>, operation: &str, target: i64, body: &impl serde::Serialize) -> Result<Self, KeyError> {
        let key = raw.trim();
        if key.is_empty() || key.len() > MAX_KEY_LEN || !key.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(KeyError::Malformed);
        }
        let mut h = Sha256::new();
        h.update(operation.as_bytes());
        h.update(b"\0");
        h.update(target.to_le_bytes());
        h.update(serde_json::to_vec(body).unwrap_or_default());
        let fingerprint: String = h.finalize().iter().map(|b| format!("{b:02x}")).collect();
        Ok(IdempotencyKey {
            scope: user_id.map_or_else(|| "system".to_string(), |u| format!("user:{u}")),
            key: key.to_string(),
            fingerprint,
        })
    }
}

impl From<KeyError> for CoreError {
    fn from(e: KeyError) -> Self {
        CoreError::invalid("Idempotency-Key", e.to_string())
    }
}

/// Marker of a claim whose answer is not written yet.
const PENDING: &str = "";

/// Claims `key` in `tx`. `Ok(Some(answer))` when the same request was already answered (the
/// caller returns that answer and writes nothing); `Ok(None)` when the caller goes on and
/// must call [`complete`] before committing.
pub async fn claim<T: serde::de::DeserializeOwned>(tx: &mut WriteTx, key: &IdempotencyKey) -> Result<Option<T>> {
    let inserted = db::query(
        "INSERT INTO idempotency_keys (scope, key, fingerprint, response, created_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
    )
    .bind(&key.scope)
    .bind(&key.key)
    .bind(&key.fingerprint)
    .bind(PENDING)
    .bind(crate::time::now_db())
    .execute(tx.conn())
    .await?
    .rows_affected();
    if inserted == 1 {
        return Ok(None);
    }
    let stored: Option<Stored> = db::query_as("SELECT fingerprint, response FROM idempotency_keys WHERE scope = $1 AND key = $2")
        .bind(&key.scope)
        .bind(&key.key)
        .fetch_optional(tx.conn())
        .await?;
    let stored = stored.ok_or_else(|| CoreError::Conflict(IN_FLIGHT.into()))?;
    answer_of(stored, key).map(Some)
}

/// The stored answer of `key`, read outside any transaction (a request that has nothing to
/// lock before it claims, like a checkout whose cart is already ordered, looks here first).
pub async fn answered<T: serde::de::DeserializeOwned>(store: &crate::Store, key: &IdempotencyKey) -> Result<Option<T>> {
    let stored: Option<Stored> = db::query_as("SELECT fingerprint, response FROM idempotency_keys WHERE scope = $1 AND key = $2")
        .bind(&key.scope)
        .bind(&key.key)
        .fetch_optional(store.pool())
        .await?;
    match stored {
        None => Ok(None),
        Some(s) => answer_of(s, key).map(Some),
    }
}

crate::row_struct! {
    struct Stored { fingerprint: String, response: String }
}

fn answer_of<T: serde::de::DeserializeOwned>(stored: Stored, key: &IdempotencyKey) -> Result<T> {
    if stored.fingerprint != key.fingerprint {
        return Err(CoreError::invalid(
            "Idempotency-Key",
            "cette clé a déjà servi pour une autre opération : utilisez une clé nouvelle",
        ));
    }
    if stored.response == PENDING {
        return Err(CoreError::Conflict(IN_FLIGHT.into()));
    }
    Ok(serde_json::from_str(&stored.response)?)
}

const IN_FLIGHT: &str = "la même opération est en cours (même Idempotency-Key) : réessayez dans un instant";

/// Stores the answer of a claimed key, in the same transaction as the operation.
pub async fn complete<T: serde::Serialize>(tx: &mut WriteTx, key: &IdempotencyKey, answer: &T) -> Result<()> {
    let updated = db::query("UPDATE idempotency_keys SET response = $1 WHERE scope = $2 AND key = $3 AND response = $4")
        .bind(serde_json::to_string(answer)?)
        .bind(&key.scope)
        .bind(&key.key)
        .bind(PENDING)
        .execute(tx.conn())
        .await?
        .rows_affected();
    if updated != 1 {
        return Err(CoreError::Conflict("Idempotency-Key déjà utilisée".into()));
    }
    Ok(())
}

/// Deletes the answers older than [`RETENTION_HOURS`] (a background task calls it); returns
/// how many went.
pub async fn prune(store: &crate::Store) -> Result<u64> {
    let cutoff = crate::time::to_db(crate::time::now() - chrono::Duration::hours(RETENTION_HOURS));
    let mut tx = store.write(&crate::Actor::system()).await?;
    let gone = db::query("DELETE FROM idempotency_keys WHERE created_at < $1")
        .bind(&cutoff)
        .execute(tx.conn())
        .await?
        .rows_affected();
    if gone == 0 {
        return Ok(0);
    }
    tx.record(
        crate::store::Change::new("idempotency.prune", "idempotency_key", "*").after(&serde_json::json!({ "deleted": gone })),
        None,
    )
    .await?;
    tx.commit().await?;
    Ok(gone)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_per_user_and_per_request() {
        let a = IdempotencyKey::new("k-1", Some(1), "refund", 7, &serde_json::json!({"amount": "5.00"})).unwrap();
        let b = IdempotencyKey::new("k-1", Some(2), "refund", 7, &serde_json::json!({"amount": "5.00"})).unwrap();
        let c = IdempotencyKey::new("k-1", Some(1), "refund", 7, &serde_json::json!({"amount": "6.00"})).unwrap();
        assert_ne!(a.scope, b.scope, "two users may use the same key");
        assert_ne!(a.fingerprint, c.fingerprint, "another body is another request");
        assert_eq!(
            IdempotencyKey::new("k-1", Some(1), "refund", 7, &serde_json::json!({"amount": "5.00"})).unwrap(),
            a
        );
        assert_eq!(IdempotencyKey::new("", None, "x", 1, &()), Err(KeyError::Malformed));
        assert_eq!(IdempotencyKey::new(&"x".repeat(129), None, "x", 1, &()), Err(KeyError::Malformed));
        assert_eq!(IdempotencyKey::new("clé é", None, "x", 1, &()), Err(KeyError::Malformed));
    }
}
