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

fn options(retention_hours: u64, batch: i64) -> Options {
    Options {
        outbox_retention: Duration::from_secs(retention_hours * 3600),
        batch: batch.max(1),
        ..Options::default()
    }
}

/// Opens the pipeline off the async threads (it replays the log).
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
        } => {
            let mut p = open_pipeline(data, options(outbox_retention_hours, batch)).await?;
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
                println!("Entrepôt : jusqu'à {}", s.projected_seq);
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
pub async fn sql(data: &Path, query: &str, format: SqlFormat, max_rows: usize, timeout: u64) -> Result<()> {
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
    let w = parterre_warehouse::Warehouse::open(&warehouse_dir(data)).await?;
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
