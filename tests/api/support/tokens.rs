//! Tokens and keys seen from outside: claims read without verification, forged and
//! re-signed tokens, the published JWKS and the `sesame keys` command.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::StatusCode;
use ring::signature::Ed25519KeyPair;
use serde_json::Value;

use super::TestApp;

/// The claims of a JWT, read without verification (tests only).
pub fn claims_of(token: &str) -> Value {
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

pub fn header_of(token: &str) -> Value {
    let header = token.split('.').next().unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).unwrap()).unwrap()
}

/// The app's own signing key, so a test can forge tokens that differ in one claim only.
fn signing_key(app: &TestApp) -> (String, EncodingKey) {
    let entry = std::fs::read_dir(&app.keys_dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .find(|path| path.extension().is_some_and(|ext| ext == "pem"))
        .unwrap();
    let kid = entry.file_stem().unwrap().to_str().unwrap().to_owned();
    let key = EncodingKey::from_ed_pem(&std::fs::read(&entry).unwrap()).unwrap();
    (kid, key)
}

pub fn forge(app: &TestApp, claims: &Value, typ: &str, kid: Option<&str>) -> String {
    let (own_kid, key) = signing_key(app);
    let mut header = Header::new(Algorithm::EdDSA);
    header.typ = Some(typ.to_owned());
    header.kid = Some(kid.map(str::to_owned).unwrap_or(own_kid));
    jsonwebtoken::encode(&header, claims, &key).unwrap()
}

/// `alg: none`: the token with its signature dropped.
pub fn unsigned(token: &str) -> String {
    let none_header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"at+jwt"}"#);
    let payload = token.split('.').nth(1).unwrap();
    format!("{none_header}.{payload}.")
}

/// `token` with `claims` in place of its own and its signature kept.
pub fn with_claims_swapped(token: &str, claims: &Value) -> String {
    let [header, _, signature] = token.split('.').collect::<Vec<_>>()[..] else {
        panic!("not a JWT: {token}");
    };
    let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).unwrap());
    format!("{header}.{payload}.{signature}")
}

/// The token's claims signed HS256 with the public key from the JWKS, as raw bytes and as its
/// base64url text (the classic key-confusion attack).
pub async fn keyed_with_the_public_key(app: &TestApp, token: &str) -> [String; 2] {
    let jwk = serde_json::to_value(&jwks(&app.base).await.keys[0]).unwrap();
    let public = jwk["x"].as_str().unwrap().to_owned();
    let mut header = Header::new(Algorithm::HS256);
    header.typ = Some("at+jwt".into());
    header.kid = header_of(token)["kid"].as_str().map(str::to_owned);
    let claims = claims_of(token);
    [
        URL_SAFE_NO_PAD.decode(&public).unwrap(),
        public.into_bytes(),
    ]
    .map(|secret| {
        jsonwebtoken::encode(&header, &claims, &EncodingKey::from_secret(&secret)).unwrap()
    })
}

/// A string claim of a JWT (read without verification).
pub fn claim(token: &str, name: &str) -> String {
    claims_of(token)[name].as_str().unwrap().to_owned()
}

pub fn keys_command(keys_dir: &Path, args: &[&str]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_sesame"))
        .env_clear()
        .env("SESAME_KEYS_DIR", keys_dir)
        .arg("keys")
        .args(args)
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    String::from_utf8(output.stdout).unwrap()
}

pub fn kid_of(token: &str) -> String {
    jsonwebtoken::decode_header(token).unwrap().kid.unwrap()
}

/// The key set published at `{base}/.well-known/jwks.json`, which is always cacheable.
pub async fn jwks(base: &str) -> JwkSet {
    let response = reqwest::get(format!("{base}/.well-known/jwks.json"))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("max-age")
    );
    response.json().await.unwrap()
}

/// Waits for the node to re-read its keys folder (every second in these tests) and publish
/// `kid`.
pub async fn until_published(base: &str, kid: &str) -> JwkSet {
    until_jwks(base, kid, true).await
}

/// Waits for the node to re-read its keys folder and stop publishing `kid`.
pub async fn until_unpublished(base: &str, kid: &str) -> JwkSet {
    until_jwks(base, kid, false).await
}

async fn until_jwks(base: &str, kid: &str, published: bool) -> JwkSet {
    for _ in 0..100 {
        let set = jwks(base).await;
        if set.find(kid).is_some() == published {
            return set;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!(
        "{kid} was never {}",
        if published {
            "published"
        } else {
            "unpublished"
        }
    );
}

pub fn new_kid(output: &str) -> String {
    output
        .split_whitespace()
        .nth(3)
        .unwrap()
        .trim_end_matches(':')
        .to_owned()
}

/// The claims of `token` signed with a key Sesame never had, under the same `kid`.
pub fn foreign_key_token(token: &str) -> String {
    let pkcs8 = Ed25519KeyPair::generate_pkcs8(&ring::rand::SystemRandom::new()).unwrap();
    let mut header = Header::new(Algorithm::EdDSA);
    header.typ = Some("at+jwt".into());
    header.kid = Some(kid_of(token));
    let key = EncodingKey::from_ed_der(pkcs8.as_ref());
    jsonwebtoken::encode(&header, &claims_of(token), &key).unwrap()
}
