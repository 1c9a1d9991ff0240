//! Reading the append-only audit log; nothing changes or deletes an event.

use crate::error::Result;
use crate::store::{AuditQuery, AuditRecord, Database};

#[derive(Clone)]
pub struct AuditLog {
    db: Database,
}

impl AuditLog {
    pub fn new(db: Database) -> Self {
        Self { db }
    }

    /// The events `query` selects, newest first.
    pub async fn events(&self, query: &AuditQuery<'_>) -> Result<Vec<AuditRecord>> {
        Ok(self.db.audit_events(query).await?)
    }
}
