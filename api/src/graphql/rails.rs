//! Payout rails for a run: `PayoutRun.rails` (the URLs of the Wise, PayPal and SEPA files,
//! what each pays, and the payouts none can pay) and `importPayoutConfirmation` (a Wise or
//! PayPal result CSV or a CAMT.053 bank statement marks the matching payouts paid, once).
//!
//! Which rail pays which payout is `domain::rails::rail_for`; the files are written by
//! `domain::rails::{wise, paypal, sepa}` and served by `crate::run_exports`; matching a
//! confirmation is `domain::rails::confirmation::match_rows`. Everything here is for those who
//! approve and pay runs (`ApprovePayouts`): the files hold every payee's account.

use std::collections::BTreeMap;
use std::io::Read;

use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject, Upload};
use chrono::Utc;
use domain::money::{Currency, Money as DomainMoney};
use domain::payout::{PayoutStatus, RunStatus};
use domain::rails::confirmation::{self, OpenPayout};
use domain::rails::{Rail, Transfer, Unusable, rail_for};
use entity::{payee, payout, payout_run};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};

use super::access::{ContextExt, Permission};
use super::audit::{self, Change};
use super::error::{ApiError, ApiResult, UserError, UserErrorCode};
use super::guard::{self, Seen};
use super::ids::{self, Kind};
use super::money::Money;
use super::payment_details;
use super::payouts::{self, Payout, PayoutRun};

/// A payout's rail, as the API names it.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum PayoutRail {
    Wise,
    Paypal,
    Sepa,
}

impl From<Rail> for PayoutRail {
    fn from(rail: Rail) -> Self {
        match rail {
            Rail::Wise => Self::Wise,
            Rail::PayPal => Self::Paypal,
            Rail::Sepa => Self::Sepa,
        }
    }
}

/// What a run pays through one rail in one currency.
#[derive(SimpleObject, Debug, Clone)]
pub struct RailTotal {
    pub rail: PayoutRail,
    pub currency: String,
    pub payout_count: i64,
    pub amount: Money,
}

/// A pending payout no rail can pay, and why.
pub struct UnusablePayout {
    payout: Seen<payout::Model>,
    reason: String,
}

#[Object]
impl UnusablePayout {
    async fn payout(&self) -> Payout {
        Payout(self.payout.clone())
    }
    async fn reason(&self) -> &str {
        &self.reason
    }
}

/// The transfers of run `run`'s pending payouts, and the pending payouts no rail can pay.
///
/// # Errors
/// Database failures; INTERNAL for unreadable stored values.
pub async fn run_transfers(
    db: &impl ConnectionTrait,
    run: &payout_run::Model,
) -> ApiResult<(Vec<Transfer>, Vec<(payout::Model, Unusable)>)> {
    let payouts = payout::Entity::find()
        .filter(payout::Column::PayoutRunId.eq(run.id))
        .filter(payout::Column::Status.eq(PayoutStatus::Pending.as_str()))
        .order_by_asc(payout::Column::Id)
        .all(db)
        .await?;
    let payees: BTreeMap<i64, payee::Model> = payee::Entity::find()
        .filter(payee::Column::Id.is_in(payouts.iter().map(|p| p.payee_id)))
        .all(db)
        .await?
        .into_iter()
        .map(|p| (p.id, p))
        .collect();
    let mut transfers = Vec::new();
    let mut unusable = Vec::new();
    for p in payouts {
        let payee = payees
            .get(&p.payee_id)
            .ok_or_else(|| ApiError::internal(anyhow::anyhow!("payout {} has no payee", p.id)))?;
        // What is sent: after withholding, in the payee's currency at the run's rate.
        let currency = Currency::parse(&p.payout_currency).map_err(ApiError::internal)?;
        let amount = DomainMoney::new(p.payout_amount_nanos, currency);
        let details = payment_details::stored(payee)?;
        match rail_for(details.as_ref(), &amount) {
            Ok(_) => transfers.push(Transfer {
                payout_id: p.id,
                payee_name: payee.name.clone(),
                amount,
                details: details
                    .ok_or_else(|| ApiError::internal(anyhow::anyhow!("no details")))?,
                note: format!("Royalties to {}", run.period_end),
            }),
            Err(reason) => unusable.push((p, reason)),
        }
    }
    Ok((transfers, unusable))
}

/// Where an approved run's payment files download (with the same bearer token as `/graphql`),
/// what each pays, and the pending payouts none of them can pay.
pub struct PayoutRunRails {
    run: Seen<payout_run::Model>,
}

impl PayoutRunRails {
    /// The rails of `run`, for a caller who may approve and pay it.
    ///
    /// # Errors
    /// FORBIDDEN without `ApprovePayouts`.
    pub fn for_run(ctx: &Context<'_>, run: &Seen<payout_run::Model>) -> ApiResult<Self> {
        run.require(ctx, Permission::ApprovePayouts)?;
        Ok(Self { run: run.clone() })
    }

