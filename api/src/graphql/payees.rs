//! Payees: everyone who is paid (artists, producers, featured guests, the label itself).

use async_graphql::connection::{Connection, Edge};
use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use chrono::Utc;
use domain::money::{Currency, Money as DomainMoney};
use domain::share::Share;
use entity::{audit_log, ledger_entry, payee, payout};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, Set, Statement,
};

use super::access::{ContextExt, Permission};
use super::audit::AuditEntry;
use super::audit::{self, Change};
use super::connection::{ConnectionFields, Page, PageArgs, decode_cursor, encode_cursor, paginate};
use super::enums::PayeeKind;
use super::error::{ApiError, ApiResult, UserError, UserErrorCode, UserErrors};
use super::guard::{self, Seen};
use super::ids::{self, Kind};
use super::ledger::LedgerEntry;
use super::loaders::Loaders;
use super::money::Money;
use super::payouts::Payout;
use super::roster::Artist;

pub struct Payee(pub Seen<payee::Model>);

#[Object]
impl Payee {
    pub async fn id(&self) -> ID {
        ids::encode(Kind::Payee, self.0.id)
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// Personal: for the label's owners, admins and managers, and the payee's own artist.
    async fn email(&self, ctx: &Context<'_>) -> ApiResult<Option<&str>> {
        Ok(self.0.reveal(ctx).await?.email.as_deref())
    }
    async fn kind(&self) -> ApiResult<PayeeKind> {
        PayeeKind::from_db(&self.0.kind)
    }
    async fn artist(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Artist>> {
        let Some(id) = self.0.artist_id else {
            return Ok(None);
        };
        let row = ctx.data_unchecked::<Loaders>().artist.load_one(id).await?;
        Ok(guard::admit_opt(ctx, row).await?.map(Artist))
    }
    /// The currency this payee is paid in.
    async fn currency(&self) -> &str {
        &self.0.currency
    }
    /// Below this, a payout is carried forward to the next run.
    async fn minimum_payout(&self) -> Money {
        Money::from_nanos(self.0.minimum_payout_nanos, &self.0.currency)
    }
    /// Country, tax form, masked tax id and withholding rate. Personal: for the label's
    /// owners, admins and managers, and the payee's own artist.
    async fn tax_profile(&self, ctx: &Context<'_>) -> ApiResult<super::tax::TaxProfile> {
        super::tax::TaxProfile::of(self.0.reveal(ctx).await?)
    }
    /// Where the payee's year-end summary for `year` (gross, recouped, withheld and paid per
    /// currency over the runs paid for periods ending in it) downloads as CSV, with the same
    /// bearer token; readable by whoever may read the payee's money.
    async fn year_end_summary_csv_url(&self, year: i32) -> String {
        format!(
            "/payees/{}/year-end/{year}/summary.csv",
            ids::encode(Kind::Payee, self.0.id).as_str()
        )
    }
    /// The same summary as PDF.
    async fn year_end_summary_pdf_url(&self, year: i32) -> String {
        format!(
            "/payees/{}/year-end/{year}/summary.pdf",
            ids::encode(Kind::Payee, self.0.id).as_str()
        )
    }
    /// Reference of the payout method (bank, PayPal…), never the account details themselves.
    /// Personal: for the label's owners, admins and managers, and the payee's own artist.
    #[graphql(deprecation = "free text; use paymentDetails (setPayeePaymentDetails)")]
    async fn payout_method(&self, ctx: &Context<'_>) -> ApiResult<Option<&str>> {
        Ok(self.0.reveal(ctx).await?.payout_method.as_deref())
    }
    /// Where the payee is paid (see `payment_details.rs`): whole for those who may read
    /// personal details, the account masked for anyone else who sees the payee.
    async fn payment_details(
        &self,
        ctx: &Context<'_>,
    ) -> ApiResult<Option<super::payment_details::PaymentDetails>> {
        super::payment_details::payee_payment_details(ctx, &self.0).await
    }
    /// What the old free-text payout method said where it could not be read as payment
    /// details (an IBAN or an e-mail address). Personal, like `payoutMethod`.
    async fn payment_note(&self, ctx: &Context<'_>) -> ApiResult<Option<&str>> {
        Ok(self.0.reveal(ctx).await?.payment_note.as_deref())
    }
    /// The payee's money per currency, from the ledger.
    async fn balances(&self, ctx: &Context<'_>) -> ApiResult<Vec<PayeeBalance>> {
        payee_balances(ctx, &self.0).await
    }
    /// The payee's ledger entries, oldest first.
    async fn ledger_entries(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> ApiResult<Page<LedgerEntry>> {
        check_payee_money(ctx, &self.0)?;
        let select = ledger_entry::Entity::find()
            .filter(ledger_entry::Column::OrganizationId.eq(self.0.organization_id))
            .filter(ledger_entry::Column::PayeeId.eq(self.0.id));
        paginate(
            ctx,
            select,
            ledger_entry::Column::Id,
            &PageArgs::new(first, after),
            |m| m.id,
            LedgerEntry,
        )
        .await
    }
    /// The payee's payouts, oldest first.
    async fn payouts(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> ApiResult<Page<Payout>> {
        check_payee_money(ctx, &self.0)?;
        let select = payout::Entity::find().filter(payout::Column::PayeeId.eq(self.0.id));
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
    /// Who changed this payee, from what to what (payment method, email, minimum, currency,
    /// reserve), newest first: the audit entries of the payee. They hold its personal
    /// details, so they are for those who may read them (the label's managers, the payee's
    /// own artist); anyone else is FORBIDDEN.
    async fn history(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> ApiResult<Page<AuditEntry>> {
        // Refuse before reading anything.
        self.0.reveal(ctx).await?;
        let args = PageArgs::new(first, after);
        let limit = args.limit()?;
        let select = audit_log::Entity::find()
            .filter(audit_log::Column::OrganizationId.eq(self.0.organization_id))
            .filter(audit_log::Column::EntityType.eq(guard::PAYEE_ENTITY))
            .filter(audit_log::Column::EntityId.eq(self.0.id));
        let db = ctx.db();
        let total_count = select.clone().count(db).await?;
        let mut page = select;
        if let Some(after) = &args.after {
            // Newest first: the next page holds the older entries, with smaller ids.
            page = page.filter(audit_log::Column::Id.lt(decode_cursor(after)?));
        }
        let mut rows = page
            .order_by_desc(audit_log::Column::Id)
            .limit(limit + 1)
            .all(db)
            .await?;
        let has_next_page = rows.len() as u64 > limit;
        rows.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
        let mut connection = Connection::with_additional_fields(
            args.after.is_some(),
            has_next_page,
            ConnectionFields { total_count },
        );
        for row in guard::payee_history(ctx, &self.0, rows).await? {
            connection
                .edges
                .push(Edge::new(encode_cursor(row.id), AuditEntry(row)));
        }
        Ok(connection)
    }
    /// Share of earnings held in reserve against returns, as a percent string.
    async fn reserve_percent(&self) -> String {
        u64::try_from(self.0.reserve_ppb)
            .ok()
            .and_then(|ppb| Share::from_ppb(ppb).ok())
            .map_or_else(|| "0".to_owned(), |s| s.to_percent_string())
    }
}

/// A payee's money in one currency.
#[derive(SimpleObject, Debug, Clone)]
pub struct PayeeBalance {
    pub currency: String,
    /// Everything allocated to the payee (recoupment included).
    pub earned: Money,
    /// Retained to recoup advances and expenses.
    pub recouped: Money,
    /// Paid by payout runs.
    pub paid: Money,
    /// Held in reserve now.
    pub reserved: Money,
    /// Withheld from payouts (tax).
    pub withheld: Money,
    /// Owed and not yet paid: `earned − recouped − paid − withheld − reserved`.
    pub unpaid: Money,
}

/// Money of a payee is read with `ReadMoney`; an artist member reads only their own payees'.
fn check_payee_money(ctx: &Context<'_>, payee: &payee::Model) -> ApiResult<()> {
    let access = ctx.authorize(payee.organization_id, Permission::ReadMoney)?;
    if access.artist_id.is_some() && payee.artist_id != access.artist_id {
        return Err(ApiError::Forbidden("this payee belongs to another artist"));
    }
    Ok(())
}

async fn payee_balances(ctx: &Context<'_>, payee: &payee::Model) -> ApiResult<Vec<PayeeBalance>> {
    check_payee_money(ctx, payee)?;
    let db = ctx.db();
    let sql = "SELECT currency, \
          CAST(SUM(CASE WHEN account IN ('earnings', 'label', 'recoupment') THEN amount_nanos ELSE 0 END) AS BIGINT), \
          CAST(SUM(CASE WHEN account = 'recoupment' THEN amount_nanos ELSE 0 END) AS BIGINT), \
          CAST(SUM(CASE WHEN account = 'payout' THEN -amount_nanos ELSE 0 END) AS BIGINT), \
          CAST(SUM(CASE WHEN account = 'reserve' THEN -amount_nanos ELSE 0 END) AS BIGINT), \
          CAST(SUM(CASE WHEN account = 'withholding' THEN -amount_nanos ELSE 0 END) AS BIGINT) \
        FROM ledger_entries WHERE organization_id = $1 AND payee_id = $2 GROUP BY currency ORDER BY currency";
    let rows = db
        .query_all_raw(Statement::from_sql_and_values(
            db.get_database_backend(),
            sql,
            [payee.organization_id.into(), payee.id.into()],
        ))
        .await?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let currency: String = row.try_get_by_index(0)?;
        let earned: i64 = row.try_get_by_index(1)?;
        let recouped: i64 = row.try_get_by_index(2)?;
        let paid: i64 = row.try_get_by_index(3)?;
        let reserved: i64 = row.try_get_by_index(4)?;
        let withheld: i64 = row.try_get_by_index(5)?;
        out.push(PayeeBalance {
            earned: Money::from_nanos(earned, &currency),
            recouped: Money::from_nanos(recouped, &currency),
            paid: Money::from_nanos(paid, &currency),
            reserved: Money::from_nanos(reserved, &currency),
            withheld: Money::from_nanos(withheld, &currency),
            unpaid: Money::from_nanos(
                earned
                    .saturating_sub(recouped)
                    .saturating_sub(paid)
                    .saturating_sub(withheld)
                    .saturating_sub(reserved),
                &currency,
            ),
            currency,
        });
    }
    Ok(out)
}

#[derive(InputObject)]
pub struct CreatePayeeInput {
    pub organization_id: ID,
    pub name: String,
    pub email: Option<String>,
    pub kind: PayeeKind,
    pub artist_id: Option<ID>,
    /// ISO 4217; defaults to the organisation's base currency.
    pub currency: Option<String>,
    /// Decimal string in the payee's currency; defaults to 0.
    pub minimum_payout: Option<String>,
    pub payout_method: Option<String>,
    /// Percent held in reserve against returns, e.g. "10"; defaults to 0.
    pub reserve_percent: Option<String>,
}

#[derive(InputObject)]
pub struct UpdatePayeeInput {
    pub payee_id: ID,
    pub name: Option<String>,
    pub email: Option<String>,
    pub currency: Option<String>,
    pub minimum_payout: Option<String>,
    pub payout_method: Option<String>,
    pub reserve_percent: Option<String>,
}

#[derive(SimpleObject, Default)]
pub struct PayeePayload {
    pub payee: Option<Payee>,
    pub user_errors: Vec<UserError>,
}

fn parse_reserve(errors: &mut UserErrors, raw: &str) -> Option<i64> {
    if raw.trim() == "0" {
        return Some(0);
    }
    errors
        .check("reservePercent", Share::parse_percent(raw))
        .and_then(|share| i64::try_from(share.ppb()).ok())
}

fn parse_minimum(errors: &mut UserErrors, raw: &str, currency: Currency) -> Option<i64> {
    let nanos = errors.check("minimumPayout", domain::money::parse_decimal_str(raw))?;
    if nanos < 0 {
        errors.invalid("minimumPayout", "a minimum payout cannot be negative");
        return None;
    }
    let (payable, remainder) = DomainMoney::new(nanos, currency).round_down_to_minor_unit();
    if remainder.amount_nanos != 0 {
        errors.invalid(
            "minimumPayout",
            format!(
                "{} has no smaller unit than {}",
                currency,
                payable.to_decimal_string()
            ),
        );
        return None;
    }
    Some(nanos)
}

#[derive(Default)]
pub struct PayeesMutation;

#[Object]
impl PayeesMutation {
    async fn create_payee(
        &self,
        ctx: &Context<'_>,
        input: CreatePayeeInput,
    ) -> ApiResult<PayeePayload> {
        let org =
            guard::organization(ctx, &input.organization_id, Permission::ManagePayees).await?;
        let organization_id = org.id;
        let db = ctx.db();
        let mut errors = UserErrors::default();
        let name = input.name.trim().to_owned();
        if name.is_empty() {
            errors.push(UserError::new(
                "name",
                UserErrorCode::Required,
                "a payee needs a name",
            ));
        }
        let email = match input
            .email
            .as_deref()
            .map(str::trim)
            .filter(|e| !e.is_empty())
        {
            Some(raw) => errors.check("email", domain::text::normalize_email(raw)),
            None => None,
        };
        let currency = errors.check(
            "currency",
            Currency::parse(input.currency.as_deref().unwrap_or(&org.base_currency)),
        );
        let minimum = match (input.minimum_payout.as_deref(), currency) {
            (Some(raw), Some(c)) => parse_minimum(&mut errors, raw, c),
            _ => Some(0),
        };
        let reserve = input
            .reserve_percent
            .as_deref()
            .map_or(Some(0), |raw| parse_reserve(&mut errors, raw));
        let artist_id = match &input.artist_id {
            Some(id) => match super::refs::find_artist(db, organization_id, id).await? {
                Ok(a) => Some(a.id),
                Err(e) => {
                    errors.push(e.at("artistId"));
                    None
                }
            },
            None => None,
        };
        let (Some(currency), Some(minimum), Some(reserve), true) =
            (currency, minimum, reserve, errors.is_empty())
        else {
            return Ok(PayeePayload {
                payee: None,
                user_errors: errors.into_vec(),
            });
        };
        let now = Utc::now();
        let txn = entity::db::begin_write(db).await?;
        let payee = payee::ActiveModel {
            organization_id: Set(organization_id),
            name: Set(name),
            email: Set(email),
            kind: Set(input.kind.as_db().to_owned()),
            artist_id: Set(artist_id),
            currency: Set(currency.as_str().to_owned()),
            minimum_payout_nanos: Set(minimum),
            payout_method: Set(input.payout_method.filter(|m| !m.trim().is_empty())),
            reserve_ppb: Set(reserve),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        }
        .insert(&txn)
        .await?;
        audit::record(
            &txn,
            ctx.principal(),
            organization_id,
            Change {
                action: "payee.created",
                entity_type: "payee",
                entity_id: payee.id,
                before: None,
                after: audit::snapshot(&payee),
            },
        )
        .await?;
        txn.commit().await?;
        Ok(PayeePayload {
            payee: guard::admit(ctx, payee).await?.map(Payee),
            user_errors: Vec::new(),
        })
    }

    async fn update_payee(
        &self,
        ctx: &Context<'_>,
        input: UpdatePayeeInput,
    ) -> ApiResult<PayeePayload> {
        let payee: Seen<payee::Model> =
            guard::fetch(ctx, Kind::Payee, &input.payee_id, Permission::ManagePayees).await?;
        let mut errors = UserErrors::default();
        let currency = match input.currency.as_deref() {
            Some(raw) => errors.check("currency", Currency::parse(raw)),
            None => Currency::parse(&payee.currency).ok(),
        };
        let minimum = match (input.minimum_payout.as_deref(), currency) {
            (Some(raw), Some(c)) => parse_minimum(&mut errors, raw, c),
            _ => None,
        };
        let reserve = input
            .reserve_percent
            .as_deref()
            .and_then(|raw| parse_reserve(&mut errors, raw));
        let email = match input.email.as_deref().map(str::trim) {
            Some("") => Some(None),
            Some(raw) => errors
                .check("email", domain::text::normalize_email(raw))
                .map(Some),
            None => None,
        };
        if input.name.as_deref().is_some_and(|n| n.trim().is_empty()) {
            errors.push(UserError::new(
                "name",
                UserErrorCode::Required,
                "a payee needs a name",
            ));
        }
        if !errors.is_empty() {
            return Ok(PayeePayload {
                payee: None,
                user_errors: errors.into_vec(),
            });
        }
        let before = audit::snapshot(&*payee);
        let mut active: payee::ActiveModel = payee.into_inner().into();
        if let Some(name) = input.name {
            active.name = Set(name.trim().to_owned());
        }
        if let Some(email) = email {
            active.email = Set(email);
        }
        if let (Some(_), Some(c)) = (input.currency, currency) {
            active.currency = Set(c.as_str().to_owned());
        }
        if let Some(minimum) = minimum {
            active.minimum_payout_nanos = Set(minimum);
        }
        if let Some(method) = input.payout_method {
            active.payout_method = Set(Some(method).filter(|m| !m.trim().is_empty()));
        }
        if let Some(reserve) = reserve {
            active.reserve_ppb = Set(reserve);
        }
        active.updated_at = Set(Utc::now());
        // Payment details are money: who changed them, from what to what, is kept.
        let payee = super::payees::save_audited(ctx, active, before, "payee.updated").await?;
        Ok(PayeePayload {
            payee: guard::admit(ctx, payee).await?.map(Payee),
            user_errors: Vec::new(),
        })
    }
}

/// Saves a change to a payee with its audit record, in one transaction: payment details, tax
/// profiles and terms are money, and who changed them, from what to what, is kept.
///
/// # Errors
/// Database failures.
pub(crate) async fn save_audited(
    ctx: &Context<'_>,
    active: payee::ActiveModel,
    before: Option<serde_json::Value>,
    action: &'static str,
) -> ApiResult<payee::Model> {
    let txn = entity::db::begin_write(ctx.db()).await?;
    let payee = active.update(&txn).await?;
    audit::record(
        &txn,
        ctx.principal(),
        payee.organization_id,
        Change {
            action,
            entity_type: "payee",
            entity_id: payee.id,
            before,
            after: audit::snapshot(&payee),
        },
    )
    .await?;
    txn.commit().await?;
    Ok(payee)
}
