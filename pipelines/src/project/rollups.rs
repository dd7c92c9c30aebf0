//! The rollups (`agg_*`): aggregates dashboards, reports and segments read all day, kept in
//! the same commit as the facts they sum.
//!
//! A step that changes a season's tickets has that season's whole ticket partition in memory
//! (it read it to apply the events), so it recomputes the season's rollups from it: no delta
//! to get wrong, and a rebuild gives the same rows. Tickets that left (cancelled, exchanged)
//! count in `agg_sales` under their status, and not in the buyers' purchases.

use super::rows::{PerformanceRow, ShowRow, TicketRow};
use parterre_core::sales::TicketStatus;
use parterre_core::seating::PlaceState;
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

impl Sums {
    fn add(&mut self, t: &TicketRow, table: &str) -> Result<()> {
        let sum = |a: i64, b: i64| a.checked_add(b).ok_or_else(|| overflow(table));
        self.tickets = sum(self.tickets, 1)?;
        self.ttc = sum(self.ttc, t.amount_ttc)?;
        self.ht = sum(self.ht, t.amount_ht)?;
        self.vat = sum(self.vat, t.vat_amount)?;
        Ok(())
    }
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
        s.add(t, "agg_sales")?;
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

/// `agg_sales_day` of one season: [`sales`] without the performance.
pub fn sales_day(tickets: &[&TicketRow]) -> Result<RecordBatch> {
    type Key<'a> = (i32, &'a str, &'a str, &'a str);
    let mut groups: BTreeMap<Key<'_>, Sums> = BTreeMap::new();
    for t in tickets {
        let key = (
            venue_day(t.issued_at),
            t.channel.as_str(),
            t.price_family.as_str(),
            t.status.as_str(),
        );
        let s = groups.entry(key).or_default();
        s.add(t, "agg_sales_day")?;
    }
    let g: Vec<(&Key<'_>, &Sums)> = groups.iter().collect();
    with_codes(
        Table::AggSalesDay,
        vec![
            days(g.iter().map(|(k, _)| k.0)),
            texts(g.iter().map(|(k, _)| k.1)),
            texts(g.iter().map(|(k, _)| k.2)),
            texts(g.iter().map(|(k, _)| k.3)),
            ints(g.iter().map(|(_, v)| v.tickets)),
            decimals(g.iter().map(|(_, v)| v.ttc), 18)?,
            decimals(g.iter().map(|(_, v)| v.ht), 18)?,
            decimals(g.iter().map(|(_, v)| v.vat), 18)?,
        ],
    )
}

/// The family of the general sale in `agg_capacity`.
pub const GENERAL: &str = "general";

#[derive(Default)]
struct Pool {
    capacity: i64,
    quota: i64,
    sold: i64,
    options: i64,
    invitations: i64,
}

/// `agg_capacity` of one season: per performance, one row for the general sale (its
/// `capacity` is the performance's) and one per quota family (its `quota`, its tickets), so
/// that sums per performance give its whole state. Tickets count by status: `valid` as sold,
/// `option`, `invitation`; cancelled and exchanged ones have freed their place. No event
/// carries blocked places yet: `blocked` is 0.
pub fn capacity(performances: &[&PerformanceRow], tickets: &[&TicketRow]) -> Result<RecordBatch> {
    let mut pools: BTreeMap<(i64, String), (i64, Pool)> = BTreeMap::new();
    for p in performances {
        let general = pools
            .entry((p.performance_id, GENERAL.into()))
            .or_insert((p.show_id, Pool::default()));
        general.1.capacity = p.capacity;
        for (family, places) in &p.quotas {
            pools
                .entry((p.performance_id, family.clone()))
                .or_insert((p.show_id, Pool::default()))
                .1
                .quota = *places;
        }
    }
    let shows: HashMap<i64, i64> = performances.iter().map(|p| (p.performance_id, p.show_id)).collect();
    for t in tickets {
        // A ticket of a performance this season does not have (never projected) has no row.
        let Some(show) = shows.get(&t.performance_id) else { continue };
        let family = t.quota_family.clone().unwrap_or_else(|| GENERAL.into());
        let pool = &mut pools.entry((t.performance_id, family)).or_insert((*show, Pool::default())).1;
        let counter = match t.status.as_str() {
            s if s == TicketStatus::Valid.code() => &mut pool.sold,
            s if s == PlaceState::Option.code() => &mut pool.options,
            s if s == PlaceState::Invitation.code() => &mut pool.invitations,
            _ => continue,
        };
        *counter = counter.checked_add(1).ok_or_else(|| overflow("agg_capacity"))?;
    }
    let rows: Vec<(&(i64, String), &(i64, Pool))> = pools.iter().collect();
    with_codes(
        Table::AggCapacity,
        vec![
            ints(rows.iter().map(|(k, _)| k.0)),
            ints(rows.iter().map(|(_, v)| v.0)),
            texts(rows.iter().map(|(k, _)| k.1.as_str())),
            ints(rows.iter().map(|(_, v)| v.1.capacity)),
            ints(rows.iter().map(|(_, v)| v.1.quota)),
            ints(rows.iter().map(|(_, v)| v.1.sold)),
            ints(rows.iter().map(|(_, v)| v.1.options)),
            ints(rows.iter().map(|(_, v)| v.1.invitations)),
            ints(rows.iter().map(|_| 0)),
        ],
    )
}

/// `fact_capacity` of one season: per performance, the places of the general sale (its
/// capacity less its quotas) and of each quota family.
pub fn capacity_offer(performances: &[&PerformanceRow]) -> Result<RecordBatch> {
    let mut rows: Vec<(i64, i64, i64, String, i64)> = Vec::new();
    for p in performances {
        let quotas = p.quotas.values().fold(0i64, |a, n| a.saturating_add(*n));
        rows.push((
            p.performance_id,
            p.show_id,
            p.starts_at,
            GENERAL.into(),
            p.capacity.saturating_sub(quotas).max(0),
        ));
        for (family, places) in &p.quotas {
            rows.push((p.performance_id, p.show_id, p.starts_at, family.clone(), *places));
        }
    }
    rows.sort_by(|a, b| (a.0, &a.3).cmp(&(b.0, &b.3)));
    with_codes(
        Table::FactCapacity,
        vec![
            ints(rows.iter().map(|r| r.0)),
            ints(rows.iter().map(|r| r.1)),
            times(rows.iter().map(|r| r.2)),
            texts(rows.iter().map(|r| r.3.as_str())),
            ints(rows.iter().map(|r| r.4)),
        ],
    )
}

/// `dim_date` of `season` (`2025-2026`): every day from 1 July to 30 June, with the French
/// calendar ([`super::calendar`]) and the days left until the season's first sale (its
/// booking opening; negative once it has passed, NULL while nothing is sold).
pub fn dates(season: &str, tickets: &[&TicketRow]) -> Result<RecordBatch> {
    use super::calendar;
    use chrono::Datelike;
    let Some(year) = season.get(..4).and_then(|y| y.parse::<i32>().ok()) else {
        return with_codes(Table::DimDate, empty_date_columns());
    };
    let epoch = chrono::NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default();
    let opening = tickets.iter().map(|t| venue_day(t.issued_at)).min();
    let all: Vec<chrono::NaiveDate> = calendar::season_days(year).collect();
    let number = |d: &chrono::NaiveDate| i32::try_from((*d - epoch).num_days()).unwrap_or(0);
    with_codes(
        Table::DimDate,
        vec![
            days(all.iter().map(number)),
            texts(all.iter().map(|d| calendar::weekday_fr(*d))),
            ints(all.iter().map(|d| i64::from(d.weekday().number_from_monday()))),
            parterre_warehouse::columns::bools(all.iter().map(|d| calendar::is_weekend(*d))),
            parterre_warehouse::columns::opt_texts(all.iter().map(|d| calendar::public_holiday(*d))),
            parterre_warehouse::columns::opt_texts(all.iter().map(|d| calendar::school_holiday_zone_c(*d))),
            parterre_warehouse::columns::bools(all.iter().map(|d| calendar::school_calendar_known(*d))),
            opt_ints(all.iter().map(|d| opening.map(|o| i64::from(o) - i64::from(number(d))))),
        ],
    )
}

fn empty_date_columns() -> Vec<parterre_warehouse::arrow::array::ArrayRef> {
    Table::DimDate
        .schema()
        .fields()
        .iter()
        .map(|f| parterre_warehouse::arrow::array::new_empty_array(f.data_type()))
        .collect()
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
