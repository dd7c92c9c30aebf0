//! Random interleavings of holds, removals, expiries, checkouts and cancellations never sell
//! a seat twice and never lose one (issue "Sales core", done-when); plus buyers racing in
//! parallel for the same seats. On SQLite always, on PostgreSQL when `PARTERRE_TEST_PG` is set.

use parterre_core::contacts::PayerInput;
use parterre_core::db;
use parterre_core::payments::Tender;
use parterre_core::sales::{after_sale, carts, orders, CheckoutInput, TicketRequest};
use parterre_core::testing::TestDb;
use parterre_core::{Actor, CoreError, Store};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};

#[derive(Debug, Clone)]
enum Op {
    Hold { cart: usize, n: i64, free: bool, quota: bool },
    Pick { cart: usize, seat: usize },
    Remove { cart: usize, nth: usize },
    Checkout { cart: usize, option: bool },
    Expire { cart: usize },
    Cancel { nth: usize },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0..3usize, 1..4i64, any::<bool>(), prop::bool::weighted(0.2)).prop_map(|(cart, n, free, quota)| Op::Hold { cart, n, free, quota }),
        2 => (0..3usize, 0..12usize).prop_map(|(cart, seat)| Op::Pick { cart, seat }),
        1 => (0..3usize, 0..6usize).prop_map(|(cart, nth)| Op::Remove { cart, nth }),
        3 => (0..3usize, prop::bool::weighted(0.2)).prop_map(|(cart, option)| Op::Checkout { cart, option }),
        1 => (0..3usize).prop_map(|cart| Op::Expire { cart }),
        1 => (0..4usize).prop_map(|nth| Op::Cancel { nth }),
    ]
}

use parterre_core::testing::{sales_fixture as fixture, SalesFixture as Fixture};

fn payer() -> PayerInput {
    PayerInput {
        last_name: Some("Test".into()),
        ..Default::default()
    }
}

async fn check_invariants(store: &Store, f: &Fixture) -> Result<(), String> {
    let q = |sql: &'static str| async move {
        let (n,): (i64,) = db::query_as(sql)
            .bind(f.numbered.id)
            .bind(f.free.id)
            .fetch_one(store.pool())
            .await
            .map_err(|e| e.to_string())?;
        Ok::<i64, String>(n)
    };
    let double = q("SELECT COUNT(*) FROM (SELECT seat_id FROM tickets WHERE status = 'valid' AND seat_id IS NOT NULL AND performance_id IN ($1, $2) GROUP BY performance_id, seat_id HAVING COUNT(*) > 1) d").await?;
    if double > 0 {
        return Err(format!("{double} seat(s) sold twice"));
    }
    let orphan_sold = q(
        "SELECT COUNT(*) FROM places p WHERE p.performance_id IN ($1, $2) AND p.state IN ('sold', 'option', 'invitation') \
                         AND NOT EXISTS (SELECT 1 FROM tickets t WHERE t.id = p.ticket_id AND t.status = 'valid')",
    )
    .await?;
    if orphan_sold > 0 {
        return Err(format!("{orphan_sold} place(s) sold without a valid ticket"));
    }
    let placeless = q(
        "SELECT COUNT(*) FROM tickets t WHERE t.performance_id IN ($1, $2) AND t.status = 'valid' \
                       AND (SELECT COUNT(*) FROM places p WHERE p.ticket_id = t.id) <> 1",
    )
    .await?;
    if placeless > 0 {
        return Err(format!("{placeless} valid ticket(s) without exactly one place"));
    }
    let stray_holds = q(
        "SELECT COUNT(*) FROM places p WHERE p.performance_id IN ($1, $2) AND p.state = 'held' AND NOT EXISTS \
                         (SELECT 1 FROM cart_items i JOIN carts c ON c.id = i.cart_id WHERE i.id = p.cart_item_id AND c.status = 'open')",
    )
    .await?;
    let now = parterre_core::time::now_db();
    let live_stray: (i64,) = db::query_as(
        "SELECT COUNT(*) FROM places p WHERE p.performance_id IN ($1, $2) AND p.state = 'held' AND p.expires_at > $3 AND NOT EXISTS \
         (SELECT 1 FROM cart_items i JOIN carts c ON c.id = i.cart_id WHERE i.id = p.cart_item_id AND c.status = 'open')",
    )
    .bind(f.numbered.id)
    .bind(f.free.id)
    .bind(&now)
    .fetch_one(store.pool())
    .await
    .map_err(|e| e.to_string())?;
    if live_stray.0 > 0 {
        return Err(format!(
            "{} live hold(s) outside an open cart ({stray_holds} incl. expired)",
            live_stray.0
        ));
    }
    // Pools count live places only: an expired hold is free even before the sweep removes it.
    for (family, cap) in [("", 6), ("group", 2)] {
        let (n,): (i64,) = db::query_as(
            "SELECT COUNT(*) FROM places WHERE performance_id = $1 AND family = $2 AND NOT (state = 'held' AND expires_at < $3)",
        )
        .bind(f.free.id)
        .bind(family)
        .bind(&now)
        .fetch_one(store.pool())
        .await
        .map_err(|e| e.to_string())?;
        if n > cap {
            return Err(format!("pool « {family} » over capacity: {n} > {cap}"));
        }
    }
    Ok(())
}

