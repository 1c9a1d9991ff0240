use std::sync::LazyLock;

use sqlx::{Any, AnyConnection, Executor, Row};

use super::{Database, Query, Result, Tx};
use crate::domain::audit::{IDENTITY_ACTOR_PREFIX, PHONE_ACTOR_PREFIX};
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

    /// One page of the audit log, newest first: the rows of `audit_events` and the events kept
    /// on sessions ([`SESSION_EVENTS`]), whose ids come from the same counter, so `id` orders
    /// them all. Each source answers with its own newest `limit` matches, read through its
    /// indexes, and the page is the newest of those. Events still on a session are listed from
    /// `session_events_since` (Unix seconds; `None`: all), for audit retention
    /// (`crate::admin::AuditLog`).
    pub async fn audit_events(
        &self,
        query: &AuditQuery<'_>,
        session_events_since: Option<i64>,
    ) -> Result<Vec<AuditRecord>> {
        let mut binds = Binds::default();
        let limit = binds.int(query.limit);
        let mut branches = vec![logged_events(query, &mut binds, &limit)];
        for kind in SESSION_EVENTS.iter() {
            if let Some(branch) = kind.listed(query, session_events_since, &mut binds, &limit) {
                branches.push(branch);
            }
        }
        let sql = if let [only] = branches.as_slice() {
            only.clone()
        } else {
            let selects: Vec<String> = branches
                .iter()
                .enumerate()
                .map(|(n, branch)| format!("select {COLUMNS} from ({branch}) as source{n}"))
                .collect();
            format!(
                "{} order by id desc limit {limit}",
                selects.join(" union all ")
            )
        };
        let rows = binds.apply(sqlx::query(&sql)).fetch_all(&self.pool).await?;
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

/// The columns of a listed event.
const COLUMNS: &str = "id, at, actor, action, subject, ip, detail, occurrences";

/// An audit event kept on the row of the session it concerns instead of a row of its own in
/// `audit_events` (docs/contract-notes.md, "Audit log"): its id, taken from `audit_events`'
/// counter, is null on sessions without it. The one reading of it, for the log and for the
/// sweep that moves it to `audit_events` before deleting the session.
pub(super) struct SessionEvent {
    action: AuditAction,
    /// The event's id column; an index on it (where not null) pages the log.
    pub(super) id: &'static str,
    /// When it happened.
    pub(super) at: &'static str,
    /// The column its subject is; a subject filter compares it.
    subject: &'static str,
    /// Its actors start with this...
    actor_prefix: &'static str,
    /// ...and this condition finds the sessions of the rest (`{}`: its placeholder).
    actor_is: &'static str,
    /// Every field but the id, as `at, actor, action, subject, ip, detail`, from
    /// [`SESSION_EVENTS_FROM`].
    fields: String,
}

/// Where [`SessionEvent`]s are read: `s` the session, `a` its identity.
pub(super) const SESSION_EVENTS_FROM: &str = "sessions s join user_auth a on a.id = s.user_auth_id";

/// The events kept on sessions:
/// - a login's `login.succeeded` (migration 0009): the session's start, the identity's number,
///   the login's IP and detail;
/// - the `session.revoked` of a session its holder ended (`POST /v1/logout`, `POST
///   /oauth/revoke`; migration 0010): the revocation's time, reason and IP. Only those two
///   reasons are stored this way (`crate::tokens::revocation`), so the detail is spelled out
///   here, as the event rows' detail is (`{"newly_revoked": 1, "reason"}`).
pub(super) static SESSION_EVENTS: LazyLock<[SessionEvent; 2]> = LazyLock::new(|| {
    [
        SessionEvent {
            action: AuditAction::LoginSucceeded,
            id: "s.audit_id",
            at: "s.created_at",
            subject: "s.user_auth_id",
            actor_prefix: PHONE_ACTOR_PREFIX,
            actor_is: "s.user_auth_id in
                (select id from user_auth where method = 'phone' and remote_id = {})",
            fields: format!(
                "s.created_at as at, '{PHONE_ACTOR_PREFIX}' || a.remote_id as actor,
                 '{}' as action, s.user_auth_id as subject, s.audit_ip as ip,
                 s.audit_detail as detail",
                AuditAction::LoginSucceeded.as_str()
            ),
        },
        SessionEvent {
            action: AuditAction::SessionRevoked,
            id: "s.revoked_audit_id",
            at: "s.revoked_at",
            subject: "s.id",
            actor_prefix: IDENTITY_ACTOR_PREFIX,
            actor_is: "s.user_auth_id = {}",
            fields: format!(
                "s.revoked_at as at, '{IDENTITY_ACTOR_PREFIX}' || s.user_auth_id as actor,
                 '{}' as action, s.id as subject, s.revoked_audit_ip as ip,
                 '{{\"newly_revoked\":1,\"reason\":\"' || s.revoked_reason || '\"}}' as detail",
                AuditAction::SessionRevoked.as_str()
            ),
        },
    ]
});

impl SessionEvent {
    /// `id, at, actor, action, subject, ip, detail`, from [`SESSION_EVENTS_FROM`].
    pub(super) fn columns(&self) -> String {
        format!("{} as id, {}", self.id, self.fields)
    }

    /// The events of this kind that `query` selects, newest first; `None` when its action or
    /// actor is one this kind never has.
    fn listed<'a>(
        &self,
        query: &AuditQuery<'a>,
        kept_since: Option<i64>,
        binds: &mut Binds<'a>,
        limit: &str,
    ) -> Option<String> {
        if query
            .action
            .is_some_and(|wanted| wanted != self.action.as_str())
        {
            return None;
        }
        let actor = match query.actor {
            Some(actor) => Some(actor.strip_prefix(self.actor_prefix)?),
            None => None,
        };
        let mut conditions = vec![format!("{} is not null", self.id)];
        if let Some(id) = query.before_id {
            conditions.push(format!("{} < {}", self.id, binds.int(id)));
        }
        if let Some(actor) = actor {
            conditions.push(self.actor_is.replace("{}", &binds.text(actor)));
        }
        if let Some(subject) = query.subject {
            conditions.push(format!("{} = {}", self.subject, binds.text(subject)));
        }
        if let Some(since) = query.since.max(kept_since) {
            conditions.push(format!("{} >= {}", self.at, binds.int(since)));
        }
        if let Some(until) = query.until {
            conditions.push(format!("{} < {}", self.at, binds.int(until)));
        }
        Some(format!(
            "select {}, cast(1 as bigint) as occurrences from {SESSION_EVENTS_FROM}
             {} order by {} desc limit {limit}",
            self.columns(),
            where_all(&conditions),
            self.id
        ))
    }
}

