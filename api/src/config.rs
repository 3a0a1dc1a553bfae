//! Configuration, read once at start from the environment (and a `.env` file).
//!
//! Every setting has a default that runs Imprint on one machine with nothing installed: an
//! SQLite file for the data, a sibling SQLite file for the job queue, a local folder for
//! uploaded statements. Production points `DATABASE_URL` at PostgreSQL and `REDIS_URL` at Redis.
//! A bad value fails at start with a message naming the variable, never later at first use.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

pub use workers::QueueBackend;

#[derive(Clone, Debug)]
pub struct Config {
    pub database_url: String,
    pub queue: QueueBackend,
    /// Prefix for queue names and pub/sub channels, so several deployments (or test runs) can
    /// share one Redis without seeing each other's jobs.
    pub namespace: String,
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    pub log_format: LogFormat,
    pub token_ttl: Duration,
    pub max_upload_bytes: u64,
    pub graphql_depth_limit: usize,
    pub graphql_complexity_limit: usize,
    pub worker_concurrency: usize,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    Pretty,
    Json,
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

        let token_ttl_hours: u64 = parse_number(env, "IMPRINT_TOKEN_TTL_HOURS", 24 * 30)?;
        let max_upload_mb: u64 = parse_number(env, "IMPRINT_MAX_UPLOAD_MB", 512)?;
        let worker_concurrency: usize = parse_number(env, "IMPRINT_WORKER_CONCURRENCY", 2)?;
        if worker_concurrency == 0 {
            return Err(ConfigError {
                variable: "IMPRINT_WORKER_CONCURRENCY",
                message: "must be at least 1".into(),
            });
        }

        Ok(Self {
            database_url,
            queue,
            namespace,
            listen,
            data_dir,
            log_format,
            token_ttl: Duration::from_secs(token_ttl_hours * 3600),
            max_upload_bytes: max_upload_mb * 1024 * 1024,
            graphql_depth_limit: parse_number(env, "IMPRINT_GRAPHQL_DEPTH_LIMIT", 12)?,
            graphql_complexity_limit: parse_number(env, "IMPRINT_GRAPHQL_COMPLEXITY_LIMIT", 5000)?,
            worker_concurrency,
        })
    }
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
        let err = Config::from_env(&[("REDIS_URL", "localhost")]).expect_err("rejected");
        assert_eq!(err.variable, "REDIS_URL");
    }
}
