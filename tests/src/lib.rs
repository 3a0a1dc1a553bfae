//! The test harness: the real app, spawned on port 0 against a fresh database, driven over
//! HTTP like any client would.
//!
//! Every scenario runs on the embedded backend (SQLite file + SQLite queue). When
//! `IMPRINT_TEST_DATABASE_URL` is set (a PostgreSQL server URL) it also runs on a fresh
//! PostgreSQL database created for that one test, with the job queue and event bus on Redis
//! when `IMPRINT_TEST_REDIS_URL` is set. A scenario never shares a database with another.

pub mod bench;
pub mod fixtures;
pub mod s3;
pub mod smtp;

use std::net::TcpListener;
use std::time::{Duration, Instant};

use api::config::{Config, FileStoreLocation, QueueBackend};
use api::state::AppState;
use serde_json::{Value, json};

pub const DATABASE_ENV: &str = "IMPRINT_TEST_DATABASE_URL";
pub const REDIS_ENV: &str = "IMPRINT_TEST_REDIS_URL";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A running app and a client for it.
pub struct TestApp {
    pub base_url: String,
    pub client: reqwest::Client,
    pub state: AppState,
    pub backend: Backend,
    _dir: tempfile::TempDir,
}

impl std::fmt::Debug for TestApp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestApp")
            .field("base_url", &self.base_url)
            .field("backend", &self.backend)
            .finish()
    }
}

fn unique_suffix() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!("{}_{}", std::process::id(), nanos % 1_000_000_000_000)
}

/// Posts a GraphQL request to the server at `base_url` (another process of the same app, say)
/// and returns the whole JSON response (`data` and `errors`).
///
/// # Panics
/// When the server does not answer with JSON.
pub async fn graphql_at(
    client: &reqwest::Client,
    base_url: &str,
    token: Option<&str>,
    query: &str,
    variables: Value,
) -> Value {
    let mut request = client
        .post(format!("{base_url}/graphql"))
        .json(&json!({ "query": query, "variables": variables }));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.expect("request sent");
    // A credential that names no one is refused as a whole (401), and so is a rate-limited
    // caller (429), both with a GraphQL error body.
    let status = response.status().as_u16();
    assert!(
        response.status().is_success() || status == 401 || status == 429,
        "HTTP {status} from /graphql"
    );
    response.json().await.expect("JSON response")
}

/// Creates an empty PostgreSQL database for one test and returns its URL.
async fn fresh_postgres(server_url: &str) -> anyhow::Result<String> {
    use sea_orm::ConnectionTrait;
    let name = format!("imprint_t_{}", unique_suffix());
    let admin = sea_orm::Database::connect(server_url).await?;
    admin
        .execute_unprepared(&format!("CREATE DATABASE {name}"))
        .await?;
    admin.close().await?;
    let base = match server_url.rfind('/') {
        Some(i) if i > server_url.find("://").map_or(0, |s| s + 2) => &server_url[..i],
        _ => server_url,
    };
    Ok(format!("{base}/{name}"))
}

impl TestApp {
    /// Spawns the app with its in-process workers. Returns `None` (and says so on stderr) when
    /// the backend needs a service this run was not given.
    ///
    /// # Panics
    /// When the app cannot start: a test cannot go on without it.
    pub async fn spawn(backend: Backend) -> Option<Self> {
        Self::spawn_with(backend, true).await
    }

    /// Like [`TestApp::spawn`]; `workers: false` leaves queued jobs waiting (to test the queue
    /// itself or run a worker separately).
    ///
    /// # Panics
    /// When the app cannot start.
    pub async fn spawn_with(backend: Backend, workers: bool) -> Option<Self> {
        Self::spawn_configured(backend, workers, |_| {}).await
    }

