//! `parterre pipeline …` and `parterre sql`: wiring of the event pipeline and the warehouse.

use anyhow::{Context, Result};
use clap::{Subcommand, ValueEnum};
use parterre_core::Store;
use parterre_pipelines::pipeline::{self, warehouse_dir};
use parterre_pipelines::{Options, Pipeline};
use std::path::Path;
use std::time::Duration;

#[derive(Debug, Subcommand)]
pub enum PipelineCommand {
    /// Drain the outbox into the event log and project it into the warehouse.
    Run {
        /// Keep running, checking for new events every half second (Ctrl-C stops).
        #[arg(long)]
        follow: bool,
        /// Hours a logged event stays in the outbox before it is deleted.
        #[arg(long, default_value_t = 168)]
        outbox_retention_hours: u64,
        /// Outbox rows per block (tests use small blocks to stop it at many points).
        #[arg(long, default_value_t = 5_000, hide = true)]
        batch: i64,
        /// Files an events partition may have before they are merged (tests merge often).
        #[arg(long, default_value_t = 64, hide = true)]
        compact_after: usize,
    },
    /// How far behind the warehouse is, and the core's counts beside the warehouse's.
    Status {
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
    /// Rebuild the warehouse from the Avro event log alone.
    Rebuild,
}

/// Output formats of `parterre sql`.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum SqlFormat {
    /// A boxed table.
    Table,
    /// `;`-separated values with a header line.
    Csv,
    /// `{"columns": […], "rows": […]}`.
    Json,
}

fn options(retention_hours: u64, batch: i64, compact_after: usize) -> Options {
    Options {
        outbox_retention: Duration::from_secs(retention_hours.saturating_mul(3600)),
        batch: batch.max(1),
        compact_after: compact_after.max(2),
        ..Options::default()
    }
}

/// Opens the pipeline off the async threads (it settles the last step's files and catches up).
pub async fn open_pipeline(data: &Path, options: Options) -> Result<Pipeline> {
    let data = data.to_path_buf();
    Ok(tokio::task::spawn_blocking(move || Pipeline::open(&data, options)).await??)
}

pub async fn pipeline(store: &Store, data: &Path, command: PipelineCommand) -> Result<()> {
    match command {
        PipelineCommand::Run {
            follow,
            outbox_retention_hours,
            batch,
            compact_after,
        } => {
            let mut p = open_pipeline(data, options(outbox_retention_hours, batch, compact_after)).await?;
            if follow {
                println!("Pipeline en continu (Ctrl-C pour arrêter)…");
                p.follow(store, Duration::from_millis(500), async {
                    let _ = tokio::signal::ctrl_c().await;
                })
                .await;
            } else {
                let moved = p.step(store).await?;
                println!(
                    "{moved} événements journalisés et projetés ; entrepôt à jour jusqu'à l'événement {}.",
                    p.projected()
                );
            }
        }
        PipelineCommand::Status { json } => {
            let s = pipeline::status(store, data).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&s)?);
            } else {
                println!("Dernier événement de la base : {}", s.outbox_last_seq);
                println!(
                    "Journal Avro : jusqu'à {} ({} événements, {} segments)",
                    s.logged_seq, s.logged_events, s.segments
                );
                println!("Entrepôt : jusqu'à {} (génération {})", s.projected_seq, s.generation);
                println!("Retard : {} événements, {:.1} s", s.lag_events, s.lag_seconds);
                println!("             base   entrepôt");
                for (label, a, b) in [
                    ("billets", s.core.tickets, s.warehouse.tickets),
                    ("commandes", s.core.orders, s.warehouse.orders),
                    ("paiements", s.core.payments, s.warehouse.payments),
                    ("contacts", s.core.contacts, s.warehouse.contacts),
                ] {
                    println!("{label:<10} {a:>8} {b:>10}{}", if a == b { "" } else { "  ≠" });
                }
            }
        }
        PipelineCommand::Rebuild => {
            let data = data.to_path_buf();
            let bar = indicatif::ProgressBar::new(0);
            bar.set_style(
                indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} événements ({eta} restantes)")
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
            );
            let b = bar.clone();
            let n = tokio::task::spawn_blocking(move || {
                pipeline::rebuild(&data, |done, total| {
                    b.set_length(total);
                    b.set_position(done);
                })
            })
            .await??;
            bar.finish_and_clear();
            println!("Entrepôt reconstruit depuis le journal : {n} événements rejoués.");
        }
    }
    Ok(())
}

