//! Sales endpoints (permission `sales.sell`): carts, holds, products, promo codes, checkout,
//! orders and after-sale operations, availability, waiting lists, payment methods.

use super::dto::ErrorBody;
use super::idempotency::IdempotencyHeader;
use super::sales_dto::*;
use crate::auth::perm::{Api, SalesSell};
use crate::error::{ApiJson, AppError, AppResult};
use crate::extract::{Path, Query};
use crate::SharedState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use parterre_core::catalog::{performances, PerformanceQuery};
use parterre_core::payments::{self, Tender};
use parterre_core::sales::after_sale::{self, ExchangeInput, RefundInput};
use parterre_core::sales::promo::{self, PromoInput};
use parterre_core::sales::waitlist::{self, WaitlistInput};
use parterre_core::sales::{carts, orders, CartStatus, Channel, CheckoutInput, ProductRequest, TicketRequest};
use parterre_core::seating::inventory;
use parterre_core::CoreError;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// A payment method.
#[derive(Debug, Serialize, ToSchema)]
pub struct PaymentMethodDto {
    /// Code.
    pub code: String,
    /// Name.
    pub name: String,
}

/// Payment methods accepted by the venue.
#[utoipa::path(get, path = "/api/v1/payment-methods", tag = "sales",
    responses((status = 200, description = "Methods", body = [PaymentMethodDto]),
              (status = 401, description = "Not authenticated", body = ErrorBody),
              (status = 403, description = "Permission sales.sell missing", body = ErrorBody)))]
pub async fn list_payment_methods(State(state): State<SharedState>, _: Api<SalesSell>) -> AppResult<Json<Vec<PaymentMethodDto>>> {
    Ok(Json(
        payments::list_methods(&state.store)
            .await?
            .into_iter()
            .map(|m| PaymentMethodDto {
                code: m.code,
                name: m.name,
            })
            .collect(),
    ))
}

/// Opening a cart.
#[derive(Debug, Deserialize, ToSchema)]
pub struct NewCart {
    /// Where the sale happens.
    pub channel: Channel,
}

/// Open a cart.
#[utoipa::path(post, path = "/api/v1/carts", tag = "sales", request_body = NewCart,
    responses((status = 201, description = "The cart (id, expires_at…)", body = CartDto),
              (status = 401, description = "Not authenticated", body = ErrorBody),
              (status = 403, description = "Permission sales.sell missing", body = ErrorBody),
              (status = 422, description = "Unknown channel", body = ErrorBody)))]
pub async fn create_cart(
    State(state): State<SharedState>,
    user: Api<SalesSell>,
    ApiJson(body): ApiJson<NewCart>,
) -> AppResult<(StatusCode, Json<CartDto>)> {
    let cart = carts::create_cart(&state.store, &user.0.actor(), body.channel, state.cart_ttl).await?;
    Ok((StatusCode::CREATED, Json(CartDto::new(cart, None))))
}

/// A cart, or 410 « panier expiré ».
#[utoipa::path(get, path = "/api/v1/carts/{id}", tag = "sales", params(("id" = i64, Path, description = "Cart id")),
    responses((status = 200, description = "The cart", body = CartDto),
              (status = 401, description = "Not authenticated", body = ErrorBody),
              (status = 403, description = "Permission sales.sell missing", body = ErrorBody),
              (status = 404, description = "Unknown cart", body = ErrorBody),
              (status = 410, description = "Cart expired, holds released", body = ErrorBody)))]
pub async fn get_cart(State(state): State<SharedState>, _: Api<SalesSell>, Path(id): Path<i64>) -> AppResult<Json<CartDto>> {
    carts::sweep_expired(&state.store).await?;
    let cart = carts::get_cart(&state.store, id).await?;
    if cart.status == CartStatus::Expired {
        return Err(CoreError::Gone("panier expiré : les places ont été libérées".into()).into());
    }
    Ok(Json(CartDto::new(cart, None)))
}

