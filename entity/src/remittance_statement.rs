//! `remittance_statements`: which statements a remittance pays.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// A row of `remittance_statements`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "remittance_statements")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub organization_id: i64,
    pub remittance_id: i64,
    pub statement_id: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
