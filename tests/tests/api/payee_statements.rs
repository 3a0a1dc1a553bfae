//! Payee statements downloaded over HTTP (`Payout.statementCsvUrl`, `statementPdfUrl`): who may
//! download which, and that the CSV says exactly what the GraphQL payout says, its lines adding
//! up to the earnings, through a paid run, the next paid run and a cancelled one.

use std::collections::BTreeMap;
use std::io::Read as _;

use reqwest::StatusCode;
use reqwest::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use serde_json::{Value, json};
use tests::{TestApp, on_every_backend};

use super::money::{
    ADD_TRACK, APPROVE_RUN, CANCEL_RUN, CREATE_AGREEMENT, CREATE_ARTIST, CREATE_PAYEE,
    CREATE_RELEASE, CREATE_RUN, HEADER, PAY_RUN, SET_SPLIT, id_at, payouts_by_payee,
    wait_allocated,
};

async fn wait_run(app: &TestApp, token: &str, run_id: &str, status: &str) -> Value {
    super::money::wait_for_run(app, token, RUN, run_id, status).await
}

const CREATE_KEY: &str =
    "mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { secret } }";
const RUN: &str = "query($id: ID!) { node(id: $id) { ... on PayoutRun { id status payouts(first: 100) { edges { node { id status currency payee { id name } broughtForward { amount currency } earnings { amount } recouped { amount } reserved { amount } reserveReleased { amount } payable { amount } carriedForward { amount } roundingRemainder { amount } paymentReference statementCsvUrl statementPdfUrl } } } } } }";

/// `(store, title, ISRC, quantity, country, amount)`.
pub(crate) type Sale = (
    &'static str,
    &'static str,
    &'static str,
    u32,
    &'static str,
    &'static str,
);

/// January 2025: five sales of which two share a track, store and territory.
const JANUARY: [Sale; 5] = [
    (
        "Spotify",
        "Harbour Lights",
        "QZBEN2500001",
        100,
        "US",
        "12.50",
    ),
    (
        "Spotify",
        "Harbour Lights",
        "QZBEN2500001",
        60,
        "US",
        "7.25",
    ),
    (
        "Spotify",
        "Harbour Lights",
        "QZBEN2500001",
        25,
        "GB",
        "3.123456788",
    ),
    (
        "Apple Music",
        "Harbour Lights",
        "QZBEN2500001",
        30,
        "US",
        "4.00",
    ),
    ("Spotify", "Low Tide", "QZBEN2500002", 10, "DE", "1.15"),
];

const FEBRUARY: [Sale; 2] = [
    (
        "Spotify",
        "Harbour Lights",
        "QZBEN2500001",
        40,
        "US",
        "6.00",
    ),
    ("Deezer", "Low Tide", "QZBEN2500002", 5, "FR", "0.80"),
];

pub(crate) fn distrokid(month: &str, sales: &[Sale]) -> Vec<u8> {
    let mut out = format!("{HEADER}\r\n");
    for (store, title, isrc, quantity, country, amount) in sales {
        out.push_str(&format!(
            "{month}-28\t{month}\t{store}\tAda Vesper\t{title}\t{isrc}\t\t{quantity}\t100\tSong\t{country}\t0\t{amount}\r\n"
        ));
    }
    out.into_bytes()
}

fn no_user_errors(payload: &Value) {
    assert_eq!(payload["userErrors"], json!([]), "{payload}");
}

/// An RFC 4180 reader, enough for the statement: quoted fields with `""`, CRLF records, empty
/// lines skipped.
fn csv_records(text: &str) -> Vec<Vec<String>> {
    let mut records = Vec::new();
    let mut record = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') => quoted = true,
            (false, ',') => record.push(std::mem::take(&mut field)),
            (false, '\r') => {}
            (false, '\n') => {
                record.push(std::mem::take(&mut field));
                if record.iter().any(|f| !f.is_empty()) || record.len() > 1 {
                    records.push(std::mem::take(&mut record));
                } else {
                    record.clear();
                }
            }
            (false, c) => field.push(c),
        }
    }
    if !field.is_empty() || !record.is_empty() {
        record.push(field);
        records.push(record);
    }
    records
}

