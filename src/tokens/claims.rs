//! JWT claims (docs/tokens.md; RFC 9068 for access tokens).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub const ACCESS_TYP: &str = "at+jwt";
pub const REFRESH_TYP: &str = "refresh+jwt";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum IdentityKind {
    Employee,
    Anonymous,
}

/// `{"employee": ["full"]}` for an active employee, `{}` for anonymous identities.
pub type Permissions = BTreeMap<String, Vec<String>>;

pub fn permissions_for(kind: IdentityKind) -> Permissions {
    match kind {
        IdentityKind::Employee => {
            BTreeMap::from([("employee".to_owned(), vec!["full".to_owned()])])
        }
        IdentityKind::Anonymous => BTreeMap::new(),
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AccessClaims {
    pub iss: String,
    pub aud: String,
    pub sub: String,
    pub exp: i64,
    pub iat: i64,
    pub nbf: i64,
    pub jti: String,
    pub sid: String,
    pub client_id: String,
    pub phone_number: String,
    pub kind: IdentityKind,
    pub permissions: Permissions,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
}

/// Refresh tokens carry only what rotation needs; `aud` is the issuer itself, so no API that
/// expects its own audience accepts one as an access token. `phone_number` and `user_id` are
/// the session's principal, fixed at login: a refresh signs the successor for them, and the
/// rotation checks in the same statement that the employee still holds the number (no read
/// first). `auth_time` is when the code was verified, where the session's absolute lifetime
/// starts. Tokens issued before these were added lack them; their session is read instead.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshClaims {
    pub iss: String,
    pub aud: String,
    pub sub: String,
    pub exp: i64,
    pub iat: i64,
    pub nbf: i64,
    pub jti: String,
    pub sid: String,
    pub client_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone_number: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_time: Option<i64>,
}

/// The `nbf`..`exp` window of a token.
pub trait Validity {
    fn validity(&self) -> (i64, i64);
}

impl Validity for AccessClaims {
    fn validity(&self) -> (i64, i64) {
        (self.nbf, self.exp)
    }
}

impl Validity for RefreshClaims {
    fn validity(&self) -> (i64, i64) {
        (self.nbf, self.exp)
    }
}
