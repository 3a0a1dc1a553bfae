//! Partner webhooks: endpoints that receive signed events, and the log of their deliveries.
//!
//! Managing a webhook and reading its deliveries both need `Permission::ManageWebhooks`: a
//! delivery's payload carries statement and payout figures, and a webhook sends them out of
//! Imprint. The signing secret is shown once, by `createWebhook` and `rotateWebhookSecret`;
//! after a rotation the old secret keeps signing beside the new one for
//! [`PREVIOUS_SECRET_GRACE_HOURS`], so the partner can switch without refusing deliveries. How
//! requests are signed and retried is documented in `domain::webhook`.

use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Duration, Utc};
use domain::webhook::{DeliveryStatus, SECRET_PREFIX, WebhookEvent, WebhookUrl, join_events};
use entity::{webhook, webhook_delivery};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, ModelTrait, QueryFilter, Set};
use serde_json::json;
use workers::webhooks::WebhookReach;

use super::access::{ContextExt, Permission};
use super::accounts::decode_or_not_found;
use super::audit::{self, Change};
use super::connection::{Page, PageArgs, paginate};
use super::error::{ApiError, ApiResult, UserError, UserErrorCode, UserErrors};
use super::guard::{self, Seen};
use super::ids::{self, Kind};
use crate::auth;

/// How long the secret replaced by a rotation keeps signing beside the new one.
pub const PREVIOUS_SECRET_GRACE_HOURS: i64 = 24;

const MAX_DESCRIPTION_CHARS: usize = 500;

/// A pending delivery whose next attempt is this overdue has lost its queued job (the queue
/// refused it, say); `redeliverWebhookDelivery` may queue it again.
const STUCK_AFTER_MINUTES: i64 = 5;

// ---------------------------------------------------------------- enums

/// An event a webhook can subscribe to; the body's `type` is the word in the description.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum WebhookEventType {
    /// `statement.parsed`: a statement finished parsing; its counts and totals are final.
    StatementParsed,
    /// `payout_run.updated`: a payout run changed status.
    PayoutRunUpdated,
}

impl From<WebhookEvent> for WebhookEventType {
    fn from(event: WebhookEvent) -> Self {
        match event {
            WebhookEvent::StatementParsed => Self::StatementParsed,
            WebhookEvent::PayoutRunUpdated => Self::PayoutRunUpdated,
        }
    }
}

impl From<WebhookEventType> for WebhookEvent {
    fn from(event: WebhookEventType) -> Self {
        match event {
            WebhookEventType::StatementParsed => Self::StatementParsed,
            WebhookEventType::PayoutRunUpdated => Self::PayoutRunUpdated,
        }
    }
}

/// Where a delivery stands.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum WebhookDeliveryStatus {
    /// Waiting for its first or next attempt (see `nextAttemptAt`).
    Pending,
    /// The endpoint answered 2xx.
    Delivered,
    /// Every attempt failed, or the webhook was disabled; `redeliverWebhookDelivery` retries it.
    Failed,
}

impl From<DeliveryStatus> for WebhookDeliveryStatus {
    fn from(status: DeliveryStatus) -> Self {
        match status {
            DeliveryStatus::Pending => Self::Pending,
            DeliveryStatus::Delivered => Self::Delivered,
            DeliveryStatus::Failed => Self::Failed,
        }
    }
}

impl From<WebhookDeliveryStatus> for DeliveryStatus {
    fn from(status: WebhookDeliveryStatus) -> Self {
        match status {
            WebhookDeliveryStatus::Pending => Self::Pending,
            WebhookDeliveryStatus::Delivered => Self::Delivered,
            WebhookDeliveryStatus::Failed => Self::Failed,
        }
    }
}

fn stored<T: std::str::FromStr>(what: &str, raw: &str) -> ApiResult<T> {
    raw.parse()
        .map_err(|_| ApiError::internal(anyhow::anyhow!("stored {what} `{raw}` is unknown")))
}

// ---------------------------------------------------------------- objects

