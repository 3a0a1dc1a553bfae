//! Payout runs: which ledger entries a run takes up, and each payee's figures for it.
//!
//! # Which entries a run takes up
//!
//! A run fixes a *watermark* (the last ledger entry id) when it starts computing. It takes up
//! the entries of the payees' earnings accounts (`earnings`, `label`, `recoupment`) that are
//!
//! - at or below its watermark,
//! - for a sale period ending by its `period_end` (or with no period),
//! - not of a statement the run holds back ([`hold_unreconciled`]: the organisation pays only
//!   reconciled money and no remittance pays the statement yet),
//! - and not taken up by an earlier **paid** run (by that run's own watermark and period end,
//!   unless that run held the entry's statement back; runs are sequential, so an earlier run
//!   has a smaller id).
//!
//! The ledger is append-only, so this set never changes once fixed: a retried run computes the
//! same figures, and a late statement for an old period is taken up by the next run. Cancelled
//! and failed runs take up nothing.
//!
//! # A payee's figures
//!
//! Per payee and currency, `domain::payout::compute_payout` gets the earnings and recoupment
//! of those entries, the balance carried forward by the payee's latest paid payout, and the
//! reserves falling due (reserves held by earlier paid runs, released after the organisation's
//! `reserve_release_periods` periods of `payout_period_months` months). The minimum payout
//! applies when the balance is in the payee's own currency.
//!
//! The payable is then paid by the payee's terms (`domain::payout::compute_paid_payout`): their
//! withholding rate, and, for a payee whose currency is not the ledger's, the rate the run
//! records for that currency ([`rate_for`], the one place a run finds a rate).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use domain::money::Currency;
use domain::payout::{
    HeldReserve, PaymentTerms, PayoutInput, PayoutLine, PayoutRate, RateError, RunStatus,
    compute_paid_payout, due_reserves, payout_rate,
};
use entity::{fx_setting, organization, payee, payout, payout_run, payout_run_held_statement};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set, Statement};

/// SQL condition on `ledger_entries e` selecting the entries run `$2` (watermark `$3`, period
/// end `$4`) of organisation `$1` takes up; see the module doc.
pub const TAKEN_UP_BY_RUN: &str = "e.organization_id = $1 AND e.payee_id IS NOT NULL \
    AND e.account IN ('earnings', 'label', 'recoupment') \
    AND e.id <= $3 AND (e.period IS NULL OR e.period <= $4) \
    AND NOT EXISTS (SELECT 1 FROM payout_run_held_statements h \
        WHERE h.payout_run_id = $2 AND h.statement_id = e.statement_id) \
    AND NOT EXISTS (SELECT 1 FROM payout_runs r WHERE r.organization_id = $1 AND r.status = 'paid' \
        AND r.id < $2 AND e.id <= r.ledger_watermark AND (e.period IS NULL OR e.period <= r.period_end) \
        AND NOT EXISTS (SELECT 1 FROM payout_run_held_statements h \
            WHERE h.payout_run_id = r.id AND h.statement_id = e.statement_id))";

/// SQL condition on a paid run `r` and a ledger entry `e`: `r` took `e` up (by its watermark
/// and period end, unless it held `e`'s statement back). Every figure of what is still
/// pending (the money summary) uses it, so it agrees with [`TAKEN_UP_BY_RUN`].
pub const PAID_RUN_TOOK_UP: &str = "r.organization_id = e.organization_id AND r.status = 'paid' \
    AND e.id <= r.ledger_watermark AND (e.period IS NULL OR e.period <= r.period_end) \
    AND NOT EXISTS (SELECT 1 FROM payout_run_held_statements h \
        WHERE h.payout_run_id = r.id AND h.statement_id = e.statement_id)";

/// Whether the organisation pays only reconciled money (`setPayoutsReconciledOnly`).
///
/// # Errors
/// A database error.
pub async fn reconciled_only(
    db: &impl ConnectionTrait,
    organization_id: i64,
) -> Result<bool, sea_orm::DbErr> {
    Ok(fx_setting::Entity::find()
        .filter(fx_setting::Column::OrganizationId.eq(organization_id))
        .one(db)
        .await?
        .is_some_and(|s| s.payouts_reconciled_only))
}

