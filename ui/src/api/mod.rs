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

/// Documents, on every operation, the refusals the extractors and layers answer before or
/// around the handler (all with the JSON error body): 400 for a malformed path, query string,
/// header or JSON body; 404 for an unknown id in the path; 413 for a body over the limit and
/// 415 for a body that is not JSON; 422 for a body, a query parameter or a header (an
/// Idempotency-Key used for another operation) that is well-formed but not acceptable; 503 when
/// the server is full or the request timed out. A handler's own description of the same status
/// wins. Applied once every route is in (see [`router`]): the one place these are documented.
struct Rejections;

impl utoipa::Modify for Rejections {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::path::{Operation, ParameterIn};
        use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder};
        let error = |description: &str| {
            RefOr::T(
                ResponseBuilder::new()
                    .description(description)
                    .content(
                        "application/json",
                        ContentBuilder::new().schema(Some(Ref::from_schema_name("ErrorBody"))).build(),
                    )
                    .build(),
            )
        };
        let document = |op: &mut Operation| {
            let params = op.parameters.iter().flatten().filter_map(|p| match p {
                RefOr::T(p) => Some(p.parameter_in.clone()),
                RefOr::Ref(_) => None,
            });
            let (mut path, mut query, mut header) = (false, false, false);
            for place in params {
                match place {
                    ParameterIn::Path => path = true,
                    ParameterIn::Query => query = true,
                    ParameterIn::Header => header = true,
                    _ => {}
                }
            }
            let body = op.request_body.is_some();
            let mut wanted = vec![(
                "400",
                "Malformed request: path, query string, header or JSON body (JSON error body)",
            )];
            if path {
                wanted.push(("404", "Unknown id in the path"));
            }
            if body {
                wanted.push(("413", "Body over the limit (1 MiB by default)"));
                wanted.push(("415", "Body missing or not sent as application/json"));
            }
            if body || query || header {
                wanted.push(("422", "Invalid field or parameter (see fields)"));
            }
            wanted.push(("503", "Server busy or request timed out: try again"));
            for (status, description) in wanted {
                op.responses
                    .responses
                    .entry(status.to_string())
                    .or_insert_with(|| error(description));
            }
        };
        for item in openapi.paths.paths.values_mut() {
            for op in [&mut item.get, &mut item.put, &mut item.post, &mut item.delete, &mut item.patch]
                .into_iter()
                .flatten()
            {
                document(op);
            }
        }
    }
}

/// Every API route with its OpenAPI description.
pub fn router() -> OpenApiRouter<SharedState> {
    let mut router = OpenApiRouter::with_openapi(ApiDoc::openapi())
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
        .routes(routes!(access::revocations));
    utoipa::Modify::modify(&Rejections, router.get_openapi_mut());
    router
}