/// Runs `parterre sql`: catches the warehouse up first when no pipeline is running, so the
/// answer includes everything committed.
pub async fn sql(data: &Path, query: &str, format: SqlFormat, max_rows: usize, timeout: u64, memory_mb: usize) -> Result<()> {
    if data.join("parterre.db").exists() || std::env::var_os("PARTERRE_DATABASE_URL").is_some() {
        let store = Store::open_default(data).await.context("ouverture de la base")?;
        match open_pipeline(data, Options::default()).await {
            Ok(mut p) => {
                p.step(&store).await?;
            }
            Err(e) if e.to_string().contains("tourne déjà") => {}
            Err(e) => return Err(e),
        }
        store.close().await;
    }
    let limits = parterre_warehouse::Limits {
        memory_mb: memory_mb.max(1),
        ..parterre_warehouse::Limits::from_env()
    };
    let w = parterre_warehouse::Warehouse::open_in(
        &warehouse_dir(data),
        parterre_warehouse::Warehouse::config(),
        &limits.resources()?,
        &parterre_warehouse::catalog::TABLES,
    )
    .await?;
    let opts = parterre_warehouse::QueryOptions {
        max_rows,
        timeout: Duration::from_secs(timeout),
    };
    match format {
        SqlFormat::Json => {
            let r = w.query(query, opts).await?;
            println!("{}", serde_json::to_string_pretty(&r)?);
        }
        SqlFormat::Table | SqlFormat::Csv => {
            let (schema, batches) = w.batches(query, opts.timeout).await?;
            let text = match format {
                SqlFormat::Csv => parterre_warehouse::query::to_csv(&schema, &batches)?,
                _ => parterre_warehouse::query::to_table(&batches)?,
            };
            print!("{text}");
            if !text.ends_with('\n') {
                println!();
            }
        }
    }
    Ok(())
}

