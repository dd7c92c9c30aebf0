//! The rollups (`agg_*`): aggregates dashboards, reports and segments read all day, kept in
//! the same commit as the facts they sum.
//!
//! A step that changes a season's tickets has that season's whole ticket partition in memory
//! (it read it to apply the events), so it recomputes the season's rollups from it: no delta
//! to get wrong, and a rebuild gives the same rows. Tickets that left (cancelled, exchanged)
//! count in `agg_sales` under their status, and not in the buyers' purchases.

use super::rows::{ShowRow, TicketRow};
use parterre_core::sales::TicketStatus;
use parterre_warehouse::arrow::record_batch::RecordBatch;
use parterre_warehouse::catalog::Table;
use parterre_warehouse::codes::with_codes;
use parterre_warehouse::columns::{days, decimals, ints, opt_ints, texts, times};
use parterre_warehouse::{Result, WarehouseError};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// The status of an exchanged ticket in `fact_ticket`.
pub const EXCHANGED: &str = "exchanged";

/// Does the ticket still count as bought (neither cancelled nor exchanged)?
pub fn kept(status: &str) -> bool {
    status != TicketStatus::Cancelled.code() && status != EXCHANGED
}

/// The calendar day (days since 1970-01-01) of an instant, in the venue's time zone.
pub fn venue_day(micros: i64) -> i32 {
    let t = chrono::DateTime::from_timestamp_micros(micros).unwrap_or_default();
    let d = t.with_timezone(&parterre_core::time::VENUE_TZ).date_naive();
    let epoch = chrono::NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default();
    i32::try_from((d - epoch).num_days()).unwrap_or(0)
}

fn overflow(column: &str) -> WarehouseError {
    WarehouseError::OutOfRange {
        column: column.into(),
        detail: "somme au-delà de l'entier 64 bits".into(),
    }
}

#[derive(Default)]
struct Sums {
    tickets: i64,
    ttc: i64,
    ht: i64,
    vat: i64,
}

/// `agg_sales` of one season, from all its tickets.
pub fn sales(tickets: &[&TicketRow]) -> Result<RecordBatch> {
    type Key<'a> = (i64, i32, &'a str, &'a str, &'a str);
    let mut groups: BTreeMap<Key<'_>, (Option<i64>, Sums)> = BTreeMap::new();
    for t in tickets {
        let key = (
            t.performance_id,
            venue_day(t.issued_at),
            t.channel.as_str(),
            t.price_family.as_str(),
            t.status.as_str(),
        );
        let (_, s) = groups.entry(key).or_insert((t.show_id, Sums::default()));
        s.tickets = s.tickets.checked_add(1).ok_or_else(|| overflow("agg_sales.tickets"))?;
        s.ttc = s.ttc.checked_add(t.amount_ttc).ok_or_else(|| overflow("agg_sales.revenue_ttc"))?;
        s.ht = s.ht.checked_add(t.amount_ht).ok_or_else(|| overflow("agg_sales.revenue_ht"))?;
        s.vat = s.vat.checked_add(t.vat_amount).ok_or_else(|| overflow("agg_sales.vat_amount"))?;
    }
    let g: Vec<(&Key<'_>, &(Option<i64>, Sums))> = groups.iter().collect();
    with_codes(
        Table::AggSales,
        vec![
            ints(g.iter().map(|(k, _)| k.0)),
            opt_ints(g.iter().map(|(_, v)| v.0)),
            days(g.iter().map(|(k, _)| k.1)),
            texts(g.iter().map(|(k, _)| k.2)),
            texts(g.iter().map(|(k, _)| k.3)),
            texts(g.iter().map(|(k, _)| k.4)),
            ints(g.iter().map(|(_, v)| v.1.tickets)),
            decimals(g.iter().map(|(_, v)| v.1.ttc), 18)?,
            decimals(g.iter().map(|(_, v)| v.1.ht), 18)?,
            decimals(g.iter().map(|(_, v)| v.1.vat), 18)?,
        ],
    )
}

#[derive(Default)]
struct Buyer<'a> {
    tickets: i64,
    amount: i64,
    orders: BTreeSet<i64>,
    formules: BTreeSet<i64>,
    performances: BTreeSet<i64>,
    first: i64,
    last: i64,
    disciplines: BTreeSet<&'a str>,
}

/// `agg_contact_season` of one season, from all its tickets and the season's shows (for
/// their disciplines).
pub fn contact_season<'a>(tickets: &[&'a TicketRow], shows: &HashMap<i64, &'a ShowRow>) -> Result<RecordBatch> {
    let mut buyers: BTreeMap<i64, Buyer<'a>> = BTreeMap::new();
    for t in tickets.iter().filter(|t| kept(&t.status)) {
        let Some(buyer) = t.buyer_id else { continue };
        let b = buyers.entry(buyer).or_insert_with(|| Buyer {
            first: t.issued_at,
            last: t.issued_at,
            ..Default::default()
        });
        b.tickets = b.tickets.checked_add(1).ok_or_else(|| overflow("agg_contact_season.tickets"))?;
        b.amount = b
            .amount
            .checked_add(t.amount_ttc)
            .ok_or_else(|| overflow("agg_contact_season.amount_ttc"))?;
        b.orders.insert(t.order_id);
        b.formules.extend(t.formule_id);
        b.performances.insert(t.performance_id);
        b.first = b.first.min(t.issued_at);
        b.last = b.last.max(t.issued_at);
        if let Some(s) = t.show_id.and_then(|s| shows.get(&s)) {
            b.disciplines.insert(s.discipline.as_str());
        }
    }
    let count = |s: &BTreeSet<i64>| i64::try_from(s.len()).unwrap_or(i64::MAX);
    let disciplines: Vec<String> = buyers
        .values()
        .map(|b| b.disciplines.iter().copied().collect::<Vec<_>>().join(","))
        .collect();
    with_codes(
        Table::AggContactSeason,
        vec![
            ints(buyers.keys().copied()),
            ints(buyers.values().map(|b| b.tickets)),
            decimals(buyers.values().map(|b| b.amount), 18)?,
            ints(buyers.values().map(|b| count(&b.orders))),
            ints(buyers.values().map(|b| count(&b.formules))),
            ints(buyers.values().map(|b| count(&b.performances))),
            times(buyers.values().map(|b| b.first)),
            times(buyers.values().map(|b| b.last)),
            texts(disciplines.iter().map(String::as_str)),
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_are_the_venues_and_left_tickets_are_not_purchases() {
        // 2026-10-01 23:30 UTC is already 2 October in Paris.
        let t = chrono::DateTime::parse_from_rfc3339("2026-10-01T23:30:00Z")
            .unwrap()
            .timestamp_micros();
        let d = chrono::NaiveDate::from_ymd_opt(2026, 10, 2).unwrap() - chrono::NaiveDate::from_ymd_opt(1970, 1, 1).unwrap();
        assert_eq!(i64::from(venue_day(t)), d.num_days());
        assert!(kept("valid") && kept("option") && !kept("cancelled") && !kept(EXCHANGED));
    }
}