/// Other performances of the same show with places left.
async fn alternatives(state: &SharedState, performance_id: i64) -> Vec<i64> {
    let Ok(p) = performances::get_performance(&state.store, performance_id).await else {
        return vec![];
    };
    let Ok(others) = performances::list_performances(
        &state.store,
        &PerformanceQuery {
            season_id: None,
            show_id: Some(p.show_id),
            ..Default::default()
        },
    )
    .await
    else {
        return vec![];
    };
    let mut out = Vec::new();
    for o in others
        .into_iter()
        .filter(|o| o.id != p.id && o.starts_at > chrono::Utc::now() && !o.cancelled)
    {
        if inventory::availability(&state.store, o.id)
            .await
            .is_ok_and(|a| a.counts.available > 0)
        {
            out.push(o.id);
        }
    }
    out
}

/// Hold tickets: picked seats, or best available side by side; 409 with the reason (and, when
/// sold out, other performances and the waiting list) when they cannot be held.
#[utoipa::path(post, path = "/api/v1/carts/{id}/tickets", tag = "sales", params(("id" = i64, Path, description = "Cart id")), request_body = TicketRequest,
    responses((status = 200, description = "The cart with the held places", body = CartDto),
              (status = 401, description = "Not authenticated", body = ErrorBody),
              (status = 403, description = "Permission sales.sell missing", body = ErrorBody),
              (status = 409, description = "Places cannot be held", body = ErrorBody),
              (status = 410, description = "Cart expired", body = ErrorBody),
              (status = 422, description = "Invalid request", body = ErrorBody)))]
pub async fn add_tickets(
    State(state): State<SharedState>,
    user: Api<SalesSell>,
    Path(id): Path<i64>,
    ApiJson(req): ApiJson<TicketRequest>,
) -> AppResult<Json<CartDto>> {
    match carts::add_tickets(&state.store, &user.0.actor(), id, &req, state.cart_ttl).await {
        Ok((cart, message)) => Ok(Json(CartDto::new(cart, message))),
        Err(e @ CoreError::Conflict(_)) => {
            let mut err = AppError::from(e);
            let alt = alternatives(&state, req.performance_id).await;
            err.extra = Some(serde_json::json!({
                "alternatives": alt,
                "waitlist": format!("/api/v1/performances/{}/waitlist", req.performance_id),
            }));
            Err(err)
        }
        Err(e) => Err(e.into()),
    }
}

/// Add a product: formule (with its performances), pass, card, billet suspendu, annex, gift card.
#[utoipa::path(post, path = "/api/v1/carts/{id}/products", tag = "sales", params(("id" = i64, Path, description = "Cart id")), request_body = ProductRequest,
    responses((status = 200, description = "The cart", body = CartDto),
              (status = 401, description = "Not authenticated", body = ErrorBody),
              (status = 403, description = "Permission sales.sell missing", body = ErrorBody),
              (status = 409, description = "Places cannot be held", body = ErrorBody),
              (status = 410, description = "Cart expired", body = ErrorBody),
              (status = 422, description = "Invalid request", body = ErrorBody)))]
pub async fn add_product(
    State(state): State<SharedState>,
    user: Api<SalesSell>,
    Path(id): Path<i64>,
    ApiJson(req): ApiJson<ProductRequest>,
) -> AppResult<Json<CartDto>> {
    let (cart, message) = carts::add_product(&state.store, &user.0.actor(), id, &req, state.cart_ttl).await?;
    Ok(Json(CartDto::new(cart, message)))
}

/// A promo code to apply.
#[derive(Debug, Deserialize, ToSchema)]
pub struct PromoRequest {
    /// The code.
    pub code: String,
}

/// Apply a promo code; 422 {error, reason} says why it fails.
#[utoipa::path(post, path = "/api/v1/carts/{id}/promo", tag = "sales", params(("id" = i64, Path, description = "Cart id")), request_body = PromoRequest,
    responses((status = 200, description = "The cart with new totals", body = CartDto),
              (status = 401, description = "Not authenticated", body = ErrorBody),
              (status = 403, description = "Permission sales.sell missing", body = ErrorBody),
              (status = 410, description = "Cart expired", body = ErrorBody),
              (status = 422, description = "code inconnu, code expiré, quota épuisé, ne s'applique pas à ce spectacle", body = ErrorBody)))]
