//! `payouts`: One payee's payout in one currency within a run.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// A row of `payouts`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "payouts")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub organization_id: i64,
    pub payout_run_id: i64,
    pub payee_id: i64,
    pub currency: String,
    pub brought_forward_nanos: i64,
    pub earnings_nanos: i64,
    pub recouped_nanos: i64,
    pub reserved_nanos: i64,
    pub reserve_released_nanos: i64,
    pub payable_nanos: i64,
    pub carried_forward_nanos: i64,
    pub status: String,
    pub payment_reference: Option<String>,
    pub paid_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    /// The sub-minor-unit part of the balance carried forward when a payment was made.
    pub rounding_remainder_nanos: i64,
    /// A positive balance carried forward because it is below the payee's minimum.
    pub below_minimum: bool,
    pub withheld_nanos: i64,
    pub withholding_ppb: i64,
    pub paid_nanos: i64,
    pub payout_currency: String,
    pub exchange_rate: String,
    pub payout_amount_nanos: i64,
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
        belongs_to = "super::payout_run::Entity",
        from = "Column::PayoutRunId",
        to = "super::payout_run::Column::Id",
        on_delete = "Cascade"
    )]
    PayoutRun,
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

impl Related<super::payout_run::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::PayoutRun.def()
    }
}

impl Related<super::payee::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Payee.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
