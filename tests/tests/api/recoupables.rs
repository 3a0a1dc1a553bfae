//! Recoupables: a collective's shared cost divided among its members exactly, per-release and
//! cross-collateralised costs, and the inputs refused with a clear reason.

use serde_json::{Value, json};
use tests::{TestApp, on_every_backend};

const CREATE_ARTIST: &str = "mutation($input: CreateArtistInput!) { createArtist(input: $input) { artist { id payees { id } } } }";
const CREATE_RELEASE: &str =
    "mutation($input: CreateReleaseInput!) { createRelease(input: $input) { release { id } } }";
const ADD: &str = "mutation($input: AddRecoupableInput!) { addRecoupable(input: $input) { recoupables { id kind description amount { amount currency } recouped { amount } remaining { amount } crossCollateralized sharedRule payee { id } artist { id } release { id } } userErrors { field message code } } }";

fn fields(payload: &Value) -> Vec<String> {
    payload["userErrors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .map(|e| {
                    e["field"]
                        .as_array()
                        .map(|f| {
                            f.iter()
                                .filter_map(Value::as_str)
                                .collect::<Vec<_>>()
                                .join(".")
                        })
                        .unwrap_or_default()
                })
                .collect()
        })
        .unwrap_or_default()
}

async fn artist(app: &TestApp, token: &str, org: &str, name: &str) -> (String, String) {
    let data = app
        .ok(
            Some(token),
            CREATE_ARTIST,
            json!({"input": {"organizationId": org, "name": name}}),
        )
        .await;
    let a = &data["createArtist"]["artist"];
    (
        a["id"].as_str().expect("artist").to_owned(),
        a["payees"][0]["id"].as_str().expect("payee").to_owned(),
    )
}

