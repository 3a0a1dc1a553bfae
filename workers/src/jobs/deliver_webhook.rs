//! `DeliverWebhook`: one attempt to POST a delivery to its webhook, signed, and the next attempt
//! scheduled when it fails.
//!
//! The job is safe to run any number of times:
//! - a delivery that is `delivered` or `failed` is left alone;
//! - a job that runs before the delivery's `next_attempt_at` (a duplicate, or the queue retrying
//!   a job whose worker died mid-attempt) re-queues itself for that time and does nothing else;
//! - an attempt is claimed before the request goes out, by moving `attempts` from the value
//!   read to the next one in a conditional update: of two jobs running at once, one sends and
//!   the other finds nothing to claim. The claim also pushes `next_attempt_at` a lease ahead,
//!   so that if this worker dies mid-request, the retried job waits out the lease and then
//!   makes the next attempt.
//!
//! A receiver may still see an event twice (its 2xx was lost, or the worker died after the
//! request was sent): deliveries are at least once, and the body's `id` is the same every time.

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use chrono::{DateTime, Utc};
use domain::webhook::{
    DELIVERY_HEADER, DeliveryStatus, EVENT_HEADER, NextAttempt, SIGNATURE_HEADER, WebhookUrl,
    is_public_ip, signature_header,
};
use entity::{webhook, webhook_delivery};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

use crate::JobContext;
use crate::webhooks::{WebhookReach, global_id, retry_schedule, schedule};

/// How long a receiver has to answer, connection included.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// How long a claimed attempt holds the delivery: longer than any request may take, and about
/// when the queues hand a dead worker's jobs to another.
const CLAIM_LEASE: Duration = Duration::from_secs(60);

/// The longest error text kept in the delivery log.
const MAX_ERROR_CHARS: usize = 500;

/// Why an attempt failed.
#[derive(Debug)]
struct Failure {
    status_code: Option<i32>,
    error: String,
}

