//! Real provider wire formats against a local fake: Twilio and Plivo; retries, timeouts,
//! permanent errors and failover.

use reqwest::StatusCode;
use serde_json::json;

use crate::support::{
    FakeProvider, PLIVO_FROM, PLIVO_ID, Reply, TWILIO_FROM, TWILIO_SID, TestApp, app_with,
    assert_error, code_in,
};

const NUMBER: &str = "+447700900123";
const MESSAGES: &str = "/Messages.json";
const PLIVO: &str = "/Message/";

fn server_error() -> Reply {
    Reply::Status(
        503,
        json!({"code": 20500, "message": "Service unavailable"}),
    )
}

/// Logs in with the code found in the last Twilio SMS.
async fn exchange_twilio_code(app: &TestApp, fake: &FakeProvider) {
    let messages = fake.requests_to(MESSAGES);
    let code = code_in(&messages.last().unwrap().fields["Body"], 6);
    assert_eq!(
        app.exchange_code(NUMBER, &code).await.status(),
        StatusCode::OK
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twilio_sms_is_sent_in_twilio_wire_format() {
    let fake = FakeProvider::spawn().await;
    let app = app_with("twilio", &fake, &[]).await;

    assert_eq!(
        app.start_login("+44 7700 900123").await.status(),
        StatusCode::ACCEPTED
    );

    // The fake refuses wrong paths, credentials, content types and missing fields.
    let requests = fake.requests();
    assert_eq!(requests.len(), 1);
    let sms = &requests[0];
    assert_eq!(
        sms.path,
        format!("/2010-04-01/Accounts/{TWILIO_SID}/Messages.json")
    );
    assert_eq!(sms.fields["To"], NUMBER);
    assert_eq!(sms.fields["From"], TWILIO_FROM);
    let code = code_in(&sms.fields["Body"], 6);
    assert_eq!(
        sms.fields["Body"],
        format!("Your Sesame code is {code}. Do not share it with anyone.")
    );
    exchange_twilio_code(&app, &fake).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twilio_voice_calls_read_the_digits_one_by_one() {
    let fake = FakeProvider::spawn().await;
    let app = app_with("twilio", &fake, &[]).await;

    let response = app
        .post_json(
            "/v1/otp/start",
            &json!({"phone_number": NUMBER, "channel": "voice"}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);

    let calls = fake.requests_to("/Calls.json");
    assert_eq!(calls.len(), 1);
    assert_eq!(
        calls[0].path,
        format!("/2010-04-01/Accounts/{TWILIO_SID}/Calls.json")
    );
    assert_eq!(calls[0].fields["To"], NUMBER);
    let twiml = &calls[0].fields["Twiml"];
    assert!(twiml.starts_with("<Response><Say>"), "{twiml}");
    // "1, 2, 3, 4, 5, 6": the code, digit by digit.
    let spoken = twiml
        .split("code is ")
        .nth(1)
        .and_then(|rest| rest.split('.').next())
        .unwrap();
    let code: String = spoken.split(", ").collect();
    assert_eq!(code.len(), 6, "{twiml}");
    assert_eq!(
        app.exchange_code(NUMBER, &code).await.status(),
        StatusCode::OK
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plivo_sms_is_sent_as_json() {
    let fake = FakeProvider::spawn().await;
    let app = app_with("plivo", &fake, &[]).await;

    assert_eq!(app.start_login(NUMBER).await.status(), StatusCode::ACCEPTED);

    let requests = fake.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].path, format!("/v1/Account/{PLIVO_ID}/Message/"));
    assert_eq!(requests[0].fields["src"], PLIVO_FROM);
    assert_eq!(requests[0].fields["dst"], NUMBER);
    let code = code_in(&requests[0].fields["text"], 6);
    assert_eq!(
        app.exchange_code(NUMBER, &code).await.status(),
        StatusCode::OK
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_template_app_name_and_webotp_origin_shape_the_text() {
    let fake = FakeProvider::spawn().await;
    let app = app_with(
        "twilio",
        &fake,
        &[
            ("SESAME_SMS_TEMPLATE", "{code} is your {app} code"),
            ("SESAME_APP_NAME", "Acme"),
            ("SESAME_WEBOTP_DOMAIN", "login.example.com"),
        ],
    )
    .await;

    assert_eq!(app.start_login(NUMBER).await.status(), StatusCode::ACCEPTED);

    let body = fake.requests_to(MESSAGES)[0].fields["Body"].clone();
    let code = code_in(&body, 6);
    assert_eq!(
        body,
        format!("{code} is your Acme code\n\n@login.example.com #{code}")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_errors_and_429_are_retried_until_success() {
    let fake = FakeProvider::spawn().await;
    let app = app_with("twilio", &fake, &[]).await;
    fake.reply([
        server_error(),
        Reply::Status(429, json!({"code": 20429, "message": "Too Many Requests"})),
    ]);

    assert_eq!(app.start_login(NUMBER).await.status(), StatusCode::ACCEPTED);

    let attempts = fake.requests_to(MESSAGES);
    assert_eq!(attempts.len(), 3);
    // Every attempt carries the same message.
    assert!(
        attempts
            .iter()
            .all(|attempt| attempt.fields == attempts[0].fields)
    );
    exchange_twilio_code(&app, &fake).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_provider_times_out_and_is_retried() {
    let fake = FakeProvider::spawn().await;
    let app = app_with("twilio", &fake, &[]).await;
    fake.reply([Reply::Hang]);

    assert_eq!(app.start_login(NUMBER).await.status(), StatusCode::ACCEPTED);

    assert_eq!(fake.requests_to(MESSAGES).len(), 2);
    exchange_twilio_code(&app, &fake).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_provider_failing_every_attempt_gives_up_after_three() {
    let fake = FakeProvider::spawn().await;
    let app = app_with("twilio", &fake, &[]).await;
    fake.reply([
        server_error(),
        server_error(),
        server_error(),
        server_error(),
    ]);

    assert_error(
        app.start_login(NUMBER).await,
        StatusCode::BAD_GATEWAY,
        "delivery_failed",
    )
    .await;
    assert_eq!(fake.requests_to(MESSAGES).len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_permanent_refusal_is_a_delivery_failure_without_retry() {
    let fake = FakeProvider::spawn().await;
    // Wrong credentials: the fake answers 401 like Twilio.
    let app = app_with(
        "twilio",
        &fake,
        &[("SESAME_TWILIO_AUTH_TOKEN", "wrong-token")],
    )
    .await;

    let body = assert_error(
        app.start_login(NUMBER).await,
        StatusCode::BAD_GATEWAY,
        "delivery_failed",
    )
    .await;
    assert_eq!(fake.requests_to(MESSAGES).len(), 1);
    // Nothing of the provider's answer reaches the client.
    assert!(!body.to_string().contains("20003"), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_number_the_provider_calls_invalid_is_invalid_phone_number() {
    let fake = FakeProvider::spawn().await;
    let app = app_with("twilio,plivo", &fake, &[]).await;
    fake.reply([Reply::Status(
        400,
        json!({"code": 21211, "message": "The 'To' number +447700900123 is not a valid phone number.", "status": 400}),
    )]);

    assert_error(
        app.start_login(NUMBER).await,
        StatusCode::BAD_REQUEST,
        "invalid_phone_number",
    )
    .await;
    // Not retried, and no other provider is bothered with it.
    assert_eq!(fake.requests().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plivo_invalid_destinations_are_invalid_phone_number() {
    let fake = FakeProvider::spawn().await;
    let app = app_with("plivo", &fake, &[]).await;
    fake.reply([Reply::Status(
        400,
        json!({"api_id": "x", "error": "invalid dst parameter"}),
    )]);

    assert_error(
        app.start_login(NUMBER).await,
        StatusCode::BAD_REQUEST,
        "invalid_phone_number",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_provider_that_keeps_failing_fails_over_to_the_next() {
    let fake = FakeProvider::spawn().await;
    let app = app_with("twilio,plivo", &fake, &[]).await;
    fake.reply([server_error(), server_error(), server_error()]);

    assert_eq!(app.start_login(NUMBER).await.status(), StatusCode::ACCEPTED);

    assert_eq!(fake.requests_to(MESSAGES).len(), 3);
    let plivo = fake.requests_to(PLIVO);
    assert_eq!(plivo.len(), 1);
    let code = code_in(&plivo[0].fields["text"], 6);
    assert_eq!(
        app.exchange_code(NUMBER, &code).await.status(),
        StatusCode::OK
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refusing_provider_fails_over_at_once_and_all_failing_is_502() {
    let fake = FakeProvider::spawn().await;
    let app = app_with(
        "twilio,plivo",
        &fake,
        &[("SESAME_TWILIO_AUTH_TOKEN", "wrong-token")],
    )
    .await;

    assert_eq!(app.start_login(NUMBER).await.status(), StatusCode::ACCEPTED);
    assert_eq!(fake.requests_to(MESSAGES).len(), 1);
    assert_eq!(fake.requests_to(PLIVO).len(), 1);

    // Plivo sends SMS only, so a voice code has nowhere left to go.
    let response = app
        .post_json(
            "/v1/otp/start",
            &json!({"phone_number": NUMBER, "channel": "voice"}),
        )
        .await;
    assert_error(response, StatusCode::BAD_GATEWAY, "delivery_failed").await;
    assert_eq!(fake.requests_to(PLIVO).len(), 1);
}
