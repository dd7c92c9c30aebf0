//! A hostile client against revocation: tokens kept after a password reset, revoked or expired
//! tokens, ticket codes kept after a cancellation or a duplicate, forged and garbled codes, and
//! callers without the door permission.

use crate::helpers::{anonymous, apps, csrf, TestApp};
use parterre_core::access::{TicketClaim, TicketSigner};
use parterre_core::auth::{tokens, users};
use parterre_core::db;
use serde_json::{json, Value};

async fn call(app: &TestApp, token: Option<&str>, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    let mut r = anonymous().request(method.parse().unwrap(), app.url(path));
    if let Some(t) = token {
        r = r.bearer_auth(t);
    }
    if let Some(b) = body {
        r = r.json(&b);
    }
    let r = r.send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// A 401 in the API's JSON error shape.
fn assert_unauthorized((status, body): (u16, Value), what: &str) {
    assert_eq!(status, 401, "{what}: {body}");
    assert!(body["error"].is_string() && body["reason"].is_string(), "{what}: {body}");
}

/// Sells two tickets of a numbered performance ahead; returns the order id and its tickets.
async fn sell_two(app: &TestApp, tk: &str) -> (i64, Vec<Value>) {
    let tk = Some(tk);
    let (_, perfs) = call(app, tk, "GET", "/api/v1/performances", None).await;
    let now = chrono::Utc::now().to_rfc3339();
    let perf = perfs
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["numbered"] == true && p["starts_at"].as_str().unwrap() > now.as_str())
        .expect("a performance ahead")
        .clone();
    let (_, cats) = call(app, tk, "GET", "/api/v1/price-categories", None).await;
    let cat = cats.as_array().unwrap().iter().find(|c| c["code"] == "full").unwrap()["id"].clone();
    let (s, cart) = call(app, tk, "POST", "/api/v1/carts", Some(json!({ "channel": "counter" }))).await;
    assert_eq!(s, 201, "{cart}");
    let cid = cart["id"].as_i64().unwrap();
    let (s, c) = call(
        app,
        tk,
        "POST",
        &format!("/api/v1/carts/{cid}/tickets"),
        Some(json!({ "performance_id": perf["id"], "price_category_id": cat, "quantity": 2 })),
    )
    .await;
    assert_eq!(s, 200, "{c}");
    let pay = json!({ "payer": { "last_name": "Martin" }, "payments": [{ "method": "card", "amount": c["amount_due"] }] });
    let (s, order) = call(app, tk, "POST", &format!("/api/v1/carts/{cid}/checkout"), Some(pay)).await;
    assert_eq!(s, 201, "{order}");
    (order["order_id"].as_i64().unwrap(), order["tickets"].as_array().unwrap().clone())
}

/// The QR text the venue prints for `ticket` (an order's ticket as the API shows it).
fn code_of(signer: &TicketSigner, ticket: &Value) -> String {
    signer
        .sign(&TicketClaim {
            ticket_id: ticket["id"].as_i64().unwrap(),
            performance_id: ticket["performance_id"].as_i64().unwrap(),
            seat_id: ticket["seat"]["id"].as_i64(),
            barcode_version: ticket["barcode_version"].as_u64().unwrap() as u32,
        })
        .unwrap()
}

async fn verify(app: &TestApp, tk: &str, payload: &str) -> Value {
    let (s, v) = call(app, Some(tk), "POST", "/api/v1/tickets/verify", Some(json!({ "payload": payload }))).await;
    assert_eq!(s, 200, "{v}");
    v
}

