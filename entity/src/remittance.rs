//! `remittances`: money that reached the bank, paying one or more statements.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// A row of `remittances`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "remittances")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub organization_id: i64,
    pub amount_nanos: i64,
    pub currency: String,
    pub received_on: Date,
    pub from_whom: String,
    pub reference: String,
    pub created_by_user_id: Option<i64>,
    pub created_at: DateTimeUtc,
    /// Reference, amount, currency, day and statements: unique per organisation, so a double
    /// click records the remittance once (null on rows recorded before the key existed).
    pub dedup_key: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
