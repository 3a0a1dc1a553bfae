//! `payout_runs`: A payout run: `draft → computing → ready → approved → paid | failed`.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// A row of `payout_runs`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "payout_runs")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub organization_id: i64,
    pub period_end: Date,
    pub status: String,
    pub created_by_user_id: Option<i64>,
    pub approved_by_user_id: Option<i64>,
    pub approved_at: Option<DateTimeUtc>,
    pub paid_at: Option<DateTimeUtc>,
    pub failure_reason: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    /// The last ledger entry id the run may take up; fixed when it starts computing.
    pub ledger_watermark: Option<i64>,
    pub exchange_rates: String,
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
        belongs_to = "super::user::Entity",
        from = "Column::CreatedByUserId",
        to = "super::user::Column::Id",
        on_delete = "SetNull"
    )]
    CreatedBy,
    #[sea_orm(
        belongs_to = "super::user::Entity",
        from = "Column::ApprovedByUserId",
        to = "super::user::Column::Id",
        on_delete = "SetNull"
    )]
    ApprovedBy,
    #[sea_orm(has_many = "super::payout::Entity")]
    Payouts,
}

impl Related<super::organization::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Organization.def()
    }
}

impl Related<super::payout::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Payouts.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
