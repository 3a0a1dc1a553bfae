//! The platform around the schema: health, readiness, metrics, GraphiQL, limits, the SDL snapshot.

use serde_json::json;
use tests::{TestApp, on_every_backend};

#[test]
fn checked_in_schema_matches_the_code() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../api/schema.graphql");
    let checked_in = std::fs::read_to_string(path).expect("api/schema.graphql is checked in");
    let current = api::graphql::sdl();
    assert!(
        checked_in == current,
        "api/schema.graphql is stale: run `cargo run --bin imprint -- schema > api/schema.graphql` and review the diff"
    );
}

async fn health_readiness_and_metrics(app: TestApp) {
    let health = app
        .client
        .get(format!("{}/healthz", app.base_url))
        .send()
        .await
        .expect("healthz");
    assert_eq!(health.status(), 200);
    let ready = app
        .client
        .get(format!("{}/readyz", app.base_url))
        .send()
        .await
        .expect("readyz");
    assert_eq!(ready.status(), 200);
    let body: serde_json::Value = ready.json().await.expect("json");
    assert_eq!(
        body,
        json!({"database": "ok", "queue": "ok", "events": "ok"})
    );

    app.graphql(None, "{ viewer { user { id } } }", json!({}))
        .await;
    let metrics = app
        .client
        .get(format!("{}/metrics", app.base_url))
        .send()
        .await
        .expect("metrics");
    let text = metrics.text().await.expect("text");
    assert!(
        text.contains("imprint_http_requests_total{route=\"/graphql\",status=\"200\"}"),
        "{text}"
    );

    let graphiql = app
        .client
        .get(format!("{}/graphql", app.base_url))
        .send()
        .await
        .expect("graphiql");
    assert_eq!(graphiql.status(), 200);
    assert!(graphiql.text().await.expect("html").contains("graphiql"));
}

async fn abusive_queries_are_refused(app: TestApp) {
    let token = app.sign_up("deep@label.test").await;
    let org = app.create_organization(&token, "Deep Records").await;
    // Artist → releases → artist → releases … past the depth limit.
    let query = String::from(
        "query($id: ID!) { organization(id: $id) { releases { edges { node { artist { releases { edges { node { artist { releases { edges { node { id } } } } } } } } } } } } }",
    );
    let response = app.graphql(Some(&token), &query, json!({"id": org})).await;
    let message = response["errors"][0]["message"]
        .as_str()
        .unwrap_or_default();
    assert!(message.contains("nested too deep"), "{response}");
    assert!(response["data"].is_null());
    // Malformed input is a GraphQL error, not a 500.
    let response = app
        .graphql(
            Some(&token),
            "mutation { createArtist(input: {organizationId: 5, name: \"x\"}) { artist { id } } }",
            json!({}),
        )
        .await;
    assert_eq!(response["errors"][0]["extensions"]["code"], "NOT_FOUND");
}

on_every_backend!(health_readiness_and_metrics, abusive_queries_are_refused);