#[tokio::test]
async fn tokens_die_with_a_password_reset_a_revocation_or_their_expiry() {
    for db in apps().await {
        let app = TestApp::spawn(db).await;
        let keep = app.user_with("camille", &["access.scan"]).await;
        let ok = |r: (u16, Value)| assert_eq!(r.0, 200, "{}", r.1);
        ok(call(&app, Some(&keep), "GET", "/api/v1/access/keys", None).await);
        let admin = app.browser("admin", &app.admin_password).await;
        let camille = users::find_by_login(&app.store, "camille").await.unwrap().unwrap();
        let edit = app.url(&format!("/admin/users/{}/edit", camille.id));

        // Password reset through the admin page: every token of the user stops at once.
        let second = tokens::create_token(&app.store, &parterre_core::Actor::system(), "camille", "second")
            .await
            .unwrap();
        ok(call(&app, Some(&second), "GET", "/api/v1/access/keys", None).await);
        let token = csrf(&admin, &edit).await;
        let mut form: Vec<(&str, String)> = vec![
            ("csrf", token),
            ("display_name", "camille".into()),
            ("active", "on".into()),
            ("password", "unnouveaumotdepasse".into()),
        ];
        form.extend(camille.roles.iter().map(|r| ("roles", r.clone())));
        let r = admin
            .post(app.url(&format!("/admin/users/{}", camille.id)))
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 303);
        assert_unauthorized(
            call(&app, Some(&keep), "GET", "/api/v1/access/keys", None).await,
            "token after reset",
        );
        assert_unauthorized(
            call(&app, Some(&second), "GET", "/api/v1/access/keys", None).await,
            "second token after reset",
        );
        let html = admin.get(&edit).send().await.unwrap().text().await.unwrap();
        assert!(
            html.contains("révoqué le") && !html.contains(&keep[4..]),
            "the page lists, never shows a secret"
        );

        // A new token, revoked from the admin page: refused. Without the CSRF token, nothing.
        let fresh = tokens::create_token(&app.store, &parterre_core::Actor::system(), "camille", "porte")
            .await
            .unwrap();
        ok(call(&app, Some(&fresh), "GET", "/api/v1/access/keys", None).await);
        let id = tokens::list_tokens(&app.store, Some("camille"))
            .await
            .unwrap()
            .into_iter()
            .find(|t| t.label == "porte")
            .unwrap()
            .id;
        let revoke = app.url(&format!("/admin/users/{}/tokens/{id}/revoke", camille.id));
        let r = admin.post(&revoke).form(&[("csrf", "x".repeat(64))]).send().await.unwrap();
        assert_eq!(r.status(), 403, "revocation without the session's CSRF token");
        ok(call(&app, Some(&fresh), "GET", "/api/v1/access/keys", None).await);
        // Another user's page cannot revoke it either.
        let admin_id = users::find_by_login(&app.store, "admin").await.unwrap().unwrap().id;
        let token = csrf(&admin, &edit).await;
        let other = app.url(&format!("/admin/users/{admin_id}/tokens/{id}/revoke"));
        let r = admin.post(&other).form(&[("csrf", token.clone())]).send().await.unwrap();
        assert_eq!(r.status(), 404);
        ok(call(&app, Some(&fresh), "GET", "/api/v1/access/keys", None).await);
        // A user without admin.users cannot revoke.
        app.user_with("vendeur", &["sales.sell"]).await;
        let seller = app.browser("vendeur", "motdepasse").await;
        let seller_csrf = csrf(&seller, &app.url("/")).await;
        let r = seller.post(&revoke).form(&[("csrf", seller_csrf)]).send().await.unwrap();
        assert_eq!(r.status(), 403);
        ok(call(&app, Some(&fresh), "GET", "/api/v1/access/keys", None).await);
        let r = admin.post(&revoke).form(&[("csrf", token)]).send().await.unwrap();
        assert_eq!(r.status(), 303);
        assert_unauthorized(call(&app, Some(&fresh), "GET", "/api/v1/access/keys", None).await, "revoked token");

        // An expired token is refused (its expiry moved to the past, as time would).
        let old = tokens::create_token_for(&app.store, &parterre_core::Actor::system(), "camille", "vieux", 1)
            .await
            .unwrap();
        ok(call(&app, Some(&old), "GET", "/api/v1/access/keys", None).await);
        let mut tx = app.store.write(&parterre_core::Actor::system()).await.unwrap();
        db::query("UPDATE api_tokens SET expires_at = $1 WHERE label = 'vieux'")
            .bind(parterre_core::time::to_db(chrono::Utc::now() - chrono::Duration::seconds(1)))
            .execute(tx.conn())
            .await
            .unwrap();
        tx.record(parterre_core::store::Change::new("test.expire", "api_token", 0), None)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        assert_unauthorized(call(&app, Some(&old), "GET", "/api/v1/access/keys", None).await, "expired token");
        // Garbage in the header: 401 JSON, not a crash.
        let huge = format!("prt_{}", "a".repeat(8_000));
        assert_unauthorized(call(&app, Some(&huge), "GET", "/api/v1/access/keys", None).await, "huge token");
        app.stop().await;
    }
}

