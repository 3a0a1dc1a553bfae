//! Access by construction: an object reaches a caller only as a [`Seen`] value, and a `Seen`
//! is made in one place, here, by asking `domain::auth` whether the caller could have fetched
//! the object directly.
//!
//! Every GraphQL object type wraps a `Seen<Model>` (`pub struct Release(Seen<release::Model>)`),
//! so whatever path leads to an object (a root, a nested field, a connection, a DataLoader,
//! `node`, a mutation's payload) must come through [`admit`], [`admit_all`], [`admit_opt`] or
//! [`fetch`], and a new type or field is covered without anyone remembering to: there is no
//! other way to build one. An object the caller may not see is left out of a list, null in a
//! field, and "not found" in a root or mutation, exactly like an id that does not exist.
//!
//! Personal details (payees' contact and payment details, other users' emails) need more than
//! seeing the object: [`Seen::reveal`] asks for `ReadPersonal` on the object's owner.

use std::future::Future;
use std::ops::Deref;

use async_graphql::{Context, ID};
use domain::auth::{Holder, Owner, Permission};
use entity::{
    agreement, api_key, artist, artist_profile, audit_log, exchange_rate, import_template,
    invitation, ledger_entry, mail_outbox, membership, organization, payee, payout, payout_run,
    recoupable, release, remittance, split, split_share, statement, statement_error,
    statement_line, track, track_artist, webhook, webhook_delivery,
};
use sea_orm::{ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter};

use super::access::ContextExt;
use super::error::{ApiError, ApiResult};
use super::ids::{self, Kind};
use super::loaders::Loaders;
use crate::auth::Principal;

/// An object the caller may see. Only this module makes one.
#[derive(Debug, Clone)]
pub struct Seen<M>(M);

impl<M> Deref for Seen<M> {
    type Target = M;
    fn deref(&self) -> &M {
        &self.0
    }
}

impl<M: serde::Serialize> serde::Serialize for Seen<M> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

impl<M> Seen<M> {
    /// The row, to hand to code that does not build GraphQL objects (a job, a mutation's
    /// update).
    #[must_use]
    pub fn into_inner(self) -> M {
        self.0
    }
}

impl<M: Guarded> Seen<M> {
    /// The row again, for its personal details (contact, payment, tax): FORBIDDEN unless the
    /// caller holds `ReadPersonal` on the object's owner (the label's people, or the artist
    /// the object belongs to).
    ///
    /// # Errors
    /// FORBIDDEN, or a failure to tell whom the object concerns.
    pub async fn reveal(&self, ctx: &Context<'_>) -> ApiResult<&M> {
        if admits(ctx, &self.0, Some(Permission::ReadPersonal)).await? {
            Ok(&self.0)
        } else {
            Err(ApiError::Forbidden(
                "contact and payment details are for the label's managers and the person's own artist",
            ))
        }
    }

    /// Whether the caller may do `permission` to this object (beyond seeing it).
    ///
    /// # Errors
    /// FORBIDDEN without it.
    pub fn require(&self, ctx: &Context<'_>, permission: Permission) -> ApiResult<()> {
        match holder(ctx.principal(), self.0.organization_id()) {
            Some(holder) if holder.has(permission) => Ok(()),
            _ => Err(ApiError::Forbidden(permission_message(permission))),
        }
    }
}

/// The message of a refusal for want of `permission`.
#[must_use]
pub fn permission_message(permission: Permission) -> &'static str {
    match permission {
        Permission::ApprovePayouts => {
            "approving and paying payout runs is for owners and admins, never an API key"
        }
        Permission::ManageMembers => {
            "managing members, invitations and keys needs an owner or admin"
        }
        Permission::ReadPersonal => "contact and payment details are not for this caller",
        _ => "your role or API key's scopes do not allow this",
    }
}

