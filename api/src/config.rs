//! Configuration, read once at start from the environment (and a `.env` file).
//!
//! Every setting has a default that runs Imprint on one machine with nothing installed: an
//! SQLite file for the data, a sibling SQLite file for the job queue, a local folder for
//! uploaded statements. Production points `DATABASE_URL` at PostgreSQL, `REDIS_URL` at Redis
//! and `IMPRINT_FILE_STORE` at a shared folder or an S3-compatible bucket.
//! A bad value fails at start with a message naming the variable, never later at first use.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

pub use workers::QueueBackend;
pub use workers::files::{FileStoreLocation, S3Location};
pub use workers::mail::MailSettings;
pub use workers::webhooks::WebhookReach;

#[derive(Clone, Debug)]
pub struct Config {
    pub database_url: String,
    pub queue: QueueBackend,
    /// Prefix for queue names and pub/sub channels, so several deployments (or test runs) can
    /// share one Redis without seeing each other's jobs.
    pub namespace: String,
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    /// Where uploaded statement files are kept: `IMPRINT_DATA_DIR/files` unless
    /// `IMPRINT_FILE_STORE` says otherwise (another folder, or an S3-compatible bucket).
    pub file_store: FileStoreLocation,
    pub log_format: LogFormat,
    /// The built portal to serve at `/` from disk (`IMPRINT_WEB_DIR`, a folder holding
    /// `index.html`); unset, the portal built into the binary.
    pub web_dir: Option<PathBuf>,
    pub token_ttl: Duration,
    pub max_upload_bytes: u64,
    pub graphql_depth_limit: usize,
    pub graphql_complexity_limit: usize,
    pub worker_concurrency: usize,
    /// How often a worker tells the queue it is alive (`IMPRINT_WORKER_HEARTBEAT_MS`, 5000 by
    /// default): a worker that misses three is taken for dead and its jobs are resumed by
    /// another within four.
    pub worker_heartbeat: Duration,
    /// How long a resolved credential is kept in this process (`IMPRINT_AUTH_CACHE_SECONDS`,
    /// 10 by default; 0 turns the cache off). A credential revoked through another process goes
    /// on working here for at most this long.
    pub principal_cache_ttl: Duration,
    /// How long an organisation's analytics version is trusted before it is read again
    /// (`IMPRINT_ANALYTICS_VERSION_CHECK_MS`, 1000 by default; 0 reads it on every request).
    /// A refresh announced on the event bus is seen sooner; this bounds it when the event is lost.
    pub analytics_version_check: Duration,
    /// Analytics aggregates not yet kept that one process computes at once
    /// (`IMPRINT_ANALYTICS_COLD_AT_ONCE`, by default half the CPUs, at least one): the others
    /// queue, and the rest of the machine answers what is kept.
    pub analytics_cold_at_once: usize,
    /// HTTP worker threads (`IMPRINT_HTTP_WORKERS`, by default one per CPU).
    pub http_workers: usize,
    /// Where webhook deliveries may go (`IMPRINT_WEBHOOK_ALLOW_PRIVATE_NETWORKS=true` lets them
    /// reach loopback and private addresses; by default only the public internet).
    pub webhook_reach: WebhookReach,
    /// The key tax ids are fingerprinted with (`IMPRINT_TAX_ID_KEY`, at least 32 characters);
    /// unset, a random key per process (fingerprints then compare only within one process).
    pub tax_id_key: TaxIdKey,
    /// What one statement file may make a parser hold: `IMPRINT_MAX_LINE_KB` (1024),
    /// `IMPRINT_MAX_CELL_KB` (64), `IMPRINT_MAX_DECOMPRESSED_MB` (8 × the upload limit).
    pub statement_limits: domain::statement::Limits,
    /// Largest JSON body a `POST /graphql` may have (`IMPRINT_MAX_JSON_BODY_KB`, 1024): a larger
    /// one is refused with 413 from its `Content-Length`, or as soon as a chunked body passes it.
    /// Multipart uploads have `max_upload_bytes` instead.
    pub max_json_body_bytes: usize,
    /// Longest GraphQL query text (`IMPRINT_MAX_QUERY_KB`, 64).
    pub max_query_bytes: usize,
    /// How often credentials may be tried (see [`RateLimits`]).
    pub rate_limits: RateLimits,
    /// Mail: `IMPRINT_SMTP_URL` (unset: mails wait in the outbox), `IMPRINT_MAIL_FROM`,
    /// `IMPRINT_PUBLIC_URL` (for links), `IMPRINT_MAIL_LEASE_SECONDS`.
    pub mail: MailSettings,
}

