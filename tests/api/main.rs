//! End-to-end tests: the real server on a random port, over HTTP, on both backends.

mod helpers;

mod admin;
mod binary;
mod errors;
mod keys;
mod login;
mod ops;
mod process;
mod token_validation;
mod wellknown;
