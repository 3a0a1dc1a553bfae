//! A worker process for the kill-and-retry tests: the same `workers::run` that `imprint worker`
//! runs, configured from the environment, so a test can kill it with SIGKILL mid-job.

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = api::config::Config::from_env(&api::config::ProcessEnv)?;
    let state = api::app::connect(&config).await?;
    workers::run(state.job_context(), 1, api::app::shutdown_signal()).await
}
