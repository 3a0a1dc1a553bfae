//! Payout runs under concurrency, on every backend, with money on the books: the database
//! keeps one open run per organisation, each transition is a conditional update, and a payout
//! is paid once. After every race the books balance.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use tests::{TestApp, decode_id, on_every_backend};

use super::money::{
    APPROVE_RUN, CANCEL_RUN, CREATE_RUN, Label, PAY_RUN, RUN, amount, assert_conserved, label,
    statement, summary, upload, wait_allocated, wait_run,
};

/// A label with January's 100.00 allocated (see `money::label`).
async fn label_with_money(app: &TestApp, email: &str) -> Label {
    let l = label(app, email).await;
    let statement_id = upload(
        app,
        &l,
        "jan.tsv",
        statement("QZBEN2500001", &["40.00", "35.00", "25.00"]),
    )
    .await;
    wait_allocated(app, &l.token, &statement_id).await;
    l
}

/// One value of SQL with the organisation id as `$1`.
async fn scalar(app: &TestApp, sql: &str, organization_id: i64) -> i64 {
    use sea_orm::{ConnectionTrait, Statement};
    let db = &app.state.db;
    db.query_one_raw(Statement::from_sql_and_values(
        db.get_database_backend(),
        sql,
        [organization_id.into()],
    ))
    .await
    .expect("query")
    .expect("a row")
    .try_get_by_index::<i64>(0)
    .expect("a number")
}

/// Payouts of the organisation's runs by run status and payout status.
async fn payout_states(app: &TestApp, organization_id: i64) -> BTreeMap<(String, String), i64> {
    use sea_orm::{ConnectionTrait, Statement};
    let db = &app.state.db;
    let rows = db
        .query_all_raw(Statement::from_sql_and_values(
            db.get_database_backend(),
            "SELECT r.status, p.status, COUNT(*) FROM payouts p JOIN payout_runs r ON r.id = p.payout_run_id \
             WHERE r.organization_id = $1 GROUP BY r.status, p.status",
            [organization_id.into()],
        ))
        .await
        .expect("query");
    rows.iter()
        .map(|row| {
            (
                (
                    row.try_get_by_index::<String>(0).expect("run status"),
                    row.try_get_by_index::<String>(1).expect("payout status"),
                ),
                row.try_get_by_index::<i64>(2).expect("count"),
            )
        })
        .collect()
}

/// No approved or paid run holds a cancelled payout, and no cancelled run holds a pending or
/// paid one.
fn assert_consistent(states: &BTreeMap<(String, String), i64>) {
    for (run, payout) in states.keys() {
        let fine = match run.as_str() {
            "approved" | "ready" => {
                payout == "pending" || payout == "carried_forward" || payout == "paid"
            }
            "paid" => payout == "paid" || payout == "carried_forward",
            "cancelled" => payout == "cancelled",
            _ => true,
        };
        assert!(fine, "a {run} run with a {payout} payout: {states:?}");
    }
}

async fn balanced(app: &TestApp, l: &Label) {
    summary(app, l).await; // asserts `balanced`
    assert_conserved(app, decode_id(&l.org)).await;
}

/// 20 `createPayoutRun` at once for the same period: exactly one run, the others a
/// `userError`; the run then pays everyone once.
async fn twenty_concurrent_runs(app: TestApp) {
    let l = label_with_money(&app, "race-create@label.test").await;
    let org_id = decode_id(&l.org);
    let calls = (0..20).map(|_| {
        app.graphql(
            Some(&l.token),
            CREATE_RUN,
            json!({"input": {"organizationId": l.org, "periodEnd": "2025-01-31"}}),
        )
    });
    let answers: Vec<Value> = futures::future::join_all(calls).await;
    let mut created = Vec::new();
    let mut refused = 0;
    for answer in &answers {
        assert!(answer.get("errors").is_none(), "no GraphQL error: {answer}");
        let payload = &answer["data"]["createPayoutRun"];
        if let Some(id) = payload["payoutRun"]["id"].as_str() {
            assert_eq!(payload["userErrors"], json!([]), "{payload}");
            created.push(id.to_owned());
        } else {
            assert_eq!(payload["userErrors"][0]["code"], "NOT_ALLOWED", "{payload}");
            refused += 1;
        }
    }
    eprintln!(
        "{:?}: {} runs created, {refused} refused of 20 concurrent createPayoutRun",
        app.backend,
        created.len()
    );
    assert_eq!(created.len(), 1, "exactly one run: {answers:?}");
    assert_eq!(refused, 19);
    assert_eq!(
        scalar(
            &app,
            "SELECT COUNT(*) FROM payout_runs WHERE organization_id = $1",
            org_id
        )
        .await,
        1
    );

    let run_id = &created[0];
    wait_run(&app, &l.token, run_id, "READY").await;
    let data = app
        .ok(
            Some(&l.token),
            APPROVE_RUN,
            json!({"input": {"payoutRunId": run_id}}),
        )
        .await;
    assert_eq!(data["approvePayoutRun"]["payoutRun"]["status"], "APPROVED");
    let data = app
        .ok(
            Some(&l.token),
            PAY_RUN,
            json!({"input": {"payoutRunId": run_id, "payments": [
                {"payeeId": l.guest, "paymentReference": "TX-G"},
                {"payeeId": l.ada_payee, "paymentReference": "TX-A"},
            ]}}),
        )
        .await;
    assert_eq!(
        data["markPayoutRunPaid"]["payoutRun"]["status"], "PAID",
        "{data}"
    );
    let s = summary(&app, &l).await;
    assert_eq!(amount(&s["paid"]), "56.66", "paid once: {s}");
    assert_eq!(
        scalar(
            &app,
            "SELECT COUNT(*) FROM ledger_entries WHERE organization_id = $1 AND account = 'payout'",
            org_id
        )
        .await,
        2,
        "one payout entry per paid payee"
    );
    balanced(&app, &l).await;
}

