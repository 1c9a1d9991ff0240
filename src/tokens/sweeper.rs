//! The sweeper: deletes rows of tokens expired longer than `SESAME_TOKEN_RETENTION`, and
//! stored successor pairs whose retry window has passed.

use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::store::{Database, Result};

/// Rows per delete: each statement stays short, so requests (on SQLite's single connection)
/// wait at most one small batch.
const BATCH: i64 = 500;

/// Sweeps every `interval` until `stop` changes or its sender is dropped.
pub fn spawn_sweeper(
    db: Database,
    retention: i64,
    interval: Duration,
    mut stop: watch::Receiver<bool>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(interval);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = ticks.tick() => {}
                _ = stop.changed() => break,
            }
            match sweep(&db, retention, crate::unix_now(), &stop).await {
                Ok(0) => {}
                Ok(deleted) => tracing::debug!(deleted, "swept expired token rows"),
                Err(err) => tracing::warn!(error = %err, "token sweep failed"),
            }
        }
    })
}

async fn sweep(
    db: &Database,
    retention: i64,
    now: i64,
    stop: &watch::Receiver<bool>,
) -> Result<u64> {
    db.sweep_refresh_successors(now).await?;
    let mut deleted = 0;
    loop {
        let batch = db.sweep_expired_tokens(now - retention, BATCH).await?;
        deleted += batch;
        if batch < BATCH as u64 || *stop.borrow() {
            return Ok(deleted);
        }
        tokio::task::yield_now().await;
    }
}
