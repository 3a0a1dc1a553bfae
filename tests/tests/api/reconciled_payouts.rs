//! Payout runs limited to reconciled money (issue 15): with `setPayoutsReconciledOnly` on, a
//! run pays only the statements a remittance pays and lists the others as held; once a held
//! statement's remittance is recorded the next run pays it, once, and the books balance.
//! `recordRemittance` clicked twice at once records one remittance. And a EUR payee of a USD
//! label is paid at the organisation's rate table's rate when the run is given none.

use rust_decimal::{Decimal, RoundingStrategy};
use serde_json::{Value, json};
use tests::{TestApp, on_every_backend};

use super::money::{
    ADD_TRACK, APPROVE_RUN, CREATE_ARTIST, CREATE_PAYEE, CREATE_RELEASE, CREATE_RUN, PAY_RUN,
    SET_SPLIT, id_at, wait_allocated, wait_for_run,
};
use super::payee_statements::{Sale, distrokid, nanos};

const RUN: &str = "query($id: ID!) { node(id: $id) { ... on PayoutRun { id status exchangeRates { from to rate } heldStatements { id filename reconciliation } payouts(first: 10) { edges { node { payee { id } currency earnings { amount } payable { amount } paid { amount } payoutAmount { amount currency } exchangeRate carriedForward { amount } } } } } } }";
const SUMMARY: &str = "query($id: ID!) { organization(id: $id) { payoutsReconciledOnly remittances { id } moneySummary { currency allocated { amount } paid { amount } carriedForward { amount } pending { amount } balanced } } }";
const RECORD: &str = "mutation($input: RecordRemittanceInput!) { recordRemittance(input: $input) { remittance { id } userErrors { field message } } }";
const RECONCILED_ONLY: &str = "mutation($input: SetPayoutsReconciledOnlyInput!) { setPayoutsReconciledOnly(input: $input) { reconciledOnly userErrors { field message } } }";
const SET_RATE: &str = "mutation($input: SetExchangeRateInput!) { setExchangeRate(input: $input) { exchangeRate { rate } userErrors { field message } } }";

struct Label {
    token: String,
    org: String,
    payee: String,
}

/// A USD label whose one track is split 100 % to `payee` (the artist's own payee, or a new
/// payee in `currency`).
async fn label(app: &TestApp, email: &str, currency: Option<&str>) -> Label {
    let token = app.sign_up(email).await;
    let org = app.create_organization(&token, "Reconciled Records").await;
    let data = app
        .ok(
            Some(&token),
            CREATE_ARTIST,
            json!({"input": {"organizationId": org, "name": "Ada Vesper"}}),
        )
        .await;
    let artist = id_at(&data, &["createArtist", "artist", "id"]);
    let payee = match currency {
        None => id_at(&data["createArtist"]["artist"]["payees"][0], &["id"]),
        Some(c) => {
            let data = app.ok(Some(&token), CREATE_PAYEE, json!({"input": {"organizationId": org, "name": "Lena Brandt", "kind": "PRODUCER", "currency": c}})).await;
            id_at(&data, &["createPayee", "payee", "id"])
        }
    };
    let data = app
        .ok(Some(&token), CREATE_RELEASE, json!({"input": {"artistId": artist, "title": "Night Ferry", "releaseType": "SINGLE", "upc": "036000291452"}}))
        .await;
    let release = id_at(&data, &["createRelease", "release", "id"]);
    let data = app
        .ok(Some(&token), ADD_TRACK, json!({"input": {"releaseId": release, "title": "Harbour Lights", "isrc": "QZBEN2500001"}}))
        .await;
    assert_eq!(data["addTrack"]["userErrors"], json!([]), "{data}");
    let data = app
        .ok(Some(&token), SET_SPLIT, json!({"input": {"releaseId": release, "effectiveFrom": "2024-01-01", "shares": [{"payeeId": payee, "share": "100"}]}}))
        .await;
    assert_eq!(data["setSplit"]["userErrors"], json!([]), "{data}");
    Label { token, org, payee }
}

/// Uploads a month of sales of the track; the statement's id once allocated.
async fn statement(app: &TestApp, l: &Label, month: &str, amount: &'static str) -> String {
    let sales: [Sale; 1] = [(
        "Spotify",
        "Harbour Lights",
        "QZBEN2500001",
        10,
        "US",
        amount,
    )];
    let data = app
        .upload_statement(
            &l.token,
            &l.org,
            &format!("{month}.tsv"),
            distrokid(month, &sales),
        )
        .await;
    let id = data["data"]["uploadStatement"]["statement"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("uploaded: {data}"))
        .to_owned();
    let parsed = app.wait_for_statement(&l.token, &id).await;
    assert_eq!(parsed["status"], "PARSED", "{parsed}");
    wait_allocated(app, &l.token, &id).await;
    id
}

