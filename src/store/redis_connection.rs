//! The connection to Redis: one server, or the nodes of a Redis Cluster. `SESAME_REDIS_URL`
//! holding a comma-separated list of `redis://` URLs (seed nodes; the rest of the cluster is
//! discovered from them) selects the cluster client; a single URL the single-server one.

use std::time::Duration;

use redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig};
use redis::cluster::ClusterClient;
use redis::cluster_async::ClusterConnection;
use redis::{Cmd, Pipeline, RedisFuture, Value};

use super::Result;
use crate::config::SecretUrl;

/// Either client, cloned per request like the clients themselves.
#[derive(Clone)]
pub enum RedisConnection {
    Single(ConnectionManager),
    Cluster(ClusterConnection),
}

/// How long one connection attempt, and one command, may take.
const REDIS_TIMEOUT: Duration = Duration::from_millis(500);
/// Retries of a cluster command (redirections, a refused node), within `REDIS_TIMEOUT`, and
/// the shortest and longest wait before one, in milliseconds.
const CLUSTER_RETRIES: u32 = 8;
const CLUSTER_RETRY_WAIT_MS: (u64, u64) = (10, 100);

impl RedisConnection {
    pub async fn open(url: &SecretUrl) -> Result<Self> {
        let nodes = url.list();
        Ok(match nodes.as_slice() {
            [single] => Self::Single(
                ConnectionManager::new_with_config(redis::Client::open(*single)?, single_config())
                    .await?,
            ),
            // A command to a failed master is refused, and its retry rereads the slot map:
            // after the failover that finds the promoted replica. Retries wait milliseconds,
            // not the client's default of seconds, so that this happens within the
            // command's timeout and the first request after a failover succeeds.
            _ => Self::Cluster(
                ClusterClient::builder(nodes)
                    .connection_timeout(REDIS_TIMEOUT)
                    .response_timeout(REDIS_TIMEOUT)
                    .retries(CLUSTER_RETRIES)
                    .min_retry_wait(CLUSTER_RETRY_WAIT_MS.0)
                    .max_retry_wait(CLUSTER_RETRY_WAIT_MS.1)
                    .build()?
                    .get_async_connection()
                    .await?,
            ),
        })
    }
}

/// A request that needs Redis fails within a second while it is down, and the first request
/// after it is back reconnects: one connection attempt per reconnection, no retries with
/// backoff for requests to wait behind, and no command waits on a dead socket.
fn single_config() -> ConnectionManagerConfig {
    ConnectionManagerConfig::new()
        .set_number_of_retries(0)
        .set_connection_timeout(REDIS_TIMEOUT)
        .set_response_timeout(REDIS_TIMEOUT)
}

impl ConnectionLike for RedisConnection {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Self::Single(connection) => connection.req_packed_command(cmd),
            Self::Cluster(connection) => connection.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Self::Single(connection) => connection.req_packed_commands(pipeline, offset, count),
            Self::Cluster(connection) => connection.req_packed_commands(pipeline, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Self::Single(connection) => connection.get_db(),
            Self::Cluster(connection) => connection.get_db(),
        }
    }
}
