//! The principal cache: a resolved credential is kept in process for a short time, but a
//! revoked API key or a changed membership takes effect at once in the process that made the
//! change, at once in the others that share its event bus (Redis), and within the cache's
//! lifetime in any other; one caller never gets another's principal.

use std::net::TcpListener;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tests::{TestApp, on_every_backend};

const WHO: &str =
    "{ viewer { user { email } apiKey { name } memberships { organizationId role } } }";
const ORGANIZATION: &str = "query($id: ID!) { organization(id: $id) { name } }";
const NEW_KEY: &str = "mutation($org: ID!) { createApiKey(input: {organizationId: $org, name: \"Partner\", scopes: [READ_CATALOGUE]}) { apiKey { id } secret userErrors { message } } }";

fn error_code(response: &Value) -> Option<&str> {
    response["errors"][0]["extensions"]["code"].as_str()
}

/// A second server process on the same database, with its own caches; its credentials are kept
/// for `principal_ttl`.
async fn second_process(app: &TestApp, principal_ttl: Duration) -> String {
    let mut config = app.state.config.clone();
    config.principal_cache_ttl = principal_ttl;
    let state = api::app::connect(&config).await.expect("second process");
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind port 0");
    let port = listener.local_addr().expect("local addr").port();
    tokio::spawn(api::app::http_server(state, listener).expect("second server"));
    format!("http://127.0.0.1:{port}")
}

async fn post(app: &TestApp, base_url: &str, token: &str, query: &str, variables: Value) -> Value {
    tests::graphql_at(&app.client, base_url, Some(token), query, variables).await
}

async fn revocation_takes_effect_at_once_here_and_within_the_ttl_elsewhere(app: TestApp) {
    let owner = app.sign_up("owner@cache.test").await;
    // The owner's principal is cached with no membership; creating an organisation must not
    // leave them locked out of it.
    let before = app.ok(Some(&owner), WHO, json!({})).await;
    assert_eq!(before["viewer"]["memberships"], json!([]));
    let org = app.create_organization(&owner, "Cache Records").await;
    let after = app.ok(Some(&owner), WHO, json!({})).await;
    assert_eq!(after["viewer"]["memberships"][0]["role"], "OWNER");
    app.ok(Some(&owner), ORGANIZATION, json!({"id": org})).await;

    let data = app.ok(Some(&owner), NEW_KEY, json!({"org": org})).await;
    let key = data["createApiKey"]["secret"]
        .as_str()
        .expect("secret")
        .to_owned();
    let key_id = data["createApiKey"]["apiKey"]["id"]
        .as_str()
        .expect("key id")
        .to_owned();

    // Another process caches the key: for 2 s when it cannot hear of the revocation (an
    // in-process bus of its own), for 60 s when it shares the event bus over Redis.
    let shared_bus = matches!(
        app.state.config.queue,
        api::config::QueueBackend::Redis { .. }
    );
    let ttl = Duration::from_secs(if shared_bus { 60 } else { 2 });
    let other = second_process(&app, ttl).await;
    let cached_there = Instant::now();
    let there = post(&app, &other, &key, ORGANIZATION, json!({"id": org})).await;
    assert_eq!(there["data"]["organization"]["name"], "Cache Records");
    // And this process has it cached too, from repeated use.
    for _ in 0..3 {
        let here = app.ok(Some(&key), WHO, json!({})).await;
        assert_eq!(here["viewer"]["apiKey"]["name"], "Partner");
    }

    app.ok(
        Some(&owner),
        "mutation($id: ID!) { revokeApiKey(input: {apiKeyId: $id}) { apiKey { revokedAt } } }",
        json!({"id": key_id}),
    )
    .await;

    // Refused by this process from the very next request.
    let here = app
        .graphql(Some(&key), ORGANIZATION, json!({"id": org}))
        .await;
    assert_eq!(error_code(&here), Some("UNAUTHENTICATED"), "{here}");
    let who = app.graphql(Some(&key), WHO, json!({})).await;
    assert_eq!(error_code(&who), Some("UNAUTHENTICATED"), "{who}");
    assert_eq!(who["data"], Value::Null);

    if shared_bus {
        // The other process heard of it: refused long before its copy would have expired.
        app.eventually(Duration::from_secs(5), || async {
            let there = post(&app, &other, &key, ORGANIZATION, json!({"id": org})).await;
            (error_code(&there) == Some("UNAUTHENTICATED")).then_some(())
        })
        .await;
        assert!(cached_there.elapsed() < Duration::from_secs(10));
        return;
    }
    // The other process, deaf to the change, serves its copy until it expires (the documented
    // trade-off of the embedded setup), then refuses too.
    let there = post(&app, &other, &key, ORGANIZATION, json!({"id": org})).await;
    if cached_there.elapsed() < ttl - Duration::from_millis(500) {
        assert_eq!(
            there["data"]["organization"]["name"], "Cache Records",
            "within its TTL the other process still has the key: {there}"
        );
    }
    app.eventually(ttl + Duration::from_secs(3), || async {
        let there = post(&app, &other, &key, ORGANIZATION, json!({"id": org})).await;
        (error_code(&there) == Some("UNAUTHENTICATED")).then_some(())
    })
    .await;
    assert!(cached_there.elapsed() >= ttl - Duration::from_millis(100));
}

