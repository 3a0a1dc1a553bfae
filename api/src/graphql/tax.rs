//! A payee's tax profile (`Payee.taxProfile`, `setPayeeTaxProfile`) and the withholding rate
//! their payout runs apply. The profile is personal, like the payee's email: the label's
//! managers and the payee's own artist read it (`read_personal`); the tax id is never kept or
//! returned in clear, only masked (`•••• 6789`) and fingerprinted with `IMPRINT_TAX_ID_KEY`.

use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use chrono::Utc;
use domain::share::Share;
use domain::tax::{TaxId, parse_country, parse_withholding};
use entity::payee;
use sea_orm::Set;

use super::access::{ContextExt, Permission};
use super::audit;
use super::enums::TaxForm;
use super::error::{ApiResult, UserError, UserErrors};
use super::guard::{self, Seen};
use super::ids::Kind;
use super::payees::Payee;

/// What Imprint knows of a payee's taxes.
#[derive(SimpleObject, Debug, Clone)]
pub struct TaxProfile {
    /// ISO 3166-1 alpha-2 country of tax residence.
    pub country: Option<String>,
    pub form: TaxForm,
    /// The tax id, masked to its last four characters (`•••• 6789`); never shown whole.
    pub tax_id: Option<String>,
    /// The share of each payout withheld, a percent string ("30").
    pub withholding_percent: String,
}

impl TaxProfile {
    /// The profile of a payee the caller may read personally (see `Seen::reveal`).
    ///
    /// # Errors
    /// INTERNAL for a stored form the domain does not know.
    pub fn of(payee: &payee::Model) -> ApiResult<TaxProfile> {
        Ok(TaxProfile {
            country: payee.tax_country.clone(),
            form: payee
                .tax_form
                .as_deref()
                .map_or(Ok(TaxForm::None), TaxForm::from_db)?,
            tax_id: payee.tax_id_masked.clone(),
            withholding_percent: withholding_percent(payee.withholding_ppb),
        })
    }
}

/// A stored withholding rate as a percent string.
#[must_use]
pub fn withholding_percent(ppb: i64) -> String {
    u64::try_from(ppb)
        .ok()
        .and_then(|ppb| Share::from_ppb(ppb).ok())
        .map_or_else(|| "0".to_owned(), Share::to_percent_string)
}

/// Sets what is given of a payee's tax profile; a field left out is kept.
#[derive(InputObject)]
pub struct SetPayeeTaxProfileInput {
    pub payee_id: ID,
    /// ISO 3166-1 alpha-2 ("US", "DE"); "" clears it.
    pub country: Option<String>,
    pub form: Option<TaxForm>,
    /// The tax id (SSN, EIN, VAT number…); stored masked and fingerprinted only; "" clears it.
    pub tax_id: Option<String>,
    /// The share of each payout withheld, a percent from "0" to "100".
    pub withholding_percent: Option<String>,
}

#[derive(SimpleObject, Default)]
pub struct SetPayeeTaxProfilePayload {
    pub payee: Option<Payee>,
    pub tax_profile: Option<TaxProfile>,
    pub user_errors: Vec<UserError>,
}

#[derive(Default)]
pub struct TaxMutation;

#[Object]
impl TaxMutation {
    /// Sets a payee's tax profile. Needs `manage_payees`; the change is audited (with the tax
    /// id masked). Runs created afterwards withhold at the new rate.
    async fn set_payee_tax_profile(
        &self,
        ctx: &Context<'_>,
        input: SetPayeeTaxProfileInput,
    ) -> ApiResult<SetPayeeTaxProfilePayload> {
        let payee: Seen<payee::Model> =
            guard::fetch(ctx, Kind::Payee, &input.payee_id, Permission::ManagePayees).await?;
        let mut errors = UserErrors::default();
        let country = match input.country.as_deref().map(str::trim) {
            Some("") => Some(None),
            Some(raw) => errors.check("country", parse_country(raw)).map(Some),
            None => None,
        };
        let tax_id = match input.tax_id.as_deref().map(str::trim) {
            Some("") => Some(None),
            Some(raw) => errors.check("taxId", TaxId::parse(raw)).map(Some),
            None => None,
        };
        let withholding = match input.withholding_percent.as_deref() {
            Some(raw) => errors
                .check("withholdingPercent", parse_withholding(raw))
                .and_then(|ppb| i64::try_from(ppb).ok()),
            None => None,
        };
        if !errors.is_empty() {
            return Ok(SetPayeeTaxProfilePayload {
                user_errors: errors.into_vec(),
                ..Default::default()
            });
        }
        let before = audit::snapshot(&*payee);
        let mut active: payee::ActiveModel = payee.into_inner().into();
        if let Some(country) = country {
            active.tax_country = Set(country);
        }
        if let Some(form) = input.form {
            active.tax_form = Set(Some(form.as_db().to_owned()));
        }
        if let Some(tax_id) = tax_id {
            let key = &ctx.state().config.tax_id_key.0;
            active.tax_id_masked = Set(tax_id.as_ref().map(TaxId::masked));
            active.tax_id_hash = Set(tax_id.as_ref().map(|id| id.fingerprint(key)));
        }
        if let Some(ppb) = withholding {
            active.withholding_ppb = Set(ppb);
        }
        active.updated_at = Set(Utc::now());
        let payee =
            super::payees::save_audited(ctx, active, before, "payee.tax_profile_set").await?;
        let profile = TaxProfile::of(&payee)?;
        let seen = guard::admit(ctx, payee).await?;
        Ok(SetPayeeTaxProfilePayload {
            tax_profile: seen.as_ref().map(|_| profile),
            payee: seen.map(Payee),
            user_errors: Vec::new(),
        })
    }
}
