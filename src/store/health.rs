//! Whether this node's stores answer, for readiness probes.

use std::sync::Arc;
use std::time::Duration;

use super::{Database, Ephemeral};

/// The stores a request may need, seen only through pings.
#[derive(Clone)]
pub struct Health {
    db: Database,
    ephemeral: Arc<dyn Ephemeral>,
}

impl Health {
    pub fn new(db: Database, ephemeral: Arc<dyn Ephemeral>) -> Self {
        Self { db, ephemeral }
    }

    /// Whether the database and the ephemeral store (Redis) each answer a ping within
    /// `timeout`: a probe must answer even when one hangs. Logs the first that does not.
    pub async fn ready(&self, timeout: Duration) -> bool {
        let readiness = self.check(timeout).await;
        readiness.database && readiness.ephemeral
    }

    /// Whether each store answers a ping within `timeout` (pinged together); each one that
    /// does not is logged.
    pub async fn check(&self, timeout: Duration) -> Readiness {
        let (database, ephemeral) = tokio::join!(
            tokio::time::timeout(timeout, self.db.ping()),
            tokio::time::timeout(timeout, self.ephemeral.ping()),
        );
        Readiness {
            database: answered("database", database),
            ephemeral: answered("redis", ephemeral),
        }
    }
}

/// Which stores answered a ping.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Readiness {
    pub database: bool,
    /// Redis, or the in-process store (which always answers).
    pub ephemeral: bool,
}

fn answered<E: std::fmt::Display>(
    name: &str,
    answer: Result<Result<(), E>, tokio::time::error::Elapsed>,
) -> bool {
    match answer {
        Ok(Ok(())) => true,
        Ok(Err(err)) => {
            tracing::warn!(dependency = name, error = %err, "not ready");
            false
        }
        Err(_) => {
            tracing::warn!(dependency = name, "not ready: no answer in time");
            false
        }
    }
}
