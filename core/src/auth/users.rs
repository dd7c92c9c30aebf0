//! Users: login, display name, argon2 password, roles.

use super::permissions;
use crate::db;
use crate::error::{CoreError, FieldErrors, Result};
use crate::events::Event;
use crate::store::{flag, on_unique, Actor, Change, Store, WriteTx};
use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use std::collections::BTreeSet;

/// A user as listed and edited by administrators.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct User {
    /// Id.
    pub id: i64,
    /// Login code.
    pub login: String,
    /// Name shown in the interface and on tickets.
    pub display_name: String,
    /// Disabled users cannot log in.
    pub active: bool,
    /// Role codes.
    pub roles: Vec<String>,
}

/// An authenticated user with the union of their roles' permissions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthUser {
    /// Id.
    pub id: i64,
    /// Login code.
    pub login: String,
    /// Display name.
    pub display_name: String,
    /// Every permission granted by every role.
    pub permissions: BTreeSet<String>,
}

impl AuthUser {
    /// True when the user holds `perm`.
    pub fn can(&self, perm: &str) -> bool {
        self.permissions.contains(perm)
    }
    /// The actor for writes made by this user.
    pub fn actor(&self) -> Actor {
        Actor::user(self.id, &self.login)
    }
}

/// Minimum password length.
pub const MIN_PASSWORD_LEN: usize = 8;

/// Longest login name the login form accepts; longer ones are refused before any hashing,
/// audit row or throttle entry.
pub const MAX_LOGIN_CHARS: usize = 64;
/// Longest password accepted, in bytes.
pub const MAX_PASSWORD_BYTES: usize = 1024;

/// Hashes a password with argon2id, on the process-wide hashing pool (off the async executor).
pub async fn hash_password(password: &str) -> Result<String> {
    let password = password.to_string();
    super::hashing::HashPool::global()
        .run(move || {
            let salt = SaltString::generate(&mut OsRng);
            Argon2::default()
                .hash_password(password.as_bytes(), &salt)
                .map(|h| h.to_string())
                .map_err(|e| CoreError::Internal(format!("hachage du mot de passe : {e}")))
        })
        .await?
}

