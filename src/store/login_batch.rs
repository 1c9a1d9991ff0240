//! Group commit of logins on Postgres (`group_commit.rs`): a batch of logins, one per number,
//! stored by one statement (identities, sessions with their audit events, first pairs).

use std::collections::HashMap;
use std::time::Duration;

use serde::Serialize;
use sqlx::{AnyPool, Row};

use super::group_commit::{Batch, COLLECT_WRITES, json_rows};
use super::{Result, StoreError};

/// A login's rows as the batch statement reads them (`json_to_recordset`).
#[derive(Debug, Clone, Serialize)]
pub(super) struct LoginRow {
    /// The identity's id if the login creates it.
    pub identity_id: String,
    pub phone: String,
    pub at: i64,
    pub session_id: String,
    pub session_expires: i64,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub jti: String,
    pub issued_at: i64,
    pub expires_at: i64,
    pub access_expires_at: i64,
    /// The detail of the login's `login.succeeded` audit event.
    pub detail: Option<String>,
}

/// The identity a stored login signed in: its id (`sub`) and the employee it is linked to.
pub(super) type StoredIdentity = (String, Option<String>);

/// Per login: the active employee holding the number now (or nobody) and the number's identity
/// if it has one, by index lookups (`limit 1` keeps the planner from scanning every identity
/// to join a handful of logins); the identity created, or re-linked when its employee changed
/// (a concurrent first login of the same number conflicts and takes the update, so the login
/// always gets the one identity); then the session for that principal, carrying the login's
/// audit event (its id from `audit_events`' sequence: migration 0009), and the pair's row. `$1`
/// is the JSON array of [`LoginRow`]s.
const STORE_LOGINS: &str = "
    with input as (
        select * from json_to_recordset($1::json) as input (
            identity_id text, phone text, at bigint, session_id text, session_expires bigint,
            ip text, user_agent text, jti text, issued_at bigint, expires_at bigint,
            access_expires_at bigint, detail text)
    ), wanted as (
        select input.*,
            (select id from users where phone_number = input.phone and disabled_at is null)
                as wanted_user_id,
            found.id as found_id, found.user_id as found_user_id
        from input left join lateral (
            select id, user_id from user_auth
            where method = 'phone' and remote_id = input.phone limit 1
        ) found on true
    ), upserted as (
        insert into user_auth (id, method, remote_id, user_id, created_at)
        select identity_id, 'phone', phone, wanted_user_id, at from wanted
        where found_id is null or found_user_id is distinct from wanted_user_id
        on conflict (method, remote_id) do update set user_id = excluded.user_id
        returning id, remote_id, user_id
    ), identity as (
        select wanted.*,
            coalesce(upserted.id, found_id) as sub,
            case when upserted.id is null then found_user_id else upserted.user_id end
                as principal_user_id
        from wanted left join upserted on upserted.remote_id = wanted.phone
    ), session as (
        insert into sessions
            (id, user_auth_id, user_id, created_at, last_used_at, expires_at, ip, user_agent,
             audit_id, audit_ip, audit_detail)
        select session_id, sub, principal_user_id, at, at, session_expires, ip, user_agent,
            nextval('audit_events_id_seq'), ip, detail
        from identity
    ), issued as (
        insert into tokens (jti, session_id, issued_at, expires_at, access_expires_at)
        select jti, session_id, issued_at, expires_at, access_expires_at from input
    )
    select phone, sub, principal_user_id from identity";

/// Logins, one per number in a batch: two logins of one number in one statement would upsert
/// its identity twice. Ordered by number, batches in flight together lock new identities in one
/// order and never deadlock on each other.
pub(super) struct Logins;

impl Batch for Logins {
    type Row = LoginRow;
    type Answer = StoredIdentity;
    const WHAT: &'static str = "logins";
    const COLLECT: Duration = COLLECT_WRITES;

    fn key(row: &LoginRow) -> &str {
        &row.phone
    }

    /// Runs [`STORE_LOGINS`] and returns each number's identity.
    async fn run(pool: &AnyPool, rows: &[&LoginRow]) -> Result<HashMap<String, StoredIdentity>> {
        let json = json_rows(rows)?;
        let stored = sqlx::query(STORE_LOGINS).bind(json).fetch_all(pool).await?;
        metrics::counter!("sesame_login_commits_total").increment(1);
        metrics::counter!("sesame_logins_committed_total").increment(rows.len() as u64);
        stored
            .into_iter()
            .map(|row| {
                let phone: String = row.try_get("phone")?;
                Ok((
                    phone,
                    (row.try_get("sub")?, row.try_get("principal_user_id")?),
                ))
            })
            .collect()
    }

    /// The statement returns one identity per login: none means it was not stored.
    fn unanswered() -> Result<StoredIdentity> {
        Err(StoreError::Database(sqlx::Error::RowNotFound))
    }
}
