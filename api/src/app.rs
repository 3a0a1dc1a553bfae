//! Wiring: from a [`Config`] to connected services and a running server.

use std::net::TcpListener;

use actix_web::{App, HttpServer};
use migration::MigratorTrait;
use workers::{EventBus, FileStore, JobQueue, QueueBackend};

use crate::config::Config;
use crate::graphql::{self, Limits};
use crate::state::AppState;

/// Connects the database, the queue, the event bus and the file store.
///
/// # Errors
/// When any of them cannot be reached; the message says which.
pub async fn connect(config: &Config) -> anyhow::Result<AppState> {
    let mut db = entity::db::connect(&config.database_url)
        .await
        .map_err(|e| anyhow::anyhow!("database {}: {e}", redact(&config.database_url)))?;
    let queries = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let counter = queries.clone();
    db.set_metric_callback(move |_| {
        counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        crate::telemetry::Metrics::global().db_queries.inc();
    });
    let queue = JobQueue::connect(&config.queue, &config.namespace, config.worker_heartbeat)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let events = match &config.queue {
        QueueBackend::Sqlite { .. } => EventBus::in_process(),
        QueueBackend::Redis { url } => EventBus::redis(url, &config.namespace)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?,
    };
    let where_files = config.file_store.describe();
    let files = FileStore::open(&config.file_store)
        .map_err(|e| anyhow::anyhow!("{e} (IMPRINT_FILE_STORE {where_files})"))?;
    // A bucket that does not exist or refuses these credentials stops the start, like a
    // database that cannot be reached, rather than the first upload.
    files
        .check()
        .await
        .map_err(|e| anyhow::anyhow!("{e} (IMPRINT_FILE_STORE {where_files})"))?;
    // Subscribed before anything is served, so no refresh announced from here on is missed.
    let analytics_cache = std::sync::Arc::new(crate::graphql::analytics::AnalyticsCache::new(
        config.analytics_version_check,
        config.analytics_cold_at_once,
        &events,
    ));
    let principals = std::sync::Arc::new(crate::auth::PrincipalCache::new(
        config.principal_cache_ttl,
        &events,
    ));
    let mailer = workers::mail::Mailer::new(config.mail.clone()).map_err(|e| anyhow::anyhow!(e))?;
    Ok(AppState {
        db,
        queue,
        events,
        files,
        config: config.clone(),
        queries,
        analytics_cache,
        principals,
        throttle: std::sync::Arc::new(crate::auth::Throttle::new(&config.rate_limits)),
        responses: std::sync::Arc::default(),
        mailer,
    })
}

/// Applies every pending migration.
///
/// # Errors
/// When a migration fails.
pub async fn migrate(state: &AppState) -> anyhow::Result<()> {
    migration::Migrator::up(&state.db, None).await?;
    Ok(())
}

#[must_use]
pub fn schema(state: &AppState) -> graphql::ImprintSchema {
    graphql::build(
        Some(state.clone()),
        Limits {
            depth: state.config.graphql_depth_limit,
            complexity: state.config.graphql_complexity_limit,
        },
    )
}

/// Starts the HTTP server on an already bound listener (port 0 in tests) and returns it running.
///
/// # Errors
/// When the listener cannot be used.
pub fn http_server(
    state: AppState,
    listener: TcpListener,
) -> anyhow::Result<actix_web::dev::Server> {
    let schema = schema(&state);
    let workers = state.config.http_workers;
    let server = HttpServer::new(move || {
        App::new()
            .wrap(actix_web::middleware::Compress::default())
            .configure(|cfg| crate::http::configure(cfg, schema.clone(), state.clone()))
    })
    .workers(workers)
    .shutdown_timeout(30)
    .listen(listener)?
    .run();
    Ok(server)
}

