use sqlx::Row;
use sqlx::any::AnyRow;
use uuid::Uuid;

use super::{Database, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiKeyRole {
    Admin,
    Introspect,
    /// Sees everything in the admin console and changes nothing.
    Auditor,
}

impl ApiKeyRole {
    pub const ALL: [Self; 3] = [Self::Admin, Self::Introspect, Self::Auditor];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::Introspect => "introspect",
            Self::Auditor => "auditor",
        }
    }

    pub fn parse(role: &str) -> Option<Self> {
        match role {
            "admin" => Some(Self::Admin),
            "introspect" => Some(Self::Introspect),
            "auditor" => Some(Self::Auditor),
            _ => None,
        }
    }
}

/// A stored API key: only the SHA-256 of the secret is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKey {
    pub id: String,
    pub name: String,
    pub role: ApiKeyRole,
    pub created_at: i64,
    pub revoked_at: Option<i64>,
}

const API_KEY_COLUMNS: &str = "id, name, role, created_at, revoked_at";

impl Database {
    /// The live API key whose SHA-256 is `key_hash`.
    pub async fn find_api_key(&self, key_hash: &str) -> Result<Option<ApiKey>> {
        let row = sqlx::query(&format!(
            "select {API_KEY_COLUMNS} from api_keys where key_hash = $1 and revoked_at is null"
        ))
        .bind(key_hash)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(api_key_from_row).transpose()
    }

    pub async fn create_api_key(
        &self,
        name: &str,
        role: ApiKeyRole,
        key_hash: &str,
        now: i64,
    ) -> Result<ApiKey> {
        let row = sqlx::query(&format!(
            "insert into api_keys (id, name, role, key_hash, created_at)
             values ($1, $2, $3, $4, $5)
             returning {API_KEY_COLUMNS}"
        ))
        .bind(Uuid::new_v4().to_string())
        .bind(name)
        .bind(role.as_str())
        .bind(key_hash)
        .bind(now)
        .fetch_one(&self.pool)
        .await?;
        api_key_from_row(&row)
    }

    /// Revokes the key with this id or, with `by_name`, every key with this name. Returns the
    /// ids of the keys that matched (revoking twice is not an error).
    pub async fn revoke_api_keys(&self, key: &str, by_name: bool, now: i64) -> Result<Vec<String>> {
        let matching = if by_name {
            "id = $1 or name = $1"
        } else {
            "id = $1"
        };
        let ids = sqlx::query_scalar(&format!(
            "update api_keys set revoked_at = coalesce(revoked_at, $2) where {matching}
             returning id"
        ))
        .bind(key)
        .bind(now)
        .fetch_all(&self.pool)
        .await?;
        Ok(ids)
    }

    /// Gives the live key with this id `role`; `None` for an unknown or revoked id.
    pub async fn set_api_key_role(&self, id: &str, role: ApiKeyRole) -> Result<Option<ApiKey>> {
        let row = sqlx::query(&format!(
            "update api_keys set role = $2 where id = $1 and revoked_at is null
             returning {API_KEY_COLUMNS}"
        ))
        .bind(id)
        .bind(role.as_str())
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(api_key_from_row).transpose()
    }

    /// Whether any live key has role `admin` (the admin console is off without one).
    pub async fn has_live_admin_key(&self) -> Result<bool> {
        let found = sqlx::query(
            "select 1 as found from api_keys where role = 'admin' and revoked_at is null limit 1",
        )
        .fetch_optional(&self.pool)
        .await?;
        Ok(found.is_some())
    }

    /// Every key, newest first (revoked ones included, for the record).
    pub async fn list_api_keys(&self) -> Result<Vec<ApiKey>> {
        let rows = sqlx::query(&format!(
            "select {API_KEY_COLUMNS} from api_keys order by created_at desc, id"
        ))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(api_key_from_row).collect()
    }
}

fn api_key_from_row(row: &AnyRow) -> Result<ApiKey> {
    let role: String = row.try_get("role")?;
    let role = ApiKeyRole::parse(&role)
        .ok_or_else(|| sqlx::Error::Decode(format!("unknown API key role {role:?}").into()))?;
    Ok(ApiKey {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        role,
        created_at: row.try_get("created_at")?,
        revoked_at: row.try_get("revoked_at")?,
    })
}
