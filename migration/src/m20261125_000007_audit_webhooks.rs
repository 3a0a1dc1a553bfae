//! Audit log and outgoing webhooks.

use sea_orm_migration::{prelude::*, schema::*};

use crate::helpers::{TableDef, drop_tables, ts, ts_null};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // Actors are plain ids: the log keeps who did it even after the user or key is gone.
        TableDef::tenant("audit_log")
            .col(big_integer_null("actor_user_id"))
            .col(big_integer_null("actor_api_key_id"))
            .col(text("action"))
            .col(text("entity_type"))
            .col(big_integer("entity_id"))
            .col(json_binary_null("before"))
            .col(json_binary_null("after"))
            .col(ts("created_at"))
            .index(&["organization_id", "created_at"])
            .index(&["organization_id", "entity_type", "entity_id"])
            .create(manager)
            .await?;

        TableDef::tenant("webhooks")
            .col(text("url"))
            .col(text("secret"))
            .col(text("events"))
            .col(boolean("active"))
            .col(big_integer_null("created_by_user_id"))
            .col(ts("created_at"))
            .fk("created_by_user_id", "users", ForeignKeyAction::SetNull)
            .index(&["organization_id"])
            .create(manager)
            .await?;

        TableDef::tenant("webhook_deliveries")
            .col(big_integer("webhook_id"))
            .col(text("event"))
            .col(text("event_id"))
            .col(text("payload"))
            .col(text("status"))
            .col(integer("attempts").default(0).take())
            .col(integer_null("last_status_code"))
            .col(text_null("last_error"))
            .col(ts_null("next_attempt_at"))
            .col(ts_null("delivered_at"))
            .col(ts("created_at"))
            .fk("webhook_id", "webhooks", ForeignKeyAction::Cascade)
            .unique(&["webhook_id", "event_id"])
            .index(&["organization_id"])
            .index(&["status", "next_attempt_at"])
            .create(manager)
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_tables(manager, &["webhook_deliveries", "webhooks", "audit_log"]).await
    }
}
