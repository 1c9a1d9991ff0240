//! The `sesame` binary: `sesame` (or `sesame serve`) serves; other commands administer.

use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use sesame::store::Database;
use sesame::{Application, Config};

#[derive(Parser)]
#[command(
    name = "sesame",
    version,
    about = "Passwordless phone-number login service"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the HTTP API (the default).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
}

#[tokio::main]
async fn main() -> ExitCode {
    sesame::telemetry::init();
    match run(Cli::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("sesame: {err:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let config = Config::from_env()?;
    for name in Config::unknown_variables(std::env::vars().map(|(name, _)| name)) {
        tracing::warn!(variable = name, "unknown configuration variable (a typo?)");
    }
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(config).await,
        Command::Migrate => {
            let db = Database::connect(&config.database_url)
                .await
                .context("SESAME_DATABASE_URL: cannot connect")?;
            db.migrate().await?;
            println!("migrations applied");
            Ok(())
        }
    }
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let app = Application::build(config).await?;
    tracing::info!(address = %app.local_addr()?, "sesame listening");
    app.run_until_stopped(shutdown_signal()).await?;
    tracing::info!("sesame stopped");
    Ok(())
}

/// Completes on SIGTERM or SIGINT.
async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(signal) => signal,
                Err(_) => return interrupt.await.unwrap_or_default(),
            };
        tokio::select! {
            _ = interrupt => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    interrupt.await.unwrap_or_default();
}