    /// Like [`TestApp::spawn`], with statement files kept in `file_store` (an S3-compatible
    /// bucket, say) instead of the test's own folder.
    ///
    /// # Panics
    /// When the app cannot start, the store included.
    pub async fn spawn_with_file_store(
        backend: Backend,
        file_store: FileStoreLocation,
    ) -> Option<Self> {
        Self::spawn_configured(backend, true, |config| config.file_store = file_store).await
    }

    /// Like [`TestApp::spawn_with`], with the configuration changed by `configure` before the
    /// app starts. A test app's webhooks may reach local addresses (the partner endpoints the
    /// tests run are on 127.0.0.1) unless `configure` says otherwise.
    ///
    /// # Panics
    /// When the app cannot start.
    pub async fn spawn_configured(
        backend: Backend,
        workers: bool,
        configure: impl FnOnce(&mut Config),
    ) -> Option<Self> {
        let dir = tempfile::tempdir().expect("temp dir");
        let namespace = format!("imprint-test-{}", unique_suffix());
        let dir_str = dir.path().display().to_string();
        let (database_url, queue) = match backend {
            Backend::Sqlite => (
                format!("sqlite://{dir_str}/imprint.db?mode=rwc"),
                QueueBackend::Sqlite {
                    url: format!("sqlite://{dir_str}/queue.db?mode=rwc"),
                },
            ),
            Backend::Postgres => {
                let Some(server) = std::env::var(DATABASE_ENV).ok().filter(|v| !v.is_empty())
                else {
                    eprintln!(
                        "skipped on PostgreSQL: {DATABASE_ENV} is not set (this run covers SQLite only)"
                    );
                    return None;
                };
                let url = fresh_postgres(&server)
                    .await
                    .expect("create a test database");
                let queue = match std::env::var(REDIS_ENV).ok().filter(|v| !v.is_empty()) {
                    Some(redis) => QueueBackend::Redis { url: redis },
                    None => {
                        eprintln!("queue on SQLite: {REDIS_ENV} is not set");
                        QueueBackend::Sqlite {
                            url: format!("sqlite://{dir_str}/queue.db?mode=rwc"),
                        }
                    }
                };
                (url, queue)
            }
        };
        let env = [
            ("IMPRINT_DATABASE_URL", database_url.as_str()),
            ("IMPRINT_DATA_DIR", dir_str.as_str()),
            ("IMPRINT_NAMESPACE", namespace.as_str()),
            ("IMPRINT_WEBHOOK_ALLOW_PRIVATE_NETWORKS", "true"),
        ];
        let mut config = Config::from_env(&env).expect("test config");
        config.queue = queue;
        configure(&mut config);
        let state = api::app::connect(&config).await.expect("connect services");
        api::app::migrate(&state).await.expect("migrate");
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind port 0");
        let port = listener.local_addr().expect("local addr").port();
        let server = api::app::http_server(state.clone(), listener).expect("server");
        tokio::spawn(server);
        if workers {
            let ctx = state.job_context();
            tokio::spawn(async move {
                let never = std::future::pending::<std::io::Result<()>>();
                if let Err(err) = workers::run(ctx, 2, never).await {
                    eprintln!("test workers stopped: {err}");
                }
            });
        }
        Some(Self {
            base_url: format!("http://127.0.0.1:{port}"),
            client: reqwest::Client::new(),
            state,
            backend,
            _dir: dir,
        })
    }

    /// Posts a GraphQL request and returns the whole JSON response (`data` and `errors`).
    ///
    /// # Panics
    /// When the server does not answer with JSON.
    pub async fn graphql(&self, token: Option<&str>, query: &str, variables: Value) -> Value {
        graphql_at(&self.client, &self.base_url, token, query, variables).await
    }

    /// Like [`TestApp::graphql`], but fails the test on any GraphQL error and returns `data`.
    ///
    /// # Panics
    /// On GraphQL errors.
    pub async fn ok(&self, token: Option<&str>, query: &str, variables: Value) -> Value {
        let response = self.graphql(token, query, variables).await;
        assert!(
            response.get("errors").is_none(),
            "unexpected errors: {response:#}"
        );
        response["data"].clone()
    }