pub async fn apply_promo(
    State(state): State<SharedState>,
    user: Api<SalesSell>,
    Path(id): Path<i64>,
    ApiJson(req): ApiJson<PromoRequest>,
) -> AppResult<Json<CartDto>> {
    Ok(Json(CartDto::new(
        promo::apply(&state.store, &user.0.actor(), id, &req.code).await?,
        None,
    )))
}

/// Remove a line (a formule line removes its tickets), releasing places.
#[utoipa::path(delete, path = "/api/v1/carts/{id}/items/{item_id}", tag = "sales",
    params(("id" = i64, Path, description = "Cart id"), ("item_id" = i64, Path, description = "Line id")),
    responses((status = 200, description = "The cart", body = CartDto),
              (status = 401, description = "Not authenticated", body = ErrorBody),
              (status = 403, description = "Permission sales.sell missing", body = ErrorBody),
              (status = 404, description = "Unknown line", body = ErrorBody),
              (status = 409, description = "Cart already ordered", body = ErrorBody),
              (status = 410, description = "Cart expired", body = ErrorBody)))]
pub async fn remove_item(
    State(state): State<SharedState>,
    user: Api<SalesSell>,
    Path((id, item_id)): Path<(i64, i64)>,
) -> AppResult<Json<CartDto>> {
    Ok(Json(CartDto::new(
        carts::remove_item(&state.store, &user.0.actor(), id, item_id).await?,
        None,
    )))
}

/// Turn the cart into an order; payments must add up to the amount due (422 otherwise, nothing written).
#[utoipa::path(post, path = "/api/v1/carts/{id}/checkout", tag = "sales", params(("id" = i64, Path, description = "Cart id"), ("Idempotency-Key" = Option<String>, Header, description = "Optional: the same key sent again returns the first answer and moves no money twice (1–128 visible ASCII characters)")), request_body = CheckoutInput,
    responses((status = 201, description = "The order with its tickets", body = OrderDto),
              (status = 401, description = "Not authenticated", body = ErrorBody),
              (status = 403, description = "Permission sales.sell missing", body = ErrorBody),
              (status = 409, description = "Cart already ordered", body = ErrorBody),
              (status = 410, description = "Cart expired", body = ErrorBody),
              (status = 422, description = "Payments or payer invalid", body = ErrorBody)))]
pub async fn checkout(
    State(state): State<SharedState>,
    user: Api<SalesSell>,
    Path(id): Path<i64>,
    idem: IdempotencyHeader,
    ApiJson(req): ApiJson<CheckoutInput>,
) -> AppResult<(StatusCode, Json<OrderDto>)> {
    let key = idem.key(&user, "checkout", id, &req)?;
    let order = orders::checkout_keyed(&state.store, &user.0.actor(), id, &req, key.as_ref()).await?;
    Ok((StatusCode::CREATED, Json(order.into())))
}

/// An order with its tickets and payments.
#[utoipa::path(get, path = "/api/v1/orders/{id}", tag = "sales", params(("id" = i64, Path, description = "Order id")),
    responses((status = 200, description = "The order", body = OrderDto),
              (status = 401, description = "Not authenticated", body = ErrorBody),
              (status = 403, description = "Permission sales.sell missing", body = ErrorBody),
              (status = 404, description = "Unknown order", body = ErrorBody)))]
pub async fn get_order(State(state): State<SharedState>, _: Api<SalesSell>, Path(id): Path<i64>) -> AppResult<Json<OrderDto>> {
    Ok(Json(orders::get_order(&state.store, id).await?.into()))
}

