//! `ParseStatement`: a stored statement file → statement lines and line errors, matched to the
//! catalogue.
//!
//! The file is read by the streaming parser on a blocking thread and handed over in batches
//! through a small bounded channel, so memory stays flat whatever the file's size. Batches are
//! written by [`LineWriter`] (a transaction per batch on PostgreSQL, several batches to one on
//! SQLite); lines are keyed by fingerprint (unique per organisation) and a line whose key is
//! stored already is skipped, so:
//! - a line already imported from an overlapping file is counted once;
//! - a worker killed mid-file leaves the batches it committed (not always a prefix of the file:
//!   PostgreSQL writes three at once), and the retried job re-reads the file and writes exactly
//!   the missing lines.
//!
//! Counts and totals are computed from the stored rows at the end, never accumulated in
//! memory, so a retry cannot double them.
//!
//! Lines are matched to the catalogue before they are written
//! ([`crate::matching::CatalogueIndex`], loaded once), so no line is written twice. SQL
//! matching runs at the end only for lines it could have missed: those an earlier, killed
//! attempt stored (matched by that attempt against the catalogue of its day), or every
//! unmatched line of the statement when the catalogue changed while the file was read.

use std::io::Read;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::Utc;
use domain::statement::{
    ColumnMapping, Format, Item, LineError, LineFlag, ParseError, ParseOptions, Reconciliation,
    StatementLine, StatementReader, open_container_with,
};
use entity::{organization, statement, statement_error};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, Set,
    Statement,
};
use tokio::sync::mpsc;

use super::line_writer::{LineWriter, NewLine};
use crate::ingest::{STATUS_FAILED, STATUS_PARSED, STATUS_PARSING};
use crate::{Event, JobContext};

/// Lines per write (one transaction). Both backends bind a batch in pieces of a fixed size (an
/// array per column on PostgreSQL, 100-row INSERTs on SQLite), so no parameter limit bounds it;
/// each write has a fixed cost (a commit, a round trip), and at 1,000 lines that was a third of
/// the time: 200,000 lines took 17 s on PostgreSQL and 14 s on SQLite at 1,000 a batch, 10.7 s
/// and 11.5 s at 5,000, no less at 20,000 (with three times the memory held in batches).
const BATCH_LINES: usize = 5_000;
const MAX_STORED_ERRORS: i64 = 100_000;

enum Message {
    Started(Format),
    Batch(Vec<Parsed>),
}

/// An item as the parser thread hands it over: a line comes with its fingerprint, hashed there
/// beside the parsing (one fingerprinter for the whole file, so occurrences count across a
/// container's entries), which leaves the writing task only converting and writing.
#[expect(
    clippy::large_enum_variant,
    reason = "lines are the common case; boxing each would allocate per line"
)]
enum Parsed {
    Line(StatementLine, domain::statement::LineKey),
    Error(LineError),
    Skipped,
}

struct CountingReader<R> {
    inner: R,
    read: Arc<AtomicU64>,
}

impl<R: std::io::Seek> std::io::Seek for CountingReader<R> {
    fn seek(&mut self, pos: std::io::SeekFrom) -> std::io::Result<u64> {
        self.inner.seek(pos)
    }
}

impl<R: Read> Read for CountingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// Marks a statement `failed` with `reason` (unless it was parsed meanwhile) and removes the
/// lines an attempt stored: a failed statement counts nowhere, and `reparseStatement` starts
/// it afresh.
///
/// # Errors
/// Database failures.
pub async fn fail(ctx: &JobContext, statement_id: i64, reason: &str) -> anyhow::Result<()> {
    let db = &ctx.db;
    let txn = entity::db::begin_write(db).await?;
    let backend = txn.get_database_backend();
    let changed = txn
        .execute_raw(Statement::from_sql_and_values(
            backend,
            "UPDATE statements SET status = $1, failure_reason = $2, updated_at = $3 \
             WHERE id = $4 AND status <> $5",
            [
                STATUS_FAILED.into(),
                reason.into(),
                Utc::now().into(),
                statement_id.into(),
                STATUS_PARSED.into(),
            ],
        ))
        .await?
        .rows_affected();
    if changed == 1 {
        txn.execute_raw(Statement::from_sql_and_values(
            backend,
            "DELETE FROM statement_lines WHERE statement_id = $1",
            [statement_id.into()],
        ))
        .await?;
    }
    txn.commit().await?;
    if changed == 1
        && let Some(st) = statement::Entity::find_by_id(statement_id).one(db).await?
    {
        publish(ctx, &st).await;
    }
    Ok(())
}

