//! One answer to one question: the API and the allocation job read the agreement in force and
//! the split in effect by the same domain rules.

use serde_json::json;
use tests::{TestApp, on_every_backend};

use super::money::{
    ADD_TRACK, CREATE_AGREEMENT, CREATE_ARTIST, CREATE_RELEASE, SET_SPLIT, amount, id_at, label,
    statement, upload, user_errors, wait_allocated,
};

/// An agreement whose term ended before the sale still governs it (until a newer one starts):
/// the allocation pays by its revenue split, and `Artist.currentAgreement` names it.
async fn an_ended_agreement_still_governs_its_recordings(app: TestApp) {
    let l = label(&app, "ended@label.test").await;
    let data = app
        .ok(
            Some(&l.token),
            CREATE_ARTIST,
            json!({"input": {"organizationId": l.org, "name": "Bo Lind"}}),
        )
        .await;
    let bo = id_at(&data, &["createArtist", "artist", "id"]);
    let bo_payee = data["createArtist"]["artist"]["payees"][0]["id"]
        .as_str()
        .expect("artist payee")
        .to_owned();
    let data = app.ok(Some(&l.token), CREATE_AGREEMENT, json!({"input": {"artistId": bo, "title": "First deal", "masterOwner": "LABEL", "artistRevenueShare": "80", "dealBasis": "GROSS", "startsOn": "2024-01-01", "endsOn": "2024-06-30"}})).await;
    assert_eq!(user_errors(&data["createAgreement"]), Vec::<String>::new());
    let agreement = id_at(&data, &["createAgreement", "agreement", "id"]);

    // The API's answer: the ended agreement is the one in force today.
    let data = app
        .ok(
            Some(&l.token),
            "query($id: ID!) { node(id: $id) { ... on Artist { currentAgreement { id } } } }",
            json!({"id": bo}),
        )
        .await;
    assert_eq!(
        data["node"]["currentAgreement"]["id"],
        agreement.as_str(),
        "{data}"
    );

    // The allocation's answer: a January 2025 sale is split 80/20 by it.
    let data = app
        .ok(
            Some(&l.token),
            CREATE_RELEASE,
            json!({"input": {"artistId": bo, "title": "Late Tide", "releaseType": "SINGLE"}}),
        )
        .await;
    let release = id_at(&data, &["createRelease", "release", "id"]);
    let data = app
        .ok(
            Some(&l.token),
            ADD_TRACK,
            json!({"input": {"releaseId": release, "title": "Late Tide", "isrc": "QZBEN2500002"}}),
        )
        .await;
    assert_eq!(user_errors(&data["addTrack"]), Vec::<String>::new());
    let data = app
        .ok(
            Some(&l.token),
            SET_SPLIT,
            json!({"input": {"releaseId": release, "effectiveFrom": "2024-01-01", "shares": [
                {"payeeId": bo_payee, "share": "100"},
            ]}}),
        )
        .await;
    assert_eq!(user_errors(&data["setSplit"]), Vec::<String>::new());
    let statement_id = upload(&app, &l, "late.tsv", statement("QZBEN2500002", &["10.00"])).await;
    let st = wait_allocated(&app, &l.token, &statement_id).await;
    assert_eq!(st["allocatedCount"], 1, "{st}");
    let data = app
        .ok(
            Some(&l.token),
            "query($id: ID!) { node(id: $id) { ... on Payee { balances { currency earned { amount } } } } }",
            json!({"id": bo_payee}),
        )
        .await;
    assert_eq!(
        amount(&data["node"]["balances"][0]["earned"]),
        "8.00",
        "80 % of 10.00 under the ended agreement: {data}"
    );
}

on_every_backend!(an_ended_agreement_still_governs_its_recordings);
