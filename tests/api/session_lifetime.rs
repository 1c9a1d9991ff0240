//! How long a session lives and what its tokens may still say: the absolute lifetime, the
//! exact reuse grace window, today's anonymous policy, refresh tokens under introspection,
//! and test numbers that can never stand in for a person.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{
    Backend, FIXED_NUMBERS, TestApp, assert_error, claims_of, on_both_backends,
    spawn_app_with_fixed_numbers as spawn, spawn_node_with, text, try_spawn_node_with,
};

on_both_backends!(
    a_session_ends_at_its_absolute_lifetime,
    a_reuse_grace_of_zero_allows_no_reuse_at_all,
    a_reuse_grace_of_one_second_lasts_one_second,
    anonymous_sessions_stop_refreshing_once_anonymous_login_is_off,
    refresh_tokens_introspect_without_permissions,
    a_test_number_can_never_be_an_employees,
    test_number_logins_are_audited_as_such,
);

const NUMBER: &str = FIXED_NUMBERS[0];
const EMPLOYEE_NUMBER: &str = "+447700900777";

/// Freezes `app`'s clock `at_ms` milliseconds into the next second.
fn freeze_into_next_second(app: &TestApp, at_ms: i64) -> i64 {
    let second = app.clock.now_millis() / 1_000 + 1;
    let frozen = second * 1_000 + at_ms;
    app.clock.freeze_at(frozen);
    frozen
}

