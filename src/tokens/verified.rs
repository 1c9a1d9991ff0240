//! A node's memory of the access tokens whose signature and claims it has verified. A
//! downstream API presents the same access token on every request it serves for that client
//! (introspection, `/v1/me`), and checking an Ed25519 signature was a fifth of an
//! introspection's CPU. What a token's bytes prove never changes, so a token verified once is
//! taken at its remembered claims while the key that signed it is still in the key set; its
//! times, its row and its session's state are still read on every call (`authenticate`).

use std::sync::Arc;

use aws_lc_rs::digest::{SHA256, digest};
use quick_cache::sync::Cache;

use super::{AccessClaims, KeySet};
use crate::error::Result;

/// How many tokens a node remembers (quick_cache keeps the recently and often used ones): a
/// few hundred bytes each, so at most a few megabytes.
const CAPACITY: usize = 4_096;

/// Keyed by the SHA-256 of the whole token: a token that differs in any byte (its payload,
/// its signature) is another token, and the key holds no secret.
pub struct VerifiedAccessTokens {
    remembered: Cache<[u8; 32], Arc<Verified>>,
}

struct Verified {
    /// The key that verified the token: a token whose key has left the key set (removed from
    /// the keys folder) is verified afresh, and fails.
    kid: String,
    claims: AccessClaims,
}

impl VerifiedAccessTokens {
    pub fn new() -> Self {
        Self {
            remembered: Cache::new(CAPACITY),
        }
    }

    /// The claims of `token`: remembered, when it verified before with a key `keys` still
    /// holds; otherwise from `verify` (the claims and the kid of the key that verified them),
    /// remembered when it succeeds.
    pub fn get_or_verify(
        &self,
        token: &str,
        keys: &KeySet,
        verify: impl FnOnce() -> Result<(AccessClaims, String)>,
    ) -> Result<AccessClaims> {
        let digest = digest(&SHA256, token.as_bytes());
        let Ok(fingerprint) = <[u8; 32]>::try_from(digest.as_ref()) else {
            // Unreachable (SHA-256 has 32 bytes); verifying without the memory is still right.
            return verify().map(|(claims, _)| claims);
        };
        if let Some(known) = self.remembered.get(&fingerprint)
            && keys.by_kid(&known.kid).is_some()
        {
            return Ok(known.claims.clone());
        }
        let (claims, kid) = verify()?;
        let verified = Verified {
            kid,
            claims: claims.clone(),
        };
        self.remembered.insert(fingerprint, Arc::new(verified));
        Ok(claims)
    }
}