/// Records the statements `run` holds back: of the statements with entries the run would take
/// up, those whose money does not count toward a payout yet
/// (`domain::fx::counts_toward_payout`: the organisation pays only reconciled money and no
/// remittance pays them). Their entries are then left out by [`TAKEN_UP_BY_RUN`], and an
/// earlier paid run that held a statement did not take its entries up, so the first run after
/// its remittance pays it, once. Recorded rows are kept on a retry (insert-or-nothing), so a
/// retried run computes what its first attempt did.
///
/// # Errors
/// A database error.
pub async fn hold_unreconciled(
    db: &impl ConnectionTrait,
    run: &payout_run::Model,
    watermark: i64,
) -> Result<Vec<i64>, sea_orm::DbErr> {
    let reconciled_only = reconciled_only(db, run.organization_id).await?;
    let sql = format!(
        "SELECT DISTINCT e.statement_id, CASE WHEN EXISTS (SELECT 1 FROM remittance_statements rs \
           WHERE rs.statement_id = e.statement_id) THEN 1 ELSE 0 END \
         FROM ledger_entries e WHERE {TAKEN_UP_BY_RUN} AND e.statement_id IS NOT NULL"
    );
    let rows = db
        .query_all_raw(Statement::from_sql_and_values(
            db.get_database_backend(),
            &sql,
            taken_up_values(run, watermark),
        ))
        .await?;
    let mut held = Vec::new();
    for row in rows {
        let statement_id: i64 = row.try_get_by_index(0)?;
        let reconciled: i32 = row.try_get_by_index(1)?;
        if !domain::fx::counts_toward_payout(reconciled_only, true, reconciled != 0) {
            held.push(statement_id);
        }
    }
    if !held.is_empty() {
        payout_run_held_statement::Entity::insert_many(held.iter().map(|statement_id| {
            payout_run_held_statement::ActiveModel {
                payout_run_id: Set(run.id),
                statement_id: Set(*statement_id),
                organization_id: Set(run.organization_id),
            }
        }))
        .on_conflict(
            OnConflict::columns([
                payout_run_held_statement::Column::PayoutRunId,
                payout_run_held_statement::Column::StatementId,
            ])
            .do_nothing()
            .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    }
    Ok(held)
}

/// The bind values for [`TAKEN_UP_BY_RUN`].
#[must_use]
pub fn taken_up_values(run: &payout_run::Model, watermark: i64) -> Vec<sea_orm::Value> {
    vec![
        run.organization_id.into(),
        run.id.into(),
        watermark.into(),
        run.period_end.into(),
    ]
}

/// The rates a run was given (`payout_runs.exchange_rates`, a JSON object of currency →
/// decimal string).
///
/// # Errors
/// A stored value that is not such an object.
pub fn run_rates(run: &payout_run::Model) -> anyhow::Result<BTreeMap<Currency, PayoutRate>> {
    let raw: BTreeMap<String, String> = serde_json::from_str(&run.exchange_rates)
        .map_err(|e| anyhow::anyhow!("payout run {}: exchange rates: {e}", run.id))?;
    raw.into_iter()
        .map(|(currency, rate)| {
            let c = Currency::parse(&currency).map_err(|e| anyhow::anyhow!("{currency}: {e}"))?;
            let r = PayoutRate::parse(&rate).map_err(|e| anyhow::anyhow!("{currency}: {e}"))?;
            Ok((c, r))
        })
        .collect()
}

/// The rate a payee in `payout` is paid at from a ledger in `ledger`, in a run given
/// `run_rates`: the one lookup both `createPayoutRun` (to refuse a run that lacks a rate) and
/// the worker use. (A fallback to the organisation's rate table belongs here.)
///
/// # Errors
/// [`RateError::Missing`].
pub fn rate_for(
    run_rates: &BTreeMap<Currency, PayoutRate>,
    ledger: Currency,
    payout: Currency,
) -> Result<PayoutRate, RateError> {
    payout_rate(run_rates, ledger, payout)
}

/// Fills in, from the organisation's rate table, the rates a run was not given for the payee
/// currencies in `currencies`: for each, the latest table rate (direct, inverted or crossed
/// through EUR, `domain::fx::pick_table_rate`) dated on the run's period end or up to
/// `domain::fx::TABLE_LOOKBACK_DAYS` before it. A rate given on the run wins. What is found is
/// recorded on the run with the others, so a later change to the table never changes a run.
///
/// # Errors
/// A database error.
pub async fn fill_rates_from_table(
    db: &impl ConnectionTrait,
    organization_id: i64,
    ledger: Currency,
    currencies: &[Currency],
    period_end: chrono::NaiveDate,
    rates: &mut BTreeMap<Currency, PayoutRate>,
) -> Result<(), sea_orm::DbErr> {
    let missing: Vec<Currency> = currencies
        .iter()
        .copied()
        .filter(|c| *c != ledger && !rates.contains_key(c))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let mut codes: Vec<&str> = missing.iter().map(Currency::as_str).collect();
    codes.push(ledger.as_str());
    let rows = crate::fx::table_rows(db, organization_id, &codes, period_end, period_end).await?;
    for payout in missing {
        if let Some((rate, _day)) =
            domain::fx::pick_table_rate(&rows, ledger, payout, period_end, period_end)
            && let Ok(rate) = PayoutRate::new(rate.to_decimal())
        {
            rates.insert(payout, rate);
        }
    }
    Ok(())
}

/// A payee's terms of payment in a run paying from a ledger in `ledger`.
///
/// # Errors
/// An unknown stored currency, or no rate for the payee's currency.
pub fn payment_terms(
    payee: &payee::Model,
    run_rates: &BTreeMap<Currency, PayoutRate>,
    ledger: Currency,
) -> anyhow::Result<PaymentTerms> {
    let payout = Currency::parse(&payee.currency)
        .map_err(|e| anyhow::anyhow!("payee {} currency {}: {e}", payee.id, payee.currency))?;
    let rate = rate_for(run_rates, ledger, payout)?;
    Ok(PaymentTerms {
        withholding_ppb: u64::try_from(payee.withholding_ppb).unwrap_or(0),
        conversion: (payout != ledger).then_some((payout, rate)),
    })
}

/// A payee's computed payout in one currency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComputedPayout {
    pub payee_id: i64,
    pub line: PayoutLine,
    /// The withholding rate the line was paid by, in ppb.
    pub withholding_ppb: i64,
}

