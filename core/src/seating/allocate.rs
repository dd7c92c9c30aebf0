//! Choosing seats side by side: pure functions over a hall plan, unit-tested without
//! a database. "Side by side" means consecutive seats of one row on the same side of the aisle
//! with no taken seat between them.

/// A seat as the allocator sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanSeat {
    /// Seat id.
    pub id: i64,
    /// Row label.
    pub row: String,
    /// Side of the aisle.
    pub side: String,
    /// Wheelchair place.
    pub pmr: bool,
    /// Drawing position: y orders rows from the stage, x orders seats in a row.
    pub x: i64,
    /// Drawing position.
    pub y: i64,
}

/// The allocator's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Allocation {
    /// Chosen seats.
    pub seat_ids: Vec<i64>,
    /// True when all are side by side in one row.
    pub together: bool,
    /// For a split: a plain explanation for the buyer.
    pub message: Option<String>,
}

struct Block<'a> {
    row_rank: usize,
    seats: Vec<&'a PlanSeat>,
    row_center: f64,
}

/// Splits the plan into blocks of seats that are side by side, keeping only the available ones
/// (a taken seat breaks a block). One pass over the plan in (row, position) order.
fn blocks<'a>(plan: &'a [PlanSeat], available: &dyn Fn(i64) -> bool, pmr_ok: bool) -> Vec<Block<'a>> {
    let mut ordered: Vec<&PlanSeat> = plan.iter().collect();
    if !ordered.is_sorted_by_key(|s| (s.y, s.x)) {
        ordered.sort_by_key(|s| (s.y, s.x));
    }
    let mut out = Vec::new();
    for (rank, row) in ordered.chunk_by(|a, b| a.y == b.y).enumerate() {
        let center = (row[0].x + row[row.len() - 1].x) as f64 / 2.0;
        let mut current: Vec<&PlanSeat> = Vec::new();
        let mut last_side: Option<&str> = None;
        for s in row {
            let usable = available(s.id) && (pmr_ok || !s.pmr);
            if (!usable || last_side.is_some_and(|side| side != s.side)) && !current.is_empty() {
                out.push(Block {
                    row_rank: rank,
                    seats: std::mem::take(&mut current),
                    row_center: center,
                });
            }
            last_side = Some(&s.side);
            if usable {
                current.push(s);
            }
        }
        if !current.is_empty() {
            out.push(Block {
                row_rank: rank,
                seats: current,
                row_center: center,
            });
        }
    }
    out
}

/// Score of a window of seats: rows nearer the stage first, then nearer the row's centre.
fn score(b: &Block, start: usize, n: usize) -> (usize, i64) {
    let xs: f64 = b.seats[start..start + n].iter().map(|s| s.x as f64).sum::<f64>() / n as f64;
    (b.row_rank, ((xs - b.row_center).abs() * 10.0) as i64)
}

/// The best window of exactly `n` side-by-side seats, if any.
fn best_window<'a>(blocks: &'a [Block<'a>], n: usize, need_pmr: bool) -> Option<(usize, usize)> {
    let mut best: Option<((usize, i64), usize, usize)> = None;
    for (bi, b) in blocks.iter().enumerate() {
        if b.seats.len() < n {
            continue;
        }
        for start in 0..=b.seats.len() - n {
            if need_pmr && !b.seats[start..start + n].iter().any(|s| s.pmr) {
                continue;
            }
            let sc = score(b, start, n);
            if best.as_ref().is_none_or(|(bs, _, _)| sc < *bs) {
                best = Some((sc, bi, start));
            }
        }
    }
    best.map(|(_, bi, start)| (bi, start))
}