/// An organisation's object: which organisation, what reading it needs, whom it concerns.
pub trait Guarded: Sized + Send + Sync + 'static {
    /// The kind of id it has, for "not found" messages.
    const NAME: &'static str;
    /// The permission that reading it needs; `None`: being in its organisation.
    const READ: Option<Permission>;

    fn organization_id(&self) -> i64;

    /// Whom the object concerns, as seen by the artist member of `artist_id` (the only caller
    /// for whom it matters; a payout run concerns her when it pays her).
    fn owner(
        &self,
        ctx: &Context<'_>,
        artist_id: i64,
    ) -> impl Future<Output = ApiResult<Owner>> + Send;

    /// The row by its id, in any organisation.
    fn load(
        db: &DatabaseConnection,
        id: i64,
    ) -> impl Future<Output = Result<Option<Self>, sea_orm::DbErr>> + Send;
}

/// What the caller holds in `organization_id`: nothing if they are not in it.
#[must_use]
pub fn holder(principal: &Principal, organization_id: i64) -> Option<Holder<'_>> {
    match principal {
        Principal::Anonymous => None,
        Principal::ApiKey { key, scopes } => {
            (key.organization_id == organization_id).then_some(Holder::Key { scopes })
        }
        Principal::User { memberships, .. } => {
            let membership = memberships
                .iter()
                .find(|m| m.organization_id == organization_id)?;
            let role: domain::auth::Role = membership.role.parse().ok()?;
            let artist_id = if role == domain::auth::Role::Artist {
                // An artist membership without its artist sees nothing rather than everything.
                Some(membership.artist_id?)
            } else {
                None
            };
            Some(Holder::Member { role, artist_id })
        }
    }
}

/// Whether the caller may see `row` and, with `permission`, do that to it.
async fn admits<M: Guarded>(
    ctx: &Context<'_>,
    row: &M,
    permission: Option<Permission>,
) -> ApiResult<bool> {
    let Some(holder) = holder(ctx.principal(), row.organization_id()) else {
        return Ok(false);
    };
    if permission.is_some_and(|p| !holder.has(p)) {
        return Ok(false);
    }
    match holder.artist_scope() {
        None => Ok(true),
        Some(artist_id) => Ok(holder.sees(row.owner(ctx, artist_id).await?)),
    }
}

/// `row`, if the caller could have fetched it directly.
///
/// # Errors
/// Database failures while telling whom it concerns.
pub async fn admit<M: Guarded>(ctx: &Context<'_>, row: M) -> ApiResult<Option<Seen<M>>> {
    Ok(admits(ctx, &row, M::READ).await?.then_some(Seen(row)))
}

/// [`admit`] for an optional row (a DataLoader's answer).
///
/// # Errors
/// As [`admit`].
pub async fn admit_opt<M: Guarded>(
    ctx: &Context<'_>,
    row: Option<M>,
) -> ApiResult<Option<Seen<M>>> {
    match row {
        Some(row) => admit(ctx, row).await,
        None => Ok(None),
    }
}

/// The rows the caller may see, in their order. The owners of all rows are asked at once, so
/// DataLoaders batch them.
///
/// # Errors
/// As [`admit`].
pub async fn admit_all<M: Guarded>(ctx: &Context<'_>, rows: Vec<M>) -> ApiResult<Vec<Seen<M>>> {
    let verdicts =
        futures::future::try_join_all(rows.iter().map(|row| admits(ctx, row, M::READ))).await?;
    Ok(rows
        .into_iter()
        .zip(verdicts)
        .filter_map(|(row, ok)| ok.then_some(Seen(row)))
        .collect())
}

/// The object an id names, for a root that reads it (`node`, `statement`): `None` for an id of
/// nothing and for an object the caller could not fetch (another organisation's, another
/// artist's, or one their permissions do not cover), alike.
///
/// # Errors
/// UNAUTHENTICATED for an anonymous caller; database failures.
pub async fn lookup<M: Guarded>(
    ctx: &Context<'_>,
    kind: Kind,
    id: &ID,
) -> ApiResult<Option<Seen<M>>> {
    if matches!(ctx.principal(), Principal::Anonymous) {
        return Err(ApiError::Unauthenticated);
    }
    let Ok(row_id) = ids::decode(kind, id) else {
        return Ok(None);
    };
    admit_opt(ctx, M::load(ctx.db(), row_id).await?).await
}