/// # Errors
/// Storage or database failures (the queue retries the job); [`crate::Permanent`] for what a
/// retry cannot fix (the stored file is gone). A file that cannot be parsed is not an error of
/// the job: the statement is marked `failed` with the reason, at once.
pub async fn run(ctx: &JobContext, statement_id: i64) -> anyhow::Result<()> {
    let db = &ctx.db;
    let job_started = std::time::Instant::now();
    let Some(st) = statement::Entity::find_by_id(statement_id).one(db).await? else {
        tracing::warn!(statement_id, "statement vanished before parsing");
        return Ok(());
    };
    if st.status == STATUS_PARSED
        && st.allocation_status == super::allocate_statement::STATUS_PENDING
    {
        // Parsed, but the worker may have died before queueing what follows: queue it again
        // (both jobs are idempotent).
        return follow_up(ctx, &st).await;
    }
    if st.status == STATUS_PARSED || st.status == STATUS_FAILED {
        return Ok(());
    }
    let org = organization::Entity::find_by_id(st.organization_id)
        .one(db)
        .await?
        .ok_or_else(|| {
            crate::Permanent(format!("statement {statement_id}: organization missing"))
        })?;
    // Conditional: a copy of this job that finished meanwhile (`imprint import` parses at once
    // what it also queues) is not turned back to `parsing`.
    let claimed = db
        .execute_raw(Statement::from_sql_and_values(
            db.get_database_backend(),
            "UPDATE statements SET status = $1, updated_at = $2 \
             WHERE id = $3 AND status NOT IN ($4, $5)",
            [
                STATUS_PARSING.into(),
                Utc::now().into(),
                st.id.into(),
                STATUS_PARSED.into(),
                STATUS_FAILED.into(),
            ],
        ))
        .await?
        .rows_affected();
    let Some(st) = statement::Entity::find_by_id(statement_id).one(db).await? else {
        return Ok(());
    };
    if claimed == 0 {
        return Ok(());
    }
    publish(ctx, &st).await;
    // A retried job starts the error list afresh; lines are kept and skipped by fingerprint.
    statement_error::Entity::delete_many()
        .filter(statement_error::Column::StatementId.eq(st.id))
        .exec(db)
        .await?;

    // Lines are matched in memory as they are written, against the catalogue as it is now.
    // Lines this statement already has were stored by an earlier attempt that was killed
    // before its end; they are matched in SQL at the end (the newest of them bounds that pass).
    let catalogue = crate::matching::CatalogueIndex::load(db, st.organization_id).await?;
    let earlier_lines = earlier_lines_upto(db, st.id).await?;

    let copy = match ctx.files.fetch_to_temp(&st.storage_key).await {
        Ok(copy) => copy,
        Err(crate::files::FileStoreError::Store(object_store::Error::NotFound { .. })) => {
            return Err(crate::Permanent(format!(
                "the stored file {} is missing: upload the statement again",
                st.storage_key
            ))
            .into());
        }
        Err(other) => return Err(other.into()),
    };
    let limits = ctx.statement_limits;
    let bytes_read = Arc::new(AtomicU64::new(0));
    let (tx, mut rx) = mpsc::channel::<Message>(4);
    let path = copy.path.clone();
    let counter = bytes_read.clone();
    let templates = load_templates(db, org.id).await?;
    let default_currency = Some(org.base_currency.clone());
    let parser = tokio::task::spawn_blocking(move || -> Result<Reconciliation, String> {
        let file = std::fs::File::open(&path).map_err(|e| e.to_string())?;
        let counting = CountingReader {
            inner: std::io::BufReader::with_capacity(256 * 1024, file),
            read: counter,
        };
        // A .gz is one statement, a .zip may hold several; a plain file is one entry.
        let mut container = open_container_with(counting, limits.max_decompressed_bytes)
            .map_err(|e| e.to_string())?;
        let mut reconciliation = Reconciliation::default();
        let mut fingerprints = domain::statement::Fingerprinter::new();
        let entries = container.names();
        for (index, name) in entries.iter().enumerate() {
            let in_entry = |reason: String| {
                if entries.len() > 1 {
                    format!("in `{name}`: {reason}")
                } else {
                    reason
                }
            };
            // A layout Imprint knows first; else the label's own templates, the first that fits.
            let mut options = ParseOptions {
                template: None,
                default_currency: default_currency.clone(),
                limits,
            };
            let mut opened = {
                let entry = container
                    .entry(index)
                    .map_err(|e| in_entry(e.to_string()))?;
                StatementReader::open(entry.reader, options.clone()).map(|_| ())
            };
            if matches!(opened, Err(ParseError::UnknownFormat)) {
                for template in &templates {
                    options.template = Some(template.clone());
                    opened = {
                        let entry = container
                            .entry(index)
                            .map_err(|e| in_entry(e.to_string()))?;
                        StatementReader::open(entry.reader, options.clone()).map(|_| ())
                    };
                    if opened.is_ok() {
                        break;
                    }
                }
            }
            opened.map_err(|e| in_entry(e.to_string()))?;
            let entry = container
                .entry(index)
                .map_err(|e| in_entry(e.to_string()))?;
            let mut items = StatementReader::open(entry.reader, options)
                .map_err(|e| in_entry(e.to_string()))?;
            if tx.blocking_send(Message::Started(items.format())).is_err() {
                return Err("ingestion stopped".into());
            }
            let format = items.format();
            let mut batch = Vec::with_capacity(BATCH_LINES);
            for item in items.by_ref() {
                let parsed = match item {
                    Item::Line(line) => {
                        let fingerprint = fingerprints.key(&line, format);
                        Parsed::Line(line, fingerprint)
                    }
                    Item::Error(mut error) => {
                        if entries.len() > 1 {
                            error.reason = in_entry(error.reason);
                        }
                        Parsed::Error(error)
                    }
                    Item::Skipped { .. } => Parsed::Skipped,
                };
                batch.push(parsed);
                if batch.len() == BATCH_LINES {
                    let full = std::mem::replace(&mut batch, Vec::with_capacity(BATCH_LINES));
                    if tx.blocking_send(Message::Batch(full)).is_err() {
                        return Err("ingestion stopped".into());
                    }
                }
            }
            if !batch.is_empty() && tx.blocking_send(Message::Batch(batch)).is_err() {
                return Err("ingestion stopped".into());
            }
            // A limit the file broke fails the statement: what was read is not all of it.
            let found = items.finish().map_err(|e| in_entry(e.to_string()))?;
            reconciliation
                .warnings
                .extend(found.warnings.into_iter().map(in_entry));
            reconciliation.declared_total = reconciliation.declared_total.or(found.declared_total);
            reconciliation.declared_line_count = reconciliation
                .declared_line_count
                .or(found.declared_line_count);
        }
        Ok(reconciliation)
    });

    let mut writer = Writer::new(
        &st,
        &org.base_currency,
        catalogue,
        LineWriter::new(db).await?,
    );
    let mut last_progress = std::time::Instant::now();
    let mut writing = std::time::Duration::ZERO;
    while let Some(message) = rx.recv().await {
        match message {
            Message::Started(format) => writer.format = Some(format),
            Message::Batch(items) => {
                let write_started = std::time::Instant::now();
                writer.write(db, items).await?;
                writing += write_started.elapsed();
                if last_progress.elapsed().as_millis() > 500 {
                    last_progress = std::time::Instant::now();
                    // SQLite: the lines so far committed first, which lets this write in.
                    writer.lines.commit().await?;
                    let processed =
                        i64::try_from(bytes_read.load(Ordering::Relaxed)).unwrap_or(i64::MAX);
                    let mut progress: statement::ActiveModel = st.clone().into();
                    progress.bytes_processed = Set(processed);
                    progress.line_count = Set(writer.lines_seen);
                    progress.updated_at = Set(Utc::now());
                    let current = progress.update(db).await?;
                    publish(ctx, &current).await;
                }
            }
        }
    }
    writer.lines.finish().await?;
    let outcome = parser
        .await
        .map_err(|e| anyhow::anyhow!("parser thread: {e}"))?;
    let reconciliation = match outcome {
        Ok(r) => r,
        Err(reason) => {
            fail(ctx, st.id, &reason).await?;
            return Ok(());
        }
    };

    tracing::info!(
        statement_id,
        elapsed_ms = job_started.elapsed().as_millis() as u64,
        lines = writer.lines_seen,
        writing_ms = writing.as_millis() as u64,
        "statement lines written"
    );
    // Takes SQLite's write lock at once: a deferred transaction that reads first fails with
    // "database is locked" when another process (`imprint import` beside a server) wrote since.
    let txn = entity::db::begin_write(db).await?;
    if crate::matching::CatalogueIndex::load(&txn, st.organization_id).await? != writer.catalogue {
        // The catalogue changed while the file was read (a track added, an alias assigned):
        // lines written before the change may now match. SQL over the statement's unmatched
        // lines, as after any catalogue change.
        crate::matching::match_lines(&txn, st.organization_id, Some(st.id)).await?;
    } else if let Some(upto) = earlier_lines {
        crate::matching::match_statement_lines_upto(&txn, st.organization_id, st.id, upto).await?;
    }
    tracing::info!(
        statement_id,
        elapsed_ms = job_started.elapsed().as_millis() as u64,
        "statement lines matched"
    );
    let summary = summarise(&txn, st.id).await?;
    let mut warnings = reconciliation.warnings.clone();
    for currency in &summary.saturated {
        warnings.push(format!(
            "the lines in {currency} sum beyond ±9223372036.854775807, the most Imprint stores: the total shown is cut to it"
        ));
    }
    if let Some((declared, currency)) = &reconciliation.declared_total
        && let Some(total) = summary.totals.iter().find(|t| &t.currency == currency)
    {
        let computed = domain::money::decimal_from_nanos(total.amount_nanos);
        if computed != *declared {
            warnings.push(format!(
                "the file declares a total of {declared} {currency}; its lines sum to {computed} {currency}"
            ));
        }
    }
    // A declared line count (DSR `FOOT`) counts records of every kind and is checked against
    // the records read by the parser itself; statement lines are another count.
    let duplicates = writer.lines_seen - summary.line_count;
    if duplicates > 0 {
        warnings.push(format!(
            "{duplicates} lines were already imported from an overlapping statement and are counted once"
        ));
    }
    for (note, (count, first)) in &writer.flags {
        warnings.push(format!("{count} lines {note}; the first is line {first}"));
    }
    for (currency, count) in &writer.missing_rates {
        warnings.push(format!(
            "{count} lines are in {currency}: they are converted to {} when allocated, at the rate the rate table has for the statement's period or one set on the statement (their base-currency amount is 0 until then)",
            org.base_currency
        ));
    }
    let mut done: statement::ActiveModel = st.clone().into();
    done.status = Set(STATUS_PARSED.to_owned());
    done.format = Set(writer.format.map(|f| f.as_str().to_owned()));
    done.currency = Set(summary.totals.first().map(|t| t.currency.clone()));
    done.period_start = Set(summary.period_start);
    done.period_end = Set(summary.period_end);
    done.line_count = Set(summary.line_count);
    done.error_count = Set(summary.error_count);
    done.skipped_count = Set(writer.skipped);
    done.matched_count = Set(summary.matched_count);
    done.unmatched_count = Set(summary.line_count - summary.matched_count);
    done.bytes_processed = Set(st.size_bytes);
    done.totals = Set(serde_json::to_value(&summary.totals)?);
    done.warnings = Set(serde_json::to_value(&warnings)?);
    done.parsed_at = Set(Some(Utc::now()));
    done.updated_at = Set(Utc::now());
    let done = done.update(&txn).await?;
    txn.commit().await?;
    publish(ctx, &done).await;
    follow_up(ctx, &done).await
}

