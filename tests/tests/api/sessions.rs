//! Access ends when it should: a token that names no one is refused as a whole (401, never
//! served as anonymous) on `/graphql`, graphql-ws and downloads; API keys expire; a
//! subscription re-checks its caller before every event and ends when the key is revoked, the
//! member removed or the session ended; `changePassword` and `logoutEverywhere` end sessions;
//! invitations can be revoked, and accepting one never changes an existing member's role.

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tests::{TestApp, on_every_backend};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

const ORGANIZATION: &str = "query($id: ID!) { organization(id: $id) { name } }";
const NEW_KEY: &str = "mutation($org: ID!, $scopes: [ApiScope!]!, $expiresAt: DateTime) { createApiKey(input: {organizationId: $org, name: \"Partner\", scopes: $scopes, expiresAt: $expiresAt}) { apiKey { id expiresAt } secret userErrors { field code } } }";
const REVOKE_KEY: &str =
    "mutation($id: ID!) { revokeApiKey(input: {apiKeyId: $id}) { apiKey { revokedAt } } }";
const LOGIN: &str = "mutation($email: String!, $password: String!) { login(input: {email: $email, password: $password}) { token userErrors { code } } }";
const PASSWORD: &str = "a long enough password";

fn error_code(response: &Value) -> Option<&str> {
    response["errors"][0]["extensions"]["code"].as_str()
}

/// POSTs a query with an `Authorization` header as given; returns the status, the
/// `WWW-Authenticate` header and the body.
async fn post_raw(app: &TestApp, authorization: &str, query: &str) -> (u16, String, Value) {
    let response = app
        .client
        .post(format!("{}/graphql", app.base_url))
        .header("authorization", authorization)
        .json(&json!({ "query": query }))
        .send()
        .await
        .expect("sent");
    let status = response.status().as_u16();
    let challenge = response
        .headers()
        .get("www-authenticate")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    (status, challenge, response.json().await.expect("JSON body"))
}

async fn assert_refused(app: &TestApp, token: &str, why: &str) {
    let (status, challenge, body) = post_raw(
        app,
        &format!("Bearer {token}"),
        "{ viewer { user { email } } }",
    )
    .await;
    assert_eq!(status, 401, "{why}: {body}");
    assert!(challenge.starts_with("Bearer"), "{why}: {challenge}");
    assert_eq!(error_code(&body), Some("UNAUTHENTICATED"), "{why}: {body}");
    assert_eq!(body["data"], Value::Null, "{why}");
}

async fn key(
    app: &TestApp,
    owner: &str,
    org: &str,
    expires_at: Option<String>,
) -> (String, String) {
    let data = app
        .ok(
            Some(owner),
            NEW_KEY,
            json!({"org": org, "scopes": ["READ_PAYOUTS", "READ_CATALOGUE"], "expiresAt": expires_at}),
        )
        .await;
    let created = &data["createApiKey"];
    assert_eq!(created["userErrors"], json!([]), "{data}");
    (
        created["secret"].as_str().expect("secret").to_owned(),
        created["apiKey"]["id"].as_str().expect("id").to_owned(),
    )
}

async fn user_id(app: &TestApp, email: &str) -> i64 {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    entity::user::Entity::find()
        .filter(entity::user::Column::Email.eq(email))
        .one(&app.state.db)
        .await
        .expect("query")
        .expect("user")
        .id
}

async fn login(app: &TestApp, email: &str, password: &str) -> Option<String> {
    let data = app
        .ok(None, LOGIN, json!({"email": email, "password": password}))
        .await;
    data["login"]["token"].as_str().map(str::to_owned)
}

/// A graphql-transport-ws connection.
struct Socket(
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>,
);

impl Socket {
    async fn open(app: &TestApp) -> Self {
        let url = app.base_url.replace("http://", "ws://") + "/graphql/ws";
        let mut request = url.into_client_request().expect("request");
        request.headers_mut().insert(
            "Sec-WebSocket-Protocol",
            "graphql-transport-ws".parse().expect("header"),
        );
        let (socket, _) = tokio_tungstenite::connect_async(request)
            .await
            .expect("websocket");
        Self(socket)
    }

