//! The rollups (`agg_sales`, `agg_sales_day`, `agg_capacity`, `agg_contact_season`) equal the same aggregates computed by SQL
//! from the facts, after sales, cancellations and exchanges projected step by step, and after
//! a rebuild from the log (which gives the very same rows).

mod common;

use common::{demo_venue, scratch};
use parterre_core::sales::after_sale::{self, ExchangeInput};
use parterre_core::sales::TicketStatus;
use parterre_core::{Actor, CoreError};
use parterre_pipelines::Pipeline;
use parterre_warehouse::Warehouse;
use std::path::Path;
use std::time::Duration;

/// agg_sales from fact_ticket, by SQL.
const SALES_FROM_FACTS: &str =
    "SELECT performance_id, show_id, CAST(to_local_time(issued_at AT TIME ZONE 'Europe/Paris') AS DATE) AS day, \
     channel, price_family, status, count(*) AS tickets, sum(amount_ttc) AS ttc, sum(amount_ht) AS ht, sum(vat_amount) AS vat, season \
     FROM fact_ticket GROUP BY 1, 2, 3, 4, 5, 6, season";
const SALES_ROLLUP: &str = "SELECT performance_id, show_id, day, channel, price_family, status, tickets, \
     CAST(revenue_ttc AS DECIMAL(38, 2)), CAST(revenue_ht AS DECIMAL(38, 2)), CAST(vat_amount AS DECIMAL(38, 2)), season FROM agg_sales";
const SALES_DAY_FROM_FACTS: &str = "SELECT CAST(to_local_time(issued_at AT TIME ZONE 'Europe/Paris') AS DATE) AS day, \
     channel, price_family, status, count(*) AS tickets, sum(amount_ttc) AS ttc, sum(amount_ht) AS ht, sum(vat_amount) AS vat, season \
     FROM fact_ticket GROUP BY 1, 2, 3, 4, season";
const SALES_DAY_ROLLUP: &str = "SELECT day, channel, price_family, status, tickets, CAST(revenue_ttc AS DECIMAL(38, 2)), \
     CAST(revenue_ht AS DECIMAL(38, 2)), CAST(vat_amount AS DECIMAL(38, 2)), season FROM agg_sales_day";
/// agg_capacity from dim_performance (capacity, quotas) and fact_ticket, by SQL.
const CAPACITY_FROM_FACTS: &str = "SELECT performance_id, max(show_id), family, sum(capacity), sum(quota), sum(sold), sum(options), \
     sum(invitations), 0, season FROM ( \
       SELECT performance_id, show_id, 'general' AS family, capacity, 0 AS quota, 0 AS sold, 0 AS options, 0 AS invitations, season \
       FROM dim_performance \
       UNION ALL \
       SELECT performance_id, show_id, split_part(q, '=', 1), 0, CAST(split_part(q, '=', 2) AS BIGINT), 0, 0, 0, season FROM \
         (SELECT performance_id, show_id, season, unnest(string_to_array(quotas, ';')) AS q FROM dim_performance) WHERE q <> '' \
       UNION ALL \
       SELECT t.performance_id, p.show_id, coalesce(t.quota_family, 'general'), 0, 0, CASE WHEN t.status = 'valid' THEN 1 ELSE 0 END, \
         CASE WHEN t.status = 'option' THEN 1 ELSE 0 END, CASE WHEN t.status = 'invitation' THEN 1 ELSE 0 END, t.season \
       FROM fact_ticket t JOIN dim_performance p ON p.performance_id = t.performance_id AND p.season = t.season \
     ) GROUP BY performance_id, family, season";
const CAPACITY_ROLLUP: &str =
    "SELECT performance_id, show_id, family, capacity, quota, sold, options, invitations, blocked, season FROM agg_capacity";
/// agg_contact_season from fact_ticket and dim_show, by SQL.
const CONTACTS_FROM_FACTS: &str =
    "SELECT t.buyer_id, count(*), sum(t.amount_ttc), count(DISTINCT t.order_id), count(DISTINCT t.formule_id), \
     count(DISTINCT t.performance_id), min(t.issued_at), max(t.issued_at), \
     coalesce(array_to_string(array_sort(array_agg(DISTINCT s.discipline)), ','), ''), t.season \
     FROM fact_ticket t LEFT JOIN dim_show s ON s.show_id = t.show_id AND s.season = t.season \
     WHERE t.status NOT IN ('cancelled', 'exchanged') AND t.buyer_id IS NOT NULL GROUP BY t.buyer_id, t.season";
