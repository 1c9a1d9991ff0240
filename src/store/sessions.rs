use sqlx::Row;

use super::{Database, Result};

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
    /// Stores a new session with the rows of its first tokens, atomically.
    pub async fn create_session(
        &self,
        session: &NewSession<'_>,
        tokens: &[NewToken<'_>; 2],
    ) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "insert into sessions (id, user_auth_id, created_at, last_used_at, expires_at, ip, user_agent)
             values ($1, $2, $3, $3, $4, $5, $6)",
        )
        .bind(session.id)
        .bind(session.identity_id)
        .bind(session.created_at)
        .bind(session.expires_at)
        .bind(session.ip)
        .bind(session.user_agent)
        .execute(&mut *tx)
        .await?;
        insert_tokens(&mut tx, session.id, tokens).await?;
        tx.commit().await?;
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
