//! Entry control against the tickets' current state: is this code valid, revoked (the ticket
//! was cancelled, refunded, exchanged, or reissued with a newer code) or unknown (not ours);
//! and, for scanners working offline, the list of codes revoked since a cursor.
//!
//! A signature alone proves a code was issued by the venue, not that it still admits anyone:
//! the ticket's status and its `barcode_version` (bumped at each reissue) decide.

use super::{TicketSigner, ALGORITHM};
use crate::db;
use crate::error::{CoreError, Result};
use crate::sales::TicketStatus;
use crate::store::Store;
use chrono::Duration;

/// What a code is worth at the door.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CodeStatus {
    /// Signed by us, the ticket is valid and this is its current code.
    Valid,
    /// Signed by us, but the ticket no longer admits anyone with this code.
    Revoked,
    /// Not a code of ours: unreadable, bad signature, unknown key or no such ticket.
    Unknown,
}

/// The answer to a verification.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Verification {
    /// Valid, revoked or unknown.
    pub status: CodeStatus,
    /// The ticket (absent when unknown).
    pub ticket_id: Option<i64>,
    /// The performance the ticket is for now (absent when unknown).
    pub performance_id: Option<i64>,
    /// The ticket's status (absent when unknown).
    pub state: Option<TicketStatus>,
    /// The ticket's current code version (absent when unknown).
    pub barcode_version: Option<u32>,
    /// The version written in the code checked (absent when unreadable).
    pub code_version: Option<u32>,
}

impl Verification {
    fn unknown(code_version: Option<u32>) -> Self {
        Verification {
            status: CodeStatus::Unknown,
            ticket_id: None,
            performance_id: None,
            state: None,
            barcode_version: None,
            code_version,
        }
    }
}

crate::row_struct! {
    struct TicketNow { performance_id: i64, status: TicketStatus, barcode_version: i64 }
}

crate::row_struct! {
    struct TicketChange { id: i64, status: TicketStatus, barcode_version: i64, updated_at: String }
}

/// Checks a QR text: signature first, then the ticket as it stands in the database.
pub async fn verify(store: &Store, signer: &TicketSigner, payload: &str) -> Result<Verification> {
    let Ok(claim) = signer.verify(payload) else {
        return Ok(Verification::unknown(None));
    };
    let row: Option<TicketNow> = db::query_as("SELECT performance_id, status, barcode_version FROM tickets WHERE id = $1")
        .bind(claim.ticket_id)
        .fetch_optional(store.pool())
        .await?;
    let Some(TicketNow {
        performance_id,
        status: state,
        barcode_version: version,
    }) = row
    else {
        return Ok(Verification::unknown(Some(claim.barcode_version)));
    };
    let current = u32::try_from(version).unwrap_or(u32::MAX);
    let admits = state == TicketStatus::Valid && current == claim.barcode_version && performance_id == claim.performance_id;
    Ok(Verification {
        status: if admits { CodeStatus::Valid } else { CodeStatus::Revoked },
        ticket_id: Some(claim.ticket_id),
        performance_id: Some(performance_id),
        state: Some(state),
        barcode_version: Some(current),
        code_version: Some(claim.barcode_version),
    })
}

/// A public key a scanner needs to check codes offline.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PublicKey {
    /// The id written in the codes signed with this key.
    pub key_id: u8,
    /// The Ed25519 public key, base64url without padding.
    pub public_key: String,
    /// Always `Ed25519`.
    pub algorithm: &'static str,
}

/// The public keys of the installation (one today; several after a key rotation).
pub fn public_keys(signer: &TicketSigner) -> Vec<PublicKey> {
    vec![PublicKey {
        key_id: signer.key_id(),
        public_key: signer.public_key_base64url(),
        algorithm: ALGORITHM,
    }]
}

/// Which codes of a ticket are revoked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Revoked {
    /// Every code: the ticket no longer admits anyone.
    All,
    /// Codes older than this version (the lowest still valid): the ticket was reissued.
    Below(u32),
}

impl serde::Serialize for Revoked {
    /// `"all"`, or the lowest still-valid version as a number.
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        match self {
            Revoked::All => s.serialize_str("all"),
            Revoked::Below(v) => s.serialize_u32(*v),
        }
    }
}

/// One entry of the revocation list.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Revocation {
    /// The ticket.
    pub ticket_id: i64,
    /// `"all"`, or the lowest barcode version still valid.
    pub min_valid_version: Revoked,
    /// When (the ticket's last change, RFC 3339, UTC).
    pub revoked_at: String,
}

/// A page of the revocation list.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RevocationPage {
    /// Revocations in the order they happened.
    pub revocations: Vec<Revocation>,
    /// What to pass as `since` next time.
    pub next: String,
}

