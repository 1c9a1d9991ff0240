use sqlx::Row;

use super::sessions::insert_tokens;
use super::{Backend, Database, NewToken, Result};

/// One refresh rotation: the refresh token spent, the successor pair's rows, and the sealed
/// successor kept for retries inside the reuse grace window.
#[derive(Debug, Clone)]
pub struct Rotation<'a> {
    pub spent_jti: &'a str,
    pub session_id: &'a str,
    /// The identity, relinked to `user_id`: the employee its claims were signed for (or none),
    /// who must still be the active employee holding `phone_number`.
    pub identity_id: &'a str,
    pub phone_number: &'a str,
    pub user_id: Option<&'a str>,
    pub successors: [NewToken<'a>; 2],
    pub sealed_pair: &'a str,
    pub now: i64,
    /// Until when a retry with the spent token gets the sealed pair back.
    pub available_until: i64,
    pub ip: Option<&'a str>,
    pub user_agent: Option<&'a str>,
}

/// What [`Database::rotate_refresh`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rotated {
    /// The token is spent and its successor stored.
    Spent,
    /// Nothing was written: the token was already spent, revoked, or its session revoked.
    NotSpendable,
    /// Nothing was written: the active employee holding the number is now `user_id` (or
    /// nobody), not the one the successor was signed for.
    Relinked { user_id: Option<String> },
}

/// A successor pair kept for retries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredSuccessor {
    pub sealed_pair: String,
    pub issued_at: i64,
}

impl Database {
    /// Spends the refresh token and stores its successor, atomically, when the successor's
    /// claims still match the employee record; otherwise writes nothing. On Postgres a
    /// concurrent rotation of the same token waits on this row lock and then sees it spent.
    pub async fn rotate_refresh(&self, rotation: &Rotation<'_>) -> Result<Rotated> {
        match self.backend() {
            Backend::Postgres => self.rotate_in_one_statement(rotation).await,
            Backend::Sqlite => self.rotate_in_a_transaction(rotation).await,
        }
    }

