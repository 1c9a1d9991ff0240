//! Token introspection (RFC 7662; API.md, "For downstream APIs").

use serde::Serialize;

use super::{IdentityKind, Permissions, TokenService, kind_of, permissions_for};
use crate::error::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TokenTypeName {
    AccessToken,
    RefreshToken,
}

/// What an active token says. Access tokens answer with their claims; refresh tokens with
/// their identity as it stands now.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ActiveToken {
    pub sub: String,
    pub exp: i64,
    pub iat: i64,
    pub nbf: i64,
    pub jti: String,
    pub sid: String,
    pub iss: String,
    pub aud: String,
    pub client_id: String,
    pub token_type: TokenTypeName,
    pub kind: IdentityKind,
    pub permissions: Permissions,
    pub phone_number: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
}

impl TokenService {
    /// The details of `token` when it is live (valid everywhere: signature, claims, row, not
    /// revoked; a refresh token also unspent), `None` otherwise.
    pub async fn introspect(&self, token: &str, now: i64) -> Result<Option<ActiveToken>> {
        match self.authenticate(token, now).await {
            Ok(claims) => {
                return Ok(Some(ActiveToken {
                    sub: claims.sub,
                    exp: claims.exp,
                    iat: claims.iat,
                    nbf: claims.nbf,
                    jti: claims.jti,
                    sid: claims.sid,
                    iss: claims.iss,
                    aud: claims.aud,
                    client_id: claims.client_id,
                    token_type: TokenTypeName::AccessToken,
                    kind: claims.kind,
                    permissions: claims.permissions,
                    phone_number: claims.phone_number,
                    user_id: claims.user_id,
                }));
            }
            Err(Error::InvalidToken(_)) => {}
            Err(other) => return Err(other),
        }
        let (claims, state) = match self.live_refresh(token, now).await {
            Ok(found) => found,
            Err(Error::InvalidToken(_)) => return Ok(None),
            Err(other) => return Err(other),
        };
        if state.spent_at.is_some() {
            return Ok(None);
        }
        let Some(identity) = self.db.current_identity(&claims.sub).await? else {
            return Ok(None);
        };
        let kind = kind_of(&identity);
        Ok(Some(ActiveToken {
            sub: claims.sub,
            exp: claims.exp,
            iat: claims.iat,
            nbf: claims.nbf,
            jti: claims.jti,
            sid: claims.sid,
            iss: claims.iss,
            aud: claims.aud,
            client_id: claims.client_id,
            token_type: TokenTypeName::RefreshToken,
            kind,
            permissions: permissions_for(kind),
            phone_number: identity.phone_number,
            user_id: identity.user_id,
        }))
    }
}
