//! Helpers the root package's integration tests share: a fresh folder, a demo venue.
#![allow(dead_code)]

use parterre_core::catalog::Season;
use parterre_core::Store;
use std::path::{Path, PathBuf};

/// A fresh, empty folder under the system's temporary folder.
pub fn scratch(name: &str) -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let d = std::env::temp_dir().join(format!("parterre-{name}-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// The demo venue loaded in `data` as on 1 October 2026 (nothing sold), and its season.
pub async fn demo_venue(data: &Path) -> (Store, Season) {
    let store = Store::open_data_dir(data).await.unwrap();
    let today = chrono::NaiveDate::from_ymd_opt(2026, 10, 1).unwrap();
    let demo = parterre_core::demo::load(&store, today).await.unwrap();
    let season = parterre_core::catalog::seasons::find_season(&store, &demo.season)
        .await
        .unwrap()
        .unwrap();
    (store, season)
}
