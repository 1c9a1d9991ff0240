//! Admin console sign-in (docs/contract-notes.md, "Admin console"): an API key of role
//! `admin` or `auditor` opens a server-side session; the browser keeps only the session's
//! random id, never the key. Failed sign-ins are limited per client IP and audited.

use std::sync::Arc;

use secrecy::ExposeSecret;
use serde_json::json;
use subtle::ConstantTimeEq;
use uuid::Uuid;

use super::api_keys::hash;
use super::{ApiKeys, Call, KeyHolder};
use crate::config::Config;
use crate::domain::{Actor, AuditAction, random_url_safe};
use crate::error::{Error, Result};
use crate::store::{Admission, ApiKeyRole, ConsoleSession, Database, Ephemeral, Window};

/// A session unused this long (seconds) has ended.
pub const IDLE_TIMEOUT: i64 = 8 * 3600;
/// `last_seen_at` is written at most this often (seconds), not on every page view.
const TOUCH_EVERY: i64 = 60;
/// At most this many failed sign-ins per client IP in any [`FAILURE_WINDOW`] seconds.
const FAILURE_CAP: u32 = 10;
const FAILURE_WINDOW: i64 = 15 * 60;
const FAILURES: &str = "console_sign_in_failures";

#[derive(Clone)]
pub struct ConsoleSessions {
    db: Database,
    config: Arc<Config>,
    api_keys: ApiKeys,
    ephemeral: Arc<dyn Ephemeral>,
}

/// Who is signed in to the console, with the session's CSRF token.
#[derive(Debug, Clone)]
pub struct ConsoleUser {
    id_hash: String,
    /// The key signed in with, as the audit log names it.
    pub actor: Actor,
    /// That key's id; `None` for `SESAME_ADMIN_API_KEY`.
    pub key_id: Option<String>,
    pub role: ApiKeyRole,
    csrf_token: String,
}

impl ConsoleUser {
    /// Only `admin` keys change anything; `auditor` keys only look.
    pub fn may_change(&self) -> bool {
        self.role == ApiKeyRole::Admin
    }

    /// The token every form of this session carries.
    pub fn csrf_token(&self) -> &str {
        &self.csrf_token
    }

    /// Whether `presented` is this session's CSRF token (compared in constant time).
    pub fn csrf_matches(&self, presented: &str) -> bool {
        bool::from(presented.as_bytes().ct_eq(self.csrf_token.as_bytes()))
    }
}

/// A new session: the cookie's value (shown to the browser only) and its user.
pub struct SignedIn {
    pub session_id: String,
    pub user: ConsoleUser,
}

impl ConsoleSessions {
    pub fn new(
        db: Database,
        config: Arc<Config>,
        api_keys: ApiKeys,
        ephemeral: Arc<dyn Ephemeral>,
    ) -> Self {
        Self {
            db,
            config,
            api_keys,
            ephemeral,
        }
    }

    /// Whether the console is on: it is only while an `admin` key exists.
    pub async fn enabled(&self) -> Result<bool> {
        self.api_keys.admin_exists().await
    }

    /// Opens a session for `key` when it is a live key of role `admin` or `auditor`; audited
    /// either way. `Unauthorized` for any other key; `RateLimited` once the client IP has
    /// failed [`FAILURE_CAP`] times in [`FAILURE_WINDOW`] seconds (a success does not count).
    pub async fn sign_in(&self, key: &str, ip: Option<&str>, now: i64) -> Result<SignedIn> {
        let tag = format!("console:{}", crate::login::ip_tag(ip.unwrap_or("unknown")));
        let attempt = Uuid::new_v4().to_string();
        let window = Window::log(FAILURES, FAILURE_CAP, FAILURE_WINDOW);
        let admission = self.ephemeral.admit(&tag, &[window], &attempt, now).await?;
        if let Admission::Refused { retry_after, .. } = admission {
            let retry_after = u64::try_from(retry_after).unwrap_or(0).max(1);
            let detail = json!({ "reason": "rate_limited", "retry_after": retry_after });
            self.audit_failure(&Actor::Anonymous, ip, now, detail)
                .await?;
            return Err(Error::RateLimited { retry_after });
        }
        let holder = match self.api_keys.authenticate(key).await? {
            Some(holder) if may_use_the_console(holder.role) => holder,
            Some(KeyHolder { actor, role, .. }) => {
                let detail = json!({ "reason": "role", "role": role.as_str() });
                self.audit_failure(&actor, ip, now, detail).await?;
                return Err(Error::Unauthorized);
            }
            None => {
                let detail = json!({ "reason": "unknown_key" });
                self.audit_failure(&Actor::Anonymous, ip, now, detail)
                    .await?;
                return Err(Error::Unauthorized);
            }
        };
        let windows = [window];
        let withdrawn = self.ephemeral.withdraw(&tag, &windows, &attempt, now);
        if let Err(err) = withdrawn.await {
            tracing::warn!(error = %err, "could not take a successful sign-in out of the failures");
        }
        let session_id = random_url_safe::<32>();
        let name = match &holder.actor {
            Actor::ApiKey { name } => name.clone(),
            _ => "bootstrap".to_owned(),
        };
        let bootstrap_binding = match holder.key_id {
            Some(_) => None,
            None => Some(bootstrap_binding(&session_id, key)),
        };
        let session = ConsoleSession {
            id_hash: hash(&session_id),
            key_id: holder.key_id,
            key_name: name,
            bootstrap_binding,
            role: holder.role,
            csrf_token: random_url_safe::<32>(),
            created_at: now,
            last_seen_at: now,
        };
        self.db
            .create_console_session(&session, now - IDLE_TIMEOUT)
            .await?;
        let detail = json!({ "role": holder.role.as_str() });
        let call = Call::new(&holder.actor, ip, now);
        let event = call.event(AuditAction::ConsoleSignedIn, None, Some(detail));
        self.db.append_audit(&event).await?;
        Ok(SignedIn {
            session_id,
            user: user_of(session),
        })
    }

