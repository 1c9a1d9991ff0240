//! Batched reads of access tokens' state on Postgres (`group_commit.rs`). Every introspection
//! and `/v1/me` reads its token's state; alone, that one-row read costs Postgres mostly the
//! statement's set-up, paid once per batch here. Each request still reads after it arrived, so
//! a revocation committed before it is seen, as with a statement of its own.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::{AnyPool, Row};

use super::Result;
use super::group_commit::{Batch, json_rows};
use super::sessions::AccessTokenState;

/// One lookup as the batch statement reads it (`json_to_recordset`).
#[derive(Debug, Serialize)]
pub(super) struct AccessStateRow {
    /// This lookup's own number: two requests with the same token are two lookups.
    ask: String,
    sid: String,
    jti: String,
    /// The `jti` of the pair's refresh token, whose row vouches for the access token.
    pair: String,
}

impl AccessStateRow {
    pub(super) fn new(sid: &str, jti: &str, pair: &str) -> Self {
        static NEXT_ASK: AtomicU64 = AtomicU64::new(0);
        Self {
            ask: NEXT_ASK.fetch_add(1, Ordering::Relaxed).to_string(),
            sid: sid.to_owned(),
            jti: jti.to_owned(),
            pair: pair.to_owned(),
        }
    }
}

/// The read of one token's state, by its own statement: the pair's row in its session, the
/// session's state, the deny row. SQLite reads this way; so does a batch of one, for which it
/// costs Postgres less than the batch statement.
const READ_ONE: &str = "
    select s.revoked_at as session_revoked_at, s.created_at as session_created_at,
        (select revoked_at from revoked_access_tokens where jti = $2) as revoked_at
    from tokens t join sessions s on s.id = t.session_id
    where t.jti = $3 and t.session_id = $1";

/// [`READ_ONE`] for every lookup of a batch. The pairs' `jti`s also come as a list (`$2`)
/// so that `tokens_pkey` is the way in whatever the planner guesses of the JSON's rows (it
/// takes `json_to_recordset` for 100; docs/performance.md, "Group commit", on the rotations'
/// statement). The list is read by a subquery, which the planner cannot count: given a count,
/// it planned the statement afresh for every batch, since each such plan looked cheaper than a
/// generic one, and at a batch of one or two that planning cost Postgres four times the read.
const READ_BATCH: &str = "
    select input.ask, s.revoked_at as session_revoked_at, s.created_at as session_created_at,
        (select revoked_at from revoked_access_tokens r where r.jti = input.jti) as revoked_at
    from json_to_recordset($1::json) as input (ask text, sid text, jti text, pair text)
    join tokens t on t.jti = input.pair and t.session_id = input.sid
    join sessions s on s.id = t.session_id
    where t.jti = any(array(select unnest(string_to_array($2, ' '))))";

/// The state of access token `jti` of session `sid` whose pair's refresh token is `pair`, read
/// by [`READ_ONE`]; `None` when there is no such pair in that session.
pub(super) async fn read_one(
    pool: &AnyPool,
    sid: &str,
    jti: &str,
    pair: &str,
) -> Result<Option<AccessTokenState>> {
    let row = sqlx::query(READ_ONE)
        .bind(sid)
        .bind(jti)
        .bind(pair)
        .fetch_optional(pool)
        .await?;
    row.as_ref().map(state_of).transpose()
}

fn state_of(row: &AnyRow) -> Result<AccessTokenState> {
    Ok(AccessTokenState {
        revoked_at: row.try_get("revoked_at")?,
        session_revoked_at: row.try_get("session_revoked_at")?,
        session_created_at: row.try_get("session_created_at")?,
    })
}

/// Reads of access tokens' state. A read takes no lock, so a batch need not wait for more:
/// whatever queued while the last batch was read is the next batch.
pub(super) struct AccessStates;

impl Batch for AccessStates {
    type Row = AccessStateRow;
    /// `None`: no such pair in that session.
    type Answer = Option<AccessTokenState>;
    const WHAT: &'static str = "access-token reads";
    const COLLECT: Duration = Duration::ZERO;

    fn key(row: &AccessStateRow) -> &str {
        &row.ask
    }

    async fn run(
        pool: &AnyPool,
        rows: &[&AccessStateRow],
    ) -> Result<HashMap<String, Option<AccessTokenState>>> {
        metrics::counter!("sesame_access_state_reads_total").increment(1);
        metrics::counter!("sesame_access_states_read_total").increment(rows.len() as u64);
        if let [one] = rows {
            let state = read_one(pool, &one.sid, &one.jti, &one.pair).await?;
            return Ok(HashMap::from([(one.ask.clone(), state)]));
        }
        let json = json_rows(rows)?;
        let pairs = rows
            .iter()
            .map(|row| row.pair.as_str())
            .collect::<Vec<_>>()
            .join(" ");
        let found = sqlx::query(READ_BATCH)
            .bind(json)
            .bind(pairs)
            .fetch_all(pool)
            .await?;
        found
            .iter()
            .map(|row| Ok((row.try_get("ask")?, Some(state_of(row)?))))
            .collect()
    }

    /// The statement returns no row for a pair it did not find.
    fn unanswered() -> Result<Option<AccessTokenState>> {
        Ok(None)
    }
}
