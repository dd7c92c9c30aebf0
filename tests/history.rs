//! `parterre demo --history`: past seasons sold through the core, shaped like the venue
//! (about 60 % of places in formules, buyers around Seine-et-Marne, options, cancellations),
//! and the same seed gives the same history.

use std::path::Path;
use std::process::Command;

fn parterre(data: &Path, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_parterre"))
        .arg("--data")
        .arg(data)
        .args(args)
        .env_remove("PARTERRE_DATABASE_URL")
        .env("RUST_LOG", "error")
        .output()
        .unwrap();
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn scratch(name: &str) -> std::path::PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let d = std::env::temp_dir().join(format!("parterre-history-{name}-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

const HISTORY: &[&str] = &[
    "demo",
    "--today",
    "2026-10-01",
    "--history",
    "1",
    "--tickets-per-season",
    "1000",
    "--concurrency",
    "1",
];

const SUMMARY: &str = "SELECT season, count(*) AS tickets, \
    count(*) FILTER (WHERE formule IS NOT NULL) AS in_formules, \
    count(*) FILTER (WHERE status = 'cancelled') AS cancelled, \
    count(DISTINCT buyer_id) AS buyers, sum(amount_ttc) AS revenue, \
    min(issued_at) AS first_sale, max(issued_at) AS last_sale \
    FROM fact_ticket GROUP BY season ORDER BY season";

#[test]
fn a_seeded_history_is_shaped_like_the_venue_and_repeatable() {
    let a = scratch("a");
    let out = parterre(&a, HISTORY);
    assert!(out.contains("Saison 2025-2026 :") && out.contains("Saison 2026-2027 :"), "{out}");
    parterre(&a, &["pipeline", "run"]);
    // The past season's raw events end in one file (the manifest read at every start stays
    // small); the current season's wait for compaction as usual.
    let m = parterre_warehouse::manifest::Manifest::latest(&a.join("warehouse"))
        .unwrap()
        .unwrap();
    assert_eq!(m.partition(parterre_warehouse::catalog::Table::Events, "2025-2026").count(), 1);
    let summary = parterre(&a, &["sql", SUMMARY, "--format", "csv"]);
    let lines: Vec<&str> = summary.lines().collect();
    assert_eq!(lines.len(), 3, "{summary}");
    let past: Vec<&str> = lines[1].split(';').collect();
    assert_eq!(past[0], "2025-2026");
    let tickets: f64 = past[1].parse().unwrap();
    let formules: f64 = past[2].parse().unwrap();
    assert!(tickets >= 980.0, "about the tickets asked for: {summary}");
    assert!(
        (0.5..0.7).contains(&(formules / tickets)),
        "formule share {}: {summary}",
        formules / tickets
    );
    assert!(past[6].starts_with("2025-06-2"), "sales open on 20 June: {summary}");
    assert!(past[7] < "2026-07-01", "a past season sells before it ends: {summary}");
    let current: Vec<&str> = lines[2].split(';').collect();
    assert!(current[7] < "2026-10-02", "the current season is sold up to today only: {summary}");

    // Buyers come from around the venue, with postal codes.
    let deps = parterre(
        &a,
        &[
            "sql",
            "SELECT department, count(*) AS n FROM dim_contact GROUP BY department ORDER BY n DESC",
            "--format",
            "csv",
        ],
    );
    assert!(deps.lines().nth(1).unwrap().starts_with("77;"), "{deps}");
    // Options were taken (then confirmed or lapsed); tickets were cancelled or exchanged.
    let orders = parterre(
        &a,
        &[
            "sql",
            "SELECT count(*) FILTER (WHERE option_until IS NOT NULL OR confirmed_at IS NOT NULL) > 0 FROM fact_order",
            "--format",
            "csv",
        ],
    );
    assert_eq!(orders.lines().nth(1), Some("true"), "{orders}");
    let after = parterre(
        &a,
        &[
            "sql",
            "SELECT count(*) FILTER (WHERE status IN ('cancelled', 'exchanged')) > 0 FROM fact_ticket",
            "--format",
            "csv",
        ],
    );
    assert_eq!(after.lines().nth(1), Some("true"), "{after}");

    // Running it again changes nothing; the same seed elsewhere gives the same history.
    let again = parterre(&a, HISTORY);
    assert!(again.contains("déjà simulé"), "{again}");
    let b = scratch("b");
    parterre(&b, HISTORY);
    parterre(&b, &["pipeline", "run"]);
    assert_eq!(parterre(&b, &["sql", SUMMARY, "--format", "csv"]), summary);
    let _ = std::fs::remove_dir_all(&a);
    let _ = std::fs::remove_dir_all(&b);
}