/// The object an id names, for a root or a mutation that then does `permission` to it.
/// Anonymous: UNAUTHENTICATED. A malformed id, an id of another kind, of nothing, of another
/// organisation or (for an artist member) of another artist: NOT_FOUND, all alike. The
/// caller's own organisation's object without `permission`: FORBIDDEN.
///
/// # Errors
/// As above, and database failures.
pub async fn fetch<M: Guarded>(
    ctx: &Context<'_>,
    kind: Kind,
    id: &ID,
    permission: Permission,
) -> ApiResult<Seen<M>> {
    let seen = find::<M>(ctx, kind, id).await?;
    seen.require(ctx, permission)?;
    if let Some(read) = M::READ {
        // Every permission that acts on an object includes reading it (domain::auth's table);
        // this keeps a `Seen` what it promises should the table ever say otherwise.
        seen.require(ctx, read)?;
    }
    Ok(seen)
}

/// The object an id names if the caller may know of it (its organisation, and for an artist
/// member her artist's), whatever they may do to it; NOT_FOUND otherwise.
///
/// # Errors
/// As [`fetch`], without the permission check.
async fn find<M: Guarded>(ctx: &Context<'_>, kind: Kind, id: &ID) -> ApiResult<Seen<M>> {
    if matches!(ctx.principal(), Principal::Anonymous) {
        return Err(ApiError::Unauthenticated);
    }
    let not_found = ApiError::NotFound(M::NAME);
    let row_id = ids::decode(kind, id).map_err(|_| not_found.clone())?;
    let row = M::load(ctx.db(), row_id)
        .await?
        .ok_or_else(|| not_found.clone())?;
    if admits(ctx, &row, None).await? {
        Ok(Seen(row))
    } else {
        Err(not_found)
    }
}

/// The organisation an id names, for a root or a mutation that does `permission` in it; the
/// same answers as [`fetch`].
///
/// # Errors
/// As [`fetch`].
pub async fn organization(
    ctx: &Context<'_>,
    id: &ID,
    permission: Permission,
) -> ApiResult<Seen<organization::Model>> {
    fetch(ctx, Kind::Organization, id, permission).await
}

/// The caller's own API key (`viewer.apiKey`): a key always sees itself.
#[must_use]
pub fn own_api_key(principal: &Principal) -> Option<Seen<api_key::Model>> {
    match principal {
        Principal::ApiKey { key, .. } => Some(Seen(key.clone())),
        _ => None,
    }
}

/// The organisation the caller has just created (and owns, though the request's principal
/// was resolved before it existed).
#[must_use]
pub fn created_by_caller(row: organization::Model) -> Seen<organization::Model> {
    Seen(row)
}

/// The membership the caller has just taken up by accepting an invitation (the request's
/// principal was resolved before it existed): she always sees her own.
#[must_use]
pub fn joined_by_caller(row: membership::Model) -> Seen<membership::Model> {
    Seen(row)
}

/// The caller's own memberships (`viewer.memberships`): a member always sees her own.
#[must_use]
pub fn own_memberships(principal: &Principal) -> Vec<Seen<membership::Model>> {
    match principal {
        Principal::User { memberships, .. } => memberships.iter().cloned().map(Seen).collect(),
        _ => Vec::new(),
    }
}

/// The audit entries of `payee` among `rows`, for its history. The entries hold the payee's
/// personal details before and after each change, so they are for whoever may read those
/// ([`Seen::reveal`]: the label's managers and the payee's own artist), not only for those who
/// may read the whole audit log; rows about anything else are dropped.
///
/// # Errors
/// FORBIDDEN when the caller may not read the payee's personal details.
pub async fn payee_history(
    ctx: &Context<'_>,
    payee: &Seen<payee::Model>,
    rows: Vec<audit_log::Model>,
) -> ApiResult<Vec<Seen<audit_log::Model>>> {
    let payee = payee.reveal(ctx).await?;
    Ok(rows
        .into_iter()
        .filter(|row| {
            row.organization_id == payee.organization_id
                && row.entity_type == PAYEE_ENTITY
                && row.entity_id == payee.id
        })
        .map(Seen)
        .collect())
}

/// The `entity_type` of a payee's audit entries.
pub const PAYEE_ENTITY: &str = "payee";

/// `Owner::Artist(id)`, or `Owner::Label` for an object of no artist.
fn artist_or_label(artist_id: Option<i64>) -> Owner {
    artist_id.map_or(Owner::Label, Owner::Artist)
}

