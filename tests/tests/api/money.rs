//! Money end to end: a statement allocated by splits and agreements, an advance recouped, a
//! payout run with a payee under the minimum, payment, reallocation after a split change, and
//! the books balancing to the nano-unit at every step, as a label manager would see it.

use std::time::Duration;

use serde_json::{Value, json};
use tests::{TestApp, decode_id, on_every_backend};

pub(crate) const CREATE_ARTIST: &str = "mutation($input: CreateArtistInput!) { createArtist(input: $input) { artist { id payees { id } } userErrors { field message code } } }";
pub(crate) const CREATE_PAYEE: &str = "mutation($input: CreatePayeeInput!) { createPayee(input: $input) { payee { id } userErrors { field message code } } }";
pub(crate) const CREATE_AGREEMENT: &str = "mutation($input: CreateAgreementInput!) { createAgreement(input: $input) { agreement { id } userErrors { field message code } } }";
pub(crate) const CREATE_RELEASE: &str = "mutation($input: CreateReleaseInput!) { createRelease(input: $input) { release { id } userErrors { field message code } } }";
pub(crate) const ADD_TRACK: &str = "mutation($input: AddTrackInput!) { addTrack(input: $input) { track { id } userErrors { field message code } } }";
pub(crate) const SET_SPLIT: &str = "mutation($input: SetSplitInput!) { setSplit(input: $input) { split { id } userErrors { field message code } } }";
pub(crate) const CREATE_RUN: &str = "mutation($input: CreatePayoutRunInput!) { createPayoutRun(input: $input) { payoutRun { id status } userErrors { field message code } } }";
pub(crate) const APPROVE_RUN: &str = "mutation($input: PayoutRunInput!) { approvePayoutRun(input: $input) { payoutRun { id status } userErrors { field message code } } }";
pub(crate) const PAY_RUN: &str = "mutation($input: MarkPayoutRunPaidInput!) { markPayoutRunPaid(input: $input) { payoutRun { id status paidAt } userErrors { field message code } } }";
pub(crate) const CANCEL_RUN: &str = "mutation($input: PayoutRunInput!) { cancelPayoutRun(input: $input) { payoutRun { id status } userErrors { field message code } } }";
pub(crate) const RUN: &str = "query($id: ID!) { node(id: $id) { ... on PayoutRun { id status failureReason totals { currency payeeCount payable { amount } carriedForward { amount } recouped { amount } earnings { amount } } payouts(first: 100) { totalCount edges { node { id status belowMinimum currency payee { id name } broughtForward { amount } earnings { amount } recouped { amount } reserved { amount } payable { amount } carriedForward { amount } roundingRemainder { amount } paymentReference } } } } } }";
const SUMMARY: &str = "query($id: ID!) { organization(id: $id) { moneySummary { currency allocated { amount } paid { amount } carriedForward { amount } reserved { amount } recouped { amount } pending { amount } balanced } } }";
const STATEMENT: &str = "query($id: ID!) { statement(id: $id) { id status allocationStatus allocatedCount unallocatedCount allocationIssues { reason lineCount firstLineNumber } } }";

pub(crate) const HEADER: &str = "Reporting Date\tSale Month\tStore\tArtist\tTitle\tISRC\tUPC\tQuantity\tTeam Percentage\tSong/Album\tCountry of Sale\tSongwriter Royalties Withheld\tEarnings (USD)";

pub(crate) fn user_errors(payload: &Value) -> Vec<String> {
    payload["userErrors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .map(|e| format!("{}: {}", e["field"], e["message"]))
                .collect()
        })
        .unwrap_or_default()
}

pub(crate) fn id_at(data: &Value, path: &[&str]) -> String {
    let mut v = data;
    for p in path {
        v = &v[*p];
    }
    v.as_str()
        .unwrap_or_else(|| panic!("no id at {path:?} in {data}"))
        .to_owned()
}

/// A DistroKid statement for one ISRC, one line per amount, sold in January 2025.
pub(crate) fn statement(isrc: &str, amounts: &[&str]) -> Vec<u8> {
    let mut out = format!("{HEADER}\r\n");
    for (i, amount) in amounts.iter().enumerate() {
        out.push_str(&format!(
            "2025-02-28\t2025-01\tSpotify\tAda Vesper\tHarbour Lights\t{isrc}\t\t{}\t100\tSong\tUS\t0\t{amount}\r\n",
            i + 10
        ));
    }
    out.into_bytes()
}

pub(crate) struct Label {
    pub(crate) token: String,
    pub(crate) org: String,
    pub(crate) ada: String,
    pub(crate) ada_payee: String,
    pub(crate) producer: String,
    pub(crate) guest: String,
    pub(crate) release: String,
}

