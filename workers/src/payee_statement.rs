//! Loads a payee's statement for one payout: the organisation, payee, run and payout figures,
//! the entries the run took up for the payee summed by release, track, store and territory, and
//! the payee's advances and expenses with what this run recouped of them. Rendering is
//! `domain::payee_statement`'s.
//!
//! Both sums are single set-based queries (`GROUP BY`), the same SQL on SQLite and PostgreSQL,
//! so a statement of 10,000 lines costs two round trips, not one per line.
//!
//! # Which entries
//!
//! The run's own: the entries [`TAKEN_UP_BY_RUN`] selects, with the payee and the payout's
//! currency. Only paid runs *before* the run count as having taken an entry up, so a paid run's
//! statement stays the same after later runs are paid.

//! # Lines
//!
//! A payee's entries for one statement line (their share and the recoupment taken from it) are
//! summed per statement line first, so the line's quantity counts once, then per release,
//! track, store and territory. A statement line whose entries for the payee were all reversed
//! (a reallocation that moved it elsewhere) nets to nothing and is left out; its quantity is
//! not the payee's any more.

use std::cmp::Ordering;

use anyhow::Context as _;
use chrono::NaiveDate;
use domain::money::Currency;
use domain::payee_statement::{
    PayeeStatement, PayoutStatus, RunStatus, StatementFigures, StatementLine, StatementRecoupable,
};
use entity::{organization, payee, payout, payout_run};
use sea_orm::{ConnectionTrait, EntityTrait, QueryResult, Statement};

use crate::payouts::{TAKEN_UP_BY_RUN, taken_up_values};

/// Loads the statement of payout `payout_id`. It does not check who asks: the caller has.
///
/// # Errors
/// When the payout, its run, organisation or payee is missing, a stored status or currency is
/// not one the domain knows, or the database fails.
pub async fn load(db: &impl ConnectionTrait, payout_id: i64) -> anyhow::Result<PayeeStatement> {
    let payout = payout::Entity::find_by_id(payout_id)
        .one(db)
        .await?
        .with_context(|| format!("payout {payout_id} not found"))?;
    let run = payout_run::Entity::find_by_id(payout.payout_run_id)
        .one(db)
        .await?
        .with_context(|| format!("payout {payout_id}: its run is gone"))?;
    let org = organization::Entity::find_by_id(payout.organization_id)
        .one(db)
        .await?
        .with_context(|| format!("payout {payout_id}: its organisation is gone"))?;
    let payee = payee::Entity::find_by_id(payout.payee_id)
        .one(db)
        .await?
        .with_context(|| format!("payout {payout_id}: its payee is gone"))?;
    let currency = Currency::parse(&payout.currency)
        .map_err(|e| anyhow::anyhow!("payout {payout_id}: currency {}: {e}", payout.currency))?;
    let run_status: RunStatus = run
        .status
        .parse()
        .map_err(|e| anyhow::anyhow!("payout run {}: {e}", run.id))?;
    let payout_status: PayoutStatus = payout
        .status
        .parse()
        .map_err(|e| anyhow::anyhow!("payout {payout_id}: {e}"))?;

    // A run that never fixed its watermark took up nothing (it has no payouts either).
    let watermark = run.ledger_watermark.unwrap_or(0);
    let mut values = taken_up_values(&run, watermark);
    values.push(payout.payee_id.into());
    values.push(payout.currency.clone().into());
    let lines = load_lines(db, values.clone()).await?;
    let recoupables = load_recoupables(db, values).await?;

    Ok(PayeeStatement {
        organization_name: org.name,
        payee_name: payee.name,
        period_end: run.period_end,
        run_status,
        run_paid_at: run.paid_at,
        payout_status,
        currency,
        figures: StatementFigures {
            brought_forward_nanos: payout.brought_forward_nanos,
            earnings_nanos: payout.earnings_nanos,
            recouped_nanos: payout.recouped_nanos,
            reserved_nanos: payout.reserved_nanos,
            reserve_released_nanos: payout.reserve_released_nanos,
            payable_nanos: payout.payable_nanos,
            carried_forward_nanos: payout.carried_forward_nanos,
            rounding_remainder_nanos: payout.rounding_remainder_nanos,
            below_minimum: payout.below_minimum,
            withheld_nanos: payout.withheld_nanos,
            paid_nanos: payout.paid_nanos,
            payout_amount_nanos: payout.payout_amount_nanos,
        },
        withholding_percent: domain::share::Share::from_ppb(
            u64::try_from(payout.withholding_ppb).unwrap_or(0),
        )
        .map_or_else(|_| "0".to_owned(), domain::share::Share::to_percent_string),
        payout_currency: Currency::parse(&payout.payout_currency).unwrap_or(currency),
        exchange_rate: payout.exchange_rate.clone(),
        payment_reference: payout.payment_reference,
        paid_at: payout.paid_at,
        lines,
        recoupables,
    })
}