/// # Errors
/// Database or queue failures; the queue retries the job, which picks up where it stopped. A
/// receiver's failure is not an error of the job: it is recorded and retried on the schedule.
pub async fn run(ctx: &JobContext, delivery_id: i64) -> anyhow::Result<()> {
    let db = &ctx.db;
    let Some(delivery) = webhook_delivery::Entity::find_by_id(delivery_id)
        .one(db)
        .await?
    else {
        tracing::debug!(
            delivery_id,
            "webhook delivery gone (its webhook was deleted)"
        );
        return Ok(());
    };
    if delivery.status != DeliveryStatus::Pending.as_str() {
        return Ok(());
    }
    let now = Utc::now();
    if let Some(due) = delivery.next_attempt_at
        && due > now
    {
        schedule(&ctx.queue, delivery.id, due).await?;
        return Ok(());
    }
    let Some(hook) = webhook::Entity::find_by_id(delivery.webhook_id)
        .one(db)
        .await?
    else {
        return Ok(());
    };
    let pending = || {
        webhook_delivery::Entity::update_many()
            .filter(webhook_delivery::Column::Id.eq(delivery.id))
            .filter(webhook_delivery::Column::Status.eq(DeliveryStatus::Pending.as_str()))
    };
    if !hook.active {
        pending()
            .filter(webhook_delivery::Column::Attempts.eq(delivery.attempts))
            .col_expr(
                webhook_delivery::Column::Status,
                Expr::value(DeliveryStatus::Failed.as_str()),
            )
            .col_expr(
                webhook_delivery::Column::LastError,
                Expr::value(Some("the webhook is disabled".to_owned())),
            )
            .col_expr(
                webhook_delivery::Column::NextAttemptAt,
                Expr::value(None::<DateTime<Utc>>),
            )
            .exec(db)
            .await?;
        return Ok(());
    }

    let attempt = delivery.attempts.saturating_add(1);
    let claimed = pending()
        .filter(webhook_delivery::Column::Attempts.eq(delivery.attempts))
        .col_expr(webhook_delivery::Column::Attempts, Expr::value(attempt))
        .col_expr(
            webhook_delivery::Column::LastAttemptAt,
            Expr::value(Some(now)),
        )
        .col_expr(
            webhook_delivery::Column::NextAttemptAt,
            Expr::value(Some(now + CLAIM_LEASE)),
        )
        .exec(db)
        .await?;
    if claimed.rows_affected == 0 {
        // Another job claimed this attempt, or the delivery was reset meanwhile.
        return Ok(());
    }

    let outcome = post(ctx.webhook_reach, &hook, &delivery, now).await;
    let finished = Utc::now();
    let mine = pending().filter(webhook_delivery::Column::Attempts.eq(attempt));
    let (update, retry_at) = match &outcome {
        Ok(status_code) => (
            mine.col_expr(
                webhook_delivery::Column::Status,
                Expr::value(DeliveryStatus::Delivered.as_str()),
            )
            .col_expr(
                webhook_delivery::Column::LastStatusCode,
                Expr::value(Some(*status_code)),
            )
            .col_expr(
                webhook_delivery::Column::LastError,
                Expr::value(None::<String>),
            )
            .col_expr(
                webhook_delivery::Column::DeliveredAt,
                Expr::value(Some(finished)),
            )
            .col_expr(
                webhook_delivery::Column::NextAttemptAt,
                Expr::value(None::<DateTime<Utc>>),
            ),
            None,
        ),
        Err(failure) => {
            let failed_attempts = u32::try_from(attempt).unwrap_or(u32::MAX);
            let (status, next) = match retry_schedule().after_failure(failed_attempts) {
                NextAttempt::RetryIn(delay) => (
                    DeliveryStatus::Pending,
                    Some(finished + chrono::Duration::from_std(delay)?),
                ),
                NextAttempt::GiveUp => (DeliveryStatus::Failed, None),
            };
            (
                mine.col_expr(
                    webhook_delivery::Column::Status,
                    Expr::value(status.as_str()),
                )
                .col_expr(
                    webhook_delivery::Column::LastStatusCode,
                    Expr::value(failure.status_code),
                )
                .col_expr(
                    webhook_delivery::Column::LastError,
                    Expr::value(Some(failure.error.clone())),
                )
                .col_expr(webhook_delivery::Column::NextAttemptAt, Expr::value(next)),
                next,
            )
        }
    };
    let recorded = update.exec(db).await?;
    match &outcome {
        Ok(status_code) => tracing::info!(delivery_id, attempt, status_code, "webhook delivered"),
        Err(failure) => tracing::warn!(
            delivery_id,
            attempt,
            status_code = failure.status_code,
            error = %failure.error,
            next_attempt_at = ?retry_at,
            "webhook attempt failed"
        ),
    }
    if recorded.rows_affected == 0 {
        // Redelivered while this attempt ran: the redelivery's own job takes it from here.
        return Ok(());
    }
    if let Some(next) = retry_at {
        schedule(&ctx.queue, delivery.id, next).await?;
    }
    Ok(())
}

/// The client every delivery shares (its connection pool, its TLS roots): no redirects
/// followed, a request timeout, and under [`WebhookReach::PublicOnly`] a resolver that hands
/// the connector public addresses only.
fn client(reach: WebhookReach) -> Result<&'static reqwest::Client, reqwest::Error> {
    static PUBLIC: OnceLock<reqwest::Client> = OnceLock::new();
    static ANYWHERE: OnceLock<reqwest::Client> = OnceLock::new();
    let cell = match reach {
        WebhookReach::PublicOnly => &PUBLIC,
        WebhookReach::Anywhere => &ANYWHERE,
    };
    if let Some(client) = cell.get() {
        return Ok(client);
    }
    let mut builder = reqwest::Client::builder()
        .timeout(REQUEST_TIMEOUT)
        .connect_timeout(CONNECT_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("Imprint-Webhooks/", env!("CARGO_PKG_VERSION")));
    if reach == WebhookReach::PublicOnly {
        builder = builder.dns_resolver(Arc::new(PublicAddresses));
    }
    let built = builder.build()?;
    Ok(cell.get_or_init(|| built))
}

/// Resolves a receiver's host name and keeps only its public addresses, so the connection
/// goes to an address that was checked: checking the name beforehand and letting the client
/// resolve it again would let a DNS answer that changes in between (rebinding) through.
struct PublicAddresses;

/// A host name that resolved to no public address.
#[derive(Debug, thiserror::Error)]
#[error("`{host}` resolves only to loopback, private or reserved addresses ({addresses})")]
struct NoPublicAddress {
    host: String,
    addresses: String,
}

