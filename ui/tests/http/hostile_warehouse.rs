//! The warehouse against a hostile client (issue 10): SQL built to exhaust memory is refused
//! with a plain message and the server keeps answering; what can spill does so and answers;
//! queries past the places in the queue are refused with 429, past the time limit stopped
//! with 408, and the place is free again at once; the raw `events` table needs
//! `warehouse.events`; EXPLAIN shows the plan.

use crate::helpers::{anonymous, apps, TestApp};
use parterre_warehouse::Limits;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

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

/// The JSON error body, with its sentence.
fn error_text(v: &Value) -> &str {
    assert!(v["reason"].is_string(), "JSON error body expected: {v}");
    v["error"].as_str().unwrap_or_default()
}

fn small() -> Limits {
    Limits {
        memory_mb: 64,
        ..Limits::default()
    }
}

#[tokio::test]
async fn memory_bombs_are_refused_and_the_server_stays_up() {
    for db in apps().await {
        let app = TestApp::spawn_with_limits(db, small()).await;
        let analyst = app.user_with("analyste", &["warehouse.query"]).await;
        for bomb in [
            // The reported attack: 100,000 values of 100 kB.
            "SELECT cardinality(array_agg(repeat('x', 100000))) FROM generate_series(1, 100000)",
            // The same, each value built from a column (no constant folding).
            "SELECT length(repeat('x', CAST(value AS INT) * 100000)) FROM generate_series(1, 10)",
            "SELECT length(lpad('x', 2000000000)) FROM generate_series(1, 3)",
            "SELECT length(rpad('x', value * 1000000, 'yz')) FROM generate_series(1, 3)",
            "SELECT cardinality(range(1, 1000000000))",
            "SELECT cardinality(generate_series(1, value * 100000000)) FROM generate_series(1, 3)",
            "SELECT cardinality(array_repeat(1, 1000000000))",
            "SELECT cardinality(array_resize([1], 1000000000))",
            // Small values, many of them: the pool (64 MiB here) refuses the aggregate.
            "SELECT cardinality(array_agg(repeat('x', 9000))) FROM generate_series(1, 30000)",
        ] {
            let (s, v) = sql(&app, &analyst, bomb).await;
            assert_eq!(s, 422, "{bomb}: {v}");
            assert!(error_text(&v).contains("trop gourmande en mémoire (limite 64 Mo)"), "{bomb}: {v}");
        }
        // The server is still there, and a query within the limits runs.
        let (s, v) = sql(&app, &analyst, "SELECT length(repeat('ab', 5000)) AS n").await;
        assert_eq!((s, &v["rows"][0][0]), (200, &json!(10000)), "{v}");
        // What can spill to disk does, and answers (about 3 million groups, more than 64 MiB).
        let (s, v) = sql(
            &app,
            &analyst,
            "SELECT count(*), sum(value) FROM (SELECT DISTINCT value FROM generate_series(1, 3000000))",
        )
        .await;
        assert_eq!(s, 200, "{v}");
        assert_eq!(v["rows"][0], json!([3000000, 4500001500000i64]), "{v}");
        // A literal longer than the SQL limit is refused before it is copied into any row.
        let long = format!("SELECT length('{}')", "x".repeat(200_000));
        let (s, v) = sql(&app, &analyst, &long).await;
        assert_eq!(s, 400, "{v}");
        assert!(error_text(&v).contains("requête trop longue"), "{v}");
        app.stop().await;
    }
}

