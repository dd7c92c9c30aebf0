//! Sales: carts with their holds, promo codes, checkout into orders and tickets,
//! options, after-sale operations and waiting lists.
//!
//! Every public function here is one transaction: it either does everything (data, audit
//! row, outbox events) or nothing.

pub mod after_sale;
pub mod carts;
pub mod orders;
pub mod printing;
pub mod products;
pub mod promo;
pub mod states;
pub mod waitlist;

pub use carts::{Cart, CartItem, ProductRequest, TicketRequest};
pub use orders::{CheckoutInput, Order, OrderTicket};
pub use states::{CartStatus, Channel, OrderStatus, PaymentStatus, TicketStatus};

/// Default cart validity: 60 minutes.
pub const DEFAULT_CART_TTL_SECONDS: i64 = 3600;

/// Cart validity: `PARTERRE_CART_TTL_SECONDS`, else `cart_ttl_seconds = N` in `DATA/parterre.toml`,
/// else 60 minutes.
pub fn cart_ttl_seconds(data_dir: Option<&std::path::Path>) -> i64 {
    if let Some(v) = std::env::var("PARTERRE_CART_TTL_SECONDS")
        .ok()
        .and_then(|v| v.trim().parse::<i64>().ok())
    {
        if v > 0 {
            return v;
        }
    }
    if let Some(text) = data_dir.and_then(|d| std::fs::read_to_string(d.join("parterre.toml")).ok()) {
        for line in text.lines() {
            let line = line.split('#').next().unwrap_or("").trim();
            if let Some((k, v)) = line.split_once('=') {
                if k.trim() == "cart_ttl_seconds" {
                    if let Ok(n) = v.trim().parse::<i64>() {
                        if n > 0 {
                            return n;
                        }
                    }
                }
            }
        }
    }
    DEFAULT_CART_TTL_SECONDS
}
