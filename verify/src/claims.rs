//! The claims of a Sesame access token, and the checks RFC 9068 §4 and RFC 8725 §3 ask of a
//! resource server once the signature holds.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Who a token was issued to: an employee from the HR records, or any other phone number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// An active employee; the token carries `user_id` and employee permissions.
    Employee,
    /// A phone number that belongs to no active employee; no permissions.
    Anonymous,
}

/// What a verified access token says about its holder.
///
/// Extract it in a handler behind [`Verifier::layer`](crate::Verifier::layer): `Claims`
/// answers `401` when the request carried no token, `Option<Claims>` is `None` then.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Claims {
    /// The phone identity (`sub`): one per phone number, stable across logins.
    pub sub: String,
    /// The session (`sid`): one per login, shared by every token refreshed from it.
    pub sid: String,
    /// This token's id (`jti`).
    pub jti: String,
    /// Employee or anonymous; fixed for the session's life.
    pub kind: Kind,
    /// The employee's id; always present for [`Kind::Employee`], never otherwise.
    pub user_id: Option<String>,
    /// The phone number, in E.164 (`+447700900123`).
    pub phone_number: String,
    /// Actions per resource: `{"employee": ["full"]}` for an active employee, empty otherwise.
    pub permissions: BTreeMap<String, Vec<String>>,
    /// The client the token was issued to (`client_id`, RFC 9068).
    pub client_id: String,
    /// When the token expires (`exp`), in Unix seconds.
    pub expires_at: i64,
}

impl Claims {
    /// Whether the token allows `action` on `resource`, e.g. `("employee", "full")`.
    pub fn has_permission(&self, resource: &str, action: &str) -> bool {
        self.permissions
            .get(resource)
            .is_some_and(|actions| actions.iter().any(|granted| granted == action))
    }
}

/// The payload as signed. Every field is required with its JSON type (a string `exp` fails to
/// deserialize); claims Sesame may add later are ignored.
#[derive(Deserialize)]
pub(crate) struct AccessClaims {
    iss: String,
    aud: Audience,
    sub: String,
    exp: i64,
    nbf: i64,
    iat: i64,
    jti: String,
    sid: String,
    client_id: String,
    phone_number: String,
    kind: Kind,
    permissions: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    user_id: Option<String>,
}

/// Sesame sends one audience; RFC 7519 §4.1.3 also allows a list.
#[derive(Deserialize)]
#[serde(untagged)]
enum Audience {
    One(String),
    Many(Vec<String>),
}

impl Audience {
    fn contains(&self, audience: &str) -> bool {
        match self {
            Self::One(one) => one == audience,
            Self::Many(many) => many.iter().any(|one| one == audience),
        }
    }
}

/// What a token must say to be accepted here.
pub(crate) struct Expected {
    pub(crate) issuer: String,
    pub(crate) audience: String,
    /// Seconds of clock skew tolerated on `exp`, `nbf` and `iat`.
    pub(crate) leeway: i64,
}

fn refuse(reason: &str) -> Error {
    Error::InvalidToken(reason.to_owned())
}

