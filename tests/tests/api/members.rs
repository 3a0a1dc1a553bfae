//! Members leave and change roles, and sessions end: a removed member sees nothing of the
//! organisation from their next request, a new role takes effect at once, the last owner
//! cannot be removed or demoted, an admin cannot touch an owner, every change is audited, and
//! `logout` ends exactly the session that asks.

use serde_json::{Value, json};
use tests::{TestApp, on_every_backend};

const MEMBERS: &str = "query($id: ID!) { organization(id: $id) { members(first: 20) { edges { node { id role user { email } artist { id } } } } } }";
const REMOVE: &str = "mutation($id: ID!) { removeMember(input: {memberId: $id}) { removedMemberId userErrors { field message code } } }";
const CHANGE: &str = "mutation($id: ID!, $role: Role!, $artist: ID) { changeMemberRole(input: {memberId: $id, role: $role, artistId: $artist}) { member { id role artist { id } } userErrors { field message code } } }";
const CREATE_ARTIST: &str = "mutation($org: ID!, $name: String!) { createArtist(input: {organizationId: $org, name: $name}) { artist { id } userErrors { message } } }";
const ORGANIZATION: &str = "query($id: ID!) { organization(id: $id) { name } }";
const WHO: &str = "{ viewer { user { email } memberships { role } } }";

fn error_code(response: &Value) -> Option<&str> {
    response["errors"][0]["extensions"]["code"].as_str()
}

/// The member id of `email` in the organisation, as `token` sees the member list.
async fn member_id(app: &TestApp, token: &str, org: &str, email: &str) -> String {
    let data = app.ok(Some(token), MEMBERS, json!({"id": org})).await;
    data["organization"]["members"]["edges"]
        .as_array()
        .expect("members")
        .iter()
        .find(|e| e["node"]["user"]["email"] == email)
        .and_then(|e| e["node"]["id"].as_str())
        .unwrap_or_else(|| panic!("{email} is not a member: {data}"))
        .to_owned()
}

fn first_error(payload: &Value) -> (String, String) {
    let error = &payload["userErrors"][0];
    (
        error["code"].as_str().unwrap_or_default().to_owned(),
        error["message"].as_str().unwrap_or_default().to_owned(),
    )
}

async fn members_leave_and_change_roles(app: TestApp) {
    let owner = app.sign_up("owner@members.test").await;
    let org = app.create_organization(&owner, "Members Records").await;
    let admin = app
        .invite_member(&owner, &org, "admin@members.test", "ADMIN", None)
        .await;
    let viewer = app
        .invite_member(&owner, &org, "viewer@members.test", "VIEWER", None)
        .await;
    let owner_id = member_id(&app, &owner, &org, "owner@members.test").await;
    let admin_id = member_id(&app, &owner, &org, "admin@members.test").await;
    let viewer_id = member_id(&app, &owner, &org, "viewer@members.test").await;

    // A viewer may not write the catalogue, nor manage members.
    let refused = app
        .graphql(
            Some(&viewer),
            CREATE_ARTIST,
            json!({"org": org, "name": "Nope"}),
        )
        .await;
    assert_eq!(error_code(&refused), Some("FORBIDDEN"), "{refused}");
    let refused = app
        .graphql(Some(&viewer), REMOVE, json!({"id": admin_id}))
        .await;
    assert_eq!(error_code(&refused), Some("FORBIDDEN"), "{refused}");

    // The admin makes the viewer a manager: the very next request may write the catalogue.
    let data = app
        .ok(
            Some(&admin),
            CHANGE,
            json!({"id": viewer_id, "role": "MANAGER"}),
        )
        .await;
    assert_eq!(data["changeMemberRole"]["userErrors"], json!([]), "{data}");
    assert_eq!(data["changeMemberRole"]["member"]["role"], "MANAGER");
    let created = app
        .ok(
            Some(&viewer),
            CREATE_ARTIST,
            json!({"org": org, "name": "Mara Quill"}),
        )
        .await;
    let artist = created["createArtist"]["artist"]["id"]
        .as_str()
        .expect("artist")
        .to_owned();

    // An artist member needs their artist; with it, they are scoped to it.
    let data = app
        .ok(
            Some(&admin),
            CHANGE,
            json!({"id": viewer_id, "role": "ARTIST"}),
        )
        .await;
    let (code, _) = first_error(&data["changeMemberRole"]);
    assert_eq!(code, "REQUIRED", "{data}");
    assert_eq!(data["changeMemberRole"]["member"], Value::Null);
    let data = app
        .ok(
            Some(&admin),
            CHANGE,
            json!({"id": viewer_id, "role": "ARTIST", "artist": artist}),
        )
        .await;
    assert_eq!(data["changeMemberRole"]["member"]["artist"]["id"], artist);
    let members = app
        .graphql(Some(&viewer), MEMBERS, json!({"id": org}))
        .await;
    assert_eq!(error_code(&members), Some("FORBIDDEN"), "{members}");

    // An admin cannot demote or remove an owner, nor make anyone owner.
    for (query, variables) in [
        (CHANGE, json!({"id": owner_id, "role": "VIEWER"})),
        (CHANGE, json!({"id": viewer_id, "role": "OWNER"})),
        (REMOVE, json!({"id": owner_id})),
    ] {
        let data = app.ok(Some(&admin), query, variables).await;
        let payload = data
            .as_object()
            .and_then(|o| o.values().next())
            .expect("payload");
        let (code, _) = first_error(payload);
        assert_eq!(code, "NOT_ALLOWED", "{data}");
    }

    // The last owner can be neither demoted nor removed, even by themselves.
    let data = app
        .ok(
            Some(&owner),
            CHANGE,
            json!({"id": owner_id, "role": "ADMIN"}),
        )
        .await;
    let (code, message) = first_error(&data["changeMemberRole"]);
    assert_eq!(code, "NOT_ALLOWED");
    assert!(message.contains("last owner"), "{message}");
    let data = app.ok(Some(&owner), REMOVE, json!({"id": owner_id})).await;
    let (code, message) = first_error(&data["removeMember"]);
    assert_eq!(code, "NOT_ALLOWED");
    assert!(message.contains("last owner"), "{message}");
    // With a second owner, the first may step down.
    app.ok(
        Some(&owner),
        CHANGE,
        json!({"id": admin_id, "role": "OWNER"}),
    )
    .await;
    let data = app
        .ok(
            Some(&owner),
            CHANGE,
            json!({"id": owner_id, "role": "ADMIN"}),
        )
        .await;
    assert_eq!(
        data["changeMemberRole"]["member"]["role"], "ADMIN",
        "{data}"
    );

    // The member who leaves sees nothing of the organisation from the next request on.
    app.ok(Some(&viewer), ORGANIZATION, json!({"id": org}))
        .await;
    let data = app.ok(Some(&admin), REMOVE, json!({"id": viewer_id})).await;
    assert_eq!(data["removeMember"]["removedMemberId"], viewer_id, "{data}");
    let gone = app
        .graphql(Some(&viewer), ORGANIZATION, json!({"id": org}))
        .await;
    assert!(gone["data"]["organization"].is_null(), "{gone}");
    let who = app.ok(Some(&viewer), WHO, json!({})).await;
    assert_eq!(who["viewer"]["memberships"], json!([]));
    let again = app
        .graphql(Some(&admin), REMOVE, json!({"id": viewer_id}))
        .await;
    assert_eq!(error_code(&again), Some("NOT_FOUND"), "{again}");

    // Every change is in the audit log, with who made it.
    let audit = app
        .ok(
            Some(&admin),
            "query($id: ID!) { organization(id: $id) { auditLog(first: 50) { edges { node { action entityType } } } } }",
            json!({"id": org}),
        )
        .await;
    let actions: Vec<&str> = audit["organization"]["auditLog"]["edges"]
        .as_array()
        .expect("audit")
        .iter()
        .filter(|e| e["node"]["entityType"] == "membership")
        .filter_map(|e| e["node"]["action"].as_str())
        .collect();
    assert_eq!(
        actions,
        [
            "member.change_role",
            "member.change_role",
            "member.change_role",
            "member.change_role",
            "member.remove"
        ]
    );
}

