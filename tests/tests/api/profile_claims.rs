//! Store profiles are claimed by the artist herself: an ARTIST member claims (and gives up) her
//! own artist's profiles; another artist's profile is not found; the label sees the claim state
//! and cannot set it.

use serde_json::{Value, json};
use tests::{TestApp, on_every_backend};

const CLAIM: &str = "mutation($id: ID!, $state: ClaimState) { claimArtistProfile(input: {artistProfileId: $id, claimState: $state}) { artistProfile { id claimState } userErrors { field message } } }";

fn id(data: &Value, path: &[&str]) -> String {
    let mut v = data;
    for step in path {
        v = match step.parse::<usize>() {
            Ok(i) => &v[i],
            Err(_) => &v[*step],
        };
    }
    v.as_str()
        .unwrap_or_else(|| panic!("{path:?} in {data}"))
        .to_owned()
}

/// An artist with a Spotify profile and a live release (so the profile is live); returns the
/// artist's and the profile's ids.
async fn live_artist(
    app: &TestApp,
    owner: &str,
    org: &str,
    name: &str,
    isrc: &str,
    upc: &str,
) -> (String, String) {
    let data = app.ok(Some(owner), "mutation($org: ID!, $name: String!) { createArtist(input: {organizationId: $org, name: $name, profiles: [{store: SPOTIFY, url: \"https://open.spotify.test/a\"}]}) { artist { id profiles { id claimState } } } }", json!({"org": org, "name": name})).await;
    let artist = id(&data, &["createArtist", "artist", "id"]);
    let profile = id(&data, &["createArtist", "artist", "profiles", "0", "id"]);
    assert_eq!(
        data["createArtist"]["artist"]["profiles"][0]["claimState"],
        "NOT_LIVE"
    );
    let data = app.ok(Some(owner), "mutation($id: ID!, $upc: String!) { createRelease(input: {artistId: $id, title: \"First\", releaseType: SINGLE, upc: $upc, releaseDate: \"2024-05-01\"}) { release { id } } }", json!({"id": artist, "upc": upc})).await;
    let release = id(&data, &["createRelease", "release", "id"]);
    app.ok(Some(owner), "mutation($id: ID!, $isrc: String!) { addTrack(input: {releaseId: $id, title: \"First\", isrc: $isrc}) { track { id } } }", json!({"id": release, "isrc": isrc})).await;
    let data = app.ok(Some(owner), "mutation($id: ID!) { setReleaseStatus(input: {releaseId: $id, status: LIVE}) { release { status } userErrors { message } } }", json!({"id": release})).await;
    assert_eq!(
        data["setReleaseStatus"]["release"]["status"], "LIVE",
        "{data}"
    );
    (artist, profile)
}

