//! `twilio_verify`: Twilio generates and checks the code; Sesame still owns the challenge —
//! its attempt limit, single use and the tokens.

use futures::future::join_all;
use reqwest::StatusCode;
use serde_json::json;

use crate::support::{
    Backend, FakeProvider, Reply, VERIFY_SID, app_on, assert_error, assert_rate_limited,
    on_both_backends, refused_limits, wrong_code,
};

const NUMBER: &str = "+447700900123";
const CHECK: &str = "/VerificationCheck";

on_both_backends!(
    twilio_issues_the_code_and_sesame_issues_the_tokens,
    a_twilio_code_is_accepted_once_under_concurrency,
    wrong_codes_count_against_sesames_limit,
    a_locked_number_is_refused_before_twilio_is_asked,
    a_new_start_replaces_the_previous_challenge,
);

async fn twilio_issues_the_code_and_sesame_issues_the_tokens(backend: Backend) {
    let fake = FakeProvider::spawn().await;
    let app = app_on(backend, "twilio_verify", &fake, &[]).await;

    assert_eq!(
        app.start_login("+44 7700 900123").await.status(),
        StatusCode::ACCEPTED
    );
    let started = fake.requests();
    assert_eq!(started.len(), 1);
    assert_eq!(
        started[0].path,
        format!("/v2/Services/{VERIFY_SID}/Verifications")
    );
    assert_eq!(started[0].fields["To"], NUMBER);
    assert_eq!(started[0].fields["Channel"], "sms");
    // Sesame sends nothing itself.
    assert!(app.sink.messages().is_empty());

    let code = fake.verify_code(NUMBER);
    assert_error(
        app.exchange_code(NUMBER, &wrong_code(&code)).await,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
    )
    .await;
    let response = app.exchange_code(NUMBER, &code).await;
    assert_eq!(response.status(), StatusCode::OK);
    let pair: serde_json::Value = response.json().await.unwrap();
    let me = app.me(pair["access_token"].as_str().unwrap()).await;
    assert_eq!(me.status(), StatusCode::OK);

    let checks = fake.requests_to(CHECK);
    assert_eq!(checks.len(), 2);
    assert_eq!(
        checks[1].path,
        format!("/v2/Services/{VERIFY_SID}/VerificationCheck")
    );
    assert_eq!(checks[1].fields["To"], NUMBER);
    assert_eq!(checks[1].fields["Code"], code);

    // Spent: the fake would still approve, Sesame does not.
    assert_error(
        app.exchange_code(NUMBER, &code).await,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
    )
    .await;

    // Voice is Twilio's `call` channel.
    let response = app
        .post_json(
            "/v1/otp/start",
            &json!({"phone_number": NUMBER, "channel": "voice"}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    assert_eq!(
        fake.requests_to("/Verifications").last().unwrap().fields["Channel"],
        "call"
    );
}

async fn a_twilio_code_is_accepted_once_under_concurrency(backend: Backend) {
    let fake = FakeProvider::spawn().await;
    let app = app_on(backend, "twilio_verify", &fake, &[]).await;
    assert_eq!(app.start_login(NUMBER).await.status(), StatusCode::ACCEPTED);
    let code = fake.verify_code(NUMBER);

    // Fewer requests than the attempt limit, so every one reaches Twilio and is approved.
    let responses = join_all((0..4).map(|_| app.exchange_code(NUMBER, &code))).await;
    let statuses: Vec<StatusCode> = responses.iter().map(|response| response.status()).collect();
    assert_eq!(
        statuses
            .iter()
            .filter(|status| **status == StatusCode::OK)
            .count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses
            .iter()
            .all(|s| *s == StatusCode::OK || *s == StatusCode::BAD_REQUEST)
    );
}

async fn wrong_codes_count_against_sesames_limit(backend: Backend) {
    let fake = FakeProvider::spawn().await;
    let app = app_on(
        backend,
        "twilio_verify",
        &fake,
        &[("SESAME_OTP_MAX_ATTEMPTS", "3")],
    )
    .await;
    assert_eq!(app.start_login(NUMBER).await.status(), StatusCode::ACCEPTED);
    let code = fake.verify_code(NUMBER);

    for _ in 0..3 {
        assert_error(
            app.exchange_code(NUMBER, &wrong_code(&code)).await,
            StatusCode::BAD_REQUEST,
            "invalid_grant",
        )
        .await;
    }
    // The challenge is dead: even the right code fails, and Twilio is not asked again.
    assert_error(
        app.exchange_code(NUMBER, &code).await,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
    )
    .await;
    assert_eq!(fake.requests_to(CHECK).len(), 3);

    // A malformed code costs nothing and never reaches Twilio.
    assert_eq!(app.start_login(NUMBER).await.status(), StatusCode::ACCEPTED);
    let code = fake.verify_code(NUMBER);
    assert_error(
        app.exchange_code(NUMBER, "12ab").await,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
    )
    .await;
    assert_eq!(fake.requests_to(CHECK).len(), 3);
    assert_eq!(
        app.exchange_code(NUMBER, &code).await.status(),
        StatusCode::OK
    );
}

/// The number's lock holds whoever checks the code: a locked number's codes, right or
/// malformed, are refused with `429` and never reach Twilio.
async fn a_locked_number_is_refused_before_twilio_is_asked(backend: Backend) {
    let fake = FakeProvider::spawn().await;
    let app = app_on(
        backend,
        "twilio_verify",
        &fake,
        &[
            ("SESAME_OTP_MAX_ATTEMPTS", "5"),
            ("SESAME_VERIFY_BACKOFF_AFTER", "2"),
            ("SESAME_VERIFY_BACKOFF_BASE", "60"),
        ],
    )
    .await;
    assert_eq!(app.start_login(NUMBER).await.status(), StatusCode::ACCEPTED);
    let code = fake.verify_code(NUMBER);
    for _ in 0..2 {
        assert_error(
            app.exchange_code(NUMBER, &wrong_code(&code)).await,
            StatusCode::BAD_REQUEST,
            "invalid_grant",
        )
        .await;
    }
    let retry_after = assert_rate_limited(app.exchange_code(NUMBER, &code).await).await;
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    assert_rate_limited(app.exchange_code(NUMBER, "12ab").await).await;
    assert_eq!(fake.requests_to(CHECK).len(), 2);
    assert_eq!(refused_limits(&app).await, ["verify_lock"; 2]);
}

async fn a_new_start_replaces_the_previous_challenge(backend: Backend) {
    let fake = FakeProvider::spawn().await;
    let app = app_on(
        backend,
        "twilio_verify",
        &fake,
        &[("SESAME_OTP_MAX_ATTEMPTS", "2")],
    )
    .await;
    assert_eq!(app.start_login(NUMBER).await.status(), StatusCode::ACCEPTED);
    let code = fake.verify_code(NUMBER);
    for _ in 0..2 {
        app.exchange_code(NUMBER, &wrong_code(&code)).await;
    }
    // A fresh start brings fresh attempts.
    assert_eq!(app.start_login(NUMBER).await.status(), StatusCode::ACCEPTED);
    let code = fake.verify_code(NUMBER);
    assert_eq!(
        app.exchange_code(NUMBER, &code).await.status(),
        StatusCode::OK
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_outages_are_retried_on_start_and_unavailable_on_check() {
    let fake = FakeProvider::spawn().await;
    let app = app_on(Backend::Embedded, "twilio_verify", &fake, &[]).await;
    fake.reply([Reply::Status(
        503,
        json!({"code": 20500, "message": "down"}),
    )]);
    assert_eq!(app.start_login(NUMBER).await.status(), StatusCode::ACCEPTED);
    assert_eq!(fake.requests_to("/Verifications").len(), 2);

    let code = fake.verify_code(NUMBER);
    fake.reply([Reply::Status(
        503,
        json!({"code": 20500, "message": "down"}),
    )]);
    assert_error(
        app.exchange_code(NUMBER, &code).await,
        StatusCode::SERVICE_UNAVAILABLE,
        "temporarily_unavailable",
    )
    .await;
    // The check is not retried (Twilio may have counted it); the next request succeeds.
    assert_eq!(fake.requests_to(CHECK).len(), 1);
    assert_eq!(
        app.exchange_code(NUMBER, &code).await.status(),
        StatusCode::OK
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_numbers_keep_their_fixed_code_under_twilio_verify() {
    let fake = FakeProvider::spawn().await;
    let app = app_on(
        Backend::Embedded,
        "twilio_verify",
        &fake,
        &[("SESAME_TEST_NUMBERS", "+447700900001=424242")],
    )
    .await;
    assert_eq!(
        app.start_login("+447700900001").await.status(),
        StatusCode::ACCEPTED
    );
    assert_eq!(
        app.exchange_code("+447700900001", "424242").await.status(),
        StatusCode::OK
    );
    assert!(fake.requests().is_empty());
}
