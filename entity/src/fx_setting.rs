//! `fx_settings`: an organisation's reconciliation setting (one row at most; none: off).

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// A row of `fx_settings`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "fx_settings")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub organization_id: i64,
    /// Payout runs count only money from statements a remittance has reconciled.
    pub payouts_reconciled_only: bool,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