async fn the_artist_claims_her_own_profiles(app: TestApp) {
    let owner = app.sign_up("owner@claims.test").await;
    let org = app.create_organization(&owner, "Claims Records").await;
    let data = app.ok(Some(&owner), "mutation($org: ID!) { createArtist(input: {organizationId: $org, name: \"Quiet\", profiles: [{store: TIDAL}]}) { artist { id profiles { id } } } }", json!({"org": org})).await;
    let not_live = id(&data, &["createArtist", "artist", "profiles", "0", "id"]);
    let quiet = id(&data, &["createArtist", "artist", "id"]);
    let (ada, ada_profile) =
        live_artist(&app, &owner, &org, "Ada", "QZCLM2600001", "036000291469").await;
    let (_bo, bo_profile) =
        live_artist(&app, &owner, &org, "Bo", "QZCLM2600002", "036000291476").await;
    let ada_token = app
        .invite_member(&owner, &org, "ada@claims.test", "ARTIST", Some(&ada))
        .await;
    let quiet_token = app
        .invite_member(&owner, &org, "quiet@claims.test", "ARTIST", Some(&quiet))
        .await;
    let manager = app
        .invite_member(&owner, &org, "manager@claims.test", "MANAGER", None)
        .await;

    // Live now: unclaimed, and the label sees it.
    let seen = app
        .ok(
            Some(&owner),
            "query($id: ID!) { node(id: $id) { ... on ArtistProfile { claimState } } }",
            json!({"id": ada_profile}),
        )
        .await;
    assert_eq!(seen["node"]["claimState"], "UNCLAIMED");

    // She asks the store, then holds it; a retry changes nothing.
    for (state, expected) in [
        ("CLAIM_PENDING", "CLAIM_PENDING"),
        ("CLAIMED", "CLAIMED"),
        ("CLAIMED", "CLAIMED"),
    ] {
        let data = app
            .ok(
                Some(&ada_token),
                CLAIM,
                json!({"id": ada_profile, "state": state}),
            )
            .await;
        assert_eq!(
            data["claimArtistProfile"]["userErrors"],
            json!([]),
            "{data}"
        );
        assert_eq!(
            data["claimArtistProfile"]["artistProfile"]["claimState"],
            expected
        );
    }
    let seen = app
        .ok(
            Some(&owner),
            "query($id: ID!) { node(id: $id) { ... on ArtistProfile { claimState } } }",
            json!({"id": ada_profile}),
        )
        .await;
    assert_eq!(seen["node"]["claimState"], "CLAIMED");
    // The default is CLAIMED; UNCLAIMED gives it up.
    let data = app
        .ok(
            Some(&ada_token),
            CLAIM,
            json!({"id": ada_profile, "state": "UNCLAIMED"}),
        )
        .await;
    assert_eq!(
        data["claimArtistProfile"]["artistProfile"]["claimState"],
        "UNCLAIMED"
    );
    let data = app.ok(Some(&ada_token), "mutation($id: ID!) { claimArtistProfile(input: {artistProfileId: $id}) { artistProfile { claimState } } }", json!({"id": ada_profile})).await;
    assert_eq!(
        data["claimArtistProfile"]["artistProfile"]["claimState"],
        "CLAIMED"
    );

    // Another artist's profile is not found, exactly like an id of nothing.
    let other = app
        .graphql(
            Some(&ada_token),
            CLAIM,
            json!({"id": bo_profile, "state": "CLAIMED"}),
        )
        .await;
    assert_eq!(
        other["errors"][0]["extensions"]["code"], "NOT_FOUND",
        "{other}"
    );
    // A profile that is not live has nothing to claim: a user error on the field.
    let data = app
        .ok(
            Some(&quiet_token),
            CLAIM,
            json!({"id": not_live, "state": "CLAIMED"}),
        )
        .await;
    assert_eq!(
        data["claimArtistProfile"]["userErrors"][0]["field"],
        json!(["claimState"]),
        "{data}"
    );
    assert!(data["claimArtistProfile"]["artistProfile"].is_null());

    // The label cannot claim for her.
    for token in [&owner, &manager] {
        let refused = app
            .graphql(
                Some(token),
                CLAIM,
                json!({"id": bo_profile, "state": "CLAIMED"}),
            )
            .await;
        assert_eq!(
            refused["errors"][0]["extensions"]["code"], "FORBIDDEN",
            "{refused}"
        );
    }
    // Nor set it through the artist's profiles: the input has no claim state any more.
    let refused = app.graphql(Some(&owner), "mutation($id: ID!) { updateArtist(input: {artistId: $id, profiles: [{store: SPOTIFY, claimState: CLAIMED}]}) { artist { id } } }", json!({"id": ada})).await;
    assert!(refused["errors"].is_array(), "{refused}");
    let seen = app
        .ok(
            Some(&owner),
            "query($id: ID!) { node(id: $id) { ... on ArtistProfile { claimState } } }",
            json!({"id": bo_profile}),
        )
        .await;
    assert_eq!(seen["node"]["claimState"], "UNCLAIMED");
}

on_every_backend!(the_artist_claims_her_own_profiles);