    async fn send(&mut self, value: Value) {
        self.0
            .send(Message::Text(value.to_string().into()))
            .await
            .expect("sent");
    }

    /// The next JSON message; `Err` with the close reason when the server closes instead;
    /// `None` when nothing comes within `wait`.
    async fn next(&mut self, wait: Duration) -> Option<Result<Value, String>> {
        loop {
            let frame = tokio::time::timeout(wait, self.0.next()).await.ok()?;
            match frame {
                Some(Ok(Message::Text(text))) => {
                    let value: Value = serde_json::from_str(&text).expect("json");
                    if value["type"] == "ping" {
                        self.send(json!({"type": "pong"})).await;
                        continue;
                    }
                    return Some(Ok(value));
                }
                Some(Ok(Message::Close(frame))) => {
                    return Some(Err(frame.map(|f| f.reason.to_string()).unwrap_or_default()));
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => return Some(Err(e.to_string())),
                None => return Some(Err(String::new())),
            }
        }
    }

    /// Initialises the connection with `token`; the server's answer.
    async fn init(app: &TestApp, token: &str) -> (Self, Result<Value, String>) {
        let mut socket = Self::open(app).await;
        socket
            .send(json!({"type": "connection_init", "payload": {"Authorization": format!("Bearer {token}")}}))
            .await;
        let answer = socket
            .next(Duration::from_secs(10))
            .await
            .expect("an answer to connection_init");
        (socket, answer)
    }

    /// Subscribes to `payoutUpdates` of `org` with `token`, and waits until the server has the
    /// subscription running.
    async fn payout_updates(app: &TestApp, token: &str, org: &str) -> Self {
        let (mut socket, ack) = Self::init(app, token).await;
        assert_eq!(ack.expect("accepted")["type"], "connection_ack");
        socket
            .send(json!({"id": "1", "type": "subscribe", "payload": {"query": "subscription($org: ID!) { payoutUpdates(organizationId: $org) { payoutRunId status } }", "variables": {"org": org}}}))
            .await;
        // A ping answered means the `subscribe` was read; the pause lets the resolver reach the
        // event bus.
        socket.send(json!({"type": "ping"})).await;
        let pong = socket.next(Duration::from_secs(10)).await.expect("pong");
        assert_eq!(pong.expect("open")["type"], "pong");
        tokio::time::sleep(Duration::from_millis(300)).await;
        socket
    }

    /// Expects the subscription to send an error with `code`, then to complete.
    async fn expect_ended(&mut self, code: &str, who: &str) {
        let message = self
            .next(Duration::from_secs(10))
            .await
            .unwrap_or_else(|| panic!("{who}: nothing sent after access ended"))
            .unwrap_or_else(|reason| panic!("{who}: closed ({reason}) without the error"));
        assert_eq!(message["type"], "next", "{who}: {message}");
        assert_eq!(
            message["payload"]["errors"][0]["extensions"]["code"], code,
            "{who}: {message}"
        );
        let complete = self
            .next(Duration::from_secs(10))
            .await
            .unwrap_or_else(|| panic!("{who}: not completed"))
            .expect("open");
        assert_eq!(complete["type"], "complete", "{who}: {complete}");
    }

    /// Expects nothing within a short while.
    async fn expect_quiet(&mut self, who: &str) {
        if let Some(message) = self.next(Duration::from_millis(700)).await {
            panic!("{who}: unexpected {message:?}");
        }
    }
}

/// Announces a change to a payout run of `org` that does not exist: a subscriber that may
/// still read money re-reads it, finds nothing and sends nothing; one that may not any more
/// is told so.
async fn announce_payout_change(app: &TestApp, org: &str) {
    app.state
        .events
        .publish(&workers::Event::PayoutRunUpdated {
            organization_id: tests::decode_id(org),
            payout_run_id: i64::MAX,
            status: "draft".into(),
        })
        .await
        .expect("published");
}

async fn tokens_that_name_no_one_are_refused_everywhere(app: TestApp) {
    let owner = app.sign_up("owner@tokens.test").await;
    let org = app.create_organization(&owner, "Token Records").await;

    assert_refused(&app, "imp_not-a-real-token", "an unknown session token").await;
    assert_refused(&app, "impk_not-a-real-key", "an unknown API key").await;
    let (status, _, body) = post_raw(
        &app,
        "Basic b3duZXI6cGFzc3dvcmQ=",
        "{ viewer { user { email } } }",
    )
    .await;
    assert_eq!(
        status, 401,
        "another scheme is no credential to ignore: {body}"
    );
    // Without any credential the public fields still answer.
    let anonymous = app
        .ok(None, "{ viewer { user { email } } }", json!({}))
        .await;
    assert_eq!(anonymous["viewer"]["user"], Value::Null);

    // An expired session.
    let id = user_id(&app, "owner@tokens.test").await;
    let expired = api::auth::issue_session(&app.state.db, id, chrono::Duration::seconds(-1))
        .await
        .expect("session");
    assert_refused(&app, &expired, "an expired session").await;

    // A revoked API key, refused at once although it was cached a moment ago.
    let (secret, key_id) = key(&app, &owner, &org, None).await;
    app.ok(Some(&secret), ORGANIZATION, json!({"id": org}))
        .await;
    app.ok(Some(&owner), REVOKE_KEY, json!({"id": key_id}))
        .await;
    assert_refused(&app, &secret, "a revoked API key").await;

    // An expiring API key: a past expiry is a user error; a near one works, then is refused.
    let past = (chrono::Utc::now() - chrono::Duration::minutes(1)).to_rfc3339();
    let refused = app
        .ok(
            Some(&owner),
            NEW_KEY,
            json!({"org": org, "scopes": ["READ_CATALOGUE"], "expiresAt": past}),
        )
        .await;
    assert_eq!(refused["createApiKey"]["secret"], Value::Null);
    assert_eq!(
        refused["createApiKey"]["userErrors"][0]["field"],
        json!(["expiresAt"])
    );
    let soon = chrono::Utc::now() + chrono::Duration::milliseconds(1500);
    let (expiring, _) = key(&app, &owner, &org, Some(soon.to_rfc3339())).await;
    let shown = app
        .ok(
            Some(&expiring),
            "{ viewer { apiKey { expiresAt } } }",
            json!({}),
        )
        .await;
    assert!(
        shown["viewer"]["apiKey"]["expiresAt"].is_string(),
        "{shown}"
    );
    tokio::time::sleep(Duration::from_millis(1700)).await;
    assert_refused(&app, &expiring, "an expired API key").await;

    // Downloads: the same rule, before any id is looked up.
    let response = app
        .client
        .get(format!(
            "{}/payouts/UGF5b3V0OjE/statement.csv",
            app.base_url
        ))
        .bearer_auth("imp_not-a-real-token")
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status().as_u16(), 401);
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["error"]["code"], "UNAUTHENTICATED");

    // graphql-ws: the connection is refused with the code, not acknowledged as anonymous.
    for bad in ["imp_not-a-real-token", expired.as_str(), secret.as_str()] {
        let (_, answer) = Socket::init(&app, bad).await;
        let reason = answer.expect_err("refused, not acknowledged");
        assert!(reason.starts_with("UNAUTHENTICATED"), "{reason}");
    }
    let (_, answer) = Socket::init(&app, &owner).await;
    assert_eq!(answer.expect("accepted")["type"], "connection_ack");
}