    fn url(&self, file: &str) -> String {
        format!(
            "/payout-runs/{}/{file}",
            ids::encode(Kind::PayoutRun, self.run.id).as_str()
        )
    }
}

#[Object]
impl PayoutRunRails {
    /// The Wise batch-payment CSV of the run's pending Wise payouts.
    async fn wise_batch_csv_url(&self) -> String {
        self.url("wise.csv")
    }
    /// The PayPal Payouts CSV of the run's pending PayPal payouts.
    async fn paypal_payouts_csv_url(&self) -> String {
        self.url("paypal.csv")
    }
    /// The SEPA credit transfer (`pain.001.001.03`) of the run's pending EUR payouts to bank
    /// accounts; it needs the organisation's payout account (`setOrganizationPayoutAccount`).
    async fn sepa_credit_transfer_url(&self) -> String {
        self.url("sepa.xml")
    }
    /// What each rail pays, per currency (pending payouts only).
    async fn totals(&self, ctx: &Context<'_>) -> ApiResult<Vec<RailTotal>> {
        let (transfers, _) = run_transfers(ctx.db(), &self.run).await?;
        let mut totals: BTreeMap<(u8, String), (PayoutRail, i64, i64)> = BTreeMap::new();
        for t in &transfers {
            let rail = rail_for(Some(&t.details), &t.amount).map_err(|e| {
                ApiError::internal(anyhow::anyhow!("planned transfer without a rail: {e}"))
            })?;
            let order = match rail {
                Rail::Sepa => 0,
                Rail::PayPal => 1,
                Rail::Wise => 2,
            };
            let entry = totals
                .entry((order, t.amount.currency.as_str().to_owned()))
                .or_insert((rail.into(), 0, 0));
            entry.1 += 1;
            entry.2 = entry
                .2
                .checked_add(t.amount.amount_nanos)
                .ok_or_else(|| ApiError::internal(anyhow::anyhow!("total out of range")))?;
        }
        Ok(totals
            .into_iter()
            .map(|((_, currency), (rail, count, nanos))| RailTotal {
                rail,
                payout_count: count,
                amount: Money::from_nanos(nanos, &currency),
                currency,
            })
            .collect())
    }
    /// Pending payouts that no rail can pay (no payment details, or a bank account for a
    /// payout not in EUR): they are in none of the files.
    async fn payouts_without_usable_details(
        &self,
        ctx: &Context<'_>,
    ) -> ApiResult<Vec<UnusablePayout>> {
        let (_, unusable) = run_transfers(ctx.db(), &self.run).await?;
        let mut out = Vec::with_capacity(unusable.len());
        for (p, reason) in unusable {
            if let Some(payout) = guard::admit(ctx, p).await? {
                out.push(UnusablePayout {
                    payout,
                    reason: reason.to_string(),
                });
            }
        }
        Ok(out)
    }
}

#[derive(InputObject)]
pub struct ImportPayoutConfirmationInput {
    /// The run's organisation: every upload names it, so the server checks the caller before
    /// it reads the file.
    pub organization_id: ID,
    pub payout_run_id: ID,
    /// A Wise or PayPal result CSV, or a CAMT.053 bank statement (XML).
    pub file: Upload,
}

/// A row of a confirmation that matched no payout.
#[derive(SimpleObject, Debug, Clone)]
pub struct UnmatchedConfirmationRow {
    /// 1-based line of the file.
    pub line: i64,
    pub reason: String,
}

#[derive(SimpleObject, Default)]
pub struct ImportPayoutConfirmationPayload {
    pub payout_run: Option<PayoutRun>,
    /// `wise`, `paypal` or `camt053`.
    pub format: Option<String>,
    /// Payouts this import marked paid.
    pub paid_count: i64,
    /// Payouts the file confirms that were already paid: left as they were.
    pub already_paid_count: i64,
    /// Rows that matched nothing.
    pub unmatched_rows: Vec<UnmatchedConfirmationRow>,
    pub user_errors: Vec<UserError>,
}

impl ImportPayoutConfirmationPayload {
    fn error(field: &str, code: UserErrorCode, message: impl Into<String>) -> Self {
        Self {
            user_errors: vec![UserError::new(field, code, message)],
            ..Self::default()
        }
    }
}

#[derive(Default)]
pub struct RailsMutation;

