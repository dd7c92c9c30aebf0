//! The SQL page (`/reports/sql`): read-only queries on the warehouse for users with
//! `warehouse.query`, with the tables and their columns beside the editor.

use super::{page, page_with_status, FormData};
use crate::api::warehouse::{run, tables_for};
use crate::auth::perm::{Page, WarehouseQuery};
use crate::auth::PageUser;
use crate::error::{AppResult, Surface};
use crate::SharedState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::{Form, Router};
use minijinja::context;

/// Rows shown on the page (the API and the CLI give more).
const PAGE_ROWS: usize = 1_000;

const EXAMPLE: &str = "SELECT s.name AS spectacle, count(*) AS billets, sum(t.amount_ttc) AS recette_ttc\n\
FROM fact_ticket t JOIN dim_show s ON s.show_id = t.show_id\n\
WHERE t.status = 'valid'\n\
GROUP BY s.name\n\
ORDER BY recette_ttc DESC\n\
LIMIT 20";

pub(super) fn router() -> axum::Router<SharedState> {
    Router::new().route("/reports/sql", get(show).post(execute))
}

fn tables(user: &PageUser) -> Vec<minijinja::Value> {
    tables_for(&user.user)
        .iter()
        .map(|t| {
            let columns: Vec<String> = parterre_warehouse::query::table_schema(*t)
                .fields()
                .iter()
                .map(|f| f.name().clone())
                .collect();
            context! { name => t.name(), columns }
        })
        .collect()
}

async fn show(State(_state): State<SharedState>, user: Page<WarehouseQuery>) -> AppResult<Response> {
    page(
        &user,
        "/reports",
        "reports/sql.html",
        context! { query => EXAMPLE, tables => tables(&user) },
    )
}

async fn execute(
    State(state): State<SharedState>,
    user: Page<WarehouseQuery>,
    Form(form): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    let form = FormData(form);
    user.check_csrf(form.csrf())?;
    let query = form.text("query");
    match run(&state, &user.user, &query, PAGE_ROWS, Surface::Page, "/reports/sql").await {
        Ok(r) => page(
            &user,
            "/reports",
            "reports/sql.html",
            context! { query, tables => tables(&user), result => r, max => PAGE_ROWS },
        ),
        Err(e) => {
            let status = e.status;
            page_with_status(
                &user,
                "/reports",
                "reports/sql.html",
                context! { query, tables => tables(&user), error => e.message },
                if status.is_server_error() {
                    StatusCode::INTERNAL_SERVER_ERROR
                } else {
                    status
                },
            )
        }
    }
}
