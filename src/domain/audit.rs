//! What the audit log records: the action taken and who took it. Both render here and only
//! here, so the strings stored stay the same wherever an event is written
//! (docs/contract-notes.md, "Audit log").

use std::fmt;

/// Every action Sesame audits. The stored text is [`AuditAction::as_str`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditAction {
    LoginSucceeded,
    LoginFailed,
    /// A start or a code check refused by an abuse limit.
    LoginRefused,
    EmployeeUpserted,
    EmployeeDisabled,
    EmployeesImported,
    EmployeesImportRejected,
    SessionRevoked,
    TokenRevoked,
    IdentityRevoked,
    ApiKeyCreated,
    ApiKeyRevoked,
    ApiKeyRoleChanged,
    NumberUnlocked,
    /// An API key opened an admin console session.
    ConsoleSignedIn,
    ConsoleSignedOut,
    /// A console sign-in with a key that is unknown, revoked or of another role, or refused
    /// by the rate limit.
    ConsoleSignInFailed,
}

impl AuditAction {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::LoginSucceeded => "login.succeeded",
            Self::LoginFailed => "login.failed",
            Self::LoginRefused => "login.refused",
            Self::EmployeeUpserted => "employee.upserted",
            Self::EmployeeDisabled => "employee.disabled",
            Self::EmployeesImported => "employees.imported",
            Self::EmployeesImportRejected => "employees.import_rejected",
            Self::SessionRevoked => "session.revoked",
            Self::TokenRevoked => "token.revoked",
            Self::IdentityRevoked => "identity.revoked",
            Self::ApiKeyCreated => "api_key.created",
            Self::ApiKeyRevoked => "api_key.revoked",
            Self::ApiKeyRoleChanged => "api_key.role_changed",
            Self::NumberUnlocked => "number.unlocked",
            Self::ConsoleSignedIn => "console.signed_in",
            Self::ConsoleSignedOut => "console.signed_out",
            Self::ConsoleSignInFailed => "console.sign_in_failed",
        }
    }
}

impl fmt::Display for AuditAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How the audit log names someone logging in: this, then their number (E.164).
pub const PHONE_ACTOR_PREFIX: &str = "phone:";

/// How the actor [`Actor::Identity`] starts; the rest is the identity's `sub`.
pub const IDENTITY_ACTOR_PREFIX: &str = "identity:";

/// Who did something, as the audit log names them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    /// A stored API key: `api-key:<name>`.
    ApiKey { name: String },
    /// `SESAME_ADMIN_API_KEY`: `api-key:bootstrap`.
    BootstrapKey,
    /// Someone logging in with this number (E.164): `phone:<E.164>`.
    Phone(String),
    /// The holder of a session's tokens (the `sub`): `identity:<sub>`.
    Identity(String),
    /// The command line: `cli`.
    Cli,
    /// Someone who presented no valid credential (a failed console sign-in): `anonymous`.
    Anonymous,
}

impl fmt::Display for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ApiKey { name } => write!(f, "api-key:{name}"),
            Self::BootstrapKey => f.write_str("api-key:bootstrap"),
            Self::Phone(number) => write!(f, "{PHONE_ACTOR_PREFIX}{number}"),
            Self::Identity(sub) => write!(f, "{IDENTITY_ACTOR_PREFIX}{sub}"),
            Self::Cli => f.write_str("cli"),
            Self::Anonymous => f.write_str("anonymous"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actors_render_as_the_log_names_them() {
        let rendered = [
            Actor::ApiKey {
                name: "hr-sync".into(),
            },
            Actor::BootstrapKey,
            Actor::Phone("+447700900123".into()),
            Actor::Identity("0b5e".into()),
            Actor::Cli,
            Actor::Anonymous,
        ]
        .map(|actor| actor.to_string());
        assert_eq!(
            rendered,
            [
                "api-key:hr-sync",
                "api-key:bootstrap",
                "phone:+447700900123",
                "identity:0b5e",
                "cli",
                "anonymous"
            ]
        );
    }
}