/// Cancel an order: tickets cancelled, places freed (refund separately).
#[utoipa::path(post, path = "/api/v1/orders/{id}/cancel", tag = "sales", params(("id" = i64, Path, description = "Order id"), ("Idempotency-Key" = Option<String>, Header, description = "Optional: the same key sent again returns the first answer and moves no money twice (1–128 visible ASCII characters)")),
    responses((status = 200, description = "The order", body = OrderDto),
              (status = 401, description = "Not authenticated", body = ErrorBody),
              (status = 403, description = "Permission sales.sell missing", body = ErrorBody),
              (status = 404, description = "Unknown order", body = ErrorBody),
              (status = 409, description = "Already cancelled", body = ErrorBody)))]
pub async fn cancel_order(
    State(state): State<SharedState>,
    user: Api<SalesSell>,
    Path(id): Path<i64>,
    idem: IdempotencyHeader,
) -> AppResult<Json<OrderDto>> {
    let key = idem.key(&user, "cancel", id, &())?;
    Ok(Json(
        after_sale::cancel_order_keyed(&state.store, &user.0.actor(), id, key.as_ref())
            .await?
            .into(),
    ))
}

/// Exchange a ticket for another performance; the difference is settled.
#[utoipa::path(post, path = "/api/v1/orders/{id}/exchange", tag = "sales", params(("id" = i64, Path, description = "Order id"), ("Idempotency-Key" = Option<String>, Header, description = "Optional: the same key sent again returns the first answer and moves no money twice (1–128 visible ASCII characters)")), request_body = ExchangeInput,
    responses((status = 200, description = "The order", body = OrderDto),
              (status = 401, description = "Not authenticated", body = ErrorBody),
              (status = 403, description = "Permission sales.sell missing", body = ErrorBody),
              (status = 409, description = "No place at the new performance", body = ErrorBody),
              (status = 422, description = "Invalid request", body = ErrorBody)))]
pub async fn exchange(
    State(state): State<SharedState>,
    user: Api<SalesSell>,
    Path(id): Path<i64>,
    idem: IdempotencyHeader,
    ApiJson(req): ApiJson<ExchangeInput>,
) -> AppResult<Json<OrderDto>> {
    let key = idem.key(&user, "exchange", id, &req)?;
    Ok(Json(
        after_sale::exchange_keyed(&state.store, &user.0.actor(), id, &req, key.as_ref())
            .await?
            .into(),
    ))
}

/// Refund all or part of what was paid.
#[utoipa::path(post, path = "/api/v1/orders/{id}/refund", tag = "sales", params(("id" = i64, Path, description = "Order id"), ("Idempotency-Key" = Option<String>, Header, description = "Optional: the same key sent again returns the first answer and moves no money twice (1–128 visible ASCII characters)")), request_body = RefundInput,
    responses((status = 200, description = "The order", body = OrderDto),
              (status = 401, description = "Not authenticated", body = ErrorBody),
              (status = 403, description = "Permission sales.sell missing", body = ErrorBody),
              (status = 422, description = "Invalid amount or method", body = ErrorBody)))]
pub async fn refund(
    State(state): State<SharedState>,
    user: Api<SalesSell>,
    Path(id): Path<i64>,
    idem: IdempotencyHeader,
    ApiJson(req): ApiJson<RefundInput>,
) -> AppResult<Json<OrderDto>> {
    let key = idem.key(&user, "refund", id, &req)?;
    Ok(Json(
        after_sale::refund_keyed(&state.store, &user.0.actor(), id, &req, key.as_ref())
            .await?
            .into(),
    ))
}

/// Payments on an order.
#[derive(Debug, Deserialize, ToSchema)]
pub struct PayRequest {
    /// Tenders adding up to the balance.
    pub payments: Vec<Tender>,
}

/// Pay the balance of an order (confirms an option).
#[utoipa::path(post, path = "/api/v1/orders/{id}/payments", tag = "sales", params(("id" = i64, Path, description = "Order id"), ("Idempotency-Key" = Option<String>, Header, description = "Optional: the same key sent again returns the first answer and moves no money twice (1–128 visible ASCII characters)")), request_body = PayRequest,
    responses((status = 200, description = "The order", body = OrderDto),
              (status = 401, description = "Not authenticated", body = ErrorBody),
              (status = 403, description = "Permission sales.sell missing", body = ErrorBody),
              (status = 409, description = "Order cancelled, or changed meanwhile", body = ErrorBody),
              (status = 422, description = "Payments do not add up to the balance", body = ErrorBody)))]
