//! The table catalogue: every warehouse table, its grain, its columns and how its rows are
//! sorted. The pipelines build rows to these schemas; the session registers them.

use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use std::sync::{Arc, OnceLock};

/// Money columns: DECIMAL(12,2), euros.
pub const MONEY: DataType = DataType::Decimal128(12, 2);
/// Sums of money in rollups: DECIMAL(18,2).
pub const SUM: DataType = DataType::Decimal128(18, 2);

/// A table of the warehouse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Table {
    /// Every event as it was logged (one row per event).
    Events,
    /// One row per show.
    DimShow,
    /// One row per performance.
    DimPerformance,
    /// One row per contact.
    DimContact,
    /// One row per ticket issued, with its current status and the time of each change.
    FactTicket,
    /// One row per payment or refund.
    FactPayment,
    /// One row per order, with its current status.
    FactOrder,
    /// One row per cart: created, converted into an order, or abandoned (expired).
    FactCart,
    /// One row per waiting-list entry.
    FactWaitlist,
    /// One row per performance × quota family: the places on offer.
    FactCapacity,
    /// One row per day of each season: weekday, weekend, public holiday, school holiday (zone C),
    /// days to the season's opening (its first sale).
    DimDate,
    /// Rollup: tickets and revenue per performance × day of sale × channel × price family ×
    /// status (recomputed with the season's tickets, in the same commit).
    AggSales,
    /// Rollup: tickets and revenue per day of sale × channel × price family × status, for the
    /// whole season (what the season dashboards read).
    AggSalesDay,
    /// Rollup: the state of each performance's places per quota family (capacity, quota,
    /// sold, options, invitations, blocked).
    AggCapacity,
    /// Rollup: each buyer's purchases in a season (tickets kept, amount, orders, formules,
    /// first and last purchase, disciplines).
    AggContactSeason,
}

/// Every table, in registration order.
pub const TABLES: [Table; 15] = [
    Table::Events,
    Table::DimShow,
    Table::DimPerformance,
    Table::DimContact,
    Table::FactTicket,
    Table::FactPayment,
    Table::FactOrder,
    Table::FactCart,
    Table::FactWaitlist,
    Table::FactCapacity,
    Table::DimDate,
    Table::AggSales,
    Table::AggSalesDay,
    Table::AggCapacity,
    Table::AggContactSeason,
];

fn ts() -> DataType {
    DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
}

fn f(name: &str, t: DataType, nullable: bool) -> Field {
    Field::new(name, t, nullable)
}

impl Table {
    /// The table's name in SQL and on disk.
    pub fn name(self) -> &'static str {
        match self {
            Table::Events => "events",
            Table::DimShow => "dim_show",
            Table::DimPerformance => "dim_performance",
            Table::DimContact => "dim_contact",
            Table::FactTicket => "fact_ticket",
            Table::FactPayment => "fact_payment",
            Table::FactOrder => "fact_order",
            Table::FactCart => "fact_cart",
            Table::FactWaitlist => "fact_waitlist",
            Table::FactCapacity => "fact_capacity",
            Table::DimDate => "dim_date",
            Table::AggSales => "agg_sales",
            Table::AggSalesDay => "agg_sales_day",
            Table::AggCapacity => "agg_capacity",
            Table::AggContactSeason => "agg_contact_season",
        }
    }

    /// Finds a table by name.
    pub fn from_name(name: &str) -> Option<Table> {
        TABLES.into_iter().find(|t| t.name() == name)
    }

    /// Columns whose values are looked up one at a time (bloom filters pay there).
    pub fn bloom_columns(self) -> &'static [&'static str] {
        match self {
            Table::FactTicket => &["buyer_id", "order_id"],
            Table::FactPayment => &["order_id"],
            Table::FactOrder => &["buyer_id"],
            Table::AggContactSeason => &["contact_id"],
            Table::Events => &["event_id"],
            _ => &[],
        }
    }

    /// Integer columns rows are looked up by (the manifest keeps each file's range of them).
    pub fn key_columns(self) -> &'static [&'static str] {
        match self {
            Table::Events => &["seq"],
            Table::DimShow => &["show_id"],
            Table::DimPerformance => &["performance_id"],
            Table::DimContact => &["contact_id"],
            Table::FactTicket => &["ticket_id", "order_id"],
            Table::FactPayment => &["payment_id", "order_id"],
            Table::FactOrder => &["order_id"],
            Table::FactCart => &["cart_id"],
            Table::FactWaitlist => &["entry_id"],
            Table::AggSales | Table::AggCapacity | Table::FactCapacity => &["performance_id"],
            Table::AggSalesDay | Table::DimDate => &[],
            Table::AggContactSeason => &["contact_id"],
        }
    }

    /// The schema of the files (without the `season` partition column).
    pub fn schema(self) -> SchemaRef {
        static SCHEMAS: OnceLock<Vec<SchemaRef>> = OnceLock::new();
        let all = SCHEMAS.get_or_init(|| TABLES.iter().map(|t| Arc::new(build(*t))).collect());
        let i = TABLES.iter().position(|t| *t == self).unwrap_or(0);
        all[i].clone()
    }
}

