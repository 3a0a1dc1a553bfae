//! The HTTP surface: GraphQL (POST, GraphiQL on GET, graphql-ws), statement downloads, health,
//! readiness, metrics, and the portal at `/` ([`crate::portal`]).

use std::cell::RefCell;
use std::collections::HashMap;
use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{StatusCode, header};
use actix_web::middleware::Next;
use actix_web::{HttpRequest, HttpResponse, Responder, web};
use async_graphql::http::MultipartOptions;
use async_graphql::parser::types::ExecutableDocument;
use async_graphql::{Data, ErrorExtensions};
use async_graphql_actix_web::{GraphQLResponse, GraphQLSubscription};
use futures::{SinkExt, StreamExt, TryStreamExt};

use crate::auth::{ClientAddress, Principal, RetryAfter};

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

/// Why a request is answered before it is executed (and, but for a body over its limit, before
/// its body is read). The body is a GraphQL response with one error and its `extensions.code`.
#[derive(Debug)]
pub(crate) enum Refusal {
    /// 401: a credential was sent but names no one (unknown, expired, revoked, malformed), or
    /// an upload came without one.
    Unauthenticated,
    /// 403: an upload from a caller who may not upload where it names (or anywhere).
    Forbidden,
    /// 429, with `Retry-After`.
    RateLimited(RetryAfter),
    /// 413: the body or the query text is over its limit.
    TooLarge(String),
    /// 400: a body that is not a GraphQL request.
    BadRequest(String),
    /// 503: the credential could not be looked up.
    Unavailable,
}

impl From<RetryAfter> for Refusal {
    fn from(retry: RetryAfter) -> Self {
        Self::RateLimited(retry)
    }
}

impl Refusal {
    /// The code and message also given to graphql-ws clients.
    pub(crate) fn code_and_message(&self) -> (&'static str, String) {
        match self {
            Self::Unauthenticated => (
                "UNAUTHENTICATED",
                "the bearer token is unknown, expired or revoked (or none was sent with an upload)"
                    .into(),
            ),
            Self::Forbidden => (
                "FORBIDDEN",
                "forbidden: you may not upload statements to this organization".into(),
            ),
            Self::RateLimited(RetryAfter(seconds)) => (
                "RATE_LIMITED",
                format!("too many attempts: try again in {seconds} s"),
            ),
            Self::TooLarge(message) => ("PAYLOAD_TOO_LARGE", message.clone()),
            Self::BadRequest(message) => ("BAD_REQUEST", message.clone()),
            Self::Unavailable => ("UNAVAILABLE", "the database is unavailable".into()),
        }
    }

    pub(crate) fn response(&self) -> HttpResponse {
        let (code, message) = self.code_and_message();
        let mut extensions = serde_json::json!({ "code": code });
        let mut response = HttpResponse::build(match self {
            Self::Unauthenticated => StatusCode::UNAUTHORIZED,
            Self::Forbidden => StatusCode::FORBIDDEN,
            Self::RateLimited(_) => StatusCode::TOO_MANY_REQUESTS,
            Self::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        });
        match self {
            Self::Unauthenticated => {
                response
                    .insert_header((header::WWW_AUTHENTICATE, "Bearer error=\"invalid_token\""));
            }
            Self::RateLimited(RetryAfter(seconds)) => {
                extensions["retryAfterSeconds"] = (*seconds).into();
                response.insert_header((header::RETRY_AFTER, seconds.to_string()));
            }
            _ => {}
        }
        response.json(serde_json::json!({
            "data": null,
            "errors": [{ "message": message, "extensions": extensions }],
        }))
    }
}

/// The request's credential: none, or a bearer token. An `Authorization` header that is not a
/// bearer token is refused rather than taken as no credential.
pub(crate) fn credential(req: &HttpRequest) -> Result<Option<&str>, Refusal> {
    if req.headers().get(header::AUTHORIZATION).is_none() {
        return Ok(None);
    }
    match bearer(req).map(str::trim) {
        Some(token) if !token.is_empty() => Ok(Some(token)),
        _ => Err(Refusal::Unauthenticated),
    }
}

/// The address the request came from (the connection's peer).
pub(crate) fn client_address(req: &HttpRequest) -> ClientAddress {
    ClientAddress(req.peer_addr().map(|a| a.ip()))
}