    /// Postgres: one statement (one round trip, one commit). Every write hangs off `spent`, so
    /// when the conditional update matches nothing, nothing is written; a concurrent rotation
    /// blocks on the row lock, then finds the token spent. The employee check rides in the
    /// same statement, so a refresh needs no read before it.
    async fn rotate_in_one_statement(&self, rotation: &Rotation<'_>) -> Result<Rotated> {
        let [access, refresh] = &rotation.successors;
        let row = sqlx::query(
            "with linked as (
                select (select id from users
                        where phone_number = $14 and disabled_at is null) as user_id
             ), spent as (
                update tokens set spent_at = $2
                where jti = $1 and session_id = $13 and kind = 'refresh'
                  and spent_at is null and revoked_at is null
                  and not exists (select 1 from sessions
                                  where sessions.id = tokens.session_id
                                    and sessions.revoked_at is not null)
                  and (select user_id from linked) is not distinct from $12
                returning session_id
             ), issued as (
                insert into tokens (jti, session_id, kind, issued_at, expires_at)
                select $3, session_id, 'access', $2, $4 from spent
                union all
                select $5, session_id, 'refresh', $2, $6 from spent
             ), kept as (
                insert into refresh_successors (spent_jti, sealed_pair, issued_at, available_until)
                select $1, $7, $2, $8 from spent
             ), touched as (
                update sessions
                   set last_used_at = $2, expires_at = $6,
                       ip = coalesce($9, ip), user_agent = coalesce($10, user_agent)
                 where id in (select session_id from spent)
             ), relinked as (
                update user_auth set user_id = $12
                 where id = $11 and user_id is distinct from $12 and exists (select 1 from spent)
             )
             select (select count(*) from spent) as spent, user_id from linked",
        )
        .bind(rotation.spent_jti)
        .bind(rotation.now)
        .bind(access.jti)
        .bind(access.expires_at)
        .bind(refresh.jti)
        .bind(refresh.expires_at)
        .bind(rotation.sealed_pair)
        .bind(rotation.available_until)
        .bind(rotation.ip)
        .bind(rotation.user_agent)
        .bind(rotation.identity_id)
        .bind(rotation.user_id)
        .bind(rotation.session_id)
        .bind(rotation.phone_number)
        .fetch_one(&self.pool)
        .await?;
        let spent: i64 = row.try_get("spent")?;
        let user_id: Option<String> = row.try_get("user_id")?;
        Ok(if spent == 1 {
            Rotated::Spent
        } else if user_id.as_deref() != rotation.user_id {
            Rotated::Relinked { user_id }
        } else {
            Rotated::NotSpendable
        })
    }

    /// SQLite (no data-modifying CTEs): the same writes in one transaction.
    async fn rotate_in_a_transaction(&self, rotation: &Rotation<'_>) -> Result<Rotated> {
        let mut tx = self.pool.begin().await?;
        let user_id: Option<String> = sqlx::query_scalar(
            "select id from users where phone_number = $1 and disabled_at is null",
        )
        .bind(rotation.phone_number)
        .fetch_optional(&mut *tx)
        .await?;
        if user_id.as_deref() != rotation.user_id {
            tx.rollback().await?;
            return Ok(Rotated::Relinked { user_id });
        }
        let spent = sqlx::query(
            "update tokens set spent_at = $2
             where jti = $1 and session_id = $3 and kind = 'refresh'
               and spent_at is null and revoked_at is null
               and not exists (select 1 from sessions
                               where sessions.id = tokens.session_id
                                 and sessions.revoked_at is not null)",
        )
        .bind(rotation.spent_jti)
        .bind(rotation.now)
        .bind(rotation.session_id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if spent != 1 {
            tx.rollback().await?;
            return Ok(Rotated::NotSpendable);
        }
        insert_tokens(&mut tx, rotation.session_id, &rotation.successors).await?;
        sqlx::query(
            "insert into refresh_successors (spent_jti, sealed_pair, issued_at, available_until)
             values ($1, $2, $3, $4)",
        )
        .bind(rotation.spent_jti)
        .bind(rotation.sealed_pair)
        .bind(rotation.now)
        .bind(rotation.available_until)
        .execute(&mut *tx)
        .await?;
        // The session lives as long as its newest refresh token.
        sqlx::query(
            "update sessions
                set last_used_at = $2, expires_at = $3,
                    ip = coalesce($4, ip), user_agent = coalesce($5, user_agent)
             where id = $1",
        )
        .bind(rotation.session_id)
        .bind(rotation.now)
        .bind(rotation.successors[1].expires_at)
        .bind(rotation.ip)
        .bind(rotation.user_agent)
        .execute(&mut *tx)
        .await?;
        sqlx::query("update user_auth set user_id = $2 where id = $1")
            .bind(rotation.identity_id)
            .bind(rotation.user_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(Rotated::Spent)
    }

    /// The successor of spent refresh token `spent_jti`, while still available at `now`.
    pub async fn refresh_successor(
        &self,
        spent_jti: &str,
        now: i64,
    ) -> Result<Option<StoredSuccessor>> {
        let row = sqlx::query(
            "select sealed_pair, issued_at from refresh_successors
             where spent_jti = $1 and available_until >= $2",
        )
        .bind(spent_jti)
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| {
            Ok(StoredSuccessor {
                sealed_pair: row.try_get("sealed_pair")?,
                issued_at: row.try_get("issued_at")?,
            })
        })
        .transpose()
    }

    /// Deletes up to `batch` token rows that expired before `expired_before`; returns how
    /// many went. Small batches keep each statement short (SQLite has one connection).
    pub async fn sweep_expired_tokens(&self, expired_before: i64, batch: i64) -> Result<u64> {
        let deleted = sqlx::query(
            "delete from tokens where jti in
                (select jti from tokens where expires_at < $1 limit $2)",
        )
        .bind(expired_before)
        .bind(batch)
        .execute(&self.pool)
        .await?;
        Ok(deleted.rows_affected())
    }

    /// Deletes stored successors whose retry window has passed.
    pub async fn sweep_refresh_successors(&self, now: i64) -> Result<u64> {
        let deleted = sqlx::query("delete from refresh_successors where available_until < $1")
            .bind(now)
            .execute(&self.pool)
            .await?;
        Ok(deleted.rows_affected())
    }
}
