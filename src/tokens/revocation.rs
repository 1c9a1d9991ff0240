//! Revoking tokens, sessions and identities, and the feed of revocations downstream APIs
//! poll (docs/contract-notes.md, "Token lifecycle"). Every revocation (an admin's, the CLI's,
//! a refresh token's reuse) goes through [`revoke`]; a client's logout or `/oauth/revoke`
//! through `end_own_session`, which keeps the event on the session and falls back to
//! [`revoke`] for a session already ended.

use super::{ACCESS_TYP, AccessClaims, REFRESH_TYP, RefreshClaims, TokenService};
use crate::domain::{Actor, AuditAction};
use crate::error::Result;
use crate::store::{AuditEvent, Database, FeedItem, FeedPosition, RevokeTarget};

/// Why a client ended its own session (`revoked_reason`).
const CLIENT_REVOKED: &str = "client_revoked";
const LOGGED_OUT: &str = "logout";

/// Revokes `target` for `reason`, counts it and audits it as `token.revoked`,
/// `session.revoked` or `identity.revoked` by `actor`. `false` when the target does not exist.
/// Revoking what is already revoked succeeds (idempotent) and keeps the first time.
pub async fn revoke(
    db: &Database,
    target: RevokeTarget<'_>,
    reason: &str,
    actor: &Actor,
    ip: Option<&str>,
    now: i64,
) -> Result<bool> {
    let revoked = match target {
        RevokeTarget::Token(jti) => {
            db.revoke_token(jti, &super::jti::paired_refresh_jti(jti), now)
                .await?
        }
        RevokeTarget::Session(sid) => db.revoke_session(sid, reason, now).await?,
        RevokeTarget::Identity(sub) => db.revoke_identity(sub, reason, now).await?,
    };
    let Some(newly) = revoked else {
        return Ok(false);
    };
    if newly > 0 {
        count_revocation(target);
    }
    let action = match target {
        RevokeTarget::Token(_) => AuditAction::TokenRevoked,
        RevokeTarget::Session(_) => AuditAction::SessionRevoked,
        RevokeTarget::Identity(_) => AuditAction::IdentityRevoked,
    };
    db.append_audit(&AuditEvent {
        at: now,
        actor,
        action,
        subject: Some(target.id()),
        ip,
        detail: Some(serde_json::json!({ "reason": reason, "newly_revoked": newly }).to_string()),
    })
    .await?;
    Ok(true)
}

/// Ends session `sid` at the request of its holder `sub` (logout, `/oauth/revoke`) for
/// `reason`. The `session.revoked` event is kept on the session row (migration 0010: a logout
/// writes no event row); a session already ended is audited as [`revoke`] audits it.
async fn end_own_session(
    db: &Database,
    sid: &str,
    sub: String,
    reason: &'static str,
    ip: Option<&str>,
    now: i64,
) -> Result<()> {
    let target = RevokeTarget::Session(sid);
    if db.revoke_own_session(sid, reason, ip, now).await? {
        count_revocation(target);
    } else {
        revoke(db, target, reason, &Actor::Identity(sub), ip, now).await?;
    }
    Ok(())
}

/// Counts a revocation that changed something.
fn count_revocation(target: RevokeTarget<'_>) {
    metrics::counter!("sesame_tokens_revoked_total", "scope" => target.scope()).increment(1);
}

/// Whose session a token belongs to.
struct TokenOwner {
    sid: String,
    sub: String,
}

impl TokenService {
    /// `POST /oauth/revoke`: ends the session of any access or refresh token we signed,
    /// expired or not; anything else is ignored (RFC 7009 §2.2).
    pub async fn revoke_presented(&self, token: &str, ip: Option<&str>, now: i64) -> Result<()> {
        if let Some(owner) = self.owner_of(token) {
            end_own_session(&self.db, &owner.sid, owner.sub, CLIENT_REVOKED, ip, now).await?;
        }
        Ok(())
    }

    /// `POST /v1/logout`: ends the session of a live access token.
    pub async fn log_out(&self, claims: &AccessClaims, ip: Option<&str>, now: i64) -> Result<()> {
        end_own_session(
            &self.db,
            &claims.sid,
            claims.sub.clone(),
            LOGGED_OUT,
            ip,
            now,
        )
        .await
    }

    /// Revoked sessions and tokens not yet expired at `now`, after `after`, oldest first. The
    /// feed stays `SESAME_REVOCATION_FEED_LAG` seconds behind `now`, so a revocation that
    /// commits late is never behind a consumer's cursor.
    pub async fn revocation_feed(
        &self,
        after: &FeedPosition,
        now: i64,
        limit: i64,
    ) -> Result<Vec<FeedItem>> {
        let until = now - self.config.revocation_feed_lag;
        Ok(self.db.revocation_feed(after, until, now, limit).await?)
    }

    /// Like `revocation_feed` without the lag: everything committed by now, for a stream
    /// that keeps its cursor behind the lag itself.
    pub async fn revocations_now(
        &self,
        after: &FeedPosition,
        now: i64,
        limit: i64,
    ) -> Result<Vec<FeedItem>> {
        Ok(self.db.revocation_feed(after, now, now, limit).await?)
    }

    /// The session of an access or refresh token we signed, expired or not (an expired access
    /// token may still log its session out); `None` for anything else.
    fn owner_of(&self, token: &str) -> Option<TokenOwner> {
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
