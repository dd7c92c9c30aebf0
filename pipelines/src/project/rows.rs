//! The rows of each projected table, to and from their Arrow batches (columns in catalogue
//! order, rows sorted for the common filters: performance, contact, time). A step reads the
//! current file of each partition it changes back into these rows ([`Row::decode`]), so the
//! two directions must agree column for column: a round-trip test holds them together.

use parterre_warehouse::arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, Decimal128Array, Int64Array, RecordBatch, StringArray, TimestampMicrosecondArray,
};
use parterre_warehouse::arrow::datatypes::{Int64Type, TimestampMicrosecondType};
use parterre_warehouse::catalog::Table;
use parterre_warehouse::columns::{bools, decimals, ints, opt_ints, opt_texts, opt_times, texts, times};
use parterre_warehouse::{Result, WarehouseError};

/// A row of a projected table, keyed by its id.
pub trait Row: Clone + Send + Sync + 'static {
    /// Its table.
    const TABLE: Table;
    /// Its id.
    fn key(&self) -> i64;
    /// The rows of one partition, read back from its file.
    fn decode(batch: &RecordBatch, season: &str) -> Result<Vec<Self>>;
    /// The batch of one partition's rows (sorted here).
    fn encode(rows: Vec<&Self>) -> Result<RecordBatch>;
}

/// Typed access to a batch's columns by name; a missing or mistyped column names itself.
pub(super) struct Cols<'a>(pub(super) &'a RecordBatch);

fn missing(name: &str) -> WarehouseError {
    WarehouseError::Io(format!("colonne {name} absente ou d'un autre type que celui du catalogue"))
}

impl<'a> Cols<'a> {
    /// The value at `i` of a nullable integer column.
    pub(super) fn opt_int(a: &Int64Array, i: usize) -> Option<i64> {
        opt(a, i, |i| a.value(i))
    }
    /// The value at `i` of a nullable time column.
    pub(super) fn opt_time(a: &TimestampMicrosecondArray, i: usize) -> Option<i64> {
        opt(a, i, |i| a.value(i))
    }

    pub(super) fn int(&self, name: &str) -> Result<&'a Int64Array> {
        self.0
            .column_by_name(name)
            .and_then(|c| c.as_primitive_opt::<Int64Type>())
            .ok_or_else(|| missing(name))
    }
    pub(super) fn text(&self, name: &str) -> Result<&'a StringArray> {
        self.0
            .column_by_name(name)
            .and_then(|c| c.as_string_opt::<i32>())
            .ok_or_else(|| missing(name))
    }
    pub(super) fn time(&self, name: &str) -> Result<&'a TimestampMicrosecondArray> {
        self.0
            .column_by_name(name)
            .and_then(|c| c.as_primitive_opt::<TimestampMicrosecondType>())
            .ok_or_else(|| missing(name))
    }
    pub(super) fn cents(&self, name: &str) -> Result<&'a Decimal128Array> {
        self.0
            .column_by_name(name)
            .and_then(|c| c.as_any().downcast_ref::<Decimal128Array>())
            .ok_or_else(|| missing(name))
    }
    pub(super) fn flag(&self, name: &str) -> Result<&'a BooleanArray> {
        self.0
            .column_by_name(name)
            .and_then(|c| c.as_boolean_opt())
            .ok_or_else(|| missing(name))
    }
}

fn opt<A: Array, T>(a: &A, i: usize, v: impl Fn(usize) -> T) -> Option<T> {
    if a.is_null(i) {
        None
    } else {
        Some(v(i))
    }
}

/// Cents (or basis points) of a DECIMAL(p,2) cell: the stored integer itself.
fn cents(a: &Decimal128Array, i: usize) -> i64 {
    a.value(i) as i64
}

/// A show (`dim_show`).
#[derive(Debug, Clone, PartialEq)]
pub struct ShowRow {
    pub show_id: i64,
    pub name: String,
    pub discipline: String,
    pub audience: String,
    pub tier: String,
    pub vat_rate_bp: i64,
    pub is_creation: bool,
    pub archived: bool,
    pub created_at: i64,
    pub season: String,
}

