//! `rosterOverview` narrowed by artist and release, with its months: the figures equal an
//! independent SQL sum over the statement lines, the previous period follows the same filters,
//! the months are exactly the period's, and an artist member can only narrow within her own.

use std::time::Duration;

use sea_orm::{ConnectionTrait, Statement};
use serde_json::{Value, json};
use tests::fixtures::distrokid;
use tests::{TestApp, decode_id, on_every_backend};

const OVERVIEW: &str = "query($org: ID!, $from: NaiveDate!, $to: NaiveDate!, $artists: [ID!], $releases: [ID!]) { \
    rosterOverview(organizationId: $org, period: {from: $from, to: $to}, artistIds: $artists, releaseIds: $releases) { \
      from to totals { lineCount quantity earnings { amount currency } } previousTotals { lineCount earnings { amount } } \
      artists { artistName } byMonth { month figures { lineCount earnings { amount } } } } }";

struct Roster {
    token: String,
    org: String,
    /// (artist id, release id) of Ada, then of Bo.
    ada: (String, String),
    bo: (String, String),
}

async fn roster(app: &TestApp) -> Roster {
    let token = app.sign_up("overview@label.test").await;
    let org = app.create_organization(&token, "Overview Records").await;
    let mut made = Vec::new();
    for (name, isrcs) in [
        ("Ada Vesper", ["QZOVA2500001", "QZOVA2500002"]),
        ("Bo Lind", ["QZOVB2500001", "QZOVB2500002"]),
    ] {
        let artist = app.create_artist(&token, &org, name).await;
        let release = app.create_release(&token, &artist, "LP").await;
        for isrc in isrcs {
            app.add_track(&token, &release, isrc, isrc).await;
        }
        made.push((artist, release));
    }
    // Lines over December to March, amounts with nano-unit digits.
    let mut rows = Vec::new();
    let mut n = 0u64;
    for month in ["2024-12", "2025-01", "2025-02", "2025-03"] {
        for (artist, isrc) in [
            ("Ada Vesper", "QZOVA2500001"),
            ("Ada Vesper", "QZOVA2500002"),
            ("Bo Lind", "QZOVB2500001"),
            ("Bo Lind", "QZOVB2500002"),
        ] {
            n += 1;
            // Bo earns nothing in February: a month of the period with no figures for him.
            if artist == "Bo Lind" && month == "2025-02" {
                continue;
            }
            rows.push(format!(
                "2025-04-05|{month}|Spotify|{artist}|T|{isrc}||{n}|100|Song|US|0|{}.{:09}",
                n % 5,
                (n * 7_919_777) % 1_000_000_000
            ));
        }
    }
    let rows: Vec<&str> = rows.iter().map(String::as_str).collect();
    let upload = app
        .upload_statement(&token, &org, "dk.tsv", distrokid(&rows))
        .await;
    let id = upload["data"]["uploadStatement"]["statement"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{upload}"))
        .to_owned();
    app.wait_for_statement(&token, &id).await;
    let expected_lines = rows.len();
    app.eventually(Duration::from_secs(60), || async {
        let data = app
            .ok(
                Some(&token),
                "query($org: ID!) { analytics(organizationId: $org, groupBy: []) { totals { lineCount } } }",
                json!({"org": org}),
            )
            .await;
        (data["analytics"]["totals"]["lineCount"] == json!(expected_lines)).then_some(())
    })
    .await;
    let mut made = made.into_iter();
    let ada = made.next().expect("ada");
    let bo = made.next().expect("bo");
    Roster {
        token,
        org,
        ada,
        bo,
    }
}

/// The independent figures: a SQL sum over the statement lines of `artist`'s tracks (and of
/// `release` when given) sold in `[from, to)`, as the decimal the API shows.
async fn sql_sum(
    app: &TestApp,
    artist: i64,
    release: Option<i64>,
    from: &str,
    to: &str,
) -> (i64, String) {
    let db = &app.state.db;
    let release = release.map_or(String::new(), |r| format!(" AND r.id = {r}"));
    let sql = format!(
        "SELECT COUNT(*) AS n, CAST(COALESCE(SUM(l.base_amount_nanos), 0) AS BIGINT) AS nanos \
         FROM statement_lines l JOIN tracks t ON t.id = l.track_id JOIN releases r ON r.id = t.release_id \
         WHERE r.artist_id = {artist}{release} AND l.sale_period_start >= '{from}' AND l.sale_period_start < '{to}'"
    );
    let row = db
        .query_one_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .expect("sum")
        .expect("a row");
    let n: i64 = row.try_get("", "n").expect("n");
    let nanos: i64 = row.try_get("", "nanos").expect("nanos");
    let usd = domain::money::Currency::parse("USD").expect("usd");
    (n, domain::money::Money::new(nanos, usd).to_decimal_string())
}

fn overview(data: &Value) -> &Value {
    &data["rosterOverview"]
}

async fn filtered_figures_equal_the_lines(app: TestApp) {
    let r = roster(&app).await;
    let ada = decode_id(&r.ada.0);
    let bo = decode_id(&r.bo.0);

    // Ada alone, February to March, against December to January.
    let data = app
        .ok(
            Some(&r.token),
            OVERVIEW,
            json!({"org": r.org, "from": "2025-02-01", "to": "2025-03-31", "artists": [r.ada.0]}),
        )
        .await;
    let o = overview(&data);
    let (n, amount) = sql_sum(&app, ada, None, "2025-02-01", "2025-04-01").await;
    assert_eq!(n, 4, "two tracks over two months");
    assert_eq!(o["totals"]["lineCount"], n, "{data}");
    assert_eq!(o["totals"]["earnings"]["amount"], amount.as_str(), "{data}");
    let (n, amount) = sql_sum(&app, ada, None, "2024-12-01", "2025-02-01").await;
    assert_eq!(o["previousTotals"]["lineCount"], n, "{data}");
    assert_eq!(
        o["previousTotals"]["earnings"]["amount"],
        amount.as_str(),
        "{data}"
    );
    assert_eq!(
        o["artists"],
        json!([{"artistName": "Ada Vesper"}]),
        "{data}"
    );
    let months = o["byMonth"].as_array().expect("months");
    assert_eq!(months.len(), 2, "{data}");
    for (row, (from, to)) in months
        .iter()
        .zip([("2025-02-01", "2025-03-01"), ("2025-03-01", "2025-04-01")])
    {
        assert_eq!(row["month"], from);
        let (n, amount) = sql_sum(&app, ada, None, from, to).await;
        assert_eq!(row["figures"]["lineCount"], n, "{row}");
        assert_eq!(
            row["figures"]["earnings"]["amount"],
            amount.as_str(),
            "{row}"
        );
    }

    // Bo's release: February is in the months, as zeros.
    let data = app
        .ok(
            Some(&r.token),
            OVERVIEW,
            json!({"org": r.org, "from": "2025-02-01", "to": "2025-03-31", "releases": [r.bo.1]}),
        )
        .await;
    let o = overview(&data);
    let (n, amount) = sql_sum(
        &app,
        bo,
        Some(decode_id(&r.bo.1)),
        "2025-02-01",
        "2025-04-01",
    )
    .await;
    assert_eq!(o["totals"]["lineCount"], n, "{data}");
    assert_eq!(o["totals"]["earnings"]["amount"], amount.as_str());
    assert_eq!(o["byMonth"][0]["month"], "2025-02-01");
    assert_eq!(o["byMonth"][0]["figures"]["lineCount"], 0, "{data}");
    let (n, _) = sql_sum(&app, bo, None, "2024-12-01", "2025-02-01").await;
    assert_eq!(o["previousTotals"]["lineCount"], n, "{data}");

    // One month: one month in the series.
    let data = app
        .ok(
            Some(&r.token),
            OVERVIEW,
            json!({"org": r.org, "from": "2025-03-01", "to": "2025-03-31"}),
        )
        .await;
    let months = overview(&data)["byMonth"].as_array().expect("months");
    assert_eq!(months.len(), 1, "{data}");
    assert_eq!(months[0]["month"], "2025-03-01");
    let (a, _) = sql_sum(&app, ada, None, "2025-03-01", "2025-04-01").await;
    let (b, _) = sql_sum(&app, bo, None, "2025-03-01", "2025-04-01").await;
    assert_eq!(months[0]["figures"]["lineCount"], a + b, "{data}");

    // An artist member narrows within her own artist only.
    let member = app
        .invite_member(
            &r.token,
            &r.org,
            "ada@overview.test",
            "ARTIST",
            Some(&r.ada.0),
        )
        .await;
    let own = app
        .ok(
            Some(&member),
            OVERVIEW,
            json!({"org": r.org, "from": "2025-02-01", "to": "2025-03-31"}),
        )
        .await;
    let (n, amount) = sql_sum(&app, ada, None, "2025-02-01", "2025-04-01").await;
    assert_eq!(overview(&own)["totals"]["lineCount"], n, "{own}");
    assert_eq!(
        overview(&own)["totals"]["earnings"]["amount"],
        amount.as_str()
    );
    let other = app
        .graphql(
            Some(&member),
            OVERVIEW,
            json!({"org": r.org, "from": "2025-02-01", "to": "2025-03-31", "artists": [r.bo.0]}),
        )
        .await;
    assert_eq!(
        other["errors"][0]["extensions"]["code"], "NOT_FOUND",
        "{other}"
    );
    let other = app
        .ok(
            Some(&member),
            OVERVIEW,
            json!({"org": r.org, "from": "2025-02-01", "to": "2025-03-31", "releases": [r.bo.1]}),
        )
        .await;
    assert_eq!(overview(&other)["totals"]["lineCount"], 0, "{other}");
    assert_eq!(
        overview(&other)["previousTotals"]["lineCount"],
        0,
        "{other}"
    );
    assert!(
        overview(&other)["byMonth"]
            .as_array()
            .is_some_and(|m| m.iter().all(|m| m["figures"]["lineCount"] == 0)),
        "{other}"
    );
}

on_every_backend!(filtered_figures_equal_the_lines);
