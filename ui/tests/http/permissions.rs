//! The typed permission extractor: the permission is checked before anything else of the
//! request is read, and a refusal is audited under the route's template, never a raw path.

use crate::helpers::{anonymous, apps, csrf, TestApp};
use serde_json::Value;

/// Money-moving API writes, each with a body that would be refused if it were read.
const WRITES: &[(&str, &str)] = &[
    ("POST", "/api/v1/carts"),
    ("POST", "/api/v1/carts/1/tickets"),
    ("POST", "/api/v1/carts/1/checkout"),
    ("POST", "/api/v1/orders/1/payments"),
    ("POST", "/api/v1/orders/1/refund"),
    ("POST", "/api/v1/orders/1/exchange"),
    ("POST", "/api/v1/tickets/verify"),
    ("POST", "/api/v1/sql"),
];

#[tokio::test]
async fn a_caller_without_the_permission_is_refused_before_the_body_is_read() {
    for db in apps().await {
        let app = TestApp::spawn(db).await;
        let reader = app.user_with("reader", &["catalog.read"]).await;
        let seller = app.user_with("seller", &["sales.sell", "access.scan", "warehouse.query"]).await;
        for (method, path) in WRITES {
            for body in ["{oops", r#"{"amount": "92233720368547758.07", "quantity": 9223372036854775807}"#] {
                let send = |token: &str| {
                    anonymous()
                        .request(method.parse().unwrap(), app.url(path))
                        .bearer_auth(token)
                        .header("content-type", "application/json")
                        .body(body.to_string())
                        .send()
                };
                let r = send(&reader).await.unwrap();
                assert_eq!(r.status(), 403, "{method} {path} {body} without the permission");
                let msg: Value = r.json().await.unwrap();
                assert!(msg["error"].as_str().unwrap().contains("accès refusé"), "{msg}");
                // The same request from someone allowed gets as far as the body.
                let r = send(&seller).await.unwrap();
                assert!(
                    r.status() == 400 || r.status() == 422 || r.status() == 404,
                    "{method} {path} {body} with the permission: {}",
                    r.status()
                );
            }
        }
        app.stop().await;
    }
}

#[tokio::test]
async fn refusals_are_audited_under_the_route_template() {
    for db in apps().await {
        let app = TestApp::spawn(db).await;
        let nobody = app.user_with("nobody", &[]).await;
        for path in [
            "/api/v1/orders/987654",
            "/api/v1/orders/987654/refund",
            "/api/v1/performances/987654/availability",
        ] {
            let method = if path.ends_with("refund") { "POST" } else { "GET" };
            let r = anonymous()
                .request(method.parse().unwrap(), app.url(path))
                .bearer_auth(&nobody)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 403, "{path}");
        }
        // A browser form too: refused for the permission (not for a missing field).
        app.user_with("guest", &[]).await;
        let guest = app.browser("guest", "motdepasse").await;
        let token = csrf(&guest, &app.url("/")).await;
        let r = guest
            .post(app.url("/box-office/carts/987654/checkout"))
            .form(&[("csrf", token.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403);
        assert!(r.text().await.unwrap().contains("sales.sell"));

        let rows = parterre_core::auth::audit::recent(&app.store, Some("access"), 500).await.unwrap();
        let targets: Vec<String> = rows
            .iter()
            .filter_map(|e| e.after_json.as_deref())
            .filter_map(|j| serde_json::from_str::<Value>(j).ok())
            .filter_map(|v| v["target"].as_str().map(String::from))
            .collect();
        for t in [
            "/api/v1/orders/{id}",
            "/api/v1/orders/{id}/refund",
            "/api/v1/performances/{id}/availability",
            "/box-office/carts/{id}/checkout",
        ] {
            assert!(targets.iter().any(|x| x == t), "no refusal audited on {t}: {targets:?}");
        }
        assert!(!targets.iter().any(|x| x.contains("987654")), "{targets:?}");
        app.stop().await;
    }
}
