//! `recoupables`: An advance or expense recouped before payees are paid.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// A row of `recoupables`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "recoupables")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub organization_id: i64,
    /// `advance` | `expense`.
    pub kind: String,
    pub description: String,
    pub amount_nanos: i64,
    pub currency: String,
    pub artist_id: Option<i64>,
    pub release_id: Option<i64>,
    pub payee_id: Option<i64>,
    pub cross_collateralized: bool,
    pub shared_rule: Option<String>,
    pub incurred_on: Date,
    pub created_at: DateTimeUtc,
    /// The sum of its `recoupment` ledger entries, kept in step with them.
    pub recouped_nanos: i64,
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
        on_delete = "NoAction"
    )]
    Artist,
    #[sea_orm(
        belongs_to = "super::release::Entity",
        from = "Column::ReleaseId",
        to = "super::release::Column::Id",
        on_delete = "NoAction"
    )]
    Release,
    #[sea_orm(
        belongs_to = "super::payee::Entity",
        from = "Column::PayeeId",
        to = "super::payee::Column::Id",
        on_delete = "NoAction"
    )]
    Payee,
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

impl Related<super::release::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Release.def()
    }
}

impl Related<super::payee::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Payee.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