/// Resolves a credential to its principal. No credential is `Anonymous`; a credential that
/// names no one is refused (and counted against the sender's address); an API key is counted
/// against its own quota.
pub(crate) async fn authenticate(
    state: &AppState,
    token: Option<&str>,
    address: ClientAddress,
) -> Result<Principal, Refusal> {
    let Some(token) = token.map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok(Principal::Anonymous);
    };
    let principal = state
        .principals
        .resolve(&state.db, Some(token))
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "resolving credentials failed");
            Refusal::Unavailable
        })?;
    match &principal {
        Principal::Anonymous => {
            Metrics::global().rejected_tokens.inc();
            state.throttle.bad_token(address)?;
            Err(Refusal::Unauthenticated)
        }
        Principal::ApiKey { key, .. } => {
            state.throttle.api_key_use(key.id)?;
            Ok(principal)
        }
        Principal::User { .. } => Ok(principal),
    }
}

fn content_length(req: &HttpRequest) -> Option<u64> {
    req.headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
}

fn too_large(what: &str, limit: u64) -> Refusal {
    Refusal::TooLarge(format!("{what} is larger than {} KiB", limit / 1024))
}

/// Reads a whole (non-multipart) body, refusing it as soon as it passes `limit` bytes: a
/// chunked body has no length to check beforehand.
async fn read_capped(payload: &mut web::Payload, limit: usize) -> Result<Vec<u8>, Refusal> {
    let mut body = Vec::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| Refusal::BadRequest(format!("reading the body: {e}")))?;
        if body.len() + chunk.len() > limit {
            return Err(too_large("the request body", limit as u64));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Reads a multipart request (a statement upload) with async-graphql's reader, which keeps the
/// files in temporary files within `options`' limits. The actix payload is not `Send`, so it is
/// forwarded to the reader over a small channel (as `async-graphql-actix-web` does).
async fn read_multipart(
    content_type: Option<String>,
    read: Vec<u8>,
    payload: web::Payload,
    options: MultipartOptions,
) -> Result<async_graphql::Request, Refusal> {
    let (mut tx, rx) = futures::channel::mpsc::channel::<std::io::Result<bytes::Bytes>>(16);
    let mut payload = payload.into_inner();
    actix_web::rt::spawn(async move {
        // What was read already (up to the end of `operations`), then the rest.
        if tx.send(Ok(bytes::Bytes::from(read))).await.is_err() {
            return;
        }
        while let Some(item) = payload.next().await {
            let item = item.map_err(std::io::Error::other);
            if tx.send(item).await.is_err() {
                return;
            }
        }
    });
    async_graphql::http::receive_body(content_type, rx.into_async_read(), options)
        .await
        .map_err(|e| match e {
            async_graphql::ParseRequestError::PayloadTooLarge => {
                Refusal::TooLarge("the upload is over IMPRINT_MAX_UPLOAD_MB".into())
            }
            other => Refusal::BadRequest(other.to_string()),
        })
}

/// The `boundary` parameter of a multipart content type.
fn multipart_boundary(content_type: &str) -> Option<&str> {
    content_type.split(';').skip(1).find_map(|param| {
        let (name, value) = param.trim().split_once('=')?;
        name.trim()
            .eq_ignore_ascii_case("boundary")
            .then(|| value.trim().trim_matches('"'))
            .filter(|b| !b.is_empty())
    })
}

fn find(haystack: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    haystack
        .get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|at| at + from)
}

/// Reads a multipart body up to the end of its first part, which the GraphQL multipart request
/// spec makes `operations` (before `map` and the files), within `limit` bytes. Returns the bytes
/// read, to be handed on whole, and the parsed operations.
async fn read_operations(
    payload: &mut web::Payload,
    boundary: &str,
    limit: usize,
) -> Result<(Vec<u8>, serde_json::Value), Refusal> {
    let delimiter = format!("--{boundary}");
    let mut read = Vec::new();
    loop {
        if let Some(start) = find(&read, delimiter.as_bytes(), 0)
            && let Some(headers_end) = find(&read, b"\r\n\r\n", start)
            && let Some(end) = find(&read, format!("\r\n{delimiter}").as_bytes(), headers_end)
        {
            let headers = String::from_utf8_lossy(&read[start..headers_end]).to_ascii_lowercase();
            if !headers.contains("name=\"operations\"") {
                return Err(Refusal::BadRequest(
                    "the first part of a multipart request must be `operations`".into(),
                ));
            }
            let operations = serde_json::from_slice(&read[headers_end + 4..end])
                .map_err(|e| Refusal::BadRequest(format!("`operations`: {e}")))?;
            return Ok((read, operations));
        }
        let Some(chunk) = payload.next().await else {
            return Err(Refusal::BadRequest(
                "the multipart body ended before its `operations` part".into(),
            ));
        };
        let chunk = chunk.map_err(|e| Refusal::BadRequest(format!("reading the body: {e}")))?;
        if read.len() + chunk.len() > limit {
            return Err(too_large("the `operations` part", limit as u64));
        }
        read.extend_from_slice(&chunk);
    }
}

