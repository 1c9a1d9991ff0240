//! When who holds a number changes (an employee moves to another number, is disabled, or a
//! number goes to someone else), the sessions of the previous holder end in the same
//! transaction: a session's principal is fixed at login and never passes to the next holder.

use std::collections::BTreeSet;

use sqlx::{Any, Row, Transaction};

use super::Result;

/// Rows per statement of ids or numbers: far below both dialects' limits on bound parameters.
const CHUNK: usize = 500;

/// What an employee change may have taken from someone: the numbers whose holder may have
/// changed and the employees whose record changed.
#[derive(Debug, Default)]
pub(super) struct Touched<'a> {
    pub numbers: BTreeSet<&'a str>,
    pub employees: BTreeSet<&'a str>,
}

/// A session a change of holder ended, with its `revoked_reason`: `employee.disabled`,
/// `employee.number_changed` (the employee now has another number) or `employee.reassigned`
/// (the number went to someone else).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndedSession {
    pub sid: String,
    pub sub: String,
    pub user_id: Option<String>,
    pub reason: String,
}

/// Ends every live session, among those `touched` reaches, whose principal is not the current
/// holder of its number (the active employee with that number, or nobody). Also unlinks
/// identities from employees who no longer hold their number. Returns the sessions it ended,
/// for the caller to audit.
pub(super) async fn revoke_previous_holders(
    tx: &mut Transaction<'_, Any>,
    touched: &Touched<'_>,
    now: i64,
) -> Result<Vec<EndedSession>> {
    let mut revoked = Vec::new();
    let employees: Vec<&str> = touched.employees.iter().copied().collect();
    for chunk in employees.chunks(CHUNK) {
        let filter = format!("user_id in ({})", placeholders(2, chunk.len()));
        revoked.extend(revoke_where(tx, &filter, chunk, now).await?);
    }
    let numbers: Vec<&str> = touched.numbers.iter().copied().collect();
    for chunk in numbers.chunks(CHUNK) {
        let filter = format!(
            "user_auth_id in (select id from user_auth where method = 'phone' and remote_id in ({}))",
            placeholders(2, chunk.len())
        );
        revoked.extend(revoke_where(tx, &filter, chunk, now).await?);
        unlink(tx, chunk).await?;
    }
    Ok(revoked)
}

/// Revokes the live sessions matching `filter` (binds from `$2`) whose principal no longer
/// holds their number, with the reason that applies.
async fn revoke_where(
    tx: &mut Transaction<'_, Any>,
    filter: &str,
    binds: &[&str],
    now: i64,
) -> Result<Vec<EndedSession>> {
    let sql = format!(
        "update sessions
            set revoked_at = $1,
                revoked_reason = case
                    when exists (select 1 from users u
                                 where u.id = sessions.user_id and u.disabled_at is not null)
                        then 'employee.disabled'
                    when exists (select 1 from users u join user_auth a
                                   on a.id = sessions.user_auth_id
                                 where u.id = sessions.user_id and u.phone_number <> a.remote_id)
                        then 'employee.number_changed'
                    else 'employee.reassigned' end
          where revoked_at is null and {filter}
            and user_id is distinct from
                (select u.id from users u join user_auth a on u.phone_number = a.remote_id
                 where a.id = sessions.user_auth_id and u.disabled_at is null)
          returning id, user_auth_id, user_id, revoked_reason"
    );
    let query = binds
        .iter()
        .fold(sqlx::query(&sql).bind(now), |query, bind| query.bind(*bind));
    let rows = query.fetch_all(&mut **tx).await?;
    rows.iter()
        .map(|row| {
            Ok(EndedSession {
                sid: row.try_get("id")?,
                sub: row.try_get("user_auth_id")?,
                user_id: row.try_get("user_id")?,
                reason: row.try_get("revoked_reason")?,
            })
        })
        .collect()
}

/// The identities of `numbers` stop naming an employee who is disabled or has another number
/// now (the link shows admins whom a number's last login belonged to).
async fn unlink(tx: &mut Transaction<'_, Any>, numbers: &[&str]) -> Result<()> {
    let sql = format!(
        "update user_auth set user_id = null
         where method = 'phone' and remote_id in ({}) and user_id is not null
           and not exists (select 1 from users u
                           where u.id = user_auth.user_id and u.disabled_at is null
                             and u.phone_number = user_auth.remote_id)",
        placeholders(1, numbers.len())
    );
    numbers
        .iter()
        .fold(sqlx::query(&sql), |query, number| query.bind(*number))
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// `$first, $first+1, …` for `count` binds.
pub(super) fn placeholders(first: usize, count: usize) -> String {
    (first..first + count)
        .map(|n| format!("${n}"))
        .collect::<Vec<_>>()
        .join(", ")
}
