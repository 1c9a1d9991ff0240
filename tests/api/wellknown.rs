//! Downstream APIs verify our tokens with a standard JWT library and the published JWKS.

use jsonwebtoken::{DecodingKey, Validation};
use reqwest::StatusCode;
use serde_json::Value;

use crate::support::{Backend, TestApp, jwks, on_both_backends, spawn_app, spawn_app_with};

on_both_backends!(
    issued_tokens_verify_against_the_jwks,
    discovery_names_every_endpoint
);

async fn verify_with_jwks(app: &TestApp, token: &str, audience: &str) -> Value {
    let jwks = jwks(&app.base).await;
    let header = jsonwebtoken::decode_header(token).unwrap();
    let jwk = jwks
        .find(header.kid.as_deref().unwrap())
        .expect("kid is published");
    let key = DecodingKey::from_jwk(jwk).unwrap();
    let mut validation = Validation::new(header.alg);
    validation.set_audience(&[audience]);
    validation.set_issuer(&["http://127.0.0.1:8080"]);
    jsonwebtoken::decode::<Value>(token, &key, &validation)
        .expect("the token verifies against the JWKS")
        .claims
}

async fn issued_tokens_verify_against_the_jwks(backend: Backend) {
    for alg in ["EdDSA", "ES256", "RS256"] {
        let app = spawn_app_with(backend, &[("SESAME_SIGNING_ALG", alg)]).await;
        let pair = app.login("+447700900123").await;
        let access = pair["access_token"].as_str().unwrap();
        assert_eq!(
            jsonwebtoken::decode_header(access).unwrap().alg,
            alg.parse().unwrap()
        );
        let claims = verify_with_jwks(&app, access, "sesame").await;
        assert_eq!(claims["phone_number"], "+447700900123");
        let refresh = pair["refresh_token"].as_str().unwrap();
        verify_with_jwks(&app, refresh, "http://127.0.0.1:8080").await;
    }
}

async fn discovery_names_every_endpoint(backend: Backend) {
    let app = spawn_app(backend).await;
    let response = app
        .client
        .get(app.url("/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let metadata: Value = response.json().await.unwrap();
    let issuer = "http://127.0.0.1:8080";
    assert_eq!(metadata["issuer"], issuer);
    assert_eq!(
        metadata["jwks_uri"],
        format!("{issuer}/.well-known/jwks.json")
    );
    assert_eq!(metadata["token_endpoint"], format!("{issuer}/oauth/token"));
    assert_eq!(
        metadata["revocation_endpoint"],
        format!("{issuer}/oauth/revoke")
    );
    assert_eq!(
        metadata["introspection_endpoint"],
        format!("{issuer}/oauth/introspect")
    );
    let grants = metadata["grant_types_supported"].as_array().unwrap();
    assert!(grants.contains(&"otp".into()) && grants.contains(&"refresh_token".into()));
    assert!(
        metadata["id_token_signing_alg_values_supported"]
            .as_array()
            .unwrap()
            .contains(&"EdDSA".into())
    );
}