/// The id of the newest line the statement already has, if any.
async fn earlier_lines_upto(
    db: &impl ConnectionTrait,
    statement_id: i64,
) -> Result<Option<i64>, sea_orm::DbErr> {
    let row = db
        .query_one_raw(Statement::from_sql_and_values(
            db.get_database_backend(),
            "SELECT MAX(id) AS upto FROM statement_lines WHERE statement_id = $1",
            [statement_id.into()],
        ))
        .await?;
    match row {
        Some(row) => row.try_get::<Option<i64>>("", "upto"),
        None => Ok(None),
    }
}

/// Queues what follows a parsed statement: its allocation and its analytics roll-ups.
async fn follow_up(ctx: &JobContext, st: &statement::Model) -> anyhow::Result<()> {
    ctx.queue
        .push(crate::Job::AllocateStatement {
            statement_id: st.id,
        })
        .await?;
    ctx.queue
        .push(crate::Job::RefreshAnalytics {
            organization_id: st.organization_id,
            statement_id: Some(st.id),
        })
        .await?;
    // Idempotent per (webhook, event id): re-queueing after a crash sends nothing twice.
    crate::webhooks::statement_parsed(ctx, st).await?;
    Ok(())
}

/// The stable identity of a mapping: its mapped header names, normalised and sorted.
#[must_use]
pub fn template_signature(mapping: &ColumnMapping) -> String {
    let mut names: Vec<String> = [
        &mapping.isrc,
        &mapping.upc,
        &mapping.title,
        &mapping.artist,
        &mapping.release_title,
        &mapping.store,
        &mapping.territory,
        &mapping.sale_period,
        &mapping.quantity,
        &mapping.amount,
        &mapping.currency,
        &mapping.usage_type,
    ]
    .into_iter()
    .flatten()
    .map(|name| {
        name.split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .to_lowercase()
    })
    .collect();
    names.sort();
    names.join("|")
}

