//! Bulk employee import: the whole file in one transaction, with multi-row statements.

use std::collections::{HashMap, HashSet};

use sqlx::{Any, Row, Transaction};
use uuid::Uuid;

use super::employees::{bind_upsert, upsert_statement};
use super::holders::{EndedSession, Touched, placeholders, revoke_previous_holders};
use super::{EmployeeUpsert, Query, Result, Tx};

/// Rows per multi-row statement: few round trips, and far below SQLite's and Postgres's
/// limits on bound parameters.
const CHUNK: usize = 500;

/// An import about to run.
#[derive(Debug, Clone)]
pub struct ImportBatch<'a> {
    /// The file's rows, already valid on their own and among themselves (no duplicate
    /// `external_id`, no two active rows with one number).
    pub rows: &'a [EmployeeUpsert<'a>],
    /// Every `external_id` the file names, including those of rows that failed validation.
    pub listed: &'a HashSet<&'a str>,
    /// Disable active employees the file does not list.
    pub sync: bool,
    /// `false`: only check the rows against the database, change nothing.
    pub apply: bool,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct ImportCounts {
    pub created: u64,
    pub updated: u64,
    /// Active employees disabled: leavers (sync) and rows with `active` false.
    pub disabled: u64,
    pub unchanged: u64,
    #[serde(skip)]
    pub sessions_revoked: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImportOutcome {
    Applied(ImportApplied),
    /// The batch is clean but `apply` was not set: what applying it would change. Nothing
    /// was changed.
    Planned(ImportPlan),
    /// Rows (by index) whose number an active employee outside the file holds, with that
    /// employee's `external_id`. Nothing was changed.
    Collisions(Vec<(usize, String)>),
}

/// What an import would change, by `external_id` (each list sorted).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportPlan {
    /// `sessions_revoked` stays 0: which sessions end is known only once the rows are written.
    pub counts: ImportCounts,
    pub created: Vec<String>,
    pub updated: Vec<String>,
    pub disabled: Vec<String>,
}

/// What an applied import changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportApplied {
    pub counts: ImportCounts,
    /// `external_id`s of the active employees it disabled.
    pub disabled: Vec<String>,
    /// The sessions that ended because their principal lost their number.
    pub ended: Vec<EndedSession>,
}

struct Existing {
    id: String,
    phone_number: String,
    name: String,
    email: Option<String>,
    active: bool,
}

impl Tx {
    /// Checks `batch` against the stored employees and, when it is clean and `apply` is set,
    /// applies it: leavers disabled, numbers freed, rows written in multi-row statements,
    /// sessions of disabled employees revoked. Otherwise changes nothing and returns the
    /// collisions, or, when there are none, the plan.
    pub async fn import_employees(
        &mut self,
        batch: &ImportBatch<'_>,
        now: i64,
    ) -> Result<ImportOutcome> {
        let tx = &mut self.0;
        let existing = load_employees(tx).await?;
        let collisions = collisions(batch, &existing);
        if !collisions.is_empty() {
            return Ok(ImportOutcome::Collisions(collisions));
        }
        let plan = plan(batch, &existing);
        if !batch.apply {
            return Ok(ImportOutcome::Planned(ImportPlan {
                counts: plan.counts,
                created: owned(&plan.created),
                updated: owned(&plan.updated),
                disabled: owned(&plan.disabled),
            }));
        }

        let Plan {
            mut counts,
            leavers,
            park,
            writes,
            disabled,
            touched,
            ..
        } = plan;

        // Leavers are disabled for good; parked rows are written again below.
        for (ids, set) in [
            (&leavers, "disabled_at = $1, updated_at = $1"),
            (&park, "disabled_at = $1"),
        ] {
            for chunk in ids.chunks(CHUNK) {
                sqlx::query(&format!(
                    "update users set {set} where id in ({})",
                    placeholders(2, chunk.len())
                ))
                .bind(now)
                .bind_all(chunk)
                .execute(&mut **tx)
                .await?;
            }
        }
        for chunk in writes.chunks(CHUNK) {
            let sql = upsert_statement(chunk.len());
            let mut query = sqlx::query(&sql);
            for (id, row) in chunk {
                query = bind_upsert(query, id, row, now);
            }
            query.execute(&mut **tx).await?;
        }
        let ended = revoke_previous_holders(tx, &touched, now).await?;
        counts.sessions_revoked = ended.len() as u64;
        Ok(ImportOutcome::Applied(ImportApplied {
            counts,
            disabled: owned(&disabled),
            ended,
        }))
    }
}

