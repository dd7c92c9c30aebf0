//! `parterre bench warehouse`: a synthetic warehouse of a given scale and two sets of queries,
//! timed through [`Warehouse`] exactly as users' SQL runs, alternately with DuckDB and Polars
//! ([`engines`]) query by query, medians of several runs:
//! - [`QUERIES`], the same SQL on the same files in every engine;
//! - [`DASHBOARDS`], the season dashboards answered from the rollups, against DuckDB computing
//!   the same answer from the raw facts (the answers must be equal).

pub mod engines;
pub mod synth;

use crate::{Result, Warehouse};
use engines::Engines;
use serde::Serialize;
use std::path::Path;
use std::time::{Duration, Instant};

/// The query set: name and SQL (standard SQL that DataFusion, DuckDB and Polars all accept).
pub const QUERIES: &[(&str, &str)] = &[
    (
        "fill_rate_per_performance",
        "SELECT p.performance_id, p.capacity, count(t.ticket_id) AS sold, \
         CAST(count(t.ticket_id) AS DOUBLE) / p.capacity AS fill_rate \
         FROM dim_performance p LEFT JOIN fact_ticket t \
           ON t.performance_id = p.performance_id AND t.status = 'valid' \
         GROUP BY p.performance_id, p.capacity \
         ORDER BY fill_rate DESC, p.performance_id LIMIT 100",
    ),
    (
        "revenue_per_show_and_price_family",
        "SELECT s.show_id, s.name, t.price_category, sum(t.amount_ttc) AS revenue, count(*) AS tickets \
         FROM fact_ticket t JOIN dim_show s ON s.show_id = t.show_id \
         WHERE t.status = 'valid' \
         GROUP BY s.show_id, s.name, t.price_category \
         ORDER BY revenue DESC, s.show_id, t.price_category LIMIT 100",
    ),
    (
        "average_price_per_category",
        "SELECT price_category, avg(CAST(amount_ttc AS DOUBLE)) AS average_price, count(*) AS tickets \
         FROM fact_ticket WHERE status = 'valid' \
         GROUP BY price_category ORDER BY price_category",
    ),
    (
        "contacts_purchases_by_discipline",
        "SELECT s.discipline, count(DISTINCT t.buyer_id) AS contacts, count(*) AS tickets, \
         sum(t.amount_ttc) AS revenue \
         FROM fact_ticket t JOIN dim_show s ON s.show_id = t.show_id \
         WHERE t.status = 'valid' \
         GROUP BY s.discipline ORDER BY s.discipline",
    ),
    (
        "group_by_channel",
        "SELECT channel, count(*) AS tickets, sum(amount_ttc) AS revenue FROM fact_ticket GROUP BY channel ORDER BY channel",
    ),
    (
        "cancelled_tickets",
        "SELECT count(*) AS tickets, sum(amount_ttc) AS revenue FROM fact_ticket WHERE status = 'cancelled'",
    ),
];

/// A dashboard question: its SQL on the rollups, and the same question on the raw facts.
#[derive(Debug, Clone, Copy)]
pub struct Dashboard {
    /// Name.
    pub name: &'static str,
    /// Answered from the `agg_*` tables (DataFusion).
    pub rollup: &'static str,
    /// The same answer from `fact_ticket` and `dim_performance` (DuckDB).
    pub raw: &'static str,
}

