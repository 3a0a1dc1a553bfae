//! `statement_exchange_rates`: a rate set on one statement for one currency, by the label
//! (`source = statement`) or at a remittance's effective rate (`source = effective`). A higher
//! `version` of the same `(statement, currency, source)` supersedes the others; a null `rate`
//! withdraws the source.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// A row of `statement_exchange_rates`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "statement_exchange_rates")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub organization_id: i64,
    pub statement_id: i64,
    pub currency: String,
    pub rate: Option<String>,
    pub source: String,
    pub remittance_id: Option<i64>,
    pub version: i64,
    pub created_by_user_id: Option<i64>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