fn build(t: Table) -> Schema {
    use DataType::{Boolean, Int64, Utf8};
    let fields = match t {
        Table::Events => vec![
            f("seq", Int64, false),
            f("event_id", Utf8, false),
            f("occurred_at", ts(), false),
            f("kind", Utf8, false),
            f("actor", Utf8, false),
            f("actor_id", Int64, true),
            f("schema_version", Int64, false),
            f("payload", Utf8, false),
        ],
        Table::DimShow => vec![
            f("show_id", Int64, false),
            f("name", Utf8, false),
            f("discipline", Utf8, false),
            f("audience", Utf8, false),
            f("tier", Utf8, false),
            f("vat_rate", DataType::Decimal128(5, 2), false),
            f("is_creation", Boolean, false),
            f("archived", Boolean, false),
            f("created_at", ts(), false),
        ],
        Table::DimPerformance => vec![
            f("performance_id", Int64, false),
            f("show_id", Int64, false),
            f("hall_id", Int64, false),
            f("hall", Utf8, true),
            f("venue", Utf8, true),
            f("layout_id", Int64, false),
            f("starts_at", ts(), false),
            f("capacity", Int64, false),
            f("cancelled", Boolean, false),
            f("quota_places", Int64, false),
            f("quotas", Utf8, false),
        ],
        Table::DimContact => vec![
            f("contact_id", Int64, false),
            f("postal_code", Utf8, true),
            f("city", Utf8, true),
            f("department", Utf8, true),
            f("created_at", ts(), false),
        ],
        Table::FactTicket => vec![
            f("ticket_id", Int64, false),
            f("number", Utf8, false),
            f("order_id", Int64, false),
            f("order_number", Utf8, true),
            f("performance_id", Int64, false),
            f("performance_starts_at", ts(), true),
            f("show_id", Int64, true),
            f("hall_id", Int64, true),
            f("seat_id", Int64, true),
            f("price_category_id", Int64, true),
            f("price_category", Utf8, true),
            f("price_family", Utf8, false),
            f("formule_id", Int64, true),
            f("formule", Utf8, true),
            f("promo_code_id", Int64, true),
            f("promo_batch", Utf8, true),
            f("quota_family", Utf8, true),
            f("channel", Utf8, false),
            f("operator_id", Int64, true),
            f("buyer_id", Int64, true),
            f("spectator_id", Int64, true),
            f("amount_ttc", MONEY, false),
            f("amount_ht", MONEY, false),
            f("vat_amount", MONEY, false),
            f("vat_rate", DataType::Decimal128(5, 2), false),
            f("status", Utf8, false),
            f("issued_at", ts(), false),
            f("confirmed_at", ts(), true),
            f("cancelled_at", ts(), true),
            f("exchanged_at", ts(), true),
            f("exchanged_for", Int64, true),
        ],
        Table::FactPayment => vec![
            f("payment_id", Int64, false),
            f("order_id", Int64, false),
            f("buyer_id", Int64, true),
            f("method", Utf8, false),
            f("amount", MONEY, false),
            f("operator_id", Int64, true),
            f("paid_at", ts(), false),
        ],
        Table::FactOrder => vec![
            f("order_id", Int64, false),
            f("number", Utf8, false),
            f("buyer_id", Int64, false),
            f("channel", Utf8, false),
            f("operator_id", Int64, true),
            f("status", Utf8, false),
            f("total", MONEY, false),
            f("placed_at", ts(), false),
            f("option_until", ts(), true),
            f("confirmed_at", ts(), true),
            f("cancelled_at", ts(), true),
        ],
        Table::AggSales => vec![
            f("performance_id", Int64, false),
            f("show_id", Int64, true),
            f("day", DataType::Date32, false),
            f("channel", Utf8, false),
            f("price_family", Utf8, false),
            f("status", Utf8, false),
            f("tickets", Int64, false),
            f("revenue_ttc", SUM, false),
            f("revenue_ht", SUM, false),
            f("vat_amount", SUM, false),
        ],
        Table::FactCart => vec![
            f("cart_id", Int64, false),
            f("channel", Utf8, false),
            f("created_at", ts(), false),
            f("places_held", Int64, false),
            f("first_performance_id", Int64, true),
            f("items_removed", Int64, false),
            f("status", Utf8, false),
            f("expired_at", ts(), true),
            f("ordered_at", ts(), true),
            f("order_id", Int64, true),
            f("buyer_id", Int64, true),
            f("last_seq", Int64, false),
        ],
        Table::FactWaitlist => vec![
            f("entry_id", Int64, false),
            f("performance_id", Int64, false),
            f("show_id", Int64, true),
            f("quantity", Int64, false),
            f("joined_at", ts(), false),
            f("notified_at", ts(), true),
        ],
        Table::FactCapacity => vec![
            f("performance_id", Int64, false),
            f("show_id", Int64, false),
            f("starts_at", ts(), false),
            f("family", Utf8, false),
            f("places", Int64, false),
        ],
        Table::DimDate => vec![
            f("date", DataType::Date32, false),
            f("weekday", Utf8, false),
            f("iso_weekday", Int64, false),
            f("weekend", Boolean, false),
            f("public_holiday", Utf8, true),
            f("school_holiday_zone_c", Utf8, true),
            f("school_calendar_known", Boolean, false),
            f("days_to_opening", Int64, true),
        ],
        Table::AggSalesDay => vec![
            f("day", DataType::Date32, false),
            f("channel", Utf8, false),
            f("price_family", Utf8, false),
            f("status", Utf8, false),
            f("tickets", Int64, false),
            f("revenue_ttc", SUM, false),
            f("revenue_ht", SUM, false),
            f("vat_amount", SUM, false),
        ],
        Table::AggCapacity => vec![
            f("performance_id", Int64, false),
            f("show_id", Int64, false),
            f("family", Utf8, false),
            f("capacity", Int64, false),
            f("quota", Int64, false),
            f("sold", Int64, false),
            f("options", Int64, false),
            f("invitations", Int64, false),
            f("blocked", Int64, false),
        ],
        Table::AggContactSeason => vec![
            f("contact_id", Int64, false),
            f("tickets", Int64, false),
            f("amount_ttc", SUM, false),
            f("orders", Int64, false),
            f("formules", Int64, false),
            f("performances", Int64, false),
            f("first_purchase_at", ts(), false),
            f("last_purchase_at", ts(), false),
            f("disciplines", Utf8, false),
        ],
    };
    // The code of each coded column ends the schema, nullable as its text ([`crate::codes`]).
    let mut fields = fields;
    for c in t.coded() {
        let nullable = fields.iter().find(|f| f.name() == c.column).is_none_or(|f| f.is_nullable());
        fields.push(f(c.code_column, Int64, nullable));
    }
    Schema::new(fields)
}

