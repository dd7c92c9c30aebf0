//! What schemathesis found in CI, pinned: requests refused before a handler runs (an id that
//! is not a number, a query parameter that does not parse, a body that is not JSON) answer the
//! JSON error body, in French, documented in the OpenAPI document; quotas whose sum overflows
//! are refused instead of killing the request.

use crate::helpers::{anonymous, apps, TestApp};
use serde_json::{json, Value};

#[tokio::test]
async fn malformed_paths_queries_and_bodies_answer_the_json_error_body() {
    for db in apps().await {
        let app = TestApp::spawn(db).await;
        let token = app.user_with("caisse", &["catalog.read", "sales.sell"]).await;
        let c = anonymous();
        let cases: Vec<(&str, &str, Option<(&str, &str)>, u16, &str)> = vec![
            ("GET", "/api/v1/shows/abc", None, 400, "« abc » ne convient pas"),
            ("GET", "/api/v1/performances/99999999999999999999", None, 400, "ne convient pas"),
            ("DELETE", "/api/v1/carts/1/items/x", None, 400, "« x » ne convient pas"),
            ("GET", "/api/v1/options?days=abc", None, 400, "days"),
            ("GET", "/api/v1/options?days=9223372036854775808", None, 400, "days"),
            ("GET", "/api/v1/performances?show=1e3", None, 400, "show"),
            ("POST", "/api/v1/carts", Some(("text/plain", "{}")), 415, "corps JSON invalide"),
            ("POST", "/api/v1/carts", Some(("application/json", "{")), 400, "corps JSON invalide"),
        ];
        for (method, path, body, status, message) in cases {
            let mut r = c.request(method.parse().unwrap(), app.url(path)).bearer_auth(&token);
            if let Some((kind, text)) = body {
                r = r.header("content-type", kind).body(text);
            }
            let r = r.send().await.unwrap();
            assert_eq!(r.status(), status, "{method} {path}");
            let kind = r.headers()["content-type"].to_str().unwrap().to_string();
            assert!(kind.starts_with("application/json"), "{method} {path}: {kind}");
            let e: Value = r.json().await.unwrap();
            let error = e["error"].as_str().unwrap_or_default();
            assert!(error.contains(message), "{method} {path}: {e}");
            assert!(e["reason"].is_string(), "{method} {path}: {e}");
        }
        // Without a token, the same malformed path is first of all unauthenticated.
        let r = c.get(app.url("/api/v1/shows/abc")).send().await.unwrap();
        assert_eq!(r.status(), 401);
        app.stop().await;
    }
}

#[tokio::test]
async fn the_openapi_document_lists_the_refusals_of_every_operation() {
    for db in apps().await {
        let app = TestApp::spawn(db).await;
        let doc: Value = anonymous()
            .get(app.url("/api/openapi.json"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let responses = |method: &str, path: &str| doc["paths"][path][method]["responses"].clone();
        let error_body = |r: &Value| r["content"]["application/json"]["schema"]["$ref"] == "#/components/schemas/ErrorBody";
        // A path id: 400 when it is not a number, 404 when unknown.
        let r = responses("post", "/api/v1/orders/{id}/payments");
        for status in ["400", "404", "415", "422"] {
            assert!(error_body(&r[status]), "POST /api/v1/orders/{{id}}/payments {status}: {r}");
        }
        // A query parameter: 400 and 422; no body, so no 415.
        let r = responses("get", "/api/v1/performances");
        assert!(error_body(&r["400"]) && error_body(&r["422"]), "{r}");
        assert!(r["415"].is_null(), "{r}");
        // No path id, no 404 added.
        let r = responses("get", "/api/v1/halls");
        assert!(r["404"].is_null(), "{r}");
        // A handler's own description is kept.
        let r = responses("get", "/api/v1/options");
        assert_eq!(r["422"]["description"], "days outside 0–3650", "{r}");
        app.stop().await;
    }
}

#[tokio::test]
async fn quotas_whose_sum_overflows_are_refused() {
    for db in apps().await {
        let app = TestApp::spawn(db).await;
        let token = app.user_with("prog", &["catalog.read", "catalog.edit"]).await;
        let c = anonymous();
        let shows: Value = c
            .get(app.url("/api/v1/shows"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let show = shows[0]["id"].as_i64().unwrap();
        let before = c.get(app.url("/api/v1/performances")).bearer_auth(&token).send().await.unwrap();
        let before = before.json::<Value>().await.unwrap().as_array().unwrap().len();
        let body = json!({ "show_id": show, "layout_id": 1, "starts_at": "2027-03-12T20:30",
            "quotas": [{ "family": "invitation", "places": i64::MAX }, { "family": "school", "places": i64::MAX },
                       { "family": "group", "places": 4 }] });
        let r = c
            .post(app.url("/api/v1/performances"))
            .bearer_auth(&token)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 422);
        let e: Value = r.json().await.unwrap();
        assert!(e["fields"]["quotas"].as_str().unwrap().contains("dépassent la jauge"), "{e}");
        let after = c.get(app.url("/api/v1/performances")).bearer_auth(&token).send().await.unwrap();
        assert_eq!(
            after.json::<Value>().await.unwrap().as_array().unwrap().len(),
            before,
            "nothing written"
        );
        app.stop().await;
    }
}

#[tokio::test]
async fn unknown_codes_of_closed_lists_are_refused_with_the_accepted_ones_and_nothing_is_written() {
    for db in apps().await {
        let app = TestApp::spawn(db).await;
        let token = app.user_with("caisse", &["catalog.read", "catalog.edit", "sales.sell"]).await;
        let c = anonymous();
        // A first call notes the token's use (an audit row of its own), then nothing may be added.
        let r = c.get(app.url("/api/v1/payment-methods")).bearer_auth(&token).send().await.unwrap();
        assert_eq!(r.status(), 200);
        let before = parterre_core::auth::audit::recent(&app.store, None, 10_000).await.unwrap().len();
        let long = "x".repeat(100_000);
        for channel in [json!("teleport"), json!("Counter"), json!(long), json!(7), json!(null)] {
            let r = c
                .post(app.url("/api/v1/carts"))
                .bearer_auth(&token)
                .json(&json!({ "channel": channel }))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 422, "channel {channel}");
            let e: Value = r.json().await.unwrap();
            let error = e["error"].as_str().unwrap();
            if channel.is_string() {
                assert!(error.contains("counter, phone, web"), "{e}");
                assert!(error.len() < 400, "the given value is clipped, not echoed whole: {}", error.len());
            }
        }
        // A show with an unknown tier and discipline: both reported, next to the other fields.
        let r = c
            .post(app.url("/api/v1/shows"))
            .bearer_auth(&token)
            .json(&json!({ "name": "Essai", "duration_minutes": 60, "discipline": "juggling", "tier": "Z" }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 422);
        let e: Value = r.json().await.unwrap();
        assert!(e["fields"]["tier"].is_string() && e["fields"]["discipline"].is_string(), "{e}");
        let after = parterre_core::auth::audit::recent(&app.store, None, 10_000).await.unwrap().len();
        assert_eq!(before, after, "nothing was written");
        app.stop().await;
    }
}
