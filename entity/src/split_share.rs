//! `split_shares`: One payee's share of a split, in parts per billion.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// A row of `split_shares`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "split_shares")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub organization_id: i64,
    pub split_id: i64,
    pub payee_id: i64,
    pub share_ppb: i64,
    /// When the payee's share was confirmed (split consent); null until it is.
    pub confirmed_at: Option<DateTimeUtc>,
    /// Who confirmed it: the artist member, or the label member who set the split for a payee
    /// no member speaks for.
    pub confirmed_by_user_id: Option<i64>,
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
        belongs_to = "super::split::Entity",
        from = "Column::SplitId",
        to = "super::split::Column::Id",
        on_delete = "Cascade"
    )]
    Split,
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

impl Related<super::split::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Split.def()
    }
}

impl Related<super::payee::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Payee.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