/// Rate limits, each in attempts per `window` (a minute by default), as many allowed at once and
/// then one more each `window / n` (`0` turns one off). Kept per process, in memory: behind a
/// load balancer each instance counts its own.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateLimits {
    /// `IMPRINT_RATE_WINDOW_SECONDS`, 60.
    pub window: Duration,
    /// `login` and `changePassword` attempts per account (email), and `acceptInvitation`
    /// attempts per user (`IMPRINT_RATE_LOGIN_PER_ACCOUNT`, 10).
    pub login_per_account: u32,
    /// `login`, `changePassword` and `acceptInvitation` attempts per client address
    /// (`IMPRINT_RATE_LOGIN_PER_ADDRESS`, 30).
    pub login_per_address: u32,
    /// `signUp` attempts per client address (`IMPRINT_RATE_SIGN_UP_PER_ADDRESS`, 20).
    pub sign_up_per_address: u32,
    /// Requests per API key (`IMPRINT_RATE_API_KEY_PER_KEY`, 600).
    pub api_key_per_key: u32,
    /// Unknown, expired or revoked bearer tokens per client address
    /// (`IMPRINT_RATE_BAD_TOKENS_PER_ADDRESS`, 30).
    pub bad_tokens_per_address: u32,
}

impl RateLimits {
    fn from_env(env: &impl Env) -> Result<Self, ConfigError> {
        let window_seconds: u64 = parse_number(env, "IMPRINT_RATE_WINDOW_SECONDS", 60)?;
        if window_seconds == 0 {
            return Err(ConfigError {
                variable: "IMPRINT_RATE_WINDOW_SECONDS",
                message: "must be at least 1".into(),
            });
        }
        Ok(Self {
            window: Duration::from_secs(window_seconds),
            login_per_account: parse_number(env, "IMPRINT_RATE_LOGIN_PER_ACCOUNT", 10)?,
            login_per_address: parse_number(env, "IMPRINT_RATE_LOGIN_PER_ADDRESS", 30)?,
            sign_up_per_address: parse_number(env, "IMPRINT_RATE_SIGN_UP_PER_ADDRESS", 20)?,
            api_key_per_key: parse_number(env, "IMPRINT_RATE_API_KEY_PER_KEY", 600)?,
            bad_tokens_per_address: parse_number(env, "IMPRINT_RATE_BAD_TOKENS_PER_ADDRESS", 30)?,
        })
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    Pretty,
    Json,
}

/// The key of tax id fingerprints; never printed.
#[derive(Clone)]
pub struct TaxIdKey(pub Vec<u8>);

impl std::fmt::Debug for TaxIdKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TaxIdKey(<redacted>)")
    }
}

#[derive(Debug, thiserror::Error)]
#[error("configuration error in {variable}: {message}")]
pub struct ConfigError {
    pub variable: &'static str,
    pub message: String,
}

/// A source of variables: the process environment in production, a map in tests.
pub trait Env {
    fn var(&self, name: &str) -> Option<String>;
}

#[derive(Debug, Clone, Copy)]
pub struct ProcessEnv;

impl Env for ProcessEnv {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok().filter(|v| !v.trim().is_empty())
    }
}

impl<const N: usize> Env for [(&str, &str); N] {
    fn var(&self, name: &str) -> Option<String> {
        self.iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| (*v).to_owned())
    }
}

