//! Group commit of logins on Postgres (docs/performance.md, "Group commit"). One login's rows
//! (identity, session with its audit event, first pair) cost Postgres several times more as a
//! transaction of their own than as part of a batch: the commit's WAL flush, the statement's
//! set-up and its relation and lock bookkeeping are paid once per batch instead of once per
//! login. So logins queue, and each of [`WORKERS`] workers takes whatever is queued (at most
//! [`MAX_BATCH`]) and stores it in one statement, one transaction. While the other worker's
//! batch is in flight a worker collects for up to [`COLLECT`] more, so batches grow with the
//! load; with none in flight it stores at once, so a lone login on an idle node never waits.
//! Each caller is answered after the commit that holds its rows. A batch that fails is retried
//! one login at a time, so a row that cannot be written fails its own login and no other.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde::Serialize;
use sqlx::{AnyPool, Row};
use tokio::sync::{Mutex, mpsc, oneshot};
use tokio::time::Instant;

use super::{Result, StoreError};

/// Logins stored by one statement at most. Postgres's CPU per login falls steeply up to about
/// 16 and little beyond 32 (docs/performance.md).
const MAX_BATCH: usize = 32;

/// Batches in flight at once: while one waits for its commit, the next is being written.
const WORKERS: usize = 2;

/// How long a worker collects logins while the other worker's batch is in flight: 1 ms
/// lifted the mean batch enough to cut Postgres's CPU per login by a third; 3 ms cut it a
/// little further but served fewer logins a second (docs/performance.md, "Group commit").
const COLLECT: Duration = Duration::from_millis(1);

/// Logins waiting for a worker before callers wait to queue (back-pressure under overload).
const QUEUE: usize = 1_024;

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

/// A queued login and where its answer goes.
struct Queued {
    row: LoginRow,
    reply: oneshot::Sender<Result<StoredIdentity>>,
}

/// The queue of logins waiting to be stored, and its workers (which end once every clone of
/// the queue is dropped).
#[derive(Clone)]
pub(super) struct LoginBatcher {
    queue: mpsc::Sender<Queued>,
}

impl LoginBatcher {
    /// Starts the workers on `pool`.
    pub(super) fn start(pool: &AnyPool) -> Self {
        let (queue, receiver) = mpsc::channel(QUEUE);
        let receiver = Arc::new(Mutex::new(receiver));
        let in_flight = Arc::new(AtomicUsize::new(0));
        for _ in 0..WORKERS {
            tokio::spawn(work(
                pool.clone(),
                Arc::clone(&receiver),
                Arc::clone(&in_flight),
            ));
        }
        Self { queue }
    }

    /// Stores `row` with the next batch and answers once that batch has committed.
    pub(super) async fn log_in(&self, row: LoginRow) -> Result<StoredIdentity> {
        let (reply, answer) = oneshot::channel();
        self.queue
            .send(Queued { row, reply })
            .await
            .map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }
}

fn stopped() -> StoreError {
    StoreError::Unavailable("the login writer has stopped".into())
}