#[derive(Debug, Default, Clone, Copy)]
struct Earned {
    earnings: i64,
    recouped: i64,
}

/// Computes every payee's payout for `run` with the entries up to `watermark`, ordered by
/// payee and currency.
///
/// # Errors
/// Database failures, an unknown stored currency, or a domain refusal (an amount out of
/// range).
pub async fn compute_run(
    db: &impl ConnectionTrait,
    org: &organization::Model,
    run: &payout_run::Model,
    watermark: i64,
) -> anyhow::Result<Vec<ComputedPayout>> {
    hold_unreconciled(db, run, watermark).await?;
    let backend = db.get_database_backend();
    let sql = format!(
        "SELECT e.payee_id, e.currency, CAST(SUM(e.amount_nanos) AS BIGINT), \
           CAST(SUM(CASE WHEN e.account = 'recoupment' THEN e.amount_nanos ELSE 0 END) AS BIGINT) \
         FROM ledger_entries e WHERE {TAKEN_UP_BY_RUN} GROUP BY e.payee_id, e.currency"
    );
    let rows = db
        .query_all_raw(Statement::from_sql_and_values(
            backend,
            &sql,
            taken_up_values(run, watermark),
        ))
        .await?;
    let mut earned: BTreeMap<(i64, String), Earned> = BTreeMap::new();
    for row in rows {
        let payee_id: i64 = row.try_get_by_index(0)?;
        let currency: String = row.try_get_by_index(1)?;
        earned.insert(
            (payee_id, currency),
            Earned {
                earnings: row.try_get_by_index(2)?,
                recouped: row.try_get_by_index(3)?,
            },
        );
    }

    // Earlier paid runs, oldest first, and what their payouts carried and held.
    let mut prior = payout_run::Entity::find()
        .filter(payout_run::Column::OrganizationId.eq(run.organization_id))
        .filter(payout_run::Column::Status.eq(RunStatus::Paid.as_str()))
        .filter(payout_run::Column::Id.ne(run.id))
        .all(db)
        .await?;
    prior.sort_by_key(|r| (r.period_end, r.id));
    let prior_ids: Vec<i64> = prior.iter().map(|r| r.id).collect();
    let prior_payouts = if prior_ids.is_empty() {
        Vec::new()
    } else {
        payout::Entity::find()
            .filter(payout::Column::PayoutRunId.is_in(prior_ids))
            .order_by_asc(payout::Column::Id)
            .all(db)
            .await?
    };
    let mut by_run: HashMap<i64, Vec<&payout::Model>> = HashMap::new();
    for p in &prior_payouts {
        by_run.entry(p.payout_run_id).or_default().push(p);
    }
    let release_after = u32::try_from(org.reserve_release_periods).unwrap_or(0);
    let months = u32::try_from(org.payout_period_months).unwrap_or(1).max(1);
    let mut carried: BTreeMap<(i64, String), i64> = BTreeMap::new();
    let mut held: BTreeMap<(i64, String), Vec<HeldReserve>> = BTreeMap::new();
    for r in &prior {
        // Replay each paid run's releases so only reserves still held remain.
        for reserves in held.values_mut() {
            let (_, still) = due_reserves(reserves, r.period_end, release_after, months);
            *reserves = still;
        }
        for p in by_run.get(&r.id).into_iter().flatten() {
            let key = (p.payee_id, p.currency.clone());
            carried.insert(key.clone(), p.carried_forward_nanos);
            if p.reserved_nanos > 0 {
                held.entry(key).or_default().push(HeldReserve {
                    held_in: r.period_end,
                    amount_nanos: p.reserved_nanos,
                });
            }
        }
    }

    let keys: BTreeSet<(i64, String)> = earned
        .keys()
        .cloned()
        .chain(
            carried
                .iter()
                .filter(|(_, v)| **v != 0)
                .map(|(k, _)| k.clone()),
        )
        .chain(
            held.iter()
                .filter(|(_, v)| !v.is_empty())
                .map(|(k, _)| k.clone()),
        )
        .collect();
    let payees: HashMap<i64, payee::Model> = payee::Entity::find()
        .filter(payee::Column::OrganizationId.eq(run.organization_id))
        .all(db)
        .await?
        .into_iter()
        .map(|p| (p.id, p))
        .collect();
    let rates = run_rates(run)?;
    let mut out = Vec::with_capacity(keys.len());
    for key in keys {
        let (payee_id, currency_code) = &key;
        let currency = Currency::parse(currency_code)
            .map_err(|e| anyhow::anyhow!("ledger currency {currency_code}: {e}"))?;
        let payee = payees
            .get(payee_id)
            .ok_or_else(|| anyhow::anyhow!("payee {payee_id} of the ledger is gone"))?;
        let Earned { earnings, recouped } = earned.get(&key).copied().unwrap_or_default();
        let (due, _) = due_reserves(
            held.get(&key).map_or(&[][..], Vec::as_slice),
            run.period_end,
            release_after,
            months,
        );
        let input = PayoutInput {
            currency,
            brought_forward_nanos: carried.get(&key).copied().unwrap_or(0),
            earnings_nanos: earnings,
            recouped_nanos: recouped,
            reserve_ppb: u64::try_from(payee.reserve_ppb).unwrap_or(0),
            reserve_releases: due,
            minimum_payout_nanos: if payee.currency == *currency_code {
                payee.minimum_payout_nanos
            } else {
                0
            },
        };
        let terms = payment_terms(payee, &rates, currency)?;
        let line = compute_paid_payout(&input, &terms)
            .map_err(|e| anyhow::anyhow!("payee {payee_id}: {e}"))?;
        out.push(ComputedPayout {
            payee_id: *payee_id,
            line,
            withholding_ppb: i64::try_from(terms.withholding_ppb).unwrap_or(0),
        });
    }
    Ok(out)
}

