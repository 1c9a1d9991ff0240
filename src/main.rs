//! The `sesame` binary; everything it does lives in the library's `cli` module.

use std::process::ExitCode;

use clap::Parser;

#[tokio::main]
async fn main() -> ExitCode {
    match sesame::cli::Cli::parse().run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("sesame: {err:#}");
            ExitCode::FAILURE
        }
    }
}
