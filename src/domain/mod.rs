//! Small domain types shared by every layer, with no dependency on the others.

pub mod audit;

pub use audit::{Actor, AuditAction};
