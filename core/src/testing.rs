//! Fresh databases for tests: a SQLite file always, a new PostgreSQL database when
//! `PARTERRE_TEST_PG` is set (to `1` for the local default, or to a server URL).
//!
//! Used by the store story and by the HTTP tests of other crates; never by the product.

use crate::db::DbError;
use crate::error::Result;
use crate::store::Store;
use sqlx::{Connection, Executor};

/// The PostgreSQL server used when `PARTERRE_TEST_PG` is `1`.
pub const DEFAULT_PG: &str = "postgres://postgres@127.0.0.1:5432/test";

/// A database created for one test, dropped by [`TestDb::cleanup`].
#[derive(Debug)]
pub struct TestDb {
    /// `sqlite` or `postgres`.
    pub label: &'static str,
    /// Its URL.
    pub url: String,
    /// The data folder (for SQLite, holds the file; for both, usable as `--data`).
    pub data_dir: std::path::PathBuf,
    pg: Option<(String, String)>,
}

fn pg_base() -> Option<String> {
    let v = std::env::var("PARTERRE_TEST_PG").ok()?;
    let v = v.trim();
    if v.is_empty() || v == "0" {
        None
    } else if v.starts_with("postgres") {
        Some(v.to_string())
    } else {
        Some(DEFAULT_PG.to_string())
    }
}

fn scratch_dir() -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("parterre-test-{}", uuid::Uuid::new_v4().simple()));
    let _ = std::fs::create_dir_all(&d);
    d
}

impl TestDb {
    /// A fresh SQLite database.
    pub fn sqlite() -> Self {
        let data_dir = scratch_dir();
        let url = format!("sqlite://{}?mode=rwc", data_dir.join("parterre.db").display());
        TestDb {
            label: "sqlite",
            url,
            data_dir,
            pg: None,
        }
    }

    /// A fresh PostgreSQL database, when `PARTERRE_TEST_PG` asks for one.
    pub async fn postgres() -> Result<Option<Self>> {
        let Some(base) = pg_base() else { return Ok(None) };
        let name = format!("parterre_test_{}", uuid::Uuid::new_v4().simple());
        let mut admin = sqlx::PgConnection::connect(&base).await.map_err(DbError::from)?;
        admin
            .execute(format!("CREATE DATABASE {name}").as_str())
            .await
            .map_err(DbError::from)?;
        admin.close().await.map_err(DbError::from)?;
        let url = match base.rfind('/') {
            Some(i) if i > "postgres://".len() => format!("{}/{}", &base[..i], name),
            _ => format!("{base}/{name}"),
        };
        Ok(Some(TestDb {
            label: "postgres",
            url,
            data_dir: scratch_dir(),
            pg: Some((base, name)),
        }))
    }

    /// Every backend to test: SQLite, plus PostgreSQL when enabled.
    pub async fn all() -> Result<Vec<Self>> {
        let mut v = vec![Self::sqlite()];
        if let Some(pg) = Self::postgres().await? {
            v.push(pg);
        }
        Ok(v)
    }

    /// Opens the store on this database.
    pub async fn open(&self) -> Result<Store> {
        Ok(Store::open(&self.url).await?.with_own_hashing())
    }

    /// Drops the database and its folder.
    pub async fn cleanup(self) {
        if let Some((base, name)) = &self.pg {
            if let Ok(mut admin) = sqlx::PgConnection::connect(base).await {
                let _ = admin.execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str()).await;
                let _ = admin.close().await;
            }
        }
        let _ = std::fs::remove_dir_all(&self.data_dir);
    }
}

/// The sales fixture of the property tests: a fresh show (named after `case`) with one
/// numbered and one free-placement performance 20 days ahead, both at 20 € full price.
mod fixture {
    use crate::catalog::{performances, plans, prices, shows, venues, Performance, PerformanceInput, Quota, ShowInput};
    use crate::{Actor, Money, Store};

    /// A small sales set-up of its own for one test case.
    #[derive(Debug, Clone)]
    pub struct SalesFixture {
        /// 12 numbered seats, 2 set aside for invitations.
        pub numbered: Performance,
        /// 8 free places, 2 for groups.
        pub free: Performance,
        /// The numbered seats.
        pub seat_ids: Vec<i64>,
        /// The full-price category.
        pub full: i64,
    }

    /// A 12-seat numbered performance (2 seats set aside for invitations) and an 8-place free one
    /// (2 for groups), on a fresh show.
    pub async fn sales_fixture(store: &Store, case: usize) -> SalesFixture {
        let a = Actor::system();
        let day = chrono::Utc::now().date_naive();
        let season = crate::catalog::seasons::ensure_season_for(store, &a, day).await.unwrap();
        let full = prices::ensure_price_category(store, &a, "full", "Plein tarif", false, 0)
            .await
            .unwrap();
        for t in [crate::catalog::Tier::A, crate::catalog::Tier::B] {
            prices::set_grid_price(store, &a, season.id, t, full, Money::euros(20))
                .await
                .unwrap();
        }
        let v = venues::ensure_venue(store, &a, "Théâtre", true, "Ville").await.unwrap();
        let h = venues::ensure_hall(store, &a, v, &format!("Studio {case}")).await.unwrap();
        let l = venues::ensure_layout(store, &a, h, "Numérotée", true, 0, 0, false).await.unwrap();
        let mut csv = String::new();
        for (r, y) in [("A", 0), ("B", 10)] {
            for k in 0..6 {
                csv.push_str(&format!(
                    "{r};{};{};p;0;{};{y}\n",
                    k + 1,
                    if k < 3 { "impair" } else { "pair" },
                    k * 10
                ));
            }
        }
        plans::import_plan(store, &a, l, &plans::parse_plan_csv(&csv).unwrap())
            .await
            .unwrap();
        let lf = venues::ensure_layout(store, &a, h, "Libre", false, 8, 0, false).await.unwrap();
        let show = shows::create_show(
            store,
            &a,
            &ShowInput {
                season_id: Some(season.id),
                name: format!("Essai {case}"),
                duration_minutes: Some(60),
                discipline: "theatre".into(),
                tier: "A".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        let starts = (chrono::Utc::now() + chrono::Duration::days(20)).to_rfc3339();
        let numbered = performances::create_performance(
            store,
            &a,
            &PerformanceInput {
                show_id: Some(show.id),
                layout_id: Some(l),
                starts_at: starts.clone(),
                quotas: Some(vec![Quota {
                    family: "invitation".into(),
                    places: 2,
                }]),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        let free = performances::create_performance(
            store,
            &a,
            &PerformanceInput {
                show_id: Some(show.id),
                layout_id: Some(lf),
                starts_at: starts,
                quotas: Some(vec![Quota {
                    family: "group".into(),
                    places: 2,
                }]),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        let seat_ids = plans::seats(store, l).await.unwrap().into_iter().map(|s| s.id).collect();
        SalesFixture {
            numbered,
            free,
            seat_ids,
            full,
        }
    }
}
pub use fixture::{sales_fixture, SalesFixture};