/// The organisation an upload's `operations` names (`variables.input.organizationId`, as
/// `uploadStatement` takes it): the caller must be allowed to upload there before the file is
/// read. An upload naming none is refused.
fn authorize_upload(principal: &Principal, operations: &serde_json::Value) -> Result<(), Refusal> {
    let organization = operations["variables"]["input"]["organizationId"]
        .as_str()
        .and_then(|id| {
            crate::graphql::ids::decode(
                crate::graphql::ids::Kind::Organization,
                &async_graphql::ID(id.to_owned()),
            )
            .ok()
        })
        .ok_or_else(|| {
            Refusal::BadRequest(
                "an upload names its organization in variables.input.organizationId".into(),
            )
        })?;
    // What `uploadStatement` needs, from the one table.
    let permission = domain::auth::mutation_permission("uploadStatement")
        .flatten()
        .unwrap_or(domain::auth::Permission::WriteStatements);
    crate::graphql::access::authorize(principal, organization, permission)
        .map(|_| ())
        .map_err(|_| Refusal::Forbidden)
}

/// Authenticates from the headers, then reads the body within its limits: nothing large is
/// read for a caller who is refused.
async fn read_request(
    state: &AppState,
    http: &HttpRequest,
    mut payload: web::Payload,
) -> Result<(async_graphql::Request, Principal), Refusal> {
    let principal = authenticate(state, credential(http)?, client_address(http)).await?;
    let content_type = http
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let multipart = content_type.as_deref().is_some_and(|t| {
        t.trim_start()
            .to_ascii_lowercase()
            .starts_with("multipart/")
    });
    let request = if multipart {
        // Uploads need a signed-in caller: an anonymous one cannot have the permission, and is
        // refused before a byte of the file is read.
        if matches!(principal, Principal::Anonymous) {
            return Err(Refusal::Unauthenticated);
        }
        let limit = state
            .config
            .max_upload_bytes
            .saturating_add(state.config.max_json_body_bytes as u64);
        if content_length(http).is_some_and(|n| n > limit) {
            return Err(too_large("the upload", limit));
        }
        let boundary = content_type
            .as_deref()
            .and_then(multipart_boundary)
            .ok_or_else(|| Refusal::BadRequest("a multipart body needs a boundary".into()))?
            .to_owned();
        // The operations first: the caller must be allowed to upload to the organisation they
        // name before a byte of the file is read.
        let (read, operations) =
            read_operations(&mut payload, &boundary, state.config.max_json_body_bytes).await?;
        authorize_upload(&principal, &operations)?;
        let options = http
            .app_data::<MultipartOptions>()
            .cloned()
            .unwrap_or_default();
        read_multipart(content_type, read, payload, options).await?
    } else {
        let limit = state.config.max_json_body_bytes;
        if content_length(http).is_some_and(|n| n > limit as u64) {
            return Err(too_large("the request body", limit as u64));
        }
        let body = read_capped(&mut payload, limit).await?;
        async_graphql::http::receive_body(
            content_type,
            body.as_slice(),
            MultipartOptions::default(),
        )
        .await
        .map_err(|e| Refusal::BadRequest(e.to_string()))?
    };
    if request.query.len() > state.config.max_query_bytes {
        return Err(too_large("the query", state.config.max_query_bytes as u64));
    }
    Ok((request, principal))
}

/// The longest `retryAfterSeconds` among the response's `RATE_LIMITED` errors.
fn retry_after(response: &async_graphql::Response) -> Option<u64> {
    response
        .errors
        .iter()
        .filter_map(|e| e.extensions.as_ref())
        .filter(|ext| {
            matches!(ext.get("code"), Some(async_graphql::Value::String(code)) if code == "RATE_LIMITED")
        })
        .filter_map(|ext| match ext.get("retryAfterSeconds") {
            Some(async_graphql::Value::Number(n)) => n.as_u64(),
            _ => None,
        })
        .max()
}

