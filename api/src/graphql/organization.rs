//! The organisation: the tenant every other object belongs to, and the entry point to its lists.

use async_graphql::{Context, ID, Object};
use chrono::{DateTime, Utc};
use entity::{
    agreement, api_key, artist, audit_log, invitation, membership, organization, payee, payout,
    payout_run, recoupable, release, statement,
};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

use super::access::{ContextExt, Permission};
use super::accounts::{ApiKey, Invitation, Member, decode_or_not_found};
use super::agreements::Agreement;
use super::audit::AuditEntry;
use super::catalogue::Release;
use super::connection::{Page, PageArgs, paginate};
use super::enums::{OrganizationKind, ReleaseStatus, Role};
use super::error::{ApiError, ApiResult};
use super::guard::{self, Seen};
use super::ids::{self, Kind};
use super::ledger::{MoneySummary, money_summary};
use super::payees::Payee;
use super::payouts::PayoutRun;
use super::recoupables::Recoupable;
use super::roster::Artist;
use super::statements::Statement;

pub struct Organization(pub Seen<organization::Model>);

#[Object]
impl Organization {
    pub async fn id(&self) -> ID {
        ids::encode(Kind::Organization, self.0.id)
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn kind(&self) -> OrganizationKind {
        OrganizationKind::from_db(&self.0.kind)
    }
    /// The currency statements are converted to, ISO 4217.
    async fn base_currency(&self) -> &str {
        &self.0.base_currency
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// The rate table, newest day first; every version of a rate is kept.
    async fn exchange_rates(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
    ) -> ApiResult<Vec<super::fx::ExchangeRate>> {
        super::fx::organization_rates(ctx, self.0.id, first).await
    }
    /// Money that reached the bank, newest first.
    async fn remittances(&self, ctx: &Context<'_>) -> ApiResult<Vec<super::fx::Remittance>> {
        super::fx::organization_remittances(ctx, self.0.id).await
    }
    /// Whether payout runs count only money from reconciled statements.
    async fn payouts_reconciled_only(&self, ctx: &Context<'_>) -> ApiResult<bool> {
        ctx.authorize(self.0.id, Permission::ReadMoney)?;
        Ok(super::fx::reconciled_only(ctx.db(), self.0.id).await?)
    }
    /// The caller's role here (none for an API key).
    async fn viewer_role(&self, ctx: &Context<'_>) -> ApiResult<Option<Role>> {
        Ok(ctx.principal().role_in(self.0.id).map(Role::from))
    }

    async fn members(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> ApiResult<Page<Member>> {
        let access = ctx.authorize(self.0.id, Permission::ReadCatalogue)?;
        if access.artist_id.is_some() {
            return Err(ApiError::Forbidden(
                "artist members do not see the member list",
            ));
        }
        let select =
            membership::Entity::find().filter(membership::Column::OrganizationId.eq(self.0.id));
        paginate(
            ctx,
            select,
            membership::Column::Id,
            &PageArgs::new(first, after),
            |m| m.id,
            Member,
        )
        .await
    }

    async fn invitations(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> ApiResult<Page<Invitation>> {
        ctx.authorize(self.0.id, Permission::ManageMembers)?;
        let select =
            invitation::Entity::find().filter(invitation::Column::OrganizationId.eq(self.0.id));
        paginate(
            ctx,
            select,
            invitation::Column::Id,
            &PageArgs::new(first, after),
            |m| m.id,
            Invitation,
        )
        .await
    }

    async fn api_keys(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> ApiResult<Page<ApiKey>> {
        ctx.authorize(self.0.id, Permission::ManageMembers)?;
        let select = api_key::Entity::find().filter(api_key::Column::OrganizationId.eq(self.0.id));
        paginate(
            ctx,
            select,
            api_key::Column::Id,
            &PageArgs::new(first, after),
            |m| m.id,
            ApiKey,
        )
        .await
    }

    /// The roster. An artist member sees only themself.
    async fn artists(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        #[graphql(desc = "Only artists still on the roster (not left).")] current: Option<bool>,
    ) -> ApiResult<Page<Artist>> {
        let access = ctx.authorize(self.0.id, Permission::ReadCatalogue)?;
        let mut select =
            artist::Entity::find().filter(artist::Column::OrganizationId.eq(self.0.id));
        if let Some(own) = access.artist_id {
            select = select.filter(artist::Column::Id.eq(own));
        }
        if current == Some(true) {
            select = select.filter(artist::Column::LeftOn.is_null());
        }
        paginate(
            ctx,
            select,
            artist::Column::Id,
            &PageArgs::new(first, after),
            |m| m.id,
            Artist,
        )
        .await
    }

    /// Who gets paid. An artist member sees only the payees linked to them.
    async fn payees(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> ApiResult<Page<Payee>> {
        let access = ctx.authorize(self.0.id, Permission::ReadCatalogue)?;
        let mut select = payee::Entity::find().filter(payee::Column::OrganizationId.eq(self.0.id));
        if let Some(own) = access.artist_id {
            select = select.filter(payee::Column::ArtistId.eq(own));
        }
        paginate(
            ctx,
            select,
            payee::Column::Id,
            &PageArgs::new(first, after),
            |m| m.id,
            Payee,
        )
        .await
    }

    async fn agreements(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> ApiResult<Page<Agreement>> {
        let access = ctx.authorize(self.0.id, Permission::ReadCatalogue)?;
        let mut select =
            agreement::Entity::find().filter(agreement::Column::OrganizationId.eq(self.0.id));
        if let Some(own) = access.artist_id {
            select = select.filter(agreement::Column::ArtistId.eq(own));
        }
        paginate(
            ctx,
            select,
            agreement::Column::Id,
            &PageArgs::new(first, after),
            |m| m.id,
            Agreement,
        )
        .await
    }

    async fn releases(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        status: Option<ReleaseStatus>,
        artist_id: Option<ID>,
    ) -> ApiResult<Page<Release>> {
        let access = ctx.authorize(self.0.id, Permission::ReadCatalogue)?;
        let mut select =
            release::Entity::find().filter(release::Column::OrganizationId.eq(self.0.id));
        if let Some(own) = access.artist_id {
            select = select.filter(release::Column::ArtistId.eq(own));
        }
        if let Some(status) = status {
            select = select.filter(release::Column::Status.eq(status.as_db()));
        }
        if let Some(artist_id) = &artist_id {
            let id = decode_or_not_found(Kind::Artist, artist_id)?;
            select = select.filter(release::Column::ArtistId.eq(id));
        }
        paginate(
            ctx,
            select,
            release::Column::Id,
            &PageArgs::new(first, after),
            |m| m.id,
            Release,
        )
        .await
    }

    /// Uploaded statements, oldest first. Not for artist members: a statement covers every artist.
    async fn statements(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> ApiResult<Page<Statement>> {
        let access = ctx.authorize(self.0.id, Permission::ReadStatements)?;
        if access.artist_id.is_some() {
            return Err(ApiError::Forbidden(
                "distributor statements cover every artist; artists see their own earnings",
            ));
        }
        let select =
            statement::Entity::find().filter(statement::Column::OrganizationId.eq(self.0.id));
        paginate(
            ctx,
            select,
            statement::Column::Id,
            &PageArgs::new(first, after),
            |m| m.id,
            Statement,
        )
        .await
    }

    /// The length of a payout period in months.
    async fn payout_period_months(&self) -> i32 {
        self.0.payout_period_months
    }
    /// Reserves are released after this many payout periods.
    async fn reserve_release_periods(&self) -> i32 {
        self.0.reserve_release_periods
    }
    /// Split consent: whether splits not every payee has confirmed are paid (PAY, the
    /// default) or held (HOLD).
    async fn unconfirmed_splits(&self) -> ApiResult<super::enums::UnconfirmedSplits> {
        super::enums::UnconfirmedSplits::from_db(&self.0.unconfirmed_splits)
    }
    /// Split consent, flagged to the label: how many split versions have a share their payee
    /// has not confirmed (an artist member: on her own releases).
    async fn splits_awaiting_consent(&self, ctx: &Context<'_>) -> ApiResult<i32> {
        use sea_orm::QuerySelect;
        let access = ctx.authorize(self.0.id, Permission::ReadCatalogue)?;
        let db = ctx.db();
        let pending: Vec<i64> = entity::split_share::Entity::find()
            .select_only()
            .column(entity::split_share::Column::SplitId)
            .filter(entity::split_share::Column::OrganizationId.eq(self.0.id))
            .filter(entity::split_share::Column::ConfirmedAt.is_null())
            .into_tuple()
            .all(db)
            .await?;
        let pending: std::collections::BTreeSet<i64> = pending.into_iter().collect();
        let count = match access.artist_id {
            None => pending.len(),
            Some(artist) => {
                let own: std::collections::HashSet<i64> = entity::release::Entity::find()
                    .select_only()
                    .column(entity::release::Column::Id)
                    .filter(entity::release::Column::OrganizationId.eq(self.0.id))
                    .filter(entity::release::Column::ArtistId.eq(artist))
                    .into_tuple::<i64>()
                    .all(db)
                    .await?
                    .into_iter()
                    .collect();
                entity::split::Entity::find()
                    .filter(entity::split::Column::Id.is_in(pending))
                    .all(db)
                    .await?
                    .into_iter()
                    .filter(|s| own.contains(&s.release_id))
                    .count()
            }
        };
        Ok(i32::try_from(count).unwrap_or(i32::MAX))
    }

    /// Payout runs, oldest first. An artist member sees the runs that pay one of their payees.
    async fn payout_runs(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> ApiResult<Page<PayoutRun>> {
        let access = ctx.authorize(self.0.id, Permission::ReadMoney)?;
        let mut select =
            payout_run::Entity::find().filter(payout_run::Column::OrganizationId.eq(self.0.id));
        if let Some(artist_id) = access.artist_id {
            use sea_orm::sea_query::Query;
            select = select.filter(
                payout_run::Column::Id.in_subquery(
                    Query::select()
                        .column(payout::Column::PayoutRunId)
                        .from(payout::Entity)
                        .and_where(
                            payout::Column::PayeeId.in_subquery(
                                Query::select()
                                    .column(payee::Column::Id)
                                    .from(payee::Entity)
                                    .and_where(payee::Column::ArtistId.eq(artist_id))
                                    .to_owned(),
                            ),
                        )
                        .to_owned(),
                ),
            );
        }
        paginate(
            ctx,
            select,
            payout_run::Column::Id,
            &PageArgs::new(first, after),
            |m| m.id,
            PayoutRun,
        )
        .await
    }

    /// Advances and expenses to recoup, oldest first (an artist member: their own).
    async fn recoupables(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        artist_id: Option<ID>,
    ) -> ApiResult<Page<Recoupable>> {
        let access = ctx.authorize(self.0.id, Permission::ReadMoney)?;
        let mut select =
            recoupable::Entity::find().filter(recoupable::Column::OrganizationId.eq(self.0.id));
        if let Some(id) = &artist_id {
            let artist_id = decode_or_not_found(Kind::Artist, id)?;
            access.check_artist(artist_id)?;
            select = select.filter(recoupable::Column::ArtistId.eq(artist_id));
        }
        if let Some(own) = access.artist_id {
            select = select.filter(recoupable::Column::ArtistId.eq(own));
        }
        paginate(
            ctx,
            select,
            recoupable::Column::Id,
            &PageArgs::new(first, after),
            |m| m.id,
            Recoupable,
        )
        .await
    }

    /// Where every allocated nano-unit is now, per currency (label managers, viewers and
    /// accountants).
    async fn money_summary(&self, ctx: &Context<'_>) -> ApiResult<Vec<MoneySummary>> {
        let access = ctx.authorize(self.0.id, Permission::ReadMoney)?;
        if access.artist_id.is_some() {
            return Err(ApiError::Forbidden(
                "the organisation's money summary covers every artist",
            ));
        }
        money_summary(ctx.db(), self.0.id).await
    }

    /// Who changed splits, agreements, releases and payouts, newest last.
    async fn audit_log(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> ApiResult<Page<AuditEntry>> {
        ctx.authorize(self.0.id, Permission::ManageMembers)?;
        // Ids grow with time, so id order is time order and pages stay stable.
        let select =
            audit_log::Entity::find().filter(audit_log::Column::OrganizationId.eq(self.0.id));
        paginate(
            ctx,
            select,
            audit_log::Column::Id,
            &PageArgs::new(first, after),
            |m| m.id,
            AuditEntry,
        )
        .await
    }

    /// Partner endpoints that receive signed events, oldest first (for those who may manage
    /// them: owners, admins, managers, API keys with `manage:webhooks`).
    async fn webhooks(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> ApiResult<Page<super::webhooks::Webhook>> {
        super::webhooks::organization_webhooks(ctx, self.0.id, &PageArgs::new(first, after)).await
    }

    /// Mails written for this organisation's events (invitations, statements ready, weekly
    /// digests), oldest first, with where each stands (owners and admins).
    async fn outbox(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> ApiResult<Page<super::mail::OutboxMail>> {
        super::mail::organization_outbox(ctx, self.0.id, &PageArgs::new(first, after)).await
    }
}

#[derive(Default)]
pub struct OrganizationQuery;

#[Object]
impl OrganizationQuery {
    /// An organisation the caller belongs to; null otherwise, as for an id of nothing.
    async fn organization(&self, ctx: &Context<'_>, id: ID) -> ApiResult<Option<Organization>> {
        Ok(guard::lookup(ctx, Kind::Organization, &id)
            .await?
            .map(Organization))
    }
}
