//! A new user's first session, as the issue describes it, step by step over HTTP.

use serde_json::{Value, json};
use tests::{TestApp, on_every_backend};

const CREATE_ARTIST: &str = "mutation($input: CreateArtistInput!) { createArtist(input: $input) { artist { id name payees { id } } userErrors { field message code } } }";
const CREATE_RELEASE: &str = "mutation($input: CreateReleaseInput!) { createRelease(input: $input) { release { id upc status } userErrors { field message code } } }";
const ADD_TRACK: &str = "mutation($input: AddTrackInput!) { addTrack(input: $input) { track { id isrc position } userErrors { field message code } } }";
const CREATE_PAYEE: &str = "mutation($input: CreatePayeeInput!) { createPayee(input: $input) { payee { id } userErrors { field message code } } }";
const SET_SPLIT: &str = "mutation($input: SetSplitInput!) { setSplit(input: $input) { split { id effectiveFrom shares { share payee { name } } } userErrors { field message code } } }";

fn errors(payload: &Value) -> Vec<(String, String)> {
    payload["userErrors"]
        .as_array()
        .expect("userErrors list")
        .iter()
        .map(|e| {
            let field = e["field"]
                .as_array()
                .map(|f| {
                    f.iter()
                        .filter_map(Value::as_str)
                        .collect::<Vec<_>>()
                        .join(".")
                })
                .unwrap_or_default();
            (field, e["code"].as_str().unwrap_or_default().to_owned())
        })
        .collect()
}

