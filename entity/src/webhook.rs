//! `webhooks`: A partner's webhook endpoint; events are space-separated.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// A row of `webhooks`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "webhooks")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub organization_id: i64,
    pub url: String,
    /// The signing secret (HMAC key); kept in clear because every delivery is signed with it.
    pub secret: String,
    /// `statement.parsed`, `payout_run.updated`, …: distinct words separated by spaces.
    pub events: String,
    pub active: bool,
    pub created_by_user_id: Option<i64>,
    pub created_at: DateTimeUtc,
    /// What the endpoint is for, as its owner named it.
    pub description: Option<String>,
    /// The secret before the last rotation; it signs beside `secret` until it expires.
    pub previous_secret: Option<String>,
    pub previous_secret_expires_at: Option<DateTimeUtc>,
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
        from = "Column::CreatedByUserId",
        to = "super::user::Column::Id",
        on_delete = "SetNull"
    )]
    CreatedBy,
    #[sea_orm(has_many = "super::webhook_delivery::Entity")]
    WebhookDeliveries,
}

impl Related<super::organization::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Organization.def()
    }
}

impl Related<super::user::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::CreatedBy.def()
    }
}

impl Related<super::webhook_delivery::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::WebhookDeliveries.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