async fn load_templates(
    db: &impl ConnectionTrait,
    organization_id: i64,
) -> anyhow::Result<Vec<ColumnMapping>> {
    let rows = entity::import_template::Entity::find()
        .filter(entity::import_template::Column::OrganizationId.eq(organization_id))
        .all(db)
        .await?;
    rows.into_iter()
        .map(|row| {
            let mut mapping: ColumnMapping = serde_json::from_value(row.mapping)?;
            mapping.template_id = row.id;
            Ok(mapping)
        })
        .collect()
}

async fn publish(ctx: &JobContext, st: &statement::Model) {
    let event = Event::StatementProgress {
        organization_id: st.organization_id,
        statement_id: st.id,
        status: st.status.clone(),
        bytes_processed: st.bytes_processed,
        size_bytes: st.size_bytes,
        line_count: st.line_count,
        error_count: st.error_count,
    };
    if let Err(err) = ctx.events.publish(&event).await {
        // Progress is a courtesy; the statement row is the record.
        tracing::warn!(error = %err, "statement progress not published");
    }
}

/// Writes batches of parsed items.
struct Writer {
    statement_id: i64,
    organization_id: i64,
    base_currency: String,
    format: Option<Format>,
    lines_seen: i64,
    skipped: i64,
    errors_stored: i64,
    missing_rates: std::collections::BTreeMap<String, i64>,
    /// The organisation's catalogue as the job started, each line matched against it.
    catalogue: crate::matching::CatalogueIndex,
    lines: LineWriter,
    /// Per kind of line flag: how many lines, and the first line number.
    flags: std::collections::BTreeMap<&'static str, (i64, u64)>,
    /// Per currency, the sum of the amounts of the lines read so far (exact, in `i128`): a line
    /// that would take it past what an `i64` of nano-units holds is a line error, so that the
    /// statement's totals, and the sums made of its lines later, stay in range.
    running_nanos: std::collections::BTreeMap<String, i128>,
}

