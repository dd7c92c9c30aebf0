//! API tokens for scripts: a bearer secret shown once, stored as a SHA-256 hash, with an
//! expiry; tokens can be listed (never their secret) and revoked, and a password reset revokes
//! every token of the user (see [`revoke_all_for_user`]).

use super::{hash_secret, random_secret, users, AuthUser};
use crate::db;
use crate::error::{CoreError, Result};
use crate::events::Event;
use crate::store::{Actor, Change, Store, WriteTx};
use chrono::Duration;

/// Prefix of every token, so a leaked one is recognisable.
pub const TOKEN_PREFIX: &str = "prt_";

/// Life of a token when none is asked for.
pub const DEFAULT_DAYS: i64 = 90;
/// Longest life a token may be given (two years).
pub const MAX_DAYS: i64 = 730;
/// Longest label.
pub const MAX_LABEL: usize = 100;
/// How often the last use of a token is written down (at most).
const LAST_USED_EVERY: Duration = Duration::hours(1);

/// A token as listed: everything but its secret.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TokenInfo {
    /// Id (what `parterre token revoke ID` takes).
    pub id: i64,
    /// The user it acts for.
    pub user_id: i64,
    /// Their login.
    pub login: String,
    /// What it is for.
    pub label: String,
    /// Created (storage format, UTC).
    pub created_at: String,
    /// Refused from then on (storage format, UTC).
    pub expires_at: String,
    /// Last use, to the hour.
    pub last_used_at: Option<String>,
    /// When it was revoked.
    pub revoked_at: Option<String>,
}

impl TokenInfo {
    /// True when the token still opens the API at `now` (storage format).
    pub fn is_active(&self, now: &str) -> bool {
        self.revoked_at.is_none() && self.expires_at.as_str() > now
    }
}

/// Creates a token for `login` valid [`DEFAULT_DAYS`] days; returns the secret (the only time
/// it is visible).
pub async fn create_token(store: &Store, actor: &Actor, login: &str, label: &str) -> Result<String> {
    create_token_for(store, actor, login, label, DEFAULT_DAYS).await
}

