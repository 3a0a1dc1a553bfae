//! The weekly digest: once per organisation and ISO week, its owners and admins are told how
//! many statement lines are unmatched, how many statements came in, and (once reconciliation
//! is there) how many statements no remittance accounts for.
//!
//! [`schedule`] runs with every sweep. An organisation whose digest for the current week is
//! decided (a row with its week's event exists) is left alone; for the others the figures are
//! computed and, in one transaction, a mail per owner and admin is written, or a single
//! `skipped` row when the week has nothing to report, so the decision is made once per week.
//! The unique idempotency key (event + recipient) makes two sweepers at once write nothing
//! twice.

use chrono::{DateTime, Utc};
use domain::auth::Role;
use domain::mail::{self, DigestFigures, MailKind, OutboxStatus};
use entity::{mail_outbox, membership, organization, statement, user};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QuerySelect, Statement,
    TransactionTrait,
};

use super::outbox::{self, NewMail};
use crate::JobContext;

/// Writes this week's digests that are not decided yet and queues their delivery. Returns the
/// mails queued.
///
/// # Errors
/// Database failures; organisations done before the failure stay done.
pub async fn schedule(ctx: &JobContext, now: DateTime<Utc>) -> anyhow::Result<usize> {
    let week = mail::iso_week(now);
    let decided: Vec<i64> = mail_outbox::Entity::find()
        .select_only()
        .column(mail_outbox::Column::OrganizationId)
        .filter(mail_outbox::Column::Kind.eq(MailKind::WeeklyDigest.as_str()))
        .filter(mail_outbox::Column::Event.ends_with(format!(":{week}")))
        .distinct()
        .into_tuple()
        .all(&ctx.db)
        .await?;
    let orgs = organization::Entity::find()
        .filter(organization::Column::Id.is_not_in(decided))
        .all(&ctx.db)
        .await?;
    let mut queued = Vec::new();
    for org in orgs {
        let figures = figures(&ctx.db, org.id, now).await?;
        let recipients = recipients(&ctx.db, org.id).await?;
        let event = mail::digest_event(org.id, now);
        let txn = ctx.db.begin().await?;
        if figures.is_quiet() || recipients.is_empty() {
            outbox::enqueue(
                &txn,
                NewMail {
                    organization_id: org.id,
                    kind: MailKind::WeeklyDigest,
                    event: &event,
                    recipient: "",
                    rendered: mail::weekly_digest(&org.name, &week, &figures, ""),
                    payout_id: None,
                    status: OutboxStatus::Skipped,
                },
                now,
            )
            .await?;
        } else {
            let link = ctx.mailer.settings.public_url.clone();
            for email in &recipients {
                if let Some(id) = outbox::enqueue(
                    &txn,
                    NewMail {
                        organization_id: org.id,
                        kind: MailKind::WeeklyDigest,
                        event: &event,
                        recipient: email,
                        rendered: mail::weekly_digest(&org.name, &week, &figures, &link),
                        payout_id: None,
                        status: OutboxStatus::Pending,
                    },
                    now,
                )
                .await?
                {
                    queued.push(id);
                }
            }
        }
        txn.commit().await?;
    }
    outbox::push(&ctx.queue, &queued).await;
    Ok(queued.len())
}

/// The digest's figures for one organisation.
///
/// # Errors
/// Database failures.
pub async fn figures(
    db: &impl ConnectionTrait,
    organization_id: i64,
    now: DateTime<Utc>,
) -> anyhow::Result<DigestFigures> {
    // PostgreSQL sums a BIGINT as NUMERIC: cast back, the same SQL on both backends.
    let unmatched: Option<i64> = statement::Entity::find()
        .select_only()
        .column_as(
            Expr::cust("CAST(COALESCE(SUM(unmatched_count), 0) AS BIGINT)"),
            "n",
        )
        .filter(statement::Column::OrganizationId.eq(organization_id))
        .into_tuple()
        .one(db)
        .await?;
    let this_week = statement::Entity::find()
        .filter(statement::Column::OrganizationId.eq(organization_id))
        .filter(statement::Column::CreatedAt.gte(now - chrono::Duration::days(7)))
        .count(db)
        .await?;
    Ok(DigestFigures {
        unmatched_lines: unmatched.unwrap_or(0),
        statements_this_week: i64::try_from(this_week).unwrap_or(i64::MAX),
        unreconciled_statements: unreconciled_statements(db, organization_id).await?,
    })
}

/// How many of an organisation's parsed statements are not reconciled: no remittance pays
/// them (a statement is reconciled once a `recordRemittance` links it, see
/// `Statement.reconciliation`).
///
/// # Errors
/// Database failures.
pub async fn unreconciled_statements(
    db: &impl ConnectionTrait,
    organization_id: i64,
) -> anyhow::Result<Option<i64>> {
    let backend = db.get_database_backend();
    let count = db
        .query_one_raw(Statement::from_sql_and_values(
            backend,
            "SELECT CAST(COUNT(*) AS BIGINT) AS n FROM statements s \
             WHERE s.organization_id = $1 AND s.status = 'parsed' AND NOT EXISTS \
             (SELECT 1 FROM remittance_statements r WHERE r.statement_id = s.id)",
            [organization_id.into()],
        ))
        .await?
        .map(|row| row.try_get::<i64>("", "n"))
        .transpose()?;
    Ok(Some(count.unwrap_or(0)))
}

/// The owners' and admins' email addresses.
async fn recipients(
    db: &impl ConnectionTrait,
    organization_id: i64,
) -> anyhow::Result<Vec<String>> {
    let members = membership::Entity::find()
        .filter(membership::Column::OrganizationId.eq(organization_id))
        .filter(membership::Column::Role.is_in([Role::Owner.as_str(), Role::Admin.as_str()]))
        .find_also_related(user::Entity)
        .all(db)
        .await?;
    let mut emails: Vec<String> = members
        .into_iter()
        .filter_map(|(_, u)| u.map(|u| u.email))
        .collect();
    emails.sort();
    emails.dedup();
    Ok(emails)
}
