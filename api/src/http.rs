//! The HTTP surface: GraphQL (POST, GraphiQL on GET, graphql-ws), statement downloads, health,
//! readiness, metrics.

use std::cell::RefCell;
use std::collections::HashMap;
use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::middleware::Next;
use actix_web::{HttpRequest, HttpResponse, Responder, web};
use async_graphql::Data;
use async_graphql::http::{GraphiQLSource, MultipartOptions};
use async_graphql::parser::types::ExecutableDocument;
use async_graphql_actix_web::{GraphQLRequest, GraphQLResponse, GraphQLSubscription};

use crate::graphql::ImprintSchema;
use crate::graphql::loaders::Loaders;
use crate::state::AppState;
use crate::telemetry::Metrics;

/// The `Authorization: Bearer …` token, if any.
pub(crate) fn bearer(req: &HttpRequest) -> Option<&str> {
    req.headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
}

/// Bound on the documents a worker keeps; past it the cache starts afresh.
const DOCUMENTS: usize = 500;
/// Queries longer than this are parsed every time: clients send a few fixed queries, and this
/// keeps one caller from filling the cache with large generated ones.
const DOCUMENT_MAX_BYTES: usize = 16 * 1024;

/// Queries already parsed, by their text. Clients send the same few queries over and over, and
/// parsing one costs more than cloning its syntax tree; what is cached is only the parse, so
/// every request is still validated (depth, complexity, variables) and executed as sent.
/// Each HTTP worker keeps its own, so no lock is shared between threads.
#[derive(Default)]
struct Documents(RefCell<HashMap<String, ExecutableDocument>>);

impl Documents {
    /// Gives the request its parsed document: the cached one, or parsed now and kept. A query
    /// that does not parse is left for the schema, which reports the error.
    fn prepare(&self, request: &mut async_graphql::Request) {
        if request.query.len() > DOCUMENT_MAX_BYTES {
            return;
        }
        if let Some(document) = self.0.borrow().get(&request.query) {
            request.set_parsed_query(document.clone());
            return;
        }
        let Ok(document) = request.parsed_query().cloned() else {
            return;
        };
        let mut documents = self.0.borrow_mut();
        if documents.len() >= DOCUMENTS {
            documents.clear();
        }
        documents.insert(request.query.clone(), document);
    }
}

async fn graphql(
    schema: web::Data<ImprintSchema>,
    state: web::Data<AppState>,
    documents: web::Data<Documents>,
    http: HttpRequest,
    request: GraphQLRequest,
) -> actix_web::Result<HttpResponse> {
    let principal = state
        .principals
        .resolve(&state.db, bearer(&http))
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "resolving credentials failed");
            actix_web::error::ErrorServiceUnavailable("database unavailable")
        })?;
    let mut request = request.into_inner();
    documents.prepare(&mut request);
    // An analytics answer this caller already had, while the data behind it is unchanged.
    let kept_as = crate::responses::key(&principal, &mut request);
    if let Some(key) = &kept_as
        && let Some(body) = state.responses.get(key, &state.analytics_cache)
    {
        return Ok(HttpResponse::Ok()
            .content_type("application/json")
            .body(body));
    }
    let observed = std::sync::Arc::new(crate::graphql::analytics::ObservedScopes::default());
    let request = request
        .data(principal)
        .data(crate::graphql::accounts::RequestCredential(
            bearer(&http).map(str::to_owned),
        ))
        .data(observed.clone())
        .data(Loaders::new(&state.db));
    let response = schema.execute(request).await;
    if let Some(key) = kept_as
        && response.is_ok()
    {
        let body = bytes::Bytes::from(
            serde_json::to_vec(&response).map_err(actix_web::error::ErrorInternalServerError)?,
        );
        state.responses.put(key, body.clone(), observed.take());
        return Ok(HttpResponse::Ok()
            .content_type("application/json")
            .body(body));
    }
    Ok(GraphQLResponse::from(response)
        .respond_to(&http)
        .map_into_boxed_body())
}

async fn graphiql() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(
            GraphiQLSource::build()
                .endpoint("/graphql")
                .subscription_endpoint("/graphql/ws")
                .finish(),
        )
}

