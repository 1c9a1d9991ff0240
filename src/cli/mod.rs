//! The `sesame` command line: no command (or `serve`) serves; the others administer.
//! Each command group lives in its own module.

mod api_key;
mod check;
mod employees;
mod keys;
mod tokens;

use anyhow::Context;
use clap::{Parser, Subcommand};

use crate::store::Database;
use crate::{Application, Clock, Config, Error};

#[derive(Parser)]
#[command(
    name = "sesame",
    version,
    about = "Passwordless phone-number login service"
)]
pub struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the HTTP API (the default).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Manage API keys (roles admin, introspect and auditor).
    #[command(subcommand)]
    ApiKey(api_key::ApiKeyCommand),
    /// Revoke tokens, sessions or identities.
    #[command(subcommand)]
    Tokens(tokens::TokensCommand),
    /// Manage signing keys.
    #[command(subcommand)]
    Keys(keys::KeysCommand),
    /// Validate the configuration and connectivity, print what was found.
    CheckConfig,
    /// Manage employee records (bulk import from the HR system).
    #[command(subcommand)]
    Employees(employees::EmployeesCommand),
}

impl Cli {
    pub async fn run(self) -> anyhow::Result<()> {
        let config = Config::from_env()?;
        crate::telemetry::init(config.ops.log_format);
        for name in Config::unknown_variables(std::env::vars().map(|(name, _)| name)) {
            tracing::warn!(variable = name, "unknown configuration variable (a typo?)");
        }
        // The one source of time of this run.
        let clock = Clock::system();
        let now = clock.now();
        match self.command.unwrap_or(Command::Serve) {
            Command::Serve => serve(config, clock).await,
            Command::Migrate => {
                connect(&config).await?;
                println!("migrations applied");
                Ok(())
            }
            Command::ApiKey(command) => api_key::run(&config, command, &clock).await,
            Command::Tokens(command) => tokens::run(&config, command, now).await,
            Command::Keys(command) => keys::run(command, &config, now),
            Command::CheckConfig => check::run(&config, &clock).await,
            Command::Employees(command) => employees::run(&config, command, now).await,
        }
    }
}

/// Connects to the configured database and applies pending migrations.
pub async fn connect(config: &Config) -> anyhow::Result<Database> {
    Database::open(&config.database_url, config.database_max_connections)
        .await
        .context("SESAME_DATABASE_URL")
}

/// A service's error as the command line reports it: an internal error with its cause.
fn cause(err: Error) -> anyhow::Error {
    match err {
        Error::Internal(cause) => cause,
        other => other.into(),
    }
}

async fn serve(config: Config, clock: Clock) -> anyhow::Result<()> {
    let app = Application::build(config, clock).await?;
    tracing::info!(address = %app.local_addr()?, "sesame listening");
    reload_keys_on_hangup(app.state().tokens.clone(), app.state().clock.clone());
    app.run_until_stopped(shutdown_signal()).await?;
    tracing::info!("sesame stopped");
    Ok(())
}

/// SIGHUP re-reads the keys folder at once (they are also re-read periodically).
fn reload_keys_on_hangup(tokens: std::sync::Arc<crate::tokens::TokenService>, clock: Clock) {
    use tokio::signal::unix::{SignalKind, signal};
    match signal(SignalKind::hangup()) {
        Ok(mut hangup) => {
            tokio::spawn(async move {
                while hangup.recv().await.is_some() {
                    tokens.reload_keys(clock.now());
                }
            });
        }
        Err(err) => tracing::warn!(error = %err, "cannot listen for SIGHUP"),
    }
}

/// Completes on SIGTERM or SIGINT.
async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let interrupt = tokio::signal::ctrl_c();
    match signal(SignalKind::terminate()) {
        Ok(mut terminate) => {
            tokio::select! {
                _ = interrupt => {}
                _ = terminate.recv() => {}
            }
        }
        Err(_) => interrupt.await.unwrap_or_default(),
    }
}
