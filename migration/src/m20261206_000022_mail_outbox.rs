//! `mail_outbox`: the transactional outbox of the mails Imprint sends (issue 15, "telling
//! people"). A row is written in the same transaction as the event it tells of (an invitation
//! created, a run paid, a week's digest decided), so a committed event always has its mail and
//! a rolled-back one never does. `idempotency_key` (event + recipient) is unique: an event
//! queues at most one mail per address. `DeliverMail` claims a row by a conditional update of
//! `attempts` and `next_attempt_at` (its lease), sends it, and marks it `sent`.
//!
//! `payout_id` names the payout whose payee statement PDF goes attached; the PDF is rendered
//! when the mail is sent (a paid run's statement never changes).

use sea_orm_migration::{prelude::*, schema::*};

use crate::helpers::{TableDef, drop_tables, ts, ts_null};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        TableDef::tenant("mail_outbox")
            .col(text("idempotency_key"))
            .col(text("kind"))
            .col(text("event"))
            .col(text("recipient"))
            .col(text("subject"))
            .col(text("text_body"))
            .col(text("html_body"))
            .col(big_integer_null("payout_id"))
            .col(text("status"))
            .col(integer("attempts").default(0).take())
            .col(ts_null("next_attempt_at"))
            .col(ts_null("last_attempt_at"))
            .col(text_null("last_error"))
            .col(ts_null("sent_at"))
            .col(ts("created_at"))
            .fk("payout_id", "payouts", ForeignKeyAction::Cascade)
            .unique(&["idempotency_key"])
            .index(&["organization_id", "event"])
            .index(&["status", "next_attempt_at"])
            .create(manager)
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_tables(manager, &["mail_outbox"]).await
    }
}
