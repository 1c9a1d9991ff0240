//! Access tokens are rejected unless every check of RFC 8725 passes.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{
    Backend, TestApp, claims_of, forge, header_of, keyed_with_the_public_key, on_both_backends,
    spawn_app, spawn_app_with, unsigned, with_claims_swapped,
};

const NUMBER: &str = "+447700900123";

async fn assert_rejected(app: &TestApp, token: &str, why: &str) {
    let response = app.me(token).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{why}");
    let challenge = response.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        challenge.starts_with("Bearer error=\"invalid_token\""),
        "{why}: {challenge}"
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "invalid_token", "{why}");
}

on_both_backends!(
    issued_tokens_carry_every_contract_claim,
    tampered_and_forged_tokens_are_rejected,
    a_valid_signature_is_not_enough_without_a_token_row,
    expired_access_tokens_are_rejected,
);

async fn issued_tokens_carry_every_contract_claim(backend: Backend) {
    let app = spawn_app(backend).await;
    let pair = app.login(NUMBER).await;
    let access = pair["access_token"].as_str().unwrap();
    let refresh = pair["refresh_token"].as_str().unwrap();

    let header = header_of(access);
    assert_eq!(header["alg"], "EdDSA");
    assert_eq!(header["typ"], "at+jwt");
    assert!(header["kid"].is_string());
    assert_eq!(header_of(refresh)["typ"], "refresh+jwt");

    let claims = claims_of(access);
    for name in [
        "iss",
        "aud",
        "sub",
        "jti",
        "sid",
        "client_id",
        "phone_number",
        "kind",
    ] {
        assert!(claims[name].is_string(), "{name} in {claims}");
    }
    for name in ["exp", "iat", "nbf"] {
        assert!(claims[name].is_i64(), "{name} in {claims}");
    }
    assert_eq!(claims["iss"], "http://127.0.0.1:8080");
    assert_eq!(claims["aud"], "sesame");
    assert_eq!(claims["client_id"], "sesame-mobile");
    assert_eq!(claims["phone_number"], NUMBER);
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        900
    );

    let refresh_claims = claims_of(refresh);
    assert_eq!(refresh_claims["aud"], "http://127.0.0.1:8080");
    assert_eq!(refresh_claims["sid"], claims["sid"]);
    assert_ne!(refresh_claims["jti"], claims["jti"]);

    // A refresh token is no access token.
    assert_rejected(&app, refresh, "refresh token used as access token").await;
}

async fn tampered_and_forged_tokens_are_rejected(backend: Backend) {
    let app = spawn_app(backend).await;
    let pair = app.login(NUMBER).await;
    let access = pair["access_token"].as_str().unwrap();
    let claims = claims_of(access);
    // Verified once, so the node remembers it (src/tokens/verified.rs): a token that differs
    // from it in any byte is another token, verified afresh.
    assert_eq!(app.me(access).await.status(), StatusCode::OK);

    assert_rejected(&app, "not-a-jwt", "garbage").await;
    assert_rejected(&app, "", "empty").await;

    assert_rejected(&app, &unsigned(access), "alg none").await;
    let [raw, encoded] = keyed_with_the_public_key(&app, access).await;
    assert_rejected(&app, &raw, "HS256 with the public key").await;
    assert_rejected(&app, &encoded, "HS256 with the encoded public key").await;

    // A flipped signature byte.
    let mut tampered = access.to_owned();
    let last = tampered.pop().unwrap();
    tampered.push(if last == 'A' { 'B' } else { 'A' });
    assert_rejected(&app, &tampered, "tampered signature").await;

    // Another person's claims under this token's signature.
    let mut other = claims.clone();
    other["sub"] = json!(uuid::Uuid::new_v4().to_string());
    let swapped = with_claims_swapped(access, &other);
    assert_rejected(&app, &swapped, "claims swapped under a valid signature").await;

    // Signed with our key, but one thing wrong each time.
    let with = |name: &str, value: Value| {
        let mut claims = claims.clone();
        claims[name] = value;
        claims
    };
    let cases = [
        (forge(&app, &claims, "JWT", None), "typ JWT"),
        (forge(&app, &claims, "refresh+jwt", None), "typ refresh+jwt"),
        (
            forge(&app, &claims, "at+jwt", Some("unknown-kid")),
            "unknown kid",
        ),
        (
            forge(&app, &with("aud", json!("someone-else")), "at+jwt", None),
            "wrong aud",
        ),
        (
            forge(
                &app,
                &with("iss", json!("https://evil.example")),
                "at+jwt",
                None,
            ),
            "wrong iss",
        ),
        (
            forge(
                &app,
                &with("exp", json!(claims["exp"].to_string())),
                "at+jwt",
                None,
            ),
            "string exp",
        ),
        (
            forge(&app, &with("exp", json!(1_000_000_000)), "at+jwt", None),
            "expired exp",
        ),
        (
            forge(
                &app,
                &with("nbf", json!(claims["exp"].as_i64().unwrap() + 60)),
                "at+jwt",
                None,
            ),
            "nbf in the future",
        ),
        (
            forge(&app, &with("permissions", json!("full")), "at+jwt", None),
            "mistyped permissions",
        ),
    ];
    for (token, why) in cases {
        assert_rejected(&app, &token, why).await;
    }

    // A missing or non-bearer Authorization header.
    let response = app.client.get(app.url("/v1/me")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(response.headers().contains_key("www-authenticate"));
    let response = app
        .client
        .get(app.url("/v1/me"))
        .basic_auth("user", Some("pass"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);

    // The untouched token still works.
    assert_eq!(app.me(access).await.status(), StatusCode::OK);
}

async fn a_valid_signature_is_not_enough_without_a_token_row(backend: Backend) {
    let app = spawn_app(backend).await;
    let pair = app.login(NUMBER).await;
    let mut claims = claims_of(pair["access_token"].as_str().unwrap());
    claims["jti"] = json!(uuid::Uuid::new_v4().to_string());
    let forged = forge(&app, &claims, "at+jwt", None);
    assert_rejected(&app, &forged, "signed by our key but never issued").await;
}

async fn expired_access_tokens_are_rejected(backend: Backend) {
    // Two seconds: with one, a login late in a second could see its token expire at once.
    let app = spawn_app_with(backend, &[("SESAME_ACCESS_TTL", "2")]).await;
    let pair = app.login(NUMBER).await;
    let access = pair["access_token"].as_str().unwrap();
    assert_eq!(app.me(access).await.status(), StatusCode::OK);
    app.clock.advance(std::time::Duration::from_secs(3));
    assert_rejected(&app, access, "expired").await;
}