impl reqwest::dns::Resolve for PublicAddresses {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().to_owned();
        Box::pin(async move {
            // Port 0: reqwest puts the URL's port (or the scheme's) in its place.
            let resolved: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let public: Vec<SocketAddr> = resolved
                .iter()
                .copied()
                .filter(|addr| is_public_ip(addr.ip()))
                .collect();
            if public.is_empty() {
                let addresses = resolved
                    .iter()
                    .map(|addr| addr.ip().to_string())
                    .collect::<Vec<_>>()
                    .join(", ");
                return Err(Box::new(NoPublicAddress { host, addresses }) as _);
            }
            Ok(Box::new(public.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// The secrets that sign a request made at `now`: the current one, then the one it replaced
/// while that is honoured.
fn signing_secrets(hook: &webhook::Model, now: DateTime<Utc>) -> Vec<&str> {
    let mut secrets = vec![hook.secret.as_str()];
    if let (Some(previous), Some(until)) = (&hook.previous_secret, hook.previous_secret_expires_at)
        && until > now
    {
        secrets.push(previous.as_str());
    }
    secrets
}

/// POSTs the stored body; a 2xx is success, anything else (a redirect included) a failure.
async fn post(
    reach: WebhookReach,
    hook: &webhook::Model,
    delivery: &webhook_delivery::Model,
    now: DateTime<Utc>,
) -> Result<i32, Failure> {
    if reach == WebhookReach::PublicOnly {
        // An address in the URL itself is never resolved, so the resolver cannot refuse it.
        let url = WebhookUrl::parse(&hook.url).map_err(|e| Failure {
            status_code: None,
            error: e.to_string(),
        })?;
        url.check_public().map_err(|e| Failure {
            status_code: None,
            error: e.to_string(),
        })?;
    }
    let client = client(reach).map_err(|e| Failure {
        status_code: None,
        error: describe(&e),
    })?;
    let body = delivery.payload.as_bytes();
    let signature = signature_header(now.timestamp(), body, &signing_secrets(hook, now));
    let response = client
        .post(&hook.url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header(SIGNATURE_HEADER, signature)
        .header(EVENT_HEADER, &delivery.event)
        .header(DELIVERY_HEADER, global_id("WebhookDelivery", delivery.id))
        .body(delivery.payload.clone())
        .send()
        .await
        .map_err(|e| Failure {
            status_code: None,
            error: describe(&e),
        })?;
    let status = response.status();
    let code = i32::from(status.as_u16());
    if status.is_success() {
        Ok(code)
    } else {
        let reason = status.canonical_reason().unwrap_or("");
        Err(Failure {
            status_code: Some(code),
            error: format!("HTTP {} {reason}", status.as_u16())
                .trim_end()
                .to_owned(),
        })
    }
}

/// A transport error as one line: what failed and its causes, without the URL (the log shows
/// the webhook's URL beside it), cut to [`MAX_ERROR_CHARS`].
fn describe(error: &reqwest::Error) -> String {
    let mut text = if error.is_timeout() {
        format!("timed out after {} s", REQUEST_TIMEOUT.as_secs())
    } else if error.is_connect() {
        "could not connect".to_owned()
    } else {
        "request failed".to_owned()
    };
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        let message = cause.to_string();
        if !text.contains(&message) {
            text.push_str(": ");
            text.push_str(&message);
        }
        source = cause.source();
    }
    if text.chars().count() > MAX_ERROR_CHARS {
        text = text.chars().take(MAX_ERROR_CHARS - 1).collect();
        text.push('…');
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rotated_secret_signs_until_it_expires() {
        let now = Utc::now();
        let mut hook = webhook::Model {
            id: 1,
            organization_id: 1,
            url: "https://example.com".into(),
            secret: "whsec_new".into(),
            events: "statement.parsed".into(),
            active: true,
            created_by_user_id: None,
            created_at: now,
            description: None,
            previous_secret: Some("whsec_old".into()),
            previous_secret_expires_at: Some(now + chrono::Duration::hours(1)),
        };
        assert_eq!(signing_secrets(&hook, now), ["whsec_new", "whsec_old"]);
        hook.previous_secret_expires_at = Some(now - chrono::Duration::seconds(1));
        assert_eq!(signing_secrets(&hook, now), ["whsec_new"]);
        hook.previous_secret = None;
        hook.previous_secret_expires_at = None;
        assert_eq!(signing_secrets(&hook, now), ["whsec_new"]);
    }
}
