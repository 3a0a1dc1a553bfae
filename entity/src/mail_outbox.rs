//! `mail_outbox`: One mail to one recipient, written with the event it tells of, delivered by
//! `DeliverMail`.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// A row of `mail_outbox`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "mail_outbox")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub organization_id: i64,
    /// Event + recipient (`domain::mail::idempotency_key`); unique.
    pub idempotency_key: String,
    /// `domain::mail::MailKind`.
    pub kind: String,
    /// What happened, e.g. `invitation:12`.
    pub event: String,
    pub recipient: String,
    pub subject: String,
    pub text_body: String,
    pub html_body: String,
    /// The payout whose payee statement PDF goes attached.
    pub payout_id: Option<i64>,
    /// `domain::mail::OutboxStatus`.
    pub status: String,
    /// Attempts started so far.
    pub attempts: i32,
    /// When the next attempt is due (while `pending`); during an attempt, the end of its lease.
    pub next_attempt_at: Option<DateTimeUtc>,
    pub last_attempt_at: Option<DateTimeUtc>,
    pub last_error: Option<String>,
    pub sent_at: Option<DateTimeUtc>,
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
}

impl Related<super::organization::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Organization.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