pub async fn pay(
    State(state): State<SharedState>,
    user: Api<SalesSell>,
    Path(id): Path<i64>,
    idem: IdempotencyHeader,
    ApiJson(req): ApiJson<PayRequest>,
) -> AppResult<Json<OrderDto>> {
    let key = idem.key(&user, "pay", id, &req.payments)?;
    Ok(Json(
        after_sale::pay_keyed(&state.store, &user.0.actor(), id, &req.payments, key.as_ref())
            .await?
            .into(),
    ))
}

/// A duplicate's new barcode version.
#[derive(Debug, Serialize, ToSchema)]
pub struct DuplicateDto {
    /// Ticket.
    pub ticket_id: i64,
    /// New barcode version; earlier QR codes are revoked.
    pub barcode_version: i64,
}

/// Issue a duplicate of a ticket (the old barcode is revoked).
#[utoipa::path(post, path = "/api/v1/tickets/{id}/duplicate", tag = "sales", params(("id" = i64, Path, description = "Ticket id"), ("Idempotency-Key" = Option<String>, Header, description = "Optional: the same key sent again returns the first answer and moves no money twice (1–128 visible ASCII characters)")),
    responses((status = 200, description = "Duplicated", body = DuplicateDto),
              (status = 401, description = "Not authenticated", body = ErrorBody),
              (status = 403, description = "Permission sales.sell missing", body = ErrorBody),
              (status = 404, description = "Unknown ticket", body = ErrorBody),
              (status = 409, description = "Cancelled ticket", body = ErrorBody)))]
pub async fn duplicate_ticket(
    State(state): State<SharedState>,
    user: Api<SalesSell>,
    Path(id): Path<i64>,
    idem: IdempotencyHeader,
) -> AppResult<Json<DuplicateDto>> {
    let key = idem.key(&user, "duplicate", id, &())?;
    let v = after_sale::duplicate_ticket_keyed(&state.store, &user.0.actor(), id, key.as_ref()).await?;
    Ok(Json(DuplicateDto {
        ticket_id: id,
        barcode_version: v,
    }))
}

/// Availability of a performance: counts per state and seats (numbered halls).
#[utoipa::path(get, path = "/api/v1/performances/{id}/availability", tag = "sales", params(("id" = i64, Path, description = "Performance id")),
    responses((status = 200, description = "Availability", body = AvailabilityDto),
              (status = 401, description = "Not authenticated", body = ErrorBody),
              (status = 403, description = "Permission sales.sell missing", body = ErrorBody),
              (status = 404, description = "Unknown performance", body = ErrorBody)))]
pub async fn availability(State(state): State<SharedState>, _: Api<SalesSell>, Path(id): Path<i64>) -> AppResult<Json<AvailabilityDto>> {
    let a = inventory::availability(&state.store, id).await?;
    let sold_out = a.counts.available == 0;
    Ok(Json(AvailabilityDto {
        capacity: a.capacity,
        counts: CountsDto {
            available: a.counts.available,
            held: a.counts.held,
            sold: a.counts.sold,
            option: a.counts.option,
            invitation: a.counts.invitation,
            quota: a.counts.quota,
            blocked: a.counts.blocked,
        },
        quotas: a
            .quotas
            .into_iter()
            .map(|q| QuotaLeftDto {
                family: q.family,
                places: q.places,
            })
            .collect(),
        seats: a
            .seats
            .into_iter()
            .map(|s| SeatStateDto {
                id: s.id,
                row: s.row,
                number: s.number,
                state: s.state,
                quota: s.family,
                pmr: s.pmr,
            })
            .collect(),
        alternatives: if sold_out { alternatives(&state, id).await } else { vec![] },
        waitlist: sold_out.then(|| format!("/api/v1/performances/{id}/waitlist")),
    }))
}

