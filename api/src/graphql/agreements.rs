//! Agreements: the written terms between the organisation and an artist.

use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use chrono::{NaiveDate, Utc};
use domain::agreement::AgreementTerms;
use domain::money::Currency;
use domain::share::Share;
use entity::agreement;
use sea_orm::{ActiveModelTrait, EntityTrait, Set};

use super::access::{ContextExt, Permission};
use super::accounts::decode_or_not_found;
use super::audit::{self, Change};
use super::enums::{DealBasis, ExitReleasePolicy, FutureRights, MasterOwner, RecoupmentScope};
use super::error::{ApiError, ApiResult, UserError, UserErrors};
use super::guard::{self, Seen};
use super::ids::{self, Kind};
use super::loaders::Loaders;
use super::money::Money;
use super::roster::Artist;

pub struct Agreement(pub Seen<agreement::Model>);

/// A stored share (ppb) as a percent string; 0 is allowed here (an artist-owned master).
fn percent(ppb: i64) -> String {
    u64::try_from(ppb)
        .ok()
        .filter(|p| *p > 0)
        .and_then(|p| Share::from_ppb(p).ok())
        .map_or_else(|| "0".to_owned(), |s| s.to_percent_string())
}

/// Parses a percent that may be 0, into ppb.
fn parse_percent(errors: &mut UserErrors, field: &str, raw: &str) -> Option<u64> {
    let trimmed = raw.trim().trim_end_matches('%');
    if trimmed.chars().all(|c| c == '0' || c == '.') && !trimmed.is_empty() {
        return Some(0);
    }
    errors
        .check(field, Share::parse_percent(trimmed))
        .map(|s| s.ppb())
}

/// The domain's view of a stored agreement.
///
/// # Errors
/// INTERNAL when a stored value is not one the domain knows.
pub fn terms_of(row: &agreement::Model) -> ApiResult<AgreementTerms> {
    workers::allocation::terms_of(row).map_err(ApiError::internal)
}

