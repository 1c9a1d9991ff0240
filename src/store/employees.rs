use sqlx::Row;
use sqlx::any::AnyRow;
use uuid::Uuid;

use super::{Database, Result};

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
#[derive(Debug, Clone)]
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

const EMPLOYEE_COLUMNS: &str =
    "id, external_id, phone_number, name, email, disabled_at, created_at, updated_at";

impl Database {
    /// Creates or updates the employee `external_id`. Fails with `Conflict` when another
    /// active employee holds the number.
    pub async fn upsert_employee(
        &self,
        employee: &EmployeeUpsert<'_>,
        now: i64,
    ) -> Result<(Employee, Upserted)> {
        let new_id = Uuid::new_v4().to_string();
        let disabled_at = (!employee.active).then_some(now);
        let row = sqlx::query(&format!(
            "insert into users (id, external_id, phone_number, name, email, disabled_at, created_at, updated_at)
             values ($1, $2, $3, $4, $5, $6, $7, $7)
             on conflict (external_id) do update
                set phone_number = excluded.phone_number, name = excluded.name,
                    email = excluded.email, updated_at = excluded.updated_at,
                    disabled_at = case when excluded.disabled_at is null then null
                                       else coalesce(users.disabled_at, excluded.disabled_at) end
             returning {EMPLOYEE_COLUMNS}"
        ))
        .bind(&new_id)
        .bind(employee.external_id)
        .bind(employee.phone_number)
        .bind(employee.name)
        .bind(employee.email)
        .bind(disabled_at)
        .bind(now)
        .fetch_one(&self.pool)
        .await?;
        let stored = employee_from_row(&row)?;
        let outcome = if stored.id == new_id {
            Upserted::Created
        } else {
            Upserted::Updated
        };
        Ok((stored, outcome))
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

fn employee_from_row(row: &AnyRow) -> Result<Employee> {
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
