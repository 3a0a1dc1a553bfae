//! Files served over plain HTTP with the same bearer token as `/graphql`: a payee's statement
//! for one payout, as CSV or PDF (`Payout.statementCsvUrl`, `Payout.statementPdfUrl`).
//!
//! Access is [`graphql::payouts::load_payout`]'s, the rule the `Payout` object follows: a member
//! of the organisation who may read money (an artist member only for their own artist's
//! payees), or an API key of the organisation with a payouts or statements read scope.
//! Failures map to statuses as the GraphQL error codes do: `UNAUTHENTICATED` 401 (asked before
//! anything is looked up, so an anonymous caller learns nothing about which ids exist),
//! `FORBIDDEN` 403, `NOT_FOUND` 404 (a malformed id or one of another kind too), `INTERNAL` 500
//! with the details in the log only. The body is `{"error": {"code", "message"}}`.
//!
//! Rendering runs on a blocking thread: a statement of 10,000 lines is tens of milliseconds
//! of CPU that must not hold up the async workers.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, ContentDisposition, DispositionParam, DispositionType};
use actix_web::{HttpRequest, HttpResponse, web};
use async_graphql::ID;

use crate::auth::Principal;
use crate::graphql;
use crate::graphql::accounts::decode_or_not_found;
use crate::graphql::error::ApiError;
use crate::graphql::ids::Kind;
use crate::state::AppState;

/// A statement's file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatementFormat {
    /// `text/csv`, see `domain::payee_statement::to_csv`.
    Csv,
    /// `application/pdf`, see `domain::payee_statement::to_pdf`.
    Pdf,
}

impl StatementFormat {
    fn extension(self) -> &'static str {
        match self {
            Self::Csv => "csv",
            Self::Pdf => "pdf",
        }
    }

    fn content_type(self) -> &'static str {
        match self {
            Self::Csv => "text/csv; charset=utf-8",
            Self::Pdf => "application/pdf",
        }
    }

    fn render(self, statement: &domain::payee_statement::PayeeStatement) -> Vec<u8> {
        match self {
            Self::Csv => domain::payee_statement::to_csv(statement),
            Self::Pdf => domain::payee_statement::to_pdf(statement),
        }
    }
}

/// `GET /payouts/{id}/statement.csv`.
pub async fn statement_csv(
    state: web::Data<AppState>,
    http: HttpRequest,
    id: web::Path<String>,
) -> HttpResponse {
    statement(&state, &http, &id, StatementFormat::Csv).await
}

/// `GET /payouts/{id}/statement.pdf`.
pub async fn statement_pdf(
    state: web::Data<AppState>,
    http: HttpRequest,
    id: web::Path<String>,
) -> HttpResponse {
    statement(&state, &http, &id, StatementFormat::Pdf).await
}

async fn statement(
    state: &AppState,
    http: &HttpRequest,
    id: &str,
    format: StatementFormat,
) -> HttpResponse {
    match render_statement(state, http, id, format).await {
        Ok((file_name, bytes)) => HttpResponse::Ok()
            .content_type(format.content_type())
            .insert_header(ContentDisposition {
                disposition: DispositionType::Attachment,
                parameters: vec![DispositionParam::Filename(file_name)],
            })
            // A payee's money: never kept by a shared cache.
            .insert_header((header::CACHE_CONTROL, "private, no-store"))
            .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
            .body(bytes),
        Err(err) => error_response(&err),
    }
}

/// Authorizes, loads and renders; returns the file name and the bytes.
async fn render_statement(
    state: &AppState,
    http: &HttpRequest,
    id: &str,
    format: StatementFormat,
) -> Result<(String, Vec<u8>), ApiError> {
    let principal = principal(state, http).await?;
    let row_id = decode_or_not_found(Kind::Payout, &ID(id.to_owned()))?;
    let (payout, _payee) = graphql::payouts::load_payout(&state.db, &principal, row_id).await?;
    let statement = workers::payee_statement::load(&state.db, payout.id).await?;
    let file_name = format!("{}.{}", statement.file_stem(), format.extension());
    let bytes = tokio::task::spawn_blocking(move || format.render(&statement))
        .await
        .map_err(ApiError::internal)?;
    Ok((file_name, bytes))
}