const CONTACTS_ROLLUP: &str = "SELECT contact_id, tickets, CAST(amount_ttc AS DECIMAL(38, 2)), orders, formules, performances, \
     first_purchase_at, last_purchase_at, disciplines, season FROM agg_contact_season";

async fn rows(w: &Warehouse, sql: &str) -> Vec<Vec<String>> {
    let (_, b) = w.batches(sql, Duration::from_secs(60)).await.unwrap();
    let mut r = parterre_warehouse::query::text_rows(&b).unwrap();
    r.sort();
    r
}

/// Every rollup equals its aggregate of the facts; returns the rollups' rows.
async fn check(data: &Path, when: &str) -> Vec<Vec<Vec<String>>> {
    let w = Warehouse::open(&data.join("warehouse")).await.unwrap();
    let mut out = Vec::new();
    for (rollup, facts) in [
        (SALES_ROLLUP, SALES_FROM_FACTS),
        (SALES_DAY_ROLLUP, SALES_DAY_FROM_FACTS),
        (CAPACITY_ROLLUP, CAPACITY_FROM_FACTS),
        (CONTACTS_ROLLUP, CONTACTS_FROM_FACTS),
    ] {
        let (r, f) = (rows(&w, rollup).await, rows(&w, facts).await);
        assert!(!r.is_empty(), "{when}: {rollup} is empty");
        assert_eq!(r.len(), f.len(), "{when}: row counts differ for {rollup}");
        for (a, b) in r.iter().zip(&f) {
            assert_eq!(a, b, "{when}: {rollup}");
        }
        out.push(r);
    }
    out
}