async fn new_user_session(app: TestApp) {
    let token = app.sign_up("maya@label.test").await;
    let org = app.create_organization(&token, "Moth Records").await;

    let data = app
        .ok(
            Some(&token),
            CREATE_ARTIST,
            json!({"input": {"organizationId": org, "name": "Ada Vesper"}}),
        )
        .await;
    let ada = data["createArtist"]["artist"]["id"]
        .as_str()
        .expect("artist")
        .to_owned();
    let ada_payee = data["createArtist"]["artist"]["payees"][0]["id"]
        .as_str()
        .expect("artist payee")
        .to_owned();
    let data = app
        .ok(
            Some(&token),
            CREATE_ARTIST,
            json!({"input": {"organizationId": org, "name": "Juniper Static"}}),
        )
        .await;
    let juniper = data["createArtist"]["artist"]["id"]
        .as_str()
        .expect("artist")
        .to_owned();

    // A UPC with a wrong check digit is refused, with the field named.
    let data = app.ok(Some(&token), CREATE_RELEASE, json!({"input": {"artistId": ada, "title": "Night Ferry", "releaseType": "ALBUM", "upc": "036000291453"}})).await;
    assert_eq!(
        errors(&data["createRelease"]),
        vec![("upc".to_owned(), "INVALID".to_owned())]
    );
    assert!(data["createRelease"]["release"].is_null());
    let data = app.ok(Some(&token), CREATE_RELEASE, json!({"input": {"artistId": ada, "title": "Night Ferry", "releaseType": "ALBUM", "upc": "0360-0029-1452"}})).await;
    let release = &data["createRelease"]["release"];
    assert_eq!(release["upc"], "036000291452", "UPC normalised to digits");
    assert_eq!(release["status"], "DRAFT");
    let release_id = release["id"].as_str().expect("release").to_owned();

    // addTrack with a bad ISRC → a user error, and no track.
    let data = app.ok(Some(&token), ADD_TRACK, json!({"input": {"releaseId": release_id, "title": "Harbour Lights", "isrc": "US-AB1-24-0001X"}})).await;
    assert_eq!(
        errors(&data["addTrack"]),
        vec![("isrc".to_owned(), "INVALID".to_owned())]
    );
    let data = app.ok(Some(&token), ADD_TRACK, json!({"input": {"releaseId": release_id, "title": "Harbour Lights", "isrc": "us-ab1-24-00001"}})).await;
    assert_eq!(
        data["addTrack"]["track"]["isrc"], "USAB12400001",
        "ISRC normalised"
    );
    assert_eq!(data["addTrack"]["track"]["position"], 1);
    // The same ISRC twice in one organisation is refused.
    let data = app
        .ok(
            Some(&token),
            ADD_TRACK,
            json!({"input": {"releaseId": release_id, "title": "Again", "isrc": "USAB12400001"}}),
        )
        .await;
    assert_eq!(
        errors(&data["addTrack"]),
        vec![("isrc".to_owned(), "TAKEN".to_owned())]
    );

    let data = app.ok(Some(&token), CREATE_PAYEE, json!({"input": {"organizationId": org, "name": "Theo Marsh", "kind": "PRODUCER", "minimumPayout": "25.00"}})).await;
    let producer = data["createPayee"]["payee"]["id"]
        .as_str()
        .expect("payee")
        .to_owned();

    // 60/40 is a whole split; 60/30 is not.
    let data = app.ok(Some(&token), SET_SPLIT, json!({"input": {"releaseId": release_id, "effectiveFrom": "2025-01-01", "shares": [{"payeeId": ada_payee, "share": "60"}, {"payeeId": producer, "share": "40"}]}})).await;
    assert_eq!(errors(&data["setSplit"]), vec![]);
    let shares: Vec<&str> = data["setSplit"]["split"]["shares"]
        .as_array()
        .expect("shares")
        .iter()
        .filter_map(|s| s["share"].as_str())
        .collect();
    assert_eq!(shares, vec!["60", "40"]);
    let data = app.ok(Some(&token), SET_SPLIT, json!({"input": {"releaseId": release_id, "effectiveFrom": "2025-06-01", "shares": [{"payeeId": ada_payee, "share": "60"}, {"payeeId": producer, "share": "30"}]}})).await;
    assert_eq!(
        errors(&data["setSplit"]),
        vec![("shares".to_owned(), "INVALID".to_owned())]
    );
    assert!(data["setSplit"]["split"].is_null());
    let message = data["setSplit"]["userErrors"][0]["message"]
        .as_str()
        .unwrap_or_default();
    assert!(
        message.contains("90"),
        "the message says what the shares sum to: {message}"
    );

    // The refused split left nothing behind: still one version.
    let data = app
        .ok(
            Some(&token),
            "query($id: ID!) { node(id: $id) { ... on Release { splits { effectiveFrom } } } }",
            json!({"id": release_id}),
        )
        .await;
    assert_eq!(data["node"]["splits"].as_array().map(Vec::len), Some(1));

    // An artist member sees their own artist; another artist is as an id of nothing.
    let data = app.ok(Some(&token), "mutation($input: InviteMemberInput!) { inviteMember(input: $input) { invitationToken userErrors { message } } }", json!({"input": {"organizationId": org, "email": "ada@artists.test", "role": "ARTIST", "artistId": ada}})).await;
    let invitation = data["inviteMember"]["invitationToken"]
        .as_str()
        .expect("invitation token")
        .to_owned();
    let ada_token = app.sign_up("ada@artists.test").await;
    let data = app.ok(Some(&ada_token), "mutation($token: String!) { acceptInvitation(input: {token: $token}) { member { role } userErrors { message } } }", json!({"token": invitation})).await;
    assert_eq!(data["acceptInvitation"]["member"]["role"], "ARTIST");

    let own = app
        .ok(
            Some(&ada_token),
            "query($id: ID!) { node(id: $id) { ... on Artist { name } } }",
            json!({"id": ada}),
        )
        .await;
    assert_eq!(own["node"]["name"], "Ada Vesper");
    let other = app
        .graphql(
            Some(&ada_token),
            "query($id: ID!) { node(id: $id) { ... on Artist { name } } }",
            json!({"id": juniper}),
        )
        .await;
    assert!(other["errors"].is_null(), "{other}");
    assert!(other["data"]["node"].is_null());
    // Listing the roster as the artist shows only themself.
    let roster = app.ok(Some(&ada_token), "query($id: ID!) { organization(id: $id) { artists { totalCount edges { node { name } } } } }", json!({"id": org})).await;
    assert_eq!(roster["organization"]["artists"]["totalCount"], 1);
    assert_eq!(
        roster["organization"]["artists"]["edges"][0]["node"]["name"],
        "Ada Vesper"
    );
}

