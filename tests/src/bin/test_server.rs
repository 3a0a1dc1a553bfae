//! An API server process for the multi-process tests: what `imprint serve --no-migrate` runs,
//! configured from the environment like the real binary (`IMPRINT_LISTEN=127.0.0.1:0` picks a
//! free port), with the in-process workers unless `IMPRINT_TEST_WORKERS=0`.
//!
//! The first line on stdout is the port it listens on, so a test can find it. SIGTERM (or
//! Ctrl-C) stops it gracefully: the server drains its connections and the workers their jobs.
//! The test harness has migrated the database already; this process does not migrate.
#![expect(
    clippy::print_stdout,
    reason = "the port goes on stdout for the test that started this process"
)]

use std::net::TcpListener;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = api::config::Config::from_process_env()?;
    let workers = match std::env::var("IMPRINT_TEST_WORKERS").as_deref() {
        Ok("0") => false,
        Ok("1") | Err(_) => true,
        Ok(other) => anyhow::bail!("IMPRINT_TEST_WORKERS: `{other}` is neither 0 nor 1"),
    };
    api::telemetry::init_logging(config.log_format);
    let state = api::app::connect(&config).await?;
    let listener = TcpListener::bind(config.listen)?;
    println!("{}", listener.local_addr()?.port());
    // actix stops the server gracefully on SIGTERM / Ctrl-C by itself.
    let server = api::app::http_server(state.clone(), listener)?;
    if workers {
        let ctx = state.job_context();
        let concurrency = config.worker_concurrency;
        let workers = tokio::spawn(async move {
            workers::run(ctx, concurrency, api::app::shutdown_signal()).await
        });
        server.await?;
        workers.await??;
    } else {
        server.await?;
    }
    Ok(())
}
