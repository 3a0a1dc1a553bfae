//! The sweeper: the stored rows are the outbox of the jobs they need. A statement uploaded,
//! a parsed statement not yet allocated, a payout run not yet computed: each row says its job
//! is owed, so a job whose push was lost (the queue down at that moment, a process killed
//! between its commit and its push) is pushed again from the row. Every job is idempotent and
//! takes its row through a conditional transition, so a push that was not lost after all
//! changes nothing twice.
//!
//! Mails too: a `pending` outbox mail whose `next_attempt_at` is overdue is pushed again (when
//! SMTP is configured), and every sweep writes the weekly digests not decided yet
//! (`mail::digest`).

use std::time::Duration;

use chrono::Utc;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect};

use crate::{Job, JobContext};

/// How long a row may wait for its job before the sweeper pushes it again: far longer than a
/// push takes to be picked up, so a queue that is merely busy is rarely swept.
pub const OVERDUE: Duration = Duration::from_secs(120);
/// How often a worker process sweeps.
pub const EVERY: Duration = Duration::from_secs(30);

/// Pushes again the jobs owed by rows older than `overdue`. Returns how many it pushed.
///
/// # Errors
/// Database or queue failures.
pub async fn sweep(ctx: &JobContext, overdue: Duration) -> anyhow::Result<usize> {
    let before = Utc::now() - chrono::Duration::from_std(overdue)?;
    let mut jobs = Vec::new();
    let uploaded: Vec<i64> = entity::statement::Entity::find()
        .select_only()
        .column(entity::statement::Column::Id)
        .filter(entity::statement::Column::Status.eq(crate::ingest::STATUS_UPLOADED))
        .filter(entity::statement::Column::UpdatedAt.lt(before))
        .into_tuple()
        .all(&ctx.db)
        .await?;
    jobs.extend(
        uploaded
            .into_iter()
            .map(|statement_id| Job::ParseStatement { statement_id }),
    );
    let unallocated: Vec<i64> = entity::statement::Entity::find()
        .select_only()
        .column(entity::statement::Column::Id)
        .filter(entity::statement::Column::Status.eq(crate::ingest::STATUS_PARSED))
        .filter(
            entity::statement::Column::AllocationStatus
                .eq(crate::jobs::allocate_statement::STATUS_PENDING),
        )
        .filter(entity::statement::Column::UpdatedAt.lt(before))
        .into_tuple()
        .all(&ctx.db)
        .await?;
    jobs.extend(
        unallocated
            .into_iter()
            .map(|statement_id| Job::AllocateStatement { statement_id }),
    );
    let drafts: Vec<i64> = entity::payout_run::Entity::find()
        .select_only()
        .column(entity::payout_run::Column::Id)
        .filter(entity::payout_run::Column::Status.eq(domain::payout::RunStatus::Draft.as_str()))
        .filter(entity::payout_run::Column::UpdatedAt.lt(before))
        .into_tuple()
        .all(&ctx.db)
        .await?;
    jobs.extend(
        drafts
            .into_iter()
            .map(|payout_run_id| Job::RunPayout { payout_run_id }),
    );
    if ctx.mailer.sends() {
        // A mail is owed its delivery while `pending`; its `next_attempt_at` is when (a retry's
        // time, or the end of a claimed attempt's lease). Overdue there, its job was lost.
        let mails: Vec<i64> = entity::mail_outbox::Entity::find()
            .select_only()
            .column(entity::mail_outbox::Column::Id)
            .filter(
                entity::mail_outbox::Column::Status
                    .eq(domain::mail::OutboxStatus::Pending.as_str()),
            )
            .filter(entity::mail_outbox::Column::NextAttemptAt.lt(before))
            .into_tuple()
            .all(&ctx.db)
            .await?;
        jobs.extend(
            mails
                .into_iter()
                .map(|mail_id| Job::DeliverMail { mail_id }),
        );
    }
    let count = jobs.len();
    for job in jobs {
        tracing::warn!(
            job = job.name(),
            ?job,
            "a job owed by its row was pushed again"
        );
        ctx.queue.push(job).await?;
    }
    Ok(count)
}

/// Sweeps every [`EVERY`] until the process stops; a failed sweep is logged and tried again.
pub async fn run(ctx: JobContext) {
    loop {
        tokio::time::sleep(EVERY).await;
        if let Err(err) = sweep(&ctx, OVERDUE).await {
            tracing::warn!(error = %err, "sweep failed; trying again later");
        }
        if let Err(err) = crate::mail::digest::schedule(&ctx, Utc::now()).await {
            tracing::warn!(error = %err, "weekly digests not scheduled; trying again later");
        }
    }
}
