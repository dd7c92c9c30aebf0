//! The sales story on every backend: carts and holds, side-by-side seats, quotas, free
//! placement, formules, promo codes, checkout with split payments, options, after-sale
//! operations and waiting lists.

use parterre_core::catalog::{performances, prices, Performance, PerformanceQuery};
use parterre_core::contacts::PayerInput;
use parterre_core::db;
use parterre_core::payments::Tender;
use parterre_core::sales::{
    after_sale, carts, orders, promo, waitlist, CheckoutInput, OrderStatus, PaymentStatus, ProductRequest, TicketRequest,
};
use parterre_core::seating::inventory;
use parterre_core::testing::TestDb;
use parterre_core::{Actor, CoreError, Money, Store};

struct World {
    store: Store,
    actor: Actor,
    numbered: Vec<Performance>,
    free: Vec<Performance>,
    full: i64,
    reduced: i64,
}

async fn world(store: Store) -> World {
    parterre_core::demo::load(&store, parterre_core::time::today_paris()).await.unwrap();
    let now = chrono::Utc::now();
    let all = performances::list_performances(&store, &PerformanceQuery::default()).await.unwrap();
    let ahead: Vec<Performance> = all.into_iter().filter(|p| p.starts_at > now + chrono::Duration::days(1)).collect();
    let cats = prices::list_price_categories(&store).await.unwrap();
    let id = |c: &str| cats.iter().find(|x| x.code == c).unwrap().id;
    World {
        numbered: ahead.iter().filter(|p| p.numbered && p.capacity == 843).cloned().collect(),
        free: ahead.iter().filter(|p| !p.numbered && p.capacity == 99).cloned().collect(),
        full: id("full"),
        reduced: id("reduced"),
        store,
        actor: Actor::system(),
    }
}

fn cash(amount: Money) -> Vec<Tender> {
    vec![Tender {
        method: "cash".into(),
        amount,
    }]
}

fn payer() -> PayerInput {
    PayerInput {
        last_name: Some("Durand".into()),
        first_name: Some("Alice".into()),
        email: Some("Alice.Durand@Example.fr".into()),
        contact_id: None,
        ..Default::default()
    }
}

