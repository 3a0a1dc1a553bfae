//! Mail through the outbox, against a real SMTP server the test starts (`tests::smtp`): the
//! invitation mail arrives once with its accept link; a paid run's "statement ready" mails
//! arrive once each with the PDF attached, also when the payment is recorded again; the weekly
//! digest is written once per organisation and week; a worker killed mid-send and replaced
//! still delivers the mail once (by `Message-ID`: see `jobs::deliver_mail` for the window);
//! without SMTP the mails wait in the outbox, which owners and admins only may read.

use std::collections::BTreeSet;
use std::process::{Child, Command};
use std::time::Duration;

use serde_json::{Value, json};
use tests::smtp::{Received, SmtpSink, Stall};
use tests::{Backend, TestApp, on_every_backend};

use super::money::{APPROVE_RUN, CREATE_RUN, PAY_RUN, id_at, label, payouts_by_payee, upload};

const PUBLIC_URL: &str = "https://imprint.test";
const INVITE: &str = "mutation($input: InviteMemberInput!) { inviteMember(input: $input) { invitationToken userErrors { field message } } }";
const OUTBOX: &str = "query($id: ID!) { organization(id: $id) { outbox(first: 100) { totalCount edges { node { id kind status recipient subject textBody htmlBody attachmentPayoutId attempts sentAt } } } } }";
const UPDATE_PAYEE: &str = "mutation($input: UpdatePayeeInput!) { updatePayee(input: $input) { payee { id } userErrors { field message } } }";
const WAIT: Duration = Duration::from_secs(60);

async fn app_with_smtp(
    backend: Backend,
    sink: &SmtpSink,
    workers: bool,
    lease: Duration,
) -> Option<TestApp> {
    let url = sink.url();
    TestApp::spawn_configured(backend, workers, move |config| {
        config.mail.smtp_url = Some(url);
        config.mail.public_url = PUBLIC_URL.to_owned();
        config.mail.lease = lease;
    })
    .await
}

async fn invite(app: &TestApp, token: &str, org: &str, email: &str, role: &str) -> String {
    let data = app
        .ok(
            Some(token),
            INVITE,
            json!({"input": {"organizationId": org, "email": email, "role": role}}),
        )
        .await;
    data["inviteMember"]["invitationToken"]
        .as_str()
        .unwrap_or_else(|| panic!("invitation: {data}"))
        .to_owned()
}

async fn outbox(app: &TestApp, token: &str, org: &str) -> Vec<Value> {
    let data = app.ok(Some(token), OUTBOX, json!({"id": org})).await;
    data["organization"]["outbox"]["edges"]
        .as_array()
        .expect("outbox")
        .iter()
        .map(|e| e["node"].clone())
        .collect()
}

fn distinct_ids(mails: &[Received]) -> BTreeSet<String> {
    mails
        .iter()
        .map(|m| m.message_id().expect("every mail has a Message-ID"))
        .collect()
}

/// Waits until `recipient` has received `n` mails, then a moment more, and returns them.
async fn arrived(app: &TestApp, sink: &SmtpSink, recipient: &str, n: usize) -> Vec<Received> {
    app.eventually(WAIT, || async {
        (sink.received_by(recipient).len() >= n).then_some(())
    })
    .await;
    // Long enough for a duplicate sent right behind to show.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    sink.received_by(recipient)
}

