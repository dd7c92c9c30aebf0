//! Inventory statements: expiry of holds, holding seats or free places, quota seats, release,
//! and the availability view of a performance.

use super::allocate::PlanSeat;
use super::PlaceState;
use crate::catalog::{performances, plans, Performance, Quota};
use crate::db;
use crate::error::{CoreError, Result};
use crate::store::{Backend, Store, WriteTx};
use crate::time;
use std::collections::HashMap;
use std::sync::Arc;

/// Per-state counts of a performance.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct StateCounts {
    /// Places that can be sold now (general sale).
    pub available: i64,
    /// In a cart.
    pub held: i64,
    /// Sold.
    pub sold: i64,
    /// Reserved unpaid.
    pub option: i64,
    /// Invitations.
    pub invitation: i64,
    /// Set aside for a quota family (not yet used).
    pub quota: i64,
    /// Blocked.
    pub blocked: i64,
}

/// A seat and its state.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SeatState {
    /// Seat id.
    pub id: i64,
    /// Row label.
    pub row: String,
    /// Number.
    pub number: i64,
    /// Its state now.
    pub state: PlaceState,
    /// Quota family for quota seats.
    pub family: String,
    /// Wheelchair place.
    pub pmr: bool,
}

/// What `GET /performances/{id}/availability` answers.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Availability {
    /// Places of the layout.
    pub capacity: i64,
    /// Per state.
    pub counts: StateCounts,
    /// Remaining places per quota family.
    pub quotas: Vec<Quota>,
    /// Seats with their state (numbered halls).
    pub seats: Vec<SeatState>,
}

/// Serialises inventory changes of one performance until the transaction ends. SQLite already
/// has a single writer; PostgreSQL takes a transaction-level advisory lock.
pub async fn lock(tx: &mut WriteTx, performance_id: i64) -> Result<()> {
    if tx.backend() == Backend::Postgres {
        db::query("SELECT pg_advisory_xact_lock($1)")
            .bind(performance_id)
            .execute(tx.conn())
            .await?;
    }
    Ok(())
}

/// Releases every hold whose time is up and marks their carts expired. Returns the ids of the
/// carts that expired now.
pub async fn expire_holds(tx: &mut WriteTx) -> Result<Vec<i64>> {
    let now = time::now_db();
    db::query("DELETE FROM places WHERE state = 'held' AND expires_at < $1 AND (family = '' OR seat_id IS NULL)")
        .bind(&now)
        .execute(tx.conn())
        .await?;
    db::query("UPDATE places SET state = 'quota', cart_item_id = NULL, expires_at = NULL WHERE state = 'held' AND expires_at < $1 AND family <> '' AND seat_id IS NOT NULL")
        .bind(&now)
        .execute(tx.conn())
        .await?;
    let carts: Vec<(i64,)> = db::query_as("SELECT id FROM carts WHERE status = 'open' AND expires_at < $1")
        .bind(&now)
        .fetch_all(tx.conn())
        .await?;
    if !carts.is_empty() {
        db::query("UPDATE carts SET status = 'expired' WHERE status = 'open' AND expires_at < $1")
            .bind(&now)
            .execute(tx.conn())
            .await?;
    }
    Ok(carts.into_iter().map(|c| c.0).collect())
}

/// The plan of a numbered layout, for the allocator, in (row, position) order; read once per
/// process (a layout's plan never changes).
pub async fn plan(store: &Store, layout_id: i64) -> Result<Arc<Vec<PlanSeat>>> {
    if let Some(p) = store.cached_alloc_plan(layout_id) {
        return Ok(p);
    }
    let mut seats: Vec<PlanSeat> = plans::seats_shared(store, layout_id)
        .await?
        .iter()
        .map(|s| PlanSeat {
            id: s.id,
            row: s.spec.row.clone(),
            side: s.spec.side.clone(),
            pmr: s.spec.pmr,
            x: s.spec.x,
            y: s.spec.y,
        })
        .collect();
    seats.sort_by_key(|s| (s.y, s.x, s.id));
    let shared = Arc::new(seats);
    if !shared.is_empty() {
        store.cache_alloc_plan(layout_id, shared.clone());
    }
    Ok(shared)
}

