//! Administration services: API keys (and, as they grow, employees and audit).

mod api_keys;

pub use api_keys::{IssuedApiKey, hash_api_key, issue_api_key};
