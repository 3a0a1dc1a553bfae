//! `AllocateStatement`: a statement's matched lines become ledger entries per payee.
//!
//! Lines are taken in id order, a chunk per transaction. Each transaction first takes the
//! organisation's allocation lock (an advisory lock on PostgreSQL; SQLite's `BEGIN IMMEDIATE`
//! already admits one writer), so two jobs of one organisation never recoup the same advance
//! from two stale balances. Within it:
//!
//! 1. entries of the line from an earlier allocation generation (before a
//!    `reallocateStatement`) that are not reversed yet get a reversing entry, cause
//!    `reversal:{entry id}`;
//! 2. lines that already have entries of the current generation are skipped (a retried job, or
//!    a job pushed twice, writes nothing);
//! 3. every other line is allocated by `domain::allocation::allocate_line` against the
//!    recoupables' current balances, and its entries are written with the cause
//!    `statement_line:{line id}:g{generation}:{payee and kind}`, unique per organisation;
//! 4. the recoupables' running balances move by exactly the recoupment entries written.
//!
//! A worker killed in the middle leaves whole chunks behind it; the retry finds them done.
//! Lines that cannot be allocated (no split in effect on the sale date, say) are counted by
//! reason on the statement and allocated by a later run once the cause is fixed.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::{Duration, Instant};

use chrono::{NaiveDate, Utc};
use domain::allocation::{AllocationKind, allocate_line};
use domain::recoupment::{Recoupable, apply_recoupment};
use entity::{ledger_entry, recoupable, statement, statement_line};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseTransaction, DbBackend, EntityTrait,
    QueryFilter, QueryOrder, QuerySelect, Set, Statement,
};
use serde::Serialize;

use crate::JobContext;
use crate::allocation::{OrgBook, Unallocated, recoupable_of};

/// Lines per transaction: big enough to amortise the lock and the round trips, small enough
/// that a kill loses little work and a transaction stays short.
const CHUNK_LINES: u64 = 2_000;
/// Ledger rows per INSERT (14 columns each: well under both backends' parameter limits).
const INSERT_ROWS: usize = 1_000;
/// The advisory-lock namespace for allocation on PostgreSQL.
const ALLOCATION_LOCK: i32 = 7_001;

pub const STATUS_PENDING: &str = "pending";
pub const STATUS_ALLOCATING: &str = "allocating";
pub const STATUS_ALLOCATED: &str = "allocated";

/// One reason lines went unallocated, as stored in `statements.allocation_issues`.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct AllocationIssue {
    pub reason: String,
    pub count: i64,
    pub first_line: i64,
}

/// The cause of a line's allocation entry.
#[must_use]
pub fn line_cause(line_id: i64, generation: i64, suffix: &str) -> String {
    format!("statement_line:{line_id}:g{generation}:{suffix}")
}

#[derive(Debug, Clone, sea_orm::FromQueryResult)]
struct LineRow {
    id: i64,
    line_number: i64,
    track_id: Option<i64>,
    release_id: Option<i64>,
    sale_period_start: Option<NaiveDate>,
    currency: String,
    base_amount_nanos: i64,
    base_currency: String,
    fx_rate: Option<String>,
}

/// Where a job's time went, summed over its chunks, for the log.
#[derive(Default)]
struct Timings {
    /// Lock and read the chunk's lines.
    read: Duration,
    /// Reverse earlier generations, find lines already done, load recoupables.
    check: Duration,
    /// Allocate in memory.
    compute: Duration,
    /// Insert entries and move recoupable balances.
    write: Duration,
    commit: Duration,
}

#[derive(Default)]
struct Tally {
    allocated: i64,
    unallocated: BTreeMap<Unallocated, (i64, i64)>,
}

/// Lines a statement must have for its allocation to analyse `statement_lines` first.
const ANALYZE_AFTER_LINES: i64 = 10_000;

/// Has PostgreSQL analyse `statement_lines` before a large statement is read, chunk by chunk,
/// in id order. A first import leaves the table without statistics (autovacuum would come
/// within a minute or so): the planner then takes `statement_id = $1 AND id > $2` for a few
/// hundred rows and fetches every line after the cursor to sort them, once per chunk. For a
/// million-line statement the reading phase took 8.9 s, and 1.9 s once analysed (the analysis,
/// a sample of 30,000 rows, 0.4 s).
async fn analyze_if_large(db: &sea_orm::DatabaseConnection, st: &statement::Model) {
    if db.get_database_backend() == DbBackend::Postgres
        && st.line_count >= ANALYZE_AFTER_LINES
        && let Err(err) = db.execute_unprepared("ANALYZE statement_lines").await
    {
        tracing::warn!(error = %err, statement_id = st.id, "analysing statement lines failed");
    }
}

