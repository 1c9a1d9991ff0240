//! Finding people: employees and phone identities by name, external id or number (in any
//! accepted spelling), and one identity with its employee and sessions.

use super::Employees;
use crate::domain::PhoneNumber;
use crate::error::{Error, Result};
use crate::store::{Database, Employee, Identity, SessionRecord};

/// Results per kind in one search.
const SEARCH_LIMIT: i64 = 50;

#[derive(Clone)]
pub struct People {
    db: Database,
    employees: Employees,
}

/// What a search found.
#[derive(Debug, Default)]
pub struct Found {
    pub employees: Vec<Employee>,
    pub identities: Vec<Identity>,
}

/// One phone identity, its employee and a page of its sessions.
#[derive(Debug)]
pub struct Person {
    pub identity: Identity,
    /// The employee its last login was linked to or, when none is, the active employee
    /// holding its number now.
    pub employee: Option<Employee>,
    /// Whether `employee` is the one linked at the last login.
    pub linked: bool,
    /// Newest first.
    pub sessions: Vec<SessionRecord>,
}

impl People {
    pub fn new(db: Database, employees: Employees) -> Self {
        Self { db, employees }
    }

    /// Employees whose name contains `q` (case-insensitive), whose external id is `q`, or
    /// whose number `q` spells; and the phone identities of that number, of those employees
    /// (linked or holding their number) or whose `sub` is `q`. At most 50 of each.
    pub async fn search(&self, q: &str) -> Result<Found> {
        let q = q.trim();
        if q.is_empty() {
            return Ok(Found::default());
        }
        let employees = self.employees.search(Some(q), None, SEARCH_LIMIT).await?;
        let number = PhoneNumber::parse(q).ok();
        let mut numbers: Vec<&str> = employees
            .iter()
            .map(|employee| employee.phone_number.as_str())
            .collect();
        numbers.extend(number.as_ref().map(PhoneNumber::as_str));
        let user_ids: Vec<&str> = employees
            .iter()
            .map(|employee| employee.id.as_str())
            .collect();
        let identities = self
            .db
            .find_identities(Some(q), &numbers, &user_ids, SEARCH_LIMIT)
            .await?;
        Ok(Found {
            employees,
            identities,
        })
    }

    /// The identity `sub` with its employee and up to `limit` sessions after `after`
    /// (`created_at`, `sid`), newest first. `NotFound` for an unknown identity.
    pub async fn person(
        &self,
        sub: &str,
        after: Option<&(i64, String)>,
        limit: i64,
    ) -> Result<Person> {
        let identity = self.db.identity(sub).await?.ok_or(Error::NotFound)?;
        let linked = match &identity.user_id {
            Some(user_id) => self.db.employee_by_id(user_id).await?,
            None => None,
        };
        let (employee, linked) = match linked {
            Some(employee) => (Some(employee), true),
            None => (
                self.db
                    .active_employee_by_number(&identity.phone_number)
                    .await?,
                false,
            ),
        };
        let sessions = self.db.identity_sessions(sub, after, limit).await?;
        Ok(Person {
            identity,
            employee,
            linked,
            sessions,
        })
    }

    /// The identity `sub` and its session `sid`. `NotFound` unless both exist and belong
    /// together.
    pub async fn session(&self, sub: &str, sid: &str) -> Result<(Identity, SessionRecord)> {
        let identity = self.db.identity(sub).await?.ok_or(Error::NotFound)?;
        let session = self
            .db
            .identity_session(sub, sid)
            .await?
            .ok_or(Error::NotFound)?;
        Ok((identity, session))
    }
}
