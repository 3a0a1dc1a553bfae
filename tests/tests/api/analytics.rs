//! Roster analytics: every grouping equals an independent sum over the statement lines, and an
//! artist member sees only their own numbers.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{Value, json};
use tests::{TestApp, on_every_backend};

const HEADER: &str = tests::fixtures::DISTROKID_HEADER;

async fn analytics_match_the_statement_lines(app: TestApp) {
    let token = app.sign_up("numbers@label.test").await;
    let org = app.create_organization(&token, "Numbers Records").await;
    let mut isrcs = Vec::new();
    let mut artists = Vec::new();
    for (a, name) in ["Ada Vesper", "Juniper Static"].iter().enumerate() {
        let artist = app.create_artist(&token, &org, name).await;
        let release = app.create_release(&token, &artist, "LP").await;
        for t in 0..2 {
            let isrc = format!("QZNUM25{a}{t:04}");
            app.add_track(&token, &release, &isrc, &isrc).await;
            isrcs.push((isrc, name.to_string()));
        }
        artists.push((artist, name.to_string()));
    }
    // Two statements over three months, four stores, four territories, and one unknown ISRC.
    let stores = ["Spotify", "Apple Music", "Deezer", "Tidal"];
    let countries = ["US", "GB", "DE", "JP"];
    for (file, months) in [
        ("jan-feb.tsv", ["2025-01", "2025-02"]),
        ("feb-mar.tsv", ["2025-02", "2025-03"]),
    ] {
        let mut text = format!("{HEADER}\r\n");
        let mut n = 0;
        for month in months {
            for (i, (isrc, artist)) in isrcs.iter().enumerate() {
                for s in 0..3 {
                    n += 1;
                    let amount = format!("{}.{:09}", n % 7, (n * 7_919_777) % 1_000_000_000);
                    text.push_str(&format!(
                        "2025-04-01\t{month}\t{}\t{artist}\tT\t{isrc}\t\t{}\t100\tSong\t{}\t0\t{amount}\r\n",
                        stores[(i + s) % 4],
                        n * 3,
                        countries[(i * 3 + s + file.len()) % 4]
                    ));
                }
            }
            text.push_str(&format!("2025-04-01\t{month}\tSpotify\tStranger\tT\tQZUNK2500001\t\t5\t100\tSong\tFR\t0\t0.5\r\n"));
        }
        let upload = app
            .upload_statement(&token, &org, file, text.into_bytes())
            .await;
        let id = upload["data"]["uploadStatement"]["statement"]["id"]
            .as_str()
            .expect("statement")
            .to_owned();
        app.wait_for_statement(&token, &id).await;
    }

    // The independent computation: every stored line, grouped in Rust.
    use sea_orm::EntityTrait;
    let lines = entity::statement_line::Entity::find()
        .all(&app.state.db)
        .await
        .expect("lines");
    let releases: BTreeMap<i64, i64> = entity::release::Entity::find()
        .all(&app.state.db)
        .await
        .expect("releases")
        .into_iter()
        .map(|r| (r.id, r.artist_id))
        .collect();
    let total_base: i64 = lines.iter().map(|l| l.base_amount_nanos).sum();
    let total_quantity: i64 = lines.iter().map(|l| l.quantity).sum();

    // Roll-ups are refreshed by the workers after parsing: wait until they add up.
    let query = "query($org: ID!, $by: [AnalyticsDimension!]!, $filter: AnalyticsFilter) { analytics(organizationId: $org, groupBy: $by, filter: $filter, first: 1000) { totals { quantity lineCount earnings { amount currency } } rows { store territory month artist { id } track { isrc } figures { quantity lineCount earnings { amount } earningsByCurrency { amount currency } } } } }";
    let expected_total = domain::money::Money::new(
        total_base,
        domain::money::Currency::parse("USD").expect("usd"),
    )
    .to_decimal_string();
    app.eventually(Duration::from_secs(60), || async {
        let data = app
            .ok(Some(&token), query, json!({"org": org, "by": []}))
            .await;
        (data["analytics"]["totals"]["lineCount"] == json!(lines.len())
            && data["analytics"]["totals"]["earnings"]["amount"] == json!(expected_total))
        .then_some(())
    })
    .await;

    let month_of = |l: &entity::statement_line::Model| {
        l.sale_period_start
            .map(|d| d.format("%Y-%m-01").to_string())
            .unwrap_or_default()
    };
    type KeyFn = Box<dyn Fn(&entity::statement_line::Model) -> String>;
    type RowKeyFn = Box<dyn Fn(&Value) -> String>;
    let dimensions: Vec<(&str, KeyFn, RowKeyFn)> = vec![
        (
            "STORE",
            Box::new(|l| l.store.clone().unwrap_or_default()),
            Box::new(|r| r["store"].as_str().unwrap_or_default().to_owned()),
        ),
        (
            "TERRITORY",
            Box::new(|l| l.territory.clone().unwrap_or_default()),
            Box::new(|r| r["territory"].as_str().unwrap_or_default().to_owned()),
        ),
        (
            "MONTH",
            Box::new(month_of),
            Box::new(|r| r["month"].as_str().unwrap_or_default().to_owned()),
        ),
        (
            "TRACK",
            Box::new(|l| {
                l.isrc
                    .clone()
                    .filter(|_| l.track_id.is_some())
                    .unwrap_or_default()
            }),
            Box::new(|r| r["track"]["isrc"].as_str().unwrap_or_default().to_owned()),
        ),
    ];
    for (dimension, key_of_line, key_of_row) in &dimensions {
        let mut expected: BTreeMap<String, (i64, i64, i64)> = BTreeMap::new();
        for l in &lines {
            let e = expected.entry(key_of_line(l)).or_default();
            e.0 += l.quantity;
            e.1 += l.base_amount_nanos;
            e.2 += 1;
        }
        let data = app
            .ok(Some(&token), query, json!({"org": org, "by": [dimension]}))
            .await;
        let mut actual: BTreeMap<String, (i64, i64, i64)> = BTreeMap::new();
        for row in data["analytics"]["rows"].as_array().expect("rows") {
            let f = &row["figures"];
            actual.insert(
                key_of_row(row),
                (
                    f["quantity"].as_i64().expect("quantity"),
                    domain::money::parse_decimal_str(
                        f["earnings"]["amount"].as_str().expect("amount"),
                    )
                    .expect("decimal"),
                    f["lineCount"].as_i64().expect("lines"),
                ),
            );
        }
        assert_eq!(actual, expected, "grouped by {dimension}");
        assert_eq!(
            data["analytics"]["totals"]["quantity"],
            json!(total_quantity)
        );
    }

    // Grouped by artist and month, filtered to one store: the same sums.
    let (ada_id, _) = &artists[0];
    let ada_row_id = tests::decode_id(ada_id);
    let mut expected: BTreeMap<(i64, String), i64> = BTreeMap::new();
    for l in lines
        .iter()
        .filter(|l| l.store.as_deref() == Some("Spotify"))
    {
        let artist = l
            .release_id
            .and_then(|r| releases.get(&r).copied())
            .unwrap_or(0);
        *expected.entry((artist, month_of(l))).or_default() += l.base_amount_nanos;
    }
    let data = app
        .ok(
            Some(&token),
            query,
            json!({"org": org, "by": ["ARTIST", "MONTH"], "filter": {"stores": ["Spotify"]}}),
        )
        .await;
    let mut actual: BTreeMap<(i64, String), i64> = BTreeMap::new();
    for row in data["analytics"]["rows"].as_array().expect("rows") {
        let artist = row["artist"]["id"].as_str().map_or(0, tests::decode_id);
        let amount = domain::money::parse_decimal_str(
            row["figures"]["earnings"]["amount"]
                .as_str()
                .expect("amount"),
        )
        .expect("decimal");
        actual.insert(
            (artist, row["month"].as_str().unwrap_or_default().to_owned()),
            amount,
        );
    }
    assert_eq!(actual, expected);
    assert!(actual.keys().any(|(a, _)| *a == ada_row_id));

    // The roster overview for February–March against December–January.
    let overview = app.ok(Some(&token), "query($org: ID!) { rosterOverview(organizationId: $org, period: {from: \"2025-02-01\", to: \"2025-03-31\"}) { totals { lineCount } previousTotals { lineCount } artists { artist { name } current { lineCount } previous { lineCount } changePercent } topTracks { track { isrc } } topStores { store } topTerritories { territory } } }", json!({"org": org})).await;
    let overview = &overview["rosterOverview"];
    let in_period = lines
        .iter()
        .filter(|l| month_of(l).as_str() >= "2025-02-01")
        .count();
    assert_eq!(overview["totals"]["lineCount"], json!(in_period));
    assert_eq!(
        overview["previousTotals"]["lineCount"],
        json!(lines.len() - in_period)
    );
    assert_eq!(overview["topTracks"].as_array().map(Vec::len), Some(4));
    assert!(
        overview["topStores"]
            .as_array()
            .is_some_and(|s| !s.is_empty() && s.len() <= 5)
    );

    // An artist member sees their own numbers only.
    let data = app.ok(Some(&token), "mutation($org: ID!, $artist: ID!) { inviteMember(input: {organizationId: $org, email: \"ada@numbers.test\", role: ARTIST, artistId: $artist}) { invitationToken } }", json!({"org": org, "artist": ada_id})).await;
    let invitation = data["inviteMember"]["invitationToken"]
        .as_str()
        .expect("token")
        .to_owned();
    let ada = app.sign_up("ada@numbers.test").await;
    app.ok(
        Some(&ada),
        "mutation($t: String!) { acceptInvitation(input: {token: $t}) { member { role } } }",
        json!({"t": invitation}),
    )
    .await;
    let own = app
        .ok(Some(&ada), query, json!({"org": org, "by": ["ARTIST"]}))
        .await;
    let rows = own["analytics"]["rows"].as_array().expect("rows");
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["artist"]["id"], json!(ada_id));
    let other = app
        .graphql(
            Some(&ada),
            query,
            json!({"org": org, "by": [], "filter": {"artistIds": [artists[1].0]}}),
        )
        .await;
    // Another artist does not exist for her.
    assert_eq!(other["errors"][0]["extensions"]["code"], "NOT_FOUND");

    // The roster overview's artists are kept with the organisation's version: the owner's
    // answer, cached first, never reaches the artist member, and a rename shows within the
    // version check interval.
    let roster = "query($org: ID!) { rosterOverview(organizationId: $org, period: {from: \"2025-01-01\", to: \"2025-03-31\"}) { artists { artist { id name } } } }";
    let names = |data: &Value| -> Vec<String> {
        data["rosterOverview"]["artists"]
            .as_array()
            .expect("artists")
            .iter()
            // Unmatched lines sum under no artist.
            .filter_map(|a| a["artist"]["name"].as_str().map(str::to_owned))
            .collect()
    };
    for _ in 0..2 {
        let all = app.ok(Some(&token), roster, json!({"org": org})).await;
        let mut seen = names(&all);
        seen.sort();
        assert_eq!(seen, ["Ada Vesper", "Juniper Static"]);
        let own = app.ok(Some(&ada), roster, json!({"org": org})).await;
        assert_eq!(names(&own), ["Ada Vesper"]);
    }
    // Answers are kept per caller and role: once Ada is a viewer of the whole roster, the same
    // query text answers with every artist at once, not with what she was given before.
    let members = app
        .ok(
            Some(&token),
            "query($org: ID!) { organization(id: $org) { members(first: 10) { edges { node { id user { email } } } } } }",
            json!({"org": org}),
        )
        .await;
    let ada_member = members["organization"]["members"]["edges"]
        .as_array()
        .expect("members")
        .iter()
        .find(|e| e["node"]["user"]["email"] == "ada@numbers.test")
        .and_then(|e| e["node"]["id"].as_str())
        .expect("Ada is a member")
        .to_owned();
    let change = "mutation($id: ID!, $role: Role!, $artist: ID) { changeMemberRole(input: {memberId: $id, role: $role, artistId: $artist}) { member { role } userErrors { message } } }";
    app.ok(
        Some(&token),
        change,
        json!({"id": ada_member, "role": "VIEWER"}),
    )
    .await;
    let mut seen = names(&app.ok(Some(&ada), roster, json!({"org": org})).await);
    seen.sort();
    assert_eq!(seen, ["Ada Vesper", "Juniper Static"]);
    app.ok(
        Some(&token),
        change,
        json!({"id": ada_member, "role": "ARTIST", "artist": ada_id}),
    )
    .await;
    let own = app.ok(Some(&ada), roster, json!({"org": org})).await;
    assert_eq!(names(&own), ["Ada Vesper"]);
    app.ok(
        Some(&token),
        "mutation($id: ID!) { updateArtist(input: {artistId: $id, name: \"Juniper Static II\"}) { artist { name } } }",
        json!({"id": artists[1].0}),
    )
    .await;
    app.eventually(Duration::from_secs(10), || async {
        let data = app.ok(Some(&token), roster, json!({"org": org})).await;
        names(&data)
            .iter()
            .any(|n| n == "Juniper Static II")
            .then_some(())
    })
    .await;

    // Cached answers follow new statements: one more line shows up once its roll-up is refreshed.
    let totals = "query($org: ID!) { analytics(organizationId: $org, groupBy: []) { totals { lineCount quantity } } }";
    let cached = app.ok(Some(&token), totals, json!({"org": org})).await;
    assert_eq!(
        cached["analytics"]["totals"]["lineCount"],
        json!(lines.len())
    );
    let extra = format!(
        "{HEADER}\r\n2025-05-01\t2025-04\tSpotify\tAda Vesper\tT\t{}\t\t1000\t100\tSong\tUS\t0\t1.25\r\n",
        isrcs[0].0
    );
    let upload = app
        .upload_statement(&token, &org, "april.tsv", extra.into_bytes())
        .await;
    let id = upload["data"]["uploadStatement"]["statement"]["id"]
        .as_str()
        .expect("statement")
        .to_owned();
    app.wait_for_statement(&token, &id).await;
    app.eventually(Duration::from_secs(60), || async {
        let data = app.ok(Some(&token), totals, json!({"org": org})).await;
        (data["analytics"]["totals"]["lineCount"] == json!(lines.len() + 1)
            && data["analytics"]["totals"]["quantity"] == json!(total_quantity + 1000))
        .then_some(())
    })
    .await;

    // A rebuild from scratch gives the same numbers.
    let before = app
        .ok(
            Some(&token),
            query,
            json!({"org": org, "by": ["TRACK", "STORE", "TERRITORY", "MONTH"]}),
        )
        .await;
    api::app::rebuild_analytics(&app.state, None)
        .await
        .expect("rebuild");
    let after = app
        .ok(
            Some(&token),
            query,
            json!({"org": org, "by": ["TRACK", "STORE", "TERRITORY", "MONTH"]}),
        )
        .await;
    assert_eq!(before, after);
}