impl Row for ShowRow {
    const TABLE: Table = Table::DimShow;
    fn key(&self) -> i64 {
        self.show_id
    }
    fn decode(b: &RecordBatch, season: &str) -> Result<Vec<Self>> {
        let c = Cols(b);
        let (id, name, discipline, audience, tier) = (
            c.int("show_id")?,
            c.text("name")?,
            c.text("discipline")?,
            c.text("audience")?,
            c.text("tier")?,
        );
        let (vat, creation, archived, created) = (
            c.cents("vat_rate")?,
            c.flag("is_creation")?,
            c.flag("archived")?,
            c.time("created_at")?,
        );
        Ok((0..b.num_rows())
            .map(|i| ShowRow {
                show_id: id.value(i),
                name: name.value(i).to_string(),
                discipline: discipline.value(i).to_string(),
                audience: audience.value(i).to_string(),
                tier: tier.value(i).to_string(),
                vat_rate_bp: cents(vat, i),
                is_creation: creation.value(i),
                archived: archived.value(i),
                created_at: created.value(i),
                season: season.to_string(),
            })
            .collect())
    }
    fn encode(mut r: Vec<&Self>) -> Result<RecordBatch> {
        r.sort_by_key(|r| r.show_id);
        let cols: Vec<ArrayRef> = vec![
            ints(r.iter().map(|r| r.show_id)),
            texts(r.iter().map(|r| r.name.as_str())),
            texts(r.iter().map(|r| r.discipline.as_str())),
            texts(r.iter().map(|r| r.audience.as_str())),
            texts(r.iter().map(|r| r.tier.as_str())),
            decimals(r.iter().map(|r| r.vat_rate_bp), 5)?,
            bools(r.iter().map(|r| r.is_creation)),
            bools(r.iter().map(|r| r.archived)),
            times(r.iter().map(|r| r.created_at)),
        ];
        parterre_warehouse::codes::with_codes(Self::TABLE, cols)
    }
}

/// A performance (`dim_performance`).
#[derive(Debug, Clone, PartialEq)]
pub struct PerformanceRow {
    pub performance_id: i64,
    pub show_id: i64,
    pub hall_id: i64,
    pub hall: Option<String>,
    pub venue: Option<String>,
    pub layout_id: i64,
    pub starts_at: i64,
    pub capacity: i64,
    pub cancelled: bool,
    /// Places held back per quota family (`QuotaSet`; none at 0).
    pub quotas: std::collections::BTreeMap<String, i64>,
    pub season: String,
}

/// `school=30;group=20`: the quotas as `dim_performance.quotas` holds them (sorted by family).
fn quotas_text(q: &std::collections::BTreeMap<String, i64>) -> String {
    q.iter().map(|(f, n)| format!("{f}={n}")).collect::<Vec<_>>().join(";")
}

fn quotas_of(text: &str) -> std::collections::BTreeMap<String, i64> {
    text.split(';')
        .filter_map(|p| p.split_once('='))
        .filter_map(|(f, n)| Some((f.to_string(), n.parse().ok()?)))
        .collect()
}

