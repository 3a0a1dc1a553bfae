//! `RunPayout`: computes every payee's payout in a run, then marks the run ready.
//!
//! The run's ledger watermark is fixed once, when it first starts computing, so every attempt
//! computes the same figures (see [`crate::payouts`]). Payouts are written a chunk of payees
//! per transaction with `ON CONFLICT (payout_run_id, payee_id, currency) DO NOTHING`: a worker
//! killed mid-run leaves whole chunks, and the retry writes only the payees still missing. A
//! payee therefore has at most one payout per run and currency, whatever happens to workers.

use chrono::Utc;
use entity::{organization, payout, payout_run};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ConnectionTrait, EntityTrait, Set, Statement};

use crate::JobContext;
use crate::payouts::{compute_run, ledger_high_water};
use domain::payout::{PayoutStatus, RunStatus};

/// Payees per transaction.
const CHUNK_PAYEES: usize = 500;

pub async fn run(ctx: &JobContext, payout_run_id: i64) -> anyhow::Result<()> {
    let db = &ctx.db;
    let Some(run) = payout_run::Entity::find_by_id(payout_run_id)
        .one(db)
        .await?
    else {
        tracing::warn!(payout_run_id, "payout run is gone");
        return Ok(());
    };
    if run.status != RunStatus::Draft.as_str() && run.status != RunStatus::Computing.as_str() {
        return Ok(()); // computed already, or cancelled: a duplicate job changes nothing
    }
    let org = organization::Entity::find_by_id(run.organization_id)
        .one(db)
        .await?
        .ok_or_else(|| anyhow::anyhow!("payout run {payout_run_id}: organisation is gone"))?;

    // Fix the watermark once (a retry keeps the first attempt's) and mark the run computing.
    let high_water = ledger_high_water(db, run.organization_id).await?;
    db.execute_raw(Statement::from_sql_and_values(
        db.get_database_backend(),
        "UPDATE payout_runs SET status = $1, ledger_watermark = COALESCE(ledger_watermark, $2), updated_at = $3 \
         WHERE id = $4 AND status IN ($5, $1)",
        [
            RunStatus::Computing.as_str().into(),
            high_water.into(),
            Utc::now().into(),
            payout_run_id.into(),
            RunStatus::Draft.as_str().into(),
        ],
    ))
    .await?;
    let Some(run) = payout_run::Entity::find_by_id(payout_run_id)
        .one(db)
        .await?
    else {
        return Ok(());
    };
    if run.status != RunStatus::Computing.as_str() {
        return Ok(()); // cancelled meanwhile
    }
    publish(ctx, &run).await?;
    let watermark = run.ledger_watermark.unwrap_or(high_water);

    let computed = match compute_run(db, &org, &run, watermark).await {
        Ok(c) => c,
        Err(err) => {
            // A refusal by the rules (an amount out of range, a stored value the domain does not
            // know) will not change on retry: the run fails with the reason.
            tracing::warn!(payout_run_id, error = %err, "payout run failed");
            set_status(ctx, &run, RunStatus::Failed, Some(err.to_string())).await?;
            return Ok(());
        }
    };
    let now = Utc::now();
    for chunk in computed.chunks(CHUNK_PAYEES) {
        let txn = entity::db::begin_write(db).await?;
        // Conditional on the run still computing, which also locks its row: a cancellation
        // either happened before (nothing is written) or waits for this chunk and then marks
        // its payouts cancelled too.
        let still_computing = db_touch_computing(&txn, payout_run_id).await?;
        if !still_computing {
            txn.rollback().await?;
            return Ok(());
        }
        let rows: Vec<payout::ActiveModel> = chunk
            .iter()
            .map(|c| {
                let l = &c.line;
                payout::ActiveModel {
                    organization_id: Set(run.organization_id),
                    payout_run_id: Set(run.id),
                    payee_id: Set(c.payee_id),
                    currency: Set(l.currency.as_str().to_owned()),
                    brought_forward_nanos: Set(l.brought_forward_nanos),
                    earnings_nanos: Set(l.earnings_nanos),
                    recouped_nanos: Set(l.recouped_nanos),
                    reserved_nanos: Set(l.reserved_nanos),
                    reserve_released_nanos: Set(l.reserve_released_nanos),
                    payable_nanos: Set(l.payable_nanos),
                    carried_forward_nanos: Set(l.carried_forward_nanos),
                    rounding_remainder_nanos: Set(l.rounding_remainder_nanos),
                    below_minimum: Set(l.below_minimum),
                    withheld_nanos: Set(l.withheld_nanos),
                    withholding_ppb: Set(c.withholding_ppb),
                    paid_nanos: Set(l.paid_nanos),
                    payout_currency: Set(l.payout_currency.as_str().to_owned()),
                    exchange_rate: Set(l.exchange_rate.normalize().to_string()),
                    payout_amount_nanos: Set(l.payout_amount_nanos),
                    status: Set(PayoutStatus::computed(l.payable_nanos).as_str().to_owned()),
                    payment_reference: Set(None),
                    paid_at: Set(None),
                    created_at: Set(now),
                    ..Default::default()
                }
            })
            .collect();
        payout::Entity::insert_many(rows)
            .on_conflict(
                OnConflict::columns([
                    payout::Column::PayoutRunId,
                    payout::Column::PayeeId,
                    payout::Column::Currency,
                ])
                .do_nothing()
                .to_owned(),
            )
            .exec_without_returning(&txn)
            .await?;
        txn.commit().await?;
    }
    set_status(ctx, &run, RunStatus::Ready, None).await?;
    tracing::info!(payout_run_id, payees = computed.len(), "payout run ready");
    Ok(())
}

/// Moves a computing run to `status` (only if it is still computing) and tells subscribers.
async fn set_status(
    ctx: &JobContext,
    run: &payout_run::Model,
    status: RunStatus,
    failure: Option<String>,
) -> anyhow::Result<()> {
    debug_assert!(RunStatus::Computing.can_transition_to(status));
    let db = &ctx.db;
    let changed = db
        .execute_raw(Statement::from_sql_and_values(
            db.get_database_backend(),
            "UPDATE payout_runs SET status = $1, failure_reason = $2, updated_at = $3 WHERE id = $4 AND status = $5",
            [
                status.as_str().into(),
                failure.into(),
                Utc::now().into(),
                run.id.into(),
                RunStatus::Computing.as_str().into(),
            ],
        ))
        .await?
        .rows_affected();
    if changed > 0
        && let Some(current) = payout_run::Entity::find_by_id(run.id).one(db).await?
    {
        publish(ctx, &current).await?;
    }
    Ok(())
}

/// Touches the run's row if it is still computing (a conditional update, which holds the row
/// until the transaction ends); returns whether it was.
async fn db_touch_computing(
    txn: &impl ConnectionTrait,
    payout_run_id: i64,
) -> anyhow::Result<bool> {
    let changed = txn
        .execute_raw(Statement::from_sql_and_values(
            txn.get_database_backend(),
            "UPDATE payout_runs SET updated_at = $1 WHERE id = $2 AND status = $3",
            [
                Utc::now().into(),
                payout_run_id.into(),
                RunStatus::Computing.as_str().into(),
            ],
        ))
        .await?
        .rows_affected();
    Ok(changed == 1)
}

/// Tells subscribers and partners' webhooks that a run moved; a failure to record the webhook
/// deliveries fails the job, whose retry records them (the run's state is already stored).
async fn publish(ctx: &JobContext, run: &payout_run::Model) -> anyhow::Result<()> {
    crate::payouts::announce(ctx, run).await
}
