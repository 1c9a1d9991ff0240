//! Domain values every layer shares, configuration included: once constructed, valid. They
//! depend on no service, so `config` can sit below the services and still use them.

pub mod audit;
mod instant;
mod phone;
mod phone_patterns;
mod random;
mod signing;

pub use audit::{Actor, AuditAction};
pub use instant::parse_instant;
pub use phone::{InvalidPhoneNumber, PhoneNumber};
pub use random::random_url_safe;
pub use signing::SigningAlgorithm;
