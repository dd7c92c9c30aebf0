//! The box-office screen (`/box-office`, permission `sales.sell`): find a performance, see its
//! plan with the colours and filters, place a party side by side over several price
//! categories or pick seats one by one, then take payment with split tenders and print the
//! tickets. Plain forms: it works with the keyboard alone and without JavaScript.

use super::{done, page, page_err, page_with_status, FormData};
use crate::auth::perm::{Page, SalesSell};
use crate::auth::{urlencode, PageUser};
use crate::error::{AppError, AppResult};
use crate::extract::{Path, Query};
use crate::SharedState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use minijinja::context;
use parterre_core::catalog::{self, performances, plans, shows, Performance, PerformanceQuery};
use parterre_core::contacts::PayerInput;
use parterre_core::payments::{self, Tender};
use parterre_core::sales::carts::TicketPart;
use parterre_core::sales::{carts, orders, promo, CartStatus, Channel, CheckoutInput, TicketRequest};
use parterre_core::seating::{inventory, PlaceState};
use parterre_core::{time, CoreError, Money};
use std::collections::HashMap;

pub(super) fn router() -> axum::Router<SharedState> {
    Router::new()
        .route("/box-office", get(index))
        .route("/box-office/performances/{id}", get(performance))
        .route("/box-office/performances/{id}/party", post(party))
        .route("/box-office/performances/{id}/seats", post(pick_seats))
        .route("/box-office/carts/{id}", get(cart_page))
        .route("/box-office/carts/{id}/items/{item}/delete", post(remove))
        .route("/box-office/carts/{id}/promo", post(apply_promo))
        .route("/box-office/carts/{id}/checkout", post(checkout))
        .route("/box-office/orders/{id}", get(order_page))
        .route("/box-office/orders/{id}/tickets.pdf", get(tickets_pdf))
}

const AREA: &str = "/box-office";

/// colour of a place state on the plan.
fn colour(state: PlaceState) -> &'static str {
    match state {
        PlaceState::Available => "#2e7d32",
        PlaceState::Held => "#f9a825",
        PlaceState::Sold => "#b71c1c",
        PlaceState::Option => "#6a1b9a",
        PlaceState::Invitation => "#1565c0",
        PlaceState::Quota => "#00838f",
        PlaceState::Blocked => "#616161",
    }
}

fn cart_ctx(c: &parterre_core::sales::Cart) -> minijinja::Value {
    let items: Vec<_> = c
        .items
        .iter()
        .map(|i| {
            context! { id => i.id, kind => i.kind, label => i.label, seat => i.seat, unit_cents => i.unit.as_cents(), discount_cents => i.discount.as_cents(), quantity => i.quantity }
        })
        .collect();
    context! { id => c.id, items, amount_due_cents => c.amount_due.as_cents(), expires_at => c.expires_at, promo_code => c.promo_code }
}

async fn open_cart(state: &SharedState, id: Option<i64>) -> Option<parterre_core::sales::Cart> {
    let c = carts::get_cart(&state.store, id?).await.ok()?;
    (c.status == CartStatus::Open && c.expires_at > time::now_db()).then_some(c)
}

async fn index(State(state): State<SharedState>, user: Page<SalesSell>, Query(q): Query<HashMap<String, String>>) -> AppResult<Response> {
    let text = q.get("q").map(|s| s.trim().to_lowercase()).unwrap_or_default();
    let now = chrono::Utc::now();
    let all = performances::list_performances(&state.store, &PerformanceQuery::default())
        .await
        .map_err(page_err)?;
    let mut rows = Vec::new();
    for p in all.iter().filter(|p| p.starts_at > now && !p.cancelled) {
        let date = time::display_paris(p.starts_at);
        if !text.is_empty() && !p.show_name.to_lowercase().contains(&text) && !date.contains(&text) {
            continue;
        }
        let available = inventory::available_now(&state.store, p).await.map_err(page_err)?;
        rows.push(context! {
            id => p.id, show_name => p.show_name, starts_at => time::to_db(p.starts_at),
            hall => format!("{} — {}", p.hall_name, p.layout_name), available, capacity => p.capacity,
        });
        if rows.len() >= 60 {
            break;
        }
    }
    let cart = open_cart(&state, q.get("cart").and_then(|c| c.parse().ok()))
        .await
        .map(|c| cart_ctx(&c));
    page(
        &user,
        AREA,
        "box_office/index.html",
        context! { performances => rows, q => q.get("q").cloned().unwrap_or_default(), cart },
    )
}