pub async fn run(ctx: &JobContext, statement_id: i64) -> anyhow::Result<()> {
    let db = &ctx.db;
    let Some(st) = statement::Entity::find_by_id(statement_id).one(db).await? else {
        tracing::warn!(statement_id, "allocate: statement is gone");
        return Ok(());
    };
    if st.status != crate::ingest::STATUS_PARSED {
        // Parsing enqueues allocation when it finishes; nothing to do before that.
        return Ok(());
    }
    let mut marking: statement::ActiveModel = st.clone().into();
    marking.allocation_status = Set(STATUS_ALLOCATING.to_owned());
    marking.update(db).await?;
    // Foreign-currency lines take their rate first (a changed rate moves the generation on).
    let st = crate::fx::price_statement(db, st).await?;
    let generation = st.allocation_generation;
    let organization_id = st.organization_id;
    let default_sale_date = st
        .period_start
        .unwrap_or_else(|| st.created_at.date_naive());

    analyze_if_large(db, &st).await;

    let book = OrgBook::load(db, organization_id).await?;
    let mut tally = Tally::default();
    let mut timings = Timings::default();
    let mut cursor = 0_i64;
    loop {
        let step = Instant::now();
        let txn = entity::db::begin_write(db).await?;
        lock_organization(&txn, organization_id).await?;
        let lines: Vec<LineRow> = statement_line::Entity::find()
            .select_only()
            .columns([
                statement_line::Column::Id,
                statement_line::Column::LineNumber,
                statement_line::Column::TrackId,
                statement_line::Column::ReleaseId,
                statement_line::Column::SalePeriodStart,
                statement_line::Column::Currency,
                statement_line::Column::BaseAmountNanos,
                statement_line::Column::BaseCurrency,
                statement_line::Column::FxRate,
            ])
            .filter(statement_line::Column::StatementId.eq(statement_id))
            .filter(statement_line::Column::Id.gt(cursor))
            .order_by_asc(statement_line::Column::Id)
            .limit(CHUNK_LINES)
            .into_model::<LineRow>()
            .all(&txn)
            .await?;
        let Some(last) = lines.last() else {
            txn.commit().await?;
            break;
        };
        cursor = last.id;
        timings.read += step.elapsed();
        let step = Instant::now();
        let ids: Vec<i64> = lines.iter().map(|l| l.id).collect();
        let mut balance_moves: HashMap<i64, i64> = HashMap::new();
        if generation > 0 {
            reverse_earlier_generations(
                &txn,
                organization_id,
                &ids,
                generation,
                &mut balance_moves,
            )
            .await?;
            apply_balance_moves(&txn, &balance_moves).await?;
            balance_moves.clear();
        }
        let done = lines_with_entries(&txn, &ids, generation).await?;
        let mut recoupables = load_recoupables(&txn, organization_id).await?;
        timings.check += step.elapsed();
        let step = Instant::now();
        let now = Utc::now();
        let mut entries: Vec<NewEntry> = Vec::new();
        for line in &lines {
            if line.track_id.is_none() && line.release_id.is_none() {
                continue; // unmatched: counted on the statement as unmatched
            }
            if done.contains(&line.id) {
                tally.allocated += 1;
                continue;
            }
            let sale_date = line.sale_period_start.unwrap_or(default_sale_date);
            if line.fx_rate.is_none() && line.currency != line.base_currency {
                tally.skip(
                    Unallocated::NoExchangeRate(line.currency.clone()),
                    line.line_number,
                );
                continue;
            }
            let resolved = match book.resolve(
                line.track_id,
                line.release_id,
                sale_date,
                line.base_amount_nanos,
            ) {
                Ok(r) => r,
                Err(why) => {
                    tally.skip(why, line.line_number);
                    continue;
                }
            };
            let allocation = match allocate_line(&resolved.input, &recoupables) {
                Ok(a) => a,
                Err(err) => {
                    tally.skip(Unallocated::Rejected(err.to_string()), line.line_number);
                    continue;
                }
            };
            apply_recoupment(&mut recoupables, &allocation.recoupments)?;
            for r in &allocation.recoupments {
                *balance_moves.entry(r.recoupable_id).or_default() += r.amount_nanos;
            }
            for a in &allocation.allocations {
                let recoupable_id = match a.kind {
                    AllocationKind::Recoupment { recoupable_id } => Some(recoupable_id),
                    _ => None,
                };
                entries.push(NewEntry {
                    organization_id,
                    payee_id: Some(a.payee_id),
                    account: a.kind.ledger_account().to_owned(),
                    amount_nanos: a.amount_nanos,
                    currency: line.base_currency.clone(),
                    cause: line_cause(line.id, generation, &a.cause_suffix),
                    statement_id: Some(statement_id),
                    statement_line_id: Some(line.id),
                    recoupable_id,
                    release_id: Some(resolved.release_id),
                    track_id: line.track_id,
                    period: Some(sale_date),
                });
            }
            tally.allocated += 1;
        }
        timings.compute += step.elapsed();
        let step = Instant::now();
        insert_entries(&txn, &entries, now).await?;
        apply_balance_moves(&txn, &balance_moves).await?;
        timings.write += step.elapsed();
        let step = Instant::now();
        txn.commit().await?;
        timings.commit += step.elapsed();
    }

    let issues: Vec<AllocationIssue> = tally
        .unallocated
        .iter()
        .map(|(why, (count, first_line))| AllocationIssue {
            reason: why.to_string(),
            count: *count,
            first_line: *first_line,
        })
        .collect();
    let unallocated: i64 = issues.iter().map(|i| i.count).sum();
    let Some(current) = statement::Entity::find_by_id(statement_id).one(db).await? else {
        return Ok(());
    };
    if current.allocation_generation != generation {
        // A reallocation started meanwhile; its own job writes the final figures.
        return Ok(());
    }
    let mut done: statement::ActiveModel = current.into();
    done.allocation_status = Set(STATUS_ALLOCATED.to_owned());
    done.allocated_count = Set(tally.allocated);
    done.unallocated_count = Set(unallocated);
    done.allocation_issues = Set(serde_json::to_string(&issues)?);
    done.updated_at = Set(Utc::now());
    done.update(db).await?;
    tracing::info!(
        statement_id,
        allocated = tally.allocated,
        unallocated,
        read_ms = timings.read.as_millis() as u64,
        check_ms = timings.check.as_millis() as u64,
        compute_ms = timings.compute.as_millis() as u64,
        write_ms = timings.write.as_millis() as u64,
        commit_ms = timings.commit.as_millis() as u64,
        "statement allocated"
    );
    Ok(())
}