impl Row for PerformanceRow {
    const TABLE: Table = Table::DimPerformance;
    fn key(&self) -> i64 {
        self.performance_id
    }
    fn decode(b: &RecordBatch, season: &str) -> Result<Vec<Self>> {
        let c = Cols(b);
        let (id, show, hall_id, hall, venue) = (
            c.int("performance_id")?,
            c.int("show_id")?,
            c.int("hall_id")?,
            c.text("hall")?,
            c.text("venue")?,
        );
        let (layout, starts, capacity, cancelled) = (c.int("layout_id")?, c.time("starts_at")?, c.int("capacity")?, c.flag("cancelled")?);
        let quotas = c.text("quotas")?;
        Ok((0..b.num_rows())
            .map(|i| PerformanceRow {
                performance_id: id.value(i),
                show_id: show.value(i),
                hall_id: hall_id.value(i),
                hall: opt(hall, i, |i| hall.value(i).to_string()),
                venue: opt(venue, i, |i| venue.value(i).to_string()),
                layout_id: layout.value(i),
                starts_at: starts.value(i),
                capacity: capacity.value(i),
                cancelled: cancelled.value(i),
                quotas: quotas_of(quotas.value(i)),
                season: season.to_string(),
            })
            .collect())
    }
    fn encode(mut r: Vec<&Self>) -> Result<RecordBatch> {
        r.sort_by_key(|r| (r.starts_at, r.performance_id));
        let quota_texts: Vec<String> = r.iter().map(|r| quotas_text(&r.quotas)).collect();
        let cols: Vec<ArrayRef> = vec![
            ints(r.iter().map(|r| r.performance_id)),
            ints(r.iter().map(|r| r.show_id)),
            ints(r.iter().map(|r| r.hall_id)),
            opt_texts(r.iter().map(|r| r.hall.as_deref())),
            opt_texts(r.iter().map(|r| r.venue.as_deref())),
            ints(r.iter().map(|r| r.layout_id)),
            times(r.iter().map(|r| r.starts_at)),
            ints(r.iter().map(|r| r.capacity)),
            bools(r.iter().map(|r| r.cancelled)),
            ints(r.iter().map(|r| r.quotas.values().fold(0i64, |a, n| a.saturating_add(*n)))),
            texts(quota_texts.iter().map(String::as_str)),
        ];
        parterre_warehouse::codes::with_codes(Self::TABLE, cols)
    }
}

/// A contact (`dim_contact`).
#[derive(Debug, Clone, PartialEq)]
pub struct ContactRow {
    pub contact_id: i64,
    pub postal_code: Option<String>,
    pub city: Option<String>,
    pub created_at: i64,
    pub season: String,
}

impl Row for ContactRow {
    const TABLE: Table = Table::DimContact;
    fn key(&self) -> i64 {
        self.contact_id
    }
    fn decode(b: &RecordBatch, season: &str) -> Result<Vec<Self>> {
        let c = Cols(b);
        let (id, postal, city, created) = (c.int("contact_id")?, c.text("postal_code")?, c.text("city")?, c.time("created_at")?);
        Ok((0..b.num_rows())
            .map(|i| ContactRow {
                contact_id: id.value(i),
                postal_code: opt(postal, i, |i| postal.value(i).to_string()),
                city: opt(city, i, |i| city.value(i).to_string()),
                created_at: created.value(i),
                season: season.to_string(),
            })
            .collect())
    }
    fn encode(mut r: Vec<&Self>) -> Result<RecordBatch> {
        r.sort_by_key(|r| r.contact_id);
        let departments: Vec<Option<String>> = r
            .iter()
            .map(|r| r.postal_code.as_deref().and_then(parterre_warehouse::catalog::department))
            .collect();
        let cols: Vec<ArrayRef> = vec![
            ints(r.iter().map(|r| r.contact_id)),
            opt_texts(r.iter().map(|r| r.postal_code.as_deref())),
            opt_texts(r.iter().map(|r| r.city.as_deref())),
            opt_texts(departments.iter().map(|d| d.as_deref())),
            times(r.iter().map(|r| r.created_at)),
        ];
        parterre_warehouse::codes::with_codes(Self::TABLE, cols)
    }
}

/// A ticket (`fact_ticket`); amounts in cents, times in µs.
#[derive(Debug, Clone, PartialEq)]
pub struct TicketRow {
    pub ticket_id: i64,
    pub number: String,
    pub order_id: i64,
    pub order_number: Option<String>,
    pub performance_id: i64,
    pub performance_starts_at: Option<i64>,
    pub show_id: Option<i64>,
    pub hall_id: Option<i64>,
    pub seat_id: Option<i64>,
    pub price_category_id: Option<i64>,
    pub price_category: Option<String>,
    /// Full, reduced, school, invitation, formule… ([`super::price_family`]).
    pub price_family: String,
    pub formule_id: Option<i64>,
    pub formule: Option<String>,
    /// The promo code by id (its text is a secret), and its single-use batch if any.
    pub promo_code_id: Option<i64>,
    pub promo_batch: Option<String>,
    /// The quota family the place came from (`None`: general sale).
    pub quota_family: Option<String>,
    pub channel: String,
    /// The user who sold it (`None`: the system, e.g. the web shop or an import).
    pub operator_id: Option<i64>,
    pub buyer_id: Option<i64>,
    pub spectator_id: Option<i64>,
    pub amount_ttc: i64,
    pub amount_ht: i64,
    pub vat_amount: i64,
    pub vat_rate_bp: i64,
    pub status: String,
    pub issued_at: i64,
    pub confirmed_at: Option<i64>,
    pub cancelled_at: Option<i64>,
    pub exchanged_at: Option<i64>,
    pub exchanged_for: Option<i64>,
    pub season: String,
}