/// A partner's endpoint: the events it receives, signed with its secret.
pub struct Webhook(pub Seen<webhook::Model>);

#[Object]
impl Webhook {
    pub async fn id(&self) -> ID {
        ids::encode(Kind::Webhook, self.0.id)
    }
    async fn organization_id(&self) -> ID {
        ids::encode(Kind::Organization, self.0.organization_id)
    }
    /// Where events are POSTed.
    async fn url(&self) -> &str {
        &self.0.url
    }
    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }
    async fn events(&self) -> Vec<WebhookEventType> {
        self.0
            .events
            .split_whitespace()
            .filter_map(|word| word.parse::<WebhookEvent>().ok().map(Into::into))
            .collect()
    }
    /// A disabled webhook receives nothing; its pending deliveries fail.
    async fn active(&self) -> bool {
        self.0.active
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// Until when the secret replaced by the last rotation still signs (as a second `v1`);
    /// null when only the current secret signs.
    async fn previous_secret_expires_at(&self) -> Option<DateTime<Utc>> {
        self.0
            .previous_secret_expires_at
            .filter(|until| self.0.previous_secret.is_some() && *until > Utc::now())
    }
    /// The delivery log, oldest first.
    async fn deliveries(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        status: Option<WebhookDeliveryStatus>,
    ) -> ApiResult<Page<WebhookDelivery>> {
        ctx.authorize(self.0.organization_id, Permission::ManageWebhooks)?;
        let mut select = webhook_delivery::Entity::find()
            .filter(webhook_delivery::Column::WebhookId.eq(self.0.id));
        if let Some(status) = status {
            select = select
                .filter(webhook_delivery::Column::Status.eq(DeliveryStatus::from(status).as_str()));
        }
        paginate(
            ctx,
            select,
            webhook_delivery::Column::Id,
            &PageArgs::new(first, after),
            |m| m.id,
            WebhookDelivery,
        )
        .await
    }
}

/// One event sent (or being sent) to one webhook.
pub struct WebhookDelivery(pub Seen<webhook_delivery::Model>);