    /// The user of the session whose cookie holds `session_id`, while it is neither idle for
    /// [`IDLE_TIMEOUT`] nor opened with a key revoked (or, for `SESAME_ADMIN_API_KEY`, unset
    /// or replaced) since, nor with a key re-roled to a role that may not use the console. The
    /// user has the key's current role. Each use slides the idle timeout.
    pub async fn session(&self, session_id: &str, now: i64) -> Result<Option<ConsoleUser>> {
        let id_hash = hash(session_id);
        let Some(session) = self
            .db
            .console_session(&id_hash, now - IDLE_TIMEOUT)
            .await?
        else {
            return Ok(None);
        };
        if session.key_id.is_none() && !self.opened_with_the_bootstrap_key_now(&session, session_id)
        {
            return Ok(None);
        }
        if !may_use_the_console(session.role) {
            // Ended for good: the key given a console role again signs in afresh.
            self.db.delete_console_session(&id_hash).await?;
            return Ok(None);
        }
        if now - session.last_seen_at >= TOUCH_EVERY {
            self.db.touch_console_session(&id_hash, now).await?;
        }
        Ok(Some(user_of(session)))
    }

    /// Whether a session of `SESAME_ADMIN_API_KEY` was opened with the key the variable holds
    /// now: once it is unset or changed (a leaked key replaced), its sessions end.
    fn opened_with_the_bootstrap_key_now(
        &self,
        session: &ConsoleSession,
        session_id: &str,
    ) -> bool {
        let (Some(key), Some(stored)) = (&self.config.admin_api_key, &session.bootstrap_binding)
        else {
            return false;
        };
        let expected = bootstrap_binding(session_id, key.expose_secret());
        bool::from(expected.as_bytes().ct_eq(stored.as_bytes()))
    }

    /// Ends `user`'s session; audited.
    pub async fn sign_out(&self, user: &ConsoleUser, ip: Option<&str>, now: i64) -> Result<()> {
        self.db.delete_console_session(&user.id_hash).await?;
        let event =
            Call::new(&user.actor, ip, now).event(AuditAction::ConsoleSignedOut, None, None);
        Ok(self.db.append_audit(&event).await?)
    }

    async fn audit_failure(
        &self,
        actor: &Actor,
        ip: Option<&str>,
        now: i64,
        detail: serde_json::Value,
    ) -> Result<()> {
        let call = Call::new(actor, ip, now);
        let event = call.event(AuditAction::ConsoleSignInFailed, None, Some(detail));
        Ok(self.db.append_audit(&event).await?)
    }
}

/// Binds a session of `SESAME_ADMIN_API_KEY` to the key it was opened with: SHA-256 (hex) of
/// the cookie's id, a zero byte and the key. Only a request carrying the cookie can recompute
/// it (the database keeps the id's hash alone), so the stored value tells nothing about a key
/// an operator may have chosen weak.
fn bootstrap_binding(session_id: &str, key: &str) -> String {
    hash(&format!("{session_id}\0{key}"))
}

/// Admins change things in the console and auditors read it; an `introspect` key may not
/// sign in, nor keep a session it was re-roled into.
fn may_use_the_console(role: ApiKeyRole) -> bool {
    matches!(role, ApiKeyRole::Admin | ApiKeyRole::Auditor)
}

fn user_of(session: ConsoleSession) -> ConsoleUser {
    let actor = match &session.key_id {
        Some(_) => Actor::ApiKey {
            name: session.key_name,
        },
        None => Actor::BootstrapKey,
    };
    ConsoleUser {
        id_hash: session.id_hash,
        actor,
        key_id: session.key_id,
        role: session.role,
        csrf_token: session.csrf_token,
    }
}
