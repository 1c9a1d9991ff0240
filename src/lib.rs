//! Sesame: passwordless login with a phone number and a one-time code.
//!
//! Requests flow one way: `api` (extractors, thin handlers) and `console` (the admin
//! console's pages) → services (`login`, `tokens`, `admin`) → `store` (database, ephemeral
//! state) and `sms` (delivery).
#![deny(clippy::unwrap_used, clippy::expect_used)]

pub mod admin;
pub mod api;
pub mod app;
pub mod cli;
pub mod clock;
pub mod config;
mod console;
pub mod domain;
pub mod error;
pub mod login;
mod memory;
mod serve;
pub mod sms;
pub mod store;
pub mod sweeper;
pub mod tasks;
pub mod telemetry;
pub mod tokens;
pub mod validate;

pub use app::{AppState, Application};
pub use clock::Clock;
pub use config::Config;
pub use error::{Error, Result};

/// RFC 3339 rendering of Unix seconds, for JSON responses.
pub fn rfc3339(seconds: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(seconds)
        .ok()
        .and_then(|at| {
            at.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}