/// The name of the season that contains `date` (seasons run 1 July – 30 June): `2026-2027`.
pub fn season_name(year: i32, month: u32) -> String {
    let start = if month >= 7 { year } else { year - 1 };
    format!("{}-{}", start, start + 1)
}

/// The French département of a postal code (`77`, `2A`/`2B` for Corsica, `971`… overseas).
pub fn department(postal_code: &str) -> Option<String> {
    let p = postal_code.trim();
    if p.len() != 5 || !p.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    Some(match &p[..2] {
        "20" => if p < "20200" { "2A" } else { "2B" }.to_string(),
        "97" | "98" => p[..3].to_string(),
        d => d.to_string(),
    })
}

/// Is `s` a season name (`YYYY-YYYY`, consecutive years)?
pub fn is_season(s: &str) -> bool {
    let Some((a, b)) = s.split_once('-') else { return false };
    match (a.parse::<i32>(), b.parse::<i32>()) {
        (Ok(a), Ok(b)) => a.to_string().len() == 4 && b == a + 1,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fact_ticket_has_the_contract_columns_with_money_as_decimal() {
        let s = Table::FactTicket.schema();
        for c in [
            "ticket_id",
            "order_id",
            "performance_id",
            "show_id",
            "buyer_id",
            "spectator_id",
            "price_category",
            "formule",
            "promo_code_id",
            "channel",
            "amount_ttc",
            "amount_ht",
            "vat_amount",
            "status",
            "issued_at",
        ] {
            assert!(s.field_with_name(c).is_ok(), "fact_ticket lacks {c}");
        }
        assert_eq!(s.field_with_name("amount_ttc").unwrap().data_type(), &MONEY);
        assert!(
            s.field_with_name("season").is_err(),
            "season is the partition column, not a file column"
        );
    }

    #[test]
    fn departments_of_postal_codes() {
        assert_eq!(department("77000").as_deref(), Some("77"));
        assert_eq!(department("20000").as_deref(), Some("2A"));
        assert_eq!(department("20200").as_deref(), Some("2B"));
        assert_eq!(department("97400").as_deref(), Some("974"));
        assert_eq!(department("7700"), None);
    }

    #[test]
    fn seasons_run_july_to_june() {
        assert_eq!(season_name(2026, 7), "2026-2027");
        assert_eq!(season_name(2027, 6), "2026-2027");
        assert!(is_season("2026-2027"));
        assert!(!is_season("2026-2028"));
        assert!(!is_season("../x"));
    }
}
