//! Reading the audit trail, recording refused accesses, and pruning it.
//!
//! Audit rows name people by id (`user:ID` or `system` in `actor`, ids in the values), so the
//! login shown to administrators is read from `users` at display time. They are kept
//! [`DEFAULT_RETENTION_DAYS`] unless configured otherwise (see [`retention_days`]); what the
//! law makes us keep longer (cash-register operations, closures) is not in `audit_log`.

use crate::db;
use crate::error::{CoreError, Result};
use crate::store::{audit_only, Actor, Change, Store};

/// One audit row.
#[derive(Debug, Clone, serde::Serialize)]
pub struct AuditEntry {
    /// Id.
    pub id: i64,
    /// When (UTC, storage format).
    pub at: String,
    /// Who: the user's current login, or the stored reference (`system`, or `user:ID` once
    /// the user is gone).
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
        "SELECT a.id, a.at, COALESCE(u.login, a.actor), a.action, a.entity, a.entity_id, a.before_json, a.after_json \
         FROM audit_log a LEFT JOIN users u ON u.id = a.user_id \
         WHERE ($1 = '' OR a.entity = $2) ORDER BY a.id DESC LIMIT $3",
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

/// Audit rows kept by default: 400 days. A season and its whole follow-up (refunds, disputes,
/// the next season's subscriptions opened a year on) stay traceable, and a rights or access
/// question can be answered for a full year back (CNIL's guidance for access logs is 6 months
/// to 1 year); older rows, which name only ids, go. Cash-register data (journal, closures,
/// kept 6 years) lives in its own tables and is never pruned here.
pub const DEFAULT_RETENTION_DAYS: u32 = 400;

/// Shortest retention accepted: a month, so that a typo cannot wipe the recent trail.
pub const MIN_RETENTION_DAYS: u32 = 30;

/// Longest retention accepted (ten years).
pub const MAX_RETENTION_DAYS: u32 = 3650;

/// Why a retention setting was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("durée de conservation du journal d'audit invalide : « {0} » (nombre de jours de {MIN_RETENTION_DAYS} à {MAX_RETENTION_DAYS})")]
pub struct BadRetention(pub String);

fn parse_retention(text: &str) -> std::result::Result<u32, BadRetention> {
    match text.trim().parse::<u32>() {
        Ok(n) if (MIN_RETENTION_DAYS..=MAX_RETENTION_DAYS).contains(&n) => Ok(n),
        _ => Err(BadRetention(text.trim().chars().take(40).collect())),
    }
}

/// Audit retention in days: `PARTERRE_AUDIT_RETENTION_DAYS`, else `audit_retention_days = N`
/// in `DATA/parterre.toml`, else [`DEFAULT_RETENTION_DAYS`]. A value out of range is an error
/// (never silently replaced: pruning is not undone).
pub fn retention_days(data_dir: Option<&std::path::Path>) -> std::result::Result<u32, BadRetention> {
    if let Ok(v) = std::env::var("PARTERRE_AUDIT_RETENTION_DAYS") {
        if !v.trim().is_empty() {
            return parse_retention(&v);
        }
    }
    if let Some(text) = data_dir.and_then(|d| std::fs::read_to_string(d.join("parterre.toml")).ok()) {
        for line in text.lines() {
            let line = line.split('#').next().unwrap_or("").trim();
            if let Some((k, v)) = line.split_once('=') {
                if k.trim() == "audit_retention_days" {
                    return parse_retention(v.trim().trim_matches('"'));
                }
            }
        }
    }
    Ok(DEFAULT_RETENTION_DAYS)
}

/// Deletes the audit rows older than `days` days (before `now - days`) and records one audit
/// row saying how many went (the count and the cut-off only). Returns that count.
pub async fn prune(store: &Store, days: u32, now: chrono::DateTime<chrono::Utc>) -> Result<u64> {
    if !(MIN_RETENTION_DAYS..=MAX_RETENTION_DAYS).contains(&days) {
        return Err(CoreError::invalid(
            "audit_retention_days",
            BadRetention(days.to_string()).to_string(),
        ));
    }
    let cutoff = crate::time::to_db(now - chrono::Duration::days(i64::from(days)));
    // Find the last old row with a read (no lock held; the index on `at` makes it cost the old
    // rows only), then delete by key range and time (imported history has old times on new
    // ids), so the writer is held only for the delete itself. `id + 0`: on a bare `MAX(id)`
    // SQLite walks the table back from the newest id until a row is old, which is every row
    // when none is (14 ms on the 166,000 rows of a year, at each start) instead of the index.
    let (last,): (Option<i64>,) = db::query_as("SELECT MAX(id + 0) FROM audit_log WHERE at < $1")
        .bind(&cutoff)
        .fetch_one(store.pool())
        .await?;
    let mut tx = store.write(&Actor::system()).await?;
    let gone = match last {
        Some(last) => db::query("DELETE FROM audit_log WHERE id <= $1 AND at < $2")
            .bind(last)
            .bind(&cutoff)
            .execute(tx.conn())
            .await?
            .rows_affected(),
        None => 0,
    };
    tx.record(
        Change {
            action: "audit.prune".into(),
            entity: "audit_log".into(),
            entity_id: None,
            before: None,
            after: Some(serde_json::json!({ "rows": gone, "before": cutoff, "retention_days": days })),
        },
        None,
    )
    .await?;
    tx.commit().await?;
    Ok(gone)
}

/// Prunes once now, then once a day, for as long as the server runs (`parterre serve`
/// spawns it). A failed prune is logged and tried again the next day.
pub async fn prune_daily(store: Store, days: u32) {
    loop {
        match prune(&store, days, chrono::Utc::now()).await {
            Ok(0) => {}
            Ok(n) => tracing::info!("journal d'audit : {n} lignes de plus de {days} jours supprimées"),
            Err(e) => tracing::warn!("journal d'audit : purge impossible : {e}"),
        }
        tokio::time::sleep(std::time::Duration::from_secs(24 * 3600)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retention_is_bounded_and_refused_rather_than_guessed() {
        assert_eq!(parse_retention("400"), Ok(400));
        assert_eq!(parse_retention(" 30 "), Ok(30));
        assert!(parse_retention("0").is_err(), "0 days would wipe the trail");
        assert!(parse_retention("29").is_err());
        assert!(parse_retention("3651").is_err());
        assert!(parse_retention("-5").is_err());
        assert!(parse_retention("un an").is_err());
        let long = "9".repeat(10_000);
        assert!(
            parse_retention(&long).unwrap_err().to_string().len() < 200,
            "the message stays short"
        );
    }

    #[test]
    fn retention_reads_the_data_folder_file() {
        let dir = std::env::temp_dir().join(format!("parterre-retention-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        assert_eq!(retention_days(Some(&dir)), Ok(DEFAULT_RETENTION_DAYS));
        std::fs::write(
            dir.join("parterre.toml"),
            "cart_ttl_seconds = 900\naudit_retention_days = 90 # trois mois\n",
        )
        .unwrap();
        if std::env::var_os("PARTERRE_AUDIT_RETENTION_DAYS").is_none() {
            assert_eq!(retention_days(Some(&dir)), Ok(90));
            std::fs::write(dir.join("parterre.toml"), "audit_retention_days = 7\n").unwrap();
            assert!(retention_days(Some(&dir)).is_err());
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
