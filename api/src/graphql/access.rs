//! Authorization of an organisation-wide question ("may the caller list this organisation's
//! statements?"). The permission table is `domain::auth`'s; objects themselves are released
//! through [`super::guard`], which asks the same table.
//!
//! Users get permissions from their role; API keys from their scopes and only in the
//! organisation that issued them. An `artist` member additionally gets an artist scope: lists
//! are filtered to her own roster artist, and another artist's object is not found.

use async_graphql::Context;
use domain::auth::Role;
use sea_orm::DatabaseConnection;

use super::error::{ApiError, ApiResult};
use super::guard::{holder, permission_message};
use crate::auth::Principal;
use crate::state::AppState;
use domain::auth::Holder;

pub use domain::auth::Permission;

/// Proof that the caller may do something in one organisation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OrgAccess {
    pub organization_id: i64,
    /// `None` for an API key.
    pub role: Option<Role>,
    /// `Some` when the caller is an artist member: they see only this artist's data.
    pub artist_id: Option<i64>,
}

impl OrgAccess {
    #[must_use]
    pub fn can_see_artist(&self, artist_id: i64) -> bool {
        self.artist_id.is_none_or(|own| own == artist_id)
    }

    /// # Errors
    /// NOT_FOUND when the caller is scoped to another artist: to her, it does not exist.
    pub fn check_artist(&self, artist_id: i64) -> ApiResult<()> {
        if self.can_see_artist(artist_id) {
            Ok(())
        } else {
            Err(ApiError::NotFound("Artist"))
        }
    }
}

/// # Errors
/// UNAUTHENTICATED without credentials; NOT_FOUND for an organisation the caller is not in
/// (exactly as for one that does not exist); FORBIDDEN without the permission in it.
pub fn authorize(
    principal: &Principal,
    organization_id: i64,
    permission: Permission,
) -> ApiResult<OrgAccess> {
    if matches!(principal, Principal::Anonymous) {
        return Err(ApiError::Unauthenticated);
    }
    let holder = holder(principal, organization_id).ok_or(ApiError::NotFound("Organization"))?;
    if !holder.has(permission) {
        return Err(ApiError::Forbidden(permission_message(permission)));
    }
    Ok(OrgAccess {
        organization_id,
        role: match holder {
            Holder::Member { role, .. } => Some(role),
            Holder::Key { .. } => None,
        },
        artist_id: holder.artist_scope(),
    })
}

/// Shorthands every resolver uses.
pub trait ContextExt {
    fn state(&self) -> &AppState;
    fn db(&self) -> &DatabaseConnection;
    fn principal(&self) -> &Principal;
    /// # Errors
    /// See [`authorize`].
    fn authorize(&self, organization_id: i64, permission: Permission) -> ApiResult<OrgAccess>;
}

impl ContextExt for Context<'_> {
    fn state(&self) -> &AppState {
        self.data_unchecked::<AppState>()
    }

    fn db(&self) -> &DatabaseConnection {
        &self.state().db
    }

    fn principal(&self) -> &Principal {
        self.data_opt::<Principal>()
            .unwrap_or(&Principal::Anonymous)
    }

    fn authorize(&self, organization_id: i64, permission: Permission) -> ApiResult<OrgAccess> {
        authorize(self.principal(), organization_id, permission)
    }
}
