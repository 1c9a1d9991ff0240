//! One place that sets up logging.

use tracing_subscriber::EnvFilter;

/// Human-readable logs on standard error (standard output is for command results), filtered
/// by `RUST_LOG` (default `info`).
pub fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
