//! Money and seats under a hostile client (issue 10): amounts and quantities that would wrap
//! around, and the same refund, payment or exchange sent many times at once. Each attack must
//! end in a clean refusal with nothing written, the server up, and the money adding up.

use crate::helpers::{anonymous, apps, TestApp};
use parterre_core::db;
use serde_json::{json, Value};

async fn send(app: &TestApp, token: &str, method: &str, path: &str, body: Option<Value>, key: Option<&str>) -> (u16, Value) {
    let mut r = anonymous().request(method.parse().unwrap(), app.url(path)).bearer_auth(token);
    if let Some(b) = body {
        r = r.json(&b);
    }
    if let Some(k) = key {
        r = r.header("Idempotency-Key", k);
    }
    let r = r.send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// Two future numbered performances of the same show (an exchange between them costs nothing).
async fn two_performances(app: &TestApp, token: &str) -> (i64, i64) {
    let (_, perfs) = send(app, token, "GET", "/api/v1/performances", None, None).await;
    let now = chrono::Utc::now().to_rfc3339();
    let future: Vec<&Value> = perfs
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["numbered"] == true && p["starts_at"].as_str().unwrap() > now.as_str())
        .collect();
    for a in &future {
        if let Some(b) = future.iter().find(|b| b["show_id"] == a["show_id"] && b["id"] != a["id"]) {
            return (a["id"].as_i64().unwrap(), b["id"].as_i64().unwrap());
        }
    }
    panic!("the demo has a show with two future performances");
}

async fn full_price(app: &TestApp, token: &str) -> i64 {
    let (_, cats) = send(app, token, "GET", "/api/v1/price-categories", None, None).await;
    cats.as_array().unwrap().iter().find(|c| c["code"] == "full").unwrap()["id"]
        .as_i64()
        .unwrap()
}

/// A cart holding `n` full-price tickets for `perf`; returns (cart id, amount due).
async fn cart_with(app: &TestApp, token: &str, perf: i64, n: i64) -> (i64, String) {
    let (s, cart) = send(app, token, "POST", "/api/v1/carts", Some(json!({ "channel": "counter" })), None).await;
    assert_eq!(s, 201, "{cart}");
    let cid = cart["id"].as_i64().unwrap();
    let full = full_price(app, token).await;
    let body = json!({ "performance_id": perf, "price_category_id": full, "quantity": n });
    let (s, c) = send(app, token, "POST", &format!("/api/v1/carts/{cid}/tickets"), Some(body), None).await;
    assert_eq!(s, 200, "{c}");
    (cid, c["amount_due"].as_str().unwrap().to_string())
}

/// A paid order of `n` tickets (or an unpaid option); returns the order.
async fn order_of(app: &TestApp, token: &str, perf: i64, n: i64, option: bool) -> Value {
    let (cid, due) = cart_with(app, token, perf, n).await;
    let body = if option {
        let until = (chrono::Utc::now() + chrono::Duration::days(3)).to_rfc3339();
        json!({ "payer": { "last_name": "Durand" }, "payments": [], "option_until": until })
    } else {
        json!({ "payer": { "last_name": "Durand" }, "payments": [{ "method": "cash", "amount": due }] })
    };
    let (s, o) = send(app, token, "POST", &format!("/api/v1/carts/{cid}/checkout"), Some(body), None).await;
    assert_eq!(s, 201, "{o}");
    o
}

async fn count(app: &TestApp, sql: &str, id: i64) -> i64 {
    let (n,): (i64,) = db::query_as(sql).bind(id).fetch_one(app.store.pool()).await.unwrap();
    n
}

async fn paid_cents(app: &TestApp, order: i64) -> i64 {
    count(
        app,
        "SELECT CAST(COALESCE(SUM(amount_cents), 0) AS BIGINT) FROM payments WHERE order_id = $1",
        order,
    )
    .await
}

