//! The connection to Redis: one server, or the nodes of a Redis Cluster. `SESAME_REDIS_URL`
//! holding a comma-separated list of `redis://` URLs (seed nodes; the rest of the cluster is
//! discovered from them) selects the cluster client; a single URL the single-server one.

use redis::aio::{ConnectionLike, ConnectionManager};
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

impl RedisConnection {
    pub async fn open(url: &SecretUrl) -> Result<Self> {
        let nodes: Vec<&str> = url.expose().split(',').map(str::trim).collect();
        Ok(match nodes.as_slice() {
            [single] => Self::Single(ConnectionManager::new(redis::Client::open(*single)?).await?),
            _ => Self::Cluster(ClusterClient::new(nodes)?.get_async_connection().await?),
        })
    }
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
