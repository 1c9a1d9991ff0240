//! Storage. Two kinds, each with a production and an embedded backend:
//! - [`Database`]: durable rows (employees, identities, sessions, tokens, audit, API keys,
//!   console sessions, send tallies) on Postgres or a SQLite file, through one set of queries
//!   over sqlx's `Any` driver;
//! - [`Ephemeral`]: short-lived, atomically updated state (login challenges, counters) in Redis
//!   or in process memory.
//!
//! Stores know nothing of HTTP or JWTs: they answer questions about rows and keys.

mod access_state_batch;
mod activity;
mod api_keys;
mod audit;
mod console_sessions;
mod database;
mod employees;
mod ephemeral;
mod group_commit;
mod health;
mod holders;
mod identities;
mod import;
mod login_batch;
mod memory;
mod memory_limits;
mod redis;
mod redis_connection;
mod redis_limits;
mod retention;
mod revocation_signal;
mod revocations;
mod rotation;
mod sessions;

pub use activity::SendCount;
pub use api_keys::{ApiKey, ApiKeyRole};
pub use audit::{AuditEvent, AuditQuery, AuditRecord};
pub use console_sessions::ConsoleSession;
pub use database::{Backend, Database, Tx};
pub use employees::{Employee, EmployeeQuery, EmployeeUpsert, Upserted};
pub use ephemeral::{
    Admission, AdmitFirst, ChallengeCheck, CodeAttempt, CodeCheck, Ephemeral, Lockout,
    NewChallenge, OnSuccess, Window, WindowGroup, WindowKind,
};
pub use health::{Health, Readiness};
pub use holders::EndedSession;
pub use identities::{Identity, Principal};
pub use import::{ImportApplied, ImportBatch, ImportCounts, ImportOutcome, ImportPlan};
pub use memory::MemoryEphemeral;
pub use redis::RedisEphemeral;
pub use revocation_signal::RevocationSignal;
pub use revocations::{FeedItem, FeedPosition, RevokeTarget, SessionRecord};
pub use rotation::{Rotation, StoredSuccessor};
pub use sessions::{AccessTokenState, NewLogin, NewPair, TokenState};

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// A query being bound, on either backend.
type Query<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A uniqueness rule was broken (an active employee already has this number, …).
    #[error("conflict with an existing row")]
    Conflict,
    /// The database or Redis did not answer: the request may succeed later.
    #[error("storage unavailable: {0}")]
    Unavailable(String),
    #[error("database error: {0}")]
    Database(sqlx::Error),
    #[error("redis error: {0}")]
    Redis(::redis::RedisError),
    #[error("migration failed: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
}

impl From<sqlx::Error> for StoreError {
    fn from(err: sqlx::Error) -> Self {
        match &err {
            sqlx::Error::Database(db) if db.kind() == sqlx::error::ErrorKind::UniqueViolation => {
                Self::Conflict
            }
            sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::Io(_)
            | sqlx::Error::Protocol(_) => Self::Unavailable(err.to_string()),
            sqlx::Error::Database(db) if db.code().is_some_and(|code| is_unavailable(&code)) => {
                Self::Unavailable(err.to_string())
            }
            _ => Self::Database(err),
        }
    }
}

/// SQLSTATEs of a database that is going away or not there yet, not of a wrong query: class 08
/// (connection exception) and 57P01–57P03 (administrator or crash shutdown, cannot connect
/// now, as when a connection is terminated or Postgres restarts). The request may be retried.
fn is_unavailable(sqlstate: &str) -> bool {
    sqlstate.starts_with("08") || matches!(sqlstate, "57P01" | "57P02" | "57P03")
}

impl From<::redis::RedisError> for StoreError {
    fn from(err: ::redis::RedisError) -> Self {
        // A cluster redirecting or down past the client's retries is failing over.
        if err.is_io_error()
            || err.is_connection_dropped()
            || err.is_timeout()
            || err.is_cluster_error()
            || err.kind() == ::redis::ErrorKind::MasterDown
        {
            Self::Unavailable(err.to_string())
        } else {
            Self::Redis(err)
        }
    }
}