#[tokio::test]
async fn amounts_and_quantities_that_would_wrap_are_refused() {
    for db in apps().await {
        let app = TestApp::spawn(db).await;
        let t = app.user_with("caisse", &["sales.sell", "catalog.read"]).await;
        let (perf, _) = two_performances(&app, &t).await;
        let (cid, _) = cart_with(&app, &t, perf, 1).await;
        let orders_before = count(&app, "SELECT COUNT(*) FROM orders WHERE id > $1", 0).await;

        // Two huge tenders and a small one that would wrap around to exactly the amount due.
        let huge = "92233720368547758.07";
        let body = json!({ "payer": { "last_name": "X" }, "payments": [
            { "method": "card", "amount": huge }, { "method": "card", "amount": huge }, { "method": "card", "amount": "15.02" } ] });
        let (s, e) = send(&app, &t, "POST", &format!("/api/v1/carts/{cid}/checkout"), Some(body), None).await;
        assert_eq!(s, 422, "{e}");
        assert!(e["error"].as_str().unwrap().contains("montant"), "{e}");
        // The same in cents that fit an i64 but add up past it.
        let body = json!({ "payer": { "last_name": "X" }, "payments": [
            { "method": "card", "amount": "99999.99" }, { "method": "card", "amount": 1e15 } ] });
        assert_eq!(
            send(&app, &t, "POST", &format!("/api/v1/carts/{cid}/checkout"), Some(body), None)
                .await
                .0,
            422
        );
        assert_eq!(
            count(&app, "SELECT COUNT(*) FROM orders WHERE id > $1", 0).await,
            orders_before,
            "no order written"
        );

        // A gift card of a chosen huge amount, many times over.
        let (_, products) = send(&app, &t, "GET", "/api/v1/products", None, None).await;
        if let Some(gift) = products.as_array().unwrap().iter().find(|p| p["kind"] == "gift_card") {
            let body = json!({ "product_id": gift["id"], "quantity": 50, "amount": "92233720368547758.07" });
            let (s, e) = send(&app, &t, "POST", &format!("/api/v1/carts/{cid}/products"), Some(body), None).await;
            assert_eq!(s, 422, "{e}");
            let body = json!({ "product_id": gift["id"], "quantity": 50, "amount": "100000.01" });
            assert_eq!(
                send(&app, &t, "POST", &format!("/api/v1/carts/{cid}/products"), Some(body), None)
                    .await
                    .0,
                422
            );
        }

        // Quantities whose sum wraps to 2 (i64::MAX + i64::MAX + 4), and negative ones.
        let full = full_price(&app, &t).await;
        for parts in [
            json!([{ "price_category_id": full, "quantity": i64::MAX }, { "price_category_id": full, "quantity": i64::MAX }, { "price_category_id": full, "quantity": 4 }]),
            json!([{ "price_category_id": full, "quantity": -5 }, { "price_category_id": full, "quantity": 7 }]),
        ] {
            let body = json!({ "performance_id": perf, "price_category_id": full, "parts": parts });
            let (s, e) = send(&app, &t, "POST", &format!("/api/v1/carts/{cid}/tickets"), Some(body), None).await;
            assert_eq!(s, 422, "{e}");
            assert!(e["fields"]["quantity"].is_string(), "{e}");
        }
        let body = json!({ "performance_id": perf, "price_category_id": full, "quantity": i64::MAX });
        assert_eq!(
            send(&app, &t, "POST", &format!("/api/v1/carts/{cid}/tickets"), Some(body), None)
                .await
                .0,
            422
        );

        // An option list asked for 4,561,370,922 days ahead.
        let (s, e) = send(&app, &t, "GET", "/api/v1/options?days=4561370922", None, None).await;
        assert_eq!(s, 422, "{e}");
        assert_eq!(send(&app, &t, "GET", "/api/v1/options?days=-1", None, None).await.0, 422);

        // A refund of more than anyone may enter, and one of a negative amount.
        let o = order_of(&app, &t, perf, 1, false).await;
        let oid = o["id"].as_i64().unwrap();
        for amount in ["92233720368547758.07", "-5.00", "0"] {
            let (s, e) = send(
                &app,
                &t,
                "POST",
                &format!("/api/v1/orders/{oid}/refund"),
                Some(json!({ "method": "cash", "amount": amount })),
                None,
            )
            .await;
            assert_eq!(s, 422, "{amount}: {e}");
        }
        assert_eq!(
            paid_cents(&app, oid).await,
            count(&app, "SELECT total_cents FROM orders WHERE id = $1", oid).await
        );

        // The cart is still there and the server still answers.
        let (s, c) = send(&app, &t, "GET", &format!("/api/v1/carts/{cid}"), None, None).await;
        assert_eq!((s, c["items"].as_array().unwrap().len()), (200, 1));
        app.stop().await;
    }
}