/// The values bound to a statement, numbered as they are added.
#[derive(Default)]
struct Binds<'a>(Vec<Bind<'a>>);

enum Bind<'a> {
    Int(i64),
    Text(&'a str),
}

impl<'a> Binds<'a> {
    /// Adds `value`; returns its placeholder.
    fn int(&mut self, value: i64) -> String {
        self.0.push(Bind::Int(value));
        format!("${}", self.0.len())
    }

    fn text(&mut self, value: &'a str) -> String {
        self.0.push(Bind::Text(value));
        format!("${}", self.0.len())
    }

    fn apply(self, mut statement: Query<'a>) -> Query<'a> {
        for bind in self.0 {
            statement = match bind {
                Bind::Int(value) => statement.bind(value),
                Bind::Text(value) => statement.bind(value),
            };
        }
        statement
    }
}

/// `where` and its conditions, or nothing.
fn where_all(conditions: &[String]) -> String {
    if conditions.is_empty() {
        String::new()
    } else {
        format!("where {}", conditions.join(" and "))
    }
}

/// The rows of `audit_events` that `query` selects, newest first.
fn logged_events<'a>(query: &AuditQuery<'a>, binds: &mut Binds<'a>, limit: &str) -> String {
    let mut conditions = Vec::new();
    if let Some(id) = query.before_id {
        conditions.push(format!("id < {}", binds.int(id)));
    }
    for (column, value) in [
        ("actor", query.actor),
        ("subject", query.subject),
        ("action", query.action),
    ] {
        if let Some(value) = value {
            conditions.push(format!("{column} = {}", binds.text(value)));
        }
    }
    if let Some(since) = query.since {
        conditions.push(format!("at >= {}", binds.int(since)));
    }
    if let Some(until) = query.until {
        conditions.push(format!("at < {}", binds.int(until)));
    }
    format!(
        "select {COLUMNS} from audit_events {} order by id desc limit {limit}",
        where_all(&conditions)
    )
}

/// On SQLite, the id of an event kept on a session ([`SESSION_EVENTS`]): the next of
/// `audit_events`' AUTOINCREMENT counter, taken by raising it, so no event stored later gets it
/// (migration 0009). Postgres takes `nextval('audit_events_id_seq')` in the statement that
/// stores the event.
pub(super) async fn next_event_id_on_sqlite(connection: &mut AnyConnection) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "update sqlite_sequence set seq = seq + 1 where name = 'audit_events' returning seq",
    )
    .fetch_one(connection)
    .await?)
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
async fn insert_audit_events<'c>(
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
