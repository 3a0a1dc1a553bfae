//! `agreements`: An artist's written agreement with the label.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// A row of `agreements`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "agreements")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub organization_id: i64,
    pub artist_id: i64,
    pub title: String,
    /// `label | artist | joint`.
    pub master_owner: String,
    pub label_master_share_ppb: i64,
    pub artist_revenue_share_ppb: i64,
    pub deal_basis: String,
    pub recoupment_scope: String,
    pub advance_nanos: i64,
    pub currency: String,
    pub artist_may_take_down: bool,
    pub masters_revert_after_months: Option<i32>,
    pub exit_release_policy: String,
    pub future_rights: String,
    pub future_options_count: Option<i32>,
    pub starts_on: Date,
    pub ends_on: Option<Date>,
    pub document_url: Option<String>,
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
