use futures::future::join_all;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{
    Backend, assert_error, claims_of, on_every_backend, spawn_app, spawn_app_with, spawn_node_like,
    wrong_code,
};

const NUMBER: &str = "+447700900123";

on_every_backend!(
    a_full_login_issues_a_pair_that_opens_v1_me,
    numbers_are_normalised_before_anything_else,
    json_token_requests_work_like_forms,
    a_code_is_accepted_once_under_concurrency,
    wrong_codes_exhaust_the_challenge,
    a_new_start_replaces_the_previous_code,
    an_expired_code_is_refused,
    employees_get_employee_claims_and_others_anonymous,
    test_numbers_get_their_fixed_code_and_no_message,
    a_failing_provider_is_a_delivery_failure,
);

async fn a_full_login_issues_a_pair_that_opens_v1_me(backend: Backend) {
    let app = spawn_app(backend).await;

    let response = app.start_login("+44 7700 900123").await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body,
        json!({"channel": "sms", "expires_in": 180, "resend_after": 30})
    );

    let messages = app.sink.messages_to(NUMBER);
    assert_eq!(messages.len(), 1);
    let code = messages[0]["code"].as_str().unwrap().to_owned();
    assert_eq!(code.len(), 6);
    assert!(code.bytes().all(|b| b.is_ascii_digit()));
    assert_eq!(messages[0]["channel"], "sms");
    assert!(messages[0]["body"].as_str().unwrap().contains(&code));

    let response = app.exchange_code(NUMBER, &code).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let pair: Value = response.json().await.unwrap();
    assert_eq!(pair["token_type"], "Bearer");
    assert_eq!(pair["expires_in"], 900);
    assert_eq!(pair["refresh_token_expires_in"], 2_592_000);
    assert!(pair["refresh_token"].is_string());

    let response = app.me(pair["access_token"].as_str().unwrap()).await;
    assert_eq!(response.status(), StatusCode::OK);
    let me: Value = response.json().await.unwrap();
    assert_eq!(me["phone_number"], NUMBER);
    assert_eq!(me["kind"], "anonymous");
    assert_eq!(me["permissions"], json!({}));
    assert_eq!(me["user"], Value::Null);
    assert!(me["sub"].is_string());

    // The same number logs in to the same identity.
    let again = app.login(NUMBER).await;
    let me_again: Value = app
        .me(again["access_token"].as_str().unwrap())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me_again["sub"], me["sub"]);
}

async fn numbers_are_normalised_before_anything_else(backend: Backend) {
    let app = spawn_app(backend).await;
    assert_eq!(
        app.start_login("+44 (7700) 900-123").await.status(),
        StatusCode::ACCEPTED
    );
    let code = app.sink.last_code(NUMBER);
    // Exchanged under another spelling of the same number.
    let response = app.exchange_code("+44.7700.900.123", &code).await;
    assert_eq!(response.status(), StatusCode::OK);
}