/// Parsed queries are kept per server worker, by their text; what they are kept for is the
/// parse only: the same text sent again is still validated, and authorized for whoever sends
/// it with whatever variables.
async fn a_reused_query_is_checked_every_time(app: TestApp) {
    let owner = app.sign_up("owner@parsed.test").await;
    let org = app.create_organization(&owner, "Parsed Records").await;
    let stranger = app.sign_up("stranger@parsed.test").await;
    let mut artists = Vec::new();
    for name in ["Ada", "Bo"] {
        let data = app.ok(Some(&owner), "mutation($org: ID!, $name: String!) { createArtist(input: {organizationId: $org, name: $name}) { artist { id } } }", json!({"org": org, "name": name})).await;
        artists.push(
            data["createArtist"]["artist"]["id"]
                .as_str()
                .expect("artist")
                .to_owned(),
        );
    }
    let data = app.ok(Some(&owner), "mutation($org: ID!, $artist: ID!) { inviteMember(input: {organizationId: $org, email: \"ada@parsed.test\", role: ARTIST, artistId: $artist}) { invitationToken } }", json!({"org": org, "artist": artists[0]})).await;
    let invitation = data["inviteMember"]["invitationToken"]
        .as_str()
        .expect("invitation")
        .to_owned();
    let ada = app.sign_up("ada@parsed.test").await;
    app.ok(
        Some(&ada),
        "mutation($t: String!) { acceptInvitation(input: {token: $t}) { member { role } } }",
        json!({"t": invitation}),
    )
    .await;

    let query = "query($org: ID!, $artists: [ID!], $first: Int!) { analytics(organizationId: $org, groupBy: [ARTIST], filter: {artistIds: $artists}, first: $first) { totals { lineCount } } }";
    let code = |response: &Value| {
        response["errors"][0]["extensions"]["code"]
            .as_str()
            .map(str::to_owned)
    };
    // Rounds enough for every worker to have parsed the query and then answer from its cache.
    for _ in 0..6 {
        let allowed = app
            .graphql(
                Some(&owner),
                query,
                json!({"org": org, "artists": [artists[1]], "first": 10}),
            )
            .await;
        assert!(allowed["errors"].is_null(), "{allowed}");
        let own = app
            .graphql(
                Some(&ada),
                query,
                json!({"org": org, "artists": [artists[0]], "first": 10}),
            )
            .await;
        assert!(own["errors"].is_null(), "{own}");
        let others = app
            .graphql(
                Some(&ada),
                query,
                json!({"org": org, "artists": [artists[1]], "first": 10}),
            )
            .await;
        // Another artist does not exist for her: as an id of nothing.
        assert_eq!(code(&others).as_deref(), Some("NOT_FOUND"), "{others}");
        let outside = app
            .graphql(
                Some(&stranger),
                query,
                json!({"org": org, "artists": null, "first": 10}),
            )
            .await;
        assert_eq!(code(&outside).as_deref(), Some("NOT_FOUND"), "{outside}");
        let anonymous = app
            .graphql(
                None,
                query,
                json!({"org": org, "artists": null, "first": 10}),
            )
            .await;
        assert_eq!(
            code(&anonymous).as_deref(),
            Some("UNAUTHENTICATED"),
            "{anonymous}"
        );
        // Variables are checked against the document every time.
        let mistyped = app
            .graphql(
                Some(&owner),
                query,
                json!({"org": org, "artists": null, "first": "ten"}),
            )
            .await;
        assert!(mistyped["data"].is_null(), "{mistyped}");
        assert!(mistyped["errors"][0]["message"].is_string(), "{mistyped}");
        // A query that does not parse, or breaks the rules, is refused every time.
        let broken = app
            .graphql(Some(&owner), "query { analytics(", json!({}))
            .await;
        assert!(broken["errors"][0]["message"].is_string(), "{broken}");
        let deep = app
            .graphql(
                Some(&owner),
                "query($id: ID!) { organization(id: $id) { releases { edges { node { artist { releases { edges { node { artist { releases { edges { node { id } } } } } } } } } } } } }",
                json!({"id": org}),
            )
            .await;
        let message = deep["errors"][0]["message"].as_str().unwrap_or_default();
        assert!(message.contains("nested too deep"), "{deep}");
    }
}

