//! Token introspection (RFC 7662; docs/contract-notes.md, "Token lifecycle").

use serde::Serialize;

use super::{AccessClaims, IdentityKind, RefreshClaims, TokenService, kind_of};
use crate::error::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TokenTypeName {
    AccessToken,
    RefreshToken,
}

/// What an active token says.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum ActiveToken {
    Access(ActiveAccessToken),
    Refresh(ActiveRefreshToken),
}

/// An access token answers with its own claims.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ActiveAccessToken {
    #[serde(flatten)]
    pub claims: AccessClaims,
    /// `access_token`.
    pub token_type: TokenTypeName,
}

/// A refresh token answers with its claims and its session's principal, and never with
/// permissions: a resource server that forgets to look at `token_type` must not take a
/// permission set from a refresh token.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ActiveRefreshToken {
    #[serde(flatten)]
    pub claims: RefreshClaims,
    pub kind: IdentityKind,
    /// `refresh_token`.
    pub token_type: TokenTypeName,
}

impl TokenService {
    /// The details of `token` when it is live (valid everywhere: signature, claims, row, not
    /// revoked, its session within its lifetime; a refresh token also unspent), `None`
    /// otherwise.
    pub async fn introspect(&self, token: &str, now: i64) -> Result<Option<ActiveToken>> {
        match self.authenticate(token, now).await {
            Ok(claims) => {
                return Ok(Some(ActiveToken::Access(ActiveAccessToken {
                    claims,
                    token_type: TokenTypeName::AccessToken,
                })));
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
        let (principal, auth_time) = match self.principal_of(&claims).await {
            Ok(found) => found,
            Err(Error::InvalidGrant) => return Ok(None),
            Err(other) => return Err(other),
        };
        Ok(Some(ActiveToken::Refresh(ActiveRefreshToken {
            kind: kind_of(&principal),
            claims: RefreshClaims {
                phone_number: Some(principal.phone_number),
                user_id: principal.user_id,
                auth_time: Some(auth_time),
                ..claims
            },
            token_type: TokenTypeName::RefreshToken,
        })))
    }
}