/// Sends the same request `n` times at once; returns the statuses.
async fn at_once(app: &TestApp, token: &str, path: &str, body: Value, key: Option<&str>, n: usize) -> Vec<(u16, Value)> {
    let mut tasks = Vec::new();
    for _ in 0..n {
        let url = app.url(path);
        let (token, body, key) = (token.to_string(), body.clone(), key.map(str::to_string));
        tasks.push(tokio::spawn(async move {
            let mut r = anonymous().post(url).bearer_auth(token).json(&body);
            if let Some(k) = key {
                r = r.header("Idempotency-Key", k);
            }
            let r = r.send().await.unwrap();
            let s = r.status().as_u16();
            (s, r.json::<Value>().await.unwrap_or(Value::Null))
        }));
    }
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.unwrap());
    }
    out
}

#[tokio::test]
async fn the_same_refund_payment_or_exchange_sent_sixteen_times_happens_once() {
    for db in apps().await {
        let app = TestApp::spawn(db).await;
        let t = app.user_with("caisse", &["sales.sell", "catalog.read"]).await;
        let (perf, other) = two_performances(&app, &t).await;

        // 16 full refunds of one paid order at once: the money goes back once.
        let o = order_of(&app, &t, perf, 2, false).await;
        let oid = o["id"].as_i64().unwrap();
        let paid = paid_cents(&app, oid).await;
        assert!(paid > 0);
        let answers = at_once(
            &app,
            &t,
            &format!("/api/v1/orders/{oid}/refund"),
            json!({ "method": "cash" }),
            None,
            16,
        )
        .await;
        let ok = answers.iter().filter(|a| a.0 == 200).count();
        assert_eq!(ok, 1, "{answers:?}");
        assert!(answers.iter().all(|a| a.0 == 200 || a.0 == 409 || a.0 == 422), "{answers:?}");
        assert_eq!(paid_cents(&app, oid).await, 0, "refunded exactly what was paid, once");
        let refunds = count(&app, "SELECT COUNT(*) FROM payments WHERE order_id = $1 AND amount_cents < 0", oid).await;
        assert_eq!(refunds, 1);

        // 16 payments of one option's balance at once: accepted once, never overpaid.
        let opt = order_of(&app, &t, perf, 1, true).await;
        let optid = opt["id"].as_i64().unwrap();
        let due = opt["due"].as_str().unwrap().to_string();
        let body = json!({ "payments": [{ "method": "card", "amount": due }] });
        let answers = at_once(&app, &t, &format!("/api/v1/orders/{optid}/payments"), body, None, 16).await;
        assert_eq!(answers.iter().filter(|a| a.0 == 200).count(), 1, "{answers:?}");
        let total = count(&app, "SELECT total_cents FROM orders WHERE id = $1", optid).await;
        assert_eq!(paid_cents(&app, optid).await, total, "paid once, not 16 times");
        let (_, now) = send(&app, &t, "GET", &format!("/api/v1/orders/{optid}"), None, None).await;
        assert_eq!(now["status"], "confirmed");

        // 16 exchanges of one ticket at once: one new ticket, never two valid ones.
        let o = order_of(&app, &t, perf, 1, false).await;
        let oid = o["id"].as_i64().unwrap();
        let ticket = o["tickets"][0]["id"].as_i64().unwrap();
        let body = json!({ "ticket_id": ticket, "performance_id": other });
        let answers = at_once(&app, &t, &format!("/api/v1/orders/{oid}/exchange"), body, None, 16).await;
        assert_eq!(answers.iter().filter(|a| a.0 == 200).count(), 1, "{answers:?}");
        assert!(answers.iter().all(|a| a.0 == 200 || a.0 == 409 || a.0 == 422), "{answers:?}");
        let valid = count(&app, "SELECT COUNT(*) FROM tickets WHERE order_id = $1 AND status = 'valid'", oid).await;
        assert_eq!(valid, 1, "one valid ticket after the exchange");
        let total = count(&app, "SELECT COUNT(*) FROM tickets WHERE order_id = $1", oid).await;
        assert_eq!(total, 2, "the old ticket and exactly one new one");

        // 16 cancellations at once: one answer cancels, the places are freed once.
        let o = order_of(&app, &t, perf, 2, false).await;
        let oid = o["id"].as_i64().unwrap();
        let answers = at_once(&app, &t, &format!("/api/v1/orders/{oid}/cancel"), json!({}), None, 16).await;
        assert_eq!(answers.iter().filter(|a| a.0 == 200).count(), 1, "{answers:?}");
        let bumped = count(
            &app,
            "SELECT COUNT(*) FROM tickets WHERE order_id = $1 AND status = 'cancelled' AND barcode_version = 2",
            oid,
        )
        .await;
        assert_eq!(bumped, 2, "each cancelled ticket's code revoked once (version 1 → 2)");
        app.stop().await;
    }
}