#[Object]
impl WebhookDelivery {
    pub async fn id(&self) -> ID {
        ids::encode(Kind::WebhookDelivery, self.0.id)
    }
    async fn webhook_id(&self) -> ID {
        ids::encode(Kind::Webhook, self.0.webhook_id)
    }
    async fn event(&self) -> ApiResult<WebhookEventType> {
        stored::<WebhookEvent>("webhook event", &self.0.event).map(Into::into)
    }
    /// The event's id, the body's `id`: the same on every attempt, for the receiver to dedupe.
    async fn event_id(&self) -> &str {
        &self.0.event_id
    }
    async fn status(&self) -> ApiResult<WebhookDeliveryStatus> {
        stored::<DeliveryStatus>("delivery status", &self.0.status).map(Into::into)
    }
    /// Attempts made so far (since the last redelivery).
    async fn attempts(&self) -> i32 {
        self.0.attempts
    }
    /// The HTTP status of the latest answer; null when none came (timeout, no connection).
    async fn last_status_code(&self) -> Option<i32> {
        self.0.last_status_code
    }
    /// Why the latest attempt failed.
    async fn last_error(&self) -> Option<&str> {
        self.0.last_error.as_deref()
    }
    async fn last_attempt_at(&self) -> Option<DateTime<Utc>> {
        self.0.last_attempt_at
    }
    /// When the next attempt is due, while pending.
    async fn next_attempt_at(&self) -> Option<DateTime<Utc>> {
        self.0.next_attempt_at
    }
    async fn delivered_at(&self) -> Option<DateTime<Utc>> {
        self.0.delivered_at
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// The exact JSON body, as signed and sent on every attempt.
    async fn payload(&self) -> &str {
        &self.0.payload
    }
}

// ---------------------------------------------------------------- inputs and payloads

#[derive(InputObject)]
pub struct CreateWebhookInput {
    pub organization_id: ID,
    /// An absolute `https://` (or `http://`) URL.
    pub url: String,
    /// At least one.
    pub events: Vec<WebhookEventType>,
    pub description: Option<String>,
}

#[derive(SimpleObject, Default)]
pub struct CreateWebhookPayload {
    pub webhook: Option<Webhook>,
    /// The signing secret (the HMAC-SHA256 key for `Imprint-Signature`); shown once.
    pub secret: Option<String>,
    pub user_errors: Vec<UserError>,
}

/// Only the fields given change.
#[derive(InputObject)]
pub struct UpdateWebhookInput {
    pub webhook_id: ID,
    pub url: Option<String>,
    /// Replaces the subscription; at least one.
    pub events: Option<Vec<WebhookEventType>>,
    /// An empty string clears it.
    pub description: Option<String>,
    pub active: Option<bool>,
}

#[derive(SimpleObject, Default)]
pub struct WebhookPayload {
    pub webhook: Option<Webhook>,
    pub user_errors: Vec<UserError>,
}

#[derive(InputObject)]
pub struct DeleteWebhookInput {
    pub webhook_id: ID,
}

#[derive(SimpleObject, Default)]
pub struct DeleteWebhookPayload {
    /// The webhook deleted, with its delivery log.
    pub deleted_webhook_id: Option<ID>,
    pub user_errors: Vec<UserError>,
}

#[derive(InputObject)]
pub struct RotateWebhookSecretInput {
    pub webhook_id: ID,
}

#[derive(SimpleObject, Default)]
pub struct RotateWebhookSecretPayload {
    pub webhook: Option<Webhook>,
    /// The new signing secret; shown once. The old one signs too until
    /// `webhook.previousSecretExpiresAt`.
    pub secret: Option<String>,
    pub user_errors: Vec<UserError>,
}

#[derive(InputObject)]
pub struct RedeliverWebhookDeliveryInput {
    pub delivery_id: ID,
}

#[derive(SimpleObject, Default)]
pub struct RedeliverWebhookDeliveryPayload {
    pub delivery: Option<WebhookDelivery>,
    pub user_errors: Vec<UserError>,
}

// ---------------------------------------------------------------- loading and checking

/// Loads a webhook by global id for a caller who manages webhooks.
///
/// # Errors
/// NOT_FOUND (also another organisation's), or FORBIDDEN.
pub async fn load_webhook(ctx: &Context<'_>, id: &ID) -> ApiResult<Seen<webhook::Model>> {
    guard::fetch(ctx, Kind::Webhook, id, Permission::ManageWebhooks).await
}

/// `Organization.webhooks`: the organisation's webhooks, oldest first.
///
/// # Errors
/// The authorization failure, a bad page argument, or a database failure.
pub async fn organization_webhooks(
    ctx: &Context<'_>,
    organization_id: i64,
    args: &PageArgs,
) -> ApiResult<Page<Webhook>> {
    ctx.authorize(organization_id, Permission::ManageWebhooks)?;
    let select =
        webhook::Entity::find().filter(webhook::Column::OrganizationId.eq(organization_id));
    paginate(ctx, select, webhook::Column::Id, args, |m| m.id, Webhook).await
}

/// A URL deliveries can go to: well formed and, unless this server may reach private networks,
/// not naming a loopback, private or reserved address (a host name is checked when a delivery
/// resolves it).
fn check_url(errors: &mut UserErrors, raw: &str, reach: WebhookReach) -> Option<WebhookUrl> {
    errors.check(
        "url",
        WebhookUrl::parse(raw).and_then(|url| match reach {
            WebhookReach::PublicOnly => url.check_public().map(|()| url),
            WebhookReach::Anywhere => Ok(url),
        }),
    )
}

fn check_events(errors: &mut UserErrors, events: &[WebhookEventType]) -> Option<String> {
    if events.is_empty() {
        errors.push(UserError::new(
            "events",
            UserErrorCode::Required,
            "subscribe the webhook to at least one event",
        ));
        return None;
    }
    let events: Vec<WebhookEvent> = events.iter().copied().map(Into::into).collect();
    Some(join_events(&events))
}

/// `Some(None)` clears the description, `None` is an error.
fn check_description(errors: &mut UserErrors, raw: &str) -> Option<Option<String>> {
    let description = raw.trim();
    if description.chars().count() > MAX_DESCRIPTION_CHARS {
        errors.invalid(
            "description",
            format!("keep the description under {MAX_DESCRIPTION_CHARS} characters"),
        );
        return None;
    }
    Some(Some(description.to_owned()).filter(|d| !d.is_empty()))
}

/// What the audit log keeps of a webhook: never its secrets.
fn audit_view(hook: &webhook::Model) -> serde_json::Value {
    json!({
        "url": hook.url,
        "description": hook.description,
        "events": hook.events,
        "active": hook.active,
    })
}

fn new_secret() -> String {
    // The same 256-bit random secret as API keys; its hash is not needed, the secret is the key.
    auth::new_secret(SECRET_PREFIX).0
}

// ---------------------------------------------------------------- resolvers

#[derive(Default)]
pub struct WebhooksMutation;

#[Object]
impl WebhooksMutation {
    /// Registers an endpoint for signed events. The payload's `secret` is shown only here.
    async fn create_webhook(
        &self,
        ctx: &Context<'_>,
        input: CreateWebhookInput,
    ) -> ApiResult<CreateWebhookPayload> {
        let organization_id = decode_or_not_found(Kind::Organization, &input.organization_id)?;
        ctx.authorize(organization_id, Permission::ManageWebhooks)?;
        let mut errors = UserErrors::default();
        let url = check_url(&mut errors, &input.url, ctx.state().config.webhook_reach);
        let events = check_events(&mut errors, &input.events);
        let description = match &input.description {
            Some(raw) => check_description(&mut errors, raw),
            None => Some(None),
        };
        let (Some(url), Some(events), Some(description)) = (url, events, description) else {
            return Ok(CreateWebhookPayload {
                user_errors: errors.into_vec(),
                ..Default::default()
            });
        };
        let secret = new_secret();
        let txn = entity::db::begin_write(ctx.db()).await?;
        let hook = webhook::ActiveModel {
            organization_id: Set(organization_id),
            url: Set(url.to_string()),
            secret: Set(secret.clone()),
            events: Set(events),
            active: Set(true),
            created_by_user_id: Set(ctx.principal().user_id()),
            created_at: Set(Utc::now()),
            description: Set(description),
            previous_secret: Set(None),
            previous_secret_expires_at: Set(None),
            ..Default::default()
        }
        .insert(&txn)
        .await?;
        audit::record(
            &txn,
            ctx.principal(),
            organization_id,
            Change {
                action: "webhook.created",
                entity_type: "webhook",
                entity_id: hook.id,
                before: None,
                after: Some(audit_view(&hook)),
            },
        )
        .await?;
        txn.commit().await?;
        Ok(CreateWebhookPayload {
            webhook: guard::admit(ctx, hook).await?.map(Webhook),
            secret: Some(secret),
            user_errors: Vec::new(),
        })
    }

