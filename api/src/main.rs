//! `imprint`: the one binary. `serve`, `worker`, `migrate`, `schema`, `demo`.
#![expect(
    clippy::print_stdout,
    reason = "the CLI prints the schema and import reports"
)]

use std::net::TcpListener;

/// mimalloc rather than the system allocator: under 50 concurrent clients glibc's malloc and
/// free were a fifth of the server's CPU (`perf record` of `bench_analytics --phases roster`),
/// and its per-thread arenas kept memory long after the answers that needed it were sent.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use api::config::Config;
use clap::{Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(
    name = "imprint",
    version,
    about = "The back office of a micro-label or artist collective"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Serve GraphQL over HTTP (and run the workers in-process unless --no-workers).
    Serve {
        /// Leave background jobs to separate `imprint worker` processes.
        #[arg(long)]
        no_workers: bool,
        /// Don't apply pending migrations at start.
        #[arg(long)]
        no_migrate: bool,
        /// Seed the demo label first (skipped if it is already there).
        #[arg(long)]
        demo: bool,
    },
    /// Run background workers only.
    Worker,
    /// Apply pending database migrations.
    Migrate,
    /// Print the GraphQL schema (SDL).
    Schema,
    /// Seed a demo label and collective with roster, releases, agreements, splits and statements.
    Demo,
    /// Analytics maintenance.
    Analytics {
        #[command(subcommand)]
        command: AnalyticsCommand,
    },
    /// Import a statement file for an organisation, and parse and allocate it now.
    Import {
        file: std::path::PathBuf,
        /// The organisation's id (global id or number).
        #[arg(long)]
        organization: String,
        /// Who sent the statement, e.g. DistroKid.
        #[arg(long)]
        source: Option<String>,
        /// Only queue the parsing for the workers instead of parsing here.
        #[arg(long)]
        queue_only: bool,
    },
}

#[derive(Subcommand, Debug)]
enum AnalyticsCommand {
    /// Recompute every roll-up from the statement lines (recovery; the workers keep them
    /// current on their own).
    Rebuild {
        /// Only this organisation (global id or number); default all.
        #[arg(long)]
        organization: Option<String>,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    if let Command::Schema = cli.command {
        print!("{}", api::graphql::sdl());
        return Ok(());
    }
    let config = match Config::from_process_env() {
        Ok(config) => config,
        Err(err) => {
            eprintln!("imprint: {err}");
            std::process::exit(2);
        }
    };
    api::telemetry::init_logging(config.log_format);
    let state = api::app::connect(&config).await?;
    match cli.command {
        Command::Schema => Ok(()),
        Command::Migrate => {
            api::app::migrate(&state).await?;
            tracing::info!("migrations applied");
            Ok(())
        }
        Command::Demo => {
            api::app::migrate(&state).await?;
            let summary = api::demo::seed(&state).await?;
            tracing::info!(%summary, "demo data ready");
            Ok(())
        }
        Command::Import {
            file,
            organization,
            source,
            queue_only,
        } => {
            api::app::migrate(&state).await?;
            match api::app::import(&state, &file, &organization, source, !queue_only).await {
                Ok(report) => {
                    println!("{report}");
                    Ok(())
                }
                Err(err) => {
                    // The reason on one line, no backtrace; exit code 1.
                    eprintln!("imprint import: {err:#}");
                    std::process::exit(1);
                }
            }
        }
        Command::Analytics {
            command: AnalyticsCommand::Rebuild { organization },
        } => {
            api::app::migrate(&state).await?;
            let rebuilt = api::app::rebuild_analytics(&state, organization.as_deref()).await?;
            println!("analytics rebuilt for {rebuilt} organizations");
            Ok(())
        }
        Command::Worker => {
            workers::run(
                state.job_context(),
                config.worker_concurrency,
                api::app::shutdown_signal(),
            )
            .await
        }
        Command::Serve {
            no_workers,
            no_migrate,
            demo,
        } => {
            if !no_migrate {
                api::app::migrate(&state).await?;
            }
            if demo {
                let summary = api::demo::seed(&state).await?;
                tracing::info!(%summary, "demo data ready");
            }
            let listener = TcpListener::bind(config.listen)?;
            tracing::info!(
                "Imprint on http://{} (GraphiQL at /graphql)",
                listener.local_addr()?
            );
            let server = api::app::http_server(state.clone(), listener)?;
            if no_workers {
                server.await?;
            } else {
                let ctx = state.job_context();
                let concurrency = config.worker_concurrency;
                let workers = tokio::spawn(async move {
                    workers::run(ctx, concurrency, api::app::shutdown_signal()).await
                });
                server.await?;
                workers.await??;
            }
            Ok(())
        }
    }
}
