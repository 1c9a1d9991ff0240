use sqlx::Row;
use uuid::Uuid;

use super::{Database, Result};

/// A phone login identity (`user_auth` row); its `id` is the JWT `sub`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub id: String,
    pub phone_number: String,
    /// The active employee this number belongs to; `None` for an anonymous identity.
    pub user_id: Option<String>,
}

impl Database {
    /// Finds or creates the identity of `phone_number` and links it to the active employee
    /// holding that number right now (or to nobody), in one statement.
    pub async fn link_phone_identity(&self, phone_number: &str, now: i64) -> Result<Identity> {
        let row = sqlx::query(
            "insert into user_auth (id, method, remote_id, user_id, created_at, last_login_at)
             values ($1, 'phone', $2,
                     (select id from users where phone_number = $2 and disabled_at is null),
                     $3, $3)
             on conflict (method, remote_id) do update
                set user_id = excluded.user_id, last_login_at = excluded.last_login_at
             returning id, user_id",
        )
        .bind(Uuid::new_v4().to_string())
        .bind(phone_number)
        .bind(now)
        .fetch_one(&self.pool)
        .await?;
        Ok(Identity {
            id: row.try_get("id")?,
            phone_number: phone_number.to_owned(),
            user_id: row.try_get("user_id")?,
        })
    }
}
