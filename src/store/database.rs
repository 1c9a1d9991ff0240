use std::path::Path;
use std::time::Duration;

use sqlx::any::AnyPoolOptions;
use sqlx::migrate::Migrator;
use sqlx::{Any, AnyPool, Connection, Executor};

use super::access_state_batch::AccessStates;
use super::group_commit::GroupCommit;
use super::login_batch::Logins;
use super::rotation::Rotations;
use super::{Result, StoreError};
use crate::config::DatabaseUrl;

static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("migrations/postgres");
static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("migrations/sqlite");

/// How long a pooled connection may sit unused before it is pinged ahead of its next query.
const IDLE_BEFORE_PING: Duration = Duration::from_secs(10);

/// How long a request waits for a Postgres connection. sqlx keeps retrying a refused connection
/// until this deadline, so it is how long a request takes to fail while Postgres is down; a
/// node whose pool is busy this long is overloaded, and answering `503` sheds the load.
const POSTGRES_ACQUIRE_TIMEOUT: Duration = Duration::from_millis(750);

/// How long a starting node waits for its first Postgres connection. A Postgres that is
/// itself starting, failing over or on a loaded host can take longer than a request's
/// [`POSTGRES_ACQUIRE_TIMEOUT`] to answer, and a node that gave up then would only be
/// restarted (or fail its deploy).
const POSTGRES_STARTUP_WAIT: Duration = Duration::from_secs(5);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Postgres,
    Sqlite,
}

/// The durable store. One set of queries serves both backends: ids are text, times are Unix
/// seconds passed in by the caller, and the SQL keeps to what Postgres and SQLite share.
#[derive(Clone)]
pub struct Database {
    pub(super) pool: AnyPool,
    backend: Backend,
    /// Postgres only: logins are stored in batches (`group_commit.rs`, `login_batch.rs`).
    pub(super) logins: Option<GroupCommit<Logins>>,
    /// Postgres only: refresh rotations are stored in batches (`rotation.rs`).
    pub(super) rotations: Option<GroupCommit<Rotations>>,
    /// Postgres only: access tokens' state is read in batches (`access_state_batch.rs`).
    pub(super) access_states: Option<GroupCommit<AccessStates>>,
}

impl Database {
    /// Connects to `url`, creating the SQLite file and its folder on first start.
    pub async fn connect(url: &DatabaseUrl, max_connections: u32) -> Result<Self> {
        sqlx::any::install_default_drivers();
        // sqlx pings every connection on release already; a second ping on acquire would add a
        // round trip to every query. Only a connection that sat idle long enough for Postgres,
        // a proxy or a firewall to have dropped it is checked before use.
        let options = AnyPoolOptions::new()
            .acquire_timeout(Duration::from_secs(5))
            .test_before_acquire(false)
            .before_acquire(|connection, meta| {
                Box::pin(async move {
                    if meta.idle_for >= IDLE_BEFORE_PING {
                        connection.ping().await?;
                    }
                    Ok(true)
                })
            });
        let (pool, backend) = match url {
            DatabaseUrl::Postgres(url) => {
                let pool = options
                    .max_connections(max_connections)
                    .acquire_timeout(POSTGRES_ACQUIRE_TIMEOUT)
                    .connect_lazy(url.expose())?;
                first_connection(&pool).await?;
                (pool, Backend::Postgres)
            }
            DatabaseUrl::Sqlite(path) => {
                create_parent_folder(path)?;
                let url = format!("sqlite://{}?mode=rwc", path.display());
                // One connection: SQLite has one writer anyway, and a single connection never
                // meets SQLITE_BUSY. Never hold a transaction while acquiring a second
                // connection, or the pool waits on itself.
                let pool = options
                    .max_connections(1)
                    .after_connect(|connection, _| {
                        Box::pin(async move {
                            connection
                                .execute(
                                    "pragma journal_mode = wal; pragma synchronous = normal; \
                                     pragma foreign_keys = on; pragma busy_timeout = 5000;",
                                )
                                .await?;
                            Ok(())
                        })
                    })
                    .connect(&url)
                    .await?;
                (pool, Backend::Sqlite)
            }
        };
        let postgres = backend == Backend::Postgres;
        let logins = postgres.then(|| GroupCommit::start(&pool));
        let rotations = postgres.then(|| GroupCommit::start(&pool));
        let access_states = postgres.then(|| GroupCommit::start(&pool));
        Ok(Self {
            pool,
            backend,
            logins,
            rotations,
            access_states,
        })
    }

    /// Connects and applies pending migrations: what every entry point does first.
    pub async fn open(url: &DatabaseUrl, max_connections: u32) -> Result<Self> {
        let db = Self::connect(url, max_connections).await?;
        db.migrate().await?;
        Ok(db)
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Applies the migrations of this backend's dialect that have not run yet.
    pub async fn migrate(&self) -> Result<()> {
        let migrator = match self.backend {
            Backend::Postgres => &POSTGRES_MIGRATIONS,
            Backend::Sqlite => &SQLITE_MIGRATIONS,
        };
        migrator.run(&self.pool).await?;
        Ok(())
    }

    /// Whether the schema exists (a database nobody migrated yet has no tables to check).
    pub async fn has_schema(&self) -> bool {
        sqlx::query("select 1 from users where 1 = 0")
            .fetch_optional(&self.pool)
            .await
            .is_ok()
    }

    /// Starts a [`Tx`].
    pub async fn begin(&self) -> Result<Tx> {
        Ok(Tx(self.pool.begin().await?))
    }

    pub async fn ping(&self) -> Result<()> {
        sqlx::query("select 1").execute(&self.pool).await?;
        Ok(())
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// Several writes that commit together or not at all: a service's change and the audit events
/// that record it. Dropped without [`Tx::commit`], it rolls back. On SQLite it holds the one
/// connection: use nothing but the `Tx` until it is committed or dropped.
pub struct Tx(pub(super) sqlx::Transaction<'static, Any>);

impl Tx {
    pub async fn commit(self) -> Result<()> {
        self.0.commit().await?;
        Ok(())
    }
}

/// Waits up to [`POSTGRES_STARTUP_WAIT`] for `pool`'s first connection. Each try waits as a
/// request does (the pool retries a refused connection within it); any other error (a wrong
/// password, no such database) ends the wait at once.
async fn first_connection(pool: &AnyPool) -> Result<()> {
    let deadline = tokio::time::Instant::now() + POSTGRES_STARTUP_WAIT;
    loop {
        match pool.acquire().await {
            Ok(_) => return Ok(()),
            Err(sqlx::Error::PoolTimedOut) if tokio::time::Instant::now() < deadline => {}
            Err(err) => return Err(err.into()),
        }
    }
}

fn create_parent_folder(path: &Path) -> Result<()> {
    if path.as_os_str().is_empty() || path == Path::new(":memory:") {
        return Ok(());
    }
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|err| {
            StoreError::Unavailable(format!("cannot create {}: {err}", parent.display()))
        })?;
    }
    Ok(())
}