    /// Changes a webhook's URL, events, description or state. Disabling it fails its pending
    /// deliveries; they can be redelivered once it is enabled again.
    async fn update_webhook(
        &self,
        ctx: &Context<'_>,
        input: UpdateWebhookInput,
    ) -> ApiResult<WebhookPayload> {
        let hook = load_webhook(ctx, &input.webhook_id).await?;
        let mut errors = UserErrors::default();
        let url = input
            .url
            .as_deref()
            .map(|raw| check_url(&mut errors, raw, ctx.state().config.webhook_reach));
        let events = input
            .events
            .as_deref()
            .map(|events| check_events(&mut errors, events));
        let description = input
            .description
            .as_deref()
            .map(|raw| check_description(&mut errors, raw));
        if !errors.is_empty() {
            return Ok(WebhookPayload {
                webhook: None,
                user_errors: errors.into_vec(),
            });
        }
        let before = audit_view(&hook);
        let mut active: webhook::ActiveModel = hook.clone().into();
        if let Some(Some(url)) = url {
            active.url = Set(url.to_string());
        }
        if let Some(Some(events)) = events {
            active.events = Set(events);
        }
        if let Some(Some(description)) = description {
            active.description = Set(description);
        }
        if let Some(enabled) = input.active {
            active.active = Set(enabled);
        }
        let txn = entity::db::begin_write(ctx.db()).await?;
        let updated = active.update(&txn).await?;
        audit::record(
            &txn,
            ctx.principal(),
            updated.organization_id,
            Change {
                action: "webhook.updated",
                entity_type: "webhook",
                entity_id: updated.id,
                before: Some(before),
                after: Some(audit_view(&updated)),
            },
        )
        .await?;
        txn.commit().await?;
        Ok(WebhookPayload {
            webhook: guard::admit(ctx, updated).await?.map(Webhook),
            user_errors: Vec::new(),
        })
    }

