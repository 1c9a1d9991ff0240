use serde::{Deserialize, Serialize};
use sqlx::Row;
use sqlx::any::AnyRow;

use super::audit::next_event_id_on_sqlite;
use super::{Backend, Database, Result};

/// What to revoke: one token, one session (every token issued in it), or every session of an
/// identity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RevokeTarget<'a> {
    Token(&'a str),
    Session(&'a str),
    Identity(&'a str),
}

impl RevokeTarget<'_> {
    pub fn scope(self) -> &'static str {
        match self {
            Self::Token(_) => "token",
            Self::Session(_) => "session",
            Self::Identity(_) => "identity",
        }
    }

    pub fn id(&self) -> &str {
        match self {
            Self::Token(id) | Self::Session(id) | Self::Identity(id) => id,
        }
    }
}

/// A position in the revocation feed: items are ordered by `(revoked_at, source, id)`, with
/// `source` `s` (session) or `t` (token), so equal timestamps still have a total order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeedPosition {
    pub revoked_at: i64,
    pub source: String,
    pub id: String,
}

impl FeedPosition {
    /// Before every item.
    pub fn start() -> Self {
        Self {
            revoked_at: -1,
            source: String::new(),
            id: String::new(),
        }
    }
}

/// One revoked session (`jti` is `None`) or revoked token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedItem {
    pub position: FeedPosition,
    pub sid: String,
    pub jti: Option<String>,
    pub revoked_at: i64,
    pub expires_at: i64,
}

/// A session as admins see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord {
    pub id: String,
    pub created_at: i64,
    pub last_used_at: i64,
    pub expires_at: i64,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub revoked_at: Option<i64>,
    pub revoked_reason: Option<String>,
}

impl Database {
    /// Revokes token `jti` at `now`, keeping the first revocation time: a refresh token in its
    /// row; an access token (whose pair's refresh token is `pair_refresh_jti`) by a deny row
    /// carrying its session and expiry. `None` when neither token exists; otherwise how many
    /// tokens were newly revoked (0 when it already was).
    pub async fn revoke_token(
        &self,
        jti: &str,
        pair_refresh_jti: &str,
        now: i64,
    ) -> Result<Option<u64>> {
        let refresh =
            sqlx::query("update tokens set revoked_at = $2 where jti = $1 and revoked_at is null")
                .bind(jti)
                .bind(now)
                .execute(&self.pool)
                .await?
                .rows_affected();
        let access = sqlx::query(
            "insert into revoked_access_tokens (jti, session_id, revoked_at, expires_at)
             select $1, session_id, $3, access_expires_at from tokens where jti = $2
             on conflict (jti) do nothing",
        )
        .bind(jti)
        .bind(pair_refresh_jti)
        .bind(now)
        .execute(&self.pool)
        .await?
        .rows_affected();
        self.newly_or_found(
            refresh + access,
            "select 1 as found from tokens where jti in ($1, $2)",
            &[jti, pair_refresh_jti],
        )
        .await
    }

    /// Revokes session `sid` at `now` for `reason`, keeping the first revocation time. `None`
    /// when the session does not exist; otherwise 1, or 0 when it already was revoked.
    pub async fn revoke_session(&self, sid: &str, reason: &str, now: i64) -> Result<Option<u64>> {
        let exists = "select 1 as found from sessions where id = $1";
        self.revoke_sessions_where("id = $1", exists, sid, reason, now)
            .await
    }

    /// Revokes live session `sid` at its holder's request, at `now` for `reason` (one of the
    /// two that `audit.rs`'s `SESSION_EVENTS` spells out), keeping the `session.revoked` event
    /// on the session row with `ip` (migration 0010). `false` when the session was already
    /// revoked or does not exist: nothing changed and no event was kept.
    pub async fn revoke_own_session(
        &self,
        sid: &str,
        reason: &'static str,
        ip: Option<&str>,
        now: i64,
    ) -> Result<bool> {
        let revoke = "update sessions
            set revoked_at = $2, revoked_reason = $3, revoked_audit_ip = $4, revoked_audit_id = ";
        let live = "where id = $1 and revoked_at is null";
        let statement = |event_id: &str| format!("{revoke}{event_id} {live}");
        let revoked = match self.backend() {
            Backend::Postgres => sqlx::query(&statement("nextval('audit_events_id_seq')"))
                .bind(sid)
                .bind(now)
                .bind(reason)
                .bind(ip)
                .execute(&self.pool)
                .await?
                .rows_affected(),
            Backend::Sqlite => {
                let mut tx = self.pool.begin().await?;
                let event_id = next_event_id_on_sqlite(&mut tx).await?;
                let revoked = sqlx::query(&statement("$5"))
                    .bind(sid)
                    .bind(now)
                    .bind(reason)
                    .bind(ip)
                    .bind(event_id)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                // Nothing revoked: the rollback (on drop) gives the id back.
                if revoked > 0 {
                    tx.commit().await?;
                }
                revoked
            }
        };
        Ok(revoked > 0)
    }

