//! `payout_run_held_statements`: a statement whose money a payout run held back (the
//! organisation pays only reconciled money and no remittance paid it yet).

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// A row of `payout_run_held_statements`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "payout_run_held_statements")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub payout_run_id: i64,
    #[sea_orm(primary_key, auto_increment = false)]
    pub statement_id: i64,
    pub organization_id: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
