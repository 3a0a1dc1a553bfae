//! Partner webhooks, the sending side: [`notify`] turns one event into one delivery per
//! subscribed webhook and queues it; [`crate::jobs::deliver_webhook`] posts it, signed, and
//! retries it on [`domain::webhook::RetrySchedule`].
//!
//! # Idempotency
//!
//! A delivery is keyed by `(webhook_id, event_id)` (a unique key since migration 000007) and
//! inserted with "on conflict do nothing": the same event notified twice, by a retried job or by
//! two processes at once, makes one delivery and queues one job. The body is built once, at
//! notify time, and stored; every attempt sends those same bytes.
//!
//! # Scheduling retries
//!
//! Both queue backends keep a task's "run at" time durably: apalis-sqlite in the `run_at`
//! column of its jobs table, apalis-redis in a sorted set that its fetch script promotes from
//! when due. A failed attempt therefore pushes the next `DeliverWebhook` with
//! `TaskBuilder::run_at_timestamp`, and a restart of every worker in between loses nothing:
//! the task waits in the queue, not in a process. The delivery row keeps `next_attempt_at`
//! too, for the delivery log and so that a job that runs early (a duplicate, or the queue's
//! retry of an attempt whose worker died) puts itself back until then. The queue counts time
//! in whole seconds, so a delay is rounded up to the next second.
//!
//! # Configuration
//!
//! [`BACKOFF_ENV`] (the first delay in milliseconds, default 30 000) and [`MAX_ATTEMPTS_ENV`]
//! (default 8) tune the schedule; tests shorten it to seconds.

use std::time::Duration;

use apalis::prelude::{TaskBuilder, TaskSink};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, SecondsFormat, Utc};
use domain::webhook::{DeliveryStatus, RetrySchedule, WebhookEvent};
use entity::{statement, webhook, webhook_delivery};
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, TryInsertResult};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::queue::QueueError;
use crate::{Job, JobContext, JobQueue};

/// Which addresses webhook deliveries may go to.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum WebhookReach {
    /// The public internet only (the default): a URL naming a loopback, private or reserved
    /// address, or a host name resolving only to such addresses, fails its delivery without a
    /// request being sent, so a webhook cannot be used to reach inside the server's network.
    #[default]
    PublicOnly,
    /// Any address: for development, tests, and receivers on the operator's own network.
    Anywhere,
}

/// Environment variable: the delay before the second attempt, in milliseconds.
pub const BACKOFF_ENV: &str = "IMPRINT_WEBHOOK_BACKOFF_MS";

/// Environment variable: how many attempts a delivery gets before it is `failed`.
pub const MAX_ATTEMPTS_ENV: &str = "IMPRINT_WEBHOOK_MAX_ATTEMPTS";

/// The retry schedule, [`RetrySchedule::DEFAULT`] as tuned by [`BACKOFF_ENV`] and
/// [`MAX_ATTEMPTS_ENV`]. A value that is not a positive whole number is ignored, with a warning.
#[must_use]
pub fn retry_schedule() -> RetrySchedule {
    schedule_from(
        std::env::var(BACKOFF_ENV).ok().as_deref(),
        std::env::var(MAX_ATTEMPTS_ENV).ok().as_deref(),
    )
}

fn schedule_from(backoff_ms: Option<&str>, max_attempts: Option<&str>) -> RetrySchedule {
    fn positive<T: std::str::FromStr + Default + PartialOrd>(
        name: &str,
        raw: Option<&str>,
    ) -> Option<T> {
        let raw = raw?.trim();
        if raw.is_empty() {
            return None;
        }
        match raw.parse::<T>() {
            Ok(value) if value > T::default() => Some(value),
            _ => {
                tracing::warn!(
                    variable = name,
                    value = raw,
                    "not a positive whole number; ignored"
                );
                None
            }
        }
    }
    let mut schedule = RetrySchedule::DEFAULT;
    if let Some(ms) = positive::<u64>(BACKOFF_ENV, backoff_ms) {
        schedule.first_delay = Duration::from_millis(ms);
    }
    if let Some(n) = positive::<u32>(MAX_ATTEMPTS_ENV, max_attempts) {
        schedule.max_attempts = n;
    }
    schedule
}

/// The GraphQL global id of a row (`base64url("Statement:12")`), so that ids in a webhook body
/// are the ones a partner then queries the API with. `type_name` is the GraphQL type.
#[must_use]
pub fn global_id(type_name: &str, id: i64) -> String {
    URL_SAFE_NO_PAD.encode(format!("{type_name}:{id}"))
}

/// Whether `webhook` listens to `event` (an unknown word in its column is skipped).
#[must_use]
pub fn subscribes(webhook: &webhook::Model, event: WebhookEvent) -> bool {
    webhook
        .events
        .split_whitespace()
        .any(|word| word.parse::<WebhookEvent>() == Ok(event))
}

