//! The event pipeline under crashes: `parterre pipeline run` is stopped many times while
//! sales go on, half the time by SIGKILL at a random moment, half the time by an abort at a
//! random one of its crash points (`PARTERRE_CRASH_AT`: between every two writes that
//! matter, in the drain and in the projection). Then the warehouse must hold every event
//! exactly once, equal a clean rebuild from the log, and count as many tickets as the core.
//! All the while a reader queries in a loop: every query answers, from one generation, with
//! no event twice and no more tickets than the core has.

mod common;

use common::{demo_venue, scratch};
use parterre_core::{outbox, Store};
use parterre_warehouse::Warehouse;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

fn parterre(data: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_parterre"));
    c.arg("--data")
        .arg(data)
        .env_remove("PARTERRE_DATABASE_URL")
        .env("RUST_LOG", "error")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    c
}

/// Every table's rows, sorted, as text: what two warehouses must agree on.
async fn dump(dir: &Path) -> Vec<(String, Vec<Vec<String>>)> {
    let w = Warehouse::open(dir).await.unwrap();
    let mut out = Vec::new();
    for t in parterre_warehouse::catalog::TABLES {
        let (_, batches) = w
            .batches(&format!("SELECT * FROM {}", t.name()), Duration::from_secs(60))
            .await
            .unwrap();
        let mut rows = parterre_warehouse::query::text_rows(&batches).unwrap();
        rows.sort();
        out.push((t.name().to_string(), rows));
    }
    out
}

async fn one(w: &Warehouse, sql: &str) -> i64 {
    let r = w.query(sql, Default::default()).await.unwrap();
    r.rows[0][0].as_i64().unwrap()
}

/// Events and tickets one query sees, checked for an event or a ticket counted twice and for
/// events missing below the last.
async fn snapshot(w: &Warehouse) -> (i64, i64) {
    let r = w
        .query(
            "SELECT (SELECT count(*) FROM events) AS a, (SELECT count(DISTINCT seq) FROM events) AS b, \
             (SELECT coalesce(max(seq), 0) FROM events) AS c, (SELECT count(*) FROM fact_ticket) AS d, \
             (SELECT count(DISTINCT ticket_id) FROM fact_ticket) AS e",
            Default::default(),
        )
        .await
        .unwrap_or_else(|e| panic!("a query failed while the pipeline was killed: {e}"));
    let v: Vec<i64> = r.rows[0].iter().map(|c| c.as_i64().unwrap()).collect();
    assert_eq!(v[0], v[1], "an event counted twice: {v:?}");
    assert_eq!(v[0], v[2], "events missing below the last one: {v:?}");
    assert_eq!(v[3], v[4], "a ticket counted twice: {v:?}");
    (v[0], v[3])
}

/// What the reader saw while the pipeline was being killed.
#[derive(Debug, Default)]
struct Seen {
    queries: u64,
    generations: std::collections::BTreeSet<u64>,
    most_events: i64,
}