/// Uploads one statement of `lines_per_month` unmatched lines in each of `months`
/// ("YYYY-MM"), and waits until the roll-ups count all of them; returns the organisation.
async fn old_statement(
    app: &TestApp,
    token: &str,
    months: &[&str],
    lines_per_month: usize,
) -> String {
    let org = app
        .create_organization(token, "Back Catalogue Records")
        .await;
    let mut text = format!("{HEADER}\r\n");
    let stores = ["Spotify", "Deezer", "Tidal"];
    let countries = ["US", "GB", "DE", "JP"];
    for month in months {
        for n in 0..lines_per_month {
            text.push_str(&format!(
                "2023-08-01\t{month}\t{}\tOld Timer\tT\tQZOLD23{n:05}\t\t{}\t100\tSong\t{}\t0\t1.5\r\n",
                stores[n % 3],
                n + 1,
                countries[n % 4],
            ));
        }
    }
    let upload = app
        .upload_statement(token, &org, "old.tsv", text.into_bytes())
        .await;
    let id = upload["data"]["uploadStatement"]["statement"]["id"]
        .as_str()
        .expect("statement")
        .to_owned();
    app.wait_for_statement(token, &id).await;
    let all = months.len() * lines_per_month;
    let totals = "query($org: ID!) { analytics(organizationId: $org, groupBy: []) { totals { lineCount } } }";
    app.eventually(Duration::from_secs(60), || async {
        let data = app.ok(Some(token), totals, json!({"org": org})).await;
        (data["analytics"]["totals"]["lineCount"] == json!(all)).then_some(())
    })
    .await;
    org
}