async fn categories(state: &SharedState, p: &Performance) -> AppResult<Vec<minijinja::Value>> {
    let show = shows::get_show(&state.store, p.show_id).await.map_err(page_err)?;
    Ok(shows::show_prices(&state.store, &show)
        .await
        .map_err(page_err)?
        .into_iter()
        .map(|sp| context! { id => sp.price_category_id, name => sp.name, cents => sp.amount.as_cents() })
        .collect())
}

#[allow(clippy::too_many_arguments)]
async fn performance_page(
    state: &SharedState,
    user: &PageUser,
    id: i64,
    cart_id: Option<i64>,
    shown: Vec<String>,
    error: Option<String>,
    message: Option<String>,
    status: StatusCode,
) -> AppResult<Response> {
    let store = &state.store;
    let p = performances::get_performance(store, id).await.map_err(page_err)?;
    let av = inventory::availability(store, id).await.map_err(page_err)?;
    let seats = plans::seats(store, p.layout_id).await.map_err(page_err)?;
    let by_id: HashMap<i64, (PlaceState, &str)> = av.seats.iter().map(|s| (s.id, (s.state, s.family.as_str()))).collect();
    let shown_all = shown.is_empty();
    let look = |s: &plans::Seat| {
        let (st, family) = by_id.get(&s.id).copied().unwrap_or((PlaceState::Available, ""));
        let label = st.label();
        let color = if shown_all || shown.iter().any(|x| x == st.code()) {
            colour(st)
        } else {
            "#e0e0e0"
        };
        let label = if family.is_empty() {
            label.to_string()
        } else {
            format!("{label} ({})", catalog::label_of(catalog::QUOTA_FAMILIES, family))
        };
        (color, label)
    };
    let svg = super::performances::plan_svg(
        &format!("{} — {}", p.hall_name, p.layout_name),
        p.numbered,
        p.capacity,
        &seats,
        &look,
    );
    let mut rows: Vec<(String, Vec<minijinja::Value>)> = Vec::new();
    for s in &seats {
        if by_id.get(&s.id).map(|x| x.0) != Some(PlaceState::Available) {
            continue;
        }
        let v = context! { id => s.id, number => s.spec.number, pmr => s.spec.pmr };
        match rows.iter_mut().find(|(r, _)| *r == s.spec.row) {
            Some((_, list)) => list.push(v),
            None => rows.push((s.spec.row.clone(), vec![v])),
        }
    }
    let rows: Vec<_> = rows.into_iter().map(|(row, seats)| context! { row, seats }).collect();
    let quotas: Vec<_> = av
        .quotas
        .iter()
        .filter(|q| q.places > 0)
        .map(|q| context! { family => q.family, label => catalog::label_of(catalog::QUOTA_FAMILIES, &q.family), places => q.places })
        .collect();
    let legend: Vec<_> = PlaceState::ALL.iter().map(|s| (s.code(), s.label(), colour(*s))).collect();
    let ctx = context! {
        p => context! { id => p.id, show_name => p.show_name, starts_at => time::to_db(p.starts_at), hall => format!("{} — {}", p.hall_name, p.layout_name) },
        counts => av.counts, capacity => av.capacity, numbered => p.numbered, svg, rows, quotas, legend, shown,
        categories => categories(state, &p).await?, cart_id, error, message,
    };
    page_with_status(user, AREA, "box_office/performance.html", ctx, status)
}

async fn performance(
    State(state): State<SharedState>,
    user: Page<SalesSell>,
    Path(id): Path<i64>,
    Query(q): Query<Vec<(String, String)>>,
) -> AppResult<Response> {
    let q = FormData(q);
    let cart = open_cart(&state, q.get("cart").and_then(|c| c.parse().ok())).await.map(|c| c.id);
    performance_page(
        &state,
        &user,
        id,
        cart,
        q.all("show"),
        None,
        q.get("msg").map(String::from),
        StatusCode::OK,
    )
    .await
}

/// The cart of the form, or a new counter cart.
async fn cart_for(state: &SharedState, user: &PageUser, form: &FormData) -> AppResult<i64> {
    if let Some(c) = open_cart(state, form.get("cart").and_then(|c| c.parse().ok())).await {
        return Ok(c.id);
    }
    Ok(
        carts::create_cart(&state.store, &user.user.actor(), Channel::Counter, state.cart_ttl)
            .await
            .map_err(page_err)?
            .id,
    )
}

