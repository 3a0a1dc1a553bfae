//! `DeliverMail`: one attempt to send an outbox mail over SMTP, and the next attempt scheduled
//! when it fails.
//!
//! The job is safe to run any number of times, like `DeliverWebhook`:
//! - a mail that is not `pending` is left alone, and so is every mail while no SMTP server is
//!   configured (it waits in the outbox);
//! - a job that runs before the mail's `next_attempt_at` (a duplicate, or the queue retrying a
//!   job whose worker died mid-send) re-queues itself for that time and does nothing else;
//! - an attempt is claimed before anything is sent, by moving `attempts` from the value read to
//!   the next in a conditional update that also pushes `next_attempt_at` a lease ahead: of two
//!   jobs at once one sends and the other finds nothing to claim, and a worker killed mid-send
//!   leaves the mail to the attempt after the lease;
//! - only the attempt that claimed the mail may mark it sent or schedule its retry.
//!
//! The residual window: a worker killed (or a database lost) after the SMTP server accepted the
//! mail and before the row is marked `sent` makes the next attempt send it again. Every attempt
//! carries the same `Message-ID` (`domain::mail::message_id` of the outbox key), so the
//! receiving side can drop the copy; delivery is at least once, exactly once whenever the
//! worker lives from the server's answer to the database's.

use chrono::{DateTime, Utc};
use domain::mail::OutboxStatus;
use domain::webhook::{NextAttempt, RetrySchedule};
use entity::mail_outbox;
use lettre::AsyncTransport;
use lettre::message::header::ContentType;
use lettre::message::{Attachment, Mailbox, MultiPart};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

use crate::{Job, JobContext};

/// When failed attempts are retried: after 30 s, 2 min, 8 min… and given up after the 8th.
pub const RETRIES: RetrySchedule = RetrySchedule::DEFAULT;

/// The longest error text kept on the row.
const MAX_ERROR_CHARS: usize = 500;

/// Why an attempt failed, and whether trying again can help.
#[derive(Debug)]
struct Failure {
    error: String,
    permanent: bool,
}

/// # Errors
/// Database or queue failures; the queue retries the job, which picks up where it stopped.
/// The SMTP server's refusal is not an error of the job: it is recorded and retried.
pub async fn run(ctx: &JobContext, mail_id: i64) -> anyhow::Result<()> {
    let db = &ctx.db;
    let Some(mail) = mail_outbox::Entity::find_by_id(mail_id).one(db).await? else {
        return Ok(());
    };
    if mail.status != OutboxStatus::Pending.as_str() {
        return Ok(());
    }
    let Some(transport) = ctx.mailer.transport() else {
        tracing::debug!(
            mail_id,
            "no SMTP server configured: the mail stays in the outbox"
        );
        return Ok(());
    };
    let now = Utc::now();
    if let Some(due) = mail.next_attempt_at
        && due > now
    {
        ctx.queue.push_at(Job::DeliverMail { mail_id }, due).await?;
        return Ok(());
    }
    let pending = || {
        mail_outbox::Entity::update_many()
            .filter(mail_outbox::Column::Id.eq(mail.id))
            .filter(mail_outbox::Column::Status.eq(OutboxStatus::Pending.as_str()))
    };
    let attempt = mail.attempts.saturating_add(1);
    let lease = chrono::Duration::from_std(ctx.mailer.settings.lease)?;
    let claimed = pending()
        .filter(mail_outbox::Column::Attempts.eq(mail.attempts))
        .col_expr(mail_outbox::Column::Attempts, Expr::value(attempt))
        .col_expr(mail_outbox::Column::LastAttemptAt, Expr::value(Some(now)))
        .col_expr(
            mail_outbox::Column::NextAttemptAt,
            Expr::value(Some(now + lease)),
        )
        .exec(db)
        .await?;
    if claimed.rows_affected == 0 {
        return Ok(());
    }

    let outcome = match message(ctx, &mail).await {
        Ok(message) => transport
            .send(message)
            .await
            .map(|_| ())
            .map_err(|e| Failure {
                permanent: e.is_permanent(),
                error: describe(&e.to_string()),
            }),
        Err(failure) => Err(failure),
    };
    let finished = Utc::now();
    let mine = pending().filter(mail_outbox::Column::Attempts.eq(attempt));
    let (update, retry_at) = match &outcome {
        Ok(()) => (
            mine.col_expr(
                mail_outbox::Column::Status,
                Expr::value(OutboxStatus::Sent.as_str()),
            )
            .col_expr(mail_outbox::Column::SentAt, Expr::value(Some(finished)))
            .col_expr(mail_outbox::Column::LastError, Expr::value(None::<String>))
            .col_expr(
                mail_outbox::Column::NextAttemptAt,
                Expr::value(None::<DateTime<Utc>>),
            ),
            None,
        ),
        Err(failure) => {
            let failed_attempts = u32::try_from(attempt).unwrap_or(u32::MAX);
            let next = if failure.permanent {
                NextAttempt::GiveUp
            } else {
                RETRIES.after_failure(failed_attempts)
            };
            let (status, next) = match next {
                NextAttempt::RetryIn(delay) => (
                    OutboxStatus::Pending,
                    Some(finished + chrono::Duration::from_std(delay)?),
                ),
                NextAttempt::GiveUp => (OutboxStatus::Failed, None),
            };
            (
                mine.col_expr(mail_outbox::Column::Status, Expr::value(status.as_str()))
                    .col_expr(
                        mail_outbox::Column::LastError,
                        Expr::value(Some(failure.error.clone())),
                    )
                    .col_expr(mail_outbox::Column::NextAttemptAt, Expr::value(next)),
                next,
            )
        }
    };
    let recorded = update.exec(db).await?;
    match &outcome {
        Ok(()) => tracing::info!(mail_id, attempt, kind = %mail.kind, "mail sent"),
        Err(failure) => tracing::warn!(
            mail_id,
            attempt,
            error = %failure.error,
            next_attempt_at = ?retry_at,
            "mail attempt failed"
        ),
    }
    if recorded.rows_affected == 0 {
        return Ok(());
    }
    if let Some(next) = retry_at {
        ctx.queue
            .push_at(Job::DeliverMail { mail_id }, next)
            .await?;
    }
    Ok(())
}