async fn verify_password(store: &Store, password: &str, hash: &str) -> Result<bool> {
    let (password, hash) = (password.to_string(), hash.to_string());
    store
        .hashing()
        .run(move || {
            PasswordHash::new(&hash)
                .map(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
                .unwrap_or(false)
        })
        .await
}

/// Refuses a login name or password too long to be real. Callers check this first, before
/// throttling, hashing or auditing anything about the attempt.
pub fn check_login_input(login: &str, password: &str) -> Result<()> {
    let mut e = FieldErrors::new();
    if login.trim().chars().count() > MAX_LOGIN_CHARS {
        e.add("login", format!("identifiant trop long ({MAX_LOGIN_CHARS} caractères au plus)"));
    }
    if password.len() > MAX_PASSWORD_BYTES {
        e.add("password", format!("mot de passe trop long ({MAX_PASSWORD_BYTES} octets au plus)"));
    }
    e.into_result()
}

/// What an audit row keeps of a user: the id and the rights, never the login or the name
/// (personal data, kept in `users` only).
fn audit_view(u: &User) -> serde_json::Value {
    serde_json::json!({ "id": u.id, "active": u.active, "roles": u.roles })
}

fn validate(login: &str, display_name: &str, password: Option<&str>) -> Result<()> {
    let mut e = FieldErrors::new();
    let ok_chars = login.chars().all(|c| c.is_ascii_alphanumeric() || "._-@".contains(c));
    if login.is_empty() || login.len() > 64 || !ok_chars {
        e.add("login", "identifiant obligatoire : lettres, chiffres, . _ - @ (64 au plus)");
    }
    if display_name.trim().is_empty() {
        e.add("display_name", "nom obligatoire");
    }
    if let Some(p) = password {
        if p.len() > MAX_PASSWORD_BYTES {
            e.add("password", format!("mot de passe trop long ({MAX_PASSWORD_BYTES} octets au plus)"));
        } else if p.chars().count() < MIN_PASSWORD_LEN {
            e.add(
                "password",
                format!("mot de passe trop court ({MIN_PASSWORD_LEN} caractères au moins)"),
            );
        }
    }
    e.into_result()
}

async fn role_ids(tx: &mut WriteTx, codes: &[String]) -> Result<Vec<i64>> {
    let mut ids = Vec::new();
    for code in codes {
        let id: Option<(i64,)> = db::query_as("SELECT id FROM roles WHERE code = $1")
            .bind(code)
            .fetch_optional(tx.conn())
            .await?;
        match id {
            Some((id,)) => ids.push(id),
            None => return Err(CoreError::invalid("roles", format!("profil inconnu : {code}"))),
        }
    }
    Ok(ids)
}

async fn write_roles(tx: &mut WriteTx, user_id: i64, ids: &[i64]) -> Result<()> {
    db::query("DELETE FROM user_roles WHERE user_id = $1")
        .bind(user_id)
        .execute(tx.conn())
        .await?;
    for id in ids {
        db::query("INSERT INTO user_roles (user_id, role_id) VALUES ($1, $2)")
            .bind(user_id)
            .bind(id)
            .execute(tx.conn())
            .await?;
    }
    Ok(())
}

/// Creates a user with the given role codes.
pub async fn create_user(store: &Store, actor: &Actor, login: &str, display_name: &str, password: &str, roles: &[String]) -> Result<User> {
    let login = login.trim();
    validate(login, display_name, Some(password))?;
    let hash = hash_password(password).await?;
    let mut tx = store.write(actor).await?;
    let ids = role_ids(&mut tx, roles).await?;
    let (id,): (i64,) =
        db::query_as("INSERT INTO users (login, display_name, password_hash, active, created_at) VALUES ($1, $2, $3, 1, $4) RETURNING id")
            .bind(login)
            .bind(display_name.trim())
            .bind(&hash)
            .bind(crate::time::now_db())
            .fetch_one(tx.conn())
            .await
            .map_err(|e| on_unique(e, format!("l'identifiant « {login} » existe déjà")))?;
    write_roles(&mut tx, id, &ids).await?;
    let user = User {
        id,
        login: login.into(),
        display_name: display_name.trim().into(),
        active: true,
        roles: roles.to_vec(),
    };
    tx.record(
        Change::new("user.create", "user", id).after(&audit_view(&user)),
        Some(Event::UserCreated { user_id: id }),
    )
    .await?;
    tx.record(
        Change::new("user.roles", "user", id).after(&roles),
        Some(Event::UserRolesSet {
            user_id: id,
            role_ids: ids,
        }),
    )
    .await?;
    tx.commit().await?;
    Ok(user)
}

/// Changes a user's display name, active flag, roles and (optionally) password.
pub async fn update_user(
    store: &Store,
    actor: &Actor,
    id: i64,
    display_name: &str,
    active: bool,
    roles: &[String],
    password: Option<&str>,
) -> Result<User> {
    let before = get_user(store, id).await?;
    validate(&before.login, display_name, password)?;
    let hash = match password {
        Some(p) => Some(hash_password(p).await?),
        None => None,
    };
    let mut tx = store.write(actor).await?;
    let ids = role_ids(&mut tx, roles).await?;
    db::query("UPDATE users SET display_name = $1, active = $2 WHERE id = $3")
        .bind(display_name.trim())
        .bind(active as i64)
        .bind(id)
        .execute(tx.conn())
        .await?;
    if let Some(h) = &hash {
        db::query("UPDATE users SET password_hash = $1 WHERE id = $2")
            .bind(h)
            .bind(id)
            .execute(tx.conn())
            .await?;
        // A new password ends every way in that the old one opened: sessions and API tokens.
        db::query("DELETE FROM sessions WHERE user_id = $1")
            .bind(id)
            .execute(tx.conn())
            .await?;
        super::tokens::revoke_all_for_user(&mut tx, id).await?;
    }
    write_roles(&mut tx, id, &ids).await?;
    let after = User {
        id,
        login: before.login.clone(),
        display_name: display_name.trim().into(),
        active,
        roles: roles.to_vec(),
    };
    tx.record(
        Change::new(if hash.is_some() { "user.update_password" } else { "user.update" }, "user", id)
            .before(&audit_view(&before))
            .after(&audit_view(&after)),
        Some(Event::UserUpdated { user_id: id, active }),
    )
    .await?;
    tx.record(
        Change::new("user.roles", "user", id).before(&before.roles).after(&roles),
        Some(Event::UserRolesSet {
            user_id: id,
            role_ids: ids,
        }),
    )
    .await?;
    tx.commit().await?;
    Ok(after)
}

/// One user by id.
pub async fn get_user(store: &Store, id: i64) -> Result<User> {
    list_users(store)
        .await?
        .into_iter()
        .find(|u| u.id == id)
        .ok_or_else(|| CoreError::NotFound(format!("utilisateur {id}")))
}

/// One user by login.
pub async fn find_by_login(store: &Store, login: &str) -> Result<Option<User>> {
    Ok(list_users(store).await?.into_iter().find(|u| u.login == login))
}

/// Every user with their role codes, by login.
pub async fn list_users(store: &Store) -> Result<Vec<User>> {
    let rows: Vec<(i64, String, String, i64)> = db::query_as("SELECT id, login, display_name, active FROM users ORDER BY login")
        .fetch_all(store.pool())
        .await?;
    let links: Vec<(i64, String)> =
        db::query_as("SELECT ur.user_id, r.code FROM user_roles ur JOIN roles r ON r.id = ur.role_id ORDER BY r.code")
            .fetch_all(store.pool())
            .await?;
    Ok(rows
        .into_iter()
        .map(|(id, login, display_name, active)| User {
            id,
            login,
            display_name,
            active: flag(active),
            roles: links.iter().filter(|(u, _)| *u == id).map(|(_, c)| c.clone()).collect(),
        })
        .collect())
}

/// The authenticated view of a user: their permissions. `None` if unknown or disabled.
pub async fn auth_user(store: &Store, id: i64) -> Result<Option<AuthUser>> {
    let memo_key = format!("auth_user:{id}");
    if let Some(v) = store.memo().get::<Option<AuthUser>>(&memo_key) {
        return Ok(v);
    }
    let value: Option<AuthUser> = crate::memo::compute(async {
        let row: Option<(String, String, i64)> = db::query_as("SELECT login, display_name, active FROM users WHERE id = $1")
            .bind(id)
            .fetch_optional(store.pool())
            .await?;
        let Some((login, display_name, active)) = row else {
            return Ok(None);
        };
        if !flag(active) {
            return Ok(None);
        }
        let perms: Vec<(String,)> = db::query_as(
            "SELECT DISTINCT rp.permission FROM user_roles ur JOIN role_permissions rp ON rp.role_id = ur.role_id WHERE ur.user_id = $1",
        )
        .bind(id)
        .fetch_all(store.pool())
        .await?;
        Ok(Some(AuthUser {
            id,
            login,
            display_name,
            permissions: perms.into_iter().map(|p| p.0).filter(|p| permissions::is_known(p)).collect(),
        }))
    })
    .await?;
    store.memo().put(&memo_key, value.clone());
    Ok(value)
}

/// Checks a login and password. Failures are audited; the caller throttles. Over-long input
/// is refused first ([`check_login_input`]), with nothing hashed or written.
pub async fn verify_login(store: &Store, login: &str, password: &str) -> Result<AuthUser> {
    check_login_input(login, password)?;
    let row: Option<(i64, String, i64)> = db::query_as("SELECT id, password_hash, active FROM users WHERE login = $1")
        .bind(login.trim())
        .fetch_optional(store.pool())
        .await?;
    // Hash even for unknown logins, so timing does not reveal which logins exist.
    let known_id = row.as_ref().map(|r| r.0);
    let (id, hash, active) = row.unwrap_or((
        0,
        "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA".into(),
        0,
    ));
    let ok = verify_password(store, password, &hash).await?;
    if ok && flag(active) {
        if let Some(u) = auth_user(store, id).await? {
            return Ok(u);
        }
    }
    // Nothing typed as a login is kept: the user's id when the login exists, else no name.
    let mut tx = store.write(&Actor::system()).await?;
    tx.record(
        crate::store::Change {
            action: "login.failed".into(),
            entity: "user".into(),
            entity_id: known_id.map(|id| id.to_string()),
            before: None,
            after: Some(serde_json::json!({ "known_login": known_id.is_some() })),
        },
        None,
    )
    .await?;
    tx.commit().await?;
    Err(CoreError::BadCredentials)
}
