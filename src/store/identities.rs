use sqlx::Row;
use sqlx::any::AnyRow;

use super::holders::placeholders;
use super::sessions::bind_identity;
use super::{Database, NewLogin, Result};

/// A phone identity as admins see it: the tokens' `sub`, its number, and the employee it was
/// linked to at its last login (unlinked when that employee lost the number).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub sub: String,
    pub phone_number: String,
    pub user_id: Option<String>,
    pub created_at: i64,
    /// When its newest session began; `None` once every session has been swept.
    pub last_login_at: Option<i64>,
}

/// An identity's columns, its last login read from its newest session (the identity row is not
/// written at every login).
const IDENTITY_COLUMNS: &str = "id, remote_id, user_id, created_at,
    (select max(s.created_at) from sessions s where s.user_auth_id = user_auth.id)
        as last_login_at";

/// Who a session speaks for, fixed when its code was verified: the phone identity (`sub`), its
/// number, and the employee who held the number then (`None`: an anonymous login). Refreshes
/// sign for the same principal; a change of who holds the number revokes the session instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub sub: String,
    pub phone_number: String,
    pub user_id: Option<String>,
}

/// Common table expressions for a login on phone number `$2`: `wanted`, the active employee
/// holding the number right now (or nobody), and `found`, the number's identity if it has one.
pub(super) const PHONE_IDENTITY_LOOKUP: &str = "
    wanted as (
        select (select id from users where phone_number = $2 and disabled_at is null) as user_id
    ), found as (
        select id, user_id from user_auth where method = 'phone' and remote_id = $2
    )";

/// After [`PHONE_IDENTITY_LOOKUP`]: creates the identity (as `$1`, at `$3`) or links it to the
/// `wanted` employee, only when it is new or its employee changed; returns no row otherwise, when
/// `found` is the identity. A concurrent first login that `found` did not see conflicts and
/// takes the update, so the identity is always one of the two.
pub(super) const UPSERT_PHONE_IDENTITY: &str = "
    insert into user_auth (id, method, remote_id, user_id, created_at)
    select $1, 'phone', $2, wanted.user_id, $3 from wanted
    where not exists (select 1 from found where found.user_id is not distinct from wanted.user_id)
    on conflict (method, remote_id) do update set user_id = excluded.user_id
    returning id, user_id";

/// SQLite, inside the login's transaction (no data-modifying CTEs): the identity of the login,
/// written only when new or re-linked. Its one connection leaves no concurrent login to race.
pub(super) async fn phone_identity(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    login: &NewLogin<'_>,
) -> Result<AnyRow> {
    let upsert = format!("with {PHONE_IDENTITY_LOOKUP} {UPSERT_PHONE_IDENTITY}");
    if let Some(row) = bind_identity(sqlx::query(&upsert), login)
        .fetch_optional(&mut **tx)
        .await?
    {
        return Ok(row);
    }
    let found =
        sqlx::query("select id, user_id from user_auth where method = 'phone' and remote_id = $1")
            .bind(login.phone_number)
            .fetch_one(&mut **tx)
            .await?;
    Ok(found)
}

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
             order by last_login_at desc nulls last, id limit ${next}",
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