/// The body every delivery of one event carries.
#[derive(Debug, Serialize)]
struct Envelope<'a> {
    /// The event id: the same on every attempt and every webhook, for the receiver to dedupe.
    id: &'a str,
    #[serde(rename = "type")]
    kind: WebhookEvent,
    created_at: String,
    organization_id: String,
    data: &'a Value,
}

/// Records `event` for every active webhook of the organisation that subscribes to it, and
/// queues their deliveries. The same `event_id` never makes a second delivery to a webhook, so
/// calling this again for an event (a retried job) changes nothing.
///
/// `event_id` should name the event and its subject, e.g. `statement.parsed:12`; `data` is the
/// body's `data` object, with global ids ([`global_id`]) and money as decimal strings.
///
/// # Errors
/// Database or queue failures; deliveries already recorded stay recorded.
pub async fn notify(
    ctx: &JobContext,
    organization_id: i64,
    event: WebhookEvent,
    event_id: &str,
    data: Value,
) -> anyhow::Result<()> {
    let hooks: Vec<webhook::Model> = webhook::Entity::find()
        .filter(webhook::Column::OrganizationId.eq(organization_id))
        .filter(webhook::Column::Active.eq(true))
        .all(&ctx.db)
        .await?
        .into_iter()
        .filter(|hook| subscribes(hook, event))
        .collect();
    if hooks.is_empty() {
        return Ok(());
    }
    let now = Utc::now();
    let payload = serde_json::to_string(&Envelope {
        id: event_id,
        kind: event,
        created_at: now.to_rfc3339_opts(SecondsFormat::Millis, true),
        organization_id: global_id("Organization", organization_id),
        data: &data,
    })?;
    let mut created = Vec::new();
    for hook in &hooks {
        let inserted = webhook_delivery::Entity::insert(webhook_delivery::ActiveModel {
            organization_id: Set(organization_id),
            webhook_id: Set(hook.id),
            event: Set(event.as_str().to_owned()),
            event_id: Set(event_id.to_owned()),
            payload: Set(payload.clone()),
            status: Set(DeliveryStatus::Pending.as_str().to_owned()),
            attempts: Set(0),
            last_status_code: Set(None),
            last_error: Set(None),
            next_attempt_at: Set(Some(now)),
            delivered_at: Set(None),
            created_at: Set(now),
            last_attempt_at: Set(None),
            ..Default::default()
        })
        .on_conflict_do_nothing_on([
            webhook_delivery::Column::WebhookId,
            webhook_delivery::Column::EventId,
        ])
        .exec(&ctx.db)
        .await?;
        match inserted {
            TryInsertResult::Inserted(result) => created.push(result.last_insert_id),
            TryInsertResult::Conflicted | TryInsertResult::Empty => {
                tracing::debug!(webhook_id = hook.id, event_id, "event already recorded");
            }
        }
    }
    for delivery_id in created {
        ctx.queue.push(Job::DeliverWebhook { delivery_id }).await?;
    }
    Ok(())
}

/// Queues `DeliverWebhook` for `delivery_id` to run at `at` (now, if `at` has passed). The queue
/// keeps whole seconds: the time is rounded up, so the job never runs before `at`.
///
/// # Errors
/// When the queue refuses the job.
pub async fn schedule(
    queue: &JobQueue,
    delivery_id: i64,
    at: DateTime<Utc>,
) -> Result<(), QueueError> {
    let job = Job::DeliverWebhook { delivery_id };
    if at <= Utc::now() {
        return queue.push(job).await;
    }
    let seconds = at.timestamp() + i64::from(at.timestamp_subsec_nanos() > 0);
    let run_at = u64::try_from(seconds).unwrap_or_default();
    let name = job.name();
    let task = TaskBuilder::new(job).run_at_timestamp(run_at).build();
    let result = match queue {
        JobQueue::Sqlite(storage) => storage
            .clone()
            .push_task(task)
            .await
            .map_err(|e| e.to_string()),
        JobQueue::Redis(storage) => storage
            .clone()
            .push_task(task)
            .await
            .map_err(|e| e.to_string()),
    };
    result.map_err(|message| QueueError::Push { job: name, message })?;
    tracing::debug!(delivery_id, run_at, "webhook delivery scheduled");
    Ok(())
}

/// One currency's total as `parse_statement` stores it in `statements.totals`.
#[derive(Debug, Deserialize)]
struct StoredTotal {
    currency: String,
    amount_nanos: i64,
    line_count: i64,
}

/// A decimal string as the API shows money: the currency's minor units at least, exact.
fn decimal_string(amount_nanos: i64, currency: &str) -> String {
    match domain::money::Currency::parse(currency) {
        Ok(c) => domain::money::Money::new(amount_nanos, c).to_decimal_string(),
        Err(_) => domain::money::decimal_from_nanos(amount_nanos)
            .normalize()
            .to_string(),
    }
}