async fn login_and_bad_credentials(app: TestApp) {
    app.sign_up("sam@label.test").await;
    let bad = app.ok(None, "mutation { login(input: {email: \"sam@label.test\", password: \"wrong password!\"}) { token userErrors { code } } }", json!({})).await;
    assert!(bad["login"]["token"].is_null());
    assert_eq!(bad["login"]["userErrors"][0]["code"], "INVALID_CREDENTIALS");
    let good = app.ok(None, "mutation { login(input: {email: \"SAM@label.test \", password: \"a long enough password\"}) { token } }", json!({})).await;
    let token = good["login"]["token"].as_str().expect("token");
    let viewer = app
        .ok(Some(token), "{ viewer { user { email } } }", json!({}))
        .await;
    assert_eq!(viewer["viewer"]["user"]["email"], "sam@label.test");
    // A second sign-up with the same email is a user error, not a 500.
    let again = app.ok(None, "mutation { signUp(input: {email: \"sam@label.test\", name: \"Sam\", password: \"another long password\"}) { token userErrors { field code } } }", json!({})).await;
    assert_eq!(again["signUp"]["userErrors"][0]["code"], "TAKEN");
    // An unknown token is refused as a whole: UNAUTHENTICATED, never served as anonymous.
    let anon = app.graphql(Some("imp_not-a-real-token"), "mutation { createOrganization(input: {name: \"X\", kind: LABEL, baseCurrency: \"USD\"}) { organization { id } } }", json!({})).await;
    assert_eq!(anon["errors"][0]["extensions"]["code"], "UNAUTHENTICATED");
}