async fn logout_ends_only_its_own_session(app: TestApp) {
    let first = app.sign_up("sessions@members.test").await;
    let org = app.create_organization(&first, "Session Records").await;
    let login = app
        .ok(
            None,
            "mutation { login(input: {email: \"sessions@members.test\", password: \"a long enough password\"}) { token } }",
            json!({}),
        )
        .await;
    let second = login["login"]["token"].as_str().expect("token").to_owned();
    // Both sessions work (and are now in the credential cache).
    for token in [&first, &second] {
        app.ok(Some(token), ORGANIZATION, json!({"id": org})).await;
    }

    let data = app
        .ok(
            Some(&second),
            "mutation { logout { loggedOut userErrors { message } } }",
            json!({}),
        )
        .await;
    assert_eq!(data["logout"]["loggedOut"], true, "{data}");
    let ended = app
        .graphql(Some(&second), ORGANIZATION, json!({"id": org}))
        .await;
    assert_eq!(error_code(&ended), Some("UNAUTHENTICATED"), "{ended}");
    let again = app
        .graphql(
            Some(&second),
            "mutation { logout { loggedOut } }",
            json!({}),
        )
        .await;
    assert_eq!(error_code(&again), Some("UNAUTHENTICATED"), "{again}");
    // The other session goes on.
    let data = app.ok(Some(&first), ORGANIZATION, json!({"id": org})).await;
    assert_eq!(data["organization"]["name"], "Session Records");

    // An API key has no session to end.
    let key = app
        .ok(
            Some(&first),
            "mutation($org: ID!) { createApiKey(input: {organizationId: $org, name: \"Partner\", scopes: [READ_CATALOGUE]}) { secret } }",
            json!({"org": org}),
        )
        .await;
    let key = key["createApiKey"]["secret"].as_str().expect("secret");
    let data = app
        .ok(
            Some(key),
            "mutation { logout { loggedOut userErrors { code } } }",
            json!({}),
        )
        .await;
    assert_eq!(data["logout"]["loggedOut"], false);
    assert_eq!(data["logout"]["userErrors"][0]["code"], "NOT_ALLOWED");
    app.ok(Some(key), ORGANIZATION, json!({"id": org})).await;
}

on_every_backend!(
    members_leave_and_change_roles,
    logout_ends_only_its_own_session
);
