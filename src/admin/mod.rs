//! Administration services. Each operation decides, writes (in one transaction where the
//! store allows it) and appends its own audit event; the JSON API, the CLI and the admin
//! console call the same methods and only translate in and out. No method knows HTTP.

mod api_keys;
mod audit_log;
mod console_sessions;
mod employees;
mod import;
mod import_file;
mod key_cache;
mod numbers;
mod overview;
mod people;
mod sessions;
mod valid_employee;

use std::sync::Arc;

pub use api_keys::{ApiKeys, IssuedApiKey, KeyHolder};
pub use audit_log::AuditLog;
pub use console_sessions::{ConsoleSessions, ConsoleUser, IDLE_TIMEOUT, SignedIn};
pub use employees::{Disabled, EmployeeFields, Employees, Saved};
pub use import::{Import, ImportFormat, ImportMode};
pub use numbers::Numbers;
pub use overview::{HOURS, Overview, Series, Summary};
pub use people::{Found, People, Person};
pub use sessions::Sessions;
use valid_employee::{FieldProblem, ValidEmployee};

use crate::clock::Clock;
use crate::config::Config;
use crate::domain::{Actor, AuditAction};
use crate::login::LoginService;
use crate::store::{AuditEvent, Database, Ephemeral, Health};
use crate::tokens::TokenService;

/// Every admin service, as the app state holds them.
pub struct Admin {
    pub employees: Employees,
    pub import: Import,
    pub sessions: Sessions,
    pub api_keys: ApiKeys,
    pub numbers: Numbers,
    pub audit_log: AuditLog,
    pub people: People,
    pub overview: Overview,
    /// Admin console sign-in and sessions.
    pub console: ConsoleSessions,
}

/// What the admin services are built from.
pub struct Parts {
    pub config: Arc<Config>,
    pub clock: Clock,
    pub db: Database,
    pub ephemeral: Arc<dyn Ephemeral>,
    pub health: Health,
    pub login: Arc<LoginService>,
    pub tokens: Arc<TokenService>,
}

impl Admin {
    pub fn new(parts: Parts) -> Self {
        let Parts {
            config,
            clock,
            db,
            ephemeral,
            health,
            login,
            tokens,
        } = parts;
        let employees = Employees::new(db.clone(), config.clone());
        let api_keys = ApiKeys::new(db.clone(), config.clone(), clock.clone());
        Self {
            import: Import::new(db.clone(), config.clone()),
            sessions: Sessions::new(db.clone()),
            numbers: Numbers::new(db.clone(), login),
            audit_log: AuditLog::new(db.clone(), &config, clock),
            people: People::new(db.clone(), employees.clone()),
            overview: Overview::new(db.clone(), config.clone(), health, tokens, api_keys.clone()),
            console: ConsoleSessions::new(db, config, api_keys.clone(), ephemeral),
            employees,
            api_keys,
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