#[Object]
impl Agreement {
    pub async fn id(&self) -> ID {
        ids::encode(Kind::Agreement, self.0.id)
    }
    async fn artist(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Artist>> {
        let row = ctx
            .data_unchecked::<super::loaders::Loaders>()
            .artist
            .load_one(self.0.artist_id)
            .await?;
        Ok(guard::admit_opt(ctx, row).await?.map(Artist))
    }
    async fn title(&self) -> &str {
        &self.0.title
    }
    /// Who owns the masters of releases under this agreement.
    async fn master_owner(&self) -> ApiResult<MasterOwner> {
        MasterOwner::from_db(&self.0.master_owner)
    }
    /// The label's share of master ownership, percent (100 when the label owns them, 0 when the artist does).
    async fn label_master_share(&self) -> String {
        percent(self.0.label_master_share_ppb)
    }
    /// The artist's share of revenue, percent.
    async fn artist_revenue_share(&self) -> String {
        percent(self.0.artist_revenue_share_ppb)
    }
    /// The label's share of revenue, percent: the rest.
    async fn label_revenue_share(&self) -> String {
        percent(Share::WHOLE_PPB as i64 - self.0.artist_revenue_share_ppb)
    }
    /// Whether the revenue split applies to gross revenue or to revenue net of recouped costs.
    async fn deal_basis(&self) -> ApiResult<DealBasis> {
        DealBasis::from_db(&self.0.deal_basis)
    }
    /// Advances and costs are recouped per release or across all the artist's releases.
    async fn recoupment_scope(&self) -> ApiResult<RecoupmentScope> {
        RecoupmentScope::from_db(&self.0.recoupment_scope)
    }
    async fn advance(&self) -> Money {
        Money::from_nanos(self.0.advance_nanos, &self.0.currency)
    }
    /// Whether the artist may take their own releases down.
    async fn artist_may_take_down(&self) -> bool {
        self.0.artist_may_take_down
    }
    /// On exit, the masters revert to the artist this many months after they leave.
    async fn masters_revert_after_months(&self) -> Option<i32> {
        self.0.masters_revert_after_months
    }
    /// On exit, whether the artist's releases stay up or are taken down.
    async fn exit_release_policy(&self) -> ApiResult<ExitReleasePolicy> {
        ExitReleasePolicy::from_db(&self.0.exit_release_policy)
    }
    /// The label's rights over the artist's future releases.
    async fn future_rights(&self) -> ApiResult<FutureRights> {
        FutureRights::from_db(&self.0.future_rights)
    }
    async fn future_options_count(&self) -> Option<i32> {
        self.0.future_options_count
    }
    async fn starts_on(&self) -> NaiveDate {
        self.0.starts_on
    }
    async fn ends_on(&self) -> Option<NaiveDate> {
        self.0.ends_on
    }
    /// Link to the signed document.
    async fn document_url(&self) -> Option<&str> {
        self.0.document_url.as_deref()
    }
    /// When the masters revert, once the artist has left and if the terms say they do.
    async fn masters_revert_on(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Option<NaiveDate>> {
        let artist = ctx
            .data_unchecked::<Loaders>()
            .artist
            .load_one(self.0.artist_id)
            .await?;
        let Some(left_on) = artist.and_then(|a| a.left_on) else {
            return Ok(None);
        };
        Ok(terms_of(&self.0)?.master_reverted_on(left_on))
    }
}

#[derive(InputObject)]
pub struct CreateAgreementInput {
    pub artist_id: ID,
    pub title: String,
    pub master_owner: MasterOwner,
    /// Percent; required for a joint ownership, implied (100 or 0) otherwise.
    pub label_master_share: Option<String>,
    /// Percent of revenue that goes to the artist, e.g. "50".
    pub artist_revenue_share: String,
    #[graphql(default_with = "DealBasis::Net")]
    pub deal_basis: DealBasis,
    #[graphql(default_with = "RecoupmentScope::Release")]
    pub recoupment_scope: RecoupmentScope,
    /// Decimal string; defaults to 0.
    pub advance: Option<String>,
    /// ISO 4217; defaults to the organisation's base currency.
    pub currency: Option<String>,
    #[graphql(default = false)]
    pub artist_may_take_down: bool,
    pub masters_revert_after_months: Option<i32>,
    #[graphql(default_with = "ExitReleasePolicy::Stay")]
    pub exit_release_policy: ExitReleasePolicy,
    #[graphql(default_with = "FutureRights::None")]
    pub future_rights: FutureRights,
    pub future_options_count: Option<i32>,
    pub starts_on: NaiveDate,
    pub ends_on: Option<NaiveDate>,
    pub document_url: Option<String>,
}

#[derive(InputObject)]
pub struct UpdateAgreementInput {
    pub agreement_id: ID,
    pub title: Option<String>,
    pub master_owner: Option<MasterOwner>,
    pub label_master_share: Option<String>,
    pub artist_revenue_share: Option<String>,
    pub deal_basis: Option<DealBasis>,
    pub recoupment_scope: Option<RecoupmentScope>,
    pub advance: Option<String>,
    pub artist_may_take_down: Option<bool>,
    pub masters_revert_after_months: Option<i32>,
    pub exit_release_policy: Option<ExitReleasePolicy>,
    pub future_rights: Option<FutureRights>,
    pub future_options_count: Option<i32>,
    pub starts_on: Option<NaiveDate>,
    pub ends_on: Option<NaiveDate>,
    pub document_url: Option<String>,
}

#[derive(SimpleObject, Default)]
pub struct AgreementPayload {
    pub agreement: Option<Agreement>,
    pub user_errors: Vec<UserError>,
}

fn default_master_share(owner: MasterOwner) -> Option<u64> {
    match owner {
        MasterOwner::Label => Some(Share::WHOLE_PPB),
        MasterOwner::Artist => Some(0),
        MasterOwner::Joint => None,
    }
}

fn non_negative_u32(errors: &mut UserErrors, field: &str, value: Option<i32>) -> Option<u32> {
    value.and_then(|v| match u32::try_from(v) {
        Ok(v) => Some(v),
        Err(_) => {
            errors.invalid(field, "must not be negative");
            None
        }
    })
}

fn check_document_url(errors: &mut UserErrors, url: Option<&str>) {
    if let Some(url) = url
        && !(url.starts_with("https://") || url.starts_with("http://"))
    {
        errors.invalid("documentUrl", "a document link starts with https://");
    }
}

fn validate_terms(errors: &mut UserErrors, terms: &AgreementTerms) {
    if let Err(problems) = terms.validate() {
        for problem in problems {
            errors.invalid(problem.field, problem.message);
        }
    }
}

#[derive(Default)]
pub struct AgreementsMutation;

#[Object]
impl AgreementsMutation {
    async fn create_agreement(
        &self,
        ctx: &Context<'_>,
        input: CreateAgreementInput,
    ) -> ApiResult<AgreementPayload> {
        let artist =
            super::roster::load_artist(ctx, &input.artist_id, Permission::ManageAgreements).await?;
        let db = ctx.db();
        let org = entity::organization::Entity::find_by_id(artist.organization_id)
            .one(db)
            .await?
            .ok_or(ApiError::NotFound("Organization"))?;
        let mut errors = UserErrors::default();
        let title = input.title.trim().to_owned();
        if title.is_empty() {
            errors.invalid("title", "give the agreement a title");
        }
        let label_master_share = match (
            &input.label_master_share,
            default_master_share(input.master_owner),
        ) {
            (Some(raw), _) => parse_percent(&mut errors, "labelMasterShare", raw),
            (None, Some(implied)) => Some(implied),
            (None, None) => {
                errors.invalid(
                    "labelMasterShare",
                    "a joint ownership needs the label's share",
                );
                None
            }
        };
        let revenue = parse_percent(
            &mut errors,
            "artistRevenueShare",
            &input.artist_revenue_share,
        );
        let currency = errors.check(
            "currency",
            Currency::parse(input.currency.as_deref().unwrap_or(&org.base_currency)),
        );
        let advance = errors.check(
            "advance",
            domain::money::parse_decimal_str(input.advance.as_deref().unwrap_or("0")),
        );
        let revert = non_negative_u32(
            &mut errors,
            "mastersRevertAfterMonths",
            input.masters_revert_after_months,
        );
        let options = non_negative_u32(
            &mut errors,
            "futureOptionsCount",
            input.future_options_count,
        );
        check_document_url(&mut errors, input.document_url.as_deref());
        let (Some(label_master_share), Some(revenue), Some(currency), Some(advance)) =
            (label_master_share, revenue, currency, advance)
        else {
            return Ok(AgreementPayload {
                agreement: None,
                user_errors: errors.into_vec(),
            });
        };
        let terms = AgreementTerms {
            master_owner: input.master_owner.into(),
            label_master_share_ppb: label_master_share,
            artist_revenue_share_ppb: revenue,
            deal_basis: input.deal_basis.into(),
            recoupment_scope: input.recoupment_scope.into(),
            advance_nanos: advance,
            artist_may_take_down: input.artist_may_take_down,
            masters_revert_after_months: revert,
            exit_release_policy: input.exit_release_policy.into(),
            future_rights: input.future_rights.into(),
            future_options_count: options,
            starts_on: input.starts_on,
            ends_on: input.ends_on,
        };
        validate_terms(&mut errors, &terms);
        if !errors.is_empty() {
            return Ok(AgreementPayload {
                agreement: None,
                user_errors: errors.into_vec(),
            });
        }
        let now = Utc::now();
        let txn = entity::db::begin_write(db).await?;
        let mut active = agreement::ActiveModel {
            organization_id: Set(artist.organization_id),
            artist_id: Set(artist.id),
            title: Set(title),
            currency: Set(currency.as_str().to_owned()),
            document_url: Set(input.document_url),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        };
        apply_terms(&mut active, &terms);
        let row = active.insert(&txn).await?;
        audit::record(
            &txn,
            ctx.principal(),
            row.organization_id,
            Change {
                action: "agreement.created",
                entity_type: "agreement",
                entity_id: row.id,
                before: None,
                after: audit::snapshot(&row),
            },
        )
        .await?;
        super::recoupables::record_advance(&txn, ctx.principal(), &row).await?;
        txn.commit().await?;
        Ok(AgreementPayload {
            agreement: guard::admit(ctx, row).await?.map(Agreement),
            user_errors: Vec::new(),
        })
    }

    async fn update_agreement(
        &self,
        ctx: &Context<'_>,
        input: UpdateAgreementInput,
    ) -> ApiResult<AgreementPayload> {
        let id = decode_or_not_found(Kind::Agreement, &input.agreement_id)?;
        let db = ctx.db();
        let row = agreement::Entity::find_by_id(id)
            .one(db)
            .await?
            .ok_or(ApiError::NotFound("Agreement"))?;
        ctx.authorize(row.organization_id, Permission::ManageAgreements)?;
        let mut errors = UserErrors::default();
        let mut terms = terms_of(&row)?;
        if let Some(owner) = input.master_owner {
            terms.master_owner = owner.into();
            if input.label_master_share.is_none()
                && let Some(implied) = default_master_share(owner)
            {
                terms.label_master_share_ppb = implied;
            }
        }
        if let Some(raw) = &input.label_master_share
            && let Some(ppb) = parse_percent(&mut errors, "labelMasterShare", raw)
        {
            terms.label_master_share_ppb = ppb;
        }
        if let Some(raw) = &input.artist_revenue_share
            && let Some(ppb) = parse_percent(&mut errors, "artistRevenueShare", raw)
        {
            terms.artist_revenue_share_ppb = ppb;
        }
        if let Some(v) = input.deal_basis {
            terms.deal_basis = v.into();
        }
        if let Some(v) = input.recoupment_scope {
            terms.recoupment_scope = v.into();
        }
        if let Some(raw) = &input.advance
            && let Some(nanos) = errors.check("advance", domain::money::parse_decimal_str(raw))
        {
            terms.advance_nanos = nanos;
        }
        if let Some(v) = input.artist_may_take_down {
            terms.artist_may_take_down = v;
        }
        if input.masters_revert_after_months.is_some() {
            terms.masters_revert_after_months = non_negative_u32(
                &mut errors,
                "mastersRevertAfterMonths",
                input.masters_revert_after_months,
            );
        }
        if let Some(v) = input.exit_release_policy {
            terms.exit_release_policy = v.into();
        }
        if let Some(v) = input.future_rights {
            terms.future_rights = v.into();
        }
        if input.future_options_count.is_some() {
            terms.future_options_count = non_negative_u32(
                &mut errors,
                "futureOptionsCount",
                input.future_options_count,
            );
        }
        if let Some(v) = input.starts_on {
            terms.starts_on = v;
        }
        if input.ends_on.is_some() {
            terms.ends_on = input.ends_on;
        }
        check_document_url(&mut errors, input.document_url.as_deref());
        if input.title.as_deref().is_some_and(|t| t.trim().is_empty()) {
            errors.invalid("title", "give the agreement a title");
        }
        validate_terms(&mut errors, &terms);
        if !errors.is_empty() {
            return Ok(AgreementPayload {
                agreement: None,
                user_errors: errors.into_vec(),
            });
        }
        let before = audit::snapshot(&row);
        let mut active: agreement::ActiveModel = row.into();
        apply_terms(&mut active, &terms);
        if let Some(title) = input.title {
            active.title = Set(title.trim().to_owned());
        }
        if let Some(url) = input.document_url {
            active.document_url = Set(Some(url));
        }
        active.updated_at = Set(Utc::now());
        let txn = entity::db::begin_write(db).await?;
        let updated = active.update(&txn).await?;
        audit::record(
            &txn,
            ctx.principal(),
            updated.organization_id,
            Change {
                action: "agreement.updated",
                entity_type: "agreement",
                entity_id: updated.id,
                before,
                after: audit::snapshot(&updated),
            },
        )
        .await?;
        txn.commit().await?;
        Ok(AgreementPayload {
            agreement: guard::admit(ctx, updated).await?.map(Agreement),
            user_errors: Vec::new(),
        })
    }
}

fn apply_terms(active: &mut agreement::ActiveModel, terms: &AgreementTerms) {
    active.master_owner = Set(terms.master_owner.as_str().to_owned());
    active.label_master_share_ppb = Set(terms.label_master_share_ppb as i64);
    active.artist_revenue_share_ppb = Set(terms.artist_revenue_share_ppb as i64);
    active.deal_basis = Set(terms.deal_basis.as_str().to_owned());
    active.recoupment_scope = Set(terms.recoupment_scope.as_str().to_owned());
    active.advance_nanos = Set(terms.advance_nanos);
    active.artist_may_take_down = Set(terms.artist_may_take_down);
    active.masters_revert_after_months = Set(terms.masters_revert_after_months.map(|m| m as i32));
    active.exit_release_policy = Set(terms.exit_release_policy.as_str().to_owned());
    active.future_rights = Set(terms.future_rights.as_str().to_owned());
    active.future_options_count = Set(terms.future_options_count.map(|m| m as i32));
    active.starts_on = Set(terms.starts_on);
    active.ends_on = Set(terms.ends_on);
}