async fn run_ops(store: &Store, f: &Fixture, ops: &[Op]) -> Result<(), String> {
    let a = Actor::system();
    let mut cart_ids: Vec<Option<i64>> = vec![None; 3];
    let mut order_ids: Vec<i64> = Vec::new();
    for op in ops {
        let cart_of = |k: usize, ids: &mut Vec<Option<i64>>| ids[k];
        let slot = match op {
            Op::Hold { cart, .. } | Op::Pick { cart, .. } | Op::Remove { cart, .. } | Op::Checkout { cart, .. } | Op::Expire { cart } => {
                Some(*cart)
            }
            Op::Cancel { .. } => None,
        };
        if let Some(k) = slot {
            if cart_of(k, &mut cart_ids).is_none() {
                cart_ids[k] = Some(
                    carts::create_cart(store, &a, parterre_core::sales::Channel::Counter, 3600)
                        .await
                        .map_err(|e| e.to_string())?
                        .id,
                );
            }
        }
        let result: Result<(), CoreError> = match op {
            Op::Hold { cart, n, free, quota } => {
                let perf = if *free { &f.free } else { &f.numbered };
                let family = match (quota, free) {
                    (true, true) => Some("group".to_string()),
                    (true, false) => Some("invitation".to_string()),
                    _ => None,
                };
                let req = TicketRequest {
                    performance_id: perf.id,
                    price_category_id: f.full,
                    quantity: Some(*n),
                    quota: family,
                    ..Default::default()
                };
                carts::add_tickets(store, &a, cart_ids[*cart].unwrap_or(0), &req, 3600)
                    .await
                    .map(|_| ())
            }
            Op::Pick { cart, seat } => {
                let req = TicketRequest {
                    performance_id: f.numbered.id,
                    price_category_id: f.full,
                    seat_ids: Some(vec![f.seat_ids[*seat]]),
                    ..Default::default()
                };
                carts::add_tickets(store, &a, cart_ids[*cart].unwrap_or(0), &req, 3600)
                    .await
                    .map(|_| ())
            }
            Op::Remove { cart, nth } => {
                let id = cart_ids[*cart].unwrap_or(0);
                match carts::get_cart(store, id).await {
                    Ok(c) => match c.items.get(*nth) {
                        Some(item) => carts::remove_item(store, &a, id, item.id).await.map(|_| ()),
                        None => Ok(()),
                    },
                    Err(e) => Err(e),
                }
            }
            Op::Checkout { cart, option } => {
                let id = cart_ids[*cart].unwrap_or(0);
                let c = carts::get_cart(store, id).await.map_err(|e| e.to_string())?;
                let input = if *option {
                    CheckoutInput {
                        payer: payer(),
                        payments: vec![],
                        option_until: Some((chrono::Utc::now() + chrono::Duration::days(2)).to_rfc3339()),
                    }
                } else {
                    CheckoutInput {
                        payer: payer(),
                        payments: vec![Tender {
                            method: "card".into(),
                            amount: c.amount_due,
                        }],
                        option_until: None,
                    }
                };
                match orders::checkout(store, &a, id, &input).await {
                    Ok(o) => {
                        order_ids.push(o.id);
                        cart_ids[*cart] = None;
                        Ok(())
                    }
                    Err(e) => Err(e),
                }
            }
            Op::Expire { cart } => {
                let id = cart_ids[*cart].unwrap_or(0);
                let past = parterre_core::time::to_db(chrono::Utc::now() - chrono::Duration::seconds(5));
                for sql in [
                    "UPDATE carts SET expires_at = $1 WHERE id = $2",
                    "UPDATE places SET expires_at = $1 WHERE state = 'held' AND cart_item_id IN (SELECT id FROM cart_items WHERE cart_id = $2)",
                ] {
                    db::query(sql).bind(&past).bind(id).execute(store.pool()).await.map_err(|e| e.to_string())?;
                }
                cart_ids[*cart] = None;
                Ok(())
            }
            Op::Cancel { nth } => match order_ids.get(*nth) {
                Some(o) => after_sale::cancel_order(store, &a, *o).await.map(|_| ()),
                None => Ok(()),
            },
        };
        match result {
            // Refusals are part of the game; what matters is that they leave no trace.
            Ok(()) | Err(CoreError::Conflict(_)) | Err(CoreError::Invalid(_)) | Err(CoreError::Gone(_)) => {}
            Err(e) => return Err(format!("{op:?} failed: {e}")),
        }
        check_invariants(store, f).await.map_err(|e| format!("after {op:?}: {e}"))?;
    }
    // Everything expires: no place may stay taken without a valid ticket.
    db::query("UPDATE places SET expires_at = $1 WHERE state = 'held'")
        .bind(parterre_core::time::to_db(chrono::Utc::now() - chrono::Duration::seconds(5)))
        .execute(store.pool())
        .await
        .map_err(|e| e.to_string())?;
    db::query("UPDATE carts SET expires_at = $1 WHERE status = 'open'")
        .bind(parterre_core::time::to_db(chrono::Utc::now() - chrono::Duration::seconds(5)))
        .execute(store.pool())
        .await
        .map_err(|e| e.to_string())?;
    carts::sweep_expired(store).await.map_err(|e| e.to_string())?;
    let (held,): (i64,) = db::query_as("SELECT COUNT(*) FROM places WHERE state = 'held' AND performance_id IN ($1, $2)")
        .bind(f.numbered.id)
        .bind(f.free.id)
        .fetch_one(store.pool())
        .await
        .map_err(|e| e.to_string())?;
    if held != 0 {
        return Err(format!("{held} hold(s) survived expiry"));
    }
    let (valid,): (i64,) = db::query_as("SELECT COUNT(*) FROM tickets WHERE status = 'valid' AND performance_id = $1")
        .bind(f.numbered.id)
        .fetch_one(store.pool())
        .await
        .map_err(|e| e.to_string())?;
    let (taken,): (i64,) = db::query_as("SELECT COUNT(*) FROM places WHERE performance_id = $1 AND state <> 'quota'")
        .bind(f.numbered.id)
        .fetch_one(store.pool())
        .await
        .map_err(|e| e.to_string())?;
    let (quota,): (i64,) = db::query_as("SELECT COUNT(*) FROM places WHERE performance_id = $1 AND state = 'quota'")
        .bind(f.numbered.id)
        .fetch_one(store.pool())
        .await
        .map_err(|e| e.to_string())?;
    let (quota_sold,): (i64,) =
        db::query_as("SELECT COUNT(*) FROM tickets WHERE status = 'valid' AND performance_id = $1 AND family = 'invitation'")
            .bind(f.numbered.id)
            .fetch_one(store.pool())
            .await
            .map_err(|e| e.to_string())?;
    if taken != valid || quota + quota_sold != 2 {
        return Err(format!(
            "seats lost: {taken} taken for {valid} valid tickets; quota {quota} + sold from quota {quota_sold} ≠ 2"
        ));
    }
    Ok(())
}

