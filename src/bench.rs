//! `parterre bench sales`: many simulated buyers drive the HTTP API of a local server, as on an
//! opening day. Prints orders per second, latency percentiles, seats sold and seats sold twice
//! (which must be 0). Benchmark harness only: the rules it exercises live in the crates.

use anyhow::{Context, Result};
use parterre_core::auth::{roles, tokens, users};
use parterre_core::catalog::{performances, prices, PerformanceQuery};
use parterre_core::testing::TestDb;
use parterre_core::{Actor, Store};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;

/// What to run.
#[derive(Debug, Clone)]
pub struct BenchOptions {
    /// Buyers racing for one 843-seat performance.
    pub buyers: usize,
    /// Requests in flight at once.
    pub concurrency: usize,
    /// Places of the opening-day scenario (82 % in formules, R-1.6).
    pub opening_places: usize,
    /// Run on SQLite.
    pub sqlite: bool,
    /// Run on PostgreSQL at this server URL (a fresh database is created and dropped).
    pub postgres: Option<String>,
}

struct Outcome {
    ok: bool,
    seats: usize,
    latency: Duration,
    /// When the order completed, from the start of the scenario.
    finished: Duration,
}

/// Figures of one scenario.
#[derive(Debug)]
pub struct Report {
    /// Scenario name.
    pub scenario: String,
    /// Backend.
    pub backend: String,
    /// Orders completed.
    pub orders: usize,
    /// Orders refused (sold out).
    pub refused: usize,
    /// Seats sold.
    pub seats: usize,
    /// Wall time.
    pub elapsed: Duration,
    /// Until the last completed order (the sale window; refusals after a sell-out excluded).
    pub selling: Duration,
    /// Median order latency (cart → checkout).
    pub p50: Duration,
    /// 99th percentile.
    pub p99: Duration,
    /// Seats sold twice (must be 0).
    pub double_sales: i64,
}

impl Report {
    fn print(&self) {
        let rate = self.orders as f64 / self.selling.as_secs_f64().max(1e-9);
        println!(
            "{:<10} {:<9} orders {:>6} refused {:>6} seats {:>6}, sold in {:>7.2}s (run {:>6.2}s) → {:>7.1} orders/s, p50 {:>6.1} ms, p99 {:>6.1} ms, seats sold twice: {}",
            self.scenario,
            self.backend,
            self.orders,
            self.refused,
            self.seats,
            self.selling.as_secs_f64(),
            self.elapsed.as_secs_f64(),
            rate,
            self.p50.as_secs_f64() * 1000.0,
            self.p99.as_secs_f64() * 1000.0,
            self.double_sales
        );
    }
}

async fn send(client: &reqwest::Client, base: &str, token: &str, method: reqwest::Method, path: &str, body: Value) -> Result<(u16, Value)> {
    let r = client
        .request(method, format!("{base}{path}"))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await?;
    let status = r.status().as_u16();
    Ok((status, r.json().await.unwrap_or(Value::Null)))
}

/// One buyer: cart → places (tickets or a formule) → checkout paid by card.
async fn buyer(client: reqwest::Client, base: Arc<String>, token: Arc<String>, hold: (String, Value)) -> Outcome {
    let start = Instant::now();
    let result: Result<usize> = async {
        let (s, cart) = send(&client, &base, &token, reqwest::Method::POST, "/api/v1/carts", json!({ "channel": "web" })).await?;
        anyhow::ensure!(s == 201, "cart {s}");
        let id = cart["id"].as_i64().unwrap_or(0);
        let (s, cart) = send(&client, &base, &token, reqwest::Method::POST, &format!("/api/v1/carts/{id}/{}", hold.0), hold.1.clone()).await?;
        anyhow::ensure!(s == 200, "hold {s}");
        let due = cart["amount_due"].clone();
        let n = cart["items"].as_array().map(|i| i.iter().filter(|x| x["kind"] == "ticket").count()).unwrap_or(0);
        let body = json!({ "payer": { "last_name": "Banc", "email": format!("banc{id}@exemple.fr") }, "payments": [{ "method": "card", "amount": due }] });
        let (s, _) = send(&client, &base, &token, reqwest::Method::POST, &format!("/api/v1/carts/{id}/checkout"), body).await?;
        anyhow::ensure!(s == 201, "checkout {s}");
        Ok(n)
    }
    .await;
    Outcome {
        ok: result.is_ok(),
        seats: result.unwrap_or(0),
        latency: start.elapsed(),
        finished: Duration::ZERO,
    }
}

