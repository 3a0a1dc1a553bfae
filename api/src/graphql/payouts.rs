//! Payout runs: `createPayoutRun` → the `RunPayout` job computes every payee's payout →
//! `approvePayoutRun` → `markPayoutRunPaid` (a payment reference per payee) → paid; or
//! `cancelPayoutRun`. `payoutUpdates` streams every step live.
//!
//! Paying writes the ledger: per payout a `payout` entry (minus what was paid), a
//! `withholding` entry (minus what was withheld) and `reserve`
//! entries (minus what is held, plus what is released), so a payee's ledger balance is what is
//! carried forward. An artist member sees only the payouts of their own payees.

use std::time::Duration;

use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject, Subscription};
use chrono::{DateTime, NaiveDate, Utc};
use domain::payout::{self as rules, PaymentOutcome, RunStatus, payment_outcome};
use entity::{ledger_entry, organization, payee, payout, payout_run};
use futures::Stream;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Set, SqlErr, Statement,
};

use super::access::{ContextExt, OrgAccess, Permission};
use super::accounts::decode_or_not_found;
use super::audit::{self, Change};
use super::connection::{Page, PageArgs, paginate};
use super::error::{ApiError, ApiResult, UserError, UserErrorCode, UserErrors};
use super::guard::{self, Seen};
use super::ids::{self, Kind};
use super::money::Money;
use super::payees::Payee;
use domain::auth::Owner;

/// Where a payout run is in its life.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum PayoutRunStatus {
    /// Created; the worker has not started computing.
    Draft,
    /// The worker is computing every payee's payout.
    Computing,
    /// Computed: check the figures, then approve.
    Ready,
    /// Approved for payment: record each payee's payment reference.
    Approved,
    /// Every payable payout has been paid.
    Paid,
    /// The computation failed (see `failureReason`); create a new run.
    Failed,
    /// Cancelled before payment; it takes up nothing.
    Cancelled,
}

impl From<RunStatus> for PayoutRunStatus {
    fn from(status: RunStatus) -> Self {
        match status {
            RunStatus::Draft => Self::Draft,
            RunStatus::Computing => Self::Computing,
            RunStatus::Ready => Self::Ready,
            RunStatus::Approved => Self::Approved,
            RunStatus::Paid => Self::Paid,
            RunStatus::Failed => Self::Failed,
            RunStatus::Cancelled => Self::Cancelled,
        }
    }
}

/// The stored status of a run, as the domain reads it; a word the domain does not know is an
/// internal error, never shown as some other status.
///
/// # Errors
/// INTERNAL for an unknown stored word.
pub fn run_status(run: &payout_run::Model) -> ApiResult<RunStatus> {
    run.status.parse().map_err(ApiError::internal)
}

/// The stored status of a payout; see [`run_status`].
fn payout_status(payout: &payout::Model) -> ApiResult<rules::PayoutStatus> {
    payout.status.parse().map_err(ApiError::internal)
}

/// Where one payee's payout is.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum PayoutStatus {
    /// Payable, waiting for payment.
    Pending,
    /// Nothing payable this run (below the minimum, a negative balance, or nothing earned): the
    /// balance is carried forward.
    CarriedForward,
    Paid,
    Cancelled,
}

impl From<rules::PayoutStatus> for PayoutStatus {
    fn from(status: rules::PayoutStatus) -> Self {
        match status {
            rules::PayoutStatus::Pending => Self::Pending,
            rules::PayoutStatus::CarriedForward => Self::CarriedForward,
            rules::PayoutStatus::Paid => Self::Paid,
            rules::PayoutStatus::Cancelled => Self::Cancelled,
        }
    }
}

impl From<PayoutStatus> for rules::PayoutStatus {
    fn from(status: PayoutStatus) -> Self {
        match status {
            PayoutStatus::Pending => Self::Pending,
            PayoutStatus::CarriedForward => Self::CarriedForward,
            PayoutStatus::Paid => Self::Paid,
            PayoutStatus::Cancelled => Self::Cancelled,
        }
    }
}

/// A run's figures in one currency (for an artist member: over their own payees only).
#[derive(SimpleObject, Debug, Clone)]
pub struct PayoutRunTotal {
    pub currency: String,
    pub payee_count: i64,
    pub brought_forward: Money,
    pub earnings: Money,
    pub recouped: Money,
    pub reserved: Money,
    pub reserve_released: Money,
    pub payable: Money,
    /// The part of `payable` withheld (tax).
    pub withheld: Money,
    /// What the payments stand for in this currency.
    pub paid: Money,
    pub carried_forward: Money,
}

/// The SQL restriction of payouts `p` to what `access` may see.
fn visible_payouts(access: &OrgAccess) -> (String, Vec<sea_orm::Value>) {
    match access.artist_id {
        Some(artist_id) => (
            "AND p.payee_id IN (SELECT id FROM payees WHERE artist_id = $2)".to_owned(),
            vec![artist_id.into()],
        ),
        None => (String::new(), Vec::new()),
    }
}

pub struct PayoutRun(pub Seen<payout_run::Model>);

