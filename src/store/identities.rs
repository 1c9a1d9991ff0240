use sqlx::Row;

use super::{Database, Result};

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