impl Row for TicketRow {
    const TABLE: Table = Table::FactTicket;
    fn key(&self) -> i64 {
        self.ticket_id
    }
    fn decode(b: &RecordBatch, season: &str) -> Result<Vec<Self>> {
        let c = Cols(b);
        let (id, number, order, order_number) = (c.int("ticket_id")?, c.text("number")?, c.int("order_id")?, c.text("order_number")?);
        let (perf, starts, show, hall, seat) = (
            c.int("performance_id")?,
            c.time("performance_starts_at")?,
            c.int("show_id")?,
            c.int("hall_id")?,
            c.int("seat_id")?,
        );
        let (pc_id, pc, family, f_id, f) = (
            c.int("price_category_id")?,
            c.text("price_category")?,
            c.text("price_family")?,
            c.int("formule_id")?,
            c.text("formule")?,
        );
        let qfam = c.text("quota_family")?;
        let (promo, batch, channel, operator) = (
            c.int("promo_code_id")?,
            c.text("promo_batch")?,
            c.text("channel")?,
            c.int("operator_id")?,
        );
        let (buyer, spectator, ttc, ht) = (
            c.int("buyer_id")?,
            c.int("spectator_id")?,
            c.cents("amount_ttc")?,
            c.cents("amount_ht")?,
        );
        let (vat, rate, status, issued) = (
            c.cents("vat_amount")?,
            c.cents("vat_rate")?,
            c.text("status")?,
            c.time("issued_at")?,
        );
        let (confirmed, cancelled, exchanged, exchanged_for) = (
            c.time("confirmed_at")?,
            c.time("cancelled_at")?,
            c.time("exchanged_at")?,
            c.int("exchanged_for")?,
        );
        let oi = |a: &Int64Array, i: usize| opt(a, i, |i| a.value(i));
        let ot = |a: &TimestampMicrosecondArray, i: usize| opt(a, i, |i| a.value(i));
        let os = |a: &StringArray, i: usize| opt(a, i, |i| a.value(i).to_string());
        Ok((0..b.num_rows())
            .map(|i| TicketRow {
                ticket_id: id.value(i),
                number: number.value(i).to_string(),
                order_id: order.value(i),
                order_number: os(order_number, i),
                performance_id: perf.value(i),
                performance_starts_at: ot(starts, i),
                show_id: oi(show, i),
                hall_id: oi(hall, i),
                seat_id: oi(seat, i),
                price_category_id: oi(pc_id, i),
                price_category: os(pc, i),
                price_family: family.value(i).to_string(),
                formule_id: oi(f_id, i),
                formule: os(f, i),
                promo_code_id: oi(promo, i),
                promo_batch: os(batch, i),
                quota_family: os(qfam, i),
                channel: channel.value(i).to_string(),
                operator_id: oi(operator, i),
                buyer_id: oi(buyer, i),
                spectator_id: oi(spectator, i),
                amount_ttc: cents(ttc, i),
                amount_ht: cents(ht, i),
                vat_amount: cents(vat, i),
                vat_rate_bp: cents(rate, i),
                status: status.value(i).to_string(),
                issued_at: issued.value(i),
                confirmed_at: ot(confirmed, i),
                cancelled_at: ot(cancelled, i),
                exchanged_at: ot(exchanged, i),
                exchanged_for: oi(exchanged_for, i),
                season: season.to_string(),
            })
            .collect())
    }
    fn encode(mut r: Vec<&Self>) -> Result<RecordBatch> {
        r.sort_by_key(|r| (r.performance_id, r.ticket_id));
        let cols: Vec<ArrayRef> = vec![
            ints(r.iter().map(|r| r.ticket_id)),
            texts(r.iter().map(|r| r.number.as_str())),
            ints(r.iter().map(|r| r.order_id)),
            opt_texts(r.iter().map(|r| r.order_number.as_deref())),
            ints(r.iter().map(|r| r.performance_id)),
            opt_times(r.iter().map(|r| r.performance_starts_at)),
            opt_ints(r.iter().map(|r| r.show_id)),
            opt_ints(r.iter().map(|r| r.hall_id)),
            opt_ints(r.iter().map(|r| r.seat_id)),
            opt_ints(r.iter().map(|r| r.price_category_id)),
            opt_texts(r.iter().map(|r| r.price_category.as_deref())),
            texts(r.iter().map(|r| r.price_family.as_str())),
            opt_ints(r.iter().map(|r| r.formule_id)),
            opt_texts(r.iter().map(|r| r.formule.as_deref())),
            opt_ints(r.iter().map(|r| r.promo_code_id)),
            opt_texts(r.iter().map(|r| r.promo_batch.as_deref())),
            opt_texts(r.iter().map(|r| r.quota_family.as_deref())),
            texts(r.iter().map(|r| r.channel.as_str())),
            opt_ints(r.iter().map(|r| r.operator_id)),
            opt_ints(r.iter().map(|r| r.buyer_id)),
            opt_ints(r.iter().map(|r| r.spectator_id)),
            decimals(r.iter().map(|r| r.amount_ttc), 12)?,
            decimals(r.iter().map(|r| r.amount_ht), 12)?,
            decimals(r.iter().map(|r| r.vat_amount), 12)?,
            decimals(r.iter().map(|r| r.vat_rate_bp), 5)?,
            texts(r.iter().map(|r| r.status.as_str())),
            times(r.iter().map(|r| r.issued_at)),
            opt_times(r.iter().map(|r| r.confirmed_at)),
            opt_times(r.iter().map(|r| r.cancelled_at)),
            opt_times(r.iter().map(|r| r.exchanged_at)),
            opt_ints(r.iter().map(|r| r.exchanged_for)),
        ];
        parterre_warehouse::codes::with_codes(Self::TABLE, cols)
    }
}

