//! Payees' payment details: where their money goes (a bank account by IBAN, a PayPal
//! account, a Wise recipient), set with `setPayeePaymentDetails` and shown as
//! `Payee.paymentDetails`. The rules (IBAN checksum and country length, BIC format, e-mail)
//! are `domain::rails::details`'.
//!
//! They are personal: those who may read the payee's personal details (`Seen::reveal`: the
//! label's managers, the payee's own artist) see them whole; anyone else who sees the payee
//! sees only the rail and the account masked (`DE••••••••••••••••4931`, `a•••@example.com`).

use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject};
use chrono::Utc;
use domain::rails::details::{DetailsInput, PaymentDetails as Details, WiseRecipient};
use entity::{organization, payee};
use sea_orm::{ActiveModelTrait, Set};

use super::access::{ContextExt, Permission};
use super::audit::{self, Change};
use super::error::{ApiError, ApiResult, UserError, UserErrorCode};
use super::guard::{self, Seen};
use super::ids::Kind;
use super::payees::{Payee, PayeePayload};

/// How a payee is paid.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum PaymentRail {
    /// A bank account by IBAN (and BIC), paid by SEPA credit transfer in EUR.
    Iban,
    /// A PayPal account, by its e-mail address.
    Paypal,
    /// A Wise recipient: a saved recipient id, or an e-mail address.
    Wise,
}

impl PaymentRail {
    fn as_word(self) -> &'static str {
        match self {
            Self::Iban => "iban",
            Self::Paypal => "paypal",
            Self::Wise => "wise",
        }
    }

    fn from_word(word: &str) -> Option<Self> {
        match word {
            "iban" => Some(Self::Iban),
            "paypal" => Some(Self::Paypal),
            "wise" => Some(Self::Wise),
            _ => None,
        }
    }
}

/// A payee's payment details, whole or masked.
#[derive(SimpleObject, Debug, Clone)]
pub struct PaymentDetails {
    pub rail: PaymentRail,
    /// Whether the account is masked (the caller may not read personal details).
    pub masked: bool,
    /// For `IBAN`: electronic form, or masked.
    pub iban: Option<String>,
    /// For `IBAN`, when given (absent when masked).
    pub bic: Option<String>,
    /// For `IBAN`, when it is not the payee's name (absent when masked).
    pub account_holder: Option<String>,
    /// For `PAYPAL`, and `WISE` by e-mail; masked when `masked`.
    pub email: Option<String>,
    /// For `WISE` by saved recipient; masked when `masked`.
    pub wise_recipient_id: Option<String>,
}

/// The stored details of `payee`, if any (a stored value that no longer validates is an
/// internal error, never shown as something else).
///
/// # Errors
/// INTERNAL for an unreadable stored value.
pub fn stored(payee: &payee::Model) -> ApiResult<Option<Details>> {
    match (&payee.payment_rail, &payee.payment_account) {
        (Some(rail), Some(account)) => Details::from_columns(
            rail,
            account,
            payee.payment_bic.as_deref(),
            payee.payment_account_holder.as_deref(),
        )
        .map(Some)
        .map_err(ApiError::internal),
        _ => Ok(None),
    }
}

fn shown(details: &Details, masked: bool) -> PaymentDetails {
    let rail = PaymentRail::from_word(details.rail()).unwrap_or(PaymentRail::Iban);
    let account = if masked {
        details.masked_account()
    } else {
        details.to_columns().1
    };
    let mut out = PaymentDetails {
        rail,
        masked,
        iban: None,
        bic: None,
        account_holder: None,
        email: None,
        wise_recipient_id: None,
    };
    match details {
        Details::BankAccount {
            bic,
            account_holder,
            ..
        } => {
            out.iban = Some(account);
            if !masked {
                out.bic = bic.as_ref().map(|b| b.as_str().to_owned());
                out.account_holder.clone_from(account_holder);
            }
        }
        Details::PayPal { .. } | Details::Wise(WiseRecipient::Email(_)) => {
            out.email = Some(account);
        }
        Details::Wise(WiseRecipient::Id(_)) => out.wise_recipient_id = Some(account),
    }
    out
}

/// `Payee.paymentDetails`: whole for those who may read personal details, masked otherwise.
///
/// # Errors
/// INTERNAL for an unreadable stored value.
pub async fn payee_payment_details(
    ctx: &Context<'_>,
    payee: &Seen<payee::Model>,
) -> ApiResult<Option<PaymentDetails>> {
    let Some(details) = stored(payee)? else {
        return Ok(None);
    };
    let masked = match payee.reveal(ctx).await {
        Ok(_) => false,
        Err(ApiError::Forbidden(_)) => true,
        Err(err) => return Err(err),
    };
    Ok(Some(shown(&details, masked)))
}