/// A line and what it sorts by.
struct SortedLine {
    release_id: Option<i64>,
    track_id: Option<i64>,
    position: Option<i32>,
    line: StatementLine,
}

/// `None` after every value, so lines without a release, track, store or territory come last
/// on both backends (which disagree on where `ORDER BY` puts NULLs).
fn none_last<T: Ord>(a: Option<&T>, b: Option<&T>) -> Ordering {
    match (a, b) {
        (Some(a), Some(b)) => a.cmp(b),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    }
}

/// The payee's entries in the run, by release, track, store and territory: by release title,
/// track position, store and territory.
async fn load_lines(
    db: &impl ConnectionTrait,
    values: Vec<sea_orm::Value>,
) -> anyhow::Result<Vec<StatementLine>> {
    let sql = format!(
        "SELECT g.release_id, g.track_id, r.title, r.upc, t.title, t.isrc, t.position, sl.store, \
           COALESCE(sl.territory, sl.territory_raw), \
           CAST(COALESCE(SUM(sl.quantity), 0) AS BIGINT), \
           CAST(SUM(g.amount_nanos) AS BIGINT), CAST(SUM(g.recouped_nanos) AS BIGINT) \
         FROM ( \
           SELECT e.statement_line_id AS line_id, e.release_id AS release_id, \
             e.track_id AS track_id, SUM(e.amount_nanos) AS amount_nanos, \
             SUM(CASE WHEN e.account = 'recoupment' THEN e.amount_nanos ELSE 0 END) AS recouped_nanos \
           FROM ledger_entries e \
           WHERE {TAKEN_UP_BY_RUN} AND e.payee_id = $5 AND e.currency = $6 \
           GROUP BY e.statement_line_id, e.release_id, e.track_id \
           HAVING SUM(e.amount_nanos) <> 0 \
             OR SUM(CASE WHEN e.account = 'recoupment' THEN e.amount_nanos ELSE 0 END) <> 0 \
             OR SUM(CASE WHEN e.cause LIKE 'reversal:%' THEN 1 ELSE 0 END) = 0 \
         ) g \
         LEFT JOIN statement_lines sl ON sl.id = g.line_id \
         LEFT JOIN releases r ON r.id = g.release_id \
         LEFT JOIN tracks t ON t.id = g.track_id \
         GROUP BY g.release_id, g.track_id, r.title, r.upc, t.title, t.isrc, t.position, sl.store, \
           COALESCE(sl.territory, sl.territory_raw)"
    );
    let rows = db
        .query_all_raw(Statement::from_sql_and_values(
            db.get_database_backend(),
            &sql,
            values,
        ))
        .await?;
    let mut lines = rows
        .iter()
        .map(line_of)
        .collect::<Result<Vec<_>, sea_orm::DbErr>>()?;
    lines.sort_by(|a, b| {
        none_last(a.line.release_title.as_ref(), b.line.release_title.as_ref())
            .then_with(|| none_last(a.release_id.as_ref(), b.release_id.as_ref()))
            .then_with(|| none_last(a.position.as_ref(), b.position.as_ref()))
            .then_with(|| none_last(a.line.track_title.as_ref(), b.line.track_title.as_ref()))
            .then_with(|| none_last(a.track_id.as_ref(), b.track_id.as_ref()))
            .then_with(|| none_last(a.line.store.as_ref(), b.line.store.as_ref()))
            .then_with(|| none_last(a.line.territory.as_ref(), b.line.territory.as_ref()))
    });
    Ok(lines.into_iter().map(|l| l.line).collect())
}

