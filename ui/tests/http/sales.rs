//! The sales API over HTTP: permissions on every endpoint, and the box-office flow end to end
//! (find a performance → 4 seats together in two price categories → split payment → PDF).

use crate::helpers::{anonymous, apps, TestApp};
use parterre_core::db;
use serde_json::{json, Value};

fn sales_endpoints() -> Vec<(&'static str, &'static str, Option<Value>)> {
    let cart = Some(json!({ "channel": "counter" }));
    let tickets = Some(json!({ "performance_id": 1, "price_category_id": 1, "quantity": 1 }));
    vec![
        ("GET", "/api/v1/payment-methods", None),
        ("POST", "/api/v1/carts", cart),
        ("GET", "/api/v1/carts/1", None),
        ("POST", "/api/v1/carts/1/tickets", tickets),
        ("POST", "/api/v1/carts/1/products", Some(json!({ "product_id": 1 }))),
        ("POST", "/api/v1/carts/1/promo", Some(json!({ "code": "X" }))),
        ("DELETE", "/api/v1/carts/1/items/1", None),
        (
            "POST",
            "/api/v1/carts/1/checkout",
            Some(json!({ "payer": { "last_name": "X" }, "payments": [] })),
        ),
        ("GET", "/api/v1/orders/1", None),
        ("POST", "/api/v1/orders/1/cancel", None),
        (
            "POST",
            "/api/v1/orders/1/exchange",
            Some(json!({ "ticket_id": 1, "performance_id": 2 })),
        ),
        ("POST", "/api/v1/orders/1/refund", Some(json!({ "method": "cash" }))),
        ("POST", "/api/v1/orders/1/payments", Some(json!({ "payments": [] }))),
        ("GET", "/api/v1/orders/1/tickets.pdf", None),
        ("POST", "/api/v1/tickets/1/duplicate", None),
        ("GET", "/api/v1/performances/1/availability", None),
        (
            "POST",
            "/api/v1/performances/1/waitlist",
            Some(json!({ "last_name": "X", "email": "x@y.fr" })),
        ),
        ("GET", "/api/v1/performances/1/waitlist", None),
        ("GET", "/api/v1/promo-codes", None),
        ("POST", "/api/v1/promo-codes", Some(json!({ "code": "X", "discount_percent": 5 }))),
        ("GET", "/api/v1/options", None),
    ]
}

async fn call(app: &TestApp, token: Option<&str>, method: &str, path: &str, body: Option<Value>) -> reqwest::Response {
    let mut r = anonymous().request(method.parse().unwrap(), app.url(path));
    if let Some(t) = token {
        r = r.bearer_auth(t);
    }
    if let Some(b) = body {
        r = r.json(&b);
    }
    r.send().await.unwrap()
}

