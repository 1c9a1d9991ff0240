use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Database, Result};

/// A phone login identity (`user_auth` row); its `id` is the JWT `sub`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub id: String,
    pub phone_number: String,
    /// The active employee this number belongs to; `None` for an anonymous identity.
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
    /// Identity `id` as its next refresh sees it: linked to the active employee holding its
    /// number now, or anonymous. (A rotation writes the link with the new pair.)
    pub async fn current_identity(&self, id: &str) -> Result<Option<Identity>> {
        let row = sqlx::query(
            "select a.id, a.remote_id,
                    (select u.id from users u
                     where u.phone_number = a.remote_id and u.disabled_at is null) as user_id
             from user_auth a
             where a.id = $1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(identity_from_row).transpose()
    }
}

fn identity_from_row(row: &AnyRow) -> Result<Identity> {
    Ok(Identity {
        id: row.try_get("id")?,
        phone_number: row.try_get("remote_id")?,
        user_id: row.try_get("user_id")?,
    })
}
