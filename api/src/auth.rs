//! Authentication: password hashes, bearer tokens, API keys, and who is calling.
//!
//! Passwords are hashed with argon2id. Session tokens and API keys are random 256-bit secrets
//! shown to the client once; only their SHA-256 is stored, so a database leak does not leak a
//! usable credential (a fast hash is enough for a random secret; argon2 is for guessable ones).
//!
//! A resolved credential is kept for a short time in a [`PrincipalCache`], so that a request
//! with a known token costs no query; see there for how revocation reaches it.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use domain::auth::{Role, Scope};
use entity::{api_key, auth_token, membership, user};
use rand::RngCore;
use sea_orm::{ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, Set};
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
            touch_api_key(db, &key).await?;
            return Ok((Self::ApiKey { key, scopes }, None));
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
        // show "last active".
        if token
            .last_used_at
            .is_none_or(|at| now.signed_duration_since(at).num_seconds() > 60)
        {
            let mut active: auth_token::ActiveModel = token.into();
            active.last_used_at = Set(Some(now));
            active.update(db).await?;
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

async fn touch_api_key(
    db: &DatabaseConnection,
    key: &api_key::Model,
) -> Result<(), sea_orm::DbErr> {
    let now = Utc::now();
    if key
        .last_used_at
        .is_none_or(|at| now.signed_duration_since(at).num_seconds() > 60)
    {
        let mut active: api_key::ActiveModel = key.clone().into();
        active.last_used_at = Set(Some(now));
        active.update(db).await?;
    }
    Ok(())
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