/// A downloaded CSV statement: its `field,value` block and its line table.
pub(crate) struct CsvStatement {
    pub(crate) fields: BTreeMap<String, String>,
    /// Release, UPC, Track, ISRC, Store, Territory, Quantity, Earnings, Recouped.
    lines: Vec<Vec<String>>,
    /// Recoupable, Kind, Incurred on, Currency, Amount, Recouped this run, Recouped to date,
    /// Remaining.
    recoupables: Vec<Vec<String>>,
}

fn parse_statement(text: &str) -> CsvStatement {
    let records = csv_records(text);
    let lines_at = records
        .iter()
        .position(|r| r.first().map(String::as_str) == Some("Release"))
        .unwrap_or_else(|| panic!("no line table in\n{text}"));
    let recoupables_at = records
        .iter()
        .position(|r| r.first().map(String::as_str) == Some("Recoupable"))
        .unwrap_or_else(|| panic!("no recoupable table in\n{text}"));
    assert_eq!(
        records[lines_at],
        [
            "Release",
            "UPC",
            "Track",
            "ISRC",
            "Store",
            "Territory",
            "Quantity",
            "Earnings",
            "Recouped"
        ]
    );
    CsvStatement {
        fields: records[..lines_at]
            .iter()
            .map(|r| (r[0].clone(), r.get(1).cloned().unwrap_or_default()))
            .collect(),
        lines: records[lines_at + 1..recoupables_at].to_vec(),
        recoupables: records[recoupables_at + 1..].to_vec(),
    }
}

/// An exact decimal string in nano-units, through the domain's own parser.
pub(crate) fn nanos(amount: &str) -> i64 {
    domain::money::parse_decimal_str(amount)
        .unwrap_or_else(|e| panic!("{amount:?} is not an exact amount: {e}"))
}

async fn get(app: &TestApp, token: Option<&str>, url: &str) -> reqwest::Response {
    let mut request = app.client.get(format!("{}{url}", app.base_url));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.expect("request sent")
}

/// Downloads a statement that must be there; checks the headers and returns the body.
pub(crate) async fn download(
    app: &TestApp,
    token: &str,
    url: &str,
    content_type: &str,
) -> (String, Vec<u8>) {
    let response = get(app, Some(token), url).await;
    assert_eq!(response.status(), StatusCode::OK, "{url}");
    let header = |name| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    assert!(
        header(CONTENT_TYPE).starts_with(content_type),
        "{}",
        header(CONTENT_TYPE)
    );
    let disposition = header(CONTENT_DISPOSITION);
    let bytes = response.bytes().await.expect("body").to_vec();
    (disposition, bytes)
}

pub(crate) async fn csv(app: &TestApp, token: &str, payout: &Value) -> CsvStatement {
    let url = payout["statementCsvUrl"].as_str().expect("CSV url");
    let (disposition, bytes) = download(app, token, url, "text/csv").await;
    assert!(
        disposition.starts_with("attachment;") && disposition.contains(".csv"),
        "{disposition}"
    );
    parse_statement(&String::from_utf8(bytes).expect("UTF-8 CSV"))
}

/// The inflated content streams of a PDF, concatenated.
pub(crate) fn pdf_text(pdf: &[u8]) -> Vec<u8> {
    let mut text = Vec::new();
    let mut rest = pdf;
    while let Some(at) = rest.windows(8).position(|w| w == b"\nstream\n") {
        let start = at + 8;
        let len = rest[start..]
            .windows(10)
            .position(|w| w == b"\nendstream")
            .expect("endstream");
        flate2::read::ZlibDecoder::new(&rest[start..start + len])
            .read_to_end(&mut text)
            .expect("a Flate stream");
        rest = &rest[start + len + 10..];
    }
    text
}

pub(crate) fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

