//! `artists`: A roster artist.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// A row of `artists`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "artists")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub organization_id: i64,
    pub name: String,
    pub sort_name: Option<String>,
    pub joined_on: Date,
    pub left_on: Option<Date>,
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
    #[sea_orm(has_many = "super::artist_profile::Entity")]
    ArtistProfiles,
    #[sea_orm(has_many = "super::agreement::Entity")]
    Agreements,
    #[sea_orm(has_many = "super::release::Entity")]
    Releases,
    #[sea_orm(has_many = "super::payee::Entity")]
    Payees,
    #[sea_orm(has_many = "super::track_artist::Entity")]
    TrackArtists,
}

impl Related<super::organization::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Organization.def()
    }
}

impl Related<super::artist_profile::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::ArtistProfiles.def()
    }
}

impl Related<super::agreement::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Agreements.def()
    }
}

impl Related<super::release::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Releases.def()
    }
}

impl Related<super::payee::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Payees.def()
    }
}

impl Related<super::track_artist::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::TrackArtists.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
