use sqlx::Row;

use super::{Database, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiKeyRole {
    Admin,
    Introspect,
}

impl ApiKeyRole {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::Introspect => "introspect",
        }
    }

    pub fn parse(role: &str) -> Option<Self> {
        match role {
            "admin" => Some(Self::Admin),
            "introspect" => Some(Self::Introspect),
            _ => None,
        }
    }
}

impl Database {
    /// The role and name of the live API key whose SHA-256 is `key_hash`.
    pub async fn find_api_key(&self, key_hash: &str) -> Result<Option<(ApiKeyRole, String)>> {
        let row = sqlx::query(
            "select role, name from api_keys where key_hash = $1 and revoked_at is null",
        )
        .bind(key_hash)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let role: String = row.try_get("role")?;
        Ok(ApiKeyRole::parse(&role).map(|role| (role, row.try_get("name").unwrap_or_default())))
    }
}