fn remittance(l: &Label, amount: &str, statement: &str) -> Value {
    json!({"input": {"organizationId": l.org, "amount": amount, "currency": "USD", "receivedOn": "2025-03-10", "fromWhom": "DistroKid", "reference": format!("DK-{amount}"), "statementIds": [statement]}})
}

/// Creates a run for `period_end`, waits until it is computed, and returns it.
async fn computed_run(app: &TestApp, l: &Label, period_end: &str) -> Value {
    let data = app
        .ok(
            Some(&l.token),
            CREATE_RUN,
            json!({"input": {"organizationId": l.org, "periodEnd": period_end}}),
        )
        .await;
    assert_eq!(data["createPayoutRun"]["userErrors"], json!([]), "{data}");
    let id = id_at(&data, &["createPayoutRun", "payoutRun", "id"]);
    wait_for_run(app, &l.token, RUN, &id, "READY").await
}

async fn pay(app: &TestApp, l: &Label, run: &Value) {
    let id = run["id"].as_str().expect("run id");
    let data = app
        .ok(
            Some(&l.token),
            APPROVE_RUN,
            json!({"input": {"payoutRunId": id}}),
        )
        .await;
    assert_eq!(data["approvePayoutRun"]["userErrors"], json!([]), "{data}");
    let data = app
        .ok(Some(&l.token), PAY_RUN, json!({"input": {"payoutRunId": id, "payments": [{"payeeId": l.payee, "paymentReference": format!("ACH-{id}")}]}}))
        .await;
    assert_eq!(data["markPayoutRunPaid"]["userErrors"], json!([]), "{data}");
    wait_for_run(app, &l.token, RUN, id, "PAID").await;
}

/// The payee's one payout of the run, in nano-units: (earnings, paid).
fn payout(run: &Value, payee: &str) -> (i64, i64) {
    let edges = run["payouts"]["edges"].as_array().expect("payouts");
    let mine: Vec<&Value> = edges
        .iter()
        .map(|e| &e["node"])
        .filter(|n| n["payee"]["id"] == payee)
        .collect();
    assert_eq!(mine.len(), 1, "{run}");
    (
        nanos(mine[0]["earnings"]["amount"].as_str().expect("earnings")),
        nanos(mine[0]["paid"]["amount"].as_str().expect("paid")),
    )
}

fn held(run: &Value) -> Vec<String> {
    run["heldStatements"]
        .as_array()
        .expect("heldStatements")
        .iter()
        .map(|s| s["id"].as_str().expect("id").to_owned())
        .collect()
}

/// The USD summary: (allocated, paid, pending), after checking the books balance.
async fn summary(app: &TestApp, l: &Label) -> (i64, i64, i64) {
    let data = app.ok(Some(&l.token), SUMMARY, json!({"id": l.org})).await;
    let rows = data["organization"]["moneySummary"]
        .as_array()
        .expect("summary");
    for s in rows {
        assert_eq!(s["balanced"], true, "{data}");
    }
    let usd = rows
        .iter()
        .find(|s| s["currency"] == "USD")
        .unwrap_or_else(|| panic!("{data}"));
    let n = |k: &str| nanos(usd[k]["amount"].as_str().expect("amount"));
    (n("allocated"), n("paid"), n("pending"))
}

