//! Random after-sale operations sent concurrently (refunds, payments, exchanges,
//! cancellations, duplicates, some with one idempotency key) never give back more than was
//! paid, never overpay an order, and never turn one ticket into two valid ones (issue 10).
//! On SQLite always, on PostgreSQL when `PARTERRE_TEST_PG` is set.

use parterre_core::contacts::PayerInput;
use parterre_core::db;
use parterre_core::idempotency::IdempotencyKey;
use parterre_core::payments::Tender;
use parterre_core::sales::after_sale::{self, ExchangeInput, RefundInput};
use parterre_core::sales::{carts, orders, CheckoutInput, Order, TicketRequest};
use parterre_core::testing::{sales_fixture, SalesFixture, TestDb};
use parterre_core::{Actor, CoreError, Money, Store};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};

#[derive(Debug, Clone)]
enum Op {
    Refund {
        order: usize,
        cents: Option<i64>,
        cancel: bool,
        key: Option<u8>,
    },
    Pay {
        order: usize,
        key: Option<u8>,
    },
    Exchange {
        order: usize,
        nth: usize,
    },
    Cancel {
        order: usize,
    },
    Duplicate {
        order: usize,
        nth: usize,
    },
}

fn key() -> impl Strategy<Value = Option<u8>> {
    prop::option::weighted(0.3, 0..3u8)
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0..3usize, prop::option::of(1..5000i64), any::<bool>(), key())
            .prop_map(|(order, cents, cancel, key)| Op::Refund { order, cents, cancel, key }),
        3 => (0..3usize, key()).prop_map(|(order, key)| Op::Pay { order, key }),
        3 => (0..3usize, 0..2usize).prop_map(|(order, nth)| Op::Exchange { order, nth }),
        1 => (0..3usize).prop_map(|order| Op::Cancel { order }),
        1 => (0..3usize, 0..2usize).prop_map(|(order, nth)| Op::Duplicate { order, nth }),
    ]
}

/// Two paid orders of two numbered seats and an unpaid option of one.
async fn orders_of(store: &Store, f: &SalesFixture) -> Vec<Order> {
    let a = Actor::system();
    let mut out = Vec::new();
    for (n, option) in [(2, false), (2, false), (1, true)] {
        let cart = carts::create_cart(store, &a, parterre_core::sales::Channel::Counter, 3600)
            .await
            .unwrap();
        let req = TicketRequest {
            performance_id: f.numbered.id,
            price_category_id: f.full,
            quantity: Some(n),
            ..Default::default()
        };
        let (c, _) = carts::add_tickets(store, &a, cart.id, &req, 3600).await.unwrap();
        let input = CheckoutInput {
            payer: PayerInput {
                last_name: Some("Test".into()),
                ..Default::default()
            },
            payments: if option {
                vec![]
            } else {
                vec![Tender {
                    method: "card".into(),
                    amount: c.amount_due,
                }]
            },
            option_until: option.then(|| (chrono::Utc::now() + chrono::Duration::days(3)).to_rfc3339()),
        };
        out.push(orders::checkout(store, &a, cart.id, &input).await.unwrap());
    }
    out
}

/// Runs one operation; a refusal is fine, anything but a refusal is a failure.
async fn run(store: Store, f: SalesFixture, orders: Vec<Order>, op: Op) -> Result<(), String> {
    let a = Actor::system();
    let keyed = |k: Option<u8>, what: &str, id: i64, body: &dyn erased::Body| {
        k.map(|k| IdempotencyKey::new(&format!("k{k}"), None, what, id, &body.json()).unwrap())
    };
    let r = match op {
        Op::Refund { order, cents, cancel, key } => {
            let o = &orders[order];
            let input = RefundInput {
                amount: cents.map(Money::cents),
                method: "cash".into(),
                cancel_tickets: Some(cancel),
            };
            let k = keyed(key, "refund", o.id, &input);
            after_sale::refund_keyed(&store, &a, o.id, &input, k.as_ref()).await.map(|_| ())
        }
        Op::Pay { order, key } => {
            let o = &orders[order];
            let tenders = vec![Tender {
                method: "card".into(),
                amount: o.total,
            }];
            let k = keyed(key, "pay", o.id, &tenders);
            after_sale::pay_keyed(&store, &a, o.id, &tenders, k.as_ref()).await.map(|_| ())
        }
        Op::Exchange { order, nth } => {
            let o = &orders[order];
            let Some(t) = o.tickets.get(nth) else { return Ok(()) };
            let input = ExchangeInput {
                ticket_id: t.id,
                performance_id: f.free.id,
                ..Default::default()
            };
            after_sale::exchange(&store, &a, o.id, &input).await.map(|_| ())
        }
        Op::Cancel { order } => after_sale::cancel_order(&store, &a, orders[order].id).await.map(|_| ()),
        Op::Duplicate { order, nth } => match orders[order].tickets.get(nth) {
            Some(t) => after_sale::duplicate_ticket(&store, &a, t.id).await.map(|_| ()),
            None => Ok(()),
        },
    };
    match r {
        Ok(()) | Err(CoreError::Conflict(_) | CoreError::Invalid(_)) => Ok(()),
        Err(e) => Err(format!("unexpected error: {e}")),
    }
}