async fn run_buyers(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    concurrency: usize,
    holds: Vec<(String, Value)>,
) -> (Vec<Outcome>, Duration) {
    let (base, token) = (Arc::new(base.to_string()), Arc::new(token.to_string()));
    let gate = Arc::new(Semaphore::new(concurrency.max(1)));
    let start = Instant::now();
    let mut tasks = Vec::with_capacity(holds.len());
    for hold in holds {
        let permit = gate.clone().acquire_owned().await;
        let (c, b, t) = (client.clone(), base.clone(), token.clone());
        tasks.push(tokio::spawn(async move {
            let mut out = buyer(c, b, t, hold).await;
            out.finished = start.elapsed();
            drop(permit);
            out
        }));
    }
    let mut outcomes = Vec::new();
    for t in tasks {
        if let Ok(o) = t.await {
            outcomes.push(o);
        }
    }
    (outcomes, start.elapsed())
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

async fn double_sales(store: &Store) -> Result<i64> {
    Ok(parterre_core::sales::orders::double_sales(store).await?)
}

fn report(scenario: &str, backend: &str, outcomes: &[Outcome], elapsed: Duration, double_sales: i64) -> Report {
    let mut lat: Vec<Duration> = outcomes.iter().filter(|o| o.ok).map(|o| o.latency).collect();
    lat.sort();
    Report {
        scenario: scenario.into(),
        backend: backend.into(),
        orders: lat.len(),
        refused: outcomes.iter().filter(|o| !o.ok).count(),
        seats: outcomes.iter().map(|o| o.seats).sum(),
        elapsed,
        selling: outcomes.iter().filter(|o| o.ok).map(|o| o.finished).max().unwrap_or(elapsed),
        p50: percentile(&lat, 0.5),
        p99: percentile(&lat, 0.99),
        double_sales,
    }
}

/// Deterministic pseudo-random numbers (xorshift), so runs are comparable.
struct Rng(u64);
impl Rng {
    fn next(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n.max(1) as u64) as usize
    }
}