impl Expected {
    /// Checks the claims of a token whose signature held, at `now` (Unix seconds).
    pub(crate) fn check(&self, token: AccessClaims, now: i64) -> Result<Claims> {
        if token.iss != self.issuer {
            return Err(refuse("iss is another issuer"));
        }
        if !token.aud.contains(&self.audience) {
            return Err(refuse("aud is another audience"));
        }
        if token.exp.saturating_add(self.leeway) <= now {
            return Err(refuse("expired"));
        }
        if token.nbf.saturating_sub(self.leeway) > now {
            return Err(refuse("nbf is in the future"));
        }
        if token.iat.saturating_sub(self.leeway) > now {
            return Err(refuse("iat is in the future"));
        }
        if (token.kind == Kind::Employee) != token.user_id.is_some() {
            return Err(refuse("user_id does not match kind"));
        }
        Ok(Claims {
            sub: token.sub,
            sid: token.sid,
            jti: token.jti,
            kind: token.kind,
            user_id: token.user_id,
            phone_number: token.phone_number,
            permissions: token.permissions,
            client_id: token.client_id,
            expires_at: token.exp,
        })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    const NOW: i64 = 1_700_000_000;

    fn expected() -> Expected {
        Expected {
            issuer: "https://login.example.com".into(),
            audience: "sesame".into(),
            leeway: 30,
        }
    }

    fn employee() -> Value {
        json!({
            "iss": "https://login.example.com", "aud": "sesame",
            "sub": "sub-1", "exp": NOW + 900, "iat": NOW, "nbf": NOW,
            "jti": "jti-1", "sid": "sid-1", "client_id": "sesame-mobile",
            "phone_number": "+447700900123", "kind": "employee",
            "permissions": {"employee": ["full"]}, "user_id": "user-1",
        })
    }

    fn check(claims: &Value) -> Result<Claims> {
        let token: AccessClaims = serde_json::from_value(claims.clone())
            .map_err(|err| Error::InvalidToken(err.to_string()))?;
        expected().check(token, NOW)
    }

    fn with(name: &str, value: Value) -> Value {
        let mut claims = employee();
        claims[name] = value;
        claims
    }

    fn without(name: &str) -> Value {
        let mut claims = employee();
        claims.as_object_mut().unwrap().remove(name);
        claims
    }

    #[test]
    fn a_sesame_access_token_becomes_typed_claims() {
        let claims = check(&employee()).unwrap();
        assert_eq!(claims.kind, Kind::Employee);
        assert_eq!(claims.user_id.as_deref(), Some("user-1"));
        assert!(claims.has_permission("employee", "full"));
        assert!(!claims.has_permission("employee", "read"));
        assert!(!claims.has_permission("admin", "full"));
        assert_eq!(claims.expires_at, NOW + 900);

        let mut anonymous = without("user_id");
        anonymous["kind"] = json!("anonymous");
        anonymous["permissions"] = json!({});
        assert_eq!(check(&anonymous).unwrap().kind, Kind::Anonymous);
        // Claims added later, and an audience list, are accepted.
        let mut extra = with("aud", json!(["other", "sesame"]));
        extra["scope"] = json!("orders");
        assert!(check(&extra).is_ok());
    }

    #[test]
    fn every_claim_must_be_present_with_its_json_type() {
        for name in [
            "iss",
            "aud",
            "sub",
            "exp",
            "nbf",
            "iat",
            "jti",
            "sid",
            "client_id",
            "phone_number",
            "kind",
            "permissions",
        ] {
            assert!(check(&without(name)).is_err(), "without {name}");
        }
        let mistyped = [
            ("exp", json!((NOW + 900).to_string())),
            ("exp", json!(1.7e9)),
            ("iat", json!(null)),
            ("sub", json!(42)),
            ("kind", json!("admin")),
            ("permissions", json!("full")),
            ("permissions", json!({"employee": "full"})),
            ("user_id", json!(7)),
            ("aud", json!(true)),
        ];
        for (name, value) in mistyped {
            assert!(
                check(&with(name, value.clone())).is_err(),
                "{name}: {value}"
            );
        }
    }

    #[test]
    fn issuer_audience_and_identity_must_match() {
        assert!(check(&with("iss", json!("https://login.example.com/"))).is_err());
        assert!(check(&with("aud", json!("other"))).is_err());
        assert!(check(&with("aud", json!(["other"]))).is_err());
        assert!(
            check(&without("user_id")).is_err(),
            "employee without user_id"
        );
        assert!(
            check(&with("kind", json!("anonymous"))).is_err(),
            "anonymous with user_id"
        );
    }

    #[test]
    fn times_are_checked_with_the_leeway_and_no_more() {
        assert!(check(&with("exp", json!(NOW - 29))).is_ok());
        assert!(check(&with("exp", json!(NOW - 30))).is_err());
        assert!(check(&with("nbf", json!(NOW + 30))).is_ok());
        assert!(check(&with("nbf", json!(NOW + 31))).is_err());
        assert!(check(&with("iat", json!(NOW + 30))).is_ok());
        assert!(check(&with("iat", json!(NOW + 31))).is_err());
        assert!(check(&with("exp", json!(i64::MIN))).is_err());
    }
}