async fn json_token_requests_work_like_forms(backend: Backend) {
    let app = spawn_app(backend).await;
    app.start_login(NUMBER).await;
    let code = app.sink.last_code(NUMBER);
    let response = app
        .post_json(
            "/oauth/token",
            &json!({"grant_type": "otp", "phone_number": NUMBER, "code": code}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let pair: Value = response.json().await.unwrap();
    assert!(pair["access_token"].is_string());
}

async fn a_code_is_accepted_once_under_concurrency(backend: Backend) {
    let app = spawn_app(backend).await;
    app.start_login(NUMBER).await;
    let code = app.sink.last_code(NUMBER);

    let attempts = (0..16).map(|_| app.exchange_code(NUMBER, &code));
    let statuses: Vec<StatusCode> = join_all(attempts)
        .await
        .into_iter()
        .map(|response| response.status())
        .collect();

    let winners = statuses.iter().filter(|s| **s == StatusCode::OK).count();
    let losers = statuses
        .iter()
        .filter(|s| **s == StatusCode::BAD_REQUEST)
        .count();
    assert_eq!((winners, losers), (1, 15), "{statuses:?}");
}

async fn wrong_codes_exhaust_the_challenge(backend: Backend) {
    let app = spawn_app_with(backend, &[("SESAME_OTP_MAX_ATTEMPTS", "3")]).await;
    app.start_login(NUMBER).await;
    let code = app.sink.last_code(NUMBER);
    let wrong = &wrong_code(&code);

    for _ in 0..3 {
        assert_error(
            app.exchange_code(NUMBER, wrong).await,
            StatusCode::BAD_REQUEST,
            "invalid_grant",
        )
        .await;
    }
    // The challenge is dead: even the right code fails now.
    assert_error(
        app.exchange_code(NUMBER, &code).await,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
    )
    .await;
}

async fn a_new_start_replaces_the_previous_code(backend: Backend) {
    // Without the resend cooldown, which would refuse the second start (tests/api/limits.rs).
    let app = spawn_app_with(backend, &[("SESAME_OTP_RESEND_AFTER", "0")]).await;
    app.start_login(NUMBER).await;
    let first = app.sink.last_code(NUMBER);
    app.start_login(NUMBER).await;
    let second = app.sink.last_code(NUMBER);
    assert_eq!(app.sink.messages_to(NUMBER).len(), 2);

    if first != second {
        assert_error(
            app.exchange_code(NUMBER, &first).await,
            StatusCode::BAD_REQUEST,
            "invalid_grant",
        )
        .await;
    }
    assert_eq!(
        app.exchange_code(NUMBER, &second).await.status(),
        StatusCode::OK
    );
}

async fn an_expired_code_is_refused(backend: Backend) {
    let app = spawn_app(backend).await;
    app.start_login(NUMBER).await;
    let code = app.sink.last_code(NUMBER);
    // The default lifetime, 180 s, to the millisecond (on Redis too: the app's clock decides).
    app.clock.advance(std::time::Duration::from_secs(180));
    assert_error(
        app.exchange_code(NUMBER, &code).await,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
    )
    .await;
}

async fn employees_get_employee_claims_and_others_anonymous(backend: Backend) {
    let app = spawn_app(backend).await;
    let employee = "+447700900200";
    let response = app
        .put_employee(
            "E-200",
            &json!({"phone_number": "+44 7700 900200", "name": "Ada Lovelace"}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let record: Value = response.json().await.unwrap();

    let pair = app.login(employee).await;
    let claims = claims_of(pair["access_token"].as_str().unwrap());
    assert_eq!(claims["kind"], "employee");
    assert_eq!(claims["permissions"], json!({"employee": ["full"]}));
    assert_eq!(claims["user_id"], record["id"]);
    let me: Value = app
        .me(pair["access_token"].as_str().unwrap())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["kind"], "employee");
    assert_eq!(
        me["user"],
        json!({"id": record["id"], "external_id": "E-200", "name": "Ada Lovelace"})
    );

    let pair = app.login(NUMBER).await;
    let claims = claims_of(pair["access_token"].as_str().unwrap());
    assert_eq!(claims["kind"], "anonymous");
    assert_eq!(claims["permissions"], json!({}));
    assert!(claims.get("user_id").is_none());

    // A disabled employee's number logs in anonymously.
    let response = app
        .put_employee(
            "E-200",
            &json!({"phone_number": employee, "name": "Ada Lovelace", "active": false}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let pair = app.login(employee).await;
    let claims = claims_of(pair["access_token"].as_str().unwrap());
    assert_eq!(claims["kind"], "anonymous");
}

async fn test_numbers_get_their_fixed_code_and_no_message(backend: Backend) {
    let app = spawn_app_with(backend, &[("SESAME_TEST_NUMBERS", "+447700900001=424242")]).await;
    assert_eq!(
        app.start_login("+447700900001").await.status(),
        StatusCode::ACCEPTED
    );
    assert!(app.sink.messages().is_empty());
    let response = app.exchange_code("+447700900001", "424242").await;
    assert_eq!(response.status(), StatusCode::OK);
}

async fn a_failing_provider_is_a_delivery_failure(backend: Backend) {
    // Nothing listens on port 9 of loopback: the webhook cannot be delivered.
    let app = spawn_app_with(
        backend,
        &[("SESAME_SMS_WEBHOOK_URL", "http://127.0.0.1:9/")],
    )
    .await;
    assert_error(
        app.start_login(NUMBER).await,
        StatusCode::BAD_GATEWAY,
        "delivery_failed",
    )
    .await;
}

/// Nodes behind a load balancer share Redis and Postgres: a login may hop between them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_code_started_on_one_node_is_exchanged_on_another() {
    let first = spawn_app(Backend::Production).await;
    let second = spawn_node_like(&first).await;
    assert_eq!(
        first.start_login(NUMBER).await.status(),
        StatusCode::ACCEPTED
    );
    let code = first.sink.last_code(NUMBER);
    let response = second.exchange_code(NUMBER, &code).await;
    assert_eq!(response.status(), StatusCode::OK);
    let pair: Value = response.json().await.unwrap();
    assert_eq!(
        first
            .me(pair["access_token"].as_str().unwrap())
            .await
            .status(),
        StatusCode::OK
    );
}
