//! `analytics_monthly`: Monthly roll-up by artist × release × track × store × territory × currency.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// A row of `analytics_monthly`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "analytics_monthly")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub organization_id: i64,
    /// 0 when unknown (never NULL, so the unique roll-up key works).
    pub artist_id: i64,
    /// 0 when unknown.
    pub release_id: i64,
    /// 0 when unknown.
    pub track_id: i64,
    /// '' when unknown.
    pub store: String,
    /// '' when unknown.
    pub territory: String,
    /// First day of the month.
    pub month: Date,
    pub currency: String,
    pub quantity: i64,
    pub earnings_base_nanos: i64,
    pub earnings_nanos: i64,
    pub line_count: i64,
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
}

impl Related<super::organization::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Organization.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
