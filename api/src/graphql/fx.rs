//! Exchange rates and remittances (issue 15, parts 1 and 2): the organisation's rate table,
//! rates set on a statement, the statement's figures per currency, and what reached the bank.
//! The rules are `domain::fx`'s; pricing the lines is `workers::fx` (run by the allocation
//! job, which every mutation here queues when a rate changes).

use std::collections::{BTreeMap, HashMap};

use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject, Upload};
use chrono::{DateTime, NaiveDate, Utc};
use domain::fx::{Rate, RateSource, Reported};
use domain::money::Currency;
use entity::{
    exchange_rate, fx_setting, organization, remittance, remittance_statement, statement,
    statement_exchange_rate,
};
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set, Statement as RawStatement,
};

use super::access::{ContextExt, Permission};
use super::accounts::decode_or_not_found;
use super::error::{ApiError, ApiResult, UserError, UserErrorCode, UserErrors};
use super::guard::{self, Seen};
use super::ids::{self, Kind};
use super::money::Money;
use super::statements::{Statement, load_statement};

/// Where a rate came from.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExchangeRateSource {
    /// A remittance's effective rate, chosen by the label.
    Effective,
    /// Declared by the statement file.
    File,
    /// The organisation's rate table.
    Table,
    /// Set on the statement by the label.
    Statement,
}

impl ExchangeRateSource {
    #[must_use]
    pub fn from_db(s: &str) -> Option<Self> {
        Some(match s.parse::<RateSource>().ok()? {
            RateSource::Effective => Self::Effective,
            RateSource::File => Self::File,
            RateSource::Table => Self::Table,
            RateSource::Statement => Self::Statement,
        })
    }
}

/// Whether a remittance has been recorded for a statement.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reconciliation {
    /// A remittance pays it.
    Reconciled,
    /// No remittance yet: the money is reported, not received.
    Unreconciled,
}

/// A row of the organisation's rate table.
pub struct ExchangeRate(pub Seen<exchange_rate::Model>);