async fn invitation_and_paid_run(backend: Backend) {
    let sink = SmtpSink::start().await;
    let Some(app) = app_with_smtp(backend, &sink, true, Duration::from_secs(30)).await else {
        return;
    };
    let l = label(&app, "owner@mail-label.test").await;

    // The invitation: one mail, with the link that accepts it.
    let token = invite(&app, &l.token, &l.org, "viewer@mail-label.test", "VIEWER").await;
    let mails = arrived(&app, &sink, "viewer@mail-label.test", 1).await;
    assert_eq!(mails.len(), 1, "the invitation mail arrives once");
    let mail = &mails[0];
    let link = format!("{PUBLIC_URL}/accept-invitation?token={token}");
    assert!(mail.text().contains(&link), "{}", mail.data);
    assert!(
        mail.header("Subject")
            .is_some_and(|s| s.contains("Tern Records")),
        "{:?}",
        mail.header("Subject")
    );
    let viewer = app.sign_up("viewer@mail-label.test").await;
    let data = app.ok(Some(&viewer), "mutation($t: String!) { acceptInvitation(input: {token: $t}) { userErrors { message } } }", json!({"t": token})).await;
    assert_eq!(data["acceptInvitation"]["userErrors"], json!([]), "{data}");

    // Every payee gets an address; a run over 300.00 pays each of them.
    for (payee, email) in [
        (&l.ada_payee, "ada@artists.test"),
        (&l.producer, "theo@artists.test"),
        (&l.guest, "iris@artists.test"),
    ] {
        let data = app
            .ok(
                Some(&l.token),
                UPDATE_PAYEE,
                json!({"input": {"payeeId": payee, "email": email}}),
            )
            .await;
        assert_eq!(data["updatePayee"]["userErrors"], json!([]), "{data}");
    }
    let statement = upload(
        &app,
        &l,
        "mail.tsv",
        super::money::statement("QZBEN2500001", &["300.00"]),
    )
    .await;
    super::money::wait_allocated(&app, &l.token, &statement).await;
    let data = app
        .ok(
            Some(&l.token),
            CREATE_RUN,
            json!({"input": {"organizationId": l.org, "periodEnd": "2025-12-31"}}),
        )
        .await;
    let run_id = id_at(&data, &["createPayoutRun", "payoutRun", "id"]);
    let run = super::money::wait_run(&app, &l.token, &run_id, "READY").await;
    app.ok(
        Some(&l.token),
        APPROVE_RUN,
        json!({"input": {"payoutRunId": run_id}}),
    )
    .await;
    let payments: Vec<Value> = payouts_by_payee(&run)
        .values()
        .enumerate()
        .map(|(i, p)| json!({"payeeId": p["payee"]["id"], "paymentReference": format!("MAIL-{i}")}))
        .collect();
    assert_eq!(payments.len(), 3);
    let pay = json!({"input": {"payoutRunId": run_id, "payments": payments}});
    let data = app.ok(Some(&l.token), PAY_RUN, pay.clone()).await;
    assert_eq!(data["markPayoutRunPaid"]["userErrors"], json!([]), "{data}");
    // Recording the same payments again changes nothing, and queues no mail.
    let data = app.ok(Some(&l.token), PAY_RUN, pay).await;
    assert_eq!(data["markPayoutRunPaid"]["userErrors"], json!([]), "{data}");

    for email in ["ada@artists.test", "theo@artists.test", "iris@artists.test"] {
        let mails = arrived(&app, &sink, email, 1).await;
        assert_eq!(mails.len(), 1, "{email}: one statement mail");
        let pdfs = mails[0].attachments("application/pdf");
        assert_eq!(pdfs.len(), 1, "{email}: the PDF is attached");
        assert!(pdfs[0].starts_with(b"%PDF-"), "{email}: a PDF");
        assert!(mails[0].text().contains("MAIL-"), "the payment reference");
    }
    let rows = outbox(&app, &l.token, &l.org).await;
    let statements: Vec<&Value> = rows
        .iter()
        .filter(|r| r["kind"] == "STATEMENT_READY")
        .collect();
    assert_eq!(statements.len(), 3, "{rows:#?}");
    assert!(
        statements
            .iter()
            .all(|r| r["status"] == "SENT" && r["attachmentPayoutId"].is_string()),
        "{statements:#?}"
    );

    // The weekly digest: once per organisation and week, to the owner, however often it is
    // scheduled (a statement with a line of no known track makes the week worth a mail).
    upload(
        &app,
        &l,
        "unknown.tsv",
        super::money::statement("QZZZZ9999999", &["1.00"]),
    )
    .await;
    let ctx = app.state.job_context();
    let now = chrono::Utc::now();
    let first = workers::mail::digest::schedule(&ctx, now)
        .await
        .expect("digests");
    let second = workers::mail::digest::schedule(&ctx, now)
        .await
        .expect("digests");
    assert_eq!(second, 0, "the week's digest is decided once");
    assert!(first <= 1, "one owner, one digest");
    let digests = arrived(&app, &sink, "owner@mail-label.test", 1).await;
    assert_eq!(digests.len(), 1);
    assert!(
        digests[0].text().contains("statement line(s) not matched"),
        "{}",
        digests[0].data
    );
    assert_eq!(
        distinct_ids(&sink.received()).len(),
        sink.received().len(),
        "no mail arrived twice"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invitation_and_paid_run_sqlite() {
    invitation_and_paid_run(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invitation_and_paid_run_postgres() {
    invitation_and_paid_run(Backend::Postgres).await;
}

/// Without `IMPRINT_SMTP_URL` the mails wait in the outbox, readable by owners and admins only.
async fn outbox_without_smtp(app: TestApp) {
    let owner = app.sign_up("owner@quiet-label.test").await;
    let org = app.create_organization(&owner, "Quiet Records").await;
    let admin = app
        .invite_member(&owner, &org, "admin@quiet-label.test", "ADMIN", None)
        .await;
    let manager = app
        .invite_member(&owner, &org, "manager@quiet-label.test", "MANAGER", None)
        .await;
    let viewer = app
        .invite_member(&owner, &org, "viewer@quiet-label.test", "VIEWER", None)
        .await;
    let token = invite(&app, &owner, &org, "later@quiet-label.test", "VIEWER").await;
    // Workers are running: the mails stay pending all the same.
    tokio::time::sleep(Duration::from_secs(1)).await;
    for reader in [&owner, &admin] {
        // (A weekly digest may sit beside them, decided by a sweep.)
        let rows: Vec<Value> = outbox(&app, reader, &org)
            .await
            .into_iter()
            .filter(|r| r["kind"] == "INVITATION")
            .collect();
        assert_eq!(rows.len(), 4, "{rows:#?}");
        assert!(rows.iter().all(|r| r["status"] == "PENDING"), "{rows:#?}");
        let later = rows
            .iter()
            .find(|r| r["recipient"] == "later@quiet-label.test")
            .expect("the last invitation's mail");
        let body = later["textBody"].as_str().unwrap_or("");
        assert!(
            body.contains(&format!("accept-invitation?token={token}")),
            "{body}"
        );
    }
    for reader in [&manager, &viewer] {
        let response = app.graphql(Some(reader), OUTBOX, json!({"id": org})).await;
        assert_eq!(
            response["errors"][0]["extensions"]["code"], "FORBIDDEN",
            "{response}"
        );
    }
    // Another organisation's owner does not see this one at all.
    let outsider = app.sign_up("outsider@else.test").await;
    let response = app
        .graphql(Some(&outsider), OUTBOX, json!({"id": org}))
        .await;
    assert!(response["data"]["organization"].is_null(), "{response}");
}

on_every_backend!(outbox_without_smtp);

/// A worker process like `imprint worker`, sending to the sink, which the test may kill.
fn worker(app: &TestApp, sink: &SmtpSink, lease: Duration) -> Child {
    let config = &app.state.config;
    let mut command = Command::new(env!("CARGO_BIN_EXE_test_worker"));
    command
        .env("IMPRINT_DATABASE_URL", &config.database_url)
        .env("IMPRINT_DATA_DIR", &config.data_dir)
        .env("IMPRINT_NAMESPACE", &config.namespace)
        .env("IMPRINT_WORKER_HEARTBEAT_MS", "300")
        .env("IMPRINT_SMTP_URL", sink.url())
        .env("IMPRINT_PUBLIC_URL", PUBLIC_URL)
        .env("IMPRINT_MAIL_LEASE_SECONDS", lease.as_secs().to_string())
        .env("RUST_LOG", "error");
    match &config.queue {
        api::config::QueueBackend::Sqlite { url } => command.env("IMPRINT_QUEUE_URL", url),
        api::config::QueueBackend::Redis { url } => command.env("IMPRINT_REDIS_URL", url),
    };
    command.spawn().expect("worker process")
}

async fn mail_row(app: &TestApp, token: &str, org: &str, recipient: &str) -> Value {
    outbox(app, token, org)
        .await
        .into_iter()
        .find(|r| r["recipient"] == recipient)
        .expect("the mail's row")
}

/// A worker killed while the SMTP server holds its mail, then replaced: the mail is delivered,
/// once. Killed before the message went out, the server sees it once; killed after the server
/// received it but before it answered, the next attempt sends it again with the same
/// `Message-ID`, and the receiver sees one mail.
async fn killed_mid_send(backend: Backend) {
    let sink = SmtpSink::start().await;
    let lease = Duration::from_secs(6);
    let Some(app) = app_with_smtp(backend, &sink, false, lease).await else {
        return;
    };
    let owner = app.sign_up("owner@kill-label.test").await;
    let org = app.create_organization(&owner, "Kill Records").await;

    for (stall, email) in [
        (Stall::BeforeData, "before@kill-label.test"),
        (Stall::AfterData, "after@kill-label.test"),
    ] {
        sink.stall_next(stall);
        let mut current = worker(&app, &sink, lease);
        invite(&app, &owner, &org, email, "VIEWER").await;
        // Mid-send: the attempt is claimed and the server holds it.
        app.eventually(WAIT, || async {
            let row = mail_row(&app, &owner, &org, email).await;
            let held = match stall {
                Stall::BeforeData => true,
                Stall::AfterData => !sink.received_by(email).is_empty(),
            };
            (row["attempts"] == 1 && held).then_some(())
        })
        .await;
        current.kill().expect("SIGKILL");
        current.wait().ok();
        current = worker(&app, &sink, lease);
        let row = app
            .eventually(WAIT, || async {
                let row = mail_row(&app, &owner, &org, email).await;
                (row["status"] == "SENT").then_some(row)
            })
            .await;
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let mails = sink.received_by(email);
        assert_eq!(distinct_ids(&mails).len(), 1, "{stall:?}: one mail");
        // At least the killed attempt and the one that delivered; under load the lease can
        // run out once more before the kill, and that attempt too must deliver nothing twice.
        assert!(
            row["attempts"].as_i64().is_some_and(|n| n >= 2),
            "{stall:?}: {row}"
        );
        match stall {
            Stall::BeforeData => assert_eq!(mails.len(), 1, "nothing went out before the kill"),
            Stall::AfterData => assert!(mails.len() <= 2, "{} copies", mails.len()),
        }
        current.kill().ok();
        current.wait().ok();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_mid_send_sqlite() {
    killed_mid_send(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_mid_send_postgres() {
    killed_mid_send(Backend::Postgres).await;
}