    /// Signs up a user and returns their token.
    ///
    /// # Panics
    /// When sign-up fails.
    pub async fn sign_up(&self, email: &str) -> String {
        let data = self
            .ok(
                None,
                "mutation($input: SignUpInput!) { signUp(input: $input) { token userErrors { message } } }",
                json!({ "input": { "email": email, "name": email.split('@').next(), "password": "a long enough password" } }),
            )
            .await;
        data["signUp"]["token"].as_str().expect("token").to_owned()
    }

    /// Creates an organisation owned by `token`'s user; returns its id.
    ///
    /// # Panics
    /// When creation fails.
    pub async fn create_organization(&self, token: &str, name: &str) -> String {
        let data = self
            .ok(
                Some(token),
                "mutation($input: CreateOrganizationInput!) { createOrganization(input: $input) { organization { id } userErrors { message } } }",
                json!({ "input": { "name": name, "kind": "LABEL", "baseCurrency": "USD" } }),
            )
            .await;
        data["createOrganization"]["organization"]["id"]
            .as_str()
            .expect("organization id")
            .to_owned()
    }

    /// Adds an artist to the organisation; returns her id.
    ///
    /// # Panics
    /// When the artist is not created.
    pub async fn create_artist(&self, token: &str, org: &str, name: &str) -> String {
        let data = self
            .ok(
                Some(token),
                "mutation($org: ID!, $name: String!) { createArtist(input: {organizationId: $org, name: $name}) { artist { id } userErrors { message } } }",
                json!({ "org": org, "name": name }),
            )
            .await;
        data["createArtist"]["artist"]["id"]
            .as_str()
            .unwrap_or_else(|| panic!("artist not created: {data}"))
            .to_owned()
    }

    /// Adds an album titled `title` under the artist; returns its id.
    ///
    /// # Panics
    /// When the release is not created.
    pub async fn create_release(&self, token: &str, artist: &str, title: &str) -> String {
        let data = self
            .ok(
                Some(token),
                "mutation($id: ID!, $title: String!) { createRelease(input: {artistId: $id, title: $title, releaseType: ALBUM}) { release { id } userErrors { message } } }",
                json!({ "id": artist, "title": title }),
            )
            .await;
        data["createRelease"]["release"]["id"]
            .as_str()
            .unwrap_or_else(|| panic!("release not created: {data}"))
            .to_owned()
    }

    /// Adds a track to the release; returns its id.
    ///
    /// # Panics
    /// When the track is not added.
    pub async fn add_track(&self, token: &str, release: &str, title: &str, isrc: &str) -> String {
        let data = self
            .ok(
                Some(token),
                "mutation($id: ID!, $title: String!, $isrc: String!) { addTrack(input: {releaseId: $id, title: $title, isrc: $isrc}) { track { id } userErrors { message } } }",
                json!({ "id": release, "title": title, "isrc": isrc }),
            )
            .await;
        data["addTrack"]["track"]["id"]
            .as_str()
            .unwrap_or_else(|| panic!("track not added: {data}"))
            .to_owned()
    }

    /// Invites `email` into the organisation as `role` (`"VIEWER"`, `"ARTIST"` with `artist`…),
    /// signs them up and accepts the invitation; returns their session token.
    ///
    /// # Panics
    /// When the invitation or the acceptance fails.
    pub async fn invite_member(
        &self,
        manager: &str,
        org: &str,
        email: &str,
        role: &str,
        artist: Option<&str>,
    ) -> String {
        let data = self
            .ok(
                Some(manager),
                "mutation($input: InviteMemberInput!) { inviteMember(input: $input) { invitationToken userErrors { message } } }",
                json!({"input": {"organizationId": org, "email": email, "role": role, "artistId": artist}}),
            )
            .await;
        let invitation = data["inviteMember"]["invitationToken"]
            .as_str()
            .unwrap_or_else(|| panic!("invitation: {data}"))
            .to_owned();
        let token = self.sign_up(email).await;
        let data = self
            .ok(
                Some(&token),
                "mutation($t: String!) { acceptInvitation(input: {token: $t}) { member { role } userErrors { message } } }",
                json!({"t": invitation}),
            )
            .await;
        assert_eq!(data["acceptInvitation"]["userErrors"], json!([]), "{data}");
        token
    }

