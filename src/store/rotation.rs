use std::collections::HashMap;
use std::sync::LazyLock;
use std::time::Duration;

use serde::Serialize;
use sqlx::{AnyPool, Row};

use super::group_commit::{Batch, COLLECT_WRITES, json_rows};
use super::sessions::insert_pair;
use super::{Database, NewPair, Query, Result};

/// One refresh rotation: the refresh token spent, the successor pair's row, and the sealed
/// successor kept for retries inside the reuse grace window.
#[derive(Debug, Clone)]
pub struct Rotation<'a> {
    pub spent_jti: &'a str,
    pub session_id: &'a str,
    /// The session's principal as the token carries it: the employee (or none) the session was
    /// opened for, who must still be active and hold `phone_number`.
    pub phone_number: &'a str,
    pub user_id: Option<&'a str>,
    /// Sessions that began at or before this time have outlived their absolute lifetime.
    pub started_before: i64,
    pub successor: NewPair<'a>,
    pub sealed_pair: &'a str,
    pub now: i64,
    /// Until when (Unix milliseconds, exclusive) a retry with the spent token gets the sealed
    /// pair back.
    pub available_until_ms: i64,
    pub ip: Option<&'a str>,
    pub user_agent: Option<&'a str>,
}

/// A successor pair kept for retries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredSuccessor {
    pub sealed_pair: String,
    pub issued_at: i64,
}

/// Where a spend's conditions read the token's `jti` and session, the principal's employee and
/// number, and the lifetime cut-off: bound values, or the columns of a batch's input.
struct SpendableBy {
    jti: &'static str,
    session: &'static str,
    user_id: &'static str,
    phone: &'static str,
    started_before: &'static str,
}

/// One rotation's binds (`$2` is the time of the spend).
const BOUND: SpendableBy = SpendableBy {
    jti: "$1",
    session: "$3",
    user_id: "$4",
    phone: "$5",
    started_before: "$6",
};

/// A batch's [`RotationRow`]s.
const BATCHED: SpendableBy = SpendableBy {
    jti: "input.spent_jti",
    session: "input.session_id",
    user_id: "input.user_id",
    phone: "input.phone",
    started_before: "input.started_before",
};

/// The conditions under which a refresh token may be spent, shared by both dialects and by a
/// single rotation and a batch: unspent, unrevoked, its session unrevoked and within its
/// absolute lifetime, and the session's principal unchanged (an employee still active and
/// holding the number).
fn spendable(by: &SpendableBy) -> String {
    let SpendableBy {
        jti,
        session,
        user_id,
        phone,
        started_before,
    } = by;
    format!(
        "tokens.jti = {jti} and tokens.session_id = {session}
          and tokens.spent_at is null and tokens.revoked_at is null
          and exists (select 1 from sessions s
                      where s.id = tokens.session_id and s.revoked_at is null
                        and s.created_at > {started_before}
                        and s.user_id is not distinct from {user_id}
                        and (s.user_id is null
                             or exists (select 1 from users u
                                        where u.id = s.user_id and u.disabled_at is null
                                          and u.phone_number = {phone})))"
    )
}

impl Database {
    /// Spends the refresh token and stores its successor, atomically, when the token is
    /// spendable (see [`spendable`]); otherwise writes nothing and returns `false`. On Postgres
    /// the rotation joins the next group commit (`group_commit.rs`), and a concurrent rotation
    /// of the same token waits on the row lock of the first and then sees it spent.
    pub async fn rotate_refresh(&self, rotation: &Rotation<'_>) -> Result<bool> {
        match &self.rotations {
            Some(rotations) => rotations.submit(RotationRow::of(rotation)).await,
            None => self.rotate_in_a_transaction(rotation).await,
        }
    }

    /// SQLite (no data-modifying CTEs): the same writes in one transaction.
    async fn rotate_in_a_transaction(&self, rotation: &Rotation<'_>) -> Result<bool> {
        let mut tx = self.pool.begin().await?;
        let sql = format!(
            "update tokens set spent_at = $2 where {}",
            spendable(&BOUND)
        );
        let spent = bind_spendable(sqlx::query(&sql), rotation)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if spent != 1 {
            tx.rollback().await?;
            return Ok(false);
        }
        insert_pair(&mut tx, rotation.session_id, &rotation.successor).await?;
        sqlx::query(
            "insert into refresh_successors (spent_jti, sealed_pair, issued_at, available_until_ms)
             values ($1, $2, $3, $4)",
        )
        .bind(rotation.spent_jti)
        .bind(rotation.sealed_pair)
        .bind(rotation.now)
        .bind(rotation.available_until_ms)
        .execute(&mut *tx)
        .await?;
        // The session lives as long as its newest refresh token.
        sqlx::query(
            "update sessions
                set last_used_at = $2, expires_at = $3,
                    ip = coalesce($4, ip), user_agent = coalesce($5, user_agent)
             where id = $1",
        )
        .bind(rotation.session_id)
        .bind(rotation.now)
        .bind(rotation.successor.expires_at)
        .bind(rotation.ip)
        .bind(rotation.user_agent)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// The successor of spent refresh token `spent_jti`, while still available at `now_ms`.
    pub async fn refresh_successor(
        &self,
        spent_jti: &str,
        now_ms: i64,
    ) -> Result<Option<StoredSuccessor>> {
        let row = sqlx::query(
            "select sealed_pair, issued_at from refresh_successors
             where spent_jti = $1 and available_until_ms > $2",
        )
        .bind(spent_jti)
        .bind(now_ms)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| {
            Ok(StoredSuccessor {
                sealed_pair: row.try_get("sealed_pair")?,
                issued_at: row.try_get("issued_at")?,
            })
        })
        .transpose()
    }
}

