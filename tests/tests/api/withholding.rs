//! Payees paid in their own currency and withholding, end to end over HTTP: a payee with 30 %
//! withholding is paid 70 % of their payable and the 30 % sits in the `WITHHOLDING` account,
//! shown on their statement (CSV and PDF); a EUR payee of a USD label is paid at the run's
//! rate, half-even to the cent, the remainder carried to the nano; a run without a rate for a
//! payee currency is a `userError` naming it; the tax id is never returned whole; another
//! artist cannot read the tax profile. The books balance after the run is paid.

use rust_decimal::{Decimal, RoundingStrategy};
use serde_json::{Value, json};
use tests::{TestApp, on_every_backend};

use super::money::{
    ADD_TRACK, APPROVE_RUN, CREATE_AGREEMENT, CREATE_ARTIST, CREATE_PAYEE, CREATE_RELEASE,
    CREATE_RUN, PAY_RUN, SET_SPLIT, id_at, wait_for_run,
};
use super::payee_statements::{Sale, contains, csv, distrokid, download, nanos, pdf_text, upload};

const SET_TAX: &str = "mutation($input: SetPayeeTaxProfileInput!) { setPayeeTaxProfile(input: $input) { taxProfile { country form taxId withholdingPercent } payee { id name } userErrors { field message code } } }";
const PROFILE: &str = "query($id: ID!) { node(id: $id) { ... on Payee { id taxProfile { country form taxId withholdingPercent } history(first: 10) { edges { node { action } } } } } }";
const RUN: &str = "query($id: ID!) { node(id: $id) { ... on PayoutRun { id status exchangeRates { from to rate } totals { currency payable { amount } withheld { amount } paid { amount } } payouts(first: 10) { edges { node { id currency payee { id name } payable { amount } withheld { amount } withholdingPercent paid { amount } payoutAmount { amount currency } exchangeRate carriedForward { amount } roundingRemainder { amount } statementCsvUrl statementPdfUrl } } } } } }";
const SUMMARY: &str = "query($id: ID!) { organization(id: $id) { moneySummary { currency allocated { amount } paid { amount } withheld { amount } carriedForward { amount } reserved { amount } recouped { amount } pending { amount } balanced } } }";
const LEDGER: &str = "query($id: ID!) { node(id: $id) { ... on Payee { ledgerEntries(first: 50) { edges { node { account amount { amount currency } } } } balances { currency withheld { amount } paid { amount } } } } }";

/// The tax id given, in every spelling it could come back in.
const TAX_ID: &str = "123-45-6789";
const TAX_ID_PLAIN: &str = "123456789";

/// Asserts a response never holds the tax id whole.
fn no_tax_id(response: &Value) {
    let text = response.to_string();
    assert!(
        !text.contains(TAX_ID) && !text.contains(TAX_ID_PLAIN),
        "the tax id came back whole: {text}"
    );
}

fn dec(amount: &str) -> Decimal {
    amount.parse().unwrap_or_else(|_| panic!("{amount:?}"))
}

fn half_even(d: Decimal, places: u32) -> Decimal {
    d.round_dp_with_strategy(places, RoundingStrategy::MidpointNearestEven)
}

