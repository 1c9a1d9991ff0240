//! The sweeper: deletes rows of tokens expired longer than `SESAME_TOKEN_RETENTION`, and
//! stored successor pairs whose retry window has passed. Run periodically by the app's
//! background tasks.

use crate::store::{Database, Result};

/// Rows per delete: each statement stays short, so requests (on SQLite's single connection)
/// wait at most one small batch.
const BATCH: i64 = 500;

/// One sweep at `now`; returns how many token rows went.
pub async fn sweep(db: &Database, retention: i64, now: i64) -> Result<u64> {
    db.sweep_refresh_successors(now.saturating_mul(1_000))
        .await?;
    let mut deleted = 0;
    loop {
        let batch = db.sweep_expired_tokens(now - retention, BATCH).await?;
        deleted += batch;
        if batch < BATCH as u64 {
            return Ok(deleted);
        }
        tokio::task::yield_now().await;
    }
}
