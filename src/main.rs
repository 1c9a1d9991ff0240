//! The `sesame` binary; everything it does lives in the library's `cli` module.

use std::process::ExitCode;

use clap::Parser;

/// glibc's allocator took about a seventh of a login's CPU under load (many small, short-lived
/// allocations moving between worker threads). jemalloc's thread caches serve them faster at
/// the same resident memory (mimalloc was as fast but doubled the RSS under load). What start-up
/// frees is handed back to the system once the router is built (`src/memory.rs`).
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

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