#[tokio::test]
async fn cancelled_and_duplicated_codes_are_revoked_and_forged_codes_unknown() {
    for db in apps().await {
        let app = TestApp::spawn(db).await;
        let seller = app.user_with("guichet", &["sales.sell", "catalog.read"]).await;
        let door = app.user_with("porte", &["access.scan"]).await;
        let signer = app.signer().await;

        // The public key the scanners get is the one that signs.
        let (s, keys) = call(&app, Some(&door), "GET", "/api/v1/access/keys", None).await;
        assert_eq!(s, 200);
        assert_eq!(
            keys,
            json!([{ "key_id": 1, "public_key": signer.public_key_base64url(), "algorithm": "Ed25519" }])
        );

        let (oid, tickets) = sell_two(&app, &seller).await;
        let (a, b) = (&tickets[0], &tickets[1]);
        let code_a = code_of(&signer, a);
        let v = verify(&app, &door, &code_a).await;
        assert_eq!(v["status"], "valid", "{v}");
        assert_eq!((v["ticket_id"].clone(), v["state"].clone()), (a["id"].clone(), json!("valid")));
        assert_eq!(v["performance_id"], a["performance_id"]);

        // A duplicate of b: its old code is revoked, the new one valid.
        let old_b = code_of(&signer, b);
        let (s, d) = call(&app, Some(&seller), "POST", &format!("/api/v1/tickets/{}/duplicate", b["id"]), None).await;
        assert_eq!(s, 200, "{d}");
        assert_eq!(verify(&app, &door, &old_b).await["status"], "revoked");
        let new_b = code_of(
            &signer,
            &json!({ "id": b["id"], "performance_id": b["performance_id"], "seat": b["seat"], "barcode_version": d["barcode_version"] }),
        );
        assert_eq!(verify(&app, &door, &new_b).await["status"], "valid");

        // Cancel the order: every code of it is revoked (the status says so, whatever the version).
        let (s, o) = call(&app, Some(&seller), "POST", &format!("/api/v1/orders/{oid}/cancel"), None).await;
        assert_eq!(s, 200, "{o}");
        let v = verify(&app, &door, &code_a).await;
        assert_eq!(
            (v["status"].as_str(), v["state"].as_str()),
            (Some("revoked"), Some("cancelled")),
            "{v}"
        );
        assert_eq!(verify(&app, &door, &new_b).await["status"], "revoked");

        // Forged, garbled, foreign: unknown, never an error.
        let forger = TicketSigner::from_seed(1, [42u8; 32]);
        let forged = code_of(&forger, a);
        let mut flipped: Vec<char> = code_a.chars().collect();
        flipped[40] = if flipped[40] == 'A' { 'B' } else { 'A' };
        let no_such = code_of(
            &signer,
            &json!({ "id": 9_999_999, "performance_id": a["performance_id"], "seat": null, "barcode_version": 1 }),
        );
        for (what, payload) in [
            ("forged", forged),
            ("flipped", flipped.into_iter().collect()),
            ("empty", String::new()),
            ("garbage", "n'importe quoi".into()),
            ("long", "A".repeat(200_000)),
            ("no such ticket", no_such),
        ] {
            let v = verify(&app, &door, &payload).await;
            assert_eq!(v["status"], "unknown", "{what}: {v}");
            assert!(v["ticket_id"].is_null(), "{what}");
        }
        let (s, e) = call(&app, Some(&door), "POST", "/api/v1/tickets/verify", Some(json!({ "code": "x" }))).await;
        assert_eq!(s, 422, "{e}");
        assert!(e["error"].is_string());

        // The revocation list has the cancelled tickets; a later cursor does not.
        let (s, page) = call(&app, Some(&door), "GET", "/api/v1/access/revocations", None).await;
        assert_eq!(s, 200, "{page}");
        let list = page["revocations"].as_array().unwrap();
        for t in [a, b] {
            let entry = list.iter().find(|r| r["ticket_id"] == t["id"]).expect("revoked ticket listed");
            assert_eq!(entry["min_valid_version"], "all", "{entry}");
            assert!(entry["revoked_at"].as_str().unwrap().ends_with('Z'));
        }
        assert!(page["next"].is_string());
        let later = (chrono::Utc::now() + chrono::Duration::hours(1)).to_rfc3339();
        let (s, empty) = call(&app, Some(&door), "GET", &format!("/api/v1/access/revocations?since={later}"), None).await;
        assert_eq!((s, empty["revocations"].as_array().map(Vec::len)), (200, Some(0)), "{empty}");
        let (s, first) = call(&app, Some(&door), "GET", "/api/v1/access/revocations?limit=1", None).await;
        assert_eq!((s, first["revocations"].as_array().map(Vec::len)), (200, Some(1)));
        let next = first["next"].as_str().unwrap();
        let (_, rest) = call(&app, Some(&door), "GET", &format!("/api/v1/access/revocations?since={next}"), None).await;
        let ids: Vec<&Value> = rest["revocations"].as_array().unwrap().iter().map(|r| &r["ticket_id"]).collect();
        assert!(
            !ids.contains(&&first["revocations"][0]["ticket_id"]),
            "a full page's cursor moves past it"
        );
        for bad in ["since=hier", "since=2026-10-03", "limit=0", "limit=100000"] {
            let (s, e) = call(&app, Some(&door), "GET", &format!("/api/v1/access/revocations?{bad}"), None).await;
            assert_eq!(s, 422, "{bad}: {e}");
            assert!(e["error"].is_string(), "{bad}");
        }
        let (s, e) = call(&app, Some(&door), "GET", "/api/v1/access/revocations?limit=abc", None).await;
        assert_eq!(s, 400, "{e}");
        assert!(e["error"].is_string(), "JSON error body");
        app.stop().await;
    }
}