impl Tally {
    fn skip(&mut self, why: Unallocated, line_number: i64) {
        let entry = self.unallocated.entry(why).or_insert((0, line_number));
        entry.0 += 1;
        entry.1 = entry.1.min(line_number);
    }
}

/// Serialises allocation within an organisation for the rest of the transaction.
pub async fn lock_organization(
    txn: &DatabaseTransaction,
    organization_id: i64,
) -> anyhow::Result<()> {
    if txn.get_database_backend() == DbBackend::Postgres {
        txn.execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT pg_advisory_xact_lock($1, hashint8($2))",
            [ALLOCATION_LOCK.into(), organization_id.into()],
        ))
        .await?;
    }
    Ok(())
}

/// The lines among `ids` that already have entries of `generation`.
async fn lines_with_entries(
    txn: &DatabaseTransaction,
    ids: &[i64],
    generation: i64,
) -> anyhow::Result<HashSet<i64>> {
    let (Some(first), Some(last)) = (ids.iter().min(), ids.iter().max()) else {
        return Ok(HashSet::new());
    };
    // The chunk's id range, not a list of its ids: one index range scan instead of a probe per
    // line (on PostgreSQL a 2,000-id list cost ~65 ms a chunk, most of a retry's time). Lines of
    // other statements inside the range only add ids the caller never asks about.
    let rows = txn
        .query_all_raw(Statement::from_sql_and_values(
            txn.get_database_backend(),
            "SELECT DISTINCT statement_line_id FROM ledger_entries \
             WHERE statement_line_id BETWEEN $1 AND $2 AND cause LIKE $3",
            [
                (*first).into(),
                (*last).into(),
                format!("statement_line:%:g{generation}:%").into(),
            ],
        ))
        .await?;
    rows.iter()
        .map(|r| r.try_get_by_index::<i64>(0).map_err(Into::into))
        .collect()
}

