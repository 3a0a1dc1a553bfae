//! The audit log: who changed splits, agreements, releases and payouts, before and after.

use async_graphql::{ID, Json, Object};
use chrono::{DateTime, Utc};
use entity::audit_log;
use sea_orm::{ActiveModelTrait, ConnectionTrait, Set};
use serde::Serialize;

use super::error::ApiResult;
use super::guard::Seen;
use super::ids::{self, Kind};
use crate::auth::Principal;

/// One change to record.
#[derive(Debug)]
pub struct Change<'a> {
    pub action: &'a str,
    pub entity_type: &'a str,
    pub entity_id: i64,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
}

/// Serialises a model for the log; models always serialise, so a failure records nothing.
#[must_use]
pub fn snapshot<T: Serialize>(value: &T) -> Option<serde_json::Value> {
    serde_json::to_value(value).ok()
}

/// Writes one audit entry, inside the caller's transaction.
///
/// # Errors
/// Database failures.
pub async fn record(
    db: &impl ConnectionTrait,
    principal: &Principal,
    organization_id: i64,
    change: Change<'_>,
) -> ApiResult<()> {
    audit_log::ActiveModel {
        organization_id: Set(organization_id),
        actor_user_id: Set(principal.user_id()),
        actor_api_key_id: Set(principal.api_key_id()),
        action: Set(change.action.to_owned()),
        entity_type: Set(change.entity_type.to_owned()),
        entity_id: Set(change.entity_id),
        before: Set(change.before),
        after: Set(change.after),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(())
}

pub struct AuditEntry(pub Seen<audit_log::Model>);

#[Object]
impl AuditEntry {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn action(&self) -> &str {
        &self.0.action
    }
    async fn entity_type(&self) -> &str {
        &self.0.entity_type
    }
    /// The global id of the changed object, where it has one.
    async fn entity_id(&self) -> Option<ID> {
        let kind = match self.0.entity_type.as_str() {
            "artist" => Kind::Artist,
            "agreement" => Kind::Agreement,
            "release" => Kind::Release,
            "split" => Kind::Split,
            "payee" => Kind::Payee,
            "member" => Kind::Member,
            "webhook" => Kind::Webhook,
            "recoupable" => Kind::Recoupable,
            "payout_run" => Kind::PayoutRun,
            "statement" => Kind::Statement,
            _ => return None,
        };
        Some(ids::encode(kind, self.0.entity_id))
    }
    async fn actor_user_id(&self) -> Option<ID> {
        self.0.actor_user_id.map(|id| ids::encode(Kind::User, id))
    }
    async fn before(&self) -> Option<Json<serde_json::Value>> {
        self.0.before.clone().map(Json)
    }
    async fn after(&self) -> Option<Json<serde_json::Value>> {
        self.0.after.clone().map(Json)
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}
