//! Revoking tokens, sessions and identities (API.md, `/oauth/revoke`, `/v1/logout`, admin).

use super::{ACCESS_TYP, AccessClaims, REFRESH_TYP, RefreshClaims, TokenService};
use crate::error::Result;
use crate::store::{AuditEvent, Database, RevokeTarget};

/// Revokes `target`, counts it and records who did it. `false` when the target does not
/// exist. Revoking what is already revoked succeeds (idempotent) and keeps the first time.
pub async fn revoke(
    db: &Database,
    target: RevokeTarget<'_>,
    reason: &str,
    actor: &str,
    ip: Option<&str>,
    now: i64,
) -> Result<bool> {
    let Some(newly) = db.revoke(target, reason, now).await? else {
        return Ok(false);
    };
    if newly > 0 {
        metrics::counter!("sesame_tokens_revoked_total", "scope" => target.scope()).increment(1);
    }
    let action = format!("{}.revoked", target.scope());
    db.append_audit(&AuditEvent {
        at: now,
        actor,
        action: &action,
        subject: Some(target.id()),
        ip,
        detail: Some(serde_json::json!({ "reason": reason, "newly_revoked": newly }).to_string()),
    })
    .await?;
    Ok(true)
}

/// Whose session a token belongs to.
pub struct TokenOwner {
    pub sid: String,
    pub sub: String,
}

impl TokenService {
    /// The session of an access or refresh token we signed, expired or not (an expired access
    /// token may still log its session out); `None` for anything else.
    pub fn owner_of(&self, token: &str) -> Option<TokenOwner> {
        if let Ok(claims) = self.verify::<AccessClaims>(token, ACCESS_TYP, &self.config.audience) {
            return Some(TokenOwner {
                sid: claims.sid,
                sub: claims.sub,
            });
        }
        self.verify::<RefreshClaims>(token, REFRESH_TYP, &self.config.issuer)
            .ok()
            .map(|claims| TokenOwner {
                sid: claims.sid,
                sub: claims.sub,
            })
    }
}
