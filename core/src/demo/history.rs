//! The demo history (`parterre demo --history N`): N past seasons of sales and the current
//! season's sales up to today, made through the core's own functions under a simulated
//! clock ([`crate::time::at`]), so every rule applies and every event is dated when it
//! "happened". About 60 % of tickets go through formules; buyers come from a pool of 30,000
//! contacts whose postal codes cluster around the venue (Seine-et-Marne); a few promo codes,
//! options (confirmed or lapsed), exchanges and refunds. Deterministic for a seed; each
//! season is simulated once (a setting marks it).

use super::sales::Dice;
use crate::catalog::{performances, prices, seasons, PerformanceQuery};
use crate::error::{CoreError, Result};
use crate::payments::Tender;
use crate::sales::{after_sale, carts, orders, products, promo, CheckoutInput, ProductRequest, TicketRequest};
use crate::store::{put_setting, Actor, Store};
use crate::time;
use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

mod places;
use places::{buyer, Plan, Step};

/// What to simulate.
#[derive(Debug, Clone)]
pub struct HistoryOptions {
    /// Past seasons before the current one.
    pub seasons: u32,
    /// The current day (the current season is sold up to it).
    pub today: NaiveDate,
    /// Tickets aimed at per season (about 60,000 for the venue of R-1).
    pub tickets_per_season: usize,
    /// Seed of the dice.
    pub seed: u64,
    /// Sales made at once (the store commits them in groups).
    pub concurrency: usize,
}

impl Default for HistoryOptions {
    fn default() -> Self {
        HistoryOptions {
            seasons: 3,
            today: time::today_paris(),
            tickets_per_season: 60_000,
            seed: 2026,
            concurrency: 64,
        }
    }
}

/// What one season's simulation did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SeasonHistory {
    /// Season name.
    pub season: String,
    /// False when it had been simulated before (nothing done).
    pub simulated: bool,
    /// Orders placed.
    pub orders: u64,
    /// Tickets issued.
    pub tickets: u64,
    /// Tickets in formules.
    pub formule_tickets: u64,
    /// Orders taken as options.
    pub options: u64,
    /// Orders cancelled and refunded (lapsed options included).
    pub cancelled: u64,
    /// Tickets exchanged.
    pub exchanges: u64,
    /// Sales refused (sold out, seat taken meanwhile).
    pub refused: u64,
    /// Time the season's sales took, in seconds.
    pub seconds: f64,
}

/// Progress: (sales done, sales planned) of the season being simulated.
pub type Progress = Arc<dyn Fn(&str, u64, u64) + Send + Sync>;

fn at_paris(d: NaiveDate, h: u32) -> DateTime<Utc> {
    time::paris_to_utc(d.and_hms_opt(h, 0, 0).unwrap_or_default()).unwrap_or_else(|| d.and_hms_opt(h, 0, 0).unwrap_or_default().and_utc())
}

/// The same day `years` earlier (28 February for 29 February).
fn years_before(d: NaiveDate, years: i32) -> NaiveDate {
    NaiveDate::from_ymd_opt(d.year() - years, d.month(), d.day())
        .or_else(|| NaiveDate::from_ymd_opt(d.year() - years, d.month(), 28))
        .unwrap_or(d)
}

/// Simulates the history; seasons already simulated are skipped.
pub async fn simulate(store: &Store, opts: &HistoryOptions, progress: Progress) -> Result<Vec<SeasonHistory>> {
    let mut out = Vec::new();
    for k in (0..=opts.seasons as i32).rev() {
        let day = years_before(opts.today, k);
        let (start_year, _, _) = time::season_of(day);
        // The programme is published in early June, before sales open on 20 June.
        let published = at_paris(NaiveDate::from_ymd_opt(start_year, 6, 1).unwrap_or(day), 10);
        let clock = if k == 0 { time::now().min(published) } else { published };
        time::at(clock, super::load(store, day)).await?;
        let season = seasons::season_for(store, day)
            .await?
            .ok_or_else(|| CoreError::Internal("saison de démonstration introuvable".into()))?;
        let marker = format!("demo.history.{}", season.name);
        if store.setting(&marker).await?.is_some() {
            out.push(SeasonHistory {
                season: season.name,
                ..Default::default()
            });
            continue;
        }
        let cutoff = if k == 0 {
            time::now().min(at_paris(opts.today, 23))
        } else {
            at_paris(season.ends_on, 23)
        };
        let started = std::time::Instant::now();
        let mut report = sell_season(store, opts, season.id, start_year, cutoff, progress.clone(), &season.name).await?;
        report.seconds = started.elapsed().as_secs_f64();
        report.season = season.name.clone();
        report.simulated = true;
        put_setting(store, &Actor::system(), &marker, &format!("{} billets", report.tickets)).await?;
        out.push(report);
    }
    Ok(out)
}

