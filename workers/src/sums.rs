//! Money sums the database computes that cannot overflow, put together exactly.
//!
//! `SUM` of a BIGINT column fails on an `i64` overflow on SQLite and in PostgreSQL's cast of its
//! NUMERIC sum back to BIGINT; worse, a saturated roll-up row summed again gives a number that
//! is not the total. So a money total is asked for in two parts that stay far inside `i64` (a
//! billion rows of the largest amount): the whole units and the nano-units below one. Rust puts
//! them together with [`domain::money::total_from_parts`], the one rule for how large a total
//! may be.

use domain::money::{MoneyError, total_from_parts};
use sea_orm::{DbErr, QueryResult};

/// The SQL select items of `column`'s sum in two parts, `{alias}_units` and `{alias}_rest`,
/// for [`total`] to read back.
#[must_use]
pub fn split_sum(column: &str, alias: &str) -> String {
    format!(
        "CAST(SUM({column} / 1000000000) AS BIGINT) AS {alias}_units, \
         CAST(SUM({column} % 1000000000) AS BIGINT) AS {alias}_rest"
    )
}

/// The exact total of a [`split_sum`] in `row` (0 for a sum over no rows).
///
/// # Errors
/// The outer error: the columns cannot be read. The inner one: the total is past
/// ±[`domain::money::MAX_TOTAL_NANOS`].
pub fn total(row: &QueryResult, alias: &str) -> Result<Result<i64, MoneyError>, DbErr> {
    let units: Option<i64> = row.try_get("", &format!("{alias}_units"))?;
    let rest: Option<i64> = row.try_get("", &format!("{alias}_rest"))?;
    Ok(total_from_parts(units.unwrap_or(0), rest.unwrap_or(0)))
}
