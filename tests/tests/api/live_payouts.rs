//! `payoutUpdates` live, end to end with a real graphql-transport-ws client: an artist
//! connected to one API instance sees a payout run that a worker on another machine advanced.
//!
//! The two-process scenario runs on PostgreSQL + Redis (both `IMPRINT_TEST_DATABASE_URL` and
//! `IMPRINT_TEST_REDIS_URL`): process A (`test_server`, no workers) serves the subscriptions,
//! process B (`test_server` with workers) takes the mutations and computes the run, and the
//! updates reach A over the Redis event bus. On SQLite the bus is in-process by design, so the
//! same flow runs against one process: subscriber, mutations and workers together.

use std::process::Stdio;
use std::time::{Duration, Instant};

use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tests::{Backend, TestApp};
use tokio::io::AsyncBufReadExt;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use super::money::{
    APPROVE_RUN, CREATE_ARTIST, CREATE_RUN, PAY_RUN, id_at, label, statement, upload, user_errors,
    wait_allocated,
};

const UPDATES: &str = "subscription($org: ID!) { payoutUpdates(organizationId: $org) { payoutRunId status payoutRun { id status totals { payeeCount payable { amount } } payouts(first: 100) { totalCount edges { node { status payee { id } payable { amount } } } } } } }";

/// How long a step the workers take may last before the test gives up.
const STEP: Duration = Duration::from_secs(60);

/// A `test_server` process, stopped with SIGKILL if the test ends without stopping it (a panic).
struct ServerProcess {
    name: &'static str,
    child: tokio::process::Child,
    base_url: String,
}

impl ServerProcess {
    /// Starts `test_server` on a free port against `app`'s database, queue, event bus and
    /// namespace, and waits until it answers `/readyz`.
    async fn start(app: &TestApp, name: &'static str, workers: bool) -> Self {
        let config = &app.state.config;
        let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_test_server"));
        command
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("IMPRINT_DATABASE_URL", &config.database_url)
            .env("IMPRINT_DATA_DIR", &config.data_dir)
            .env("IMPRINT_NAMESPACE", &config.namespace)
            .env("IMPRINT_LISTEN", "127.0.0.1:0")
            .env("IMPRINT_TEST_WORKERS", if workers { "1" } else { "0" })
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true);
        match &config.queue {
            api::config::QueueBackend::Sqlite { url } => command.env("IMPRINT_QUEUE_URL", url),
            api::config::QueueBackend::Redis { url } => command.env("IMPRINT_REDIS_URL", url),
        };
        let mut child = command.spawn().expect("test_server process");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut lines = tokio::io::BufReader::new(stdout).lines();
        let port = tokio::time::timeout(STEP, lines.next_line())
            .await
            .unwrap_or_else(|_| panic!("{name}: no port within {STEP:?}"))
            .expect("read stdout")
            .unwrap_or_else(|| panic!("{name}: exited before listening"));
        // Keep reading (and discarding) so the process never writes into a closed pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        let base_url = format!("http://127.0.0.1:{}", port.trim());
        let server = Self {
            name,
            child,
            base_url,
        };
        let started = Instant::now();
        loop {
            let ready = app
                .client
                .get(format!("{}/readyz", server.base_url))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success());
            if ready {
                break;
            }
            assert!(started.elapsed() < STEP, "{name} never became ready");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        server
    }

    /// SIGTERM, then waits for a clean exit.
    async fn stop(mut self) {
        let pid = self.child.id().expect("still running");
        let status = std::process::Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .expect("kill -TERM");
        assert!(status.success(), "kill -TERM {pid}");
        let exit = tokio::time::timeout(Duration::from_secs(45), self.child.wait())
            .await
            .unwrap_or_else(|_| panic!("{} did not stop on SIGTERM", self.name))
            .expect("wait");
        assert!(exit.success(), "{} stopped with {exit}", self.name);
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        // Only when `stop` was not reached: `start_kill` on an exited child is a no-op error.
        let _ = self.child.start_kill();
    }
}

/// Posts a GraphQL request to any server; fails the test on GraphQL errors.
async fn ok(
    client: &reqwest::Client,
    base_url: &str,
    token: &str,
    query: &str,
    variables: Value,
) -> Value {
    let response = tests::graphql_at(client, base_url, Some(token), query, variables).await;
    assert!(
        response.get("errors").is_none(),
        "unexpected errors: {response:#}"
    );
    response["data"].clone()
}

