//! API keys for admins and downstream introspection (docs/contract-notes.md, "API keys"). A
//! key is shown once, at creation; only its SHA-256 is stored (a key is 256 random bits, so a
//! fast hash is enough).

use std::sync::Arc;

use aws_lc_rs::digest;
use secrecy::{ExposeSecret, SecretString};
use subtle::ConstantTimeEq;

use super::Call;
use super::key_cache::KeyCache;
use crate::clock::Clock;
use crate::config::Config;
use crate::domain::{Actor, AuditAction, random_url_safe};
use crate::error::{Error, Result};
use crate::store::{ApiKey, ApiKeyRole, Database};

/// Recognisable prefix, so a leaked key is easy to spot in a scanner.
const PREFIX: &str = "sesame_";

#[derive(Clone)]
pub struct ApiKeys {
    db: Database,
    config: Arc<Config>,
    cache: KeyCache,
}

pub struct IssuedApiKey {
    pub record: ApiKey,
    /// The secret itself; never stored, shown to the caller once.
    pub key: SecretString,
}

/// Who presented a valid key, and what the key may do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyHolder {
    pub role: ApiKeyRole,
    pub actor: Actor,
    /// The stored key's id; `None` for `SESAME_ADMIN_API_KEY`.
    pub key_id: Option<String>,
}

impl ApiKeys {
    pub fn new(db: Database, config: Arc<Config>, clock: Clock) -> Self {
        Self {
            db,
            config,
            cache: KeyCache::new(clock),
        }
    }

    /// The holder of `presented`: the bootstrap `SESAME_ADMIN_API_KEY` (role admin) or a live
    /// stored key; `None` for anything else. Asks the database every time.
    pub async fn authenticate(&self, presented: &str) -> Result<Option<KeyHolder>> {
        if let Some(holder) = self.bootstrap(presented) {
            return Ok(Some(holder));
        }
        let stored = self.db.find_api_key(&hash(presented)).await?;
        Ok(stored.map(holder))
    }

    /// Like [`Self::authenticate`], but may answer from this node's memory of lookups made
    /// up to five seconds ago (`key_cache.rs`): for introspection and the revocation feed,
    /// never for the admin API or the console.
    pub async fn authenticate_cached(&self, presented: &str) -> Result<Option<KeyHolder>> {
        if let Some(holder) = self.bootstrap(presented) {
            return Ok(Some(holder));
        }
        let key_hash = hash(presented);
        let stored = match self.cache.get(&key_hash) {
            Some(remembered) => remembered,
            None => {
                let generation = self.cache.generation();
                let found = self.db.find_api_key(&key_hash).await?;
                self.cache.remember(key_hash, found.clone(), generation);
                found
            }
        };
        Ok(stored.map(holder))
    }

    fn bootstrap(&self, presented: &str) -> Option<KeyHolder> {
        let bootstrap = self.config.admin_api_key.as_ref()?;
        bool::from(
            presented
                .as_bytes()
                .ct_eq(bootstrap.expose_secret().as_bytes()),
        )
        .then_some(KeyHolder {
            role: ApiKeyRole::Admin,
            actor: Actor::BootstrapKey,
            key_id: None,
        })
    }

    /// Whether an `admin` key exists: `SESAME_ADMIN_API_KEY` or a live stored key. Without
    /// one the admin console is off.
    pub async fn admin_exists(&self) -> Result<bool> {
        Ok(self.config.admin_api_key.is_some() || self.db.has_live_admin_key().await?)
    }

    /// Creates a key named `name` (1 to 100 characters) with `role`; audited.
    pub async fn create(
        &self,
        actor: &Actor,
        ip: Option<&str>,
        name: &str,
        role: ApiKeyRole,
        now: i64,
    ) -> Result<IssuedApiKey> {
        let name = name.trim();
        if name.is_empty() || name.len() > 100 {
            return Err(Error::InvalidRequest(
                "name must be 1 to 100 characters".into(),
            ));
        }
        let key = SecretString::from(format!("{PREFIX}{}", random_url_safe::<32>()));
        let record = self
            .db
            .create_api_key(name, role, &hash(key.expose_secret()), now)
            .await?;
        let call = Call::new(actor, ip, now);
        self.audit(call, AuditAction::ApiKeyCreated, &record.id)
            .await?;
        Ok(IssuedApiKey { record, key })
    }

    /// Every key, newest first, revoked ones included.
    pub async fn list(&self) -> Result<Vec<ApiKey>> {
        Ok(self.db.list_api_keys().await?)
    }

    /// Revokes the key with id `id`; audited. Idempotent; `NotFound` for an unknown id.
    pub async fn revoke(&self, actor: &Actor, ip: Option<&str>, id: &str, now: i64) -> Result<()> {
        self.revoke_matching(actor, ip, id, false, now).await?;
        Ok(())
    }

    /// Revokes the key with id `key` or every key named `key`; each is audited. Returns how
    /// many matched; `NotFound` when none did.
    pub async fn revoke_by_id_or_name(
        &self,
        actor: &Actor,
        ip: Option<&str>,
        key: &str,
        now: i64,
    ) -> Result<usize> {
        self.revoke_matching(actor, ip, key, true, now).await
    }

    async fn revoke_matching(
        &self,
        actor: &Actor,
        ip: Option<&str>,
        key: &str,
        by_name: bool,
        now: i64,
    ) -> Result<usize> {
        let ids = self.db.revoke_api_keys(key, by_name, now).await?;
        self.cache.forget(&ids);
        if ids.is_empty() {
            return Err(Error::NotFound);
        }
        let call = Call::new(actor, ip, now);
        for id in &ids {
            self.audit(call, AuditAction::ApiKeyRevoked, id).await?;
        }
        Ok(ids.len())
    }

    /// Gives the live key with id `id` another role; audited. `NotFound` for an unknown or
    /// revoked id: a revoked key is gone (`DELETE`), and no role brings it back.
    pub async fn set_role(
        &self,
        actor: &Actor,
        ip: Option<&str>,
        id: &str,
        role: ApiKeyRole,
        now: i64,
    ) -> Result<ApiKey> {
        let record = self
            .db
            .set_api_key_role(id, role)
            .await?
            .ok_or(Error::NotFound)?;
        self.cache.forget(std::slice::from_ref(&record.id));
        let call = Call::new(actor, ip, now);
        let detail = serde_json::json!({ "role": role.as_str() });
        self.db
            .append_audit(&call.event(AuditAction::ApiKeyRoleChanged, Some(id), Some(detail)))
            .await?;
        Ok(record)
    }

    async fn audit(&self, call: Call<'_>, action: AuditAction, id: &str) -> Result<()> {
        Ok(self
            .db
            .append_audit(&call.event(action, Some(id), None))
            .await?)
    }
}

fn holder(key: ApiKey) -> KeyHolder {
    KeyHolder {
        role: key.role,
        actor: Actor::ApiKey { name: key.name },
        key_id: Some(key.id),
    }
}

/// SHA-256 (hex): what is stored of a key or a console session id (256 random bits each,
/// so a fast hash is enough).
pub(super) fn hash(key: &str) -> String {
    hex::encode(digest::digest(&digest::SHA256, key.as_bytes()))
}
