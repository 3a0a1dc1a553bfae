//! Payout rails, black-box: payees' structured payment details (userErrors for a bad IBAN,
//! BIC or e-mail; masked for a viewer; another organisation's or artist's payee is not
//! found), an approved run's Wise, PayPal and SEPA files (each paying exactly its rail's
//! payable; the SEPA file valid against the pain.001.001.03 XSD by `xmllint`), and
//! confirmations (Wise and PayPal result CSVs, a CAMT.053 statement) that mark each payout paid
//! once, a second import changing nothing, the run paid when every payout is.

use std::collections::BTreeMap;
use std::process::Command;

use reqwest::StatusCode;
use serde_json::{Value, json};
use tests::{TestApp, on_every_backend};

use super::money::{
    ADD_TRACK, APPROVE_RUN, CREATE_AGREEMENT, CREATE_ARTIST, CREATE_PAYEE, CREATE_RELEASE,
    CREATE_RUN, PAY_RUN, SET_SPLIT, id_at, payouts_by_payee, wait_allocated,
};

const SET_DETAILS: &str = "mutation($input: SetPayeePaymentDetailsInput!) { setPayeePaymentDetails(input: $input) { payee { id paymentDetails { rail masked iban bic accountHolder email wiseRecipientId } } userErrors { field message code } } }";
const SET_ACCOUNT: &str = "mutation($input: SetOrganizationPayoutAccountInput!) { setOrganizationPayoutAccount(input: $input) { iban bic userErrors { field message code } } }";
const PAYEE: &str = "query($id: ID!) { node(id: $id) { ... on Payee { id name paymentDetails { rail masked iban bic email wiseRecipientId } } } }";
const RUN: &str = "query($id: ID!) { node(id: $id) { ... on PayoutRun { id status payouts(first: 100) { edges { node { id status currency payee { id name } payable { amount } paymentReference } } } } } }";
const RAILS: &str = "query($id: ID!) { node(id: $id) { ... on PayoutRun { rails { wiseBatchCsvUrl paypalPayoutsCsvUrl sepaCreditTransferUrl totals { rail currency payoutCount amount { amount } } payoutsWithoutUsableDetails { reason payout { id payee { id } } } } } } }";
const IMPORT: &str = "mutation($input: ImportPayoutConfirmationInput!) { importPayoutConfirmation(input: $input) { format paidCount alreadyPaidCount unmatchedRows { line reason } payoutRun { id status } userErrors { field message code } } }";

const IBAN_ADA: &str = "DE44 5001 0517 5407 3249 31";
const IBAN_LABEL: &str = "FR1420041010050500013M02606";

/// An exact decimal string in nano-units.
fn nanos(amount: &str) -> i64 {
    domain::money::parse_decimal_str(amount)
        .unwrap_or_else(|e| panic!("{amount:?} is not an exact amount: {e}"))
}

fn fields(payload: &Value) -> Vec<String> {
    payload["userErrors"]
        .as_array()
        .expect("userErrors")
        .iter()
        .map(|e| {
            e["field"]
                .as_array()
                .expect("field path")
                .iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(".")
        })
        .collect()
}

async fn get(app: &TestApp, token: Option<&str>, url: &str) -> reqwest::Response {
    let mut request = app.client.get(format!("{}{url}", app.base_url));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.expect("request sent")
}

async fn download(app: &TestApp, token: &str, url: &str) -> String {
    let response = get(app, Some(token), url).await;
    assert_eq!(response.status(), StatusCode::OK, "{url}");
    response.text().await.expect("body")
}

/// `importPayoutConfirmation` through a GraphQL multipart request: its payload.
async fn import(
    app: &TestApp,
    token: &str,
    org: &str,
    run: &str,
    name: &str,
    bytes: &[u8],
) -> Value {
    let response = import_raw(app, token, org, run, name, bytes).await;
    assert!(response["errors"].is_null(), "{response}");
    response["data"]["importPayoutConfirmation"].clone()
}

