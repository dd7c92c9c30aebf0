//! Admin pages for users, roles (create, edit, duplicate) and the audit log.

use super::{done, page, page_err, page_with_status, FormData};
use crate::auth::perm::{AdminUsers, Page};
use crate::auth::PageUser;
use crate::error::AppResult;
use crate::extract::{Path, Query};
use crate::SharedState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::{Form, Router};
use minijinja::context;
use parterre_core::auth::permissions::PERMISSIONS;
use parterre_core::auth::{audit, roles, tokens, users};
use parterre_core::{CoreError, FieldErrors};
use std::collections::HashMap;

pub(super) fn router() -> axum::Router<SharedState> {
    Router::new()
        .route("/admin/users", get(list_users).post(create_user))
        .route("/admin/users/{id}/edit", get(edit_user))
        .route("/admin/users/{id}", axum::routing::post(update_user))
        .route("/admin/users/{id}/tokens/{token_id}/revoke", axum::routing::post(revoke_token))
        .route("/admin/roles", get(list_roles).post(create_role))
        .route("/admin/roles/new", get(new_role))
        .route("/admin/roles/{id}/edit", get(edit_role))
        .route("/admin/roles/{id}", axum::routing::post(update_role))
        .route("/admin/audit", get(audit_log))
}

const AREA: &str = "/admin/users";

async fn users_page(
    state: &SharedState,
    user: &PageUser,
    f: minijinja::Value,
    errors: &FieldErrors,
    status: StatusCode,
) -> AppResult<Response> {
    let list = users::list_users(&state.store).await.map_err(page_err)?;
    let roles = roles::list_roles(&state.store).await.map_err(page_err)?;
    page_with_status(
        user,
        AREA,
        "admin/users.html",
        context! { users => list, roles, f, errors => errors.0.clone() },
        status,
    )
}

async fn list_users(State(state): State<SharedState>, user: Page<AdminUsers>) -> AppResult<Response> {
    users_page(
        &state,
        &user,
        context! { roles => Vec::<String>::new() },
        &FieldErrors::new(),
        StatusCode::OK,
    )
    .await
}

