//! JSON shapes of the sales API (carts, orders, availability, promo codes, waiting lists).

use parterre_core::sales::orders::Order;
use parterre_core::sales::{Cart, CartItem, CartStatus, Channel, OrderStatus, PaymentStatus, TicketStatus};
use parterre_core::seating::PlaceState;
use parterre_core::Money;
use serde::Serialize;
use utoipa::ToSchema;

/// A seat reference.
#[derive(Debug, Serialize, ToSchema)]
pub struct SeatRef {
    /// Seat id.
    pub id: i64,
    /// Row label.
    pub row: String,
    /// Number in the row.
    pub number: i64,
}

fn seat(s: &Option<(i64, String, i64)>) -> Option<SeatRef> {
    s.as_ref().map(|(id, row, number)| SeatRef {
        id: *id,
        row: row.clone(),
        number: *number,
    })
}

/// A cart line.
#[derive(Debug, Serialize, ToSchema)]
pub struct CartItemDto {
    /// Id (for `DELETE /carts/{id}/items/{item_id}`).
    pub id: i64,
    /// ticket | product.
    pub kind: String,
    /// Performance of a ticket.
    pub performance_id: Option<i64>,
    /// Seat of a numbered ticket.
    pub seat: Option<SeatRef>,
    /// Quota family the place comes from (empty: general sale).
    pub quota: String,
    /// Price category.
    pub price_category_id: Option<i64>,
    /// Product (formule, pass, annex…).
    pub product_id: Option<i64>,
    /// Formule line a ticket belongs to.
    pub parent_item_id: Option<i64>,
    /// Label.
    pub label: String,
    /// Unit price, euros.
    #[schema(value_type = String)]
    pub unit_price: Money,
    /// Promo discount per unit.
    #[schema(value_type = String)]
    pub discount: Money,
    /// Quantity.
    pub quantity: i64,
    /// Amount due for the line.
    #[schema(value_type = String)]
    pub amount: Money,
}

impl From<&CartItem> for CartItemDto {
    fn from(i: &CartItem) -> Self {
        CartItemDto {
            id: i.id,
            kind: i.kind.clone(),
            performance_id: i.performance_id,
            seat: seat(&i.seat),
            quota: i.family.clone(),
            price_category_id: i.price_category_id,
            product_id: i.product_id,
            parent_item_id: i.parent_item_id,
            label: i.label.clone(),
            unit_price: i.unit,
            discount: i.discount,
            quantity: i.quantity,
            amount: i.amount,
        }
    }
}

/// A cart.
#[derive(Debug, Serialize, ToSchema)]
pub struct CartDto {
    /// Id.
    pub id: i64,
    /// Where it is sold.
    pub channel: Channel,
    /// Open, ordered or expired.
    pub status: CartStatus,
    /// Holds are released at this instant (RFC 3339 UTC).
    pub expires_at: String,
    /// Lines.
    pub items: Vec<CartItemDto>,
    /// Applied promo code.
    pub promo_code: Option<String>,
    /// Total due, euros.
    #[schema(value_type = String)]
    pub amount_due: Money,
    /// When a party could not sit together: how it was split.
    pub message: Option<String>,
}

impl CartDto {
    /// From a cart and an optional allocator message.
    pub fn new(c: Cart, message: Option<String>) -> Self {
        CartDto {
            id: c.id,
            channel: c.channel,
            status: c.status,
            expires_at: parterre_core::time::from_db(&c.expires_at)
                .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
                .unwrap_or(c.expires_at),
            items: c.items.iter().map(CartItemDto::from).collect(),
            promo_code: c.promo_code,
            amount_due: c.amount_due,
            message,
        }
    }
}

/// A ticket of an order.
#[derive(Debug, Serialize, ToSchema)]
pub struct TicketDto {
    /// Id.
    pub id: i64,
    /// Number (per-season sequence).
    pub number: String,
    /// Performance.
    pub performance_id: i64,
    /// Seat, or null for free placement.
    pub seat: Option<SeatRef>,
    /// Price category.
    pub price_category_id: Option<i64>,
    /// Formule.
    pub product_id: Option<i64>,
    /// Amount TTC, euros.
    #[schema(value_type = String)]
    pub amount: Money,
    /// Valid or cancelled.
    pub status: TicketStatus,
    /// Goes up with each duplicate (older QR codes are revoked).
    pub barcode_version: i64,
    /// Spectator.
    pub spectator: String,
}