#[tokio::test]
async fn queries_beyond_their_places_are_refused_and_a_timed_out_one_frees_its_place() {
    for db in apps().await {
        let limits = Limits {
            queries: 1,
            queries_per_user: 1,
            queue_wait: Duration::from_millis(300),
            timeout: Duration::from_secs(3),
            ..Limits::default()
        };
        let app = TestApp::spawn_with_limits(db, limits).await;
        let a = app.user_with("analyste_a", &["warehouse.query"]).await;
        let b = app.user_with("analyste_b", &["warehouse.query"]).await;
        // Endless work: a sum over a trillion rows.
        let endless = "SELECT sum(value) FROM generate_series(1, 1000000000000)";
        let started = Instant::now();
        let long = {
            let (base, a) = (app.base.clone(), a.clone());
            tokio::spawn(async move {
                let r = anonymous()
                    .post(format!("{base}/api/v1/sql"))
                    .bearer_auth(a)
                    .json(&json!({ "query": endless }))
                    .send()
                    .await
                    .unwrap();
                (r.status().as_u16(), r.json::<Value>().await.unwrap_or(Value::Null))
            })
        };
        tokio::time::sleep(Duration::from_millis(800)).await;
        // The same user, and another one: no place left (1 overall), refused after a short wait.
        for (who, token) in [("a", &a), ("b", &b)] {
            let (s, v) = sql(&app, token, "SELECT 1").await;
            assert_eq!(s, 429, "{who}: {v}");
            assert!(error_text(&v).contains("trop de requêtes en cours"), "{who}: {v}");
        }
        let (s, v) = long.await.unwrap();
        assert_eq!(s, 408, "{v}");
        assert!(error_text(&v).contains("temps imparti (3 s)"), "{v}");
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "stopped at the limit: {:?}",
            started.elapsed()
        );
        // The endless query is stopped, not left running: the next one gets the place at once.
        let t = Instant::now();
        let (s, v) = sql(&app, &b, "SELECT 41 + 1").await;
        assert_eq!((s, &v["rows"][0][0]), (200, &json!(42)), "{v}");
        assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
        app.stop().await;
    }
}

#[tokio::test]
async fn the_raw_events_need_their_own_permission() {
    for db in apps().await {
        let app = TestApp::spawn(db).await;
        let analyst = app.user_with("analyste", &["warehouse.query"]).await;
        let auditor = app.user_with("auditeur", &["warehouse.query", "warehouse.events"]).await;
        for q in [
            "SELECT count(*) FROM events",
            "SELECT payload FROM parterre.public.events LIMIT 1",
            "SELECT t.ticket_id FROM fact_ticket t JOIN events e ON e.seq = t.ticket_id",
            "SELECT * FROM (SELECT kind FROM events) x",
        ] {
            let (s, v) = sql(&app, &analyst, q).await;
            assert_eq!(s, 403, "{q}: {v}");
            assert!(error_text(&v).contains("warehouse.events"), "{q}: {v}");
        }
        // The table does not even exist for them.
        let (s, v) = sql(
            &app,
            &analyst,
            "SELECT count(*) FROM information_schema.tables WHERE table_name = 'events'",
        )
        .await;
        assert_eq!((s, &v["rows"][0][0]), (200, &json!(0)), "{v}");
        // A CTE of that name is not the table.
        let (s, v) = sql(&app, &analyst, "WITH events AS (SELECT 7 AS a) SELECT a FROM events").await;
        assert_eq!((s, &v["rows"][0][0]), (200, &json!(7)), "{v}");
        // With the permission, the table is there.
        let (s, v) = sql(&app, &auditor, "SELECT count(*) > 0 FROM events").await;
        assert_eq!((s, &v["rows"][0][0]), (200, &json!(true)), "{v}");
        app.stop().await;
    }
}

#[tokio::test]
async fn explain_shows_the_plan() {
    for db in apps().await {
        let app = TestApp::spawn(db).await;
        let analyst = app.user_with("analyste", &["warehouse.query"]).await;
        let (s, v) = sql(
            &app,
            &analyst,
            "EXPLAIN SELECT channel, count(*) FROM fact_ticket WHERE status = 'valid' GROUP BY channel",
        )
        .await;
        assert_eq!(s, 200, "{v}");
        let plan: Vec<&str> = v["rows"].as_array().unwrap().iter().filter_map(|r| r[1].as_str()).collect();
        assert!(plan.iter().any(|p| p.contains("fact_ticket")), "{v}");
        app.stop().await;
    }
}