/// `GET /payees/{id}/year-end/{year}/summary.csv`.
pub async fn year_end_csv(
    state: web::Data<AppState>,
    http: HttpRequest,
    path: web::Path<(String, i32)>,
) -> HttpResponse {
    year_end(&state, &http, &path.0, path.1, StatementFormat::Csv).await
}

/// `GET /payees/{id}/year-end/{year}/summary.pdf`.
pub async fn year_end_pdf(
    state: web::Data<AppState>,
    http: HttpRequest,
    path: web::Path<(String, i32)>,
) -> HttpResponse {
    year_end(&state, &http, &path.0, path.1, StatementFormat::Pdf).await
}

/// A payee's year-end summary: the same access as the payee's statements (their money).
async fn year_end(
    state: &AppState,
    http: &HttpRequest,
    id: &str,
    year: i32,
    format: StatementFormat,
) -> HttpResponse {
    let result = async {
        let principal = principal(state, http).await?;
        let payee_id = decode_or_not_found(Kind::Payee, &ID(id.to_owned()))?;
        graphql::payouts::load_payee_money(&state.db, &principal, payee_id).await?;
        let summary = workers::year_end::load(&state.db, payee_id, year).await?;
        let file_name = format!("{}.{}", summary.file_stem(), format.extension());
        let bytes = tokio::task::spawn_blocking(move || match format {
            StatementFormat::Csv => domain::year_end::to_csv(&summary),
            StatementFormat::Pdf => domain::year_end::to_pdf(&summary),
        })
        .await
        .map_err(ApiError::internal)?;
        Ok::<_, ApiError>((file_name, bytes))
    }
    .await;
    match result {
        Ok((file_name, bytes)) => HttpResponse::Ok()
            .content_type(format.content_type())
            .insert_header(ContentDisposition {
                disposition: DispositionType::Attachment,
                parameters: vec![DispositionParam::Filename(file_name)],
            })
            .insert_header((header::CACHE_CONTROL, "private, no-store"))
            .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
            .body(bytes),
        Err(err) => error_response(&err),
    }
}

/// The caller of a download. A token that names no one is refused like no token at all: 401,
/// never anonymous.
///
/// # Errors
/// UNAUTHENTICATED, RATE_LIMITED, or INTERNAL when the credential could not be looked up.
pub(crate) async fn principal(state: &AppState, http: &HttpRequest) -> Result<Principal, ApiError> {
    let token = crate::http::credential(http).map_err(downloads_error)?;
    let principal = crate::http::authenticate(state, token, crate::http::client_address(http))
        .await
        .map_err(downloads_error)?;
    if matches!(principal, Principal::Anonymous) {
        return Err(ApiError::Unauthenticated);
    }
    Ok(principal)
}

/// What a refusal before the download is, in this endpoint's terms.
fn downloads_error(refusal: crate::http::Refusal) -> ApiError {
    match refusal {
        crate::http::Refusal::RateLimited(retry) => retry.into(),
        crate::http::Refusal::Unavailable => {
            ApiError::internal(anyhow::anyhow!("the credential could not be looked up"))
        }
        _ => ApiError::Unauthenticated,
    }
}

pub(crate) fn error_response(err: &ApiError) -> HttpResponse {
    let status = match err {
        ApiError::Unauthenticated => StatusCode::UNAUTHORIZED,
        ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
        ApiError::NotFound(_) => StatusCode::NOT_FOUND,
        ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
        ApiError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
        ApiError::Internal(source) => {
            tracing::error!(error = ?source, "rendering a download failed");
            StatusCode::INTERNAL_SERVER_ERROR
        }
    };
    let mut response = HttpResponse::build(status);
    if status == StatusCode::UNAUTHORIZED {
        response.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
    }
    if let ApiError::RateLimited {
        retry_after_seconds,
    } = err
    {
        response.insert_header((header::RETRY_AFTER, retry_after_seconds.to_string()));
    }
    response.json(serde_json::json!({
        "error": { "code": err.code(), "message": err.message() }
    }))
}
