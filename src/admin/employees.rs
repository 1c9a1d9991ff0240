//! Employee records from the HR system, one at a time: upsert, disable, search
//! (docs/contract-notes.md, "Employees, import and audit").

use std::sync::Arc;

use serde_json::json;

use super::{Call, ValidEmployee};
use crate::config::Config;
use crate::domain::{Actor, AuditAction, PhoneNumber};
use crate::error::{Error, Result};
use crate::store::{AuditEvent, Database, Employee, EmployeeQuery, EndedSession, Upserted};

#[derive(Clone)]
pub struct Employees {
    db: Database,
    config: Arc<Config>,
}

/// An employee's fields as the HR system sent them, before validation.
#[derive(Debug, Clone, Copy)]
pub struct EmployeeFields<'a> {
    pub phone_number: &'a str,
    pub name: &'a str,
    pub email: Option<&'a str>,
    /// `false` disables the employee.
    pub active: bool,
}

/// An upserted employee, and whether the record is new.
#[derive(Debug)]
pub struct Saved {
    pub employee: Employee,
    pub created: bool,
}

/// A disabled employee, and how many of their sessions this ended.
#[derive(Debug)]
pub struct Disabled {
    pub employee: Employee,
    pub sessions_revoked: u64,
}

impl Employees {
    pub fn new(db: Database, config: Arc<Config>) -> Self {
        Self { db, config }
    }

    /// Creates or updates the employee `external_id`: fields checked, a number no other active
    /// employee (and no test number) has. In one transaction with its audit event, the
    /// sessions of anyone this takes a number from end.
    pub async fn upsert(
        &self,
        actor: &Actor,
        ip: Option<&str>,
        external_id: &str,
        fields: &EmployeeFields<'_>,
        now: i64,
    ) -> Result<Saved> {
        let valid = ValidEmployee::parse(
            external_id,
            fields.phone_number,
            fields.name,
            fields.email,
            fields.active,
        )
        .map_err(|problems| {
            problems.into_iter().next().map_or_else(
                || Error::InvalidRequest("invalid employee".into()),
                Error::from,
            )
        })?;
        valid.check_not_a_test_number(&self.config.test_numbers)?;
        let mut tx = self.db.begin().await?;
        let (employee, outcome, ended) = tx
            .upsert_employee(&valid.as_upsert(), now)
            .await
            .map_err(|err| match Error::from(err) {
                Error::Conflict(_) => {
                    Error::Conflict("another active employee already has this phone number".into())
                }
                other => other,
            })?;
        let created = outcome == Upserted::Created;
        let call = Call::new(actor, ip, now);
        let mut events = session_events(call, &ended);
        let detail = json!({
            "created": created,
            "active": employee.active,
            "sessions_revoked": ended.len(),
        });
        let subject = Some(employee.external_id.as_str());
        events.push(call.event(AuditAction::EmployeeUpserted, subject, Some(detail)));
        tx.append_audit(&events).await?;
        tx.commit().await?;
        count_ended(&ended);
        Ok(Saved { employee, created })
    }

    /// Disables the employee `external_id` and, in the same transaction, ends every session
    /// opened for them and audits it. Idempotent: a disabled employee keeps the time they
    /// were first disabled. `NotFound` for an unknown employee.
    pub async fn disable(
        &self,
        actor: &Actor,
        ip: Option<&str>,
        external_id: &str,
        now: i64,
    ) -> Result<Disabled> {
        let mut tx = self.db.begin().await?;
        let (employee, ended) = tx
            .disable_employee(external_id, now)
            .await?
            .ok_or(Error::NotFound)?;
        let call = Call::new(actor, ip, now);
        let mut events = session_events(call, &ended);
        let detail = json!({ "reason": "admin", "sessions_revoked": ended.len() });
        let subject = Some(employee.external_id.as_str());
        events.push(call.event(AuditAction::EmployeeDisabled, subject, Some(detail)));
        tx.append_audit(&events).await?;
        tx.commit().await?;
        count_ended(&ended);
        Ok(Disabled {
            employee,
            sessions_revoked: ended.len() as u64,
        })
    }

    /// Up to `limit` employees after `after` (an `external_id`), in `external_id` order. `q`
    /// matches a name (case-insensitive substring), an external or internal id, or, when it
    /// reads as a phone number in any accepted format, that number.
    pub async fn search(
        &self,
        q: Option<&str>,
        after: Option<&str>,
        limit: i64,
    ) -> Result<Vec<Employee>> {
        let text = q.map(str::trim).filter(|q| !q.is_empty());
        let number = text.and_then(|q| PhoneNumber::parse(q).ok());
        let query = EmployeeQuery {
            text,
            phone_number: number.as_ref().map(PhoneNumber::as_str),
            after,
            limit,
        };
        Ok(self.db.search_employees(&query).await?)
    }

    /// The employee `external_id`, disabled or not.
    pub async fn by_external_id(&self, external_id: &str) -> Result<Option<Employee>> {
        Ok(self.db.employee_by_external_id(external_id).await?)
    }

    /// The employee with internal id `id` (a token's `user_id`), disabled or not.
    pub async fn by_id(&self, id: &str) -> Result<Option<Employee>> {
        Ok(self.db.employee_by_id(id).await?)
    }
}

/// One `session.revoked` per session a change of holder ended, with its reason.
pub(super) fn session_events<'a>(call: Call<'a>, ended: &'a [EndedSession]) -> Vec<AuditEvent<'a>> {
    ended
        .iter()
        .map(|session| {
            let detail = json!({
                "reason": session.reason,
                "sub": session.sub,
                "user_id": session.user_id,
            });
            call.event(
                AuditAction::SessionRevoked,
                Some(&session.sid),
                Some(detail),
            )
        })
        .collect()
}

/// Counts committed sessions ended by a change of holder.
pub(super) fn count_ended(ended: &[EndedSession]) {
    if !ended.is_empty() {
        metrics::counter!("sesame_tokens_revoked_total", "scope" => "employee")
            .increment(ended.len() as u64);
    }
}