/// What a flagged line means to the person reading the statement's warnings.
fn flag_note(flag: LineFlag) -> Option<&'static str> {
    Some(match flag {
        LineFlag::IsrcInvalid => "have an ISRC that is not valid (kept as read)",
        LineFlag::UpcCheckDigit => "have a UPC with a wrong check digit (kept as read)",
        LineFlag::UpcInvalid => "have a UPC of the wrong length (kept as read)",
        LineFlag::TerritoryUnknown => {
            "have a territory that is not a country code (raw value kept)"
        }
        LineFlag::AmountMissing => "have no amount (a short or empty money cell) and count as zero",
        LineFlag::QuantityFractional => "have a fractional quantity, rounded to a whole number",
        LineFlag::CurrencyUnknown => "have a currency that is not an ISO code",
        LineFlag::EncodingFallback => "were not valid UTF-8 and were read as Windows-1252",
        LineFlag::DateUnreadable => {
            "have a date that could not be read (their period is taken from the statement)"
        }
        LineFlag::Prorated => return None,
    })
}

impl Writer {
    fn new(
        st: &statement::Model,
        base_currency: &str,
        catalogue: crate::matching::CatalogueIndex,
        lines: LineWriter,
    ) -> Self {
        Self {
            statement_id: st.id,
            organization_id: st.organization_id,
            base_currency: base_currency.to_owned(),
            format: None,
            lines_seen: 0,
            skipped: 0,
            errors_stored: 0,
            missing_rates: Default::default(),
            catalogue,
            lines,
            flags: Default::default(),
            running_nanos: Default::default(),
        }
    }

