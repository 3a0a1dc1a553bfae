//! `statements`: An uploaded royalty statement file.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// A row of `statements`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "statements")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub organization_id: i64,
    pub source: Option<String>,
    pub format: Option<String>,
    pub filename: String,
    /// Hex; unique per organisation.
    pub sha256: String,
    pub storage_key: String,
    pub size_bytes: i64,
    pub currency: Option<String>,
    pub period_start: Option<Date>,
    pub period_end: Option<Date>,
    /// `uploaded → parsing → parsed | failed`.
    pub status: String,
    pub line_count: i64,
    pub error_count: i64,
    pub skipped_count: i64,
    pub matched_count: i64,
    pub unmatched_count: i64,
    pub bytes_processed: i64,
    /// Per-currency totals.
    #[sea_orm(column_type = "JsonBinary")]
    pub totals: Json,
    #[sea_orm(column_type = "JsonBinary")]
    pub warnings: Json,
    pub failure_reason: Option<String>,
    pub uploaded_by_user_id: Option<i64>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub parsed_at: Option<DateTimeUtc>,
    /// Bumped by `reallocateStatement`; ledger causes of its lines carry it.
    pub allocation_generation: i64,
    /// `pending` | `allocating` | `allocated`.
    pub allocation_status: String,
    /// Lines with ledger entries in the current generation.
    pub allocated_count: i64,
    /// Matched lines that could not be allocated (see `allocation_issues`).
    pub unallocated_count: i64,
    /// JSON list of `{reason, count, first_line}`.
    pub allocation_issues: String,
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
        belongs_to = "super::user::Entity",
        from = "Column::UploadedByUserId",
        to = "super::user::Column::Id",
        on_delete = "SetNull"
    )]
    UploadedBy,
    #[sea_orm(has_many = "super::statement_line::Entity")]
    StatementLines,
    #[sea_orm(has_many = "super::statement_error::Entity")]
    StatementErrors,
}

impl Related<super::organization::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Organization.def()
    }
}

impl Related<super::user::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::UploadedBy.def()
    }
}

impl Related<super::statement_line::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::StatementLines.def()
    }
}

impl Related<super::statement_error::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::StatementErrors.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
