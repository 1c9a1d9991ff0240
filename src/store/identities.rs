use sqlx::Row;
use sqlx::any::AnyRow;

use super::holders::placeholders;
use super::{Database, Result};

/// A phone identity as admins see it: the tokens' `sub`, its number, and the employee it was
/// linked to at its last login (unlinked when that employee lost the number).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub sub: String,
    pub phone_number: String,
    pub user_id: Option<String>,
    pub created_at: i64,
    pub last_login_at: i64,
}

const IDENTITY_COLUMNS: &str = "id, remote_id, user_id, created_at, last_login_at";

/// Who a session speaks for, fixed when its code was verified: the phone identity (`sub`), its
/// number, and the employee who held the number then (`None`: an anonymous login). Refreshes
/// sign for the same principal; a change of who holds the number revokes the session instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub sub: String,
    pub phone_number: String,
    pub user_id: Option<String>,
}

/// Finds or creates the identity of phone number `$2` (created as `$1`) and links it to the
/// active employee holding that number right now (or to nobody), stamping the login time `$3`.
pub(super) const UPSERT_PHONE_IDENTITY: &str = "
    insert into user_auth (id, method, remote_id, user_id, created_at, last_login_at)
    values ($1, 'phone', $2,
            (select id from users where phone_number = $2 and disabled_at is null),
            $3, $3)
    on conflict (method, remote_id) do update
       set user_id = excluded.user_id, last_login_at = excluded.last_login_at
    returning id, user_id";

impl Database {
    /// The principal of session `sid` and when it began, for refresh tokens issued before they
    /// carried both.
    pub async fn session_principal(&self, sid: &str) -> Result<Option<(Principal, i64)>> {
        let row = sqlx::query(
            "select a.id, a.remote_id, s.user_id, s.created_at
             from sessions s join user_auth a on a.id = s.user_auth_id
             where s.id = $1",
        )
        .bind(sid)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| {
            let principal = Principal {
                sub: row.try_get("id")?,
                phone_number: row.try_get("remote_id")?,
                user_id: row.try_get("user_id")?,
            };
            Ok((principal, row.try_get("created_at")?))
        })
        .transpose()
    }
}

impl Database {
    /// Up to `limit` phone identities, most recently logged in first, whose `sub` is `sub`,
    /// whose number is one of `numbers`, or which are linked to one of `user_ids`.
    pub async fn find_identities(
        &self,
        sub: Option<&str>,
        numbers: &[&str],
        user_ids: &[&str],
        limit: i64,
    ) -> Result<Vec<Identity>> {
        let mut conditions = vec!["id = $1".to_owned()];
        let mut next = 2;
        for (column, values) in [("remote_id", numbers), ("user_id", user_ids)] {
            if !values.is_empty() {
                conditions.push(format!(
                    "{column} in ({})",
                    placeholders(next, values.len())
                ));
                next += values.len();
            }
        }
        let sql = format!(
            "select {IDENTITY_COLUMNS} from user_auth
             where method = 'phone' and ({})
             order by last_login_at desc, id limit ${next}",
            conditions.join(" or ")
        );
        let query = numbers
            .iter()
            .chain(user_ids)
            .fold(sqlx::query(&sql).bind(sub), |query, value| {
                query.bind(*value)
            });
        let rows = query.bind(limit).fetch_all(&self.pool).await?;
        rows.iter().map(identity_from_row).collect()
    }

    pub async fn identity(&self, sub: &str) -> Result<Option<Identity>> {
        let row = sqlx::query(&format!(
            "select {IDENTITY_COLUMNS} from user_auth where id = $1"
        ))
        .bind(sub)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(identity_from_row).transpose()
    }
}

fn identity_from_row(row: &AnyRow) -> Result<Identity> {
    Ok(Identity {
        sub: row.try_get("id")?,
        phone_number: row.try_get("remote_id")?,
        user_id: row.try_get("user_id")?,
        created_at: row.try_get("created_at")?,
        last_login_at: row.try_get("last_login_at")?,
    })
}
