//! The JSON API: authentication, permissions on every endpoint, and the catalogue contract.

use crate::helpers::{anonymous, apps, TestApp};
use serde_json::{json, Value};

/// Every API endpoint: method, path, JSON body, permission it needs.
fn endpoints(show: i64, perf: i64) -> Vec<(&'static str, String, Option<Value>, &'static str)> {
    let new_show = json!({ "name": "Ajout", "duration_minutes": 90, "discipline": "dance", "tier": "B" });
    let new_perf = json!({ "show_id": show, "layout_id": 1, "starts_at": "2027-05-02T20:30" });
    vec![
        ("GET", "/api/v1/halls".into(), None, "catalog.read"),
        ("GET", "/api/v1/shows".into(), None, "catalog.read"),
        ("POST", "/api/v1/shows".into(), Some(new_show.clone()), "catalog.edit"),
        ("GET", format!("/api/v1/shows/{show}"), None, "catalog.read"),
        ("PUT", format!("/api/v1/shows/{show}"), Some(new_show), "catalog.edit"),
        ("POST", format!("/api/v1/shows/{show}/duplicate"), None, "catalog.edit"),
        ("GET", "/api/v1/seasons".into(), None, "catalog.read"),
        ("GET", "/api/v1/performances".into(), None, "catalog.read"),
        ("POST", "/api/v1/performances".into(), Some(new_perf), "catalog.edit"),
        ("GET", format!("/api/v1/performances/{perf}"), None, "catalog.read"),
        ("GET", format!("/api/v1/performances/{perf}/plan"), None, "catalog.read"),
        ("GET", "/api/v1/price-categories".into(), None, "catalog.read"),
        ("GET", "/api/v1/products".into(), None, "catalog.read"),
    ]
}

async fn call(app: &TestApp, token: Option<&str>, method: &str, path: &str, body: &Option<Value>) -> reqwest::Response {
    let c = anonymous();
    let mut r = c.request(method.parse().unwrap(), app.url(path));
    if let Some(t) = token {
        r = r.bearer_auth(t);
    }
    if let Some(b) = body {
        r = r.json(b);
    }
    r.send().await.unwrap()
}

#[tokio::test]
async fn every_endpoint_refuses_the_unauthenticated_and_the_unauthorised() {
    for db in apps().await {
        let app = TestApp::spawn(db).await;
        let nobody = app.user_with("nobody", &[]).await;
        let reader = app.user_with("reader", &["catalog.read"]).await;
        let editor = app.user_with("editor", &["catalog.read", "catalog.edit"]).await;
        for (method, path, body, perm) in endpoints(1, 1) {
            let r = call(&app, None, method, &path, &body).await;
            assert_eq!(r.status(), 401, "{method} {path} without token");
            let r = call(&app, Some("prt_0000"), method, &path, &body).await;
            assert_eq!(r.status(), 401, "{method} {path} with a bad token");
            let r = call(&app, Some(&nobody), method, &path, &body).await;
            assert_eq!(r.status(), 403, "{method} {path} without {perm}");
            let msg: Value = r.json().await.unwrap();
            assert!(msg["error"].as_str().unwrap().contains(perm), "{msg}");
            if perm == "catalog.edit" {
                assert_eq!(
                    call(&app, Some(&reader), method, &path, &body).await.status(),
                    403,
                    "{method} {path} as reader"
                );
            }
            let ok = call(&app, Some(&editor), method, &path, &body).await;
            assert!(ok.status().is_success(), "{method} {path} with {perm}: {}", ok.status());
        }
        let denied = parterre_core::auth::audit::recent(&app.store, Some("access"), 500).await.unwrap();
        assert!(denied
            .iter()
            .any(|e| e.actor == "nobody" && e.after_json.as_deref().unwrap().contains("/api/v1/halls")));
        app.stop().await;
    }
}