/// graphql-ws: the client sends its token in the `connection_init` payload
/// (`{"Authorization": "Bearer …"}` or `{"token": "…"}`).
async fn subscriptions(
    schema: web::Data<ImprintSchema>,
    state: web::Data<AppState>,
    http: HttpRequest,
    payload: web::Payload,
) -> actix_web::Result<HttpResponse> {
    let db = state.db.clone();
    let principals = state.principals.clone();
    let header_token = bearer(&http).map(str::to_owned);
    GraphQLSubscription::new(ImprintSchema::clone(&schema))
        .on_connection_init(move |value| {
            let db = db.clone();
            let principals = principals.clone();
            let header_token = header_token.clone();
            async move {
                let from_payload = value
                    .get("Authorization")
                    .or_else(|| value.get("authorization"))
                    .and_then(|v| v.as_str())
                    .map(|v| v.trim_start_matches("Bearer ").to_owned())
                    .or_else(|| {
                        value
                            .get("token")
                            .and_then(|v| v.as_str())
                            .map(str::to_owned)
                    });
                let token = from_payload.or(header_token);
                let principal = principals
                    .resolve(&db, token.as_deref())
                    .await
                    .map_err(|e| async_graphql::Error::new(format!("database unavailable: {e}")))?;
                let mut data = Data::default();
                data.insert(Loaders::new(&db));
                data.insert(principal);
                Ok(data)
            }
        })
        .start(&http, payload)
}

async fn healthz() -> HttpResponse {
    HttpResponse::Ok().content_type("text/plain").body("ok")
}

/// Ready when the database, the job queue, the event bus and the file store all answer.
async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    let database = state.db.ping().await.map_err(|e| e.to_string());
    let queue = state.queue.ping().await.map_err(|e| e.to_string());
    let events = state.events.ping().await.map_err(|e| e.to_string());
    let files = state.files.check().await.map_err(|e| e.to_string());
    let status = |r: &Result<(), String>| match r {
        Ok(()) => "ok".to_owned(),
        Err(e) => e.clone(),
    };
    let body = serde_json::json!({
        "database": status(&database),
        "queue": status(&queue),
        "events": status(&events),
        "files": status(&files),
    });
    if database.is_ok() && queue.is_ok() && events.is_ok() && files.is_ok() {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable().json(body)
    }
}

async fn metrics() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(Metrics::global().render())
}

/// Counts and times every request by its route pattern (never the raw path: ids would explode
/// the label set).
async fn observe(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let route = req
        .match_pattern()
        .unwrap_or_else(|| "unmatched".to_owned());
    let response = next.call(req).await?;
    let metrics = Metrics::global();
    metrics
        .http_requests
        .with_label_values(&[route.as_str(), response.status().as_str()])
        .inc();
    metrics
        .http_duration
        .with_label_values(&[route.as_str()])
        .observe(started.elapsed().as_secs_f64());
    Ok(response)
}

/// Registers every route; used by the server and by the tests.
pub fn configure(cfg: &mut web::ServiceConfig, schema: ImprintSchema, state: AppState) {
    let max_body = usize::try_from(state.config.max_upload_bytes).unwrap_or(usize::MAX);
    cfg.app_data(web::Data::new(schema))
        .app_data(web::Data::new(state))
        // Called once per worker: each gets its own documents.
        .app_data(web::Data::new(Documents::default()))
        .app_data(web::PayloadConfig::new(max_body))
        .app_data(
            MultipartOptions::default()
                .max_file_size(max_body)
                .max_num_files(1),
        )
        .service(
            web::scope("")
                .wrap(actix_web::middleware::from_fn(observe))
                .route("/graphql", web::post().to(graphql))
                .route("/graphql", web::get().to(graphiql))
                .route("/graphql/ws", web::get().to(subscriptions))
                .route(
                    "/payouts/{id}/statement.csv",
                    web::get().to(crate::downloads::statement_csv),
                )
                .route(
                    "/payouts/{id}/statement.pdf",
                    web::get().to(crate::downloads::statement_pdf),
                )
                .route("/healthz", web::get().to(healthz))
                .route("/readyz", web::get().to(readyz))
                .route("/metrics", web::get().to(metrics)),
        );
}