#[Object]
impl PayoutRun {
    pub async fn id(&self) -> ID {
        ids::encode(Kind::PayoutRun, self.0.id)
    }
    /// The last day of the period paid: sales up to it are taken up.
    async fn period_end(&self) -> NaiveDate {
        self.0.period_end
    }
    async fn status(&self) -> ApiResult<PayoutRunStatus> {
        Ok(run_status(&self.0)?.into())
    }
    async fn failure_reason(&self) -> Option<&str> {
        self.0.failure_reason.as_deref()
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
    async fn approved_at(&self) -> Option<DateTime<Utc>> {
        self.0.approved_at
    }
    async fn paid_at(&self) -> Option<DateTime<Utc>> {
        self.0.paid_at
    }
    /// The rates the run converts at, as given when it was created.
    async fn exchange_rates(&self, ctx: &Context<'_>) -> ApiResult<Vec<PayoutRunRate>> {
        let rates = workers::payouts::run_rates(&self.0).map_err(ApiError::internal)?;
        let org = organization::Entity::find_by_id(self.0.organization_id)
            .one(ctx.db())
            .await?
            .ok_or(ApiError::NotFound("Organization"))?;
        Ok(rates
            .into_iter()
            .map(|(to, rate)| PayoutRunRate {
                from: org.base_currency.clone(),
                to: to.as_str().to_owned(),
                rate: rate.get().to_string(),
            })
            .collect())
    }

    /// The statements whose money the run held back: the organisation pays only reconciled
    /// money (`setPayoutsReconciledOnly`) and no remittance paid them when the run computed.
    /// The first run after their remittance is recorded pays them. (Only the statements the
    /// caller may see.)
    async fn held_statements(
        &self,
        ctx: &Context<'_>,
    ) -> ApiResult<Vec<super::statements::Statement>> {
        let ids: Vec<i64> = entity::payout_run_held_statement::Entity::find()
            .filter(entity::payout_run_held_statement::Column::PayoutRunId.eq(self.0.id))
            .all(ctx.db())
            .await?
            .into_iter()
            .map(|h| h.statement_id)
            .collect();
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let rows = entity::statement::Entity::find()
            .filter(entity::statement::Column::Id.is_in(ids))
            .filter(entity::statement::Column::OrganizationId.eq(self.0.organization_id))
            .order_by_asc(entity::statement::Column::Id)
            .all(ctx.db())
            .await?;
        Ok(guard::admit_all(ctx, rows)
            .await?
            .into_iter()
            .map(super::statements::Statement)
            .collect())
    }

    /// Totals per currency.
    async fn totals(&self, ctx: &Context<'_>) -> ApiResult<Vec<PayoutRunTotal>> {
        let access = ctx.authorize(self.0.organization_id, Permission::ReadMoney)?;
        let (filter, extra) = visible_payouts(&access);
        let db = ctx.db();
        let sql = format!(
            "SELECT p.currency, COUNT(*), \
               CAST(SUM(p.brought_forward_nanos) AS BIGINT), CAST(SUM(p.earnings_nanos) AS BIGINT), \
               CAST(SUM(p.recouped_nanos) AS BIGINT), CAST(SUM(p.reserved_nanos) AS BIGINT), \
               CAST(SUM(p.reserve_released_nanos) AS BIGINT), CAST(SUM(p.payable_nanos) AS BIGINT), \
               CAST(SUM(p.carried_forward_nanos) AS BIGINT), CAST(SUM(p.withheld_nanos) AS BIGINT), \
               CAST(SUM(p.paid_nanos) AS BIGINT) \
             FROM payouts p WHERE p.payout_run_id = $1 {filter} GROUP BY p.currency ORDER BY p.currency"
        );
        let mut values: Vec<sea_orm::Value> = vec![self.0.id.into()];
        values.extend(extra);
        let rows = db
            .query_all_raw(Statement::from_sql_and_values(
                db.get_database_backend(),
                &sql,
                values,
            ))
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let currency: String = row.try_get_by_index(0)?;
            let money = |i: usize| -> ApiResult<Money> {
                Ok(Money::from_nanos(
                    row.try_get_by_index::<i64>(i)?,
                    &currency,
                ))
            };
            out.push(PayoutRunTotal {
                payee_count: row.try_get_by_index(1)?,
                brought_forward: money(2)?,
                earnings: money(3)?,
                recouped: money(4)?,
                reserved: money(5)?,
                reserve_released: money(6)?,
                payable: money(7)?,
                carried_forward: money(8)?,
                withheld: money(9)?,
                paid: money(10)?,
                currency,
            });
        }
        Ok(out)
    }

    /// The run's payment files (Wise, PayPal, SEPA), what each pays, and the payouts none can
    /// pay; for those who approve and pay runs (see `rails.rs`).
    async fn rails(&self, ctx: &Context<'_>) -> ApiResult<super::rails::PayoutRunRails> {
        super::rails::PayoutRunRails::for_run(ctx, &self.0)
    }

    /// Each payee's payout (an artist member sees only their own payees').
    async fn payouts(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        status: Option<PayoutStatus>,
    ) -> ApiResult<Page<Payout>> {
        let access = ctx.authorize(self.0.organization_id, Permission::ReadMoney)?;
        let mut select = payout::Entity::find().filter(payout::Column::PayoutRunId.eq(self.0.id));
        if let Some(status) = status {
            select = select
                .filter(payout::Column::Status.eq(rules::PayoutStatus::from(status).as_str()));
        }
        if let Some(artist_id) = access.artist_id {
            select = select.filter(payout::Column::PayeeId.in_subquery(own_payees(artist_id)));
        }
        paginate(
            ctx,
            select,
            payout::Column::Id,
            &PageArgs::new(first, after),
            |m| m.id,
            Payout,
        )
        .await
    }
}

/// `SELECT id FROM payees WHERE artist_id = …`.
fn own_payees(artist_id: i64) -> sea_orm::sea_query::SelectStatement {
    use sea_orm::sea_query::Query;
    Query::select()
        .column(payee::Column::Id)
        .from(payee::Entity)
        .and_where(payee::Column::ArtistId.eq(artist_id))
        .to_owned()
}

pub struct Payout(pub Seen<payout::Model>);