/// One graphql-transport-ws connection with one `payoutUpdates` subscription. A task reads
/// the socket all along, as a browser would: unread, the server's keep-alive pings would go
/// unanswered and it would drop the connection.
struct Subscriber {
    who: &'static str,
    incoming: tokio::sync::mpsc::UnboundedReceiver<Value>,
    outgoing: tokio::sync::mpsc::UnboundedSender<Option<Value>>,
    task: tokio::task::JoinHandle<()>,
}

impl Subscriber {
    async fn connect(base_url: &str, who: &'static str, token: &str, org: &str) -> Self {
        let url = base_url.replace("http://", "ws://") + "/graphql/ws";
        let mut request = url.into_client_request().expect("request");
        request.headers_mut().insert(
            "Sec-WebSocket-Protocol",
            "graphql-transport-ws".parse().expect("header"),
        );
        let (mut socket, _) = tokio_tungstenite::connect_async(request)
            .await
            .expect("websocket");
        let (incoming_tx, incoming) = tokio::sync::mpsc::unbounded_channel();
        let (outgoing, mut outgoing_rx) = tokio::sync::mpsc::unbounded_channel::<Option<Value>>();
        let task = tokio::spawn(async move {
            loop {
                tokio::select! {
                    command = outgoing_rx.recv() => match command {
                        Some(Some(message)) => socket
                            .send(Message::Text(message.to_string().into()))
                            .await
                            .unwrap_or_else(|e| panic!("{who}: send {e}")),
                        _ => {
                            let _ = socket.close(None).await;
                            return;
                        }
                    },
                    frame = socket.next() => {
                        let frame = match frame {
                            Some(Ok(frame)) => frame,
                            Some(Err(e)) => panic!("{who}: socket error {e}"),
                            None => return,
                        };
                        let Message::Text(text) = frame else { continue };
                        let value: Value = serde_json::from_str(&text).expect("json");
                        if value["type"] == "ping" {
                            socket
                                .send(Message::Text(json!({"type": "pong"}).to_string().into()))
                                .await
                                .unwrap_or_else(|e| panic!("{who}: pong {e}"));
                        } else if incoming_tx.send(value).is_err() {
                            return;
                        }
                    }
                }
            }
        });
        let mut s = Self {
            who,
            incoming,
            outgoing,
            task,
        };
        s.send(json!({"type": "connection_init", "payload": {"Authorization": format!("Bearer {token}")}}));
        let ack = s.recv(STEP).await.expect("connection_ack in time");
        assert_eq!(ack["type"], "connection_ack", "{who}: {ack}");
        s.send(json!({"id": "1", "type": "subscribe", "payload": {"query": UPDATES, "variables": {"org": org}}}));
        // graphql-transport-ws does not acknowledge a subscription. A ping answered means the
        // server has read the `subscribe`; the pause after it lets the resolver reach the bus.
        s.send(json!({"type": "ping"}));
        let pong = s.recv(STEP).await.expect("pong in time");
        assert_eq!(pong["type"], "pong", "{who}: {pong}");
        s
    }

    fn send(&self, message: Value) {
        self.outgoing
            .send(Some(message))
            .unwrap_or_else(|_| panic!("{}: connection task ended", self.who));
    }

    /// The next graphql-transport-ws message, or `None` after `wait`.
    async fn recv(&mut self, wait: Duration) -> Option<Value> {
        tokio::time::timeout(wait, self.incoming.recv())
            .await
            .ok()?
            .or_else(|| panic!("{}: connection closed", self.who))
    }

    /// The next `payoutUpdates` payload; fails on anything else or after `STEP`.
    async fn next_update(&mut self) -> Value {
        let message = self
            .recv(STEP)
            .await
            .unwrap_or_else(|| panic!("{}: no update within {STEP:?}", self.who));
        assert_eq!(message["type"], "next", "{}: {message}", self.who);
        assert_eq!(message["id"], "1", "{}: {message}", self.who);
        assert!(
            message["payload"].get("errors").is_none(),
            "{}: {message}",
            self.who
        );
        message["payload"]["data"]["payoutUpdates"].clone()
    }