/// The CSV says what GraphQL says, to the character, and its lines add up to the earnings.
fn assert_matches_payout(statement: &CsvStatement, payout: &Value) {
    let f = &statement.fields;
    assert_eq!(f["Payee"], payout["payee"]["name"].as_str().expect("name"));
    assert_eq!(
        f["Currency"],
        payout["currency"].as_str().expect("currency")
    );
    for (field, key) in [
        ("Brought forward", "broughtForward"),
        ("Earnings", "earnings"),
        ("Recouped", "recouped"),
        ("Reserved", "reserved"),
        ("Reserve released", "reserveReleased"),
        ("Payable", "payable"),
        ("Carried forward", "carriedForward"),
        ("Rounding remainder", "roundingRemainder"),
    ] {
        assert_eq!(
            f[field],
            payout[key]["amount"].as_str().expect("amount"),
            "{field}"
        );
    }
    assert_eq!(
        f["Payment reference"],
        payout["paymentReference"].as_str().unwrap_or_default()
    );
    assert_eq!(f["Lines"], statement.lines.len().to_string());
    let earnings: i64 = statement.lines.iter().map(|l| nanos(&l[7])).sum();
    let recouped: i64 = statement.lines.iter().map(|l| nanos(&l[8])).sum();
    assert_eq!(earnings, nanos(&f["Earnings"]), "lines sum to the earnings");
    assert_eq!(recouped, nanos(&f["Recouped"]), "lines sum to the recouped");
}

pub(crate) async fn upload(app: &TestApp, token: &str, org: &str, name: &str, bytes: Vec<u8>) {
    let data = app.upload_statement(token, org, name, bytes).await;
    let id = data["data"]["uploadStatement"]["statement"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("uploaded: {data}"))
        .to_owned();
    let parsed = app.wait_for_statement(token, &id).await;
    assert_eq!(parsed["status"], "PARSED", "{parsed}");
    wait_allocated(app, token, &id).await;
}

async fn create_run(app: &TestApp, token: &str, org: &str, period_end: &str) -> Value {
    let data = app
        .ok(
            Some(token),
            CREATE_RUN,
            json!({"input": {"organizationId": org, "periodEnd": period_end}}),
        )
        .await;
    no_user_errors(&data["createPayoutRun"]);
    let run_id = id_at(&data, &["createPayoutRun", "payoutRun", "id"]);
    wait_run(app, token, &run_id, "READY").await
}

/// Approves the run and pays every payee with something payable, reference `{prefix}-{n}`.
async fn pay(app: &TestApp, token: &str, run: &Value, prefix: &str) -> Value {
    let run_id = run["id"].as_str().expect("run id");
    let data = app
        .ok(
            Some(token),
            APPROVE_RUN,
            json!({"input": {"payoutRunId": run_id}}),
        )
        .await;
    no_user_errors(&data["approvePayoutRun"]);
    let payments: Vec<Value> = payouts_by_payee(run)
        .values()
        .filter(|p| p["payable"]["amount"].as_str().is_some_and(|a| nanos(a) > 0))
        .enumerate()
        .map(|(i, p)| json!({"payeeId": p["payee"]["id"], "paymentReference": format!("{prefix}-{i}")}))
        .collect();
    let data = app
        .ok(
            Some(token),
            PAY_RUN,
            json!({"input": {"payoutRunId": run_id, "payments": payments}}),
        )
        .await;
    no_user_errors(&data["markPayoutRunPaid"]);
    wait_run(app, token, run_id, "PAID").await
}

