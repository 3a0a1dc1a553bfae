//! The API's error policy.
//!
//! Two kinds of failure reach a client, and they are kept apart on purpose:
//! - a **user error** is a validation failure the client can fix (a bad ISRC, shares that do not
//!   sum to 100 %): it comes back as data, in the payload's `userErrors`, with the input field,
//!   a message and a code, and the mutation changes nothing;
//! - an **API error** ([`ApiError`]) is everything else: not signed in, forbidden, not found,
//!   or an internal failure. It is a GraphQL error with `extensions.code`, and it never carries
//!   data the caller may not see. Internal details are logged, not sent.

use async_graphql::{Enum, ErrorExtensions, SimpleObject};

// Deliberately not `Display`: async-graphql converts any `Display` error into a bare message,
// and every API error must carry its `extensions.code`, so the one conversion is ours.
#[derive(Debug, Clone)]
pub enum ApiError {
    Unauthenticated,
    Forbidden(&'static str),
    NotFound(&'static str),
    BadRequest(String),
    /// Too many attempts (logins, sign-ups, invitations, API-key use): try again after this
    /// many seconds (`extensions.retryAfterSeconds`).
    RateLimited {
        retry_after_seconds: u64,
    },
    Internal(std::sync::Arc<anyhow::Error>),
}

impl ApiError {
    pub fn internal(err: impl Into<anyhow::Error>) -> Self {
        Self::Internal(std::sync::Arc::new(err.into()))
    }

    /// The message a client sees; internal details stay in the logs.
    #[must_use]
    pub fn message(&self) -> String {
        match self {
            Self::Unauthenticated => {
                "sign in first: this needs an authenticated user or API key".into()
            }
            Self::Forbidden(why) => format!("forbidden: {why}"),
            Self::NotFound(what) => format!("{what} not found"),
            Self::BadRequest(message) => message.clone(),
            Self::RateLimited {
                retry_after_seconds,
            } => format!("too many attempts: try again in {retry_after_seconds} s"),
            Self::Internal(_) => "internal error".into(),
        }
    }

    #[must_use]
    pub fn code(&self) -> &'static str {
        match self {
            Self::Unauthenticated => "UNAUTHENTICATED",
            Self::Forbidden(_) => "FORBIDDEN",
            Self::NotFound(_) => "NOT_FOUND",
            Self::BadRequest(_) => "BAD_REQUEST",
            Self::RateLimited { .. } => "RATE_LIMITED",
            Self::Internal(_) => "INTERNAL",
        }
    }
}

impl From<sea_orm::DbErr> for ApiError {
    fn from(err: sea_orm::DbErr) -> Self {
        Self::internal(err)
    }
}

impl From<std::sync::Arc<sea_orm::DbErr>> for ApiError {
    fn from(err: std::sync::Arc<sea_orm::DbErr>) -> Self {
        Self::Internal(std::sync::Arc::new(anyhow::anyhow!("{err}")))
    }
}

impl From<anyhow::Error> for ApiError {
    fn from(err: anyhow::Error) -> Self {
        Self::internal(err)
    }
}

impl From<ApiError> for async_graphql::Error {
    fn from(err: ApiError) -> Self {
        if let ApiError::Internal(source) = &err {
            tracing::error!(error = ?source, "internal error in a resolver");
        }
        let code = err.code();
        let retry_after = match err {
            ApiError::RateLimited {
                retry_after_seconds,
            } => Some(retry_after_seconds),
            _ => None,
        };
        async_graphql::Error::new(err.message()).extend_with(|_, ext| {
            ext.set("code", code);
            if let Some(seconds) = retry_after {
                ext.set("retryAfterSeconds", seconds);
            }
        })
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

/// Why an input was refused.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum UserErrorCode {
    /// The value is malformed or out of range.
    Invalid,
    /// A required value is missing.
    Required,
    /// The value is already used (an email, a UPC, an ISRC).
    Taken,
    /// A referenced object does not exist in this organisation.
    NotFound,
    /// The change is not allowed from the object's current state or by the agreement.
    NotAllowed,
    /// Credentials did not match.
    InvalidCredentials,
}

/// A validation failure on one input field; the mutation changed nothing.
#[derive(SimpleObject, Clone, Debug, PartialEq, Eq)]
pub struct UserError {
    /// The input field at fault, as a path from the mutation's input (`["shares", "1", "share"]`).
    pub field: Vec<String>,
    pub message: String,
    pub code: UserErrorCode,
}

impl UserError {
    #[must_use]
    pub fn new(field: &str, code: UserErrorCode, message: impl Into<String>) -> Self {
        Self {
            field: field.split('.').map(str::to_owned).collect(),
            message: message.into(),
            code,
        }
    }

    #[must_use]
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        Self::new(field, UserErrorCode::Invalid, message)
    }
}

/// Collects user errors while an input is checked, so the client sees all of them at once.
#[derive(Debug, Default)]
pub struct UserErrors(pub Vec<UserError>);

impl UserErrors {
    pub fn push(&mut self, error: UserError) {
        self.0.push(error);
    }

    pub fn invalid(&mut self, field: &str, message: impl Into<String>) {
        self.push(UserError::invalid(field, message));
    }

    /// Keeps the parsed value, or records the error against `field`.
    pub fn check<T, E: std::fmt::Display>(
        &mut self,
        field: &str,
        result: Result<T, E>,
    ) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(err) => {
                self.invalid(field, err.to_string());
                None
            }
        }
    }

    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    #[must_use]
    pub fn into_vec(self) -> Vec<UserError> {
        self.0
    }
}
