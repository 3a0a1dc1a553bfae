//! The ledger as the API shows it: entries, the organisation's money summary (where every
//! allocated nano-unit is now), reallocation, and the payout period settings.

use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, NaiveDate, Utc};
use domain::payout::{ConservationTotals, RunStatus};
use entity::{ledger_entry, organization, payout, payout_run, statement};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect, Set,
    Statement,
};
use std::collections::BTreeMap;

use super::access::{ContextExt, Permission};
use super::accounts::decode_or_not_found;
use super::audit::{self, Change};
use super::error::{ApiError, ApiResult, UserError, UserErrorCode, UserErrors};
use super::guard::{self, Seen};
use super::ids::Kind;
use super::money::Money;
use super::organization::Organization;
use super::statements::{Statement as StatementObject, load_statement};

/// The ledger account an entry is in.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum LedgerAccount {
    /// An artist's or participant's share of a statement line.
    Earnings,
    /// The label's share.
    Label,
    /// Retained to recoup an advance or expense.
    Recoupment,
    /// Paid out (negative).
    Payout,
    /// Held in reserve (negative) or released (positive).
    Reserve,
    /// Withheld from a payout (tax; negative on the payee, held for the tax authority).
    Withholding,
}

impl LedgerAccount {
    fn from_db(raw: &str) -> ApiResult<Self> {
        Ok(match raw {
            "earnings" => Self::Earnings,
            "label" => Self::Label,
            "recoupment" => Self::Recoupment,
            "payout" => Self::Payout,
            "reserve" => Self::Reserve,
            "withholding" => Self::Withholding,
            other => {
                return Err(ApiError::internal(anyhow::anyhow!(
                    "unknown ledger account `{other}`"
                )));
            }
        })
    }
}

pub struct LedgerEntry(pub Seen<ledger_entry::Model>);

