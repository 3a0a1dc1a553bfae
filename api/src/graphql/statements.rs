//! Statements: uploading distributor and store reports, their parsing progress, lines, errors,
//! and matching what the parser could not match.

use std::time::Duration;

use async_graphql::{Context, ID, InputObject, Object, SimpleObject, Subscription, Upload};
use chrono::{DateTime, NaiveDate, Utc};
use entity::{identifier_alias, statement, statement_error, statement_line};
use futures::Stream;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};
use workers::ingest::{self, IngestError, NewStatement, Registered};

use super::access::{ContextExt, OrgAccess, Permission};
use super::accounts::decode_or_not_found;
use super::catalogue::{Release, Track};
use super::connection::{Page, PageArgs, paginate};
use super::error::{ApiError, ApiResult, UserError, UserErrorCode};
use super::guard::{self, Seen};
use super::ids::{self, Kind};
use super::money::Money;

/// Where a statement is in its life.
#[derive(async_graphql::Enum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum StatementStatus {
    Uploaded,
    Parsing,
    Parsed,
    Failed,
}

impl StatementStatus {
    fn from_db(raw: &str) -> Self {
        match raw {
            ingest::STATUS_PARSING => Self::Parsing,
            ingest::STATUS_PARSED => Self::Parsed,
            ingest::STATUS_FAILED => Self::Failed,
            _ => Self::Uploaded,
        }
    }
}

#[derive(serde::Deserialize)]
struct StoredTotal {
    currency: String,
    amount_nanos: i64,
    line_count: i64,
}

/// The sum of a statement's lines in one currency.
#[derive(SimpleObject)]
pub struct StatementTotal {
    pub amount: Money,
    pub line_count: i64,
}

/// Where a statement's allocation to payees is.
#[derive(async_graphql::Enum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum AllocationStatus {
    Pending,
    Allocating,
    Allocated,
}

pub struct Statement(pub Seen<statement::Model>);