fn line_of(row: &QueryResult) -> Result<SortedLine, sea_orm::DbErr> {
    Ok(SortedLine {
        release_id: row.try_get_by_index(0)?,
        track_id: row.try_get_by_index(1)?,
        position: row.try_get_by_index(6)?,
        line: StatementLine {
            release_title: row.try_get_by_index(2)?,
            upc: row.try_get_by_index(3)?,
            track_title: row.try_get_by_index(4)?,
            isrc: row.try_get_by_index(5)?,
            store: row.try_get_by_index(7)?,
            territory: row.try_get_by_index(8)?,
            quantity: row.try_get_by_index(9)?,
            earnings_nanos: row.try_get_by_index(10)?,
            recouped_nanos: row.try_get_by_index(11)?,
        },
    })
}

/// The payee's advances and expenses in the payout's currency incurred by the period end, and
/// any recoupable the run recouped from the payee, with what the run recouped and what all
/// recoupment up to the run's watermark left to recoup. Those recouped in full before this run
/// are left out.
async fn load_recoupables(
    db: &impl ConnectionTrait,
    values: Vec<sea_orm::Value>,
) -> anyhow::Result<Vec<StatementRecoupable>> {
    let sql = format!(
        "SELECT rc.description, rc.kind, rc.incurred_on, rc.currency, rc.amount_nanos, \
           CAST(COALESCE(m.this_run_nanos, 0) AS BIGINT), CAST(COALESCE(m.to_date_nanos, 0) AS BIGINT) \
         FROM recoupables rc \
         LEFT JOIN ( \
           SELECT e.recoupable_id AS recoupable_id, \
             SUM(CASE WHEN ({TAKEN_UP_BY_RUN}) AND e.payee_id = $5 AND e.currency = $6 \
               THEN e.amount_nanos ELSE 0 END) AS this_run_nanos, \
             SUM(e.amount_nanos) AS to_date_nanos \
           FROM ledger_entries e \
           WHERE e.organization_id = $1 AND e.account = 'recoupment' \
             AND e.recoupable_id IS NOT NULL AND e.id <= $3 \
           GROUP BY e.recoupable_id \
         ) m ON m.recoupable_id = rc.id \
         WHERE rc.organization_id = $1 \
           AND ((rc.payee_id = $5 AND rc.currency = $6 AND rc.incurred_on <= $4) \
             OR COALESCE(m.this_run_nanos, 0) <> 0) \
         ORDER BY rc.incurred_on, rc.id"
    );
    let rows = db
        .query_all_raw(Statement::from_sql_and_values(
            db.get_database_backend(),
            &sql,
            values,
        ))
        .await?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let code: String = row.try_get_by_index(3)?;
        let currency = Currency::parse(&code)
            .map_err(|e| anyhow::anyhow!("recoupable currency {code}: {e}"))?;
        let recoupable = StatementRecoupable {
            description: row.try_get_by_index(0)?,
            kind: row.try_get_by_index(1)?,
            incurred_on: row.try_get_by_index::<NaiveDate>(2)?,
            currency,
            amount_nanos: row.try_get_by_index(4)?,
            recouped_this_run_nanos: row.try_get_by_index(5)?,
            recouped_to_date_nanos: row.try_get_by_index(6)?,
        };
        if recoupable.recouped_this_run_nanos != 0 || recoupable.remaining_nanos() != 0 {
            out.push(recoupable);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nones_sort_last() {
        let mut v = vec![None, Some(2), Some(1), None];
        v.sort_by(|a, b| none_last(a.as_ref(), b.as_ref()));
        assert_eq!(v, vec![Some(1), Some(2), None, None]);
    }
}
