//! Bad input always gets the contract's JSON error, never a panic or an HTML page.

use reqwest::StatusCode;
use serde_json::json;

use crate::support::{Backend, assert_error, on_both_backends, spawn_app};

on_both_backends!(
    malformed_bodies_are_invalid_requests,
    invalid_numbers_are_refused_without_a_message,
    bad_token_requests_get_oauth_errors,
    unknown_routes_and_methods_are_json_errors,
);

async fn malformed_bodies_are_invalid_requests(backend: Backend) {
    let app = spawn_app(backend).await;
    let cases = [
        ("application/json", "{\"phone_number\": ", "truncated JSON"),
        ("application/json", "[]", "not an object"),
        ("application/json", "{}", "missing field"),
        (
            "application/json",
            "{\"phone_number\": 447700900123}",
            "number instead of string",
        ),
        (
            "application/json",
            "{\"phone_number\": \"+447700900123\", \"channel\": \"fax\"}",
            "unknown channel",
        ),
        (
            "application/json",
            "{\"phone_number\": \"+447700900123\", \"extra\": 1}",
            "unknown field",
        ),
        (
            "text/plain",
            "{\"phone_number\": \"+447700900123\"}",
            "wrong content type",
        ),
        (
            "application/x-www-form-urlencoded",
            "phone_number=%2B447700900123",
            "form on a JSON route",
        ),
    ];
    for (content_type, body, why) in cases {
        let response = app.post_raw("/v1/otp/start", content_type, body).await;
        let body = assert_error(response, StatusCode::BAD_REQUEST, "invalid_request").await;
        assert!(
            !body["error_description"].as_str().unwrap().is_empty(),
            "{why}"
        );
    }
    let response = app
        .client
        .post(app.url("/v1/otp/start"))
        .send()
        .await
        .unwrap();
    assert_error(response, StatusCode::BAD_REQUEST, "invalid_request").await;

    let huge = json!({ "phone_number": "1".repeat(100_000) });
    let response = app.post_json("/v1/otp/start", &huge).await;
    assert_error(response, StatusCode::PAYLOAD_TOO_LARGE, "invalid_request").await;
    assert!(app.sink.messages().is_empty());
}

async fn invalid_numbers_are_refused_without_a_message(backend: Backend) {
    let app = spawn_app(backend).await;
    for number in [
        "",
        "07700900123",
        "+44 7700 90012a",
        "+44 1",
        "+999 123456789",
        "hello",
    ] {
        let response = app.start_login(number).await;
        assert_error(response, StatusCode::BAD_REQUEST, "invalid_phone_number").await;
    }
    assert!(app.sink.messages().is_empty());
}

async fn bad_token_requests_get_oauth_errors(backend: Backend) {
    let app = spawn_app(backend).await;

    let response = app
        .post_form("/oauth/token", &[("grant_type", "password")])
        .await;
    assert_error(response, StatusCode::BAD_REQUEST, "unsupported_grant_type").await;
    let response = app
        .post_form("/oauth/token", &[("phone_number", "+447700900123")])
        .await;
    assert_error(response, StatusCode::BAD_REQUEST, "invalid_request").await;
    let response = app
        .post_form(
            "/oauth/token",
            &[("grant_type", "otp"), ("phone_number", "+447700900123")],
        )
        .await;
    assert_error(response, StatusCode::BAD_REQUEST, "invalid_request").await;
    let response = app
        .post_form("/oauth/token", &[("grant_type", "otp"), ("code", "123456")])
        .await;
    assert_error(response, StatusCode::BAD_REQUEST, "invalid_request").await;
    let response = app.exchange_code("+44 nope", "123456").await;
    assert_error(response, StatusCode::BAD_REQUEST, "invalid_phone_number").await;
    // No challenge was started: a well-formed code is simply wrong.
    let response = app.exchange_code("+447700900123", "123456").await;
    assert_error(response, StatusCode::BAD_REQUEST, "invalid_grant").await;
    let response = app.exchange_code("+447700900123", "12ab").await;
    assert_error(response, StatusCode::BAD_REQUEST, "invalid_grant").await;

    let response = app
        .post_json(
            "/oauth/token",
            &json!({"grant_type": "otp", "phone_number": "+447700900123", "code": 123456}),
        )
        .await;
    assert_error(response, StatusCode::BAD_REQUEST, "invalid_request").await;
    let response = app
        .post_raw("/oauth/token", "text/plain", "grant_type=otp")
        .await;
    assert_error(response, StatusCode::BAD_REQUEST, "invalid_request").await;
    let response = app
        .post_raw("/oauth/token", "application/json", "{not json")
        .await;
    assert_error(response, StatusCode::BAD_REQUEST, "invalid_request").await;
    let oversized = format!("grant_type=otp&code={}", "1".repeat(70_000));
    let response = app
        .post_raw(
            "/oauth/token",
            "application/x-www-form-urlencoded",
            oversized,
        )
        .await;
    assert_error(response, StatusCode::PAYLOAD_TOO_LARGE, "invalid_request").await;
}

async fn unknown_routes_and_methods_are_json_errors(backend: Backend) {
    let app = spawn_app(backend).await;
    let response = app.client.get(app.url("/nope")).send().await.unwrap();
    assert_error(response, StatusCode::NOT_FOUND, "not_found").await;
    let response = app
        .client
        .get(app.url("/oauth/token"))
        .send()
        .await
        .unwrap();
    assert_error(
        response,
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
    )
    .await;
    let response = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers().contains_key("x-request-id"));
}