async fn subscriptions_end_when_access_ends(app: TestApp) {
    let owner = app.sign_up("owner@live.test").await;
    let org = app.create_organization(&owner, "Live Records").await;
    let (secret, key_id) = key(&app, &owner, &org, None).await;
    let viewer = app
        .invite_member(&owner, &org, "viewer@live.test", "VIEWER", None)
        .await;
    let second = login(&app, "owner@live.test", PASSWORD)
        .await
        .expect("second session");

    let mut by_owner = Socket::payout_updates(&app, &owner, &org).await;
    let mut by_key = Socket::payout_updates(&app, &secret, &org).await;
    let mut by_viewer = Socket::payout_updates(&app, &viewer, &org).await;
    let mut by_second = Socket::payout_updates(&app, &second, &org).await;

    // While access lasts, an update about a run that is not there sends nothing.
    announce_payout_change(&app, &org).await;
    for (socket, who) in [
        (&mut by_owner, "owner"),
        (&mut by_key, "key"),
        (&mut by_viewer, "viewer"),
        (&mut by_second, "second session"),
    ] {
        socket.expect_quiet(who).await;
    }

    app.ok(Some(&owner), REVOKE_KEY, json!({"id": key_id}))
        .await;
    let own = app
        .ok(
            Some(&viewer),
            "{ viewer { memberships { id } } }",
            json!({}),
        )
        .await;
    let viewer_member = own["viewer"]["memberships"][0]["id"].clone();
    app.ok(
        Some(&owner),
        "mutation($m: ID!) { removeMember(input: {memberId: $m}) { removedMemberId } }",
        json!({"m": viewer_member}),
    )
    .await;
    app.ok(
        Some(&second),
        "mutation { logout { loggedOut } }",
        json!({}),
    )
    .await;

    announce_payout_change(&app, &org).await;
    by_key.expect_ended("UNAUTHENTICATED", "revoked key").await;
    // Removed, she is no longer in the organisation: to her it is as one that does not exist.
    by_viewer.expect_ended("NOT_FOUND", "removed member").await;
    by_second
        .expect_ended("UNAUTHENTICATED", "ended session")
        .await;
    by_owner.expect_quiet("owner").await;
}

