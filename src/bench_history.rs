//! `parterre bench warehouse --history 1,3,10`: what the pipeline costs as history grows. For
//! each count of past seasons, a data folder of demo history (sold through the core), fully
//! projected; then, measured in turns across the folders (this machine drifts within minutes):
//! - a step that projects one sale (one order sold, then `Pipeline::step`);
//! - `parterre serve` start-up: from the process start to the first answer of `POST
//!   /api/v1/sql` on the current season's tickets, and to the first that counts every ticket
//!   of every season (a query that reads each season's file footer: it grows with history by
//!   nature); and apart, the pipeline's open and the warehouse's open with its first query.
//!
//! A folder already built (`history-N/.bench-built`) is reused.

use anyhow::{bail, Context, Result};
use parterre_core::{auth::tokens, Actor, Store};
use parterre_pipelines::Pipeline;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

struct Folder {
    seasons: u32,
    data: PathBuf,
    season_id: i64,
    season: String,
    tickets: i64,
    events: i64,
    step_ms: Vec<f64>,
    start_ms: Vec<f64>,
    ready_ms: Vec<f64>,
    open_ms: Vec<f64>,
    query_ms: Vec<f64>,
    sold: u64,
}

fn median(v: &[f64]) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(|a, b| a.total_cmp(b));
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

/// One HTTP request to 127.0.0.1:`port`; the status code and the body.
fn http(port: u16, token: &str, body: &str) -> Option<(u16, String)> {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(30))).ok()?;
    let req = format!(
        "POST /api/v1/sql HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    let status = out.split_whitespace().nth(1)?.parse().ok()?;
    let body = out.split_once("\r\n\r\n").map(|(_, b)| b.to_string()).unwrap_or_default();
    Some((status, body))
}