async fn a_session_is_never_kept_past_its_expiry(app: TestApp) {
    let owner = app.sign_up("expiring@cache.test").await;
    let org = app.create_organization(&owner, "Short Lived").await;
    let user_id = {
        let who = app.ok(Some(&owner), WHO, json!({})).await;
        assert_eq!(who["viewer"]["user"]["email"], "expiring@cache.test");
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
        entity::user::Entity::find()
            .filter(entity::user::Column::Email.eq("expiring@cache.test"))
            .one(&app.state.db)
            .await
            .expect("query")
            .expect("user")
            .id
    };
    // A session that ends in 1.5 s, well inside the 10 s the cache would otherwise keep it.
    let token =
        api::auth::issue_session(&app.state.db, user_id, chrono::Duration::milliseconds(1500))
            .await
            .expect("token");
    app.ok(Some(&token), ORGANIZATION, json!({"id": org})).await;
    tokio::time::sleep(Duration::from_millis(1700)).await;
    let expired = app
        .graphql(Some(&token), ORGANIZATION, json!({"id": org}))
        .await;
    assert_eq!(error_code(&expired), Some("UNAUTHENTICATED"), "{expired}");
}

async fn one_callers_principal_never_reaches_another(app: TestApp) {
    let alice = app.sign_up("alice@cache.test").await;
    let bob = app.sign_up("bob@cache.test").await;
    let alices = app.create_organization(&alice, "Alice Records").await;
    let bobs = app.create_organization(&bob, "Bob Records").await;
    let data = app.ok(Some(&alice), NEW_KEY, json!({"org": alices})).await;
    let key = data["createApiKey"]["secret"]
        .as_str()
        .expect("secret")
        .to_owned();
    // Interleaved, several rounds, so that every answer after the first comes from the cache.
    for _ in 0..3 {
        let a = app.ok(Some(&alice), WHO, json!({})).await;
        assert_eq!(a["viewer"]["user"]["email"], "alice@cache.test");
        assert_eq!(
            a["viewer"]["memberships"][0]["organizationId"],
            json!(alices)
        );
        let b = app.ok(Some(&bob), WHO, json!({})).await;
        assert_eq!(b["viewer"]["user"]["email"], "bob@cache.test");
        assert_eq!(b["viewer"]["memberships"][0]["organizationId"], json!(bobs));
        let k = app.ok(Some(&key), WHO, json!({})).await;
        assert_eq!(k["viewer"]["user"], Value::Null);
        assert_eq!(k["viewer"]["apiKey"]["name"], "Partner");

        // Another's organisation is as one that does not exist.
        for (who, org) in [(&alice, &bobs), (&bob, &alices), (&key, &bobs)] {
            let denied = app
                .graphql(Some(who), ORGANIZATION, json!({"id": org}))
                .await;
            assert_eq!(error_code(&denied), None, "{denied}");
            assert!(denied["data"]["organization"].is_null(), "{denied}");
        }

        // A token that differs from a cached one is looked up, not matched loosely.
        let forged = format!("{}x", &alice[..alice.len() - 1]);
        let nobody = app
            .graphql(Some(&forged), ORGANIZATION, json!({"id": alices}))
            .await;
        assert_eq!(error_code(&nobody), Some("UNAUTHENTICATED"), "{nobody}");
        let anonymous = app.ok(None, WHO, json!({})).await;
        assert_eq!(anonymous["viewer"]["user"], Value::Null);
    }
}

async fn a_role_change_takes_effect_at_once(app: TestApp) {
    let owner = app.sign_up("boss@cache.test").await;
    let org = app.create_organization(&owner, "Roles Records").await;
    let staff = app.sign_up("staff@cache.test").await;
    let invite = |role: &'static str| {
        let (app, owner, org) = (&app, &owner, &org);
        async move {
            let data = app
                .ok(
                    Some(owner),
                    "mutation($org: ID!, $role: Role!) { inviteMember(input: {organizationId: $org, email: \"staff@cache.test\", role: $role}) { invitationToken userErrors { message } } }",
                    json!({"org": org, "role": role}),
                )
                .await;
            data["inviteMember"]["invitationToken"]
                .as_str()
                .expect("invitation")
                .to_owned()
        }
    };
    let accept = "mutation($t: String!) { acceptInvitation(input: {token: $t}) { member { id role } userErrors { message } } }";

    // Cached as a non-member: the invitation accepted must count from the next request.
    let outside = app
        .graphql(Some(&staff), ORGANIZATION, json!({"id": org}))
        .await;
    assert!(outside["data"]["organization"].is_null(), "{outside}");
    let viewer = invite("VIEWER").await;
    let accepted = app.ok(Some(&staff), accept, json!({"t": viewer})).await;
    let member = accepted["acceptInvitation"]["member"]["id"]
        .as_str()
        .expect("member id")
        .to_owned();
    app.ok(Some(&staff), ORGANIZATION, json!({"id": org})).await;
    let denied = app
        .graphql(Some(&staff), NEW_KEY, json!({"org": org}))
        .await;
    assert_eq!(error_code(&denied), Some("FORBIDDEN"), "{denied}");

    // Promoted (by a manager: an invitation never changes a member's role): the cached viewer
    // principal must not linger.
    let promoted = app
        .ok(
            Some(&owner),
            "mutation($m: ID!) { changeMemberRole(input: {memberId: $m, role: ADMIN}) { member { role } userErrors { message } } }",
            json!({"m": member}),
        )
        .await;
    assert_eq!(promoted["changeMemberRole"]["member"]["role"], "ADMIN");
    let who = app.ok(Some(&staff), WHO, json!({})).await;
    assert_eq!(who["viewer"]["memberships"][0]["role"], "ADMIN");
    let allowed = app.ok(Some(&staff), NEW_KEY, json!({"org": org})).await;
    assert!(allowed["createApiKey"]["secret"].is_string(), "{allowed}");
}

on_every_backend!(
    revocation_takes_effect_at_once_here_and_within_the_ttl_elsewhere,
    a_session_is_never_kept_past_its_expiry,
    one_callers_principal_never_reaches_another,
    a_role_change_takes_effect_at_once,
);