async fn change_password_ends_the_other_sessions(app: TestApp) {
    let first = app.sign_up("pat@password.test").await;
    let second = login(&app, "pat@password.test", PASSWORD)
        .await
        .expect("second session");
    let change = "mutation($current: String!, $new: String!) { changePassword(input: {currentPassword: $current, newPassword: $new}) { changed endedSessions userErrors { field code } } }";

    let wrong = app
        .ok(
            Some(&first),
            change,
            json!({"current": "not my password", "new": "a brand new password"}),
        )
        .await;
    assert_eq!(wrong["changePassword"]["changed"], false);
    assert_eq!(
        wrong["changePassword"]["userErrors"][0]["field"],
        json!(["currentPassword"])
    );
    assert_eq!(
        wrong["changePassword"]["userErrors"][0]["code"],
        "INVALID_CREDENTIALS"
    );
    let weak = app
        .ok(
            Some(&first),
            change,
            json!({"current": PASSWORD, "new": "short"}),
        )
        .await;
    assert_eq!(weak["changePassword"]["changed"], false);
    assert_eq!(
        weak["changePassword"]["userErrors"][0]["field"],
        json!(["newPassword"])
    );
    // Refused changes changed nothing.
    app.ok(Some(&second), "{ viewer { user { email } } }", json!({}))
        .await;
    assert!(login(&app, "pat@password.test", PASSWORD).await.is_some());

    let done = app
        .ok(
            Some(&first),
            change,
            json!({"current": PASSWORD, "new": "a brand new password"}),
        )
        .await;
    assert_eq!(done["changePassword"]["changed"], true, "{done}");
    // The second session and the one the login above started.
    assert_eq!(done["changePassword"]["endedSessions"], 2, "{done}");
    assert_refused(&app, &second, "a session of before the change").await;
    let still = app
        .ok(Some(&first), "{ viewer { user { email } } }", json!({}))
        .await;
    assert_eq!(still["viewer"]["user"]["email"], "pat@password.test");
    assert!(login(&app, "pat@password.test", PASSWORD).await.is_none());
    assert!(
        login(&app, "pat@password.test", "a brand new password")
            .await
            .is_some()
    );
}

async fn logout_everywhere_ends_every_session(app: TestApp) {
    let first = app.sign_up("sam@everywhere.test").await;
    let org = app.create_organization(&first, "Everywhere Records").await;
    let second = login(&app, "sam@everywhere.test", PASSWORD)
        .await
        .expect("second session");
    let other = app.sign_up("other@everywhere.test").await;
    for token in [&first, &second] {
        app.ok(Some(token), ORGANIZATION, json!({"id": org})).await;
    }
    let data = app
        .ok(
            Some(&second),
            "mutation { logoutEverywhere { endedSessions userErrors { code } } }",
            json!({}),
        )
        .await;
    assert_eq!(data["logoutEverywhere"]["endedSessions"], 2, "{data}");
    assert_refused(&app, &first, "the first session").await;
    assert_refused(&app, &second, "the session that asked").await;
    // Another user's session is untouched.
    let who = app
        .ok(Some(&other), "{ viewer { user { email } } }", json!({}))
        .await;
    assert_eq!(who["viewer"]["user"]["email"], "other@everywhere.test");
}

