//! Page templates (minijinja), embedded in the binary so `parterre` runs from anywhere.
//! French texts live in the templates; formatting filters (euros, Paris time) live here.

use axum::http::StatusCode;
use minijinja::{context, Environment, Value};
use parterre_core::{money, time, Money};
use std::sync::OnceLock;

macro_rules! embed {
    ($env:expr, $($name:literal),* $(,)?) => {
        $( $env.add_template($name, include_str!(concat!("../templates/", $name))).expect($name); )*
    };
}

fn build() -> Environment<'static> {
    let mut env = Environment::new();
    embed!(
        env,
        "base.html",
        "forms.html",
        "login.html",
        "home.html",
        "error.html",
        "area.html",
        "reports/sql.html",
        "admin/shows.html",
        "admin/show_form.html",
        "admin/performances.html",
        "admin/performance_form.html",
        "admin/plan.html",
        "admin/prices.html",
        "admin/halls.html",
        "admin/users.html",
        "admin/user_form.html",
        "admin/roles.html",
        "admin/role_form.html",
        "admin/audit.html",
        "box_office/index.html",
        "box_office/performance.html",
        "box_office/cart.html",
        "box_office/order.html",
    );
    env.add_filter("euros", |cents: i64| Money::cents(cents).display_fr());
    env.add_filter("paris", |s: String| time::from_db(&s).map(time::display_paris).unwrap_or(s));
    env.add_filter("vat", |bp: i64| money::vat_display(bp));
    env.add_global("areas", Value::from_serialize(AREAS));
    env
}

/// The areas of the navigation: path, label, permission needed to see the entry.
pub const AREAS: &[(&str, &str, &str)] = &[
    ("/box-office", "Billetterie", "sales.sell"),
    ("/admin/shows", "Programmation", "catalog.read"),
    ("/crm", "Publics", "crm.read"),
    ("/segments", "Segments", "crm.read"),
    ("/reports", "Rapports", "warehouse.query"),
    ("/dashboards", "Tableaux de bord", "warehouse.query"),
    ("/accounting", "Comptabilité", "accounting.read"),
    ("/groups", "Groupes et scolaires", "sales.sell"),
    ("/scan", "Contrôle d'accès", "sales.sell"),
    ("/admin/users", "Administration", "admin.users"),
];

/// The template environment.
pub fn env() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(build)
}

/// Handle kept in the application state.
#[derive(Debug, Default)]
pub struct Templates;

impl Templates {
    /// Loads (once) the embedded templates.
    pub fn new() -> Self {
        env();
        Templates
    }
}

/// Renders `name`; a template error becomes a 500 page.
pub fn render(name: &str, ctx: Value) -> Result<String, crate::error::AppError> {
    env().get_template(name).and_then(|t| t.render(ctx)).map_err(|e| {
        tracing::error!(error = %e, template = name, "template error");
        crate::error::AppError::page(StatusCode::INTERNAL_SERVER_ERROR, "erreur d'affichage de la page")
    })
}

/// The error page (never fails: falls back to plain text).
pub fn render_error(status: StatusCode, message: &str) -> String {
    env()
        .get_template("error.html")
        .and_then(|t| t.render(context! { status => status.as_u16(), title => status.canonical_reason().unwrap_or("Erreur"), message }))
        .unwrap_or_else(|_| format!("{} — {}", status.as_u16(), message))
}
