//! Whole answers to analytics queries, kept per caller for as long as the organisation
//! snapshots they were computed from are current.
//!
//! A dashboard asks the same `rosterOverview` or `analytics` query again and again, and after
//! the aggregates, names and parse are cached, building the ~1,000 fields of a roster overview
//! is what a request costs (about 0.45 ms of CPU). So the serialised answer is kept, under:
//!
//! - **who asks**: the user with every membership they hold (organisation, role, artist), or
//!   the API key with its scopes. An answer is never served to anyone else, and a caller whose
//!   role changed no longer matches their old entries;
//! - **what is asked**: the query text, the operation name and the variables, exactly.
//!
//! Only queries whose every root field is `rosterOverview` or `analytics` are kept, and only
//! answers without errors. Each entry lists the organisation snapshots (version and named rows,
//! see [`crate::graphql::analytics::ObservedScopes`]) it was computed from, and is served only
//! while every one is [`AnalyticsCache::still_current`]: a refresh announced, or the check
//! interval passed, and the query runs again. So a kept answer is exactly what running the
//! query would give, and lives no longer than the organisation's version is trusted
//! (`IMPRINT_ANALYTICS_VERSION_CHECK_MS`; 0 keeps nothing).

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::{Mutex, PoisonError};
use std::time::Instant;

use async_graphql::parser::types::{DocumentOperations, OperationType, Selection};

use crate::auth::Principal;
use crate::graphql::analytics::AnalyticsCache;

/// Bound on kept answers per process; past it the cache starts afresh.
const ENTRIES: usize = 2_000;
/// Answers larger than this are not kept.
const MAX_BODY_BYTES: usize = 256 * 1024;
/// The root fields whose answers may be kept: pure reads of the analytics roll-ups.
const ANALYTICS_FIELDS: [&str; 2] = ["rosterOverview", "analytics"];

/// Kept answers, by caller and request.
#[derive(Debug, Default)]
pub struct Responses {
    entries: Mutex<HashMap<String, Kept>>,
}

#[derive(Debug)]
struct Kept {
    body: bytes::Bytes,
    snapshots: Vec<(i64, Instant)>,
}

impl Responses {
    /// The kept answer for `key`, if every snapshot it used is still current.
    #[must_use]
    pub fn get(&self, key: &str, analytics: &AnalyticsCache) -> Option<bytes::Bytes> {
        let entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        let kept = entries.get(key)?;
        kept.snapshots
            .iter()
            .all(|(organization_id, read_at)| analytics.still_current(*organization_id, *read_at))
            .then(|| kept.body.clone())
    }

    /// Keeps an answer computed from `snapshots` (none: nothing to validate it by, not kept).
    pub fn put(&self, key: String, body: bytes::Bytes, snapshots: Vec<(i64, Instant)>) {
        if snapshots.is_empty() || body.len() > MAX_BODY_BYTES {
            return;
        }
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        if entries.len() >= ENTRIES {
            entries.clear();
        }
        entries.insert(key, Kept { body, snapshots });
    }
}

/// The key a request's answer is kept under, when it may be kept: a signed-in caller, a
/// parsed query whose operation is a query and selects nothing but analytics root fields.
#[must_use]
pub fn key(principal: &Principal, request: &mut async_graphql::Request) -> Option<String> {
    let who = caller(principal)?;
    if !request.uploads.is_empty() {
        return None;
    }
    let operation_name = request.operation_name.clone();
    let document = request.parsed_query().ok()?;
    let operation = match (&document.operations, operation_name.as_deref()) {
        (DocumentOperations::Single(operation), _) => operation,
        (DocumentOperations::Multiple(operations), Some(name)) => operations.get(name)?,
        // One named operation and no name asked: that one runs.
        (DocumentOperations::Multiple(operations), None) if operations.len() == 1 => {
            operations.values().next()?
        }
        (DocumentOperations::Multiple(_), None) => return None,
    };
    if operation.node.ty != OperationType::Query {
        return None;
    }
    let only_analytics = operation
        .node
        .selection_set
        .node
        .items
        .iter()
        .all(|selection| match &selection.node {
            Selection::Field(field) => {
                let name = field.node.name.node.as_str();
                name == "__typename" || ANALYTICS_FIELDS.contains(&name)
            }
            // A fragment at the root could select anything: not worth following.
            Selection::FragmentSpread(_) | Selection::InlineFragment(_) => false,
        });
    if !only_analytics {
        return None;
    }
    let variables = serde_json::to_string(&request.variables).ok()?;
    Some(format!(
        "{who}\u{0}{}\u{0}{}\u{0}{variables}",
        operation_name.unwrap_or_default(),
        request.query
    ))
}