/// One worker: takes what is queued, one login per number (two logins of one number in one
/// statement would upsert its identity twice), and stores it; a number's second login waits
/// for this worker's next batch.
async fn work(
    pool: AnyPool,
    receiver: Arc<Mutex<mpsc::Receiver<Queued>>>,
    in_flight: Arc<AtomicUsize>,
) {
    let mut carried: Vec<Queued> = Vec::new();
    loop {
        let mut taken = std::mem::take(&mut carried);
        {
            let mut receiver = receiver.lock().await;
            if taken.is_empty() {
                match receiver.recv().await {
                    Some(queued) => taken.push(queued),
                    None => return,
                }
            }
            while taken.len() < MAX_BATCH {
                match receiver.try_recv() {
                    Ok(queued) => taken.push(queued),
                    Err(_) => break,
                }
            }
            if in_flight.load(Ordering::Acquire) > 0 {
                let deadline = Instant::now() + COLLECT;
                while taken.len() < MAX_BATCH {
                    match tokio::time::timeout_at(deadline, receiver.recv()).await {
                        Ok(Some(queued)) => taken.push(queued),
                        Ok(None) | Err(_) => break,
                    }
                }
            }
        }
        let (batch, later) = one_per_number(taken);
        carried = later;
        in_flight.fetch_add(1, Ordering::AcqRel);
        store(&pool, batch).await;
        in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Splits `taken` into a batch with one login per number, ordered by number (so that batches
/// in flight together lock new identities in one order and never deadlock on each other), and
/// the later logins of numbers already in it.
fn one_per_number(taken: Vec<Queued>) -> (Vec<Queued>, Vec<Queued>) {
    let mut numbers = HashSet::new();
    let (mut batch, later): (Vec<Queued>, Vec<Queued>) = taken
        .into_iter()
        .partition(|queued| numbers.insert(queued.row.phone.clone()));
    batch.sort_by(|a, b| a.row.phone.cmp(&b.row.phone));
    (batch, later)
}

/// Stores `batch` in one statement and answers each login; after a failure that is not the
/// database's absence, each login is tried on its own.
async fn store(pool: &AnyPool, batch: Vec<Queued>) {
    let rows: Vec<&LoginRow> = batch.iter().map(|queued| &queued.row).collect();
    match insert(pool, &rows).await {
        Ok(mut stored) => {
            for queued in batch {
                let _ = queued.reply.send(take(&mut stored, &queued.row.phone));
            }
        }
        Err(StoreError::Unavailable(why)) => {
            for queued in batch {
                let _ = queued.reply.send(Err(StoreError::Unavailable(why.clone())));
            }
        }
        Err(err) if batch.len() == 1 => {
            if let Some(queued) = batch.into_iter().next() {
                let _ = queued.reply.send(Err(err));
            }
        }
        Err(_) => {
            for queued in batch {
                let alone = insert(pool, &[&queued.row]).await;
                let _ = queued
                    .reply
                    .send(alone.and_then(|mut stored| take(&mut stored, &queued.row.phone)));
            }
        }
    }
}

/// Runs [`STORE_LOGINS`] for `rows` (one per number) and returns each number's identity.
async fn insert(pool: &AnyPool, rows: &[&LoginRow]) -> Result<HashMap<String, StoredIdentity>> {
    let json = serde_json::to_string(rows)
        .map_err(|err| StoreError::Database(sqlx::Error::Encode(Box::new(err))))?;
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

/// The identity stored for `phone`: the statement returns one per login.
fn take(stored: &mut HashMap<String, StoredIdentity>, phone: &str) -> Result<StoredIdentity> {
    stored
        .remove(phone)
        .ok_or(StoreError::Database(sqlx::Error::RowNotFound))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn queued(phone: &str, session_id: &str) -> Queued {
        let (reply, _) = oneshot::channel();
        let row = LoginRow {
            identity_id: format!("identity-{session_id}"),
            phone: phone.to_owned(),
            at: 0,
            session_id: session_id.to_owned(),
            session_expires: 0,
            ip: None,
            user_agent: None,
            jti: format!("jti-{session_id}"),
            issued_at: 0,
            expires_at: 0,
            access_expires_at: 0,
            detail: None,
        };
        Queued { row, reply }
    }

    fn sessions(queued: &[Queued]) -> Vec<&str> {
        queued.iter().map(|q| q.row.session_id.as_str()).collect()
    }

    #[test]
    fn a_batch_holds_one_login_per_number_in_number_order() {
        let taken = vec![
            queued("+447700900300", "a"),
            queued("+447700900100", "b"),
            queued("+447700900300", "c"),
            queued("+447700900200", "d"),
            queued("+447700900300", "e"),
        ];
        let (batch, later) = one_per_number(taken);
        assert_eq!(sessions(&batch), ["b", "d", "a"]);
        // The number's later logins keep their order for the next batch.
        assert_eq!(sessions(&later), ["c", "e"]);
    }
}