async fn statements_for_payees(app: TestApp) {
    // A label: Ada (a 10.00 advance), Juniper (another artist), a producer with a 50.00
    // minimum; Ada and the producer split Ada's single, two tracks, half each.
    let owner = app.sign_up("owner@statements.test").await;
    let org = app.create_organization(&owner, "Tern Records").await;
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
    let data = app.ok(Some(&owner), CREATE_AGREEMENT, json!({"input": {"artistId": ada, "title": "Record deal", "masterOwner": "LABEL", "artistRevenueShare": "100", "dealBasis": "GROSS", "advance": "10.00", "startsOn": "2024-01-01"}})).await;
    no_user_errors(&data["createAgreement"]);
    let data = app.ok(Some(&owner), CREATE_PAYEE, json!({"input": {"organizationId": org, "name": "Theo Marsh", "kind": "PRODUCER", "minimumPayout": "50.00"}})).await;
    let producer = id_at(&data, &["createPayee", "payee", "id"]);
    let data = app
        .ok(
            Some(&owner),
            CREATE_RELEASE,
            json!({"input": {"artistId": ada, "title": "Night Ferry", "releaseType": "EP", "upc": "036000291452"}}),
        )
        .await;
    let release = id_at(&data, &["createRelease", "release", "id"]);
    for (title, isrc) in [
        ("Harbour Lights", "QZBEN2500001"),
        ("Low Tide", "QZBEN2500002"),
    ] {
        let data = app
            .ok(
                Some(&owner),
                ADD_TRACK,
                json!({"input": {"releaseId": release, "title": title, "isrc": isrc}}),
            )
            .await;
        no_user_errors(&data["addTrack"]);
    }
    let data = app
        .ok(
            Some(&owner),
            SET_SPLIT,
            json!({"input": {"releaseId": release, "effectiveFrom": "2024-01-01", "shares": [
                {"payeeId": ada_payee, "share": "50"},
                {"payeeId": producer, "share": "50"},
            ]}}),
        )
        .await;
    no_user_errors(&data["setSplit"]);
    let ada_token = app
        .invite_member(&owner, &org, "ada@statements.test", "ARTIST", Some(&ada))
        .await;
    let juniper_token = app
        .invite_member(
            &owner,
            &org,
            "juniper@statements.test",
            "ARTIST",
            Some(&juniper),
        )
        .await;
    let outsider = app.sign_up("outsider@elsewhere.test").await;
    app.create_organization(&outsider, "Elsewhere").await;
    let data = app
        .ok(
            Some(&owner),
            CREATE_KEY,
            json!({"input": {"organizationId": org, "name": "Accounting", "scopes": ["READ_PAYOUTS"]}}),
        )
        .await;
    let payouts_key = id_at(&data, &["createApiKey", "secret"]);
    let data = app
        .ok(
            Some(&owner),
            CREATE_KEY,
            json!({"input": {"organizationId": org, "name": "Catalogue", "scopes": ["READ_CATALOGUE"]}}),
        )
        .await;
    let catalogue_key = id_at(&data, &["createApiKey", "secret"]);

    // January's run, computed: Ada's statement is hers to download, as CSV and PDF.
    upload(
        &app,
        &owner,
        &org,
        "jan.tsv",
        distrokid("2025-01", &JANUARY),
    )
    .await;
    let january = create_run(&app, &owner, &org, "2025-01-31").await;
    let ada_payout = payouts_by_payee(&january)[&ada_payee].clone();
    let producer_payout = payouts_by_payee(&january)[&producer].clone();
    let statement = csv(&app, &ada_token, &ada_payout).await;
    assert_matches_payout(&statement, &ada_payout);
    assert_eq!(statement.fields["Organisation"], "Tern Records");
    assert_eq!(statement.fields["Period end"], "2025-01-31");
    assert_eq!(statement.fields["Run status"], "ready");
    assert_eq!(statement.fields["Payout status"], "pending");
    // Half of 28.023456788, the advance recouped from it.
    assert_eq!(statement.fields["Earnings"], "14.011728394");
    assert_eq!(statement.fields["Recouped"], "10.00");
    // Five sales, four lines: the two Spotify US sales of Harbour Lights are one line.
    assert_eq!(statement.lines.len(), 4, "{:?}", statement.lines);
    let quantity: i64 = statement
        .lines
        .iter()
        .map(|l| l[6].parse::<i64>().expect("quantity"))
        .sum();
    assert_eq!(quantity, 225, "each sale's quantity counted once");
    let harbour_us: Vec<&Vec<String>> = statement
        .lines
        .iter()
        .filter(|l| l[3] == "QZBEN2500001" && l[5] == "US" && l[6] == "160")
        .collect();
    assert_eq!(harbour_us.len(), 1, "{:?}", statement.lines);
    assert_eq!(harbour_us[0][0], "Night Ferry");
    assert_eq!(harbour_us[0][1], "036000291452");
    assert_eq!(harbour_us[0][2], "Harbour Lights");
    assert_eq!(
        nanos(&harbour_us[0][7]),
        9_875_000_000,
        "half of 12.50 + 7.25"
    );
    // The advance: 10.00, all of it recouped by this run, nothing left.
    assert_eq!(
        statement.recoupables.len(),
        1,
        "{:?}",
        statement.recoupables
    );
    let advance = &statement.recoupables[0];
    assert_eq!(advance[1], "advance");
    assert_eq!(advance[3..], ["USD", "10.00", "10.00", "10.00", "0.00"]);

    let pdf_url = ada_payout["statementPdfUrl"].as_str().expect("PDF url");
    let (disposition, pdf) = download(&app, &ada_token, pdf_url, "application/pdf").await;
    assert_eq!(
        disposition,
        "attachment; filename=\"imprint-statement-ada-vesper-2025-01-31.pdf\""
    );
    assert!(pdf.starts_with(b"%PDF-"));
    let text = pdf_text(&pdf);
    for needle in [
        "(Ada Vesper)",
        "(Tern Records)",
        "(14.011728394)",
        "(10.00)",
        "(Harbour Lights)",
        "(Page 1 of 1)",
    ] {
        assert!(contains(&text, needle), "{needle} not in the PDF");
    }

    // Who else may: the owner and a key with a payouts scope; not another artist or an
    // outsider (to whom it does not exist), a key without the scope, or nobody.
    let csv_url = ada_payout["statementCsvUrl"].as_str().expect("CSV url");
    assert_matches_payout(&csv(&app, &owner, &ada_payout).await, &ada_payout);
    assert_matches_payout(&csv(&app, &payouts_key, &ada_payout).await, &ada_payout);
    for (who, token, status) in [
        (
            "another artist",
            Some(juniper_token.as_str()),
            StatusCode::NOT_FOUND,
        ),
        (
            "an outsider",
            Some(outsider.as_str()),
            StatusCode::NOT_FOUND,
        ),
        (
            "a catalogue key",
            Some(catalogue_key.as_str()),
            StatusCode::FORBIDDEN,
        ),
        ("nobody", None, StatusCode::UNAUTHORIZED),
        ("a bad token", Some("not-a-token"), StatusCode::UNAUTHORIZED),
    ] {
        for url in [csv_url, pdf_url] {
            let response = get(&app, token, url).await;
            assert_eq!(response.status(), status, "{who} on {url}");
            let body: Value = response.json().await.expect("a JSON error");
            let code = match status {
                StatusCode::FORBIDDEN => "FORBIDDEN",
                StatusCode::NOT_FOUND => "NOT_FOUND",
                _ => "UNAUTHENTICATED",
            };
            assert_eq!(body["error"]["code"], code, "{who}: {body}");
        }
    }
    // Ada may not have the producer's statement either: to her it does not exist.
    let producer_csv = producer_payout["statementCsvUrl"].as_str().expect("url");
    assert_eq!(
        get(&app, Some(&ada_token), producer_csv).await.status(),
        StatusCode::NOT_FOUND
    );
    let unknown = api::graphql::ids::encode(api::graphql::ids::Kind::Payout, 987_654_321);
    let not_a_payout = api::graphql::ids::encode(api::graphql::ids::Kind::PayoutRun, 1);
    for url in [
        format!("/payouts/{}/statement.csv", unknown.as_str()),
        format!("/payouts/{}/statement.pdf", unknown.as_str()),
        format!("/payouts/{}/statement.csv", not_a_payout.as_str()),
        "/payouts/garbage/statement.pdf".to_owned(),
    ] {
        let response = get(&app, Some(&owner), &url).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{url}");
        let body: Value = response.json().await.expect("a JSON error");
        assert_eq!(body["error"]["code"], "NOT_FOUND");
    }
    assert_eq!(
        get(
            &app,
            None,
            &format!("/payouts/{}/statement.csv", unknown.as_str())
        )
        .await
        .status(),
        StatusCode::UNAUTHORIZED,
        "an anonymous caller learns nothing about which ids exist"
    );

    // Paid: the statement says so, with the payment's reference.
    let january = pay(&app, &owner, &january, "JAN").await;
    let ada_paid = payouts_by_payee(&january)[&ada_payee].clone();
    let paid = csv(&app, &ada_token, &ada_paid).await;
    assert_matches_payout(&paid, &ada_paid);
    assert_eq!(paid.fields["Run status"], "paid");
    assert_eq!(paid.fields["Payout status"], "paid");
    assert!(paid.fields["Payment reference"].starts_with("JAN-"));
    assert!(!paid.fields["Paid at"].is_empty());
    let producer_jan = payouts_by_payee(&january)[&producer].clone();
    let producer_statement = csv(&app, &owner, &producer_jan).await;
    assert_matches_payout(&producer_statement, &producer_jan);
    assert_eq!(
        producer_statement.fields["Payout status"],
        "carried_forward"
    );
    assert_eq!(producer_statement.fields["Below minimum"], "yes");
    assert!(producer_statement.recoupables.is_empty());

    // February's run is paid too; January's statement still shows January's lines.
    upload(
        &app,
        &owner,
        &org,
        "feb.tsv",
        distrokid("2025-02", &FEBRUARY),
    )
    .await;
    let february = create_run(&app, &owner, &org, "2025-02-28").await;
    let february = pay(&app, &owner, &february, "FEB").await;
    let ada_feb = payouts_by_payee(&february)[&ada_payee].clone();
    let feb = csv(&app, &ada_token, &ada_feb).await;
    assert_matches_payout(&feb, &ada_feb);
    assert_eq!(feb.fields["Earnings"], "3.40");
    assert_eq!(feb.lines.len(), 2);
    assert!(feb.recoupables.is_empty(), "recouped in full in January");
    let producer_feb = payouts_by_payee(&february)[&producer].clone();
    let producer_statement = csv(&app, &owner, &producer_feb).await;
    assert_matches_payout(&producer_statement, &producer_feb);
    assert_eq!(
        producer_statement.fields["Brought forward"],
        producer_jan["carriedForward"]["amount"]
            .as_str()
            .expect("carried")
    );
    let again = csv(&app, &ada_token, &ada_paid).await;
    assert_eq!(again.lines, paid.lines);
    assert_eq!(again.recoupables, paid.recoupables);
    assert_matches_payout(&again, &ada_paid);

    // A cancelled run's statement still downloads, and says it was cancelled.
    let march = create_run(&app, &owner, &org, "2025-03-31").await;
    let producer_march = payouts_by_payee(&march)[&producer].clone();
    let run_id = march["id"].as_str().expect("run id");
    let data = app
        .ok(
            Some(&owner),
            CANCEL_RUN,
            json!({"input": {"payoutRunId": run_id}}),
        )
        .await;
    no_user_errors(&data["cancelPayoutRun"]);
    let cancelled = csv(&app, &owner, &producer_march).await;
    assert_eq!(cancelled.fields["Run status"], "cancelled");
    assert!(cancelled.lines.is_empty(), "no sales in March");
    let (_, pdf) = download(
        &app,
        &owner,
        producer_march["statementPdfUrl"].as_str().expect("url"),
        "application/pdf",
    )
    .await;
    assert!(contains(
        &pdf_text(&pdf),
        "(CANCELLED: this payout run was cancelled"
    ));
}

on_every_backend!(statements_for_payees);
