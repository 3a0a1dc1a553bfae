//! Partner webhooks, end to end: a real HTTP endpoint spawned by the test receives the
//! deliveries and checks their signatures with the reference verifier
//! (`domain::webhook::verify`); the API manages the webhooks and shows the delivery log.
//!
//! The retry scenarios run the workers in a separate process (`test_worker`, as
//! `imprint worker` would) with a short back-off from `IMPRINT_WEBHOOK_BACKOFF_MS`, and one of
//! them restarts that process between two attempts.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use domain::webhook::{
    DEFAULT_TOLERANCE_SECS, DELIVERY_HEADER, EVENT_HEADER, SIGNATURE_HEADER, WebhookEvent, verify,
};
use serde_json::{Value, json};
use tests::{TestApp, decode_id, on_every_backend};

// ---------------------------------------------------------------- the partner's endpoint

/// One request the endpoint received.
#[derive(Clone, Debug)]
struct Received {
    at: Instant,
    signature: String,
    event: String,
    delivery: String,
    content_type: String,
    body: Vec<u8>,
}

impl Received {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("a JSON body")
    }

    /// Verifies the signature as a partner would, against the clock now.
    fn verify(&self, secret: &str) -> Result<i64, domain::webhook::SignatureError> {
        verify(
            &self.signature,
            &self.body,
            secret,
            chrono::Utc::now().timestamp(),
            DEFAULT_TOLERANCE_SECS,
        )
    }
}

#[derive(Default)]
struct Script {
    /// Statuses to answer with, in order; 200 once they run out.
    answers: VecDeque<u16>,
    received: Vec<Received>,
}

/// A partner endpoint on a free local port that records every request.
struct Receiver {
    url: String,
    script: Arc<Mutex<Script>>,
}

fn header(request: &HttpRequest, name: &str) -> String {
    request
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

async fn receive(
    request: HttpRequest,
    body: web::Bytes,
    script: web::Data<Mutex<Script>>,
) -> HttpResponse {
    let mut script = script.lock().expect("receiver state");
    script.received.push(Received {
        at: Instant::now(),
        signature: header(&request, SIGNATURE_HEADER),
        event: header(&request, EVENT_HEADER),
        delivery: header(&request, DELIVERY_HEADER),
        content_type: header(&request, "content-type"),
        body: body.to_vec(),
    });
    let status = script.answers.pop_front().unwrap_or(200);
    HttpResponse::build(actix_web::http::StatusCode::from_u16(status).expect("a status")).body("ok")
}

impl Receiver {
    async fn start(answers: &[u16]) -> Self {
        let script = Arc::new(Mutex::new(Script {
            answers: answers.iter().copied().collect(),
            received: Vec::new(),
        }));
        let data = web::Data::from(script.clone());
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind port 0");
        let port = listener.local_addr().expect("local addr").port();
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .default_service(web::to(receive))
        })
        .workers(1)
        .disable_signals()
        .listen(listener)
        .expect("listen")
        .run();
        tokio::spawn(server);
        Self {
            url: format!("http://127.0.0.1:{port}/imprint/hooks"),
            script,
        }
    }

    fn received(&self) -> Vec<Received> {
        self.script.lock().expect("receiver state").received.clone()
    }

    /// Waits until `count` requests have come, and returns them.
    async fn wait_for(&self, count: usize, timeout: Duration) -> Vec<Received> {
        let started = Instant::now();
        loop {
            let received = self.received();
            if received.len() >= count {
                return received;
            }
            assert!(
                started.elapsed() < timeout,
                "{count} requests expected within {timeout:?}, {} came",
                received.len()
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }
}

/// A URL where nothing listens: the port was free a moment ago.
fn unreachable_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind port 0");
    let port = listener.local_addr().expect("local addr").port();
    drop(listener);
    format!("http://127.0.0.1:{port}/hooks")
}

// ---------------------------------------------------------------- a worker process

/// The workers in their own process, with a short back-off; killed when dropped.
struct Worker(std::process::Child);