/// A label with one artist (a 10.00 advance under a gross, 100 % agreement), a producer with a
/// 50.00 minimum and a guest, splitting one release a third each.
pub(crate) async fn label(app: &TestApp, email: &str) -> Label {
    let token = app.sign_up(email).await;
    let org = app.create_organization(&token, "Tern Records").await;
    let data = app
        .ok(
            Some(&token),
            CREATE_ARTIST,
            json!({"input": {"organizationId": org, "name": "Ada Vesper"}}),
        )
        .await;
    let ada = id_at(&data, &["createArtist", "artist", "id"]);
    let ada_payee = data["createArtist"]["artist"]["payees"][0]["id"]
        .as_str()
        .expect("artist payee")
        .to_owned();
    let data = app.ok(Some(&token), CREATE_AGREEMENT, json!({"input": {"artistId": ada, "title": "Record deal", "masterOwner": "LABEL", "artistRevenueShare": "100", "dealBasis": "GROSS", "advance": "10.00", "startsOn": "2024-01-01"}})).await;
    assert_eq!(user_errors(&data["createAgreement"]), Vec::<String>::new());
    let data = app.ok(Some(&token), CREATE_PAYEE, json!({"input": {"organizationId": org, "name": "Theo Marsh", "kind": "PRODUCER", "minimumPayout": "50.00"}})).await;
    let producer = id_at(&data, &["createPayee", "payee", "id"]);
    let data = app
        .ok(
            Some(&token),
            CREATE_PAYEE,
            json!({"input": {"organizationId": org, "name": "Iris Kane", "kind": "FEATURED"}}),
        )
        .await;
    let guest = id_at(&data, &["createPayee", "payee", "id"]);
    let data = app
        .ok(
            Some(&token),
            CREATE_RELEASE,
            json!({"input": {"artistId": ada, "title": "Night Ferry", "releaseType": "SINGLE"}}),
        )
        .await;
    let release = id_at(&data, &["createRelease", "release", "id"]);
    let data = app
        .ok(
            Some(&token),
            ADD_TRACK,
            json!({"input": {"releaseId": release, "title": "Harbour Lights", "isrc": "QZBEN2500001"}}),
        )
        .await;
    assert_eq!(user_errors(&data["addTrack"]), Vec::<String>::new());
    let data = app
        .ok(
            Some(&token),
            SET_SPLIT,
            json!({"input": {"releaseId": release, "effectiveFrom": "2024-01-01", "shares": [
                {"payeeId": ada_payee, "share": "33.3333333"},
                {"payeeId": producer, "share": "33.3333333"},
                {"payeeId": guest, "share": "33.3333334"},
            ]}}),
        )
        .await;
    assert_eq!(user_errors(&data["setSplit"]), Vec::<String>::new());
    Label {
        token,
        org,
        ada,
        ada_payee,
        producer,
        guest,
        release,
    }
}

pub(crate) async fn wait_allocated(app: &TestApp, token: &str, statement_id: &str) -> Value {
    app.eventually(Duration::from_secs(60), || async {
        let data = app
            .ok(Some(token), STATEMENT, json!({"id": statement_id}))
            .await;
        (data["statement"]["allocationStatus"] == "ALLOCATED").then(|| data["statement"].clone())
    })
    .await
}

pub(crate) async fn wait_run(app: &TestApp, token: &str, run_id: &str, status: &str) -> Value {
    wait_for_run(app, token, RUN, run_id, status).await
}

/// Waits until the run is `status`, and returns it as `query` (a `node(id:)` query) reads it.
pub(crate) async fn wait_for_run(
    app: &TestApp,
    token: &str,
    query: &str,
    run_id: &str,
    status: &str,
) -> Value {
    app.eventually(Duration::from_secs(60), || async {
        let data = app.ok(Some(token), query, json!({"id": run_id})).await;
        (data["node"]["status"] == status).then(|| data["node"].clone())
    })
    .await
}

pub(crate) async fn upload(app: &TestApp, l: &Label, name: &str, bytes: Vec<u8>) -> String {
    let data = app.upload_statement(&l.token, &l.org, name, bytes).await;
    let id = data["data"]["uploadStatement"]["statement"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("uploaded: {data}"))
        .to_owned();
    let parsed = app.wait_for_statement(&l.token, &id).await;
    assert_eq!(parsed["status"], "PARSED", "{parsed}");
    id
}

/// The payouts of a run, by payee id.
pub(crate) fn payouts_by_payee(run: &Value) -> std::collections::BTreeMap<String, Value> {
    run["payouts"]["edges"]
        .as_array()
        .expect("payouts")
        .iter()
        .map(|e| {
            (
                e["node"]["payee"]["id"].as_str().expect("payee").to_owned(),
                e["node"].clone(),
            )
        })
        .collect()
}