/// Counters shared by the tasks of a season.
#[derive(Default)]
struct Tally {
    orders: AtomicU64,
    tickets: AtomicU64,
    formule_tickets: AtomicU64,
    options: AtomicU64,
    cancelled: AtomicU64,
    exchanges: AtomicU64,
    refused: AtomicU64,
    done: AtomicU64,
}

async fn sell_season(
    store: &Store,
    opts: &HistoryOptions,
    season_id: i64,
    start_year: i32,
    cutoff: DateTime<Utc>,
    progress: Progress,
    name: &str,
) -> Result<SeasonHistory> {
    let perfs = performances::list_performances(
        store,
        &PerformanceQuery {
            season_id: Some(season_id),
            ..Default::default()
        },
    )
    .await?;
    let products = prices::list_products(store, Some(season_id)).await?;
    let cats = prices::list_price_categories(store).await?;
    let opening = at_paris(NaiveDate::from_ymd_opt(start_year, 6, 20).unwrap_or_default(), 10);
    let mut dice = Dice::new(opts.seed ^ (start_year as u64).wrapping_mul(0x9E37_79B9));
    // Promo codes, issued at the start of each campaign.
    let yy = start_year % 100;
    let mut codes = Vec::new();
    for (code, issued, days, percent) in [
        (format!("RENTREE{yy}"), opening + Duration::days(60), 30, 10),
        (format!("HIVER{yy}"), opening + Duration::days(170), 45, 15),
        (format!("DERNIERE{yy}"), opening + Duration::days(290), 40, 20),
    ] {
        if issued > cutoff {
            continue;
        }
        let input = promo::PromoInput {
            code: Some(code.clone()),
            valid_from: Some(time::to_db(issued)),
            valid_until: Some(time::to_db(issued + Duration::days(days))),
            discount_percent: Some(percent),
            ..Default::default()
        };
        match time::at(issued, promo::create(store, &Actor::system(), &input)).await {
            Ok(_) | Err(CoreError::Conflict(_)) => codes.push((code, issued, issued + Duration::days(days))),
            Err(e) => return Err(e),
        }
    }
    let plan = Plan::new(
        &perfs,
        &products,
        &cats,
        opening,
        cutoff,
        &codes,
        opts.tickets_per_season,
        &mut dice,
    );
    let total = plan.steps.len() as u64;
    let tally = Arc::new(Tally::default());
    let gate = Arc::new(tokio::sync::Semaphore::new(opts.concurrency.max(1)));
    let mut tasks = tokio::task::JoinSet::new();
    for step in plan.steps {
        let permit = gate.clone().acquire_owned().await.map_err(|e| CoreError::Internal(e.to_string()))?;
        let (store, tally, progress, name) = (store.clone(), tally.clone(), progress.clone(), name.to_string());
        tasks.spawn(async move {
            let r = run_step(&store, &step, &tally).await;
            let done = tally.done.fetch_add(1, Ordering::Relaxed) + 1;
            if done % 200 == 0 || done == total {
                progress(&name, done, total);
            }
            drop(permit);
            r
        });
        while let Some(r) = tasks.try_join_next() {
            r.map_err(|e| CoreError::Internal(e.to_string()))??;
        }
    }
    while let Some(r) = tasks.join_next().await {
        r.map_err(|e| CoreError::Internal(e.to_string()))??;
    }
    let n = |a: &AtomicU64| a.load(Ordering::Relaxed);
    Ok(SeasonHistory {
        season: String::new(),
        simulated: true,
        orders: n(&tally.orders),
        tickets: n(&tally.tickets),
        formule_tickets: n(&tally.formule_tickets),
        options: n(&tally.options),
        cancelled: n(&tally.cancelled),
        exchanges: n(&tally.exchanges),
        refused: n(&tally.refused),
        seconds: 0.0,
    })
}

/// How long a simulated cart holds its places.
const HOLD_SECONDS: i64 = 60 * 24 * 3600;

/// A refusal the simulation expects now and then (sold out, a seat taken meanwhile).
fn refused(e: &CoreError) -> bool {
    matches!(e, CoreError::Conflict(_) | CoreError::Gone(_) | CoreError::Invalid(_))
}