/// Writes a reversing entry for every entry of the lines from an earlier generation that has
/// none yet, and notes how recoupable balances move.
async fn reverse_earlier_generations(
    txn: &DatabaseTransaction,
    organization_id: i64,
    ids: &[i64],
    generation: i64,
    balance_moves: &mut HashMap<i64, i64>,
) -> anyhow::Result<()> {
    let current = format!("statement_line:%:g{generation}:%");
    let (Some(first), Some(last)) = (ids.iter().min(), ids.iter().max()) else {
        return Ok(());
    };
    let chunk: HashSet<i64> = ids.iter().copied().collect();
    let mut stale = ledger_entry::Entity::find()
        .filter(ledger_entry::Column::StatementLineId.between(*first, *last))
        .filter(ledger_entry::Column::Cause.like("statement_line:%"))
        .filter(ledger_entry::Column::Cause.not_like(current.as_str()))
        .all(txn)
        .await?;
    stale.retain(|e| e.statement_line_id.is_some_and(|id| chunk.contains(&id)));
    if stale.is_empty() {
        return Ok(());
    }
    let causes: Vec<String> = stale.iter().map(|e| format!("reversal:{}", e.id)).collect();
    let reversed: HashSet<String> = ledger_entry::Entity::find()
        .select_only()
        .column(ledger_entry::Column::Cause)
        .filter(ledger_entry::Column::OrganizationId.eq(organization_id))
        .filter(ledger_entry::Column::Cause.is_in(causes))
        .into_tuple::<String>()
        .all(txn)
        .await?
        .into_iter()
        .collect();
    let now = Utc::now();
    let mut reversals = Vec::new();
    for e in stale {
        let cause = format!("reversal:{}", e.id);
        if reversed.contains(&cause) || e.amount_nanos == 0 {
            continue;
        }
        if let Some(r) = e.recoupable_id {
            *balance_moves.entry(r).or_default() -= e.amount_nanos;
        }
        reversals.push(NewEntry {
            organization_id: e.organization_id,
            payee_id: e.payee_id,
            account: e.account,
            amount_nanos: -e.amount_nanos,
            currency: e.currency,
            cause,
            statement_id: e.statement_id,
            statement_line_id: e.statement_line_id,
            recoupable_id: e.recoupable_id,
            release_id: e.release_id,
            track_id: e.track_id,
            period: e.period,
        });
    }
    insert_entries(txn, &reversals, now).await
}

/// A ledger entry to write for a statement line (never part of a payout run).
#[derive(Debug)]
struct NewEntry {
    organization_id: i64,
    payee_id: Option<i64>,
    account: String,
    amount_nanos: i64,
    currency: String,
    cause: String,
    statement_id: Option<i64>,
    statement_line_id: Option<i64>,
    recoupable_id: Option<i64>,
    release_id: Option<i64>,
    track_id: Option<i64>,
    period: Option<NaiveDate>,
}

/// Writes entries, all created at `now`. On PostgreSQL the chunk goes as one
/// `INSERT … SELECT FROM UNNEST($1, …, $12)`: each column one typed array in the binary
/// protocol, so a chunk is a single statement whatever its size, with no SQL text or JSON to
/// build and parse per row (it replaces a `json_to_recordset` of the rows as one JSON document,
/// and before it a thousand-row `VALUES` list). Amounts go as `bigint`s, exact.
///
/// The driver cannot carry a NULL inside an array, so an absent id goes as 0 and comes back
/// NULL by `NULLIF` (ids start at 1), and an absent period as the empty text. SQLite takes
/// multi-row INSERTs.
///
/// The whole chunk is one statement in the chunk's transaction: a unique `cause` met twice (a
/// job racing past the organisation lock, which cannot happen) fails the chunk and writes none
/// of it.
async fn insert_entries(
    txn: &DatabaseTransaction,
    entries: &[NewEntry],
    now: chrono::DateTime<Utc>,
) -> anyhow::Result<()> {
    if entries.is_empty() {
        return Ok(());
    }
    if txn.get_database_backend() == DbBackend::Postgres {
        txn.execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            UNNEST_ENTRIES,
            unnest_columns(entries, now),
        ))
        .await?;
        return Ok(());
    }
    for batch in entries.chunks(INSERT_ROWS) {
        let rows = batch.iter().map(|e| ledger_entry::ActiveModel {
            organization_id: Set(e.organization_id),
            payee_id: Set(e.payee_id),
            account: Set(e.account.clone()),
            amount_nanos: Set(e.amount_nanos),
            currency: Set(e.currency.clone()),
            cause: Set(e.cause.clone()),
            statement_id: Set(e.statement_id),
            statement_line_id: Set(e.statement_line_id),
            payout_run_id: Set(None),
            recoupable_id: Set(e.recoupable_id),
            release_id: Set(e.release_id),
            track_id: Set(e.track_id),
            period: Set(e.period),
            created_at: Set(now),
            ..Default::default()
        });
        ledger_entry::Entity::insert_many(rows)
            .exec_without_returning(txn)
            .await?;
    }
    Ok(())
}