#[tokio::test]
async fn the_door_routes_need_access_scan() {
    for db in apps().await.into_iter().take(1) {
        let app = TestApp::spawn(db).await;
        let seller = app.user_with("guichet", &["sales.sell", "catalog.read", "crm.read"]).await;
        let routes: [(&str, &str, Option<Value>); 3] = [
            ("POST", "/api/v1/tickets/verify", Some(json!({ "payload": "X" }))),
            ("GET", "/api/v1/access/keys", None),
            ("GET", "/api/v1/access/revocations", None),
        ];
        for (method, path, body) in routes {
            assert_unauthorized(call(&app, None, method, path, body.clone()).await, path);
            let (s, e) = call(&app, Some(&seller), method, path, body).await;
            assert_eq!(s, 403, "{path}: {e}");
            assert!(e["error"].as_str().unwrap().contains("access.scan"), "{e}");
        }
        // Documented, with their JSON shapes.
        let doc: Value = anonymous()
            .get(app.url("/api/openapi.json"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        for (method, path) in [
            ("post", "/api/v1/tickets/verify"),
            ("get", "/api/v1/access/keys"),
            ("get", "/api/v1/access/revocations"),
        ] {
            let op = &doc["paths"][path][method];
            assert!(
                op["responses"]["200"].is_object() && op["responses"]["403"].is_object(),
                "{method} {path}"
            );
        }
        // The demo's box-office profile holds it.
        let role = parterre_core::auth::roles::find_role(&app.store, "box_office")
            .await
            .unwrap()
            .unwrap();
        assert!(role.permissions.iter().any(|p| p == "access.scan"));
        app.stop().await;
    }
}
