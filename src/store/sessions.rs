use sqlx::Row;

use super::audit::insert_audit_events;
use super::{AuditEvent, Backend, Database, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    Access,
    Refresh,
}

impl TokenKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Access => "access",
            Self::Refresh => "refresh",
        }
    }
}

/// A session (one login, the refresh-token family) about to be stored.
#[derive(Debug, Clone)]
pub struct NewSession<'a> {
    pub id: &'a str,
    pub identity_id: &'a str,
    pub created_at: i64,
    pub expires_at: i64,
    pub ip: Option<&'a str>,
    pub user_agent: Option<&'a str>,
}

/// The row of one issued JWT.
#[derive(Debug, Clone)]
pub struct NewToken<'a> {
    pub jti: &'a str,
    pub kind: TokenKind,
    pub issued_at: i64,
    pub expires_at: i64,
}

/// What the token table says about one `jti`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenState {
    pub session_id: String,
    pub kind: String,
    pub expires_at: i64,
    pub spent_at: Option<i64>,
    pub revoked_at: Option<i64>,
    pub session_revoked_at: Option<i64>,
}

impl TokenState {
    /// Neither the token nor its session is revoked.
    pub fn is_live(&self) -> bool {
        self.revoked_at.is_none() && self.session_revoked_at.is_none()
    }
}

impl Database {
    /// Stores a new session with the rows of its first tokens and the audit event of the
    /// login, atomically. On Postgres this is one statement (one round trip, one commit): the
    /// login path is dominated by round trips.
    pub async fn create_session(
        &self,
        session: &NewSession<'_>,
        tokens: &[NewToken<'_>; 2],
        audit: &AuditEvent<'_>,
    ) -> Result<()> {
        match self.backend() {
            Backend::Postgres => {
                let statement = sqlx::query(
                    "with session as (
                        insert into sessions
                            (id, user_auth_id, created_at, last_used_at, expires_at, ip, user_agent)
                        values ($1, $2, $3, $3, $4, $5, $6)
                     ), issued as (
                        insert into tokens (jti, session_id, kind, issued_at, expires_at)
                        values ($7, $1, $8, $9, $10), ($11, $1, $12, $13, $14)
                     )
                     insert into audit_events (at, actor, action, subject, ip, detail)
                     values ($15, $16, $17, $18, $19, $20)",
                );
                let statement = bind_session(statement, session);
                let statement = bind_tokens(statement, tokens);
                bind_audit(statement, audit).execute(&self.pool).await?;
            }
            Backend::Sqlite => {
                // SQLite has no data-modifying CTEs; its one connection makes the transaction cheap.
                let mut tx = self.pool.begin().await?;
                bind_session(
                    sqlx::query(
                        "insert into sessions
                            (id, user_auth_id, created_at, last_used_at, expires_at, ip, user_agent)
                         values ($1, $2, $3, $3, $4, $5, $6)",
                    ),
                    session,
                )
                .execute(&mut *tx)
                .await?;
                insert_tokens(&mut tx, session.id, tokens).await?;
                insert_audit_events(&mut *tx, std::slice::from_ref(audit)).await?;
                tx.commit().await?;
            }
        }
        Ok(())
    }

    pub async fn token_state(&self, jti: &str) -> Result<Option<TokenState>> {
        let row = sqlx::query(
            "select t.session_id, t.kind, t.expires_at, t.spent_at, t.revoked_at,
                    s.revoked_at as session_revoked_at
             from tokens t join sessions s on s.id = t.session_id
             where t.jti = $1",
        )
        .bind(jti)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| {
            Ok(TokenState {
                session_id: row.try_get("session_id")?,
                kind: row.try_get("kind")?,
                expires_at: row.try_get("expires_at")?,
                spent_at: row.try_get("spent_at")?,
                revoked_at: row.try_get("revoked_at")?,
                session_revoked_at: row.try_get("session_revoked_at")?,
            })
        })
        .transpose()
    }
}

type Query<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>;

/// Binds `$1`–`$6`: the session.
fn bind_session<'q>(query: Query<'q>, session: &NewSession<'q>) -> Query<'q> {
    query
        .bind(session.id)
        .bind(session.identity_id)
        .bind(session.created_at)
        .bind(session.expires_at)
        .bind(session.ip)
        .bind(session.user_agent)
}

/// Binds `$7`–`$14`: the pair's two rows (the session id is `$1`).
fn bind_tokens<'q>(query: Query<'q>, tokens: &[NewToken<'q>; 2]) -> Query<'q> {
    tokens.iter().fold(query, |query, token| {
        query
            .bind(token.jti)
            .bind(token.kind.as_str())
            .bind(token.issued_at)
            .bind(token.expires_at)
    })
}

/// Binds `$15`–`$20`: the audit event.
fn bind_audit<'q>(query: Query<'q>, audit: &'q AuditEvent<'q>) -> Query<'q> {
    query
        .bind(audit.at)
        .bind(audit.actor)
        .bind(audit.action)
        .bind(audit.subject)
        .bind(audit.ip)
        .bind(audit.detail.as_deref())
}

/// Inserts the rows of a freshly signed pair inside the caller's transaction.
pub(super) async fn insert_tokens(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    session_id: &str,
    tokens: &[NewToken<'_>; 2],
) -> Result<()> {
    sqlx::query(
        "insert into tokens (jti, session_id, kind, issued_at, expires_at)
         values ($1, $2, $3, $4, $5), ($6, $2, $7, $8, $9)",
    )
    .bind(tokens[0].jti)
    .bind(session_id)
    .bind(tokens[0].kind.as_str())
    .bind(tokens[0].issued_at)
    .bind(tokens[0].expires_at)
    .bind(tokens[1].jti)
    .bind(tokens[1].kind.as_str())
    .bind(tokens[1].issued_at)
    .bind(tokens[1].expires_at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