pub(crate) fn amount(v: &Value) -> &str {
    v["amount"]
        .as_str()
        .unwrap_or_else(|| panic!("no amount in {v}"))
}

pub(crate) async fn summary(app: &TestApp, l: &Label) -> Value {
    let data = app.ok(Some(&l.token), SUMMARY, json!({"id": l.org})).await;
    let rows = data["organization"]["moneySummary"]
        .as_array()
        .expect("summary");
    assert_eq!(rows.len(), 1, "one currency: {data}");
    assert_eq!(rows[0]["balanced"], true, "the books balance: {data}");
    rows[0].clone()
}

/// Independently of the API: Σ allocated = Σ paid + carried forward + reserved + recouped +
/// pending, from the tables directly.
pub(crate) async fn assert_conserved(app: &TestApp, organization_id: i64) {
    use sea_orm::{ConnectionTrait, Statement};
    let db = &app.state.db;
    let one = |sql: &str| {
        Statement::from_sql_and_values(db.get_database_backend(), sql, [organization_id.into()])
    };
    let sum = |row: Option<sea_orm::QueryResult>| -> i64 {
        row.and_then(|r| r.try_get_by_index::<Option<i64>>(0).ok().flatten())
            .unwrap_or(0)
    };
    let allocated = sum(db.query_one_raw(one("SELECT CAST(SUM(amount_nanos) AS BIGINT) FROM ledger_entries WHERE organization_id = $1 AND statement_line_id IS NOT NULL")).await.expect("query"));
    let recouped = sum(db.query_one_raw(one("SELECT CAST(SUM(amount_nanos) AS BIGINT) FROM ledger_entries WHERE organization_id = $1 AND account = 'recoupment'")).await.expect("query"));
    let paid = sum(db.query_one_raw(one("SELECT CAST(SUM(p.payable_nanos) AS BIGINT) FROM payouts p JOIN payout_runs r ON r.id = p.payout_run_id WHERE r.organization_id = $1 AND r.status = 'paid'")).await.expect("query"));
    let held = sum(db.query_one_raw(one("SELECT CAST(SUM(p.reserved_nanos - p.reserve_released_nanos) AS BIGINT) FROM payouts p JOIN payout_runs r ON r.id = p.payout_run_id WHERE r.organization_id = $1 AND r.status = 'paid'")).await.expect("query"));
    // Carried forward: each payee's payout in the latest paid run that has one.
    let carried = sum(db.query_one_raw(one("SELECT CAST(SUM(p.carried_forward_nanos) AS BIGINT) FROM payouts p JOIN payout_runs r ON r.id = p.payout_run_id \
        WHERE r.organization_id = $1 AND r.status = 'paid' AND NOT EXISTS (SELECT 1 FROM payouts q JOIN payout_runs s ON s.id = q.payout_run_id \
        WHERE s.status = 'paid' AND q.payee_id = p.payee_id AND q.currency = p.currency AND (s.period_end > r.period_end OR (s.period_end = r.period_end AND s.id > r.id)))")).await.expect("query"));
    let earned_in_runs = sum(db.query_one_raw(one("SELECT CAST(SUM(p.earnings_nanos - p.recouped_nanos) AS BIGINT) FROM payouts p JOIN payout_runs r ON r.id = p.payout_run_id WHERE r.organization_id = $1 AND r.status = 'paid'")).await.expect("query"));
    let net_allocated = allocated - recouped;
    let pending = net_allocated - earned_in_runs;
    assert_eq!(
        i128::from(allocated),
        i128::from(paid)
            + i128::from(carried)
            + i128::from(held)
            + i128::from(recouped)
            + i128::from(pending),
        "allocated {allocated} = paid {paid} + carried {carried} + held {held} + recouped {recouped} + pending {pending}"
    );
}