async fn shared_costs_and_scopes(app: TestApp) {
    let token = app.sign_up("collective@imprint.test").await;
    let org = app.create_organization(&token, "Loom Collective").await;
    let (ada, ada_payee) = artist(&app, &token, &org, "Ada").await;
    let (_, bo_payee) = artist(&app, &token, &org, "Bo").await;
    let (_, cy_payee) = artist(&app, &token, &org, "Cy").await;

    // The distribution subscription, 100.01, shared equally: parts differ by at most a
    // nano-unit and sum to the whole.
    let data = app.ok(Some(&token), ADD, json!({"input": {"organizationId": org, "kind": "EXPENSE", "description": "Distribution subscription 2025", "amount": "100.01", "incurredOn": "2025-01-01", "shared": {"rule": "EQUAL"}}})).await;
    let parts = data["addRecoupable"]["recoupables"]
        .as_array()
        .expect("parts")
        .clone();
    assert_eq!(parts.len(), 3, "{data}");
    let amounts: Vec<&str> = parts
        .iter()
        .map(|p| p["amount"]["amount"].as_str().expect("amount"))
        .collect();
    assert_eq!(
        amounts,
        vec!["33.336666667", "33.336666667", "33.336666666"]
    );
    assert!(parts.iter().all(|p| p["sharedRule"] == "EQUAL"
        && p["crossCollateralized"] == true
        && p["remaining"]["amount"] == p["amount"]["amount"]));
    let payees: Vec<&str> = parts
        .iter()
        .map(|p| p["payee"]["id"].as_str().expect("payee"))
        .collect();
    assert_eq!(
        payees,
        vec![ada_payee.as_str(), bo_payee.as_str(), cy_payee.as_str()]
    );

    // By share: the members' stated shares; they must be given.
    let data = app.ok(Some(&token), ADD, json!({"input": {"organizationId": org, "kind": "EXPENSE", "description": "Rehearsal room", "amount": "90", "incurredOn": "2025-02-01", "shared": {"rule": "BY_SHARE", "members": [
        {"payeeId": ada_payee, "share": "50"}, {"payeeId": bo_payee, "share": "30"}, {"payeeId": cy_payee, "share": "20"}
    ]}}})).await;
    let amounts: Vec<&str> = data["addRecoupable"]["recoupables"]
        .as_array()
        .expect("parts")
        .iter()
        .map(|p| p["amount"]["amount"].as_str().expect("amount"))
        .collect();
    assert_eq!(amounts, vec!["45.00", "27.00", "18.00"]);
    let data = app.ok(Some(&token), ADD, json!({"input": {"organizationId": org, "kind": "EXPENSE", "description": "Van", "amount": "90", "incurredOn": "2025-02-01", "shared": {"rule": "BY_SHARE", "members": [{"payeeId": ada_payee}]}}})).await;
    assert_eq!(
        fields(&data["addRecoupable"]),
        vec!["shared.members.0.share"]
    );

    // One artist's recording cost on one release: recouped from that release only, unless the
    // agreement or the input says cross-collateralised.
    let data = app
        .ok(
            Some(&token),
            CREATE_RELEASE,
            json!({"input": {"artistId": ada, "title": "Loom I", "releaseType": "EP"}}),
        )
        .await;
    let release = data["createRelease"]["release"]["id"]
        .as_str()
        .expect("release")
        .to_owned();
    let data = app.ok(Some(&token), ADD, json!({"input": {"organizationId": org, "kind": "EXPENSE", "description": "Mixing", "amount": "250.50", "incurredOn": "2025-03-01", "artistId": ada, "releaseId": release}})).await;
    let r = &data["addRecoupable"]["recoupables"][0];
    assert_eq!(r["crossCollateralized"], false);
    assert_eq!(r["release"]["id"], release.as_str());
    assert_eq!(r["payee"]["id"], ada_payee.as_str());
    assert_eq!(r["amount"]["currency"], "USD");

    // Refused, each naming the field, and nothing written.
    for (input, field) in [
        (json!({"amount": "0", "artistId": ada}), "amount"),
        (json!({"amount": "-5", "artistId": ada}), "amount"),
        (json!({"amount": "1.2.3", "artistId": ada}), "amount"),
        (
            json!({"amount": "10", "artistId": ada, "currency": "EUR"}),
            "currency",
        ),
        (json!({"amount": "10"}), "artistId"),
        (
            json!({"amount": "10", "artistId": ada, "payeeId": bo_payee}),
            "shared",
        ),
        (json!({"amount": "10", "artistId": "bm9wZQ"}), "artistId"),
    ] {
        let mut full = json!({"organizationId": org, "kind": "ADVANCE", "description": "Advance", "incurredOn": "2025-01-01"});
        for (k, v) in input.as_object().expect("object") {
            full[k] = v.clone();
        }
        let data = app.ok(Some(&token), ADD, json!({"input": full})).await;
        assert_eq!(
            fields(&data["addRecoupable"]),
            vec![field],
            "{full}: {data}"
        );
        assert!(
            data["addRecoupable"]["recoupables"]
                .as_array()
                .is_some_and(Vec::is_empty)
        );
    }
    let data = app
        .ok(
            Some(&token),
            "query($id: ID!) { organization(id: $id) { recoupables { totalCount } } }",
            json!({"id": org}),
        )
        .await;
    assert_eq!(data["organization"]["recoupables"]["totalCount"], 7);

    // A viewer reads them; a viewer cannot add one.
    let data = app.ok(Some(&token), "mutation($input: InviteMemberInput!) { inviteMember(input: $input) { invitationToken } }", json!({"input": {"organizationId": org, "email": "viewer@imprint.test", "role": "VIEWER"}})).await;
    let invitation = data["inviteMember"]["invitationToken"]
        .as_str()
        .expect("invitation")
        .to_owned();
    let viewer = app.sign_up("viewer@imprint.test").await;
    app.ok(
        Some(&viewer),
        "mutation($token: String!) { acceptInvitation(input: {token: $token}) { member { role } } }",
        json!({"token": invitation}),
    )
    .await;
    let data = app.graphql(Some(&viewer), ADD, json!({"input": {"organizationId": org, "kind": "EXPENSE", "description": "x", "amount": "1", "incurredOn": "2025-01-01", "artistId": ada}})).await;
    assert_eq!(data["errors"][0]["extensions"]["code"], "FORBIDDEN");
    let data = app
        .ok(
            Some(&viewer),
            "query($id: ID!) { organization(id: $id) { recoupables { totalCount } } }",
            json!({"id": org}),
        )
        .await;
    assert_eq!(data["organization"]["recoupables"]["totalCount"], 7);
}

on_every_backend!(shared_costs_and_scopes);
