//! Converting a statement's foreign-currency lines into the base currency, before they are
//! allocated (`AllocateStatement` calls [`price_statement`] first).
//!
//! Per currency of the statement other than the base currency, the rate comes from
//! `domain::fx::choose` over the candidates stored: an effective rate or a label's rate set on
//! the statement (`statement_exchange_rates`, newest version per source), and the
//! organisation's table (`exchange_rates`, newest version per day) for the statement's period.
//! Statement files that declare a rate into the base currency would give the `file` candidate;
//! none of the layouts Imprint reads today declares one (see the README).
//!
//! Every line whose recorded rate or source differs from the chosen one gets its base amount
//! again (`Rate::convert`, half-even once) with the rate and source recorded. If a line that
//! had a rate changes, the statement's allocation generation moves on in the same
//! transaction, so the allocation that follows reverses the earlier entries by new ones
//! (as `reallocateStatement`). A retry finds nothing to change: the step is idempotent.

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;
use domain::fx::{Candidates, Rate, RateSource, TableRate};
use domain::money::Currency;
use entity::{exchange_rate, organization, statement, statement_exchange_rate, statement_line};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};

/// Rows of lines re-priced per update batch read.
const CHUNK: u64 = 2_000;

/// The newest rates set on `statement_id`, per (currency, source); a withdrawn source is absent.
pub async fn statement_rates(
    db: &impl ConnectionTrait,
    statement_id: i64,
) -> Result<BTreeMap<(String, String), statement_exchange_rate::Model>, sea_orm::DbErr> {
    let rows = statement_exchange_rate::Entity::find()
        .filter(statement_exchange_rate::Column::StatementId.eq(statement_id))
        .order_by_asc(statement_exchange_rate::Column::Version)
        .all(db)
        .await?;
    let mut newest = BTreeMap::new();
    for row in rows {
        newest.insert((row.currency.clone(), row.source.clone()), row);
    }
    newest.retain(|_, row| row.rate.is_some());
    Ok(newest)
}

/// The organisation's table rows (newest version of each) that can price `from → to` between
/// `start − lookback` and `end`.
pub async fn table_rows(
    db: &impl ConnectionTrait,
    organization_id: i64,
    currencies: &[&str],
    start: NaiveDate,
    end: NaiveDate,
) -> Result<Vec<TableRate>, sea_orm::DbErr> {
    let earliest = start
        .checked_sub_days(chrono::Days::new(domain::fx::TABLE_LOOKBACK_DAYS))
        .unwrap_or(start);
    let mut wanted: Vec<&str> = currencies.to_vec();
    wanted.push("EUR");
    let rows = exchange_rate::Entity::find()
        .filter(exchange_rate::Column::OrganizationId.eq(organization_id))
        .filter(exchange_rate::Column::Day.between(earliest, end))
        .filter(exchange_rate::Column::FromCurrency.is_in(wanted.clone()))
        .filter(exchange_rate::Column::ToCurrency.is_in(wanted))
        .order_by_asc(exchange_rate::Column::Version)
        .all(db)
        .await?;
    let mut newest: BTreeMap<(NaiveDate, String, String), String> = BTreeMap::new();
    for row in rows {
        newest.insert((row.day, row.from_currency, row.to_currency), row.rate);
    }
    Ok(newest
        .into_iter()
        .filter_map(|((day, from, to), rate)| {
            Some(TableRate {
                day,
                from: Currency::parse(&from).ok()?,
                to: Currency::parse(&to).ok()?,
                rate: Rate::parse(&rate).ok()?,
            })
        })
        .collect())
}

/// The period a statement's table rate is looked up for: its sale period, else the day it was
/// uploaded.
#[must_use]
pub fn statement_period(st: &statement::Model) -> (NaiveDate, NaiveDate) {
    let uploaded = st.created_at.date_naive();
    let start = st.period_start.or(st.period_end).unwrap_or(uploaded);
    let end = st.period_end.unwrap_or(start);
    (start, end)
}

/// The currencies of a statement's lines other than `base`.
pub async fn foreign_currencies(
    db: &impl ConnectionTrait,
    statement_id: i64,
    base: &str,
) -> Result<Vec<String>, sea_orm::DbErr> {
    let rows: Vec<String> = statement_line::Entity::find()
        .select_only()
        .column(statement_line::Column::Currency)
        .distinct()
        .filter(statement_line::Column::StatementId.eq(statement_id))
        .filter(statement_line::Column::Currency.ne(base))
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect())
}

/// The rate each foreign currency of `st` takes now, and its source (none: the lines wait).
pub async fn chosen_rates(
    db: &impl ConnectionTrait,
    st: &statement::Model,
    base: &str,
) -> anyhow::Result<BTreeMap<String, Option<(Rate, RateSource)>>> {
    let currencies = foreign_currencies(db, st.id, base).await?;
    if currencies.is_empty() {
        return Ok(BTreeMap::new());
    }
    let set = statement_rates(db, st.id).await?;
    let (start, end) = statement_period(st);
    let mut codes: Vec<&str> = currencies.iter().map(String::as_str).collect();
    codes.push(base);
    let table = table_rows(db, st.organization_id, &codes, start, end).await?;
    let base_code = Currency::parse(base)?;
    let mut out = BTreeMap::new();
    for currency in currencies {
        let from_set = |source: RateSource| {
            set.get(&(currency.clone(), source.as_str().to_owned()))
                .and_then(|row| row.rate.as_deref())
                .and_then(|r| Rate::parse(r).ok())
        };
        let table_rate = Currency::parse(&currency).ok().and_then(|c| {
            domain::fx::pick_table_rate(&table, c, base_code, start, end).map(|(r, _)| r)
        });
        let chosen = domain::fx::choose(Candidates {
            effective: from_set(RateSource::Effective),
            file: None,
            table: table_rate,
            statement: from_set(RateSource::Statement),
        });
        out.insert(currency, chosen);
    }
    Ok(out)
}