async fn three_payees_with_an_advance(app: TestApp) {
    let l = label(&app, "tern@label.test").await;
    let statement_id = upload(
        &app,
        &l,
        "jan.tsv",
        statement("QZBEN2500001", &["40.00", "35.00", "25.00"]),
    )
    .await;
    let st = wait_allocated(&app, &l.token, &statement_id).await;
    assert_eq!(st["allocatedCount"], 3);
    assert_eq!(st["unallocatedCount"], 0);

    // The advance is recouped from Ada's third before she is paid.
    let data = app.ok(Some(&l.token), "query($id: ID!) { organization(id: $id) { recoupables { totalCount edges { node { kind amount { amount } recouped { amount } remaining { amount } payee { id } } } } } }", json!({"id": l.org})).await;
    let recoupable = &data["organization"]["recoupables"]["edges"][0]["node"];
    assert_eq!(data["organization"]["recoupables"]["totalCount"], 1);
    assert_eq!(recoupable["kind"], "ADVANCE");
    assert_eq!(recoupable["payee"]["id"], l.ada_payee.as_str());
    assert_eq!(amount(&recoupable["recouped"]), "10.00");
    assert_eq!(amount(&recoupable["remaining"]), "0.00");

    // Nothing is payable for a period that has not ended, and a run for January works.
    let data = app
        .ok(
            Some(&l.token),
            CREATE_RUN,
            json!({"input": {"organizationId": l.org, "periodEnd": "2999-12-31"}}),
        )
        .await;
    assert_eq!(
        data["createPayoutRun"]["userErrors"][0]["field"],
        json!(["periodEnd"])
    );
    let data = app
        .ok(
            Some(&l.token),
            CREATE_RUN,
            json!({"input": {"organizationId": l.org, "periodEnd": "2025-01-31"}}),
        )
        .await;
    let run_id = id_at(&data, &["createPayoutRun", "payoutRun", "id"]);
    // One open run at a time.
    let data = app
        .ok(
            Some(&l.token),
            CREATE_RUN,
            json!({"input": {"organizationId": l.org, "periodEnd": "2025-01-31"}}),
        )
        .await;
    assert_eq!(
        data["createPayoutRun"]["userErrors"][0]["code"],
        "NOT_ALLOWED"
    );

    let run = wait_run(&app, &l.token, &run_id, "READY").await;
    let payouts = payouts_by_payee(&run);
    assert_eq!(payouts.len(), 3, "{run}");
    let ada = &payouts[&l.ada_payee];
    assert_eq!(amount(&ada["earnings"]), "33.3333333");
    assert_eq!(amount(&ada["recouped"]), "10.00");
    assert_eq!(amount(&ada["payable"]), "23.33");
    assert_eq!(amount(&ada["carriedForward"]), "0.0033333");
    assert_eq!(ada["status"], "PENDING");
    let producer = &payouts[&l.producer];
    assert_eq!(amount(&producer["earnings"]), "33.3333333");
    assert_eq!(amount(&producer["payable"]), "0.00");
    assert_eq!(amount(&producer["carriedForward"]), "33.3333333");
    assert_eq!(producer["belowMinimum"], true);
    assert_eq!(producer["status"], "CARRIED_FORWARD");
    let guest = &payouts[&l.guest];
    assert_eq!(amount(&guest["earnings"]), "33.3333334");
    assert_eq!(amount(&guest["payable"]), "33.33");
    assert_eq!(amount(&guest["carriedForward"]), "0.0033334");
    assert_eq!(amount(&guest["roundingRemainder"]), "0.0033334");
    // Paid + carried + recouped is the statement, exactly.
    let total = &run["totals"][0];
    assert_eq!(amount(&total["payable"]), "56.66");
    assert_eq!(amount(&total["carriedForward"]), "33.34");
    assert_eq!(amount(&total["recouped"]), "10.00");
    assert_eq!(amount(&total["earnings"]), "100.00");

    // Paying is for approved runs, with a reference for every payable payee.
    let data = app
        .ok(
            Some(&l.token),
            PAY_RUN,
            json!({"input": {"payoutRunId": run_id, "payments": [{"payeeId": l.guest, "paymentReference": "TX-1"}]}}),
        )
        .await;
    assert_eq!(
        data["markPayoutRunPaid"]["userErrors"][0]["code"],
        "NOT_ALLOWED"
    );
    let data = app
        .ok(
            Some(&l.token),
            APPROVE_RUN,
            json!({"input": {"payoutRunId": run_id}}),
        )
        .await;
    assert_eq!(data["approvePayoutRun"]["payoutRun"]["status"], "APPROVED");
    let data = app.ok(Some(&l.token), PAY_RUN, json!({"input": {"payoutRunId": run_id, "payments": [{"payeeId": l.producer, "paymentReference": "TX-0"}]}})).await;
    assert_eq!(
        data["markPayoutRunPaid"]["userErrors"][0]["code"], "NOT_FOUND",
        "nothing payable to a payee under the minimum"
    );
    let data = app
        .ok(
            Some(&l.token),
            PAY_RUN,
            json!({"input": {"payoutRunId": run_id, "payments": [{"payeeId": l.guest, "paymentReference": "TX-1"}]}}),
        )
        .await;
    assert_eq!(
        data["markPayoutRunPaid"]["payoutRun"]["status"], "APPROVED",
        "one payee still to pay"
    );
    // The same payment again changes nothing; another reference for it is refused.
    let data = app
        .ok(
            Some(&l.token),
            PAY_RUN,
            json!({"input": {"payoutRunId": run_id, "payments": [{"payeeId": l.guest, "paymentReference": "TX-1"}]}}),
        )
        .await;
    assert_eq!(
        user_errors(&data["markPayoutRunPaid"]),
        Vec::<String>::new()
    );
    let data = app
        .ok(
            Some(&l.token),
            PAY_RUN,
            json!({"input": {"payoutRunId": run_id, "payments": [{"payeeId": l.guest, "paymentReference": "TX-9"}]}}),
        )
        .await;
    assert_eq!(
        data["markPayoutRunPaid"]["userErrors"][0]["code"],
        "NOT_ALLOWED"
    );
    let data = app
        .ok(
            Some(&l.token),
            PAY_RUN,
            json!({"input": {"payoutRunId": run_id, "payments": [{"payeeId": l.ada_payee, "paymentReference": "TX-2"}]}}),
        )
        .await;
    assert_eq!(data["markPayoutRunPaid"]["payoutRun"]["status"], "PAID");
    let run = wait_run(&app, &l.token, &run_id, "PAID").await;
    assert_eq!(
        payouts_by_payee(&run)[&l.ada_payee]["paymentReference"],
        "TX-2"
    );
    let data = app
        .ok(
            Some(&l.token),
            CANCEL_RUN,
            json!({"input": {"payoutRunId": run_id}}),
        )
        .await;
    assert_eq!(
        data["cancelPayoutRun"]["userErrors"][0]["code"],
        "NOT_ALLOWED"
    );

    let s = summary(&app, &l).await;
    assert_eq!(amount(&s["allocated"]), "100.00");
    assert_eq!(amount(&s["paid"]), "56.66");
    assert_eq!(amount(&s["carriedForward"]), "33.34");
    assert_eq!(amount(&s["recouped"]), "10.00");
    assert_eq!(amount(&s["pending"]), "0.00");
    assert_conserved(&app, decode_id(&l.org)).await;

    // The artist sees her own payee's payout and totals, nothing of the others'.
    let data = app.ok(Some(&l.token), "mutation($input: InviteMemberInput!) { inviteMember(input: $input) { invitationToken } }", json!({"input": {"organizationId": l.org, "email": "ada@tern.test", "role": "ARTIST", "artistId": l.ada}})).await;
    let invitation = data["inviteMember"]["invitationToken"]
        .as_str()
        .expect("invitation")
        .to_owned();
    let ada_token = app.sign_up("ada@tern.test").await;
    app.ok(
        Some(&ada_token),
        "mutation($token: String!) { acceptInvitation(input: {token: $token}) { member { role } } }",
        json!({"token": invitation}),
    )
    .await;
    let own = app.ok(Some(&ada_token), RUN, json!({"id": run_id})).await;
    let own_payouts = payouts_by_payee(&own["node"]);
    assert_eq!(
        own_payouts.keys().cloned().collect::<Vec<_>>(),
        vec![l.ada_payee.clone()]
    );
    assert_eq!(amount(&own["node"]["totals"][0]["payable"]), "23.33");
    let forbidden = app
        .graphql(Some(&ada_token), SUMMARY, json!({"id": l.org}))
        .await;
    assert_eq!(forbidden["errors"][0]["extensions"]["code"], "FORBIDDEN");
    let other_payout = payouts_by_payee(&run)[&l.guest]["id"]
        .as_str()
        .expect("payout id")
        .to_owned();
    let forbidden = app
        .graphql(
            Some(&ada_token),
            "query($id: ID!) { node(id: $id) { id } }",
            json!({"id": other_payout}),
        )
        .await;
    assert!(forbidden["errors"].is_null(), "{forbidden}");
    assert!(
        forbidden["data"]["node"].is_null(),
        "another payee's payout: {forbidden}"
    );
    let balances = app.ok(Some(&ada_token), "query($id: ID!) { node(id: $id) { ... on Payee { balances { earned { amount } recouped { amount } paid { amount } unpaid { amount } } } } }", json!({"id": l.ada_payee})).await;
    let b = &balances["node"]["balances"][0];
    assert_eq!(amount(&b["earned"]), "33.3333333");
    assert_eq!(amount(&b["paid"]), "23.33");
    assert_eq!(amount(&b["unpaid"]), "0.0033333");

    // A retried or duplicated allocation writes nothing.
    let count_entries = || async {
        use sea_orm::{EntityTrait, PaginatorTrait};
        entity::ledger_entry::Entity::find()
            .count(&app.state.db)
            .await
            .expect("count")
    };
    let before = count_entries().await;
    for _ in 0..2 {
        workers::perform(
            &app.state.job_context(),
            &workers::Job::AllocateStatement {
                statement_id: decode_id(&statement_id),
            },
        )
        .await
        .expect("allocate again");
    }
    assert_eq!(count_entries().await, before);

    // The split changes (the producer's third goes to Ada and the guest): reallocating posts
    // reversals and new entries, and the next run settles the difference.
    let data = app
        .ok(
            Some(&l.token),
            SET_SPLIT,
            json!({"input": {"releaseId": l.release, "effectiveFrom": "2024-01-01", "shares": [
                {"payeeId": l.ada_payee, "share": "50"},
                {"payeeId": l.guest, "share": "50"},
            ]}}),
        )
        .await;
    assert_eq!(user_errors(&data["setSplit"]), Vec::<String>::new());
    let data = app.ok(Some(&l.token), "mutation($input: ReallocateStatementInput!) { reallocateStatement(input: $input) { statement { allocationStatus } userErrors { message } } }", json!({"input": {"statementId": statement_id}})).await;
    assert_eq!(
        data["reallocateStatement"]["statement"]["allocationStatus"],
        "PENDING"
    );
    wait_allocated(&app, &l.token, &statement_id).await;
    let s = summary(&app, &l).await;
    assert_eq!(
        amount(&s["allocated"]),
        "100.00",
        "reversals cancel the old"
    );
    assert_conserved(&app, decode_id(&l.org)).await;

    let data = app
        .ok(
            Some(&l.token),
            CREATE_RUN,
            json!({"input": {"organizationId": l.org, "periodEnd": "2025-01-31"}}),
        )
        .await;
    let second = id_at(&data, &["createPayoutRun", "payoutRun", "id"]);
    let run = wait_run(&app, &l.token, &second, "READY").await;
    let payouts = payouts_by_payee(&run);
    let ada = &payouts[&l.ada_payee];
    assert_eq!(amount(&ada["broughtForward"]), "0.0033333");
    assert_eq!(amount(&ada["earnings"]), "16.6666667");
    assert_eq!(
        amount(&ada["recouped"]),
        "0.00",
        "un-recouped, then recouped again"
    );
    assert_eq!(amount(&ada["payable"]), "16.67");
    assert_eq!(amount(&ada["carriedForward"]), "0.00");
    let producer = &payouts[&l.producer];
    assert_eq!(amount(&producer["broughtForward"]), "33.3333333");
    assert_eq!(amount(&producer["earnings"]), "-33.3333333");
    assert_eq!(amount(&producer["carriedForward"]), "0.00");
    let guest = &payouts[&l.guest];
    assert_eq!(amount(&guest["payable"]), "16.67");
    app.ok(
        Some(&l.token),
        APPROVE_RUN,
        json!({"input": {"payoutRunId": second}}),
    )
    .await;
    let data = app
        .ok(
            Some(&l.token),
            PAY_RUN,
            json!({"input": {"payoutRunId": second, "payments": [
                {"payeeId": l.ada_payee, "paymentReference": "TX-3"},
                {"payeeId": l.guest, "paymentReference": "TX-4"},
            ]}}),
        )
        .await;
    assert_eq!(data["markPayoutRunPaid"]["payoutRun"]["status"], "PAID");
    let s = summary(&app, &l).await;
    assert_eq!(amount(&s["paid"]), "90.00");
    assert_eq!(amount(&s["carriedForward"]), "0.00");
    assert_eq!(amount(&s["recouped"]), "10.00");
    assert_conserved(&app, decode_id(&l.org)).await;
}

