//! End-to-end tests: the real server on a random port, over HTTP, on both backends.

mod support;

mod admin;
mod api_keys;
mod audit;
mod binary;
mod console;
mod console_import;
mod console_overview;
mod console_pages;
mod demo;
mod docs;
mod downstream;
mod employees;
mod errors;
mod hostile_bytes;
mod import;
mod introspection;
mod keys;
mod limits;
mod limits_checks;
mod login;
mod ops;
mod phone_spellings;
mod principal;
mod process;
mod providers;
mod refresh;
mod retention;
mod revocation;
mod revocation_feed;
mod session_lifetime;
mod token_validation;
mod twilio_verify;
mod webhook_signature;
mod wellknown;