fn first_of(env: &impl Env, names: &[&'static str]) -> Option<(&'static str, String)> {
    names
        .iter()
        .find_map(|name| env.var(name).map(|value| (*name, value)))
}

fn parse_number<T: std::str::FromStr>(
    env: &impl Env,
    name: &'static str,
    default: T,
) -> Result<T, ConfigError> {
    match env.var(name) {
        None => Ok(default),
        Some(raw) => raw.trim().parse().map_err(|_| ConfigError {
            variable: name,
            message: format!("`{raw}` is not a valid number"),
        }),
    }
}

impl Config {
    /// Reads the configuration from the process environment, after loading `.env` if present.
    ///
    /// # Errors
    /// A [`ConfigError`] naming the first variable whose value is unusable.
    pub fn from_process_env() -> Result<Self, ConfigError> {
        // A missing .env is the normal case; a malformed one is worth failing on.
        if let Err(err) = dotenvy::dotenv()
            && !err.not_found()
        {
            return Err(ConfigError {
                variable: ".env",
                message: err.to_string(),
            });
        }
        Self::from_env(&ProcessEnv)
    }

    /// # Errors
    /// A [`ConfigError`] naming the first variable whose value is unusable.
    pub fn from_env(env: &impl Env) -> Result<Self, ConfigError> {
        let data_dir = PathBuf::from(env.var("IMPRINT_DATA_DIR").unwrap_or_else(|| ".".into()));

        let database_url = match first_of(env, &["IMPRINT_DATABASE_URL", "DATABASE_URL"]) {
            Some((name, url)) => {
                check_database_url(name, &url)?;
                url
            }
            None => sqlite_url(&data_dir.join("imprint.db")),
        };

        let queue = match first_of(env, &["IMPRINT_REDIS_URL", "REDIS_URL"]) {
            Some((name, url)) => {
                if !(url.starts_with("redis://") || url.starts_with("rediss://")) {
                    return Err(ConfigError {
                        variable: name,
                        message: format!("`{url}` is not a redis:// URL"),
                    });
                }
                QueueBackend::Redis { url }
            }
            None => {
                let url = match env.var("IMPRINT_QUEUE_URL") {
                    Some(url) if url.starts_with("sqlite:") => url,
                    Some(url) => {
                        return Err(ConfigError {
                            variable: "IMPRINT_QUEUE_URL",
                            message: format!(
                                "`{url}` is not an sqlite: URL (set REDIS_URL for Redis)"
                            ),
                        });
                    }
                    None => sqlite_url(&data_dir.join("imprint-queue.db")),
                };
                QueueBackend::Sqlite { url }
            }
        };

        let file_store = file_store(env, &data_dir)?;

        let listen_raw = env
            .var("IMPRINT_LISTEN")
            .or_else(|| env.var("PORT").map(|port| format!("127.0.0.1:{port}")))
            .unwrap_or_else(|| "127.0.0.1:8080".into());
        let listen = listen_raw.parse().map_err(|_| ConfigError {
            variable: "IMPRINT_LISTEN",
            message: format!("`{listen_raw}` is not a socket address like 127.0.0.1:8080"),
        })?;

        let log_format = match env.var("IMPRINT_LOG_FORMAT").as_deref() {
            None | Some("pretty") => LogFormat::Pretty,
            Some("json") => LogFormat::Json,
            Some(other) => {
                return Err(ConfigError {
                    variable: "IMPRINT_LOG_FORMAT",
                    message: format!("`{other}` is neither `pretty` nor `json`"),
                });
            }
        };

        let namespace = env
            .var("IMPRINT_NAMESPACE")
            .unwrap_or_else(|| "imprint".into());
        if !namespace
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | ':'))
        {
            return Err(ConfigError {
                variable: "IMPRINT_NAMESPACE",
                message: "use letters, digits, `-`, `_` and `:` only".into(),
            });
        }

        let web_dir = match env.var("IMPRINT_WEB_DIR").filter(|v| !v.trim().is_empty()) {
            None => None,
            Some(dir) => {
                let dir = PathBuf::from(dir);
                if !dir.join("index.html").is_file() {
                    return Err(ConfigError {
                        variable: "IMPRINT_WEB_DIR",
                        message: format!("`{}` holds no index.html", dir.display()),
                    });
                }
                Some(dir)
            }
        };

        let token_ttl_hours: u64 = parse_number(env, "IMPRINT_TOKEN_TTL_HOURS", 24 * 30)?;
        let max_upload_mb: u64 = parse_number(env, "IMPRINT_MAX_UPLOAD_MB", 512)?;
        let worker_concurrency: usize = parse_number(env, "IMPRINT_WORKER_CONCURRENCY", 2)?;
        if worker_concurrency == 0 {
            return Err(ConfigError {
                variable: "IMPRINT_WORKER_CONCURRENCY",
                message: "must be at least 1".into(),
            });
        }

        let heartbeat_ms: u64 = parse_number(env, "IMPRINT_WORKER_HEARTBEAT_MS", 5000)?;
        if heartbeat_ms < 100 {
            return Err(ConfigError {
                variable: "IMPRINT_WORKER_HEARTBEAT_MS",
                message: "must be at least 100".into(),
            });
        }

        let max_line_kb: usize = parse_number(env, "IMPRINT_MAX_LINE_KB", 1024)?;
        let max_cell_kb: usize = parse_number(env, "IMPRINT_MAX_CELL_KB", 64)?;
        let max_decompressed_mb: u64 = parse_number(
            env,
            "IMPRINT_MAX_DECOMPRESSED_MB",
            max_upload_mb.saturating_mul(8),
        )?;
        for (variable, value) in [
            ("IMPRINT_MAX_LINE_KB", max_line_kb as u64),
            ("IMPRINT_MAX_CELL_KB", max_cell_kb as u64),
            ("IMPRINT_MAX_DECOMPRESSED_MB", max_decompressed_mb),
        ] {
            if value == 0 {
                return Err(ConfigError {
                    variable,
                    message: "must be at least 1".into(),
                });
            }
        }
        let statement_limits = domain::statement::Limits {
            max_line_bytes: max_line_kb.saturating_mul(1024),
            max_cell_bytes: max_cell_kb.saturating_mul(1024),
            max_decompressed_bytes: max_decompressed_mb.saturating_mul(1024 * 1024),
        };

        let max_json_body_kb: usize = parse_number(env, "IMPRINT_MAX_JSON_BODY_KB", 1024)?;
        let max_query_kb: usize = parse_number(env, "IMPRINT_MAX_QUERY_KB", 64)?;
        for (variable, value) in [
            ("IMPRINT_MAX_JSON_BODY_KB", max_json_body_kb),
            ("IMPRINT_MAX_QUERY_KB", max_query_kb),
        ] {
            if value == 0 {
                return Err(ConfigError {
                    variable,
                    message: "must be at least 1".into(),
                });
            }
        }
        let rate_limits = RateLimits::from_env(env)?;

        let auth_cache_seconds: u64 = parse_number(env, "IMPRINT_AUTH_CACHE_SECONDS", 10)?;
        let version_check_ms: u64 = parse_number(env, "IMPRINT_ANALYTICS_VERSION_CHECK_MS", 1000)?;
        let cpus = std::thread::available_parallelism().map_or(2, std::num::NonZero::get);
        let http_workers: usize = parse_number(env, "IMPRINT_HTTP_WORKERS", cpus)?;
        if http_workers == 0 {
            return Err(ConfigError {
                variable: "IMPRINT_HTTP_WORKERS",
                message: "must be at least 1".into(),
            });
        }
        let analytics_cold_at_once: usize =
            parse_number(env, "IMPRINT_ANALYTICS_COLD_AT_ONCE", (cpus / 2).max(1))?;
        if analytics_cold_at_once == 0 {
            return Err(ConfigError {
                variable: "IMPRINT_ANALYTICS_COLD_AT_ONCE",
                message: "must be at least 1".into(),
            });
        }

        let webhook_reach = match env
            .var("IMPRINT_WEBHOOK_ALLOW_PRIVATE_NETWORKS")
            .as_deref()
            .map(str::trim)
        {
            None | Some("" | "false" | "0") => WebhookReach::PublicOnly,
            Some("true" | "1") => WebhookReach::Anywhere,
            Some(_) => {
                return Err(ConfigError {
                    variable: "IMPRINT_WEBHOOK_ALLOW_PRIVATE_NETWORKS",
                    message: "must be true or false".into(),
                });
            }
        };

        let tax_id_key = match env.var("IMPRINT_TAX_ID_KEY") {
            Some(key) if key.len() >= 32 => TaxIdKey(key.into_bytes()),
            Some(_) => {
                return Err(ConfigError {
                    variable: "IMPRINT_TAX_ID_KEY",
                    message: "must be at least 32 characters".into(),
                });
            }
            None => TaxIdKey(rand::random::<[u8; 32]>().to_vec()),
        };
        let mail = mail_settings(env)?;

        Ok(Self {
            tax_id_key,
            database_url,
            queue,
            namespace,
            listen,
            data_dir,
            file_store,
            log_format,
            web_dir,
            token_ttl: Duration::from_secs(token_ttl_hours * 3600),
            max_upload_bytes: max_upload_mb * 1024 * 1024,
            graphql_depth_limit: parse_number(env, "IMPRINT_GRAPHQL_DEPTH_LIMIT", 12)?,
            graphql_complexity_limit: parse_number(env, "IMPRINT_GRAPHQL_COMPLEXITY_LIMIT", 5000)?,
            worker_concurrency,
            worker_heartbeat: Duration::from_millis(heartbeat_ms),
            principal_cache_ttl: Duration::from_secs(auth_cache_seconds),
            analytics_version_check: Duration::from_millis(version_check_ms),
            analytics_cold_at_once,
            http_workers,
            webhook_reach,
            statement_limits,
            max_json_body_bytes: max_json_body_kb.saturating_mul(1024),
            max_query_bytes: max_query_kb.saturating_mul(1024),
            rate_limits,
            mail,
        })
    }
}

