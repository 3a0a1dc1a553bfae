//! Nothing large is read before authentication, and guessing is throttled: a JSON body over
//! its limit is 413 from its `Content-Length` (before a byte of it is sent) or as soon as a
//! chunked one passes it; a query over its own limit is 413; an upload without a valid token is
//! 401 before its file is read, and nothing is stored; logins (however many aliases one request
//! holds), sign-ups, invitation acceptances, API-key use and unknown tokens are rate limited
//! with `RATE_LIMITED` and a retry time; an unknown email costs one password verification, like
//! a wrong password.
//!
//! The limits are kept in memory per process, the same on every backend: these run on SQLite.

use std::time::Duration;

use api::config::RateLimits;
use serde_json::{Value, json};
use tests::{Backend, TestApp};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const LOGIN: &str = "mutation($email: String!, $password: String!) { login(input: {email: $email, password: $password}) { token userErrors { code } } }";
const PASSWORD: &str = "a long enough password";

fn error_code(response: &Value) -> Option<&str> {
    response["errors"][0]["extensions"]["code"].as_str()
}

/// Generous limits, with `change` applied, per hour: nothing a test spent comes back while it
/// runs, however slow the machine.
fn limits(change: impl FnOnce(&mut RateLimits)) -> RateLimits {
    let mut limits = RateLimits {
        window: Duration::from_secs(3600),
        login_per_account: 1000,
        login_per_address: 1000,
        sign_up_per_address: 1000,
        api_key_per_key: 1000,
        bad_tokens_per_address: 1000,
    };
    change(&mut limits);
    limits
}

async fn app_with(rate_limits: RateLimits) -> TestApp {
    TestApp::spawn_configured(Backend::Sqlite, false, |config| {
        config.rate_limits = rate_limits;
    })
    .await
    .expect("sqlite app")
}

/// An HTTP/1.1 exchange on a raw connection: sends `head` (ending in the blank line) and
/// `body`, then reads the response; returns its status, head and body. A write the server cut
/// short (it answered and closed) is not an error: the answer is what counts.
async fn exchange(app: &TestApp, head: &str, body: &[u8]) -> (u16, String, String) {
    let address = app.base_url.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(address)
        .await
        .expect("connect");
    stream.write_all(head.as_bytes()).await.expect("head sent");
    for chunk in body.chunks(64 * 1024) {
        if stream.write_all(chunk).await.is_err() {
            break;
        }
    }
    let mut response = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), async {
        let mut buffer = [0_u8; 8192];
        loop {
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(n) => response.extend_from_slice(&buffer[..n]),
            }
            if complete(&response) {
                break;
            }
        }
    })
    .await;
    assert!(read.is_ok() || complete(&response), "no answer in time");
    let text = String::from_utf8_lossy(&response).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").expect("a response head");
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("a status");
    (status, head.to_owned(), body.to_owned())
}

/// Whether `response` holds a whole response with a `content-length`.
fn complete(response: &[u8]) -> bool {
    let text = String::from_utf8_lossy(response);
    let Some((head, body)) = text.split_once("\r\n\r\n") else {
        return false;
    };
    head.lines()
        .find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse::<usize>().ok())
                .flatten()
        })
        .is_some_and(|length| body.len() >= length)
}