/// Serialisation for keys without naming each input type.
mod erased {
    pub trait Body {
        fn json(&self) -> serde_json::Value;
    }
    impl<T: serde::Serialize> Body for T {
        fn json(&self) -> serde_json::Value {
            serde_json::to_value(self).unwrap_or_default()
        }
    }
}

async fn check(store: &Store, before: &[Order]) -> Result<(), String> {
    for o in before {
        let now = orders::get_order(store, o.id).await.map_err(|e| e.to_string())?;
        let paid_in = Money::sum(now.payments.iter().map(|p| p.amount).filter(|m| m.is_positive())).unwrap();
        let refunded = Money::sum(now.payments.iter().map(|p| p.amount).filter(|m| m.is_negative())).unwrap();
        if now.paid.is_negative() {
            return Err(format!("order {}: refunded {refunded} for {paid_in} paid", o.number));
        }
        // Exchanges here cost nothing, so what is kept may never exceed the checkout total
        // (a refund may be paid again, but never twice).
        if now.paid > o.total {
            return Err(format!(
                "order {}: keeps {} for a total of {} ({paid_in} paid in)",
                o.number, now.paid, o.total
            ));
        }
        let valid = now
            .tickets
            .iter()
            .filter(|t| t.status == parterre_core::sales::TicketStatus::Valid)
            .count();
        if valid > o.tickets.len() {
            return Err(format!("order {}: {valid} valid tickets out of {}", o.number, o.tickets.len()));
        }
        if now.tickets.len() > 2 * o.tickets.len() {
            return Err(format!(
                "order {}: {} tickets issued from {}",
                o.number,
                now.tickets.len(),
                o.tickets.len()
            ));
        }
    }
    let twice = orders::double_sales(store).await.map_err(|e| e.to_string())?;
    if twice != 0 {
        return Err(format!("{twice} seats held by two valid tickets"));
    }
    // Every valid ticket holds exactly one place, and no place is held by a dead ticket.
    let (orphans,): (i64,) = db::query_as(
        "SELECT COUNT(*) FROM places p JOIN tickets t ON t.id = p.ticket_id WHERE t.status <> 'valid' AND p.state IN ('sold', 'option', 'invitation')",
    )
    .fetch_one(store.pool())
    .await
    .map_err(|e| e.to_string())?;
    if orphans != 0 {
        return Err(format!("{orphans} places still held by cancelled tickets"));
    }
    Ok(())
}

#[test]
fn concurrent_after_sale_operations_keep_the_money_and_tickets_right() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .unwrap();
    let dbs = rt.block_on(TestDb::all()).unwrap();
    for db in dbs {
        let store = rt.block_on(db.open()).unwrap();
        let cases = if db.label == "postgres" { 8 } else { 16 };
        let mut runner = TestRunner::new(Config {
            cases,
            failure_persistence: None,
            ..Config::default()
        });
        let counter = std::cell::Cell::new(0usize);
        let result = runner.run(&prop::collection::vec(op(), 4..16), |ops| {
            counter.set(counter.get() + 1);
            rt.block_on(async {
                let f = sales_fixture(&store, counter.get()).await;
                let before = orders_of(&store, &f).await;
                let tasks: Vec<_> = ops
                    .iter()
                    .cloned()
                    .map(|op| tokio::spawn(run(store.clone(), f.clone(), before.clone(), op)))
                    .collect();
                // Every task is awaited before anything is judged (none may run into the next case).
                let mut outcomes = Vec::new();
                for t in tasks {
                    outcomes.push(t.await.map_err(|e| e.to_string()).and_then(|r| r));
                }
                outcomes
                    .into_iter()
                    .collect::<Result<Vec<()>, String>>()
                    .map_err(|e| format!("{}: {e}", db.label))?;
                check(&store, &before).await.map_err(|e| format!("{}: {e}", db.label))
            })
            .map_err(TestCaseError::fail)
        });
        rt.block_on(store.close());
        rt.block_on(db.cleanup());
        if let Err(e) = result {
            panic!("{e}");
        }
    }
}
