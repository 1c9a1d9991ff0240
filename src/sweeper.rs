//! The sweeper: how long Sesame keeps what a login leaves behind. Run periodically by the
//! app's background tasks. Every delete goes in small batches, so requests (on SQLite's single
//! connection) wait at most one batch.
//!
//! - token rows (refresh tokens, and deny rows of access tokens revoked on their own):
//!   `SESAME_TOKEN_RETENTION` after they expire (a refresh token's row, after the access token
//!   issued with it expires too);
//! - stored successor pairs: once their retry window has passed;
//! - sessions (with their tokens): `SESAME_SESSION_RETENTION` after they ended — from the
//!   revocation for a revoked session, otherwise from the end of its maximum age
//!   (`SESAME_SESSION_MAX_AGE`), the latest moment any session can end. A session that lapsed
//!   unused earlier is swept at that later moment: the rule reads only columns that are written
//!   once (`created_at`, `revoked_at`), so refreshes never update an index for it;
//! - audit events: `SESAME_AUDIT_RETENTION` after they happened (`0` keeps them for good). A
//!   login's event is kept on its session; sweeping the session moves the event to the other
//!   events unless it is already past this retention (the audit log stops listing an event on
//!   a session once it is).

use crate::config::Config;
use crate::store::{Database, Result};

/// Rows per delete.
const BATCH: i64 = 500;

/// Seconds each kind of row is kept; see the module's documentation.
#[derive(Debug, Clone, Copy)]
pub struct Retention {
    pub tokens: i64,
    pub sessions: i64,
    pub session_max_age: i64,
    /// `None`: audit events are kept for good.
    pub audit: Option<i64>,
}

impl Retention {
    pub fn of(config: &Config) -> Self {
        Self {
            tokens: config.token_retention,
            sessions: config.session_retention,
            session_max_age: config.session_max_age,
            audit: (config.audit_retention > 0).then_some(config.audit_retention),
        }
    }
}

/// How many rows one sweep deleted.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Swept {
    pub tokens: u64,
    pub sessions: u64,
    pub audit_events: u64,
}

/// One sweep at `now` (seconds).
pub async fn sweep(db: &Database, retention: Retention, now: i64) -> Result<Swept> {
    db.sweep_refresh_successors(now.saturating_mul(1_000))
        .await?;
    let expired_before = now - retention.tokens;
    let tokens = in_batches(|| db.sweep_expired_tokens(expired_before, BATCH)).await?
        + in_batches(|| db.sweep_revoked_access_tokens(expired_before, BATCH)).await?;
    let ended_before = now - retention.sessions;
    let events_kept_since = retention.audit.map(|audit| now - audit);
    let sessions = in_batches(|| db.sweep_revoked_sessions(ended_before, events_kept_since, BATCH))
        .await?
        + in_batches(|| {
            db.sweep_sessions_created_before(
                ended_before - retention.session_max_age,
                events_kept_since,
                BATCH,
            )
        })
        .await?;
    let audit_events = match events_kept_since {
        Some(before) => in_batches(|| db.sweep_audit_events(before, BATCH)).await?,
        None => 0,
    };
    Ok(Swept {
        tokens,
        sessions,
        audit_events,
    })
}

/// Runs `delete` until a batch comes back short; returns the rows deleted in all.
async fn in_batches<F, Fut>(mut delete: F) -> Result<u64>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<u64>>,
{
    let mut deleted = 0;
    loop {
        let batch = delete().await?;
        deleted += batch;
        if batch < BATCH as u64 {
            return Ok(deleted);
        }
        tokio::task::yield_now().await;
    }
}