async fn payee_paid_in_their_currency_with_withholding(app: TestApp) {
    let owner = app.sign_up("owner@withholding.test").await;
    let org = app.create_organization(&owner, "Kestrel Records").await;
    let data = app
        .ok(
            Some(&owner),
            CREATE_ARTIST,
            json!({"input": {"organizationId": org, "name": "Ada Vesper"}}),
        )
        .await;
    let ada = id_at(&data, &["createArtist", "artist", "id"]);
    let ada_payee = id_at(&data["createArtist"]["artist"]["payees"][0], &["id"]);
    let data = app
        .ok(
            Some(&owner),
            CREATE_ARTIST,
            json!({"input": {"organizationId": org, "name": "Juniper Static"}}),
        )
        .await;
    let juniper = id_at(&data, &["createArtist", "artist", "id"]);
    let data = app.ok(Some(&owner), CREATE_AGREEMENT, json!({"input": {"artistId": ada, "title": "Record deal", "masterOwner": "LABEL", "artistRevenueShare": "100", "dealBasis": "GROSS", "startsOn": "2024-01-01"}})).await;
    assert_eq!(data["createAgreement"]["userErrors"], json!([]), "{data}");
    let data = app.ok(Some(&owner), CREATE_PAYEE, json!({"input": {"organizationId": org, "name": "Lena Brandt", "kind": "PRODUCER", "currency": "EUR"}})).await;
    let lena = id_at(&data, &["createPayee", "payee", "id"]);

    // The tax profile: bad input is a userError each, and the id comes back masked only.
    let data = app
        .ok(Some(&owner), SET_TAX, json!({"input": {"payeeId": ada_payee, "country": "XX", "taxId": "12", "withholdingPercent": "101"}}))
        .await;
    let fields: Vec<&Value> = data["setPayeeTaxProfile"]["userErrors"]
        .as_array()
        .expect("userErrors")
        .iter()
        .map(|e| &e["field"])
        .collect();
    assert_eq!(
        fields,
        [
            &json!(["country"]),
            &json!(["taxId"]),
            &json!(["withholdingPercent"])
        ],
        "{data}"
    );
    let data = app
        .ok(Some(&owner), SET_TAX, json!({"input": {"payeeId": ada_payee, "country": "us", "form": "W9", "taxId": TAX_ID, "withholdingPercent": "30"}}))
        .await;
    assert_eq!(
        data["setPayeeTaxProfile"]["userErrors"],
        json!([]),
        "{data}"
    );
    assert_eq!(
        data["setPayeeTaxProfile"]["taxProfile"],
        json!({"country": "US", "form": "W9", "taxId": "•••• 6789", "withholdingPercent": "30"})
    );
    no_tax_id(&data);

    // Ada may read her own profile; Juniper (another artist) may not; the owner sees the
    // history of the change with the id masked.
    let ada_token = app
        .invite_member(&owner, &org, "ada@withholding.test", "ARTIST", Some(&ada))
        .await;
    let juniper_token = app
        .invite_member(
            &owner,
            &org,
            "juniper@withholding.test",
            "ARTIST",
            Some(&juniper),
        )
        .await;
    let own = app
        .ok(Some(&ada_token), PROFILE, json!({"id": ada_payee}))
        .await;
    assert_eq!(own["node"]["taxProfile"]["taxId"], "•••• 6789", "{own}");
    no_tax_id(&own);
    let other = app
        .graphql(Some(&juniper_token), PROFILE, json!({"id": ada_payee}))
        .await;
    assert!(
        other["data"]["node"].is_null() || other["data"]["node"]["taxProfile"].is_null(),
        "another artist read the tax profile: {other}"
    );
    assert!(!other.to_string().contains("6789"), "{other}");
    let history = app
        .ok(Some(&owner), PROFILE, json!({"id": ada_payee}))
        .await;
    no_tax_id(&history);
    let viewer = app
        .invite_member(&owner, &org, "viewer@withholding.test", "VIEWER", None)
        .await;
    let seen = app
        .graphql(Some(&viewer), PROFILE, json!({"id": ada_payee}))
        .await;
    assert!(
        seen["data"]["node"]["taxProfile"].is_null(),
        "a viewer read the profile: {seen}"
    );

    // A release split half each between Ada (30 % withheld) and Lena (paid in EUR).
    let data = app
        .ok(Some(&owner), CREATE_RELEASE, json!({"input": {"artistId": ada, "title": "Night Ferry", "releaseType": "SINGLE", "upc": "036000291452"}}))
        .await;
    let release = id_at(&data, &["createRelease", "release", "id"]);
    let data = app
        .ok(Some(&owner), ADD_TRACK, json!({"input": {"releaseId": release, "title": "Harbour Lights", "isrc": "QZBEN2500001"}}))
        .await;
    assert_eq!(data["addTrack"]["userErrors"], json!([]), "{data}");
    let data = app
        .ok(
            Some(&owner),
            SET_SPLIT,
            json!({"input": {"releaseId": release, "effectiveFrom": "2024-01-01", "shares": [
            {"payeeId": ada_payee, "share": "50"}, {"payeeId": lena, "share": "50"}]}}),
        )
        .await;
    assert_eq!(data["setSplit"]["userErrors"], json!([]), "{data}");
    let sales: [Sale; 1] = [(
        "Spotify",
        "Harbour Lights",
        "QZBEN2500001",
        100,
        "US",
        "24.691357802",
    )];
    upload(
        &app,
        &owner,
        &org,
        "january.tsv",
        distrokid("2025-01", &sales),
    )
    .await;

    // No rate for EUR: a userError naming it; a bad rate: a userError on it.
    let data = app
        .ok(
            Some(&owner),
            CREATE_RUN,
            json!({"input": {"organizationId": org, "periodEnd": "2025-01-31"}}),
        )
        .await;
    let errors = &data["createPayoutRun"]["userErrors"];
    assert_eq!(errors[0]["field"], json!(["exchangeRates"]), "{data}");
    assert!(
        errors[0]["message"]
            .as_str()
            .expect("message")
            .contains("EUR"),
        "{data}"
    );
    assert!(data["createPayoutRun"]["payoutRun"].is_null());
    let data = app
        .ok(Some(&owner), CREATE_RUN, json!({"input": {"organizationId": org, "periodEnd": "2025-01-31", "exchangeRates": [{"currency": "EUR", "rate": "-0.92"}]}}))
        .await;
    assert_eq!(
        data["createPayoutRun"]["userErrors"][0]["field"],
        json!(["exchangeRates", "0", "rate"]),
        "{data}"
    );
    let rate = "0.92";
    let data = app
        .ok(Some(&owner), CREATE_RUN, json!({"input": {"organizationId": org, "periodEnd": "2025-01-31", "exchangeRates": [{"currency": "EUR", "rate": rate}]}}))
        .await;
    assert_eq!(data["createPayoutRun"]["userErrors"], json!([]), "{data}");
    let run_id = id_at(&data, &["createPayoutRun", "payoutRun", "id"]);
    let run = wait_for_run(&app, &owner, RUN, &run_id, "READY").await;
    assert_eq!(
        run["exchangeRates"],
        json!([{"from": "USD", "to": "EUR", "rate": rate}])
    );
    let payouts: std::collections::BTreeMap<String, Value> = run["payouts"]["edges"]
        .as_array()
        .expect("payouts")
        .iter()
        .map(|e| {
            (
                e["node"]["payee"]["id"].as_str().expect("id").to_owned(),
                e["node"].clone(),
            )
        })
        .collect();

    // Ada: 12.345678901 earned, 12.34 payable; 30 % of it withheld half-even to the cent,
    // 70 % paid.
    let a = &payouts[&ada_payee];
    let payable = dec(a["payable"]["amount"].as_str().expect("payable"));
    assert_eq!(payable, dec("12.34"));
    let withheld = dec(a["withheld"]["amount"].as_str().expect("withheld"));
    assert_eq!(withheld, half_even(payable * dec("0.3"), 2));
    assert_eq!(
        dec(a["paid"]["amount"].as_str().expect("paid")),
        payable - withheld
    );
    assert_eq!(a["payoutAmount"]["currency"], "USD");
    assert_eq!(
        dec(a["payoutAmount"]["amount"].as_str().expect("amount")),
        payable - withheld
    );
    assert_eq!(a["withholdingPercent"], "30");

    // Lena: 12.34 USD payable, converted at 0.92 and rounded half-even once to the cent; the
    // ledger amount that payment stands for, and the remainder carried, exact to the nano.
    let l = &payouts[&lena];
    let payable = dec(l["payable"]["amount"].as_str().expect("payable"));
    assert_eq!(payable, dec("12.34"));
    let amount = dec(l["payoutAmount"]["amount"].as_str().expect("amount"));
    assert_eq!(l["payoutAmount"]["currency"], "EUR");
    assert_eq!(l["exchangeRate"], rate);
    assert_eq!(amount, half_even(payable * dec(rate), 2));
    let paid = dec(l["paid"]["amount"].as_str().expect("paid"));
    assert_eq!(paid, half_even(amount / dec(rate), 9));
    let carried = dec(l["carriedForward"]["amount"].as_str().expect("carried"));
    assert_eq!(
        paid + carried,
        dec("12.345678901"),
        "nothing lost or created"
    );
    assert_eq!(l["roundingRemainder"], l["carriedForward"]);

    // Ada's statement shows the withholding, in the CSV and the PDF.
    let statement = csv(&app, &owner, a).await;
    assert_eq!(statement.fields["Withholding rate %"], "30");
    assert_eq!(
        nanos(&statement.fields["Withheld"]),
        nanos(a["withheld"]["amount"].as_str().expect("w"))
    );
    assert_eq!(
        nanos(&statement.fields["Paid"]),
        nanos(a["paid"]["amount"].as_str().expect("p"))
    );
    let lena_statement = csv(&app, &owner, l).await;
    assert_eq!(lena_statement.fields["Payout currency"], "EUR");
    assert_eq!(lena_statement.fields["Exchange rate"], rate);
    assert_eq!(
        lena_statement.fields["Payout amount"],
        l["payoutAmount"]["amount"].as_str().expect("a")
    );
    let (_, pdf) = download(
        &app,
        &owner,
        a["statementPdfUrl"].as_str().expect("pdf"),
        "application/pdf",
    )
    .await;
    let text = pdf_text(&pdf);
    assert!(
        contains(&text, "Less withheld"),
        "the PDF shows the withholding"
    );
    assert!(contains(
        &text,
        a["withheld"]["amount"].as_str().expect("w")
    ));

    // Pay the run: the withholding sits in its own account, and the books balance.
    let data = app
        .ok(
            Some(&owner),
            APPROVE_RUN,
            json!({"input": {"payoutRunId": run_id}}),
        )
        .await;
    assert_eq!(data["approvePayoutRun"]["userErrors"], json!([]), "{data}");
    let data = app
        .ok(Some(&owner), PAY_RUN, json!({"input": {"payoutRunId": run_id, "payments": [
            {"payeeId": ada_payee, "paymentReference": "ACH-1"}, {"payeeId": lena, "paymentReference": "SEPA-1"}]}}))
        .await;
    assert_eq!(data["markPayoutRunPaid"]["userErrors"], json!([]), "{data}");
    wait_for_run(&app, &owner, RUN, &run_id, "PAID").await;
    let ledger = app.ok(Some(&owner), LEDGER, json!({"id": ada_payee})).await;
    let withholding: Vec<&Value> = ledger["node"]["ledgerEntries"]["edges"]
        .as_array()
        .expect("entries")
        .iter()
        .map(|e| &e["node"])
        .filter(|n| n["account"] == "WITHHOLDING")
        .collect();
    assert_eq!(withholding.len(), 1, "{ledger}");
    assert_eq!(
        dec(withholding[0]["amount"]["amount"].as_str().expect("amount")),
        -dec(a["withheld"]["amount"].as_str().expect("w"))
    );
    assert_eq!(
        ledger["node"]["balances"][0]["withheld"]["amount"],
        a["withheld"]["amount"]
    );
    let summary = app.ok(Some(&owner), SUMMARY, json!({"id": org})).await;
    let usd = &summary["organization"]["moneySummary"][0];
    assert_eq!(usd["currency"], "USD", "{summary}");
    assert_eq!(usd["balanced"], true, "{summary}");
    assert_eq!(
        usd["withheld"]["amount"], a["withheld"]["amount"],
        "{summary}"
    );
    let total = |k: &str| dec(usd[k]["amount"].as_str().expect(k));
    assert_eq!(
        total("allocated"),
        total("paid")
            + total("withheld")
            + total("carriedForward")
            + total("reserved")
            + total("recouped")
            + total("pending"),
        "{summary}"
    );
    assert_eq!(
        total("paid"),
        dec(a["paid"]["amount"].as_str().expect("p")) + paid
    );

    // The year-end summaries: gross, recouped, withheld and paid per currency.
    let urls = app
        .ok(Some(&owner), "query($id: ID!) { node(id: $id) { ... on Payee { yearEndSummaryCsvUrl(year: 2025) yearEndSummaryPdfUrl(year: 2025) } } }", json!({"id": ada_payee}))
        .await;
    let csv_url = urls["node"]["yearEndSummaryCsvUrl"]
        .as_str()
        .expect("csv url");
    let (_, bytes) = download(&app, &ada_token, csv_url, "text/csv").await;
    let text = String::from_utf8(bytes).expect("UTF-8");
    let row = format!(
        "USD,12.345678901,0.00,{},{},USD,{}\r\n",
        a["withheld"]["amount"].as_str().expect("w"),
        a["paid"]["amount"].as_str().expect("p"),
        a["payoutAmount"]["amount"].as_str().expect("a"),
    );
    assert!(text.contains(&row), "{row:?} in {text}");
    let lena_urls = app
        .ok(Some(&owner), "query($id: ID!) { node(id: $id) { ... on Payee { yearEndSummaryCsvUrl(year: 2025) } } }", json!({"id": lena}))
        .await;
    let (_, bytes) = download(
        &app,
        &owner,
        lena_urls["node"]["yearEndSummaryCsvUrl"]
            .as_str()
            .expect("url"),
        "text/csv",
    )
    .await;
    let text = String::from_utf8(bytes).expect("UTF-8");
    let row = format!("USD,12.345678901,0.00,0.00,{paid},EUR,{amount}\r\n");
    assert!(text.contains(&row), "{row:?} in {text}");
    let (_, pdf) = download(
        &app,
        &owner,
        urls["node"]["yearEndSummaryPdfUrl"]
            .as_str()
            .expect("pdf url"),
        "application/pdf",
    )
    .await;
    assert!(
        contains(&pdf, a["withheld"]["amount"].as_str().expect("w")),
        "the PDF shows what was withheld"
    );
    let refused = app
        .client
        .get(format!("{}{csv_url}", app.base_url))
        .bearer_auth(&juniper_token)
        .send()
        .await
        .expect("sent");
    assert_eq!(
        refused.status(),
        reqwest::StatusCode::NOT_FOUND,
        "another artist's summary"
    );
}

on_every_backend!(payee_paid_in_their_currency_with_withholding);
