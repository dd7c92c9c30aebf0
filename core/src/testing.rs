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
