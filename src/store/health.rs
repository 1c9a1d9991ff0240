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
        let database = tokio::time::timeout(timeout, self.db.ping()).await;
        let ephemeral = tokio::time::timeout(timeout, self.ephemeral.ping()).await;
        for (name, answer) in [("database", database), ("redis", ephemeral)] {
            match answer {
                Ok(Ok(())) => {}
                Ok(Err(err)) => {
                    tracing::warn!(dependency = name, error = %err, "not ready");
                    return false;
                }
                Err(_) => {
                    tracing::warn!(dependency = name, "not ready: no answer in time");
                    return false;
                }
            }
        }
        true
    }
}