#[Object]
impl Payout {
    pub async fn id(&self) -> ID {
        ids::encode(Kind::Payout, self.0.id)
    }
    async fn payee(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Payee>> {
        let row = ctx
            .data_unchecked::<super::loaders::Loaders>()
            .payee
            .load_one(self.0.payee_id)
            .await?;
        Ok(guard::admit_opt(ctx, row).await?.map(Payee))
    }
    async fn payout_run(&self, ctx: &Context<'_>) -> ApiResult<Option<PayoutRun>> {
        let row = payout_run::Entity::find_by_id(self.0.payout_run_id)
            .one(ctx.db())
            .await?;
        Ok(guard::admit_opt(ctx, row).await?.map(PayoutRun))
    }
    async fn currency(&self) -> &str {
        &self.0.currency
    }
    /// Carried forward by the payee's previous paid run (negative when they owe).
    async fn brought_forward(&self) -> Money {
        self.money(self.0.brought_forward_nanos)
    }
    /// Everything allocated to the payee in the run's period, recoupment included.
    async fn earnings(&self) -> Money {
        self.money(self.0.earnings_nanos)
    }
    /// The part of the earnings retained to recoup advances and expenses.
    async fn recouped(&self) -> Money {
        self.money(self.0.recouped_nanos)
    }
    /// Held back in reserve against returns this run.
    async fn reserved(&self) -> Money {
        self.money(self.0.reserved_nanos)
    }
    /// Reserves of earlier runs released this run.
    async fn reserve_released(&self) -> Money {
        self.money(self.0.reserve_released_nanos)
    }
    /// Payable this run, before withholding: whole minor units of the currency.
    async fn payable(&self) -> Money {
        self.money(self.0.payable_nanos)
    }
    /// The part of `payable` withheld (tax) at `withholdingPercent`, kept in the
    /// `WITHHOLDING` ledger account.
    async fn withheld(&self) -> Money {
        self.money(self.0.withheld_nanos)
    }
    /// The payee's withholding rate when the run was computed, a percent string.
    async fn withholding_percent(&self) -> String {
        u64::try_from(self.0.withholding_ppb)
            .ok()
            .and_then(|ppb| domain::share::Share::from_ppb(ppb).ok())
            .map_or_else(|| "0".to_owned(), |s| s.to_percent_string())
    }
    /// What the payment stands for in `currency`: `payable − withheld`, less the conversion
    /// remainder when paid in another currency.
    async fn paid(&self) -> Money {
        self.money(self.0.paid_nanos)
    }
    /// What the payee receives, in their payout currency (whole minor units of it).
    async fn payout_amount(&self) -> Money {
        Money::from_nanos(self.0.payout_amount_nanos, &self.0.payout_currency)
    }
    /// 1 unit of `currency` = `exchangeRate` units of `payoutAmount.currency` (an exact
    /// decimal string; "1" when they are the same).
    async fn exchange_rate(&self) -> &str {
        &self.0.exchange_rate
    }
    /// Carried forward to the next run.
    async fn carried_forward(&self) -> Money {
        self.money(self.0.carried_forward_nanos)
    }
    /// The sub-cent (sub-minor-unit) part of the balance kept when paying.
    async fn rounding_remainder(&self) -> Money {
        self.money(self.0.rounding_remainder_nanos)
    }
    /// Whether a positive balance was carried forward because it is below the payee's minimum.
    async fn below_minimum(&self) -> bool {
        self.0.below_minimum
    }
    async fn status(&self) -> ApiResult<PayoutStatus> {
        Ok(payout_status(&self.0)?.into())
    }
    async fn payment_reference(&self) -> Option<&str> {
        self.0.payment_reference.as_deref()
    }
    async fn paid_at(&self) -> Option<DateTime<Utc>> {
        self.0.paid_at
    }
    /// Where the payee's statement for this payout downloads as CSV (with the same bearer
    /// token).
    async fn statement_csv_url(&self) -> String {
        format!(
            "/payouts/{}/statement.csv",
            ids::encode(Kind::Payout, self.0.id).as_str()
        )
    }
    /// Where the payee's statement for this payout downloads as PDF.
    async fn statement_pdf_url(&self) -> String {
        format!(
            "/payouts/{}/statement.pdf",
            ids::encode(Kind::Payout, self.0.id).as_str()
        )
    }
}

impl Payout {
    fn money(&self, nanos: i64) -> Money {
        Money::from_nanos(nanos, &self.0.currency)
    }
}

/// Loads a payout run by global id for a mutation that does `permission` to it.
///
/// # Errors
/// NOT_FOUND (also another organisation's) or FORBIDDEN.
pub async fn load_run(
    ctx: &Context<'_>,
    id: &ID,
    permission: Permission,
) -> ApiResult<payout_run::Model> {
    let run: Seen<payout_run::Model> = guard::fetch(ctx, Kind::PayoutRun, id, permission).await?;
    Ok(run.into_inner())
}

/// Loads a payout by row id, checking the caller may read it (an artist member: only their
/// own payees').
///
/// # Errors
/// NOT_FOUND or the authorization failure.
pub async fn load_payout(
    db: &impl ConnectionTrait,
    principal: &crate::auth::Principal,
    row_id: i64,
) -> ApiResult<(payout::Model, payee::Model)> {
    let row = payout::Entity::find_by_id(row_id)
        .one(db)
        .await?
        .ok_or(ApiError::NotFound("Payout"))?;
    let payee = payee::Entity::find_by_id(row.payee_id)
        .one(db)
        .await?
        .ok_or(ApiError::NotFound("Payout"))?;
    // The guard's rule, outside a GraphQL request: another organisation's or artist's payout
    // is not found; one's own organisation's without ReadMoney is forbidden.
    let owner = payee.artist_id.map_or(Owner::Label, Owner::Artist);
    match guard::holder(principal, row.organization_id) {
        None => Err(ApiError::NotFound("Payout")),
        Some(holder) if !holder.sees(owner) => Err(ApiError::NotFound("Payout")),
        Some(holder) if !holder.has(Permission::ReadMoney) => Err(ApiError::Forbidden(
            guard::permission_message(Permission::ReadMoney),
        )),
        Some(_) => Ok((row, payee)),
    }
}

/// Loads a payee for a download of their money (the year-end summary), with the rule of
/// [`load_payout`]: another organisation's or artist's payee is not found; one's own
/// organisation's without `ReadMoney` is forbidden.
///
/// # Errors
/// NOT_FOUND or FORBIDDEN.
pub async fn load_payee_money(
    db: &impl ConnectionTrait,
    principal: &crate::auth::Principal,
    payee_id: i64,
) -> ApiResult<payee::Model> {
    let payee = payee::Entity::find_by_id(payee_id)
        .one(db)
        .await?
        .ok_or(ApiError::NotFound("Payee"))?;
    let owner = payee.artist_id.map_or(Owner::Label, Owner::Artist);
    match guard::holder(principal, payee.organization_id) {
        None => Err(ApiError::NotFound("Payee")),
        Some(holder) if !holder.sees(owner) => Err(ApiError::NotFound("Payee")),
        Some(holder) if !holder.has(Permission::ReadMoney) => Err(ApiError::Forbidden(
            guard::permission_message(Permission::ReadMoney),
        )),
        Some(_) => Ok(payee),
    }
}

#[derive(InputObject)]
pub struct CreatePayoutRunInput {
    pub organization_id: ID,
    /// The last day of the period to pay: earnings from sales up to it are taken up.
    pub period_end: NaiveDate,
    /// The rates this run pays payees in other currencies at: one per payee currency that is
    /// not the organisation's base currency (a missing one is a `userError` naming it).
    pub exchange_rates: Option<Vec<PayoutRateInput>>,
}

/// 1 unit of the organisation's base currency = `rate` units of `currency`.
#[derive(InputObject)]
pub struct PayoutRateInput {
    /// ISO 4217, the payees' currency.
    pub currency: String,
    /// A decimal string greater than zero, e.g. "0.9231".
    pub rate: String,
}

/// A rate a run converts at: 1 unit of `from` (the ledger's currency) = `rate` units of `to`.
#[derive(SimpleObject, Debug, Clone)]
pub struct PayoutRunRate {
    pub from: String,
    pub to: String,
    /// An exact decimal string.
    pub rate: String,
}

/// Checks the rates given to `createPayoutRun`, takes those not given from the organisation's
/// rate table, and checks that every payee currency of the organisation has one; returns them as
/// stored (`payout_runs.exchange_rates`).
async fn run_rates_input(
    db: &impl ConnectionTrait,
    org: &organization::Model,
    input: Option<&[PayoutRateInput]>,
    period_end: NaiveDate,
    errors: &mut UserErrors,
) -> ApiResult<String> {
    use domain::money::Currency;
    use domain::payout::PayoutRate;
    use std::collections::BTreeMap;
    let mut rates: BTreeMap<Currency, PayoutRate> = BTreeMap::new();
    for (i, r) in input.unwrap_or_default().iter().enumerate() {
        let currency = errors.check(
            &format!("exchangeRates.{i}.currency"),
            Currency::parse(&r.currency),
        );
        let rate = errors.check(
            &format!("exchangeRates.{i}.rate"),
            PayoutRate::parse(&r.rate),
        );
        if let (Some(c), Some(rate)) = (currency, rate)
            && rates.insert(c, rate).is_some()
        {
            errors.invalid(
                &format!("exchangeRates.{i}.currency"),
                format!("{c} is listed twice"),
            );
        }
    }
    let Ok(ledger) = Currency::parse(&org.base_currency) else {
        return Err(ApiError::internal(anyhow::anyhow!(
            "organisation {} has base currency {}",
            org.id,
            org.base_currency
        )));
    };
    let currencies: Vec<String> = payee::Entity::find()
        .select_only()
        .column(payee::Column::Currency)
        .distinct()
        .filter(payee::Column::OrganizationId.eq(org.id))
        .order_by_asc(payee::Column::Currency)
        .into_tuple()
        .all(db)
        .await?;
    let currencies: Vec<Currency> = currencies
        .iter()
        .filter_map(|code| Currency::parse(code).ok())
        .collect();
    workers::payouts::fill_rates_from_table(
        db,
        org.id,
        ledger,
        &currencies,
        period_end,
        &mut rates,
    )
    .await?;
    for payout in currencies {
        if let Err(err) = workers::payouts::rate_for(&rates, ledger, payout) {
            errors.invalid("exchangeRates", err.to_string());
        }
    }
    let stored: BTreeMap<&str, String> = rates
        .iter()
        .map(|(c, r)| (c.as_str(), r.get().to_string()))
        .collect();
    serde_json::to_string(&stored).map_err(ApiError::internal)
}

#[derive(InputObject)]
pub struct PayoutRunInput {
    pub payout_run_id: ID,
}

#[derive(InputObject)]
pub struct PaymentInput {
    pub payee_id: ID,
    /// The bank transfer, PayPal or other reference of the payment.
    pub payment_reference: String,
}

#[derive(InputObject)]
pub struct MarkPayoutRunPaidInput {
    pub payout_run_id: ID,
    /// One per payee paid; payees can be recorded over several calls as payments clear.
    pub payments: Vec<PaymentInput>,
}

#[derive(SimpleObject, Default)]
pub struct PayoutRunPayload {
    pub payout_run: Option<PayoutRun>,
    pub user_errors: Vec<UserError>,
}

impl PayoutRunPayload {
    fn error(field: &str, code: UserErrorCode, message: impl Into<String>) -> Self {
        Self {
            payout_run: None,
            user_errors: vec![UserError::new(field, code, message)],
        }
    }
}

#[derive(Default)]
pub struct PayoutsMutation;

#[Object]
impl PayoutsMutation {
    /// Starts a payout run for the period ending `periodEnd`; the worker computes it. An
    /// organisation has at most one open run (draft, computing, ready or approved): the
    /// database enforces it, so of concurrent calls exactly one creates a run and the others
    /// answer a `userError`.
    async fn create_payout_run(
        &self,
        ctx: &Context<'_>,
        input: CreatePayoutRunInput,
    ) -> ApiResult<PayoutRunPayload> {
        let organization_id = decode_or_not_found(Kind::Organization, &input.organization_id)?;
        ctx.authorize(organization_id, Permission::PreparePayouts)?;
        let db = ctx.db();
        if input.period_end > Utc::now().date_naive() {
            return Ok(PayoutRunPayload::error(
                "periodEnd",
                UserErrorCode::Invalid,
                "a payout run can only pay a period that has ended",
            ));
        }
        let org = organization::Entity::find_by_id(organization_id)
            .one(db)
            .await?
            .ok_or(ApiError::NotFound("Organization"))?;
        let mut errors = UserErrors::default();
        let exchange_rates = run_rates_input(
            db,
            &org,
            input.exchange_rates.as_deref(),
            input.period_end,
            &mut errors,
        )
        .await?;
        if !errors.is_empty() {
            return Ok(PayoutRunPayload {
                payout_run: None,
                user_errors: errors.into_vec(),
            });
        }
        let txn = entity::db::begin_write(db).await?;
        let runs = payout_run::Entity::find()
            .filter(payout_run::Column::OrganizationId.eq(organization_id))
            .filter(
                payout_run::Column::Status.is_in(
                    RunStatus::OPEN
                        .iter()
                        .chain([&RunStatus::Paid])
                        .map(|s| s.as_str()),
                ),
            )
            .order_by_desc(payout_run::Column::PeriodEnd)
            .all(&txn)
            .await?;
        if let Some(open) = runs.iter().find(|r| r.status != RunStatus::Paid.as_str()) {
            return Ok(one_open_run(open));
        }
        if let Some(last) = runs.iter().find(|r| r.period_end > input.period_end) {
            return Ok(PayoutRunPayload::error(
                "periodEnd",
                UserErrorCode::Invalid,
                format!(
                    "a payout run has already paid the period ending {}; a new run must end on or after it",
                    last.period_end
                ),
            ));
        }
        let now = Utc::now();
        let inserted = payout_run::ActiveModel {
            organization_id: Set(organization_id),
            period_end: Set(input.period_end),
            status: Set(RunStatus::Draft.as_str().to_owned()),
            created_by_user_id: Set(ctx.principal().user_id()),
            approved_by_user_id: Set(None),
            approved_at: Set(None),
            paid_at: Set(None),
            failure_reason: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
            ledger_watermark: Set(None),
            exchange_rates: Set(exchange_rates),
            ..Default::default()
        }
        .insert(&txn)
        .await;
        let run = match inserted {
            Ok(run) => run,
            // `uq_payout_runs_open`: another call created the open run since the read above.
            Err(err) if matches!(err.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
                txn.rollback().await?;
                let open = payout_run::Entity::find()
                    .filter(payout_run::Column::OrganizationId.eq(organization_id))
                    .filter(
                        payout_run::Column::Status
                            .is_in(RunStatus::OPEN.iter().map(|s| s.as_str())),
                    )
                    .one(db)
                    .await?;
                return Ok(open.as_ref().map_or_else(
                    || {
                        PayoutRunPayload::error(
                            "organizationId",
                            UserErrorCode::NotAllowed,
                            "another payout run was started meanwhile",
                        )
                    },
                    one_open_run,
                ));
            }
            Err(err) => return Err(err.into()),
        };
        audit::record(
            &txn,
            ctx.principal(),
            organization_id,
            Change {
                action: "payout_run.create",
                entity_type: "payout_run",
                entity_id: run.id,
                before: None,
                after: audit::snapshot(&run),
            },
        )
        .await?;
        txn.commit().await?;
        ctx.state()
            .queue
            .push(workers::Job::RunPayout {
                payout_run_id: run.id,
            })
            .await
            .map_err(ApiError::internal)?;
        publish(ctx, &run).await;
        Ok(PayoutRunPayload {
            payout_run: guard::admit(ctx, run).await?.map(PayoutRun),
            user_errors: Vec::new(),
        })
    }

