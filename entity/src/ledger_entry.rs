//! `ledger_entries`: An append-only ledger entry. `cause` is unique per organisation, so a retried job cannot write it twice.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// A row of `ledger_entries`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "ledger_entries")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub organization_id: i64,
    pub payee_id: Option<i64>,
    /// `earnings|recoupment|payout|carry_forward|reserve|reserve_release|rounding|correction|label`.
    pub account: String,
    /// Signed.
    pub amount_nanos: i64,
    pub currency: String,
    pub cause: String,
    pub statement_id: Option<i64>,
    pub statement_line_id: Option<i64>,
    pub payout_run_id: Option<i64>,
    pub recoupable_id: Option<i64>,
    pub release_id: Option<i64>,
    pub track_id: Option<i64>,
    pub period: Option<Date>,
    pub created_at: DateTimeUtc,
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

impl Related<super::payee::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Payee.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