impl Worker {
    fn start(app: &TestApp, backoff_ms: u64, max_attempts: u32) -> Self {
        let config = &app.state.config;
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_test_worker"));
        command
            .env("IMPRINT_DATABASE_URL", &config.database_url)
            .env("IMPRINT_DATA_DIR", &config.data_dir)
            .env("IMPRINT_NAMESPACE", &config.namespace)
            .env("IMPRINT_WEBHOOK_ALLOW_PRIVATE_NETWORKS", "true")
            .env(workers::webhooks::BACKOFF_ENV, backoff_ms.to_string())
            .env(
                workers::webhooks::MAX_ATTEMPTS_ENV,
                max_attempts.to_string(),
            )
            .env("RUST_LOG", "warn");
        match &config.queue {
            api::config::QueueBackend::Sqlite { url } => command.env("IMPRINT_QUEUE_URL", url),
            api::config::QueueBackend::Redis { url } => command.env("IMPRINT_REDIS_URL", url),
        };
        Self(command.spawn().expect("worker process"))
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// How long the workers may take over a few attempts: apalis 1.0 sometimes leaves an idle
/// worker asleep until its 30 s heartbeat, however short the poll interval.
const TIMEOUT: Duration = Duration::from_secs(120);

/// Runs a scenario that starts its own worker processes, once per backend.
macro_rules! with_worker_process {
    ($($scenario:ident),+ $(,)?) => {
        $(
            mod $scenario {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    let app = tests::TestApp::spawn_with(tests::Backend::Sqlite, false)
                        .await
                        .expect("sqlite app");
                    super::$scenario(app).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    if let Some(app) = tests::TestApp::spawn_with(tests::Backend::Postgres, false).await {
                        super::$scenario(app).await;
                    }
                }
            }
        )+
    };
}

// ---------------------------------------------------------------- API helpers

const CREATE: &str = "mutation($input: CreateWebhookInput!) { createWebhook(input: $input) { secret webhook { id url description events active previousSecretExpiresAt } userErrors { field message code } } }";

const DELIVERIES: &str = "query($id: ID!) { node(id: $id) { ... on Webhook { deliveries(first: 100) { totalCount edges { node { id webhookId event eventId status attempts lastStatusCode lastError lastAttemptAt nextAttemptAt deliveredAt createdAt payload } } } } } }";

struct Label {
    token: String,
    org: String,
}

async fn label(app: &TestApp, email: &str) -> Label {
    let token = app.sign_up(email).await;
    let org = app.create_organization(&token, "Hook Records").await;
    Label { token, org }
}

/// Creates a webhook; returns its id and signing secret.
async fn create_webhook(app: &TestApp, l: &Label, url: &str, events: &[&str]) -> (String, String) {
    let data = app
        .ok(
            Some(&l.token),
            CREATE,
            json!({"input": {"organizationId": l.org, "url": url, "events": events}}),
        )
        .await;
    let payload = &data["createWebhook"];
    assert_eq!(payload["userErrors"], json!([]), "{payload}");
    (
        payload["webhook"]["id"].as_str().expect("id").to_owned(),
        payload["secret"].as_str().expect("secret").to_owned(),
    )
}

async fn deliveries(app: &TestApp, token: &str, webhook: &str) -> Vec<Value> {
    let data = app
        .ok(Some(token), DELIVERIES, json!({"id": webhook}))
        .await;
    data["node"]["deliveries"]["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .map(|edge| edge["node"].clone())
        .collect()
}

/// Waits until the webhook's only delivery is `status`, and returns it.
async fn wait_for_delivery(app: &TestApp, token: &str, webhook: &str, status: &str) -> Value {
    app.eventually(TIMEOUT, || async {
        let mut all = deliveries(app, token, webhook).await;
        assert!(all.len() <= 1, "one delivery expected: {all:?}");
        all.pop().filter(|d| d["status"] == status)
    })
    .await
}

/// Sends an event straight through `workers::webhooks::notify`, as a job does.
async fn notify(app: &TestApp, l: &Label, event_id: &str, data: Value) {
    workers::webhooks::notify(
        &app.state.job_context(),
        decode_id(&l.org),
        WebhookEvent::StatementParsed,
        event_id,
        data,
    )
    .await
    .expect("notify");
}

fn error_code(response: &Value) -> &str {
    response["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("an error expected: {response}"))
}

// ---------------------------------------------------------------- scenarios

/// A parsed statement makes exactly one signed delivery to the webhook that subscribes to
/// `statement.parsed`, with the statement's figures in the body, and nothing to the others.
async fn a_parsed_statement_is_delivered_once_and_signed(app: TestApp) {
    let l = label(&app, "parsed@hooks.test").await;
    let partner = Receiver::start(&[]).await;
    let other = Receiver::start(&[]).await;
    let (hook, secret) = create_webhook(&app, &l, &partner.url, &["STATEMENT_PARSED"]).await;
    let (payouts_only, _) = create_webhook(&app, &l, &other.url, &["PAYOUT_RUN_UPDATED"]).await;

    let mut file = format!("{}\r\n", tests::fixtures::DISTROKID_HEADER);
    for row in [
        "2025-03-05|2025-01|Spotify|Ada Vesper|Harbour Lights|USAB12400001||120|100|Song|US|0|.452113",
        "2025-03-05|2025-01|Deezer|Ada Vesper|Lowtide|USAB12400002||3|100|Song|FR|0|2.1",
    ] {
        file.push_str(&row.replace('|', "\t"));
        file.push_str("\r\n");
    }
    let upload = app
        .upload_statement(&l.token, &l.org, "distrokid.tsv", file.into_bytes())
        .await;
    let statement_id = upload["data"]["uploadStatement"]["statement"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("upload failed: {upload}"))
        .to_owned();
    let statement = app.wait_for_statement(&l.token, &statement_id).await;
    assert_eq!(statement["status"], "PARSED", "{statement}");

    let received = partner.wait_for(1, TIMEOUT).await;
    let request = &received[0];
    let signed_at = request.verify(&secret).expect("the signature verifies");
    assert!(request.signature.starts_with(&format!("t={signed_at},v1=")));
    assert_eq!(
        request.verify("whsec_someone_else"),
        Err(domain::webhook::SignatureError::Mismatch)
    );
    assert_eq!(request.event, "statement.parsed");
    assert_eq!(request.content_type, "application/json");

    let event_id = format!("statement.parsed:{}", decode_id(&statement_id));
    let body = request.json();
    assert_eq!(body["id"], event_id.as_str());
    assert_eq!(body["type"], "statement.parsed");
    assert_eq!(body["organization_id"], l.org.as_str());
    assert!(
        chrono::DateTime::parse_from_rfc3339(body["created_at"].as_str().expect("created_at"))
            .is_ok()
    );
    let data = &body["data"]["statement"];
    assert_eq!(data["id"], statement_id.as_str());
    assert_eq!(data["status"], "parsed");
    assert_eq!(data["filename"], "distrokid.tsv");
    assert_eq!(data["line_count"], statement["lineCount"]);
    assert_eq!(data["line_count"], 2);
    assert_eq!(data["error_count"], statement["errorCount"]);
    assert_eq!(data["unmatched_count"], statement["unmatchedCount"]);
    assert_eq!(data["period_start"], "2025-01-01");
    assert_eq!(data["totals"][0]["currency"], "USD");
    assert_eq!(
        data["totals"][0]["amount"],
        statement["totals"][0]["amount"]["amount"]
    );
    assert_eq!(data["totals"][0]["line_count"], 2);

    // The delivery log shows the one delivery, as sent.
    let delivered = wait_for_delivery(&app, &l.token, &hook, "DELIVERED").await;
    assert_eq!(delivered["attempts"], 1);
    assert_eq!(delivered["lastStatusCode"], 200);
    assert_eq!(delivered["lastError"], Value::Null);
    assert_eq!(delivered["nextAttemptAt"], Value::Null);
    assert!(delivered["deliveredAt"].is_string());
    assert!(delivered["lastAttemptAt"].is_string());
    assert_eq!(delivered["event"], "STATEMENT_PARSED");
    assert_eq!(delivered["eventId"], event_id.as_str());
    assert_eq!(delivered["webhookId"], hook.as_str());
    assert_eq!(request.delivery, delivered["id"].as_str().expect("id"));
    assert_eq!(
        delivered["payload"].as_str().expect("payload").as_bytes(),
        request.body.as_slice(),
        "the log keeps the exact body that was signed"
    );

    // The webhook for payout runs got nothing; nothing came twice.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(deliveries(&app, &l.token, &payouts_only).await.is_empty());
    assert!(other.received().is_empty());
    assert_eq!(partner.received().len(), 1);
}

/// The same event notified again (a retried job, two processes at once) makes no second
/// delivery; another event does; a disabled webhook gets nothing.
async fn one_event_makes_one_delivery_per_webhook(app: TestApp) {
    let l = label(&app, "once@hooks.test").await;
    let partner = Receiver::start(&[]).await;
    let (first, _) = create_webhook(&app, &l, &partner.url, &["STATEMENT_PARSED"]).await;
    let (second, _) = create_webhook(
        &app,
        &l,
        &partner.url,
        &["STATEMENT_PARSED", "PAYOUT_RUN_UPDATED"],
    )
    .await;
    let (disabled, _) = create_webhook(&app, &l, &partner.url, &["STATEMENT_PARSED"]).await;
    app.ok(
        Some(&l.token),
        "mutation($id: ID!) { updateWebhook(input: {webhookId: $id, active: false}) { webhook { active } } }",
        json!({"id": disabled}),
    )
    .await;

    let data = json!({"statement": {"id": "U3RhdGVtZW50Ojk5"}});
    tokio::join!(
        notify(&app, &l, "statement.parsed:99", data.clone()),
        notify(&app, &l, "statement.parsed:99", data.clone()),
    );
    notify(&app, &l, "statement.parsed:99", data.clone()).await;
    partner.wait_for(2, TIMEOUT).await;
    for hook in [&first, &second] {
        let delivered = wait_for_delivery(&app, &l.token, hook, "DELIVERED").await;
        assert_eq!(delivered["eventId"], "statement.parsed:99");
    }
    assert!(deliveries(&app, &l.token, &disabled).await.is_empty());

    notify(&app, &l, "statement.parsed:100", data).await;
    let received = partner.wait_for(4, TIMEOUT).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        partner.received().len(),
        4,
        "one request per event and webhook"
    );
    let mut ids: Vec<String> = received
        .iter()
        .map(|r| r.json()["id"].as_str().expect("id").to_owned())
        .collect();
    ids.sort();
    assert_eq!(
        ids,
        [
            "statement.parsed:100",
            "statement.parsed:100",
            "statement.parsed:99",
            "statement.parsed:99"
        ]
    );
    for hook in [&first, &second] {
        assert_eq!(deliveries(&app, &l.token, hook).await.len(), 2);
    }
}

/// A receiver that answers 500, then 503, then 200 is tried three times and ends delivered:
/// the log shows each failure with the next attempt planned further out than the one before,
/// no attempt comes before its time, and every attempt sends the same body, freshly signed.
async fn a_failing_receiver_is_retried_with_growing_delays(app: TestApp) {
    let _worker = Worker::start(&app, 500, 8);
    let l = label(&app, "retry@hooks.test").await;
    let partner = Receiver::start(&[500, 503]).await;
    let (hook, secret) = create_webhook(&app, &l, &partner.url, &["STATEMENT_PARSED"]).await;
    notify(
        &app,
        &l,
        "statement.parsed:7",
        json!({"statement": {"id": "x"}}),
    )
    .await;

    // After each failure (told apart by its status code) the log shows the error and the wait
    // planned until the next attempt.
    let mut planned = Vec::new();
    for (attempts, code, error) in [
        (1, 500, "HTTP 500 Internal Server Error"),
        (2, 503, "HTTP 503 Service Unavailable"),
    ] {
        let waiting = app
            .eventually(TIMEOUT, || async {
                deliveries(&app, &l.token, &hook)
                    .await
                    .pop()
                    .filter(|d| d["status"] == "PENDING" && d["attempts"] == attempts)
                    .filter(|d| d["lastStatusCode"] == code)
            })
            .await;
        assert_eq!(waiting["lastError"], error);
        let at = |field: &str| {
            chrono::DateTime::parse_from_rfc3339(waiting[field].as_str().expect("a time"))
                .expect("a time")
        };
        planned.push(
            (at("nextAttemptAt") - at("lastAttemptAt"))
                .to_std()
                .expect("the next attempt comes after the last"),
        );
    }
    assert!(planned[0] >= Duration::from_millis(500), "{planned:?}");
    assert!(planned[1] >= Duration::from_secs(2), "{planned:?}");
    assert!(planned[1] > planned[0], "the back-off grows: {planned:?}");

    let received = partner.wait_for(3, TIMEOUT).await;
    let delivered = wait_for_delivery(&app, &l.token, &hook, "DELIVERED").await;
    assert_eq!(delivered["attempts"], 3);
    assert_eq!(delivered["lastStatusCode"], 200);
    assert_eq!(delivered["lastError"], Value::Null);

    // No attempt came before its time.
    let first_wait = received[1].at - received[0].at;
    let second_wait = received[2].at - received[1].at;
    assert!(first_wait >= Duration::from_millis(500), "{first_wait:?}");
    assert!(second_wait >= Duration::from_secs(2), "{second_wait:?}");
    let mut signed_at = 0;
    for request in &received {
        assert_eq!(
            request.body, received[0].body,
            "every attempt sends the same body"
        );
        let t = request.verify(&secret).expect("every attempt is signed");
        assert!(t >= signed_at, "each attempt is signed at its own time");
        signed_at = t;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(partner.received().len(), 3);
}

/// An endpoint that never answers fails after the last attempt; once it is fixed, the failed
/// delivery can be sent again.
async fn an_unreachable_endpoint_fails_then_is_redelivered(app: TestApp) {
    let _worker = Worker::start(&app, 500, 3);
    let l = label(&app, "unreachable@hooks.test").await;
    let (hook, secret) = create_webhook(&app, &l, &unreachable_url(), &["STATEMENT_PARSED"]).await;
    notify(
        &app,
        &l,
        "statement.parsed:8",
        json!({"statement": {"id": "y"}}),
    )
    .await;

    let failed = wait_for_delivery(&app, &l.token, &hook, "FAILED").await;
    assert_eq!(failed["attempts"], 3, "{failed}");
    assert_eq!(failed["lastStatusCode"], Value::Null);
    let error = failed["lastError"].as_str().expect("an error");
    assert!(error.starts_with("could not connect"), "{error}");
    assert_eq!(failed["nextAttemptAt"], Value::Null);
    assert_eq!(failed["deliveredAt"], Value::Null);

    let redeliver = "mutation($id: ID!) { redeliverWebhookDelivery(input: {deliveryId: $id}) { delivery { status attempts } userErrors { field code message } } }";
    let partner = Receiver::start(&[]).await;
    app.ok(
        Some(&l.token),
        "mutation($id: ID!, $url: String!) { updateWebhook(input: {webhookId: $id, url: $url}) { webhook { url } userErrors { message } } }",
        json!({"id": hook, "url": partner.url}),
    )
    .await;
    let data = app
        .ok(Some(&l.token), redeliver, json!({"id": failed["id"]}))
        .await;
    let payload = &data["redeliverWebhookDelivery"];
    assert_eq!(payload["userErrors"], json!([]), "{payload}");
    assert_eq!(payload["delivery"]["status"], "PENDING");
    assert_eq!(payload["delivery"]["attempts"], 0);

    let received = partner.wait_for(1, TIMEOUT).await;
    received[0].verify(&secret).expect("signed");
    assert_eq!(received[0].json()["id"], "statement.parsed:8");
    let delivered = wait_for_delivery(&app, &l.token, &hook, "DELIVERED").await;
    assert_eq!(delivered["attempts"], 1);
    assert_eq!(delivered["lastStatusCode"], 200);

    // A delivered delivery is not sent again.
    let data = app
        .ok(Some(&l.token), redeliver, json!({"id": failed["id"]}))
        .await;
    let errors = &data["redeliverWebhookDelivery"]["userErrors"];
    assert_eq!(errors[0]["code"], "NOT_ALLOWED", "{errors}");
    assert_eq!(errors[0]["field"], json!(["deliveryId"]));
}

/// A retry scheduled before every worker stops is made by the worker that starts next: it
/// waits in the queue, not in a process.
async fn a_scheduled_retry_survives_a_worker_restart(app: TestApp) {
    let first = Worker::start(&app, 3_000, 8);
    let l = label(&app, "restart@hooks.test").await;
    let partner = Receiver::start(&[500]).await;
    let (hook, _) = create_webhook(&app, &l, &partner.url, &["STATEMENT_PARSED"]).await;
    notify(
        &app,
        &l,
        "statement.parsed:9",
        json!({"statement": {"id": "z"}}),
    )
    .await;

    app.eventually(TIMEOUT, || async {
        deliveries(&app, &l.token, &hook)
            .await
            .pop()
            .filter(|d| d["attempts"] == 1 && d["lastStatusCode"] == 500)
    })
    .await;
    // The retry is queued right after the failure is recorded; then every worker goes away.
    tokio::time::sleep(Duration::from_millis(500)).await;
    drop(first);
    assert_eq!(partner.received().len(), 1);

    let _second = Worker::start(&app, 3_000, 8);
    let received = partner.wait_for(2, TIMEOUT).await;
    assert!(received[1].at - received[0].at >= Duration::from_secs(3));
    let delivered = wait_for_delivery(&app, &l.token, &hook, "DELIVERED").await;
    assert_eq!(delivered["attempts"], 2);
}

/// Creating, changing, rotating and deleting a webhook: each is audited (without secrets), a
/// rotated secret signs beside the new one, and deleting takes the delivery log with it.
async fn webhooks_are_managed_and_audited(app: TestApp) {
    let l = label(&app, "manage@hooks.test").await;
    let partner = Receiver::start(&[]).await;
    let data = app
        .ok(
            Some(&l.token),
            CREATE,
            json!({"input": {"organizationId": l.org, "url": format!(" {} ", partner.url), "events": ["STATEMENT_PARSED", "STATEMENT_PARSED"], "description": " ERP sync "}}),
        )
        .await;
    let created = &data["createWebhook"];
    let hook = created["webhook"]["id"].as_str().expect("id").to_owned();
    let old_secret = created["secret"].as_str().expect("secret").to_owned();
    assert!(old_secret.starts_with("whsec_"));
    assert_eq!(created["webhook"]["url"], partner.url.as_str());
    assert_eq!(created["webhook"]["events"], json!(["STATEMENT_PARSED"]));
    assert_eq!(created["webhook"]["description"], "ERP sync");
    assert_eq!(created["webhook"]["active"], true);
    assert_eq!(created["webhook"]["previousSecretExpiresAt"], Value::Null);

    let list = app
        .ok(
            Some(&l.token),
            "query($id: ID!) { organization(id: $id) { webhooks { totalCount edges { node { id events } } } } }",
            json!({"id": l.org}),
        )
        .await;
    assert_eq!(list["organization"]["webhooks"]["totalCount"], 1);
    assert_eq!(
        list["organization"]["webhooks"]["edges"][0]["node"]["id"],
        hook.as_str()
    );

    let data = app
        .ok(
            Some(&l.token),
            "mutation($id: ID!) { updateWebhook(input: {webhookId: $id, events: [PAYOUT_RUN_UPDATED, STATEMENT_PARSED], description: \"\"}) { webhook { events description active } userErrors { message } } }",
            json!({"id": hook}),
        )
        .await;
    assert_eq!(
        data["updateWebhook"]["webhook"],
        json!({"events": ["PAYOUT_RUN_UPDATED", "STATEMENT_PARSED"], "description": null, "active": true})
    );

    let data = app
        .ok(
            Some(&l.token),
            "mutation($id: ID!) { rotateWebhookSecret(input: {webhookId: $id}) { secret webhook { previousSecretExpiresAt } userErrors { message } } }",
            json!({"id": hook}),
        )
        .await;
    let rotated = &data["rotateWebhookSecret"];
    let new_secret = rotated["secret"].as_str().expect("secret").to_owned();
    assert_ne!(new_secret, old_secret);
    let until = chrono::DateTime::parse_from_rfc3339(
        rotated["webhook"]["previousSecretExpiresAt"]
            .as_str()
            .expect("the old secret still signs"),
    )
    .expect("a time");
    let hours = (until.with_timezone(&chrono::Utc) - chrono::Utc::now()).num_minutes();
    assert!((23 * 60..=24 * 60).contains(&hours), "{hours} minutes");

    // Until then a delivery carries both signatures; a receiver on either secret accepts it.
    notify(
        &app,
        &l,
        "statement.parsed:5",
        json!({"statement": {"id": "s"}}),
    )
    .await;
    let received = partner.wait_for(1, TIMEOUT).await;
    assert_eq!(received[0].signature.matches("v1=").count(), 2);
    received[0]
        .verify(&new_secret)
        .expect("the new secret verifies");
    received[0]
        .verify(&old_secret)
        .expect("the old secret verifies");
    wait_for_delivery(&app, &l.token, &hook, "DELIVERED").await;

    let data = app
        .ok(
            Some(&l.token),
            "mutation($id: ID!) { deleteWebhook(input: {webhookId: $id}) { deletedWebhookId userErrors { message } } }",
            json!({"id": hook}),
        )
        .await;
    assert_eq!(data["deleteWebhook"]["deletedWebhookId"], hook.as_str());
    let gone = app
        .ok(
            Some(&l.token),
            "query($id: ID!) { node(id: $id) { id } }",
            json!({"id": hook}),
        )
        .await;
    assert_eq!(gone["node"], Value::Null);
    {
        use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
        let left = entity::webhook_delivery::Entity::find()
            .filter(entity::webhook_delivery::Column::WebhookId.eq(decode_id(&hook)))
            .count(&app.state.db)
            .await
            .expect("count");
        assert_eq!(left, 0, "the delivery log goes with the webhook");
    }

    let audit = app
        .ok(
            Some(&l.token),
            "query($id: ID!) { organization(id: $id) { auditLog(first: 50) { edges { node { action entityType before after } } } } }",
            json!({"id": l.org}),
        )
        .await;
    let entries: Vec<&Value> = audit["organization"]["auditLog"]["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .map(|e| &e["node"])
        .filter(|n| n["entityType"] == "webhook")
        .collect();
    let actions: Vec<&str> = entries
        .iter()
        .map(|n| n["action"].as_str().expect("action"))
        .collect();
    assert_eq!(
        actions,
        [
            "webhook.created",
            "webhook.updated",
            "webhook.secret_rotated",
            "webhook.deleted"
        ]
    );
    let logged = serde_json::to_string(&entries).expect("json");
    assert!(!logged.contains(&old_secret) && !logged.contains(&new_secret));
    assert!(!logged.contains("whsec_"), "no secret in the audit log");
}

/// Bad input comes back as user errors naming the field, and creates or changes nothing;
/// an unknown id is NOT_FOUND.
async fn bad_input_is_reported_as_user_errors(app: TestApp) {
    let l = label(&app, "input@hooks.test").await;
    for (url, events, field, code, message) in [
        (
            "ftp://files.partner.example/in",
            json!(["STATEMENT_PARSED"]),
            "url",
            "INVALID",
            "`ftp` URLs cannot receive webhooks",
        ),
        (
            "partner.example/hooks",
            json!(["STATEMENT_PARSED"]),
            "url",
            "INVALID",
            "absolute URL",
        ),
        (
            "https://user:secret@partner.example/",
            json!(["STATEMENT_PARSED"]),
            "url",
            "INVALID",
            "user name or password",
        ),
        (
            "",
            json!(["STATEMENT_PARSED"]),
            "url",
            "INVALID",
            "required",
        ),
        (
            "https://partner.example/hooks",
            json!([]),
            "events",
            "REQUIRED",
            "at least one event",
        ),
    ] {
        let data = app
            .ok(
                Some(&l.token),
                CREATE,
                json!({"input": {"organizationId": l.org, "url": url, "events": events}}),
            )
            .await;
        let payload = &data["createWebhook"];
        assert_eq!(payload["webhook"], Value::Null, "{url}");
        assert_eq!(payload["secret"], Value::Null, "{url}");
        let error = &payload["userErrors"][0];
        assert_eq!(error["field"], json!([field]), "{payload}");
        assert_eq!(error["code"], code, "{payload}");
        assert!(
            error["message"]
                .as_str()
                .expect("message")
                .contains(message),
            "{payload}"
        );
    }
    // Both fields at once, both reported.
    let data = app
        .ok(
            Some(&l.token),
            CREATE,
            json!({"input": {"organizationId": l.org, "url": "gopher://x", "events": []}}),
        )
        .await;
    assert_eq!(
        data["createWebhook"]["userErrors"]
            .as_array()
            .expect("errors")
            .len(),
        2
    );
    let count = "query($id: ID!) { organization(id: $id) { webhooks { totalCount } } }";
    let data = app.ok(Some(&l.token), count, json!({"id": l.org})).await;
    assert_eq!(data["organization"]["webhooks"]["totalCount"], 0);

    let (hook, _) = create_webhook(
        &app,
        &l,
        "https://partner.example/hooks",
        &["STATEMENT_PARSED"],
    )
    .await;
    let data = app
        .ok(
            Some(&l.token),
            "mutation($id: ID!) { updateWebhook(input: {webhookId: $id, url: \"mailto:ops@partner.example\", events: []}) { webhook { url } userErrors { field code } } }",
            json!({"id": hook}),
        )
        .await;
    assert_eq!(data["updateWebhook"]["webhook"], Value::Null);
    assert_eq!(
        data["updateWebhook"]["userErrors"],
        json!([{"field": ["url"], "code": "INVALID"}, {"field": ["events"], "code": "REQUIRED"}])
    );
    let data = app
        .ok(
            Some(&l.token),
            "query($id: ID!) { node(id: $id) { ... on Webhook { url events } } }",
            json!({"id": hook}),
        )
        .await;
    assert_eq!(
        data["node"],
        json!({"url": "https://partner.example/hooks", "events": ["STATEMENT_PARSED"]})
    );

    let unknown = app
        .graphql(
            Some(&l.token),
            "mutation { deleteWebhook(input: {webhookId: \"V2ViaG9vazo5OTk5\"}) { deletedWebhookId } }",
            json!({}),
        )
        .await;
    assert_eq!(error_code(&unknown), "NOT_FOUND", "{unknown}");
}

async fn api_key(app: &TestApp, l: &Label, scopes: &[&str]) -> String {
    let data = app
        .ok(
            Some(&l.token),
            "mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { secret } }",
            json!({"input": {"organizationId": l.org, "name": "Partner", "scopes": scopes}}),
        )
        .await;
    data["createApiKey"]["secret"]
        .as_str()
        .expect("secret")
        .to_owned()
}

/// Viewers, artists, other organisations, anonymous callers and API keys without
/// `manage:webhooks` can neither create nor see webhooks or their deliveries; a key with the
/// scope can.
async fn only_those_who_manage_webhooks_see_them(app: TestApp) {
    let l = label(&app, "owner@hooks.test").await;
    let data = app
        .ok(
            Some(&l.token),
            "mutation($org: ID!) { createArtist(input: {organizationId: $org, name: \"Ada Vesper\"}) { artist { id } } }",
            json!({"org": l.org}),
        )
        .await;
    let artist = data["createArtist"]["artist"]["id"]
        .as_str()
        .expect("artist")
        .to_owned();
    let partner = Receiver::start(&[]).await;
    let (hook, _) = create_webhook(&app, &l, &partner.url, &["STATEMENT_PARSED"]).await;
    notify(&app, &l, "statement.parsed:1", json!({})).await;
    let delivery = app
        .eventually(TIMEOUT, || async {
            deliveries(&app, &l.token, &hook).await.pop()
        })
        .await["id"]
        .as_str()
        .expect("delivery id")
        .to_owned();

    let viewer = app
        .invite_member(&l.token, &l.org, "viewer@hooks.test", "VIEWER", None)
        .await;
    let artist_member = app
        .invite_member(
            &l.token,
            &l.org,
            "artist@hooks.test",
            "ARTIST",
            Some(&artist),
        )
        .await;
    let outsider = label(&app, "outsider@elsewhere.test").await;
    let read_key = api_key(&app, &l, &["READ_CATALOGUE", "READ_STATEMENTS"]).await;
    // In the organisation: FORBIDDEN, or hidden (null, NOT_FOUND) where the caller could not
    // fetch the object at all; outside it: always hidden, as an id of nothing.
    let in_org: &[&str] = &["FORBIDDEN", "HIDDEN"];
    let callers = [
        ("viewer", Some(viewer), in_org),
        ("artist", Some(artist_member), in_org),
        ("outsider", Some(outsider.token.clone()), &["HIDDEN"]),
        ("read-only key", Some(read_key), in_org),
        ("anonymous", None, &["UNAUTHENTICATED"]),
    ];
    let operations = [
        (
            CREATE,
            json!({"input": {"organizationId": l.org, "url": "https://evil.example/", "events": ["STATEMENT_PARSED"]}}),
        ),
        (
            "query($id: ID!) { organization(id: $id) { webhooks { totalCount } } }",
            json!({"id": l.org}),
        ),
        (
            "query($id: ID!) { node(id: $id) { id } }",
            json!({"id": hook}),
        ),
        (
            "query($id: ID!) { node(id: $id) { id } }",
            json!({"id": delivery}),
        ),
        (
            "mutation($id: ID!) { updateWebhook(input: {webhookId: $id, url: \"https://evil.example/\"}) { webhook { url } } }",
            json!({"id": hook}),
        ),
        (
            "mutation($id: ID!) { rotateWebhookSecret(input: {webhookId: $id}) { secret } }",
            json!({"id": hook}),
        ),
        (
            "mutation($id: ID!) { redeliverWebhookDelivery(input: {deliveryId: $id}) { delivery { id } } }",
            json!({"id": delivery}),
        ),
        (
            "mutation($id: ID!) { deleteWebhook(input: {webhookId: $id}) { deletedWebhookId } }",
            json!({"id": hook}),
        ),
    ];
    for (who, token, expected) in &callers {
        for (query, variables) in &operations {
            let response = app
                .graphql(token.as_deref(), query, variables.clone())
                .await;
            let refusal = match response["errors"][0]["extensions"]["code"].as_str() {
                Some("NOT_FOUND") => "HIDDEN",
                Some(code) => code,
                None if response["data"]["node"].is_null()
                    && response["data"].get("node").is_some()
                    || response["data"]["organization"].is_null()
                        && response["data"].get("organization").is_some() =>
                {
                    "HIDDEN"
                }
                None => panic!("{who}: {query} was allowed: {response}"),
            };
            assert!(expected.contains(&refusal), "{who}: {query} → {response}");
            let data = &response["data"];
            assert!(
                !data.to_string().contains(&partner.url),
                "{who} saw the webhook: {response}"
            );
        }
    }
    // Nothing changed.
    let data = app
        .ok(
            Some(&l.token),
            "query($id: ID!) { node(id: $id) { ... on Webhook { url } } }",
            json!({"id": hook}),
        )
        .await;
    assert_eq!(data["node"]["url"], partner.url.as_str());

    // A partner's key with the scope manages webhooks and reads their deliveries.
    let key = api_key(&app, &l, &["MANAGE_WEBHOOKS"]).await;
    let data = app
        .ok(
            Some(&key),
            CREATE,
            json!({"input": {"organizationId": l.org, "url": "https://erp.partner.example/in", "events": ["PAYOUT_RUN_UPDATED"]}}),
        )
        .await;
    assert!(data["createWebhook"]["secret"].is_string(), "{data}");
    let log = app.ok(Some(&key), DELIVERIES, json!({"id": hook})).await;
    assert_eq!(log["node"]["deliveries"]["totalCount"], 1);
    // Reaching the list through `organization(id:)` also takes `read:catalogue`, as every
    // list on the organisation does.
    let key = api_key(&app, &l, &["MANAGE_WEBHOOKS", "READ_CATALOGUE"]).await;
    let data = app
        .ok(
            Some(&key),
            "query($id: ID!) { organization(id: $id) { webhooks { totalCount } } }",
            json!({"id": l.org}),
        )
        .await;
    assert_eq!(data["organization"]["webhooks"]["totalCount"], 2);
}

/// A server that may deliver to the public internet only (the default outside tests) refuses
/// a URL naming a loopback, private or reserved address when the webhook is created, and a host
/// name that resolves only to such addresses when a delivery is sent: nothing reaches the
/// endpoint inside its network.
async fn private_networks_are_out_of_reach(backend: tests::Backend) {
    let Some(app) = TestApp::spawn_configured(backend, true, |config| {
        config.webhook_reach = api::config::WebhookReach::PublicOnly;
    })
    .await
    else {
        return;
    };
    let l = label(&app, "ssrf@hooks.test").await;
    let partner = Receiver::start(&[]).await;
    let port = partner
        .url
        .rsplit(':')
        .next()
        .and_then(|rest| rest.split('/').next());
    let port = port.expect("the endpoint's port");
    for url in [
        partner.url.clone(),
        format!("http://localhost:{port}/hook"),
        "http://169.254.169.254/latest/meta-data/".to_owned(),
        "http://10.0.0.7/hook".to_owned(),
        format!("http://[::1]:{port}/hook"),
        "http://[::ffff:127.0.0.1]/hook".to_owned(),
    ] {
        let data = app
            .ok(
                Some(&l.token),
                CREATE,
                json!({"input": {"organizationId": l.org, "url": url, "events": ["STATEMENT_PARSED"]}}),
            )
            .await;
        let errors = &data["createWebhook"]["userErrors"];
        assert_eq!(errors[0]["field"], json!(["url"]), "{url}: {errors}");
        let message = errors[0]["message"].as_str().expect("a message");
        assert!(
            message.contains("loopback, private or reserved"),
            "{url}: {message}"
        );
        assert_eq!(data["createWebhook"]["webhook"], Value::Null);
    }

    // A name is only known to be private once resolved: this machine's own name, when it
    // resolves to loopback or private addresses only (it does on the CI machine).
    let name = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|n| n.trim().to_ascii_lowercase())
        .unwrap_or_default();
    let resolved: Vec<std::net::SocketAddr> =
        std::net::ToSocketAddrs::to_socket_addrs(&(name.as_str(), 0))
            .map(Iterator::collect)
            .unwrap_or_default();
    if name.is_empty()
        || resolved.is_empty()
        || resolved
            .iter()
            .any(|addr| domain::webhook::is_public_ip(addr.ip()))
    {
        eprintln!(
            "skipped the host-name case: `{name}` does not resolve to private addresses only"
        );
        return;
    }
    let url = format!("http://{name}:{port}/hook");
    let (hook, _) = create_webhook(&app, &l, &url, &["STATEMENT_PARSED"]).await;
    notify(
        &app,
        &l,
        "statement.parsed:ssrf",
        json!({"statement": {"id": "z"}}),
    )
    .await;
    let attempted = app
        .eventually(TIMEOUT, || async {
            let mut all = deliveries(&app, &l.token, &hook).await;
            // An attempt is claimed (counted) before it is made: wait for its outcome.
            all.pop()
                .filter(|d| d["attempts"] == 1 && d["lastError"].is_string())
        })
        .await;
    let error = attempted["lastError"].as_str().expect("an error");
    assert!(
        error.contains(&format!(
            "`{name}` resolves only to loopback, private or reserved addresses"
        )),
        "{error}"
    );
    assert_eq!(attempted["lastStatusCode"], Value::Null);
    assert_ne!(attempted["status"], "DELIVERED");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        partner
            .script
            .lock()
            .expect("receiver state")
            .received
            .is_empty(),
        "the endpoint received nothing"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn private_networks_are_out_of_reach_sqlite() {
    private_networks_are_out_of_reach(tests::Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn private_networks_are_out_of_reach_postgres() {
    private_networks_are_out_of_reach(tests::Backend::Postgres).await;
}

on_every_backend!(
    a_parsed_statement_is_delivered_once_and_signed,
    one_event_makes_one_delivery_per_webhook,
    webhooks_are_managed_and_audited,
    bad_input_is_reported_as_user_errors,
    only_those_who_manage_webhooks_see_them,
);

with_worker_process!(
    a_failing_receiver_is_retried_with_growing_delays,
    an_unreachable_endpoint_fails_then_is_redelivered,
    a_scheduled_retry_survives_a_worker_restart,
);