async fn sales_story(w: &World) {
    let (s, a) = (&w.store, &w.actor);
    let perf = &w.numbered[0];
    let cart = carts::create_cart(s, a, parterre_core::sales::Channel::Counter, 3600)
        .await
        .unwrap();

    // Four together at full price, two more at reduced price.
    let req = TicketRequest {
        performance_id: perf.id,
        price_category_id: w.full,
        quantity: Some(4),
        together: Some(true),
        ..Default::default()
    };
    let (c, msg) = carts::add_tickets(s, a, cart.id, &req, 3600).await.unwrap();
    assert!(msg.is_none());
    let seats: Vec<_> = c.items.iter().map(|i| i.seat.clone().unwrap()).collect();
    assert!(seats.iter().all(|x| x.1 == seats[0].1), "same row: {seats:?}");
    let mut nums: Vec<i64> = seats.iter().map(|x| x.2).collect();
    nums.sort();
    assert!(
        nums.windows(2).all(|w| w[1] - w[0] == 2),
        "neighbours on one side (odd/even numbering): {nums:?}"
    );
    let req2 = TicketRequest {
        performance_id: perf.id,
        price_category_id: w.reduced,
        quantity: Some(2),
        ..Default::default()
    };
    let (c, _) = carts::add_tickets(s, a, cart.id, &req2, 3600).await.unwrap();
    assert_eq!(c.items.len(), 6);
    let full_price = c.items[0].unit;
    let due = c.amount_due;
    assert_eq!(due.as_cents(), c.items.iter().map(|i| i.unit.as_cents()).sum::<i64>());

    // A held seat cannot be held again.
    let other = carts::create_cart(s, a, parterre_core::sales::Channel::Phone, 3600).await.unwrap();
    let taken = seats[0].0;
    let err = carts::add_tickets(
        s,
        a,
        other.id,
        &TicketRequest {
            performance_id: perf.id,
            price_category_id: w.full,
            seat_ids: Some(vec![taken]),
            ..Default::default()
        },
        3600,
    )
    .await
    .unwrap_err();
    assert!(
        matches!(err, CoreError::Conflict(ref m) if m.contains("n'est plus disponible")),
        "{err}"
    );
    let av = inventory::availability(s, perf.id).await.unwrap();
    assert_eq!(av.counts.held, 6);
    assert_eq!(av.counts.quota, 85, "company 10 + group 42 + invitation 33 seats set aside");
    assert_eq!(av.counts.available, 843 - 6 - 85);

    // Payments must add up; then split payment works.
    let bad = CheckoutInput {
        payer: payer(),
        payments: cash(Money::cents(due.as_cents() - 1)),
        option_until: None,
    };
    assert!(matches!(orders::checkout(s, a, cart.id, &bad).await, Err(CoreError::Invalid(_))));
    let split = vec![
        Tender {
            method: "cash".into(),
            amount: Money::cents(1000),
        },
        Tender {
            method: "card".into(),
            amount: Money::cents(due.as_cents() - 1000),
        },
    ];
    let order = orders::checkout(
        s,
        a,
        cart.id,
        &CheckoutInput {
            payer: payer(),
            payments: split,
            option_until: None,
        },
    )
    .await
    .unwrap();
    assert_eq!(order.tickets.len(), 6);
    assert!(order.number.starts_with('C'));
    assert_eq!(order.payment_status(), PaymentStatus::Paid);
    let mut tnums: Vec<&str> = order.tickets.iter().map(|t| t.number.as_str()).collect();
    tnums.dedup();
    assert_eq!(tnums.len(), 6);
    let av = inventory::availability(s, perf.id).await.unwrap();
    assert_eq!((av.counts.held, av.counts.sold), (0, 6));
    assert!(
        matches!(orders::checkout(s, a, cart.id, &bad).await, Err(CoreError::Conflict(_))),
        "a cart is ordered once"
    );

    // The same email finds the same contact.
    let c2 = carts::create_cart(s, a, parterre_core::sales::Channel::Counter, 3600)
        .await
        .unwrap();
    let (c2v, _) = carts::add_tickets(
        s,
        a,
        c2.id,
        &TicketRequest {
            performance_id: perf.id,
            price_category_id: w.full,
            quantity: Some(1),
            ..Default::default()
        },
        3600,
    )
    .await
    .unwrap();
    let o2 = orders::checkout(
        s,
        a,
        c2.id,
        &CheckoutInput {
            payer: payer(),
            payments: cash(c2v.amount_due),
            option_until: None,
        },
    )
    .await
    .unwrap();
    assert_eq!(o2.payer_contact_id, order.payer_contact_id);

    // Expiry releases holds, and the cart answers « panier expiré ».
    let short = carts::create_cart(s, a, parterre_core::sales::Channel::Web, 1).await.unwrap();
    carts::add_tickets(
        s,
        a,
        short.id,
        &TicketRequest {
            performance_id: perf.id,
            price_category_id: w.full,
            quantity: Some(2),
            ..Default::default()
        },
        1,
    )
    .await
    .unwrap();
    assert_eq!(inventory::availability(s, perf.id).await.unwrap().counts.held, 2);
    tokio::time::sleep(std::time::Duration::from_millis(1200)).await;
    assert_eq!(
        inventory::availability(s, perf.id).await.unwrap().counts.held,
        0,
        "expired holds are free at once"
    );
    let err = carts::add_tickets(s, a, short.id, &req2, 1).await.unwrap_err();
    assert!(matches!(err, CoreError::Gone(ref m) if m.contains("panier expiré")), "{err}");

    // Web channel refuses prices needing proof.
    let web = carts::create_cart(s, a, parterre_core::sales::Channel::Web, 3600).await.unwrap();
    let err = carts::add_tickets(s, a, web.id, &req2, 3600).await.unwrap_err();
    assert!(err.to_string().contains("justificatif"), "{err}");

    // Quota seats: sold only when asked for the family.
    let (qc, _) = carts::add_tickets(
        s,
        a,
        web.id,
        &TicketRequest {
            performance_id: perf.id,
            price_category_id: w.full,
            quantity: Some(2),
            quota: Some("group".into()),
            ..Default::default()
        },
        3600,
    )
    .await
    .unwrap();
    assert!(qc.items.iter().all(|i| i.family == "group"));
    let av = inventory::availability(s, perf.id).await.unwrap();
    assert_eq!(av.quotas.iter().find(|q| q.family == "group").unwrap().places, 40);
    carts::remove_item(s, a, web.id, qc.items[0].id).await.unwrap();
    let av = inventory::availability(s, perf.id).await.unwrap();
    assert_eq!(
        av.quotas.iter().find(|q| q.family == "group").unwrap().places,
        41,
        "a removed quota seat goes back to its quota"
    );

    // Free placement: the pool never goes below zero.
    let fp = &w.free[0];
    let general = fp.capacity - fp.quotas.iter().map(|q| q.places).sum::<i64>();
    let fc = carts::create_cart(s, a, parterre_core::sales::Channel::Counter, 3600)
        .await
        .unwrap();
    let mut left = general;
    while left > 0 {
        let n = left.min(50);
        carts::add_tickets(
            s,
            a,
            fc.id,
            &TicketRequest {
                performance_id: fp.id,
                price_category_id: w.full,
                quantity: Some(n),
                ..Default::default()
            },
            3600,
        )
        .await
        .unwrap();
        left -= n;
    }
    let err = carts::add_tickets(
        s,
        a,
        other.id,
        &TicketRequest {
            performance_id: fp.id,
            price_category_id: w.full,
            quantity: Some(1),
            ..Default::default()
        },
        3600,
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("complet"), "{err}");
    // Sold out: the waiting list takes people in order, and a cancellation notifies the first.
    let e1 = waitlist::join(
        s,
        a,
        fp.id,
        &waitlist::WaitlistInput {
            last_name: "Martin".into(),
            email: "m@exemple.fr".into(),
            quantity: Some(1),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    waitlist::join(
        s,
        a,
        fp.id,
        &waitlist::WaitlistInput {
            last_name: "Petit".into(),
            phone: "0601020304".into(),
            quantity: Some(2),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert!(waitlist::join(
        s,
        a,
        fp.id,
        &waitlist::WaitlistInput {
            last_name: "".into(),
            ..Default::default()
        }
    )
    .await
    .is_err());
    let fcv = carts::get_cart(s, fc.id).await.unwrap();
    let forder = orders::checkout(
        s,
        a,
        fc.id,
        &CheckoutInput {
            payer: payer(),
            payments: cash(fcv.amount_due),
            option_until: None,
        },
    )
    .await
    .unwrap();
    let one = forder.tickets[0].clone();
    let refunded = after_sale::refund(
        s,
        a,
        forder.id,
        &after_sale::RefundInput {
            amount: Some(one.amount),
            method: "cash".into(),
            cancel_tickets: None,
        },
    )
    .await
    .unwrap();
    assert_eq!(refunded.paid.as_cents(), fcv.amount_due.as_cents() - one.amount.as_cents());
    assert!(after_sale::refund(
        s,
        a,
        forder.id,
        &after_sale::RefundInput {
            amount: Some(Money::cents(10_000_000)),
            method: "cash".into(),
            cancel_tickets: None
        }
    )
    .await
    .is_err());
    let cancelled = after_sale::cancel_order(s, a, forder.id).await.unwrap();
    assert!(cancelled
        .tickets
        .iter()
        .all(|t| t.status == parterre_core::sales::TicketStatus::Cancelled));
    let list = waitlist::list(s, fp.id).await.unwrap();
    assert_eq!(list[0].id, e1.id);
    assert!(
        list.iter().all(|e| e.notified_at.is_some()),
        "places freed: both entries fit and are told, in order"
    );
    assert_eq!(inventory::availability(s, fp.id).await.unwrap().counts.available, general);

    // Formule 5: one performance per show, each at the formule price of the show's category.
    let products = prices::list_products(s, Some(perf.season_id)).await.unwrap();
    let f5 = products.iter().find(|p| p.kind == "formule" && p.size == Some(5)).unwrap();
    let all = performances::list_performances(
        s,
        &PerformanceQuery {
            season_id: Some(perf.season_id),
            show_id: None,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let mut chosen: Vec<&Performance> = Vec::new();
    for p in all.iter().filter(|p| p.starts_at > chrono::Utc::now() + chrono::Duration::days(1)) {
        if !chosen.iter().any(|c| c.show_id == p.show_id) && chosen.len() < 5 {
            chosen.push(p);
        }
    }
    let fcart = carts::create_cart(s, a, parterre_core::sales::Channel::Counter, 3600)
        .await
        .unwrap();
    let bad = ProductRequest {
        product_id: f5.id,
        performance_ids: Some(vec![chosen[0].id, chosen[0].id]),
        ..Default::default()
    };
    assert!(carts::add_product(s, a, fcart.id, &bad, 3600).await.is_err());
    let req = ProductRequest {
        product_id: f5.id,
        performance_ids: Some(chosen.iter().map(|p| p.id).collect()),
        ..Default::default()
    };
    let (fc, _) = carts::add_product(s, a, fcart.id, &req, 3600).await.unwrap();
    let tickets: Vec<_> = fc.items.iter().filter(|i| i.kind == "ticket").collect();
    assert_eq!(tickets.len(), 5);
    for t in &tickets {
        let p = chosen.iter().find(|p| Some(p.id) == t.performance_id).unwrap();
        let (price, _) = carts::ticket_price(s, p.show_id, w.full).await.unwrap();
        assert_eq!(t.unit, price);
        assert_eq!(t.product_id, Some(f5.id));
    }
    // Removing the formule line removes its tickets and frees their places.
    let parent = fc.items.iter().find(|i| i.kind == "product").unwrap().id;
    let fc = carts::remove_item(s, a, fcart.id, parent).await.unwrap();
    assert!(fc.items.is_empty());

    // Promo codes say why they fail.
    let pc = promo::create(
        s,
        a,
        &promo::PromoInput {
            code: Some("automne".into()),
            discount_percent: Some(10),
            max_uses: Some(1),
            show_ids: Some(vec![perf.show_id]),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(pc[0].code, "AUTOMNE");
    let pcart = carts::create_cart(s, a, parterre_core::sales::Channel::Counter, 3600)
        .await
        .unwrap();
    carts::add_tickets(
        s,
        a,
        pcart.id,
        &TicketRequest {
            performance_id: w.free[0].id,
            price_category_id: w.full,
            quantity: Some(1),
            ..Default::default()
        },
        3600,
    )
    .await
    .unwrap();
    let why = |e: CoreError| match e {
        CoreError::Invalid(f) => f.get("code").unwrap_or("").to_string(),
        other => other.to_string(),
    };
    assert_eq!(why(promo::apply(s, a, pcart.id, "NOPE").await.unwrap_err()), "code inconnu");
    if w.free[0].show_id != perf.show_id {
        assert_eq!(
            why(promo::apply(s, a, pcart.id, "automne").await.unwrap_err()),
            "ne s'applique pas à ce spectacle"
        );
    }
    promo::create(
        s,
        a,
        &promo::PromoInput {
            code: Some("ETE".into()),
            discount_percent: Some(10),
            valid_until: Some("2020-01-01T00:00".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(why(promo::apply(s, a, pcart.id, "ete").await.unwrap_err()), "code expiré");
    let batch = promo::create(
        s,
        a,
        &promo::PromoInput {
            batch_size: Some(3),
            discount_amount: Some(Money::cents(500)),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(batch.len(), 3);
    assert!(batch.iter().all(|b| b.max_uses == Some(1) && b.batch.is_some()));
    // Two carts race for the last use of a code: the second checkout is refused.
    let mut carts_with_code = Vec::new();
    for _ in 0..2 {
        let c = carts::create_cart(s, a, parterre_core::sales::Channel::Counter, 3600)
            .await
            .unwrap();
        carts::add_tickets(
            s,
            a,
            c.id,
            &TicketRequest {
                performance_id: perf.id,
                price_category_id: w.full,
                quantity: Some(1),
                ..Default::default()
            },
            3600,
        )
        .await
        .unwrap();
        let c = promo::apply(s, a, c.id, "AUTOMNE").await.unwrap();
        assert_eq!(c.items[0].discount.as_cents(), (full_price.as_cents() * 10 + 50) / 100);
        carts_with_code.push(c);
    }
    let first = &carts_with_code[0];
    let o = orders::checkout(
        s,
        a,
        first.id,
        &CheckoutInput {
            payer: payer(),
            payments: cash(first.amount_due),
            option_until: None,
        },
    )
    .await
    .unwrap();
    assert_eq!(o.tickets[0].amount, first.amount_due);
    let second = &carts_with_code[1];
    assert_eq!(
        why(orders::checkout(
            s,
            a,
            second.id,
            &CheckoutInput {
                payer: payer(),
                payments: cash(second.amount_due),
                option_until: None
            }
        )
        .await
        .unwrap_err()),
        "quota épuisé"
    );

    // Options: held unpaid, listed before the deadline, confirmed by payment.
    let oc = carts::create_cart(s, a, parterre_core::sales::Channel::Phone, 3600).await.unwrap();
    let (ocv, _) = carts::add_tickets(
        s,
        a,
        oc.id,
        &TicketRequest {
            performance_id: perf.id,
            price_category_id: w.full,
            quantity: Some(2),
            ..Default::default()
        },
        3600,
    )
    .await
    .unwrap();
    let until = (chrono::Utc::now() + chrono::Duration::days(3)).to_rfc3339();
    let opt = orders::checkout(
        s,
        a,
        oc.id,
        &CheckoutInput {
            payer: payer(),
            payments: vec![],
            option_until: Some(until),
        },
    )
    .await
    .unwrap();
    assert_eq!((opt.status, opt.payment_status()), (OrderStatus::Option, PaymentStatus::Underpaid));
    assert_eq!(inventory::availability(s, perf.id).await.unwrap().counts.option, 2);
    assert!(orders::options_due(s, 15).await.unwrap().iter().any(|o| o.0 == opt.id));
    let paid = after_sale::pay(s, a, opt.id, &cash(ocv.amount_due)).await.unwrap();
    assert_eq!((paid.status, paid.payment_status()), (OrderStatus::Confirmed, PaymentStatus::Paid));
    assert_eq!(inventory::availability(s, perf.id).await.unwrap().counts.option, 0);

    // Exchange to another performance of the same show, and a duplicate revokes the old barcode.
    let target = w.numbered.iter().find(|p| p.id != perf.id).unwrap_or(&w.numbered[0]);
    let t0 = order.tickets[0].clone();
    let (new_price, _) = carts::ticket_price(s, target.show_id, w.full).await.unwrap();
    let diff = new_price.as_cents() - t0.amount.as_cents();
    let settle = if diff > 0 {
        cash(Money::cents(diff))
    } else if diff < 0 {
        cash(Money::cents(-diff))
    } else {
        vec![]
    };
    let ex = after_sale::exchange(
        s,
        a,
        order.id,
        &after_sale::ExchangeInput {
            ticket_id: t0.id,
            performance_id: target.id,
            price_category_id: Some(w.full),
            seat_id: None,
            payments: settle,
        },
    )
    .await
    .unwrap();
    assert_eq!(
        ex.tickets
            .iter()
            .filter(|t| t.status == parterre_core::sales::TicketStatus::Valid)
            .count(),
        6
    );
    assert!(ex
        .tickets
        .iter()
        .any(|t| t.id == t0.id && t.status == parterre_core::sales::TicketStatus::Cancelled));
    assert_eq!(ex.payment_status(), PaymentStatus::Paid);
    let v = after_sale::duplicate_ticket(s, a, ex.tickets[1].id).await.unwrap();
    assert_eq!(v, 2);
    assert!(
        after_sale::duplicate_ticket(s, a, t0.id).await.is_err(),
        "no duplicate of a cancelled ticket"
    );

    // No seat is ever sold twice.
    let (dups,): (i64,) = db::query_as(
        "SELECT COUNT(*) FROM (SELECT performance_id, seat_id FROM tickets WHERE status = 'valid' AND seat_id IS NOT NULL GROUP BY performance_id, seat_id HAVING COUNT(*) > 1) d",
    )
    .fetch_one(s.pool())
    .await
    .unwrap();
    assert_eq!(dups, 0);
    let issued: Vec<_> = parterre_core::events::read_outbox(s, 0, 1_000_000)
        .await
        .unwrap()
        .into_iter()
        .filter_map(|(_, e)| match e.event {
            parterre_core::events::Event::TicketIssued { number, ticket_id, .. } => Some((number, ticket_id)),
            _ => None,
        })
        .collect();
    assert!(
        issued.iter().all(|(n, id)| n.starts_with('T') && *id > 0),
        "every TicketIssued event names its ticket"
    );
    let kinds: Vec<String> = parterre_core::events::read_outbox(s, 0, 1_000_000)
        .await
        .unwrap()
        .into_iter()
        .map(|(_, e)| e.event.kind().to_string())
        .collect();
    for k in [
        "cart_created",
        "seats_held",
        "order_placed",
        "ticket_issued",
        "payment_recorded",
        "ticket_cancelled",
        "ticket_exchanged",
        "ticket_duplicated",
        "waitlist_notified",
        "cart_expired",
        "option_confirmed",
    ] {
        assert!(kinds.iter().any(|x| x == k), "no {k} event");
    }
}

#[tokio::test]
async fn sales_story_on_every_backend() {
    for db in TestDb::all().await.unwrap() {
        eprintln!("sales story on {}", db.label);
        let w = world(db.open().await.unwrap()).await;
        sales_story(&w).await;
        w.store.close().await;
        db.cleanup().await;
    }
}

/// A checkout reads the cart before it takes the writer; a line added by another request in
/// between must not be left out of the order unpaid. SQLite only: there write transactions
/// take the writer in turn, so the test can make its change land in that gap.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cart_changed_during_checkout_is_refused_and_nothing_is_written() {
    let db = TestDb::sqlite();
    let w = world(db.open().await.unwrap()).await;
    let (s, a) = (&w.store, &w.actor);
    let cart = carts::create_cart(s, a, parterre_core::sales::Channel::Counter, 3600)
        .await
        .unwrap();
    let req = TicketRequest {
        performance_id: w.numbered[0].id,
        price_category_id: w.full,
        quantity: Some(2),
        ..Default::default()
    };
    let (c, _) = carts::add_tickets(s, a, cart.id, &req, 3600).await.unwrap();
    // Hold the writer, let the checkout read the cart and queue behind us…
    let mut tx = s.write(a).await.unwrap();
    let checkout = {
        let (s, a) = (s.clone(), a.clone());
        let input = CheckoutInput {
            payer: payer(),
            payments: cash(c.amount_due),
            option_until: None,
        };
        tokio::spawn(async move { orders::checkout(&s, &a, cart.id, &input).await })
    };
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    // …then add a line to the cart before it gets its turn.
    db::query(
        "INSERT INTO cart_items (cart_id, kind, performance_id, seat_id, family, price_category_id, unit_cents, vat_rate_bp, created_at) \
         SELECT cart_id, kind, performance_id, NULL, family, price_category_id, unit_cents, vat_rate_bp, created_at FROM cart_items WHERE id = $1",
    )
    .bind(c.items[0].id)
    .execute(tx.conn())
    .await
    .unwrap();
    tx.record(parterre_core::store::Change::new("cart.test", "cart", cart.id), None)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let result = checkout.await.unwrap();
    assert!(
        matches!(&result, Err(CoreError::Conflict(m)) if m.contains("panier a changé")),
        "the buyer is told the cart changed: {result:?}"
    );
    let after = carts::get_cart(s, cart.id).await.unwrap();
    assert_eq!(after.status, parterre_core::sales::CartStatus::Open, "no order was made");
    assert_eq!(after.items.len(), 3);
    w.store.close().await;
    db.cleanup().await;
}