#[tokio::test]
async fn halls_answer_with_the_venue_capacities_and_the_demo_is_sellable() {
    for db in apps().await {
        let app = TestApp::spawn(db).await;
        let t = app.user_with("reader", &["catalog.read"]).await;
        let halls: Vec<Value> = call(&app, Some(&t), "GET", "/api/v1/halls", &None).await.json().await.unwrap();
        let cap = |name: &str, layout: &str| {
            halls
                .iter()
                .find(|h| h["name"] == name && h["layout"] == layout)
                .map(|h| (h["capacity"].as_i64().unwrap(), h["numbered"].as_bool().unwrap()))
        };
        assert_eq!(cap("Grande salle", "Numérotée"), Some((843, true)));
        assert_eq!(cap("Black Box", "Frontal"), Some((303, true)));
        assert_eq!(cap("Black Box", "Bi-frontal"), Some((400, false)));
        assert_eq!(cap("Black Box", "Debout"), Some((1200, false)));
        assert_eq!(cap("Salle René Gonzalez", "Placement libre"), Some((99, false)));
        assert!(halls.iter().all(|h| h["pmr_places"].is_i64() && h["id"].is_i64()));

        let seasons: Vec<Value> = call(&app, Some(&t), "GET", "/api/v1/seasons", &None).await.json().await.unwrap();
        let current = seasons.iter().find(|s| s["current"] == true).expect("a current season");
        let name = current["name"].as_str().unwrap();
        assert!(current["starts_on"].as_str().unwrap().ends_with("-07-01"));
        let perfs: Vec<Value> = call(&app, Some(&t), "GET", &format!("/api/v1/performances?season={name}"), &None)
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(perfs.len(), 200);
        let shows: Vec<Value> = call(&app, Some(&t), "GET", &format!("/api/v1/shows?season={name}"), &None)
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(shows.len(), 65);
        let show = shows[0]["id"].as_i64().unwrap();
        let of_show: Vec<Value> = call(&app, Some(&t), "GET", &format!("/api/v1/performances?show={show}"), &None)
            .await
            .json()
            .await
            .unwrap();
        assert!(
            !of_show.is_empty()
                && of_show
                    .iter()
                    .all(|p| p["show_id"] == show && p["hall_id"].is_i64() && p["starts_at"].is_string())
        );
        // Performances still ahead are on sale; those passed are not.
        let now = chrono::Utc::now().to_rfc3339();
        for p in &perfs {
            let ahead = p["starts_at"].as_str().unwrap() > now.as_str();
            assert_eq!(p["on_sale"].as_bool().unwrap(), ahead, "{p}");
        }
        let bad = call(&app, Some(&t), "GET", "/api/v1/performances?season=1999-2000", &None).await;
        assert_eq!(bad.status(), 422);
        let pcs: Vec<Value> = call(&app, Some(&t), "GET", "/api/v1/price-categories", &None)
            .await
            .json()
            .await
            .unwrap();
        assert!(pcs.iter().any(|c| c["code"] == "reduced" && c["needs_proof"] == true));
        let products: Vec<Value> = call(&app, Some(&t), "GET", "/api/v1/products", &None).await.json().await.unwrap();
        let f10 = products
            .iter()
            .find(|p| p["kind"] == "formule" && p["size"] == 10)
            .expect("formule 10");
        assert!(f10["name"].as_str().unwrap().contains("10"));
        assert!(products.iter().any(|p| p["kind"] == "suspended" && p["price"] == "12.00"));
        app.stop().await;
    }
}

