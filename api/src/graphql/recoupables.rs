//! Recoupables: advances and expenses won back from artists' earnings before they are paid,
//! with what has been recouped and what remains. A collective's shared cost is divided among
//! its members by a stated rule into one recoupable per member.

use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, NaiveDate, Utc};
use domain::agreement::{PayeeKind as DomainPayeeKind, RecoupmentScope};
use domain::money::Currency;
use domain::recoupment::split_shared_cost;
use domain::share::Share;
use entity::{agreement, payee, recoupable};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set};

use super::access::{ContextExt, Permission};
use super::accounts::decode_or_not_found;
use super::audit::{self, Change};
use super::catalogue::Release;
use super::enums::{RecoupableKind, SharedCostRule};
use super::error::{ApiError, ApiResult, UserError, UserErrorCode, UserErrors};
use super::guard::{self, Seen};
use super::ids::{self, Kind};
use super::money::Money;
use super::payees::Payee;
use super::roster::Artist;

pub struct Recoupable(pub Seen<recoupable::Model>);

#[Object]
impl Recoupable {
    pub async fn id(&self) -> ID {
        ids::encode(Kind::Recoupable, self.0.id)
    }
    async fn kind(&self) -> ApiResult<RecoupableKind> {
        RecoupableKind::from_db(&self.0.kind)
    }
    async fn description(&self) -> &str {
        &self.0.description
    }
    /// The whole advance or expense.
    async fn amount(&self) -> Money {
        Money::from_nanos(self.0.amount_nanos, &self.0.currency)
    }
    /// Won back so far from earnings.
    async fn recouped(&self) -> Money {
        Money::from_nanos(self.0.recouped_nanos, &self.0.currency)
    }
    /// Still to recoup.
    async fn remaining(&self) -> Money {
        Money::from_nanos(
            self.0.amount_nanos - self.0.recouped_nanos,
            &self.0.currency,
        )
    }
    /// Whether it is recouped from all the payee's releases, not only its own release.
    async fn cross_collateralized(&self) -> bool {
        self.0.cross_collateralized || self.0.release_id.is_none()
    }
    /// For a member's part of a collective's shared cost: how it was divided.
    async fn shared_rule(&self) -> ApiResult<Option<SharedCostRule>> {
        self.0
            .shared_rule
            .as_deref()
            .map(SharedCostRule::from_db)
            .transpose()
    }
    async fn incurred_on(&self) -> NaiveDate {
        self.0.incurred_on
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// Whose earnings recoup it.
    async fn payee(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Payee>> {
        let Some(id) = self.0.payee_id else {
            return Ok(None);
        };
        let row = ctx
            .data_unchecked::<super::loaders::Loaders>()
            .payee
            .load_one(id)
            .await?;
        Ok(guard::admit_opt(ctx, row).await?.map(Payee))
    }
    async fn artist(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Artist>> {
        let Some(id) = self.0.artist_id else {
            return Ok(None);
        };
        let row = ctx
            .data_unchecked::<super::loaders::Loaders>()
            .artist
            .load_one(id)
            .await?;
        Ok(guard::admit_opt(ctx, row).await?.map(Artist))
    }
    /// The release whose earnings recoup it (none when cross-collateralised from the start).
    async fn release(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Release>> {
        let Some(id) = self.0.release_id else {
            return Ok(None);
        };
        let row = ctx
            .data_unchecked::<super::loaders::Loaders>()
            .release
            .load_one(id)
            .await?;
        Ok(guard::admit_opt(ctx, row).await?.map(Release))
    }
}

#[derive(InputObject)]
pub struct SharedMemberInput {
    pub payee_id: ID,
    /// Percent of the cost, for `BY_SHARE` (e.g. "25"); ignored for `EQUAL`.
    pub share: Option<String>,
}

#[derive(InputObject)]
pub struct SharedCostInput {
    pub rule: SharedCostRule,
    /// The members who share it; empty means every artist payee of the organisation.
    #[graphql(default)]
    pub members: Vec<SharedMemberInput>,
}

#[derive(InputObject)]
pub struct AddRecoupableInput {
    pub organization_id: ID,
    pub kind: RecoupableKind,
    pub description: String,
    /// Decimal string in the organisation's base currency, > 0.
    pub amount: String,
    /// Defaults to the organisation's base currency, the only one accepted.
    pub currency: Option<String>,
    /// When the money was advanced or spent: older recoupables are recouped first.
    pub incurred_on: NaiveDate,
    /// The artist whose earnings recoup it (through their artist payee).
    pub artist_id: Option<ID>,
    /// Or the payee whose earnings recoup it directly.
    pub payee_id: Option<ID>,
    /// Recoup only from this release (unless cross-collateralised).
    pub release_id: Option<ID>,
    /// Recoup from all the payee's releases; defaults to what the artist's agreement says.
    pub cross_collateralized: Option<bool>,
    /// A collective's shared cost, divided among members instead of one artist's.
    pub shared: Option<SharedCostInput>,
}

#[derive(SimpleObject, Default)]
pub struct AddRecoupablePayload {
    /// One per payee that recoups it (several for a shared cost).
    pub recoupables: Vec<Recoupable>,
    pub user_errors: Vec<UserError>,
}

#[derive(Default)]
pub struct RecoupablesMutation;

#[Object]
impl RecoupablesMutation {
    /// Records an advance or expense to recoup from earnings allocated from now on.
    async fn add_recoupable(
        &self,
        ctx: &Context<'_>,
        input: AddRecoupableInput,
    ) -> ApiResult<AddRecoupablePayload> {
        let organization_id = decode_or_not_found(Kind::Organization, &input.organization_id)?;
        ctx.authorize(organization_id, Permission::ManageRecoupables)?;
        let db = ctx.db();
        let org = entity::organization::Entity::find_by_id(organization_id)
            .one(db)
            .await?
            .ok_or(ApiError::NotFound("Organization"))?;
        let mut errors = UserErrors::default();
        let description = input.description.trim().to_owned();
        if description.is_empty() {
            errors.push(UserError::new(
                "description",
                UserErrorCode::Required,
                "say what the advance or expense was",
            ));
        }
        let currency = input.currency.as_deref().unwrap_or(&org.base_currency);
        match Currency::parse(currency) {
            Ok(c) if c.as_str() == org.base_currency => {}
            Ok(_) => errors.invalid(
                "currency",
                format!(
                    "recoupables are kept in the organisation's base currency, {}",
                    org.base_currency
                ),
            ),
            Err(e) => errors.invalid("currency", e.to_string()),
        }
        let amount = match errors.check("amount", domain::money::parse_decimal_str(&input.amount)) {
            Some(a) if a > 0 => Some(a),
            Some(_) => {
                errors.invalid("amount", "the amount must be more than zero");
                None
            }
            None => None,
        };
        let release = match &input.release_id {
            Some(id) => match super::refs::find_release(db, organization_id, id).await? {
                Ok(r) => Some(r),
                Err(e) => {
                    errors.push(e.at("releaseId"));
                    None
                }
            },
            None => None,
        };
        let artist = match &input.artist_id {
            Some(id) => match super::refs::find_artist(db, organization_id, id).await? {
                Ok(a) => Some(a),
                Err(e) => {
                    errors.push(e.at("artistId"));
                    None
                }
            },
            None => None,
        };
        let direct_payee = match &input.payee_id {
            Some(id) => match super::refs::find_payee(db, organization_id, id).await? {
                Ok(p) => Some(p),
                Err(e) => {
                    errors.push(e.at("payeeId"));
                    None
                }
            },
            None => None,
        };
        let payees = payee::Entity::find()
            .filter(payee::Column::OrganizationId.eq(organization_id))
            .order_by_asc(payee::Column::Id)
            .all(db)
            .await?;
        let is_artist_payee =
            |p: &payee::Model| p.kind == DomainPayeeKind::Artist.as_str() && p.artist_id.is_some();

        // Who recoups it, with weights for a shared cost.
        let mut members: Vec<(payee::Model, u64)> = Vec::new();
        let mut rule = None;
        match (&input.shared, &direct_payee, &artist) {
            (Some(shared), None, None) => {
                rule = Some(shared.rule);
                if shared.members.is_empty() {
                    members = payees
                        .iter()
                        .filter(|p| is_artist_payee(p))
                        .map(|p| (p.clone(), 1))
                        .collect();
                    if shared.rule == SharedCostRule::ByShare {
                        errors.invalid(
                            "shared.members",
                            "dividing by share needs each member's share",
                        );
                    }
                }
                for (i, m) in shared.members.iter().enumerate() {
                    let field = format!("shared.members.{i}.payeeId");
                    let Some(p) = ids::decode(Kind::Payee, &m.payee_id)
                        .ok()
                        .and_then(|id| payees.iter().find(|p| p.id == id))
                    else {
                        errors.push(UserError::new(
                            &field,
                            UserErrorCode::NotFound,
                            "no payee with this id in this organization",
                        ));
                        continue;
                    };
                    if !is_artist_payee(p) {
                        errors.invalid(&field, "only artist payees recoup costs");
                        continue;
                    }
                    let weight = match (shared.rule, m.share.as_deref()) {
                        (SharedCostRule::Equal, _) => 1,
                        (SharedCostRule::ByShare, Some(raw)) => errors
                            .check(
                                &format!("shared.members.{i}.share"),
                                Share::parse_percent(raw),
                            )
                            .map_or(0, |s| s.ppb()),
                        (SharedCostRule::ByShare, None) => {
                            errors.push(UserError::new(
                                &format!("shared.members.{i}.share"),
                                UserErrorCode::Required,
                                "dividing by share needs this member's share",
                            ));
                            0
                        }
                    };
                    if members.iter().any(|(q, _)| q.id == p.id) {
                        errors.invalid(&field, "this payee is listed twice");
                    }
                    members.push((p.clone(), weight));
                }
                if members.is_empty() && errors.is_empty() {
                    errors.invalid(
                        "shared",
                        "the organisation has no artist payees to share it",
                    );
                }
            }
            (None, Some(p), None) => {
                if is_artist_payee(p) {
                    members.push((p.clone(), 1));
                } else {
                    errors.invalid("payeeId", "only an artist payee recoups costs");
                }
            }
            (None, None, Some(a)) => {
                let own: Vec<&payee::Model> = payees
                    .iter()
                    .filter(|p| is_artist_payee(p) && p.artist_id == Some(a.id))
                    .collect();
                match own.as_slice() {
                    [] => errors.invalid("artistId", "this artist has no artist payee to recoup from"),
                    [one] => members.push(((*one).clone(), 1)),
                    _ => errors.invalid(
                        "artistId",
                        format!(
                            "this artist has {} payees: give `shared` to say how they share it, or a `payeeId`",
                            own.len()
                        ),
                    ),
                }
            }
            // An id was given but not found: that error is already recorded.
            (None, None, None) if input.artist_id.is_some() || input.payee_id.is_some() => {}
            (None, None, None) => errors.push(UserError::new(
                "artistId",
                UserErrorCode::Required,
                "say whose earnings recoup it: an artist, a payee, or a shared cost",
            )),
            _ => errors.invalid(
                "shared",
                "give one of `artistId`, `payeeId` or `shared`, not several",
            ),
        }
        if let (Some(r), Some(a)) = (&release, &artist)
            && r.artist_id != a.id
        {
            errors.invalid("releaseId", "this release is not the artist's");
        }
        let (Some(amount), true) = (amount, errors.is_empty()) else {
            return Ok(AddRecoupablePayload {
                recoupables: Vec::new(),
                user_errors: errors.into_vec(),
            });
        };
        let parts = match rule {
            Some(rule) => {
                let weights: Vec<(i64, u64)> = members.iter().map(|(p, w)| (p.id, *w)).collect();
                match split_shared_cost(amount, &weights, rule.into()) {
                    Ok(parts) => parts,
                    Err(e) => {
                        return Ok(AddRecoupablePayload {
                            recoupables: Vec::new(),
                            user_errors: vec![UserError::invalid("shared", e.to_string())],
                        });
                    }
                }
            }
            None => members.iter().map(|(p, _)| (p.id, amount)).collect(),
        };

        let txn = entity::db::begin_write(db).await?;
        let now = Utc::now();
        let mut created = Vec::with_capacity(parts.len());
        for (payee_id, part) in parts {
            let Some((member, _)) = members.iter().find(|(p, _)| p.id == payee_id) else {
                continue;
            };
            let cross = match input.cross_collateralized {
                Some(c) => c,
                None => agreement_is_cross(db, member.artist_id).await?,
            } || release.is_none();
            let row = recoupable::ActiveModel {
                organization_id: Set(organization_id),
                kind: Set(input.kind.as_db().to_owned()),
                description: Set(description.clone()),
                amount_nanos: Set(part),
                currency: Set(org.base_currency.clone()),
                artist_id: Set(member.artist_id),
                release_id: Set(release.as_ref().map(|r| r.id)),
                payee_id: Set(Some(member.id)),
                cross_collateralized: Set(cross),
                shared_rule: Set(rule.map(|r| r.as_db().to_owned())),
                incurred_on: Set(input.incurred_on),
                created_at: Set(now),
                recouped_nanos: Set(0),
                ..Default::default()
            }
            .insert(&txn)
            .await?;
            audit::record(
                &txn,
                ctx.principal(),
                organization_id,
                Change {
                    action: "recoupable.add",
                    entity_type: "recoupable",
                    entity_id: row.id,
                    before: None,
                    after: audit::snapshot(&row),
                },
            )
            .await?;
            created.push(row);
        }
        txn.commit().await?;
        Ok(AddRecoupablePayload {
            recoupables: guard::admit_all(ctx, created)
                .await?
                .into_iter()
                .map(Recoupable)
                .collect(),
            user_errors: Vec::new(),
        })
    }
}

/// Whether the artist's latest agreement cross-collateralises recoupment.
async fn agreement_is_cross(
    db: &sea_orm::DatabaseConnection,
    artist_id: Option<i64>,
) -> ApiResult<bool> {
    let Some(artist_id) = artist_id else {
        return Ok(false);
    };
    let latest = agreement::Entity::find()
        .filter(agreement::Column::ArtistId.eq(artist_id))
        .order_by_desc(agreement::Column::StartsOn)
        .one(db)
        .await?;
    Ok(latest.is_some_and(|a| {
        a.recoupment_scope
            .parse::<RecoupmentScope>()
            .is_ok_and(|s| s == RecoupmentScope::CrossCollateralized)
    }))
}

/// Records an agreement's advance as a recoupable of the artist's payees, so it is recouped
/// from their earnings without a separate step: one recoupable for an artist with one payee,
/// equal parts for a collective's members. Nothing is recorded for an advance of zero, in
/// another currency than the base currency, or for an artist without an artist payee.
///
/// # Errors
/// Database failures.
pub async fn record_advance(
    txn: &impl sea_orm::ConnectionTrait,
    principal: &crate::auth::Principal,
    agreement: &agreement::Model,
) -> ApiResult<()> {
    if agreement.advance_nanos <= 0 {
        return Ok(());
    }
    let Some(org) = entity::organization::Entity::find_by_id(agreement.organization_id)
        .one(txn)
        .await?
    else {
        return Ok(());
    };
    if org.base_currency != agreement.currency {
        tracing::warn!(
            agreement_id = agreement.id,
            "advance in {} is not recouped automatically: the base currency is {}",
            agreement.currency,
            org.base_currency
        );
        return Ok(());
    }
    let payees: Vec<payee::Model> = payee::Entity::find()
        .filter(payee::Column::ArtistId.eq(agreement.artist_id))
        .filter(payee::Column::Kind.eq(DomainPayeeKind::Artist.as_str()))
        .order_by_asc(payee::Column::Id)
        .all(txn)
        .await?;
    let weights: Vec<(i64, u64)> = payees.iter().map(|p| (p.id, 1)).collect();
    let Ok(parts) = split_shared_cost(
        agreement.advance_nanos,
        &weights,
        domain::recoupment::SharedCostRule::Equal,
    ) else {
        return Ok(()); // no artist payee to recoup from
    };
    for (payee_id, amount) in parts {
        let row = recoupable::ActiveModel {
            organization_id: Set(agreement.organization_id),
            kind: Set(domain::recoupment::RecoupableKind::Advance
                .as_str()
                .to_owned()),
            description: Set(format!("Advance under “{}”", agreement.title)),
            amount_nanos: Set(amount),
            currency: Set(agreement.currency.clone()),
            artist_id: Set(Some(agreement.artist_id)),
            release_id: Set(None),
            payee_id: Set(Some(payee_id)),
            // An advance is tied to no release, so it is recouped across the artist's releases.
            cross_collateralized: Set(true),
            shared_rule: Set((payees.len() > 1).then(|| SharedCostRule::Equal.as_db().to_owned())),
            incurred_on: Set(agreement.starts_on),
            created_at: Set(Utc::now()),
            recouped_nanos: Set(0),
            ..Default::default()
        }
        .insert(txn)
        .await?;
        audit::record(
            txn,
            principal,
            agreement.organization_id,
            Change {
                action: "recoupable.add",
                entity_type: "recoupable",
                entity_id: row.id,
                before: None,
                after: audit::snapshot(&row),
            },
        )
        .await?;
    }
    Ok(())
}