#[derive(InputObject)]
pub struct SetPayeePaymentDetailsInput {
    pub payee_id: ID,
    pub rail: PaymentRail,
    /// For `IBAN`: spaces allowed.
    pub iban: Option<String>,
    /// For `IBAN`, optional: 8 or 11 characters.
    pub bic: Option<String>,
    /// For `IBAN`, optional: when the account is not in the payee's name.
    pub account_holder: Option<String>,
    /// For `PAYPAL`, or `WISE` by e-mail.
    pub email: Option<String>,
    /// For `WISE` by saved recipient.
    pub wise_recipient_id: Option<String>,
}

#[derive(InputObject)]
pub struct SetOrganizationPayoutAccountInput {
    pub organization_id: ID,
    /// The label's account, debtor of its SEPA credit transfers.
    pub iban: String,
    /// Its bank, optional.
    pub bic: Option<String>,
}

#[derive(SimpleObject, Default)]
pub struct OrganizationPayoutAccountPayload {
    /// The account as stored (electronic form); null on error.
    pub iban: Option<String>,
    pub bic: Option<String>,
    pub user_errors: Vec<UserError>,
}

fn detail_errors(errors: Vec<domain::rails::DetailsError>) -> Vec<UserError> {
    errors
        .into_iter()
        .map(|e| {
            let code = if matches!(e, domain::rails::DetailsError::Required(_)) {
                UserErrorCode::Required
            } else {
                UserErrorCode::Invalid
            };
            UserError::new(e.field(), code, e.to_string())
        })
        .collect()
}

#[derive(Default)]
pub struct PaymentDetailsMutation;

#[Object]
impl PaymentDetailsMutation {
    /// Sets where a payee is paid, replacing what was there. A bad IBAN (checksum, length for
    /// its country), BIC or e-mail address is a `userError` on its field. Audited (the payee's
    /// `history`).
    async fn set_payee_payment_details(
        &self,
        ctx: &Context<'_>,
        input: SetPayeePaymentDetailsInput,
    ) -> ApiResult<PayeePayload> {
        let payee: Seen<payee::Model> =
            guard::fetch(ctx, Kind::Payee, &input.payee_id, Permission::ManagePayees).await?;
        let parsed = Details::parse(&DetailsInput {
            rail: input.rail.as_word(),
            iban: input.iban.as_deref(),
            bic: input.bic.as_deref(),
            account_holder: input.account_holder.as_deref(),
            email: input.email.as_deref(),
            wise_recipient_id: input.wise_recipient_id.as_deref(),
        });
        let details = match parsed {
            Ok(d) => d,
            Err(errors) => {
                return Ok(PayeePayload {
                    payee: None,
                    user_errors: detail_errors(errors),
                });
            }
        };
        let (rail, account, bic, holder) = details.to_columns();
        let before = audit::snapshot(&*payee);
        let mut active: payee::ActiveModel = payee.into_inner().into();
        active.payment_rail = Set(Some(rail));
        active.payment_account = Set(Some(account));
        active.payment_bic = Set(bic);
        active.payment_account_holder = Set(holder);
        active.updated_at = Set(Utc::now());
        let payee =
            super::payees::save_audited(ctx, active, before, "payee.payment_details").await?;
        Ok(PayeePayload {
            payee: guard::admit(ctx, payee).await?.map(Payee),
            user_errors: Vec::new(),
        })
    }

    /// Sets the label's own bank account, the debtor of the SEPA credit transfers its payout
    /// runs export. A bad IBAN or BIC is a `userError`.
    async fn set_organization_payout_account(
        &self,
        ctx: &Context<'_>,
        input: SetOrganizationPayoutAccountInput,
    ) -> ApiResult<OrganizationPayoutAccountPayload> {
        let org =
            guard::organization(ctx, &input.organization_id, Permission::ApprovePayouts).await?;
        let parsed = Details::parse(&DetailsInput {
            rail: "iban",
            iban: Some(&input.iban),
            bic: input.bic.as_deref(),
            ..DetailsInput::default()
        });
        let (iban, bic) = match parsed {
            Ok(Details::BankAccount { iban, bic, .. }) => {
                (iban.as_str().to_owned(), bic.map(|b| b.as_str().to_owned()))
            }
            Ok(_) => return Err(ApiError::internal(anyhow::anyhow!("not a bank account"))),
            Err(errors) => {
                return Ok(OrganizationPayoutAccountPayload {
                    user_errors: detail_errors(errors),
                    ..Default::default()
                });
            }
        };
        let before = audit::snapshot(&*org);
        let mut active: organization::ActiveModel = org.into_inner().into();
        active.payout_iban = Set(Some(iban));
        active.payout_bic = Set(bic);
        let txn = entity::db::begin_write(ctx.db()).await?;
        let org = active.update(&txn).await?;
        audit::record(
            &txn,
            ctx.principal(),
            org.id,
            Change {
                action: "organization.payout_account",
                entity_type: "organization",
                entity_id: org.id,
                before,
                after: audit::snapshot(&org),
            },
        )
        .await?;
        txn.commit().await?;
        Ok(OrganizationPayoutAccountPayload {
            iban: org.payout_iban,
            bic: org.payout_bic,
            user_errors: Vec::new(),
        })
    }
}