/// Without a period, the roster overview covers the last twelve months that have figures, not
/// the last twelve calendar months: a catalogue whose latest statement is years old still shows
/// its numbers, and the period before is as long and ends the month before.
async fn the_default_overview_ends_with_the_last_month_of_data(app: TestApp) {
    let token = app.sign_up("archive@label.test").await;
    // Older than twelve calendar months whenever this runs after 2024-07; the first month is
    // outside the default period, twelve months before the last.
    let org = old_statement(&app, &token, &["2022-06", "2022-07", "2023-06"], 4).await;
    let overview = app
        .ok(
            Some(&token),
            "query($org: ID!) { rosterOverview(organizationId: $org) { from to totals { lineCount quantity } previousTotals { lineCount } topStores { store } } }",
            json!({"org": org}),
        )
        .await;
    let overview = &overview["rosterOverview"];
    assert_eq!(overview["from"], json!("2022-07-01"));
    assert_eq!(overview["to"], json!("2023-06-01"));
    assert_eq!(overview["totals"]["lineCount"], json!(8));
    assert_eq!(overview["totals"]["quantity"], json!(2 * (1 + 2 + 3 + 4)));
    assert_eq!(overview["previousTotals"]["lineCount"], json!(4));
    assert_eq!(overview["topStores"].as_array().map(Vec::len), Some(3));

    // An organisation with no figures yet: the last twelve calendar months, all zero.
    let empty = app.create_organization(&token, "New Label").await;
    let overview = app
        .ok(
            Some(&token),
            "query($org: ID!) { rosterOverview(organizationId: $org) { from to totals { lineCount } } }",
            json!({"org": empty}),
        )
        .await;
    let today = chrono::Utc::now().date_naive();
    assert_eq!(
        overview["rosterOverview"]["to"],
        json!(today.format("%Y-%m-01").to_string())
    );
    assert_eq!(overview["rosterOverview"]["totals"]["lineCount"], json!(0));
}

