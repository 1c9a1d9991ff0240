//! Sesame's signing keys: discovery, the JWKS, and a cache that honours `Cache-Control`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use arc_swap::{ArcSwap, Guard};
use axum::http::HeaderMap;
use axum::http::header::CACHE_CONTROL;
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, KeyAlgorithm, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use serde_json::Value;

use crate::error::Error;
use crate::status::KeysStatus;
use crate::tasks::{Backoff, lock};

/// How long a JWKS is cached when the response does not say, and the bounds put on what it
/// says (`no-cache` or `max-age=0` would otherwise mean a fetch per request).
const DEFAULT_AGE: Duration = Duration::from_secs(300);
const MIN_AGE: Duration = Duration::from_secs(30);
const MAX_AGE: Duration = Duration::from_secs(86_400);
/// A token naming a `kid` the cache lacks refetches the JWKS at most this often, whatever the
/// `kid`: made-up kids cannot turn into a flood of requests to Sesame.
const REFETCH_EVERY: Duration = Duration::from_secs(30);

/// A public key and the validation pinned to its algorithm.
pub(crate) struct Key {
    pub(crate) decoding: DecodingKey,
    pub(crate) validation: Validation,
}

/// The usable keys of one JWKS, by `kid`.
pub(crate) struct KeySet(HashMap<String, Key>);

impl KeySet {
    pub(crate) fn get(&self, kid: &str) -> Option<&Key> {
        self.0.get(kid)
    }

    /// Keys Sesame may add later (other types, encryption keys) are skipped, not fatal.
    fn parse(body: &[u8]) -> Result<Self, String> {
        #[derive(Deserialize)]
        struct Set {
            keys: Vec<Value>,
        }
        let set: Set =
            serde_json::from_slice(body).map_err(|err| format!("the JWKS is malformed: {err}"))?;
        let keys: HashMap<String, Key> = set.keys.into_iter().filter_map(usable).collect();
        if keys.is_empty() {
            return Err("the JWKS holds no usable signing key".into());
        }
        Ok(Self(keys))
    }
}

fn usable(jwk: Value) -> Option<(String, Key)> {
    let jwk: Jwk = serde_json::from_value(jwk)
        .inspect_err(|err| tracing::debug!(%err, "skipping a JWK"))
        .ok()?;
    if jwk
        .common
        .public_key_use
        .as_ref()
        .is_some_and(|usage| *usage != PublicKeyUse::Signature)
    {
        return None;
    }
    let kid = jwk.common.key_id.clone()?;
    let algorithm = algorithm(&jwk)?;
    let decoding = DecodingKey::from_jwk(&jwk).ok()?;
    let mut validation = Validation::new(algorithm);
    // jsonwebtoken checks the signature and that the header names this algorithm; the claims,
    // with their bounded leeway, are checked by `Expected`.
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.validate_aud = false;
    validation.required_spec_claims.clear();
    Some((
        kid,
        Key {
            decoding,
            validation,
        },
    ))
}

/// The algorithm a key verifies with: the JWK's `alg`, or the only one its curve allows.
/// Never the token header's (RFC 8725 §3.1); symmetric keys are never used.
fn algorithm(jwk: &Jwk) -> Option<Algorithm> {
    use KeyAlgorithm as K;
    let declared = jwk.common.key_algorithm;
    match &jwk.algorithm {
        AlgorithmParameters::OctetKeyPair(key) if key.curve == EllipticCurve::Ed25519 => {
            matches!(declared, None | Some(K::EdDSA)).then_some(Algorithm::EdDSA)
        }
        AlgorithmParameters::EllipticCurve(key) => match (&key.curve, declared) {
            (EllipticCurve::P256, None | Some(K::ES256)) => Some(Algorithm::ES256),
            (EllipticCurve::P384, None | Some(K::ES384)) => Some(Algorithm::ES384),
            _ => None,
        },
        // RSA keys serve several algorithms: only a declared one is used.
        AlgorithmParameters::RSA(_) => match declared? {
            K::RS256 => Some(Algorithm::RS256),
            K::RS384 => Some(Algorithm::RS384),
            K::RS512 => Some(Algorithm::RS512),
            K::PS256 => Some(Algorithm::PS256),
            K::PS384 => Some(Algorithm::PS384),
            K::PS512 => Some(Algorithm::PS512),
            _ => None,
        },
        _ => None,
    }
}

/// `max-age` from `Cache-Control`, within bounds.
fn max_age(headers: &HeaderMap) -> Duration {
    let directives = headers
        .get_all(CACHE_CONTROL)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(str::trim);
    let mut age = None;
    for directive in directives {
        if directive.eq_ignore_ascii_case("no-store") || directive.eq_ignore_ascii_case("no-cache")
        {
            return MIN_AGE;
        }
        if let Some((name, value)) = directive.split_once('=') {
            if name.trim().eq_ignore_ascii_case("max-age") {
                age = value.trim().parse().ok().map(Duration::from_secs);
            }
        }
    }
    age.unwrap_or(DEFAULT_AGE).clamp(MIN_AGE, MAX_AGE)
}

