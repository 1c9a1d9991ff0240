//! Tokens: claims, signing keys and JWKS; issuance, validation, refresh rotation, revocation,
//! introspection.

mod claims;
mod introspect;
mod jti;
mod key_state;
mod keys;
mod refresh;
mod revocation;
mod sealed;
mod signer;
mod verified;

use std::sync::Arc;

use arc_swap::ArcSwap;
use jsonwebtoken::Validation;
use serde::Serialize;
use serde::de::DeserializeOwned;
use uuid::Uuid;

pub use claims::{
    ACCESS_TYP, AccessClaims, IdentityKind, Permissions, REFRESH_TYP, RefreshClaims, Validity,
    permissions_for,
};
pub use introspect::{ActiveAccessToken, ActiveRefreshToken, ActiveToken, TokenTypeName};
pub use key_state::{KeyState, KeyStatus, key_states};
pub use keys::{KeyError, SigningKey, generate_key, load_keys, write_secret_file};
pub use revocation::revoke;
use verified::VerifiedAccessTokens;

use crate::config::Config;
use crate::domain::PhoneNumber;
use crate::error::{Error, Result};
use crate::store::{Database, NewLogin, NewPair, Principal};

/// The keys that sign and verify: the current key, keys announced for a later start (published
/// so downstream JWKS caches know them before they sign), and retired keys that may still have
/// unexpired tokens out there. A kid's timestamp is when the key starts signing.
pub struct KeySet {
    keys: Vec<SigningKey>,
    current: usize,
    jwks: serde_json::Value,
}

impl KeySet {
    /// Loads the keys folder; with `generate_if_missing`, creates a key for `alg` when the
    /// folder has none (development only).
    pub fn load(
        config: &Config,
        generate_if_missing: bool,
        now: i64,
    ) -> std::result::Result<Self, KeyError> {
        let mut keys = load_keys(&config.keys_dir)?;
        if !keys.iter().any(|key| key.alg == config.signing_alg) {
            if !generate_if_missing {
                return Err(KeyError::Missing(config.signing_alg));
            }
            let kid = generate_key(&config.keys_dir, config.signing_alg, now)?;
            tracing::warn!(kid, alg = %config.signing_alg, "generated a development signing key");
            keys = load_keys(&config.keys_dir)?;
        }
        let current = keys
            .iter()
            .rposition(|key| key.alg == config.signing_alg && key.created_at <= now)
            .ok_or(KeyError::Missing(config.signing_alg))?;
        // A key stops being published once every token it signed has expired: it retired when
        // the next key started signing, and no token outlives the refresh TTL. Keys that start
        // later are published already.
        let max_ttl = config.refresh_ttl.max(config.access_ttl);
        let published = keys
            .iter()
            .enumerate()
            .filter(|(index, _)| {
                *index >= current
                    || keys
                        .get(index + 1)
                        .is_some_and(|next| next.created_at + max_ttl > now)
            })
            .map(|(_, key)| key.jwk.clone())
            .collect::<Vec<_>>();
        Ok(Self {
            jwks: serde_json::json!({ "keys": published }),
            keys,
            current,
        })
    }

    pub fn current(&self) -> &SigningKey {
        &self.keys[self.current]
    }

    pub fn by_kid(&self, kid: &str) -> Option<&SigningKey> {
        self.keys.iter().find(|key| key.kid == kid)
    }

    pub fn jwks(&self) -> &serde_json::Value {
        &self.jwks
    }

    pub fn algorithms(&self) -> Vec<&'static str> {
        let mut algs: Vec<_> = self.keys.iter().map(|key| key.alg.name()).collect();
        algs.sort_unstable();
        algs.dedup();
        algs
    }
}

/// A session opened for an employee is an employee's; any other is anonymous.
fn kind_of(principal: &Principal) -> IdentityKind {
    if principal.user_id.is_some() {
        IdentityKind::Employee
    } else {
        IdentityKind::Anonymous
    }
}

/// A freshly issued access + refresh pair.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct TokenPair {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: i64,
    pub refresh_token: String,
    pub refresh_token_expires_in: i64,
}

/// Where a login came from, kept on its session for admins.
#[derive(Debug, Clone, Default)]
pub struct ClientInfo {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

pub struct TokenService {
    /// Swapped whole when the keys folder is re-read, so a rotation needs no restart.
    keys: ArcSwap<KeySet>,
    verified_access: VerifiedAccessTokens,
    db: Database,
    config: Arc<Config>,
}

impl TokenService {
    pub fn new(keys: KeySet, db: Database, config: Arc<Config>) -> Self {
        Self {
            keys: ArcSwap::from_pointee(keys),
            verified_access: VerifiedAccessTokens::new(),
            db,
            config,
        }
    }

    pub fn keys(&self) -> Arc<KeySet> {
        self.keys.load_full()
    }

