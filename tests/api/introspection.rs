//! Token introspection (RFC 7662) for downstream APIs holding an API key.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{
    ADMIN_KEY, Backend, FIXED_NUMBERS, assert_error, claims_of, on_both_backends,
    spawn_app_with_fixed_numbers as spawn, text,
};

on_both_backends!(
    introspection_needs_an_introspect_or_admin_key,
    live_tokens_are_described,
    anything_not_live_is_exactly_inactive,
);

async fn introspection_needs_an_introspect_or_admin_key(backend: Backend) {
    let app = spawn(backend, &[]).await;
    let pair = app.login_fixed(FIXED_NUMBERS[0]).await;
    let access = text(&pair, "access_token");

    let response = app
        .post_form("/oauth/introspect", &[("token", access)])
        .await;
    assert_error(response, StatusCode::UNAUTHORIZED, "unauthorized").await;
    for key in ["sesame_not-a-key", access] {
        let (status, body) = app.introspect_with(key, access).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    }
    let introspect_key = app.api_key("introspect").await;
    let admin_key = app.api_key("admin").await;
    for key in [introspect_key.as_str(), admin_key.as_str(), ADMIN_KEY] {
        let (status, body) = app.introspect_with(key, access).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body["active"], true);
    }

    // Form or JSON; a request without a token is malformed.
    let response = app
        .client
        .post(app.url("/oauth/introspect"))
        .bearer_auth(&introspect_key)
        .json(&json!({"token": access, "token_type_hint": "access_token"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["cache-control"], "no-store");
    assert_eq!(response.json::<Value>().await.unwrap()["active"], true);
    let response = app
        .client
        .post(app.url("/oauth/introspect"))
        .bearer_auth(&introspect_key)
        .form(&[("token_type_hint", "access_token")])
        .send()
        .await
        .unwrap();
    assert_error(response, StatusCode::BAD_REQUEST, "invalid_request").await;
}

async fn live_tokens_are_described(backend: Backend) {
    let app = spawn(backend, &[]).await;
    let number = FIXED_NUMBERS[0];
    let pair = app.login_fixed(number).await;
    let access = text(&pair, "access_token");
    let claims = claims_of(access);

    let body = app.introspect(access).await;
    assert_eq!(body["active"], true);
    assert_eq!(body["token_type"], "access_token");
    for name in [
        "sub",
        "exp",
        "iat",
        "jti",
        "sid",
        "iss",
        "aud",
        "kind",
        "permissions",
        "phone_number",
    ] {
        assert_eq!(body[name], claims[name], "{name} in {body}");
    }
    assert_eq!(body["kind"], "anonymous");
    assert_eq!(body["permissions"], json!({}));

    // A refresh token answers for its session's principal, without permissions.
    let refresh = text(&pair, "refresh_token");
    let body = app.introspect(refresh).await;
    let refresh_claims = claims_of(refresh);
    assert_eq!(body["active"], true);
    assert_eq!(body["token_type"], "refresh_token");
    for name in ["sub", "exp", "iat", "jti", "sid", "iss", "aud"] {
        assert_eq!(body[name], refresh_claims[name], "{name} in {body}");
    }
    assert_eq!(body["kind"], "anonymous");
    assert_eq!(body["phone_number"], number);
    assert!(body.get("permissions").is_none(), "{body}");
}

async fn anything_not_live_is_exactly_inactive(backend: Backend) {
    let app = spawn(
        backend,
        &[
            ("SESAME_ACCESS_TTL", "1"),
            ("SESAME_REFRESH_REUSE_GRACE", "0"),
        ],
    )
    .await;
    let inactive = json!({"active": false});
    for token in ["garbage", "a.b.c", ""] {
        assert_eq!(app.introspect(token).await, inactive, "{token}");
    }

    // A spent refresh token is inactive; its successor is active.
    let pair = app.login_fixed(FIXED_NUMBERS[0]).await;
    let next = app.refreshed(text(&pair, "refresh_token")).await;
    assert_eq!(app.introspect(text(&pair, "refresh_token")).await, inactive);
    assert_eq!(
        app.introspect(text(&next, "refresh_token")).await["active"],
        true
    );

    // An expired access token is inactive, yet still revokes its session (a client logging
    // out with a stale access token).
    let other = app.login_fixed(FIXED_NUMBERS[1]).await;
    app.clock.advance(std::time::Duration::from_secs(2));
    assert_eq!(app.introspect(text(&next, "access_token")).await, inactive);
    assert_eq!(
        app.introspect(text(&other, "refresh_token")).await["active"],
        true
    );
    let response = app
        .post_form("/oauth/revoke", &[("token", text(&other, "access_token"))])
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        app.introspect(text(&other, "refresh_token")).await,
        inactive
    );
}