#[tokio::test]
async fn shows_can_be_created_edited_and_duplicated_with_field_errors() {
    for db in apps().await {
        let app = TestApp::spawn(db).await;
        let t = app.user_with("editor", &["catalog.read", "catalog.edit"]).await;
        let bad = call(
            &app,
            Some(&t),
            "POST",
            "/api/v1/shows",
            &Some(json!({ "name": "", "tier": "Z", "analytic_code": "TROP-LONG-CODE" })),
        )
        .await;
        assert_eq!(bad.status(), 422);
        let body: Value = bad.json().await.unwrap();
        for f in ["name", "tier", "discipline", "duration_minutes", "analytic_code"] {
            assert!(body["fields"][f].is_string(), "no message for {f}: {body}");
        }
        let not_json = anonymous()
            .post(app.url("/api/v1/shows"))
            .bearer_auth(&t)
            .header("content-type", "application/json")
            .body("{oops")
            .send()
            .await
            .unwrap();
        assert_eq!(not_json.status(), 400);
        assert!(not_json.json::<Value>().await.unwrap()["error"].as_str().unwrap().contains("JSON"));

        let input = json!({ "name": "Orphée", "duration_minutes": 95, "discipline": "opera", "tier": "A+", "vat_rate": "2.1",
                            "is_creation": true, "artistic_director": "Léa Marchetti", "web_sale_opens_at": "2026-06-20T10:00" });
        let r = call(&app, Some(&t), "POST", "/api/v1/shows", &Some(input)).await;
        assert_eq!(r.status(), 201);
        let mut show: Value = r.json().await.unwrap();
        let id = show["id"].as_i64().unwrap();
        assert_eq!(show["vat_rate"], "2.1");
        assert_eq!(show["web_sale_opens_at"], "2026-06-20T08:00:00Z");
        let full = show["prices"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["code"] == "full")
            .unwrap()
            .clone();
        assert_eq!(full["amount"], "35.00", "A+ full price from the R-4.3 grid");

        // A GET body sent back as PUT, with one change, round-trips.
        show["name"] = json!("Orphée aux enfers");
        let r = call(&app, Some(&t), "PUT", &format!("/api/v1/shows/{id}"), &Some(show.clone())).await;
        assert_eq!(r.status(), 200);
        let got: Value = call(&app, Some(&t), "GET", &format!("/api/v1/shows/{id}"), &None)
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(got["name"], "Orphée aux enfers");
        assert_eq!(got["web_sale_opens_at"], show["web_sale_opens_at"]);
        assert_eq!(got["artistic_director"], "Léa Marchetti");

        let r = call(&app, Some(&t), "POST", &format!("/api/v1/shows/{id}/duplicate"), &None).await;
        assert_eq!(r.status(), 201);
        let copy: Value = r.json().await.unwrap();
        assert_eq!(copy["name"], "Orphée aux enfers (copie)");
        assert_ne!(copy["id"], got["id"]);
        assert_eq!(call(&app, Some(&t), "GET", "/api/v1/shows/999999", &None).await.status(), 404);

        let r = call(
            &app,
            Some(&t),
            "POST",
            "/api/v1/performances",
            &Some(json!({ "show_id": id, "layout_id": 1, "starts_at": "2027-03-28T02:30" })),
        )
        .await;
        assert_eq!(r.status(), 422, "a time inside the spring DST gap does not exist");
        let r = call(
            &app,
            Some(&t),
            "POST",
            "/api/v1/performances",
            &Some(json!({ "show_id": id, "layout_id": 1, "starts_at": "2027-03-12T20:30",
            "quotas": [{ "family": "invitation", "places": 20 }] })),
        )
        .await;
        assert_eq!(r.status(), 201);
        let perf: Value = r.json().await.unwrap();
        assert_eq!(perf["starts_at"], "2027-03-12T19:30:00Z");
        let plan: Value = call(&app, Some(&t), "GET", &format!("/api/v1/performances/{}/plan", perf["id"]), &None)
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(plan["seats"].as_array().unwrap().len(), 843);
        assert_eq!(plan["capacity"], 843);

        let kinds: Vec<String> = parterre_core::events::read_outbox(&app.store, 0, 1_000_000)
            .await
            .unwrap()
            .into_iter()
            .map(|(_, e)| e.event.kind().to_string())
            .collect();
        assert!(kinds.iter().any(|k| k == "show_updated") && kinds.iter().any(|k| k == "show_duplicated"));
        let audit = parterre_core::auth::audit::recent(&app.store, Some("show"), 50).await.unwrap();
        let upd = audit.iter().find(|e| e.action == "show.update").unwrap();
        assert_eq!(upd.actor, "editor");
        assert!(upd.before_json.as_deref().unwrap().contains("\"Orphée\""));
        app.stop().await;
    }
}

#[tokio::test]
async fn the_openapi_document_lists_every_endpoint() {
    for db in apps().await.into_iter().take(1) {
        let app = TestApp::spawn(db).await;
        let doc: Value = anonymous()
            .get(app.url("/api/openapi.json"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        for (method, path, _, _) in endpoints(1, 1) {
            let templ = path.replace("/1/", "/{id}/").replace("/1", "/{id}");
            let templ = if templ.ends_with("/{id}") || templ.contains("/{id}/") {
                templ
            } else {
                path.clone()
            };
            assert!(
                doc["paths"][&templ][method.to_lowercase()].is_object(),
                "{method} {templ} missing from OpenAPI"
            );
        }
        assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
        app.stop().await;
    }
}