/// The message of an outbox row: plain text and HTML alternatives, the payee statement PDF
/// attached when the row names a payout, and the `Message-ID` of its key.
async fn message(ctx: &JobContext, mail: &mail_outbox::Model) -> Result<lettre::Message, Failure> {
    let permanent = |error: String| Failure {
        error: describe(&error),
        permanent: true,
    };
    let settings = &ctx.mailer.settings;
    let from: Mailbox = settings
        .from
        .parse()
        .map_err(|e| permanent(format!("From address: {e}")))?;
    let to: Mailbox = mail
        .recipient
        .parse()
        .map_err(|e| permanent(format!("recipient address: {e}")))?;
    let builder = lettre::Message::builder()
        .from(from)
        .to(to)
        .subject(mail.subject.clone())
        .message_id(Some(domain::mail::message_id(
            &mail.idempotency_key,
            settings.public_host(),
        )));
    let body = MultiPart::alternative_plain_html(mail.text_body.clone(), mail.html_body.clone());
    let built = match mail.payout_id {
        None => builder.multipart(body),
        Some(payout_id) => {
            let statement = crate::payee_statement::load(&ctx.db, payout_id)
                .await
                .map_err(|e| Failure {
                    error: describe(&format!("payee statement: {e}")),
                    permanent: false,
                })?;
            let pdf = domain::payee_statement::to_pdf(&statement);
            let content_type = ContentType::parse("application/pdf")
                .map_err(|e| permanent(format!("content type: {e}")))?;
            let attachment =
                Attachment::new(format!("statement-{payout_id}.pdf")).body(pdf, content_type);
            builder.multipart(MultiPart::mixed().multipart(body).singlepart(attachment))
        }
    };
    built.map_err(|e| permanent(format!("message: {e}")))
}

/// An error as one line of at most [`MAX_ERROR_CHARS`].
fn describe(error: &str) -> String {
    let line = error.replace(['\r', '\n'], " ");
    if line.chars().count() > MAX_ERROR_CHARS {
        let mut cut: String = line.chars().take(MAX_ERROR_CHARS - 1).collect();
        cut.push('…');
        cut
    } else {
        line
    }
}
