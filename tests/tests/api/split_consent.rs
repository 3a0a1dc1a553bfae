//! Split consent: each payee confirms their share. The artist member confirms her own share
//! (not another payee's; the label cannot for her); the label's setting of a split confirms the
//! shares of payees nobody in Imprint speaks for; changing a split resets the changed shares
//! only; with the HOLD setting an unconfirmed split's lines wait, and the last confirmation
//! releases them to allocation.

use std::time::Duration;

use serde_json::{Value, json};
use tests::fixtures::distrokid;
use tests::{TestApp, on_every_backend};

const TIMEOUT: Duration = Duration::from_secs(60);
const LINE: &str =
    "2025-03-05|2025-01|Spotify|Ada Vesper|Harbour Lights|USAB12400001||120|100|Song|US|0|10.00";
const SET_SPLIT: &str = "mutation($input: SetSplitInput!) { setSplit(input: $input) { split { id consent { confirmed pending } shares { id payeeName confirmed } } userErrors { message } } }";
const CONFIRM: &str = "mutation($id: ID!) { confirmSplitShare(input: {splitShareId: $id}) { splitShare { confirmed } split { consent { confirmed pending } } userErrors { field message } } }";
const STATEMENT: &str =
    "query($id: ID!) { statement(id: $id) { allocatedCount unallocatedCount unmatchedCount } }";

fn text(v: &Value) -> String {
    v.as_str()
        .unwrap_or_else(|| panic!("not a string: {v}"))
        .to_owned()
}

/// The share of `name` in a `setSplit` answer.
fn share_of(data: &Value, name: &str) -> Value {
    data["setSplit"]["split"]["shares"]
        .as_array()
        .expect("shares")
        .iter()
        .find(|s| s["payeeName"] == name)
        .unwrap_or_else(|| panic!("{name} in {data}"))
        .clone()
}