/// `approvePayoutRun` and `cancelPayoutRun` fired together, 50 times on a fresh run: both
/// never fail, an approved run never holds a cancelled payout, and the books balance.
async fn approve_versus_cancel(app: TestApp) {
    let l = label_with_money(&app, "race-approve@label.test").await;
    let org_id = decode_id(&l.org);
    let (mut approved_only, mut cancelled_only, mut both) = (0, 0, 0);
    for _ in 0..50 {
        let data = app
            .ok(
                Some(&l.token),
                CREATE_RUN,
                json!({"input": {"organizationId": l.org, "periodEnd": "2025-01-31"}}),
            )
            .await;
        let run_id = data["createPayoutRun"]["payoutRun"]["id"]
            .as_str()
            .unwrap_or_else(|| panic!("created: {data}"))
            .to_owned();
        wait_run(&app, &l.token, &run_id, "READY").await;
        let input = json!({"input": {"payoutRunId": run_id}});
        let (approve, cancel) = tokio::join!(
            app.graphql(Some(&l.token), APPROVE_RUN, input.clone()),
            app.graphql(Some(&l.token), CANCEL_RUN, input.clone()),
        );
        assert!(approve.get("errors").is_none(), "{approve}");
        assert!(cancel.get("errors").is_none(), "{cancel}");
        let approve = &approve["data"]["approvePayoutRun"];
        let cancel = &cancel["data"]["cancelPayoutRun"];
        let approved = approve["payoutRun"]["status"] == "APPROVED";
        let cancelled = cancel["payoutRun"]["status"] == "CANCELLED";
        assert!(
            approved || cancelled,
            "one of them succeeds: {approve} {cancel}"
        );
        for (ok, payload) in [(approved, approve), (cancelled, cancel)] {
            if !ok {
                assert_eq!(payload["userErrors"][0]["code"], "NOT_ALLOWED", "{payload}");
                assert!(payload["payoutRun"].is_null(), "{payload}");
            }
        }
        // Both answers are committed: the run is what the successful call said, at once.
        let run = app.ok(Some(&l.token), RUN, json!({"id": run_id})).await["node"].clone();
        let expected = if cancelled { "CANCELLED" } else { "APPROVED" };
        assert_eq!(run["status"], expected, "{approve} {cancel} {run}");
        let statuses: Vec<&str> = run["payouts"]["edges"]
            .as_array()
            .expect("payouts")
            .iter()
            .map(|e| e["node"]["status"].as_str().expect("status"))
            .collect();
        if cancelled {
            assert!(statuses.iter().all(|s| *s == "CANCELLED"), "{run}");
        } else {
            assert!(!statuses.contains(&"CANCELLED"), "{run}");
        }
        match (approved, cancelled) {
            (true, true) => both += 1, // approve committed before cancel read the run
            (true, false) => approved_only += 1,
            _ => cancelled_only += 1,
        }
        assert_consistent(&payout_states(&app, org_id).await);
        // An approved run blocks the next one: cancel it (nothing of it is paid).
        if !cancelled {
            let data = app.ok(Some(&l.token), CANCEL_RUN, input).await;
            assert_eq!(
                data["cancelPayoutRun"]["payoutRun"]["status"], "CANCELLED",
                "{data}"
            );
        }
        balanced(&app, &l).await;
    }
    eprintln!(
        "{:?}: approve vs cancel over 50 tries: approve alone {approved_only}, cancel alone {cancelled_only}, both in turn {both}",
        app.backend
    );
    assert_eq!(approved_only + cancelled_only + both, 50);
    assert_eq!(
        scalar(&app, "SELECT COUNT(*) FROM ledger_entries WHERE organization_id = $1 AND payout_run_id IS NOT NULL", org_id).await,
        0,
        "no run was paid, so no payout entries"
    );
    // An empty payment list cannot pay a cancelled run.
    let last = scalar(
        &app,
        "SELECT MAX(id) FROM payout_runs WHERE organization_id = $1",
        org_id,
    )
    .await;
    let run_id = ids_of_run(last);
    let data = app
        .ok(
            Some(&l.token),
            PAY_RUN,
            json!({"input": {"payoutRunId": run_id, "payments": []}}),
        )
        .await;
    assert_eq!(
        data["markPayoutRunPaid"]["userErrors"][0]["code"], "NOT_ALLOWED",
        "{data}"
    );
    balanced(&app, &l).await;
}