/// The entries of a chunk as columns: see [`insert_entries`].
const UNNEST_ENTRIES: &str = "INSERT INTO ledger_entries (organization_id, payee_id, account, amount_nanos, \
       currency, cause, statement_id, statement_line_id, recoupable_id, release_id, track_id, period, created_at) \
     SELECT organization_id, NULLIF(payee_id, 0), account, amount_nanos, currency, cause, \
       NULLIF(statement_id, 0), NULLIF(statement_line_id, 0), NULLIF(recoupable_id, 0), \
       NULLIF(release_id, 0), NULLIF(track_id, 0), CAST(NULLIF(period, '') AS date), $13 \
     FROM UNNEST($1::bigint[], $2::bigint[], $3::text[], $4::bigint[], $5::text[], $6::text[], \
       $7::bigint[], $8::bigint[], $9::bigint[], $10::bigint[], $11::bigint[], $12::text[]) \
       AS e(organization_id, payee_id, account, amount_nanos, currency, cause, statement_id, \
         statement_line_id, recoupable_id, release_id, track_id, period)";

/// The bind values of [`UNNEST_ENTRIES`]: one array per column, then `created_at`.
fn unnest_columns(entries: &[NewEntry], now: chrono::DateTime<Utc>) -> Vec<sea_orm::Value> {
    fn ids(entries: &[NewEntry], f: impl Fn(&NewEntry) -> Option<i64>) -> sea_orm::Value {
        entries
            .iter()
            .map(|e| f(e).unwrap_or(0))
            .collect::<Vec<i64>>()
            .into()
    }
    fn texts(entries: &[NewEntry], f: impl Fn(&NewEntry) -> String) -> sea_orm::Value {
        entries.iter().map(f).collect::<Vec<String>>().into()
    }
    vec![
        ids(entries, |e| Some(e.organization_id)),
        ids(entries, |e| e.payee_id),
        texts(entries, |e| e.account.clone()),
        entries
            .iter()
            .map(|e| e.amount_nanos)
            .collect::<Vec<i64>>()
            .into(),
        texts(entries, |e| e.currency.clone()),
        texts(entries, |e| e.cause.clone()),
        ids(entries, |e| e.statement_id),
        ids(entries, |e| e.statement_line_id),
        ids(entries, |e| e.recoupable_id),
        ids(entries, |e| e.release_id),
        ids(entries, |e| e.track_id),
        texts(entries, |e| {
            e.period.map(|d| d.to_string()).unwrap_or_default()
        }),
        now.into(),
    ]
}

/// The organisation's recoupables in their current state, as the domain sees them.
async fn load_recoupables(
    txn: &DatabaseTransaction,
    organization_id: i64,
) -> anyhow::Result<Vec<Recoupable>> {
    let rows = recoupable::Entity::find()
        .filter(recoupable::Column::OrganizationId.eq(organization_id))
        .all(txn)
        .await?;
    let mut out = Vec::with_capacity(rows.len());
    for row in &rows {
        if let Some(r) = recoupable_of(row)? {
            out.push(r);
        }
    }
    Ok(out)
}

/// Moves the recoupables' running balances by what this transaction wrote.
async fn apply_balance_moves(
    txn: &DatabaseTransaction,
    moves: &HashMap<i64, i64>,
) -> anyhow::Result<()> {
    let backend = txn.get_database_backend();
    for (id, delta) in moves {
        if *delta == 0 {
            continue;
        }
        txn.execute_raw(Statement::from_sql_and_values(
            backend,
            "UPDATE recoupables SET recouped_nanos = recouped_nanos + $1 WHERE id = $2",
            [(*delta).into(), (*id).into()],
        ))
        .await?;
    }
    Ok(())
}