async fn one(w: &Warehouse, sql: &str) -> i64 {
    w.query(sql, Default::default()).await.unwrap().rows[0][0].as_i64().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rollups_equal_the_facts_after_sales_cancellations_exchanges_and_a_rebuild() {
    let data = scratch("rollups");
    let (store, season) = demo_venue(&data).await;
    let first = parterre_core::demo::sales::sell(&store, season.id, 0, 80, 11).await.unwrap();
    assert!(first.cancelled > 0, "the sample has cancellations");
    let mut p = Pipeline::open(&data, Default::default()).unwrap();
    p.step(&store).await.unwrap();
    check(&data, "after the first sales").await;

    // Cancel some orders, exchange tickets of others for another performance of their show,
    // sell more, in small steps.
    let a = Actor::system();
    let perfs = parterre_core::catalog::performances::list_performances(&store, &Default::default())
        .await
        .unwrap();
    let mut exchanged = 0;
    for order_id in 1..=40i64 {
        let Ok(order) = parterre_core::sales::orders::get_order(&store, order_id).await else {
            continue;
        };
        let r = if order_id % 7 == 0 {
            after_sale::cancel_order(&store, &a, order_id).await.map(|_| ())
        } else {
            let Some(t) = order.tickets.iter().find(|t| t.status == TicketStatus::Valid) else {
                continue;
            };
            let from = perfs.iter().find(|p| p.id == t.performance_id).map(|p| p.show_id);
            let Some(to) = perfs
                .iter()
                .find(|p| Some(p.show_id) == from && p.id != t.performance_id && !p.cancelled)
            else {
                continue;
            };
            let input = ExchangeInput {
                ticket_id: t.id,
                performance_id: to.id,
                ..Default::default()
            };
            let r = after_sale::exchange(&store, &a, order_id, &input).await.map(|_| ());
            exchanged += usize::from(r.is_ok());
            r
        };
        match r {
            Ok(()) | Err(CoreError::Conflict(_) | CoreError::Invalid(_)) => {}
            Err(e) => panic!("order {order_id}: {e}"),
        }
        if order_id % 10 == 0 {
            p.step(&store).await.unwrap();
        }
    }
    assert!(exchanged > 0, "some tickets were exchanged");
    parterre_core::demo::sales::sell(&store, season.id, 80, 30, 12).await.unwrap();
    p.step(&store).await.unwrap();
    let stepped = check(&data, "after cancellations, exchanges and more sales").await;
    {
        let w = Warehouse::open(&data.join("warehouse")).await.unwrap();
        assert!(one(&w, "SELECT count(*) FROM agg_sales WHERE status = 'exchanged'").await > 0);
        assert!(one(&w, "SELECT count(*) FROM agg_sales WHERE status = 'cancelled'").await > 0);
        assert!(
            one(&w, "SELECT count(*) FROM agg_capacity WHERE quota > 0").await > 0,
            "quotas are counted"
        );
        assert_eq!(
            one(&w, "SELECT sum(tickets) FROM agg_sales_day WHERE status = 'valid'").await,
            one(&w, "SELECT count(*) FROM fact_ticket WHERE status = 'valid'").await
        );
        assert!(
            one(&w, "SELECT count(*) FROM fact_ticket WHERE spectator_id = buyer_id").await > 0,
            "the buyer is the spectator when no one else is named"
        );
    }
    drop(p);
    // The benchmark's dashboard questions run on these rollups.
    {
        let w = Warehouse::open(&data.join("warehouse")).await.unwrap();
        for d in parterre_warehouse::bench::DASHBOARDS {
            w.batches(d.rollup, Duration::from_secs(60))
                .await
                .unwrap_or_else(|e| panic!("{}: {e}", d.name));
        }
    }

    parterre_pipelines::pipeline::rebuild(&data, |_, _| {}).unwrap();
    let rebuilt = check(&data, "after a rebuild").await;
    assert_eq!(stepped, rebuilt, "a rebuild gives the same rollups as the steps");
    store.close().await;
    let _ = std::fs::remove_dir_all(&data);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn carts_waiting_lists_capacity_and_calendar_reach_the_warehouse() {
    let data = scratch("facts");
    let (store, season) = demo_venue(&data).await;
    parterre_core::demo::sales::sell(&store, season.id, 0, 25, 5).await.unwrap();
    let perfs = parterre_core::catalog::performances::list_performances(&store, &Default::default())
        .await
        .unwrap();
    let input = parterre_core::sales::waitlist::WaitlistInput {
        last_name: "Martin".into(),
        email: "martin@example.fr".into(),
        quantity: Some(3),
        ..Default::default()
    };
    parterre_core::sales::waitlist::join(&store, &Actor::system(), perfs[0].id, &input)
        .await
        .unwrap();
    let mut p = Pipeline::open(&data, Default::default()).unwrap();
    p.step(&store).await.unwrap();
    drop(p);
    let w = Warehouse::open(&data.join("warehouse")).await.unwrap();
    let orders = one(&w, "SELECT count(*) FROM fact_order").await;
    assert_eq!(
        one(
            &w,
            "SELECT count(*) FROM fact_cart WHERE status = 'ordered' AND order_id IS NOT NULL AND buyer_id IS NOT NULL"
        )
        .await,
        orders,
        "every order came from a cart"
    );
    assert!(one(&w, "SELECT min(places_held) FROM fact_cart WHERE status = 'ordered'").await > 0);
    let entry = rows(&w, "SELECT performance_id, quantity FROM fact_waitlist").await;
    assert_eq!(entry, vec![vec![perfs[0].id.to_string(), "3".to_string()]]);
    // Capacity: each performance's places add up to its capacity (general sale + quotas).
    assert_eq!(
        one(
            &w,
            "SELECT count(*) FROM (SELECT performance_id, sum(places) AS s FROM fact_capacity GROUP BY performance_id) c \
             JOIN dim_performance p USING (performance_id) WHERE c.s <> p.capacity"
        )
        .await,
        0
    );
    assert!(
        one(&w, "SELECT count(*) FROM fact_capacity WHERE family <> 'general'").await > 0,
        "quotas are there"
    );
    // The calendar: every day of the season, French holidays, the opening day.
    assert_eq!(
        one(&w, &format!("SELECT count(*) FROM dim_date WHERE season = '{}'", season.name)).await,
        365
    );
    let fete = rows(&w, "SELECT public_holiday, weekday FROM dim_date WHERE date = DATE '2027-07-14'").await;
    assert!(fete.is_empty(), "14 July 2027 belongs to the next season");
    let noel = rows(
        &w,
        "SELECT public_holiday, school_holiday_zone_c FROM dim_date WHERE date = DATE '2026-12-25'",
    )
    .await;
    assert_eq!(noel, vec![vec!["Noël".to_string(), "Vacances de Noël".to_string()]]);
    assert_eq!(
        one(
            &w,
            "SELECT count(*) FROM dim_date WHERE days_to_opening = 0 AND date = \
             (SELECT min(CAST(to_local_time(issued_at AT TIME ZONE 'Europe/Paris') AS DATE)) FROM fact_ticket)"
        )
        .await,
        1,
        "the opening is the day of the first sale"
    );
    store.close().await;
    let _ = std::fs::remove_dir_all(&data);
}
