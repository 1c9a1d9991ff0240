//! Reading the append-only audit log; nothing changes or deletes an event.

use crate::clock::Clock;
use crate::config::Config;
use crate::error::Result;
use crate::store::{AuditQuery, AuditRecord, Database};
use crate::sweeper::Retention;

#[derive(Clone)]
pub struct AuditLog {
    db: Database,
    clock: Clock,
    /// `SESAME_AUDIT_RETENTION`, `None` when events are kept for good.
    retention: Option<i64>,
}

impl AuditLog {
    pub fn new(db: Database, config: &Config, clock: Clock) -> Self {
        Self {
            db,
            clock,
            retention: Retention::of(config).audit,
        }
    }

    /// The events `query` selects, newest first. An event kept on its session (a login's, a
    /// logout's) is listed while the audit retention lasts, as if it were swept with the other
    /// events (the session may be kept longer; docs/contract-notes.md, "Audit log").
    pub async fn events(&self, query: &AuditQuery<'_>) -> Result<Vec<AuditRecord>> {
        let kept_since = self.retention.map(|keep| self.clock.now() - keep);
        Ok(self.db.audit_events(query, kept_since).await?)
    }
}
