//! What makes an employee record valid, for the single upsert and the bulk import alike.

use std::collections::HashMap;

use crate::domain::PhoneNumber;
use crate::error::Error;
use crate::store::EmployeeUpsert;

const MAX_EXTERNAL_ID: usize = 128;
const MAX_NAME: usize = 256;
const MAX_EMAIL: usize = 320;

/// An employee record whose fields are valid: trimmed, the number in E.164.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidEmployee {
    pub external_id: String,
    pub phone_number: String,
    pub name: String,
    pub email: Option<String>,
    pub active: bool,
}

/// One thing wrong with an employee record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldProblem {
    ExternalId,
    Name,
    Email,
    PhoneNumber,
    /// An active employee's number is one of `SESAME_TEST_NUMBERS`.
    TestNumber,
}

impl FieldProblem {
    pub fn message(&self) -> String {
        match self {
            Self::ExternalId => {
                format!("external_id must be 1 to {MAX_EXTERNAL_ID} characters (no NUL)")
            }
            Self::Name => format!("name must be 1 to {MAX_NAME} characters (no NUL)"),
            Self::Email => format!("email must be at most {MAX_EMAIL} characters (no NUL)"),
            Self::PhoneNumber => "phone_number is not a valid phone number".to_owned(),
            Self::TestNumber => "phone_number is a test number (SESAME_TEST_NUMBERS): \
                                 an active employee cannot have it"
                .to_owned(),
        }
    }
}

impl From<FieldProblem> for Error {
    fn from(problem: FieldProblem) -> Self {
        match problem {
            FieldProblem::PhoneNumber => Error::InvalidPhoneNumber,
            FieldProblem::TestNumber => Error::Conflict(problem.message()),
            other => Error::InvalidRequest(other.message()),
        }
    }
}

/// 1 to `max` characters, none of them NUL (which Postgres cannot store in text).
fn fits(field: &str, max: usize) -> bool {
    !field.is_empty() && field.chars().count() <= max && !field.contains('\0')
}

impl ValidEmployee {
    /// Checks every field; on failure returns every problem, in field order.
    pub fn parse(
        external_id: &str,
        phone_number: &str,
        name: &str,
        email: Option<&str>,
        active: bool,
    ) -> Result<Self, Vec<FieldProblem>> {
        let mut problems = Vec::new();
        let external_id = external_id.trim();
        if !fits(external_id, MAX_EXTERNAL_ID) {
            problems.push(FieldProblem::ExternalId);
        }
        let name = name.trim();
        if !fits(name, MAX_NAME) {
            problems.push(FieldProblem::Name);
        }
        let email = email.map(str::trim).filter(|email| !email.is_empty());
        if email.is_some_and(|email| !fits(email, MAX_EMAIL)) {
            problems.push(FieldProblem::Email);
        }
        let number = PhoneNumber::parse(phone_number);
        if number.is_err() {
            problems.push(FieldProblem::PhoneNumber);
        }
        match number {
            Ok(number) if problems.is_empty() => Ok(Self {
                external_id: external_id.to_owned(),
                phone_number: number.as_str().to_owned(),
                name: name.to_owned(),
                email: email.map(str::to_owned),
                active,
            }),
            _ => Err(problems),
        }
    }

    /// A test number logs in with a fixed code that anyone who reads the configuration knows,
    /// so it never belongs to an active employee.
    pub fn check_not_a_test_number(
        &self,
        test_numbers: &HashMap<String, String>,
    ) -> Result<(), FieldProblem> {
        if self.active && test_numbers.contains_key(&self.phone_number) {
            Err(FieldProblem::TestNumber)
        } else {
            Ok(())
        }
    }

    pub fn as_upsert(&self) -> EmployeeUpsert<'_> {
        EmployeeUpsert {
            external_id: &self.external_id,
            phone_number: &self.phone_number,
            name: &self.name,
            email: self.email.as_deref(),
            active: self.active,
        }
    }
}
