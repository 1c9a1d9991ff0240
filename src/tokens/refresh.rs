//! Refresh rotation with reuse detection (API.md, `POST /oauth/token`; RFC 9700 §4.14).

use super::{ClientInfo, REFRESH_TYP, RefreshClaims, TokenPair, TokenService, revocation, sealed};
use crate::error::{Error, Result};
use crate::store::{Identity, RevokeTarget, Rotated, Rotation, TokenKind, TokenState};

/// Signings of one refresh before it gives up on an employee record that keeps changing.
const MAX_SIGNINGS: usize = 3;

impl TokenService {
    /// A refresh token we issued, unexpired, whose row exists and is not revoked (it may be
    /// spent). `InvalidToken` otherwise.
    pub(super) async fn live_refresh(
        &self,
        token: &str,
        now: i64,
    ) -> Result<(RefreshClaims, TokenState)> {
        let claims: RefreshClaims = self.decode(token, REFRESH_TYP, &self.config.issuer, now)?;
        let state = self
            .db
            .token_state(&claims.jti)
            .await?
            .filter(|state| {
                state.kind == TokenKind::Refresh.as_str() && state.session_id == claims.sid
            })
            .ok_or(Error::InvalidToken("unknown token"))?;
        if !state.is_live() {
            return Err(Error::InvalidToken("the token has been revoked"));
        }
        Ok((claims, state))
    }

    /// `grant_type=refresh_token`: spends `token` and issues the next pair of its session,
    /// with claims recomputed from the current employee record. A spent token presented again
    /// gets the same successor inside the reuse grace window, and revokes its session after.
    pub async fn refresh(&self, token: &str, client: &ClientInfo, now: i64) -> Result<TokenPair> {
        let claims: RefreshClaims = self
            .decode(token, REFRESH_TYP, &self.config.issuer, now)
            .map_err(|err| match err {
                Error::InvalidToken(_) => Error::InvalidGrant,
                other => other,
            })?;
        // The usual case first: the conditional spend also proves the row exists, belongs to
        // this session and is live, so it needs no read before it.
        if let Some(pair) = self.rotate(token, &claims, client, now).await? {
            return Ok(pair);
        }
        // Not spendable: spent before (a retry or a reuse), revoked, or never ours.
        let state = self
            .db
            .token_state(&claims.jti)
            .await?
            .filter(|state| {
                state.kind == TokenKind::Refresh.as_str()
                    && state.session_id == claims.sid
                    && state.is_live()
            })
            .ok_or(Error::InvalidGrant)?;
        let spent_at = state.spent_at.ok_or(Error::InvalidGrant)?;
        if now <= spent_at + self.config.refresh_reuse_grace {
            return self.replay(token, &claims, now).await;
        }
        tracing::warn!(sid = %claims.sid, "refresh token reused: revoking its session");
        revocation::revoke(
            &self.db,
            RevokeTarget::Session(&claims.sid),
            "refresh_reuse",
            &format!("identity:{}", claims.sub),
            client.ip.as_deref(),
            now,
        )
        .await?;
        Err(Error::InvalidGrant)
    }

    /// Signs the successor pair and tries to spend `token` for it. `None` when the token was
    /// no longer spendable at the conditional update.
    async fn rotate(
        &self,
        token: &str,
        claims: &RefreshClaims,
        client: &ClientInfo,
        now: i64,
    ) -> Result<Option<TokenPair>> {
        let mut identity = match &claims.phone_number {
            Some(phone_number) => Identity {
                id: claims.sub.clone(),
                phone_number: phone_number.clone(),
                user_id: claims.user_id.clone(),
            },
            None => self
                .db
                .current_identity(&claims.sub)
                .await?
                .ok_or(Error::InvalidGrant)?,
        };
        // The claims follow the employee record at the rotation: when it moved since the token
        // was issued, the rotation writes nothing and the pair is signed again.
        for _ in 0..MAX_SIGNINGS {
            let jtis = super::new_jtis();
            let successors = self.token_rows(&jtis, now);
            let pair = self.sign_pair(&identity, &claims.sid, &successors)?;
            // Signatures may be randomised (ES256): a retry must get these very strings back.
            let sealed_pair = sealed::seal(token, &pair.access_token, &pair.refresh_token)?;
            let rotation = Rotation {
                spent_jti: &claims.jti,
                session_id: &claims.sid,
                identity_id: &identity.id,
                phone_number: &identity.phone_number,
                user_id: identity.user_id.as_deref(),
                successors,
                sealed_pair: &sealed_pair,
                now,
                available_until: now + self.config.refresh_reuse_grace,
                ip: client.ip.as_deref(),
                user_agent: client.user_agent.as_deref(),
            };
            match self.db.rotate_refresh(&rotation).await? {
                Rotated::Spent => {
                    metrics::counter!("sesame_tokens_issued_total", "grant" => "refresh_token")
                        .increment(1);
                    metrics::counter!("sesame_tokens_refreshed_total").increment(1);
                    return Ok(Some(pair));
                }
                Rotated::NotSpendable => return Ok(None),
                Rotated::Relinked { user_id } => identity.user_id = user_id,
            }
        }
        tracing::warn!(sid = %claims.sid, "employee record kept changing during a refresh");
        Err(Error::Unavailable)
    }

    /// The successor pair stored when `token` was spent, for a retry inside the grace window.
    async fn replay(&self, token: &str, claims: &RefreshClaims, now: i64) -> Result<TokenPair> {
        let stored = self
            .db
            .refresh_successor(&claims.jti, now)
            .await?
            .ok_or(Error::InvalidGrant)?;
        let (access_token, refresh_token) =
            sealed::open(token, &stored.sealed_pair).ok_or(Error::InvalidGrant)?;
        let age = now - stored.issued_at;
        metrics::counter!("sesame_tokens_refreshed_total").increment(1);
        Ok(TokenPair {
            access_token,
            token_type: "Bearer",
            expires_in: (self.config.access_ttl - age).max(0),
            refresh_token,
            refresh_token_expires_in: (self.config.refresh_ttl - age).max(0),
        })
    }
}