async fn release_owner(ctx: &Context<'_>, release_id: i64) -> ApiResult<Owner> {
    let release = ctx
        .data_unchecked::<Loaders>()
        .release
        .load_one(release_id)
        .await?;
    Ok(artist_or_label(release.map(|r| r.artist_id)))
}

async fn track_owner(ctx: &Context<'_>, track_id: i64) -> ApiResult<Owner> {
    let track = ctx
        .data_unchecked::<Loaders>()
        .track
        .load_one(track_id)
        .await?;
    match track {
        Some(track) => release_owner(ctx, track.release_id).await,
        None => Ok(Owner::Label),
    }
}

async fn payee_owner(ctx: &Context<'_>, payee_id: Option<i64>) -> ApiResult<Owner> {
    let Some(payee_id) = payee_id else {
        return Ok(Owner::Label);
    };
    let payee = ctx
        .data_unchecked::<Loaders>()
        .payee
        .load_one(payee_id)
        .await?;
    Ok(artist_or_label(payee.and_then(|p| p.artist_id)))
}

/// Whether the run has a payout to one of the artist's payees: when a run concerns an artist
/// member (the guard's owner of a run, and what `payoutUpdates` tells her about).
///
/// # Errors
/// Database failures.
pub async fn run_pays_artist(
    db: &impl ConnectionTrait,
    run_id: i64,
    artist_id: i64,
) -> Result<bool, sea_orm::DbErr> {
    let own_payees = sea_orm::sea_query::Query::select()
        .column(payee::Column::Id)
        .from(payee::Entity)
        .and_where(payee::Column::ArtistId.eq(artist_id))
        .to_owned();
    Ok(payout::Entity::find()
        .filter(payout::Column::PayoutRunId.eq(run_id))
        .filter(payout::Column::PayeeId.in_subquery(own_payees))
        .one(db)
        .await?
        .is_some())
}

/// Implements [`Guarded`] for an entity: its name, read permission, and owner expression
/// (`|row, ctx, artist_id| async-expression yielding ApiResult<Owner>`).
macro_rules! guarded {
    ($module:ident, $name:literal, $read:expr, |$row:ident, $ctx:ident, $artist:ident| $owner:expr) => {
        impl Guarded for $module::Model {
            const NAME: &'static str = $name;
            const READ: Option<Permission> = $read;

            fn organization_id(&self) -> i64 {
                self.organization_id
            }

            #[allow(
                unused_variables,
                clippy::allow_attributes,
                reason = "not every owner needs them"
            )]
            async fn owner(&self, $ctx: &Context<'_>, $artist: i64) -> ApiResult<Owner> {
                let $row = self;
                $owner
            }

            async fn load(
                db: &DatabaseConnection,
                id: i64,
            ) -> Result<Option<Self>, sea_orm::DbErr> {
                $module::Entity::find_by_id(id).one(db).await
            }
        }

        impl From<Seen<$module::Model>> for $module::ActiveModel {
            fn from(seen: Seen<$module::Model>) -> Self {
                seen.0.into()
            }
        }
    };
}

use Permission as P;

impl Guarded for organization::Model {
    const NAME: &'static str = "Organization";
    const READ: Option<Permission> = None;
    fn organization_id(&self) -> i64 {
        self.id
    }
    async fn owner(&self, _ctx: &Context<'_>, _artist_id: i64) -> ApiResult<Owner> {
        Ok(Owner::Everyone)
    }
    async fn load(db: &DatabaseConnection, id: i64) -> Result<Option<Self>, sea_orm::DbErr> {
        organization::Entity::find_by_id(id).one(db).await
    }
}