/// The whole response of an import.
async fn import_raw(
    app: &TestApp,
    token: &str,
    org: &str,
    run: &str,
    name: &str,
    bytes: &[u8],
) -> Value {
    let operations = json!({
        "query": IMPORT,
        "variables": { "input": { "organizationId": org, "payoutRunId": run, "file": null } },
    });
    let form = reqwest::multipart::Form::new()
        .text("operations", operations.to_string())
        .text("map", json!({ "0": ["variables.input.file"] }).to_string())
        .part(
            "0",
            reqwest::multipart::Part::bytes(bytes.to_vec()).file_name(name.to_owned()),
        );
    let response: Value = app
        .client
        .post(format!("{}/graphql", app.base_url))
        .bearer_auth(token)
        .multipart(form)
        .send()
        .await
        .expect("import sent")
        .json()
        .await
        .expect("JSON");
    response
}

/// The XSD the SEPA file must follow: `IMPRINT_SCHEMAS_DIR`, else `../shared/schemas` beside
/// the repository.
fn pain_xsd() -> std::path::PathBuf {
    std::env::var_os("IMPRINT_SCHEMAS_DIR")
        .map_or_else(
            || std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/schemas"),
            std::path::PathBuf::from,
        )
        .join("pain.001.001.03.xsd")
}

/// Validates `xml` against the pain.001.001.03 XSD with `xmllint` (libxml2-utils). There is
/// no silent pass: without `xmllint` or the XSD the test fails.
fn validate_sepa(xml: &str) {
    let xsd = pain_xsd();
    assert!(xsd.is_file(), "the XSD is not at {}", xsd.display());
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("sepa.xml");
    std::fs::write(&file, xml).expect("write");
    let output = Command::new("xmllint")
        .arg("--noout")
        .arg("--schema")
        .arg(&xsd)
        .arg(&file)
        .output()
        .expect("xmllint (apt-get install libxml2-utils) must be installed to validate SEPA files");
    assert!(
        output.status.success(),
        "the SEPA file does not validate:\n{}\n{xml}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Every `<tag ...>value</tag>` of `xml`, in order.
fn xml_values<'a>(xml: &'a str, tag: &str) -> Vec<&'a str> {
    xml.split(&format!("<{tag}"))
        .skip(1)
        .filter_map(|s| {
            let start = s.find('>')? + 1;
            let end = s.find('<')?;
            Some(&s[start..end])
        })
        .collect()
}

fn csv_rows(text: &str, headers: bool) -> Vec<Vec<String>> {
    csv::ReaderBuilder::new()
        .has_headers(headers)
        .from_reader(text.as_bytes())
        .records()
        .map(|r| r.expect("CSV record").iter().map(str::to_owned).collect())
        .collect()
}