    /// Approves a computed run for payment. The change is conditional on the run still being
    /// ready, so a cancellation or another approval at the same moment makes this one answer
    /// a `userError` instead.
    async fn approve_payout_run(
        &self,
        ctx: &Context<'_>,
        input: PayoutRunInput,
    ) -> ApiResult<PayoutRunPayload> {
        let run = load_run(ctx, &input.payout_run_id, Permission::ApprovePayouts).await?;
        let status = run_status(&run)?;
        if !status.can_transition_to(RunStatus::Approved) {
            return Ok(PayoutRunPayload::error(
                "payoutRunId",
                UserErrorCode::NotAllowed,
                format!("only a ready run can be approved; this one is {status}"),
            ));
        }
        let txn = entity::db::begin_write(ctx.db()).await?;
        let now = Utc::now();
        let moved = move_run(
            &txn,
            run.id,
            status,
            RunStatus::Approved,
            vec![
                (
                    payout_run::Column::ApprovedByUserId,
                    ctx.principal().user_id().into(),
                ),
                (payout_run::Column::ApprovedAt, Some(now).into()),
            ],
            now,
        )
        .await?;
        let Some(after_run) = moved else {
            return changed_meanwhile(txn, &run).await;
        };
        let before = audit::snapshot(&run);
        let after = audit::snapshot(&after_run);
        transition_done(ctx, txn, after_run, "payout_run.approve", before, after).await
    }