const INVITE: &str = "mutation($org: ID!, $email: String!, $role: Role!) { inviteMember(input: {organizationId: $org, email: $email, role: $role}) { invitation { id } invitationToken userErrors { message } } }";
const ACCEPT: &str = "mutation($t: String!) { acceptInvitation(input: {token: $t}) { member { role } userErrors { field code message } } }";
const REVOKE_INVITATION: &str = "mutation($id: ID!) { revokeInvitation(input: {invitationId: $id}) { invitation { id revokedAt acceptedAt } userErrors { field code } } }";

async fn invite(
    app: &TestApp,
    manager: &str,
    org: &str,
    email: &str,
    role: &str,
) -> (String, String) {
    let data = app
        .ok(
            Some(manager),
            INVITE,
            json!({"org": org, "email": email, "role": role}),
        )
        .await;
    (
        data["inviteMember"]["invitation"]["id"]
            .as_str()
            .expect("invitation id")
            .to_owned(),
        data["inviteMember"]["invitationToken"]
            .as_str()
            .expect("invitation token")
            .to_owned(),
    )
}

async fn a_revoked_invitation_cannot_be_accepted(app: TestApp) {
    let owner = app.sign_up("owner@invites.test").await;
    let org = app.create_organization(&owner, "Invite Records").await;
    let viewer = app
        .invite_member(&owner, &org, "viewer@invites.test", "VIEWER", None)
        .await;
    let (invitation, token) = invite(&app, &owner, &org, "new@invites.test", "MANAGER").await;

    // Who may not manage members may not revoke.
    let denied = app
        .graphql(Some(&viewer), REVOKE_INVITATION, json!({"id": invitation}))
        .await;
    assert_eq!(error_code(&denied), Some("FORBIDDEN"), "{denied}");

    let revoked = app
        .ok(Some(&owner), REVOKE_INVITATION, json!({"id": invitation}))
        .await;
    assert_eq!(revoked["revokeInvitation"]["userErrors"], json!([]));
    assert!(
        revoked["revokeInvitation"]["invitation"]["revokedAt"].is_string(),
        "{revoked}"
    );
    // Again: nothing more to do, and no error.
    let again = app
        .ok(Some(&owner), REVOKE_INVITATION, json!({"id": invitation}))
        .await;
    assert_eq!(again["revokeInvitation"]["userErrors"], json!([]));

    let invitee = app.sign_up("new@invites.test").await;
    let accepted = app.ok(Some(&invitee), ACCEPT, json!({"t": token})).await;
    assert_eq!(accepted["acceptInvitation"]["member"], Value::Null);
    assert_eq!(
        accepted["acceptInvitation"]["userErrors"][0]["field"],
        json!(["token"])
    );
    let outside = app
        .graphql(Some(&invitee), ORGANIZATION, json!({"id": org}))
        .await;
    assert!(outside["data"]["organization"].is_null(), "{outside}");

    // An accepted invitation is not revoked: the member is removed instead.
    let (accepted_id, token) = invite(&app, &owner, &org, "new@invites.test", "VIEWER").await;
    let data = app.ok(Some(&invitee), ACCEPT, json!({"t": token})).await;
    assert_eq!(
        data["acceptInvitation"]["member"]["role"], "VIEWER",
        "{data}"
    );
    let late = app
        .ok(Some(&owner), REVOKE_INVITATION, json!({"id": accepted_id}))
        .await;
    assert_eq!(
        late["revokeInvitation"]["userErrors"][0]["code"],
        "NOT_ALLOWED"
    );
    assert_eq!(
        late["revokeInvitation"]["invitation"]["revokedAt"],
        Value::Null
    );
}

