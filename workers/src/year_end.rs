//! Loads a payee's year-end summary (`domain::year_end`): the payouts of the organisation's
//! **paid** runs whose period ends in the year, summed per ledger currency and payout currency.

use anyhow::Context as _;
use chrono::NaiveDate;
use domain::money::Currency;
use domain::year_end::{YearEndRow, YearEndSummary};
use entity::{organization, payee};
use sea_orm::{ConnectionTrait, EntityTrait, Statement};

/// Loads the summary of `payee_id` for `year`. It does not check who asks: the caller has.
///
/// # Errors
/// A missing payee or organisation, an unknown stored currency, a year out of range, or the
/// database failing.
pub async fn load(
    db: &impl ConnectionTrait,
    payee_id: i64,
    year: i32,
) -> anyhow::Result<YearEndSummary> {
    let payee = payee::Entity::find_by_id(payee_id)
        .one(db)
        .await?
        .with_context(|| format!("payee {payee_id} not found"))?;
    let org = organization::Entity::find_by_id(payee.organization_id)
        .one(db)
        .await?
        .with_context(|| format!("payee {payee_id}: its organisation is gone"))?;
    let first = NaiveDate::from_ymd_opt(year, 1, 1).context("year out of range")?;
    let last = NaiveDate::from_ymd_opt(year, 12, 31).context("year out of range")?;
    let rows = db
        .query_all_raw(Statement::from_sql_and_values(
            db.get_database_backend(),
            "SELECT p.currency, p.payout_currency, CAST(SUM(p.earnings_nanos) AS BIGINT), \
               CAST(SUM(p.recouped_nanos) AS BIGINT), CAST(SUM(p.withheld_nanos) AS BIGINT), \
               CAST(SUM(p.paid_nanos) AS BIGINT), CAST(SUM(p.payout_amount_nanos) AS BIGINT) \
             FROM payouts p JOIN payout_runs r ON r.id = p.payout_run_id \
             WHERE p.payee_id = $1 AND r.status = 'paid' AND r.period_end >= $2 AND r.period_end <= $3 \
             GROUP BY p.currency, p.payout_currency ORDER BY p.currency, p.payout_currency",
            [payee_id.into(), first.into(), last.into()],
        ))
        .await?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let currency: String = row.try_get_by_index(0)?;
        let payout_currency: String = row.try_get_by_index(1)?;
        let currency = Currency::parse(&currency)?;
        out.push(YearEndRow {
            currency,
            payout_currency: Currency::parse(&payout_currency).unwrap_or(currency),
            gross_nanos: row.try_get_by_index(2)?,
            recouped_nanos: row.try_get_by_index(3)?,
            withheld_nanos: row.try_get_by_index(4)?,
            paid_nanos: row.try_get_by_index(5)?,
            received_nanos: row.try_get_by_index(6)?,
        });
    }
    Ok(YearEndSummary {
        organization_name: org.name,
        payee_name: payee.name,
        year,
        rows: out,
    })
}