    /// Records payments of an approved run, a reference per payee. Each payout is paid at most
    /// once: repeating a payment with the same reference changes nothing (and answers
    /// success), a different reference for a paid payout is a `userError`. When every payable
    /// payout is paid, the run is paid and its ledger entries are written (a run with nothing
    /// payable is paid with an empty list). Calls on one run are serialised by a conditional
    /// update of the run, so two calls at once cannot both record a payment for one payee.
    async fn mark_payout_run_paid(
        &self,
        ctx: &Context<'_>,
        input: MarkPayoutRunPaidInput,
    ) -> ApiResult<PayoutRunPayload> {
        let run = load_run(ctx, &input.payout_run_id, Permission::ApprovePayouts).await?;
        let mut errors = UserErrors::default();
        let mut payments: Vec<(i64, String)> = Vec::new();
        for (i, payment) in input.payments.iter().enumerate() {
            let reference = payment.payment_reference.trim();
            if reference.is_empty() {
                errors.push(UserError::new(
                    &format!("payments.{i}.paymentReference"),
                    UserErrorCode::Required,
                    "a payment needs its reference",
                ));
            }
            match ids::decode(Kind::Payee, &payment.payee_id) {
                Ok(payee_id) if payments.iter().any(|(p, _)| *p == payee_id) => errors.invalid(
                    &format!("payments.{i}.payeeId"),
                    "this payee is listed twice",
                ),
                Ok(payee_id) => payments.push((payee_id, reference.to_owned())),
                Err(message) => errors.push(UserError::new(
                    &format!("payments.{i}.payeeId"),
                    UserErrorCode::NotFound,
                    message,
                )),
            }
        }
        if !errors.is_empty() {
            return Ok(PayoutRunPayload {
                payout_run: None,
                user_errors: errors.into_vec(),
            });
        }
        let txn = entity::db::begin_write(ctx.db()).await?;
        let now = Utc::now();
        // Holds the run's row for the rest of the transaction: a concurrent payment, approval
        // or cancellation of this run waits, then sees what this one did.
        let locked = touch_run(&txn, run.id, RunStatus::Approved, now).await?;
        let run = payout_run::Entity::find_by_id(run.id)
            .one(&txn)
            .await?
            .ok_or(ApiError::NotFound("PayoutRun"))?;
        let status = run_status(&run)?;
        if !locked && status != RunStatus::Paid {
            txn.rollback().await?;
            return Ok(PayoutRunPayload::error(
                "payoutRunId",
                UserErrorCode::NotAllowed,
                format!("only an approved run can be paid; this one is {status}"),
            ));
        }
        let payouts = payout::Entity::find()
            .filter(payout::Column::PayoutRunId.eq(run.id))
            .order_by_asc(payout::Column::Id)
            .all(&txn)
            .await?;
        let mut statuses = Vec::with_capacity(payouts.len());
        for p in &payouts {
            statuses.push(payout_status(p)?);
        }
        if locked && statuses.contains(&rules::PayoutStatus::Cancelled) {
            // Cannot arise since approval and cancellation are conditional; refuse rather than
            // pay a run that is half cancelled.
            return Err(ApiError::internal(anyhow::anyhow!(
                "approved payout run {} has cancelled payouts",
                run.id
            )));
        }
        let any_pending = statuses.contains(&rules::PayoutStatus::Pending);
        if payments.is_empty() && any_pending {
            errors.push(UserError::new(
                "payments",
                UserErrorCode::Required,
                "list at least one payment",
            ));
        }
        let mut to_pay = Vec::new();
        for (i, (payee_id, reference)) in payments.iter().enumerate() {
            let field = format!("payments.{i}.payeeId");
            let mine: Vec<(&payout::Model, rules::PayoutStatus)> = payouts
                .iter()
                .zip(statuses.iter().copied())
                .filter(|(p, _)| p.payee_id == *payee_id)
                .collect();
            if mine
                .iter()
                .all(|(_, s)| payment_outcome(*s, None, reference) == PaymentOutcome::NotPayable)
            {
                errors.push(UserError::new(
                    &field,
                    UserErrorCode::NotFound,
                    "this payee has nothing payable in this run",
                ));
                continue;
            }
            for (p, s) in mine {
                match payment_outcome(s, p.payment_reference.as_deref(), reference) {
                    PaymentOutcome::Record => to_pay.push((p.clone(), reference.clone())),
                    PaymentOutcome::AlreadyRecorded | PaymentOutcome::NotPayable => {}
                    PaymentOutcome::PaidWithAnotherReference => errors.push(UserError::new(
                        &field,
                        UserErrorCode::NotAllowed,
                        format!(
                            "this payee was already paid in this run (reference {})",
                            p.payment_reference.as_deref().unwrap_or("")
                        ),
                    )),
                }
            }
        }
        if !to_pay.is_empty() && !locked {
            // The run is paid: only exact repeats are accepted.
            errors.push(UserError::new(
                "payoutRunId",
                UserErrorCode::NotAllowed,
                "this run is already paid",
            ));
        }
        if !errors.is_empty() {
            txn.rollback().await?;
            return Ok(PayoutRunPayload {
                payout_run: None,
                user_errors: errors.into_vec(),
            });
        }
        if !locked {
            // A paid run and nothing but repeats: nothing to store.
            txn.rollback().await?;
            return Ok(PayoutRunPayload {
                payout_run: guard::admit(ctx, run).await?.map(PayoutRun),
                user_errors: Vec::new(),
            });
        }
        for (p, reference) in &to_pay {
            if mark_payout_paid(&txn, p.id, reference, now).await? != 1 {
                return changed_meanwhile(txn, &run).await;
            }
        }
        let still_pending = self::any_pending(&txn, run.id).await?;
        let before = audit::snapshot(&run);
        let mut mails = Vec::new();
        let run = if still_pending {
            run
        } else {
            let Some((paid, queued)) = pay_run(&txn, run.id, now).await? else {
                return changed_meanwhile(txn, &run).await;
            };
            mails = queued;
            paid
        };
        let after = serde_json::to_value(serde_json::json!({
            "status": run.status,
            "payments": to_pay.iter().map(|(p, r)| serde_json::json!({
                "payout_id": p.id, "payee_id": p.payee_id, "reference": r,
                "amount_nanos": p.paid_nanos, "currency": p.currency,
                "payout_amount_nanos": p.payout_amount_nanos, "payout_currency": p.payout_currency,
            })).collect::<Vec<_>>(),
        }))
        .ok();
        let done = transition_done(ctx, txn, run, "payout_run.pay", before, after).await?;
        workers::mail::outbox::push(&ctx.state().queue, &mails).await;
        Ok(done)
    }