    /// Re-reads the keys folder: picks up rotated keys, starts signing with a key whose time
    /// has come, stops publishing keys whose tokens have all expired. On failure the keys in
    /// use stay.
    pub fn reload_keys(&self, now: i64) {
        match KeySet::load(&self.config, false, now) {
            Ok(keys) => {
                let kid = keys.current().kid.clone();
                let previous = self.keys.swap(Arc::new(keys));
                if previous.current().kid != kid {
                    tracing::info!(kid, "signing with a new key");
                }
            }
            Err(err) => {
                tracing::error!(error = %err, "cannot reload the signing keys; keeping the loaded ones")
            }
        }
    }

    /// Logs `phone_number` in: links its identity, opens a session for the employee holding
    /// the number now (or an anonymous one) and issues its first pair. The rows are written
    /// before the tokens are signed, because the claims follow the principal the same statement
    /// links; a failed signature leaves only rows no one holds.
    pub async fn open_session(
        &self,
        phone_number: &PhoneNumber,
        client: &ClientInfo,
        now: i64,
    ) -> Result<TokenPair> {
        // An identity's id (`sub`) stays random: it is a person's lasting id, and should not
        // tell when they first logged in. A session's begins with its time (version 7), which
        // `auth_time` tells anyway, so the sessions' keys grow at their right end (`jti.rs`).
        let new_identity_id = Uuid::new_v4().to_string();
        let sid = Uuid::now_v7().to_string();
        let jtis = jti::new_pair();
        let pair = self.pair_times(&jtis, now, now + self.config.session_max_age);
        let test_number = self.config.test_numbers.contains_key(phone_number.as_str());
        let login = NewLogin {
            phone_number: phone_number.as_str(),
            new_identity_id: &new_identity_id,
            session_id: &sid,
            created_at: now,
            expires_at: pair.refresh_expires_at,
            ip: client.ip.as_deref(),
            user_agent: client.user_agent.as_deref(),
            audit_detail: test_number.then_some(r#"{"test_number":true}"#),
        };
        let principal = self.db.log_in(&login, &pair.row()).await?;
        let signed = self.sign_pair(self.keys.load().current(), &principal, &sid, &pair, now)?;
        metrics::counter!("sesame_tokens_issued_total", "grant" => "otp").increment(1);
        Ok(signed)
    }

    /// Checks an access token: signature, header, claims (RFC 8725; once per token, then
    /// remembered: `verified.rs`), its times, then its state: it was issued in its session (the
    /// row of its pair's refresh token is there), and neither it nor its session is revoked.
    pub async fn authenticate(&self, token: &str, now: i64) -> Result<AccessClaims> {
        let claims = self
            .verified_access
            .get_or_verify(token, &self.keys.load(), || {
                self.verify_naming_key(token, ACCESS_TYP, &self.config.audience)
            })?;
        in_validity(&claims, now)?;
        let pair_refresh_jti = jti::paired_refresh_jti(&claims.jti);
        let state = self
            .db
            .access_token_state(&claims.sid, &claims.jti, &pair_refresh_jti)
            .await?
            .ok_or(Error::InvalidToken("unknown token"))?;
        if !state.is_live() {
            return Err(Error::InvalidToken("the token has been revoked"));
        }
        if self.session_ended(state.session_created_at, now) {
            return Err(Error::InvalidToken("the session has ended"));
        }
        Ok(claims)
    }

    /// Whether a session created at `created_at` has outlived `SESAME_SESSION_MAX_AGE` at `now`.
    fn session_ended(&self, created_at: i64, now: i64) -> bool {
        created_at + self.config.session_max_age <= now
    }

    /// Verifies signature, `typ`, `kid`, `iss`, `aud`, `exp`/`nbf` and claim types. The
    /// algorithm comes from our key, never from the token's header.
    fn decode<C: DeserializeOwned + Validity>(
        &self,
        token: &str,
        typ: &str,
        audience: &str,
        now: i64,
    ) -> Result<C> {
        let claims: C = self.verify(token, typ, audience)?;
        in_validity(&claims, now)?;
        Ok(claims)
    }

    /// Like `decode`, but whatever the time: proves only that we issued the token.
    fn verify<C: DeserializeOwned>(&self, token: &str, typ: &str, audience: &str) -> Result<C> {
        self.verify_naming_key(token, typ, audience)
            .map(|(claims, _)| claims)
    }

    /// Like `verify`, with the kid of the key that verified the token.
    fn verify_naming_key<C: DeserializeOwned>(
        &self,
        token: &str,
        typ: &str,
        audience: &str,
    ) -> Result<(C, String)> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| malformed_or_forged())?;
        if header.typ.as_deref() != Some(typ) {
            return Err(Error::InvalidToken("wrong token type"));
        }
        let keys = self.keys.load();
        let key = header
            .kid
            .as_deref()
            .and_then(|kid| keys.by_kid(kid))
            .ok_or(Error::InvalidToken("unknown signing key"))?;
        let claims = self.verify_with(key, token, audience)?;
        Ok((claims, key.kid.clone()))
    }

