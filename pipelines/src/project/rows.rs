//! The rows of each projected table and their Arrow batches (columns in catalogue order,
//! rows sorted for the common filters: performance, contact, time).

use super::State;
use parterre_warehouse::arrow::array::{ArrayRef, RecordBatch};
use parterre_warehouse::catalog::Table;
use parterre_warehouse::columns::{bools, decimals, ints, opt_ints, opt_texts, opt_times, texts, times};

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
    pub season: String,
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
    pub formule_id: Option<i64>,
    pub formule: Option<String>,
    /// The promo code by id (its text is a secret), and its single-use batch if any.
    pub promo_code_id: Option<i64>,
    pub promo_batch: Option<String>,
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

/// The batch of `table` for `season`.
pub(super) fn batch(s: &State, table: Table, season: &str) -> parterre_warehouse::Result<RecordBatch> {
    let schema = table.schema();
    let cols: Vec<ArrayRef> = match table {
        Table::DimShow => {
            let mut r: Vec<&ShowRow> = s.shows.values().filter(|r| r.season == season).collect();
            r.sort_by_key(|r| r.show_id);
            vec![
                ints(r.iter().map(|r| r.show_id)),
                texts(r.iter().map(|r| r.name.as_str())),
                texts(r.iter().map(|r| r.discipline.as_str())),
                texts(r.iter().map(|r| r.audience.as_str())),
                texts(r.iter().map(|r| r.tier.as_str())),
                decimals(r.iter().map(|r| r.vat_rate_bp), 5)?,
                bools(r.iter().map(|r| r.is_creation)),
                bools(r.iter().map(|r| r.archived)),
                times(r.iter().map(|r| r.created_at)),
            ]
        }
        Table::DimPerformance => {
            let mut r: Vec<&PerformanceRow> = s.performances.values().filter(|r| r.season == season).collect();
            r.sort_by_key(|r| (r.starts_at, r.performance_id));
            vec![
                ints(r.iter().map(|r| r.performance_id)),
                ints(r.iter().map(|r| r.show_id)),
                ints(r.iter().map(|r| r.hall_id)),
                opt_texts(r.iter().map(|r| r.hall.as_deref())),
                opt_texts(r.iter().map(|r| r.venue.as_deref())),
                ints(r.iter().map(|r| r.layout_id)),
                times(r.iter().map(|r| r.starts_at)),
                ints(r.iter().map(|r| r.capacity)),
                bools(r.iter().map(|r| r.cancelled)),
            ]
        }
        Table::DimContact => {
            let mut r: Vec<&ContactRow> = s.contacts.values().filter(|r| r.season == season).collect();
            r.sort_by_key(|r| r.contact_id);
            let departments: Vec<Option<String>> = r
                .iter()
                .map(|r| r.postal_code.as_deref().and_then(parterre_warehouse::catalog::department))
                .collect();
            vec![
                ints(r.iter().map(|r| r.contact_id)),
                opt_texts(r.iter().map(|r| r.postal_code.as_deref())),
                opt_texts(r.iter().map(|r| r.city.as_deref())),
                opt_texts(departments.iter().map(|d| d.as_deref())),
                times(r.iter().map(|r| r.created_at)),
            ]
        }
        Table::FactTicket => {
            let mut r: Vec<&TicketRow> = s.tickets.values().filter(|r| r.season == season).collect();
            r.sort_by_key(|r| (r.performance_id, r.ticket_id));
            vec![
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
                opt_ints(r.iter().map(|r| r.formule_id)),
                opt_texts(r.iter().map(|r| r.formule.as_deref())),
                opt_ints(r.iter().map(|r| r.promo_code_id)),
                opt_texts(r.iter().map(|r| r.promo_batch.as_deref())),
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
            ]
        }
        Table::FactPayment => {
            let mut r: Vec<&PaymentRow> = s.payments.values().filter(|r| r.season == season).collect();
            r.sort_by_key(|r| (r.paid_at, r.payment_id));
            vec![
                ints(r.iter().map(|r| r.payment_id)),
                ints(r.iter().map(|r| r.order_id)),
                opt_ints(r.iter().map(|r| r.buyer_id)),
                texts(r.iter().map(|r| r.method.as_str())),
                decimals(r.iter().map(|r| r.amount), 12)?,
                opt_ints(r.iter().map(|r| r.operator_id)),
                times(r.iter().map(|r| r.paid_at)),
            ]
        }
        Table::FactOrder => {
            let mut r: Vec<&OrderRow> = s.orders.values().filter(|r| r.season == season).collect();
            r.sort_by_key(|r| (r.placed_at, r.order_id));
            vec![
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
            ]
        }
        Table::Events => return Err(parterre_warehouse::WarehouseError::Io("events: voir event_batch".into())),
    };
    Ok(RecordBatch::try_new(schema, cols)?)
}

/// The `events` rows of a batch of log records (one season), in seq order.
pub fn event_batch(records: &[&crate::log::EventRecord]) -> parterre_warehouse::Result<RecordBatch> {
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