/// Creates a token for `login` valid `days` days (1 to [`MAX_DAYS`]); returns the secret.
pub async fn create_token_for(store: &Store, actor: &Actor, login: &str, label: &str, days: i64) -> Result<String> {
    if !(1..=MAX_DAYS).contains(&days) {
        return Err(CoreError::invalid(
            "days",
            format!("durée de validité de 1 à {MAX_DAYS} jours (reçu : {days})"),
        ));
    }
    let label = label.trim();
    if label.chars().count() > MAX_LABEL {
        return Err(CoreError::invalid("label", format!("libellé de {MAX_LABEL} caractères au plus")));
    }
    let user = users::find_by_login(store, login)
        .await?
        .ok_or_else(|| CoreError::NotFound(format!("utilisateur « {login} »")))?;
    let secret = format!("{TOKEN_PREFIX}{}", random_secret());
    let now = crate::time::now();
    let expires_at = crate::time::to_db(now + Duration::days(days));
    let mut tx = store.write(actor).await?;
    let (id,): (i64,) = db::query_as(
        "INSERT INTO api_tokens (user_id, token_hash, label, created_at, expires_at) VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(user.id)
    .bind(hash_secret(&secret))
    .bind(label)
    .bind(crate::time::to_db(now))
    .bind(&expires_at)
    .fetch_one(tx.conn())
    .await?;
    tx.record(
        Change::new("token.create", "api_token", id)
            .after(&serde_json::json!({ "user_id": user.id, "label": label, "expires_at": expires_at })),
        Some(Event::ApiTokenCreated { user_id: user.id }),
    )
    .await?;
    tx.commit().await?;
    Ok(secret)
}

crate::row_struct! {
    /// What authenticating needs of a token that is not revoked.
    #[derive(Debug, Clone)]
    struct LiveToken {
        id: i64,
        user_id: i64,
        expires_at: Option<String>,
        last_used_at: Option<String>,
    }
}

/// The user behind a bearer token, if it is known, not revoked and not expired.
pub async fn authenticate(store: &Store, secret: &str) -> Result<Option<AuthUser>> {
    if !secret.starts_with(TOKEN_PREFIX) || secret.len() > 200 {
        return Ok(None);
    }
    let hash = hash_secret(secret);
    let key = format!("token:{hash}");
    let row: Option<LiveToken> = match store.memo().get::<Option<LiveToken>>(&key) {
        Some(r) => r,
        None => {
            let r: Option<LiveToken> =
                db::query_as("SELECT id, user_id, expires_at, last_used_at FROM api_tokens WHERE token_hash = $1 AND revoked_at IS NULL")
                    .bind(&hash)
                    .fetch_optional(store.pool())
                    .await?;
            store.memo().put(&key, r.clone());
            r
        }
    };
    let Some(LiveToken {
        id,
        user_id: uid,
        expires_at,
        last_used_at: last_used,
    }) = row
    else {
        return Ok(None);
    };
    let now = crate::time::now();
    let now_db = crate::time::to_db(now);
    // A token without expiry cannot exist after migration 0006; refuse it rather than trust it.
    if expires_at.as_deref().is_none_or(|e| e <= now_db.as_str()) {
        return Ok(None);
    }
    let Some(user) = users::auth_user(store, uid).await? else {
        return Ok(None);
    };
    let stale = crate::time::to_db(now - LAST_USED_EVERY);
    if last_used.as_deref().is_none_or(|l| l < stale.as_str()) {
        note_use(store, &user, id, &now_db, &stale).await?;
    }
    Ok(Some(user))
}

/// Writes down that token `id` was used (at most once per [`LAST_USED_EVERY`]).
async fn note_use(store: &Store, user: &AuthUser, id: i64, now: &str, stale: &str) -> Result<()> {
    let mut tx = store.write(&user.actor()).await?;
    let n = db::query("UPDATE api_tokens SET last_used_at = $1 WHERE id = $2 AND (last_used_at IS NULL OR last_used_at < $3)")
        .bind(now)
        .bind(id)
        .bind(stale)
        .execute(tx.conn())
        .await?
        .rows_affected();
    if n == 0 {
        // Another request wrote it meanwhile: nothing to record (dropped = rolled back).
        return Ok(());
    }
    tx.record(Change::new("token.used", "api_token", id), None).await?;
    tx.commit().await
}

/// Every token, or those of `login`, newest first.
pub async fn list_tokens(store: &Store, login: Option<&str>) -> Result<Vec<TokenInfo>> {
    let rows: Vec<(i64, i64, String, String, String, Option<String>, Option<String>, Option<String>)> = db::query_as(
        "SELECT t.id, t.user_id, u.login, t.label, t.created_at, t.expires_at, t.last_used_at, t.revoked_at \
         FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE ($1 = '' OR u.login = $2) ORDER BY t.id DESC",
    )
    .bind(login.unwrap_or(""))
    .bind(login.unwrap_or(""))
    .fetch_all(store.pool())
    .await?;
    Ok(rows
        .into_iter()
        .map(
            |(id, user_id, login, label, created_at, expires_at, last_used_at, revoked_at)| TokenInfo {
                id,
                user_id,
                login,
                label,
                created_at,
                expires_at: expires_at.unwrap_or_default(),
                last_used_at,
                revoked_at,
            },
        )
        .collect())
}

/// Which token to revoke: its id, or its secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenRef<'a> {
    /// The number shown by the list.
    Id(i64),
    /// The secret itself (`prt_…`), e.g. one found leaked.
    Secret(&'a str),
}

impl<'a> TokenRef<'a> {
    /// Reads what an administrator typed: digits are an id, anything else must be a token.
    pub fn parse(text: &'a str) -> Result<Self> {
        let text = text.trim();
        if let Ok(id) = text.parse::<i64>() {
            return Ok(TokenRef::Id(id));
        }
        if text.starts_with(TOKEN_PREFIX) {
            return Ok(TokenRef::Secret(text));
        }
        Err(CoreError::invalid(
            "token",
            format!("numéro de jeton ou jeton « {TOKEN_PREFIX}… » attendu"),
        ))
    }
}

/// Revokes one token. Revoking a token already revoked is refused (409), so a typo in an id is
/// noticed. `only_user` restricts the revocation to that user's tokens (the admin page of one
/// user); `None` revokes any.
pub async fn revoke_token(store: &Store, actor: &Actor, which: TokenRef<'_>, only_user: Option<i64>) -> Result<TokenInfo> {
    let id = match which {
        TokenRef::Id(id) => id,
        TokenRef::Secret(secret) => {
            let row: Option<(i64,)> = db::query_as("SELECT id FROM api_tokens WHERE token_hash = $1")
                .bind(hash_secret(secret))
                .fetch_optional(store.pool())
                .await?;
            row.ok_or_else(|| CoreError::NotFound("jeton".into()))?.0
        }
    };
    let mut tx = store.write(actor).await?;
    let row: Option<(i64, Option<String>)> = db::query_as("SELECT user_id, revoked_at FROM api_tokens WHERE id = $1")
        .bind(id)
        .fetch_optional(tx.conn())
        .await?;
    let (user_id, revoked) = match row {
        Some(r) if only_user.is_none_or(|u| u == r.0) => r,
        _ => return Err(CoreError::NotFound(format!("jeton n° {id}"))),
    };
    if revoked.is_some() {
        return Err(CoreError::Conflict(format!("le jeton n° {id} est déjà révoqué")));
    }
    let now = crate::time::now_db();
    let n = db::query("UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
        .bind(&now)
        .bind(id)
        .execute(tx.conn())
        .await?
        .rows_affected();
    if n != 1 {
        return Err(CoreError::Conflict(format!("le jeton n° {id} est déjà révoqué")));
    }
    tx.record(
        Change::new("token.revoke", "api_token", id).after(&serde_json::json!({ "user_id": user_id, "revoked_at": now })),
        None,
    )
    .await?;
    tx.commit().await?;
    list_tokens(store, None)
        .await?
        .into_iter()
        .find(|t| t.id == id)
        .ok_or_else(|| CoreError::NotFound(format!("jeton n° {id}")))
}

/// Revokes every live token of `user_id` inside `tx` (password reset); returns how many.
pub async fn revoke_all_for_user(tx: &mut WriteTx, user_id: i64) -> Result<u64> {
    let now = crate::time::now_db();
    let n = db::query("UPDATE api_tokens SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL")
        .bind(&now)
        .bind(user_id)
        .execute(tx.conn())
        .await?
        .rows_affected();
    if n > 0 {
        tx.record(
            Change::new("token.revoke_all", "user", user_id).after(&serde_json::json!({ "tokens": n, "revoked_at": now })),
            None,
        )
        .await?;
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_refs() {
        assert_eq!(TokenRef::parse(" 12 ").unwrap(), TokenRef::Id(12));
        assert_eq!(TokenRef::parse("prt_abc").unwrap(), TokenRef::Secret("prt_abc"));
        assert!(TokenRef::parse("abc").is_err());
        assert!(TokenRef::parse("").is_err());
    }

    #[tokio::test]
    async fn expiry_revocation_and_password_reset() {
        for db in crate::testing::TestDb::all().await.unwrap() {
            let store = db.open().await.unwrap();
            let sys = Actor::system();
            crate::demo::ensure_roles(&store, &sys).await.unwrap();
            let u = users::create_user(&store, &sys, "lea", "Léa", "motdepasse", &["box_office".into()])
                .await
                .unwrap();
            assert!(create_token_for(&store, &sys, "lea", "x", 0).await.is_err());
            assert!(create_token_for(&store, &sys, "lea", "x", MAX_DAYS + 1).await.is_err());
            let a = create_token(&store, &sys, "lea", "a").await.unwrap();
            let b = create_token_for(&store, &sys, "lea", "b", 1).await.unwrap();
            assert_eq!(authenticate(&store, &a).await.unwrap().unwrap().id, u.id, "{}", db.label);
            assert!(authenticate(&store, &b).await.unwrap().is_some());
            // A day later, b has expired; a has not.
            let later = crate::time::now() + Duration::days(1) + Duration::minutes(1);
            crate::time::at(later, async {
                store.memo().clear();
                assert!(authenticate(&store, &a).await.unwrap().is_some());
                assert!(authenticate(&store, &b).await.unwrap().is_none(), "expired token accepted");
            })
            .await;
            let listed = list_tokens(&store, Some("lea")).await.unwrap();
            assert_eq!(listed.len(), 2);
            assert!(listed.iter().all(|t| t.last_used_at.is_some()), "{listed:?}");
            let json = serde_json::to_string(&listed).unwrap();
            assert!(!json.contains(&a[4..]) && !json.contains(&hash_secret(&a)), "secret listed");
            // Revoke a by its secret: refused at once, and a second revocation is a conflict.
            let r = revoke_token(&store, &sys, TokenRef::Secret(&a), None).await.unwrap();
            assert!(r.revoked_at.is_some());
            assert!(authenticate(&store, &a).await.unwrap().is_none(), "revoked token accepted");
            assert!(matches!(
                revoke_token(&store, &sys, TokenRef::Id(r.id), None).await,
                Err(CoreError::Conflict(_))
            ));
            assert!(matches!(
                revoke_token(&store, &sys, TokenRef::Id(r.id + 100), None).await,
                Err(CoreError::NotFound(_))
            ));
            // A password reset revokes the others.
            let c = create_token(&store, &sys, "lea", "c").await.unwrap();
            assert!(authenticate(&store, &c).await.unwrap().is_some());
            users::update_user(&store, &sys, u.id, "Léa", true, &["box_office".into()], Some("nouveaumotdepasse"))
                .await
                .unwrap();
            assert!(authenticate(&store, &c).await.unwrap().is_none(), "token survived a password reset");
            let now = crate::time::now_db();
            assert!(list_tokens(&store, Some("lea")).await.unwrap().iter().all(|t| !t.is_active(&now)));
            store.close().await;
            db.cleanup().await;
        }
    }
}