/// The season dashboards (the synthetic warehouse's current season is 2025-2026; "today" is
/// 1 February of each season's second year).
pub const DASHBOARDS: &[Dashboard] = &[
    Dashboard {
        name: "season_to_date_vs_last",
        rollup: "SELECT season, sum(tickets) AS tickets, sum(revenue_ttc) AS revenue FROM agg_sales_day \
                 WHERE status = 'valid' AND season IN ('2024-2025', '2025-2026') \
                   AND day <= make_date(CAST(substr(season, 1, 4) AS INT) + 1, 2, 1) \
                 GROUP BY season ORDER BY season",
        raw: "SELECT season, count(*) AS tickets, sum(amount_ttc) AS revenue FROM fact_ticket \
              WHERE status = 'valid' AND season IN ('2024-2025', '2025-2026') \
                AND CAST(timezone('Europe/Paris', issued_at) AS DATE) <= make_date(CAST(substr(season, 1, 4) AS INT) + 1, 2, 1) \
              GROUP BY season ORDER BY season",
    },
    Dashboard {
        name: "fill_rate_per_performance",
        rollup: "SELECT performance_id, capacity, taken FROM ( \
                   SELECT performance_id, sum(capacity) AS capacity, sum(sold) + sum(invitations) AS taken FROM agg_capacity \
                   WHERE season = '2025-2026' GROUP BY performance_id) \
                 ORDER BY CAST(taken AS DOUBLE) / capacity DESC, performance_id LIMIT 100",
        raw: "SELECT p.performance_id, p.capacity, count(t.ticket_id) AS taken FROM dim_performance p \
              LEFT JOIN fact_ticket t ON t.performance_id = p.performance_id AND t.status IN ('valid', 'invitation') \
              WHERE p.season = '2025-2026' GROUP BY p.performance_id, p.capacity \
              ORDER BY CAST(count(t.ticket_id) AS DOUBLE) / p.capacity DESC, p.performance_id LIMIT 100",
    },
    Dashboard {
        name: "sales_curve_d1_d7_d30",
        rollup: "WITH d AS (SELECT season, day, sum(tickets) AS n FROM agg_sales_day WHERE status = 'valid' GROUP BY season, day), \
                 o AS (SELECT season, min(day) AS d0 FROM d GROUP BY season) \
                 SELECT d.season, sum(CASE WHEN d.day < o.d0 + INTERVAL '1 day' THEN n ELSE 0 END) AS d1, \
                   sum(CASE WHEN d.day < o.d0 + INTERVAL '7 days' THEN n ELSE 0 END) AS d7, \
                   sum(CASE WHEN d.day < o.d0 + INTERVAL '30 days' THEN n ELSE 0 END) AS d30 \
                 FROM d JOIN o ON o.season = d.season GROUP BY d.season ORDER BY d.season",
        raw: "WITH d AS (SELECT season, CAST(timezone('Europe/Paris', issued_at) AS DATE) AS day, count(*) AS n FROM fact_ticket \
                WHERE status = 'valid' GROUP BY 1, 2), \
              o AS (SELECT season, min(day) AS d0 FROM d GROUP BY season) \
              SELECT d.season, sum(CASE WHEN d.day < o.d0 + INTERVAL '1 day' THEN n ELSE 0 END) AS d1, \
                sum(CASE WHEN d.day < o.d0 + INTERVAL '7 days' THEN n ELSE 0 END) AS d7, \
                sum(CASE WHEN d.day < o.d0 + INTERVAL '30 days' THEN n ELSE 0 END) AS d30 \
              FROM d JOIN o ON o.season = d.season GROUP BY d.season ORDER BY d.season",
    },
    Dashboard {
        name: "channel_mix",
        rollup: "SELECT channel, sum(tickets) AS tickets, sum(revenue_ttc) AS revenue FROM agg_sales_day \
                 WHERE status = 'valid' AND season = '2025-2026' GROUP BY channel ORDER BY channel",
        raw: "SELECT channel, count(*) AS tickets, sum(amount_ttc) AS revenue FROM fact_ticket \
              WHERE status = 'valid' AND season = '2025-2026' GROUP BY channel ORDER BY channel",
    },
];

/// The timing of one query on each engine (medians of the runs, in milliseconds).
#[derive(Debug, Clone, Serialize)]
pub struct Timing {
    /// Query name.
    pub name: String,
    /// DataFusion through [`Warehouse`].
    pub datafusion_ms: f64,
    /// DuckDB (on the raw facts for a dashboard).
    pub duckdb_ms: Option<f64>,
    /// Polars (same-SQL set only).
    pub polars_ms: Option<f64>,
    /// Rows DataFusion returned.
    pub rows: usize,
    /// DataFusion's and DuckDB's answers are the same (values as text, floats to 6 places).
    pub same_answer: Option<bool>,
    /// What an engine refused, if it did.
    pub note: Option<String>,
}

/// Both sets.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Same SQL in every engine.
    pub same_sql: Vec<Timing>,
    /// Dashboards: rollups (DataFusion) against raw facts (DuckDB).
    pub dashboards: Vec<Timing>,
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

/// Values compared across engines: text, floats (anything with a point that parses as one)
/// to 6 places, so that 0.8133333333333334 and 0.813333 agree and decimals stay exact.
pub fn normalize(rows: &[Vec<String>]) -> Vec<Vec<String>> {
    rows.iter()
        .map(|r| {
            r.iter()
                .map(|v| match v.parse::<f64>() {
                    Ok(f) if v.contains('.') || v.contains('e') => format!("{f:.6}"),
                    _ => v.clone(),
                })
                .collect()
        })
        .collect()
}

/// A pause before each timed run, so that no engine starts while the one before still has
/// threads spinning down (DuckDB's and Polars' workers spin a while before they sleep; on two
/// cores they would take one from whoever runs next).
async fn settle() {
    tokio::time::sleep(SETTLE).await;
}

