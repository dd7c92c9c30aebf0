//! What reaches the warehouse is free of personal data and secrets: a buyer's name and
//! email and a promo code's text stay in the core database; the raw `events` table and
//! `dim_contact` hold ids (and, for audience geography, postal code and city).

use parterre_core::contacts::{self, PayerInput};
use parterre_core::sales::promo;
use parterre_core::{Actor, Money, Store};
use parterre_pipelines::pipeline::warehouse_dir;
use parterre_pipelines::{Options, Pipeline};
use parterre_warehouse::Warehouse;
use std::time::Duration;

fn scratch(name: &str) -> std::path::PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let d = std::env::temp_dir().join(format!("parterre-pd-{name}-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

async fn rows(w: &Warehouse, sql: &str) -> Vec<String> {
    let (_, batches) = w.batches(sql, Duration::from_secs(60)).await.unwrap();
    parterre_warehouse::query::text_rows(&batches)
        .unwrap()
        .into_iter()
        .map(|r| r.join(" | ").to_lowercase())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_and_dim_contact_hold_no_email_name_or_code() {
    let data = scratch("warehouse");
    let store = Store::open_data_dir(&data).await.unwrap();
    let clerk = Actor::user(1, "admin");
    let mut tx = store.write(&clerk).await.unwrap();
    let buyer = contacts::resolve_payer(
        &mut tx,
        &PayerInput {
            last_name: Some("Quenouille".into()),
            first_name: Some("Gaspard".into()),
            email: Some("gaspard.quenouille@exemple-prive.fr".into()),
            postal_code: Some("69003".into()),
            city: Some("Lyon".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let shared = promo::create(
        &store,
        &clerk,
        &promo::PromoInput {
            code: Some("mot-de-passe-du-gala".into()),
            discount_percent: Some(20),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let batch = promo::create(
        &store,
        &clerk,
        &promo::PromoInput {
            batch_size: Some(2),
            discount_amount: Some(Money::cents(300)),
            ..Default::default()
        },
    )
    .await
    .unwrap();

    let mut p = Pipeline::open(&data, Options::default()).unwrap();
    assert!(p.step(&store).await.unwrap() >= 4);
    drop(p);
    let w = Warehouse::open(&warehouse_dir(&data)).await.unwrap();
    let events = rows(&w, "SELECT kind, actor, actor_id, payload FROM events").await;
    assert!(events.iter().any(|r| r.starts_with("contact_created | user:1 | 1 |")), "{events:?}");
    assert!(events.iter().any(|r| r.starts_with("promo_code_created")), "{events:?}");
    let mut secrets = vec![
        "@".to_string(),
        "quenouille".into(),
        "gaspard".into(),
        "admin".into(),
        shared[0].code.to_lowercase(),
    ];
    secrets.extend(batch.iter().map(|b| b.code.to_lowercase()));
    for s in &secrets {
        assert!(!events.iter().any(|r| r.contains(s.as_str())), "« {s} » in events: {events:?}");
    }
    let contacts = rows(&w, "SELECT * FROM dim_contact").await;
    assert_eq!(contacts.len(), 1);
    assert!(
        contacts[0].starts_with(&format!("{} | 69003 | lyon | 69 |", buyer.id)),
        "{contacts:?}"
    );
    for s in &secrets {
        assert!(!contacts[0].contains(s.as_str()), "« {s} » in dim_contact: {contacts:?}");
    }
    let columns = rows(
        &w,
        "SELECT column_name FROM information_schema.columns WHERE table_name = 'dim_contact'",
    )
    .await;
    for c in ["email", "last_name", "first_name", "phone", "name"] {
        assert!(!columns.iter().any(|x| x == c), "dim_contact has a {c} column");
    }
    store.close().await;
    let _ = std::fs::remove_dir_all(&data);
}