/// Seat ids, sorted and without repeats, searched by bisection: the allocator asks about every
/// seat of the plan (843 questions in the Grande salle) while it holds the writer, and a
/// bisection over a few hundred integers costs less than hashing each one.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SeatIds(Vec<i64>);

impl SeatIds {
    /// Sorts and deduplicates `ids`.
    pub fn new(mut ids: Vec<i64>) -> Self {
        ids.sort_unstable();
        ids.dedup();
        SeatIds(ids)
    }

    /// Is `id` among them?
    pub fn contains(&self, id: i64) -> bool {
        self.0.binary_search(&id).is_ok()
    }

    /// How many.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// None at all.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// The seats of a numbered performance a request may take.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SeatChoice {
    /// General sale: every seat of the plan but these (sold, held, quota, blocked…).
    AllBut(SeatIds),
    /// A quota family: only the seats set aside for it and not yet used.
    Only(SeatIds),
}

impl SeatChoice {
    /// May this seat be taken?
    pub fn allows(&self, seat_id: i64) -> bool {
        match self {
            SeatChoice::AllBut(taken) => !taken.contains(seat_id),
            SeatChoice::Only(free) => free.contains(seat_id),
        }
    }
}

/// Which seats of a performance a request in the general sale (`family` empty) or for a
/// quota family may take now. Expired holds count as free (a quota seat's, for its family).
/// Read as one aggregated row of ids: fetching hundreds of rows costs more than parsing.
pub async fn seat_choice(tx: &mut WriteTx, performance_id: i64, family: &str) -> Result<SeatChoice> {
    let agg = match tx.backend() {
        Backend::Sqlite => "group_concat(seat_id, ',')",
        Backend::Postgres => "string_agg(seat_id::text, ',')",
    };
    let (joined,): (Option<String>,) = if family.is_empty() {
        db::query_as(&format!(
            "SELECT {agg} FROM places WHERE performance_id = $1 AND seat_id IS NOT NULL \
             AND NOT (state = 'held' AND expires_at < $2 AND family = '')"
        ))
        .bind(performance_id)
        .bind(time::now_db())
        .fetch_one(tx.conn())
        .await?
    } else {
        db::query_as(&format!(
            "SELECT {agg} FROM places WHERE performance_id = $1 AND seat_id IS NOT NULL \
             AND family = $3 AND (state = 'quota' OR (state = 'held' AND expires_at < $2))"
        ))
        .bind(performance_id)
        .bind(time::now_db())
        .bind(family)
        .fetch_one(tx.conn())
        .await?
    };
    let ids = parse_ids(joined.as_deref().unwrap_or(""));
    Ok(if family.is_empty() {
        SeatChoice::AllBut(ids)
    } else {
        SeatChoice::Only(ids)
    })
}

/// Parses `12,13,…`.
fn parse_ids(joined: &str) -> SeatIds {
    SeatIds::new(joined.split(',').filter_map(|p| p.trim().parse().ok()).collect())
}

/// Free places left in a pool (`family` empty for the general sale).
pub async fn free_left(tx: &mut WriteTx, perf: &Performance, family: &str) -> Result<i64> {
    let quota_total: i64 = perf.quotas.iter().map(|q| q.places).sum();
    let capacity = if family.is_empty() {
        perf.capacity - quota_total
    } else {
        perf.quotas.iter().find(|q| q.family == family).map(|q| q.places).unwrap_or(0)
    };
    let (taken,): (i64,) = db::query_as("SELECT COUNT(*) FROM places WHERE performance_id = $1 AND family = $2 AND seat_id IS NULL AND NOT (state = 'held' AND expires_at < $3)")
        .bind(perf.id)
        .bind(family)
        .bind(time::now_db())
        .fetch_one(tx.conn())
        .await?;
    Ok((capacity - taken).max(0))
}

