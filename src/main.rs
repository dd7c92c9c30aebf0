//! `parterre`: the command line. Argument parsing and wiring only; the work is in the crates.

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use parterre_core::auth::{audit, tokens, users};
use parterre_core::catalog::{plans, seasons};
use parterre_core::{Actor, Store};
use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;

mod bench;
mod bench_history;
mod data;

/// Parterre: box office, audience CRM and analytics warehouse for performing-arts venues.
#[derive(Debug, Parser)]
#[command(name = "parterre", version, about)]
struct Cli {
    /// Data folder: the SQLite file, the Avro log and the Parquet warehouse.
    #[arg(long, global = true, env = "PARTERRE_DATA", default_value = "./parterre-data")]
    data: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Load the demo season (the season containing today); running it again changes nothing.
    Demo {
        /// Pretend today is this date (YYYY-MM-DD), for reproducible runs.
        #[arg(long)]
        today: Option<String>,
        /// Also simulate this many past seasons of sales, and the current season's up to today.
        #[arg(long)]
        history: Option<u32>,
        /// With --history: tickets aimed at per season.
        #[arg(long, default_value_t = 60_000)]
        tickets_per_season: usize,
        /// With --history: seed of the simulation.
        #[arg(long, default_value_t = 2026)]
        seed: u64,
        /// With --history: sales made at once (1 makes runs identical to the last seat).
        #[arg(long, default_value_t = 64)]
        concurrency: usize,
    },
    /// Serve the web application and the API.
    Serve {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8080")]
        bind: String,
        /// Load the demo first (if not already loaded).
        #[arg(long)]
        demo: bool,
        /// With --demo: pretend today is this date (YYYY-MM-DD).
        #[arg(long)]
        today: Option<String>,
    },
    /// Manage users.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Manage API tokens.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Halls and seat plans.
    Hall {
        #[command(subcommand)]
        command: HallCommand,
    },
    /// Seasons.
    Season {
        #[command(subcommand)]
        command: SeasonCommand,
    },
    /// The audit trail.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Apply database migrations and exit.
    Migrate,
    /// The event pipeline: outbox → Avro log → Parquet warehouse.
    Pipeline {
        #[command(subcommand)]
        command: data::PipelineCommand,
    },
    /// Run a read-only SQL query on the warehouse.
    Sql {
        /// The query (SELECT, WITH, EXPLAIN…).
        query: String,
        /// Output format.
        #[arg(long, value_enum, default_value = "table")]
        format: data::SqlFormat,
        /// Rows shown at most (JSON format).
        #[arg(long, default_value_t = 10_000)]
        max_rows: usize,
        /// Seconds allowed.
        #[arg(long, default_value_t = 60)]
        timeout: u64,
        /// Memory the query may use, in MiB (past it, operators spill to disk or the query is refused).
        #[arg(long, env = "PARTERRE_WAREHOUSE_MEMORY_MB", default_value_t = 1024)]
        memory_mb: usize,
    },
    /// Benchmarks on a local server with fresh databases.
    Bench {
        #[command(subcommand)]
        command: BenchCommand,
    },
}

#[derive(Debug, Subcommand)]
enum BenchCommand {
    /// Simulated buyers racing over HTTP: a contended 843-seat performance, then an opening day.
    Sales {
        /// Buyers for the contended performance.
        #[arg(long, default_value_t = 10_000)]
        buyers: usize,
        /// Requests in flight at once.
        #[arg(long, default_value_t = 64)]
        concurrency: usize,
        /// Places sold on the opening day (82 % in formules).
        #[arg(long, default_value_t = 10_000)]
        opening_places: usize,
        /// Skip SQLite.
        #[arg(long)]
        no_sqlite: bool,
        /// Also run on PostgreSQL (server URL; a fresh database is created and dropped).
        #[arg(long, num_args = 0..=1, default_missing_value = "postgres://postgres@127.0.0.1:5432/test")]
        pg: Option<String>,
    },
    /// The warehouse query set on a synthetic warehouse (scale 1 = one venue × 3 seasons).
    Warehouse {
        /// Venues in the synthetic network.
        #[arg(long, default_value_t = 1)]
        scale: u32,
        /// Folder for the synthetic warehouse (its `warehouse/` is replaced).
        #[arg(long, default_value = "./parterre-bench")]
        dir: PathBuf,
        /// Timed runs per query (after one unmeasured run).
        #[arg(long, default_value_t = 5)]
        runs: usize,
        /// Reuse the warehouse already in the folder.
        #[arg(long)]
        reuse: bool,
        /// A DataFusion setting to try, `KEY=VALUE` (e.g.
        /// `datafusion.execution.parquet.pushdown_filters=false`); repeatable.
        #[arg(long = "set", value_name = "KEY=VALUE")]
        settings: Vec<String>,
        /// The script that runs DuckDB and Polars beside DataFusion.
        #[arg(long, default_value = "benches/engines.py")]
        engines: PathBuf,
        /// DataFusion alone (no DuckDB, no Polars).
        #[arg(long)]
        no_engines: bool,
        /// Also time a pipeline step and `serve`'s start with these many seasons of demo
        /// history (e.g. `1,3,10`).
        #[arg(long, value_delimiter = ',')]
        history: Vec<u32>,
        /// Tickets per season of that history.
        #[arg(long, default_value_t = 60_000)]
        tickets_per_season: usize,
    },
}