    /// Deletes a webhook and its delivery log; queued deliveries are dropped.
    async fn delete_webhook(
        &self,
        ctx: &Context<'_>,
        input: DeleteWebhookInput,
    ) -> ApiResult<DeleteWebhookPayload> {
        let hook = load_webhook(ctx, &input.webhook_id).await?;
        let (id, organization_id, before) = (hook.id, hook.organization_id, audit_view(&hook));
        let txn = entity::db::begin_write(ctx.db()).await?;
        hook.into_inner().delete(&txn).await?;
        audit::record(
            &txn,
            ctx.principal(),
            organization_id,
            Change {
                action: "webhook.deleted",
                entity_type: "webhook",
                entity_id: id,
                before: Some(before),
                after: None,
            },
        )
        .await?;
        txn.commit().await?;
        Ok(DeleteWebhookPayload {
            deleted_webhook_id: Some(ids::encode(Kind::Webhook, id)),
            user_errors: Vec::new(),
        })
    }

    /// Issues a new signing secret, shown once. The old one keeps signing beside it (a second
    /// `v1` in `Imprint-Signature`) for 24 hours, so the receiver can switch without refusing
    /// deliveries; a second rotation within that time ends the old one at once.
    async fn rotate_webhook_secret(
        &self,
        ctx: &Context<'_>,
        input: RotateWebhookSecretInput,
    ) -> ApiResult<RotateWebhookSecretPayload> {
        let hook = load_webhook(ctx, &input.webhook_id).await?;
        let secret = new_secret();
        let until = Utc::now() + Duration::hours(PREVIOUS_SECRET_GRACE_HOURS);
        let mut active: webhook::ActiveModel = hook.clone().into();
        active.previous_secret = Set(Some(hook.secret.clone()));
        active.previous_secret_expires_at = Set(Some(until));
        active.secret = Set(secret.clone());
        let txn = entity::db::begin_write(ctx.db()).await?;
        let updated = active.update(&txn).await?;
        audit::record(
            &txn,
            ctx.principal(),
            updated.organization_id,
            Change {
                action: "webhook.secret_rotated",
                entity_type: "webhook",
                entity_id: updated.id,
                before: None,
                after: Some(json!({ "previous_secret_expires_at": until })),
            },
        )
        .await?;
        txn.commit().await?;
        Ok(RotateWebhookSecretPayload {
            webhook: guard::admit(ctx, updated).await?.map(Webhook),
            secret: Some(secret),
            user_errors: Vec::new(),
        })
    }

