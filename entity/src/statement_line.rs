//! `statement_lines`: One sale or usage line of a statement.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// A row of `statement_lines`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "statement_lines")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub organization_id: i64,
    pub statement_id: i64,
    pub line_number: i64,
    /// The line's idempotency key (`domain::statement::LineKey`, 16 bytes), unique per
    /// organisation.
    pub fingerprint: Vec<u8>,
    pub isrc: Option<String>,
    pub upc: Option<String>,
    pub title: Option<String>,
    pub artist_name: Option<String>,
    pub release_title: Option<String>,
    pub store: Option<String>,
    /// ISO 3166-1 alpha-2.
    pub territory: Option<String>,
    pub territory_raw: Option<String>,
    pub sale_period_start: Option<Date>,
    pub sale_period_end: Option<Date>,
    pub usage_type: Option<String>,
    pub quantity: i64,
    pub amount_nanos: i64,
    pub currency: String,
    pub base_amount_nanos: i64,
    pub base_currency: String,
    pub track_id: Option<i64>,
    pub release_id: Option<i64>,
    pub match_method: Option<String>,
    /// The rate a foreign-currency line was converted at (`domain::fx::Rate`); null while it
    /// waits for one, and for lines in the base currency.
    pub fx_rate: Option<String>,
    /// Where `fx_rate` came from (`domain::fx::RateSource`).
    pub fx_source: Option<String>,
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
        belongs_to = "super::statement::Entity",
        from = "Column::StatementId",
        to = "super::statement::Column::Id",
        on_delete = "Cascade"
    )]
    Statement,
    #[sea_orm(
        belongs_to = "super::track::Entity",
        from = "Column::TrackId",
        to = "super::track::Column::Id",
        on_delete = "SetNull"
    )]
    Track,
    #[sea_orm(
        belongs_to = "super::release::Entity",
        from = "Column::ReleaseId",
        to = "super::release::Column::Id",
        on_delete = "SetNull"
    )]
    Release,
}

impl Related<super::organization::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Organization.def()
    }
}

impl Related<super::statement::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Statement.def()
    }
}

impl Related<super::track::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Track.def()
    }
}

impl Related<super::release::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Release.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