/// A payment or refund (`fact_payment`).
#[derive(Debug, Clone, PartialEq)]
pub struct PaymentRow {
    pub payment_id: i64,
    pub order_id: i64,
    pub buyer_id: Option<i64>,
    pub method: String,
    pub amount: i64,
    pub operator_id: Option<i64>,
    pub paid_at: i64,
    pub season: String,
}

impl Row for PaymentRow {
    const TABLE: Table = Table::FactPayment;
    fn key(&self) -> i64 {
        self.payment_id
    }
    fn decode(b: &RecordBatch, season: &str) -> Result<Vec<Self>> {
        let c = Cols(b);
        let (id, order, buyer, method) = (c.int("payment_id")?, c.int("order_id")?, c.int("buyer_id")?, c.text("method")?);
        let (amount, operator, paid) = (c.cents("amount")?, c.int("operator_id")?, c.time("paid_at")?);
        Ok((0..b.num_rows())
            .map(|i| PaymentRow {
                payment_id: id.value(i),
                order_id: order.value(i),
                buyer_id: opt(buyer, i, |i| buyer.value(i)),
                method: method.value(i).to_string(),
                amount: cents(amount, i),
                operator_id: opt(operator, i, |i| operator.value(i)),
                paid_at: paid.value(i),
                season: season.to_string(),
            })
            .collect())
    }
    fn encode(mut r: Vec<&Self>) -> Result<RecordBatch> {
        r.sort_by_key(|r| (r.paid_at, r.payment_id));
        let cols: Vec<ArrayRef> = vec![
            ints(r.iter().map(|r| r.payment_id)),
            ints(r.iter().map(|r| r.order_id)),
            opt_ints(r.iter().map(|r| r.buyer_id)),
            texts(r.iter().map(|r| r.method.as_str())),
            decimals(r.iter().map(|r| r.amount), 12)?,
            opt_ints(r.iter().map(|r| r.operator_id)),
            times(r.iter().map(|r| r.paid_at)),
        ];
        parterre_warehouse::codes::with_codes(Self::TABLE, cols)
    }
}