on_every_backend!(three_payees_with_an_advance);

/// Starts a worker process on the app's database and queue, to be killed with SIGKILL.
fn spawn_worker(app: &TestApp) -> std::process::Child {
    let config = &app.state.config;
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_test_worker"));
    command
        .env("IMPRINT_DATABASE_URL", &config.database_url)
        .env("IMPRINT_DATA_DIR", &config.data_dir)
        .env("IMPRINT_NAMESPACE", &config.namespace)
        .env("RUST_LOG", "warn");
    match &config.queue {
        api::config::QueueBackend::Sqlite { url } => command.env("IMPRINT_QUEUE_URL", url),
        api::config::QueueBackend::Redis { url } => command.env("IMPRINT_REDIS_URL", url),
    };
    command.spawn().expect("worker process")
}

async fn scalar(app: &TestApp, sql: &str, value: i64) -> i64 {
    use sea_orm::{ConnectionTrait, Statement};
    let db = &app.state.db;
    db.query_one_raw(Statement::from_sql_and_values(
        db.get_database_backend(),
        sql,
        [value.into()],
    ))
    .await
    .expect("query")
    .and_then(|r| r.try_get_by_index::<Option<i64>>(0).ok().flatten())
    .unwrap_or(0)
}

/// A worker killed in the middle of allocating a statement leaves whole chunks; the retried
/// job allocates every line exactly once, and the advance's balance matches its entries.
async fn allocation_killed_and_retried(backend: tests::Backend) {
    let Some(app) = TestApp::spawn_with(backend, false).await else {
        return;
    };
    let l = label(&app, "kill-alloc@label.test").await;
    let tracks = tests::fixtures::catalogue(20);
    for t in &tracks {
        let data = app
            .ok(
                Some(&l.token),
                ADD_TRACK,
                json!({"input": {"releaseId": l.release, "title": t.title, "isrc": t.isrc}}),
            )
            .await;
        assert_eq!(user_errors(&data["addTrack"]), Vec::<String>::new());
    }
    let lines = 60_000;
    let mut file = Vec::new();
    let total = tests::fixtures::write_distrokid(&mut file, &tracks, lines, 0).expect("generate");
    let data = app
        .upload_statement(&l.token, &l.org, "big.tsv", file)
        .await;
    let gid = data["data"]["uploadStatement"]["statement"]["id"]
        .as_str()
        .expect("statement")
        .to_owned();
    let statement_id = decode_id(&gid);
    // Parse here; the allocation it queues is left to the worker process.
    workers::perform(
        &app.state.job_context(),
        &workers::Job::ParseStatement { statement_id },
    )
    .await
    .expect("parse");
    let entries_sql = "SELECT COUNT(*) FROM ledger_entries WHERE statement_id = $1";
    let mut worker = spawn_worker(&app);
    let partial = app
        .eventually(Duration::from_secs(120), || async {
            let n = scalar(&app, entries_sql, statement_id).await;
            (n > 0).then_some(n)
        })
        .await;
    worker.kill().expect("SIGKILL");
    worker.wait().expect("reaped");
    let after_kill = scalar(&app, entries_sql, statement_id).await;
    assert!(after_kill >= partial);
    let allocated_lines =
        "SELECT COUNT(DISTINCT statement_line_id) FROM ledger_entries WHERE statement_id = $1";
    let lines_done = scalar(&app, allocated_lines, statement_id).await;
    assert!(
        lines_done < lines as i64,
        "the kill came too late to test anything ({lines_done} lines allocated)"
    );

    for _ in 0..2 {
        workers::perform(
            &app.state.job_context(),
            &workers::Job::AllocateStatement { statement_id },
        )
        .await
        .expect("retry");
    }
    let sum = scalar(
        &app,
        "SELECT CAST(SUM(amount_nanos) AS BIGINT) FROM ledger_entries WHERE statement_id = $1",
        statement_id,
    )
    .await;
    assert_eq!(i128::from(sum), total, "every line allocated once, exactly");
    let unbalanced = scalar(
        &app,
        "SELECT COUNT(*) FROM statement_lines l WHERE l.statement_id = $1 AND l.base_amount_nanos <> \
           COALESCE((SELECT SUM(e.amount_nanos) FROM ledger_entries e WHERE e.statement_line_id = l.id), 0)",
        statement_id,
    )
    .await;
    assert_eq!(unbalanced, 0, "each line's entries sum to the line");
    let drift = scalar(
        &app,
        "SELECT COUNT(*) FROM recoupables r WHERE r.organization_id = $1 AND r.recouped_nanos <> \
           COALESCE((SELECT SUM(e.amount_nanos) FROM ledger_entries e WHERE e.recoupable_id = r.id), 0)",
        decode_id(&l.org),
    )
    .await;
    assert_eq!(drift, 0, "recoupable balances match their entries");
    let recouped = scalar(
        &app,
        "SELECT recouped_nanos FROM recoupables WHERE organization_id = $1",
        decode_id(&l.org),
    )
    .await;
    assert_eq!(recouped, 10_000_000_000, "the advance is recouped, once");
    let st = wait_allocated(&app, &l.token, &gid).await;
    assert_eq!(st["allocatedCount"], lines as i64);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn allocation_killed_mid_statement_sqlite() {
    allocation_killed_and_retried(tests::Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn allocation_killed_mid_statement_postgres() {
    allocation_killed_and_retried(tests::Backend::Postgres).await;
}

/// A worker killed in the middle of a payout run for many payees: the retried job writes the
/// payees still missing, each payee has exactly one payout, and the figures are the ledger's.
async fn payout_run_killed_and_retried(backend: tests::Backend) {
    use sea_orm::{ActiveValue::Set, EntityTrait};
    let Some(app) = TestApp::spawn_with(backend, false).await else {
        return;
    };
    let token = app.sign_up("kill-pay@label.test").await;
    let org = app.create_organization(&token, "Many Payees").await;
    let org_id = decode_id(&org);
    let payees = 12_000_i64;
    let now = chrono::Utc::now();
    let db = &app.state.db;
    for start in (0..payees).step_by(1_000) {
        let rows = (start..start + 1_000).map(|i| entity::payee::ActiveModel {
            organization_id: Set(org_id),
            name: Set(format!("Payee {i}")),
            kind: Set("producer".to_owned()),
            currency: Set("USD".to_owned()),
            minimum_payout_nanos: Set(if i % 7 == 0 { 100_000_000_000 } else { 0 }),
            reserve_ppb: Set(if i % 5 == 0 { 100_000_000 } else { 0 }),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        });
        entity::payee::Entity::insert_many(rows)
            .exec_without_returning(db)
            .await
            .expect("payees");
    }
    let first_payee = scalar(
        &app,
        "SELECT MIN(id) FROM payees WHERE organization_id = $1 AND kind = 'producer'",
        org_id,
    )
    .await;
    for start in (0..payees).step_by(1_000) {
        let rows = (start..start + 1_000).map(|i| entity::ledger_entry::ActiveModel {
            organization_id: Set(org_id),
            payee_id: Set(Some(first_payee + i)),
            account: Set("earnings".to_owned()),
            amount_nanos: Set(1_234_567_891 * (i % 13 + 1)),
            currency: Set("USD".to_owned()),
            cause: Set(format!("seed:{i}")),
            period: Set(chrono::NaiveDate::from_ymd_opt(2025, 1, 15)),
            created_at: Set(now),
            ..Default::default()
        });
        entity::ledger_entry::Entity::insert_many(rows)
            .exec_without_returning(db)
            .await
            .expect("entries");
    }
    let data = app
        .ok(
            Some(&token),
            CREATE_RUN,
            json!({"input": {"organizationId": org, "periodEnd": "2025-03-31"}}),
        )
        .await;
    let run_gid = id_at(&data, &["createPayoutRun", "payoutRun", "id"]);
    let run_id = decode_id(&run_gid);
    let count_sql = "SELECT COUNT(*) FROM payouts WHERE payout_run_id = $1";
    let mut worker = spawn_worker(&app);
    app.eventually(Duration::from_secs(120), || async {
        (scalar(&app, count_sql, run_id).await > 0).then_some(())
    })
    .await;
    worker.kill().expect("SIGKILL");
    worker.wait().expect("reaped");
    let after_kill = scalar(&app, count_sql, run_id).await;
    assert!(
        after_kill < payees,
        "the kill came too late to test anything ({after_kill} payouts)"
    );
    assert_eq!(after_kill % 500, 0, "whole chunks only: {after_kill}");

    for _ in 0..2 {
        workers::perform(
            &app.state.job_context(),
            &workers::Job::RunPayout {
                payout_run_id: run_id,
            },
        )
        .await
        .expect("retry");
    }
    let run = wait_run(&app, &token, &run_gid, "READY").await;
    assert_eq!(run["payouts"]["totalCount"], payees);
    assert_eq!(
        scalar(
            &app,
            "SELECT COUNT(DISTINCT payee_id) FROM payouts WHERE payout_run_id = $1",
            run_id
        )
        .await,
        payees
    );
    let earnings = scalar(
        &app,
        "SELECT CAST(SUM(earnings_nanos) AS BIGINT) FROM payouts WHERE payout_run_id = $1",
        run_id,
    )
    .await;
    let ledger = scalar(
        &app,
        "SELECT CAST(SUM(amount_nanos) AS BIGINT) FROM ledger_entries WHERE organization_id = $1",
        org_id,
    )
    .await;
    assert_eq!(earnings, ledger);
    let accounted = scalar(&app, "SELECT CAST(SUM(payable_nanos + carried_forward_nanos + reserved_nanos) AS BIGINT) FROM payouts WHERE payout_run_id = $1", run_id).await;
    assert_eq!(accounted, ledger, "paid + carried + reserved = earned");
    let below = scalar(
        &app,
        "SELECT COUNT(*) FROM payouts WHERE payout_run_id = $1 AND below_minimum",
        run_id,
    )
    .await;
    assert!(below > 0, "some payees are under their minimum");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn payout_run_killed_mid_run_sqlite() {
    payout_run_killed_and_retried(tests::Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn payout_run_killed_mid_run_postgres() {
    payout_run_killed_and_retried(tests::Backend::Postgres).await;
}
