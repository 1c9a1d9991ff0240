use super::{Database, Result};

/// One append-only audit record: who did what to whom, from where.
#[derive(Debug, Clone)]
pub struct AuditEvent<'a> {
    pub at: i64,
    /// `system`, `identity:<sub>`, `api-key:<name>`, `phone:<E.164>`, …
    pub actor: &'a str,
    /// Dotted verb: `login.succeeded`, `login.failed`, `employee.upserted`, …
    pub action: &'a str,
    pub subject: Option<&'a str>,
    pub ip: Option<&'a str>,
    /// Free-form JSON with what else is worth keeping (never a code, token or secret).
    pub detail: Option<String>,
}

impl Database {
    pub async fn append_audit(&self, event: &AuditEvent<'_>) -> Result<()> {
        sqlx::query(
            "insert into audit_events (at, actor, action, subject, ip, detail)
             values ($1, $2, $3, $4, $5, $6)",
        )
        .bind(event.at)
        .bind(event.actor)
        .bind(event.action)
        .bind(event.subject)
        .bind(event.ip)
        .bind(event.detail.as_deref())
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}