/// A GET that succeeded with a 2xx, or why not.
pub(crate) async fn get(client: &reqwest::Client, url: &str) -> Result<reqwest::Response, String> {
    client
        .get(url)
        .send()
        .await
        .and_then(reqwest::Response::error_for_status)
        .map_err(|err| format!("GET {url}: {err}"))
}

/// Where Sesame serves what a verifier needs.
pub(crate) struct Endpoints {
    pub(crate) jwks: String,
    pub(crate) introspection: String,
}

/// Reads `/.well-known/openid-configuration`, whose issuer must be exactly the one expected
/// (RFC 8414 §3.3).
pub(crate) async fn discover(client: &reqwest::Client, issuer: &str) -> Result<Endpoints, Error> {
    #[derive(Deserialize)]
    struct Metadata {
        issuer: String,
        jwks_uri: String,
        introspection_endpoint: Option<String>,
    }
    let url = format!("{issuer}/.well-known/openid-configuration");
    let metadata: Metadata = get(client, &url)
        .await
        .map_err(Error::Unavailable)?
        .json()
        .await
        .map_err(|err| Error::Unavailable(format!("{url}: {err}")))?;
    if metadata.issuer != issuer {
        return Err(Error::Config(format!(
            "{url} names the issuer {:?}, not {issuer:?}",
            metadata.issuer
        )));
    }
    Ok(Endpoints {
        jwks: metadata.jwks_uri,
        introspection: metadata
            .introspection_endpoint
            .unwrap_or_else(|| format!("{issuer}/oauth/introspect")),
    })
}

async fn fetch(client: &reqwest::Client, url: &str) -> Result<(KeySet, Duration), String> {
    let response = get(client, url).await?;
    let age = max_age(response.headers());
    let body = response
        .bytes()
        .await
        .map_err(|err| format!("GET {url}: {err}"))?;
    Ok((KeySet::parse(&body)?, age))
}

struct Health {
    fetched_at: SystemTime,
    max_age: Duration,
    last_error: Option<String>,
}

/// The current key set, swapped whole on each successful fetch so readers never wait.
pub(crate) struct KeyCache {
    client: reqwest::Client,
    url: String,
    keys: ArcSwap<KeySet>,
    health: Mutex<Health>,
    /// When an unknown `kid` last caused a fetch.
    last_refetch: tokio::sync::Mutex<Option<Instant>>,
}

impl KeyCache {
    /// Fetches the JWKS once; a verifier does not start without keys.
    pub(crate) async fn load(client: reqwest::Client, url: String) -> Result<Self, String> {
        let (keys, max_age) = fetch(&client, &url).await?;
        Ok(Self {
            client,
            url,
            keys: ArcSwap::from_pointee(keys),
            health: Mutex::new(Health {
                fetched_at: SystemTime::now(),
                max_age,
                last_error: None,
            }),
            last_refetch: tokio::sync::Mutex::new(None),
        })
    }

    pub(crate) fn current(&self) -> Guard<Arc<KeySet>> {
        self.keys.load()
    }

    /// Fetches the JWKS; on failure the cached keys stay and the error is reported in the status.
    async fn refresh(&self) -> Result<(), String> {
        let fetched = fetch(&self.client, &self.url).await;
        let mut health = lock(&self.health);
        match fetched {
            Ok((keys, max_age)) => {
                self.keys.store(Arc::new(keys));
                *health = Health {
                    fetched_at: SystemTime::now(),
                    max_age,
                    last_error: None,
                };
                Ok(())
            }
            Err(err) => {
                tracing::warn!(error = %err, "cannot refresh Sesame's keys; using the cached ones");
                health.last_error = Some(err.clone());
                Err(err)
            }
        }
    }

    /// Fetches the JWKS for a `kid` it lacks (a rotated key), unless another request just did.
    pub(crate) async fn refetch_for(&self, kid: &str) {
        let mut last = self.last_refetch.lock().await;
        let recent = last.is_some_and(|at| at.elapsed() < REFETCH_EVERY);
        if recent || self.current().get(kid).is_some() {
            return;
        }
        *last = Some(Instant::now());
        // A failure is logged and shown in the status; the token is then refused.
        let _ = self.refresh().await;
    }

    fn until_stale(&self) -> Duration {
        let health = lock(&self.health);
        let age = health.fetched_at.elapsed().unwrap_or_default();
        health.max_age.saturating_sub(age)
    }

