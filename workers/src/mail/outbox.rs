//! Writing mails into the outbox, in the transaction of the event they tell of.
//!
//! Every function here takes the caller's connection (its open transaction): the mail is
//! committed with the event or not at all. A row's `idempotency_key` (event + recipient) is
//! unique and inserted with "on conflict do nothing", so telling of one event again (a retried
//! mutation, a second call) queues nothing twice. Once the transaction commits, the caller
//! hands the new ids to [`push`]; a push that is lost (the queue down, the process killed in
//! between) is made again by the sweeper from the `pending` row.

use chrono::{DateTime, Utc};
use domain::mail::{self, MailKind, OutboxStatus, Rendered};
use entity::{invitation, mail_outbox, organization, payee, payout, payout_run};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
    TryInsertResult,
};

use crate::{Job, JobQueue};

use super::MailSettings;

/// One mail to write.
#[derive(Debug, Clone)]
pub struct NewMail<'a> {
    pub organization_id: i64,
    pub kind: MailKind,
    /// What happened (`domain::mail::invitation_event`…).
    pub event: &'a str,
    pub recipient: &'a str,
    pub rendered: Rendered,
    /// The payout whose statement PDF goes attached.
    pub payout_id: Option<i64>,
    /// `Pending`, or `Skipped` for a decision recorded without a mail.
    pub status: OutboxStatus,
}

/// Writes `mail` unless its event already has a mail to this recipient. Returns the new row's
/// id, `None` when there was one already.
///
/// # Errors
/// Database failures.
pub async fn enqueue(
    db: &impl ConnectionTrait,
    mail: NewMail<'_>,
    now: DateTime<Utc>,
) -> Result<Option<i64>, DbErr> {
    let key = mail::idempotency_key(mail.event, mail.recipient);
    let pending = mail.status == OutboxStatus::Pending;
    let inserted = mail_outbox::Entity::insert(mail_outbox::ActiveModel {
        organization_id: Set(mail.organization_id),
        idempotency_key: Set(key),
        kind: Set(mail.kind.as_str().to_owned()),
        event: Set(mail.event.to_owned()),
        recipient: Set(mail.recipient.trim().to_owned()),
        subject: Set(mail.rendered.subject),
        text_body: Set(mail.rendered.text),
        html_body: Set(mail.rendered.html),
        payout_id: Set(mail.payout_id),
        status: Set(mail.status.as_str().to_owned()),
        attempts: Set(0),
        next_attempt_at: Set(pending.then_some(now)),
        last_attempt_at: Set(None),
        last_error: Set(None),
        sent_at: Set(None),
        created_at: Set(now),
        ..Default::default()
    })
    .on_conflict_do_nothing_on([mail_outbox::Column::IdempotencyKey])
    .exec(db)
    .await?;
    Ok(match inserted {
        TryInsertResult::Inserted(result) if pending => Some(result.last_insert_id),
        _ => None,
    })
}

/// Queues the invitation mail with its accept link (the token is the invitee's secret: the
/// mail carries it, and the outbox keeps it until the invitation is accepted or expires).
///
/// # Errors
/// Database failures.
pub async fn invitation(
    db: &impl ConnectionTrait,
    settings: &MailSettings,
    invitation: &invitation::Model,
    token: &str,
) -> Result<Option<i64>, DbErr> {
    let org_name = organization::Entity::find_by_id(invitation.organization_id)
        .one(db)
        .await?
        .map(|o| o.name)
        .unwrap_or_default();
    let link = mail::invitation_link(&settings.public_url, token);
    let event = mail::invitation_event(invitation.id);
    enqueue(
        db,
        NewMail {
            organization_id: invitation.organization_id,
            kind: MailKind::Invitation,
            event: &event,
            recipient: &invitation.email,
            rendered: mail::invitation(&org_name, &invitation.role, &link, invitation.expires_at),
            payout_id: None,
            status: OutboxStatus::Pending,
        },
        invitation.created_at,
    )
    .await
}

/// Queues "your statement is ready", the PDF attached, to every payee of a paid run who has an
/// email address and was paid in it. Returns the new rows' ids.
///
/// # Errors
/// Database failures.
pub async fn statements_ready(
    db: &impl ConnectionTrait,
    run: &payout_run::Model,
    now: DateTime<Utc>,
) -> Result<Vec<i64>, DbErr> {
    let org_name = organization::Entity::find_by_id(run.organization_id)
        .one(db)
        .await?
        .map(|o| o.name)
        .unwrap_or_default();
    let paid = payout::Entity::find()
        .filter(payout::Column::PayoutRunId.eq(run.id))
        .filter(payout::Column::Status.eq(domain::payout::PayoutStatus::Paid.as_str()))
        .find_also_related(payee::Entity)
        .order_by_asc(payout::Column::Id)
        .all(db)
        .await?;
    let period_end = run.period_end.format("%Y-%m-%d").to_string();
    let mut ids = Vec::new();
    for (p, payee) in paid {
        let Some(payee) = payee else { continue };
        let Some(email) = payee
            .email
            .as_deref()
            .map(str::trim)
            .filter(|e| !e.is_empty())
        else {
            continue;
        };
        let amount = match domain::money::Currency::parse(&p.currency) {
            Ok(c) => format!(
                "{} {}",
                domain::money::Money::new(p.payable_nanos, c).to_decimal_string(),
                p.currency
            ),
            Err(_) => p.currency.clone(),
        };
        let event = mail::statement_ready_event(p.id);
        let rendered = mail::statement_ready(
            &org_name,
            &payee.name,
            &period_end,
            &amount,
            p.payment_reference.as_deref(),
        );
        if let Some(id) = enqueue(
            db,
            NewMail {
                organization_id: run.organization_id,
                kind: MailKind::StatementReady,
                event: &event,
                recipient: email,
                rendered,
                payout_id: Some(p.id),
                status: OutboxStatus::Pending,
            },
            now,
        )
        .await?
        {
            ids.push(id);
        }
    }
    Ok(ids)
}

/// Queues the delivery of mails just committed. A failure is logged, not returned: the
/// event is committed, and the sweeper pushes a `pending` mail whose push was lost.
pub async fn push(queue: &JobQueue, mail_ids: &[i64]) {
    for &mail_id in mail_ids {
        if let Err(err) = queue.push(Job::DeliverMail { mail_id }).await {
            tracing::warn!(mail_id, error = %err, "mail delivery not queued; the sweeper will");
        }
    }
}
