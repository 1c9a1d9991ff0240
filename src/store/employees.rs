use sqlx::Row;
use sqlx::any::AnyRow;
use uuid::Uuid;

use super::holders::{EndedSession, Touched, placeholders, revoke_previous_holders};
use super::{Database, Query, Result, Tx};

/// An employee record, synced from the HR system.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Employee {
    pub id: String,
    pub external_id: String,
    pub phone_number: String,
    pub name: String,
    pub email: Option<String>,
    pub active: bool,
    pub created_at: i64,
    pub updated_at: i64,
}

/// The fields the HR system owns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmployeeUpsert<'a> {
    pub external_id: &'a str,
    pub phone_number: &'a str,
    pub name: &'a str,
    pub email: Option<&'a str>,
    pub active: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Upserted {
    Created,
    Updated,
}

/// A search over employees, one page at a time, ordered by `external_id`.
#[derive(Debug, Clone, Default)]
pub struct EmployeeQuery<'a> {
    /// Matches a name (case-insensitive substring), an external or internal id exactly, or,
    /// when `phone_number` is set, that number.
    pub text: Option<&'a str>,
    /// `text` read as a phone number, in E.164.
    pub phone_number: Option<&'a str>,
    /// Only employees whose `external_id` sorts after this one (the previous page's last).
    pub after: Option<&'a str>,
    pub limit: i64,
}

pub(super) const EMPLOYEE_COLUMNS: &str =
    "id, external_id, phone_number, name, email, disabled_at, created_at, updated_at";

/// Columns bound per row by [`upsert_statement`].
const UPSERT_BINDS: usize = 7;

/// `insert … on conflict (external_id) do update` for `rows` rows of [`UPSERT_BINDS`] binds
/// each (id, external_id, phone_number, name, email, disabled_at, now). A disabled employee
/// keeps the time they were first disabled.
pub(super) fn upsert_statement(rows: usize) -> String {
    let values: Vec<String> = (0..rows)
        .map(|row| {
            let first = row * UPSERT_BINDS;
            let binds: Vec<String> = (1..=UPSERT_BINDS)
                .map(|column| format!("${}", first + column))
                .collect();
            format!("({}, ${})", binds.join(", "), first + UPSERT_BINDS)
        })
        .collect();
    format!(
        "insert into users (id, external_id, phone_number, name, email, disabled_at, created_at, updated_at)
         values {}
         on conflict (external_id) do update
            set phone_number = excluded.phone_number, name = excluded.name,
                email = excluded.email, updated_at = excluded.updated_at,
                disabled_at = case when excluded.disabled_at is null then null
                                   else coalesce(users.disabled_at, excluded.disabled_at) end",
        values.join(", ")
    )
}

/// Binds one row of [`upsert_statement`].
pub(super) fn bind_upsert<'q>(
    query: Query<'q>,
    id: &'q str,
    employee: &EmployeeUpsert<'q>,
    now: i64,
) -> Query<'q> {
    query
        .bind(id)
        .bind(employee.external_id)
        .bind(employee.phone_number)
        .bind(employee.name)
        .bind(employee.email)
        .bind((!employee.active).then_some(now))
        .bind(now)
}

impl Tx {
    /// Creates or updates the employee `external_id`. Fails with `Conflict` when another
    /// active employee holds the number. The sessions of anyone this takes a number from end
    /// (a new number, a disabled employee, a number given to someone else); returns them.
    pub async fn upsert_employee(
        &mut self,
        employee: &EmployeeUpsert<'_>,
        now: i64,
    ) -> Result<(Employee, Upserted, Vec<EndedSession>)> {
        let new_id = Uuid::new_v4().to_string();
        let tx = &mut self.0;
        let previous: Option<String> =
            sqlx::query_scalar("select phone_number from users where external_id = $1")
                .bind(employee.external_id)
                .fetch_optional(&mut **tx)
                .await?;
        let sql = format!("{} returning {EMPLOYEE_COLUMNS}", upsert_statement(1));
        let row = bind_upsert(sqlx::query(&sql), &new_id, employee, now)
            .fetch_one(&mut **tx)
            .await?;
        let stored = employee_from_row(&row)?;
        let mut touched = Touched::default();
        touched.employees.insert(&stored.id);
        touched.numbers.insert(&stored.phone_number);
        touched.numbers.extend(previous.as_deref());
        let ended = revoke_previous_holders(tx, &touched, now).await?;
        let outcome = if stored.id == new_id {
            Upserted::Created
        } else {
            Upserted::Updated
        };
        Ok((stored, outcome, ended))
    }

