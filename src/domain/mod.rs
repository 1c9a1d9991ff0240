//! Domain values every layer shares, configuration included: once constructed, valid. They
//! depend on no service, so `config` can sit below the services and still use them.

mod phone;
mod signing;

pub use phone::{InvalidPhoneNumber, PhoneNumber};
pub use signing::SigningAlgorithm;