async fn runs_pay_only_reconciled_statements_once(app: TestApp) {
    let l = label(&app, "owner@reconciled.test", None).await;
    let data = app
        .ok(
            Some(&l.token),
            RECONCILED_ONLY,
            json!({"input": {"organizationId": l.org, "reconciledOnly": true}}),
        )
        .await;
    assert_eq!(
        data["setPayoutsReconciledOnly"]["reconciledOnly"], true,
        "{data}"
    );
    let january = statement(&app, &l, "2025-01", "10.25").await;
    let february = statement(&app, &l, "2025-02", "20.50").await;

    // A double click: two identical calls at once record one remittance.
    let input = remittance(&l, "10.25", &january);
    let (a, b) = tokio::join!(
        app.ok(Some(&l.token), RECORD, input.clone()),
        app.ok(Some(&l.token), RECORD, input.clone()),
    );
    let a_id = id_at(&a, &["recordRemittance", "remittance", "id"]);
    let b_id = id_at(&b, &["recordRemittance", "remittance", "id"]);
    assert_eq!(a_id, b_id, "{a} {b}");
    let again = app.ok(Some(&l.token), RECORD, input).await;
    assert_eq!(
        id_at(&again, &["recordRemittance", "remittance", "id"]),
        a_id
    );
    let data = app.ok(Some(&l.token), SUMMARY, json!({"id": l.org})).await;
    assert_eq!(
        data["organization"]["remittances"]
            .as_array()
            .expect("remittances")
            .len(),
        1,
        "{data}"
    );
    assert_eq!(data["organization"]["payoutsReconciledOnly"], true);

    // The first run pays January only and lists February as held.
    let first = computed_run(&app, &l, "2025-02-28").await;
    assert_eq!(held(&first), vec![february.clone()], "{first}");
    assert_eq!(first["heldStatements"][0]["reconciliation"], "UNRECONCILED");
    let (earned, _) = payout(&first, &l.payee);
    assert_eq!(earned, nanos("10.25"), "{first}");
    pay(&app, &l, &first).await;
    let (allocated, paid, pending) = summary(&app, &l).await;
    assert_eq!(allocated, nanos("30.75"));
    assert_eq!(paid, nanos("10.25"));
    assert_eq!(pending, nanos("20.50"), "February waits");

    // Still unreconciled: the next run holds it again and pays nothing of it.
    let second = computed_run(&app, &l, "2025-03-31").await;
    assert_eq!(held(&second), vec![february.clone()], "{second}");
    let edges = second["payouts"]["edges"].as_array().expect("payouts");
    let earned: i64 = edges
        .iter()
        .map(|e| nanos(e["node"]["earnings"]["amount"].as_str().expect("e")))
        .sum();
    assert_eq!(earned, 0, "{second}");
    let cancel = app.ok(Some(&l.token), "mutation($input: PayoutRunInput!) { cancelPayoutRun(input: $input) { userErrors { message } } }", json!({"input": {"payoutRunId": second["id"]}})).await;
    assert_eq!(
        cancel["cancelPayoutRun"]["userErrors"],
        json!([]),
        "{cancel}"
    );

    // February's remittance arrives: the next run pays it, and only it.
    let data = app
        .ok(Some(&l.token), RECORD, remittance(&l, "20.50", &february))
        .await;
    assert_eq!(data["recordRemittance"]["userErrors"], json!([]), "{data}");
    let third = computed_run(&app, &l, "2025-03-31").await;
    assert_eq!(held(&third), Vec::<String>::new(), "{third}");
    let (earned, _) = payout(&third, &l.payee);
    assert_eq!(earned, nanos("20.50"), "{third}");
    pay(&app, &l, &third).await;
    let (allocated, paid, pending) = summary(&app, &l).await;
    assert_eq!(allocated, nanos("30.75"));
    assert_eq!(paid, allocated, "everything paid, nothing twice");
    assert_eq!(pending, 0);

    // A later run finds nothing left to pay.
    let fourth = computed_run(&app, &l, "2025-04-30").await;
    assert_eq!(held(&fourth), Vec::<String>::new());
    let edges = fourth["payouts"]["edges"].as_array().expect("payouts");
    assert!(
        edges
            .iter()
            .all(|e| nanos(e["node"]["earnings"]["amount"].as_str().expect("e")) == 0),
        "{fourth}"
    );
}

async fn a_run_without_a_rate_takes_the_rate_tables(app: TestApp) {
    let l = label(&app, "owner@table-rate.test", Some("EUR")).await;
    statement(&app, &l, "2025-01", "24.691357802").await;
    let data = app.ok(Some(&l.token), SET_RATE, json!({"input": {"organizationId": l.org, "day": "2025-01-30", "from": "USD", "to": "EUR", "rate": "0.9137"}})).await;
    assert_eq!(data["setExchangeRate"]["userErrors"], json!([]), "{data}");
    let run = computed_run(&app, &l, "2025-01-31").await;
    let rates = run["exchangeRates"].as_array().expect("rates");
    assert_eq!(rates.len(), 1, "{run}");
    assert_eq!(
        (rates[0]["from"].as_str(), rates[0]["to"].as_str()),
        (Some("USD"), Some("EUR"))
    );
    let rate: Decimal = rates[0]["rate"]
        .as_str()
        .expect("rate")
        .parse()
        .expect("decimal");
    assert_eq!(rate, "0.9137".parse::<Decimal>().expect("rate"));
    let node = &run["payouts"]["edges"][0]["node"];
    assert_eq!(node["payoutAmount"]["currency"], "EUR", "{run}");
    let payable: Decimal = node["payable"]["amount"]
        .as_str()
        .expect("payable")
        .parse()
        .expect("d");
    let amount: Decimal = node["payoutAmount"]["amount"]
        .as_str()
        .expect("amount")
        .parse()
        .expect("d");
    assert_eq!(
        amount,
        (payable * rate).round_dp_with_strategy(2, RoundingStrategy::MidpointNearestEven)
    );
    pay(&app, &l, &run).await;
    summary(&app, &l).await;
}

on_every_backend!(runs_pay_only_reconciled_statements_once);
on_every_backend!(a_run_without_a_rate_takes_the_rate_tables);