async fn create_user(
    State(state): State<SharedState>,
    user: Page<AdminUsers>,
    Form(form): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    let form = FormData(form);
    user.check_csrf(form.csrf())?;
    let password = form
        .0
        .iter()
        .find(|(k, _)| k == "password")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    let role_codes = form.all("roles");
    match users::create_user(
        &state.store,
        &user.user.actor(),
        &form.text("login"),
        &form.text("display_name"),
        &password,
        &role_codes,
    )
    .await
    {
        Ok(_) => Ok(done(AREA)),
        Err(CoreError::Invalid(e)) => {
            let f = context! { login => form.text("login"), display_name => form.text("display_name"), roles => role_codes };
            users_page(&state, &user, f, &e, StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(CoreError::Conflict(msg)) => {
            let mut e = FieldErrors::new();
            e.add("login", msg);
            let f = context! { login => form.text("login"), display_name => form.text("display_name"), roles => role_codes };
            users_page(&state, &user, f, &e, StatusCode::CONFLICT).await
        }
        Err(e) => Err(page_err(e)),
    }
}

async fn user_form(
    state: &SharedState,
    user: &PageUser,
    u: &users::User,
    f: minijinja::Value,
    errors: &FieldErrors,
    status: StatusCode,
) -> AppResult<Response> {
    let roles = roles::list_roles(&state.store).await.map_err(page_err)?;
    let now = parterre_core::time::now_db();
    let shown = |at: &str| {
        parterre_core::time::from_db(at)
            .map(parterre_core::time::display_paris)
            .unwrap_or_else(|| at.to_string())
    };
    let user_tokens: Vec<minijinja::Value> = tokens::list_tokens(&state.store, Some(&u.login))
        .await
        .map_err(page_err)?
        .into_iter()
        .map(|t| {
            let state = match &t.revoked_at {
                Some(at) => format!("révoqué le {}", shown(at)),
                None if !t.is_active(&now) => "expiré".into(),
                None => "actif".into(),
            };
            context! {
                id => t.id, label => t.label, created => shown(&t.created_at), expires => shown(&t.expires_at),
                last_used => t.last_used_at.as_deref().map(shown).unwrap_or_else(|| "jamais".into()),
                state, active => t.is_active(&now),
            }
        })
        .collect();
    page_with_status(
        user,
        AREA,
        "admin/user_form.html",
        context! { u, roles, f, errors => errors.0.clone(), tokens => user_tokens },
        status,
    )
}

/// Revokes one API token of the user whose page this is.
async fn revoke_token(
    State(state): State<SharedState>,
    user: Page<AdminUsers>,
    Path((id, token_id)): Path<(i64, i64)>,
    Form(form): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    let form = FormData(form);
    user.check_csrf(form.csrf())?;
    tokens::revoke_token(&state.store, &user.user.actor(), tokens::TokenRef::Id(token_id), Some(id))
        .await
        .map_err(page_err)?;
    Ok(done(&format!("/admin/users/{id}/edit")))
}

async fn edit_user(State(state): State<SharedState>, user: Page<AdminUsers>, Path(id): Path<i64>) -> AppResult<Response> {
    let u = users::get_user(&state.store, id).await.map_err(page_err)?;
    let f = context! { display_name => u.display_name, active => u.active, roles => u.roles };
    user_form(&state, &user, &u, f, &FieldErrors::new(), StatusCode::OK).await
}

async fn update_user(
    State(state): State<SharedState>,
    user: Page<AdminUsers>,
    Path(id): Path<i64>,
    Form(form): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    let form = FormData(form);
    user.check_csrf(form.csrf())?;
    let u = users::get_user(&state.store, id).await.map_err(page_err)?;
    let role_codes = form.all("roles");
    let password = form.get("password");
    match users::update_user(
        &state.store,
        &user.user.actor(),
        id,
        &form.text("display_name"),
        form.flag("active"),
        &role_codes,
        password,
    )
    .await
    {
        Ok(_) => Ok(done(AREA)),
        Err(CoreError::Invalid(e)) => {
            let f = context! { display_name => form.text("display_name"), active => form.flag("active"), roles => role_codes };
            user_form(&state, &user, &u, f, &e, StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(e) => Err(page_err(e)),
    }
}

async fn list_roles(State(state): State<SharedState>, user: Page<AdminUsers>) -> AppResult<Response> {
    let roles = roles::list_roles(&state.store).await.map_err(page_err)?;
    page(&user, AREA, "admin/roles.html", context! { roles })
}

#[allow(clippy::too_many_arguments)]
fn role_form(
    user: &PageUser,
    heading: &str,
    action: &str,
    new: bool,
    code: &str,
    label: &str,
    perms: &[String],
    errors: &FieldErrors,
    status: StatusCode,
) -> AppResult<Response> {
    let f = context! { code, label, permissions => perms };
    let permissions: Vec<(String, String)> = PERMISSIONS.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect();
    page_with_status(
        user,
        AREA,
        "admin/role_form.html",
        context! { heading, action, new, f, permissions, errors => errors.0.clone() },
        status,
    )
}

async fn new_role(
    State(state): State<SharedState>,
    user: Page<AdminUsers>,
    Query(q): Query<HashMap<String, String>>,
) -> AppResult<Response> {
    match q.get("from").and_then(|s| s.parse::<i64>().ok()) {
        Some(from) => {
            let src = roles::get_role(&state.store, from).await.map_err(page_err)?;
            let heading = format!("Dupliquer le profil « {} »", src.label);
            role_form(
                &user,
                &heading,
                "/admin/roles",
                true,
                &format!("{}_copie", src.code),
                &format!("{} (copie)", src.label),
                &src.permissions,
                &FieldErrors::new(),
                StatusCode::OK,
            )
        }
        None => role_form(
            &user,
            "Nouveau profil",
            "/admin/roles",
            true,
            "",
            "",
            &[],
            &FieldErrors::new(),
            StatusCode::OK,
        ),
    }
}

async fn create_role(
    State(state): State<SharedState>,
    user: Page<AdminUsers>,
    Form(form): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    let form = FormData(form);
    user.check_csrf(form.csrf())?;
    let perms = form.all("permissions");
    let (code, label) = (form.text("code"), form.text("label"));
    match roles::create_role(&state.store, &user.user.actor(), &code, &label, &perms).await {
        Ok(_) => Ok(done("/admin/roles")),
        Err(CoreError::Invalid(e)) => role_form(
            &user,
            "Nouveau profil",
            "/admin/roles",
            true,
            &code,
            &label,
            &perms,
            &e,
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        Err(CoreError::Conflict(msg)) => {
            let mut e = FieldErrors::new();
            e.add("code", msg);
            role_form(
                &user,
                "Nouveau profil",
                "/admin/roles",
                true,
                &code,
                &label,
                &perms,
                &e,
                StatusCode::CONFLICT,
            )
        }
        Err(e) => Err(page_err(e)),
    }
}

async fn edit_role(State(state): State<SharedState>, user: Page<AdminUsers>, Path(id): Path<i64>) -> AppResult<Response> {
    let r = roles::get_role(&state.store, id).await.map_err(page_err)?;
    let heading = format!("Profil « {} »", r.label);
    role_form(
        &user,
        &heading,
        &format!("/admin/roles/{id}"),
        false,
        &r.code,
        &r.label,
        &r.permissions,
        &FieldErrors::new(),
        StatusCode::OK,
    )
}

async fn update_role(
    State(state): State<SharedState>,
    user: Page<AdminUsers>,
    Path(id): Path<i64>,
    Form(form): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    let form = FormData(form);
    user.check_csrf(form.csrf())?;
    let r = roles::get_role(&state.store, id).await.map_err(page_err)?;
    let perms = form.all("permissions");
    let label = form.text("label");
    match roles::update_role(&state.store, &user.user.actor(), id, &label, &perms).await {
        Ok(_) => Ok(done("/admin/roles")),
        Err(CoreError::Invalid(e)) => {
            let heading = format!("Profil « {} »", r.label);
            role_form(
                &user,
                &heading,
                &format!("/admin/roles/{id}"),
                false,
                &r.code,
                &label,
                &perms,
                &e,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
        }
        Err(e) => Err(page_err(e)),
    }
}

async fn audit_log(State(state): State<SharedState>, user: Page<AdminUsers>) -> AppResult<Response> {
    let entries = audit::recent(&state.store, None, 200).await.map_err(page_err)?;
    page(&user, AREA, "admin/audit.html", context! { entries })
}