#[derive(Debug, Subcommand)]
enum UserCommand {
    /// Create a user; the password is read from standard input.
    Add {
        /// Login code.
        login: String,
        /// Role code (repeat for several roles).
        #[arg(long = "role", required = true)]
        roles: Vec<String>,
        /// Display name (defaults to the login).
        #[arg(long)]
        name: Option<String>,
    },
    /// List users and their roles.
    List,
}

#[derive(Debug, Subcommand)]
enum AuditCommand {
    /// Delete the audit rows older than the retention, and say how many went.
    Prune {
        /// Days kept (default: PARTERRE_AUDIT_RETENTION_DAYS, else audit_retention_days in
        /// DATA/parterre.toml, else 400).
        #[arg(long)]
        days: Option<u32>,
    },
}

#[derive(Debug, Subcommand)]
enum TokenCommand {
    /// Create an API token for a user; the token is printed on the last line.
    Create {
        /// Login of the user the token acts for.
        login: String,
        /// What the token is for.
        #[arg(long, default_value = "script")]
        label: String,
        /// Days of validity (1 to 730).
        #[arg(long, default_value_t = tokens::DEFAULT_DAYS)]
        days: i64,
    },
    /// List API tokens (never their secret), of one user or of all.
    List {
        /// Only the tokens of this login.
        login: Option<String>,
    },
    /// Revoke an API token, by its number (see `token list`) or by the token itself.
    Revoke {
        /// The number, or the `prt_…` token.
        token: String,
    },
}