    /// The line's amount in nano-units, once it is known to keep the statement's total in
    /// its currency in range (the sum is then counted); else why the line is refused.
    fn admit(&mut self, line: &StatementLine) -> Result<i64, String> {
        let nanos = domain::money::nanos_from_decimal(line.amount)
            .map_err(|_| format!("amount {} is out of range", line.amount))?;
        let running = self.running_nanos.entry(line.currency.clone()).or_default();
        let after = *running + i128::from(nanos);
        if i64::try_from(after).is_err() {
            return Err(format!(
                "amount {} {} would take the statement's total in {} past ±9223372036.854775807, the most Imprint stores",
                line.amount, line.currency, line.currency
            ));
        }
        *running = after;
        Ok(nanos)
    }

    fn push_error(
        &mut self,
        errors: &mut Vec<statement_error::ActiveModel>,
        line_number: u64,
        reason: String,
        raw: String,
    ) {
        if self.errors_stored < MAX_STORED_ERRORS {
            self.errors_stored += 1;
            errors.push(statement_error::ActiveModel {
                organization_id: Set(self.organization_id),
                statement_id: Set(self.statement_id),
                line_number: Set(i64::try_from(line_number).unwrap_or(i64::MAX)),
                reason: Set(reason),
                raw: Set(Some(raw)),
                ..Default::default()
            });
        }
    }

    fn base_amount(&mut self, amount_nanos: i64, currency: &str) -> i64 {
        if currency == self.base_currency {
            amount_nanos
        } else {
            *self.missing_rates.entry(currency.to_owned()).or_default() += 1;
            0
        }
    }

    async fn write(
        &mut self,
        db: &sea_orm::DatabaseConnection,
        items: Vec<Parsed>,
    ) -> anyhow::Result<()> {
        let mut lines = Vec::with_capacity(items.len());
        let mut errors = Vec::new();
        for item in items {
            match item {
                Parsed::Line(line, fingerprint) => {
                    let amount_nanos = match self.admit(&line) {
                        Ok(nanos) => nanos,
                        Err(reason) => {
                            self.push_error(&mut errors, line.line_number, reason, String::new());
                            continue;
                        }
                    };
                    self.lines_seen += 1;
                    for flag in &line.flags {
                        if let Some(note) = flag_note(*flag) {
                            self.flags.entry(note).or_insert((0, line.line_number)).0 += 1;
                        }
                    }
                    let base_amount_nanos = self.base_amount(amount_nanos, &line.currency);
                    let matched = self.catalogue.match_line(
                        line.isrc.as_deref(),
                        line.upc.as_deref(),
                        line.title.as_deref(),
                        line.artist_name.as_deref(),
                    );
                    lines.push(NewLine {
                        organization_id: self.organization_id,
                        statement_id: self.statement_id,
                        line_number: i64::try_from(line.line_number).unwrap_or(i64::MAX),
                        fingerprint,
                        isrc: line.isrc,
                        upc: line.upc,
                        title: line.title,
                        artist_name: line.artist_name,
                        release_title: line.release_title,
                        store: line.store,
                        territory: line.territory,
                        territory_raw: line.territory_raw,
                        sale_period_start: line.sale_period.map(|p| p.start),
                        sale_period_end: line.sale_period.map(|p| p.end),
                        usage_type: line.usage_type,
                        quantity: line.quantity,
                        amount_nanos,
                        currency: line.currency,
                        base_amount_nanos,
                        base_currency: self.base_currency.clone(),
                        track_id: matched.and_then(|m| m.track_id),
                        release_id: matched.map(|m| m.release_id),
                        match_method: matched.map(|m| m.method),
                    });
                }
                Parsed::Error(error) => {
                    self.push_error(&mut errors, error.line_number, error.reason, error.raw);
                }
                Parsed::Skipped => self.skipped += 1,
            }
        }
        if lines.is_empty() && errors.is_empty() {
            return Ok(());
        }
        // A line whose fingerprint exists came from an overlapping statement, or from this
        // one before a retry; either way it is already counted once.
        self.lines.insert(db, lines).await?;
        if !errors.is_empty() {
            self.lines.commit().await?;
            statement_error::Entity::insert_many(errors)
                .exec_without_returning(db)
                .await?;
        }
        Ok(())
    }
}

