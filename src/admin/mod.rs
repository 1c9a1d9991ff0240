//! Administration services: API keys, employee records and their bulk import.

mod api_keys;
mod employees;
mod import;
mod import_file;

pub use api_keys::{IssuedApiKey, hash_api_key, issue_api_key};
pub use employees::{FieldProblem, ValidEmployee};
pub use import::{ImportFormat, ImportMode, Importer, import_employees};