async fn a_session_ends_at_its_absolute_lifetime(backend: Backend) {
    let app = spawn(backend, &[("SESAME_SESSION_MAX_AGE", "3600")]).await;
    let first = app.login_fixed(NUMBER).await;
    let auth_time = claims_of(text(&first, "access_token"))["iat"]
        .as_i64()
        .unwrap();

    // Half-way through, a refresh slides as usual, but nothing outlives the session.
    app.clock.advance(Duration::from_secs(1_800));
    let second = app.refreshed(text(&first, "refresh_token")).await;
    let refresh_exp = claims_of(text(&second, "refresh_token"))["exp"]
        .as_i64()
        .unwrap();
    assert_eq!(refresh_exp, auth_time + 3_600);
    assert!(second["refresh_token_expires_in"].as_i64().unwrap() <= 1_800);

    // Past the lifetime the refresh TTL (30 days) no longer matters.
    app.clock.advance(Duration::from_secs(1_801));
    let response = app.refresh(text(&second, "refresh_token")).await;
    assert_error(response, StatusCode::BAD_REQUEST, "invalid_grant").await;
    for token in ["access_token", "refresh_token"] {
        assert_eq!(
            app.introspect(text(&second, token)).await,
            json!({"active": false}),
            "{token}"
        );
    }
    let response = app.me(text(&second, "access_token")).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

/// With a grace of 0, a retry in the same millisecond already counts as reuse.
async fn a_reuse_grace_of_zero_allows_no_reuse_at_all(backend: Backend) {
    let app = spawn(backend, &[("SESAME_REFRESH_REUSE_GRACE", "0")]).await;
    let first = app.login_fixed(NUMBER).await;
    freeze_into_next_second(&app, 100);
    let second = app.refreshed(text(&first, "refresh_token")).await;
    let response = app.refresh(text(&first, "refresh_token")).await;
    assert_error(response, StatusCode::BAD_REQUEST, "invalid_grant").await;
    // The reuse revoked the whole session.
    let response = app.refresh(text(&second, "refresh_token")).await;
    assert_error(response, StatusCode::BAD_REQUEST, "invalid_grant").await;
    assert_eq!(
        app.introspect(text(&second, "access_token")).await,
        json!({"active": false})
    );
}

/// A grace of one second is one second, wherever the second boundary falls.
async fn a_reuse_grace_of_one_second_lasts_one_second(backend: Backend) {
    let app = spawn(backend, &[("SESAME_REFRESH_REUSE_GRACE", "1")]).await;
    let first = app.login_fixed(NUMBER).await;
    freeze_into_next_second(&app, 900);
    let second = app.refreshed(text(&first, "refresh_token")).await;

    // 0.9 s later, in the next second: the same pair.
    app.clock.advance(Duration::from_millis(900));
    let retried = app.refreshed(text(&first, "refresh_token")).await;
    assert_eq!(retried["refresh_token"], second["refresh_token"]);

    // 1.05 s after the rotation (still within the next whole second): a reuse.
    app.clock.advance(Duration::from_millis(150));
    let response = app.refresh(text(&first, "refresh_token")).await;
    assert_error(response, StatusCode::BAD_REQUEST, "invalid_grant").await;
    assert_eq!(
        app.introspect(text(&second, "refresh_token")).await,
        json!({"active": false})
    );
}

/// A session that began while anonymous logins were allowed ends when they no longer are.
async fn anonymous_sessions_stop_refreshing_once_anonymous_login_is_off(backend: Backend) {
    let app = spawn(backend, &[]).await;
    let anonymous = app.login_fixed(NUMBER).await;
    app.put_employee(
        EMPLOYEE_NUMBER_ID,
        &json!({"phone_number": EMPLOYEE_NUMBER, "name": "Ada"}),
    )
    .await;
    let employee = app.login(EMPLOYEE_NUMBER).await;

    let strict = spawn_node_with(&app, &[("SESAME_ALLOW_ANONYMOUS", "false")]).await;
    let response = strict.refresh(text(&anonymous, "refresh_token")).await;
    assert_error(response, StatusCode::BAD_REQUEST, "invalid_grant").await;
    // Revoked, not only refused: the first node agrees.
    assert_eq!(
        app.introspect(text(&anonymous, "access_token")).await,
        json!({"active": false})
    );
    // Employees refresh as before.
    let next = strict.refreshed(text(&employee, "refresh_token")).await;
    assert_eq!(claims_of(text(&next, "access_token"))["kind"], "employee");
}

const EMPLOYEE_NUMBER_ID: &str = "E-7";

/// A refresh token describes its session but never hands out permissions.
async fn refresh_tokens_introspect_without_permissions(backend: Backend) {
    let app = spawn(backend, &[]).await;
    app.put_employee(
        EMPLOYEE_NUMBER_ID,
        &json!({"phone_number": EMPLOYEE_NUMBER, "name": "Ada"}),
    )
    .await;
    for (number, kind) in [(EMPLOYEE_NUMBER, "employee"), (NUMBER, "anonymous")] {
        let pair = match kind {
            "employee" => app.login(number).await,
            _ => app.login_fixed(number).await,
        };
        let refresh = text(&pair, "refresh_token");
        let claims = claims_of(refresh);
        let body = app.introspect(refresh).await;
        assert_eq!(body["active"], true, "{body}");
        assert_eq!(body["token_type"], "refresh_token");
        assert!(
            body.get("permissions").is_none(),
            "permissions from a refresh token: {body}"
        );
        assert_eq!(body["kind"], kind);
        assert_eq!(body["phone_number"], number);
        for name in ["sub", "exp", "iat", "jti", "sid", "iss", "aud"] {
            assert_eq!(body[name], claims[name], "{name} in {body}");
        }
        let access = app.introspect(text(&pair, "access_token")).await;
        assert_eq!(access["token_type"], "access_token");
        assert!(access["permissions"].is_object(), "{access}");
    }
}

/// A test number logs in with a code anyone who reads the configuration knows.
async fn a_test_number_can_never_be_an_employees(backend: Backend) {
    let app = spawn(backend, &[]).await;
    let response = app
        .put_employee("E-1", &json!({"phone_number": NUMBER, "name": "Ada"}))
        .await;
    let body = assert_error(response, StatusCode::CONFLICT, "conflict").await;
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("test number")
    );
    let response = app
        .import(
            "merge",
            "text/csv",
            format!("external_id,phone_number,name\nE-1,{NUMBER},Ada\nE-2,{EMPLOYEE_NUMBER},Bob\n"),
        )
        .await;
    let body = assert_error(
        response,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_request",
    )
    .await;
    assert_eq!(body["errors"][0]["line"], 2, "{body}");
    assert_eq!(app.all_employees().await.len(), 0, "nothing imported");

    // A configuration that would make an employee's number a test number does not start.
    app.put_employee(
        "E-2",
        &json!({"phone_number": EMPLOYEE_NUMBER, "name": "Bob"}),
    )
    .await;
    let numbers = format!("{EMPLOYEE_NUMBER}=424242");
    let refused = try_spawn_node_with(&app, &[("SESAME_TEST_NUMBERS", &numbers)])
        .await
        .err()
        .expect("start-up refuses a test number that is an employee's");
    assert!(
        format!("{refused:#}").contains("SESAME_TEST_NUMBERS"),
        "{refused:#}"
    );
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_sesame"))
        .arg("check-config")
        .env_clear()
        .env("SESAME_DATABASE_URL", &app.vars["SESAME_DATABASE_URL"])
        .env("SESAME_KEYS_DIR", app.keys_dir.as_os_str())
        .env("SESAME_TEST_NUMBERS", &numbers)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(!output.status.success(), "{stdout}");
    assert!(stdout.contains("FAIL test numbers"), "{stdout}");
    assert!(stdout.contains("SESAME_TEST_NUMBERS"), "{stdout}");
}

async fn test_number_logins_are_audited_as_such(backend: Backend) {
    let app = spawn(backend, &[]).await;
    let test = app.login_fixed(NUMBER).await;
    let real = app.login(EMPLOYEE_NUMBER).await;
    let page: Value = app
        .admin_get("/admin/v1/audit?action=login.succeeded")
        .await
        .json()
        .await
        .unwrap();
    let detail_of = |pair: &Value| {
        let sub = claims_of(text(pair, "access_token"))["sub"].clone();
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|event| event["subject"] == sub)
            .map(|event| event.get("detail").cloned())
            .expect("a login.succeeded event")
    };
    assert_eq!(detail_of(&test), Some(json!({"test_number": true})));
    assert_eq!(detail_of(&real), None);
}
