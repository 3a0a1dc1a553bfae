//! Background work: the job queue, the jobs, and the event bus that the API shares.
//!
//! # Layout
//! - [`queue`]: the one `Job` enum and the apalis backend it travels on (SQLite or Redis).
//! - [`events`]: the event bus behind GraphQL subscriptions and webhooks.
//! - [`jobs`]: one file per job; each loads its state by id, calls `domain`, stores the result,
//!   and is idempotent.
//! - [`run`]: runs the workers until shutdown.
//!
//! Invariant: a job handler may be run any number of times for the same job and leaves the
//! database as one run would.

pub mod allocation;
pub mod events;
pub mod files;
pub mod fx;
pub mod ingest;
pub mod jobs;
pub mod mail;
pub mod matching;
pub mod payee_statement;
pub mod payouts;
pub mod queue;
pub mod sums;
pub mod sweeper;
pub mod webhooks;
pub mod year_end;

use std::sync::Arc;
use std::time::Duration;

use apalis::prelude::*;
use sea_orm::DatabaseConnection;

pub use events::{Event, EventBus};
pub use files::FileStore;
pub use queue::{Job, JobQueue, QueueBackend};

/// What every job handler can reach.
#[derive(Clone, Debug)]
pub struct JobContext {
    pub db: DatabaseConnection,
    pub queue: JobQueue,
    pub events: EventBus,
    pub files: FileStore,
    /// Where webhook deliveries may go.
    pub webhook_reach: webhooks::WebhookReach,
    /// What one statement file may make a parser hold (line, cell, decompressed size).
    pub statement_limits: domain::statement::Limits,
    /// The mail settings and the SMTP transport (none: mails stay in the outbox).
    pub mailer: mail::Mailer,
}

/// A job failure that retrying cannot fix (a file that is not there, a row that names nothing):
/// the job ends at once, not retried (apalis's [`AbortError`]), and what it was working on is
/// marked failed with this reason.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Permanent(pub String);

/// Attempts a job gets before the queue gives up on it: both apalis backends stop at 25
/// (SQLite's default `max_attempts`, a constant in the Redis backend's scripts).
pub const MAX_ATTEMPTS: usize = 25;

/// Whether `err` is one retrying cannot fix.
#[must_use]
pub fn is_permanent(err: &anyhow::Error) -> bool {
    err.downcast_ref::<Permanent>().is_some()
}

/// Runs one job to completion: the single entry point both the workers and the inline test
/// runner use.
///
/// # Errors
/// The job's failure; the queue retries it.
pub async fn perform(ctx: &JobContext, job: &Job) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    let result = match job {
        Job::ParseStatement { statement_id } => {
            jobs::parse_statement::run(ctx, *statement_id).await
        }
        Job::RefreshAnalytics {
            organization_id,
            statement_id,
        } => jobs::refresh_analytics::run(ctx, *organization_id, *statement_id).await,
        Job::AllocateStatement { statement_id } => {
            jobs::allocate_statement::run(ctx, *statement_id).await
        }
        Job::MatchLines { organization_id } => {
            matching::match_and_flow(&ctx.db, &ctx.queue, *organization_id)
                .await
                .map(|_| ())
        }
        Job::RunPayout { payout_run_id } => jobs::run_payout::run(ctx, *payout_run_id).await,
        Job::DeliverWebhook { delivery_id } => jobs::deliver_webhook::run(ctx, *delivery_id).await,
        Job::DeliverMail { mail_id } => jobs::deliver_mail::run(ctx, *mail_id).await,
    };
    match &result {
        Ok(()) => tracing::info!(
            job = job.name(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "job done"
        ),
        Err(err) => tracing::warn!(job = job.name(), error = %err, "job failed"),
    }
    result
}

async fn handle(job: Job, ctx: Data<JobContext>, attempt: Attempt) -> Result<(), BoxDynError> {
    let Err(err) = perform(&ctx, &job).await else {
        return Ok(());
    };
    let permanent = is_permanent(&err);
    // The attempt counter includes this run.
    if permanent || attempt.current() >= MAX_ATTEMPTS {
        give_up(&ctx, &job, &err, attempt.current()).await;
    }
    if permanent {
        // Not retried: the lifecycle marks the task Killed, which neither the retry layer nor
        // the backends fetch again.
        return Err(Box::new(AbortError::new(err.to_string())));
    }
    Err(BoxDynError::from(err))
}

/// What a job leaves when the queue runs it no more: a statement being parsed is marked failed
/// with the reason, never left `parsing`.
///
/// Errors here are logged: the job's own failure is what the queue records.
pub async fn give_up(ctx: &JobContext, job: &Job, err: &anyhow::Error, attempts: usize) {
    tracing::error!(job = job.name(), attempts, error = %err, "job given up");
    if let Job::ParseStatement { statement_id } = job {
        let reason = if is_permanent(err) {
            err.to_string()
        } else {
            format!("{err} (gave up after {attempts} attempts)")
        };
        if let Err(e) = jobs::parse_statement::fail(ctx, *statement_id, &reason).await {
            tracing::error!(statement_id, error = %e, "statement not marked failed");
        }
    }
}

/// How often an idle worker looks for new jobs.
const POLL_INTERVAL: Duration = Duration::from_millis(250);

/// How many times a failed job is tried again before it is left as failed.
const RETRIES: usize = 5;