/// Chooses `n` seats among the available ones: side by side in one row when possible,
/// otherwise the fewest groups, as close to each other as possible. Wheelchair places are
/// used only when `pmr` is asked, and then at least one is included.
pub fn best_available(plan: &[PlanSeat], available: &dyn Fn(i64) -> bool, n: usize, pmr: bool) -> Option<Allocation> {
    if n == 0 {
        return None;
    }
    let all = blocks(plan, available, pmr);
    if let Some((bi, start)) = best_window(&all, n, pmr) {
        let ids = all[bi].seats[start..start + n].iter().map(|s| s.id).collect();
        return Some(Allocation {
            seat_ids: ids,
            together: true,
            message: None,
        });
    }
    // Split: take the largest group first (at the best place), then fill from the same or
    // nearest rows, so the party sits as close together as the hall allows.
    let mut taken: Vec<i64> = Vec::new();
    let mut groups: Vec<(String, usize)> = Vec::new();
    let mut remaining = n;
    let mut need_pmr = pmr;
    let mut anchor_rank: Option<usize> = None;
    while remaining > 0 {
        let avail = |id: i64| available(id) && !taken.contains(&id);
        let bl = blocks(plan, &avail, pmr);
        let largest = bl
            .iter()
            .filter(|b| !need_pmr || b.seats.iter().any(|s| s.pmr))
            .map(|b| b.seats.len())
            .max()?;
        let size = largest.min(remaining);
        let mut best: Option<((usize, usize, i64), usize, usize)> = None;
        for (bi, b) in bl.iter().enumerate() {
            if b.seats.len() < size {
                continue;
            }
            for start in 0..=b.seats.len() - size {
                if need_pmr && !b.seats[start..start + size].iter().any(|s| s.pmr) {
                    continue;
                }
                let (rank, center) = score(b, start, size);
                let distance = anchor_rank.map(|a| a.abs_diff(rank)).unwrap_or(rank);
                let sc = (distance, rank, center);
                if best.as_ref().is_none_or(|(bs, _, _)| sc < *bs) {
                    best = Some((sc, bi, start));
                }
            }
        }
        let (_, bi, start) = best?;
        let b = &bl[bi];
        anchor_rank.get_or_insert(b.row_rank);
        let chosen = &b.seats[start..start + size];
        need_pmr = need_pmr && !chosen.iter().any(|s| s.pmr);
        groups.push((chosen[0].row.clone(), size));
        taken.extend(chosen.iter().map(|s| s.id));
        remaining -= size;
    }
    let detail = groups.iter().map(|(r, k)| format!("rang {r} : {k}")).collect::<Vec<_>>().join(", ");
    Some(Allocation {
        seat_ids: taken,
        together: false,
        message: Some(format!(
            "Pas de {n} places côte à côte : placement en {} groupes ({detail}).",
            groups.len()
        )),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two rows of 6 seats: odd side x 0..2, even side x 3..5 (aisle between 2 and 3).
    fn plan() -> Vec<PlanSeat> {
        let mut v = Vec::new();
        for (r, y) in [("A", 0), ("B", 10)] {
            for k in 0..6 {
                v.push(PlanSeat {
                    id: (y * 10 + k) + 1,
                    row: r.into(),
                    side: if k < 3 { "impair".into() } else { "pair".into() },
                    pmr: r == "B" && k == 0,
                    x: k * 10,
                    y,
                });
            }
        }
        v
    }

    #[test]
    fn three_together_in_the_front_row_on_one_side() {
        let a = best_available(&plan(), &|_| true, 3, false).unwrap();
        assert!(a.together);
        assert_eq!(a.seat_ids.len(), 3);
        assert!(a.seat_ids.iter().all(|id| *id <= 6), "front row: {a:?}");
    }

    #[test]
    fn the_aisle_and_taken_seats_break_a_group() {
        // Row A: seat 2 taken; odd side has 1 and 3 apart; 4 seats cannot sit together anywhere.
        let a = best_available(&plan(), &|id| id != 2, 4, false).unwrap();
        assert!(!a.together);
        assert_eq!(a.seat_ids.len(), 4);
        assert!(a.message.unwrap().contains("Pas de 4 places côte à côte"));
    }

    #[test]
    fn pmr_places_only_when_asked() {
        // Front row full: row B remains; seat B1 (id 101) is PMR.
        let avail = |id: i64| id > 100;
        let a = best_available(&plan(), &avail, 3, false).unwrap();
        assert!(!a.seat_ids.contains(&101));
        let a = best_available(&plan(), &avail, 2, true).unwrap();
        assert!(a.seat_ids.contains(&101) && a.together);
    }

    #[test]
    fn not_enough_seats_is_none() {
        assert!(best_available(&plan(), &|id| id == 1, 2, false).is_none());
        assert!(best_available(&plan(), &|_| true, 0, false).is_none());
    }
}
