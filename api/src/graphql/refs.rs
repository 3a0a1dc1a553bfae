//! Loading the objects an input refers to, always inside the caller's organisation: an id from
//! another organisation is reported exactly like one that does not exist.

use async_graphql::ID;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};

use super::error::{ApiResult, UserError, UserErrorCode};
use super::ids::{self, Kind};

/// Why a referenced id could not be used.
#[derive(Debug, Clone)]
pub struct RefError(String);

impl RefError {
    /// The user error for the input field that held the id.
    #[must_use]
    pub fn at(self, field: &str) -> UserError {
        UserError::new(field, UserErrorCode::NotFound, self.0)
    }
}

macro_rules! find_ref {
    ($fn_name:ident, $module:ident, $kind:expr) => {
        /// Loads the referenced row if it exists in `organization_id`.
        ///
        /// # Errors
        /// Database failures (outer); a malformed, foreign or missing id (inner).
        pub async fn $fn_name(
            db: &DatabaseConnection,
            organization_id: i64,
            id: &ID,
        ) -> ApiResult<Result<entity::$module::Model, RefError>> {
            let row_id = match ids::decode($kind, id) {
                Ok(row_id) => row_id,
                Err(message) => return Ok(Err(RefError(message))),
            };
            let found = entity::$module::Entity::find_by_id(row_id)
                .filter(entity::$module::Column::OrganizationId.eq(organization_id))
                .one(db)
                .await?;
            Ok(found.ok_or_else(|| {
                RefError(format!(
                    "no {} with this id in this organization",
                    $kind.name()
                ))
            }))
        }
    };
}

find_ref!(find_artist, artist, Kind::Artist);
find_ref!(find_payee, payee, Kind::Payee);
find_ref!(find_release, release, Kind::Release);
find_ref!(find_track, track, Kind::Track);
find_ref!(find_agreement, agreement, Kind::Agreement);