#[derive(Debug, sea_orm::FromQueryResult)]
struct Pending {
    id: i64,
    amount_nanos: i64,
    fx_rate: Option<String>,
}

/// Gives `st`'s foreign-currency lines their base amounts at the chosen rates (see the module
/// documentation). Returns the statement as it now is (its generation may have moved on).
pub async fn price_statement(
    db: &sea_orm::DatabaseConnection,
    st: statement::Model,
) -> anyhow::Result<statement::Model> {
    let Some(org) = organization::Entity::find_by_id(st.organization_id)
        .one(db)
        .await?
    else {
        return Ok(st);
    };
    let chosen = chosen_rates(db, &st, &org.base_currency).await?;
    if chosen.is_empty() {
        return Ok(st);
    }
    let txn = entity::db::begin_write(db).await?;
    crate::jobs::allocate_statement::lock_organization(&txn, st.organization_id).await?;
    let mut repriced = false;
    for (currency, choice) in &chosen {
        let (rate_text, source_text) = match choice {
            Some((rate, source)) => (Some(rate.to_string()), Some(source.as_str())),
            None => (None, None),
        };
        let mut stale = Condition::any();
        stale = match (&rate_text, source_text) {
            (Some(rate), Some(source)) => stale
                .add(statement_line::Column::FxRate.is_null())
                .add(statement_line::Column::FxRate.ne(rate.clone()))
                .add(statement_line::Column::FxSource.is_null())
                .add(statement_line::Column::FxSource.ne(source)),
            _ => stale.add(statement_line::Column::FxRate.is_not_null()),
        };
        let mut cursor = 0_i64;
        loop {
            let lines: Vec<Pending> = statement_line::Entity::find()
                .select_only()
                .columns([
                    statement_line::Column::Id,
                    statement_line::Column::AmountNanos,
                    statement_line::Column::FxRate,
                ])
                .filter(statement_line::Column::StatementId.eq(st.id))
                .filter(statement_line::Column::Currency.eq(currency.as_str()))
                .filter(statement_line::Column::Id.gt(cursor))
                .filter(stale.clone())
                .order_by_asc(statement_line::Column::Id)
                .limit(CHUNK)
                .into_model::<Pending>()
                .all(&txn)
                .await?;
            let Some(last) = lines.last() else { break };
            cursor = last.id;
            for line in lines {
                repriced |= line.fx_rate.is_some();
                let base = match choice {
                    Some((rate, _)) => rate.convert(line.amount_nanos)?,
                    None => 0,
                };
                statement_line::Entity::update_many()
                    .col_expr(statement_line::Column::BaseAmountNanos, Expr::value(base))
                    .col_expr(
                        statement_line::Column::FxRate,
                        Expr::value(rate_text.clone()),
                    )
                    .col_expr(
                        statement_line::Column::FxSource,
                        Expr::value(source_text.map(str::to_owned)),
                    )
                    .filter(statement_line::Column::Id.eq(line.id))
                    .exec(&txn)
                    .await?;
            }
        }
    }
    if repriced {
        // Conditional: a concurrent reallocation already moved the generation on.
        statement::Entity::update_many()
            .col_expr(
                statement::Column::AllocationGeneration,
                Expr::value(st.allocation_generation + 1),
            )
            .filter(statement::Column::Id.eq(st.id))
            .filter(statement::Column::AllocationGeneration.eq(st.allocation_generation))
            .exec(&txn)
            .await?;
    }
    txn.commit().await?;
    Ok(statement::Entity::find_by_id(st.id)
        .one(db)
        .await?
        .unwrap_or(st))
}

/// The parsed statements of an organisation whose foreign-currency lines may take a new or
/// changed table rate (lines waiting, or priced from the table): the ones to allocate again.
pub async fn statements_for_table_change(
    db: &impl ConnectionTrait,
    organization_id: i64,
    base: &str,
) -> Result<Vec<i64>, sea_orm::DbErr> {
    let ids: Vec<i64> = statement_line::Entity::find()
        .select_only()
        .column(statement_line::Column::StatementId)
        .distinct()
        .filter(statement_line::Column::OrganizationId.eq(organization_id))
        .filter(statement_line::Column::Currency.ne(base))
        .filter(
            Condition::any()
                .add(statement_line::Column::FxSource.is_null())
                .add(statement_line::Column::FxSource.eq(RateSource::Table.as_str())),
        )
        .into_tuple()
        .all(db)
        .await?;
    Ok(ids
        .into_iter()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect())
}