async fn accepting_an_invitation_never_changes_a_members_role(app: TestApp) {
    let owner = app.sign_up("owner@roles.test").await;
    let org = app.create_organization(&owner, "Role Records").await;
    let member = app
        .invite_member(&owner, &org, "staff@roles.test", "VIEWER", None)
        .await;
    let (_, promotion) = invite(&app, &owner, &org, "staff@roles.test", "ADMIN").await;
    let data = app.ok(Some(&member), ACCEPT, json!({"t": promotion})).await;
    assert_eq!(data["acceptInvitation"]["member"], Value::Null, "{data}");
    assert_eq!(
        data["acceptInvitation"]["userErrors"][0]["code"],
        "NOT_ALLOWED"
    );
    let who = app
        .ok(
            Some(&member),
            "{ viewer { memberships { role } } }",
            json!({}),
        )
        .await;
    assert_eq!(who["viewer"]["memberships"], json!([{"role": "VIEWER"}]));
    // Still a viewer: creating an API key needs to manage members.
    let denied = app
        .graphql(
            Some(&member),
            NEW_KEY,
            json!({"org": org, "scopes": ["READ_CATALOGUE"]}),
        )
        .await;
    assert_eq!(error_code(&denied), Some("FORBIDDEN"), "{denied}");
}

/// `statementProgress` too: a key revoked while a statement waits to be parsed ends the
/// subscription at the next progress event.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn statement_progress_ends_when_the_key_is_revoked() {
    // No workers: the statement stays UPLOADED until the test announces progress itself.
    let app = TestApp::spawn_with(tests::Backend::Sqlite, false)
        .await
        .expect("sqlite app");
    let owner = app.sign_up("owner@progress.test").await;
    let org = app.create_organization(&owner, "Progress Records").await;
    let data = app
        .ok(
            Some(&owner),
            NEW_KEY,
            json!({"org": org, "scopes": ["READ_STATEMENTS"]}),
        )
        .await;
    let secret = data["createApiKey"]["secret"]
        .as_str()
        .expect("secret")
        .to_owned();
    let key_id = data["createApiKey"]["apiKey"]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let upload = app
        .upload_statement(
            &owner,
            &org,
            "s.csv",
            b"Title,ISRC,Earnings (USD)\n".to_vec(),
        )
        .await;
    let statement = upload["data"]["uploadStatement"]["statement"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{upload}"))
        .to_owned();

    let (mut socket, ack) = Socket::init(&app, &secret).await;
    assert_eq!(ack.expect("accepted")["type"], "connection_ack");
    socket
        .send(json!({"id": "1", "type": "subscribe", "payload": {"query": "subscription($id: ID!) { statementProgress(statementId: $id) { status } }", "variables": {"id": statement}}}))
        .await;
    let first = socket
        .next(Duration::from_secs(10))
        .await
        .expect("the current state")
        .expect("open");
    assert_eq!(
        first["payload"]["data"]["statementProgress"]["status"], "UPLOADED",
        "{first}"
    );

    let progress = workers::Event::StatementProgress {
        organization_id: tests::decode_id(&org),
        statement_id: tests::decode_id(&statement),
        status: "parsing".into(),
        bytes_processed: 1,
        size_bytes: 2,
        line_count: 0,
        error_count: 0,
    };
    app.state
        .events
        .publish(&progress)
        .await
        .expect("published");
    let next = socket
        .next(Duration::from_secs(10))
        .await
        .expect("progress")
        .expect("open");
    assert_eq!(
        next["payload"]["data"]["statementProgress"]["status"], "PARSING",
        "{next}"
    );

    app.ok(Some(&owner), REVOKE_KEY, json!({"id": key_id}))
        .await;
    app.state
        .events
        .publish(&progress)
        .await
        .expect("published");
    socket.expect_ended("UNAUTHENTICATED", "revoked key").await;
}

on_every_backend!(
    tokens_that_name_no_one_are_refused_everywhere,
    subscriptions_end_when_access_ends,
    change_password_ends_the_other_sessions,
    logout_everywhere_ends_every_session,
    a_revoked_invitation_cannot_be_accepted,
    accepting_an_invitation_never_changes_a_members_role,
);