/// Holds `item_ids.len()` free places in a pool, one per cart item; refuses when the pool
/// has fewer left.
pub async fn hold_free(tx: &mut WriteTx, perf: &Performance, family: &str, item_ids: &[i64], expires_at: &str) -> Result<()> {
    let left = free_left(tx, perf, family).await?;
    if (item_ids.len() as i64) > left {
        return Err(CoreError::Conflict(if left == 0 {
            "complet : plus aucune place disponible".to_string()
        } else {
            format!("plus que {left} place(s) disponible(s)")
        }));
    }
    let now = time::now_db();
    for chunk in item_ids.chunks(100) {
        let values: Vec<String> = (0..chunk.len())
            .map(|k| format!("($1, NULL, $2, 'held', ${}, $3, $4)", k + 5))
            .collect();
        let sql = format!(
            "INSERT INTO places (performance_id, seat_id, family, state, cart_item_id, expires_at, created_at) VALUES {}",
            values.join(", ")
        );
        let mut q = db::query(&sql).bind(perf.id).bind(family).bind(expires_at).bind(&now);
        for item in chunk {
            q = q.bind(*item);
        }
        q.execute(tx.conn()).await?;
    }
    Ok(())
}

/// Holds given seats, one per cart item. A general-sale seat must have no row (the unique key
/// refuses a second insert); a quota seat must be set aside for `family`.
pub async fn hold_seats(tx: &mut WriteTx, perf: &Performance, family: &str, seats: &[(i64, i64)], expires_at: &str) -> Result<()> {
    if family.is_empty() {
        return hold_general_seats(tx, perf, seats, expires_at).await;
    }
    let now = time::now_db();
    for (seat_id, item_id) in seats {
        let affected = if family.is_empty() {
            db::query(
                "INSERT INTO places (performance_id, seat_id, family, state, cart_item_id, expires_at, created_at) \
                 VALUES ($1, $2, '', 'held', $3, $4, $5) \
                 ON CONFLICT (performance_id, seat_id) DO UPDATE SET state = 'held', cart_item_id = excluded.cart_item_id, \
                 expires_at = excluded.expires_at, ticket_id = NULL \
                 WHERE places.state = 'held' AND places.family = '' AND places.expires_at < $6",
            )
            .bind(perf.id)
            .bind(seat_id)
            .bind(item_id)
            .bind(expires_at)
            .bind(&now)
            .bind(&now)
            .execute(tx.conn())
            .await?
            .rows_affected()
        } else {
            db::query(
                "UPDATE places SET state = 'held', cart_item_id = $1, expires_at = $2 \
                 WHERE performance_id = $3 AND seat_id = $4 AND family = $5 AND (state = 'quota' OR (state = 'held' AND expires_at < $6))",
            )
            .bind(item_id)
            .bind(expires_at)
            .bind(perf.id)
            .bind(seat_id)
            .bind(family)
            .bind(&now)
            .execute(tx.conn())
            .await?
            .rows_affected()
        };
        if affected != 1 {
            let label: Option<(String, i64)> = db::query_as("SELECT row_label, number FROM seats WHERE id = $1")
                .bind(seat_id)
                .fetch_optional(tx.conn())
                .await?;
            let label = label
                .map(|(r, n)| format!("rang {r} n° {n}"))
                .unwrap_or_else(|| format!("siège {seat_id}"));
            return Err(CoreError::Conflict(format!("le siège {label} n'est plus disponible")));
        }
    }
    Ok(())
}