/// Most entries in one page.
pub const MAX_PAGE: i64 = 5_000;

/// How far back a page's end is kept: a transaction still in flight may commit a change dated
/// a little before the moment we read, so the cursor stays behind by this much (an entry may
/// come twice; applying it twice is harmless).
const SETTLE: Duration = Duration::seconds(30);

/// Where a listing resumes: after this (instant, ticket id).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Cursor {
    at: String,
    id: i64,
}

impl Cursor {
    fn encode(&self) -> String {
        format!("{}_{}", self.at, self.id)
    }

    /// A cursor from `next`, or an RFC 3339 instant (from then on, inclusive).
    fn parse(text: &str) -> Result<Self> {
        // `+` of an offset arrives as a space when the caller did not percent-encode it.
        let text = text.trim().replace(' ', "+");
        let bad = || {
            CoreError::invalid(
                "since",
                "instant RFC 3339 (2026-10-03T20:30:00Z) ou valeur « next » d'une réponse précédente attendu",
            )
        };
        if text.len() > 64 {
            return Err(bad());
        }
        let (at, id) = match text.rsplit_once('_') {
            Some((at, id)) => (at, id.parse::<i64>().map_err(|_| bad())?),
            None => (text.as_str(), 0),
        };
        let t = chrono::DateTime::parse_from_rfc3339(at).map_err(|_| bad())?;
        Ok(Cursor {
            at: crate::time::to_db(t.with_timezone(&chrono::Utc)),
            id,
        })
    }
}

/// Revocations since `since` (a cursor from a previous page or an RFC 3339 instant; from the
/// beginning when `None`), at most `limit` (1 to [`MAX_PAGE`]).
pub async fn revocations(store: &Store, since: Option<&str>, limit: i64) -> Result<RevocationPage> {
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(CoreError::invalid("limit", format!("de 1 à {MAX_PAGE} entrées par page")));
    }
    let from = match since.filter(|s| !s.trim().is_empty()) {
        Some(s) => Cursor::parse(s)?,
        None => Cursor { at: String::new(), id: 0 },
    };
    let rows: Vec<TicketChange> = db::query_as(
        "SELECT id, status, barcode_version, updated_at FROM tickets \
         WHERE updated_at >= $1 AND (updated_at > $2 OR id > $3) AND (status <> $4 OR barcode_version > 1) \
         ORDER BY updated_at, id LIMIT $5",
    )
    .bind(&from.at)
    .bind(&from.at)
    .bind(from.id)
    .bind(TicketStatus::Valid)
    .bind(limit)
    .fetch_all(store.pool())
    .await?;
    let full = rows.len() as i64 == limit;
    let last = rows.last().map(|r| Cursor {
        at: r.updated_at.clone(),
        id: r.id,
    });
    let next = match last {
        Some(c) if full => c,
        _ => {
            let settled = Cursor {
                at: crate::time::to_db(crate::time::now() - SETTLE),
                id: 0,
            };
            if settled.at > from.at {
                settled
            } else {
                from
            }
        }
    };
    let revocations = rows
        .into_iter()
        .map(|r| Revocation {
            ticket_id: r.id,
            min_valid_version: match r.status {
                TicketStatus::Valid => Revoked::Below(u32::try_from(r.barcode_version).unwrap_or(u32::MAX)),
                TicketStatus::Cancelled => Revoked::All,
            },
            revoked_at: r.updated_at,
        })
        .collect();
    Ok(RevocationPage {
        revocations,
        next: next.encode(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors() {
        let c = Cursor::parse("2026-10-03T20:30:00+02:00").unwrap();
        assert_eq!(c.at, "2026-10-03T18:30:00.000000Z");
        assert_eq!(c.id, 0);
        assert_eq!(Cursor::parse("2026-10-03T20:30:00 02:00").unwrap(), c, "unencoded +");
        let n = Cursor { at: c.at.clone(), id: 42 };
        assert_eq!(Cursor::parse(&n.encode()).unwrap(), n);
        for bad in ["hier", "2026-10-03", "2026-10-03T18:30:00Z_x", &"9".repeat(100)] {
            assert!(matches!(Cursor::parse(bad), Err(CoreError::Invalid(_))), "{bad}");
        }
    }

    #[test]
    fn revoked_serialises_as_all_or_a_number() {
        assert_eq!(serde_json::to_string(&Revoked::All).unwrap(), "\"all\"");
        assert_eq!(serde_json::to_string(&Revoked::Below(3)).unwrap(), "3");
    }

    #[test]
    fn unreadable_codes_are_unknown_without_a_database() {
        let v = Verification::unknown(None);
        assert_eq!(serde_json::to_value(&v).unwrap()["status"], "unknown");
    }
}
