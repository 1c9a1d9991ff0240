//! A fake Sesame for the unit tests: discovery, a JWKS that counts its fetches, and a scripted
//! revocation feed that records what it was asked. The live server is tested end to end in the
//! root package (`tests/api/downstream.rs`).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::signature::{Ed25519KeyPair, KeyPair};
use serde_json::{Value, json};

use crate::tasks::unix_now;

/// An Ed25519 signing key and its JWK.
pub(crate) struct TestKey {
    pub(crate) kid: String,
    pair: Ed25519KeyPair,
    pub(crate) jwk: Value,
}

impl TestKey {
    pub(crate) fn new(kid: &str) -> Self {
        let pkcs8 = Ed25519KeyPair::generate_pkcs8(&ring::rand::SystemRandom::new()).unwrap();
        let pair = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).unwrap();
        let x = URL_SAFE_NO_PAD.encode(pair.public_key().as_ref());
        Self {
            kid: kid.to_owned(),
            pair,
            jwk: json!({"kty": "OKP", "crv": "Ed25519", "x": x, "kid": kid, "alg": "EdDSA", "use": "sig"}),
        }
    }

    /// An access token with these claims, as Sesame signs it.
    pub(crate) fn sign(&self, claims: &Value) -> String {
        self.sign_with(
            &json!({"alg": "EdDSA", "typ": "at+jwt", "kid": self.kid}),
            claims,
        )
    }

    /// A token with this exact header, signed with this key.
    pub(crate) fn sign_with(&self, header: &Value, claims: &Value) -> String {
        let message = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let signature = self.pair.sign(message.as_bytes());
        format!("{message}.{}", URL_SAFE_NO_PAD.encode(signature.as_ref()))
    }
}

/// The claims of a live anonymous access token from `issuer`.
pub(crate) fn claims(issuer: &str, sid: &str, jti: &str) -> Value {
    let now = unix_now();
    json!({
        "iss": issuer, "aud": "sesame", "sub": "sub-1", "exp": now + 900, "iat": now,
        "nbf": now, "jti": jti, "sid": sid, "client_id": "sesame-mobile",
        "phone_number": "+447700900123", "kind": "anonymous", "permissions": {},
    })
}

/// A scripted answer of the feed.
pub(crate) enum Reply {
    Page(Value),
    Fail(StatusCode),
}

#[derive(Default)]
struct Fake {
    issuer: String,
    jwks: Mutex<Vec<Value>>,
    jwks_fetches: AtomicUsize,
    feed: Mutex<VecDeque<Reply>>,
    /// `since` of each feed request, and whether it carried the API key.
    feed_requests: Mutex<Vec<(Option<String>, bool)>>,
}

pub(crate) struct FakeSesame {
    pub(crate) issuer: String,
    fake: Arc<Fake>,
}

pub(crate) const API_KEY: &str = "sesame_test_key";

impl FakeSesame {
    /// Serves discovery and a JWKS with `keys`; the feed answers from `replies`, then with an
    /// empty page.
    pub(crate) async fn spawn(keys: &[&TestKey], replies: Vec<Reply>) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let issuer = format!("http://{}", listener.local_addr().unwrap());
        let fake = Arc::new(Fake {
            issuer: issuer.clone(),
            jwks: Mutex::new(keys.iter().map(|key| key.jwk.clone()).collect()),
            feed: Mutex::new(replies.into()),
            ..Fake::default()
        });
        let app = Router::new()
            .route("/.well-known/openid-configuration", get(discovery))
            .route("/.well-known/jwks.json", get(jwks))
            .route("/v1/revocations", get(feed))
            .with_state(fake.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self { issuer, fake }
    }

    pub(crate) fn publish(&self, key: &TestKey) {
        self.fake.jwks.lock().unwrap().push(key.jwk.clone());
    }

    pub(crate) fn jwks_fetches(&self) -> usize {
        self.fake.jwks_fetches.load(Ordering::SeqCst)
    }

    pub(crate) fn feed_requests(&self) -> Vec<(Option<String>, bool)> {
        self.fake.feed_requests.lock().unwrap().clone()
    }

    pub(crate) fn feed_url(&self) -> String {
        format!("{}/v1/revocations", self.issuer)
    }
}

async fn discovery(State(fake): State<Arc<Fake>>) -> Json<Value> {
    Json(json!({
        "issuer": fake.issuer,
        "jwks_uri": format!("{}/.well-known/jwks.json", fake.issuer),
    }))
}

async fn jwks(State(fake): State<Arc<Fake>>) -> Response {
    fake.jwks_fetches.fetch_add(1, Ordering::SeqCst);
    let keys = fake.jwks.lock().unwrap().clone();
    (
        [("cache-control", "public, max-age=300")],
        Json(json!({ "keys": keys })),
    )
        .into_response()
}

async fn feed(
    State(fake): State<Arc<Fake>>,
    headers: HeaderMap,
    Query(query): Query<std::collections::HashMap<String, String>>,
) -> Response {
    let authorized = headers
        .get("authorization")
        .is_some_and(|value| value == format!("Bearer {API_KEY}").as_str());
    let since = query.get("since").cloned();
    fake.feed_requests
        .lock()
        .unwrap()
        .push((since.clone(), authorized));
    match fake.feed.lock().unwrap().pop_front() {
        Some(Reply::Page(page)) => Json(page).into_response(),
        Some(Reply::Fail(status)) => status.into_response(),
        None => Json(json!({"items": [], "next": since.unwrap_or_default()})).into_response(),
    }
}