    /// The claims of `token` when `key` verifies its signature and its `iss`, `aud` and claim
    /// types pass; its times are the caller's to check.
    fn verify_with<C: DeserializeOwned>(
        &self,
        key: &SigningKey,
        token: &str,
        audience: &str,
    ) -> Result<C> {
        let mut validation = Validation::new(key.alg.jwt());
        validation.set_issuer(&[&self.config.issuer]);
        validation.set_audience(&[audience]);
        validation.set_required_spec_claims(&["exp", "nbf", "iat", "iss", "aud", "sub"]);
        // Expiry is checked against `now` by the callers (`in_validity`), so time stays an input.
        validation.validate_exp = false;
        validation.validate_nbf = false;
        key.verify(token, &validation)
            .map_err(|_| malformed_or_forged())
    }

    /// Signs `pair` for `principal`, whose session began at `auth_time`: both tokens with `key`.
    fn sign_pair(
        &self,
        key: &SigningKey,
        principal: &Principal,
        sid: &str,
        pair: &PairTimes<'_>,
        auth_time: i64,
    ) -> Result<TokenPair> {
        let (access, refresh) = self.pair_claims(principal, sid, pair, auth_time);
        let signing_failed = |err: KeyError| Error::Internal(err.into());
        Ok(TokenPair {
            access_token: key.sign(&access, ACCESS_TYP).map_err(signing_failed)?,
            token_type: "Bearer",
            expires_in: pair.access_expires_at - pair.issued_at,
            refresh_token: key.sign(&refresh, REFRESH_TYP).map_err(signing_failed)?,
            refresh_token_expires_in: pair.refresh_expires_at - pair.issued_at,
        })
    }

    /// The claims of `pair` for `principal`, whose session began at `auth_time`: what
    /// `sign_pair` signs, and what a retry of a refresh rebuilds (`refresh.rs`).
    fn pair_claims(
        &self,
        principal: &Principal,
        sid: &str,
        pair: &PairTimes<'_>,
        auth_time: i64,
    ) -> (AccessClaims, RefreshClaims) {
        let config = &self.config;
        let kind = kind_of(principal);
        let access = AccessClaims {
            iss: config.issuer.clone(),
            aud: config.audience.clone(),
            sub: principal.sub.clone(),
            exp: pair.access_expires_at,
            iat: pair.issued_at,
            nbf: pair.issued_at,
            jti: pair.access_jti.to_owned(),
            sid: sid.to_owned(),
            client_id: config.client_id.clone(),
            phone_number: principal.phone_number.clone(),
            kind,
            permissions: permissions_for(kind),
            user_id: principal.user_id.clone(),
        };
        let refresh = RefreshClaims {
            iss: config.issuer.clone(),
            aud: config.issuer.clone(),
            sub: principal.sub.clone(),
            exp: pair.refresh_expires_at,
            iat: pair.issued_at,
            nbf: pair.issued_at,
            jti: pair.refresh_jti.to_owned(),
            sid: sid.to_owned(),
            client_id: config.client_id.clone(),
            phone_number: Some(principal.phone_number.clone()),
            user_id: principal.user_id.clone(),
            auth_time: Some(auth_time),
        };
        (access, refresh)
    }

    /// The times of a pair issued at `now` with the ids `jtis` (access, then refresh), neither
    /// outliving the session, which ends at `session_ends_at`.
    fn pair_times<'a>(
        &self,
        jtis: &'a [String; 2],
        now: i64,
        session_ends_at: i64,
    ) -> PairTimes<'a> {
        PairTimes {
            access_jti: &jtis[0],
            refresh_jti: &jtis[1],
            issued_at: now,
            access_expires_at: (now + self.config.access_ttl).min(session_ends_at),
            refresh_expires_at: (now + self.config.refresh_ttl).min(session_ends_at),
        }
    }
}

/// A token that does not parse, or whose signature or claims do not verify: one answer for all.
fn malformed_or_forged() -> Error {
    Error::InvalidToken("the token is malformed or its signature is invalid")
}

/// Refuses claims outside their validity (`exp`, `nbf`) at `now`.
fn in_validity(claims: &impl Validity, now: i64) -> Result<()> {
    let (not_before, expires) = claims.validity();
    if expires <= now {
        return Err(Error::InvalidToken("the token has expired"));
    }
    if not_before > now {
        return Err(Error::InvalidToken("the token is not valid yet"));
    }
    Ok(())
}

/// A pair about to be signed: its ids and times.
struct PairTimes<'a> {
    access_jti: &'a str,
    refresh_jti: &'a str,
    issued_at: i64,
    access_expires_at: i64,
    refresh_expires_at: i64,
}

impl<'a> PairTimes<'a> {
    /// The pair's row: its refresh token's, which keeps the access token's expiry.
    fn row(&self) -> NewPair<'a> {
        NewPair {
            refresh_jti: self.refresh_jti,
            issued_at: self.issued_at,
            expires_at: self.refresh_expires_at,
            access_expires_at: self.access_expires_at,
        }
    }
}
