//! End-to-end tests: the real server on a random port, over HTTP, on both backends.

mod helpers;

mod admin;
mod admin_helpers;
mod api_keys;
mod audit;
mod binary;
mod demo;
mod downstream;
mod downstream_helpers;
mod employees;
mod errors;
mod fake_provider;
mod import;
mod introspection;
mod keys;
mod lifecycle_helpers;
mod limits;
mod limits_checks;
mod login;
mod ops;
mod principal;
mod process;
mod providers;
mod refresh;
mod revocation;
mod revocation_feed;
mod session_lifetime;
mod token_validation;
mod twilio_verify;
mod webhook_signature;
mod wellknown;
