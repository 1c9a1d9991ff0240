//! End-to-end tests: the real server on a random port, over HTTP, on both backends.

mod helpers;

mod admin;
mod api_keys;
mod binary;
mod errors;
mod fake_provider;
mod login;
mod providers;
mod token_validation;
mod twilio_verify;
mod webhook_signature;
mod wellknown;