/// The mail settings, checked.
fn mail_settings(env: &impl Env) -> Result<MailSettings, ConfigError> {
    use workers::mail::{FROM_ENV, LEASE_ENV, PUBLIC_URL_ENV, SMTP_URL_ENV};
    let defaults = MailSettings::default();
    let settings = MailSettings {
        smtp_url: env.var(SMTP_URL_ENV).map(|v| v.trim().to_owned()),
        from: env
            .var(FROM_ENV)
            .map_or(defaults.from, |v| v.trim().to_owned()),
        public_url: env.var(PUBLIC_URL_ENV).map_or(defaults.public_url, |v| {
            v.trim().trim_end_matches('/').to_owned()
        }),
        lease: Duration::from_secs(parse_number(env, LEASE_ENV, defaults.lease.as_secs())?),
    };
    settings.check().map_err(|message| {
        let variable = [SMTP_URL_ENV, FROM_ENV, PUBLIC_URL_ENV, LEASE_ENV]
            .into_iter()
            .find(|v| message.starts_with(v))
            .unwrap_or(SMTP_URL_ENV);
        ConfigError { variable, message }
    })?;
    Ok(settings)
}

/// `IMPRINT_FILE_STORE` and, for a bucket, the S3 settings beside it.
fn file_store(
    env: &impl Env,
    data_dir: &std::path::Path,
) -> Result<FileStoreLocation, ConfigError> {
    let Some(raw) = env.var("IMPRINT_FILE_STORE") else {
        return Ok(FileStoreLocation::Local(data_dir.join("files")));
    };
    let mut location = FileStoreLocation::parse(&raw).map_err(|message| ConfigError {
        variable: "IMPRINT_FILE_STORE",
        message,
    })?;
    if let FileStoreLocation::S3(s3) = &mut location {
        if let Some((variable, endpoint)) =
            first_of(env, &["IMPRINT_S3_ENDPOINT", "AWS_ENDPOINT_URL"])
        {
            workers::files::check_endpoint(&endpoint)
                .map_err(|message| ConfigError { variable, message })?;
            s3.endpoint = Some(endpoint.trim_end_matches('/').to_owned());
        }
        s3.region = first_of(env, &["AWS_REGION", "AWS_DEFAULT_REGION"]).map(|(_, region)| region);
        s3.access_key_id = env.var("AWS_ACCESS_KEY_ID");
        s3.secret_access_key = env.var("AWS_SECRET_ACCESS_KEY");
        s3.session_token = env.var("AWS_SESSION_TOKEN");
        match (&s3.access_key_id, &s3.secret_access_key) {
            (Some(_), None) => {
                return Err(ConfigError {
                    variable: "AWS_SECRET_ACCESS_KEY",
                    message: "is missing: AWS_ACCESS_KEY_ID is set without its secret".into(),
                });
            }
            (None, Some(_)) => {
                return Err(ConfigError {
                    variable: "AWS_ACCESS_KEY_ID",
                    message: "is missing: AWS_SECRET_ACCESS_KEY is set without its key id".into(),
                });
            }
            _ => {}
        }
    }
    Ok(location)
}

