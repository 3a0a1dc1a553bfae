//! Authentication: password hashes, bearer tokens, API keys, and who is calling.
//!
//! Passwords are hashed with argon2id. Session tokens and API keys are random 256-bit secrets
//! shown to the client once; only their SHA-256 is stored, so a database leak does not leak a
//! usable credential (a fast hash is enough for a random secret; argon2 is for guessable ones).

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::Utc;
use domain::auth::{Role, Scope};
use entity::{api_key, auth_token, membership, user};
use rand::RngCore;
use sea_orm::{ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, Set};
use sha2::{Digest, Sha256};

pub const SESSION_TOKEN_PREFIX: &str = "imp_";
pub const API_KEY_PREFIX: &str = "impk_";
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

#[must_use]
pub fn hash_secret(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Who is calling, resolved once per request.
#[derive(Clone, Debug)]
pub enum Principal {
    Anonymous,
    User {
        user: user::Model,
        memberships: Vec<membership::Model>,
    },
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
        let hash = hash_secret(secret);
        let now = Utc::now();
        if secret.starts_with(API_KEY_PREFIX) {
            let Some(key) = api_key::Entity::find()
                .filter(api_key::Column::TokenHash.eq(&hash))
                .filter(api_key::Column::RevokedAt.is_null())
                .one(db)
                .await?
            else {
                return Ok(Self::Anonymous);
            };
            let scopes = key
                .scopes
                .split_whitespace()
                .filter_map(|s| s.parse().ok())
                .collect();
            touch_api_key(db, &key).await?;
            return Ok(Self::ApiKey { key, scopes });
        }
        let Some(token) = auth_token::Entity::find()
            .filter(auth_token::Column::TokenHash.eq(&hash))
            .filter(auth_token::Column::ExpiresAt.gt(now))
            .one(db)
            .await?
        else {
            return Ok(Self::Anonymous);
        };
        let Some(user) = user::Entity::find_by_id(token.user_id).one(db).await? else {
            return Ok(Self::Anonymous);
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
        Ok(Self::User { user, memberships })
    }

    #[must_use]
    pub fn user_id(&self) -> Option<i64> {
        match self {
            Self::User { user, .. } => Some(user.id),
            _ => None,
        }
    }

    #[must_use]
    pub fn api_key_id(&self) -> Option<i64> {
        match self {
            Self::ApiKey { key, .. } => Some(key.id),
            _ => None,
        }
    }

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