async fn agreements_exit_terms_and_takedowns(app: TestApp) {
    let token = app.sign_up("owner@label.test").await;
    let org = app.create_organization(&token, "Exit Records").await;
    let data = app.ok(Some(&token), CREATE_ARTIST, json!({"input": {"organizationId": org, "name": "Mira Okafor", "joinedOn": "2023-01-01"}})).await;
    let mira = data["createArtist"]["artist"]["id"]
        .as_str()
        .expect("artist")
        .to_owned();

    // Joint ownership needs the label's share; the errors name the fields.
    let create = "mutation($input: CreateAgreementInput!) { createAgreement(input: $input) { agreement { id masterOwner labelMasterShare artistRevenueShare labelRevenueShare advance { amount currency } artistMayTakeDown } userErrors { field code message } } }";
    let data = app.ok(Some(&token), create, json!({"input": {"artistId": mira, "title": "Deal", "masterOwner": "JOINT", "artistRevenueShare": "60", "startsOn": "2023-01-01"}})).await;
    assert_eq!(
        errors(&data["createAgreement"]),
        vec![("labelMasterShare".to_owned(), "INVALID".to_owned())]
    );
    let data = app.ok(Some(&token), create, json!({"input": {"artistId": mira, "title": "Deal", "masterOwner": "LABEL", "artistRevenueShare": "60", "advance": "1500.5", "startsOn": "2023-01-01", "endsOn": "2022-01-01"}})).await;
    assert_eq!(
        errors(&data["createAgreement"]),
        vec![("endsOn".to_owned(), "INVALID".to_owned())]
    );
    let data = app.ok(Some(&token), create, json!({"input": {"artistId": mira, "title": "Deal", "masterOwner": "LABEL", "artistRevenueShare": "60", "advance": "1500.5", "startsOn": "2023-01-01", "mastersRevertAfterMonths": 24, "exitReleasePolicy": "TAKE_DOWN"}})).await;
    let agreement = &data["createAgreement"]["agreement"];
    assert_eq!(agreement["labelMasterShare"], "100");
    assert_eq!(agreement["labelRevenueShare"], "40");
    assert_eq!(
        agreement["advance"],
        json!({"amount": "1500.50", "currency": "USD"})
    );
    assert_eq!(agreement["artistMayTakeDown"], false);

    // A live release, then the artist leaves: the agreement takes it down and dates the reversion.
    let data = app.ok(Some(&token), CREATE_RELEASE, json!({"input": {"artistId": mira, "title": "Velvet Engine", "releaseType": "SINGLE", "upc": "4006381333931", "releaseDate": "2024-03-01"}})).await;
    let release = data["createRelease"]["release"]["id"]
        .as_str()
        .expect("release")
        .to_owned();
    let status = "mutation($id: ID!, $status: ReleaseStatus!) { setReleaseStatus(input: {releaseId: $id, status: $status}) { release { status } userErrors { field code message } } }";
    let data = app
        .ok(
            Some(&token),
            status,
            json!({"id": release, "status": "LIVE"}),
        )
        .await;
    assert_eq!(
        errors(&data["setReleaseStatus"]),
        vec![("status".to_owned(), "NOT_ALLOWED".to_owned())],
        "no tracks yet"
    );
    app.ok(
        Some(&token),
        ADD_TRACK,
        json!({"input": {"releaseId": release, "title": "Velvet Engine", "isrc": "QZNLR2400001"}}),
    )
    .await;
    let data = app
        .ok(
            Some(&token),
            status,
            json!({"id": release, "status": "LIVE"}),
        )
        .await;
    assert_eq!(data["setReleaseStatus"]["release"]["status"], "LIVE");
    let data = app
        .ok(
            Some(&token),
            status,
            json!({"id": release, "status": "DRAFT"}),
        )
        .await;
    assert_eq!(
        errors(&data["setReleaseStatus"]),
        vec![("status".to_owned(), "NOT_ALLOWED".to_owned())],
        "live cannot go back to draft"
    );

    let leaves = "mutation($id: ID!) { artistLeaves(input: {artistId: $id, leftOn: \"2025-03-31\"}) { artist { leftOn } mastersRevertOn takenDownReleases { status } userErrors { message } } }";
    let data = app.ok(Some(&token), leaves, json!({"id": mira})).await;
    assert_eq!(data["artistLeaves"]["artist"]["leftOn"], "2025-03-31");
    assert_eq!(data["artistLeaves"]["mastersRevertOn"], "2027-03-31");
    assert_eq!(
        data["artistLeaves"]["takenDownReleases"],
        json!([{"status": "TAKEN_DOWN"}])
    );
    let audit = app.ok(Some(&token), "query($id: ID!) { organization(id: $id) { auditLog(first: 50) { edges { node { action } } } } }", json!({"id": org})).await;
    let actions: Vec<&str> = audit["organization"]["auditLog"]["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .filter_map(|e| e["node"]["action"].as_str())
        .collect();
    assert_eq!(
        actions,
        vec![
            "agreement.created",
            "recoupable.add",
            "release.status_changed",
            "artist.left"
        ],
        "the agreement's advance is recorded as a recoupable"
    );
    let data = app.ok(Some(&token), "query($id: ID!) { organization(id: $id) { recoupables { edges { node { kind amount { amount } remaining { amount } crossCollateralized artist { id } } } } } }", json!({"id": org})).await;
    let advance = &data["organization"]["recoupables"]["edges"][0]["node"];
    assert_eq!(advance["kind"], "ADVANCE");
    assert_eq!(advance["amount"]["amount"], "1500.50");
    assert_eq!(advance["remaining"]["amount"], "1500.50");
    assert_eq!(advance["crossCollateralized"], true);
    assert_eq!(advance["artist"]["id"], mira.as_str());
}

async fn pagination_walks_every_item_once(app: TestApp) {
    let token = app.sign_up("pager@label.test").await;
    let org = app.create_organization(&token, "Pager Records").await;
    for i in 0..7 {
        app.ok(
            Some(&token),
            CREATE_ARTIST,
            json!({"input": {"organizationId": org, "name": format!("Artist {i}")}}),
        )
        .await;
    }
    let query = "query($id: ID!, $after: String) { organization(id: $id) { artists(first: 3, after: $after) { totalCount pageInfo { hasNextPage endCursor } edges { node { name } } } } }";
    let mut after: Option<String> = None;
    let mut names = Vec::new();
    loop {
        let data = app
            .ok(Some(&token), query, json!({"id": org, "after": after}))
            .await;
        let page = &data["organization"]["artists"];
        assert_eq!(page["totalCount"], 7);
        names.extend(
            page["edges"]
                .as_array()
                .expect("edges")
                .iter()
                .filter_map(|e| e["node"]["name"].as_str().map(str::to_owned)),
        );
        if page["pageInfo"]["hasNextPage"] != true {
            break;
        }
        after = page["pageInfo"]["endCursor"].as_str().map(str::to_owned);
    }
    let expected: Vec<String> = (0..7).map(|i| format!("Artist {i}")).collect();
    assert_eq!(names, expected);
}

on_every_backend!(
    new_user_session,
    login_and_bad_credentials,
    agreements_exit_terms_and_takedowns,
    pagination_walks_every_item_once
);
