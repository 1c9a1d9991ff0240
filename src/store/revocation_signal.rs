//! Wake-ups for revocation streams. On Postgres, the migration's triggers notify channel
//! `sesame_revocations` when any node commits a revocation, and one LISTEN connection per node
//! (opened with the node's first stream) relays it to that node's streams. On SQLite there is
//! one node and nothing to listen to: its streams re-read the feed every second instead.

use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::PgListener;
use tokio::sync::{OnceCell, broadcast};

use super::Result;
use crate::config::{DatabaseUrl, SecretUrl};

const CHANNEL: &str = "sesame_revocations";

#[derive(Clone)]
pub struct RevocationSignal {
    /// The database to listen to; `None` on SQLite.
    postgres: Option<SecretUrl>,
    wake: Arc<OnceCell<broadcast::Sender<()>>>,
}

impl RevocationSignal {
    pub fn new(url: &DatabaseUrl) -> Self {
        Self {
            postgres: match url {
                DatabaseUrl::Postgres(url) => Some(url.clone()),
                DatabaseUrl::Sqlite(_) => None,
            },
            wake: Arc::default(),
        }
    }

    /// A receiver woken after each committed revocation, from any node; `None` on SQLite.
    pub async fn subscribe(&self) -> Result<Option<broadcast::Receiver<()>>> {
        let Some(url) = &self.postgres else {
            return Ok(None);
        };
        let wake = self.wake.get_or_try_init(|| listen(url)).await?;
        Ok(Some(wake.subscribe()))
    }
}

async fn listen(url: &SecretUrl) -> Result<broadcast::Sender<()>> {
    let mut listener = PgListener::connect(url.expose()).await?;
    listener.listen(CHANNEL).await?;
    let (wake, _) = broadcast::channel(16);
    let relay = wake.clone();
    tokio::spawn(async move {
        loop {
            // A lost connection is reopened by the next `recv`; while it is down, streams
            // still re-read the feed on their own fallback tick.
            match listener.recv().await {
                Ok(_) => {
                    let _ = relay.send(());
                }
                Err(err) => {
                    tracing::warn!(error = %err, "revocation notifications interrupted");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
    });
    Ok(wake)
}
