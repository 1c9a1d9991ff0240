use sqlx::Row;

use super::access_state_batch::{AccessStateRow, read_one};
use super::audit::next_event_id_on_sqlite;
use super::identities::phone_identity;
use super::login_batch::LoginRow;
use super::{Database, Principal, Query, Result};

/// A login about to be stored: the phone identity it signs in (found, or created as
/// `new_identity_id`) and its new session (the refresh-token family).
#[derive(Debug, Clone)]
pub struct NewLogin<'a> {
    pub phone_number: &'a str,
    pub new_identity_id: &'a str,
    pub session_id: &'a str,
    pub created_at: i64,
    pub expires_at: i64,
    pub ip: Option<&'a str>,
    pub user_agent: Option<&'a str>,
    /// JSON detail of the `login.succeeded` audit event (a test number's login says so).
    pub audit_detail: Option<&'a str>,
}

/// The row of an issued pair: its refresh token's, which also keeps when the access token
/// issued with it expires. Access tokens have no row of their own.
#[derive(Debug, Clone)]
pub struct NewPair<'a> {
    pub refresh_jti: &'a str,
    pub issued_at: i64,
    pub expires_at: i64,
    pub access_expires_at: i64,
}

/// What the token table says about one refresh token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenState {
    pub session_id: String,
    pub spent_at: Option<i64>,
    pub revoked_at: Option<i64>,
    pub session_revoked_at: Option<i64>,
    /// When the session's code was verified: its absolute lifetime counts from here.
    pub session_created_at: i64,
}

impl TokenState {
    /// Neither the token nor its session is revoked.
    pub fn is_live(&self) -> bool {
        self.revoked_at.is_none() && self.session_revoked_at.is_none()
    }
}

/// What an access token's validity depends on, once its pair's row vouches for it: its
/// session, and a deny row if it was revoked on its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessTokenState {
    pub revoked_at: Option<i64>,
    pub session_revoked_at: Option<i64>,
    pub session_created_at: i64,
}

impl AccessTokenState {
    /// Neither the token nor its session is revoked.
    pub fn is_live(&self) -> bool {
        self.revoked_at.is_none() && self.session_revoked_at.is_none()
    }
}

impl Database {
    /// Stores a login atomically: links the phone identity to the employee holding the number
    /// now (creating the identity on its first login), opens the session for that principal
    /// with the row of its first pair. The session row is also the login's `login.succeeded`
    /// audit event (migration 0009; `audit.rs` lists it): no event row of its own. On Postgres
    /// the login joins the next group commit (`group_commit.rs`): one statement and one commit
    /// for every login queued meanwhile. Returns the principal, whose claims the tokens are
    /// then signed with.
    pub async fn log_in(&self, login: &NewLogin<'_>, pair: &NewPair<'_>) -> Result<Principal> {
        let (sub, user_id) = match &self.logins {
            Some(logins) => logins.submit(login_row(login, pair)).await?,
            None => self.log_in_on_sqlite(login, pair).await?,
        };
        Ok(Principal {
            sub,
            phone_number: login.phone_number.to_owned(),
            user_id,
        })
    }

    /// [`Self::log_in`] in one SQLite transaction: SQLite has no data-modifying CTEs, and its
    /// one connection makes the transaction cheap.
    async fn log_in_on_sqlite(
        &self,
        login: &NewLogin<'_>,
        pair: &NewPair<'_>,
    ) -> Result<(String, Option<String>)> {
        let mut tx = self.pool.begin().await?;
        let row = phone_identity(&mut tx, login).await?;
        let identity_id: String = row.try_get("id")?;
        let user_id: Option<String> = row.try_get("user_id")?;
        let audit_id = next_event_id_on_sqlite(&mut tx).await?;
        sqlx::query(
            "insert into sessions
                (id, user_auth_id, user_id, created_at, last_used_at, expires_at, ip, user_agent,
                 audit_id, audit_ip, audit_detail)
             values ($1, $2, $3, $4, $4, $5, $6, $7, $8, $6, $9)",
        )
        .bind(login.session_id)
        .bind(&identity_id)
        .bind(user_id.as_deref())
        .bind(login.created_at)
        .bind(login.expires_at)
        .bind(login.ip)
        .bind(login.user_agent)
        .bind(audit_id)
        .bind(login.audit_detail)
        .execute(&mut *tx)
        .await?;
        insert_pair(&mut tx, login.session_id, pair).await?;
        tx.commit().await?;
        Ok((identity_id, user_id))
    }

    /// The state of refresh token `jti`.
    pub async fn token_state(&self, jti: &str) -> Result<Option<TokenState>> {
        let row = sqlx::query(
            "select t.session_id, t.spent_at, t.revoked_at,
                    s.revoked_at as session_revoked_at, s.created_at as session_created_at
             from tokens t join sessions s on s.id = t.session_id
             where t.jti = $1",
        )
        .bind(jti)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| {
            Ok(TokenState {
                session_id: row.try_get("session_id")?,
                spent_at: row.try_get("spent_at")?,
                revoked_at: row.try_get("revoked_at")?,
                session_revoked_at: row.try_get("session_revoked_at")?,
                session_created_at: row.try_get("session_created_at")?,
            })
        })
        .transpose()
    }

    /// The state of access token `jti` of session `sid`, whose pair's refresh token is
    /// `pair_refresh_jti`: its session's, and its deny row's. `None` unless that refresh token's
    /// row exists in that session (a token never issued, or of a session swept since). On
    /// Postgres the read joins the next batch of such reads (`access_state_batch.rs`).
    pub async fn access_token_state(
        &self,
        sid: &str,
        jti: &str,
        pair_refresh_jti: &str,
    ) -> Result<Option<AccessTokenState>> {
        if let Some(reads) = &self.access_states {
            return reads
                .submit(AccessStateRow::new(sid, jti, pair_refresh_jti))
                .await;
        }
        read_one(&self.pool, sid, jti, pair_refresh_jti).await
    }
}

/// Binds `$1`–`$3`: the identity's id if it is new, its phone number, the login time.
pub(super) fn bind_identity<'q>(query: Query<'q>, login: &NewLogin<'q>) -> Query<'q> {
    query
        .bind(login.new_identity_id)
        .bind(login.phone_number)
        .bind(login.created_at)
}

/// A login as the Postgres group commit stores it.
fn login_row(login: &NewLogin<'_>, pair: &NewPair<'_>) -> LoginRow {
    LoginRow {
        identity_id: login.new_identity_id.to_owned(),
        phone: login.phone_number.to_owned(),
        at: login.created_at,
        session_id: login.session_id.to_owned(),
        session_expires: login.expires_at,
        ip: login.ip.map(str::to_owned),
        user_agent: login.user_agent.map(str::to_owned),
        jti: pair.refresh_jti.to_owned(),
        issued_at: pair.issued_at,
        expires_at: pair.expires_at,
        access_expires_at: pair.access_expires_at,
        detail: login.audit_detail.map(str::to_owned),
    }
}

/// Inserts the row of a freshly signed pair inside the caller's transaction.
pub(super) async fn insert_pair(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    session_id: &str,
    pair: &NewPair<'_>,
) -> Result<()> {
    sqlx::query(
        "insert into tokens (jti, session_id, issued_at, expires_at, access_expires_at)
         values ($1, $2, $3, $4, $5)",
    )
    .bind(pair.refresh_jti)
    .bind(session_id)
    .bind(pair.issued_at)
    .bind(pair.expires_at)
    .bind(pair.access_expires_at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