/// Requests that ask at once for the same answer nobody has computed yet compute it once: the
/// others wait for it and take it, rather than each running the same aggregate.
async fn concurrent_cold_requests_compute_once(app: TestApp) {
    let token = app.sign_up("rush@label.test").await;
    let org = old_statement(&app, &token, &["2024-01", "2024-02"], 30).await;
    let cache = &app.state.analytics_cache;
    for (round, by) in [["TERRITORY"], ["STORE"], ["MONTH"]].iter().enumerate() {
        // A filter never asked before, so the answer is cold.
        let variables = json!({"org": org, "by": by, "filter": {"stores": ["Spotify", "Deezer"], "from": format!("2024-0{}-01", 1 + round % 2)}});
        let query = "query($org: ID!, $by: [AnalyticsDimension!]!, $filter: AnalyticsFilter) { analytics(organizationId: $org, groupBy: $by, filter: $filter) { totals { lineCount quantity } rows { store territory month figures { lineCount } } } }";
        let before = cache.computed();
        let answers = futures::future::join_all(
            (0..8).map(|_| app.ok(Some(&token), query, variables.clone())),
        )
        .await;
        assert_eq!(
            cache.computed() - before,
            1,
            "eight requests for one cold answer, grouped by {by:?}"
        );
        assert!(answers.iter().all(|a| *a == answers[0]));
        assert!(answers[0]["analytics"]["totals"]["lineCount"].as_i64() > Some(0));
    }
}