    /// Cancels a run before any of it is paid; it then takes up nothing. The change is
    /// conditional on the run still being in the status the caller saw, so an approval at the
    /// same moment makes one of the two answer a `userError`.
    async fn cancel_payout_run(
        &self,
        ctx: &Context<'_>,
        input: PayoutRunInput,
    ) -> ApiResult<PayoutRunPayload> {
        let run = load_run(ctx, &input.payout_run_id, Permission::PreparePayouts).await?;
        let status = run_status(&run)?;
        if !status.can_transition_to(RunStatus::Cancelled) {
            return Ok(PayoutRunPayload::error(
                "payoutRunId",
                UserErrorCode::NotAllowed,
                format!("a {status} run cannot be cancelled"),
            ));
        }
        let txn = entity::db::begin_write(ctx.db()).await?;
        let now = Utc::now();
        let Some(cancelled) =
            move_run(&txn, run.id, status, RunStatus::Cancelled, Vec::new(), now).await?
        else {
            return changed_meanwhile(txn, &run).await;
        };
        // Payments take the run's row first, so none is in flight now.
        let paid = payout::Entity::find()
            .filter(payout::Column::PayoutRunId.eq(run.id))
            .filter(payout::Column::Status.eq(rules::PayoutStatus::Paid.as_str()))
            .one(&txn)
            .await?;
        if paid.is_some() {
            txn.rollback().await?;
            return Ok(PayoutRunPayload::error(
                "payoutRunId",
                UserErrorCode::NotAllowed,
                "some payees of this run are already paid; record the remaining payments instead",
            ));
        }
        payout::Entity::update_many()
            .col_expr(
                payout::Column::Status,
                rules::PayoutStatus::Cancelled.as_str().into(),
            )
            .filter(payout::Column::PayoutRunId.eq(run.id))
            .filter(
                payout::Column::Status.is_in(
                    [
                        rules::PayoutStatus::Pending,
                        rules::PayoutStatus::CarriedForward,
                    ]
                    .map(|s| s.as_str()),
                ),
            )
            .exec(&txn)
            .await?;
        let before = audit::snapshot(&run);
        let after = audit::snapshot(&cancelled);
        transition_done(ctx, txn, cancelled, "payout_run.cancel", before, after).await
    }
}

/// The answer when the organisation already has `open` as its open run.
fn one_open_run(open: &payout_run::Model) -> PayoutRunPayload {
    PayoutRunPayload::error(
        "organizationId",
        UserErrorCode::NotAllowed,
        format!(
            "the payout run for the period ending {} is still {}: finish or cancel it first",
            open.period_end, open.status
        ),
    )
}

/// Moves run `id` from `from` to `to` (setting `also` too) with one conditional update,
/// `UPDATE … WHERE id = ? AND status = <from>`; returns the run as stored after it, or `None`
/// when the run was no longer `from` (another call moved it meanwhile).
async fn move_run(
    txn: &DatabaseTransaction,
    id: i64,
    from: RunStatus,
    to: RunStatus,
    also: Vec<(payout_run::Column, sea_orm::Value)>,
    now: DateTime<Utc>,
) -> ApiResult<Option<payout_run::Model>> {
    debug_assert!(from.can_transition_to(to), "{from} → {to}");
    let mut update = payout_run::Entity::update_many()
        .col_expr(payout_run::Column::Status, to.as_str().into())
        .col_expr(payout_run::Column::UpdatedAt, now.into());
    for (column, value) in also {
        update = update.col_expr(column, sea_orm::sea_query::Expr::val(value));
    }
    let changed = update
        .filter(payout_run::Column::Id.eq(id))
        .filter(payout_run::Column::Status.eq(from.as_str()))
        .exec(txn)
        .await?
        .rows_affected;
    if changed != 1 {
        return Ok(None);
    }
    Ok(payout_run::Entity::find_by_id(id).one(txn).await?)
}

/// Touches run `id` if it is `status` (a conditional update that holds its row until the
/// transaction ends); returns whether it was.
pub(crate) async fn touch_run(
    txn: &DatabaseTransaction,
    id: i64,
    status: RunStatus,
    now: DateTime<Utc>,
) -> ApiResult<bool> {
    let changed = payout_run::Entity::update_many()
        .col_expr(payout_run::Column::UpdatedAt, now.into())
        .filter(payout_run::Column::Id.eq(id))
        .filter(payout_run::Column::Status.eq(status.as_str()))
        .exec(txn)
        .await?
        .rows_affected;
    Ok(changed == 1)
}

/// The answer when a conditional update found the run changed: nothing is kept.
async fn changed_meanwhile(
    txn: DatabaseTransaction,
    seen: &payout_run::Model,
) -> ApiResult<PayoutRunPayload> {
    txn.rollback().await?;
    Ok(PayoutRunPayload::error(
        "payoutRunId",
        UserErrorCode::NotAllowed,
        format!(
            "the payout run changed meanwhile (it was {}); read it again and retry",
            seen.status
        ),
    ))
}

/// The end of every status change of a run: audited, committed, then announced (subscription
/// and webhooks) only once it is committed.
async fn transition_done(
    ctx: &Context<'_>,
    txn: DatabaseTransaction,
    run: payout_run::Model,
    action: &'static str,
    before: Option<serde_json::Value>,
    after: Option<serde_json::Value>,
) -> ApiResult<PayoutRunPayload> {
    audit::record(
        &txn,
        ctx.principal(),
        run.organization_id,
        Change {
            action,
            entity_type: "payout_run",
            entity_id: run.id,
            before,
            after,
        },
    )
    .await?;
    txn.commit().await?;
    publish(ctx, &run).await;
    Ok(PayoutRunPayload {
        payout_run: guard::admit(ctx, run).await?.map(PayoutRun),
        user_errors: Vec::new(),
    })
}

/// Writes the ledger entries of a run once every payment is made: per payout, what left the
/// payee's balance (paid, withheld, held in reserve) and what came back to it (reserves released). After
/// them a payee's ledger balance is exactly what the run carried forward. Only payouts whose
/// money moved are settled (`PayoutStatus::is_settled_in_ledger`: paid, or carried forward);
/// a pending or cancelled one writes nothing. Causes are unique per payout, so this can never
/// be written twice.
async fn settle_run(
    txn: &impl ConnectionTrait,
    run: &payout_run::Model,
    now: DateTime<Utc>,
) -> ApiResult<()> {
    let payouts = payout::Entity::find()
        .filter(payout::Column::PayoutRunId.eq(run.id))
        .order_by_asc(payout::Column::Id)
        .all(txn)
        .await?;
    let mut entries = Vec::new();
    for p in &payouts {
        if !payout_status(p)?.is_settled_in_ledger() {
            continue;
        }
        let parts = [
            ("payout", "paid", -p.paid_nanos),
            ("withholding", "withheld", -p.withheld_nanos),
            ("reserve", "reserve_held", -p.reserved_nanos),
            ("reserve", "reserve_released", p.reserve_released_nanos),
        ];
        for (account, what, amount) in parts {
            if amount == 0 {
                continue;
            }
            entries.push(ledger_entry::ActiveModel {
                organization_id: Set(run.organization_id),
                payee_id: Set(Some(p.payee_id)),
                account: Set(account.to_owned()),
                amount_nanos: Set(amount),
                currency: Set(p.currency.clone()),
                cause: Set(format!("payout:{}:{what}", p.id)),
                statement_id: Set(None),
                statement_line_id: Set(None),
                payout_run_id: Set(Some(run.id)),
                recoupable_id: Set(None),
                release_id: Set(None),
                track_id: Set(None),
                period: Set(Some(run.period_end)),
                created_at: Set(now),
                ..Default::default()
            });
        }
    }
    for batch in entries.chunks(1_000) {
        ledger_entry::Entity::insert_many(batch.to_vec())
            .exec_without_returning(txn)
            .await?;
    }
    Ok(())
}

pub(crate) async fn publish(ctx: &Context<'_>, run: &payout_run::Model) {
    // The change is committed; a failure to announce it is logged, not the caller's error.
    if let Err(err) = workers::payouts::announce(&ctx.state().job_context(), run).await {
        tracing::warn!(payout_run_id = run.id, error = %err, "could not announce a payout run update");
    }
}

// Payout rails (`rails.rs`, importPayoutConfirmation): the steps of paying, for a caller that
// holds the run's row (`touch_run`).

/// Marks payout `id` paid with `reference` if it is still pending (`UPDATE … WHERE status =
/// 'pending'`); returns the rows changed (0 or 1).
///
/// # Errors
/// Database failures.
pub(crate) async fn mark_payout_paid(
    txn: &DatabaseTransaction,
    id: i64,
    reference: &str,
    now: DateTime<Utc>,
) -> ApiResult<u64> {
    Ok(payout::Entity::update_many()
        .col_expr(
            payout::Column::Status,
            rules::PayoutStatus::Paid.as_str().into(),
        )
        .col_expr(payout::Column::PaymentReference, reference.into())
        .col_expr(payout::Column::PaidAt, now.into())
        .filter(payout::Column::Id.eq(id))
        .filter(payout::Column::Status.eq(rules::PayoutStatus::Pending.as_str()))
        .exec(txn)
        .await?
        .rows_affected)
}

/// Whether run `run_id` still has a pending payout.
///
/// # Errors
/// Database failures.
pub(crate) async fn any_pending(txn: &DatabaseTransaction, run_id: i64) -> ApiResult<bool> {
    Ok(payout::Entity::find()
        .filter(payout::Column::PayoutRunId.eq(run_id))
        .filter(payout::Column::Status.eq(rules::PayoutStatus::Pending.as_str()))
        .one(txn)
        .await?
        .is_some())
}

/// Moves an approved run to paid, writes its ledger entries and queues "your statement is ready"
/// in the outbox: the one way a run becomes paid, whether the last payment was recorded by
/// `markPayoutRunPaid` or by `importPayoutConfirmation`. Returns the run and the mails to push
/// once the transaction commits; `None` when the run was no longer approved.
///
/// # Errors
/// Database failures.
pub(crate) async fn pay_run(
    txn: &DatabaseTransaction,
    run_id: i64,
    now: DateTime<Utc>,
) -> ApiResult<Option<(payout_run::Model, Vec<i64>)>> {
    let Some(paid) = move_run(
        txn,
        run_id,
        RunStatus::Approved,
        RunStatus::Paid,
        vec![(payout_run::Column::PaidAt, Some(now).into())],
        now,
    )
    .await?
    else {
        return Ok(None);
    };
    settle_run(txn, &paid, now).await?;
    // "Your statement is ready" to each paid payee, written in this transaction (the outbox);
    // the caller pushes their delivery once it commits.
    let mails = workers::mail::outbox::statements_ready(txn, &paid, now).await?;
    Ok(Some((paid, mails)))
}

/// A payout run moved.
pub struct PayoutUpdate {
    run: payout_run::Model,
}

#[Object]
impl PayoutUpdate {
    async fn payout_run_id(&self) -> ID {
        ids::encode(Kind::PayoutRun, self.run.id)
    }
    async fn status(&self) -> ApiResult<PayoutRunStatus> {
        Ok(run_status(&self.run)?.into())
    }
    /// The run as it is now; its `payouts` and `totals` show only what the subscriber may see.
    async fn payout_run(&self, ctx: &Context<'_>) -> ApiResult<PayoutRun> {
        guard::admit(ctx, self.run.clone())
            .await?
            .map(PayoutRun)
            .ok_or(ApiError::NotFound("PayoutRun"))
    }
}

#[derive(Default)]
pub struct PayoutsSubscription;

#[Subscription]
impl PayoutsSubscription {
    /// Every change to the organisation's payout runs, from whichever process made it. An artist
    /// member hears only about runs with a payout to one of their own payees.
    ///
    /// The caller's credential is resolved again before every update is sent: once the API key
    /// is revoked or expired, the session ended or the membership removed (or no longer allowed
    /// to read money), the subscription sends that error and ends.
    async fn payout_updates(
        &self,
        ctx: &Context<'_>,
        organization_id: ID,
    ) -> Result<impl Stream<Item = Result<PayoutUpdate, ApiError>>, ApiError> {
        let org_id = decode_or_not_found(Kind::Organization, &organization_id)?;
        ctx.authorize(org_id, Permission::ReadMoney)?;
        organization::Entity::find_by_id(org_id)
            .one(ctx.db())
            .await?
            .ok_or(ApiError::NotFound("Organization"))?;
        let mut events = ctx.state().events.subscribe();
        let state = ctx.state().clone();
        let credential = ctx
            .data_opt::<super::accounts::RequestCredential>()
            .cloned()
            .unwrap_or(super::accounts::RequestCredential(None));
        Ok(async_stream::stream! {
            let db = state.db.clone();
            loop {
                let event = match tokio::time::timeout(Duration::from_secs(6 * 3600), events.recv()).await {
                    Ok(Ok(event)) => event,
                    Ok(Err(tokio::sync::broadcast::error::RecvError::Lagged(_))) => continue,
                    _ => return,
                };
                let workers::Event::PayoutRunUpdated { organization_id, payout_run_id, .. } = event else {
                    continue;
                };
                if organization_id != org_id {
                    continue;
                }
                // Access as it is now, not as it was when the subscription started.
                let access = match credential.recheck(&state, org_id, Permission::ReadMoney).await {
                    Ok(access) => access,
                    Err(err) => {
                        yield Err(err);
                        return;
                    }
                };
                // Events are notifications: the state shown is re-read from the database.
                let Ok(Some(run)) = payout_run::Entity::find_by_id(payout_run_id).one(&db).await else {
                    continue;
                };
                if let Some(artist_id) = access.artist_id
                    && !guard::run_pays_artist(&db, run.id, artist_id)
                        .await
                        .unwrap_or(false)
                {
                    continue;
                }
                yield Ok(PayoutUpdate { run });
            }
        })
    }
}
