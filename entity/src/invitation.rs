//! `invitations`: A pending invitation to join an organisation.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// A row of `invitations`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "invitations")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub organization_id: i64,
    pub email: String,
    pub role: String,
    pub artist_id: Option<i64>,
    /// Unique.
    pub token_hash: String,
    pub invited_by_user_id: i64,
    pub created_at: DateTimeUtc,
    pub expires_at: DateTimeUtc,
    pub accepted_at: Option<DateTimeUtc>,
    pub accepted_by_user_id: Option<i64>,
    /// Withdrawn by a member manager; a revoked invitation cannot be accepted.
    pub revoked_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::organization::Entity",
        from = "Column::OrganizationId",
        to = "super::organization::Column::Id",
        on_delete = "Cascade"
    )]
    Organization,
    #[sea_orm(
        belongs_to = "super::artist::Entity",
        from = "Column::ArtistId",
        to = "super::artist::Column::Id",
        on_delete = "SetNull"
    )]
    Artist,
    #[sea_orm(
        belongs_to = "super::user::Entity",
        from = "Column::InvitedByUserId",
        to = "super::user::Column::Id",
        on_delete = "Cascade"
    )]
    InvitedBy,
    #[sea_orm(
        belongs_to = "super::user::Entity",
        from = "Column::AcceptedByUserId",
        to = "super::user::Column::Id",
        on_delete = "SetNull"
    )]
    AcceptedBy,
}

impl Related<super::organization::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Organization.def()
    }
}

impl Related<super::artist::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Artist.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