async fn after_add(
    state: &SharedState,
    user: &PageUser,
    id: i64,
    cart: i64,
    r: Result<(parterre_core::sales::Cart, Option<String>), CoreError>,
) -> AppResult<Response> {
    match r {
        Ok((_, msg)) => {
            let m = msg.map(|m| format!("&msg={}", urlencode(&m))).unwrap_or_default();
            Ok(done(&format!("/box-office/performances/{id}?cart={cart}{m}")))
        }
        Err(e @ (CoreError::Conflict(_) | CoreError::Invalid(_) | CoreError::Gone(_))) => {
            // Same status mapping as everywhere else; the message is shown on the sale page.
            let err = page_err(e);
            performance_page(state, user, id, Some(cart), vec![], Some(err.message), None, err.status).await
        }
        Err(e) => Err(page_err(e)),
    }
}

async fn party(
    State(state): State<SharedState>,
    user: Page<SalesSell>,
    Path(id): Path<i64>,
    Form(form): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    let form = FormData(form);
    user.check_csrf(form.csrf())?;
    let mut parts = Vec::new();
    for (k, v) in &form.0 {
        if let (Some(pc), Ok(n)) = (k.strip_prefix("n_").and_then(|x| x.parse::<i64>().ok()), v.trim().parse::<i64>()) {
            if n > 0 {
                parts.push(TicketPart {
                    price_category_id: pc,
                    quantity: n,
                });
            }
        }
    }
    let cart = cart_for(&state, &user, &form).await?;
    if parts.is_empty() {
        return performance_page(
            &state,
            &user,
            id,
            Some(cart),
            vec![],
            Some("indiquez au moins une place".into()),
            None,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    }
    let req = TicketRequest {
        performance_id: id,
        parts: Some(parts),
        quota: form.get("quota").map(String::from),
        pmr: Some(form.flag("pmr")),
        ..Default::default()
    };
    let r = carts::add_tickets(&state.store, &user.user.actor(), cart, &req, state.cart_ttl).await;
    after_add(&state, &user, id, cart, r).await
}

async fn pick_seats(
    State(state): State<SharedState>,
    user: Page<SalesSell>,
    Path(id): Path<i64>,
    Form(form): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    let form = FormData(form);
    user.check_csrf(form.csrf())?;
    let seats: Vec<i64> = form.all("seat").iter().filter_map(|s| s.parse().ok()).collect();
    let cart = cart_for(&state, &user, &form).await?;
    if seats.is_empty() {
        return performance_page(
            &state,
            &user,
            id,
            Some(cart),
            vec![],
            Some("cochez au moins un siège".into()),
            None,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    }
    let pc = form.get("price_category_id").and_then(|s| s.parse().ok()).unwrap_or(0);
    let req = TicketRequest {
        performance_id: id,
        price_category_id: pc,
        seat_ids: Some(seats),
        ..Default::default()
    };
    let r = carts::add_tickets(&state.store, &user.user.actor(), cart, &req, state.cart_ttl).await;
    after_add(&state, &user, id, cart, r).await
}

async fn render_cart(
    state: &SharedState,
    user: &PageUser,
    id: i64,
    error: Option<String>,
    f: minijinja::Value,
    status: StatusCode,
) -> AppResult<Response> {
    let c = carts::get_cart(&state.store, id).await.map_err(page_err)?;
    if c.status == CartStatus::Ordered {
        if let Some(o) = orders::order_of_cart(&state.store, id).await.map_err(page_err)? {
            return Ok(done(&format!("/box-office/orders/{o}")));
        }
    }
    if c.status != CartStatus::Open || c.expires_at <= time::now_db() {
        return Err(AppError::page(
            StatusCode::GONE,
            "panier expiré : les places ont été libérées ; recommencez la vente",
        ));
    }
    let methods = payments::list_methods(&state.store).await.map_err(page_err)?;
    page_with_status(
        user,
        AREA,
        "box_office/cart.html",
        context! { cart => cart_ctx(&c), methods, error, f },
        status,
    )
}

async fn cart_page(State(state): State<SharedState>, user: Page<SalesSell>, Path(id): Path<i64>) -> AppResult<Response> {
    render_cart(&state, &user, id, None, context! {}, StatusCode::OK).await
}

async fn remove(
    State(state): State<SharedState>,
    user: Page<SalesSell>,
    Path((id, item)): Path<(i64, i64)>,
    Form(form): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    user.check_csrf(FormData(form).csrf())?;
    carts::remove_item(&state.store, &user.user.actor(), id, item)
        .await
        .map_err(page_err)?;
    Ok(done(&format!("/box-office/carts/{id}")))
}

async fn apply_promo(
    State(state): State<SharedState>,
    user: Page<SalesSell>,
    Path(id): Path<i64>,
    Form(form): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    let form = FormData(form);
    user.check_csrf(form.csrf())?;
    match promo::apply(&state.store, &user.user.actor(), id, &form.text("code")).await {
        Ok(_) => Ok(done(&format!("/box-office/carts/{id}"))),
        Err(CoreError::Invalid(e)) => {
            let msg = format!("Code promo refusé : {}", e.0.values().cloned().collect::<Vec<_>>().join(", "));
            render_cart(&state, &user, id, Some(msg), context! {}, StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(e) => Err(page_err(e)),
    }
}

async fn checkout(
    State(state): State<SharedState>,
    user: Page<SalesSell>,
    Path(id): Path<i64>,
    Form(form): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    let form = FormData(form);
    user.check_csrf(form.csrf())?;
    let f = context! { last_name => form.text("last_name"), first_name => form.text("first_name"), email => form.text("email") };
    let mut tenders = Vec::new();
    for k in 1..=3 {
        if let (Some(m), Some(a)) = (form.get(&format!("method_{k}")), form.get(&format!("amount_{k}"))) {
            match Money::parse(a) {
                Some(amount) => tenders.push(Tender {
                    method: m.to_string(),
                    amount,
                }),
                None => {
                    return render_cart(
                        &state,
                        &user,
                        id,
                        Some(format!("montant {k} invalide : « {a} »")),
                        f,
                        StatusCode::UNPROCESSABLE_ENTITY,
                    )
                    .await
                }
            }
        }
    }
    let input = CheckoutInput {
        payer: PayerInput {
            contact_id: None,
            last_name: form.get("last_name").map(String::from),
            first_name: form.get("first_name").map(String::from),
            email: form.get("email").map(String::from),
            postal_code: form.get("postal_code").map(String::from).filter(|p| !p.trim().is_empty()),
            city: form.get("city").map(String::from).filter(|c| !c.trim().is_empty()),
        },
        payments: tenders,
        option_until: form.get("option_until").map(String::from),
    };
    match orders::checkout(&state.store, &user.user.actor(), id, &input).await {
        Ok(o) => Ok(done(&format!("/box-office/orders/{}", o.id))),
        Err(CoreError::Invalid(e)) => {
            let msg = e.0.values().cloned().collect::<Vec<_>>().join(" ; ");
            render_cart(&state, &user, id, Some(msg), f, StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(e) => Err(page_err(e)),
    }
}

async fn order_page(State(state): State<SharedState>, user: Page<SalesSell>, Path(id): Path<i64>) -> AppResult<Response> {
    let o = orders::get_order(&state.store, id).await.map_err(page_err)?;
    let mut tickets = Vec::new();
    for t in &o.tickets {
        let p = performances::get_performance(&state.store, t.performance_id)
            .await
            .map_err(page_err)?;
        tickets.push(context! {
            number => t.number, status => t.status, cents => t.amount.as_cents(),
            label => format!("{} — {}", p.show_name, time::display_paris(p.starts_at)),
            seat => t.seat.as_ref().map(|(_, r, n)| format!("Rang {r} n° {n}")).unwrap_or_else(|| "Placement libre".into()),
        });
    }
    let methods = payments::list_methods(&state.store).await.map_err(page_err)?;
    let pays: Vec<_> = o
        .payments
        .iter()
        .map(|p| context! { method => methods.iter().find(|m| m.code == p.method).map(|m| m.name.clone()).unwrap_or(p.method.clone()), cents => p.amount.as_cents() })
        .collect();
    page(
        &user,
        AREA,
        "box_office/order.html",
        context! { o => context! { id => o.id, number => o.number, status => o.status }, tickets, payments => pays, paid => o.paid.as_cents(), due => o.due.as_cents() },
    )
}

async fn tickets_pdf(State(state): State<SharedState>, _: Page<SalesSell>, Path(id): Path<i64>) -> AppResult<Response> {
    let pdf = crate::tickets::order_pdf(&state, id).await.map_err(AppError::on_page)?;
    let disposition = format!("inline; filename=\"billets-{id}.pdf\"");
    Ok((
        [
            (axum::http::header::CONTENT_TYPE, "application/pdf".to_string()),
            (axum::http::header::CONTENT_DISPOSITION, disposition),
        ],
        pdf,
    )
        .into_response())
}
