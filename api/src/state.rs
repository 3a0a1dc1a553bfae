//! What every request handler and resolver shares.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use sea_orm::DatabaseConnection;
use workers::{EventBus, FileStore, JobQueue};

use crate::config::Config;

/// The services and caches of one process, cloned into every handler.
#[derive(Clone, Debug)]
pub struct AppState {
    pub db: DatabaseConnection,
    pub queue: JobQueue,
    pub events: EventBus,
    pub files: FileStore,
    pub config: Config,
    /// SQL statements this process has sent through the ORM (also `imprint_db_queries_total`).
    pub queries: Arc<AtomicU64>,
    /// Aggregates already computed, and each organisation's analytics version as last read.
    pub analytics_cache: Arc<crate::graphql::analytics::AnalyticsCache>,
    /// Credentials resolved lately (see [`crate::auth::PrincipalCache`] for revocation).
    pub principals: Arc<crate::auth::PrincipalCache>,
    /// Rate limits on guessable credentials (see [`crate::auth::Throttle`]).
    pub throttle: Arc<crate::auth::Throttle>,
    /// Analytics answers already given (see [`crate::responses`]).
    pub responses: Arc<crate::responses::Responses>,
    /// The mail settings and SMTP transport the workers of this process send with.
    pub mailer: workers::mail::Mailer,
}

impl AppState {
    /// SQL statements sent through the ORM so far; tests use it to prove a nested query costs a
    /// constant number of statements.
    #[must_use]
    pub fn query_count(&self) -> u64 {
        self.queries.load(Ordering::Relaxed)
    }

    /// What a job needs, for running one in this process.
    #[must_use]
    pub fn job_context(&self) -> workers::JobContext {
        workers::JobContext {
            db: self.db.clone(),
            queue: self.queue.clone(),
            events: self.events.clone(),
            files: self.files.clone(),
            webhook_reach: self.config.webhook_reach,
            statement_limits: self.config.statement_limits,
            mailer: self.mailer.clone(),
        }
    }
}
