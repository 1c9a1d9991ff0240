//! End-to-end tests: the real server on a random port, over HTTP, on both backends.

mod helpers;

mod admin;
mod api_keys;
mod audit;
mod binary;
mod employees;
mod errors;
mod import;
mod login;
mod token_validation;
mod wellknown;