#[derive(Debug, serde::Serialize)]
pub struct CurrencyTotal {
    pub currency: String,
    pub amount_nanos: i64,
    pub line_count: i64,
}

struct Summary {
    /// Currencies whose lines sum beyond an `i64` of nano-units (their total is saturated).
    saturated: Vec<String>,
    line_count: i64,
    error_count: i64,
    matched_count: i64,
    totals: Vec<CurrencyTotal>,
    period_start: Option<chrono::NaiveDate>,
    period_end: Option<chrono::NaiveDate>,
}

async fn summarise(
    db: &impl ConnectionTrait,
    statement_id: i64,
) -> Result<Summary, sea_orm::DbErr> {
    let backend = db.get_database_backend();
    // The sum in two parts that cannot overflow (whole units, and the nano-units below one),
    // put together exactly in `i128`: SQLite's SUM fails on an `i64` overflow, and a NUMERIC
    // sum cast back to BIGINT on PostgreSQL fails the same way.
    let rows = db
        .query_all_raw(Statement::from_sql_and_values(
            backend,
            "SELECT currency, CAST(SUM(amount_nanos / 1000000000) AS BIGINT) AS total_units, \
               CAST(SUM(amount_nanos % 1000000000) AS BIGINT) AS total_rest, COUNT(*) AS lines, \
               COUNT(track_id) + COUNT(CASE WHEN track_id IS NULL THEN release_id END) AS matched, \
               MIN(sale_period_start) AS period_start, MAX(sale_period_end) AS period_end \
             FROM statement_lines WHERE statement_id = $1 GROUP BY currency ORDER BY COUNT(*) DESC, currency",
            [statement_id.into()],
        ))
        .await?;
    let mut summary = Summary {
        saturated: Vec::new(),
        line_count: 0,
        error_count: 0,
        matched_count: 0,
        totals: Vec::new(),
        period_start: None,
        period_end: None,
    };
    for row in rows {
        let currency: String = row.try_get("", "currency")?;
        let units: i64 = row.try_get("", "total_units")?;
        let rest: i64 = row.try_get("", "total_rest")?;
        let exact = i128::from(units) * 1_000_000_000 + i128::from(rest);
        let amount_nanos = i64::try_from(exact).unwrap_or_else(|_| {
            summary.saturated.push(currency.clone());
            if exact > 0 { i64::MAX } else { i64::MIN }
        });
        let lines: i64 = row.try_get("", "lines")?;
        summary.line_count += lines;
        summary.matched_count += row.try_get::<i64>("", "matched")?;
        let start: Option<chrono::NaiveDate> = row.try_get("", "period_start")?;
        let end: Option<chrono::NaiveDate> = row.try_get("", "period_end")?;
        summary.period_start = match (summary.period_start, start) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        summary.period_end = summary.period_end.max(end);
        summary.totals.push(CurrencyTotal {
            currency,
            amount_nanos,
            line_count: lines,
        });
    }
    let errors = statement_error::Entity::find()
        .filter(statement_error::Column::StatementId.eq(statement_id))
        .count(db)
        .await?;
    summary.error_count = i64::try_from(errors).unwrap_or(i64::MAX);
    Ok(summary)
}