#[tokio::test]
async fn an_idempotency_key_replays_the_first_answer() {
    for db in apps().await {
        let app = TestApp::spawn(db).await;
        let t = app.user_with("caisse", &["sales.sell", "catalog.read"]).await;
        let (perf, other) = two_performances(&app, &t).await;
        let o = order_of(&app, &t, perf, 2, false).await;
        let oid = o["id"].as_i64().unwrap();
        let paid = paid_cents(&app, oid).await;
        let path = format!("/api/v1/orders/{oid}/refund");
        let body = json!({ "method": "cash", "amount": "1.00" });

        // Sent twice in a row with one key: one refund, the same answer twice.
        let first = send(&app, &t, "POST", &path, Some(body.clone()), Some("rembourse-1")).await;
        assert_eq!(first.0, 200, "{}", first.1);
        let again = send(&app, &t, "POST", &path, Some(body.clone()), Some("rembourse-1")).await;
        assert_eq!(again, first);
        assert_eq!(paid_cents(&app, oid).await, paid - 100);

        // Sixteen at once with another key: all get the first answer, the money moves once.
        let answers = at_once(&app, &t, &path, body.clone(), Some("rembourse-2"), 16).await;
        assert!(answers.iter().all(|a| a.0 == 200 && a.1 == answers[0].1), "{answers:?}");
        assert_eq!(paid_cents(&app, oid).await, paid - 200);

        // A key reused for another request is refused; a malformed key too.
        let other_body = json!({ "method": "cash", "amount": "2.00" });
        let (s, e) = send(&app, &t, "POST", &path, Some(other_body), Some("rembourse-1")).await;
        assert_eq!(s, 422, "{e}");
        let (s, e) = send(&app, &t, "POST", &path, Some(body.clone()), Some(&"k".repeat(200))).await;
        assert_eq!(s, 400, "{e}");
        assert!(e["error"].as_str().unwrap().contains("Idempotency-Key"), "{e}");
        // Another user's same key is another request.
        let t2 = app.user_with("caisse2", &["sales.sell"]).await;
        assert_eq!(send(&app, &t2, "POST", &path, Some(body), Some("rembourse-1")).await.0, 200);
        assert_eq!(paid_cents(&app, oid).await, paid - 300);

        // Checkout twice with one key (a double click): one order, the same answer.
        let (cid, due) = cart_with(&app, &t, perf, 1).await;
        let body = json!({ "payer": { "last_name": "Martin" }, "payments": [{ "method": "cash", "amount": due }] });
        let answers = at_once(&app, &t, &format!("/api/v1/carts/{cid}/checkout"), body, Some("caisse-42"), 4).await;
        assert!(answers.iter().all(|a| a.0 == 201 && a.1 == answers[0].1), "{answers:?}");
        assert_eq!(count(&app, "SELECT COUNT(*) FROM orders WHERE cart_id = $1", cid).await, 1);

        // An exchange to a cheaper price whose refund method is unknown is a 422, not a 500.
        let ticket = &o["tickets"][0];
        let show_id = {
            let (_, p) = send(&app, &t, "GET", &format!("/api/v1/performances/{other}"), None, None).await;
            p["show_id"].as_i64().unwrap()
        };
        let show = parterre_core::catalog::shows::get_show(&app.store, show_id).await.unwrap();
        let prices = parterre_core::catalog::shows::show_prices(&app.store, &show).await.unwrap();
        let full = prices.iter().find(|p| p.code == "full").unwrap().amount;
        let cheaper = prices.iter().find(|p| p.amount < full && p.amount.is_positive()).unwrap();
        let owed = full.checked_sub(cheaper.amount).unwrap();
        let body = json!({ "ticket_id": ticket["id"], "performance_id": other, "price_category_id": cheaper.price_category_id,
                           "payments": [{ "method": "bitcoin", "amount": owed }] });
        let (s, e) = send(&app, &t, "POST", &format!("/api/v1/orders/{oid}/exchange"), Some(body), None).await;
        assert_eq!(s, 422, "{e}");
        assert!(e["reason"].as_str().unwrap().contains("inconnu"), "{e}");
        app.stop().await;
    }
}
