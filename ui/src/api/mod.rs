//! The JSON API under `/api/v1`: the contract scripts and later issues build on.
//!
//! Bearer token (`parterre token create LOGIN`) or browser session; a missing or bad token
//! answers 401, a missing permission 403 (audited). Amounts are decimal strings in euros,
//! instants RFC 3339 in UTC. The OpenAPI document is generated from these handlers.

mod access;
mod catalog;
pub mod dto;
pub mod idempotency;
mod sales;
pub mod sales_dto;
pub mod warehouse;

use crate::SharedState;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Parterre API",
        description = "Billetterie, fichier des publics et entrepôt de données pour le spectacle vivant.",
        license(name = "AGPL-3.0-or-later", identifier = "AGPL-3.0-or-later")
    ),
    modifiers(&Security),
    security(("bearer" = []))
)]
struct ApiDoc;

struct Security;

impl utoipa::Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// Every API route with its OpenAPI description.
pub fn router() -> OpenApiRouter<SharedState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(catalog::list_halls))
        .routes(routes!(catalog::list_shows, catalog::create_show))
        .routes(routes!(catalog::get_show, catalog::update_show))
        .routes(routes!(catalog::duplicate_show))
        .routes(routes!(catalog::list_seasons))
        .routes(routes!(catalog::list_performances, catalog::create_performance))
        .routes(routes!(catalog::get_performance))
        .routes(routes!(catalog::get_plan))
        .routes(routes!(catalog::list_price_categories))
        .routes(routes!(catalog::list_products))
        .routes(routes!(sales::list_payment_methods))
        .routes(routes!(sales::create_cart))
        .routes(routes!(sales::get_cart))
        .routes(routes!(sales::add_tickets))
        .routes(routes!(sales::add_product))
        .routes(routes!(sales::apply_promo))
        .routes(routes!(sales::remove_item))
        .routes(routes!(sales::checkout))
        .routes(routes!(sales::get_order))
        .routes(routes!(sales::cancel_order))
        .routes(routes!(sales::exchange))
        .routes(routes!(sales::refund))
        .routes(routes!(sales::pay))
        .routes(routes!(sales::duplicate_ticket))
        .routes(routes!(sales::availability))
        .routes(routes!(sales::join_waitlist, sales::list_waitlist))
        .routes(routes!(sales::list_promo, sales::create_promo))
        .routes(routes!(sales::options_due))
        .routes(routes!(sales::tickets_pdf))
        .routes(routes!(warehouse::sql))
        .routes(routes!(access::verify_ticket))
        .routes(routes!(access::access_keys))
        .routes(routes!(access::revocations))
}
