//! Authorization: every resolver asks here before it reads or writes an organisation's data.
//!
//! The rule is the same for users and API keys: a permission is checked against one
//! organisation. Users get permissions from their role; API keys from their scopes and only in
//! the organisation that issued them. An `artist` member additionally gets an artist scope:
//! everything they read is filtered to their own roster artist, and an object of another artist
//! is FORBIDDEN, never partially shown.

use async_graphql::Context;
use domain::auth::{Role, Scope};
use sea_orm::DatabaseConnection;

use super::error::{ApiError, ApiResult};
use crate::auth::Principal;
use crate::state::AppState;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Permission {
    /// Roster, releases, tracks, agreements, payees, splits.
    ReadCatalogue,
    WriteCatalogue,
    /// Statements, earnings, payouts.
    ReadMoney,
    /// Upload statements, set splits, run payouts.
    WriteMoney,
    ApprovePayouts,
    /// Members, invitations, API keys.
    ManageMembers,
    ReadAnalytics,
    ManageWebhooks,
}

impl Permission {
    fn allowed_for(self, role: Role) -> bool {
        use Permission::*;
        match role {
            Role::Owner | Role::Admin => true,
            Role::Manager => !matches!(self, ManageMembers | ApprovePayouts | ManageWebhooks),
            Role::Viewer => matches!(self, ReadCatalogue | ReadMoney | ReadAnalytics),
            Role::Artist => matches!(self, ReadCatalogue | ReadMoney | ReadAnalytics),
        }
    }

    fn granted_by(self, scopes: &[Scope]) -> bool {
        use Permission::*;
        let has = |s: Scope| scopes.contains(&s);
        match self {
            ReadCatalogue => has(Scope::ReadCatalogue) || has(Scope::WriteCatalogue),
            WriteCatalogue => has(Scope::WriteCatalogue),
            ReadMoney => {
                has(Scope::ReadStatements)
                    || has(Scope::WriteStatements)
                    || has(Scope::ReadPayouts)
                    || has(Scope::WritePayouts)
            }
            WriteMoney => has(Scope::WriteStatements) || has(Scope::WritePayouts),
            ApprovePayouts => has(Scope::WritePayouts),
            ManageMembers => false,
            ReadAnalytics => has(Scope::ReadAnalytics),
            ManageWebhooks => has(Scope::ManageWebhooks),
        }
    }
}

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
    /// FORBIDDEN when the caller is scoped to another artist.
    pub fn check_artist(&self, artist_id: i64) -> ApiResult<()> {
        if self.can_see_artist(artist_id) {
            Ok(())
        } else {
            Err(ApiError::Forbidden("this belongs to another artist"))
        }
    }
}

/// # Errors
/// UNAUTHENTICATED without credentials, FORBIDDEN without the permission in that organisation.
pub fn authorize(
    principal: &Principal,
    organization_id: i64,
    permission: Permission,
) -> ApiResult<OrgAccess> {
    match principal {
        Principal::Anonymous => Err(ApiError::Unauthenticated),
        Principal::ApiKey { key, scopes } => {
            if key.organization_id != organization_id {
                return Err(ApiError::Forbidden(
                    "this API key belongs to another organization",
                ));
            }
            if !permission.granted_by(scopes) {
                return Err(ApiError::Forbidden("this API key lacks the scope for this"));
            }
            Ok(OrgAccess {
                organization_id,
                role: None,
                artist_id: None,
            })
        }
        Principal::User { memberships, .. } => {
            let membership = memberships
                .iter()
                .find(|m| m.organization_id == organization_id)
                .ok_or(ApiError::Forbidden(
                    "you are not a member of this organization",
                ))?;
            let role: Role = membership
                .role
                .parse()
                .map_err(|_| ApiError::Forbidden("your membership has an unknown role"))?;
            if !permission.allowed_for(role) {
                return Err(ApiError::Forbidden("your role does not allow this"));
            }
            let artist_id = if role == Role::Artist {
                Some(membership.artist_id.ok_or(ApiError::Forbidden(
                    "your artist membership is not linked to an artist",
                ))?)
            } else {
                None
            };
            Ok(OrgAccess {
                organization_id,
                role: Some(role),
                artist_id,
            })
        }
    }
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