/// A waiting-list entry.
#[derive(Debug, Serialize, ToSchema)]
pub struct WaitlistDto {
    /// Id.
    pub id: i64,
    /// Performance.
    pub performance_id: i64,
    /// Price category.
    pub price_category_id: Option<i64>,
    /// Places.
    pub quantity: i64,
    /// Last name.
    pub last_name: String,
    /// First name.
    pub first_name: String,
    /// Email.
    pub email: String,
    /// Phone.
    pub phone: String,
    /// When they joined.
    pub created_at: String,
    /// When they were notified.
    pub notified_at: Option<String>,
}

impl From<waitlist::WaitlistEntry> for WaitlistDto {
    fn from(w: waitlist::WaitlistEntry) -> Self {
        WaitlistDto {
            id: w.id,
            performance_id: w.performance_id,
            price_category_id: w.price_category_id,
            quantity: w.quantity,
            last_name: w.last_name,
            first_name: w.first_name,
            email: w.email,
            phone: w.phone,
            created_at: w.created_at,
            notified_at: w.notified_at,
        }
    }
}

/// Join the waiting list of a performance.
#[utoipa::path(post, path = "/api/v1/performances/{id}/waitlist", tag = "sales", params(("id" = i64, Path, description = "Performance id")), request_body = WaitlistInput,
    responses((status = 201, description = "Entry", body = WaitlistDto),
              (status = 401, description = "Not authenticated", body = ErrorBody),
              (status = 403, description = "Permission sales.sell missing", body = ErrorBody),
              (status = 422, description = "Invalid fields", body = ErrorBody)))]
pub async fn join_waitlist(
    State(state): State<SharedState>,
    user: Api<SalesSell>,
    Path(id): Path<i64>,
    ApiJson(req): ApiJson<WaitlistInput>,
) -> AppResult<(StatusCode, Json<WaitlistDto>)> {
    Ok((
        StatusCode::CREATED,
        Json(waitlist::join(&state.store, &user.0.actor(), id, &req).await?.into()),
    ))
}

/// The waiting list, in order.
#[utoipa::path(get, path = "/api/v1/performances/{id}/waitlist", tag = "sales", params(("id" = i64, Path, description = "Performance id")),
    responses((status = 200, description = "Entries", body = [WaitlistDto]),
              (status = 401, description = "Not authenticated", body = ErrorBody),
              (status = 403, description = "Permission sales.sell missing", body = ErrorBody)))]
pub async fn list_waitlist(State(state): State<SharedState>, _: Api<SalesSell>, Path(id): Path<i64>) -> AppResult<Json<Vec<WaitlistDto>>> {
    Ok(Json(
        waitlist::list(&state.store, id).await?.into_iter().map(WaitlistDto::from).collect(),
    ))
}

/// A promo code.
#[derive(Debug, Serialize, ToSchema)]
pub struct PromoDto {
    /// Id.
    pub id: i64,
    /// Code.
    pub code: String,
    /// Batch of single-use codes.
    pub batch: Option<String>,
    /// Validity start.
    pub valid_from: Option<String>,
    /// Validity end.
    pub valid_until: Option<String>,
    /// Uses allowed.
    pub max_uses: Option<i64>,
    /// Uses so far.
    pub uses: i64,
    /// Percent off.
    pub discount_percent: Option<i64>,
    /// Amount off per ticket.
    #[schema(value_type = Option<String>)]
    pub discount_amount: Option<parterre_core::Money>,
    /// Shows.
    pub show_ids: Vec<i64>,
    /// Performances.
    pub performance_ids: Vec<i64>,
    /// Price categories.
    pub price_category_ids: Vec<i64>,
}

impl From<promo::PromoCode> for PromoDto {
    fn from(p: promo::PromoCode) -> Self {
        PromoDto {
            id: p.id,
            code: p.code,
            batch: p.batch,
            valid_from: p.valid_from,
            valid_until: p.valid_until,
            max_uses: p.max_uses,
            uses: p.uses,
            discount_percent: p.discount_percent,
            discount_amount: p.discount,
            show_ids: p.show_ids,
            performance_ids: p.performance_ids,
            price_category_ids: p.price_category_ids,
        }
    }
}

