//! Users, roles made of named permissions, API tokens, sessions and the audit trail.
//!
//! A user holds several roles; a role is a named set of permissions that can be created,
//! edited and duplicated by an administrator. Passwords are argon2id PHC strings; API tokens
//! and session ids are stored only as SHA-256 hashes.

pub mod audit;
pub mod hashing;
pub mod permissions;
pub mod roles;
pub mod sessions;
pub mod throttle;
pub mod tokens;
pub mod users;

pub use permissions::{Permission, PERMISSIONS};
pub use roles::Role;
pub use users::{AuthUser, User};

use sha2::{Digest, Sha256};

/// A random secret of 32 bytes, hex encoded (64 characters).
pub fn random_secret() -> String {
    use argon2::password_hash::rand_core::{OsRng, RngCore};
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    hex(&bytes)
}

/// SHA-256 of a secret, hex encoded: how tokens and session ids are stored.
pub fn hash_secret(secret: &str) -> String {
    hex(&Sha256::digest(secret.as_bytes()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Compares two strings in time independent of where they differ.
pub fn constant_time_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_random_and_hashed() {
        let a = random_secret();
        let b = random_secret();
        assert_eq!(a.len(), 64);
        assert_ne!(a, b);
        assert_eq!(hash_secret(&a).len(), 64);
        assert_ne!(hash_secret(&a), a);
        assert!(constant_time_eq(&a, &a.clone()));
        assert!(!constant_time_eq(&a, &b));
    }
}
