//! `parterre bench warehouse`: a synthetic warehouse of a given scale and a fixed set of
//! queries, timed through [`Warehouse`] exactly as users' SQL runs. The queries are written
//! beside the data (`queries/*.sql`) with the timings (`datafusion.json`), so
//! `benches/compare.py` runs the same SQL on the same files with DuckDB and Polars.

pub mod synth;

use crate::{Result, Warehouse};
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
];

/// The timing of one query.
#[derive(Debug, Clone, Serialize)]
pub struct Timing {
    /// Query name.
    pub name: String,
    /// Best of the runs, in milliseconds.
    pub best_ms: f64,
    /// Median of the runs, in milliseconds.
    pub median_ms: f64,
    /// Rows returned.
    pub rows: usize,
}

/// Runs every query `runs` times (after one unmeasured run) on the warehouse at `root`, in a
/// session with `config` ([`Warehouse::config`] unless a run tries other settings).
pub async fn run(root: &Path, runs: usize, config: datafusion::execution::context::SessionConfig) -> Result<Vec<Timing>> {
    let w = Warehouse::open_with(root, config).await?;
    let mut out = Vec::new();
    for (name, sql) in QUERIES {
        let (_, warm) = w.batches(sql, Duration::from_secs(600)).await?;
        let rows = warm.iter().map(|b| b.num_rows()).sum();
        let mut times = Vec::new();
        for _ in 0..runs.max(1) {
            let t = Instant::now();
            w.batches(sql, Duration::from_secs(600)).await?;
            times.push(t.elapsed().as_secs_f64() * 1000.0);
        }
        times.sort_by(|a, b| a.total_cmp(b));
        out.push(Timing {
            name: name.to_string(),
            best_ms: times[0],
            median_ms: times[times.len() / 2],
            rows,
        });
    }
    Ok(out)
}

/// Writes the queries and the timings beside the data for `benches/compare.py`.
pub fn save(root: &Path, timings: &[Timing]) -> Result<()> {
    let dir = root.join("queries");
    std::fs::create_dir_all(&dir).map_err(|e| crate::WarehouseError::Io(e.to_string()))?;
    for (name, sql) in QUERIES {
        std::fs::write(dir.join(format!("{name}.sql")), format!("{sql}\n")).map_err(|e| crate::WarehouseError::Io(e.to_string()))?;
    }
    let json = serde_json::to_string_pretty(timings).map_err(|e| crate::WarehouseError::Io(e.to_string()))?;
    std::fs::write(root.join("datafusion.json"), json).map_err(|e| crate::WarehouseError::Io(e.to_string()))
}
