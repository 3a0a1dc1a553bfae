//! Accounts: sign-up and login, organisations, members and invitations, API keys.

use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Duration, Utc};
use domain::money::Currency;
use entity::{api_key, auth_token, invitation, membership, organization, payee, user};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};

use super::access::{ContextExt, Permission};
use super::enums::{ApiScope, OrganizationKind, Role};
use super::error::{ApiError, ApiResult, UserError, UserErrorCode, UserErrors};
use super::guard::{self, Seen};
use super::ids::{self, Kind};
use super::roster::Artist;
use crate::auth::{self, ClientAddress, Principal};

const INVITATION_TTL_DAYS: i64 = 14;

// ---------------------------------------------------------------- objects

/// A person. Their email is shown to themself, and to those who may read personal details
/// about the membership they were reached through.
pub struct User {
    row: user::Model,
    email_visible: bool,
}

impl User {
    /// The caller's own account.
    #[must_use]
    pub fn own(row: user::Model) -> Self {
        Self {
            row,
            email_visible: true,
        }
    }

    /// The user of a membership the caller sees.
    async fn of_member(
        ctx: &Context<'_>,
        member: &Seen<membership::Model>,
        row: user::Model,
    ) -> ApiResult<Self> {
        let email_visible =
            ctx.principal().user_id() == Some(row.id) || member.reveal(ctx).await.is_ok();
        Ok(Self { row, email_visible })
    }
}

#[Object]
impl User {
    async fn id(&self) -> ID {
        ids::encode(Kind::User, self.row.id)
    }
    /// Personal: the user's own, or for owners, admins and managers of an organisation they
    /// are a member of.
    async fn email(&self) -> ApiResult<&str> {
        if self.email_visible {
            Ok(&self.row.email)
        } else {
            Err(ApiError::Forbidden(guard::permission_message(
                Permission::ReadPersonal,
            )))
        }
    }
    async fn name(&self) -> &str {
        &self.row.name
    }
}

/// The caller: a signed-in user or a partner's API key.
pub struct Viewer;

#[Object]
impl Viewer {
    async fn user(&self, ctx: &Context<'_>) -> Option<User> {
        match ctx.principal() {
            Principal::User { user, .. } => Some(User::own(user.clone())),
            _ => None,
        }
    }

    async fn api_key(&self, ctx: &Context<'_>) -> Option<ApiKey> {
        guard::own_api_key(ctx.principal()).map(ApiKey)
    }

    /// The organisations the caller belongs to, with the caller's role in each.
    async fn memberships(&self, ctx: &Context<'_>) -> Vec<Member> {
        guard::own_memberships(ctx.principal())
            .into_iter()
            .map(Member)
            .collect()
    }

    async fn organizations(
        &self,
        ctx: &Context<'_>,
    ) -> ApiResult<Vec<super::organization::Organization>> {
        let ids: Vec<i64> = match ctx.principal() {
            Principal::User { memberships, .. } => {
                memberships.iter().map(|m| m.organization_id).collect()
            }
            Principal::ApiKey { key, .. } => vec![key.organization_id],
            Principal::Anonymous => return Ok(Vec::new()),
        };
        let rows = organization::Entity::find()
            .filter(organization::Column::Id.is_in(ids))
            .all(ctx.db())
            .await?;
        Ok(guard::admit_all(ctx, rows)
            .await?
            .into_iter()
            .map(super::organization::Organization)
            .collect())
    }
}

/// A user's membership of an organisation.
pub struct Member(pub Seen<membership::Model>);

