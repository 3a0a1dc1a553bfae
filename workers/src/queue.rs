//! The job queue: one `Job` enum on one apalis backend, SQLite embedded or Redis in production.
//!
//! Jobs carry ids only. A handler re-reads its state and is safe to run twice, so the queue's
//! at-least-once delivery (a retry, a worker killed mid-job, a job pushed twice) never changes
//! the outcome.

use std::str::FromStr;
use std::time::Duration;

use apalis::prelude::TaskSink;
use apalis_redis::RedisStorage;
use apalis_sqlite::SqliteStorage;
use serde::{Deserialize, Serialize};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions};

/// Every kind of background work Imprint does, registered in this one list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "job", rename_all = "snake_case")]
pub enum Job {
    /// Read an uploaded statement file into statement lines and line errors.
    ParseStatement { statement_id: i64 },
    /// Bring the monthly roll-ups up to date for the months a statement touched, or (without a
    /// statement) for the whole organisation.
    RefreshAnalytics {
        organization_id: i64,
        statement_id: Option<i64>,
    },
    /// Turn a statement's matched lines into ledger entries per payee (and, after a
    /// `reallocateStatement`, reverse the entries of earlier generations).
    AllocateStatement { statement_id: i64 },
    /// Match the organisation's unmatched statement lines again (its catalogue's identifiers
    /// changed) and allocate and roll up what matched.
    MatchLines { organization_id: i64 },
    /// Compute every payee's payout in a payout run.
    RunPayout { payout_run_id: i64 },
    /// Post one webhook delivery, and schedule the next attempt when it fails.
    DeliverWebhook { delivery_id: i64 },
    /// Send one outbox mail over SMTP, and schedule the next attempt when it fails.
    DeliverMail { mail_id: i64 },
}

impl Job {
    #[must_use]
    pub fn name(&self) -> &'static str {
        match self {
            Self::ParseStatement { .. } => "parse_statement",
            Self::RefreshAnalytics { .. } => "refresh_analytics",
            Self::AllocateStatement { .. } => "allocate_statement",
            Self::MatchLines { .. } => "match_lines",
            Self::RunPayout { .. } => "run_payout",
            Self::DeliverWebhook { .. } => "deliver_webhook",
            Self::DeliverMail { .. } => "deliver_mail",
        }
    }
}

/// Where jobs wait.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum QueueBackend {
    /// apalis on an SQLite file; events broadcast inside the process.
    Sqlite { url: String },
    /// apalis on Redis; events over Redis pub/sub, shared by every process.
    Redis { url: String },
}

#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    #[error("job queue (sqlite): {0}")]
    Sqlite(#[from] sqlx::Error),
    #[error("job queue (sqlite): {0}")]
    SqliteStorage(#[from] apalis_sqlite::Error),
    #[error("job queue (redis): {0}")]
    Redis(#[from] redis::RedisError),
    #[error("job queue: could not push {job}: {message}")]
    Push { job: &'static str, message: String },
}

#[derive(Clone)]
pub enum JobQueue {
    Sqlite(SqliteStorage<Job>),
    Redis(RedisStorage<Job>),
}

impl std::fmt::Debug for JobQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Sqlite(_) => f.write_str("JobQueue::Sqlite"),
            Self::Redis(_) => f.write_str("JobQueue::Redis"),
        }
    }
}

/// Heartbeats a worker may miss before its jobs are taken up by another: a worker killed
/// mid-job has it resumed within `heartbeat × (MISSED_HEARTBEATS + 1)` (20 s with the default
/// 5 s heartbeat), while a live worker's long job, whose lease it renews, is never run twice
/// at once.
pub const MISSED_HEARTBEATS: usize = 3;

impl JobQueue {
    /// Connects to the queue and prepares it (apalis's own SQLite tables are created here).
    ///
    /// # Errors
    /// When the backend cannot be reached or prepared.
    pub async fn connect(
        backend: &QueueBackend,
        namespace: &str,
        heartbeat: Duration,
    ) -> Result<Self, QueueError> {
        let queue_name = format!("{namespace}:jobs");
        match backend {
            QueueBackend::Sqlite { url } => {
                // The API, the workers and the queue may share a file: WAL lets readers go on
                // while one writes, and the busy timeout waits out the writer instead of failing.
                let options = SqliteConnectOptions::from_str(url)?
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    .busy_timeout(Duration::from_secs(10));
                let pool = SqlitePoolOptions::new()
                    .max_connections(4)
                    .connect_with(options)
                    .await?;
                SqliteStorage::setup(&pool).await?;
                let config = apalis_sqlite::Config::default()
                    .queue(&queue_name)
                    .heartbeat_interval(heartbeat)
                    .missed_heartbeats(MISSED_HEARTBEATS);
                Ok(Self::Sqlite(SqliteStorage::new(&pool).with_config(config)))
            }
            QueueBackend::Redis { url } => {
                let conn = apalis_redis::connect(url.as_str()).await?;
                let config = apalis_redis::Config::default()
                    .queue(&queue_name)
                    .heartbeat_interval(heartbeat)
                    .missed_heartbeats(MISSED_HEARTBEATS);
                Ok(Self::Redis(RedisStorage::new(conn).with_config(config)))
            }
        }
    }

    /// Enqueues a job.
    ///
    /// # Errors
    /// When the backend refuses it.
    pub async fn push(&self, job: Job) -> Result<(), QueueError> {
        let name = job.name();
        let result = match self {
            Self::Sqlite(storage) => storage.clone().push(job).await.map_err(|e| e.to_string()),
            Self::Redis(storage) => storage.clone().push(job).await.map_err(|e| e.to_string()),
        };
        result.map_err(|message| QueueError::Push { job: name, message })?;
        tracing::debug!(job = name, "job enqueued");
        Ok(())
    }

    /// Enqueues a job to run at `at` (now, if `at` has passed). Both backends keep the time
    /// durably, in whole seconds: it is rounded up, so the job never runs before `at`.
    ///
    /// # Errors
    /// When the backend refuses it.
    pub async fn push_at(
        &self,
        job: Job,
        at: chrono::DateTime<chrono::Utc>,
    ) -> Result<(), QueueError> {
        use apalis::prelude::TaskBuilder;
        if at <= chrono::Utc::now() {
            return self.push(job).await;
        }
        let seconds = at.timestamp() + i64::from(at.timestamp_subsec_nanos() > 0);
        let run_at = u64::try_from(seconds).unwrap_or_default();
        let name = job.name();
        let task = TaskBuilder::new(job).run_at_timestamp(run_at).build();
        let result = match self {
            Self::Sqlite(storage) => storage
                .clone()
                .push_task(task)
                .await
                .map_err(|e| e.to_string()),
            Self::Redis(storage) => storage
                .clone()
                .push_task(task)
                .await
                .map_err(|e| e.to_string()),
        };
        result.map_err(|message| QueueError::Push { job: name, message })?;
        tracing::debug!(job = name, run_at, "job scheduled");
        Ok(())
    }

    /// Checks that the queue answers, for `/readyz`.
    ///
    /// # Errors
    /// When it does not.
    pub async fn ping(&self) -> Result<(), QueueError> {
        match self {
            Self::Sqlite(storage) => {
                sqlx::query("SELECT 1").execute(storage.pool()).await?;
            }
            Self::Redis(storage) => {
                let mut conn = storage.clone().get_connection().clone();
                redis::cmd("PING").query_async::<String>(&mut conn).await?;
            }
        }
        Ok(())
    }
}
