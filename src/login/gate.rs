//! Who may log in (`SESAME_ALLOW_ANONYMOUS`): anyone, or only the numbers an active employee
//! holds. A number the gate keeps out goes through the same steps as any other (so answers do
//! not tell employees apart), is sent nothing, and its codes never log in.

use crate::config::Config;
use crate::domain::PhoneNumber;
use crate::error::Result;
use crate::store::Database;

pub struct LoginGate {
    allow_anonymous: bool,
    db: Database,
}

impl LoginGate {
    pub fn new(config: &Config, db: Database) -> Self {
        Self {
            allow_anonymous: config.allow_anonymous,
            db,
        }
    }

    /// Whether a login of `number` may yield tokens: anonymous login is on, or an active
    /// employee holds the number.
    pub async fn may_log_in(&self, number: &PhoneNumber) -> Result<bool> {
        Ok(self.allow_anonymous || self.db.has_active_employee(number.as_str()).await?)
    }
}