#[Object]
impl Member {
    async fn id(&self) -> ID {
        ids::encode(Kind::Member, self.0.id)
    }
    async fn organization_id(&self) -> ID {
        ids::encode(Kind::Organization, self.0.organization_id)
    }
    async fn role(&self) -> ApiResult<Role> {
        Role::from_db(&self.0.role)
    }
    async fn user(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<User>> {
        let loaders = ctx.data_unchecked::<super::loaders::Loaders>();
        let Some(row) = loaders.user.load_one(self.0.user_id).await? else {
            return Ok(None);
        };
        Ok(Some(User::of_member(ctx, &self.0, row).await?))
    }
    /// The roster artist an `artist` member is linked to.
    async fn artist(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Artist>> {
        let Some(id) = self.0.artist_id else {
            return Ok(None);
        };
        let loaders = ctx.data_unchecked::<super::loaders::Loaders>();
        let row = loaders.artist.load_one(id).await?;
        Ok(guard::admit_opt(ctx, row).await?.map(Artist))
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

pub struct Invitation(pub Seen<invitation::Model>);

#[Object]
impl Invitation {
    async fn id(&self) -> ID {
        ids::encode(Kind::Invitation, self.0.id)
    }
    async fn email(&self) -> &str {
        &self.0.email
    }
    async fn role(&self) -> ApiResult<Role> {
        Role::from_db(&self.0.role)
    }
    async fn artist_id(&self) -> Option<ID> {
        self.0.artist_id.map(|id| ids::encode(Kind::Artist, id))
    }
    async fn expires_at(&self) -> DateTime<Utc> {
        self.0.expires_at
    }
    async fn accepted_at(&self) -> Option<DateTime<Utc>> {
        self.0.accepted_at
    }
    /// When a member manager withdrew it; a revoked invitation cannot be accepted.
    async fn revoked_at(&self) -> Option<DateTime<Utc>> {
        self.0.revoked_at
    }
}

/// A partner's API key. Its secret is shown once, when created.
pub struct ApiKey(pub Seen<api_key::Model>);

#[Object]
impl ApiKey {
    async fn id(&self) -> ID {
        ids::encode(Kind::ApiKey, self.0.id)
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// The first characters of the secret, to recognise it by.
    async fn prefix(&self) -> &str {
        &self.0.token_prefix
    }
    async fn scopes(&self) -> Vec<ApiScope> {
        self.0
            .scopes
            .split_whitespace()
            .filter_map(|s| s.parse::<domain::auth::Scope>().ok().map(ApiScope::from))
            .collect()
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    async fn last_used_at(&self) -> Option<DateTime<Utc>> {
        self.0.last_used_at
    }
    async fn revoked_at(&self) -> Option<DateTime<Utc>> {
        self.0.revoked_at
    }
    /// After this the key is refused (UNAUTHENTICATED); null: until revoked.
    async fn expires_at(&self) -> Option<DateTime<Utc>> {
        self.0.expires_at
    }
}

// ---------------------------------------------------------------- inputs and payloads

#[derive(InputObject)]
pub struct SignUpInput {
    pub email: String,
    pub name: String,
    pub password: String,
}

#[derive(InputObject)]
pub struct LoginInput {
    pub email: String,
    pub password: String,
}

#[derive(SimpleObject, Default)]
pub struct AuthPayload {
    /// Bearer token for `Authorization: Bearer …`; shown once.
    pub token: Option<String>,
    pub user: Option<User>,
    pub user_errors: Vec<UserError>,
}

#[derive(InputObject)]
pub struct CreateOrganizationInput {
    pub name: String,
    pub kind: OrganizationKind,
    /// ISO 4217 code that statements are converted to.
    pub base_currency: String,
}

#[derive(SimpleObject, Default)]
pub struct CreateOrganizationPayload {
    pub organization: Option<super::organization::Organization>,
    pub user_errors: Vec<UserError>,
}

#[derive(InputObject)]
pub struct InviteMemberInput {
    pub organization_id: ID,
    pub email: String,
    pub role: Role,
    /// Required for the `ARTIST` role: the roster artist the member will see.
    pub artist_id: Option<ID>,
}

#[derive(SimpleObject, Default)]
pub struct InviteMemberPayload {
    pub invitation: Option<Invitation>,
    /// The secret to send to the invitee; shown once.
    pub invitation_token: Option<String>,
    pub user_errors: Vec<UserError>,
}

#[derive(InputObject)]
pub struct RemoveMemberInput {
    pub member_id: ID,
}

#[derive(SimpleObject, Default)]
pub struct RemoveMemberPayload {
    /// The member removed; null when nothing was removed.
    pub removed_member_id: Option<ID>,
    pub user_errors: Vec<UserError>,
}

#[derive(InputObject)]
pub struct ChangeMemberRoleInput {
    pub member_id: ID,
    pub role: Role,
    /// Required for the `ARTIST` role: the roster artist the member will see.
    pub artist_id: Option<ID>,
}

#[derive(SimpleObject, Default)]
pub struct ChangeMemberRolePayload {
    pub member: Option<Member>,
    pub user_errors: Vec<UserError>,
}

#[derive(SimpleObject, Default)]
pub struct LogoutPayload {
    /// Whether a session was ended (false when the token had already expired or ended).
    pub logged_out: bool,
    pub user_errors: Vec<UserError>,
}

/// The credential of the request as the client sent it, for `logout`, which ends exactly that
/// session, and for subscriptions, which resolve it again before every event they send.
#[derive(Clone, Debug)]
pub struct RequestCredential(pub Option<String>);

impl RequestCredential {
    /// Resolves the credential again (from the principal cache, which revocations, removals
    /// and logouts clear in every process that hears of them, or else from the database) and
    /// checks that it may still do `permission` in the organisation. A long-lived subscription
    /// calls this for every event, so it ends when access does.
    ///
    /// # Errors
    /// UNAUTHENTICATED once the credential names no one; FORBIDDEN once it lacks the permission.
    pub async fn recheck(
        &self,
        state: &crate::state::AppState,
        organization_id: i64,
        permission: Permission,
    ) -> ApiResult<super::access::OrgAccess> {
        let principal = state
            .principals
            .resolve(&state.db, self.0.as_deref())
            .await?;
        super::access::authorize(&principal, organization_id, permission)
    }
}

#[derive(InputObject)]
pub struct ChangePasswordInput {
    pub current_password: String,
    pub new_password: String,
}

#[derive(SimpleObject, Default)]
pub struct ChangePasswordPayload {
    /// Whether the password was changed.
    pub changed: bool,
    /// How many other sessions of the user were ended; the one that asked goes on.
    pub ended_sessions: u64,
    pub user_errors: Vec<UserError>,
}

#[derive(SimpleObject, Default)]
pub struct LogoutEverywherePayload {
    /// How many sessions were ended, the one that asked included.
    pub ended_sessions: u64,
    pub user_errors: Vec<UserError>,
}

#[derive(InputObject)]
pub struct RevokeInvitationInput {
    pub invitation_id: ID,
}

#[derive(SimpleObject, Default)]
pub struct RevokeInvitationPayload {
    pub invitation: Option<Invitation>,
    pub user_errors: Vec<UserError>,
}

#[derive(InputObject)]
pub struct AcceptInvitationInput {
    pub token: String,
}

#[derive(SimpleObject, Default)]
pub struct AcceptInvitationPayload {
    pub member: Option<Member>,
    pub user_errors: Vec<UserError>,
}

#[derive(InputObject)]
pub struct CreateApiKeyInput {
    pub organization_id: ID,
    pub name: String,
    pub scopes: Vec<ApiScope>,
    /// When the key stops working (UNAUTHENTICATED after it); must be in the future. Null:
    /// until revoked.
    pub expires_at: Option<DateTime<Utc>>,
}

#[derive(SimpleObject, Default)]
pub struct CreateApiKeyPayload {
    pub api_key: Option<ApiKey>,
    /// The key itself, for `Authorization: Bearer …`; shown once.
    pub secret: Option<String>,
    pub user_errors: Vec<UserError>,
}

#[derive(InputObject)]
pub struct RevokeApiKeyInput {
    pub api_key_id: ID,
}

#[derive(SimpleObject, Default)]
pub struct RevokeApiKeyPayload {
    pub api_key: Option<ApiKey>,
    pub user_errors: Vec<UserError>,
}

// ---------------------------------------------------------------- resolvers

#[derive(Default)]
pub struct AccountsQuery;

#[Object]
impl AccountsQuery {
    /// Who is calling. Works without credentials (everything is then empty).
    async fn viewer(&self) -> Viewer {
        Viewer
    }
}

#[derive(Default)]
pub struct AccountsMutation;

fn single_error(error: UserError) -> Vec<UserError> {
    vec![error]
}

/// The longest password accepted: argon2 hashes all of it, and nobody types more.
const MAX_PASSWORD_CHARS: usize = 1024;

/// A new password's problems, against `field`.
fn check_new_password(field: &str, password: &str, errors: &mut UserErrors) {
    let chars = password.chars().count();
    if chars < auth::MIN_PASSWORD_CHARS {
        errors.invalid(
            field,
            format!("use at least {} characters", auth::MIN_PASSWORD_CHARS),
        );
    } else if chars > MAX_PASSWORD_CHARS {
        errors.invalid(
            field,
            format!("use at most {MAX_PASSWORD_CHARS} characters"),
        );
    }
}

fn client_address(ctx: &Context<'_>) -> ClientAddress {
    ctx.data_opt::<ClientAddress>()
        .copied()
        .unwrap_or(ClientAddress(None))
}

/// Records a refused password attempt: a warning (never the password) and the failure counter.
fn login_failed(reason: &'static str, email: &str, address: ClientAddress) {
    tracing::warn!(
        reason,
        email,
        address = ?address.0,
        "password attempt refused"
    );
    crate::telemetry::Metrics::global()
        .login_failures
        .with_label_values(&[reason])
        .inc();
}

/// Hashes a password on a blocking thread (tens of milliseconds of CPU).
async fn hash_password(password: &str) -> ApiResult<String> {
    let password = password.to_owned();
    Ok(
        tokio::task::spawn_blocking(move || auth::hash_password(&password))
            .await
            .map_err(ApiError::internal)??,
    )
}

#[Object]
impl AccountsMutation {
    async fn sign_up(&self, ctx: &Context<'_>, input: SignUpInput) -> ApiResult<AuthPayload> {
        ctx.state().throttle.sign_up_attempt(client_address(ctx))?;
        let mut errors = UserErrors::default();
        let email = errors.check("email", domain::text::normalize_email(&input.email));
        let name = input.name.trim().to_owned();
        if name.is_empty() {
            errors.push(UserError::new(
                "name",
                UserErrorCode::Required,
                "a name is required",
            ));
        }
        check_new_password("password", &input.password, &mut errors);
        let Some(email) = email.filter(|_| errors.is_empty()) else {
            return Ok(AuthPayload {
                user_errors: errors.into_vec(),
                ..Default::default()
            });
        };
        let db = ctx.db();
        if user::Entity::find()
            .filter(user::Column::Email.eq(&email))
            .one(db)
            .await?
            .is_some()
        {
            return Ok(AuthPayload {
                user_errors: single_error(UserError::new(
                    "email",
                    UserErrorCode::Taken,
                    "an account with this email exists; log in instead",
                )),
                ..Default::default()
            });
        }
        let password_hash = hash_password(&input.password).await?;
        let txn = entity::db::begin_write(db).await?;
        let user = user::ActiveModel {
            email: Set(email),
            name: Set(name),
            password_hash: Set(password_hash),
            created_at: Set(Utc::now()),
            ..Default::default()
        }
        .insert(&txn)
        .await?;
        let ttl = Duration::from_std(ctx.state().config.token_ttl).map_err(ApiError::internal)?;
        let token = auth::issue_session(&txn, user.id, ttl).await?;
        txn.commit().await?;
        Ok(AuthPayload {
            token: Some(token),
            user: Some(User::own(user)),
            user_errors: Vec::new(),
        })
    }

    /// Starts a session. Attempts are limited per account and per client address
    /// (`RATE_LIMITED` past them, also for a request that asks many times under aliases); an
    /// unknown email takes as long as a wrong password.
    async fn login(&self, ctx: &Context<'_>, input: LoginInput) -> ApiResult<AuthPayload> {
        let db = ctx.db();
        let throttle = &ctx.state().throttle;
        let address = client_address(ctx);
        let email = domain::text::normalize_email(&input.email)
            .unwrap_or_else(|_| input.email.trim().to_lowercase());
        if let Err(retry) = throttle.password_attempt(&email, address) {
            login_failed("rate_limited", &email, address);
            return Err(retry.into());
        }
        let found = user::Entity::find()
            .filter(user::Column::Email.eq(&email))
            .one(db)
            .await?;
        // An unknown email is verified against a dummy hash: the same time as a wrong password.
        let verified = throttle
            .verify_password(
                &input.password,
                found.as_ref().map(|u| u.password_hash.as_str()),
            )
            .await;
        // One message for an unknown email and a wrong password: don't reveal which accounts exist.
        let Some(user) = found.filter(|_| verified) else {
            login_failed("invalid_credentials", &email, address);
            return Ok(AuthPayload {
                user_errors: single_error(UserError::new(
                    "password",
                    UserErrorCode::InvalidCredentials,
                    "email or password is wrong",
                )),
                ..Default::default()
            });
        };
        let ttl = Duration::from_std(ctx.state().config.token_ttl).map_err(ApiError::internal)?;
        let token = auth::issue_session(db, user.id, ttl).await?;
        Ok(AuthPayload {
            token: Some(token),
            user: Some(User::own(user)),
            user_errors: Vec::new(),
        })
    }

    async fn create_organization(
        &self,
        ctx: &Context<'_>,
        input: CreateOrganizationInput,
    ) -> ApiResult<CreateOrganizationPayload> {
        let Principal::User { user, .. } = ctx.principal() else {
            return Err(match ctx.principal() {
                Principal::Anonymous => ApiError::Unauthenticated,
                _ => ApiError::Forbidden("API keys cannot create organizations"),
            });
        };
        let mut errors = UserErrors::default();
        let name = input.name.trim().to_owned();
        if name.is_empty() {
            errors.push(UserError::new(
                "name",
                UserErrorCode::Required,
                "a name is required",
            ));
        }
        let currency = errors.check("baseCurrency", Currency::parse(&input.base_currency));
        let Some(currency) = currency.filter(|_| errors.is_empty()) else {
            return Ok(CreateOrganizationPayload {
                organization: None,
                user_errors: errors.into_vec(),
            });
        };
        let now = Utc::now();
        let txn = entity::db::begin_write(ctx.db()).await?;
        let org = organization::ActiveModel {
            name: Set(name.clone()),
            kind: Set(input.kind.as_db().to_owned()),
            base_currency: Set(currency.as_str().to_owned()),
            created_at: Set(now),
            analytics_version: Set(0),
            payout_period_months: Set(entity::organization::DEFAULT_PAYOUT_PERIOD_MONTHS),
            reserve_release_periods: Set(entity::organization::DEFAULT_RESERVE_RELEASE_PERIODS),
            ..Default::default()
        }
        .insert(&txn)
        .await?;
        membership::ActiveModel {
            organization_id: Set(org.id),
            user_id: Set(user.id),
            role: Set(domain::auth::Role::Owner.as_str().to_owned()),
            artist_id: Set(None),
            created_at: Set(now),
            ..Default::default()
        }
        .insert(&txn)
        .await?;
        // The label is a payee too: its share of every split is paid (or kept) like anyone's.
        payee::ActiveModel {
            organization_id: Set(org.id),
            name: Set(name),
            email: Set(None),
            kind: Set(domain::agreement::PayeeKind::Label.as_str().to_owned()),
            artist_id: Set(None),
            currency: Set(currency.as_str().to_owned()),
            minimum_payout_nanos: Set(0),
            payout_method: Set(None),
            reserve_ppb: Set(0),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        }
        .insert(&txn)
        .await?;
        txn.commit().await?;
        // The caller's cached principal lacks the new membership.
        ctx.state()
            .principals
            .user_changed(&ctx.state().events, user.id)
            .await;
        Ok(CreateOrganizationPayload {
            organization: Some(super::organization::Organization(guard::created_by_caller(
                org,
            ))),
            user_errors: Vec::new(),
        })
    }

    async fn invite_member(
        &self,
        ctx: &Context<'_>,
        input: InviteMemberInput,
    ) -> ApiResult<InviteMemberPayload> {
        let organization_id = decode_or_not_found(Kind::Organization, &input.organization_id)?;
        let access = ctx.authorize(organization_id, Permission::ManageMembers)?;
        let mut errors = UserErrors::default();
        let email = errors.check("email", domain::text::normalize_email(&input.email));
        let role: domain::auth::Role = input.role.into();
        if let Some(own) = access.role
            && !own.can_grant(role)
        {
            errors.push(UserError::new(
                "role",
                UserErrorCode::NotAllowed,
                "your role cannot grant this role",
            ));
        }
        let artist_id = artist_for_role(
            ctx,
            organization_id,
            input.artist_id.as_ref(),
            role,
            &mut errors,
        )
        .await?;
        let Some(email) = email.filter(|_| errors.is_empty()) else {
            return Ok(InviteMemberPayload {
                user_errors: errors.into_vec(),
                ..Default::default()
            });
        };
        let (secret, hash) = auth::new_secret("impi_");
        let now = Utc::now();
        let invitation = invitation::ActiveModel {
            organization_id: Set(organization_id),
            email: Set(email),
            role: Set(role.as_str().to_owned()),
            artist_id: Set(artist_id),
            token_hash: Set(hash),
            invited_by_user_id: Set(ctx.principal().user_id().unwrap_or_default()),
            created_at: Set(now),
            expires_at: Set(now + Duration::days(INVITATION_TTL_DAYS)),
            accepted_at: Set(None),
            accepted_by_user_id: Set(None),
            ..Default::default()
        };
        // The invitation and its mail (the accept link) commit together: the outbox.
        let txn = entity::db::begin_write(ctx.db()).await?;
        let invitation = invitation.insert(&txn).await?;
        let mail = workers::mail::outbox::invitation(
            &txn,
            &ctx.state().mailer.settings,
            &invitation,
            &secret,
        )
        .await?;
        txn.commit().await?;
        workers::mail::outbox::push(&ctx.state().queue, &Vec::from_iter(mail)).await;
        Ok(InviteMemberPayload {
            invitation: guard::admit(ctx, invitation).await?.map(Invitation),
            invitation_token: Some(secret),
            user_errors: Vec::new(),
        })
    }

    async fn accept_invitation(
        &self,
        ctx: &Context<'_>,
        input: AcceptInvitationInput,
    ) -> ApiResult<AcceptInvitationPayload> {
        let Principal::User { user, .. } = ctx.principal() else {
            return Err(ApiError::Unauthenticated);
        };
        ctx.state()
            .throttle
            .invitation_attempt(user.id, client_address(ctx))?;
        let db = ctx.db();
        let now = Utc::now();
        let found = invitation::Entity::find()
            .filter(invitation::Column::TokenHash.eq(auth::hash_secret(input.token.trim())))
            .one(db)
            .await?;
        let invalid = |message: &str| {
            Ok(AcceptInvitationPayload {
                member: None,
                user_errors: single_error(UserError::invalid("token", message)),
            })
        };
        let Some(inv) = found else {
            return invalid("this invitation does not exist");
        };
        if inv.accepted_at.is_some() {
            return invalid("this invitation was already accepted");
        }
        if inv.revoked_at.is_some() {
            return invalid("this invitation was revoked; ask for a new one");
        }
        if inv.expires_at <= now {
            return invalid("this invitation has expired; ask for a new one");
        }
        if inv.email != user.email {
            return invalid("this invitation was sent to another email address");
        }
        let txn = entity::db::begin_write(db).await?;
        // An invitation never changes a member's role: that is `changeMemberRole`, with its
        // own rules (who may grant what, the last owner).
        if membership::Entity::find()
            .filter(membership::Column::OrganizationId.eq(inv.organization_id))
            .filter(membership::Column::UserId.eq(user.id))
            .one(&txn)
            .await?
            .is_some()
        {
            return Ok(AcceptInvitationPayload {
                member: None,
                user_errors: single_error(UserError::new(
                    "token",
                    UserErrorCode::NotAllowed,
                    "you are already a member of this organization; ask a manager to change your role",
                )),
            });
        }
        // Taken only while still pending: a revocation or another acceptance meanwhile wins.
        let taken = invitation::Entity::update_many()
            .col_expr(
                invitation::Column::AcceptedAt,
                sea_orm::sea_query::Expr::value(now),
            )
            .col_expr(
                invitation::Column::AcceptedByUserId,
                sea_orm::sea_query::Expr::value(user.id),
            )
            .filter(invitation::Column::Id.eq(inv.id))
            .filter(invitation::Column::AcceptedAt.is_null())
            .filter(invitation::Column::RevokedAt.is_null())
            .exec(&txn)
            .await?
            .rows_affected;
        if taken != 1 {
            return invalid("this invitation was revoked or accepted meanwhile");
        }
        let member = membership::ActiveModel {
            organization_id: Set(inv.organization_id),
            user_id: Set(user.id),
            role: Set(inv.role.clone()),
            artist_id: Set(inv.artist_id),
            created_at: Set(now),
            ..Default::default()
        }
        .insert(&txn)
        .await?;
        txn.commit().await?;
        // A new membership.
        ctx.state()
            .principals
            .user_changed(&ctx.state().events, user.id)
            .await;
        Ok(AcceptInvitationPayload {
            member: Some(Member(guard::joined_by_caller(member))),
            user_errors: Vec::new(),
        })
    }

    async fn create_api_key(
        &self,
        ctx: &Context<'_>,
        input: CreateApiKeyInput,
    ) -> ApiResult<CreateApiKeyPayload> {
        let organization_id = decode_or_not_found(Kind::Organization, &input.organization_id)?;
        ctx.authorize(organization_id, Permission::ManageMembers)?;
        let mut errors = UserErrors::default();
        let name = input.name.trim().to_owned();
        if name.is_empty() {
            errors.push(UserError::new(
                "name",
                UserErrorCode::Required,
                "name the key after the partner that uses it",
            ));
        }
        if input.scopes.is_empty() {
            errors.push(UserError::new(
                "scopes",
                UserErrorCode::Required,
                "give the key at least one scope",
            ));
        }
        if input.expires_at.is_some_and(|at| at <= Utc::now()) {
            errors.invalid("expiresAt", "a key must expire in the future");
        }
        if !errors.is_empty() {
            return Ok(CreateApiKeyPayload {
                user_errors: errors.into_vec(),
                ..Default::default()
            });
        }
        let mut scopes: Vec<&str> = input.scopes.iter().map(|s| s.as_db()).collect();
        scopes.sort_unstable();
        scopes.dedup();
        let (secret, hash) = auth::new_secret(auth::API_KEY_PREFIX);
        let key = api_key::ActiveModel {
            organization_id: Set(organization_id),
            name: Set(name),
            token_prefix: Set(secret.chars().take(12).collect()),
            token_hash: Set(hash),
            scopes: Set(scopes.join(" ")),
            created_by_user_id: Set(ctx.principal().user_id()),
            created_at: Set(Utc::now()),
            last_used_at: Set(None),
            revoked_at: Set(None),
            expires_at: Set(input.expires_at),
            ..Default::default()
        }
        .insert(ctx.db())
        .await?;
        Ok(CreateApiKeyPayload {
            api_key: guard::admit(ctx, key).await?.map(ApiKey),
            secret: Some(secret),
            user_errors: Vec::new(),
        })
    }

    async fn revoke_api_key(
        &self,
        ctx: &Context<'_>,
        input: RevokeApiKeyInput,
    ) -> ApiResult<RevokeApiKeyPayload> {
        let id = decode_or_not_found(Kind::ApiKey, &input.api_key_id)?;
        let key = api_key::Entity::find_by_id(id)
            .one(ctx.db())
            .await?
            .ok_or(ApiError::NotFound("API key"))?;
        ctx.authorize(key.organization_id, Permission::ManageMembers)?;
        let key = if key.revoked_at.is_none() {
            let mut active: api_key::ActiveModel = key.into();
            active.revoked_at = Set(Some(Utc::now()));
            let revoked = active.update(ctx.db()).await?;
            // Refused from the next request on in this process; elsewhere within the cache TTL.
            ctx.state()
                .principals
                .api_key_revoked(&ctx.state().events, revoked.id)
                .await;
            revoked
        } else {
            key
        };
        Ok(RevokeApiKeyPayload {
            api_key: guard::admit(ctx, key).await?.map(ApiKey),
            user_errors: Vec::new(),
        })
    }

    /// Removes a member from the organisation: from the next request on (in this process; in
    /// any other within its credential cache's lifetime) they see nothing of it. Owners and
    /// admins may remove members whose role they could grant; the last owner stays.
    async fn remove_member(
        &self,
        ctx: &Context<'_>,
        input: RemoveMemberInput,
    ) -> ApiResult<RemoveMemberPayload> {
        let (member, own) = managed_member(ctx, &input.member_id).await?;
        let role = member_role(&member)?;
        let refuse = |message: &str| {
            Ok(RemoveMemberPayload {
                removed_member_id: None,
                user_errors: single_error(UserError::new(
                    "memberId",
                    UserErrorCode::NotAllowed,
                    message,
                )),
            })
        };
        if own.is_some_and(|own| !own.can_grant(role)) {
            return refuse("your role cannot remove a member with this role");
        }
        let txn = entity::db::begin_write(ctx.db()).await?;
        if role == domain::auth::Role::Owner
            && owner_count(&txn, member.organization_id).await? <= 1
        {
            return refuse("the last owner cannot be removed; make another member owner first");
        }
        membership::Entity::delete_by_id(member.id)
            .exec(&txn)
            .await?;
        super::audit::record(
            &txn,
            ctx.principal(),
            member.organization_id,
            super::audit::Change {
                action: "member.remove",
                entity_type: "membership",
                entity_id: member.id,
                before: super::audit::snapshot(&member),
                after: None,
            },
        )
        .await?;
        txn.commit().await?;
        ctx.state()
            .principals
            .user_changed(&ctx.state().events, member.user_id)
            .await;
        Ok(RemoveMemberPayload {
            removed_member_id: Some(ids::encode(Kind::Member, member.id)),
            user_errors: Vec::new(),
        })
    }

    /// Gives a member another role (and, for `ARTIST`, the roster artist they see). Owners and
    /// admins may change a role they could grant into another they could grant; the last owner
    /// stays owner.
    async fn change_member_role(
        &self,
        ctx: &Context<'_>,
        input: ChangeMemberRoleInput,
    ) -> ApiResult<ChangeMemberRolePayload> {
        let (member, own) = managed_member(ctx, &input.member_id).await?;
        let current = member_role(&member)?;
        let role: domain::auth::Role = input.role.into();
        let mut errors = UserErrors::default();
        if own.is_some_and(|own| !own.can_grant(current) || !own.can_grant(role)) {
            errors.push(UserError::new(
                "role",
                UserErrorCode::NotAllowed,
                "your role cannot grant this role or change this member's",
            ));
        }
        let artist_id = artist_for_role(
            ctx,
            member.organization_id,
            input.artist_id.as_ref(),
            role,
            &mut errors,
        )
        .await?;
        if !errors.is_empty() {
            return Ok(ChangeMemberRolePayload {
                member: None,
                user_errors: errors.into_vec(),
            });
        }
        let txn = entity::db::begin_write(ctx.db()).await?;
        if current == domain::auth::Role::Owner
            && role != domain::auth::Role::Owner
            && owner_count(&txn, member.organization_id).await? <= 1
        {
            return Ok(ChangeMemberRolePayload {
                member: None,
                user_errors: single_error(UserError::new(
                    "role",
                    UserErrorCode::NotAllowed,
                    "the last owner must stay owner; make another member owner first",
                )),
            });
        }
        let before = super::audit::snapshot(&member);
        let mut active: membership::ActiveModel = member.into();
        active.role = Set(role.as_str().to_owned());
        active.artist_id = Set(artist_id);
        let member = active.update(&txn).await?;
        super::audit::record(
            &txn,
            ctx.principal(),
            member.organization_id,
            super::audit::Change {
                action: "member.change_role",
                entity_type: "membership",
                entity_id: member.id,
                before,
                after: super::audit::snapshot(&member),
            },
        )
        .await?;
        txn.commit().await?;
        ctx.state()
            .principals
            .user_changed(&ctx.state().events, member.user_id)
            .await;
        Ok(ChangeMemberRolePayload {
            member: guard::admit(ctx, member).await?.map(Member),
            user_errors: Vec::new(),
        })
    }

    /// Ends the session whose token made this request; the token is refused from then on. Other
    /// sessions of the user go on. An API key is revoked with `revokeApiKey` instead.
    async fn logout(&self, ctx: &Context<'_>) -> ApiResult<LogoutPayload> {
        let Principal::User { user, .. } = ctx.principal() else {
            if matches!(ctx.principal(), Principal::ApiKey { .. }) {
                return Ok(LogoutPayload {
                    logged_out: false,
                    user_errors: single_error(UserError::new(
                        "token",
                        UserErrorCode::NotAllowed,
                        "an API key has no session; revoke it with revokeApiKey",
                    )),
                });
            }
            return Err(ApiError::Unauthenticated);
        };
        let Some(secret) = ctx
            .data_opt::<RequestCredential>()
            .and_then(|credential| credential.0.as_deref())
        else {
            return Err(ApiError::Unauthenticated);
        };
        let ended = auth_token::Entity::delete_many()
            .filter(auth_token::Column::TokenHash.eq(auth::hash_secret(secret.trim())))
            .filter(auth_token::Column::UserId.eq(user.id))
            .exec(ctx.db())
            .await?
            .rows_affected;
        ctx.state()
            .principals
            .user_changed(&ctx.state().events, user.id)
            .await;
        Ok(LogoutPayload {
            logged_out: ended > 0,
            user_errors: Vec::new(),
        })
    }

    /// Ends every session of the user, the one that asked included. Subscriptions opened with
    /// them end at their next event.
    async fn logout_everywhere(&self, ctx: &Context<'_>) -> ApiResult<LogoutEverywherePayload> {
        let user_id = match ctx.principal() {
            Principal::User { user, .. } => user.id,
            Principal::ApiKey { .. } => {
                return Ok(LogoutEverywherePayload {
                    ended_sessions: 0,
                    user_errors: single_error(UserError::new(
                        "token",
                        UserErrorCode::NotAllowed,
                        "an API key has no session; revoke it with revokeApiKey",
                    )),
                });
            }
            Principal::Anonymous => return Err(ApiError::Unauthenticated),
        };
        let ended = auth_token::Entity::delete_many()
            .filter(auth_token::Column::UserId.eq(user_id))
            .exec(ctx.db())
            .await?
            .rows_affected;
        ctx.state()
            .principals
            .user_changed(&ctx.state().events, user_id)
            .await;
        Ok(LogoutEverywherePayload {
            ended_sessions: ended,
            user_errors: Vec::new(),
        })
    }

    /// Changes the caller's password, given the current one, and ends the user's other
    /// sessions; the session that asked goes on. Attempts count against the login limits.
    async fn change_password(
        &self,
        ctx: &Context<'_>,
        input: ChangePasswordInput,
    ) -> ApiResult<ChangePasswordPayload> {
        let user_id = match ctx.principal() {
            Principal::User { user, .. } => user.id,
            Principal::ApiKey { .. } => {
                return Ok(ChangePasswordPayload {
                    user_errors: single_error(UserError::new(
                        "currentPassword",
                        UserErrorCode::NotAllowed,
                        "an API key has no password",
                    )),
                    ..Default::default()
                });
            }
            Principal::Anonymous => return Err(ApiError::Unauthenticated),
        };
        let Some(secret) = ctx
            .data_opt::<RequestCredential>()
            .and_then(|credential| credential.0.as_deref())
        else {
            return Err(ApiError::Unauthenticated);
        };
        let db = ctx.db();
        // The hash as stored now, not as the cached principal last saw it.
        let user = user::Entity::find_by_id(user_id)
            .one(db)
            .await?
            .ok_or(ApiError::Unauthenticated)?;
        let throttle = &ctx.state().throttle;
        let address = client_address(ctx);
        if let Err(retry) = throttle.password_attempt(&user.email, address) {
            login_failed("rate_limited", &user.email, address);
            return Err(retry.into());
        }
        let mut errors = UserErrors::default();
        check_new_password("newPassword", &input.new_password, &mut errors);
        if !throttle
            .verify_password(&input.current_password, Some(&user.password_hash))
            .await
        {
            login_failed("invalid_credentials", &user.email, address);
            errors.push(UserError::new(
                "currentPassword",
                UserErrorCode::InvalidCredentials,
                "the current password is wrong",
            ));
        }
        if !errors.is_empty() {
            return Ok(ChangePasswordPayload {
                user_errors: errors.into_vec(),
                ..Default::default()
            });
        }
        let password_hash = hash_password(&input.new_password).await?;
        let txn = entity::db::begin_write(db).await?;
        let mut active: user::ActiveModel = user.into();
        active.password_hash = Set(password_hash);
        active.update(&txn).await?;
        let ended = auth_token::Entity::delete_many()
            .filter(auth_token::Column::UserId.eq(user_id))
            .filter(auth_token::Column::TokenHash.ne(auth::hash_secret(secret.trim())))
            .exec(&txn)
            .await?
            .rows_affected;
        txn.commit().await?;
        ctx.state()
            .principals
            .user_changed(&ctx.state().events, user_id)
            .await;
        Ok(ChangePasswordPayload {
            changed: true,
            ended_sessions: ended,
            user_errors: Vec::new(),
        })
    }

    /// Withdraws an invitation that was not accepted yet: its token is refused from then on.
    /// Who may manage the organisation's members may revoke its invitations.
    async fn revoke_invitation(
        &self,
        ctx: &Context<'_>,
        input: RevokeInvitationInput,
    ) -> ApiResult<RevokeInvitationPayload> {
        let inv: Seen<invitation::Model> = guard::fetch(
            ctx,
            Kind::Invitation,
            &input.invitation_id,
            Permission::ManageMembers,
        )
        .await?;
        let (id, db) = (inv.id, ctx.db());
        if inv.accepted_at.is_some() {
            return Ok(RevokeInvitationPayload {
                invitation: Some(Invitation(inv)),
                user_errors: single_error(UserError::new(
                    "invitationId",
                    UserErrorCode::NotAllowed,
                    "this invitation was already accepted; remove the member instead",
                )),
            });
        }
        if inv.revoked_at.is_some() {
            return Ok(RevokeInvitationPayload {
                invitation: Some(Invitation(inv)),
                user_errors: Vec::new(),
            });
        }
        let txn = entity::db::begin_write(db).await?;
        // Only while still pending: an acceptance meanwhile wins, and is reported.
        let revoked = invitation::Entity::update_many()
            .col_expr(
                invitation::Column::RevokedAt,
                sea_orm::sea_query::Expr::value(Utc::now()),
            )
            .filter(invitation::Column::Id.eq(inv.id))
            .filter(invitation::Column::AcceptedAt.is_null())
            .filter(invitation::Column::RevokedAt.is_null())
            .exec(&txn)
            .await?
            .rows_affected;
        let after = invitation::Entity::find_by_id(id)
            .one(&txn)
            .await?
            .ok_or(ApiError::NotFound("Invitation"))?;
        if revoked == 1 {
            super::audit::record(
                &txn,
                ctx.principal(),
                after.organization_id,
                super::audit::Change {
                    action: "invitation.revoke",
                    entity_type: "invitation",
                    entity_id: after.id,
                    before: super::audit::snapshot(&*inv),
                    after: super::audit::snapshot(&after),
                },
            )
            .await?;
        }
        txn.commit().await?;
        let user_errors = if after.accepted_at.is_some() {
            single_error(UserError::new(
                "invitationId",
                UserErrorCode::NotAllowed,
                "this invitation was already accepted; remove the member instead",
            ))
        } else {
            Vec::new()
        };
        Ok(RevokeInvitationPayload {
            invitation: guard::admit(ctx, after).await?.map(Invitation),
            user_errors,
        })
    }
}

/// The roster artist an `ARTIST` member is linked to: required for that role, refused for the
/// others. Problems go to `errors`.
async fn artist_for_role(
    ctx: &Context<'_>,
    organization_id: i64,
    artist_id: Option<&ID>,
    role: domain::auth::Role,
    errors: &mut UserErrors,
) -> ApiResult<Option<i64>> {
    Ok(match (artist_id, role) {
        (Some(id), domain::auth::Role::Artist) => {
            match super::refs::find_artist(ctx.db(), organization_id, id).await? {
                Ok(artist) => Some(artist.id),
                Err(e) => {
                    errors.push(e.at("artistId"));
                    None
                }
            }
        }
        (None, domain::auth::Role::Artist) => {
            errors.push(UserError::new(
                "artistId",
                UserErrorCode::Required,
                "an artist member must be linked to a roster artist",
            ));
            None
        }
        (Some(_), _) => {
            errors.invalid("artistId", "only an artist member is linked to an artist");
            None
        }
        (None, _) => None,
    })
}

/// A member of an organisation the caller may manage the members of; with the caller's role
/// there (none for an API key, which cannot manage members anyway).
async fn managed_member(
    ctx: &Context<'_>,
    member_id: &ID,
) -> ApiResult<(membership::Model, Option<domain::auth::Role>)> {
    let id = decode_or_not_found(Kind::Member, member_id)?;
    let member = membership::Entity::find_by_id(id)
        .one(ctx.db())
        .await?
        .ok_or(ApiError::NotFound("Member"))?;
    let access = ctx.authorize(member.organization_id, Permission::ManageMembers)?;
    Ok((member, access.role))
}

/// How many owners the organisation has: the last one can be neither removed nor demoted, or
/// nobody could manage the organisation any more.
async fn owner_count(db: &impl sea_orm::ConnectionTrait, organization_id: i64) -> ApiResult<u64> {
    use sea_orm::PaginatorTrait;
    Ok(membership::Entity::find()
        .filter(membership::Column::OrganizationId.eq(organization_id))
        .filter(membership::Column::Role.eq(domain::auth::Role::Owner.as_str()))
        .count(db)
        .await?)
}

fn member_role(member: &membership::Model) -> ApiResult<domain::auth::Role> {
    member
        .role
        .parse()
        .map_err(|e| ApiError::internal(anyhow::anyhow!("membership {}: {e}", member.id)))
}

/// An id argument that does not decode names nothing the caller can see: NOT_FOUND.
///
/// # Errors
/// NOT_FOUND for a malformed id or one of another kind.
pub fn decode_or_not_found(kind: Kind, id: &ID) -> ApiResult<i64> {
    ids::decode(kind, id).map_err(|_| ApiError::NotFound(kind.name()))
}