/// An order (`fact_order`).
#[derive(Debug, Clone, PartialEq)]
pub struct OrderRow {
    pub order_id: i64,
    pub number: String,
    pub buyer_id: i64,
    pub channel: String,
    pub operator_id: Option<i64>,
    pub status: String,
    pub total: i64,
    pub placed_at: i64,
    pub option_until: Option<i64>,
    pub confirmed_at: Option<i64>,
    pub cancelled_at: Option<i64>,
    pub season: String,
}

impl Row for OrderRow {
    const TABLE: Table = Table::FactOrder;
    fn key(&self) -> i64 {
        self.order_id
    }
    fn decode(b: &RecordBatch, season: &str) -> Result<Vec<Self>> {
        let c = Cols(b);
        let (id, number, buyer, channel, operator) = (
            c.int("order_id")?,
            c.text("number")?,
            c.int("buyer_id")?,
            c.text("channel")?,
            c.int("operator_id")?,
        );
        let (status, total, placed) = (c.text("status")?, c.cents("total")?, c.time("placed_at")?);
        let (until, confirmed, cancelled) = (c.time("option_until")?, c.time("confirmed_at")?, c.time("cancelled_at")?);
        let ot = |a: &TimestampMicrosecondArray, i: usize| opt(a, i, |i| a.value(i));
        Ok((0..b.num_rows())
            .map(|i| OrderRow {
                order_id: id.value(i),
                number: number.value(i).to_string(),
                buyer_id: buyer.value(i),
                channel: channel.value(i).to_string(),
                operator_id: opt(operator, i, |i| operator.value(i)),
                status: status.value(i).to_string(),
                total: cents(total, i),
                placed_at: placed.value(i),
                option_until: ot(until, i),
                confirmed_at: ot(confirmed, i),
                cancelled_at: ot(cancelled, i),
                season: season.to_string(),
            })
            .collect())
    }
    fn encode(mut r: Vec<&Self>) -> Result<RecordBatch> {
        r.sort_by_key(|r| (r.placed_at, r.order_id));
        let cols: Vec<ArrayRef> = vec![
            ints(r.iter().map(|r| r.order_id)),
            texts(r.iter().map(|r| r.number.as_str())),
            ints(r.iter().map(|r| r.buyer_id)),
            texts(r.iter().map(|r| r.channel.as_str())),
            opt_ints(r.iter().map(|r| r.operator_id)),
            texts(r.iter().map(|r| r.status.as_str())),
            decimals(r.iter().map(|r| r.total), 12)?,
            times(r.iter().map(|r| r.placed_at)),
            opt_times(r.iter().map(|r| r.option_until)),
            opt_times(r.iter().map(|r| r.confirmed_at)),
            opt_times(r.iter().map(|r| r.cancelled_at)),
        ];
        parterre_warehouse::codes::with_codes(Self::TABLE, cols)
    }
}

/// The `events` rows of a batch of log records (one season), in seq order.
pub fn event_batch(records: &[&crate::log::EventRecord]) -> Result<RecordBatch> {
    let payload: Vec<String> = records
        .iter()
        .map(|r| {
            serde_json::to_value(&r.event)
                .ok()
                .and_then(|v| v.get("data").map(|d| d.to_string()))
                .unwrap_or_default()
        })
        .collect();
    // By id, whatever the segment's schema (before schema 3 the log held the login).
    let actors: Vec<String> = records.iter().map(|r| crate::log::actor_reference(r.actor_id)).collect();
    let cols: Vec<ArrayRef> = vec![
        ints(records.iter().map(|r| r.seq)),
        texts(records.iter().map(|r| r.event_id.as_str())),
        times(records.iter().map(|r| super::micros(&r.occurred_at).unwrap_or(0))),
        texts(records.iter().map(|r| r.event.kind())),
        texts(actors.iter().map(String::as_str)),
        opt_ints(records.iter().map(|r| r.actor_id)),
        ints(records.iter().map(|r| r.schema_version as i64)),
        texts(payload.iter().map(String::as_str)),
    ];
    Ok(RecordBatch::try_new(Table::Events.schema(), cols)?)
}

#[cfg(test)]
mod tests;
