//! Simulated sales through the core (the same calls as the box office): orders of one to six
//! places at the demo season's performances, paid in full, a few cancelled. Deterministic for
//! a seed. Used by tests of the event pipeline and as the base of the demo history.

use crate::catalog::{performances, prices, PerformanceQuery};
use crate::contacts::PayerInput;
use crate::error::{CoreError, Result};
use crate::payments::Tender;
use crate::sales::{after_sale, carts, orders, Channel, CheckoutInput, TicketRequest};
use crate::store::{Actor, Store};

/// A small deterministic generator (SplitMix64): the demo needs no cryptographic dice.
#[derive(Debug, Clone)]
pub struct Dice(u64);

impl Dice {
    /// Seeded.
    pub fn new(seed: u64) -> Self {
        Dice(seed)
    }
    /// Next raw value.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in `0..n` (0 when n is 0).
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next_u64() % n
        }
    }
    /// True with probability `percent` %.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

/// What a simulation did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SalesReport {
    /// Orders placed.
    pub orders: usize,
    /// Tickets issued.
    pub tickets: usize,
    /// Orders cancelled afterwards.
    pub cancelled: usize,
    /// Attempts refused (sold out).
    pub refused: usize,
}

/// Sells `orders` orders at the performances of `season_id`, numbered from `first` (names
/// and emails follow the number, so a later call with another `first` makes new buyers).
pub async fn sell(store: &Store, season_id: i64, first: u64, orders: usize, seed: u64) -> Result<SalesReport> {
    let actor = Actor::system();
    let perfs = performances::list_performances(
        store,
        &PerformanceQuery {
            season_id: Some(season_id),
            ..Default::default()
        },
    )
    .await?;
    let now = crate::time::now();
    let perfs: Vec<_> = perfs.into_iter().filter(|p| p.starts_at > now && !p.cancelled).collect();
    if perfs.is_empty() {
        return Err(CoreError::invalid("season", "aucune séance à venir à vendre dans cette saison"));
    }
    let cats = prices::list_price_categories(store).await?;
    let cat = |code: &str| cats.iter().find(|c| c.code == code).map(|c| c.id);
    let choices: Vec<i64> = ["full", "full", "full", "reduced", "under30"]
        .iter()
        .filter_map(|c| cat(c))
        .collect();
    let mut dice = Dice::new(seed ^ first.wrapping_mul(0x2545_F491_4F6C_DD1D));
    let mut report = SalesReport::default();
    for k in 0..orders as u64 {
        let n = first + k;
        let perf = &perfs[dice.below(perfs.len() as u64) as usize];
        let cart = carts::create_cart(store, &actor, if dice.chance(40) { Channel::Web } else { Channel::Counter }, 3600).await?;
        let req = TicketRequest {
            performance_id: perf.id,
            price_category_id: choices[dice.below(choices.len() as u64) as usize],
            quantity: Some(1 + dice.below(6) as i64),
            ..Default::default()
        };
        let cart = match carts::add_tickets(store, &actor, cart.id, &req, 3600).await {
            Ok((c, _)) => c,
            Err(CoreError::Conflict(_)) | Err(CoreError::Invalid(_)) => {
                report.refused += 1;
                continue;
            }
            Err(e) => return Err(e),
        };
        let order = orders::checkout(
            store,
            &actor,
            cart.id,
            &CheckoutInput {
                payer: PayerInput {
                    contact_id: None,
                    last_name: Some(format!("Spectateur {n}")),
                    first_name: Some("Demo".into()),
                    email: Some(format!("spectateur{n}@example.org")),
                    postal_code: Some("77000".into()),
                    city: Some("Melun".into()),
                },
                payments: vec![Tender {
                    method: if dice.chance(70) { "card" } else { "cash" }.into(),
                    amount: cart.amount_due,
                }],
                option_until: None,
            },
        )
        .await?;
        report.orders += 1;
        report.tickets += order.tickets.len();
        if dice.chance(5) {
            after_sale::cancel_order(store, &actor, order.id).await?;
            report.cancelled += 1;
        }
    }
    Ok(report)
}