/// The global id of payout run `id`.
fn ids_of_run(id: i64) -> String {
    api::graphql::ids::encode(api::graphql::ids::Kind::PayoutRun, id).to_string()
}

/// Two payments of one payee with different references at once: one is stored and answers
/// success, the other answers a `userError`; the same reference again is a no-op success.
async fn concurrent_payments(app: TestApp) {
    let l = label_with_money(&app, "race-pay@label.test").await;
    let org_id = decode_id(&l.org);
    let data = app
        .ok(
            Some(&l.token),
            CREATE_RUN,
            json!({"input": {"organizationId": l.org, "periodEnd": "2025-01-31"}}),
        )
        .await;
    let run_id = data["createPayoutRun"]["payoutRun"]["id"]
        .as_str()
        .expect("run")
        .to_owned();
    wait_run(&app, &l.token, &run_id, "READY").await;
    app.ok(
        Some(&l.token),
        APPROVE_RUN,
        json!({"input": {"payoutRunId": run_id}}),
    )
    .await;
    // The guest first (the run stays approved), then Ada (the winner pays the run).
    for (payee, refs) in [(&l.guest, ["G-1", "G-2"]), (&l.ada_payee, ["A-1", "A-2"])] {
        let pay = |reference: &str| {
            app.graphql(
                Some(&l.token),
                PAY_RUN,
                json!({"input": {"payoutRunId": run_id, "payments": [{"payeeId": payee, "paymentReference": reference}]}}),
            )
        };
        let (first, second) = tokio::join!(pay(refs[0]), pay(refs[1]));
        let mut stored = Vec::new();
        for (answer, reference) in [(&first, refs[0]), (&second, refs[1])] {
            assert!(answer.get("errors").is_none(), "{answer}");
            let payload = &answer["data"]["markPayoutRunPaid"];
            if payload["userErrors"] == json!([]) {
                assert!(payload["payoutRun"]["id"].is_string(), "{payload}");
                stored.push(reference);
            } else {
                assert_eq!(payload["userErrors"][0]["code"], "NOT_ALLOWED", "{payload}");
            }
        }
        assert_eq!(
            stored.len(),
            1,
            "exactly one payment stored: {first} {second}"
        );
        let run = wait_run(
            &app,
            &l.token,
            &run_id,
            if payee == &l.guest {
                "APPROVED"
            } else {
                "PAID"
            },
        )
        .await;
        let mine = super::money::payouts_by_payee(&run);
        assert_eq!(mine[payee.as_str()]["paymentReference"], stored[0], "{run}");
        eprintln!(
            "{:?}: concurrent payments {refs:?}: stored {}",
            app.backend, stored[0]
        );
        // The same reference again: success, nothing changes.
        let again = app.ok(Some(&l.token), PAY_RUN, json!({"input": {"payoutRunId": run_id, "payments": [{"payeeId": payee, "paymentReference": stored[0]}]}})).await;
        assert_eq!(
            again["markPayoutRunPaid"]["userErrors"],
            json!([]),
            "{again}"
        );
        balanced(&app, &l).await;
    }
    assert_eq!(
        scalar(
            &app,
            "SELECT COUNT(*) FROM ledger_entries WHERE organization_id = $1 AND account = 'payout'",
            org_id
        )
        .await,
        2
    );
    let s = summary(&app, &l).await;
    assert_eq!(amount(&s["paid"]), "56.66", "{s}");
    assert_consistent(&payout_states(&app, org_id).await);
}

on_every_backend!(
    twenty_concurrent_runs,
    approve_versus_cancel,
    concurrent_payments
);