async fn graphql(
    schema: web::Data<ImprintSchema>,
    state: web::Data<AppState>,
    documents: web::Data<Documents>,
    http: HttpRequest,
    payload: web::Payload,
) -> actix_web::Result<HttpResponse> {
    let (mut request, principal) = match read_request(&state, &http, payload).await {
        Ok(read) => read,
        Err(refusal) => return Ok(refusal.response()),
    };
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
            bearer(&http).map(|t| t.trim().to_owned()),
        ))
        .data(client_address(&http))
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
    let retry = retry_after(&response);
    let mut http_response = GraphQLResponse::from(response)
        .respond_to(&http)
        .map_into_boxed_body();
    if let Some(seconds) = retry
        && let Ok(value) = header::HeaderValue::from_str(&seconds.to_string())
    {
        http_response
            .headers_mut()
            .insert(header::RETRY_AFTER, value);
    }
    Ok(http_response)
}

/// graphql-ws: the client sends its token in the `connection_init` payload
/// (`{"Authorization": "Bearer …"}` or `{"token": "…"}`), or else in the upgrade request's
/// header. A token that names no one refuses the connection (closed with the error's code in
/// its reason). Subscriptions re-resolve the token before every event they send
/// ([`crate::graphql::accounts::RequestCredential`]), so they end when access does.
async fn subscriptions(
    schema: web::Data<ImprintSchema>,
    state: web::Data<AppState>,
    http: HttpRequest,
    payload: web::Payload,
) -> actix_web::Result<HttpResponse> {
    let state = AppState::clone(&state);
    let header_token = bearer(&http).map(|t| t.trim().to_owned());
    let address = client_address(&http);
    GraphQLSubscription::new(ImprintSchema::clone(&schema))
        .on_connection_init(move |value| {
            let state = state.clone();
            let header_token = header_token.clone();
            async move {
                let from_payload = value
                    .get("Authorization")
                    .or_else(|| value.get("authorization"))
                    .and_then(|v| v.as_str())
                    .map(|v| {
                        v.strip_prefix("Bearer ")
                            .or_else(|| v.strip_prefix("bearer "))
                            .unwrap_or(v)
                            .trim()
                            .to_owned()
                    })
                    .or_else(|| {
                        value
                            .get("token")
                            .and_then(|v| v.as_str())
                            .map(|v| v.trim().to_owned())
                    });
                // A credential that was sent but is empty names no one, like a wrong one.
                let token = from_payload.or(header_token);
                if token.as_deref().is_some_and(str::is_empty) {
                    return Err(refused(&Refusal::Unauthenticated));
                }
                let principal = authenticate(&state, token.as_deref(), address)
                    .await
                    .map_err(|refusal| refused(&refusal))?;
                let mut data = Data::default();
                data.insert(Loaders::new(&state.db));
                data.insert(principal);
                data.insert(crate::graphql::accounts::RequestCredential(token));
                data.insert(address);
                Ok(data)
            }
        })
        .start(&http, payload)
}

/// A refused `connection_init`: the socket is closed with this message as its reason, so it
/// starts with the code.
fn refused(refusal: &Refusal) -> async_graphql::Error {
    let (code, message) = refusal.code_and_message();
    async_graphql::Error::new(format!("{code}: {message}"))
        .extend_with(|_, ext| ext.set("code", code))
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
    let portal = state.config.web_dir.clone().map_or(
        crate::portal::Portal::Embedded,
        crate::portal::Portal::Folder,
    );
    cfg.app_data(web::Data::new(schema))
        .app_data(web::Data::new(portal))
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
                .wrap(
                    actix_web::middleware::DefaultHeaders::new()
                        .add((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
                        .add((header::REFERRER_POLICY, "no-referrer")),
                )
                .route("/graphql", web::post().to(graphql))
                .route("/graphql", web::get().to(crate::graphiql::page))
                .route(
                    "/graphql/assets/{file}",
                    web::get().to(crate::graphiql::asset),
                )
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
                .route("/metrics", web::get().to(metrics))
                // The portal: its files, and index.html for its client routes.
                .default_service(web::to(crate::portal::serve)),
        );
}