/// `imprint import`: registers a file for an organisation and, with `parse_now`, parses it in
/// this process; returns a one-line report.
///
/// # Errors
/// An unknown organisation, an unreadable or too large file, or a failure to store or parse.
pub async fn import(
    state: &AppState,
    file: &std::path::Path,
    organization: &str,
    source: Option<String>,
    parse_now: bool,
) -> anyhow::Result<String> {
    use sea_orm::EntityTrait;
    let organization_id = organization_id(state, organization).await?;
    let filename = file.file_name().map_or_else(
        || "statement".to_owned(),
        |n| n.to_string_lossy().into_owned(),
    );
    let ctx = state.job_context();
    let registered = workers::ingest::register(
        &ctx,
        workers::ingest::NewStatement {
            organization_id,
            path: file,
            filename,
            source,
            uploaded_by_user_id: None,
            limit_bytes: state.config.max_upload_bytes,
        },
    )
    .await?;
    let (statement, duplicate) = match registered {
        workers::ingest::Registered::New(s) => (s, false),
        workers::ingest::Registered::Existing(s) => (s, true),
    };
    if parse_now && !duplicate {
        workers::ingest::process_now(&ctx, statement.id).await?;
    }
    let statement = entity::statement::Entity::find_by_id(statement.id)
        .one(&state.db)
        .await?
        .ok_or_else(|| anyhow::anyhow!("statement disappeared"))?;
    if statement.status == workers::ingest::STATUS_FAILED {
        // The command fails with the reason (exit code 1), for scripts and people alike.
        anyhow::bail!(
            "statement {} ({}) failed: {}",
            statement.id,
            statement.filename,
            statement
                .failure_reason
                .as_deref()
                .unwrap_or("no reason recorded")
        );
    }
    Ok(format!(
        "statement {} ({}): {}{}, format {}, {} lines, {} errors, {} matched, {} unmatched",
        statement.id,
        statement.filename,
        statement.status,
        if duplicate { " (already imported)" } else { "" },
        statement.format.as_deref().unwrap_or("?"),
        statement.line_count,
        statement.error_count,
        statement.matched_count,
        statement.unmatched_count,
    ))
}

/// `imprint analytics rebuild`: recomputes the roll-ups of one organisation (or all) from
/// their statement lines; returns how many organisations were rebuilt.
///
/// # Errors
/// An unknown organisation or a database failure.
pub async fn rebuild_analytics(
    state: &AppState,
    organization: Option<&str>,
) -> anyhow::Result<usize> {
    use sea_orm::EntityTrait;
    let ids: Vec<i64> = match organization {
        Some(raw) => vec![organization_id(state, raw).await?],
        None => entity::organization::Entity::find()
            .all(&state.db)
            .await?
            .into_iter()
            .map(|o| o.id)
            .collect(),
    };
    let ctx = state.job_context();
    for id in &ids {
        workers::perform(
            &ctx,
            &workers::Job::RefreshAnalytics {
                organization_id: *id,
                statement_id: None,
            },
        )
        .await?;
    }
    Ok(ids.len())
}

async fn organization_id(state: &AppState, raw: &str) -> anyhow::Result<i64> {
    use sea_orm::EntityTrait;
    let id = raw
        .parse::<i64>()
        .ok()
        .or_else(|| {
            crate::graphql::ids::decode(
                crate::graphql::ids::Kind::Organization,
                &async_graphql::ID(raw.to_owned()),
            )
            .ok()
        })
        .ok_or_else(|| anyhow::anyhow!("`{raw}` is not an organization id"))?;
    entity::organization::Entity::find_by_id(id)
        .one(&state.db)
        .await?
        .ok_or_else(|| anyhow::anyhow!("organization {raw} does not exist"))?;
    Ok(id)
}

/// Waits for SIGTERM or Ctrl-C.
pub async fn shutdown_signal() -> std::io::Result<()> {
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        tokio::select! {
            _ = term.recv() => Ok(()),
            result = tokio::signal::ctrl_c() => result,
        }
    }
    #[cfg(not(unix))]
    {
        tokio::signal::ctrl_c().await
    }
}

/// A database URL without its password, for messages.
#[must_use]
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let credentials = &url[scheme + 3..at];
            match credentials.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn passwords_never_reach_messages() {
        assert_eq!(
            super::redact("postgres://me:secret@db/x"),
            "postgres://me:***@db/x"
        );
        assert_eq!(super::redact("sqlite://imprint.db"), "sqlite://imprint.db");
    }
}
