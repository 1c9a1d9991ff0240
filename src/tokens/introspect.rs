//! Token introspection (RFC 7662; API.md, "For downstream APIs").

use serde::Serialize;

use super::{AccessClaims, TokenService, kind_of, permissions_for};
use crate::error::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TokenTypeName {
    AccessToken,
    RefreshToken,
}

/// What an active token says: the claims an access token carries. An access token answers
/// with its own; a refresh token with its registered claims and its identity as it stands now.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ActiveToken {
    #[serde(flatten)]
    pub claims: AccessClaims,
    pub token_type: TokenTypeName,
}

impl TokenService {
    /// The details of `token` when it is live (valid everywhere: signature, claims, row, not
    /// revoked; a refresh token also unspent), `None` otherwise.
    pub async fn introspect(&self, token: &str, now: i64) -> Result<Option<ActiveToken>> {
        match self.authenticate(token, now).await {
            Ok(claims) => {
                return Ok(Some(ActiveToken {
                    claims,
                    token_type: TokenTypeName::AccessToken,
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
            claims: AccessClaims {
                iss: claims.iss,
                aud: claims.aud,
                sub: claims.sub,
                exp: claims.exp,
                iat: claims.iat,
                nbf: claims.nbf,
                jti: claims.jti,
                sid: claims.sid,
                client_id: claims.client_id,
                phone_number: identity.phone_number,
                kind,
                permissions: permissions_for(kind),
                user_id: identity.user_id,
            },
            token_type: TokenTypeName::RefreshToken,
        }))
    }
}