/// Runs the workers until `shutdown` resolves, then lets running jobs finish (up to 30 s).
///
/// # Errors
/// When the worker monitor fails.
pub async fn run<S>(ctx: JobContext, concurrency: usize, shutdown: S) -> anyhow::Result<()>
where
    S: std::future::Future<Output = std::io::Result<()>> + Send,
{
    // A worker whose queue stops answering (Redis restarting or paused, the SQLite file
    // locked) ends with an error; it is restarted rather than let the process exit, after a
    // delay that doubles with each failure in a row (from 250 ms to 10 s) and starts again
    // once the queue has answered for a minute.
    let outage = Arc::new(Outage::default());
    macro_rules! worker {
        ($backend:expr, $ctx:expr) => {{
            let backend = $backend.clone();
            let ctx = $ctx.clone();
            let delays = outage.clone();
            let failures = outage.clone();
            Monitor::new()
                .shutdown_timeout(Duration::from_secs(30))
                .should_restart(move |worker, error| {
                    let delay = failures.failed();
                    tracing::warn!(worker = %worker.name(), ?error, retry_in_ms = delay.as_millis() as u64, "worker lost its queue; restarting");
                    true
                })
                .register(move |index| {
                    let backend = backend
                        .clone()
                        .poll_with_strategy(Every::after(delays.delay(), POLL_INTERVAL));
                    WorkerBuilder::new(format!("imprint-worker-{}-{index}", std::process::id()))
                        .backend(backend)
                        .data(ctx.clone())
                        .concurrency(concurrency)
                        .retry(RetryPolicy::retries(RETRIES))
                        .build(handle)
                })
                .run_with_signal(shutdown)
                .await
        }};
    }
    tracing::info!(queue = ?ctx.queue, concurrency, "workers starting");
    let sweeper = tokio::spawn(sweeper::run(ctx.clone()));
    let result = match &ctx.queue {
        JobQueue::Sqlite(storage) => worker!(storage, ctx),
        JobQueue::Redis(storage) => worker!(storage, ctx),
    };
    sweeper.abort();
    result.map_err(|e| anyhow::anyhow!("workers stopped: {e}"))
}

/// Wakes the worker every `period`. apalis 1.0's `IntervalStrategy` replaces its timer when it
/// fires without polling the new one, so when the fetch that follows finds nothing, no timer
/// is armed and the worker sleeps until its heartbeat (30 s).
/// Consecutive failures of the workers' queue, for the restart back-off.
#[derive(Debug, Default)]
struct Outage(std::sync::Mutex<(u32, Option<std::time::Instant>)>);

impl Outage {
    const FIRST: Duration = Duration::from_millis(250);
    const LONGEST: Duration = Duration::from_secs(10);
    const FORGOTTEN_AFTER: Duration = Duration::from_secs(60);

    /// Records a failure; returns the delay before the restarted worker polls again.
    fn failed(&self) -> Duration {
        let mut state = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let now = std::time::Instant::now();
        let (count, last) = &mut *state;
        if last.is_some_and(|at| now.duration_since(at) > Self::FORGOTTEN_AFTER) {
            *count = 0;
        }
        *count = count.saturating_add(1);
        *last = Some(now);
        Self::backoff(*count)
    }

    /// The delay for the worker being (re)started now.
    fn delay(&self) -> Duration {
        let state = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match *state {
            (count, Some(at)) if at.elapsed() <= Self::FORGOTTEN_AFTER => Self::backoff(count),
            _ => POLL_INTERVAL,
        }
    }

    fn backoff(failures: u32) -> Duration {
        Self::FIRST
            .saturating_mul(2_u32.saturating_pow(failures.saturating_sub(1).min(16)))
            .min(Self::LONGEST)
    }
}

struct Every {
    period: Duration,
    timer: std::pin::Pin<Box<tokio::time::Sleep>>,
}

impl Clone for Every {
    fn clone(&self) -> Self {
        Self::new(self.period)
    }
}

impl std::fmt::Debug for Every {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Every")
            .field("period", &self.period)
            .finish()
    }
}

impl Every {
    fn new(period: Duration) -> Self {
        Self::after(period, period)
    }

    /// Polls first after `first`, then every `period`.
    fn after(first: Duration, period: Duration) -> Self {
        Self {
            period,
            timer: Box::pin(tokio::time::sleep(first)),
        }
    }
}

impl apalis::prelude::PollStrategy for Every {
    fn poll_drive(
        &mut self,
        cx: &mut std::task::Context<'_>,
        _snapshot: &apalis::prelude::PollSnapshot,
    ) -> std::task::Poll<Option<()>> {
        use std::future::Future;
        if self.timer.as_mut().poll(cx).is_pending() {
            return std::task::Poll::Pending;
        }
        self.timer
            .as_mut()
            .reset(tokio::time::Instant::now() + self.period);
        // Arm the next tick now: the caller may not poll again before it.
        let _ = self.timer.as_mut().poll(cx);
        std::task::Poll::Ready(Some(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restarts_back_off_doubling_to_a_ceiling_and_start_afresh() {
        let outage = Outage::default();
        assert_eq!(outage.delay(), POLL_INTERVAL, "a first start polls at once");
        let delays: Vec<Duration> = (0..8).map(|_| outage.failed()).collect();
        assert_eq!(delays[0], Duration::from_millis(250));
        assert_eq!(delays[1], Duration::from_millis(500));
        assert_eq!(delays[3], Duration::from_secs(2));
        assert_eq!(delays[7], Duration::from_secs(10));
        assert!(delays.windows(2).all(|w| w[0] <= w[1]));
        assert_eq!(outage.delay(), Duration::from_secs(10));
        // A minute without failures: the next failure waits the least again.
        if let Ok(mut state) = outage.0.lock() {
            state.1 = std::time::Instant::now().checked_sub(Duration::from_secs(61));
        }
        assert_eq!(outage.delay(), POLL_INTERVAL);
        assert_eq!(outage.failed(), Duration::from_millis(250));
    }
}