/// General-sale seats in one upsert per 100: a seat with no row, or whose general hold has
/// expired, is taken; any other seat makes the whole hold fail (the caller's transaction rolls
/// back) with that seat named.
async fn hold_general_seats(tx: &mut WriteTx, perf: &Performance, seats: &[(i64, i64)], expires_at: &str) -> Result<()> {
    let now = time::now_db();
    for chunk in seats.chunks(100) {
        let values: Vec<String> = (0..chunk.len())
            .map(|k| format!("($1, ${}, '', 'held', ${}, $2, $3)", 5 + 2 * k, 6 + 2 * k))
            .collect();
        let sql = format!(
            "INSERT INTO places (performance_id, seat_id, family, state, cart_item_id, expires_at, created_at) VALUES {} \
             ON CONFLICT (performance_id, seat_id) DO UPDATE SET state = 'held', cart_item_id = excluded.cart_item_id, \
             expires_at = excluded.expires_at, ticket_id = NULL \
             WHERE places.state = 'held' AND places.family = '' AND places.expires_at < $4",
            values.join(", ")
        );
        let mut q = db::query(&sql).bind(perf.id).bind(expires_at).bind(&now).bind(&now);
        for (seat, item) in chunk {
            q = q.bind(*seat).bind(*item);
        }
        let affected = q.execute(tx.conn()).await?.rows_affected();
        if affected as usize != chunk.len() {
            for (seat, item) in chunk {
                let owner: Option<(Option<i64>,)> =
                    db::query_as("SELECT cart_item_id FROM places WHERE performance_id = $1 AND seat_id = $2")
                        .bind(perf.id)
                        .bind(seat)
                        .fetch_optional(tx.conn())
                        .await?;
                if owner.and_then(|o| o.0) != Some(*item) {
                    let label: Option<(String, i64)> = db::query_as("SELECT row_label, number FROM seats WHERE id = $1")
                        .bind(seat)
                        .fetch_optional(tx.conn())
                        .await?;
                    let label = label
                        .map(|(r, n)| format!("rang {r} n° {n}"))
                        .unwrap_or_else(|| format!("siège {seat}"));
                    return Err(CoreError::Conflict(format!("le siège {label} n'est plus disponible")));
                }
            }
            return Err(CoreError::Conflict("un siège demandé n'est plus disponible".into()));
        }
    }
    Ok(())
}

/// Gives back the places of cart items: quota seats return to their quota, others are freed.
pub async fn release_items(tx: &mut WriteTx, item_ids: &[i64]) -> Result<()> {
    for id in item_ids {
        db::query("UPDATE places SET state = 'quota', cart_item_id = NULL, expires_at = NULL WHERE cart_item_id = $1 AND state = 'held' AND family <> '' AND seat_id IS NOT NULL")
            .bind(id)
            .execute(tx.conn())
            .await?;
        db::query("DELETE FROM places WHERE cart_item_id = $1 AND state = 'held'")
            .bind(id)
            .execute(tx.conn())
            .await?;
    }
    Ok(())
}

/// Frees the place of a cancelled ticket (back to its quota when it came from one).
pub async fn release_ticket(tx: &mut WriteTx, ticket_id: i64) -> Result<u64> {
    let back =
        db::query("UPDATE places SET state = 'quota', ticket_id = NULL WHERE ticket_id = $1 AND family <> '' AND seat_id IS NOT NULL")
            .bind(ticket_id)
            .execute(tx.conn())
            .await?
            .rows_affected();
    let freed = db::query("DELETE FROM places WHERE ticket_id = $1")
        .bind(ticket_id)
        .execute(tx.conn())
        .await?
        .rows_affected();
    Ok(back + freed)
}

/// Sets aside seats of a numbered performance for its quota families, from the back rows,
/// never wheelchair places. Replaces the unused quota seats; seats already sold stay.
pub async fn allocate_quota_seats(store: &Store, tx: &mut WriteTx, perf_id: i64, layout_id: i64, quotas: &[Quota]) -> Result<()> {
    let plan = plan(store, layout_id).await?;
    if plan.is_empty() {
        return Ok(());
    }
    db::query("DELETE FROM places WHERE performance_id = $1 AND state = 'quota'")
        .bind(perf_id)
        .execute(tx.conn())
        .await?;
    let free = seat_choice(tx, perf_id, "").await?;
    let mut candidates: Vec<&PlanSeat> = plan.iter().filter(|s| !s.pmr && free.allows(s.id)).collect();
    // Back rows first, then from the sides inwards.
    candidates.sort_by_key(|s| (std::cmp::Reverse(s.y), s.x));
    let now = time::now_db();
    let mut it = candidates.into_iter();
    for q in quotas {
        for _ in 0..q.places {
            let Some(seat) = it.next() else { break };
            db::query("INSERT INTO places (performance_id, seat_id, family, state, created_at) VALUES ($1, $2, $3, 'quota', $4)")
                .bind(perf_id)
                .bind(seat.id)
                .bind(&q.family)
                .bind(&now)
                .execute(tx.conn())
                .await?;
        }
    }
    Ok(())
}

crate::row_struct! {
    struct PlaceRow { seat_id: Option<i64>, state: PlaceState, family: String, expires_at: Option<String> }
}