/// How long [`settle`] waits.
const SETTLE: Duration = Duration::from_millis(30);

/// Times one question: `df_sql` through DataFusion, `other_sql` on DuckDB (and Polars when
/// `polars`), alternately, `runs` times after one unmeasured run each.
async fn time_one(
    w: &Warehouse,
    engines: Option<&mut Engines>,
    name: &str,
    df_sql: &str,
    other_sql: &str,
    polars: bool,
    runs: usize,
) -> Result<Timing> {
    let limit = Duration::from_secs(600);
    let (_, warm) = w.batches(df_sql, limit).await?;
    let df_rows = crate::query::text_rows(&warm)?;
    let mut t = Timing {
        name: name.to_string(),
        datafusion_ms: 0.0,
        duckdb_ms: None,
        polars_ms: None,
        rows: df_rows.len(),
        same_answer: None,
        note: None,
    };
    let mut engines = engines;
    let mut polars = polars;
    if let Some(e) = engines.as_deref_mut() {
        let (_, duck_rows) = e.run("duckdb", other_sql)?;
        t.same_answer = Some(normalize(&duck_rows) == normalize(&df_rows));
        if polars {
            if let Err(err) = e.run("polars", other_sql) {
                t.note = Some(err.to_string());
                polars = false;
            }
        }
    }
    let (mut df, mut duck, mut pol) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..runs.max(1) {
        settle().await;
        let start = Instant::now();
        w.batches(df_sql, limit).await?;
        df.push(start.elapsed().as_secs_f64() * 1000.0);
        if let Some(e) = engines.as_deref_mut() {
            settle().await;
            duck.push(e.run("duckdb", other_sql)?.0);
            if polars {
                settle().await;
                pol.push(e.run("polars", other_sql)?.0);
            }
        }
    }
    t.datafusion_ms = median(df);
    t.duckdb_ms = (!duck.is_empty()).then(|| median(duck));
    t.polars_ms = (!pol.is_empty()).then(|| median(pol));
    Ok(t)
}

/// Runs both sets on the warehouse at `root`, in a session with `config`, with DuckDB and
/// Polars alongside when `engines` is given.
pub async fn run(
    root: &Path,
    runs: usize,
    config: datafusion::execution::context::SessionConfig,
    mut engines: Option<Engines>,
) -> Result<Report> {
    let w = Warehouse::open_with(root, config).await?;
    let mut same_sql = Vec::new();
    for (name, sql) in QUERIES {
        same_sql.push(time_one(&w, engines.as_mut(), name, sql, sql, true, runs).await?);
    }
    let mut dashboards = Vec::new();
    for d in DASHBOARDS {
        dashboards.push(time_one(&w, engines.as_mut(), d.name, d.rollup, d.raw, false, runs).await?);
    }
    Ok(Report { same_sql, dashboards })
}

/// Writes the queries and the report beside the data (`queries/*.sql`, `bench.json`).
pub fn save(root: &Path, report: &Report) -> Result<()> {
    let io = |e: std::io::Error| crate::WarehouseError::Io(e.to_string());
    let dir = root.join("queries");
    std::fs::create_dir_all(&dir).map_err(io)?;
    for (name, sql) in QUERIES {
        std::fs::write(dir.join(format!("{name}.sql")), format!("{sql}\n")).map_err(io)?;
    }
    for d in DASHBOARDS {
        std::fs::write(dir.join(format!("{}.rollup.sql", d.name)), format!("{}\n", d.rollup)).map_err(io)?;
        std::fs::write(dir.join(format!("{}.raw.sql", d.name)), format!("{}\n", d.raw)).map_err(io)?;
    }
    let json = serde_json::to_string_pretty(report).map_err(|e| crate::WarehouseError::Io(e.to_string()))?;
    std::fs::write(root.join("bench.json"), json).map_err(io)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_compare_floats_to_six_places_and_the_rest_exactly() {
        let df = vec![vec![
            "0.8133333333333334".to_string(),
            "12.50".into(),
            "2025-02-01".into(),
            "".into(),
            "42".into(),
        ]];
        let duck = vec![vec![
            "0.813333333333".to_string(),
            "12.5".into(),
            "2025-02-01".into(),
            "".into(),
            "42".into(),
        ]];
        assert_eq!(normalize(&df), normalize(&duck));
        let other = vec![vec![
            "0.8133333333333334".to_string(),
            "12.51".into(),
            "2025-02-01".into(),
            "".into(),
            "42".into(),
        ]];
        assert_ne!(normalize(&df), normalize(&other), "a cent apart is a different answer");
    }
}
