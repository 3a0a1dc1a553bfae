//! Taking in a statement file: stored once by content, registered once per organisation.
//!
//! Both `uploadStatement` and `imprint import` come through [`register`], so a file uploaded
//! twice, from either door, is the same statement and nothing changes the second time.

use std::io::Read;
use std::path::Path;

use chrono::Utc;
use entity::statement;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};
use sha2::{Digest, Sha256};

use crate::{FileStore, Job, JobContext};

pub const STATUS_UPLOADED: &str = "uploaded";
pub const STATUS_PARSING: &str = "parsing";
pub const STATUS_PARSED: &str = "parsed";
pub const STATUS_FAILED: &str = "failed";

#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error("the file is {size_bytes} bytes; the limit is {limit_bytes} bytes")]
    TooLarge { size_bytes: u64, limit_bytes: u64 },
    #[error("the file is empty")]
    Empty,
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Files(#[from] crate::files::FileStoreError),
    #[error(transparent)]
    Database(#[from] sea_orm::DbErr),
    #[error(transparent)]
    Queue(#[from] crate::queue::QueueError),
}

/// A file to register.
#[derive(Debug)]
pub struct NewStatement<'a> {
    pub organization_id: i64,
    pub path: &'a Path,
    pub filename: String,
    pub source: Option<String>,
    pub uploaded_by_user_id: Option<i64>,
    pub limit_bytes: u64,
}

/// What registering found.
#[derive(Debug, Clone)]
pub enum Registered {
    /// A new statement, queued for parsing.
    New(statement::Model),
    /// The organisation already has this exact file; nothing was changed.
    Existing(statement::Model),
}

impl Registered {
    #[must_use]
    pub fn statement(&self) -> &statement::Model {
        match self {
            Self::New(s) | Self::Existing(s) => s,
        }
    }
}

/// SHA-256 of a file, streamed.
///
/// # Errors
/// When the file cannot be read.
pub fn sha256_file(path: &Path) -> std::io::Result<String> {
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0_u8; 256 * 1024];
    loop {
        let n = file.read(&mut buffer)?;
        if n == 0 {
            break;
        }
        hasher.update(&buffer[..n]);
    }
    Ok(hex::encode(hasher.finalize()))
}

/// Stores the file and registers the statement, or returns the one that already has it.
///
/// # Errors
/// A file over the limit or empty, or a storage, database or queue failure.
pub async fn register(ctx: &JobContext, new: NewStatement<'_>) -> Result<Registered, IngestError> {
    let size_bytes = tokio::fs::metadata(new.path).await?.len();
    if size_bytes > new.limit_bytes {
        return Err(IngestError::TooLarge {
            size_bytes,
            limit_bytes: new.limit_bytes,
        });
    }
    if size_bytes == 0 {
        return Err(IngestError::Empty);
    }
    let path = new.path.to_path_buf();
    let sha256 = tokio::task::spawn_blocking(move || sha256_file(&path))
        .await
        .map_err(|e| std::io::Error::other(e.to_string()))??;
    if let Some(existing) = find(ctx, new.organization_id, &sha256).await? {
        return Ok(Registered::Existing(existing));
    }
    let key = FileStore::statement_key(new.organization_id, &sha256);
    if !ctx.files.exists(&key).await? {
        ctx.files.put_file(&key, new.path).await?;
    }
    let now = Utc::now();
    let inserted = statement::ActiveModel {
        organization_id: Set(new.organization_id),
        source: Set(new.source.filter(|s| !s.trim().is_empty())),
        format: Set(None),
        filename: Set(new.filename),
        sha256: Set(sha256.clone()),
        storage_key: Set(key),
        size_bytes: Set(i64::try_from(size_bytes).unwrap_or(i64::MAX)),
        currency: Set(None),
        period_start: Set(None),
        period_end: Set(None),
        status: Set(STATUS_UPLOADED.to_owned()),
        line_count: Set(0),
        error_count: Set(0),
        skipped_count: Set(0),
        matched_count: Set(0),
        unmatched_count: Set(0),
        bytes_processed: Set(0),
        totals: Set(serde_json::json!([])),
        warnings: Set(serde_json::json!([])),
        failure_reason: Set(None),
        uploaded_by_user_id: Set(new.uploaded_by_user_id),
        created_at: Set(now),
        updated_at: Set(now),
        parsed_at: Set(None),
        ..Default::default()
    }
    .insert(&ctx.db)
    .await;
    let statement = match inserted {
        Ok(statement) => statement,
        // Two uploads of one file raced: the unique (organization, sha256) key let one in.
        Err(err) => match find(ctx, new.organization_id, &sha256).await? {
            Some(existing) => return Ok(Registered::Existing(existing)),
            None => return Err(err.into()),
        },
    };
    // The row is the job's outbox: a push lost here is pushed again by the sweeper.
    if let Err(err) = ctx
        .queue
        .push(Job::ParseStatement {
            statement_id: statement.id,
        })
        .await
    {
        tracing::warn!(statement_id = statement.id, error = %err, "parse not queued; the sweeper will queue it");
    }
    Ok(Registered::New(statement))
}

