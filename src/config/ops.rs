//! Operations: logs, HTTP hygiene, key reloading, shutdown (docs/contract-notes.md, "Operations").

use std::net::SocketAddr;

use super::{ConfigError, Vars};
use crate::telemetry::LogFormat;

#[derive(Debug, Clone)]
pub struct OpsConfig {
    pub log_format: LogFormat,
    /// Seconds a request may take before it is answered `503`.
    pub request_timeout: u64,
    /// Origins allowed by CORS; empty = no CORS headers; `*` = any origin.
    pub cors_origins: Vec<String>,
    /// Seconds between re-reads of the keys folder (a rotated key is picked up without restart).
    pub keys_reload_interval: u64,
    /// Seconds in-flight requests and background tasks get to finish after SIGTERM.
    pub shutdown_timeout: u64,
    /// Where Prometheus scrapes `/metrics`, apart from the service port; `None` = not served.
    pub metrics_listen: Option<SocketAddr>,
    /// Seconds a connection gets to send a request head before it is closed.
    pub header_read_timeout: u64,
    /// Connections served at once per listener; more wait in the kernel's listen queue.
    pub max_connections: u32,
}

impl OpsConfig {
    pub(super) fn from_vars(vars: &Vars) -> Result<Self, ConfigError> {
        Ok(Self {
            log_format: vars.parse("SESAME_LOG_FORMAT", "pretty")?,
            request_timeout: vars.parse_in("SESAME_REQUEST_TIMEOUT", 30, 1..=600)?,
            cors_origins: vars.list("SESAME_CORS_ORIGINS"),
            keys_reload_interval: vars.parse_in("SESAME_KEYS_RELOAD_INTERVAL", 60, 1..=86_400)?,
            shutdown_timeout: vars.parse_in("SESAME_SHUTDOWN_TIMEOUT", 30, 1..=3_600)?,
            metrics_listen: metrics_listen(vars)?,
            header_read_timeout: vars.parse_in("SESAME_HEADER_READ_TIMEOUT", 10, 1..=300)?,
            max_connections: vars.parse_in("SESAME_MAX_CONNECTIONS", 1_000, 1..=1_000_000)?,
        })
    }
}

/// `SESAME_METRICS_LISTEN`: unset = the loopback default; set but empty = off.
fn metrics_listen(vars: &Vars) -> Result<Option<SocketAddr>, ConfigError> {
    const NAME: &str = "SESAME_METRICS_LISTEN";
    match vars.0.get(NAME) {
        Some(value) if value.trim().is_empty() => Ok(None),
        _ => vars.parse(NAME, "127.0.0.1:9100").map(Some),
    }
}
