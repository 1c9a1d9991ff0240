//! Admin control of a number's abuse limits (docs/contract-notes.md, "Abuse limits").

use std::sync::Arc;

use super::Call;
use crate::domain::PhoneNumber;
use crate::domain::{Actor, AuditAction};
use crate::error::Result;
use crate::login::LoginService;
use crate::store::Database;

#[derive(Clone)]
pub struct Numbers {
    db: Database,
    login: Arc<LoginService>,
}

impl Numbers {
    pub fn new(db: Database, login: Arc<LoginService>) -> Self {
        Self { db, login }
    }

    /// Lifts `number`'s verification locks (the growing backoff or the long lockout, of the
    /// number and of each source), forgets its failed checks and empties its send caps
    /// (resend cooldown, hourly, daily), whether or not it was locked; audited.
    pub async fn unlock(
        &self,
        actor: &Actor,
        ip: Option<&str>,
        number: &PhoneNumber,
        now: i64,
    ) -> Result<()> {
        self.login.limits().unlock(number).await?;
        let call = Call::new(actor, ip, now);
        let event = call.event(AuditAction::NumberUnlocked, Some(number.as_str()), None);
        self.db.append_audit(&event).await?;
        Ok(())
    }
}