/// What an import changes, worked out from the stored employees before anything is written.
struct Plan<'a> {
    counts: ImportCounts,
    /// Active employees the file does not list (sync only).
    leavers: Vec<&'a str>,
    /// Active employees whose number is freed before the writes: rows that change number or
    /// become inactive, so rows that swap numbers never meet the unique index of active
    /// numbers halfway through.
    park: Vec<&'a str>,
    /// Rows to create or update, with their id.
    writes: Vec<(String, &'a EmployeeUpsert<'a>)>,
    /// `external_id`s of the employees this import creates, updates (re-enabling included) and
    /// disables.
    created: Vec<&'a str>,
    updated: Vec<&'a str>,
    disabled: Vec<&'a str>,
    /// The numbers and employees whose sessions may have lost their holder.
    touched: Touched<'a>,
}

fn plan<'a>(batch: &'a ImportBatch<'a>, existing: &'a HashMap<String, Existing>) -> Plan<'a> {
    let mut plan = Plan {
        counts: ImportCounts::default(),
        leavers: Vec::new(),
        park: Vec::new(),
        writes: Vec::new(),
        created: Vec::new(),
        updated: Vec::new(),
        disabled: Vec::new(),
        touched: Touched::default(),
    };
    for row in batch.rows {
        let Some(current) = existing.get(row.external_id) else {
            plan.touched.numbers.insert(row.phone_number);
            plan.counts.created += 1;
            plan.created.push(row.external_id);
            plan.writes.push((Uuid::new_v4().to_string(), row));
            continue;
        };
        let same = current.phone_number == row.phone_number
            && current.name == row.name
            && current.email.as_deref() == row.email
            && current.active == row.active;
        if same {
            plan.counts.unchanged += 1;
            continue;
        }
        plan.touched.employees.insert(&current.id);
        plan.touched.numbers.insert(&current.phone_number);
        plan.touched.numbers.insert(row.phone_number);
        if current.active && !row.active {
            plan.counts.disabled += 1;
            plan.disabled.push(row.external_id);
        } else {
            plan.counts.updated += 1;
            plan.updated.push(row.external_id);
        }
        if current.active && (!row.active || current.phone_number != row.phone_number) {
            plan.park.push(&current.id);
        }
        plan.writes.push((current.id.clone(), row));
    }
    if batch.sync {
        for (external_id, current) in existing {
            if current.active && !batch.listed.contains(external_id.as_str()) {
                plan.touched.employees.insert(&current.id);
                plan.touched.numbers.insert(&current.phone_number);
                plan.leavers.push(&current.id);
                plan.disabled.push(external_id);
            }
        }
        plan.counts.disabled += plan.leavers.len() as u64;
    }
    plan
}

fn owned(ids: &[&str]) -> Vec<String> {
    let mut owned: Vec<String> = ids.iter().map(|id| (*id).to_owned()).collect();
    owned.sort_unstable();
    owned
}

/// Every employee, by `external_id`.
async fn load_employees(tx: &mut Transaction<'_, Any>) -> Result<HashMap<String, Existing>> {
    let rows =
        sqlx::query("select id, external_id, phone_number, name, email, disabled_at from users")
            .fetch_all(&mut **tx)
            .await?;
    let mut employees = HashMap::with_capacity(rows.len());
    for row in rows {
        let disabled_at: Option<i64> = row.try_get("disabled_at")?;
        employees.insert(
            row.try_get("external_id")?,
            Existing {
                id: row.try_get("id")?,
                phone_number: row.try_get("phone_number")?,
                name: row.try_get("name")?,
                email: row.try_get("email")?,
                active: disabled_at.is_none(),
            },
        );
    }
    Ok(employees)
}

/// Active rows whose number belongs to an active employee the file does not list (in merge
/// mode they stay active, so two active employees would share the number).
fn collisions(
    batch: &ImportBatch<'_>,
    existing: &HashMap<String, Existing>,
) -> Vec<(usize, String)> {
    if batch.sync {
        return Vec::new();
    }
    let holders: HashMap<&str, &str> = existing
        .iter()
        .filter(|(external_id, employee)| {
            employee.active && !batch.listed.contains(external_id.as_str())
        })
        .map(|(external_id, employee)| (employee.phone_number.as_str(), external_id.as_str()))
        .collect();
    batch
        .rows
        .iter()
        .enumerate()
        .filter(|(_, row)| row.active)
        .filter_map(|(index, row)| {
            holders
                .get(row.phone_number)
                .map(|holder| (index, (*holder).to_owned()))
        })
        .collect()
}

/// Binds a list of text values in order.
trait BindAll<'q> {
    fn bind_all(self, values: &'q [&'q str]) -> Self;
}

impl<'q> BindAll<'q> for Query<'q> {
    fn bind_all(self, values: &'q [&'q str]) -> Self {
        values.iter().fold(self, |query, value| query.bind(*value))
    }
}