#[derive(Debug, Subcommand)]
enum HallCommand {
    /// List halls and layouts with their capacities.
    List,
    /// Import the seat plan of a numbered layout from a `;` CSV: rang;numero;cote;zone;pmr;x;y
    ImportPlan {
        /// Layout id (see `parterre hall list`).
        #[arg(long)]
        layout: i64,
        /// CSV file.
        file: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
enum SeasonCommand {
    /// List seasons.
    List,
    /// Copy a season's price grid and products (and shows as templates) into the next season.
    CarryOver {
        /// Season name, e.g. 2026-2027.
        #[arg(long)]
        from: String,
        /// Also copy the shows, archived, as templates.
        #[arg(long)]
        with_shows: bool,
    },
}

fn parse_today(s: Option<&str>) -> Result<chrono::NaiveDate> {
    match s {
        None => Ok(parterre_core::time::today_paris()),
        Some(s) => parterre_core::time::date_from_db(s).with_context(|| format!("date invalide « {s} » : format attendu AAAA-MM-JJ")),
    }
}

async fn load_demo(store: &Store, today: Option<&str>) -> Result<()> {
    let report = parterre_core::demo::load(store, parse_today(today)?).await?;
    if report.created {
        println!(
            "Démonstration chargée : saison {}, {} spectacles, {} séances.",
            report.season, report.shows, report.performances
        );
    } else {
        println!(
            "Démonstration déjà chargée pour la saison {} ({} spectacles, {} séances) : rien à faire.",
            report.season, report.shows, report.performances
        );
    }
    if let Some(p) = report.admin_password {
        println!("Utilisateur « admin » créé. Mot de passe (affiché une seule fois) : {p}");
    }
    Ok(())
}

/// `2026-11-23 14:05` (UTC) from a stored instant.
fn short_time(at: &str) -> String {
    parterre_core::time::from_db(at)
        .map(|t| t.format("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_else(|| at.to_string())
}

fn read_password() -> Result<String> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        eprint!("Mot de passe : ");
        std::io::stderr().flush().ok();
    }
    let mut line = String::new();
    stdin
        .lock()
        .read_line(&mut line)
        .context("lecture du mot de passe sur l'entrée standard")?;
    let password = line.trim_end_matches(['\n', '\r']).to_string();
    if password.is_empty() {
        bail!("mot de passe vide : fournissez-le sur l'entrée standard");
    }
    Ok(password)
}

async fn shutdown_signal() {
    let _ = tokio::signal::ctrl_c().await;
    println!("Arrêt demandé, fin des requêtes en cours…");
}

async fn run(cli: Cli) -> Result<()> {
    if let Command::Bench {
        command:
            BenchCommand::Sales {
                buyers,
                concurrency,
                opening_places,
                no_sqlite,
                pg,
            },
    } = &cli.command
    {
        let reports = bench::sales(bench::BenchOptions {
            buyers: *buyers,
            concurrency: *concurrency,
            opening_places: *opening_places,
            sqlite: !no_sqlite,
            postgres: pg.clone(),
        })
        .await?;
        if reports.iter().any(|r| r.double_sales > 0) {
            bail!("des places ont été vendues deux fois");
        }
        return Ok(());
    }
    if let Command::Bench {
        command:
            BenchCommand::Warehouse {
                scale,
                dir,
                runs,
                reuse,
                settings,
                engines,
                no_engines,
                history,
                tickets_per_season,
            },
    } = &cli.command
    {
        data::bench_warehouse(dir, *scale, *runs, *reuse, settings, (!no_engines).then_some(engines.as_path())).await?;
        if !history.is_empty() {
            bench_history::run(dir, history, *tickets_per_season, *runs).await?;
        }
        return Ok(());
    }
    if let Command::Sql {
        query,
        format,
        max_rows,
        timeout,
        memory_mb,
    } = &cli.command
    {
        return data::sql(&cli.data, query, *format, *max_rows, *timeout, *memory_mb).await;
    }
    let store = Store::open_default(&cli.data).await.context("ouverture de la base")?;
    match cli.command {
        Command::Migrate => println!("Base à jour."),
        Command::Audit {
            command: AuditCommand::Prune { days },
        } => {
            let days = match days {
                Some(d) => d,
                None => audit::retention_days(Some(&cli.data))?,
            };
            let gone = audit::prune(&store, days, chrono::Utc::now()).await?;
            println!("{gone} lignes du journal d'audit supprimées (plus anciennes que {days} jours).");
        }
        Command::Sql { .. } => {}
        Command::Pipeline { command } => data::pipeline(&store, &cli.data, command).await?,
        Command::Bench { .. } => {}
        Command::Demo {
            today,
            history,
            tickets_per_season,
            seed,
            concurrency,
        } => {
            load_demo(&store, today.as_deref()).await?;
            if let Some(seasons) = history {
                let opts = parterre_core::demo::history::HistoryOptions {
                    seasons,
                    today: parse_today(today.as_deref())?,
                    tickets_per_season,
                    seed,
                    concurrency,
                };
                data::history(&store, opts).await?;
            }
        }
        Command::Serve { bind, demo, today } => {
            let retention = audit::retention_days(Some(&cli.data))?;
            if demo {
                load_demo(&store, today.as_deref()).await?;
            }
            let listener = tokio::net::TcpListener::bind(&bind)
                .await
                .with_context(|| format!("impossible d'écouter sur {bind}"))?;
            println!("Parterre écoute sur http://{}", listener.local_addr()?);
            let ttl = parterre_core::sales::cart_ttl_seconds(Some(&cli.data));
            let state = parterre_ui::state_with_data(store.clone(), ttl, Some(cli.data.clone()));
            // Loaded now, so a key left in the database is moved out before the first request.
            state.ticket_signer().await.context("clé de signature des billets")?;
            let pruner = tokio::spawn(audit::prune_daily(store.clone(), retention));
            let served = parterre_ui::serve_with(state, listener, shutdown_signal()).await;
            pruner.abort();
            served?;
        }
        Command::User {
            command: UserCommand::Add { login, roles, name },
        } => {
            let password = read_password()?;
            let u = users::create_user(
                &store,
                &Actor::system(),
                &login,
                name.as_deref().unwrap_or(&login),
                &password,
                &roles,
            )
            .await?;
            println!("Utilisateur « {} » créé (profils : {}).", u.login, u.roles.join(", "));
        }
        Command::User {
            command: UserCommand::List,
        } => {
            for u in users::list_users(&store).await? {
                println!(
                    "{}\t{}\t{}\t{}",
                    u.login,
                    u.display_name,
                    if u.active { "actif" } else { "désactivé" },
                    u.roles.join(",")
                );
            }
        }
        Command::Token {
            command: TokenCommand::Create { login, label, days },
        } => {
            let token = tokens::create_token_for(&store, &Actor::system(), &login, &label, days).await?;
            println!("Jeton créé pour « {login} », valable {days} jours. Conservez-le, il ne sera plus affiché :");
            println!("{token}");
        }
        Command::Token {
            command: TokenCommand::List { login },
        } => {
            let now = parterre_core::time::now_db();
            println!("numéro\tidentifiant\tlibellé\tcréé\texpire\tdernier usage\tétat");
            for t in tokens::list_tokens(&store, login.as_deref()).await? {
                let state = match &t.revoked_at {
                    Some(at) => format!("révoqué {}", short_time(at)),
                    None if !t.is_active(&now) => "expiré".to_string(),
                    None => "actif".to_string(),
                };
                println!(
                    "{}\t{}\t{}\t{}\t{}\t{}\t{}",
                    t.id,
                    t.login,
                    t.label,
                    short_time(&t.created_at),
                    short_time(&t.expires_at),
                    t.last_used_at.as_deref().map(short_time).unwrap_or_else(|| "jamais".into()),
                    state
                );
            }
        }
        Command::Token {
            command: TokenCommand::Revoke { token },
        } => {
            let which = tokens::TokenRef::parse(&token)?;
            let t = tokens::revoke_token(&store, &Actor::system(), which, None).await?;
            println!("Jeton n° {} de « {} » ({}) révoqué.", t.id, t.login, t.label);
        }
        Command::Hall {
            command: HallCommand::List,
        } => {
            println!("configuration\tlieu\tsalle\tnom\tplacement\tjauge\tpmr");
            for h in parterre_core::catalog::venues::list_hall_layouts(&store).await? {
                println!(
                    "{}\t{}\t{}\t{}\t{}\t{}\t{}",
                    h.layout_id,
                    h.venue_name,
                    h.hall_name,
                    h.layout_name,
                    if h.numbered { "numéroté" } else { "libre" },
                    h.capacity,
                    h.pmr_places
                );
            }
        }
        Command::Hall {
            command: HallCommand::ImportPlan { layout, file },
        } => {
            let bytes = std::fs::read(&file).with_context(|| format!("lecture de {}", file.display()))?;
            let text = String::from_utf8(bytes).with_context(|| format!("{} n'est pas en UTF-8", file.display()))?;
            let seats = plans::parse_plan_csv(&text)?;
            let n = plans::import_plan(&store, &Actor::system(), layout, &seats).await?;
            println!("{n} sièges importés.");
        }
        Command::Season {
            command: SeasonCommand::List,
        } => {
            let today = parterre_core::time::today_paris();
            for s in seasons::list_seasons(&store).await? {
                println!(
                    "{}\t{}\t{}{}",
                    s.name,
                    s.starts_on,
                    s.ends_on,
                    if s.contains(today) { "\ten cours" } else { "" }
                );
            }
        }
        Command::Season {
            command: SeasonCommand::CarryOver { from, with_shows },
        } => {
            let season = seasons::find_season(&store, &from)
                .await?
                .with_context(|| format!("saison inconnue : {from}"))?;
            let r = seasons::carry_over(&store, &Actor::system(), season.id, with_shows).await?;
            println!(
                "Report effectué : {} prix, {} produits, {} spectacles modèles.",
                r.grid_cells, r.products, r.show_templates
            );
        }
    }
    store.close().await;
    Ok(())
}

fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()))
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("erreur : {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("erreur : {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
