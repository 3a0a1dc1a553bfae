//! Authentication: password hashes, bearer tokens, API keys, and who is calling.
//!
//! Passwords are hashed with argon2id. Session tokens and API keys are random 256-bit secrets
//! shown to the client once; only their SHA-256 is stored, so a database leak does not leak a
//! usable credential (a fast hash is enough for a random secret; argon2 is for guessable ones).
//!
//! A resolved credential is kept for a short time in a [`PrincipalCache`], so that a request
//! with a known token costs no query; see there for how revocation reaches it.
//!
//! Guessing is throttled by a [`Throttle`]: logins, sign-ups, invitation acceptances and
//! password changes per account and per client address, API-key use per key, and unknown
//! tokens per client address. A login for an unknown email verifies the password against a
//! dummy hash, so it costs the same time as a wrong password.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{LazyLock, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use domain::auth::{Role, Scope};
use entity::{api_key, auth_token, membership, user};
use governor::clock::Clock;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use rand::RngCore;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, DatabaseConnection, EntityTrait, QueryFilter, Set,
};
use sha2::{Digest, Sha256};
use tokio::sync::broadcast;
use workers::{Event, EventBus};

/// How a session token starts.
pub const SESSION_TOKEN_PREFIX: &str = "imp_";
/// How an API key starts.
pub const API_KEY_PREFIX: &str = "impk_";
/// The shortest password accepted.
pub const MIN_PASSWORD_CHARS: usize = 10;

/// # Errors
/// Only if the hasher itself fails (it does not for valid parameters).
pub fn hash_password(password: &str) -> anyhow::Result<String> {
    let mut salt_bytes = [0_u8; 16];
    rand::rng().fill_bytes(&mut salt_bytes);
    let salt = SaltString::encode_b64(&salt_bytes).map_err(|e| anyhow::anyhow!("salt: {e}"))?;
    let hash = Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map_err(|e| anyhow::anyhow!("argon2: {e}"))?;
    Ok(hash.to_string())
}

#[must_use]
pub fn verify_password(password: &str, stored: &str) -> bool {
    PasswordHash::new(stored).is_ok_and(|parsed| {
        Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
    })
}

