//! End-to-end tests: the real server on a random port, over HTTP, on both backends.

mod helpers;

mod admin;
mod api_keys;
mod binary;
mod errors;
mod introspection;
mod lifecycle_helpers;
mod login;
mod refresh;
mod revocation;
mod revocation_feed;
mod token_validation;
mod wellknown;