    /// Polls `check` until it returns `Some`, for work the background workers do.
    ///
    /// # Panics
    /// After `timeout` without a result.
    pub async fn eventually<T, F, Fut>(&self, timeout: Duration, mut check: F) -> T
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Option<T>>,
    {
        let started = Instant::now();
        loop {
            if let Some(value) = check().await {
                return value;
            }
            assert!(
                started.elapsed() < timeout,
                "condition not reached within {timeout:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// Runs `scenario` once per backend, as two tests named `sqlite` and `postgres` in a module
/// named after the scenario.
#[macro_export]
macro_rules! on_every_backend {
    ($($scenario:ident),+ $(,)?) => {
        $(
            mod $scenario {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    let app = $crate::TestApp::spawn($crate::Backend::Sqlite).await.expect("sqlite app");
                    super::$scenario(app).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    if let Some(app) = $crate::TestApp::spawn($crate::Backend::Postgres).await {
                        super::$scenario(app).await;
                    }
                }
            }
        )+
    };
}

impl TestApp {
    /// Uploads a statement through the GraphQL multipart request, as a web client would.
    /// Returns the whole response.
    ///
    /// # Panics
    /// When the server does not answer with JSON.
    pub async fn upload_statement(
        &self,
        token: &str,
        organization_id: &str,
        filename: &str,
        bytes: Vec<u8>,
    ) -> Value {
        let operations = json!({
            "query": "mutation($input: UploadStatementInput!) { uploadStatement(input: $input) { duplicate statement { id status } userErrors { field message code } } }",
            "variables": { "input": { "organizationId": organization_id, "file": null, "source": "test" } },
        });
        let form = reqwest::multipart::Form::new()
            .text("operations", operations.to_string())
            .text("map", json!({ "0": ["variables.input.file"] }).to_string())
            .part(
                "0",
                reqwest::multipart::Part::bytes(bytes).file_name(filename.to_owned()),
            );
        let response = self
            .client
            .post(format!("{}/graphql", self.base_url))
            .bearer_auth(token)
            .multipart(form)
            .send()
            .await
            .expect("upload sent");
        response.json().await.expect("JSON response")
    }

    /// Waits until the statement is parsed or failed, and returns it.
    ///
    /// # Panics
    /// After 60 s, or on GraphQL errors.
    pub async fn wait_for_statement(&self, token: &str, statement_id: &str) -> Value {
        let query = "query($id: ID!) { statement(id: $id) { id status format lineCount errorCount skippedCount matchedCount unmatchedCount warnings failureReason totals { amount { amount currency } lineCount } } }";
        self.eventually(Duration::from_secs(60), || async {
            let data = self
                .ok(Some(token), query, json!({ "id": statement_id }))
                .await;
            let statement = data["statement"].clone();
            matches!(statement["status"].as_str(), Some("PARSED" | "FAILED")).then_some(statement)
        })
        .await
    }
}

/// The row id inside a global id (`base64("Kind:123")` → 123), for comparing API results with
/// database rows.
///
/// # Panics
/// On an id that is not one of this API's.
#[must_use]
pub fn decode_id(id: &str) -> i64 {
    api::graphql::ids::decode_any(&async_graphql_id(id))
        .map(|(_, row)| row)
        .expect("a global id")
}

fn async_graphql_id(id: &str) -> async_graphql::ID {
    async_graphql::ID(id.to_owned())
}
