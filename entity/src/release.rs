//! `releases`: A release (album, EP, single) of a primary artist.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// A row of `releases`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "releases")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub organization_id: i64,
    /// Primary artist.
    pub artist_id: i64,
    pub title: String,
    /// Unique per organisation when set.
    pub upc: Option<String>,
    pub release_type: String,
    pub release_date: Option<Date>,
    /// `draft → scheduled → live → taken_down`.
    pub status: String,
    pub label_name: Option<String>,
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
        belongs_to = "super::artist::Entity",
        from = "Column::ArtistId",
        to = "super::artist::Column::Id",
        on_delete = "Cascade"
    )]
    Artist,
    #[sea_orm(has_many = "super::track::Entity")]
    Tracks,
    #[sea_orm(has_many = "super::split::Entity")]
    Splits,
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

impl Related<super::track::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Tracks.def()
    }
}

impl Related<super::split::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Splits.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
