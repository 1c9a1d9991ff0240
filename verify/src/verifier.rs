//! The verifier: one token in, typed claims or a refusal out.

use std::fmt;
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use serde::de::IgnoredAny;

use crate::builder::Builder;
use crate::claims::{AccessClaims, Claims, Expected};
use crate::error::{Error, Result};
use crate::keys::KeyCache;
use crate::layer::AuthLayer;
use crate::revocations::Follower;
use crate::status::Status;
use crate::tasks::{Tasks, unix_now};

/// Verifies Sesame access tokens offline, with cached keys and a revocation deny-list.
///
/// Cheap to clone: clones share the key cache, the deny-list and the background tasks, which
/// stop when the last clone is dropped.
///
/// ```no_run
/// # async fn run() -> Result<(), sesame_verify::Error> {
/// use sesame_verify::Verifier;
///
/// let verifier = Verifier::builder("https://login.example.com").build().await?;
/// # let token = "";
/// let claims = verifier.verify(token).await?;
/// println!("{} ({:?})", claims.sub, claims.kind);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Verifier {
    shared: Arc<Shared>,
    _tasks: Arc<Tasks>,
}

pub(crate) struct Shared {
    pub(crate) expected: Expected,
    pub(crate) keys: Arc<KeyCache>,
    pub(crate) revocations: Option<Arc<Follower>>,
    pub(crate) introspection: Option<Introspection>,
    pub(crate) client: reqwest::Client,
}

/// Where and how to ask Sesame about a token (RFC 7662).
pub(crate) struct Introspection {
    pub(crate) url: String,
    pub(crate) api_key: String,
}

/// The JOSE header fields this crate reads. `jku`, `x5u`, `jwk` and `x5c` are never read, so
/// never fetched nor trusted: keys come only from the issuer's JWKS.
#[derive(Deserialize)]
struct Header {
    typ: Option<String>,
    kid: Option<String>,
    crit: Option<IgnoredAny>,
}

impl Header {
    fn of(token: &str) -> Result<Self> {
        let encoded = token.split('.').next().unwrap_or_default();
        let json = URL_SAFE_NO_PAD
            .decode(encoded)
            .map_err(|_| Error::InvalidToken("the header is not base64url".into()))?;
        serde_json::from_slice(&json)
            .map_err(|err| Error::InvalidToken(format!("the header is malformed: {err}")))
    }
}

/// RFC 9068 §4: `typ` is `at+jwt` (the `application/` prefix may be present), any case.
fn is_access_token_type(typ: &str) -> bool {
    let typ = typ.strip_prefix("application/").unwrap_or(typ);
    typ.eq_ignore_ascii_case("at+jwt")
}

impl Verifier {
    /// Starts configuring a verifier for tokens issued by `issuer`, the URL Sesame is served at
    /// (its `SESAME_ISSUER`).
    pub fn builder(issuer: impl Into<String>) -> Builder {
        Builder::new(issuer.into())
    }

    pub(crate) fn new(shared: Shared, tasks: Tasks) -> Self {
        Self {
            shared: Arc::new(shared),
            _tasks: Arc::new(tasks),
        }
    }

    /// Verifies an access token: header, signature, claims, and the deny-list.
    ///
    /// Waits on Sesame only when the token names a key the cache lacks (a rotated key), and
    /// then at most once per 30 s across all requests. The `Err` says why, for logs.
    pub async fn verify(&self, token: &str) -> Result<Claims> {
        let header = Header::of(token)?;
        if header.crit.is_some() {
            // RFC 7515 §4.1.11: no extension is understood here.
            return Err(Error::InvalidToken("the header has crit".into()));
        }
        if !header.typ.as_deref().is_some_and(is_access_token_type) {
            return Err(Error::InvalidToken("typ is not at+jwt".into()));
        }
        let kid = header
            .kid
            .ok_or_else(|| Error::InvalidToken("no kid".into()))?;
        let keys = &self.shared.keys;
        if keys.current().get(&kid).is_none() {
            keys.refetch_for(&kid).await;
        }
        let set = keys.current();
        let key = set
            .get(&kid)
            .ok_or_else(|| Error::InvalidToken(format!("unknown kid {kid:?}")))?;
        let token = jsonwebtoken::decode::<AccessClaims>(token, &key.decoding, &key.validation)
            .map_err(|err| Error::InvalidToken(err.to_string()))?;
        let claims = self.shared.expected.check(token.claims, unix_now())?;
        if let Some(revocations) = &self.shared.revocations {
            if revocations.denies(&claims.sid, &claims.jti) {
                return Err(Error::Revoked);
            }
        }
        Ok(claims)
    }

    /// Asks Sesame whether `token` is live (for [`require_introspection`](crate::require_introspection)).
    pub(crate) async fn introspect(&self, token: &str) -> Result<()> {
        #[derive(Deserialize)]
        struct Answer {
            active: bool,
            token_type: Option<String>,
        }
        let Some(introspection) = &self.shared.introspection else {
            return Err(Error::Config(
                "require_introspection() needs an API key: Builder::revocations or \
                 Builder::introspection_key"
                    .into(),
            ));
        };
        let unavailable =
            |err: reqwest::Error| Error::Unavailable(format!("POST {}: {err}", introspection.url));
        let answer: Answer = self
            .shared
            .client
            .post(&introspection.url)
            .bearer_auth(&introspection.api_key)
            .form(&[("token", token)])
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(unavailable)?
            .json()
            .await
            .map_err(unavailable)?;
        if answer.active && answer.token_type.as_deref() == Some("access_token") {
            Ok(())
        } else {
            Err(Error::InvalidToken("Sesame says it is not active".into()))
        }
    }

    /// The layer that authenticates requests carrying a bearer token; see [`AuthLayer`].
    pub fn layer(&self) -> AuthLayer {
        AuthLayer::authenticate(self.clone())
    }

    /// Whether the keys are fresh and the deny-list current, for a health endpoint.
    pub fn status(&self) -> Status {
        let keys = self.shared.keys.status();
        let revocations = self.shared.revocations.as_ref().map(|f| f.status());
        let degraded = keys.last_error.is_some()
            || revocations
                .as_ref()
                .is_some_and(|feed| feed.last_error.is_some());
        Status {
            degraded,
            keys,
            revocations,
        }
    }
}

impl fmt::Debug for Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Verifier")
            .field("issuer", &self.shared.expected.issuer)
            .field("audience", &self.shared.expected.audience)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
#[path = "verifier_tests.rs"]
mod tests;