#[Object]
impl RailsMutation {
    /// Imports what a rail or the bank reports as paid for an approved run: each matching
    /// pending payout is marked paid, with the provider's reference, by a conditional update
    /// (`pending → paid`), so importing the same file again changes nothing (and says so in
    /// `alreadyPaidCount`). The run is paid, and its ledger entries written, when no payout is
    /// pending any more. Rows that match nothing are listed with their line numbers.
    async fn import_payout_confirmation(
        &self,
        ctx: &Context<'_>,
        input: ImportPayoutConfirmationInput,
    ) -> ApiResult<ImportPayoutConfirmationPayload> {
        let run = payouts::load_run(ctx, &input.payout_run_id, Permission::ApprovePayouts).await?;
        if ids::decode(Kind::Organization, &input.organization_id).ok() != Some(run.organization_id)
        {
            return Err(ApiError::NotFound("PayoutRun"));
        }
        let upload = input
            .file
            .value(ctx)
            .map_err(|e| ApiError::BadRequest(format!("file: {e}")))?;
        let limit = ctx.state().config.max_upload_bytes;
        let bytes = tokio::task::spawn_blocking(move || -> std::io::Result<Vec<u8>> {
            let mut bytes = Vec::new();
            upload
                .content
                .take(limit.saturating_add(1))
                .read_to_end(&mut bytes)?;
            Ok(bytes)
        })
        .await
        .map_err(ApiError::internal)?
        .map_err(ApiError::internal)?;
        if u64::try_from(bytes.len()).unwrap_or(u64::MAX) > limit {
            return Ok(ImportPayoutConfirmationPayload::error(
                "file",
                UserErrorCode::Invalid,
                "the file is too large",
            ));
        }
        let (format, rows) = match confirmation::read(&bytes) {
            Ok(read) => read,
            Err(err) => {
                return Ok(ImportPayoutConfirmationPayload::error(
                    "file",
                    UserErrorCode::Invalid,
                    err.to_string(),
                ));
            }
        };
        let status = payouts::run_status(&run)?;
        if !matches!(status, RunStatus::Approved | RunStatus::Paid) {
            return Ok(ImportPayoutConfirmationPayload::error(
                "payoutRunId",
                UserErrorCode::NotAllowed,
                format!("only an approved run can be paid; this one is {status}"),
            ));
        }
        let txn = entity::db::begin_write(ctx.db()).await?;
        let now = Utc::now();
        // Holds the run's row: a concurrent import, payment or cancellation waits, then sees
        // what this one did. A paid run is not locked: nothing in it can be paid again.
        let locked = payouts::touch_run(&txn, run.id, RunStatus::Approved, now).await?;
        let payouts = payout::Entity::find()
            .filter(payout::Column::PayoutRunId.eq(run.id))
            .order_by_asc(payout::Column::Id)
            .all(&txn)
            .await?;
        let mut open = Vec::with_capacity(payouts.len());
        for p in &payouts {
            open.push(OpenPayout {
                id: p.id,
                amount: DomainMoney::new(
                    p.payout_amount_nanos,
                    Currency::parse(&p.payout_currency).map_err(ApiError::internal)?,
                ),
                status: p.status.parse().map_err(ApiError::internal)?,
            });
        }
        let report = confirmation::match_rows(format, &rows, &open);
        if !report.to_pay.is_empty() && !locked {
            txn.rollback().await?;
            return Ok(ImportPayoutConfirmationPayload::error(
                "payoutRunId",
                UserErrorCode::NotAllowed,
                "the payout run changed meanwhile; read it again and retry",
            ));
        }
        let mut paid = 0_i64;
        for (payout_id, reference) in &report.to_pay {
            paid +=
                i64::try_from(payouts::mark_payout_paid(&txn, *payout_id, reference, now).await?)
                    .unwrap_or(0);
        }
        let mut run_after = run.clone();
        let mut mails = Vec::new();
        if locked && paid > 0 && !payouts::any_pending(&txn, run.id).await? {
            match payouts::pay_run(&txn, run.id, now).await? {
                Some((r, queued)) => {
                    run_after = r;
                    mails = queued;
                }
                None => {
                    txn.rollback().await?;
                    return Ok(ImportPayoutConfirmationPayload::error(
                        "payoutRunId",
                        UserErrorCode::NotAllowed,
                        "the payout run changed meanwhile; read it again and retry",
                    ));
                }
            }
        }
        if paid > 0 {
            audit::record(
                &txn,
                ctx.principal(),
                run.organization_id,
                Change {
                    action: "payout_run.confirmation_import",
                    entity_type: "payout_run",
                    entity_id: run.id,
                    before: audit::snapshot(&run),
                    after: Some(serde_json::json!({
                        "status": run_after.status,
                        "format": format.as_str(),
                        "payments": report.to_pay.iter().map(|(id, r)| serde_json::json!({
                            "payout_id": id, "reference": r,
                        })).collect::<Vec<_>>(),
                    })),
                },
            )
            .await?;
            txn.commit().await?;
            workers::mail::outbox::push(&ctx.state().queue, &mails).await;
            payouts::publish(ctx, &run_after).await;
        } else {
            txn.rollback().await?;
        }
        Ok(ImportPayoutConfirmationPayload {
            payout_run: guard::admit(ctx, run_after).await?.map(PayoutRun),
            format: Some(format.as_str().to_owned()),
            paid_count: paid,
            already_paid_count: i64::try_from(report.already_paid.len()).unwrap_or(i64::MAX),
            unmatched_rows: report
                .unmatched
                .into_iter()
                .map(|(line, reason)| UnmatchedConfirmationRow {
                    line: i64::try_from(line).unwrap_or(i64::MAX),
                    reason,
                })
                .collect(),
            user_errors: Vec::new(),
        })
    }
}
