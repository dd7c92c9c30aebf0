//! The deterministic demo: a season shaped like the venue of R-1, placed in the season that
//! contains "today", so the demo is always sellable. Running it twice changes nothing.

pub mod halls;
pub mod history;
pub mod sales;
pub mod season;

use crate::auth::{permissions as p, roles, users};
use crate::catalog::seasons;
use crate::error::Result;
use crate::store::{put_setting, Actor, Store};
use chrono::NaiveDate;

/// What the demo loader did.
#[derive(Debug, Clone, Default)]
pub struct DemoReport {
    /// The season loaded (`2026-2027`).
    pub season: String,
    /// False when that season's demo was already there.
    pub created: bool,
    /// Shows of the season.
    pub shows: usize,
    /// Performances of the season.
    pub performances: usize,
    /// The admin password, only when the admin user was created now.
    pub admin_password: Option<String>,
}

/// The demo roles: code, French label, permissions.
pub fn demo_roles() -> Vec<(&'static str, &'static str, Vec<&'static str>)> {
    vec![
        (
            "box_office",
            "Billetterie",
            vec![p::CATALOG_READ, p::SALES_SELL, p::CRM_READ, p::CRM_WRITE, p::ACCESS_SCAN],
        ),
        (
            "public_relations",
            "Relations avec les publics",
            vec![p::CATALOG_READ, p::SALES_SELL, p::CRM_READ, p::CRM_WRITE, p::WAREHOUSE_QUERY],
        ),
        (
            "communication",
            "Communication",
            vec![p::CATALOG_READ, p::CRM_READ, p::COMMUNICATION_SEND, p::WAREHOUSE_QUERY],
        ),
        (
            "accounting",
            "Comptabilité",
            vec![p::CATALOG_READ, p::ACCOUNTING_READ, p::ACCOUNTING_CLOSE, p::WAREHOUSE_QUERY],
        ),
        (
            "direction",
            "Direction",
            vec![p::CATALOG_READ, p::CRM_READ, p::ACCOUNTING_READ, p::WAREHOUSE_QUERY],
        ),
        ("admin", "Administration", p::PERMISSIONS.iter().map(|(n, _)| *n).collect()),
    ]
}

/// Creates the demo roles that do not exist yet.
pub async fn ensure_roles(store: &Store, actor: &Actor) -> Result<()> {
    for (code, label, perms) in demo_roles() {
        if roles::find_role(store, code).await?.is_none() {
            let perms: Vec<String> = perms.into_iter().map(String::from).collect();
            roles::create_role(store, actor, code, label, &perms).await?;
        }
    }
    Ok(())
}

/// Loads the demo for the season containing `today`.
pub async fn load(store: &Store, today: NaiveDate) -> Result<DemoReport> {
    let actor = Actor::system();
    ensure_roles(store, &actor).await?;
    let admin_password = if users::find_by_login(store, "admin").await?.is_none() {
        let password = crate::auth::random_secret()[..16].to_string();
        users::create_user(store, &actor, "admin", "Administrateur", &password, &["admin".to_string()]).await?;
        Some(password)
    } else {
        None
    };
    let halls = halls::ensure_halls(store, &actor).await?;
    let season = seasons::ensure_season_for(store, &actor, today).await?;
    season::ensure_prices(store, &actor, season.id).await?;
    let marker = format!("demo.season.{}", season.name);
    let created = store.setting(&marker).await?.is_none();
    if created {
        season::create_programme(store, &actor, &season, &halls).await?;
        put_setting(store, &actor, &marker, "loaded").await?;
    }
    let shows = crate::catalog::shows::list_shows(store, Some(season.id), true).await?.len();
    let performances = crate::catalog::performances::list_performances(
        store,
        &crate::catalog::PerformanceQuery {
            season_id: Some(season.id),
            show_id: None,
            ..Default::default()
        },
    )
    .await?
    .len();
    Ok(DemoReport {
        season: season.name,
        created,
        shows,
        performances,
        admin_password,
    })
}
