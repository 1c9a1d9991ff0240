//! API keys for admins and downstream introspection. A key is shown once, at creation; only
//! its SHA-256 is stored (a key is 256 random bits, so a fast hash is enough).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use rand::rngs::OsRng;
use ring::digest;
use secrecy::{ExposeSecret, SecretString};

use crate::error::{Error, Result};
use crate::store::{ApiKey, ApiKeyRole, Database};

/// Recognisable prefix, so a leaked key is easy to spot in a scanner.
const PREFIX: &str = "sesame_";

pub struct IssuedApiKey {
    pub record: ApiKey,
    /// The secret itself; never stored, shown to the caller once.
    pub key: SecretString,
}

pub fn hash_api_key(key: &str) -> String {
    hex::encode(digest::digest(&digest::SHA256, key.as_bytes()))
}

pub async fn issue_api_key(
    db: &Database,
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
    let mut secret = [0u8; 32];
    OsRng.fill_bytes(&mut secret);
    let key = SecretString::from(format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(secret)));
    let record = db
        .create_api_key(name, role, &hash_api_key(key.expose_secret()), now)
        .await?;
    Ok(IssuedApiKey { record, key })
}