fn code_of(body: &str) -> String {
    let value: Value = serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}"));
    value["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// Files under the app's file store folder.
fn stored_files(app: &TestApp) -> usize {
    fn count(dir: &std::path::Path) -> usize {
        std::fs::read_dir(dir).map_or(0, |entries| {
            entries
                .flatten()
                .map(|e| {
                    let path = e.path();
                    if path.is_dir() { count(&path) } else { 1 }
                })
                .sum()
        })
    }
    match &app.state.config.file_store {
        api::config::FileStoreLocation::Local(dir) => count(dir),
        other => panic!("a local store expected: {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_over_its_limit_is_refused_before_it_is_read() {
    let app = app_with(limits(|_| {})).await;
    let token = app.sign_up("big@limits.test").await;
    assert_eq!(app.state.config.max_json_body_bytes, 1024 * 1024);

    // 2 MiB announced, none of it sent: answered at once, anonymous or signed in.
    for auth in [String::new(), format!("Authorization: Bearer {token}\r\n")] {
        let (status, _, body) = exchange(
            &app,
            &format!(
                "POST /graphql HTTP/1.1\r\nHost: imprint\r\nContent-Type: application/json\r\n{auth}Content-Length: {}\r\nConnection: close\r\n\r\n",
                2 * 1024 * 1024
            ),
            b"",
        )
        .await;
        assert_eq!(status, 413, "{body}");
        assert_eq!(code_of(&body), "PAYLOAD_TOO_LARGE");
    }

    // Chunked, with no length to check: refused once 1 MiB has been read.
    let mut chunked = Vec::new();
    for _ in 0..32 {
        chunked.extend_from_slice(format!("{:x}\r\n", 64 * 1024).as_bytes());
        chunked.extend(std::iter::repeat_n(b' ', 64 * 1024));
        chunked.extend_from_slice(b"\r\n");
    }
    chunked.extend_from_slice(b"0\r\n\r\n");
    let (status, _, body) = exchange(
        &app,
        "POST /graphql HTTP/1.1\r\nHost: imprint\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
        &chunked,
    )
    .await;
    assert_eq!(status, 413, "{body}");

    // Under the body limit but with a query over its own (64 KiB).
    let long_query = format!(
        "{{ viewer {{ user {{ email }} }} }} #{}",
        "x".repeat(70 * 1024)
    );
    let response = app
        .client
        .post(format!("{}/graphql", app.base_url))
        .json(&json!({ "query": long_query }))
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status().as_u16(), 413);

    // Just under both limits: served.
    let padded = format!(
        "{{ viewer {{ user {{ email }} }} }} #{}",
        "x".repeat(60 * 1024)
    );
    let response = app
        .client
        .post(format!("{}/graphql", app.base_url))
        .json(&json!({ "query": padded, "variables": { "pad": "y".repeat(900 * 1024) } }))
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status().as_u16(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_without_a_valid_token_is_refused_before_its_file_is_read() {
    let app = app_with(limits(|_| {})).await;
    let token = app.sign_up("uploader@limits.test").await;
    let org = app.create_organization(&token, "Upload Records").await;
    let operations = json!({
        "query": "mutation($input: UploadStatementInput!) { uploadStatement(input: $input) { statement { id } userErrors { message } } }",
        "variables": { "input": { "organizationId": org, "file": null } },
    });

    // The head and the `operations` part only, of a body announced as 10 MiB: the answer comes
    // without the file ever being sent.
    let boundary = "imprint-boundary";
    let start = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"operations\"\r\n\r\n{operations}\r\n--{boundary}\r\n"
    );
    for auth in ["", "Authorization: Bearer imp_not-a-real-token\r\n"] {
        let (status, head, body) = exchange(
            &app,
            &format!(
                "POST /graphql HTTP/1.1\r\nHost: imprint\r\nContent-Type: multipart/form-data; boundary={boundary}\r\n{auth}Content-Length: {}\r\n\r\n",
                10 * 1024 * 1024
            ),
            start.as_bytes(),
        )
        .await;
        assert_eq!(status, 401, "{auth}: {body}");
        assert_eq!(code_of(&body), "UNAUTHENTICATED");
        assert!(
            head.to_ascii_lowercase().contains("www-authenticate"),
            "{head}"
        );
    }

    // A signed-in caller who may upload to their own organisation but not to the one their
    // `operations` names: 403 from the operations part, the file never sent.
    let outsider = app.sign_up("outsider@limits.test").await;
    app.create_organization(&outsider, "Outsider Records").await;
    let (status, _, body) = exchange(
        &app,
        &format!(
            "POST /graphql HTTP/1.1\r\nHost: imprint\r\nContent-Type: multipart/form-data; boundary={boundary}\r\nAuthorization: Bearer {outsider}\r\nContent-Length: {}\r\n\r\n",
            10 * 1024 * 1024
        ),
        start.as_bytes(),
    )
    .await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(code_of(&body), "FORBIDDEN");

    // Whole uploads, as a client sends them: refused anonymous or with a bad token, nothing
    // stored; the same upload with the owner's token is taken (the check can pass).
    let csv = b"Reporting Month,Sale Month,Store,Artist,Title,ISRC,UPC,Quantity,Team Percentage,Song/Album,Country of Sale,Songwriter Royalties Withheld,Earnings (USD)\n".to_vec();
    for token in [None, Some("imp_not-a-real-token")] {
        let form = reqwest::multipart::Form::new()
            .text("operations", operations.to_string())
            .text("map", json!({ "0": ["variables.input.file"] }).to_string())
            .part(
                "0",
                reqwest::multipart::Part::bytes(csv.clone()).file_name("s.csv"),
            );
        let mut request = app
            .client
            .post(format!("{}/graphql", app.base_url))
            .multipart(form);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.expect("sent");
        assert_eq!(response.status().as_u16(), 401, "{token:?}");
    }
    assert_eq!(stored_files(&app), 0);
    let taken = app
        .upload_statement(&token, &org, "s.csv", csv.clone())
        .await;
    assert!(
        taken["data"]["uploadStatement"]["statement"]["id"].is_string(),
        "{taken}"
    );
    assert_eq!(stored_files(&app), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aliased_logins_in_one_request_do_not_all_run() {
    let app = app_with(limits(|l| l.login_per_address = 5)).await;
    let fields: Vec<String> = (0..500)
        .map(|i| {
            format!(
                "l{i}: login(input: {{email: \"guess{i}@limits.test\", password: \"guess {i}\"}}) {{ token }}"
            )
        })
        .collect();
    let query = format!("mutation {{ {} }}", fields.join(" "));
    let before = app.state.throttle.password_checks();
    let response = app
        .client
        .post(format!("{}/graphql", app.base_url))
        .json(&json!({ "query": query }))
        .send()
        .await
        .expect("sent");
    let retry_after: u64 = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .expect("a Retry-After header");
    assert!(retry_after >= 1);
    let body: Value = response.json().await.expect("json");
    let errors = body["errors"].as_array().expect("errors");
    let limited = errors
        .iter()
        .filter(|e| e["extensions"]["code"] == "RATE_LIMITED")
        .count();
    assert_eq!(limited, 495, "{body:#}");
    assert!(
        errors
            .iter()
            .all(|e| e["extensions"]["retryAfterSeconds"].as_u64() >= Some(1))
    );
    // Only the five allowed ran a password verification.
    assert_eq!(app.state.throttle.password_checks() - before, 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guessing_is_limited_per_account_and_an_unknown_email_costs_a_verification() {
    let app = app_with(limits(|l| {
        l.login_per_account = 3;
        l.sign_up_per_address = 3;
    }))
    .await;
    let metrics = |app: &TestApp| {
        let (client, url) = (app.client.clone(), format!("{}/metrics", app.base_url));
        async move {
            let text = client
                .get(url)
                .send()
                .await
                .expect("metrics")
                .text()
                .await
                .expect("text");
            text.lines()
                .find(|l| {
                    l.starts_with("imprint_login_failures_total{reason=\"invalid_credentials\"}")
                })
                .and_then(|l| l.rsplit(' ').next())
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0)
        }
    };
    app.sign_up("known@limits.test").await;

    // A wrong password and an unknown email: one verification each, the same answer.
    let failures_before = metrics(&app).await;
    for email in ["known@limits.test", "nobody@limits.test"] {
        let before = app.state.throttle.password_checks();
        let data = app
            .ok(
                None,
                LOGIN,
                json!({"email": email, "password": "wrong password"}),
            )
            .await;
        assert_eq!(
            data["login"]["userErrors"][0]["code"],
            "INVALID_CREDENTIALS"
        );
        assert_eq!(app.state.throttle.password_checks() - before, 1, "{email}");
    }
    assert!(metrics(&app).await >= failures_before + 2);

    // The second and third attempts on the known account are the last ones allowed; the
    // right password does not get through the fourth, and another account is not affected.
    for _ in 0..2 {
        let data = app
            .ok(
                None,
                LOGIN,
                json!({"email": "known@limits.test", "password": "wrong password"}),
            )
            .await;
        assert_eq!(
            data["login"]["userErrors"][0]["code"],
            "INVALID_CREDENTIALS"
        );
    }
    let fourth = app
        .graphql(
            None,
            LOGIN,
            json!({"email": "KNOWN@limits.test ", "password": PASSWORD}),
        )
        .await;
    assert_eq!(error_code(&fourth), Some("RATE_LIMITED"), "{fourth}");
    assert!(fourth["errors"][0]["extensions"]["retryAfterSeconds"].as_u64() >= Some(1));
    let other = app
        .ok(
            None,
            LOGIN,
            json!({"email": "other@limits.test", "password": "wrong password"}),
        )
        .await;
    assert_eq!(
        other["login"]["userErrors"][0]["code"],
        "INVALID_CREDENTIALS"
    );

    // Sign-ups per address: one was made above, two more are allowed.
    for i in 0..2 {
        app.sign_up(&format!("new{i}@limits.test")).await;
    }
    let refused = app
        .graphql(
            None,
            "mutation { signUp(input: {email: \"late@limits.test\", name: \"Late\", password: \"a long enough password\"}) { token } }",
            json!({}),
        )
        .await;
    assert_eq!(error_code(&refused), Some("RATE_LIMITED"), "{refused}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invitations_keys_and_unknown_tokens_are_limited() {
    let app = app_with(limits(|l| {
        l.login_per_account = 2;
        l.api_key_per_key = 3;
        l.bad_tokens_per_address = 3;
    }))
    .await;
    let owner = app.sign_up("owner@keys.test").await;
    let org = app.create_organization(&owner, "Key Records").await;

    // Guessing invitation tokens: two tries, then RATE_LIMITED.
    let accept = "mutation($t: String!) { acceptInvitation(input: {token: $t}) { member { role } userErrors { code } } }";
    for guess in ["impi_one", "impi_two"] {
        let data = app.ok(Some(&owner), accept, json!({"t": guess})).await;
        assert_eq!(data["acceptInvitation"]["userErrors"][0]["code"], "INVALID");
    }
    let third = app
        .graphql(Some(&owner), accept, json!({"t": "impi_three"}))
        .await;
    assert_eq!(error_code(&third), Some("RATE_LIMITED"), "{third}");

    // An API key: three requests, then 429 with Retry-After.
    let data = app
        .ok(
            Some(&owner),
            "mutation($org: ID!) { createApiKey(input: {organizationId: $org, name: \"Partner\", scopes: [READ_CATALOGUE]}) { secret } }",
            json!({"org": org}),
        )
        .await;
    let key = data["createApiKey"]["secret"].as_str().expect("secret");
    let ask = |token: String| {
        let (client, url) = (app.client.clone(), format!("{}/graphql", app.base_url));
        async move {
            let response = client
                .post(url)
                .bearer_auth(token)
                .json(&json!({"query": "{ viewer { apiKey { name } } }"}))
                .send()
                .await
                .expect("sent");
            let status = response.status().as_u16();
            let retry = response.headers().get("retry-after").is_some();
            let body: Value = response.json().await.expect("json");
            (status, retry, body)
        }
    };
    for _ in 0..3 {
        let (status, _, body) = ask(key.to_owned()).await;
        assert_eq!(status, 200, "{body}");
    }
    let (status, retry, body) = ask(key.to_owned()).await;
    assert_eq!((status, retry), (429, true), "{body}");
    assert_eq!(error_code(&body), Some("RATE_LIMITED"));

    // Unknown tokens from one address: three 401s, then 429.
    for _ in 0..3 {
        let (status, _, _) = ask("imp_guess".to_owned()).await;
        assert_eq!(status, 401);
    }
    let (status, retry, _) = ask("imp_guess".to_owned()).await;
    assert_eq!((status, retry), (429, true));
    // A valid session is not affected.
    let (status, _, _) = ask(owner.clone()).await;
    assert_eq!(status, 200);
}