async fn payout_rails(app: TestApp) {
    // A euro label: Ada (artist payee), a producer and a guest, and a session musician without
    // payment details, sharing one track a quarter each.
    let owner = app.sign_up("owner@rails.test").await;
    let data = app
        .ok(
            Some(&owner),
            "mutation($input: CreateOrganizationInput!) { createOrganization(input: $input) { organization { id } } }",
            json!({"input": {"name": "Tern Records", "kind": "LABEL", "baseCurrency": "EUR"}}),
        )
        .await;
    let org = id_at(&data, &["createOrganization", "organization", "id"]);
    let data = app
        .ok(
            Some(&owner),
            CREATE_ARTIST,
            json!({"input": {"organizationId": org, "name": "Ada Vesper"}}),
        )
        .await;
    let ada = id_at(&data, &["createArtist", "artist", "id"]);
    let ada_payee = id_at(&data["createArtist"]["artist"]["payees"][0], &["id"]);
    let data = app.ok(Some(&owner), CREATE_AGREEMENT, json!({"input": {"artistId": ada, "title": "Record deal", "masterOwner": "LABEL", "artistRevenueShare": "100", "dealBasis": "GROSS", "startsOn": "2024-01-01"}})).await;
    assert_eq!(data["createAgreement"]["userErrors"], json!([]), "{data}");
    let mut payee = BTreeMap::new();
    for (name, kind) in [
        ("Theo Marsh", "PRODUCER"),
        ("Iris Kane", "FEATURED"),
        ("Sol Ray", "PRODUCER"),
    ] {
        let data = app
            .ok(
                Some(&owner),
                CREATE_PAYEE,
                json!({"input": {"organizationId": org, "name": name, "kind": kind}}),
            )
            .await;
        payee.insert(name, id_at(&data, &["createPayee", "payee", "id"]));
    }
    let (producer, guest, session) = (
        payee["Theo Marsh"].clone(),
        payee["Iris Kane"].clone(),
        payee["Sol Ray"].clone(),
    );
    let data = app
        .ok(
            Some(&owner),
            CREATE_RELEASE,
            json!({"input": {"artistId": ada, "title": "Night Ferry", "releaseType": "SINGLE"}}),
        )
        .await;
    let release = id_at(&data, &["createRelease", "release", "id"]);
    let data = app
        .ok(
            Some(&owner),
            ADD_TRACK,
            json!({"input": {"releaseId": release, "title": "Harbour Lights", "isrc": "QZBEN2500001"}}),
        )
        .await;
    assert_eq!(data["addTrack"]["userErrors"], json!([]), "{data}");
    let data = app
        .ok(
            Some(&owner),
            SET_SPLIT,
            json!({"input": {"releaseId": release, "effectiveFrom": "2024-01-01", "shares": [
                {"payeeId": ada_payee, "share": "25"},
                {"payeeId": producer, "share": "25"},
                {"payeeId": guest, "share": "25"},
                {"payeeId": session, "share": "25"},
            ]}}),
        )
        .await;
    assert_eq!(data["setSplit"]["userErrors"], json!([]), "{data}");
    let viewer = app
        .invite_member(&owner, &org, "viewer@rails.test", "VIEWER", None)
        .await;
    let ada_token = app
        .invite_member(&owner, &org, "ada@rails.test", "ARTIST", Some(&ada))
        .await;
    let outsider = app.sign_up("outsider@elsewhere.test").await;
    let elsewhere = app.create_organization(&outsider, "Elsewhere").await;

    // Bad input: userErrors on the field, nothing stored.
    let data = app.ok(Some(&owner), SET_DETAILS, json!({"input": {"payeeId": ada_payee, "rail": "IBAN", "iban": "DE45 5001 0517 5407 3249 31", "bic": "DEUT"}})).await;
    assert_eq!(
        fields(&data["setPayeePaymentDetails"]),
        ["iban", "bic"],
        "{data}"
    );
    let data = app
        .ok(
            Some(&owner),
            SET_DETAILS,
            json!({"input": {"payeeId": producer, "rail": "PAYPAL", "email": "theo@@example"}}),
        )
        .await;
    assert_eq!(fields(&data["setPayeePaymentDetails"]), ["email"], "{data}");
    let data = app
        .ok(
            Some(&owner),
            SET_DETAILS,
            json!({"input": {"payeeId": guest, "rail": "WISE"}}),
        )
        .await;
    assert_eq!(fields(&data["setPayeePaymentDetails"]), ["email"], "{data}");
    let data = app.ok(Some(&owner), PAYEE, json!({"id": ada_payee})).await;
    assert!(data["node"]["paymentDetails"].is_null(), "{data}");

    // Good input.
    let data = app.ok(Some(&owner), SET_DETAILS, json!({"input": {"payeeId": ada_payee, "rail": "IBAN", "iban": IBAN_ADA, "bic": "deutdeff", "accountHolder": "Ada V. Marsh"}})).await;
    let details = &data["setPayeePaymentDetails"]["payee"]["paymentDetails"];
    assert_eq!(details["iban"], "DE44500105175407324931", "{data}");
    assert_eq!(details["bic"], "DEUTDEFF");
    assert_eq!(details["masked"], false);
    for (id, input) in [
        (
            &producer,
            json!({"rail": "PAYPAL", "email": "Theo@Example.com"}),
        ),
        (
            &guest,
            json!({"rail": "WISE", "wiseRecipientId": "48213377"}),
        ),
    ] {
        let mut input = input;
        input["payeeId"] = json!(id);
        let data = app
            .ok(Some(&owner), SET_DETAILS, json!({"input": input}))
            .await;
        assert_eq!(
            data["setPayeePaymentDetails"]["userErrors"],
            json!([]),
            "{data}"
        );
    }
    let data = app
        .ok(
            Some(&owner),
            SET_ACCOUNT,
            json!({"input": {"organizationId": org, "iban": "FR14 2004 1010 0505 0001 3M02 607"}}),
        )
        .await;
    assert_eq!(
        fields(&data["setOrganizationPayoutAccount"]),
        ["iban"],
        "{data}"
    );
    let data = app
        .ok(
            Some(&owner),
            SET_ACCOUNT,
            json!({"input": {"organizationId": org, "iban": IBAN_LABEL, "bic": "BNPAFRPP"}}),
        )
        .await;
    assert_eq!(
        data["setOrganizationPayoutAccount"]["iban"], IBAN_LABEL,
        "{data}"
    );

    // Who sees what: a viewer sees the details masked; Ada sees her own whole and not the
    // producer's at all; another organisation finds nothing, and may change nothing.
    let data = app.ok(Some(&viewer), PAYEE, json!({"id": ada_payee})).await;
    let masked = &data["node"]["paymentDetails"];
    assert_eq!(masked["masked"], true, "{data}");
    assert_eq!(masked["iban"], "DE••••••••••••••••4931");
    assert!(masked["bic"].is_null());
    let data = app.ok(Some(&viewer), PAYEE, json!({"id": producer})).await;
    assert_eq!(data["node"]["paymentDetails"]["email"], "t•••@example.com");
    let data = app
        .ok(Some(&ada_token), PAYEE, json!({"id": ada_payee}))
        .await;
    assert_eq!(
        data["node"]["paymentDetails"]["iban"],
        "DE44500105175407324931"
    );
    let data = app
        .graphql(Some(&ada_token), PAYEE, json!({"id": producer}))
        .await;
    assert!(data["data"]["node"].is_null(), "{data}");
    for token in [&ada_token, &outsider] {
        let data = app.graphql(Some(token), SET_DETAILS, json!({"input": {"payeeId": producer, "rail": "PAYPAL", "email": "thief@example.com"}})).await;
        assert_eq!(
            data["errors"][0]["extensions"]["code"], "NOT_FOUND",
            "{data}"
        );
    }
    let data = app
        .graphql(
            Some(&viewer),
            SET_DETAILS,
            json!({"input": {"payeeId": producer, "rail": "PAYPAL", "email": "thief@example.com"}}),
        )
        .await;
    assert_eq!(
        data["errors"][0]["extensions"]["code"], "FORBIDDEN",
        "{data}"
    );
    let data = app
        .graphql(
            Some(&outsider),
            SET_ACCOUNT,
            json!({"input": {"organizationId": org, "iban": IBAN_LABEL}}),
        )
        .await;
    assert_eq!(
        data["errors"][0]["extensions"]["code"], "NOT_FOUND",
        "{data}"
    );

    // A euro statement, allocated, then a run computed and approved.
    let data = app.ok(Some(&owner), "mutation($org: ID!) { createImportTemplate(input: {organizationId: $org, name: \"Euro store\", mapping: {amount: \"Revenue\", currency: \"Currency\", isrc: \"ISRC\", title: \"Song\", territory: \"Country\", quantity: \"Plays\", salePeriod: \"Period\"}}) { importTemplate { name } userErrors { field message } } }", json!({"org": org})).await;
    assert_eq!(
        data["createImportTemplate"]["userErrors"],
        json!([]),
        "{data}"
    );
    let csv = "Period,ISRC,Song,Country,Plays,Revenue,Currency\r\n2025-01,QZBEN2500001,Harbour Lights,DE,1200,123.45,EUR\r\n2025-01,QZBEN2500001,Harbour Lights,FR,800,77.03,EUR\r\n";
    let upload = app
        .upload_statement(&owner, &org, "euro.csv", csv.as_bytes().to_vec())
        .await;
    let statement = upload["data"]["uploadStatement"]["statement"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{upload}"))
        .to_owned();
    let parsed = app.wait_for_statement(&owner, &statement).await;
    assert_eq!(parsed["status"], "PARSED", "{parsed}");
    wait_allocated(&app, &owner, &statement).await;
    let data = app
        .ok(
            Some(&owner),
            CREATE_RUN,
            json!({"input": {"organizationId": org, "periodEnd": "2025-01-31"}}),
        )
        .await;
    let run_id = id_at(&data, &["createPayoutRun", "payoutRun", "id"]);
    super::money::wait_for_run(&app, &owner, RUN, &run_id, "READY").await;
    // A ready run exports nothing yet.
    let response = get(
        &app,
        Some(&owner),
        &format!("/payout-runs/{}/wise.csv", run_id),
    )
    .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let data = app
        .ok(
            Some(&owner),
            APPROVE_RUN,
            json!({"input": {"payoutRunId": run_id}}),
        )
        .await;
    assert_eq!(data["approvePayoutRun"]["userErrors"], json!([]), "{data}");
    let run = app.ok(Some(&owner), RUN, json!({"id": run_id})).await["node"].clone();
    let payouts = payouts_by_payee(&run);
    let payable = |payee: &str| {
        nanos(
            payouts[payee]["payable"]["amount"]
                .as_str()
                .expect("payable"),
        )
    };
    for p in [&ada_payee, &producer, &guest, &session] {
        assert!(payable(p) > 0, "{run}");
        assert_eq!(payouts[p]["currency"], "EUR");
    }
    let reference = |payee: &str| {
        format!(
            "IMPRINT-{}",
            tests::decode_id(payouts[payee]["id"].as_str().expect("payout id"))
        )
    };

    // The rails: totals per rail, and the payout no rail can pay.
    let data = app.ok(Some(&owner), RAILS, json!({"id": run_id})).await;
    let rails = &data["node"]["rails"];
    let totals: BTreeMap<String, i64> = rails["totals"]
        .as_array()
        .expect("totals")
        .iter()
        .map(|t| {
            (
                t["rail"].as_str().expect("rail").to_owned(),
                nanos(t["amount"]["amount"].as_str().expect("amount")),
            )
        })
        .collect();
    assert_eq!(totals["SEPA"], payable(&ada_payee), "{rails}");
    assert_eq!(totals["PAYPAL"], payable(&producer));
    assert_eq!(totals["WISE"], payable(&guest));
    let unusable = rails["payoutsWithoutUsableDetails"]
        .as_array()
        .expect("list");
    assert_eq!(unusable.len(), 1, "{rails}");
    assert_eq!(unusable[0]["payout"]["payee"]["id"], session.as_str());
    assert!(
        unusable[0]["reason"]
            .as_str()
            .expect("reason")
            .contains("no payment details")
    );
    // The rails are for those who pay: a viewer is refused, an outsider finds no run.
    let data = app
        .graphql(Some(&viewer), RAILS, json!({"id": run_id}))
        .await;
    assert_eq!(
        data["errors"][0]["extensions"]["code"], "FORBIDDEN",
        "{data}"
    );
    let url = |field: &str| rails[field].as_str().expect("url").to_owned();
    for field in [
        "wiseBatchCsvUrl",
        "paypalPayoutsCsvUrl",
        "sepaCreditTransferUrl",
    ] {
        assert_eq!(
            get(&app, None, &url(field)).await.status(),
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(
            get(&app, Some(&outsider), &url(field)).await.status(),
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            get(&app, Some(&viewer), &url(field)).await.status(),
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            get(&app, Some(&ada_token), &url(field)).await.status(),
            StatusCode::FORBIDDEN
        );
    }

    // Wise: a header and the guest's row, paying exactly the guest's payable.
    let wise = download(&app, &owner, &url("wiseBatchCsvUrl")).await;
    let rows = csv_rows(&wise, false);
    assert_eq!(
        rows[0],
        [
            "name",
            "recipientId",
            "recipientEmail",
            "type",
            "paymentReference",
            "amountCurrency",
            "amount",
            "sourceCurrency",
            "targetCurrency"
        ]
    );
    assert_eq!(rows.len(), 2, "{wise}");
    assert_eq!(rows[1][1], "48213377");
    assert_eq!(rows[1][4], reference(&guest));
    assert_eq!(rows[1][8], "EUR");
    assert_eq!(
        rows[1..].iter().map(|r| nanos(&r[6])).sum::<i64>(),
        payable(&guest)
    );
    // PayPal: no header; the producer's row.
    let paypal = download(&app, &owner, &url("paypalPayoutsCsvUrl")).await;
    let rows = csv_rows(&paypal, false);
    assert_eq!(rows.len(), 1, "{paypal}");
    assert_eq!(rows[0][0], "theo@example.com");
    assert_eq!(nanos(&rows[0][1]), payable(&producer));
    assert_eq!(rows[0][2], "EUR");
    assert_eq!(rows[0][3], reference(&producer));
    // SEPA: valid against the XSD; one transfer, Ada's, the control sum exact.
    let sepa = download(&app, &owner, &url("sepaCreditTransferUrl")).await;
    validate_sepa(&sepa);
    assert_eq!(xml_values(&sepa, "EndToEndId"), [reference(&ada_payee)]);
    let amounts: i64 = xml_values(&sepa, "InstdAmt").iter().map(|a| nanos(a)).sum();
    assert_eq!(amounts, payable(&ada_payee));
    assert!(
        xml_values(&sepa, "CtrlSum")
            .iter()
            .all(|s| nanos(s) == amounts),
        "{sepa}"
    );
    assert_eq!(
        xml_values(&sepa, "IBAN"),
        [IBAN_LABEL, "DE44500105175407324931"]
    );
    assert_eq!(xml_values(&sepa, "Nm")[2], "Ada V. Marsh");

    // The session musician is paid by hand; the run waits for the others.
    let data = app.ok(Some(&owner), PAY_RUN, json!({"input": {"payoutRunId": run_id, "payments": [{"payeeId": session, "paymentReference": "cash-1"}]}})).await;
    assert_eq!(
        data["markPayoutRunPaid"]["payoutRun"]["status"], "APPROVED",
        "{data}"
    );

    // Wise's result: the guest's transfer, plus a row for no payout of ours (line 3).
    let amount = |payee: &str| {
        payouts[payee]["payable"]["amount"]
            .as_str()
            .expect("amount")
            .to_owned()
    };
    let wise_result = format!(
        "TransferWise ID,Status,Target amount,Target currency,Reference\n\
         T-900,outgoing_payment_sent,{},EUR,{}\n\
         T-901,outgoing_payment_sent,1.00,EUR,IMPRINT-999999999\n",
        amount(&guest),
        reference(&guest)
    );
    let data = import(
        &app,
        &owner,
        &org,
        &run_id,
        "wise.csv",
        wise_result.as_bytes(),
    )
    .await;
    assert_eq!(data["userErrors"], json!([]), "{data}");
    assert_eq!(data["format"], "wise");
    assert_eq!(data["paidCount"], 1, "{data}");
    assert_eq!(data["unmatchedRows"][0]["line"], 3, "{data}");
    assert_eq!(data["payoutRun"]["status"], "APPROVED");
    // The same file again changes nothing, and says so.
    let data = import(
        &app,
        &owner,
        &org,
        &run_id,
        "wise.csv",
        wise_result.as_bytes(),
    )
    .await;
    assert_eq!(
        (data["paidCount"].clone(), data["alreadyPaidCount"].clone()),
        (json!(0), json!(1)),
        "{data}"
    );
    // PayPal's result.
    let paypal_result = format!(
        "Transaction ID,Recipient,Sender Item ID,Status,Amount,Currency\nPP-1,theo@example.com,{},Completed,{},EUR\n",
        reference(&producer),
        amount(&producer)
    );
    let data = import(
        &app,
        &owner,
        &org,
        &run_id,
        "paypal.csv",
        paypal_result.as_bytes(),
    )
    .await;
    assert_eq!(
        (data["format"].clone(), data["paidCount"].clone()),
        (json!("paypal"), json!(1)),
        "{data}"
    );
    // Not a confirmation at all: a userError.
    let data = import(&app, &owner, &org, &run_id, "notes.txt", b"hello\nworld\n").await;
    assert_eq!(fields(&data), ["file"], "{data}");
    // Nobody else may import: a viewer is refused, another organisation finds no run.
    for (token, their_org, code) in [
        (&viewer, &org, "FORBIDDEN"),
        (&ada_token, &org, "FORBIDDEN"),
        (&outsider, &elsewhere, "NOT_FOUND"),
        (&outsider, &org, "FORBIDDEN"),
    ] {
        let data = import_raw(
            &app,
            token,
            their_org,
            &run_id,
            "paypal.csv",
            paypal_result.as_bytes(),
        )
        .await;
        assert_eq!(data["errors"][0]["extensions"]["code"], code, "{data}");
    }
    // The bank's statement: Ada's transfer booked, and an incoming credit that pays nothing.
    let camt = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02">
  <BkToCstmrStmt>
    <Stmt>
      <Ntry>
        <Amt Ccy="EUR">{amount}</Amt>
        <CdtDbtInd>DBIT</CdtDbtInd>
        <Sts>BOOK</Sts>
        <AcctSvcrRef>BNP-77</AcctSvcrRef>
        <NtryDtls><TxDtls><Refs><EndToEndId>{reference}</EndToEndId></Refs></TxDtls></NtryDtls>
      </Ntry>
      <Ntry>
        <Amt Ccy="EUR">500.00</Amt>
        <CdtDbtInd>CRDT</CdtDbtInd>
        <Sts>BOOK</Sts>
      </Ntry>
    </Stmt>
  </BkToCstmrStmt>
</Document>
"#,
        amount = amount(&ada_payee),
        reference = reference(&ada_payee)
    );
    let data = import(&app, &owner, &org, &run_id, "camt053.xml", camt.as_bytes()).await;
    assert_eq!(data["format"], "camt053", "{data}");
    assert_eq!(data["paidCount"], 1, "{data}");
    assert_eq!(data["unmatchedRows"][0]["line"], 12, "{data}");
    assert_eq!(data["payoutRun"]["status"], "PAID", "{data}");
    let data = import(&app, &owner, &org, &run_id, "camt053.xml", camt.as_bytes()).await;
    assert_eq!(
        (data["paidCount"].clone(), data["alreadyPaidCount"].clone()),
        (json!(0), json!(1)),
        "{data}"
    );
    assert_eq!(data["payoutRun"]["status"], "PAID");
    let run = app.ok(Some(&owner), RUN, json!({"id": run_id})).await["node"].clone();
    let payouts = payouts_by_payee(&run);
    assert_eq!(payouts[&ada_payee]["paymentReference"], "camt053:BNP-77");
    assert_eq!(payouts[&producer]["paymentReference"], "paypal:PP-1");
    assert_eq!(payouts[&guest]["paymentReference"], "wise:T-900");
    assert!(payouts.values().all(|p| p["status"] == "PAID"), "{run}");
}

on_every_backend!(payout_rails);