#[Object]
impl ExchangeRate {
    async fn day(&self) -> NaiveDate {
        self.0.day
    }
    async fn from(&self) -> &str {
        &self.0.from_currency
    }
    async fn to(&self) -> &str {
        &self.0.to_currency
    }
    /// `1 from = rate to`, an exact decimal.
    async fn rate(&self) -> &str {
        &self.0.rate
    }
    /// 1 for the first; a higher version of the same day and pair supersedes the others.
    async fn version(&self) -> i64 {
        self.0.version
    }
    /// `import` or `mutation`.
    async fn origin(&self) -> &str {
        &self.0.source
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// A statement's lines in one currency: what they reported, the rate, what they came to.
#[derive(SimpleObject)]
pub struct StatementCurrency {
    pub currency: String,
    /// The lines' sum as reported, in `currency`.
    pub reported: Money,
    /// The rate the lines were converted at (null while they wait, and in the base currency).
    pub rate: Option<String>,
    pub rate_source: Option<ExchangeRateSource>,
    /// The lines' base amounts summed (each line converted and rounded once).
    pub converted: Money,
    pub line_count: i64,
    /// Lines of this currency waiting for a rate.
    pub awaiting_rate: i64,
}

#[derive(Debug, sea_orm::FromQueryResult)]
struct CurrencyRow {
    currency: String,
    base_currency: String,
    fx_rate: Option<String>,
    fx_source: Option<String>,
    amount: i64,
    base_amount: i64,
    lines: i64,
}

async fn currency_rows(
    db: &impl ConnectionTrait,
    statement_ids: &[i64],
) -> Result<Vec<CurrencyRow>, sea_orm::DbErr> {
    if statement_ids.is_empty() {
        return Ok(Vec::new());
    }
    let list = statement_ids
        .iter()
        .map(i64::to_string)
        .collect::<Vec<_>>()
        .join(",");
    let sql = format!(
        "SELECT currency, base_currency, fx_rate, fx_source, \
         CAST(COALESCE(SUM(amount_nanos), 0) AS BIGINT) AS amount, \
         CAST(COALESCE(SUM(base_amount_nanos), 0) AS BIGINT) AS base_amount, \
         CAST(COUNT(*) AS BIGINT) AS lines \
         FROM statement_lines WHERE statement_id IN ({list}) \
         GROUP BY currency, base_currency, fx_rate, fx_source ORDER BY currency"
    );
    let stmt = RawStatement::from_string(db.get_database_backend(), sql);
    <CurrencyRow as sea_orm::FromQueryResult>::find_by_statement(stmt)
        .all(db)
        .await
}

/// `Statement.currencies`.
pub async fn statement_currencies(
    ctx: &Context<'_>,
    st: &statement::Model,
) -> ApiResult<Vec<StatementCurrency>> {
    read_money(ctx, st.organization_id)?;
    Ok(currency_rows(ctx.db(), &[st.id])
        .await?
        .into_iter()
        .map(|r| {
            let waiting = r.currency != r.base_currency && r.fx_rate.is_none();
            StatementCurrency {
                reported: Money::from_nanos(r.amount, &r.currency),
                converted: Money::from_nanos(r.base_amount, &r.base_currency),
                rate_source: r.fx_source.as_deref().and_then(ExchangeRateSource::from_db),
                rate: r.fx_rate,
                line_count: r.lines,
                awaiting_rate: if waiting { r.lines } else { 0 },
                currency: r.currency,
            }
        })
        .collect())
}

/// `Statement.linesAwaitingRate`.
pub async fn lines_awaiting_rate(ctx: &Context<'_>, st: &statement::Model) -> ApiResult<i64> {
    Ok(statement_currencies(ctx, st)
        .await?
        .iter()
        .map(|c| c.awaiting_rate)
        .sum())
}

/// `Statement.reconciliation`.
pub async fn reconciliation(ctx: &Context<'_>, st: &statement::Model) -> ApiResult<Reconciliation> {
    read_money(ctx, st.organization_id)?;
    let linked = remittance_statement::Entity::find()
        .filter(remittance_statement::Column::StatementId.eq(st.id))
        .one(ctx.db())
        .await?;
    Ok(if linked.is_some() {
        Reconciliation::Reconciled
    } else {
        Reconciliation::Unreconciled
    })
}

/// `Statement.remittances`.
pub async fn statement_remittances(
    ctx: &Context<'_>,
    st: &statement::Model,
) -> ApiResult<Vec<Remittance>> {
    read_money(ctx, st.organization_id)?;
    let ids: Vec<i64> = remittance_statement::Entity::find()
        .filter(remittance_statement::Column::StatementId.eq(st.id))
        .all(ctx.db())
        .await?
        .into_iter()
        .map(|l| l.remittance_id)
        .collect();
    let rows = remittance::Entity::find()
        .filter(remittance::Column::Id.is_in(ids))
        .order_by_asc(remittance::Column::Id)
        .all(ctx.db())
        .await?;
    Ok(guard::admit_all(ctx, rows)
        .await?
        .into_iter()
        .map(Remittance)
        .collect())
}

/// Rates and remittances go with the statements: `ReadStatements`, and never an artist
/// member's.
fn read_money(ctx: &Context<'_>, organization_id: i64) -> ApiResult<()> {
    let access = ctx.authorize(organization_id, Permission::ReadStatements)?;
    if access.artist_id.is_some() {
        return Err(ApiError::Forbidden(
            "exchange rates and remittances are the label's; artists see their own earnings",
        ));
    }
    Ok(())
}

/// `Organization.exchangeRates`: the newest rows first (every version is kept).
pub async fn organization_rates(
    ctx: &Context<'_>,
    organization_id: i64,
    first: Option<i32>,
) -> ApiResult<Vec<ExchangeRate>> {
    read_money(ctx, organization_id)?;
    let limit = u64::try_from(first.unwrap_or(100).clamp(1, 1000)).unwrap_or(100);
    let rows = exchange_rate::Entity::find()
        .filter(exchange_rate::Column::OrganizationId.eq(organization_id))
        .order_by_desc(exchange_rate::Column::Day)
        .order_by_asc(exchange_rate::Column::FromCurrency)
        .order_by_asc(exchange_rate::Column::ToCurrency)
        .order_by_desc(exchange_rate::Column::Version)
        .limit(limit)
        .all(ctx.db())
        .await?;
    Ok(guard::admit_all(ctx, rows)
        .await?
        .into_iter()
        .map(ExchangeRate)
        .collect())
}

/// `Organization.remittances`.
pub async fn organization_remittances(
    ctx: &Context<'_>,
    organization_id: i64,
) -> ApiResult<Vec<Remittance>> {
    read_money(ctx, organization_id)?;
    let rows = remittance::Entity::find()
        .filter(remittance::Column::OrganizationId.eq(organization_id))
        .order_by_desc(remittance::Column::ReceivedOn)
        .order_by_desc(remittance::Column::Id)
        .limit(500)
        .all(ctx.db())
        .await?;
    Ok(guard::admit_all(ctx, rows)
        .await?
        .into_iter()
        .map(Remittance)
        .collect())
}

/// `Organization.payoutsReconciledOnly`.
pub async fn reconciled_only(
    db: &impl ConnectionTrait,
    organization_id: i64,
) -> Result<bool, sea_orm::DbErr> {
    workers::payouts::reconciled_only(db, organization_id).await
}

/// Money that reached the bank, and how it compares with its statements.
pub struct Remittance(pub Seen<remittance::Model>);

struct Measured {
    reported: Vec<Reported>,
    base: Currency,
    currency: Currency,
    day_rates: BTreeMap<Currency, Rate>,
}

impl Remittance {
    async fn statement_ids(&self, db: &impl ConnectionTrait) -> Result<Vec<i64>, sea_orm::DbErr> {
        Ok(remittance_statement::Entity::find()
            .filter(remittance_statement::Column::RemittanceId.eq(self.0.id))
            .order_by_asc(remittance_statement::Column::StatementId)
            .all(db)
            .await?
            .into_iter()
            .map(|l| l.statement_id)
            .collect())
    }

    async fn measure(&self, ctx: &Context<'_>) -> ApiResult<Measured> {
        measure(ctx.db(), &self.0, &self.statement_ids(ctx.db()).await?).await
    }
}

async fn measure(
    db: &impl ConnectionTrait,
    rem: &remittance::Model,
    statement_ids: &[i64],
) -> ApiResult<Measured> {
    let org = organization::Entity::find_by_id(rem.organization_id)
        .one(db)
        .await?
        .ok_or(ApiError::NotFound("Organization"))?;
    let base = Currency::parse(&org.base_currency).map_err(ApiError::internal)?;
    let currency = Currency::parse(&rem.currency).map_err(ApiError::internal)?;
    let mut per: BTreeMap<Currency, Reported> = BTreeMap::new();
    for row in currency_rows(db, statement_ids).await? {
        let Ok(c) = Currency::parse(&row.currency) else {
            continue;
        };
        let entry = per.entry(c).or_insert(Reported {
            currency: c,
            amount_nanos: 0,
            booked_base_nanos: 0,
        });
        entry.amount_nanos = entry.amount_nanos.saturating_add(row.amount);
        entry.booked_base_nanos = entry.booked_base_nanos.saturating_add(row.base_amount);
    }
    let codes: Vec<String> = per.keys().map(ToString::to_string).collect();
    let mut wanted: Vec<&str> = codes.iter().map(String::as_str).collect();
    wanted.push(&rem.currency);
    let rows = workers::fx::table_rows(
        db,
        rem.organization_id,
        &wanted,
        rem.received_on,
        rem.received_on,
    )
    .await?;
    let day_rates = per
        .keys()
        .filter_map(|c| {
            domain::fx::pick_table_rate(&rows, *c, currency, rem.received_on, rem.received_on)
                .map(|(r, _)| (*c, r))
        })
        .collect();
    Ok(Measured {
        reported: per.into_values().collect(),
        base,
        currency,
        day_rates,
    })
}

/// The split of a remittance's difference (see `domain::fx`).
#[derive(SimpleObject)]
pub struct RemittanceReconciliation {
    /// The statements' lines valued in the remittance currency at the table's rates of the
    /// day received (null without a rate for one of their currencies).
    pub reported: Option<Money>,
    /// What the ledger holds for those lines, in the remittance currency.
    pub booked: Money,
    /// `received − booked`.
    pub difference: Money,
    /// `reported − booked`: the rate moving between booking and receipt.
    pub fx_difference: Option<Money>,
    /// `received − reported`: fees and withholding (negative when money was kept back).
    pub fees_and_withholding: Option<Money>,
    /// Why the remittance cannot be compared with its statements, if it cannot.
    pub problem: Option<String>,
}

#[Object]
impl Remittance {
    pub async fn id(&self) -> ID {
        ids::encode(Kind::Remittance, self.0.id)
    }
    /// What reached the bank.
    async fn amount(&self) -> Money {
        Money::from_nanos(self.0.amount_nanos, &self.0.currency)
    }
    async fn received_on(&self) -> NaiveDate {
        self.0.received_on
    }
    async fn from_whom(&self) -> &str {
        &self.0.from_whom
    }
    async fn reference(&self) -> &str {
        &self.0.reference
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// The statements it pays.
    async fn statements(&self, ctx: &Context<'_>) -> ApiResult<Vec<Statement>> {
        let ids = self.statement_ids(ctx.db()).await?;
        let rows = statement::Entity::find()
            .filter(statement::Column::Id.is_in(ids))
            .order_by_asc(statement::Column::Id)
            .all(ctx.db())
            .await?;
        Ok(guard::admit_all(ctx, rows)
            .await?
            .into_iter()
            .map(Statement)
            .collect())
    }
    /// Reported against received, to the nano-unit.
    async fn reconciliation(&self, ctx: &Context<'_>) -> ApiResult<RemittanceReconciliation> {
        let m = self.measure(ctx).await?;
        let cur = m.currency.to_string();
        let money = |n: i64| Money::from_nanos(n, &cur);
        match domain::fx::reconcile(self.0.amount_nanos, m.currency, m.base, &m.reported, |c| {
            m.day_rates.get(&c).copied()
        }) {
            Ok(r) => Ok(RemittanceReconciliation {
                reported: r.reported_nanos.map(money),
                booked: money(r.booked_nanos),
                difference: money(r.difference_nanos),
                fx_difference: r.fx_difference_nanos.map(money),
                fees_and_withholding: r.fees_and_withholding_nanos.map(money),
                problem: None,
            }),
            Err(e) => Ok(RemittanceReconciliation {
                reported: None,
                booked: money(0),
                difference: money(0),
                fx_difference: None,
                fees_and_withholding: None,
                problem: Some(e.to_string()),
            }),
        }
    }
    /// The rate the bank gave for the statements' one foreign currency (null when there is
    /// none, or several, or the remittance is not in the base currency).
    async fn effective_rate(&self, ctx: &Context<'_>) -> ApiResult<Option<String>> {
        let m = self.measure(ctx).await?;
        Ok(
            domain::fx::effective_rate(self.0.amount_nanos, m.currency, m.base, &m.reported)
                .ok()
                .map(|(_, r)| r.to_string()),
        )
    }
}

// ---------------------------------------------------------------------------------------------
// Mutations.

#[derive(InputObject)]
pub struct SetExchangeRateInput {
    pub organization_id: ID,
    pub day: NaiveDate,
    pub from: String,
    pub to: String,
    /// `1 from = rate to`, a decimal string (at most 12 decimal places).
    pub rate: String,
}

#[derive(SimpleObject, Default)]
pub struct SetExchangeRatePayload {
    pub exchange_rate: Option<ExchangeRate>,
    pub user_errors: Vec<UserError>,
}

#[derive(InputObject)]
pub struct ImportExchangeRatesInput {
    pub organization_id: ID,
    /// The ECB's `eurofxref-hist.csv` layout or `date,from,to,rate`, as a multipart upload.
    pub file: Upload,
}

/// A row of a rate file that was not imported.
#[derive(SimpleObject)]
pub struct BadRateRow {
    pub line: i64,
    pub message: String,
}

#[derive(SimpleObject, Default)]
pub struct ImportExchangeRatesPayload {
    /// `ECB` or `simple`.
    pub layout: Option<String>,
    /// Rows stored (new, or a new version of a changed rate).
    pub imported: i64,
    /// Rows equal to the current version, not stored again.
    pub unchanged: i64,
    pub bad_rows: Vec<BadRateRow>,
    pub user_errors: Vec<UserError>,
}

#[derive(InputObject)]
pub struct SetStatementExchangeRateInput {
    pub statement_id: ID,
    pub currency: String,
    /// `1 currency = rate base currency`, a decimal string.
    pub rate: String,
}

#[derive(SimpleObject, Default)]
pub struct SetStatementExchangeRatePayload {
    pub statement: Option<Statement>,
    pub user_errors: Vec<UserError>,
}

#[derive(InputObject)]
pub struct RecordRemittanceInput {
    pub organization_id: ID,
    /// What reached the bank, a decimal string.
    pub amount: String,
    pub currency: String,
    pub received_on: NaiveDate,
    pub from_whom: String,
    pub reference: String,
    pub statement_ids: Vec<ID>,
}

#[derive(SimpleObject, Default)]
pub struct RemittancePayload {
    pub remittance: Option<Remittance>,
    pub user_errors: Vec<UserError>,
}

#[derive(InputObject)]
pub struct ConvertAtEffectiveRateInput {
    pub remittance_id: ID,
}

#[derive(InputObject)]
pub struct SetPayoutsReconciledOnlyInput {
    pub organization_id: ID,
    pub reconciled_only: bool,
}

#[derive(SimpleObject, Default)]
pub struct SetPayoutsReconciledOnlyPayload {
    pub reconciled_only: bool,
    pub user_errors: Vec<UserError>,
}

/// Queues the allocation (which prices first) of each statement.
async fn allocate(ctx: &Context<'_>, statement_ids: &[i64]) -> ApiResult<()> {
    for id in statement_ids {
        ctx.state()
            .queue
            .push(workers::Job::AllocateStatement { statement_id: *id })
            .await
            .map_err(ApiError::internal)?;
    }
    Ok(())
}

/// Stores the rows that differ from the current version of their (from, to, day), each as a
/// new version; returns (stored, unchanged).
async fn store_rates(
    db: &sea_orm::DatabaseConnection,
    organization_id: i64,
    rows: &[domain::fx::TableRate],
    origin: &str,
    user_id: Option<i64>,
) -> ApiResult<(Vec<exchange_rate::Model>, i64)> {
    let (Some(first), Some(last)) = (
        rows.iter().map(|r| r.day).min(),
        rows.iter().map(|r| r.day).max(),
    ) else {
        return Ok((Vec::new(), 0));
    };
    let txn = entity::db::begin_write(db).await?;
    let existing = exchange_rate::Entity::find()
        .filter(exchange_rate::Column::OrganizationId.eq(organization_id))
        .filter(exchange_rate::Column::Day.between(first, last))
        .order_by_asc(exchange_rate::Column::Version)
        .all(&txn)
        .await?;
    let mut current: HashMap<(NaiveDate, String, String), (i64, String)> = HashMap::new();
    for row in existing {
        current.insert(
            (row.day, row.from_currency, row.to_currency),
            (row.version, row.rate),
        );
    }
    let now = Utc::now();
    let mut stored = Vec::new();
    let mut unchanged = 0;
    let mut batch = Vec::new();
    for r in rows {
        let key = (r.day, r.from.to_string(), r.to.to_string());
        let rate = r.rate.to_string();
        let version = match current.get(&key) {
            Some((_, old)) if *old == rate => {
                unchanged += 1;
                continue;
            }
            Some((v, _)) => v + 1,
            None => 1,
        };
        current.insert(key.clone(), (version, rate.clone()));
        batch.push(exchange_rate::ActiveModel {
            organization_id: Set(organization_id),
            day: Set(r.day),
            from_currency: Set(key.1),
            to_currency: Set(key.2),
            rate: Set(rate),
            version: Set(version),
            source: Set(origin.to_owned()),
            created_by_user_id: Set(user_id),
            created_at: Set(now),
            ..Default::default()
        });
        if batch.len() == 500 {
            exchange_rate::Entity::insert_many(std::mem::take(&mut batch))
                .exec_without_returning(&txn)
                .await?;
        }
    }
    if rows.len() == 1 {
        if let Some(one) = batch.pop() {
            stored.push(one.insert(&txn).await?);
        }
    } else if !batch.is_empty() {
        exchange_rate::Entity::insert_many(batch)
            .exec_without_returning(&txn)
            .await?;
    }
    txn.commit().await?;
    Ok((stored, unchanged))
}

async fn after_table_change(ctx: &Context<'_>, organization_id: i64) -> ApiResult<()> {
    let org = organization::Entity::find_by_id(organization_id)
        .one(ctx.db())
        .await?
        .ok_or(ApiError::NotFound("Organization"))?;
    let ids =
        workers::fx::statements_for_table_change(ctx.db(), organization_id, &org.base_currency)
            .await?;
    allocate(ctx, &ids).await
}

/// The next version of a statement's rate for (currency, source), unless it is already
/// `rate`: then `None` (a double click writes nothing).
async fn next_statement_rate(
    db: &impl ConnectionTrait,
    statement_id: i64,
    currency: &str,
    source: RateSource,
    rate: Option<&str>,
) -> Result<Option<i64>, sea_orm::DbErr> {
    let newest = statement_exchange_rate::Entity::find()
        .filter(statement_exchange_rate::Column::StatementId.eq(statement_id))
        .filter(statement_exchange_rate::Column::Currency.eq(currency))
        .filter(statement_exchange_rate::Column::Source.eq(source.as_str()))
        .order_by_desc(statement_exchange_rate::Column::Version)
        .one(db)
        .await?;
    Ok(match newest {
        Some(row) if row.rate.as_deref() == rate => None,
        Some(row) => Some(row.version + 1),
        None if rate.is_none() => None,
        None => Some(1),
    })
}

async fn write_statement_rate(
    db: &impl ConnectionTrait,
    st: &statement::Model,
    currency: &str,
    source: RateSource,
    rate: Option<String>,
    remittance_id: Option<i64>,
    user_id: Option<i64>,
) -> Result<bool, sea_orm::DbErr> {
    let Some(version) = next_statement_rate(db, st.id, currency, source, rate.as_deref()).await?
    else {
        return Ok(false);
    };
    statement_exchange_rate::ActiveModel {
        organization_id: Set(st.organization_id),
        statement_id: Set(st.id),
        currency: Set(currency.to_owned()),
        rate: Set(rate),
        source: Set(source.as_str().to_owned()),
        remittance_id: Set(remittance_id),
        version: Set(version),
        created_by_user_id: Set(user_id),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(true)
}

async fn load_remittance(
    ctx: &Context<'_>,
    id: &ID,
    permission: Permission,
) -> ApiResult<Seen<remittance::Model>> {
    guard::fetch(ctx, Kind::Remittance, id, permission).await
}

#[derive(Default)]
pub struct FxMutation;

#[Object]
impl FxMutation {
    /// Adds a rate to the organisation's table (`1 from = rate to` on `day`). A rate for a day
    /// and pair that already has one is stored as a new version; nothing is edited. Statements
    /// whose lines wait for a rate, or took one from the table, are priced and allocated
    /// again.
    async fn set_exchange_rate(
        &self,
        ctx: &Context<'_>,
        input: SetExchangeRateInput,
    ) -> ApiResult<SetExchangeRatePayload> {
        let organization_id = decode_or_not_found(Kind::Organization, &input.organization_id)?;
        ctx.authorize(organization_id, Permission::WriteStatements)?;
        let mut errors = UserErrors::default();
        let from = errors.check("from", Currency::parse(&input.from));
        let to = errors.check("to", Currency::parse(&input.to));
        let rate = errors.check("rate", Rate::parse(&input.rate));
        let (Some(from), Some(to), Some(rate)) = (from, to, rate) else {
            return Ok(SetExchangeRatePayload {
                exchange_rate: None,
                user_errors: errors.into_vec(),
            });
        };
        let row = match domain::fx::table_row(input.day, from, to, rate) {
            Ok(row) => row,
            Err(e) => {
                return Ok(SetExchangeRatePayload {
                    exchange_rate: None,
                    user_errors: vec![UserError::invalid("to", e.to_string())],
                });
            }
        };
        let (stored, _) = store_rates(
            ctx.db(),
            organization_id,
            &[row],
            "mutation",
            ctx.principal().user_id(),
        )
        .await?;
        let model = match stored.into_iter().next() {
            Some(m) => m,
            None => exchange_rate::Entity::find()
                .filter(exchange_rate::Column::OrganizationId.eq(organization_id))
                .filter(exchange_rate::Column::Day.eq(input.day))
                .filter(exchange_rate::Column::FromCurrency.eq(from.as_str()))
                .filter(exchange_rate::Column::ToCurrency.eq(to.as_str()))
                .order_by_desc(exchange_rate::Column::Version)
                .one(ctx.db())
                .await?
                .ok_or(ApiError::NotFound("ExchangeRate"))?,
        };
        after_table_change(ctx, organization_id).await?;
        Ok(SetExchangeRatePayload {
            exchange_rate: guard::admit(ctx, model).await?.map(ExchangeRate),
            user_errors: Vec::new(),
        })
    }

    /// Imports a rate file: the ECB's `eurofxref-hist.csv` (EUR → X per day; other pairs are
    /// crossed through EUR when used) or `date,from,to,rate`. Bad rows are reported with their
    /// line number; the good ones are kept.
    async fn import_exchange_rates(
        &self,
        ctx: &Context<'_>,
        input: ImportExchangeRatesInput,
    ) -> ApiResult<ImportExchangeRatesPayload> {
        let organization_id = decode_or_not_found(Kind::Organization, &input.organization_id)?;
        ctx.authorize(organization_id, Permission::WriteStatements)?;
        let limit = ctx.state().config.max_upload_bytes;
        let text = match input.file.value(ctx) {
            Ok(mut upload) => {
                use std::io::Read;
                let mut bytes = Vec::new();
                let read = (&mut upload.content)
                    .take(limit.saturating_add(1))
                    .read_to_end(&mut bytes);
                if read.is_err() || bytes.len() as u64 > limit {
                    return Ok(ImportExchangeRatesPayload {
                        user_errors: vec![UserError::invalid(
                            "file",
                            "the file cannot be read or is too large",
                        )],
                        ..Default::default()
                    });
                }
                String::from_utf8_lossy(&bytes).into_owned()
            }
            Err(_) => {
                return Ok(ImportExchangeRatesPayload {
                    user_errors: vec![UserError::new(
                        "file",
                        UserErrorCode::Required,
                        "attach the rate file as a multipart upload",
                    )],
                    ..Default::default()
                });
            }
        };
        let parsed = match domain::fx::parse_rate_csv(&text) {
            Ok(p) => p,
            Err(e) => {
                return Ok(ImportExchangeRatesPayload {
                    user_errors: vec![UserError::invalid("file", e)],
                    ..Default::default()
                });
            }
        };
        let (_, unchanged) = store_rates(
            ctx.db(),
            organization_id,
            &parsed.rows,
            "import",
            ctx.principal().user_id(),
        )
        .await?;
        after_table_change(ctx, organization_id).await?;
        Ok(ImportExchangeRatesPayload {
            layout: Some(parsed.layout.to_owned()),
            imported: parsed.rows.len() as i64 - unchanged,
            unchanged,
            bad_rows: parsed
                .bad
                .into_iter()
                .map(|b| BadRateRow {
                    line: i64::try_from(b.line).unwrap_or(i64::MAX),
                    message: b.reason,
                })
                .collect(),
            user_errors: Vec::new(),
        })
    }

    /// Sets the rate of a statement's lines in `currency` (used when neither the file nor the
    /// rate table has one). A changed rate reallocates the statement by reversal entries.
    async fn set_statement_exchange_rate(
        &self,
        ctx: &Context<'_>,
        input: SetStatementExchangeRateInput,
    ) -> ApiResult<SetStatementExchangeRatePayload> {
        let st = load_statement(ctx, &input.statement_id, Permission::WriteStatements).await?;
        let org = organization::Entity::find_by_id(st.organization_id)
            .one(ctx.db())
            .await?
            .ok_or(ApiError::NotFound("Organization"))?;
        let mut errors = UserErrors::default();
        let currency = errors.check("currency", Currency::parse(&input.currency));
        let rate = errors.check("rate", Rate::parse(&input.rate));
        if let Some(c) = currency
            && c.as_str() == org.base_currency
        {
            errors.invalid(
                "currency",
                format!("{c} is the base currency: its lines need no rate"),
            );
        }
        let (Some(currency), Some(rate), true) = (currency, rate, errors.is_empty()) else {
            return Ok(SetStatementExchangeRatePayload {
                statement: None,
                user_errors: errors.into_vec(),
            });
        };
        let txn = entity::db::begin_write(ctx.db()).await?;
        write_statement_rate(
            &txn,
            &st,
            currency.as_str(),
            RateSource::Statement,
            Some(rate.to_string()),
            None,
            ctx.principal().user_id(),
        )
        .await?;
        txn.commit().await?;
        allocate(ctx, &[st.id]).await?;
        Ok(SetStatementExchangeRatePayload {
            statement: Some(Statement(st)),
            user_errors: Vec::new(),
        })
    }

    /// Records money that reached the bank and the statements it pays.
    async fn record_remittance(
        &self,
        ctx: &Context<'_>,
        input: RecordRemittanceInput,
    ) -> ApiResult<RemittancePayload> {
        let organization_id = decode_or_not_found(Kind::Organization, &input.organization_id)?;
        ctx.authorize(organization_id, Permission::WriteStatements)?;
        let mut errors = UserErrors::default();
        let amount = errors.check("amount", domain::money::parse_decimal_str(&input.amount));
        let currency = errors.check("currency", Currency::parse(&input.currency));
        if input.statement_ids.is_empty() {
            errors.push(UserError::new(
                "statementIds",
                UserErrorCode::Required,
                "link at least one statement",
            ));
        }
        let mut statement_ids = Vec::new();
        for (i, id) in input.statement_ids.iter().enumerate() {
            let found = match ids::decode(Kind::Statement, id) {
                Ok(row) => statement::Entity::find_by_id(row)
                    .one(ctx.db())
                    .await?
                    .filter(|s| s.organization_id == organization_id),
                Err(_) => None,
            };
            match found {
                Some(s) if !statement_ids.contains(&s.id) => statement_ids.push(s.id),
                Some(_) => {}
                None => errors.push(UserError::new(
                    &format!("statementIds.{i}"),
                    UserErrorCode::NotFound,
                    "no such statement",
                )),
            }
        }
        let (Some(amount), Some(currency), true) = (amount, currency, errors.is_empty()) else {
            return Ok(RemittancePayload {
                remittance: None,
                user_errors: errors.into_vec(),
            });
        };
        // A double click (or a retry) records the same remittance once: the key is unique per
        // organisation, the insert does nothing on a conflict, and both callers read the one row.
        let key = domain::fx::remittance_key(
            input.reference.trim(),
            amount,
            currency,
            input.received_on,
            &statement_ids,
        );
        let txn = entity::db::begin_write(ctx.db()).await?;
        let inserted = remittance::Entity::insert(remittance::ActiveModel {
            organization_id: Set(organization_id),
            amount_nanos: Set(amount),
            currency: Set(currency.to_string()),
            received_on: Set(input.received_on),
            from_whom: Set(input.from_whom.trim().to_owned()),
            reference: Set(input.reference.trim().to_owned()),
            created_by_user_id: Set(ctx.principal().user_id()),
            created_at: Set(Utc::now()),
            dedup_key: Set(Some(key.clone())),
            ..Default::default()
        })
        .on_conflict(
            OnConflict::columns([
                remittance::Column::OrganizationId,
                remittance::Column::DedupKey,
            ])
            .do_nothing()
            .to_owned(),
        )
        .exec_without_returning(&txn)
        .await?;
        let rem = remittance::Entity::find()
            .filter(remittance::Column::OrganizationId.eq(organization_id))
            .filter(remittance::Column::DedupKey.eq(key))
            .one(&txn)
            .await?
            .ok_or_else(|| {
                ApiError::internal(anyhow::anyhow!("the remittance just recorded is gone"))
            })?;
        if inserted > 0 {
            for statement_id in &statement_ids {
                remittance_statement::ActiveModel {
                    organization_id: Set(organization_id),
                    remittance_id: Set(rem.id),
                    statement_id: Set(*statement_id),
                    ..Default::default()
                }
                .insert(&txn)
                .await?;
            }
        }
        txn.commit().await?;
        Ok(RemittancePayload {
            remittance: guard::admit(ctx, rem).await?.map(Remittance),
            user_errors: Vec::new(),
        })
    }

    /// Converts the remittance's statements at the rate the bank effectively gave (source
    /// `EFFECTIVE`, above every other): they are reallocated by reversal entries.
    async fn convert_at_effective_rate(
        &self,
        ctx: &Context<'_>,
        input: ConvertAtEffectiveRateInput,
    ) -> ApiResult<RemittancePayload> {
        let rem = load_remittance(ctx, &input.remittance_id, Permission::WriteStatements).await?;
        let statement_ids = Remittance(rem.clone()).statement_ids(ctx.db()).await?;
        let m = measure(ctx.db(), &rem, &statement_ids).await?;
        let (currency, rate) =
            match domain::fx::effective_rate(rem.amount_nanos, m.currency, m.base, &m.reported) {
                Ok(found) => found,
                Err(e) => {
                    return Ok(RemittancePayload {
                        remittance: None,
                        user_errors: vec![UserError::new(
                            "remittanceId",
                            UserErrorCode::NotAllowed,
                            e.to_string(),
                        )],
                    });
                }
            };
        self.set_effective(
            ctx,
            rem,
            &statement_ids,
            currency.as_str(),
            Some(rate.to_string()),
        )
        .await
    }

    /// Takes back `convertAtEffectiveRate`: the statements return to the rate they had before
    /// (file, table or statement), again by reversal entries.
    async fn revert_effective_rate(
        &self,
        ctx: &Context<'_>,
        input: ConvertAtEffectiveRateInput,
    ) -> ApiResult<RemittancePayload> {
        let rem = load_remittance(ctx, &input.remittance_id, Permission::WriteStatements).await?;
        let statement_ids = Remittance(rem.clone()).statement_ids(ctx.db()).await?;
        let mut currencies: Vec<String> = Vec::new();
        for id in &statement_ids {
            for (currency, source) in workers::fx::statement_rates(ctx.db(), *id).await?.keys() {
                if source == RateSource::Effective.as_str() && !currencies.contains(currency) {
                    currencies.push(currency.clone());
                }
            }
        }
        for currency in currencies {
            self.set_effective(ctx, rem.clone(), &statement_ids, &currency, None)
                .await?;
        }
        Ok(RemittancePayload {
            remittance: Some(Remittance(rem)),
            user_errors: Vec::new(),
        })
    }

    /// Whether payout runs count only money from reconciled statements (those a remittance
    /// pays). Money from no statement (manual entries) always counts.
    async fn set_payouts_reconciled_only(
        &self,
        ctx: &Context<'_>,
        input: SetPayoutsReconciledOnlyInput,
    ) -> ApiResult<SetPayoutsReconciledOnlyPayload> {
        let organization_id = decode_or_not_found(Kind::Organization, &input.organization_id)?;
        ctx.authorize(organization_id, Permission::ApprovePayouts)?;
        let txn = entity::db::begin_write(ctx.db()).await?;
        let existing = fx_setting::Entity::find()
            .filter(fx_setting::Column::OrganizationId.eq(organization_id))
            .one(&txn)
            .await?;
        match existing {
            Some(row) => {
                let mut active: fx_setting::ActiveModel = row.into();
                active.payouts_reconciled_only = Set(input.reconciled_only);
                active.update(&txn).await?;
            }
            None => {
                fx_setting::ActiveModel {
                    organization_id: Set(organization_id),
                    payouts_reconciled_only: Set(input.reconciled_only),
                    ..Default::default()
                }
                .insert(&txn)
                .await?;
            }
        }
        txn.commit().await?;
        Ok(SetPayoutsReconciledOnlyPayload {
            reconciled_only: input.reconciled_only,
            user_errors: Vec::new(),
        })
    }
}

impl FxMutation {
    async fn set_effective(
        &self,
        ctx: &Context<'_>,
        rem: Seen<remittance::Model>,
        statement_ids: &[i64],
        currency: &str,
        rate: Option<String>,
    ) -> ApiResult<RemittancePayload> {
        let statements = statement::Entity::find()
            .filter(statement::Column::Id.is_in(statement_ids.to_vec()))
            .all(ctx.db())
            .await?;
        let txn = entity::db::begin_write(ctx.db()).await?;
        for st in &statements {
            write_statement_rate(
                &txn,
                st,
                currency,
                RateSource::Effective,
                rate.clone(),
                Some(rem.id),
                ctx.principal().user_id(),
            )
            .await?;
        }
        txn.commit().await?;
        allocate(ctx, statement_ids).await?;
        Ok(RemittancePayload {
            remittance: Some(Remittance(rem)),
            user_errors: Vec::new(),
        })
    }
}
