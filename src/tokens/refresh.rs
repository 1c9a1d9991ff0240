//! Refresh rotation with reuse detection (RFC 9700 §4.14; docs/contract-notes.md, "Token
//! lifecycle"). A refresh signs for the session's principal, fixed at login: it may end a
//! session, never hand it to someone else.

use super::sealed::{self, KeptSuccessor, Opened};
use super::{
    ACCESS_TYP, AccessClaims, ClientInfo, KeyError, REFRESH_TYP, RefreshClaims, TokenPair,
    TokenService, revocation,
};
use crate::domain::Actor;
use crate::error::{Error, Result};
use crate::store::{Principal, RevokeTarget, Rotation, TokenState};

/// Why a refresh ended its session (`revoked_reason`).
const REUSED: &str = "refresh_reuse";
const ANONYMOUS_NOT_ALLOWED: &str = "anonymous_not_allowed";
const PRINCIPAL_ENDED: &str = "principal_ended";

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
            .filter(|state| state.session_id == claims.sid)
            .ok_or(Error::InvalidToken("unknown token"))?;
        if !state.is_live() {
            return Err(Error::InvalidToken("the token has been revoked"));
        }
        if self.session_ended(state.session_created_at, now) {
            return Err(Error::InvalidToken("the session has ended"));
        }
        Ok((claims, state))
    }

    /// The principal a refresh token speaks for and when its session began: from its claims, or,
    /// for tokens issued before they carried both, from its session.
    pub(super) async fn principal_of(&self, claims: &RefreshClaims) -> Result<(Principal, i64)> {
        if let (Some(phone_number), Some(auth_time)) = (&claims.phone_number, claims.auth_time) {
            let principal = Principal {
                sub: claims.sub.clone(),
                phone_number: phone_number.clone(),
                user_id: claims.user_id.clone(),
            };
            return Ok((principal, auth_time));
        }
        self.db
            .session_principal(&claims.sid)
            .await?
            .filter(|(principal, _)| principal.sub == claims.sub)
            .ok_or(Error::InvalidGrant)
    }

    /// `grant_type=refresh_token` at `now_ms` (Unix milliseconds): spends `token` and issues
    /// the next pair of its session, for the same principal. A spent token presented again gets
    /// the same successor inside the reuse grace window (to the millisecond), and revokes its
    /// session after.
    pub async fn refresh(
        &self,
        token: &str,
        client: &ClientInfo,
        now_ms: i64,
    ) -> Result<TokenPair> {
        let now = now_ms.div_euclid(1_000);
        let claims: RefreshClaims = self
            .decode(token, REFRESH_TYP, &self.config.issuer, now)
            .map_err(|err| match err {
                Error::InvalidToken(_) => Error::InvalidGrant,
                other => other,
            })?;
        let (principal, auth_time) = self.principal_of(&claims).await?;
        if principal.user_id.is_none() && !self.config.allow_anonymous {
            // Today's policy holds for sessions that began under another.
            return self
                .end_session(&claims, ANONYMOUS_NOT_ALLOWED, client, now)
                .await;
        }
        // The usual case first: the conditional spend also proves the row exists, belongs to
        // this session and is live, so it needs no read before it.
        if let Some(pair) = self
            .rotate(token, &claims, &principal, auth_time, client, now_ms)
            .await?
        {
            return Ok(pair);
        }
        // Not spendable: spent before (a retry or a reuse), revoked, past the session's
        // lifetime, its principal gone, or never ours.
        let state = self
            .db
            .token_state(&claims.jti)
            .await?
            .filter(|state| {
                state.session_id == claims.sid
                    && state.is_live()
                    && !self.session_ended(state.session_created_at, now)
            })
            .ok_or(Error::InvalidGrant)?;
        if state.spent_at.is_none() {
            // Live and unspent, yet the employee no longer holds the number: a change of holder
            // that has not revoked the session (it always should) ends it here.
            return self
                .end_session(&claims, PRINCIPAL_ENDED, client, now)
                .await;
        }
        if let Some(pair) = self
            .replay(token, &claims, &principal, auth_time, now_ms)
            .await?
        {
            return Ok(pair);
        }
        tracing::warn!(sid = %claims.sid, "refresh token reused: revoking its session");
        self.end_session(&claims, REUSED, client, now).await
    }

    /// Revokes the session of `claims` for `reason` and answers `invalid_grant`.
    async fn end_session(
        &self,
        claims: &RefreshClaims,
        reason: &str,
        client: &ClientInfo,
        now: i64,
    ) -> Result<TokenPair> {
        revocation::revoke(
            &self.db,
            RevokeTarget::Session(&claims.sid),
            reason,
            &Actor::Identity(claims.sub.clone()),
            client.ip.as_deref(),
            now,
        )
        .await?;
        Err(Error::InvalidGrant)
    }

    /// Signs the successor pair and tries to spend `token` for it. `None` when the token was
    /// not spendable at the conditional update.
    async fn rotate(
        &self,
        token: &str,
        claims: &RefreshClaims,
        principal: &Principal,
        auth_time: i64,
        client: &ClientInfo,
        now_ms: i64,
    ) -> Result<Option<TokenPair>> {
        let now = now_ms.div_euclid(1_000);
        let max_age = self.config.session_max_age;
        let jtis = super::jti::new_pair();
        let successor = self.pair_times(&jtis, now, auth_time + max_age);
        let keys = self.keys.load();
        let key = keys.current();
        let pair = self.sign_pair(key, principal, &claims.sid, &successor, auth_time)?;
        let sealed_pair = sealed::seal(token, &kept_successor(&key.kid, &jtis[0], &pair)?)?;
        let rotation = Rotation {
            spent_jti: &claims.jti,
            session_id: &claims.sid,
            phone_number: &principal.phone_number,
            user_id: principal.user_id.as_deref(),
            started_before: now - max_age,
            successor: successor.row(),
            sealed_pair: &sealed_pair,
            now,
            available_until_ms: now_ms + self.config.refresh_reuse_grace * 1_000,
            ip: client.ip.as_deref(),
            user_agent: client.user_agent.as_deref(),
        };
        if !self.db.rotate_refresh(&rotation).await? {
            return Ok(None);
        }
        metrics::counter!("sesame_tokens_issued_total", "grant" => "refresh_token").increment(1);
        metrics::counter!("sesame_tokens_refreshed_total").increment(1);
        Ok(Some(pair))
    }

    /// The successor pair stored when `token` was spent, for a retry inside the grace window;
    /// `None` once the window has passed.
    async fn replay(
        &self,
        token: &str,
        claims: &RefreshClaims,
        principal: &Principal,
        auth_time: i64,
        now_ms: i64,
    ) -> Result<Option<TokenPair>> {
        let now = now_ms.div_euclid(1_000);
        let Some(stored) = self.db.refresh_successor(&claims.jti, now_ms).await? else {
            return Ok(None);
        };
        let (access_token, refresh_token) = match sealed::open(token, &stored.sealed_pair) {
            Some(Opened::Kept(kept)) => {
                self.rebuild_successor(&kept, &claims.sid, principal, auth_time, stored.issued_at)?
            }
            Some(Opened::WholePair { access, refresh }) => (access, refresh),
            None => return Err(Error::InvalidGrant),
        };
        // The pair's lifetimes as `token_rows` set them, counted down from its issue.
        let session_ends_at = auth_time + self.config.session_max_age;
        let remaining = |ttl: i64| ((stored.issued_at + ttl).min(session_ends_at) - now).max(0);
        metrics::counter!("sesame_tokens_refreshed_total").increment(1);
        Ok(Some(TokenPair {
            access_token,
            token_type: "Bearer",
            expires_in: remaining(self.config.access_ttl),
            refresh_token,
            refresh_token_expires_in: remaining(self.config.refresh_ttl),
        }))
    }

    /// The successor pair `rotate` signed at `issued_at` in session `sid`: its claims rebuilt
    /// as they were signed, with the signatures kept. Each rebuilt token must
    /// verify, so a configuration changed in between (an audience, a lifetime) answers
    /// `invalid_grant`, never a token that does not verify.
    fn rebuild_successor(
        &self,
        kept: &KeptSuccessor,
        sid: &str,
        principal: &Principal,
        auth_time: i64,
        issued_at: i64,
    ) -> Result<(String, String)> {
        let jtis = [
            kept.access_jti.clone(),
            super::jti::paired_refresh_jti(&kept.access_jti),
        ];
        let session_ends_at = auth_time + self.config.session_max_age;
        let times = self.pair_times(&jtis, issued_at, session_ends_at);
        let (access, refresh) = self.pair_claims(principal, sid, &times, auth_time);
        let keys = self.keys.load();
        let key = keys.by_kid(&kept.kid).ok_or(Error::InvalidGrant)?;
        let internal = |err: KeyError| Error::Internal(err.into());
        let access = key.signing_input(&access, ACCESS_TYP).map_err(internal)?;
        let access = format!("{access}.{}", kept.access_signature);
        let refresh = key.signing_input(&refresh, REFRESH_TYP).map_err(internal)?;
        let refresh = format!("{refresh}.{}", kept.refresh_signature);
        self.verify_with::<AccessClaims>(key, &access, &self.config.audience)
            .and_then(|_| self.verify_with::<RefreshClaims>(key, &refresh, &self.config.issuer))
            .map_err(|_| Error::InvalidGrant)?;
        Ok((access, refresh))
    }
}

/// What a retry of the rotation that signed `pair` with key `kid` cannot rebuild (`sealed.rs`).
fn kept_successor(kid: &str, access_jti: &str, pair: &TokenPair) -> Result<KeptSuccessor> {
    let signature = |token: &str| {
        token
            .rsplit_once('.')
            .map(|(_, signature)| signature.to_owned())
            .ok_or_else(|| Error::Internal(anyhow::anyhow!("a signed token without a signature")))
    };
    Ok(KeptSuccessor {
        kid: kid.to_owned(),
        access_jti: access_jti.to_owned(),
        access_signature: signature(&pair.access_token)?,
        refresh_signature: signature(&pair.refresh_token)?,
    })
}