#[Object]
impl Statement {
    pub async fn id(&self) -> ID {
        ids::encode(Kind::Statement, self.0.id)
    }
    async fn filename(&self) -> &str {
        &self.0.filename
    }
    /// Who sent it (distributor or store), as given at upload.
    async fn source(&self) -> Option<&str> {
        self.0.source.as_deref()
    }
    /// The layout detected from the header row.
    async fn format(&self) -> Option<&str> {
        self.0.format.as_deref()
    }
    async fn sha256(&self) -> &str {
        &self.0.sha256
    }
    async fn size_bytes(&self) -> i64 {
        self.0.size_bytes
    }
    async fn status(&self) -> StatementStatus {
        StatementStatus::from_db(&self.0.status)
    }
    /// Share of the file read so far, 0 to 1.
    async fn progress(&self) -> f64 {
        if self.0.status == ingest::STATUS_PARSED {
            return 1.0;
        }
        if self.0.size_bytes == 0 {
            return 0.0;
        }
        (self.0.bytes_processed as f64 / self.0.size_bytes as f64).clamp(0.0, 1.0)
    }
    async fn line_count(&self) -> i64 {
        self.0.line_count
    }
    async fn error_count(&self) -> i64 {
        self.0.error_count
    }
    /// Rows that are not earnings (payouts, withdrawals, totals rows), skipped and counted.
    async fn skipped_count(&self) -> i64 {
        self.0.skipped_count
    }
    async fn matched_count(&self) -> i64 {
        self.0.matched_count
    }
    async fn unmatched_count(&self) -> i64 {
        self.0.unmatched_count
    }
    /// Totals by statement currency, exact.
    async fn totals(&self) -> Vec<StatementTotal> {
        serde_json::from_value::<Vec<StoredTotal>>(self.0.totals.clone())
            .unwrap_or_default()
            .into_iter()
            .map(|t| StatementTotal {
                amount: Money::from_nanos(t.amount_nanos, &t.currency),
                line_count: t.line_count,
            })
            .collect()
    }
    /// Differences between what the file declares and what its lines sum to, and other notes.
    async fn warnings(&self) -> Vec<String> {
        serde_json::from_value(self.0.warnings.clone()).unwrap_or_default()
    }
    async fn failure_reason(&self) -> Option<&str> {
        self.0.failure_reason.as_deref()
    }
    async fn period_start(&self) -> Option<NaiveDate> {
        self.0.period_start
    }
    async fn period_end(&self) -> Option<NaiveDate> {
        self.0.period_end
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// Whether the matched lines have been allocated to payees yet.
    async fn allocation_status(&self) -> AllocationStatus {
        match self.0.allocation_status.as_str() {
            workers::jobs::allocate_statement::STATUS_ALLOCATED => AllocationStatus::Allocated,
            workers::jobs::allocate_statement::STATUS_ALLOCATING => AllocationStatus::Allocating,
            _ => AllocationStatus::Pending,
        }
    }
    /// Matched lines allocated to payees.
    async fn allocated_count(&self) -> i64 {
        self.0.allocated_count
    }
    /// Matched lines that could not be allocated; `allocationIssues` says why.
    async fn unallocated_count(&self) -> i64 {
        self.0.unallocated_count
    }
    async fn allocation_issues(&self) -> Vec<super::ledger::AllocationIssue> {
        super::ledger::allocation_issues(&self.0)
    }
    /// Per currency: the reported total, the rate and its source, the converted total.
    async fn currencies(&self, ctx: &Context<'_>) -> ApiResult<Vec<super::fx::StatementCurrency>> {
        super::fx::statement_currencies(ctx, &self.0).await
    }
    /// Lines in a foreign currency waiting for a rate (not allocated until they have one).
    async fn lines_awaiting_rate(&self, ctx: &Context<'_>) -> ApiResult<i64> {
        super::fx::lines_awaiting_rate(ctx, &self.0).await
    }
    /// Whether a remittance pays this statement.
    async fn reconciliation(&self, ctx: &Context<'_>) -> ApiResult<super::fx::Reconciliation> {
        super::fx::reconciliation(ctx, &self.0).await
    }
    /// The remittances that pay it.
    async fn remittances(&self, ctx: &Context<'_>) -> ApiResult<Vec<super::fx::Remittance>> {
        super::fx::statement_remittances(ctx, &self.0).await
    }
    async fn parsed_at(&self) -> Option<DateTime<Utc>> {
        self.0.parsed_at
    }
    /// Lines the parser refused, with their line number and why.
    async fn errors(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> ApiResult<Page<StatementError>> {
        money_access(ctx, self.0.organization_id)?;
        let select = statement_error::Entity::find()
            .filter(statement_error::Column::StatementId.eq(self.0.id));
        paginate(
            ctx,
            select,
            statement_error::Column::Id,
            &PageArgs::new(first, after),
            |m| m.id,
            StatementError,
        )
        .await
    }
    /// The unmatched lines grouped by the identifier the statement gives them (ISRC, else
    /// UPC, else title and artist), most lines first, each with its revenue and the
    /// organisation's tracks that look like it.
    async fn unmatched_identifiers(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> ApiResult<Page<super::unmatched::UnmatchedIdentifier>> {
        money_access(ctx, self.0.organization_id)?;
        super::unmatched::page(
            ctx,
            self.0.organization_id,
            self.0.id,
            &PageArgs::new(first, after),
        )
        .await
    }
    async fn lines(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        #[graphql(desc = "Only lines matched to nothing in the catalogue.")] unmatched_only: Option<
            bool,
        >,
    ) -> ApiResult<Page<StatementLine>> {
        money_access(ctx, self.0.organization_id)?;
        let mut select = statement_line::Entity::find()
            .filter(statement_line::Column::StatementId.eq(self.0.id));
        if unmatched_only == Some(true) {
            select = select
                .filter(statement_line::Column::TrackId.is_null())
                .filter(statement_line::Column::ReleaseId.is_null());
        }
        paginate(
            ctx,
            select,
            statement_line::Column::Id,
            &PageArgs::new(first, after),
            |m| m.id,
            StatementLine,
        )
        .await
    }
}

pub struct StatementError(pub Seen<statement_error::Model>);

#[Object]
impl StatementError {
    async fn line_number(&self) -> i64 {
        self.0.line_number
    }
    async fn reason(&self) -> &str {
        &self.0.reason
    }
    /// The offending line as read (truncated).
    async fn raw(&self) -> Option<&str> {
        self.0.raw.as_deref()
    }
}

pub struct StatementLine(pub Seen<statement_line::Model>);

#[Object]
impl StatementLine {
    async fn line_number(&self) -> i64 {
        self.0.line_number
    }
    async fn isrc(&self) -> Option<&str> {
        self.0.isrc.as_deref()
    }
    async fn upc(&self) -> Option<&str> {
        self.0.upc.as_deref()
    }
    async fn title(&self) -> Option<&str> {
        self.0.title.as_deref()
    }
    async fn artist_name(&self) -> Option<&str> {
        self.0.artist_name.as_deref()
    }
    async fn store(&self) -> Option<&str> {
        self.0.store.as_deref()
    }
    /// ISO 3166 alpha-2, when the statement's value normalises to one.
    async fn territory(&self) -> Option<&str> {
        self.0.territory.as_deref()
    }
    async fn territory_raw(&self) -> Option<&str> {
        self.0.territory_raw.as_deref()
    }
    async fn sale_period_start(&self) -> Option<NaiveDate> {
        self.0.sale_period_start
    }
    async fn sale_period_end(&self) -> Option<NaiveDate> {
        self.0.sale_period_end
    }
    async fn usage_type(&self) -> Option<&str> {
        self.0.usage_type.as_deref()
    }
    async fn quantity(&self) -> i64 {
        self.0.quantity
    }
    async fn amount(&self) -> Money {
        Money::from_nanos(self.0.amount_nanos, &self.0.currency)
    }
    async fn base_amount(&self) -> Money {
        Money::from_nanos(self.0.base_amount_nanos, &self.0.base_currency)
    }
    /// The rate the line was converted at (null in the base currency, or waiting for one).
    async fn exchange_rate(&self) -> Option<&str> {
        self.0.fx_rate.as_deref()
    }
    async fn exchange_rate_source(&self) -> Option<super::fx::ExchangeRateSource> {
        self.0
            .fx_source
            .as_deref()
            .and_then(super::fx::ExchangeRateSource::from_db)
    }
    /// How the line was matched: isrc, alias, upc, title.
    async fn match_method(&self) -> Option<&str> {
        self.0.match_method.as_deref()
    }
    async fn track(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Track>> {
        let Some(id) = self.0.track_id else {
            return Ok(None);
        };
        let row = ctx
            .data_unchecked::<super::loaders::Loaders>()
            .track
            .load_one(id)
            .await?;
        Ok(guard::admit_opt(ctx, row).await?.map(Track))
    }
    async fn release(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Release>> {
        let Some(id) = self.0.release_id else {
            return Ok(None);
        };
        let row = ctx
            .data_unchecked::<super::loaders::Loaders>()
            .release
            .load_one(id)
            .await?;
        Ok(guard::admit_opt(ctx, row).await?.map(Release))
    }
}

/// Raw distributor statements hold every artist's money: managers, viewers and keys read them;
/// artist members see their earnings through their payees instead.
fn money_access(ctx: &Context<'_>, organization_id: i64) -> ApiResult<OrgAccess> {
    let access = ctx.authorize(organization_id, Permission::ReadStatements)?;
    if access.artist_id.is_some() {
        return Err(ApiError::Forbidden(
            "distributor statements cover every artist; artists see their own earnings",
        ));
    }
    Ok(access)
}

/// Loads a statement by global id and checks read access to it.
///
/// # Errors
/// NOT_FOUND or the authorization failure.
pub async fn load_statement(
    ctx: &Context<'_>,
    id: &ID,
    permission: Permission,
) -> ApiResult<Seen<statement::Model>> {
    guard::fetch(ctx, Kind::Statement, id, permission).await
}

#[derive(Default)]
pub struct StatementsQuery;

#[Object]
impl StatementsQuery {
    async fn statement(&self, ctx: &Context<'_>, id: ID) -> ApiResult<Statement> {
        Ok(Statement(
            load_statement(ctx, &id, Permission::ReadStatements).await?,
        ))
    }
}

#[derive(InputObject)]
pub struct UploadStatementInput {
    pub organization_id: ID,
    /// The statement file (CSV, TSV, TXT, or a .gz or .zip of them), as a multipart upload.
    pub file: Upload,
    /// Who sent it, e.g. "DistroKid".
    pub source: Option<String>,
}

#[derive(SimpleObject, Default)]
pub struct UploadStatementPayload {
    pub statement: Option<Statement>,
    /// True when this exact file was uploaded before: the existing statement is returned and
    /// nothing changed.
    pub duplicate: bool,
    pub user_errors: Vec<UserError>,
}

#[derive(InputObject)]
pub struct ReparseStatementInput {
    pub statement_id: ID,
}

#[derive(SimpleObject, Default)]
pub struct ReparseStatementPayload {
    /// The statement, queued to be parsed again (status `UPLOADED`).
    pub statement: Option<Statement>,
    pub user_errors: Vec<UserError>,
}

#[derive(InputObject)]
pub struct MatchStatementLinesInput {
    pub statement_id: ID,
    /// The ISRC or UPC as the statement carries it.
    pub identifier: String,
    pub track_id: ID,
}

#[derive(SimpleObject, Default)]
pub struct MatchStatementLinesPayload {
    pub statement: Option<Statement>,
    /// Lines matched by this call, across every statement of the organisation.
    pub matched_line_count: i64,
    pub user_errors: Vec<UserError>,
}

#[derive(Default)]
pub struct StatementsMutation;

#[Object]
impl StatementsMutation {
    async fn upload_statement(
        &self,
        ctx: &Context<'_>,
        input: UploadStatementInput,
    ) -> ApiResult<UploadStatementPayload> {
        let organization_id = decode_or_not_found(Kind::Organization, &input.organization_id)?;
        ctx.authorize(organization_id, Permission::WriteStatements)?;
        let upload = input
            .file
            .value(ctx)
            .map_err(|e| ApiError::BadRequest(format!("file: {e}")))?;
        let filename = upload.filename.clone();
        // The multipart file is an anonymous temp file; give it a path the ingester can read.
        // Removed when the request ends (dropped, also when the client goes away); named with
        // this process's id, so one a killed process left is removed at the next start.
        let copy =
            tokio::task::spawn_blocking(move || -> std::io::Result<tempfile::NamedTempFile> {
                let mut content = upload.content;
                let mut named = workers::files::named_temp("upload")?;
                std::io::copy(&mut content, &mut named)?;
                Ok(named)
            })
            .await
            .map_err(ApiError::internal)?
            .map_err(ApiError::internal)?;
        let state = ctx.state();
        let registered = ingest::register(
            &state.job_context(),
            NewStatement {
                organization_id,
                path: copy.path(),
                filename,
                source: input.source,
                uploaded_by_user_id: ctx.principal().user_id(),
                limit_bytes: state.config.max_upload_bytes,
            },
        )
        .await;
        match registered {
            Ok(Registered::New(st)) => Ok(UploadStatementPayload {
                statement: guard::admit(ctx, st).await?.map(Statement),
                duplicate: false,
                user_errors: Vec::new(),
            }),
            Ok(Registered::Existing(st)) => Ok(UploadStatementPayload {
                statement: guard::admit(ctx, st).await?.map(Statement),
                duplicate: true,
                user_errors: Vec::new(),
            }),
            Err(err @ (IngestError::TooLarge { .. } | IngestError::Empty)) => {
                Ok(UploadStatementPayload {
                    user_errors: vec![UserError::invalid("file", err.to_string())],
                    ..Default::default()
                })
            }
            Err(other) => Err(ApiError::internal(other)),
        }
    }

    /// Parses a FAILED statement again from its stored file: after an import template was
    /// saved for its layout (`createImportTemplate`), or a parser was fixed.
    async fn reparse_statement(
        &self,
        ctx: &Context<'_>,
        input: ReparseStatementInput,
    ) -> ApiResult<ReparseStatementPayload> {
        let st = load_statement(ctx, &input.statement_id, Permission::WriteStatements).await?;
        let requeued = ingest::reparse(&ctx.state().job_context(), st.id)
            .await
            .map_err(ApiError::internal)?;
        Ok(match requeued {
            Some(st) => ReparseStatementPayload {
                statement: guard::admit(ctx, st).await?.map(Statement),
                user_errors: Vec::new(),
            },
            None => ReparseStatementPayload {
                user_errors: vec![UserError::invalid(
                    "statementId",
                    format!(
                        "only a failed statement can be parsed again; this one is {}",
                        st.status
                    ),
                )],
                ..Default::default()
            },
        })
    }

    /// Assigns an identifier the statement carries to a track, and remembers it: every
    /// unmatched line with it, in this statement and any later one, matches that track.
    async fn match_statement_lines(
        &self,
        ctx: &Context<'_>,
        input: MatchStatementLinesInput,
    ) -> ApiResult<MatchStatementLinesPayload> {
        let st = load_statement(ctx, &input.statement_id, Permission::WriteStatements).await?;
        let db = ctx.db();
        let identifier: String = input
            .identifier
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '-')
            .collect::<String>()
            .to_uppercase();
        if identifier.is_empty() {
            return Ok(MatchStatementLinesPayload {
                user_errors: vec![UserError::new(
                    "identifier",
                    UserErrorCode::Required,
                    "give the ISRC or UPC the statement uses",
                )],
                ..Default::default()
            });
        }
        let track = match super::refs::find_track(db, st.organization_id, &input.track_id).await? {
            Ok(t) => t,
            Err(e) => {
                return Ok(MatchStatementLinesPayload {
                    user_errors: vec![e.at("trackId")],
                    ..Default::default()
                });
            }
        };
        let existing = identifier_alias::Entity::find()
            .filter(identifier_alias::Column::OrganizationId.eq(st.organization_id))
            .filter(identifier_alias::Column::Identifier.eq(&identifier))
            .one(db)
            .await?;
        match existing {
            Some(alias) if alias.track_id != track.id => {
                return Ok(MatchStatementLinesPayload {
                    user_errors: vec![UserError::new(
                        "identifier",
                        UserErrorCode::Taken,
                        "this identifier is already assigned to another track",
                    )],
                    ..Default::default()
                });
            }
            Some(_) => {}
            None => {
                identifier_alias::ActiveModel {
                    organization_id: Set(st.organization_id),
                    identifier: Set(identifier),
                    track_id: Set(track.id),
                    created_by_user_id: Set(ctx.principal().user_id()),
                    created_at: Set(Utc::now()),
                    ..Default::default()
                }
                .insert(db)
                .await?;
            }
        }
        // The lines the identifier matches go on to allocation and the analytics, as jobs.
        let matched =
            workers::matching::match_and_flow(db, &ctx.state().queue, st.organization_id).await?;
        let st = statement::Entity::find_by_id(st.id)
            .one(db)
            .await?
            .ok_or(ApiError::NotFound("Statement"))?;
        Ok(MatchStatementLinesPayload {
            statement: guard::admit(ctx, st).await?.map(Statement),
            matched_line_count: i64::try_from(matched).unwrap_or(i64::MAX),
            user_errors: Vec::new(),
        })
    }
}

/// A statement's progress, as the worker reports it.
#[derive(SimpleObject, Clone, Debug)]
pub struct StatementProgress {
    pub statement_id: ID,
    pub status: StatementStatus,
    pub bytes_processed: i64,
    pub size_bytes: i64,
    pub line_count: i64,
    pub error_count: i64,
}

#[derive(Default)]
pub struct StatementsSubscription;

#[Subscription]
impl StatementsSubscription {
    /// Progress of one statement's parsing, then its final state. The current state is sent
    /// first, so a client that subscribes late still sees where it is. The caller's credential
    /// is resolved again before every update: once it no longer gives access, the subscription
    /// sends that error and ends.
    async fn statement_progress(
        &self,
        ctx: &Context<'_>,
        statement_id: ID,
    ) -> Result<impl Stream<Item = Result<StatementProgress, ApiError>>, ApiError> {
        let st = load_statement(ctx, &statement_id, Permission::ReadStatements).await?;
        let mut events = ctx.state().events.subscribe();
        let state = ctx.state().clone();
        let credential = ctx
            .data_opt::<super::accounts::RequestCredential>()
            .cloned()
            .unwrap_or(super::accounts::RequestCredential(None));
        let organization_id = st.organization_id;
        let id = st.id;
        let first = StatementProgress {
            statement_id: ids::encode(Kind::Statement, id),
            status: StatementStatus::from_db(&st.status),
            bytes_processed: st.bytes_processed,
            size_bytes: st.size_bytes,
            line_count: st.line_count,
            error_count: st.error_count,
        };
        let finished = matches!(
            first.status,
            StatementStatus::Parsed | StatementStatus::Failed
        );
        Ok(async_stream::stream! {
            yield Ok(first);
            if finished {
                return;
            }
            loop {
                let event = match tokio::time::timeout(Duration::from_secs(3600), events.recv()).await {
                    Ok(Ok(event)) => event,
                    Ok(Err(tokio::sync::broadcast::error::RecvError::Lagged(_))) => continue,
                    _ => return,
                };
                if let workers::Event::StatementProgress { statement_id, status, bytes_processed, size_bytes, line_count, error_count, .. } = event
                    && statement_id == id
                {
                    // The same rule as `load_statement`, on access as it is now.
                    let allowed = credential
                        .recheck(&state, organization_id, Permission::ReadStatements)
                        .await
                        .and_then(|access| match access.artist_id {
                            Some(_) => Err(ApiError::Forbidden(
                                "distributor statements cover every artist; artists see their own earnings",
                            )),
                            None => Ok(access),
                        });
                    if let Err(err) = allowed {
                        yield Err(err);
                        return;
                    }
                    let status = StatementStatus::from_db(&status);
                    yield Ok(StatementProgress {
                        statement_id: ids::encode(Kind::Statement, id),
                        status,
                        bytes_processed,
                        size_bytes,
                        line_count,
                        error_count,
                    });
                    if matches!(status, StatementStatus::Parsed | StatementStatus::Failed) {
                        return;
                    }
                }
            }
        })
    }
}

/// A label's saved column mapping for a statement layout Imprint doesn't know.
pub struct ImportTemplate(pub Seen<entity::import_template::Model>);

#[Object]
impl ImportTemplate {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// The mapping: which header holds which field.
    async fn mapping(&self) -> async_graphql::Json<serde_json::Value> {
        async_graphql::Json(self.0.mapping.clone())
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// Which column (by its header, case- and space-insensitive) holds each field.
#[derive(InputObject)]
pub struct ColumnMappingInput {
    /// Required: the money column.
    pub amount: String,
    pub isrc: Option<String>,
    pub upc: Option<String>,
    pub title: Option<String>,
    pub artist: Option<String>,
    pub release_title: Option<String>,
    pub store: Option<String>,
    pub territory: Option<String>,
    pub sale_period: Option<String>,
    pub quantity: Option<String>,
    /// A per-row currency column; otherwise the organisation's base currency.
    pub currency: Option<String>,
    pub usage_type: Option<String>,
    /// `1.234,56`: a comma for decimals.
    #[graphql(default = false)]
    pub decimal_comma: bool,
    /// `DD/MM/YYYY` rather than `MM/DD/YYYY`.
    #[graphql(default = false)]
    pub day_first_dates: bool,
}

#[derive(InputObject)]
pub struct CreateImportTemplateInput {
    pub organization_id: ID,
    pub name: String,
    pub mapping: ColumnMappingInput,
}

#[derive(SimpleObject, Default)]
pub struct CreateImportTemplatePayload {
    pub import_template: Option<ImportTemplate>,
    pub user_errors: Vec<UserError>,
}

#[derive(Default)]
pub struct ImportTemplatesMutation;

#[Object]
impl ImportTemplatesMutation {
    /// Saves a column mapping; uploads whose header Imprint doesn't recognise then use it.
    async fn create_import_template(
        &self,
        ctx: &Context<'_>,
        input: CreateImportTemplateInput,
    ) -> ApiResult<CreateImportTemplatePayload> {
        use domain::statement::{ColumnMapping, DateOrder};
        let organization_id = decode_or_not_found(Kind::Organization, &input.organization_id)?;
        ctx.authorize(organization_id, Permission::WriteStatements)?;
        let m = input.mapping;
        let clean = |v: Option<String>| v.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
        let mapping = ColumnMapping {
            template_id: 0,
            isrc: clean(m.isrc),
            upc: clean(m.upc),
            title: clean(m.title),
            artist: clean(m.artist),
            release_title: clean(m.release_title),
            store: clean(m.store),
            territory: clean(m.territory),
            sale_period: clean(m.sale_period),
            quantity: clean(m.quantity),
            amount: clean(Some(m.amount)),
            currency: clean(m.currency),
            usage_type: clean(m.usage_type),
            decimal_comma: m.decimal_comma,
            date_order: if m.day_first_dates {
                DateOrder::DayFirst
            } else {
                DateOrder::MonthFirst
            },
        };
        let mut errors = Vec::new();
        if input.name.trim().is_empty() {
            errors.push(UserError::new(
                "name",
                UserErrorCode::Required,
                "name the template after the layout",
            ));
        }
        if mapping.amount.is_none() {
            errors.push(UserError::new(
                "mapping.amount",
                UserErrorCode::Required,
                "say which column holds the money",
            ));
        }
        if mapping.isrc.is_none() && mapping.upc.is_none() && mapping.title.is_none() {
            errors.push(UserError::invalid(
                "mapping",
                "map at least one of isrc, upc or title, so lines can be matched",
            ));
        }
        if !errors.is_empty() {
            return Ok(CreateImportTemplatePayload {
                import_template: None,
                user_errors: errors,
            });
        }
        let signature = workers::jobs::parse_statement::template_signature(&mapping);
        let db = ctx.db();
        let taken = entity::import_template::Entity::find()
            .filter(entity::import_template::Column::OrganizationId.eq(organization_id))
            .filter(entity::import_template::Column::HeaderSignature.eq(&signature))
            .one(db)
            .await?;
        if taken.is_some() {
            return Ok(CreateImportTemplatePayload {
                import_template: None,
                user_errors: vec![UserError::new(
                    "mapping",
                    UserErrorCode::Taken,
                    "a template with these columns exists",
                )],
            });
        }
        let row = entity::import_template::ActiveModel {
            organization_id: Set(organization_id),
            name: Set(input.name.trim().to_owned()),
            header_signature: Set(signature),
            mapping: Set(serde_json::to_value(&mapping).map_err(ApiError::internal)?),
            created_at: Set(Utc::now()),
            ..Default::default()
        }
        .insert(db)
        .await?;
        Ok(CreateImportTemplatePayload {
            import_template: guard::admit(ctx, row).await?.map(ImportTemplate),
            user_errors: Vec::new(),
        })
    }
}