/// The last ledger entry id of the organisation (0 when the ledger is empty).
///
/// # Errors
/// Database failures.
pub async fn ledger_high_water(
    db: &impl ConnectionTrait,
    organization_id: i64,
) -> anyhow::Result<i64> {
    let row = db
        .query_one_raw(Statement::from_sql_and_values(
            db.get_database_backend(),
            "SELECT CAST(COALESCE(MAX(id), 0) AS BIGINT) FROM ledger_entries WHERE organization_id = $1",
            [organization_id.into()],
        ))
        .await?;
    Ok(row
        .map(|r| r.try_get_by_index::<i64>(0))
        .transpose()?
        .unwrap_or(0))
}

/// Tells everyone a run moved: subscribers through the event bus (live, best effort) and
/// partners through `payout_run.updated` webhooks (durable: one delivery per run and status).
///
/// # Errors
/// Recording the webhook deliveries failed; the bus never fails the caller.
pub async fn announce(ctx: &crate::JobContext, run: &payout_run::Model) -> anyhow::Result<()> {
    let event = crate::Event::PayoutRunUpdated {
        organization_id: run.organization_id,
        payout_run_id: run.id,
        status: run.status.clone(),
    };
    if let Err(err) = ctx.events.publish(&event).await {
        tracing::warn!(error = %err, "could not publish a payout run update");
    }
    let backend = ctx.db.get_database_backend();
    let rows = ctx
        .db
        .query_all_raw(Statement::from_sql_and_values(
            backend,
            "SELECT currency, COUNT(*), CAST(SUM(payable_nanos) AS BIGINT), \
               CAST(SUM(carried_forward_nanos) AS BIGINT), CAST(SUM(withheld_nanos) AS BIGINT) \
             FROM payouts WHERE payout_run_id = $1 GROUP BY currency ORDER BY currency",
            [run.id.into()],
        ))
        .await?;
    let mut totals = Vec::with_capacity(rows.len());
    for row in rows {
        let currency: String = row.try_get_by_index(0)?;
        let decimal = |nanos: i64| {
            Currency::parse(&currency).map_or_else(
                |_| domain::money::decimal_from_nanos(nanos).to_string(),
                |c| domain::money::Money::new(nanos, c).to_decimal_string(),
            )
        };
        totals.push(serde_json::json!({
            "currency": currency,
            "payee_count": row.try_get_by_index::<i64>(1)?,
            "payable": decimal(row.try_get_by_index::<i64>(2)?),
            "carried_forward": decimal(row.try_get_by_index::<i64>(3)?),
            "withheld": decimal(row.try_get_by_index::<i64>(4)?),
        }));
    }
    let data = serde_json::json!({
        "payout_run": {
            "id": crate::webhooks::global_id("PayoutRun", run.id),
            "organization_id": crate::webhooks::global_id("Organization", run.organization_id),
            "status": run.status,
            "period_end": run.period_end,
            "failure_reason": run.failure_reason,
            "approved_at": run.approved_at,
            "paid_at": run.paid_at,
            "totals": totals,
        }
    });
    crate::webhooks::notify(
        ctx,
        run.organization_id,
        domain::webhook::WebhookEvent::PayoutRunUpdated,
        &format!("payout_run.updated:{}:{}", run.id, run.status),
        data,
    )
    .await
}