async fn json_of(r: reqwest::Response) -> (u16, Value) {
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn every_sales_endpoint_needs_sales_sell() {
    for db in apps().await.into_iter().take(1) {
        let app = TestApp::spawn(db).await;
        let reader = app.user_with("reader", &["catalog.read", "crm.read"]).await;
        let seller = app.user_with("seller", &["sales.sell"]).await;
        for (method, path, body) in sales_endpoints() {
            assert_eq!(call(&app, None, method, path, body.clone()).await.status(), 401, "{method} {path}");
            let r = call(&app, Some(&reader), method, path, body.clone()).await;
            assert_eq!(r.status(), 403, "{method} {path} without sales.sell");
            let s = call(&app, Some(&seller), method, path, body).await.status();
            assert!(s != 401 && s != 403, "{method} {path} with sales.sell: {s}");
        }
        app.stop().await;
    }
}

#[tokio::test]
async fn waitlist_refuses_an_unknown_price_category_and_oversized_fields() {
    for db in apps().await.into_iter().take(1) {
        let app = TestApp::spawn(db).await;
        let t = app.user_with("guichet", &["sales.sell", "catalog.read"]).await;
        let tk = Some(t.as_str());
        let url = "/api/v1/performances/1/waitlist";
        let (s, body) = json_of(
            call(
                &app,
                tk,
                "POST",
                url,
                Some(json!({ "last_name": "Martin", "email": "m@x.fr", "price_category_id": 2031770984 })),
            )
            .await,
        )
        .await;
        assert_eq!(s, 422, "{body}");
        assert!(body.to_string().contains("tarif inconnu"), "{body}");
        let long = "x".repeat(5000);
        let (s, body) = json_of(call(&app, tk, "POST", url, Some(json!({ "last_name": long, "phone": long }))).await).await;
        assert_eq!(s, 422, "{body}");
        assert!(body.to_string().contains("caractères au plus"), "{body}");
        let (s, list) = json_of(call(&app, tk, "GET", url, None).await).await;
        assert_eq!((s, list.as_array().map(Vec::len)), (200, Some(0)), "nothing written: {list}");
        let (s, _) = json_of(call(&app, tk, "POST", url, Some(json!({ "last_name": "Martin", "email": "m@x.fr" }))).await).await;
        assert_eq!(s, 201);
        app.stop().await;
    }
}

#[tokio::test]
async fn box_office_flow_end_to_end() {
    for db in apps().await {
        let app = TestApp::spawn(db).await;
        let t = app.user_with("guichet", &["sales.sell", "catalog.read"]).await;
        let tk = Some(t.as_str());

        // Find a numbered performance ahead, and the price categories.
        let perfs: Vec<Value> = call(&app, tk, "GET", "/api/v1/performances", None).await.json().await.unwrap();
        let now = chrono::Utc::now().to_rfc3339();
        let perf = perfs
            .iter()
            .find(|p| p["numbered"] == true && p["capacity"] == 843 && p["starts_at"].as_str().unwrap() > now.as_str())
            .unwrap();
        let pid = perf["id"].as_i64().unwrap();
        let cats: Vec<Value> = call(&app, tk, "GET", "/api/v1/price-categories", None).await.json().await.unwrap();
        let cat = |code: &str| cats.iter().find(|c| c["code"] == code).unwrap()["id"].as_i64().unwrap();
        let methods: Vec<Value> = call(&app, tk, "GET", "/api/v1/payment-methods", None).await.json().await.unwrap();
        assert!(methods.iter().any(|m| m["code"] == "cash") && methods.iter().any(|m| m["code"] == "card"));

        // A cart; four seats side by side, then two of them at the under-30 price.
        let (s, cart) = json_of(call(&app, tk, "POST", "/api/v1/carts", Some(json!({ "channel": "counter" }))).await).await;
        assert_eq!(s, 201);
        let cid = cart["id"].as_i64().unwrap();
        assert!(cart["expires_at"].as_str().unwrap().ends_with('Z'));
        let (s, c) = json_of(
            call(
                &app,
                tk,
                "POST",
                &format!("/api/v1/carts/{cid}/tickets"),
                Some(json!({ "performance_id": pid, "price_category_id": cat("full"), "quantity": 4, "together": true })),
            )
            .await,
        )
        .await;
        assert_eq!(s, 200, "{c}");
        let items = c["items"].as_array().unwrap().clone();
        assert_eq!(items.len(), 4);
        let row = items[0]["seat"]["row"].clone();
        assert!(items.iter().all(|i| i["seat"]["row"] == row));
        for i in &items[2..] {
            let (s, _) = json_of(call(&app, tk, "DELETE", &format!("/api/v1/carts/{cid}/items/{}", i["id"]), None).await).await;
            assert_eq!(s, 200);
        }
        let seats: Vec<i64> = items[2..].iter().map(|i| i["seat"]["id"].as_i64().unwrap()).collect();
        let (s, c) = json_of(
            call(
                &app,
                tk,
                "POST",
                &format!("/api/v1/carts/{cid}/tickets"),
                Some(json!({ "performance_id": pid, "price_category_id": cat("under30"), "seat_ids": seats })),
            )
            .await,
        )
        .await;
        assert_eq!(s, 200, "{c}");
        assert_eq!(c["items"].as_array().unwrap().len(), 4);
        let due = c["amount_due"].as_str().unwrap().to_string();
        let due_cents: i64 = (due.parse::<f64>().unwrap() * 100.0).round() as i64;

        // Another buyer cannot take those seats: 409 with a reason.
        let (_, other) = json_of(call(&app, tk, "POST", "/api/v1/carts", Some(json!({ "channel": "phone" }))).await).await;
        let (s, e) = json_of(
            call(
                &app,
                tk,
                "POST",
                &format!("/api/v1/carts/{}/tickets", other["id"]),
                Some(json!({ "performance_id": pid, "price_category_id": cat("full"), "seat_ids": [seats[0]] })),
            )
            .await,
        )
        .await;
        assert_eq!(s, 409);
        assert!(e["reason"].as_str().unwrap().contains("n'est plus disponible"), "{e}");
        let (_, av) = json_of(call(&app, tk, "GET", &format!("/api/v1/performances/{pid}/availability"), None).await).await;
        assert_eq!(av["counts"]["held"], 4);
        assert_eq!(av["seats"].as_array().unwrap().iter().filter(|s| s["state"] == "held").count(), 4);

        // Promo code errors say why.
        let (s, e) = json_of(
            call(
                &app,
                tk,
                "POST",
                &format!("/api/v1/carts/{cid}/promo"),
                Some(json!({ "code": "INCONNU" })),
            )
            .await,
        )
        .await;
        assert_eq!((s, e["reason"].as_str().unwrap()), (422, "code inconnu"));

        // Payments that do not add up: 422 and nothing written.
        let bad = json!({ "payer": { "last_name": "Moreau", "first_name": "Jeanne", "email": "jeanne@exemple.fr" },
                          "payments": [{ "method": "cash", "amount": "10.00" }] });
        let (s, e) = json_of(call(&app, tk, "POST", &format!("/api/v1/carts/{cid}/checkout"), Some(bad)).await).await;
        assert_eq!(s, 422, "{e}");
        let (_, still) = json_of(call(&app, tk, "GET", &format!("/api/v1/carts/{cid}"), None).await).await;
        assert_eq!(still["status"], "open");

        // Split payment: part cash, the rest by card.
        let rest = format!("{}.{:02}", (due_cents - 2000) / 100, (due_cents - 2000) % 100);
        let good = json!({ "payer": { "last_name": "Moreau", "first_name": "Jeanne", "email": "jeanne@exemple.fr" },
                           "payments": [{ "method": "cash", "amount": "20.00" }, { "method": "card", "amount": rest }] });
        let (s, order) = json_of(call(&app, tk, "POST", &format!("/api/v1/carts/{cid}/checkout"), Some(good)).await).await;
        assert_eq!(s, 201, "{order}");
        let oid = order["order_id"].as_i64().unwrap();
        assert!(order["number"].as_str().unwrap().starts_with('C'));
        let tickets = order["tickets"].as_array().unwrap();
        assert_eq!(tickets.len(), 4);
        assert!(tickets
            .iter()
            .all(|t| t["seat"]["row"] == row && t["performance_id"] == pid && t["number"].is_string() && t["amount"].is_string()));
        assert_eq!(order["payment_status"], "paid");
        let (_, av) = json_of(call(&app, tk, "GET", &format!("/api/v1/performances/{pid}/availability"), None).await).await;
        assert_eq!((av["counts"]["held"].as_i64(), av["counts"]["sold"].as_i64()), (Some(0), Some(4)));

        // The tickets as a PDF, one page each, QR codes signed.
        let r = call(&app, tk, "GET", &format!("/api/v1/orders/{oid}/tickets.pdf"), None).await;
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["content-type"], "application/pdf");
        let pdf = r.bytes().await.unwrap();
        assert!(pdf.starts_with(b"%PDF"));
        let text = String::from_utf8_lossy(&pdf);
        assert_eq!(
            text.matches("/Type/Page").count() - text.matches("/Type/Pages").count(),
            4,
            "one page per ticket"
        );
        let decoded = decode_qr(&pdf);
        if std::env::var("CI").is_ok() {
            assert!(decoded.is_some(), "CI installs pdftoppm and zbarimg to check the QR codes");
        }
        if let Some(codes) = decoded {
            let signer = app.signer().await;
            assert_eq!(codes.len(), 4);
            for c in codes {
                let claim = signer.verify(&c).expect("a QR code signed by the venue");
                assert_eq!(claim.performance_id, pid);
            }
        }

        // After sale: duplicate revokes, cancel frees the seats.
        let tid = tickets[0]["id"].as_i64().unwrap();
        let (s, d) = json_of(call(&app, tk, "POST", &format!("/api/v1/tickets/{tid}/duplicate"), None).await).await;
        assert_eq!((s, d["barcode_version"].as_i64()), (200, Some(2)));
        let (s, o) = json_of(
            call(
                &app,
                tk,
                "POST",
                &format!("/api/v1/orders/{oid}/refund"),
                Some(json!({ "method": "card", "amount": "5.00" })),
            )
            .await,
        )
        .await;
        assert_eq!((s, o["payment_status"].as_str()), (200, Some("underpaid")));
        let (s, o) = json_of(call(&app, tk, "POST", &format!("/api/v1/orders/{oid}/cancel"), None).await).await;
        assert_eq!((s, o["status"].as_str()), (200, Some("cancelled")));
        let (_, av) = json_of(call(&app, tk, "GET", &format!("/api/v1/performances/{pid}/availability"), None).await).await;
        assert_eq!(av["counts"]["sold"], 0);

        // An expired cart answers 410 « panier expiré » and its holds are gone.
        let (_, c2) = json_of(call(&app, tk, "POST", "/api/v1/carts", Some(json!({ "channel": "web" }))).await).await;
        let c2id = c2["id"].as_i64().unwrap();
        let (s, _) = json_of(
            call(
                &app,
                tk,
                "POST",
                &format!("/api/v1/carts/{c2id}/tickets"),
                Some(json!({ "performance_id": pid, "price_category_id": cat("full"), "quantity": 2 })),
            )
            .await,
        )
        .await;
        assert_eq!(s, 200);
        let past = parterre_core::time::to_db(chrono::Utc::now() - chrono::Duration::minutes(1));
        db::query("UPDATE carts SET expires_at = $1 WHERE id = $2")
            .bind(&past)
            .bind(c2id)
            .execute(app.store.pool())
            .await
            .unwrap();
        db::query("UPDATE places SET expires_at = $1 WHERE state = 'held'")
            .bind(&past)
            .execute(app.store.pool())
            .await
            .unwrap();
        let (s, e) = json_of(
            call(
                &app,
                tk,
                "POST",
                &format!("/api/v1/carts/{c2id}/tickets"),
                Some(json!({ "performance_id": pid, "price_category_id": cat("full"), "quantity": 1 })),
            )
            .await,
        )
        .await;
        assert_eq!(s, 410);
        assert!(e["error"].as_str().unwrap().contains("panier expiré"));
        let (_, av) = json_of(call(&app, tk, "GET", &format!("/api/v1/performances/{pid}/availability"), None).await).await;
        assert_eq!(av["counts"]["held"], 0);
        app.stop().await;
    }
}

/// QR codes of a PDF, when poppler's pdftoppm and zbar's zbarimg are installed.
fn decode_qr(pdf: &[u8]) -> Option<Vec<String>> {
    use std::process::Command;
    let dir = std::env::temp_dir().join(format!("parterre-qr-{}", std::process::id()));
    std::fs::create_dir_all(&dir).ok()?;
    let file = dir.join("t.pdf");
    std::fs::write(&file, pdf).ok()?;
    let ok = Command::new("pdftoppm")
        .args(["-r", "150", "-png"])
        .arg(&file)
        .arg(dir.join("p"))
        .status()
        .ok()?
        .success();
    if !ok {
        return None;
    }
    let mut pages: Vec<_> = std::fs::read_dir(&dir)
        .ok()?
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "png"))
        .collect();
    pages.sort();
    let out = Command::new("zbarimg").args(["--quiet", "--raw"]).args(&pages).output().ok()?;
    let _ = std::fs::remove_dir_all(&dir);
    Some(
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| l.trim().to_string())
            .filter(|l| !l.is_empty())
            .collect(),
    )
}
