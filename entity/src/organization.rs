//! `organizations`: A tenant: a label or an artist collective.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// A row of `organizations`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "organizations")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub name: String,
    /// `label` | `collective`.
    pub kind: String,
    /// ISO 4217.
    pub base_currency: String,
    pub created_at: DateTimeUtc,
    /// Bumped by every analytics roll-up refresh; cached analytics answers are keyed by it.
    pub analytics_version: i64,
    /// The length of a payout period in months (1, 3 or 6).
    pub payout_period_months: i32,
    /// After how many periods a reserve is released.
    pub reserve_release_periods: i32,
    /// `pay` | `hold`: what allocation does with a split not every payee has confirmed
    /// (`domain::consent::UnconfirmedSplits`).
    pub unconfirmed_splits: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(has_many = "super::membership::Entity")]
    Memberships,
    #[sea_orm(has_many = "super::artist::Entity")]
    Artists,
    #[sea_orm(has_many = "super::payee::Entity")]
    Payees,
    #[sea_orm(has_many = "super::release::Entity")]
    Releases,
    #[sea_orm(has_many = "super::statement::Entity")]
    Statements,
    #[sea_orm(has_many = "super::payout_run::Entity")]
    PayoutRuns,
}

impl Related<super::membership::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Memberships.def()
    }
}

impl Related<super::artist::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Artists.def()
    }
}

impl Related<super::payee::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Payees.def()
    }
}

impl Related<super::release::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Releases.def()
    }
}

impl Related<super::statement::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Statements.def()
    }
}

impl Related<super::payout_run::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::PayoutRuns.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}

/// A new organisation's payout period: quarterly, the most common royalty cycle.
pub const DEFAULT_PAYOUT_PERIOD_MONTHS: i32 = 3;
/// A new organisation releases a reserve after two periods.
pub const DEFAULT_RESERVE_RELEASE_PERIODS: i32 = 2;
