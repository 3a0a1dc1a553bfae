//! The portal served at `/` beside the API: cache headers, the Content-Security-Policy, the
//! SPA fallback that never swallows an API path, and GraphiQL working without the internet.

use reqwest::header::HeaderMap;
use serde_json::json;
use tests::{Backend, TestApp};

const INDEX: &str = "<!doctype html><html><head><script type=\"module\" src=\"/assets/app-4f2a9c.js\"></script></head><body><div id=\"app\">portal-index-marker</div></body></html>";
const SCRIPT: &str = "console.log('portal app');";

fn header<'a>(headers: &'a HeaderMap, name: &str) -> &'a str {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

/// A built portal on disk, as `npm run build` leaves it (`index.html`, hashed `assets/`).
fn built_portal() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("dir");
    std::fs::create_dir(dir.path().join("assets")).expect("assets");
    std::fs::write(dir.path().join("index.html"), INDEX).expect("index");
    std::fs::write(dir.path().join("assets/app-4f2a9c.js"), SCRIPT).expect("script");
    dir
}

fn assert_strict_policy(headers: &HeaderMap, port: &str) {
    let csp = header(headers, "content-security-policy");
    for directive in [
        "default-src 'self'",
        "script-src 'self';",
        "frame-ancestors 'none'",
        "object-src 'none'",
        "base-uri 'none'",
    ] {
        assert!(csp.contains(directive), "{directive} missing from {csp}");
    }
    assert!(
        csp.contains(&format!("ws://127.0.0.1:{port}")),
        "connect-src names the ws origin: {csp}"
    );
    let script = csp
        .split(';')
        .find(|d| d.trim().starts_with("script-src"))
        .expect("script-src");
    assert!(!script.contains("unsafe"), "{script}");
    assert_eq!(header(headers, "x-content-type-options"), "nosniff");
    assert_eq!(header(headers, "referrer-policy"), "no-referrer");
}

async fn portal_is_served_beside_the_api(backend: Backend) {
    let portal = built_portal();
    let folder = portal.path().to_path_buf();
    let Some(app) = TestApp::spawn_configured(backend, true, move |config| {
        config.web_dir = Some(folder);
    })
    .await
    else {
        return;
    };
    let port = app.base_url.rsplit(':').next().expect("port").to_owned();
    let get = |path: &str| app.client.get(format!("{}{path}", app.base_url)).send();

    let index = get("/").await.expect("index");
    assert_eq!(index.status(), 200);
    let headers = index.headers().clone();
    assert_eq!(header(&headers, "cache-control"), "no-cache");
    assert!(header(&headers, "content-type").starts_with("text/html"));
    assert_strict_policy(&headers, &port);
    let etag = header(&headers, "etag").to_owned();
    assert_eq!(index.text().await.expect("body"), INDEX);

    // Revalidated, not downloaded again.
    let again = app
        .client
        .get(format!("{}/", app.base_url))
        .header("if-none-match", &etag)
        .send()
        .await
        .expect("revalidate");
    assert_eq!(again.status(), 304);

    let script = get("/assets/app-4f2a9c.js").await.expect("script");
    assert_eq!(script.status(), 200);
    assert_eq!(
        header(script.headers(), "cache-control"),
        "public, max-age=31536000, immutable"
    );
    assert!(header(script.headers(), "content-type").contains("javascript"));
    assert_eq!(script.text().await.expect("body"), SCRIPT);

    // A client route is the app's index.html, never cached for long.
    for route in [
        "/roster",
        "/money/payouts/UGF5b3V0OjE",
        "/artist/statements",
    ] {
        let page = get(route).await.expect("route");
        assert_eq!(page.status(), 200, "{route}");
        assert_eq!(header(page.headers(), "cache-control"), "no-cache");
        assert_strict_policy(page.headers(), &port);
        assert_eq!(page.text().await.expect("body"), INDEX, "{route}");
    }

    // A missing file is not found (an HTML page served as a script would be cached a year).
    for missing in ["/assets/app-000000.js", "/favicon.ico", "/robots.txt"] {
        let response = get(missing).await.expect("missing");
        assert_eq!(response.status(), 404, "{missing}");
        assert!(
            !response
                .text()
                .await
                .expect("body")
                .contains("portal-index-marker"),
            "{missing}"
        );
    }

    // The API's paths are never the portal.
    for api in [
        "/graphql/nothing",
        "/graphql/ws/x",
        "/downloads",
        "/downloads/payouts/1",
        "/healthz/x",
        "/metrics/x",
        "/payouts/UGF5b3V0OjE/statement.csv",
    ] {
        let response = get(api).await.expect("api path");
        assert_ne!(response.status(), 200, "{api}");
        assert!(
            !response
                .text()
                .await
                .expect("body")
                .contains("portal-index-marker"),
            "{api} answered with the portal"
        );
    }
    let health = get("/healthz").await.expect("healthz");
    assert_eq!(health.text().await.expect("body"), "ok");
    let metrics = get("/metrics").await.expect("metrics");
    assert!(
        metrics
            .text()
            .await
            .expect("body")
            .contains("imprint_http_requests_total")
    );
    let data = app.ok(None, "{ __typename }", json!({})).await;
    assert_eq!(data["__typename"], "Query");
}

async fn graphiql_needs_no_internet(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let port = app.base_url.rsplit(':').next().expect("port").to_owned();
    let page = app
        .client
        .get(format!("{}/graphql", app.base_url))
        .send()
        .await
        .expect("graphiql");
    assert_eq!(page.status(), 200);
    let headers = page.headers().clone();
    assert_strict_policy(&headers, &port);
    let html = page.text().await.expect("html");
    assert!(html.contains("graphiql"), "{html}");
    // Every script and stylesheet is this server's, and each one answers.
    let mut referenced = Vec::new();
    for attribute in ["src=\"", "href=\""] {
        for (at, _) in html.match_indices(attribute) {
            let rest = &html[at + attribute.len()..];
            let url = &rest[..rest.find('"').expect("closing quote")];
            referenced.push(url.to_owned());
        }
    }
    assert!(referenced.len() >= 4, "{referenced:?}");
    for url in &referenced {
        assert!(
            url.starts_with('/') && !url.starts_with("//"),
            "{url} is not on this server"
        );
        let asset = app
            .client
            .get(format!("{}{url}", app.base_url))
            .send()
            .await
            .expect("asset");
        assert_eq!(asset.status(), 200, "{url}");
        assert!(asset.bytes().await.expect("body").len() > 10, "{url}");
    }
    // No inline script: every <script> has a src.
    assert_eq!(
        html.matches("<script").count(),
        html.matches("<script src=\"/").count(),
        "{html}"
    );
    assert!(!html.contains("unpkg") && !html.contains("cdn"), "{html}");
}

async fn portal_root_answers_without_a_web_dir(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    // Built or not, `/` answers with HTML under the portal's policy: the app, or how to build it.
    let root = app
        .client
        .get(format!("{}/", app.base_url))
        .send()
        .await
        .expect("root");
    assert_eq!(root.status(), 200);
    let port = app.base_url.rsplit(':').next().expect("port").to_owned();
    assert_strict_policy(root.headers(), &port);
    assert!(header(root.headers(), "content-type").starts_with("text/html"));
}

macro_rules! on_both {
    ($($scenario:ident),+ $(,)?) => {
        $(
            mod $scenario {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    super::$scenario(tests::Backend::Sqlite).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    super::$scenario(tests::Backend::Postgres).await;
                }
            }
        )+
    };
}

on_both!(
    portal_is_served_beside_the_api,
    graphiql_needs_no_internet,
    portal_root_answers_without_a_web_dir
);