/// Every grouping, with and without filters, answered from the smallest roll-up that keeps
/// what it asks for equals the same answer from the full roll-up; and the small roll-ups are
/// smaller.
async fn every_grouping_from_a_small_rollup_equals_the_full_one(app: TestApp) {
    let token = app.sign_up("grains@label.test").await;
    let org = app.create_organization(&token, "Grain Records").await;
    let mut isrcs = Vec::new();
    let mut artists = Vec::new();
    for (a, name) in ["Ada Grain", "Juno Grain"].iter().enumerate() {
        let data = app.ok(Some(&token), "mutation($org: ID!, $name: String!) { createArtist(input: {organizationId: $org, name: $name}) { artist { id } } }", json!({"org": org, "name": name})).await;
        let artist = data["createArtist"]["artist"]["id"]
            .as_str()
            .expect("artist")
            .to_owned();
        let data = app.ok(Some(&token), "mutation($id: ID!) { createRelease(input: {artistId: $id, title: \"LP\", releaseType: ALBUM}) { release { id } } }", json!({"id": artist})).await;
        let release = data["createRelease"]["release"]["id"]
            .as_str()
            .expect("release")
            .to_owned();
        for t in 0..2 {
            let isrc = format!("QZGRN25{a}{t:04}");
            app.ok(Some(&token), "mutation($id: ID!, $isrc: String!) { addTrack(input: {releaseId: $id, title: $isrc, isrc: $isrc}) { track { id } } }", json!({"id": release, "isrc": isrc})).await;
            isrcs.push((isrc, name.to_string()));
        }
        artists.push(artist);
    }
    let stores = ["Spotify", "Apple Music", "Deezer"];
    let countries = ["US", "GB", "DE", "JP", "FR"];
    let mut n = 0;
    let mut lines = 0;
    // Two statements whose months overlap, so the second refresh rewrites a month of the first.
    for (file, months) in [
        ("a.tsv", ["2025-01", "2025-02"]),
        ("b.tsv", ["2025-02", "2025-03"]),
    ] {
        let mut text = format!("{HEADER}\r\n");
        for month in months {
            for (i, (isrc, artist)) in isrcs.iter().enumerate() {
                for s in 0..5 {
                    n += 1;
                    lines += 1;
                    text.push_str(&format!(
                        "2025-04-01\t{month}\t{}\t{artist}\tT\t{isrc}\t\t{}\t100\tSong\t{}\t0\t{}.{:09}\r\n",
                        stores[(i + s) % 3],
                        n,
                        countries[(i * 2 + s) % 5],
                        n % 5,
                        (n * 7_919_777) % 1_000_000_000
                    ));
                }
            }
            lines += 1;
            text.push_str(&format!("2025-04-01\t{month}\tTidal\tStranger\tT\tQZUNK2500009\t\t{n}\t100\tSong\tFR\t0\t0.5\r\n"));
        }
        let upload = app
            .upload_statement(&token, &org, file, text.into_bytes())
            .await;
        let id = upload["data"]["uploadStatement"]["statement"]["id"]
            .as_str()
            .expect("statement")
            .to_owned();
        app.wait_for_statement(&token, &id).await;
    }
    let totals = "query($org: ID!) { analytics(organizationId: $org, groupBy: []) { totals { lineCount } } }";
    app.eventually(Duration::from_secs(60), || async {
        let data = app.ok(Some(&token), totals, json!({"org": org})).await;
        (data["analytics"]["totals"]["lineCount"] == json!(lines)).then_some(())
    })
    .await;

    let dimensions = ["ARTIST", "RELEASE", "TRACK", "STORE", "TERRITORY", "MONTH"];
    let filters = [
        json!(null),
        json!({"stores": ["Spotify", "Tidal"]}),
        json!({"artistIds": [artists[0]], "from": "2025-02-01"}),
        json!({"territories": ["us", "FR"], "to": "2025-02-28"}),
    ];
    // The operation name keeps the two passes apart in the cache of whole answers.
    let query = |name: &str| {
        format!(
            "query {name}($org: ID!, $by: [AnalyticsDimension!]!, $filter: AnalyticsFilter) {{ analytics(organizationId: $org, groupBy: $by, filter: $filter, first: 1000) {{ totals {{ quantity lineCount earnings {{ amount }} earningsByCurrency {{ amount currency }} }} moreRows rows {{ store territory month artistName releaseTitle trackTitle figures {{ quantity lineCount earnings {{ amount }} earningsByCurrency {{ amount currency }} }} }} }} }}"
        )
    };
    let mut asked = Vec::new();
    for mask in 0..(1_u32 << dimensions.len()) {
        let by: Vec<&str> = (0..dimensions.len())
            .filter(|i| mask & (1 << i) != 0)
            .map(|i| dimensions[i])
            .collect();
        for filter in &filters {
            asked.push(json!({"org": org, "by": by, "filter": filter}));
        }
    }
    let mut from_grains = Vec::new();
    for variables in &asked {
        from_grains.push(
            app.ok(Some(&token), &query("Grains"), variables.clone())
                .await,
        );
    }
    app.state.analytics_cache.answer_from_full_rollup(true);
    for (variables, small) in asked.iter().zip(&from_grains) {
        let full = app
            .ok(Some(&token), &query("Full"), variables.clone())
            .await;
        assert_eq!(*small, full, "{variables}");
    }
    app.state.analytics_cache.answer_from_full_rollup(false);
    assert!(
        from_grains
            .iter()
            .all(|a| a["analytics"]["totals"]["lineCount"].as_i64() > Some(0))
    );

    // The month grain holds a row per month and currency; the full roll-up many more.
    use sea_orm::ConnectionTrait;
    let db = &app.state.db;
    let count = |sql: &'static str| async move {
        let row = db
            .query_one_raw(sea_orm::Statement::from_string(
                db.get_database_backend(),
                sql,
            ))
            .await
            .expect("count")
            .expect("a row");
        row.try_get::<i64>("", "n").expect("n")
    };
    let month_rows =
        count("SELECT COUNT(*) AS n FROM analytics_rollups WHERE grain = 'month'").await;
    let full_rows = count("SELECT COUNT(*) AS n FROM analytics_monthly").await;
    assert_eq!(month_rows, 3);
    assert!(full_rows > 10 * month_rows, "{full_rows} full rows");
}

on_every_backend!(
    every_grouping_from_a_small_rollup_equals_the_full_one,
    analytics_match_the_statement_lines,
    a_reused_query_is_checked_every_time,
    the_default_overview_ends_with_the_last_month_of_data,
    concurrent_cold_requests_compute_once
);
