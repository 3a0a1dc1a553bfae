//! Money in every currency (issue 15, parts 1 and 2): the shared Apple iTunes financial sample
//! (AUD) in a USD organisation, converted at the rate table's rate, at a rate set on the
//! statement, and at a remittance's effective rate, always by new ledger entries; the ECB
//! rate file; the remittance's FX difference and fees to the nano-unit.
//!
//! Expected figures are computed here independently, in integers: `amount × rate` rounded
//! half-even to the nano-unit.

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::{Value, json};
use tests::{TestApp, on_every_backend};

const TIMEOUT: Duration = Duration::from_secs(90);

fn sample() -> Vec<u8> {
    let dir = std::env::var("IMPRINT_SAMPLES_DIR").unwrap_or_else(|_| {
        concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/samples").to_owned()
    });
    std::fs::read(format!("{dir}/apple-itunes-financial_DL_80032046_AU.txt"))
        .expect("the Apple iTunes financial sample (IMPRINT_SAMPLES_DIR)")
}

/// Nano-units of a decimal string (`"-1.290000000"`), exactly.
fn nanos(s: &str) -> i128 {
    let (neg, s) = s.strip_prefix('-').map_or((false, s), |r| (true, r));
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    let mut frac = frac.to_owned();
    while frac.len() < 9 {
        frac.push('0');
    }
    let v = int.parse::<i128>().expect("int") * 1_000_000_000
        + frac[..9].parse::<i128>().expect("frac");
    if neg { -v } else { v }
}

/// A rate string as (integer, 10^scale).
fn rate_parts(rate: &str) -> (i128, i128) {
    let (int, frac) = rate.split_once('.').unwrap_or((rate, ""));
    let scale = 10_i128.pow(u32::try_from(frac.len()).expect("scale"));
    (format!("{int}{frac}").parse::<i128>().expect("rate"), scale)
}

/// `n / d` rounded half-even (d > 0).
fn half_even(n: i128, d: i128) -> i128 {
    let q = n.div_euclid(d);
    let r = n.rem_euclid(d);
    match (2 * r).cmp(&d) {
        std::cmp::Ordering::Less => q,
        std::cmp::Ordering::Greater => q + 1,
        std::cmp::Ordering::Equal => q + (q & 1),
    }
}

/// `amount_nanos × rate`, half-even to the nano-unit.
fn convert(amount_nanos: i128, rate: &str) -> i128 {
    let (m, scale) = rate_parts(rate);
    half_even(amount_nanos * m, scale)
}

struct Label {
    token: String,
    org: String,
    payee: String,
}

/// A USD label whose catalogue holds every ISRC and UPC of the Apple sample, each release
/// split 100 % to the artist's payee. Identifiers the API refuses stay unmatched.
async fn label(app: &TestApp, email: &str, file: &[u8]) -> Label {
    let token = app.sign_up(email).await;
    let org = app.create_organization(&token, "Antipodes Records").await;
    let data = app.ok(Some(&token), "mutation($org: ID!) { createArtist(input: {organizationId: $org, name: \"Various\"}) { artist { id payees { id } } } }", json!({"org": org})).await;
    let artist = data["createArtist"]["artist"]["id"]
        .as_str()
        .expect("artist")
        .to_owned();
    let payee = data["createArtist"]["artist"]["payees"][0]["id"]
        .as_str()
        .expect("payee")
        .to_owned();
    let text = String::from_utf8_lossy(file).into_owned();
    let mut isrcs = BTreeSet::new();
    let mut upcs = BTreeSet::new();
    for row in text.lines().skip(1) {
        let cells: Vec<&str> = row.split('\t').collect();
        if cells.len() < 4 {
            continue;
        }
        if cells[3].is_empty() {
            upcs.insert(cells[2].to_owned());
        } else {
            isrcs.insert(cells[3].to_owned());
        }
    }
    let release = |title: String, upc: Option<String>| {
        let token = token.clone();
        let artist = artist.clone();
        let payee = payee.clone();
        async move {
            let data = app.ok(Some(&token), "mutation($input: CreateReleaseInput!) { createRelease(input: $input) { release { id } userErrors { message } } }", json!({"input": {"artistId": artist, "title": title, "releaseType": "ALBUM", "upc": upc}})).await;
            let id = data["createRelease"]["release"]["id"].as_str()?.to_owned();
            let data = app.ok(Some(&token), "mutation($input: SetSplitInput!) { setSplit(input: $input) { split { id } userErrors { message } } }", json!({"input": {"releaseId": id, "effectiveFrom": "2000-01-01", "shares": [{"payeeId": payee, "share": "100"}]}})).await;
            assert!(data["setSplit"]["split"]["id"].is_string(), "{data}");
            Some(id)
        }
    };
    let catalogue = release("Apple catalogue".to_owned(), None)
        .await
        .expect("release");
    for isrc in isrcs {
        app.ok(Some(&token), "mutation($input: AddTrackInput!) { addTrack(input: $input) { track { id } userErrors { message } } }", json!({"input": {"releaseId": catalogue, "title": isrc, "isrc": isrc}})).await;
    }
    for upc in upcs {
        release(format!("Album {upc}"), Some(upc)).await;
    }
    Label { token, org, payee }
}