/// Who is asking, with everything that decides what they may see.
fn caller(principal: &Principal) -> Option<String> {
    match principal {
        Principal::Anonymous => None,
        Principal::User { user, memberships } => {
            let mut who = format!("user:{}", user.id);
            let mut held: Vec<_> = memberships
                .iter()
                .map(|m| (m.organization_id, m.role.as_str(), m.artist_id))
                .collect();
            held.sort_unstable();
            for (organization_id, role, artist_id) in held {
                let _ = write!(who, ";{organization_id}:{role}:{artist_id:?}");
            }
            Some(who)
        }
        Principal::ApiKey { key, scopes } => {
            let mut scopes: Vec<&str> = scopes.iter().map(|s| s.as_str()).collect();
            scopes.sort_unstable();
            Some(format!(
                "key:{}:{}:{}",
                key.id,
                key.organization_id,
                scopes.join(" ")
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;
    use entity::{membership, user};

    fn member(user_id: i64, role: &str, artist_id: Option<i64>) -> Principal {
        Principal::User {
            user: user::Model {
                id: user_id,
                email: format!("{user_id}@test"),
                name: String::new(),
                password_hash: String::new(),
                created_at: Utc::now(),
            },
            memberships: vec![membership::Model {
                id: 1,
                organization_id: 7,
                user_id,
                role: role.into(),
                artist_id,
                created_at: Utc::now(),
            }],
        }
    }

    fn key_of(principal: &Principal, query: &str) -> Option<String> {
        key(principal, &mut async_graphql::Request::new(query))
    }

    const ROSTER: &str = "{ rosterOverview(organizationId: \"x\") { totals { lineCount } } }";

    #[test]
    fn only_analytics_queries_of_a_signed_in_caller_are_kept() {
        let owner = member(1, "owner", None);
        assert!(key_of(&owner, ROSTER).is_some());
        assert!(
            key_of(
                &owner,
                "query Q { __typename a: analytics(organizationId: \"x\") { totals { lineCount } } }"
            )
            .is_some()
        );
        for not_kept in [
            "{ viewer { user { email } } }",
            "{ rosterOverview(organizationId: \"x\") { totals { lineCount } } viewer { user { email } } }",
            "mutation { logout { loggedOut } }",
            "{ ... on Query { rosterOverview(organizationId: \"x\") { totals { lineCount } } } }",
            "query A { rosterOverview(organizationId: \"x\") { totals { lineCount } } } query B { viewer { user { email } } }",
            "{ rosterOverview(",
        ] {
            assert_eq!(key_of(&owner, not_kept), None, "{not_kept}");
        }
        assert_eq!(key_of(&Principal::Anonymous, ROSTER), None);
    }

    #[test]
    fn each_caller_and_role_has_its_own_answers() {
        let owner = key_of(&member(1, "owner", None), ROSTER);
        let artist = key_of(&member(2, "artist", Some(3)), ROSTER);
        let other_artist = key_of(&member(2, "artist", Some(4)), ROSTER);
        let viewer = key_of(&member(2, "viewer", None), ROSTER);
        let keys = [owner, artist, other_artist, viewer];
        for (i, a) in keys.iter().enumerate() {
            for b in &keys[i + 1..] {
                assert_ne!(a, b);
            }
        }
        let mut with_variables = async_graphql::Request::new(ROSTER).variables(
            async_graphql::Variables::from_json(serde_json::json!({"a": 1})),
        );
        assert_ne!(
            key(&member(1, "owner", None), &mut with_variables),
            key_of(&member(1, "owner", None), ROSTER)
        );
    }
}