    /// Refreshes the keys as they go stale, and retries soon while Sesame is unreachable.
    pub(crate) async fn keep_fresh(self: Arc<Self>) {
        let mut backoff = Backoff::new(Duration::from_secs(1), Duration::from_secs(60));
        let mut wait = self.until_stale();
        loop {
            tokio::time::sleep(wait).await;
            wait = match self.refresh().await {
                Ok(()) => {
                    backoff.reset();
                    self.until_stale()
                }
                Err(_) => backoff.fail(),
            };
        }
    }

    pub(crate) fn status(&self) -> KeysStatus {
        let health = lock(&self.health);
        KeysStatus {
            fetched_at: health.fetched_at,
            fresh: health.fetched_at.elapsed().unwrap_or_default() < health.max_age,
            last_error: health.last_error.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;
    use serde_json::json;

    use super::*;

    fn headers(cache_control: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for value in cache_control {
            headers.append(CACHE_CONTROL, HeaderValue::from_str(value).unwrap());
        }
        headers
    }

    #[test]
    fn the_cache_lasts_what_cache_control_says_within_bounds() {
        let secs = |values: &[&str]| max_age(&headers(values)).as_secs();
        assert_eq!(secs(&["public, max-age=300"]), 300);
        assert_eq!(secs(&["public", "Max-Age=120"]), 120);
        assert_eq!(secs(&[]), 300);
        assert_eq!(secs(&["max-age=0"]), 30);
        assert_eq!(secs(&["no-store"]), 30);
        assert_eq!(secs(&["max-age=31536000"]), 86_400);
        assert_eq!(secs(&["max-age=soon"]), 300);
    }

    #[test]
    fn the_algorithm_comes_from_the_key_and_symmetric_keys_are_never_used() {
        let ed = json!({"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"});
        let p256 = json!({"kty": "EC", "crv": "P-256",
            "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
            "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"});
        let rsa = json!({"kty": "RSA", "n": "sXchDaQebHnPiGvyDOAT4saGEUetSyo9MKLOoWFsueri23bOdgWp4Dy1WlUzewbgBHod5pcM9H95GQRV3JDXboIRROSBigeC5yjU1hGzHHyXss8UDprecbAYxknTcQkhslANGRUZmdTOQ5qTRsLAt6BTYuyvVRdhS8exSZEy_c4gs_7svlJJQ4H9_NxsiIoLwAEk7-Q3UXERGYw_75IDrGA84-lA_-Ct4eTlXHBIY2EaV7t7LjJaynVJCpkv4LKjTTAumiGUIuQhrNhZLuF_RJLqHpM2kgWFLU7-VTdL1VbC2tejvcI2BlMkEpk1BzBZI0KQB0GaDWFLN-aEAw3vRw",
            "e": "AQAB"});
        let key = |jwk: &Value, alg: Option<&str>| {
            let mut jwk = jwk.clone();
            jwk["kid"] = json!("k1");
            if let Some(alg) = alg {
                jwk["alg"] = json!(alg);
            }
            usable(jwk).map(|(_, key)| key.validation.algorithms)
        };
        assert_eq!(key(&ed, Some("EdDSA")), Some(vec![Algorithm::EdDSA]));
        assert_eq!(key(&ed, None), Some(vec![Algorithm::EdDSA]));
        assert_eq!(key(&p256, Some("ES256")), Some(vec![Algorithm::ES256]));
        assert_eq!(key(&rsa, Some("RS256")), Some(vec![Algorithm::RS256]));
        // A key whose declared algorithm does not fit it, an RSA key with no algorithm, an
        // HMAC secret and an encryption key are skipped.
        assert_eq!(key(&ed, Some("ES256")), None);
        assert_eq!(key(&p256, Some("HS256")), None);
        assert_eq!(key(&rsa, None), None);
        assert_eq!(
            key(&json!({"kty": "oct", "k": "c2VjcmV0"}), Some("HS256")),
            None
        );
        let mut encryption = ed.clone();
        encryption["use"] = json!("enc");
        assert_eq!(key(&encryption, None), None);
        let mut no_kid = ed.clone();
        no_kid["alg"] = json!("EdDSA");
        assert!(usable(no_kid).is_none());
    }

    #[test]
    fn a_jwks_with_unknown_keys_keeps_the_usable_ones() {
        let body = json!({"keys": [
            {"kty": "OKP", "crv": "X25519", "x": "abc", "kid": "new-type"},
            {"kty": "OKP", "crv": "Ed25519", "kid": "k1", "alg": "EdDSA", "use": "sig",
             "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"},
        ]});
        let set = KeySet::parse(body.to_string().as_bytes()).unwrap();
        assert!(set.get("k1").is_some());
        assert!(set.get("new-type").is_none());
        assert!(KeySet::parse(br#"{"keys": []}"#).is_err());
        assert!(KeySet::parse(b"<html>").is_err());
    }
}