    /// Updates until one with `status`, returning every update seen (that one last).
    async fn until(&mut self, status: &str, seen: &mut Vec<Value>) -> Value {
        loop {
            let update = self.next_update().await;
            seen.push(update.clone());
            if update["status"] == status {
                return update;
            }
        }
    }

    /// Ends the subscription and closes the connection.
    async fn close(self) {
        self.send(json!({"id": "1", "type": "complete"}));
        let _ = self.outgoing.send(None);
        tokio::time::timeout(Duration::from_secs(10), self.task)
            .await
            .unwrap_or_else(|_| panic!("{}: connection did not close", self.who))
            .unwrap_or_else(|e| panic!("{}: connection task {e}", self.who));
    }
}

fn rank(status: &str) -> usize {
    ["DRAFT", "COMPUTING", "READY", "APPROVED", "PAID"]
        .iter()
        .position(|s| *s == status)
        .unwrap_or_else(|| panic!("unexpected status {status}"))
}

/// The payee ids of the payouts in an update, with their payable amounts.
fn payouts(update: &Value) -> Vec<(String, String)> {
    update["payoutRun"]["payouts"]["edges"]
        .as_array()
        .expect("payouts")
        .iter()
        .map(|e| {
            (
                e["node"]["payee"]["id"].as_str().expect("payee").to_owned(),
                e["node"]["payable"]["amount"]
                    .as_str()
                    .expect("payable")
                    .to_owned(),
            )
        })
        .collect()
}

