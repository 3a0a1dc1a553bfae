//! `exchange_rates`: the organisation's rate table, `1 from = rate to` on `day`. Rows are
//! never edited: a higher `version` of the same `(from, to, day)` supersedes the others.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// A row of `exchange_rates`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "exchange_rates")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub organization_id: i64,
    pub day: Date,
    pub from_currency: String,
    pub to_currency: String,
    /// An exact decimal (`domain::fx::Rate`).
    pub rate: String,
    pub version: i64,
    /// `import` or `mutation`.
    pub source: String,
    pub created_by_user_id: Option<i64>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
