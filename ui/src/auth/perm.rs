//! Typed permission checks: a handler states the permission it needs in its signature
//! (`user: Api<SalesSell>`, `user: Page<CatalogEdit>`), and the extractor refuses the request
//! (403, audited with the route's template) before any other part of it is read: a caller
//! without the right learns nothing from a malformed body, and no handler can forget the check
//! or name the wrong route in the audit log.

use super::{require, ApiUser, PageUser};
use crate::error::{AppError, Surface};
use crate::SharedState;
use axum::extract::{FromRequestParts, MatchedPath};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use parterre_core::auth::permissions::{self, Permission};
use std::marker::PhantomData;

/// A permission named at the type level.
pub trait Required: Send + Sync + 'static {
    /// The permission checked.
    const PERMISSION: Permission;
}

macro_rules! markers {
    ($($(#[$m:meta])* $name:ident => $perm:path),+ $(,)?) => {$(
        $(#[$m])*
        #[derive(Debug, Clone, Copy)]
        pub struct $name;
        impl Required for $name {
            const PERMISSION: Permission = $perm;
        }
    )+};
}

markers! {
    /// `catalog.read`.
    CatalogRead => permissions::CATALOG_READ,
    /// `catalog.edit`.
    CatalogEdit => permissions::CATALOG_EDIT,
    /// `sales.sell`.
    SalesSell => permissions::SALES_SELL,
    /// `warehouse.query`.
    WarehouseQuery => permissions::WAREHOUSE_QUERY,
    /// `access.scan`.
    AccessScan => permissions::ACCESS_SCAN,
    /// `admin.users`.
    AdminUsers => permissions::ADMIN_USERS,
}

/// The route as declared (`/api/v1/orders/{id}/refund`), for the audit row; the path itself
/// when the router did not say (it then carries ids, never personal data).
fn route(parts: &Parts) -> String {
    parts
        .extensions
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_string())
        .unwrap_or_else(|| parts.uri.path().to_string())
}

/// An API caller holding permission `P`.
#[derive(Debug, Clone)]
pub struct Api<P: Required> {
    user: ApiUser,
    _p: PhantomData<P>,
}

impl<P: Required> std::ops::Deref for Api<P> {
    type Target = ApiUser;
    fn deref(&self) -> &ApiUser {
        &self.user
    }
}

impl<P: Required> FromRequestParts<SharedState> for Api<P> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &SharedState) -> Result<Self, Self::Rejection> {
        let user = ApiUser::from_request_parts(parts, state).await?;
        if !user.0.can(P::PERMISSION) {
            require(state, &user.0, P::PERMISSION, &route(parts), Surface::Api).await?;
        }
        Ok(Api { user, _p: PhantomData })
    }
}

/// A logged-in browser user holding permission `P`.
#[derive(Debug, Clone)]
pub struct Page<P: Required> {
    user: PageUser,
    _p: PhantomData<P>,
}

impl<P: Required> std::ops::Deref for Page<P> {
    type Target = PageUser;
    fn deref(&self) -> &PageUser {
        &self.user
    }
}

impl<P: Required> FromRequestParts<SharedState> for Page<P> {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &SharedState) -> Result<Self, Self::Rejection> {
        let user = PageUser::from_request_parts(parts, state).await?;
        if !user.user.can(P::PERMISSION) {
            require(state, &user.user, P::PERMISSION, &route(parts), Surface::Page)
                .await
                .map_err(IntoResponse::into_response)?;
        }
        Ok(Page { user, _p: PhantomData })
    }
}