/// The `data` of a `statement.parsed` event: the statement's counts, period and totals.
///
/// # Errors
/// When the stored totals are not what `parse_statement` writes.
pub fn statement_parsed_data(st: &statement::Model) -> anyhow::Result<Value> {
    let totals: Vec<StoredTotal> = serde_json::from_value(st.totals.clone())?;
    let totals: Vec<Value> = totals
        .iter()
        .map(|t| {
            json!({
                "amount": decimal_string(t.amount_nanos, &t.currency),
                "currency": t.currency,
                "line_count": t.line_count,
            })
        })
        .collect();
    Ok(json!({
        "statement": {
            "id": global_id("Statement", st.id),
            "status": st.status,
            "filename": st.filename,
            "source": st.source,
            "format": st.format,
            "currency": st.currency,
            "period_start": st.period_start,
            "period_end": st.period_end,
            "line_count": st.line_count,
            "error_count": st.error_count,
            "skipped_count": st.skipped_count,
            "matched_count": st.matched_count,
            "unmatched_count": st.unmatched_count,
            "totals": totals,
            "parsed_at": st.parsed_at.map(|t| t.to_rfc3339_opts(SecondsFormat::Millis, true)),
        }
    }))
}

/// Sends `statement.parsed` for a statement that has just been parsed; the event id is
/// `statement.parsed:{id}`.
///
/// # Errors
/// See [`notify`].
pub async fn statement_parsed(ctx: &JobContext, st: &statement::Model) -> anyhow::Result<()> {
    notify(
        ctx,
        st.organization_id,
        WebhookEvent::StatementParsed,
        &format!("{}:{}", WebhookEvent::StatementParsed, st.id),
        statement_parsed_data(st)?,
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use hmac::{KeyInit, Mac};

    #[test]
    fn schedule_is_tuned_by_positive_numbers_only() {
        assert_eq!(schedule_from(None, None), RetrySchedule::DEFAULT);
        let short = schedule_from(Some("500"), Some("3"));
        assert_eq!(short.first_delay, Duration::from_millis(500));
        assert_eq!(short.max_attempts, 3);
        assert_eq!(short.multiplier, RetrySchedule::DEFAULT.multiplier);
        for bad in ["0", "-5", "soon", "1.5", ""] {
            assert_eq!(
                schedule_from(Some(bad), Some(bad)),
                RetrySchedule::DEFAULT,
                "{bad:?}"
            );
        }
    }

    #[test]
    fn global_ids_are_base64url_of_type_and_row() {
        assert_eq!(global_id("Organization", 1), "T3JnYW5pemF0aW9uOjE");
        assert_eq!(
            URL_SAFE_NO_PAD.decode(global_id("Statement", 42)).ok(),
            Some(b"Statement:42".to_vec())
        );
    }

    #[test]
    fn domain_hmac_agrees_with_the_hmac_crate() {
        let keys: [&[u8]; 4] = [b"", b"whsec_short", &[7; 64], &[0xaa; 200]];
        let messages: [&[u8]; 3] = [b"", b"1700000000.{}", &[0x5c; 1000]];
        for key in keys {
            for message in messages {
                let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(key).expect("any key");
                mac.update(message);
                let expected: [u8; 32] = mac.finalize().into_bytes().into();
                assert_eq!(domain::webhook::hmac_sha256(key, message), expected);
            }
        }
    }

    #[test]
    fn accepted_urls_are_urls_to_reqwest() {
        for url in [
            "https://hooks.partner.example/imprint?x=1",
            "http://127.0.0.1:9000",
            "http://[::1]:8080/hook",
            "https://under_score.example./x",
            "https://example.com?x=1",
            "https://example.com/a%20b",
        ] {
            let parsed = domain::webhook::WebhookUrl::parse(url).expect("accepted");
            assert!(
                reqwest::Url::parse(parsed.as_str()).is_ok(),
                "{url} is accepted by the domain but not by reqwest"
            );
        }
    }

    fn hook(events: &str) -> webhook::Model {
        webhook::Model {
            id: 1,
            organization_id: 1,
            url: "https://example.com".into(),
            secret: "whsec_x".into(),
            events: events.into(),
            active: true,
            created_by_user_id: None,
            created_at: Utc::now(),
            description: None,
            previous_secret: None,
            previous_secret_expires_at: None,
        }
    }

    #[test]
    fn subscription_reads_the_events_column() {
        let both = hook("payout_run.updated statement.parsed");
        assert!(subscribes(&both, WebhookEvent::StatementParsed));
        assert!(subscribes(&both, WebhookEvent::PayoutRunUpdated));
        let one = hook("statement.parsed retired.event");
        assert!(subscribes(&one, WebhookEvent::StatementParsed));
        assert!(!subscribes(&one, WebhookEvent::PayoutRunUpdated));
        assert!(!subscribes(&hook(""), WebhookEvent::StatementParsed));
    }

    #[test]
    fn totals_are_exact_decimal_strings() {
        assert_eq!(decimal_string(12_340_000_000, "USD"), "12.34");
        assert_eq!(decimal_string(1, "EUR"), "0.000000001");
        assert_eq!(decimal_string(-10_000_000, "JPY"), "-0.01");
    }
}