/// Promo codes.
#[utoipa::path(get, path = "/api/v1/promo-codes", tag = "sales",
    responses((status = 200, description = "Codes", body = [PromoDto]),
              (status = 401, description = "Not authenticated", body = ErrorBody),
              (status = 403, description = "Permission sales.sell missing", body = ErrorBody)))]
pub async fn list_promo(State(state): State<SharedState>, _: Api<SalesSell>) -> AppResult<Json<Vec<PromoDto>>> {
    Ok(Json(promo::list(&state.store).await?.into_iter().map(PromoDto::from).collect()))
}

/// Create one code (`code`) or a batch of single-use codes (`batch_size`).
#[utoipa::path(post, path = "/api/v1/promo-codes", tag = "sales", request_body = PromoInput,
    responses((status = 201, description = "Created codes", body = [PromoDto]),
              (status = 401, description = "Not authenticated", body = ErrorBody),
              (status = 403, description = "Permission sales.sell missing", body = ErrorBody),
              (status = 409, description = "Code already exists", body = ErrorBody),
              (status = 422, description = "Invalid fields", body = ErrorBody)))]
pub async fn create_promo(
    State(state): State<SharedState>,
    user: Api<SalesSell>,
    ApiJson(req): ApiJson<PromoInput>,
) -> AppResult<(StatusCode, Json<Vec<PromoDto>>)> {
    let made = promo::create(&state.store, &user.0.actor(), &req).await?;
    Ok((StatusCode::CREATED, Json(made.into_iter().map(PromoDto::from).collect())))
}

/// Filter of the options list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OptionsFilter {
    /// Days ahead (default 15: the D-15 alert).
    #[param(minimum = 0, maximum = 3650)]
    pub days: Option<i64>,
}

/// An option to chase.
#[derive(Debug, Serialize, ToSchema)]
pub struct OptionDue {
    /// Order id.
    pub order_id: i64,
    /// Order number.
    pub number: String,
    /// Deadline.
    pub option_until: Option<String>,
}

/// Options (reserved unpaid) whose performance or deadline is within `days` days.
#[utoipa::path(get, path = "/api/v1/options", tag = "sales", params(OptionsFilter),
    responses((status = 200, description = "Options due", body = [OptionDue]),
              (status = 422, description = "days outside 0–3650", body = ErrorBody),
              (status = 401, description = "Not authenticated", body = ErrorBody),
              (status = 403, description = "Permission sales.sell missing", body = ErrorBody)))]
pub async fn options_due(
    State(state): State<SharedState>,
    _: Api<SalesSell>,
    Query(f): Query<OptionsFilter>,
) -> AppResult<Json<Vec<OptionDue>>> {
    let rows = orders::options_due(&state.store, f.days.unwrap_or(15)).await?;
    Ok(Json(
        rows.into_iter()
            .map(|(order_id, number, option_until)| OptionDue {
                order_id,
                number,
                option_until,
            })
            .collect(),
    ))
}

/// The order's valid tickets as a PDF, one per page, with signed QR codes.
#[utoipa::path(get, path = "/api/v1/orders/{id}/tickets.pdf", tag = "sales", params(("id" = i64, Path, description = "Order id")),
    responses((status = 200, description = "PDF", content_type = "application/pdf", body = Vec<u8>),
              (status = 401, description = "Not authenticated", body = ErrorBody),
              (status = 403, description = "Permission sales.sell missing", body = ErrorBody),
              (status = 404, description = "Unknown order", body = ErrorBody),
              (status = 409, description = "No valid ticket to print", body = ErrorBody)))]
pub async fn tickets_pdf(State(state): State<SharedState>, _: Api<SalesSell>, Path(id): Path<i64>) -> AppResult<axum::response::Response> {
    use axum::response::IntoResponse;
    let pdf = crate::tickets::order_pdf(&state, id).await?;
    Ok(([(axum::http::header::CONTENT_TYPE, "application/pdf")], pdf).into_response())
}
