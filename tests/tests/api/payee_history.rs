//! `Payee.history`: who changed a payee's payment details, from what to what, newest first,
//! for those who may read the payee's personal details and no one else.

use serde_json::{Value, json};
use tests::{TestApp, on_every_backend};

use super::money::{CREATE_ARTIST, label};

const UPDATE_PAYEE: &str = "mutation($input: UpdatePayeeInput!) { updatePayee(input: $input) { payee { id } userErrors { field message } } }";
const HISTORY: &str = "query($id: ID!, $first: Int, $after: String) { node(id: $id) { ... on Payee { history(first: $first, after: $after) { totalCount pageInfo { hasNextPage endCursor } edges { node { action entityType entityId actorUserId before after } } } } } }";

fn entries(data: &Value) -> Vec<Value> {
    data["node"]["history"]["edges"]
        .as_array()
        .unwrap_or_else(|| panic!("history: {data}"))
        .iter()
        .map(|e| e["node"].clone())
        .collect()
}

async fn payee_history_shows_payment_detail_changes(app: TestApp) {
    let l = label(&app, "history@label.test").await;
    for (method, email) in [
        ("iban:DE01", "theo@old.test"),
        ("iban:DE02", "theo@new.test"),
    ] {
        let data = app
            .ok(
                Some(&l.token),
                UPDATE_PAYEE,
                json!({"input": {"payeeId": l.producer, "payoutMethod": method, "email": email}}),
            )
            .await;
        assert_eq!(data["updatePayee"]["userErrors"], json!([]), "{data}");
    }

    // Newest first: the second change, the first, then the creation.
    let data = app
        .ok(
            Some(&l.token),
            HISTORY,
            json!({"id": l.producer, "first": 10}),
        )
        .await;
    let history = entries(&data);
    assert_eq!(data["node"]["history"]["totalCount"], 3, "{data}");
    let actions: Vec<&str> = history
        .iter()
        .map(|e| e["action"].as_str().expect("action"))
        .collect();
    assert_eq!(actions, ["payee.updated", "payee.updated", "payee.created"]);
    assert!(history.iter().all(|e| e["entityId"] == l.producer.as_str()));
    assert!(history.iter().all(|e| e["actorUserId"].is_string()));
    assert_eq!(history[0]["before"]["payout_method"], "iban:DE01");
    assert_eq!(history[0]["after"]["payout_method"], "iban:DE02");
    assert_eq!(history[0]["before"]["email"], "theo@old.test");
    assert_eq!(history[0]["after"]["email"], "theo@new.test");
    assert_eq!(history[1]["before"]["payout_method"], Value::Null);
    assert_eq!(history[1]["after"]["payout_method"], "iban:DE01");
    assert_eq!(history[2]["before"], Value::Null);

    // Paged: one at a time, the cursor leads to the older entries.
    let data = app
        .ok(
            Some(&l.token),
            HISTORY,
            json!({"id": l.producer, "first": 1}),
        )
        .await;
    assert_eq!(data["node"]["history"]["pageInfo"]["hasNextPage"], true);
    assert_eq!(entries(&data)[0]["after"]["payout_method"], "iban:DE02");
    let cursor = data["node"]["history"]["pageInfo"]["endCursor"].clone();
    let data = app
        .ok(
            Some(&l.token),
            HISTORY,
            json!({"id": l.producer, "first": 1, "after": cursor}),
        )
        .await;
    assert_eq!(entries(&data)[0]["after"]["payout_method"], "iban:DE01");

    // Another payee's changes are not in it.
    let data = app
        .ok(Some(&l.token), HISTORY, json!({"id": l.guest, "first": 10}))
        .await;
    assert_eq!(data["node"]["history"]["totalCount"], 1, "{data}");

    // A viewer may see the payee but not its personal details, so not its history.
    let viewer = app
        .invite_member(&l.token, &l.org, "viewer@history.test", "VIEWER", None)
        .await;
    let response = app
        .graphql(
            Some(&viewer),
            HISTORY,
            json!({"id": l.producer, "first": 10}),
        )
        .await;
    assert_eq!(
        response["errors"][0]["extensions"]["code"], "FORBIDDEN",
        "{response}"
    );

    // The artist reads her own payee's history; another artist's member does not.
    app.ok(
        Some(&l.token),
        UPDATE_PAYEE,
        json!({"input": {"payeeId": l.ada_payee, "payoutMethod": "paypal:ada"}}),
    )
    .await;
    let ada = app
        .invite_member(&l.token, &l.org, "ada@history.test", "ARTIST", Some(&l.ada))
        .await;
    let data = app
        .ok(Some(&ada), HISTORY, json!({"id": l.ada_payee, "first": 10}))
        .await;
    assert_eq!(
        entries(&data)[0]["after"]["payout_method"],
        "paypal:ada",
        "{data}"
    );
    let data = app
        .ok(
            Some(&l.token),
            CREATE_ARTIST,
            json!({"input": {"organizationId": l.org, "name": "Other Act"}}),
        )
        .await;
    let other = data["createArtist"]["artist"]["id"]
        .as_str()
        .expect("artist")
        .to_owned();
    let other_member = app
        .invite_member(
            &l.token,
            &l.org,
            "other@history.test",
            "ARTIST",
            Some(&other),
        )
        .await;
    let response = app
        .graphql(
            Some(&other_member),
            HISTORY,
            json!({"id": l.ada_payee, "first": 10}),
        )
        .await;
    assert!(
        response["data"]["node"].is_null()
            || response["errors"][0]["extensions"]["code"] == "FORBIDDEN",
        "another artist's member reads nothing of it: {response}"
    );
    assert!(response["data"]["node"]["history"].is_null(), "{response}");
}

on_every_backend!(payee_history_shows_payment_detail_changes);
