//! Logs (structured, with `tracing`) and Prometheus metrics.

use std::sync::OnceLock;

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, Opts, Registry, TextEncoder,
};

use crate::config::LogFormat;

/// Installs the global subscriber once; `RUST_LOG` filters (default `info`).
pub fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn,sea_orm=warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    // A second init (tests start many apps in one process) is harmless: keep the first.
    let _ = match format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Pretty => builder.try_init(),
    };
}

#[derive(Debug, Clone)]
pub struct Metrics {
    pub registry: Registry,
    pub http_requests: IntCounterVec,
    pub http_duration: HistogramVec,
    pub db_queries: prometheus::IntCounter,
    /// Refused logins (and password changes), by reason: `invalid_credentials` or `rate_limited`.
    pub login_failures: IntCounterVec,
    /// Requests refused for a bearer token that names no one (unknown, expired, revoked).
    pub rejected_tokens: prometheus::IntCounter,
}

impl Metrics {
    /// The process-wide metrics.
    #[must_use]
    pub fn global() -> &'static Metrics {
        static METRICS: OnceLock<Metrics> = OnceLock::new();
        METRICS.get_or_init(Metrics::new)
    }

    fn new() -> Self {
        let registry = Registry::new();
        let http_requests = IntCounterVec::new(
            Opts::new(
                "imprint_http_requests_total",
                "HTTP requests by route and status",
            ),
            &["route", "status"],
        )
        .expect("valid metric definition");
        let http_duration = HistogramVec::new(
            HistogramOpts::new(
                "imprint_http_request_duration_seconds",
                "HTTP request latency by route",
            )
            .buckets(vec![
                0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
            ]),
            &["route"],
        )
        .expect("valid metric definition");
        registry
            .register(Box::new(http_requests.clone()))
            .expect("registered once");
        registry
            .register(Box::new(http_duration.clone()))
            .expect("registered once");
        let db_queries = prometheus::IntCounter::new(
            "imprint_db_queries_total",
            "SQL statements sent through the ORM",
        )
        .expect("valid metric definition");
        registry
            .register(Box::new(db_queries.clone()))
            .expect("registered once");
        let login_failures = IntCounterVec::new(
            Opts::new(
                "imprint_login_failures_total",
                "Refused logins and password changes, by reason",
            ),
            &["reason"],
        )
        .expect("valid metric definition");
        registry
            .register(Box::new(login_failures.clone()))
            .expect("registered once");
        let rejected_tokens = prometheus::IntCounter::new(
            "imprint_rejected_tokens_total",
            "Requests refused for an unknown, expired or revoked bearer token",
        )
        .expect("valid metric definition");
        registry
            .register(Box::new(rejected_tokens.clone()))
            .expect("registered once");
        Self {
            registry,
            http_requests,
            http_duration,
            db_queries,
            login_failures,
            rejected_tokens,
        }
    }

    /// The Prometheus text exposition.
    #[must_use]
    pub fn render(&self) -> String {
        let mut buffer = Vec::new();
        let encoder = TextEncoder::new();
        if let Err(err) = encoder.encode(&self.registry.gather(), &mut buffer) {
            tracing::warn!(error = %err, "metrics encoding failed");
        }
        String::from_utf8(buffer).unwrap_or_default()
    }
}