    /// Revokes every live session of identity `sub` at `now` for `reason`. `None` when the
    /// identity does not exist; otherwise how many sessions were newly revoked.
    pub async fn revoke_identity(&self, sub: &str, reason: &str, now: i64) -> Result<Option<u64>> {
        let exists = "select 1 as found from user_auth where id = $1";
        self.revoke_sessions_where("user_auth_id = $1", exists, sub, reason, now)
            .await
    }

    /// Revokes the live sessions matching `filter` (`$1` is `id`); `exists` finds the target.
    async fn revoke_sessions_where(
        &self,
        filter: &str,
        exists: &str,
        id: &str,
        reason: &str,
        now: i64,
    ) -> Result<Option<u64>> {
        let sql = format!(
            "update sessions set revoked_at = $2, revoked_reason = $3
             where {filter} and revoked_at is null"
        );
        let newly = sqlx::query(&sql)
            .bind(id)
            .bind(now)
            .bind(reason)
            .execute(&self.pool)
            .await?
            .rows_affected();
        self.newly_or_found(newly, exists, &[id]).await
    }

    /// `Some(newly)` when something was revoked; otherwise whether the target exists
    /// (`exists` selects a row for it).
    async fn newly_or_found(&self, newly: u64, exists: &str, ids: &[&str]) -> Result<Option<u64>> {
        if newly > 0 {
            return Ok(Some(newly));
        }
        let found = ids
            .iter()
            .fold(sqlx::query(exists), |query, id| query.bind(*id))
            .fetch_optional(&self.pool)
            .await?;
        Ok(found.map(|_| 0))
    }

    /// Revoked sessions and tokens that have not expired at `now`, revoked at or before
    /// `until`, after `after`, oldest first.
    pub async fn revocation_feed(
        &self,
        after: &FeedPosition,
        until: i64,
        now: i64,
        limit: i64,
    ) -> Result<Vec<FeedItem>> {
        let rows = sqlx::query(
            "select source, item_id, sid, jti, revoked_at, expires_at from (
                 select 's' as source, id as item_id, id as sid, null as jti, revoked_at, expires_at
                 from sessions where revoked_at is not null
                 union all
                 select 't' as source, jti as item_id, session_id as sid, jti, revoked_at, expires_at
                 from tokens where revoked_at is not null
                 union all
                 select 't' as source, jti as item_id, session_id as sid, jti, revoked_at, expires_at
                 from revoked_access_tokens
             ) feed
             where revoked_at <= $1 and expires_at > $2
               and (revoked_at, source, item_id) > ($3, $4, $5)
             order by revoked_at, source, item_id
             limit $6",
        )
        .bind(until)
        .bind(now)
        .bind(after.revoked_at)
        .bind(&after.source)
        .bind(&after.id)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(feed_item_from_row).collect()
    }

    /// The sessions of identity `identity_id`, newest first, after `after` (`created_at`, id).
    pub async fn identity_sessions(
        &self,
        identity_id: &str,
        after: Option<&(i64, String)>,
        limit: i64,
    ) -> Result<Vec<SessionRecord>> {
        let start = (i64::MAX, String::new());
        let (created_at, id) = after.unwrap_or(&start);
        let rows = sqlx::query(
            "select id, created_at, last_used_at, expires_at, ip, user_agent, revoked_at,
                    revoked_reason
             from sessions
             where user_auth_id = $1 and (created_at < $2 or (created_at = $2 and id < $3))
             order by created_at desc, id desc
             limit $4",
        )
        .bind(identity_id)
        .bind(created_at)
        .bind(id)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(session_from_row).collect()
    }

    /// Session `sid` when it belongs to identity `identity_id`.
    pub async fn identity_session(
        &self,
        identity_id: &str,
        sid: &str,
    ) -> Result<Option<SessionRecord>> {
        let row = sqlx::query(
            "select id, created_at, last_used_at, expires_at, ip, user_agent, revoked_at,
                    revoked_reason
             from sessions where id = $1 and user_auth_id = $2",
        )
        .bind(sid)
        .bind(identity_id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(session_from_row).transpose()
    }

    pub async fn identity_exists(&self, identity_id: &str) -> Result<bool> {
        let found = sqlx::query("select 1 as found from user_auth where id = $1")
            .bind(identity_id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(found.is_some())
    }
}

fn session_from_row(row: &AnyRow) -> Result<SessionRecord> {
    Ok(SessionRecord {
        id: row.try_get("id")?,
        created_at: row.try_get("created_at")?,
        last_used_at: row.try_get("last_used_at")?,
        expires_at: row.try_get("expires_at")?,
        ip: row.try_get("ip")?,
        user_agent: row.try_get("user_agent")?,
        revoked_at: row.try_get("revoked_at")?,
        revoked_reason: row.try_get("revoked_reason")?,
    })
}

fn feed_item_from_row(row: &AnyRow) -> Result<FeedItem> {
    let revoked_at = row.try_get("revoked_at")?;
    Ok(FeedItem {
        position: FeedPosition {
            revoked_at,
            source: row.try_get("source")?,
            id: row.try_get("item_id")?,
        },
        sid: row.try_get("sid")?,
        jti: row.try_get("jti")?,
        revoked_at,
        expires_at: row.try_get("expires_at")?,
    })
}
