//! Administration services. Each operation decides, writes (in one transaction where the
//! store allows it) and appends its own audit event; the JSON API, the CLI and the admin
//! console call the same methods and only translate in and out. No method knows HTTP.

mod api_keys;
mod audit_log;
mod employees;
mod import;
mod import_file;
mod numbers;
mod sessions;
mod valid_employee;

use std::sync::Arc;

pub use api_keys::{ApiKeys, IssuedApiKey, KeyHolder};
pub use audit_log::AuditLog;
pub use employees::{Disabled, EmployeeFields, Employees, Saved};
pub use import::{Import, ImportFormat, ImportMode};
pub use numbers::Numbers;
pub use sessions::Sessions;
use valid_employee::{FieldProblem, ValidEmployee};

use crate::config::Config;
use crate::domain::{Actor, AuditAction};
use crate::login::LoginService;
use crate::store::{AuditEvent, Database};

/// Every admin service, as the app state holds them.
pub struct Admin {
    pub employees: Employees,
    pub import: Import,
    pub sessions: Sessions,
    pub api_keys: ApiKeys,
    pub numbers: Numbers,
    pub audit_log: AuditLog,
}

impl Admin {
    pub fn new(config: Arc<Config>, db: Database, login: Arc<LoginService>) -> Self {
        Self {
            employees: Employees::new(db.clone(), config.clone()),
            import: Import::new(db.clone(), config.clone()),
            sessions: Sessions::new(db.clone()),
            api_keys: ApiKeys::new(db.clone(), config),
            numbers: Numbers::new(db.clone(), login),
            audit_log: AuditLog::new(db),
        }
    }
}

/// What every audit event of one call shares: who acts, from where, when.
#[derive(Clone, Copy)]
struct Call<'a> {
    actor: &'a Actor,
    ip: Option<&'a str>,
    now: i64,
}

impl<'a> Call<'a> {
    fn new(actor: &'a Actor, ip: Option<&'a str>, now: i64) -> Self {
        Self { actor, ip, now }
    }

    fn event(
        self,
        action: AuditAction,
        subject: Option<&'a str>,
        detail: Option<serde_json::Value>,
    ) -> AuditEvent<'a> {
        AuditEvent {
            at: self.now,
            actor: self.actor,
            action,
            subject,
            ip: self.ip,
            detail: detail.map(|detail| detail.to_string()),
        }
    }
}