#[Object]
impl LedgerEntry {
    async fn account(&self) -> ApiResult<LedgerAccount> {
        LedgerAccount::from_db(&self.0.account)
    }
    async fn amount(&self) -> Money {
        Money::from_nanos(self.0.amount_nanos, &self.0.currency)
    }
    /// What caused it, unique in the organisation: `statement_line:…`, `reversal:…`,
    /// `payout:…`.
    async fn cause(&self) -> &str {
        &self.0.cause
    }
    /// The sale period (or the payout run's period end).
    async fn period(&self) -> Option<NaiveDate> {
        self.0.period
    }
    async fn statement_id(&self) -> Option<ID> {
        self.0
            .statement_id
            .map(|id| super::ids::encode(Kind::Statement, id))
    }
    async fn release_id(&self) -> Option<ID> {
        self.0
            .release_id
            .map(|id| super::ids::encode(Kind::Release, id))
    }
    async fn track_id(&self) -> Option<ID> {
        self.0
            .track_id
            .map(|id| super::ids::encode(Kind::Track, id))
    }
    async fn recoupable_id(&self) -> Option<ID> {
        self.0
            .recoupable_id
            .map(|id| super::ids::encode(Kind::Recoupable, id))
    }
    async fn payout_run_id(&self) -> Option<ID> {
        self.0
            .payout_run_id
            .map(|id| super::ids::encode(Kind::PayoutRun, id))
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// Where the organisation's allocated money is, in one currency. Always
/// `allocated = paid + withheld + carriedForward + reserved + recouped + pending`, to the nano-unit:
/// `balanced` says so, computed from the ledger on one side and the payout runs on the other.
#[derive(SimpleObject, Debug, Clone)]
pub struct MoneySummary {
    pub currency: String,
    /// Every allocation of statement lines (reversals included).
    pub allocated: Money,
    /// Paid by payout runs.
    pub paid: Money,
    /// Withheld from payouts (tax), in the `WITHHOLDING` account.
    pub withheld: Money,
    /// Carried forward by the payees' latest paid runs (negative for a payee who owes).
    pub carried_forward: Money,
    /// Held in reserve now.
    pub reserved: Money,
    /// Retained to recoup advances and expenses.
    pub recouped: Money,
    /// Allocated but not yet taken up by a paid run.
    pub pending: Money,
    /// Whether the books balance.
    pub balanced: bool,
}

/// Computes the summary; see [`MoneySummary`].
///
/// # Errors
/// Database failures.
pub async fn money_summary(
    db: &impl ConnectionTrait,
    organization_id: i64,
) -> ApiResult<Vec<MoneySummary>> {
    let backend = db.get_database_backend();
    let sql = format!(
        "SELECT e.currency, \
          CAST(SUM(CASE WHEN e.statement_line_id IS NOT NULL THEN e.amount_nanos ELSE 0 END) AS BIGINT), \
          CAST(SUM(CASE WHEN e.account = 'recoupment' THEN e.amount_nanos ELSE 0 END) AS BIGINT), \
          CAST(SUM(CASE WHEN e.account = 'payout' THEN -e.amount_nanos ELSE 0 END) AS BIGINT), \
          CAST(SUM(CASE WHEN e.account = 'reserve' THEN -e.amount_nanos ELSE 0 END) AS BIGINT), \
          CAST(SUM(CASE WHEN e.account IN ('earnings', 'label') AND NOT EXISTS ( \
              SELECT 1 FROM payout_runs r WHERE {PAID_RUN_TOOK_UP}) \
            THEN e.amount_nanos ELSE 0 END) AS BIGINT), \
          CAST(SUM(CASE WHEN e.account = 'withholding' THEN -e.amount_nanos ELSE 0 END) AS BIGINT) \
        FROM ledger_entries e WHERE e.organization_id = $1 GROUP BY e.currency",
        PAID_RUN_TOOK_UP = workers::payouts::PAID_RUN_TOOK_UP
    );
    let rows = db
        .query_all_raw(Statement::from_sql_and_values(
            backend,
            &sql,
            [organization_id.into()],
        ))
        .await?;
    let mut sums: BTreeMap<String, ConservationTotals> = BTreeMap::new();
    for row in rows {
        let currency: String = row.try_get_by_index(0)?;
        let get = |i: usize| -> ApiResult<i128> { Ok(i128::from(row.try_get_by_index::<i64>(i)?)) };
        let s = sums.entry(currency).or_default();
        s.allocated = get(1)?;
        s.recouped = get(2)?;
        s.paid = get(3)?;
        s.reserved = get(4)?;
        s.pending = get(5)?;
        s.withheld = get(6)?;
    }
    // The other side: what the payees' latest paid payouts carried forward.
    let mut paid_runs = payout_run::Entity::find()
        .filter(payout_run::Column::OrganizationId.eq(organization_id))
        .filter(payout_run::Column::Status.eq(RunStatus::Paid.as_str()))
        .all(db)
        .await?;
    paid_runs.sort_by_key(|r| (r.period_end, r.id));
    let order: BTreeMap<i64, usize> = paid_runs
        .iter()
        .enumerate()
        .map(|(i, r)| (r.id, i))
        .collect();
    let payouts = if order.is_empty() {
        Vec::new()
    } else {
        payout::Entity::find()
            .filter(payout::Column::PayoutRunId.is_in(order.keys().copied()))
            .all(db)
            .await?
    };
    let mut latest: BTreeMap<(i64, String), (usize, i64)> = BTreeMap::new();
    for p in payouts {
        let rank = order.get(&p.payout_run_id).copied().unwrap_or(0);
        let key = (p.payee_id, p.currency.clone());
        if latest.get(&key).is_none_or(|(r, _)| *r <= rank) {
            latest.insert(key, (rank, p.carried_forward_nanos));
        }
    }
    for ((_, currency), (_, carried)) in latest {
        sums.entry(currency).or_default().carried_forward += i128::from(carried);
    }
    Ok(sums
        .into_iter()
        .map(|(currency, s)| {
            let money =
                |v: i128| Money::from_nanos(i64::try_from(v).unwrap_or(i64::MAX), &currency);
            MoneySummary {
                allocated: money(s.allocated),
                paid: money(s.paid),
                withheld: money(s.withheld),
                carried_forward: money(s.carried_forward),
                reserved: money(s.reserved),
                recouped: money(s.recouped),
                pending: money(s.pending),
                balanced: s.is_balanced(),
                currency: currency.clone(),
            }
        })
        .collect())
}

#[derive(InputObject)]
pub struct ReallocateStatementInput {
    pub statement_id: ID,
}

#[derive(SimpleObject, Default)]
pub struct ReallocateStatementPayload {
    pub statement: Option<StatementObject>,
    pub user_errors: Vec<UserError>,
}

#[derive(InputObject)]
pub struct UpdatePayoutSettingsInput {
    pub organization_id: ID,
    /// 1 (monthly), 3 (quarterly), 6 (half-yearly) or 12 (yearly).
    pub payout_period_months: Option<i32>,
    /// Reserves are released after this many periods (0 to 12).
    pub reserve_release_periods: Option<i32>,
    /// Split consent: PAY (the default) pays a split by its shares whether or not every payee
    /// has confirmed; HOLD keeps its lines unallocated until they have.
    pub unconfirmed_splits: Option<super::enums::UnconfirmedSplits>,
}

#[derive(SimpleObject, Default)]
pub struct UpdatePayoutSettingsPayload {
    pub organization: Option<Organization>,
    pub user_errors: Vec<UserError>,
}

#[derive(Default)]
pub struct LedgerMutation;

#[Object]
impl LedgerMutation {
    /// Allocates a statement again under today's splits and agreements: every earlier entry of
    /// its lines is reversed by a new entry and new entries are written. Old entries are never
    /// edited.
    async fn reallocate_statement(
        &self,
        ctx: &Context<'_>,
        input: ReallocateStatementInput,
    ) -> ApiResult<ReallocateStatementPayload> {
        let st = load_statement(ctx, &input.statement_id, Permission::WriteStatements).await?;
        if st.status != workers::ingest::STATUS_PARSED {
            return Ok(ReallocateStatementPayload {
                statement: None,
                user_errors: vec![UserError::new(
                    "statementId",
                    UserErrorCode::NotAllowed,
                    "only a parsed statement can be allocated",
                )],
            });
        }
        let db = ctx.db();
        let txn = entity::db::begin_write(db).await?;
        let before = audit::snapshot(&st);
        let generation = st.allocation_generation + 1;
        let mut active: statement::ActiveModel = st.into();
        active.allocation_generation = Set(generation);
        active.allocation_status =
            Set(workers::jobs::allocate_statement::STATUS_PENDING.to_owned());
        active.updated_at = Set(Utc::now());
        let st = active.update(&txn).await?;
        audit::record(
            &txn,
            ctx.principal(),
            st.organization_id,
            Change {
                action: "statement.reallocate",
                entity_type: "statement",
                entity_id: st.id,
                before,
                after: audit::snapshot(&st),
            },
        )
        .await?;
        txn.commit().await?;
        ctx.state()
            .queue
            .push(workers::Job::AllocateStatement {
                statement_id: st.id,
            })
            .await
            .map_err(ApiError::internal)?;
        Ok(ReallocateStatementPayload {
            statement: guard::admit(ctx, st).await?.map(StatementObject),
            user_errors: Vec::new(),
        })
    }

    /// How long a payout period is and when reserves are released.
    async fn update_payout_settings(
        &self,
        ctx: &Context<'_>,
        input: UpdatePayoutSettingsInput,
    ) -> ApiResult<UpdatePayoutSettingsPayload> {
        let organization_id = decode_or_not_found(Kind::Organization, &input.organization_id)?;
        ctx.authorize(organization_id, Permission::ApprovePayouts)?;
        let db = ctx.db();
        let org = organization::Entity::find_by_id(organization_id)
            .one(db)
            .await?
            .ok_or(ApiError::NotFound("Organization"))?;
        let mut errors = UserErrors::default();
        if let Some(months) = input.payout_period_months
            && ![1, 3, 6, 12].contains(&months)
        {
            errors.invalid(
                "payoutPeriodMonths",
                "a payout period is 1, 3, 6 or 12 months",
            );
        }
        if let Some(periods) = input.reserve_release_periods
            && !(0..=12).contains(&periods)
        {
            errors.invalid(
                "reserveReleasePeriods",
                "reserves are released after 0 to 12 periods",
            );
        }
        if !errors.is_empty() {
            return Ok(UpdatePayoutSettingsPayload {
                organization: None,
                user_errors: errors.into_vec(),
            });
        }
        let before = serde_json::json!({
            "payout_period_months": org.payout_period_months,
            "reserve_release_periods": org.reserve_release_periods,
            "unconfirmed_splits": org.unconfirmed_splits,
        });
        let held_before = org.unconfirmed_splits.clone();
        let mut active: organization::ActiveModel = org.into();
        if let Some(months) = input.payout_period_months {
            active.payout_period_months = Set(months);
        }
        if let Some(periods) = input.reserve_release_periods {
            active.reserve_release_periods = Set(periods);
        }
        if let Some(setting) = input.unconfirmed_splits {
            active.unconfirmed_splits = Set(setting.as_db().to_owned());
        }
        let txn = entity::db::begin_write(db).await?;
        let org = active.update(&txn).await?;
        audit::record(
            &txn,
            ctx.principal(),
            organization_id,
            Change {
                action: "organization.payout_settings",
                entity_type: "organization",
                entity_id: organization_id,
                before: Some(before),
                after: Some(serde_json::json!({
                    "payout_period_months": org.payout_period_months,
                    "reserve_release_periods": org.reserve_release_periods,
                    "unconfirmed_splits": org.unconfirmed_splits,
                })),
            },
        )
        .await?;
        txn.commit().await?;
        if held_before != org.unconfirmed_splits {
            // Held lines are paid now (HOLD → PAY); the other way, only lines allocated from
            // now on are held.
            allocate_waiting(ctx, organization_id).await?;
        }
        Ok(UpdatePayoutSettingsPayload {
            organization: guard::admit(ctx, org).await?.map(Organization),
            user_errors: Vec::new(),
        })
    }
}

/// Queues allocation for the organisation's parsed statements that have lines waiting for it
/// (unmatched or unallocated lines), after something that may let them through: a split set, an
/// identifier matched. The job only writes what is missing.
///
/// # Errors
/// Database or queue failures.
pub async fn allocate_waiting(ctx: &Context<'_>, organization_id: i64) -> ApiResult<()> {
    let waiting: Vec<i64> = statement::Entity::find()
        .select_only()
        .column(statement::Column::Id)
        .filter(statement::Column::OrganizationId.eq(organization_id))
        .filter(statement::Column::Status.eq(workers::ingest::STATUS_PARSED))
        .filter(
            sea_orm::Condition::any()
                .add(statement::Column::UnmatchedCount.gt(0))
                .add(statement::Column::UnallocatedCount.gt(0)),
        )
        .into_tuple()
        .all(ctx.db())
        .await?;
    for statement_id in waiting {
        if let Err(err) = workers::matching::refresh_counts(ctx.db(), statement_id).await {
            tracing::warn!(statement_id, error = %err, "could not refresh match counts");
        }
        ctx.state()
            .queue
            .push(workers::Job::AllocateStatement { statement_id })
            .await
            .map_err(ApiError::internal)?;
    }
    Ok(())
}

/// One reason lines of a statement could not be allocated.
#[derive(SimpleObject, Debug, Clone)]
pub struct AllocationIssue {
    pub reason: String,
    pub line_count: i64,
    /// The first line with this reason.
    pub first_line_number: i64,
}

/// The statement's allocation issues, as stored by the allocation job.
#[must_use]
pub fn allocation_issues(st: &statement::Model) -> Vec<AllocationIssue> {
    serde_json::from_str::<Vec<workers::jobs::allocate_statement::AllocationIssue>>(
        &st.allocation_issues,
    )
    .unwrap_or_default()
    .into_iter()
    .map(|i| AllocationIssue {
        reason: i.reason,
        line_count: i.count,
        first_line_number: i.first_line,
    })
    .collect()
}