guarded!(
    artist,
    "Artist",
    Some(P::ReadCatalogue),
    |row, ctx, artist| Ok(Owner::Artist(row.id))
);
guarded!(
    artist_profile,
    "ArtistProfile",
    Some(P::ReadCatalogue),
    |row, ctx, artist| Ok(Owner::Artist(row.artist_id))
);
guarded!(
    payee,
    "Payee",
    Some(P::ReadCatalogue),
    |row, ctx, artist| Ok(artist_or_label(row.artist_id))
);
guarded!(
    agreement,
    "Agreement",
    Some(P::ReadCatalogue),
    |row, ctx, artist| Ok(Owner::Artist(row.artist_id))
);
guarded!(
    release,
    "Release",
    Some(P::ReadCatalogue),
    |row, ctx, artist| Ok(Owner::Artist(row.artist_id))
);
guarded!(
    track,
    "Track",
    Some(P::ReadCatalogue),
    |row, ctx, artist| release_owner(ctx, row.release_id).await
);
guarded!(
    track_artist,
    "TrackArtist",
    Some(P::ReadCatalogue),
    |row, ctx, artist| track_owner(ctx, row.track_id).await
);
guarded!(
    split,
    "Split",
    Some(P::ReadCatalogue),
    |row, ctx, artist| release_owner(ctx, row.release_id).await
);
guarded!(
    split_share,
    "SplitShare",
    Some(P::ReadCatalogue),
    |row, ctx, artist| {
        let split = ctx
            .data_unchecked::<Loaders>()
            .split
            .load_one(row.split_id)
            .await?;
        match split {
            Some(split) => release_owner(ctx, split.release_id).await,
            None => Ok(Owner::Label),
        }
    }
);
guarded!(
    membership,
    "Member",
    Some(P::ReadCatalogue),
    |row, ctx, artist| Ok(artist_or_label(row.artist_id))
);
guarded!(
    invitation,
    "Invitation",
    Some(P::ManageMembers),
    |row, ctx, artist| Ok(Owner::Label)
);
guarded!(
    api_key,
    "ApiKey",
    Some(P::ManageMembers),
    |row, ctx, artist| Ok(Owner::Label)
);
guarded!(
    audit_log,
    "AuditEntry",
    Some(P::ManageMembers),
    |row, ctx, artist| Ok(Owner::Label)
);
guarded!(
    statement,
    "Statement",
    Some(P::ReadStatements),
    |row, ctx, artist| Ok(Owner::Label)
);
guarded!(
    statement_line,
    "StatementLine",
    Some(P::ReadStatements),
    |row, ctx, artist| Ok(Owner::Label)
);
guarded!(
    statement_error,
    "StatementError",
    Some(P::ReadStatements),
    |row, ctx, artist| Ok(Owner::Label)
);
guarded!(
    import_template,
    "ImportTemplate",
    Some(P::ReadStatements),
    |row, ctx, artist| Ok(Owner::Label)
);
guarded!(
    payout_run,
    "PayoutRun",
    Some(P::ReadMoney),
    |row, ctx, artist| {
        Ok(if run_pays_artist(ctx.db(), row.id, artist).await? {
            Owner::Artist(artist)
        } else {
            Owner::Label
        })
    }
);
guarded!(payout, "Payout", Some(P::ReadMoney), |row, ctx, artist| {
    payee_owner(ctx, Some(row.payee_id)).await
});
guarded!(
    ledger_entry,
    "LedgerEntry",
    Some(P::ReadMoney),
    |row, ctx, artist| payee_owner(ctx, row.payee_id).await
);
guarded!(
    recoupable,
    "Recoupable",
    Some(P::ReadMoney),
    |row, ctx, artist| Ok(artist_or_label(row.artist_id))
);
guarded!(
    webhook,
    "Webhook",
    Some(P::ManageWebhooks),
    |row, ctx, artist| Ok(Owner::Label)
);
guarded!(
    mail_outbox,
    "OutboxMail",
    Some(P::ManageMembers),
    |row, ctx, artist| Ok(Owner::Label)
);
guarded!(
    webhook_delivery,
    "WebhookDelivery",
    Some(P::ManageWebhooks),
    |row, ctx, artist| Ok(Owner::Label)
);

// Rates and remittances go with the statements they price and pay: the label's, read with the
// statements (a key that may write statements reads them too); no artist member sees them.
guarded!(
    exchange_rate,
    "ExchangeRate",
    Some(P::ReadStatements),
    |row, ctx, artist| Ok(Owner::Label)
);
guarded!(
    remittance,
    "Remittance",
    Some(P::ReadStatements),
    |row, ctx, artist| Ok(Owner::Label)
);