async fn upload(app: &TestApp, l: &Label, name: &str, bytes: Vec<u8>) -> String {
    let up = app.upload_statement(&l.token, &l.org, name, bytes).await;
    let id = up["data"]["uploadStatement"]["statement"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{up}"))
        .to_owned();
    let st = app.wait_for_statement(&l.token, &id).await;
    assert_eq!(st["status"], "PARSED", "{st}");
    id
}

const STATEMENT: &str = "query($id: ID!) { statement(id: $id) { allocationStatus matchedCount allocatedCount unallocatedCount linesAwaitingRate reconciliation currencies { currency reported { amount currency } rate rateSource converted { amount currency } lineCount awaitingRate } } }";

const LINES: &str = "query($id: ID!, $after: String) { statement(id: $id) { lines(first: 100, after: $after) { pageInfo { hasNextPage endCursor } nodes { amount { amount currency } baseAmount { amount currency } exchangeRate exchangeRateSource } } } }";

/// Every line of the statement, page by page.
async fn all_lines(app: &TestApp, l: &Label, id: &str) -> Vec<Value> {
    let mut out = Vec::new();
    let mut after = Value::Null;
    loop {
        let data = app
            .ok(Some(&l.token), LINES, json!({"id": id, "after": after}))
            .await;
        let page = &data["statement"]["lines"];
        out.extend(page["nodes"].as_array().expect("lines").iter().cloned());
        if page["pageInfo"]["hasNextPage"] != true {
            return out;
        }
        after = page["pageInfo"]["endCursor"].clone();
    }
}

/// Waits until every line of the statement has `source` (and, for a rate, that rate) and
/// the allocation is done with every matched line allocated; the statement with its lines.
async fn wait_priced(
    app: &TestApp,
    l: &Label,
    id: &str,
    rate: Option<&str>,
    source: Option<&str>,
) -> Value {
    app.eventually(TIMEOUT, || async {
        let data = app.ok(Some(&l.token), STATEMENT, json!({"id": id})).await;
        let mut st = data["statement"].clone();
        if st["allocationStatus"] != "ALLOCATED" {
            return None;
        }
        if rate.is_some() && st["allocatedCount"] != st["matchedCount"] {
            return None;
        }
        let lines = all_lines(app, l, id).await;
        let priced = lines.iter().all(|line| {
            line["exchangeRate"].as_str() == rate && line["exchangeRateSource"].as_str() == source
        });
        st["lines"] = json!(lines);
        priced.then_some(st)
    })
    .await
}

/// Each line's base amount is its AUD amount × `rate`, half-even; returns (Σ AUD, Σ USD).
fn check_lines(st: &Value, rate: &str) -> (i128, i128) {
    let mut aud = 0;
    let mut usd = 0;
    for line in st["lines"].as_array().expect("lines") {
        assert_eq!(line["amount"]["currency"], "AUD");
        assert_eq!(line["baseAmount"]["currency"], "USD");
        let amount = nanos(line["amount"]["amount"].as_str().expect("amount"));
        let base = nanos(line["baseAmount"]["amount"].as_str().expect("base"));
        assert_eq!(base, convert(amount, rate), "line {line}");
        aud += amount;
        usd += base;
    }
    (aud, usd)
}

async fn earned(app: &TestApp, l: &Label) -> i128 {
    let data = app.ok(Some(&l.token), "query($id: ID!) { node(id: $id) { ... on Payee { balances { earned { amount currency } } } } }", json!({"id": l.payee})).await;
    data["node"]["balances"]
        .as_array()
        .expect("balances")
        .iter()
        .filter(|b| b["earned"]["currency"] == "USD")
        .map(|b| nanos(b["earned"]["amount"].as_str().expect("earned")))
        .sum()
}

/// Waits until the payee has earned exactly `want` (the allocation job may still be writing).
async fn settle(app: &TestApp, l: &Label, want: i128) {
    let got = tokio::time::timeout(TIMEOUT, async {
        loop {
            let got = earned(app, l).await;
            if got == want {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await;
    assert_eq!(
        got.ok(),
        Some(want),
        "earned {} instead",
        earned(app, l).await
    );
}

async fn balanced(app: &TestApp, l: &Label) {
    let data = app
        .ok(
            Some(&l.token),
            "query($id: ID!) { organization(id: $id) { moneySummary { currency balanced } } }",
            json!({"id": l.org}),
        )
        .await;
    for s in data["organization"]["moneySummary"]
        .as_array()
        .expect("summary")
    {
        assert_eq!(s["balanced"], true, "{data}");
    }
}

const SET_RATE: &str = "mutation($input: SetExchangeRateInput!) { setExchangeRate(input: $input) { exchangeRate { day from to rate version } userErrors { field message code } } }";

async fn apple_sample_converts_at_the_table_rate_and_reconciles(app: TestApp) {
    let file = sample();
    let l = label(&app, "fx-table@label.test", &file).await;
    let data = app.ok(Some(&l.token), SET_RATE, json!({"input": {"organizationId": l.org, "day": "2017-12-01", "from": "AUD", "to": "USD", "rate": "0.7563"}})).await;
    assert_eq!(
        data["setExchangeRate"]["exchangeRate"]["version"], 1,
        "{data}"
    );
    let id = upload(&app, &l, "apple.txt", file).await;
    let st = wait_priced(&app, &l, &id, Some("0.7563"), Some("TABLE")).await;
    assert_eq!(st["unallocatedCount"], 0, "{st}");
    assert_eq!(st["linesAwaitingRate"], 0);
    assert_eq!(st["reconciliation"], "UNRECONCILED");
    assert!(st["matchedCount"].as_i64().expect("matched") > 200, "{st}");
    let (aud, usd) = check_lines(&st, "0.7563");
    let cur = &st["currencies"][0];
    assert_eq!(
        (cur["currency"].as_str(), cur["rateSource"].as_str()),
        (Some("AUD"), Some("TABLE"))
    );
    assert_eq!(
        nanos(cur["reported"]["amount"].as_str().expect("reported")),
        aud
    );
    assert_eq!(
        nanos(cur["converted"]["amount"].as_str().expect("converted")),
        usd
    );
    // Every matched line is allocated at its converted amount.
    settle(&app, &l, usd).await;
    balanced(&app, &l).await;

    // The bank received USD on 2017-12-20, when the table's rate was 0.77.
    app.ok(Some(&l.token), SET_RATE, json!({"input": {"organizationId": l.org, "day": "2017-12-20", "from": "AUD", "to": "USD", "rate": "0.77"}})).await;
    let received = usd - 3_210_000_000; // some fees and FX, not round
    let received_text = format!(
        "{}.{:09}",
        received / 1_000_000_000,
        received % 1_000_000_000
    );
    let data = app.ok(Some(&l.token), "mutation($input: RecordRemittanceInput!) { recordRemittance(input: $input) { remittance { id amount { amount } reconciliation { reported { amount } booked { amount } difference { amount } fxDifference { amount } feesAndWithholding { amount } } effectiveRate } userErrors { field message } } }", json!({"input": {"organizationId": l.org, "amount": received_text, "currency": "USD", "receivedOn": "2017-12-20", "fromWhom": "Apple", "reference": "AU-2017-11", "statementIds": [id]}})).await;
    let rem = &data["recordRemittance"]["remittance"];
    let r = &rem["reconciliation"];
    let reported = convert(aud, "0.77");
    let n = |v: &Value| nanos(v["amount"].as_str().unwrap_or_else(|| panic!("{data}")));
    assert_eq!(n(&r["reported"]), reported);
    assert_eq!(n(&r["booked"]), usd);
    assert_eq!(n(&r["difference"]), received - usd);
    assert_eq!(n(&r["fxDifference"]), reported - usd);
    assert_eq!(n(&r["feesAndWithholding"]), received - reported);
    let remittance = rem["id"].as_str().expect("remittance").to_owned();
    let effective = rem["effectiveRate"]
        .as_str()
        .expect("effective rate")
        .to_owned();
    // The effective rate is received / Σ AUD, half-even to 12 places.
    let (m, scale) = rate_parts(&effective);
    assert_eq!(
        m * 10_i128.pow(12) / scale,
        half_even(received * 1_000_000_000_000, aud)
    );
    let st = app
        .ok(
            Some(&l.token),
            "query($id: ID!) { statement(id: $id) { reconciliation } }",
            json!({"id": id}),
        )
        .await;
    assert_eq!(st["statement"]["reconciliation"], "RECONCILED");

    // Converting at the effective rate reallocates by new entries; reverting does too.
    app.ok(Some(&l.token), "mutation($id: ID!) { convertAtEffectiveRate(input: {remittanceId: $id}) { userErrors { message } } }", json!({"id": remittance})).await;
    let st = wait_priced(&app, &l, &id, Some(&effective), Some("EFFECTIVE")).await;
    let (_, at_effective) = check_lines(&st, &effective);
    settle(&app, &l, at_effective).await;
    balanced(&app, &l).await;
    app.ok(Some(&l.token), "mutation($id: ID!) { revertEffectiveRate(input: {remittanceId: $id}) { userErrors { message } } }", json!({"id": remittance})).await;
    let st = wait_priced(&app, &l, &id, Some("0.7563"), Some("TABLE")).await;
    check_lines(&st, "0.7563");
    settle(&app, &l, usd).await;
    balanced(&app, &l).await;
    // Nothing was edited: the three allocations and the two reversals are all there.
    let data = app.ok(Some(&l.token), "query($id: ID!) { node(id: $id) { ... on Payee { ledgerEntries(first: 1) { totalCount } } } }", json!({"id": l.payee})).await;
    let total = data["node"]["ledgerEntries"]["totalCount"]
        .as_u64()
        .expect("total");
    let allocated = st["allocatedCount"].as_u64().expect("allocated");
    assert!(
        total >= 5 * allocated,
        "{total} entries for {allocated} lines"
    );
}

async fn a_statement_rate_allocates_waiting_lines_and_a_new_one_reallocates(app: TestApp) {
    let file = sample();
    let text = String::from_utf8_lossy(&file).into_owned();
    let small: String = text.lines().take(21).map(|l| format!("{l}\n")).collect();
    let l = label(&app, "fx-statement@label.test", small.as_bytes()).await;
    let id = upload(&app, &l, "apple-small.txt", small.into_bytes()).await;
    let st = wait_priced(&app, &l, &id, None, None).await;
    assert_eq!(st["linesAwaitingRate"], 20, "{st}");
    assert_eq!(st["allocatedCount"], 0);
    assert_eq!(earned(&app, &l).await, 0);

    let set = "mutation($input: SetStatementExchangeRateInput!) { setStatementExchangeRate(input: $input) { statement { id } userErrors { field message code } } }";
    let data = app
        .ok(
            Some(&l.token),
            set,
            json!({"input": {"statementId": id, "currency": "AUD", "rate": "-0.5"}}),
        )
        .await;
    assert_eq!(
        data["setStatementExchangeRate"]["userErrors"][0]["field"],
        json!(["rate"])
    );
    let data = app
        .ok(
            Some(&l.token),
            set,
            json!({"input": {"statementId": id, "currency": "A$", "rate": "0.5"}}),
        )
        .await;
    assert_eq!(
        data["setStatementExchangeRate"]["userErrors"][0]["field"],
        json!(["currency"])
    );

    app.ok(
        Some(&l.token),
        set,
        json!({"input": {"statementId": id, "currency": "AUD", "rate": "0.7"}}),
    )
    .await;
    let st = wait_priced(&app, &l, &id, Some("0.7"), Some("STATEMENT")).await;
    assert_eq!(st["linesAwaitingRate"], 0);
    let (_, at_first) = check_lines(&st, "0.7");
    settle(&app, &l, at_first).await;

    app.ok(
        Some(&l.token),
        set,
        json!({"input": {"statementId": id, "currency": "AUD", "rate": "0.81234"}}),
    )
    .await;
    let st = wait_priced(&app, &l, &id, Some("0.81234"), Some("STATEMENT")).await;
    let (_, at_second) = check_lines(&st, "0.81234");
    settle(&app, &l, at_second).await;
    balanced(&app, &l).await;
}

async fn import_rates(app: &TestApp, token: &str, org: &str, csv: &str) -> Value {
    let operations = json!({
        "query": "mutation($input: ImportExchangeRatesInput!) { importExchangeRates(input: $input) { layout imported unchanged badRows { line message } userErrors { field message } } }",
        "variables": { "input": { "organizationId": org, "file": null } },
    });
    let form = reqwest::multipart::Form::new()
        .text("operations", operations.to_string())
        .text("map", json!({ "0": ["variables.input.file"] }).to_string())
        .part(
            "0",
            reqwest::multipart::Part::bytes(csv.as_bytes().to_vec()).file_name("rates.csv"),
        );
    reqwest::Client::new()
        .post(format!("{}/graphql", app.base_url))
        .bearer_auth(token)
        .multipart(form)
        .send()
        .await
        .expect("sent")
        .json()
        .await
        .expect("JSON")
}

async fn ecb_rates_cross_through_eur_and_bad_input_is_refused(app: TestApp) {
    let token = app.sign_up("fx-ecb@label.test").await;
    let org = app.create_organization(&token, "ECB Records").await;
    let csv = "Date,USD,JPY,AUD,\n2017-12-01,1.1885,133.60,1.5642,\n2017-11-30,1.1718,N/A,oops,\n";
    let data = import_rates(&app, &token, &org, csv).await;
    let payload = &data["data"]["importExchangeRates"];
    assert_eq!(payload["layout"], "ECB", "{data}");
    assert_eq!(payload["imported"], 4);
    assert_eq!(payload["badRows"][0]["line"], 3);
    // The same file again stores nothing new.
    let again = import_rates(&app, &token, &org, csv).await;
    assert_eq!(
        again["data"]["importExchangeRates"]["imported"], 0,
        "{again}"
    );
    assert_eq!(again["data"]["importExchangeRates"]["unchanged"], 4);
    let rates = app.ok(Some(&token), "query($id: ID!) { organization(id: $id) { exchangeRates { day from to rate version } } }", json!({"id": org})).await;
    assert_eq!(
        rates["organization"]["exchangeRates"]
            .as_array()
            .expect("rates")
            .len(),
        4
    );

    // A statement in AUD takes the cross rate USD/AUD of 2017-12-01: 1.1885 / 1.5642.
    let file = sample();
    let small: String = String::from_utf8_lossy(&file)
        .lines()
        .take(6)
        .map(|l| format!("{l}\n"))
        .collect();
    let l = Label {
        token: token.clone(),
        org: org.clone(),
        payee: String::new(),
    };
    let id = upload(&app, &l, "apple-ecb.txt", small.into_bytes()).await;
    let cross = half_even(11_885 * 1_000_000_000_000, 15_642);
    let cross = format!("0.{cross:012}").trim_end_matches('0').to_owned();
    let st = wait_priced(&app, &l, &id, Some(&cross), Some("TABLE")).await;
    check_lines(&st, &cross);

    for (input, field) in [
        (
            json!({"organizationId": org, "day": "2017-12-01", "from": "AUD", "to": "U$D", "rate": "1"}),
            "to",
        ),
        (
            json!({"organizationId": org, "day": "2017-12-01", "from": "AUD", "to": "USD", "rate": "-1"}),
            "rate",
        ),
        (
            json!({"organizationId": org, "day": "2017-12-01", "from": "AUD", "to": "USD", "rate": "0"}),
            "rate",
        ),
    ] {
        let data = app
            .ok(Some(&token), SET_RATE, json!({"input": input}))
            .await;
        assert_eq!(
            data["setExchangeRate"]["userErrors"][0]["field"],
            json!([field]),
            "{data}"
        );
    }
    // Another organisation's statement is "not found", in a remittance as in a statement rate.
    let other = app.sign_up("fx-other@label.test").await;
    let other_org = app.create_organization(&other, "Elsewhere").await;
    let data = app.ok(Some(&other), "mutation($input: RecordRemittanceInput!) { recordRemittance(input: $input) { remittance { id } userErrors { field code } } }", json!({"input": {"organizationId": other_org, "amount": "1.00", "currency": "USD", "receivedOn": "2017-12-20", "fromWhom": "x", "reference": "y", "statementIds": [id]}})).await;
    assert_eq!(
        data["recordRemittance"]["userErrors"][0]["code"], "NOT_FOUND",
        "{data}"
    );
    let data = app.graphql(Some(&other), "mutation($input: SetStatementExchangeRateInput!) { setStatementExchangeRate(input: $input) { statement { id } } }", json!({"input": {"statementId": id, "currency": "AUD", "rate": "1"}})).await;
    assert_eq!(
        data["errors"][0]["extensions"]["code"], "NOT_FOUND",
        "{data}"
    );
    let data = app
        .graphql(
            Some(&other),
            "query($id: ID!) { organization(id: $id) { exchangeRates { rate } } }",
            json!({"id": org}),
        )
        .await;
    assert!(
        data["errors"].is_array() || data["data"]["organization"].is_null(),
        "{data}"
    );
}

on_every_backend!(apple_sample_converts_at_the_table_rate_and_reconciles);
on_every_backend!(a_statement_rate_allocates_waiting_lines_and_a_new_one_reallocates);
on_every_backend!(ecb_rates_cross_through_eur_and_bad_input_is_refused);