/// Queries the warehouse of `data` in a loop on a thread and runtime of its own until `stop`:
/// a fresh `Warehouse` at every round, and one kept open for ten rounds, whose answers must
/// not change while newer generations are committed and its files retired under it.
fn reader(data: std::path::PathBuf, stop: std::sync::Arc<std::sync::atomic::AtomicBool>) -> std::thread::JoinHandle<Seen> {
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let store = Store::open_data_dir(&data).await.unwrap();
            let wh = data.join("warehouse");
            let mut seen = Seen::default();
            let mut pinned: Option<(Warehouse, (i64, i64))> = None;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let w = Warehouse::open(&wh)
                    .await
                    .unwrap_or_else(|e| panic!("the warehouse did not open while the pipeline was killed: {e}"));
                seen.generations.insert(w.generation());
                let (events, tickets) = snapshot(&w).await;
                let core = outbox::counts(&store).await.unwrap().tickets;
                assert!(tickets <= core, "the warehouse shows {tickets} tickets, the core {core}");
                let last = outbox::last_seq(&store).await.unwrap();
                assert!(events <= last, "the warehouse shows {events} events, the core {last}");
                seen.most_events = seen.most_events.max(events);
                seen.queries += 1;
                match &pinned {
                    Some((old, then)) if seen.queries % 10 != 0 => {
                        assert_eq!(&snapshot(old).await, then, "an open warehouse changed its answer");
                    }
                    _ => pinned = Some((w, (events, tickets))),
                }
            }
            store.close().await;
            seen
        })
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_at_random_points_the_pipeline_neither_loses_nor_duplicates() {
    let data = scratch("crash");
    let (store, season) = demo_venue(&data).await;
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    println!("seed {seed}");
    let mut dice = parterre_core::demo::sales::Dice::new(seed);
    let mut sold = 0u64;
    let mut kills = 0;
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let watching = reader(data.clone(), stop.clone());
    for round in 0..24 {
        // Sales while no pipeline runs, then a pipeline killed while it works.
        let r = parterre_core::demo::sales::sell(&store, season.id, sold, 25, seed).await.unwrap();
        sold += 25;
        assert!(r.orders > 0, "round {round}: nothing sold");
        let mut cmd = parterre(&data);
        // Blocks of varying size, so a replay after a crash cuts the events differently.
        let batch = (3 + dice.below(10)).to_string();
        // Merges after a few files, so that runs are also killed while compacting.
        cmd.args(["pipeline", "run", "--batch", &batch, "--compact-after", "3"]);
        let aborted = round % 2 == 1;
        if aborted {
            cmd.env("PARTERRE_CRASH_AT", (1 + dice.below(150)).to_string());
        }
        let mut child = cmd.spawn().unwrap();
        if !aborted {
            std::thread::sleep(Duration::from_millis(30 + dice.below(500)));
            if child.try_wait().unwrap().is_none() {
                child.kill().unwrap();
            }
        }
        let status = child.wait().unwrap();
        if status.success() {
            continue;
        }
        kills += 1;
        if aborted || status.code().is_none() {
            continue;
        }
        let mut err = String::new();
        use std::io::Read;
        child.stderr.take().unwrap().read_to_string(&mut err).unwrap();
        assert!(err.is_empty(), "round {round}: the pipeline failed on its own: {err}");
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let seen = watching.join().expect("the reader failed");
    println!(
        "{kills} of 24 runs stopped midway; {} queries over {} generations, up to {} events",
        seen.queries,
        seen.generations.len(),
        seen.most_events
    );
    assert!(
        seen.generations.len() > 5 && seen.queries > 20,
        "the reader saw too little: {seen:?}"
    );
    assert!(kills >= 6, "only {kills} runs stopped: the test did not interrupt the pipeline");
    let out = parterre(&data).args(["pipeline", "run"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    let wh = data.join("warehouse");
    let w = Warehouse::open(&wh).await.unwrap();
    let counts = outbox::counts(&store).await.unwrap();
    assert!(counts.tickets > 100, "{counts:?}");
    assert_eq!(one(&w, "SELECT count(*) FROM fact_ticket").await, counts.tickets);
    assert_eq!(one(&w, "SELECT count(*) FROM fact_order").await, counts.orders);
    assert_eq!(one(&w, "SELECT count(*) FROM fact_payment").await, counts.payments);
    let last = outbox::last_seq(&store).await.unwrap();
    assert_eq!(one(&w, "SELECT count(*) FROM events").await, last, "every event once");
    assert_eq!(one(&w, "SELECT count(DISTINCT seq) FROM events").await, last);
    assert_eq!(
        one(
            &w,
            "SELECT count(*) FROM fact_ticket WHERE status = 'cancelled' AND cancelled_at IS NOT NULL"
        )
        .await,
        parterre_core::db::query_as::<(i64,)>("SELECT COUNT(*) FROM tickets WHERE status = 'cancelled'")
            .fetch_one(store.pool())
            .await
            .unwrap()
            .0
    );
    let before = dump(&wh).await;
    drop(w);

    let replayed = parterre_pipelines::pipeline::rebuild(&data, |_, _| {}).unwrap();
    assert_eq!(replayed as i64, last);
    let after = dump(&wh).await;
    for ((name, a), (_, b)) in before.iter().zip(&after) {
        assert_eq!(a.len(), b.len(), "{name}: row counts differ from a clean rebuild");
        assert!(a == b, "{name}: rows differ from a clean rebuild");
    }
    store.close().await;
    let _ = std::fs::remove_dir_all(&data);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logged_events_leave_the_outbox_after_the_retention_whatever_their_date() {
    let data = scratch("prune");
    let (store, season) = demo_venue(&data).await;
    // Sales dated a year ago (as the demo history makes them) stay until they are logged.
    let past = chrono::Utc::now() - chrono::Duration::days(365);
    parterre_core::time::at(past, parterre_core::demo::sales::sell(&store, season.id, 0, 5, 1))
        .await
        .unwrap();
    let in_outbox = |s: Store| async move {
        parterre_core::db::query_as::<(i64,)>("SELECT COUNT(*) FROM outbox")
            .fetch_one(s.pool())
            .await
            .unwrap()
            .0
    };
    let before = in_outbox(store.clone()).await;
    let keep = parterre_pipelines::Options::default();
    let mut p = parterre_pipelines::Pipeline::open(&data, keep).unwrap();
    p.step(&store).await.unwrap();
    assert_eq!(
        in_outbox(store.clone()).await,
        before,
        "a 7-day retention keeps freshly logged events"
    );
    drop(p);

    // With no retention they go at once, and the drain goes on from where it was.
    let none = parterre_pipelines::Options {
        outbox_retention: Duration::ZERO,
        ..Default::default()
    };
    let mut p = parterre_pipelines::Pipeline::open(&data, none).unwrap();
    p.step(&store).await.unwrap();
    assert_eq!(in_outbox(store.clone()).await, 0, "logged events pruned");
    parterre_core::demo::sales::sell(&store, season.id, 100, 3, 2).await.unwrap();
    let moved = p.step(&store).await.unwrap();
    assert!(moved > 0, "new events after a prune are drained");
    let w = Warehouse::open(&data.join("warehouse")).await.unwrap();
    let counts = outbox::counts(&store).await.unwrap();
    assert_eq!(one(&w, "SELECT count(*) FROM fact_ticket").await, counts.tickets);
    assert_eq!(
        one(&w, "SELECT count(*) FROM events").await,
        outbox::last_seq(&store).await.unwrap()
    );
    store.close().await;
    let _ = std::fs::remove_dir_all(&data);
}

/// An event whose amount does not fit DECIMAL(12,2) (9·10¹⁶ cents, the wrapped sums of the
/// hostile tenders) stops the pipeline with the event named: nothing of its batch reaches the
/// warehouse (not even the good event before it), the next step refuses again rather than
/// skip it, and once the row is corrected the pipeline carries on with both.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_money_value_beyond_decimal_12_2_stops_the_pipeline_and_nothing_of_its_batch_is_published() {
    use parterre_core::events::Event;
    use parterre_core::store::Change;
    let data = scratch("unfit");
    let (store, season) = demo_venue(&data).await;
    parterre_core::demo::sales::sell(&store, season.id, 0, 5, 7).await.unwrap();
    let mut p = parterre_pipelines::Pipeline::open(&data, Default::default()).unwrap();
    p.step(&store).await.unwrap();
    let wh = data.join("warehouse");
    let payments = |w: Warehouse| async move {
        (
            one(&w, "SELECT count(*) FROM fact_payment").await,
            one(&w, "SELECT count(*) FROM events").await,
        )
    };
    let before = payments(Warehouse::open(&wh).await.unwrap()).await;
    let projected = p.projected();

    let mut tx = store.write(&parterre_core::Actor::system()).await.unwrap();
    for (id, cents) in [(900_001, 1_500), (900_002, 90_000_000_000_000_000)] {
        tx.record(
            Change::new("test.payment", "payment", id),
            Some(Event::PaymentRecorded {
                payment_id: id,
                order_id: 1,
                method: "card".into(),
                amount_cents: cents,
            }),
        )
        .await
        .unwrap();
    }
    tx.commit().await.unwrap();
    let bad_seq = outbox::last_seq(&store).await.unwrap();

    for attempt in 0..2 {
        let e = p.step(&store).await.unwrap_err().to_string();
        assert!(
            e.contains(&format!("événement {bad_seq}")) && e.contains("payment_recorded") && e.contains("amount_cents"),
            "attempt {attempt}: {e}"
        );
        assert_eq!(p.projected(), projected, "the checkpoint stays before the batch");
        let now = payments(Warehouse::open(&wh).await.unwrap()).await;
        assert_eq!(now, before, "attempt {attempt}: nothing of the batch is in the warehouse");
    }

    // The row is corrected (25.00 €): the pipeline goes on with both events.
    parterre_core::db::query("UPDATE outbox SET payload = replace(payload, $1, $2) WHERE seq = $3")
        .bind("90000000000000000")
        .bind("2500")
        .bind(bad_seq)
        .execute(store.pool())
        .await
        .unwrap();
    p.step(&store).await.unwrap();
    let w = Warehouse::open(&wh).await.unwrap();
    assert_eq!(payments(Warehouse::open(&wh).await.unwrap()).await, (before.0 + 2, before.1 + 2));
    let r = w
        .query(
            "SELECT CAST(sum(amount) AS VARCHAR) FROM fact_payment WHERE payment_id >= 900001",
            Default::default(),
        )
        .await
        .unwrap();
    assert_eq!(r.rows[0][0], "40.00");
    store.close().await;
    let _ = std::fs::remove_dir_all(&data);
}
