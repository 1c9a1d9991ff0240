//! An identity's sessions, and an admin's revocation of a token, a session or an identity
//! (docs/contract-notes.md, "Token lifecycle").

use crate::domain::Actor;
use crate::error::{Error, Result};
use crate::store::{Database, RevokeTarget, SessionRecord};
use crate::tokens::revoke;

/// `revoked_reason` of what an admin (or the CLI) revokes.
const BY_ADMIN: &str = "admin";

#[derive(Clone)]
pub struct Sessions {
    db: Database,
}

impl Sessions {
    pub fn new(db: Database) -> Self {
        Self { db }
    }

    /// Up to `limit` sessions of identity `sub`, newest first, after `after` (`created_at`,
    /// `sid`). `NotFound` for an unknown identity.
    pub async fn of_identity(
        &self,
        sub: &str,
        after: Option<&(i64, String)>,
        limit: i64,
    ) -> Result<Vec<SessionRecord>> {
        if !self.db.identity_exists(sub).await? {
            return Err(Error::NotFound);
        }
        Ok(self.db.identity_sessions(sub, after, limit).await?)
    }

    /// Revokes `target` (audited, with reason `admin`). Idempotent: a target revoked before
    /// keeps its first revocation time. `NotFound` for one that never existed.
    pub async fn revoke(
        &self,
        actor: &Actor,
        ip: Option<&str>,
        target: RevokeTarget<'_>,
        now: i64,
    ) -> Result<()> {
        if revoke(&self.db, target, BY_ADMIN, actor, ip, now).await? {
            Ok(())
        } else {
            Err(Error::NotFound)
        }
    }
}