/// Binds `$1`–`$6` of [`BOUND`] (and `$2`, the time of the spend).
fn bind_spendable<'q>(query: Query<'q>, rotation: &Rotation<'q>) -> Query<'q> {
    query
        .bind(rotation.spent_jti)
        .bind(rotation.now)
        .bind(rotation.session_id)
        .bind(rotation.user_id)
        .bind(rotation.phone_number)
        .bind(rotation.started_before)
}

/// A rotation's rows as the batch statement reads them (`json_to_recordset`).
#[derive(Debug, Serialize)]
pub(super) struct RotationRow {
    spent_jti: String,
    session_id: String,
    user_id: Option<String>,
    phone: String,
    started_before: i64,
    at: i64,
    jti: String,
    issued_at: i64,
    expires_at: i64,
    access_expires_at: i64,
    sealed_pair: String,
    available_until_ms: i64,
    ip: Option<String>,
    user_agent: Option<String>,
}

impl RotationRow {
    fn of(rotation: &Rotation<'_>) -> Self {
        let successor = &rotation.successor;
        Self {
            spent_jti: rotation.spent_jti.to_owned(),
            session_id: rotation.session_id.to_owned(),
            user_id: rotation.user_id.map(str::to_owned),
            phone: rotation.phone_number.to_owned(),
            started_before: rotation.started_before,
            at: rotation.now,
            jti: successor.refresh_jti.to_owned(),
            issued_at: successor.issued_at,
            expires_at: successor.expires_at,
            access_expires_at: successor.access_expires_at,
            sealed_pair: rotation.sealed_pair.to_owned(),
            available_until_ms: rotation.available_until_ms,
            ip: rotation.ip.map(str::to_owned),
            user_agent: rotation.user_agent.map(str::to_owned),
        }
    }
}

/// Per rotation whose token is spendable: the token spent, the successor's row, the sealed
/// successor kept for retries, and the session touched (it lives as long as its newest refresh
/// token). Every write hangs off `spent`, so a rotation whose token is not spendable writes
/// nothing. Returns the sessions of the rotations that spent their token. `$1` is the JSON
/// array of [`RotationRow`]s, `$2` their spent `jti`s separated by spaces: the planner takes
/// `json_to_recordset` for 100 rows and joined them to a scan of every session; the `jti` list
/// makes the tokens' primary key the way in, a handful of rows (docs/performance.md, "Group
/// commit", also for the plan a connection keeps from a table's first seconds).
static STORE_ROTATIONS: LazyLock<String> = LazyLock::new(|| {
    format!(
        "with input as (
            select * from json_to_recordset($1::json) as input (
                spent_jti text, session_id text, user_id text, phone text, started_before bigint,
                at bigint, jti text, issued_at bigint, expires_at bigint, access_expires_at bigint,
                sealed_pair text, available_until_ms bigint, ip text, user_agent text)
         ), spent as (
            update tokens set spent_at = input.at from input
             where tokens.jti = any(string_to_array($2, ' ')) and {}
            returning input.*
         ), issued as (
            insert into tokens (jti, session_id, issued_at, expires_at, access_expires_at)
            select jti, session_id, issued_at, expires_at, access_expires_at from spent
         ), kept as (
            insert into refresh_successors
                (spent_jti, sealed_pair, issued_at, available_until_ms)
            select spent_jti, sealed_pair, at, available_until_ms from spent
         ), touched as (
            update sessions
               set last_used_at = spent.at, expires_at = spent.expires_at,
                   ip = coalesce(spent.ip, sessions.ip),
                   user_agent = coalesce(spent.user_agent, sessions.user_agent)
              from spent
             where sessions.id = spent.session_id
         )
         select session_id from spent",
        spendable(&BATCHED)
    )
});

/// Refresh rotations, one per session in a batch: a session's rows are touched once per
/// statement, and its second rotation (a retry of the same token, say) waits for the next
/// batch, where it finds the token spent.
pub(super) struct Rotations;

impl Batch for Rotations {
    type Row = RotationRow;
    /// Whether the rotation spent its token.
    type Answer = bool;
    const WHAT: &'static str = "refresh rotations";
    const COLLECT: Duration = COLLECT_WRITES;

    fn key(row: &RotationRow) -> &str {
        &row.session_id
    }

    async fn run(pool: &AnyPool, rows: &[&RotationRow]) -> Result<HashMap<String, bool>> {
        let json = json_rows(rows)?;
        let spent_jtis: Vec<&str> = rows.iter().map(|row| row.spent_jti.as_str()).collect();
        let spent: Vec<String> = sqlx::query_scalar(&STORE_ROTATIONS)
            .bind(json)
            .bind(spent_jtis.join(" "))
            .fetch_all(pool)
            .await?;
        metrics::counter!("sesame_rotation_commits_total").increment(1);
        metrics::counter!("sesame_rotations_committed_total").increment(rows.len() as u64);
        Ok(spent.into_iter().map(|session| (session, true)).collect())
    }

    /// A rotation the statement did not return found its token not spendable.
    fn unanswered() -> Result<bool> {
        Ok(false)
    }
}