/// A payment (negative: refund).
#[derive(Debug, Serialize, ToSchema)]
pub struct PaymentDto {
    /// Method code.
    pub method: String,
    /// Euros.
    #[schema(value_type = String)]
    pub amount: Money,
    /// When.
    pub created_at: String,
}

/// A product line.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrderLineDto {
    /// Product.
    pub product_id: i64,
    /// Quantity.
    pub quantity: i64,
    /// Amount TTC.
    #[schema(value_type = String)]
    pub amount: Money,
}

/// An order.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrderDto {
    /// Id.
    pub id: i64,
    /// Same as `id` (checkout answers `order_id`).
    pub order_id: i64,
    /// Number.
    pub number: String,
    /// Confirmed, option or cancelled.
    pub status: OrderStatus,
    /// Paid, underpaid or overpaid (computed).
    pub payment_status: PaymentStatus,
    /// Channel.
    pub channel: Channel,
    /// Payer.
    pub payer_contact_id: i64,
    /// Option deadline.
    pub option_until: Option<String>,
    /// Total at checkout.
    #[schema(value_type = String)]
    pub total: Money,
    /// What is owed now (valid tickets and products).
    #[schema(value_type = String)]
    pub due: Money,
    /// Paid minus refunded.
    #[schema(value_type = String)]
    pub paid: Money,
    /// Tickets.
    pub tickets: Vec<TicketDto>,
    /// Product lines.
    pub lines: Vec<OrderLineDto>,
    /// Payments and refunds.
    pub payments: Vec<PaymentDto>,
}

impl From<Order> for OrderDto {
    fn from(o: Order) -> Self {
        OrderDto {
            payment_status: o.payment_status(),
            due: o.due,
            paid: o.paid,
            id: o.id,
            order_id: o.id,
            number: o.number,
            status: o.status,
            channel: o.channel,
            payer_contact_id: o.payer_contact_id,
            option_until: o.option_until,
            total: o.total,
            tickets: o
                .tickets
                .iter()
                .map(|t| TicketDto {
                    id: t.id,
                    number: t.number.clone(),
                    performance_id: t.performance_id,
                    seat: seat(&t.seat),
                    price_category_id: t.price_category_id,
                    product_id: t.product_id,
                    amount: t.amount,
                    status: t.status,
                    barcode_version: t.barcode_version,
                    spectator: t.spectator.clone(),
                })
                .collect(),
            lines: o
                .lines
                .iter()
                .map(|l| OrderLineDto {
                    product_id: l.product_id,
                    quantity: l.quantity,
                    amount: l.amount,
                })
                .collect(),
            payments: o
                .payments
                .iter()
                .map(|p| PaymentDto {
                    method: p.method.clone(),
                    amount: p.amount,
                    created_at: p.created_at.clone(),
                })
                .collect(),
        }
    }
}

/// Per-state counts.
#[derive(Debug, Serialize, ToSchema)]
pub struct CountsDto {
    /// Sellable now (general sale).
    pub available: i64,
    /// In carts.
    pub held: i64,
    /// Sold.
    pub sold: i64,
    /// Reserved unpaid.
    pub option: i64,
    /// Invitations.
    pub invitation: i64,
    /// Set aside for quota families.
    pub quota: i64,
    /// Blocked.
    pub blocked: i64,
}

/// A seat and its state.
#[derive(Debug, Serialize, ToSchema)]
pub struct SeatStateDto {
    /// Seat id.
    pub id: i64,
    /// Row.
    pub row: String,
    /// Number.
    pub number: i64,
    /// Its state now.
    pub state: PlaceState,
    /// Quota family of a quota seat.
    pub quota: String,
    /// Wheelchair place.
    pub pmr: bool,
}

/// Places left in a quota.
#[derive(Debug, Serialize, ToSchema)]
pub struct QuotaLeftDto {
    /// Family.
    pub family: String,
    /// Places left.
    pub places: i64,
}

/// Availability of a performance.
#[derive(Debug, Serialize, ToSchema)]
pub struct AvailabilityDto {
    /// Places of the layout.
    pub capacity: i64,
    /// Per state.
    pub counts: CountsDto,
    /// Left per quota family.
    pub quotas: Vec<QuotaLeftDto>,
    /// Seats (numbered halls).
    pub seats: Vec<SeatStateDto>,
    /// When sold out: other performances of the same show that still have places.
    pub alternatives: Vec<i64>,
    /// When sold out: where to join the waiting list.
    pub waitlist: Option<String>,
}