/// A new secret with its prefix, and the hash to store.
#[must_use]
pub fn new_secret(prefix: &str) -> (String, String) {
    let mut bytes = [0_u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let secret = format!("{prefix}{}", URL_SAFE_NO_PAD.encode(bytes));
    let hash = hash_secret(&secret);
    (secret, hash)
}

/// Starts a session for a user that lasts `ttl`; returns its token (only its hash is stored).
///
/// # Errors
/// Database failures.
pub async fn issue_session(
    db: &impl sea_orm::ConnectionTrait,
    user_id: i64,
    ttl: chrono::Duration,
) -> Result<String, sea_orm::DbErr> {
    let (secret, hash) = new_secret(SESSION_TOKEN_PREFIX);
    let now = Utc::now();
    auth_token::ActiveModel {
        user_id: Set(user_id),
        token_hash: Set(hash),
        created_at: Set(now),
        expires_at: Set(now + ttl),
        last_used_at: Set(None),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(secret)
}

/// The SHA-256 of a secret, in hex: what is stored in place of the secret.
#[must_use]
pub fn hash_secret(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// A hash of no one's password, verified when a login names an unknown email so that the
/// answer takes as long as for a wrong password (and so does not tell which accounts exist).
static DUMMY_HASH: LazyLock<String> = LazyLock::new(|| {
    let mut password = [0_u8; 32];
    rand::rng().fill_bytes(&mut password);
    hash_password(&hex::encode(password)).unwrap_or_default()
});

/// Where a request came from: the peer address of its connection. A proxy in front of Imprint
/// is one address for all its clients; its own limits apply there.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientAddress(pub Option<IpAddr>);

/// Refused by a rate limit: retry after this many seconds (at least 1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryAfter(pub u64);

impl From<RetryAfter> for crate::graphql::error::ApiError {
    fn from(RetryAfter(seconds): RetryAfter) -> Self {
        Self::RateLimited {
            retry_after_seconds: seconds,
        }
    }
}

/// Past this many keys a limiter drops the ones whose quota is whole again, so a flood of
/// distinct emails or addresses does not grow it without bound.
const THROTTLE_KEYS: usize = 50_000;

/// One keyed GCRA limiter (`governor`): `n` attempts per `window`, `n` of them at once, then
/// one more each `window / n`.
#[derive(Debug)]
struct Limit<K: Hash + Eq + Clone>(Option<DefaultKeyedRateLimiter<K>>);

impl<K: Hash + Eq + Clone> Limit<K> {
    fn new(n: u32, window: Duration) -> Self {
        Self(NonZeroU32::new(n).and_then(|burst| {
            Quota::with_period(window / n).map(|quota| RateLimiter::keyed(quota.allow_burst(burst)))
        }))
    }

    /// Takes one attempt from `key`'s quota.
    fn check(&self, key: &K) -> Result<(), RetryAfter> {
        let Some(limiter) = &self.0 else {
            return Ok(());
        };
        let outcome = limiter.check_key(key);
        if limiter.len() > THROTTLE_KEYS {
            limiter.retain_recent();
        }
        outcome.map_err(|not_until| {
            let wait = not_until.wait_time_from(limiter.clock().now());
            RetryAfter((wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1))
        })
    }
}

/// The rate limits of one process (see [`crate::config::RateLimits`]), and a count of the
/// password verifications it made.
#[derive(Debug)]
pub struct Throttle {
    login_per_account: Limit<String>,
    login_per_address: Limit<IpAddr>,
    sign_up_per_address: Limit<IpAddr>,
    api_key_per_key: Limit<i64>,
    bad_tokens_per_address: Limit<IpAddr>,
    password_checks: AtomicU64,
}

impl Throttle {
    #[must_use]
    pub fn new(limits: &crate::config::RateLimits) -> Self {
        // Hashed now rather than by the first login for an unknown email, which would then be
        // the slow one.
        LazyLock::force(&DUMMY_HASH);
        Self {
            login_per_account: Limit::new(limits.login_per_account, limits.window),
            login_per_address: Limit::new(limits.login_per_address, limits.window),
            sign_up_per_address: Limit::new(limits.sign_up_per_address, limits.window),
            api_key_per_key: Limit::new(limits.api_key_per_key, limits.window),
            bad_tokens_per_address: Limit::new(limits.bad_tokens_per_address, limits.window),
            password_checks: AtomicU64::new(0),
        }
    }

    /// A password attempt (`login`, `changePassword`) on `account` (a normalised email) from
    /// `address`. The address is charged first, so one address cannot lock an account out by
    /// itself beyond its own quota.
    ///
    /// # Errors
    /// [`RetryAfter`] when either quota is spent.
    pub fn password_attempt(
        &self,
        account: &str,
        address: ClientAddress,
    ) -> Result<(), RetryAfter> {
        if let Some(ip) = address.0 {
            self.login_per_address.check(&ip)?;
        }
        self.login_per_account.check(&format!("email:{account}"))
    }

    /// An `acceptInvitation` attempt by `user_id` from `address`.
    ///
    /// # Errors
    /// [`RetryAfter`] when either quota is spent.
    pub fn invitation_attempt(
        &self,
        user_id: i64,
        address: ClientAddress,
    ) -> Result<(), RetryAfter> {
        if let Some(ip) = address.0 {
            self.login_per_address.check(&ip)?;
        }
        self.login_per_account.check(&format!("user:{user_id}"))
    }

    /// A `signUp` attempt from `address`.
    ///
    /// # Errors
    /// [`RetryAfter`] when the quota is spent.
    pub fn sign_up_attempt(&self, address: ClientAddress) -> Result<(), RetryAfter> {
        match address.0 {
            Some(ip) => self.sign_up_per_address.check(&ip),
            None => Ok(()),
        }
    }

    /// A request made with the API key `api_key_id`.
    ///
    /// # Errors
    /// [`RetryAfter`] when the key's quota is spent.
    pub fn api_key_use(&self, api_key_id: i64) -> Result<(), RetryAfter> {
        self.api_key_per_key.check(&api_key_id)
    }

    /// A bearer token that named no one (unknown, expired or revoked), from `address`.
    ///
    /// # Errors
    /// [`RetryAfter`] when the address has sent too many.
    pub fn bad_token(&self, address: ClientAddress) -> Result<(), RetryAfter> {
        match address.0 {
            Some(ip) => self.bad_tokens_per_address.check(&ip),
            None => Ok(()),
        }
    }

    /// Verifies `password` against the stored hash, or, when there is none (an unknown email),
    /// against a dummy one so that both take the time of one argon2 verification. Runs on a
    /// blocking thread: a verification is tens of milliseconds of CPU.
    pub async fn verify_password(&self, password: &str, stored: Option<&str>) -> bool {
        self.password_checks.fetch_add(1, Ordering::Relaxed);
        let known = stored.is_some();
        let stored = stored.map_or_else(|| DUMMY_HASH.clone(), str::to_owned);
        let password = password.to_owned();
        let matches = tokio::task::spawn_blocking(move || verify_password(&password, &stored))
            .await
            .unwrap_or(false);
        known && matches
    }

    /// Passwords verified so far (against a real or the dummy hash), for tests.
    #[must_use]
    pub fn password_checks(&self) -> u64 {
        self.password_checks.load(Ordering::Relaxed)
    }
}

/// Who is calling, resolved once per request.
#[derive(Clone, Debug)]
pub enum Principal {
    /// No credential, or one that is unknown, expired or revoked.
    Anonymous,
    /// A signed-in user, with every membership they hold.
    User {
        user: user::Model,
        memberships: Vec<membership::Model>,
    },
    /// A partner's API key, with its scopes.
    ApiKey {
        key: api_key::Model,
        scopes: Vec<Scope>,
    },
}

impl Principal {
    /// Resolves the `Authorization: Bearer …` value. An unknown, expired or revoked credential
    /// resolves to `Anonymous`, and the resolvers then say `UNAUTHENTICATED`.
    ///
    /// # Errors
    /// Database failures only.
    pub async fn resolve(
        db: &DatabaseConnection,
        bearer: Option<&str>,
    ) -> Result<Self, sea_orm::DbErr> {
        let Some(secret) = bearer.map(str::trim).filter(|s| !s.is_empty()) else {
            return Ok(Self::Anonymous);
        };
        Ok(Self::lookup(db, secret, &hash_secret(secret)).await?.0)
    }

    /// Reads the credential whose SHA-256 (hex) is `hash` from the database; with the
    /// principal, the time the credential expires, if it does.
    async fn lookup(
        db: &DatabaseConnection,
        secret: &str,
        hash: &str,
    ) -> Result<(Self, Option<DateTime<Utc>>), sea_orm::DbErr> {
        let now = Utc::now();
        if secret.starts_with(API_KEY_PREFIX) {
            let Some(key) = api_key::Entity::find()
                .filter(api_key::Column::TokenHash.eq(hash))
                .filter(api_key::Column::RevokedAt.is_null())
                .filter(
                    Condition::any()
                        .add(api_key::Column::ExpiresAt.is_null())
                        .add(api_key::Column::ExpiresAt.gt(now)),
                )
                .one(db)
                .await?
            else {
                return Ok((Self::Anonymous, None));
            };
            let scopes = key
                .scopes
                .split_whitespace()
                .filter_map(|s| s.parse().ok())
                .collect();
            touch_api_key(db, &key).await;
            let expires_at = key.expires_at;
            return Ok((Self::ApiKey { key, scopes }, expires_at));
        }
        let Some(token) = auth_token::Entity::find()
            .filter(auth_token::Column::TokenHash.eq(hash))
            .filter(auth_token::Column::ExpiresAt.gt(now))
            .one(db)
            .await?
        else {
            return Ok((Self::Anonymous, None));
        };
        let expires_at = token.expires_at;
        let Some(user) = user::Entity::find_by_id(token.user_id).one(db).await? else {
            return Ok((Self::Anonymous, None));
        };
        // Recording every use would turn each read into a write; once a minute is enough to
        // show "last active". It is a note, not the request's business: a database busy with
        // writes (SQLite under a long allocation) must not fail the request over it.
        if token
            .last_used_at
            .is_none_or(|at| now.signed_duration_since(at).num_seconds() > 60)
        {
            let mut active: auth_token::ActiveModel = token.into();
            active.last_used_at = Set(Some(now));
            if let Err(err) = active.update(db).await {
                tracing::debug!(error = %err, "session's last use not recorded");
            }
        }
        let memberships = membership::Entity::find()
            .filter(membership::Column::UserId.eq(user.id))
            .all(db)
            .await?;
        Ok((Self::User { user, memberships }, Some(expires_at)))
    }

    /// The user's id, for a signed-in user.
    #[must_use]
    pub fn user_id(&self) -> Option<i64> {
        match self {
            Self::User { user, .. } => Some(user.id),
            _ => None,
        }
    }

    /// The key's id, for an API key.
    #[must_use]
    pub fn api_key_id(&self) -> Option<i64> {
        match self {
            Self::ApiKey { key, .. } => Some(key.id),
            _ => None,
        }
    }

    /// A user's role in an organisation, if they are a member of it.
    #[must_use]
    pub fn role_in(&self, organization_id: i64) -> Option<Role> {
        match self {
            Self::User { memberships, .. } => memberships
                .iter()
                .find(|m| m.organization_id == organization_id)
                .and_then(|m| m.role.parse().ok()),
            _ => None,
        }
    }
}

/// Bound on the credentials a process keeps; past it, expired entries are dropped, and if that
/// is not enough the cache starts afresh.
const PRINCIPAL_CACHE_ENTRIES: usize = 10_000;

/// Resolved principals, kept in this process for a short time (`IMPRINT_AUTH_CACHE_SECONDS`,
/// 10 s by default, 0 to turn it off), keyed by the SHA-256 of the credential, so that a
/// request with a known token or API key costs no query.
///
/// Only credentials that resolved to someone are kept; an unknown one is looked up every
/// time. An entry never outlives its session token's expiry.
///
/// Revocation: a change made through this process takes effect here at once (a revoked API key,
/// [`PrincipalCache::api_key_revoked`]; a user whose memberships or sessions changed,
/// [`PrincipalCache::user_changed`]), and a resolution that was reading the database meanwhile
/// does not store what it read. The change is also announced on the event bus
/// (`Event::CredentialsChanged`), and every process drops its copy when it hears it: at once
/// over Redis. Where the event cannot arrive (the in-process bus of the embedded setup serving
/// several processes, or Redis down), another process keeps its copy until it expires: there a
/// revoked credential goes on working, and a new or changed role goes unseen, for at most the
/// TTL.
#[derive(Debug)]
pub struct PrincipalCache {
    ttl: Duration,
    inner: Mutex<CachedPrincipals>,
}

#[derive(Debug, Default)]
struct CachedPrincipals {
    entries: HashMap<[u8; 32], CachedPrincipal>,
    /// Bumped by every invalidation: a resolution that started before one does not store its
    /// result, which may predate the change.
    generation: u64,
    /// Changes announced by every process on the event bus (`Event::CredentialsChanged`).
    changes: Option<broadcast::Receiver<Event>>,
}

impl CachedPrincipals {
    /// Applies the credential changes announced since the last look.
    fn catch_up(&mut self) {
        let pending = workers::events::drain(&mut self.changes);
        if pending.lagged {
            // Events were skipped, changes maybe among them: trust nothing kept.
            self.entries.clear();
            self.generation += 1;
        }
        for event in pending.events {
            if let Event::CredentialsChanged {
                user_id,
                api_key_id,
            } = event
            {
                self.generation += 1;
                self.entries.retain(|_, entry| {
                    !((user_id.is_some() && entry.principal.user_id() == user_id)
                        || (api_key_id.is_some() && entry.principal.api_key_id() == api_key_id))
                });
            }
        }
    }
}

#[derive(Debug)]
struct CachedPrincipal {
    principal: Principal,
    until: Instant,
}

impl PrincipalCache {
    /// A cache keeping each principal for `ttl` (`Duration::ZERO` keeps nothing), and dropping
    /// it when `events` announces a change of its credential.
    #[must_use]
    pub fn new(ttl: Duration, events: &EventBus) -> Self {
        Self {
            ttl,
            inner: Mutex::new(CachedPrincipals {
                changes: Some(events.subscribe()),
                ..CachedPrincipals::default()
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, CachedPrincipals> {
        // The map is valid whatever a panicking holder was doing: entries are only inserted
        // or removed whole.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// [`Principal::resolve`], answered from the cache while the entry is fresh.
    ///
    /// # Errors
    /// Database failures only.
    pub async fn resolve(
        &self,
        db: &DatabaseConnection,
        bearer: Option<&str>,
    ) -> Result<Principal, sea_orm::DbErr> {
        let Some(secret) = bearer.map(str::trim).filter(|s| !s.is_empty()) else {
            return Ok(Principal::Anonymous);
        };
        if self.ttl.is_zero() {
            return Principal::resolve(db, Some(secret)).await;
        }
        let digest: [u8; 32] = Sha256::digest(secret.as_bytes()).into();
        let started = Instant::now();
        let generation = {
            let mut inner = self.lock();
            inner.catch_up();
            if let Some(hit) = inner.entries.get(&digest)
                && hit.until > started
            {
                return Ok(hit.principal.clone());
            }
            inner.generation
        };
        let (principal, expires_at) = Principal::lookup(db, secret, &hex::encode(digest)).await?;
        if matches!(principal, Principal::Anonymous) {
            return Ok(principal);
        }
        let mut until = started + self.ttl;
        if let Some(expires_at) = expires_at {
            let left = (expires_at - Utc::now()).to_std().unwrap_or(Duration::ZERO);
            until = until.min(started + left);
        }
        let mut inner = self.lock();
        inner.catch_up();
        if inner.generation == generation {
            if inner.entries.len() >= PRINCIPAL_CACHE_ENTRIES {
                inner.entries.retain(|_, entry| entry.until > started);
                if inner.entries.len() >= PRINCIPAL_CACHE_ENTRIES {
                    inner.entries.clear();
                }
            }
            inner.entries.insert(
                digest,
                CachedPrincipal {
                    principal: principal.clone(),
                    until,
                },
            );
        }
        Ok(principal)
    }

    /// A user's memberships or sessions changed: drops every entry of theirs here, and tells
    /// every other process.
    pub async fn user_changed(&self, events: &EventBus, user_id: i64) {
        self.forget(|principal| principal.user_id() == Some(user_id));
        announce(events, Some(user_id), None).await;
    }

    /// An API key was revoked: drops it here, and tells every other process.
    pub async fn api_key_revoked(&self, events: &EventBus, api_key_id: i64) {
        self.forget(|principal| principal.api_key_id() == Some(api_key_id));
        announce(events, None, Some(api_key_id)).await;
    }

    fn forget(&self, matches: impl Fn(&Principal) -> bool) {
        let mut inner = self.lock();
        inner.generation += 1;
        inner.entries.retain(|_, entry| !matches(&entry.principal));
    }
}

/// Announces a credential change; a failure is logged, since the change is committed and other
/// processes drop their copy within the cache's TTL anyway.
async fn announce(events: &EventBus, user_id: Option<i64>, api_key_id: Option<i64>) {
    if let Err(err) = events
        .publish(&Event::CredentialsChanged {
            user_id,
            api_key_id,
        })
        .await
    {
        tracing::warn!(error = %err, ?user_id, ?api_key_id, "announcing a credential change failed");
    }
}

/// Records that the key was used, at most once a minute; best effort, as for sessions.
async fn touch_api_key(db: &DatabaseConnection, key: &api_key::Model) {
    let now = Utc::now();
    if key
        .last_used_at
        .is_none_or(|at| now.signed_duration_since(at).num_seconds() > 60)
    {
        let mut active: api_key::ActiveModel = key.clone().into();
        active.last_used_at = Set(Some(now));
        if let Err(err) = active.update(db).await {
            tracing::debug!(error = %err, "key's last use not recorded");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_verify_only_against_their_own_hash() {
        let hash = hash_password("correct horse battery").expect("hash");
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password("correct horse battery", &hash));
        assert!(!verify_password("correct horse battery!", &hash));
        assert!(!verify_password("anything", "not a hash"));
    }

    #[tokio::test]
    async fn an_unknown_account_costs_one_verification_like_a_wrong_password() {
        let throttle = Throttle::new(&crate::config::RateLimits {
            window: Duration::from_secs(60),
            login_per_account: 0,
            login_per_address: 0,
            sign_up_per_address: 0,
            api_key_per_key: 0,
            bad_tokens_per_address: 0,
        });
        let hash = hash_password("correct horse battery").expect("hash");
        assert!(
            throttle
                .verify_password("correct horse battery", Some(&hash))
                .await
        );
        assert!(
            !throttle
                .verify_password("wrong horse battery", Some(&hash))
                .await
        );
        // No stored hash: nothing matches, not even the empty password, yet one argon2
        // verification ran, against a real argon2id hash.
        assert!(!throttle.verify_password("", None).await);
        assert!(
            !throttle
                .verify_password("correct horse battery", None)
                .await
        );
        assert_eq!(throttle.password_checks(), 4);
        assert!(DUMMY_HASH.starts_with("$argon2id$"));
        let timed = |stored: Option<String>| {
            let throttle = &throttle;
            async move {
                let started = Instant::now();
                for _ in 0..5 {
                    throttle
                        .verify_password("wrong password", stored.as_deref())
                        .await;
                }
                started.elapsed()
            }
        };
        let wrong = timed(Some(hash)).await;
        let unknown = timed(None).await;
        // Generous: both are five argon2 verifications; a skipped one would be ~1000x faster.
        assert!(
            unknown * 10 > wrong && wrong * 10 > unknown,
            "{unknown:?} vs {wrong:?}"
        );
    }

    #[test]
    fn a_limit_refuses_past_its_quota_with_a_retry_time() {
        let limit = Limit::<IpAddr>::new(3, Duration::from_secs(60));
        let ip: IpAddr = [10, 0, 0, 1].into();
        let other: IpAddr = [10, 0, 0, 2].into();
        for _ in 0..3 {
            assert_eq!(limit.check(&ip), Ok(()));
        }
        let RetryAfter(seconds) = limit.check(&ip).expect_err("fourth refused");
        assert!((1..=20).contains(&seconds), "{seconds}");
        assert_eq!(limit.check(&other), Ok(()));
        let off = Limit::<IpAddr>::new(0, Duration::from_secs(60));
        for _ in 0..1000 {
            assert_eq!(off.check(&ip), Ok(()));
        }
    }

    #[test]
    fn secrets_are_random_and_stored_only_as_hashes() {
        let (a, hash_a) = new_secret(SESSION_TOKEN_PREFIX);
        let (b, _) = new_secret(SESSION_TOKEN_PREFIX);
        assert_ne!(a, b);
        assert!(a.starts_with(SESSION_TOKEN_PREFIX));
        assert_eq!(hash_secret(&a), hash_a);
        assert!(!hash_a.contains(&a));
        assert_eq!(hash_a.len(), 64);
    }
}