#[test]
fn random_interleavings_never_sell_twice_nor_lose_a_seat() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let dbs = rt.block_on(TestDb::all()).unwrap();
    for db in dbs {
        eprintln!("interleavings on {}", db.label);
        let store = rt.block_on(db.open()).unwrap();
        let cases = if db.label == "postgres" { 16 } else { 32 };
        let mut runner = TestRunner::new(Config {
            cases,
            failure_persistence: None,
            ..Config::default()
        });
        let counter = std::cell::Cell::new(0usize);
        let result = runner.run(&prop::collection::vec(op(), 5..40), |ops| {
            counter.set(counter.get() + 1);
            let f = rt.block_on(fixture(&store, counter.get()));
            rt.block_on(run_ops(&store, &f, &ops)).map_err(TestCaseError::fail)
        });
        rt.block_on(store.close());
        rt.block_on(db.cleanup());
        if let Err(e) = result {
            panic!("{e}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_buyers_never_get_the_same_seat() {
    for db in TestDb::all().await.unwrap() {
        let store = db.open().await.unwrap();
        let f = fixture(&store, 0).await;
        let mut tasks = Vec::new();
        for k in 0..24 {
            let store = store.clone();
            let (perf, seat, full) = (f.numbered.id, f.seat_ids[k % 3], f.full);
            let free = f.free.id;
            tasks.push(tokio::spawn(async move {
                let a = Actor::system();
                let cart = carts::create_cart(&store, &a, parterre_core::sales::Channel::Web, 3600).await?;
                // Half the buyers want one precise seat, half want 2 places of the free pool.
                let req = if k % 2 == 0 {
                    TicketRequest {
                        performance_id: perf,
                        price_category_id: full,
                        seat_ids: Some(vec![seat]),
                        ..Default::default()
                    }
                } else {
                    TicketRequest {
                        performance_id: free,
                        price_category_id: full,
                        quantity: Some(2),
                        ..Default::default()
                    }
                };
                let (c, _) = carts::add_tickets(&store, &a, cart.id, &req, 3600).await?;
                let input = CheckoutInput {
                    payer: payer(),
                    payments: vec![Tender {
                        method: "card".into(),
                        amount: c.amount_due,
                    }],
                    option_until: None,
                };
                orders::checkout(&store, &a, cart.id, &input).await.map(|o| o.tickets.len())
            }));
        }
        let mut sold = 0;
        for t in tasks {
            match t.await.unwrap() {
                Ok(n) => sold += n,
                Err(CoreError::Conflict(_)) => {}
                Err(e) => panic!("{} unexpected error: {e}", db.label),
            }
        }
        let (valid,): (i64,) = db::query_as("SELECT COUNT(*) FROM tickets WHERE status = 'valid'")
            .fetch_one(store.pool())
            .await
            .unwrap();
        assert_eq!(valid as usize, sold);
        // Three precise seats: at most three buyers got one; the free pool (6) holds 3 pairs.
        assert_eq!(sold, 3 + 6, "{}: every seat and place sold exactly once", db.label);
        check_invariants(&store, &f).await.unwrap();
        store.close().await;
        db.cleanup().await;
    }
}
