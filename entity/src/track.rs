//! `tracks`: A track on a release.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// A row of `tracks`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "tracks")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub organization_id: i64,
    pub release_id: i64,
    pub title: String,
    /// Unique per organisation when set.
    pub isrc: Option<String>,
    pub iswc: Option<String>,
    pub duration_ms: Option<i32>,
    /// Unique within the release.
    pub position: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
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
        belongs_to = "super::release::Entity",
        from = "Column::ReleaseId",
        to = "super::release::Column::Id",
        on_delete = "Cascade"
    )]
    Release,
    #[sea_orm(has_many = "super::track_artist::Entity")]
    TrackArtists,
}

impl Related<super::organization::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Organization.def()
    }
}

impl Related<super::release::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Release.def()
    }
}

impl Related<super::track_artist::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::TrackArtists.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