async fn consent_is_confirmed_reset_and_holds_allocation(app: TestApp) {
    let owner = app.sign_up("owner@consent.test").await;
    let org = app.create_organization(&owner, "Consent Records").await;
    let data = app.ok(Some(&owner), "mutation($org: ID!) { createArtist(input: {organizationId: $org, name: \"Ada Vesper\"}) { artist { id payees { id } } } }", json!({"org": org})).await;
    let ada = text(&data["createArtist"]["artist"]["id"]);
    let ada_payee = text(&data["createArtist"]["artist"]["payees"][0]["id"]);
    let data = app.ok(Some(&owner), "mutation($org: ID!) { createPayee(input: {organizationId: $org, name: \"Pat Producer\", kind: PRODUCER}) { payee { id } } }", json!({"org": org})).await;
    let producer = text(&data["createPayee"]["payee"]["id"]);
    let data = app.ok(Some(&owner), "mutation($id: ID!) { createRelease(input: {artistId: $id, title: \"Night Ferry\", releaseType: ALBUM}) { release { id } } }", json!({"id": ada})).await;
    let release = text(&data["createRelease"]["release"]["id"]);
    app.ok(Some(&owner), "mutation($id: ID!) { addTrack(input: {releaseId: $id, title: \"Harbour Lights\", isrc: \"USAB12400001\"}) { track { id } } }", json!({"id": release})).await;
    let ada_token = app
        .invite_member(&owner, &org, "ada@consent.test", "ARTIST", Some(&ada))
        .await;

    // Ada speaks for herself: her share waits; the producer's is the label's to state.
    let split = |ada_share: &str, producer_share: &str| {
        json!({"input": {"releaseId": release, "effectiveFrom": "2020-01-01", "shares": [
            {"payeeId": ada_payee, "share": ada_share}, {"payeeId": producer, "share": producer_share}]}})
    };
    let data = app.ok(Some(&owner), SET_SPLIT, split("80", "20")).await;
    assert_eq!(
        data["setSplit"]["split"]["consent"],
        json!({"confirmed": 1, "pending": 1}),
        "{data}"
    );
    let ada_share = share_of(&data, "Ada Vesper");
    assert_eq!(ada_share["confirmed"], false);
    let producer_share = share_of(&data, "Pat Producer");
    assert_eq!(producer_share["confirmed"], true);
    let flagged = app
        .ok(
            Some(&owner),
            "query($id: ID!) { organization(id: $id) { splitsAwaitingConsent unconfirmedSplits } }",
            json!({"id": org}),
        )
        .await;
    assert_eq!(flagged["organization"]["splitsAwaitingConsent"], 1);
    assert_eq!(flagged["organization"]["unconfirmedSplits"], "PAY");

    // The label cannot confirm for her; she cannot confirm the producer's share.
    let refused = app
        .graphql(Some(&owner), CONFIRM, json!({"id": ada_share["id"]}))
        .await;
    assert_eq!(
        refused["errors"][0]["extensions"]["code"], "FORBIDDEN",
        "{refused}"
    );
    let data = app
        .ok(
            Some(&ada_token),
            CONFIRM,
            json!({"id": producer_share["id"]}),
        )
        .await;
    assert_eq!(
        data["confirmSplitShare"]["userErrors"][0]["field"],
        json!(["splitShareId"]),
        "{data}"
    );

    // She confirms hers (twice: nothing changes the second time).
    for _ in 0..2 {
        let data = app
            .ok(Some(&ada_token), CONFIRM, json!({"id": ada_share["id"]}))
            .await;
        assert_eq!(
            data["confirmSplitShare"]["split"]["consent"],
            json!({"confirmed": 2, "pending": 0}),
            "{data}"
        );
    }

    // A change resets the changed share only; the producer's share is restated by the label.
    let data = app.ok(Some(&owner), SET_SPLIT, split("70", "30")).await;
    assert_eq!(share_of(&data, "Ada Vesper")["confirmed"], false, "{data}");
    assert_eq!(share_of(&data, "Pat Producer")["confirmed"], true, "{data}");
    let ada_share = share_of(&data, "Ada Vesper");

    // HOLD: the unconfirmed split's line waits.
    let data = app.ok(Some(&owner), "mutation($org: ID!) { updatePayoutSettings(input: {organizationId: $org, unconfirmedSplits: HOLD}) { organization { unconfirmedSplits } userErrors { message } } }", json!({"org": org})).await;
    assert_eq!(
        data["updatePayoutSettings"]["organization"]["unconfirmedSplits"], "HOLD",
        "{data}"
    );
    let upload = app
        .upload_statement(&owner, &org, "dk.tsv", distrokid(&[LINE]))
        .await;
    let statement = text(&upload["data"]["uploadStatement"]["statement"]["id"]);
    app.wait_for_statement(&owner, &statement).await;
    let st = app
        .eventually(TIMEOUT, || async {
            let data = app
                .ok(Some(&owner), STATEMENT, json!({"id": statement}))
                .await;
            (data["statement"]["unallocatedCount"] == 1).then(|| data["statement"].clone())
        })
        .await;
    assert_eq!(st["allocatedCount"], 0, "{st}");
    let issues = app
        .ok(
            Some(&owner),
            "query($id: ID!) { statement(id: $id) { allocationIssues { reason lineCount } } }",
            json!({"id": statement}),
        )
        .await;
    assert!(issues.to_string().contains("not confirmed"), "{issues}");

    // Her confirmation releases it: the line is allocated, 70 % to her.
    app.ok(Some(&ada_token), CONFIRM, json!({"id": ada_share["id"]}))
        .await;
    app.eventually(TIMEOUT, || async {
        let data = app
            .ok(Some(&owner), STATEMENT, json!({"id": statement}))
            .await;
        (data["statement"]["allocatedCount"] == 1).then_some(())
    })
    .await;
    let earned = app
        .eventually(TIMEOUT, || async {
            let data = app
                .ok(
                    Some(&owner),
                    "query($id: ID!) { node(id: $id) { ... on Payee { balances { earned { amount } } } } }",
                    json!({"id": producer}),
                )
                .await;
            data["node"]["balances"][0]["earned"]["amount"]
                .as_str()
                .map(str::to_owned)
        })
        .await;
    assert!(
        earned == "3" || earned == "3.00",
        "the producer's 30 % of 10.00: {earned}"
    );
}

on_every_backend!(consent_is_confirmed_reset_and_holds_allocation);