    /// Disables the employee `external_id` and revokes every session opened for them.
    /// Idempotent; `None` for an unknown employee. Returns the record and the sessions ended.
    pub async fn disable_employee(
        &mut self,
        external_id: &str,
        now: i64,
    ) -> Result<Option<(Employee, Vec<EndedSession>)>> {
        let tx = &mut self.0;
        let row = sqlx::query(&format!(
            "update users set disabled_at = coalesce(disabled_at, $2),
                    updated_at = case when disabled_at is null then $2 else updated_at end
             where external_id = $1
             returning {EMPLOYEE_COLUMNS}"
        ))
        .bind(external_id)
        .bind(now)
        .fetch_optional(&mut **tx)
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let employee = employee_from_row(&row)?;
        let mut touched = Touched::default();
        touched.employees.insert(&employee.id);
        touched.numbers.insert(&employee.phone_number);
        let ended = revoke_previous_holders(tx, &touched, now).await?;
        Ok(Some((employee, ended)))
    }
}

impl Database {
    /// One page of employees matching `query`, ordered by `external_id`.
    pub async fn search_employees(&self, query: &EmployeeQuery<'_>) -> Result<Vec<Employee>> {
        let after = query.after.unwrap_or_default();
        let rows = match query.text {
            None => {
                sqlx::query(&format!(
                    "select {EMPLOYEE_COLUMNS} from users where external_id > $1
                     order by external_id limit $2"
                ))
                .bind(after)
                .bind(query.limit)
                .fetch_all(&self.pool)
                .await?
            }
            Some(text) => {
                let pattern = format!("%{}%", like_escape(&text.to_lowercase()));
                sqlx::query(&format!(
                    "select {EMPLOYEE_COLUMNS} from users
                     where external_id > $1
                       and (phone_number = $2 or external_id = $3 or id = $3
                            or lower(name) like $4 escape '\\')
                     order by external_id limit $5"
                ))
                .bind(after)
                .bind(query.phone_number)
                .bind(text)
                .bind(pattern)
                .bind(query.limit)
                .fetch_all(&self.pool)
                .await?
            }
        };
        rows.iter().map(employee_from_row).collect()
    }

    pub async fn employee_by_id(&self, id: &str) -> Result<Option<Employee>> {
        let row = sqlx::query(&format!(
            "select {EMPLOYEE_COLUMNS} from users where id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(employee_from_row).transpose()
    }

    pub async fn employee_by_external_id(&self, external_id: &str) -> Result<Option<Employee>> {
        let row = sqlx::query(&format!(
            "select {EMPLOYEE_COLUMNS} from users where external_id = $1"
        ))
        .bind(external_id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(employee_from_row).transpose()
    }

    /// The active employee holding `phone_number`, if any.
    pub async fn active_employee_by_number(&self, phone_number: &str) -> Result<Option<Employee>> {
        let row = sqlx::query(&format!(
            "select {EMPLOYEE_COLUMNS} from users where phone_number = $1 and disabled_at is null"
        ))
        .bind(phone_number)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(employee_from_row).transpose()
    }

    /// Which of `numbers` active employees hold.
    pub async fn active_employee_numbers(&self, numbers: &[&str]) -> Result<Vec<String>> {
        if numbers.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "select phone_number from users where disabled_at is null and phone_number in ({})",
            placeholders(1, numbers.len())
        );
        let query = numbers
            .iter()
            .fold(sqlx::query_scalar(&sql), |query, number| {
                query.bind(*number)
            });
        Ok(query.fetch_all(&self.pool).await?)
    }

    /// Whether an active employee holds `phone_number` right now.
    pub async fn has_active_employee(&self, phone_number: &str) -> Result<bool> {
        let row = sqlx::query(
            "select 1 as found from users where phone_number = $1 and disabled_at is null",
        )
        .bind(phone_number)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.is_some())
    }
}

/// Escapes `%`, `_` and `\` for a `like … escape '\'` pattern.
fn like_escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

pub(super) fn employee_from_row(row: &AnyRow) -> Result<Employee> {
    let disabled_at: Option<i64> = row.try_get("disabled_at")?;
    Ok(Employee {
        id: row.try_get("id")?,
        external_id: row.try_get("external_id")?,
        phone_number: row.try_get("phone_number")?,
        name: row.try_get("name")?,
        email: row.try_get("email")?,
        active: disabled_at.is_none(),
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}