async fn find(
    ctx: &JobContext,
    organization_id: i64,
    sha256: &str,
) -> Result<Option<statement::Model>, sea_orm::DbErr> {
    statement::Entity::find()
        .filter(statement::Column::OrganizationId.eq(organization_id))
        .filter(statement::Column::Sha256.eq(sha256))
        .one(&ctx.db)
        .await
}

/// Queues a failed statement to be parsed again (after an import template was saved for its
/// layout, or a parser fixed), from its stored file. The change is conditional
/// (`… WHERE status = 'failed'`), so a double click queues one parse; `None` when the statement
/// was not failed (any more). Its line errors and any lines go; the job writes them anew.
///
/// # Errors
/// Database or queue failures.
pub async fn reparse(
    ctx: &JobContext,
    statement_id: i64,
) -> Result<Option<statement::Model>, IngestError> {
    use sea_orm::{ConnectionTrait, Statement};
    let txn = entity::db::begin_write(&ctx.db).await?;
    let backend = txn.get_database_backend();
    let changed = txn
        .execute_raw(Statement::from_sql_and_values(
            backend,
            "UPDATE statements SET status = $1, failure_reason = NULL, format = NULL, \
               line_count = 0, error_count = 0, skipped_count = 0, matched_count = 0, \
               unmatched_count = 0, bytes_processed = 0, updated_at = $2 \
             WHERE id = $3 AND status = $4",
            [
                STATUS_UPLOADED.into(),
                Utc::now().into(),
                statement_id.into(),
                STATUS_FAILED.into(),
            ],
        ))
        .await?
        .rows_affected();
    if changed != 1 {
        txn.rollback().await?;
        return Ok(None);
    }
    for table in ["statement_lines", "statement_errors"] {
        txn.execute_raw(Statement::from_sql_and_values(
            backend,
            format!("DELETE FROM {table} WHERE statement_id = $1"),
            [statement_id.into()],
        ))
        .await?;
    }
    txn.commit().await?;
    if let Err(err) = ctx.queue.push(Job::ParseStatement { statement_id }).await {
        tracing::warn!(statement_id, error = %err, "parse not queued; the sweeper will queue it");
    }
    Ok(statement::Entity::find_by_id(statement_id)
        .one(&ctx.db)
        .await?)
}

/// Parses a registered statement and allocates it to payees here and now, instead of waiting
/// for a worker (the command line import and the demo). The queued copies of these jobs then
/// find the work done and change nothing.
///
/// # Errors
/// The jobs' failures.
pub async fn process_now(ctx: &crate::JobContext, statement_id: i64) -> anyhow::Result<()> {
    let parse = crate::Job::ParseStatement { statement_id };
    if let Err(err) = crate::perform(ctx, &parse).await {
        // As the queue would: what retrying cannot fix fails the statement with its reason.
        if crate::is_permanent(&err) {
            crate::give_up(ctx, &parse, &err, 1).await;
        }
        return Err(err);
    }
    crate::perform(ctx, &crate::Job::AllocateStatement { statement_id }).await
}