/// The state of every place of a performance, as seen now (expired holds count as free).
pub async fn availability(store: &Store, performance_id: i64) -> Result<Availability> {
    let perf = performances::get_performance(store, performance_id).await?;
    let now = time::now_db();
    let rows: Vec<PlaceRow> = db::query_as("SELECT seat_id, state, family, expires_at FROM places WHERE performance_id = $1")
        .bind(performance_id)
        .fetch_all(store.pool())
        .await?;
    let live: Vec<&PlaceRow> = rows
        .iter()
        .filter(|p| !(p.state == PlaceState::Held && p.expires_at.as_deref().is_some_and(|e| e < now.as_str())))
        .collect();
    let mut counts = StateCounts::default();
    for p in &live {
        match p.state {
            PlaceState::Held => counts.held += 1,
            PlaceState::Sold => counts.sold += 1,
            PlaceState::Option => counts.option += 1,
            PlaceState::Invitation => counts.invitation += 1,
            PlaceState::Quota => counts.quota += 1,
            PlaceState::Blocked => counts.blocked += 1,
            PlaceState::Available => {}
        }
    }
    let quota_left: Vec<Quota> = perf
        .quotas
        .iter()
        .map(|q| {
            let used = live
                .iter()
                .filter(|p| p.family == q.family && (p.seat_id.is_none() || p.state != PlaceState::Quota))
                .count() as i64;
            let left = if perf.numbered {
                live.iter().filter(|p| p.family == q.family && p.state == PlaceState::Quota).count() as i64
            } else {
                (q.places - used).max(0)
            };
            Quota {
                family: q.family.clone(),
                places: left,
            }
        })
        .collect();
    let mut seats = Vec::new();
    if perf.numbered {
        let by_seat: HashMap<i64, (PlaceState, &str)> = live
            .iter()
            .filter_map(|p| p.seat_id.map(|id| (id, (p.state, p.family.as_str()))))
            .collect();
        for s in plans::seats(store, perf.layout_id).await? {
            let (state, family) = by_seat.get(&s.id).copied().unwrap_or((PlaceState::Available, ""));
            seats.push(SeatState {
                id: s.id,
                row: s.spec.row,
                number: s.spec.number,
                state,
                family: family.into(),
                pmr: s.spec.pmr,
            });
        }
        counts.available = seats.iter().filter(|s| s.state == PlaceState::Available).count() as i64;
    } else {
        let quota_total: i64 = perf.quotas.iter().map(|q| q.places).sum();
        let general_taken = live.iter().filter(|p| p.family.is_empty()).count() as i64;
        counts.available = (perf.capacity - quota_total - general_taken).max(0);
        counts.quota = quota_left.iter().map(|q| q.places).sum();
    }
    Ok(Availability {
        capacity: perf.capacity,
        counts,
        quotas: quota_left,
        seats,
    })
}

/// Places sellable now in the general sale, in one count (for lists of performances).
pub async fn available_now(store: &Store, perf: &Performance) -> Result<i64> {
    let now = time::now_db();
    let (taken,): (i64,) = db::query_as(
        "SELECT COUNT(*) FROM places WHERE performance_id = $1 AND ($2 = 1 OR family = '') AND NOT (state = 'held' AND expires_at < $3)",
    )
    .bind(perf.id)
    .bind(perf.numbered as i64)
    .bind(&now)
    .fetch_one(store.pool())
    .await?;
    let quota_total: i64 = perf.quotas.iter().map(|q| q.places).sum();
    Ok(if perf.numbered {
        perf.capacity - taken
    } else {
        perf.capacity - quota_total - taken
    }
    .max(0))
}

#[cfg(test)]
mod tests {
    #[test]
    fn seat_ids_parse_and_choices_allow() {
        let t = super::parse_ids("13,12,13,");
        assert_eq!(t.len(), 2, "sorted and without repeats");
        assert!(t.contains(12) && t.contains(13) && !t.contains(11));
        assert!(super::parse_ids("").is_empty());
        assert!(!super::SeatChoice::AllBut(t.clone()).allows(12));
        assert!(super::SeatChoice::AllBut(t.clone()).allows(14));
        assert!(super::SeatChoice::Only(t.clone()).allows(13));
        assert!(!super::SeatChoice::Only(t).allows(14));
    }
}