/// `parterre bench warehouse`: generates (unless `reuse`) a synthetic warehouse of `scale`
/// venues in `dir` with its rollups, times both query sets alternately with DuckDB and Polars
/// (run by the `engines` script; `None`: DataFusion alone) and saves queries and timings
/// there. `settings` (`KEY=VALUE`) change the session's DataFusion settings for this run.
pub async fn bench_warehouse(dir: &Path, scale: u32, runs: usize, reuse: bool, settings: &[String], engines: Option<&Path>) -> Result<()> {
    use parterre_warehouse::bench;
    let mut config = parterre_warehouse::Warehouse::config();
    for s in settings {
        let (k, v) = s
            .split_once('=')
            .with_context(|| format!("réglage « {s} » : la forme attendue est CLÉ=VALEUR"))?;
        config
            .options_mut()
            .set(k.trim(), v.trim())
            .with_context(|| format!("réglage « {s} » refusé par DataFusion"))?;
    }
    let root = dir.join("warehouse");
    if !reuse || !root.join("fact_ticket").exists() {
        if root.exists() {
            std::fs::remove_dir_all(&root).with_context(|| format!("effacement de {}", root.display()))?;
        }
        let bar = indicatif::ProgressBar::new(0);
        bar.set_style(
            indicatif::ProgressStyle::with_template("génération {bar:40} {pos}/{len} saisons×lieux")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        let b = bar.clone();
        let r2 = root.clone();
        let t = std::time::Instant::now();
        let report = tokio::task::spawn_blocking(move || {
            let report = bench::synth::generate(&r2, scale, |done, total| {
                b.set_length(total as u64);
                b.set_position(done as u64);
            })?;
            // The rollups, by the pipeline's own code, as a second generation.
            parterre_pipelines::maintain::write_rollups(&r2).map_err(|e| parterre_warehouse::WarehouseError::Io(e.to_string()))?;
            Ok::<_, parterre_warehouse::WarehouseError>(report)
        })
        .await??;
        bar.finish_and_clear();
        println!(
            "Entrepôt synthétique, échelle {scale} : {} billets, {} contacts, écrit avec ses agrégats en {:.1} s dans {}",
            report.tickets,
            report.contacts,
            t.elapsed().as_secs_f64(),
            root.display()
        );
    }
    let others = match engines {
        None => None,
        Some(script) => match bench::engines::Engines::start(script, &root) {
            Ok(e) => Some(e),
            Err(e) => {
                println!("DuckDB et Polars indisponibles ({e}) : DataFusion seul.");
                None
            }
        },
    };
    println!("Chaque requête : {runs} exécutions par moteur, en alternance, médiane en ms.");
    let report = bench::run(&root, runs, config, others).await?;
    bench::save(&root, &report)?;
    let ms = |v: Option<f64>| v.map_or("—".to_string(), |v| format!("{v:.1}"));
    let ratio = |a: f64, b: Option<f64>| b.map_or("—".to_string(), |b| format!("{:.2}", a / b));
    println!("\nMême SQL, même fichiers :");
    println!(
        "{:<36} {:>11} {:>9} {:>6} {:>9} {:>6} {:>7}",
        "requête", "DataFusion", "DuckDB", "DF/DD", "Polars", "DF/PL", "lignes"
    );
    for t in &report.same_sql {
        println!(
            "{:<36} {:>11.1} {:>9} {:>6} {:>9} {:>6} {:>7}{}{}",
            t.name,
            t.datafusion_ms,
            ms(t.duckdb_ms),
            ratio(t.datafusion_ms, t.duckdb_ms),
            ms(t.polars_ms),
            ratio(t.datafusion_ms, t.polars_ms),
            t.rows,
            if t.same_answer == Some(false) {
                "  RÉPONSES DIFFÉRENTES"
            } else {
                ""
            },
            t.note.as_deref().map(|n| format!("  ({n})")).unwrap_or_default(),
        );
    }
    println!("\nTableaux de bord : agrégats (DataFusion) contre faits bruts (DuckDB) :");
    println!(
        "{:<36} {:>11} {:>9} {:>8} {:>9}",
        "question", "agrégats", "DuckDB", "gain", "réponse"
    );
    for t in &report.dashboards {
        println!(
            "{:<36} {:>11.1} {:>9} {:>8} {:>9}",
            t.name,
            t.datafusion_ms,
            ms(t.duckdb_ms),
            t.duckdb_ms.map_or("—".to_string(), |d| format!("×{:.1}", d / t.datafusion_ms)),
            match t.same_answer {
                Some(true) => "égale",
                Some(false) => "DIFFÉRENTE",
                None => "—",
            },
        );
    }
    println!("\nRequêtes et résultats enregistrés dans {}", root.display());
    if report
        .same_sql
        .iter()
        .chain(&report.dashboards)
        .any(|t| t.same_answer == Some(false))
    {
        anyhow::bail!("des réponses diffèrent entre DataFusion et DuckDB");
    }
    Ok(())
}

/// `parterre demo --history N`: simulated sales of N past seasons and of the current one.
pub async fn history(store: &Store, opts: parterre_core::demo::history::HistoryOptions) -> Result<()> {
    use parterre_core::demo::history;
    let bar = indicatif::ProgressBar::new(0);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{msg} {bar:40} {pos}/{len} ventes ({eta} restantes)")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let b = bar.clone();
    let progress: history::Progress = std::sync::Arc::new(move |season: &str, done, total| {
        b.set_message(format!("saison {season}"));
        b.set_length(total);
        b.set_position(done);
    });
    let t = std::time::Instant::now();
    let reports = history::simulate(store, &opts, progress).await?;
    bar.finish_and_clear();
    for r in &reports {
        if r.simulated {
            println!(
                "Saison {} : {} commandes, {} billets dont {} en formules, {} options, {} annulations, {} échanges, {} refus, en {:.1} s.",
                r.season, r.orders, r.tickets, r.formule_tickets, r.options, r.cancelled, r.exchanges, r.refused, r.seconds
            );
        } else {
            println!("Saison {} : historique déjà simulé, rien à faire.", r.season);
        }
    }
    println!("Historique simulé en {:.1} s.", t.elapsed().as_secs_f64());
    Ok(())
}