    /// Sends a failed delivery again, with a fresh round of attempts. A pending delivery whose
    /// next attempt is more than 5 minutes overdue is queued again as it is.
    async fn redeliver_webhook_delivery(
        &self,
        ctx: &Context<'_>,
        input: RedeliverWebhookDeliveryInput,
    ) -> ApiResult<RedeliverWebhookDeliveryPayload> {
        let delivery: Seen<webhook_delivery::Model> = guard::fetch(
            ctx,
            Kind::WebhookDelivery,
            &input.delivery_id,
            Permission::ManageWebhooks,
        )
        .await?;
        let not_allowed = |message: String| {
            Ok(RedeliverWebhookDeliveryPayload {
                delivery: None,
                user_errors: vec![UserError::new(
                    "deliveryId",
                    UserErrorCode::NotAllowed,
                    message,
                )],
            })
        };
        let hook = webhook::Entity::find_by_id(delivery.webhook_id)
            .one(ctx.db())
            .await?
            .ok_or(ApiError::NotFound("Webhook"))?;
        if !hook.active {
            return not_allowed("the webhook is disabled; enable it first".into());
        }
        let now = Utc::now();
        let status: DeliveryStatus = stored("delivery status", &delivery.status)?;
        match status {
            DeliveryStatus::Delivered => {
                return not_allowed("this delivery was delivered".into());
            }
            DeliveryStatus::Pending => {
                let stuck = delivery
                    .next_attempt_at
                    .is_none_or(|due| due + Duration::minutes(STUCK_AFTER_MINUTES) < now);
                if !stuck {
                    return not_allowed(match delivery.next_attempt_at {
                        Some(due) => {
                            format!("this delivery is being retried; next attempt at {due}")
                        }
                        None => "this delivery is being retried".into(),
                    });
                }
            }
            DeliveryStatus::Failed => {
                // Conditional on still being failed, so two redeliveries make one round.
                let reset = webhook_delivery::Entity::update_many()
                    .filter(webhook_delivery::Column::Id.eq(delivery.id))
                    .filter(webhook_delivery::Column::Status.eq(DeliveryStatus::Failed.as_str()))
                    .col_expr(
                        webhook_delivery::Column::Status,
                        Expr::value(DeliveryStatus::Pending.as_str()),
                    )
                    .col_expr(webhook_delivery::Column::Attempts, Expr::value(0))
                    .col_expr(
                        webhook_delivery::Column::NextAttemptAt,
                        Expr::value(Some(now)),
                    )
                    .exec(ctx.db())
                    .await?;
                if reset.rows_affected == 0 {
                    return not_allowed("this delivery is already being redelivered".into());
                }
            }
        }
        ctx.state()
            .queue
            .push(workers::Job::DeliverWebhook {
                delivery_id: delivery.id,
            })
            .await
            .map_err(ApiError::internal)?;
        let current = webhook_delivery::Entity::find_by_id(delivery.id)
            .one(ctx.db())
            .await?
            .ok_or(ApiError::NotFound("WebhookDelivery"))?;
        Ok(RedeliverWebhookDeliveryPayload {
            delivery: guard::admit(ctx, current).await?.map(WebhookDelivery),
            user_errors: Vec::new(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn webhook_bodies_use_the_api_global_ids() {
        for (kind, name) in [
            (Kind::Organization, "Organization"),
            (Kind::Statement, "Statement"),
            (Kind::WebhookDelivery, "WebhookDelivery"),
        ] {
            assert_eq!(
                workers::webhooks::global_id(name, 42),
                ids::encode(kind, 42).0,
                "{name}"
            );
        }
    }

    #[test]
    fn every_event_has_a_graphql_value() {
        for event in WebhookEvent::ALL {
            assert_eq!(WebhookEvent::from(WebhookEventType::from(*event)), *event);
        }
        for status in DeliveryStatus::ALL {
            assert_eq!(
                DeliveryStatus::from(WebhookDeliveryStatus::from(*status)),
                *status
            );
        }
    }

    #[test]
    fn descriptions_are_trimmed_and_bounded() {
        let mut errors = UserErrors::default();
        assert_eq!(
            check_description(&mut errors, "  ERP sync "),
            Some(Some("ERP sync".into()))
        );
        assert_eq!(check_description(&mut errors, "   "), Some(None));
        assert!(errors.is_empty());
        assert_eq!(check_description(&mut errors, &"x".repeat(501)), None);
        assert_eq!(errors.into_vec()[0].field, ["description"]);
    }
}