fn sqlite_url(path: &std::path::Path) -> String {
    format!("sqlite://{}?mode=rwc", path.display())
}

fn check_database_url(variable: &'static str, url: &str) -> Result<(), ConfigError> {
    if url.starts_with("sqlite:")
        || url.starts_with("postgres://")
        || url.starts_with("postgresql://")
    {
        Ok(())
    } else {
        Err(ConfigError {
            variable,
            message: format!("`{url}` is neither a postgres:// nor an sqlite: URL"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_run_on_sqlite_with_nothing_set() {
        let config = Config::from_env(&[("IMPRINT_DATA_DIR", "/var/imprint")]).expect("defaults");
        assert_eq!(
            config.database_url,
            "sqlite:///var/imprint/imprint.db?mode=rwc"
        );
        assert_eq!(
            config.queue,
            QueueBackend::Sqlite {
                url: "sqlite:///var/imprint/imprint-queue.db?mode=rwc".into()
            }
        );
        assert_eq!(config.listen.port(), 8080);
        assert_eq!(config.max_json_body_bytes, 1024 * 1024);
        assert_eq!(config.max_query_bytes, 64 * 1024);
        assert_eq!(config.rate_limits.login_per_account, 10);
        assert_eq!(config.rate_limits.login_per_address, 30);
    }

    #[test]
    fn production_urls_are_taken_from_the_conventional_names() {
        let config = Config::from_env(&[
            ("DATABASE_URL", "postgres://db/imprint"),
            ("REDIS_URL", "redis://cache:6379"),
        ])
        .expect("valid");
        assert_eq!(config.database_url, "postgres://db/imprint");
        assert_eq!(
            config.queue,
            QueueBackend::Redis {
                url: "redis://cache:6379".into()
            }
        );
    }

    #[test]
    fn a_bad_value_names_its_variable() {
        let err = Config::from_env(&[("DATABASE_URL", "mysql://x")]).expect_err("rejected");
        assert_eq!(err.variable, "DATABASE_URL");
        let err = Config::from_env(&[("IMPRINT_LISTEN", "nowhere")]).expect_err("rejected");
        assert_eq!(err.variable, "IMPRINT_LISTEN");
        let err = Config::from_env(&[("IMPRINT_MAX_UPLOAD_MB", "lots")]).expect_err("rejected");
        assert_eq!(err.variable, "IMPRINT_MAX_UPLOAD_MB");
        assert!(err.to_string().contains("IMPRINT_MAX_UPLOAD_MB"));
        let err = Config::from_env(&[("IMPRINT_MAX_JSON_BODY_KB", "0")]).expect_err("rejected");
        assert_eq!(err.variable, "IMPRINT_MAX_JSON_BODY_KB");
        let err =
            Config::from_env(&[("IMPRINT_RATE_LOGIN_PER_ACCOUNT", "-1")]).expect_err("rejected");
        assert_eq!(err.variable, "IMPRINT_RATE_LOGIN_PER_ACCOUNT");
        let err = Config::from_env(&[("REDIS_URL", "localhost")]).expect_err("rejected");
        assert_eq!(err.variable, "REDIS_URL");
        let err = Config::from_env(&[("IMPRINT_WEBHOOK_ALLOW_PRIVATE_NETWORKS", "yes please")])
            .expect_err("rejected");
        assert_eq!(err.variable, "IMPRINT_WEBHOOK_ALLOW_PRIVATE_NETWORKS");
    }

    #[test]
    fn statement_limits_default_from_the_upload_limit_and_refuse_zero() {
        let config = Config::from_env(&[("IMPRINT_MAX_UPLOAD_MB", "100")]).expect("valid");
        assert_eq!(config.statement_limits.max_line_bytes, 1024 * 1024);
        assert_eq!(config.statement_limits.max_cell_bytes, 64 * 1024);
        assert_eq!(
            config.statement_limits.max_decompressed_bytes,
            800 * 1024 * 1024
        );
        let config = Config::from_env(&[
            ("IMPRINT_MAX_LINE_KB", "16"),
            ("IMPRINT_MAX_CELL_KB", "2"),
            ("IMPRINT_MAX_DECOMPRESSED_MB", "3"),
        ])
        .expect("valid");
        assert_eq!(config.statement_limits.max_line_bytes, 16 * 1024);
        assert_eq!(config.statement_limits.max_cell_bytes, 2 * 1024);
        assert_eq!(
            config.statement_limits.max_decompressed_bytes,
            3 * 1024 * 1024
        );
        for variable in [
            "IMPRINT_MAX_LINE_KB",
            "IMPRINT_MAX_CELL_KB",
            "IMPRINT_MAX_DECOMPRESSED_MB",
        ] {
            let err = Config::from_env(&[(variable, "0")]).expect_err("zero refused");
            assert_eq!(err.variable, variable);
        }
    }

    #[test]
    fn webhooks_reach_the_public_internet_only_unless_told_otherwise() {
        let config = Config::from_env(&[("IMPRINT_LISTEN", "127.0.0.1:8080")]).expect("defaults");
        assert_eq!(config.webhook_reach, WebhookReach::PublicOnly);
        for (value, reach) in [
            ("true", WebhookReach::Anywhere),
            ("1", WebhookReach::Anywhere),
            ("false", WebhookReach::PublicOnly),
            ("", WebhookReach::PublicOnly),
        ] {
            let config = Config::from_env(&[("IMPRINT_WEBHOOK_ALLOW_PRIVATE_NETWORKS", value)])
                .expect("valid");
            assert_eq!(config.webhook_reach, reach, "{value:?}");
        }
    }

    #[test]
    fn files_go_to_the_data_folder_unless_a_store_is_named() {
        let config = Config::from_env(&[("IMPRINT_DATA_DIR", "/var/imprint")]).expect("defaults");
        assert_eq!(
            config.file_store,
            FileStoreLocation::Local("/var/imprint/files".into())
        );
        let config = Config::from_env(&[("IMPRINT_FILE_STORE", "/mnt/shared/statements")])
            .expect("a folder");
        assert_eq!(
            config.file_store,
            FileStoreLocation::Local("/mnt/shared/statements".into())
        );
    }

    #[test]
    fn an_s3_store_takes_its_settings_from_the_aws_variables() {
        let config = Config::from_env(&[
            ("IMPRINT_FILE_STORE", "s3://label-statements/imprint"),
            ("IMPRINT_S3_ENDPOINT", "http://127.0.0.1:9000/"),
            ("AWS_REGION", "eu-west-3"),
            ("AWS_ACCESS_KEY_ID", "minio"),
            ("AWS_SECRET_ACCESS_KEY", "minio-secret"),
        ])
        .expect("valid");
        let FileStoreLocation::S3(s3) = &config.file_store else {
            panic!("an s3 store: {:?}", config.file_store);
        };
        assert_eq!(s3.bucket, "label-statements");
        assert_eq!(s3.prefix, "imprint");
        assert_eq!(s3.endpoint.as_deref(), Some("http://127.0.0.1:9000"));
        assert_eq!(s3.region.as_deref(), Some("eu-west-3"));
        assert_eq!(s3.secret_access_key.as_deref(), Some("minio-secret"));
        assert!(!format!("{config:?}").contains("minio-secret"));
        let config = Config::from_env(&[
            ("IMPRINT_FILE_STORE", "s3://label-statements"),
            ("AWS_ENDPOINT_URL", "https://s3.example.net"),
        ])
        .expect("valid");
        let FileStoreLocation::S3(s3) = &config.file_store else {
            panic!("an s3 store");
        };
        assert_eq!(s3.endpoint.as_deref(), Some("https://s3.example.net"));
        assert_eq!(s3.access_key_id, None);
    }

    #[test]
    fn a_bad_file_store_names_its_variable() {
        for (value, says) in [
            ("s3://", "names no bucket"),
            ("s3:///imprint", "names no bucket"),
            ("s3://Label_Files", "is not a bucket name"),
            ("gs://label-files", "unknown scheme"),
            ("ftp://files.example.net/x", "unknown scheme"),
        ] {
            let err = Config::from_env(&[("IMPRINT_FILE_STORE", value)]).expect_err(value);
            assert_eq!(err.variable, "IMPRINT_FILE_STORE", "{value}");
            assert!(err.to_string().contains(says), "{value}: {err}");
        }
        let err = Config::from_env(&[
            ("IMPRINT_FILE_STORE", "s3://label-files"),
            ("IMPRINT_S3_ENDPOINT", "127.0.0.1:9000"),
        ])
        .expect_err("not a URL");
        assert_eq!(err.variable, "IMPRINT_S3_ENDPOINT");
        let err = Config::from_env(&[
            ("IMPRINT_FILE_STORE", "s3://label-files"),
            ("AWS_ACCESS_KEY_ID", "minio"),
        ])
        .expect_err("no secret");
        assert_eq!(err.variable, "AWS_SECRET_ACCESS_KEY");
    }
}
