//! The warehouse over HTTP: `POST /api/v1/sql` sees a sale made through the API just before
//! (the app runs the pipeline in the background and a query waits for it to catch up),
//! refuses what is not a query with a plain message, and needs `warehouse.query`; the SQL
//! page does the same for people.

use crate::helpers::{anonymous, apps, csrf, TestApp};
use serde_json::{json, Value};
use std::time::Instant;

async fn sql(app: &TestApp, token: &str, query: &str) -> (u16, Value) {
    let r = anonymous()
        .post(app.url("/api/v1/sql"))
        .bearer_auth(token)
        .json(&json!({ "query": query }))
        .send()
        .await
        .unwrap();
    let s = r.status().as_u16();
    (s, r.json().await.unwrap_or(Value::Null))
}

async fn post(app: &TestApp, token: &str, path: &str, body: Value) -> Value {
    let r = anonymous().post(app.url(path)).bearer_auth(token).json(&body).send().await.unwrap();
    assert!(r.status().is_success(), "{path}: {}", r.status());
    r.json().await.unwrap()
}

async fn tickets_in_warehouse(app: &TestApp, token: &str) -> i64 {
    let (s, v) = sql(app, token, "SELECT count(*) AS n FROM fact_ticket").await;
    assert_eq!(s, 200, "{v}");
    v["rows"][0][0].as_i64().unwrap()
}

#[tokio::test]
async fn a_ticket_sold_through_the_api_reaches_the_warehouse_and_only_queries_run() {
    for db in apps().await {
        let app = TestApp::spawn(db).await;
        let analyst = app.user_with("analyste", &["warehouse.query"]).await;
        let seller = app.user_with("guichet", &["sales.sell", "catalog.read"]).await;
        let before = tickets_in_warehouse(&app, &analyst).await;

        let perfs: Vec<Value> = anonymous()
            .get(app.url("/api/v1/performances"))
            .bearer_auth(&seller)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let now = chrono::Utc::now().to_rfc3339();
        let perf = perfs.iter().find(|p| p["starts_at"].as_str().unwrap() > now.as_str()).unwrap();
        let cart = post(&app, &seller, "/api/v1/carts", json!({ "channel": "counter" })).await;
        let cid = cart["id"].as_i64().unwrap();
        let c = post(
            &app,
            &seller,
            &format!("/api/v1/carts/{cid}/tickets"),
            json!({ "performance_id": perf["id"], "price_category_id": 1, "quantity": 2 }),
        )
        .await;
        let due = c["amount_due"].as_str().unwrap().to_string();
        let order = post(
            &app,
            &seller,
            &format!("/api/v1/carts/{cid}/checkout"),
            json!({ "payer": { "last_name": "Martin", "email": "martin@example.org" },
                    "payments": [{ "method": "card", "amount": due }] }),
        )
        .await;
        // The very next query sees the sale: it waits for the background pipeline to bring in
        // everything committed before it.
        let sold = Instant::now();
        assert_eq!(
            tickets_in_warehouse(&app, &analyst).await,
            before + 2,
            "the sale is in the next query"
        );
        println!("{}: sale visible in the warehouse after {:?}", app.base, sold.elapsed());
        let (s, v) = sql(
            &app,
            &analyst,
            &format!(
                "SELECT amount_ttc, amount_ht, vat_amount, status, channel, buyer_id IS NOT NULL AS has_buyer, season \
                 FROM fact_ticket WHERE order_id = {} ORDER BY ticket_id",
                order["id"]
            ),
        )
        .await;
        assert_eq!(s, 200, "{v}");
        let cols: Vec<&str> = v["columns"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap())
            .collect();
        assert_eq!(
            cols,
            ["amount_ttc", "amount_ht", "vat_amount", "status", "channel", "has_buyer", "season"]
        );
        assert_eq!(v["columns"][0]["type"], "Decimal128(12, 2)");
        let row = &v["rows"][0];
        let ttc: f64 = row[0].as_str().unwrap().parse().unwrap();
        let ht: f64 = row[1].as_str().unwrap().parse().unwrap();
        let vat: f64 = row[2].as_str().unwrap().parse().unwrap();
        assert!(ttc > 0.0 && (ht + vat - ttc).abs() < 0.001, "{row}");
        assert_eq!(row[3], "valid");
        assert_eq!(row[4], "counter");
        assert_eq!(row[5], true);
        assert!(row[6].as_str().unwrap().len() == 9, "{row}");

        // What is not a query is refused in plain French; an SQL error keeps the engine's words.
        let (s, v) = sql(&app, &analyst, "DROP TABLE fact_ticket").await;
        assert_eq!(s, 422, "{v}");
        assert!(v["error"].as_str().unwrap().contains("lecture"), "{v}");
        let (s, v) = sql(&app, &analyst, "SELECT nope FROM fact_ticket").await;
        assert_eq!(s, 400, "{v}");
        assert!(v["error"].as_str().unwrap().contains("nope"), "{v}");

        // The wrong role is refused.
        let (s, v) = sql(&app, &seller, "SELECT 1").await;
        assert_eq!(s, 403, "{v}");
        assert!(v["error"].as_str().unwrap().contains("warehouse.query"), "{v}");
        app.stop().await;
    }
}

#[tokio::test]
async fn the_sql_page_runs_a_query_for_analysts_only() {
    for db in apps().await {
        let app = TestApp::spawn(db).await;
        app.user_with("analyste", &["warehouse.query"]).await;
        app.user_with("guichet", &["sales.sell"]).await;
        let browser = app.browser("guichet", "motdepasse").await;
        let r = browser.get(app.url("/reports/sql")).send().await.unwrap();
        assert_eq!(r.status(), 403);

        let browser = app.browser("analyste", "motdepasse").await;
        let token = csrf(&browser, &app.url("/reports/sql")).await;
        let r = browser
            .post(app.url("/reports/sql"))
            .form(&[("csrf", token.as_str()), ("query", "SELECT count(*) AS spectacles FROM dim_show")])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let html = r.text().await.unwrap();
        assert!(html.contains("<th scope=\"col\" title=\"Int64\">spectacles</th>"), "{html}");
        let r = browser
            .post(app.url("/reports/sql"))
            .form(&[("csrf", token.as_str()), ("query", "DELETE FROM fact_ticket")])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 422);
        assert!(r.text().await.unwrap().contains("role=\"alert\""));
        let r = browser
            .post(app.url("/reports/sql"))
            .form(&[("csrf", "mauvais"), ("query", "SELECT 1")])
            .send()
            .await
            .unwrap();
        assert!(r.status().is_client_error(), "a form without the right CSRF token is refused");
        app.stop().await;
    }
}