async fn one_backend(label: &str, db: TestDb, opts: &BenchOptions) -> Result<Vec<Report>> {
    let store = db.open().await?;
    parterre_core::demo::load(&store, parterre_core::time::today_paris()).await?;
    let sys = Actor::system();
    roles::create_role(&store, &sys, "bench", "Banc d'essai", &["sales.sell".into(), "catalog.read".into()]).await?;
    users::create_user(&store, &sys, "bench", "Banc d'essai", "bench-password", &["bench".into()]).await?;
    let token = tokens::create_token(&store, &sys, "bench", "bench").await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server_store = store.clone();
    let server = tokio::spawn(async move {
        let _ = parterre_ui::serve(server_store, listener, async {
            let _ = stopped.await;
        })
        .await;
    });
    let now = chrono::Utc::now();
    let perfs: Vec<_> = performances::list_performances(&store, &PerformanceQuery::default())
        .await?
        .into_iter()
        .filter(|p| p.starts_at > now + chrono::Duration::hours(2))
        .collect();
    let cats = prices::list_price_categories(&store).await?;
    let full = cats.iter().find(|c| c.code == "full").context("tarif plein")?.id;
    let mut reports = Vec::new();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);

    // 1. Contended: every buyer wants 1–4 seats side by side at one 843-seat performance.
    let target = perfs
        .iter()
        .find(|p| p.numbered && p.capacity == 843)
        .context("une séance de la Grande salle à venir")?;
    // Warm-up, not measured: the connections are opened and the server's caches filled, as
    // on a server that has been up for a while. One seat each at another performance.
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(opts.concurrency)
        .build()
        .unwrap_or_default();
    if let Some(other) = perfs.iter().find(|p| p.numbered && p.id != target.id) {
        let warm: Vec<(String, Value)> = (0..opts.concurrency * 2)
            .map(|_| {
                let body = json!({ "performance_id": other.id, "price_category_id": full, "quantity": 1 });
                ("tickets".to_string(), body)
            })
            .collect();
        eprintln!("[{label}] warm-up: {} buyers at another performance (not measured)…", warm.len());
        run_buyers(&client, &base, &token, opts.concurrency, warm).await;
    }
    let holds: Vec<(String, Value)> = (0..opts.buyers)
        .map(|_| {
            (
                "tickets".to_string(),
                json!({ "performance_id": target.id, "price_category_id": full, "quantity": 1 + rng.next(4) }),
            )
        })
        .collect();
    eprintln!(
        "[{label}] contended: {} buyers for 843 seats, {} in flight…",
        opts.buyers, opts.concurrency
    );
    let (out, elapsed) = run_buyers(&client, &base, &token, opts.concurrency, holds).await;
    reports.push(report("contended", label, &out, elapsed, double_sales(&store).await?));

    // 2. Opening day: places across the season, 82 % in formules of 5 shows.
    let products = prices::list_products(&store, Some(target.season_id)).await?;
    let f5 = products
        .iter()
        .find(|p| p.kind == "formule" && p.size == Some(5))
        .context("formule 5")?
        .id;
    let formule_places = opts.opening_places * 82 / 100;
    let mut holds = Vec::new();
    for _ in 0..formule_places / 5 {
        let mut chosen: Vec<i64> = Vec::new();
        let mut shows: Vec<i64> = Vec::new();
        while chosen.len() < 5 {
            let p = &perfs[rng.next(perfs.len())];
            if !shows.contains(&p.show_id) {
                shows.push(p.show_id);
                chosen.push(p.id);
            }
        }
        holds.push(("products".to_string(), json!({ "product_id": f5, "performance_ids": chosen })));
    }
    let mut single = opts.opening_places - formule_places;
    while single > 0 {
        let n = (1 + rng.next(4)).min(single);
        single -= n;
        let p = &perfs[rng.next(perfs.len())];
        holds.push((
            "tickets".to_string(),
            json!({ "performance_id": p.id, "price_category_id": full, "quantity": n }),
        ));
    }
    // Interleave formules and single tickets as they would arrive.
    for i in (1..holds.len()).rev() {
        holds.swap(i, rng.next(i + 1));
    }
    eprintln!(
        "[{label}] opening day: {} orders for {} places ({} in formules)…",
        holds.len(),
        opts.opening_places,
        formule_places
    );
    let (out, elapsed) = run_buyers(&client, &base, &token, opts.concurrency, holds).await;
    reports.push(report("opening", label, &out, elapsed, double_sales(&store).await?));

    let _ = stop.send(());
    let _ = server.await;
    store.close().await;
    db.cleanup().await;
    Ok(reports)
}

/// Runs the sales benchmark on the chosen backends and prints one line per scenario.
pub async fn sales(opts: BenchOptions) -> Result<Vec<Report>> {
    let mut all = Vec::new();
    if opts.sqlite {
        all.extend(one_backend("sqlite", TestDb::sqlite(), &opts).await?);
    }
    if let Some(url) = &opts.postgres {
        std::env::set_var("PARTERRE_TEST_PG", url);
        let db = TestDb::postgres().await?.context("PostgreSQL indisponible")?;
        all.extend(one_backend("postgres", db, &opts).await?);
    }
    println!("scenario   backend   results");
    for r in &all {
        r.print();
    }
    Ok(all)
}
