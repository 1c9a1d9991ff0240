use sqlx::{Any, Executor, Row};

use super::{Database, Result, Tx};
use crate::domain::{Actor, AuditAction};

/// Events per statement: far below both dialects' limits on bound parameters.
const CHUNK: usize = 500;

/// One append-only audit record: who did what to whom, from where.
#[derive(Debug, Clone)]
pub struct AuditEvent<'a> {
    pub at: i64,
    pub actor: &'a Actor,
    pub action: AuditAction,
    pub subject: Option<&'a str>,
    pub ip: Option<&'a str>,
    /// Free-form JSON with what else is worth keeping (never a code, token or secret).
    pub detail: Option<String>,
}

/// A stored audit event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRecord {
    pub id: i64,
    pub at: i64,
    pub actor: String,
    pub action: String,
    pub subject: Option<String>,
    pub ip: Option<String>,
    pub detail: Option<String>,
    /// How many requests the event stands for (more than one for aggregated refusals).
    pub occurrences: i64,
}

/// Filters over the audit log, newest first; every field narrows the result.
#[derive(Debug, Clone, Default)]
pub struct AuditQuery<'a> {
    /// Only events older than this id (the previous page's last).
    pub before_id: Option<i64>,
    /// As rendered, e.g. `api-key:hr-sync`.
    pub actor: Option<&'a str>,
    pub subject: Option<&'a str>,
    pub action: Option<&'a str>,
    /// Unix seconds, inclusive.
    pub since: Option<i64>,
    /// Unix seconds, exclusive.
    pub until: Option<i64>,
    pub limit: i64,
}

impl Database {
    pub async fn append_audit(&self, event: &AuditEvent<'_>) -> Result<()> {
        insert_audit_events(&self.pool, std::slice::from_ref(event)).await
    }

    /// Appends `event`, or counts one more occurrence of the event already stored under
    /// `aggregate_key` (one row per key: an upsert, so concurrent requests add up).
    pub async fn append_audit_aggregated(
        &self,
        event: &AuditEvent<'_>,
        aggregate_key: &str,
    ) -> Result<()> {
        sqlx::query(
            "insert into audit_events (at, actor, action, subject, ip, detail, aggregate_key)
             values ($1, $2, $3, $4, $5, $6, $7)
             on conflict (aggregate_key) where aggregate_key is not null
             do update set occurrences = audit_events.occurrences + 1",
        )
        .bind(event.at)
        .bind(event.actor.to_string())
        .bind(event.action.as_str())
        .bind(event.subject)
        .bind(event.ip)
        .bind(event.detail.as_deref())
        .bind(aggregate_key)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// One page of the audit log, newest first.
    pub async fn audit_events(&self, query: &AuditQuery<'_>) -> Result<Vec<AuditRecord>> {
        enum Bind<'a> {
            Int(i64),
            Text(&'a str),
        }
        let mut conditions: Vec<String> = Vec::new();
        let mut binds: Vec<Bind> = Vec::new();
        let mut filter = |condition: &str, bind| {
            binds.push(bind);
            conditions.push(format!("{condition} ${}", binds.len()));
        };
        if let Some(id) = query.before_id {
            filter("id <", Bind::Int(id));
        }
        if let Some(actor) = query.actor {
            filter("actor =", Bind::Text(actor));
        }
        if let Some(subject) = query.subject {
            filter("subject =", Bind::Text(subject));
        }
        if let Some(action) = query.action {
            filter("action =", Bind::Text(action));
        }
        if let Some(since) = query.since {
            filter("at >=", Bind::Int(since));
        }
        if let Some(until) = query.until {
            filter("at <", Bind::Int(until));
        }
        let mut sql =
            "select id, at, actor, action, subject, ip, detail, occurrences from audit_events"
                .to_owned();
        if !conditions.is_empty() {
            sql.push_str(" where ");
            sql.push_str(&conditions.join(" and "));
        }
        sql.push_str(&format!(" order by id desc limit ${}", binds.len() + 1));
        let mut statement = sqlx::query(&sql);
        for bind in binds {
            statement = match bind {
                Bind::Int(value) => statement.bind(value),
                Bind::Text(value) => statement.bind(value),
            };
        }
        let rows = statement.bind(query.limit).fetch_all(&self.pool).await?;
        rows.iter()
            .map(|row| {
                Ok(AuditRecord {
                    id: row.try_get("id")?,
                    at: row.try_get("at")?,
                    actor: row.try_get("actor")?,
                    action: row.try_get("action")?,
                    subject: row.try_get("subject")?,
                    ip: row.try_get("ip")?,
                    detail: row.try_get("detail")?,
                    occurrences: row.try_get("occurrences")?,
                })
            })
            .collect()
    }
}

impl Tx {
    /// Appends `events` in this transaction, in order.
    pub async fn append_audit(&mut self, events: &[AuditEvent<'_>]) -> Result<()> {
        for chunk in events.chunks(CHUNK) {
            insert_audit_events(&mut *self.0, chunk).await?;
        }
        Ok(())
    }
}

/// Appends `events` with one multi-row statement (on the pool or inside a transaction).
pub(super) async fn insert_audit_events<'c>(
    executor: impl Executor<'c, Database = Any>,
    events: &[AuditEvent<'_>],
) -> Result<()> {
    if events.is_empty() {
        return Ok(());
    }
    let values: Vec<String> = (0..events.len())
        .map(|row| {
            let n = row * 6;
            format!(
                "(${}, ${}, ${}, ${}, ${}, ${})",
                n + 1,
                n + 2,
                n + 3,
                n + 4,
                n + 5,
                n + 6
            )
        })
        .collect();
    let sql = format!(
        "insert into audit_events (at, actor, action, subject, ip, detail) values {}",
        values.join(", ")
    );
    let mut statement = sqlx::query(&sql);
    for event in events {
        statement = statement
            .bind(event.at)
            .bind(event.actor.to_string())
            .bind(event.action.as_str())
            .bind(event.subject)
            .bind(event.ip)
            .bind(event.detail.as_deref());
    }
    statement.execute(executor).await?;
    Ok(())
}