/// The scenario: setup through `app` (its statement parsed and allocated by whichever workers
/// share its queue), subscribers on `subscribe_url`, the run created, approved and paid through
/// `mutate_url`.
async fn run_advanced_elsewhere(app: &TestApp, subscribe_url: &str, mutate_url: &str) {
    let started = Instant::now();
    let l = label(app, "live-payouts@label.test").await;
    let statement_id = upload(
        app,
        &l,
        "jan.tsv",
        statement("QZBEN2500001", &["40.00", "35.00", "25.00"]),
    )
    .await;
    wait_allocated(app, &l.token, &statement_id).await;
    let ada_token = app
        .invite_member(&l.token, &l.org, "ada@tern.test", "ARTIST", Some(&l.ada))
        .await;
    // Another artist of the label, with nothing in the run.
    let data = app
        .ok(
            Some(&l.token),
            CREATE_ARTIST,
            json!({"input": {"organizationId": l.org, "name": "Bo Lindqvist"}}),
        )
        .await;
    let bo = id_at(&data, &["createArtist", "artist", "id"]);
    let bo_token = app
        .invite_member(&l.token, &l.org, "bo@tern.test", "ARTIST", Some(&bo))
        .await;
    eprintln!("setup done in {:?}", started.elapsed());

    let mut ada = Subscriber::connect(subscribe_url, "ada", &ada_token, &l.org).await;
    let mut bo = Subscriber::connect(subscribe_url, "bo", &bo_token, &l.org).await;
    let mut owner = Subscriber::connect(subscribe_url, "owner", &l.token, &l.org).await;
    tokio::time::sleep(Duration::from_millis(300)).await;

    let client = reqwest::Client::new();
    let created_at = Instant::now();
    let data = ok(
        &client,
        mutate_url,
        &l.token,
        CREATE_RUN,
        json!({"input": {"organizationId": l.org, "periodEnd": "2025-01-31"}}),
    )
    .await;
    assert_eq!(user_errors(&data["createPayoutRun"]), Vec::<String>::new());
    let run_id = id_at(&data, &["createPayoutRun", "payoutRun", "id"]);

    let mut ada_seen = Vec::new();
    let ready = ada.until("READY", &mut ada_seen).await;
    eprintln!(
        "ada saw READY {:?} after createPayoutRun",
        created_at.elapsed()
    );
    assert_eq!(ready["payoutRunId"], run_id.as_str());
    assert_eq!(ready["payoutRun"]["status"], "READY");
    assert_eq!(
        payouts(&ready),
        vec![(l.ada_payee.clone(), "23.33".to_owned())],
        "only her own payee's payout: {ready}"
    );
    assert_eq!(ready["payoutRun"]["totals"][0]["payeeCount"], 1, "{ready}");
    assert_eq!(
        ready["payoutRun"]["totals"][0]["payable"]["amount"],
        "23.33"
    );

    // The manager sees every payee's payout in the same run.
    let mut owner_seen = Vec::new();
    let full = owner.until("READY", &mut owner_seen).await;
    assert_eq!(full["payoutRun"]["payouts"]["totalCount"], 3, "{full}");
    assert_eq!(full["payoutRun"]["totals"][0]["payable"]["amount"], "56.66");

    let data = ok(
        &client,
        mutate_url,
        &l.token,
        APPROVE_RUN,
        json!({"input": {"payoutRunId": run_id}}),
    )
    .await;
    assert_eq!(data["approvePayoutRun"]["payoutRun"]["status"], "APPROVED");
    let approved = ada.until("APPROVED", &mut ada_seen).await;
    assert_eq!(
        payouts(&approved),
        vec![(l.ada_payee.clone(), "23.33".to_owned())]
    );

    let data = ok(
        &client,
        mutate_url,
        &l.token,
        PAY_RUN,
        json!({"input": {"payoutRunId": run_id, "payments": [
            {"payeeId": l.ada_payee, "paymentReference": "TX-1"},
            {"payeeId": l.guest, "paymentReference": "TX-2"},
        ]}}),
    )
    .await;
    assert_eq!(data["markPayoutRunPaid"]["payoutRun"]["status"], "PAID");
    let paid = ada.until("PAID", &mut ada_seen).await;
    assert_eq!(paid["payoutRunId"], run_id.as_str());
    eprintln!(
        "ada saw PAID {:?} after createPayoutRun",
        created_at.elapsed()
    );

    // In order, every update about this run and only her payee.
    let statuses: Vec<&str> = ada_seen
        .iter()
        .map(|u| u["status"].as_str().expect("status"))
        .collect();
    eprintln!("ada saw {statuses:?}");
    assert!(
        statuses.windows(2).all(|w| rank(w[0]) <= rank(w[1])),
        "out of order: {statuses:?}"
    );
    for update in &ada_seen {
        assert_eq!(update["payoutRunId"], run_id.as_str(), "{update}");
        assert_eq!(update["status"], update["payoutRun"]["status"], "{update}");
        assert!(
            payouts(update)
                .iter()
                .all(|(payee, _)| *payee == l.ada_payee),
            "another payee's payout leaked: {update}"
        );
    }
    let owner_rest = owner.until("PAID", &mut owner_seen).await;
    assert_eq!(owner_rest["payoutRunId"], run_id.as_str());

    // Bo has no payout in the run: by the time Ada has seen it paid he has heard nothing, and
    // nothing comes late either.
    let late = bo.recv(Duration::from_millis(500)).await;
    assert!(
        late.is_none(),
        "bo heard about a run he has no payout in: {late:?}"
    );
    assert!(
        ada.recv(Duration::from_millis(200)).await.is_none(),
        "no update after PAID"
    );

    ada.close().await;
    bo.close().await;
    owner.close().await;
    eprintln!("scenario done in {:?}", started.elapsed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_process_sqlite() {
    let app = TestApp::spawn(Backend::Sqlite).await.expect("sqlite app");
    run_advanced_elsewhere(&app, &app.base_url, &app.base_url).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_sharing_redis() {
    let configured = |name: &str| std::env::var(name).is_ok_and(|v| !v.is_empty());
    if !(configured(tests::DATABASE_ENV) && configured(tests::REDIS_ENV)) {
        eprintln!(
            "skipped: needs both {} and {} (on SQLite the event bus is in-process; one_process_sqlite covers it)",
            tests::DATABASE_ENV,
            tests::REDIS_ENV
        );
        return;
    }
    // The harness only creates and migrates the database (and serves the setup mutations).
    let app = TestApp::spawn_with(Backend::Postgres, false)
        .await
        .expect("postgres app");
    assert!(
        matches!(
            app.state.config.queue,
            api::config::QueueBackend::Redis { .. }
        ),
        "the two processes must share Redis"
    );
    let started = Instant::now();
    let a = ServerProcess::start(&app, "A (no workers)", false).await;
    let b = ServerProcess::start(&app, "B (workers)", true).await;
    eprintln!(
        "A on {}, B on {}, up in {:?}",
        a.base_url,
        b.base_url,
        started.elapsed()
    );
    run_advanced_elsewhere(&app, &a.base_url, &b.base_url).await;
    let stopping = Instant::now();
    a.stop().await;
    b.stop().await;
    eprintln!("both stopped on SIGTERM in {:?}", stopping.elapsed());
}