/// One sale and what follows it (option settled, exchange, refund), each at its own time.
async fn run_step(store: &Store, step: &Step, tally: &Tally) -> Result<()> {
    let actor = Actor::system();
    let placed = time::at(step.at, async {
        // Holds last 60 days of simulated time: sales running side by side (and their follow-ups,
        // up to three weeks later) are days apart in the simulation, and
        // must not see each other's holds as expired.
        let cart = carts::create_cart(store, &actor, step.channel, HOLD_SECONDS).await?;
        let held = match &step.formule {
            Some((product_id, perfs)) => {
                let req = ProductRequest {
                    product_id: *product_id,
                    performance_ids: Some(perfs.clone()),
                    ..Default::default()
                };
                products::add_product(store, &actor, cart.id, &req, HOLD_SECONDS)
                    .await
                    .map(|(c, _)| c)
            }
            None => {
                let req = TicketRequest {
                    performance_id: step.performance_id,
                    price_category_id: step.price_category_id,
                    quantity: Some(step.quantity),
                    ..Default::default()
                };
                carts::add_tickets(store, &actor, cart.id, &req, HOLD_SECONDS).await.map(|(c, _)| c)
            }
        };
        let mut cart = held?;
        if let Some(code) = &step.promo {
            if let Ok(c) = promo::apply(store, &actor, cart.id, code).await {
                cart = c;
            }
        }
        let option_until = step.option_until.map(time::to_db);
        let payments = if option_until.is_some() {
            vec![]
        } else {
            vec![Tender {
                method: step.method.into(),
                amount: cart.amount_due,
            }]
        };
        orders::checkout(
            store,
            &actor,
            cart.id,
            &CheckoutInput {
                payer: buyer(step.buyer),
                payments,
                option_until,
            },
        )
        .await
    })
    .await;
    let order = match placed {
        Ok(o) => o,
        Err(e) if refused(&e) => {
            if std::env::var_os("PARTERRE_DEBUG_HISTORY").is_some() {
                eprintln!("refus : {e}");
            }
            tally.refused.fetch_add(1, Ordering::Relaxed);
            return Ok(());
        }
        Err(e) => return Err(e),
    };
    tally.orders.fetch_add(1, Ordering::Relaxed);
    tally.tickets.fetch_add(order.tickets.len() as u64, Ordering::Relaxed);
    if step.formule.is_some() {
        tally.formule_tickets.fetch_add(order.tickets.len() as u64, Ordering::Relaxed);
    }
    if let Some(until) = step.option_until {
        tally.options.fetch_add(1, Ordering::Relaxed);
        let settle = until - Duration::days(1);
        let due = order.due;
        let r = if step.lapse {
            tally.cancelled.fetch_add(1, Ordering::Relaxed);
            time::at(settle, after_sale::cancel_order(store, &actor, order.id)).await
        } else {
            let pay = [Tender {
                method: "cheque".into(),
                amount: due,
            }];
            time::at(settle, after_sale::pay(store, &actor, order.id, &pay)).await
        };
        return r.map(|_| ()).or_else(|e| if refused(&e) { Ok(()) } else { Err(e) });
    }
    if let (Some(when), Some(target)) = (step.exchange_at, step.exchange_to) {
        if let Some(t) = order.tickets.iter().find(|t| t.status == crate::sales::TicketStatus::Valid) {
            let input = after_sale::ExchangeInput {
                ticket_id: t.id,
                performance_id: target,
                price_category_id: None,
                seat_id: None,
                payments: vec![],
            };
            match time::at(when, after_sale::exchange(store, &actor, order.id, &input)).await {
                Ok(_) => {
                    tally.exchanges.fetch_add(1, Ordering::Relaxed);
                }
                Err(e) if refused(&e) => {}
                Err(e) => return Err(e),
            }
        }
    }
    if let Some(when) = step.refund_at {
        let input = after_sale::RefundInput {
            amount: None,
            method: step.method.into(),
            cancel_tickets: Some(true),
        };
        match time::at(when, after_sale::refund(store, &actor, order.id, &input)).await {
            Ok(_) => {
                tally.cancelled.fetch_add(1, Ordering::Relaxed);
            }
            Err(e) if refused(&e) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_year_before_29_february_is_28_february() {
        let d = NaiveDate::from_ymd_opt(2028, 2, 29).unwrap();
        assert_eq!(years_before(d, 1), NaiveDate::from_ymd_opt(2027, 2, 28).unwrap());
    }
}