/// Starts `parterre serve` on `data` and times it until `query` answers with `want` in its
/// rows (any answer when `want` is `None`).
fn time_serve(data: &Path, token: &str, query: &str, want: Option<String>) -> Result<f64> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let exe = std::env::current_exe()?;
    let start = Instant::now();
    let mut child = std::process::Command::new(exe)
        .arg("--data")
        .arg(data)
        .arg("serve")
        .arg("--bind")
        .arg(format!("127.0.0.1:{port}"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .context("lancement de parterre serve")?;
    let body = serde_json::json!({ "query": query }).to_string();
    let answered = loop {
        if start.elapsed() > Duration::from_secs(120) {
            break None;
        }
        match http(port, token, &body) {
            Some((200, b)) if want.as_ref().is_none_or(|w| b.contains(w.as_str())) => break Some(start.elapsed()),
            _ => std::thread::sleep(Duration::from_millis(2)),
        }
    };
    let _ = child.kill();
    let _ = child.wait();
    match answered {
        Some(t) => Ok(t.as_secs_f64() * 1000.0),
        None => bail!("parterre serve n'a pas répondu en 2 minutes ({})", data.display()),
    }
}

/// Builds one folder: demo loaded, `seasons` past seasons and the current one sold, every
/// event projected.
async fn build(dir: &Path, seasons: u32, tickets_per_season: usize) -> Result<Folder> {
    let data = dir.join(format!("history-{seasons}"));
    let done = data.join(".bench-built");
    if data.exists() && !done.exists() {
        std::fs::remove_dir_all(&data).with_context(|| format!("effacement de {}", data.display()))?;
    }
    let store = Store::open_data_dir(&data).await?;
    let today = parterre_core::time::today_paris();
    let demo = parterre_core::demo::load(&store, today).await?;
    if done.exists() {
        println!("Historique de {seasons} saisons passées déjà construit dans {}.", data.display());
    } else {
        let opts = parterre_core::demo::history::HistoryOptions {
            seasons,
            today,
            tickets_per_season,
            ..Default::default()
        };
        println!("Historique de {seasons} saisons passées ({tickets_per_season} billets par saison)…");
        crate::data::history(&store, opts).await?;
    }
    let season = parterre_core::catalog::seasons::find_season(&store, &demo.season)
        .await?
        .context("saison de la démonstration")?;
    let mut p = Pipeline::open(&data, Default::default())?;
    while p.step(&store).await? > 0 {}
    // The audit rows of the simulated past seasons are older than the retention: a server
    // that has been running would have pruned them (`serve` prunes at start, but is stopped
    // here before it could finish on millions of rows).
    let days = parterre_core::auth::audit::retention_days(Some(&data))?;
    parterre_core::auth::audit::prune(&store, days, chrono::Utc::now()).await?;
    while p.step(&store).await? > 0 {}
    let counts = parterre_core::outbox::counts(&store).await?;
    let events = parterre_core::outbox::last_seq(&store).await?;
    drop(p);
    store.close().await;
    std::fs::write(&done, b"")?;
    Ok(Folder {
        seasons,
        data,
        season_id: season.id,
        season: season.name.clone(),
        tickets: counts.tickets,
        events,
        step_ms: Vec::new(),
        start_ms: Vec::new(),
        ready_ms: Vec::new(),
        open_ms: Vec::new(),
        query_ms: Vec::new(),
        sold: 1_000_000,
    })
}

/// Times a step projecting one sale in `f` (the pipeline opened first, as `serve` keeps it).
async fn time_step(f: &mut Folder) -> Result<f64> {
    let store = Store::open_data_dir(&f.data).await?;
    let mut p = Pipeline::open(&f.data, Default::default())?;
    while p.step(&store).await? > 0 {}
    parterre_core::demo::sales::sell(&store, f.season_id, f.sold, 1, f.sold).await?;
    f.sold += 1;
    let t = Instant::now();
    let moved = p.step(&store).await?;
    let ms = t.elapsed().as_secs_f64() * 1000.0;
    if moved == 0 {
        bail!("l'étape n'a rien projeté");
    }
    f.tickets = parterre_core::outbox::counts(&store).await?.tickets;
    drop(p);
    store.close().await;
    Ok(ms)
}

/// Times, in `f`, what `serve` does with the warehouse when it starts: the pipeline's open
/// (recovery, no replay) and the warehouse's open with its first query.
async fn time_open(f: &mut Folder) -> Result<()> {
    let t = Instant::now();
    let p = Pipeline::open(&f.data, Default::default())?;
    f.open_ms.push(t.elapsed().as_secs_f64() * 1000.0);
    drop(p);
    let t = Instant::now();
    let w = parterre_warehouse::Warehouse::open(&f.data.join("warehouse")).await?;
    let r = w.query("SELECT count(*) FROM fact_ticket", Default::default()).await?;
    f.query_ms.push(t.elapsed().as_secs_f64() * 1000.0);
    if r.rows.first().and_then(|r| r.first()).and_then(|v| v.as_i64()) != Some(f.tickets) {
        bail!("le décompte des billets ne correspond pas");
    }
    Ok(())
}

/// Runs the history part of the bench: `counts` past seasons each, `runs` turns.
pub async fn run(dir: &Path, counts: &[u32], tickets_per_season: usize, runs: usize) -> Result<()> {
    let mut folders = Vec::new();
    for n in counts {
        folders.push(build(dir, *n, tickets_per_season).await?);
    }
    for f in &mut folders {
        let store = Store::open_data_dir(&f.data).await?;
        let token = tokens::create_token_for(&store, &Actor::system(), "admin", "bench", 1).await?;
        store.close().await;
        std::fs::write(f.data.join(".bench-token"), &token)?;
    }
    println!("Mesures : {runs} tours, les dossiers en alternance.");
    for _ in 0..runs.max(1) {
        for f in &mut folders {
            let ms = time_step(f).await?;
            f.step_ms.push(ms);
            let token = std::fs::read_to_string(f.data.join(".bench-token"))?;
            let season = format!("SELECT count(*) FROM fact_ticket WHERE season = '{}'", f.season);
            let ms = time_serve(&f.data, &token, &season, None)?;
            f.ready_ms.push(ms);
            let all = "SELECT count(*) FROM fact_ticket";
            let ms = time_serve(&f.data, &token, all, Some(format!("[[{}]]", f.tickets)))?;
            f.start_ms.push(ms);
            time_open(f).await?;
        }
    }
    println!(
        "\n{:<22} {:>9} {:>10} {:>11} {:>14} {:>18} {:>15} {:>15}",
        "historique", "billets", "événements", "étape (ms)", "pipeline (ms)", "entrepôt+1re (ms)", "serve saison", "serve tout"
    );
    for f in &folders {
        println!(
            "{:<22} {:>9} {:>10} {:>11.1} {:>14.1} {:>18.1} {:>15.0} {:>15.0}",
            format!("{} saisons passées", f.seasons),
            f.tickets,
            f.events,
            median(&f.step_ms),
            median(&f.open_ms),
            median(&f.query_ms),
            median(&f.ready_ms),
            median(&f.start_ms)
        );
    }
    println!(
        "étape : projeter une vente ; pipeline : Pipeline::open ; entrepôt+1re : Warehouse::open et un \
         décompte ; serve saison / tout : du lancement du processus à la première réponse SQL qui compte les billets \
         de la saison en cours / de toutes les saisons (ms)."
    );
    Ok(())
}
