//! Limits of code checks (`POST /oauth/token`, `grant_type=otp`): the per-IP cap, the
//! per-number lock with growing backoff and the long lockout, per source and for everyone,
//! the admin's unlock, enumeration with anonymous login off, and limits shared by two nodes
//! (docs/contract-notes.md, "Abuse limits").

use futures::future::join_all;
use reqwest::{Response, StatusCode};
use serde_json::json;

use crate::support::{
    ADMIN_KEY, Backend, TestApp, WINDOW, assert_error, assert_rate_limited, eventually,
    exchange_forwarded, observable, on_every_backend, pass_counted_window, pass_window,
    refused_limits, spawn_app, spawn_app_with, spawn_node_like, start_forwarded, wrong_code,
};

const NUMBER: &str = "+447700900123";

/// Every request of a test reaches the app from loopback: trusting it as a proxy lets the test
/// name each request's client in `X-Forwarded-For`.
const BEHIND_PROXY: (&str, &str) = ("SESAME_TRUSTED_PROXIES", "127.0.0.1/32");
/// The number's owner, and strangers guessing its codes, each on an address of their own.
const OWNER: &str = "198.51.100.7";
const STRANGER: &str = "203.0.113.66";

on_every_backend!(
    the_ip_check_cap_trips_and_recovers,
    a_malformed_code_counts_against_the_ip_check_cap,
    failed_checks_lock_the_number_with_growing_backoff_across_codes,
    concurrent_wrong_codes_from_one_source_earn_the_lock_sequential_ones_would,
    the_long_lockout_ends_by_admin_or_by_its_window,
    one_source_cannot_lock_the_number_for_another,
    many_sources_together_still_lock_the_number,
    unlock_empties_the_numbers_send_caps,
    unknown_numbers_look_like_employees_when_anonymous_login_is_off,
);

/// Moves the app's clock `secs` seconds forward (a lock's end without the wait).
fn pass_secs(app: &TestApp, secs: u64) {
    app.clock.advance(std::time::Duration::from_secs(secs));
}

async fn unlock(app: &TestApp, number: &str, key: Option<&str>) -> Response {
    let mut request = app
        .client
        .post(app.url(&format!("/admin/v1/numbers/{number}/unlock")));
    if let Some(key) = key {
        request = request.bearer_auth(key);
    }
    request.send().await.unwrap()
}

async fn the_ip_check_cap_trips_and_recovers(backend: Backend) {
    let app = spawn_app_with(
        backend,
        &[
            ("SESAME_IP_VERIFY_HOURLY_CAP", "3"),
            ("SESAME_HOURLY_WINDOW", WINDOW),
        ],
    )
    .await;
    for number in ["+447700900101", "+447700900102", "+447700900103"] {
        assert_error(
            app.exchange_code(number, "123456").await,
            StatusCode::BAD_REQUEST,
            "invalid_grant",
        )
        .await;
    }
    let retry_after = assert_rate_limited(app.exchange_code(NUMBER, "123456").await).await;
    // The per-IP cap counts in buckets: up to one (a second here) past the window.
    assert!((1..=4).contains(&retry_after), "{retry_after}");
    // A forged X-Forwarded-For from an untrusted peer changes nothing.
    let forged = app
        .client
        .post(app.url("/oauth/token"))
        .header("x-forwarded-for", "203.0.113.9")
        .form(&[
            ("grant_type", "otp"),
            ("phone_number", NUMBER),
            ("code", "123456"),
        ])
        .send()
        .await
        .unwrap();
    assert_rate_limited(forged).await;
    assert_eq!(refused_limits(&app).await, ["ip_verify_hourly"; 2]);

    pass_counted_window(&app);
    assert_error(
        app.exchange_code(NUMBER, "123456").await,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
    )
    .await;
}

/// A code of the wrong shape is checked apart from the store's combined step, yet counts
/// against the client IP's check cap all the same, and is refused by it.
async fn a_malformed_code_counts_against_the_ip_check_cap(backend: Backend) {
    let app = spawn_app_with(backend, &[("SESAME_IP_VERIFY_HOURLY_CAP", "1")]).await;
    let response = app.exchange_code(NUMBER, "12").await;
    assert_error(response, StatusCode::BAD_REQUEST, "invalid_grant").await;
    assert_rate_limited(app.exchange_code(NUMBER, "123456").await).await;
    assert_rate_limited(app.exchange_code(NUMBER, "12").await).await;
    assert_eq!(refused_limits(&app).await, ["ip_verify_hourly"; 2]);
}

async fn failed_checks_lock_the_number_with_growing_backoff_across_codes(backend: Backend) {
    let app = spawn_app_with(
        backend,
        &[
            ("SESAME_OTP_RESEND_AFTER", "0"),
            ("SESAME_OTP_MAX_ATTEMPTS", "2"),
            ("SESAME_VERIFY_BACKOFF_AFTER", "3"),
            ("SESAME_VERIFY_BACKOFF_BASE", "2"),
            ("SESAME_VERIFY_BACKOFF_MAX", "4"),
        ],
    )
    .await;
    app.start_login(NUMBER).await;
    let code = app.sink.last_code(NUMBER);
    for _ in 0..2 {
        let response = app.exchange_code(NUMBER, &wrong_code(&code)).await;
        assert_error(response, StatusCode::BAD_REQUEST, "invalid_grant").await;
    }
    // A new code does not reset the count: its first wrong check is the third failure.
    app.start_login(NUMBER).await;
    let code = app.sink.last_code(NUMBER);
    let response = app.exchange_code(NUMBER, &wrong_code(&code)).await;
    assert_error(response, StatusCode::BAD_REQUEST, "invalid_grant").await;
    // Locked: even the right code is refused, and costs no attempt.
    let retry_after = assert_rate_limited(app.exchange_code(NUMBER, &code).await).await;
    assert!((1..=2).contains(&retry_after), "{retry_after}");

    pass_secs(&app, 2);
    let response = app.exchange_code(NUMBER, &wrong_code(&code)).await;
    assert_error(response, StatusCode::BAD_REQUEST, "invalid_grant").await;
    // The fourth failure locks twice as long.
    let retry_after = assert_rate_limited(app.exchange_code(NUMBER, &code).await).await;
    assert!((3..=4).contains(&retry_after), "{retry_after}");

    pass_secs(&app, 4);
    app.start_login(NUMBER).await;
    let code = app.sink.last_code(NUMBER);
    assert_eq!(
        app.exchange_code(NUMBER, &code).await.status(),
        StatusCode::OK
    );
    // A success forgets the failures: one wrong code no longer locks.
    app.start_login(NUMBER).await;
    let code = app.sink.last_code(NUMBER);
    let response = app.exchange_code(NUMBER, &wrong_code(&code)).await;
    assert_error(response, StatusCode::BAD_REQUEST, "invalid_grant").await;
    assert_eq!(
        app.exchange_code(NUMBER, &code).await.status(),
        StatusCode::OK
    );
    assert_eq!(refused_limits(&app).await, ["verify_lock"; 2]);
}

/// The lock a wrong code earns is set in the step that found it wrong: a burst of wrong codes
/// sent at once gets no more checks than the same codes one after another.
async fn concurrent_wrong_codes_from_one_source_earn_the_lock_sequential_ones_would(
    backend: Backend,
) {
    let app = spawn_app_with(
        backend,
        &[
            ("SESAME_OTP_MAX_ATTEMPTS", "10"),
            ("SESAME_VERIFY_BACKOFF_AFTER", "1"),
            ("SESAME_VERIFY_BACKOFF_BASE", "60"),
            ("SESAME_VERIFY_BACKOFF_MAX", "60"),
        ],
    )
    .await;
    app.start_login(NUMBER).await;
    let code = app.sink.last_code(NUMBER);
    let wrong = wrong_code(&code);
    let burst = (0..8).map(|_| app.exchange_code(NUMBER, &wrong));
    let mut statuses: Vec<StatusCode> =
        join_all(burst).await.iter().map(Response::status).collect();
    statuses.sort();
    let mut expected = vec![StatusCode::TOO_MANY_REQUESTS; 7];
    expected.insert(0, StatusCode::BAD_REQUEST);
    assert_eq!(statuses, expected);
    // The first failure locked the source for a minute; the code itself lives on.
    assert_rate_limited(app.exchange_code(NUMBER, &code).await).await;
    pass_secs(&app, 60);
    assert_eq!(
        app.exchange_code(NUMBER, &code).await.status(),
        StatusCode::OK
    );
}

async fn the_long_lockout_ends_by_admin_or_by_its_window(backend: Backend) {
    // One client's lockout comes at half of the number's 4, after its second wrong code.
    let app = spawn_app_with(
        backend,
        &[
            ("SESAME_VERIFY_LOCKOUT_AFTER", "4"),
            ("SESAME_VERIFY_BACKOFF_AFTER", "3"),
            ("SESAME_VERIFY_BACKOFF_MAX", "1"),
            ("SESAME_VERIFY_LOCKOUT_WINDOW", WINDOW),
        ],
    )
    .await;
    let other = "+447700900124";
    for number in [NUMBER, other] {
        app.start_login(number).await;
        let code = app.sink.last_code(number);
        for _ in 0..2 {
            let response = app.exchange_code(number, &wrong_code(&code)).await;
            assert_error(response, StatusCode::BAD_REQUEST, "invalid_grant").await;
        }
        let retry_after = assert_rate_limited(app.exchange_code(number, &code).await).await;
        assert!((2..=3).contains(&retry_after), "{retry_after}");
    }

    // Only an admin may unlock.
    assert_error(
        unlock(&app, NUMBER, None).await,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    )
    .await;
    assert_error(
        unlock(&app, "not-a-number", Some(ADMIN_KEY)).await,
        StatusCode::BAD_REQUEST,
        "invalid_phone_number",
    )
    .await;
    let response = unlock(&app, NUMBER, Some(ADMIN_KEY)).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let code = app.sink.last_code(NUMBER);
    assert_eq!(
        app.exchange_code(NUMBER, &code).await.status(),
        StatusCode::OK
    );
    let audited = app
        .sql_texts("select subject from audit_events where action = 'number.unlocked'")
        .await;
    assert_eq!(audited, [NUMBER]);

    // The other number stays locked until its window passes.
    let code = app.sink.last_code(other);
    assert_rate_limited(app.exchange_code(other, &code).await).await;
    pass_window(&app);
    assert_eq!(
        app.exchange_code(other, &code).await.status(),
        StatusCode::OK
    );
}

/// Clients named by `X-Forwarded-For`; the number is locked at 4 failures from all of them,
/// a client at 2 of its own, and nothing backs off before.
async fn lockout_after_four(backend: Backend) -> TestApp {
    spawn_app_with(
        backend,
        &[
            BEHIND_PROXY,
            ("SESAME_OTP_MAX_ATTEMPTS", "10"),
            ("SESAME_VERIFY_BACKOFF_AFTER", "1000"),
            ("SESAME_VERIFY_LOCKOUT_AFTER", "4"),
        ],
    )
    .await
}

/// A stranger polling wrong codes while the owner holds a live one locks only itself out.
async fn one_source_cannot_lock_the_number_for_another(backend: Backend) {
    let app = lockout_after_four(backend).await;
    let response = start_forwarded(&app, NUMBER, OWNER).await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let code = app.sink.last_code(NUMBER);
    let wrong = wrong_code(&code);
    // Two wrong codes are the stranger's half of the number's 4; then it is locked out.
    for _ in 0..2 {
        let response = exchange_forwarded(&app, NUMBER, &wrong, STRANGER).await;
        assert_error(response, StatusCode::BAD_REQUEST, "invalid_grant").await;
    }
    for _ in 0..3 {
        assert_rate_limited(exchange_forwarded(&app, NUMBER, &wrong, STRANGER).await).await;
    }
    // The owner logs in with the code it holds, and that does not unlock the stranger.
    let response = exchange_forwarded(&app, NUMBER, &code, OWNER).await;
    assert_eq!(response.status(), StatusCode::OK);
    let response = start_forwarded(&app, NUMBER, OWNER).await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let code = app.sink.last_code(NUMBER);
    assert_rate_limited(exchange_forwarded(&app, NUMBER, &code, STRANGER).await).await;
    assert_eq!(refused_limits(&app).await, ["verify_lock"; 4]);
}

/// The number's failure budget is shared: strangers on several addresses together lock it
/// for everyone, until an admin unlocks it.
async fn many_sources_together_still_lock_the_number(backend: Backend) {
    let app = lockout_after_four(backend).await;
    start_forwarded(&app, NUMBER, OWNER).await;
    let code = app.sink.last_code(NUMBER);
    let wrong = wrong_code(&code);
    for stranger in ["203.0.113.1", "203.0.113.1", "203.0.113.2", "203.0.113.2"] {
        let response = exchange_forwarded(&app, NUMBER, &wrong, stranger).await;
        assert_error(response, StatusCode::BAD_REQUEST, "invalid_grant").await;
    }
    // Four failures from all sources: the number is locked, for the owner and any newcomer.
    for client in [OWNER, "203.0.113.3"] {
        let retry_after =
            assert_rate_limited(exchange_forwarded(&app, NUMBER, &code, client).await).await;
        assert!((86_000..=86_400).contains(&retry_after), "{retry_after}");
    }
    let response = unlock(&app, NUMBER, Some(ADMIN_KEY)).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let response = exchange_forwarded(&app, NUMBER, &code, OWNER).await;
    assert_eq!(response.status(), StatusCode::OK);
}

/// An admin's unlock also empties the number's send caps: its owner can be sent a code at once.
async fn unlock_empties_the_numbers_send_caps(backend: Backend) {
    let app = spawn_app_with(
        backend,
        &[
            BEHIND_PROXY,
            ("SESAME_OTP_RESEND_AFTER", WINDOW),
            ("SESAME_SMS_DAILY_CAP", "2"),
        ],
    )
    .await;
    let response = start_forwarded(&app, NUMBER, OWNER).await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    pass_window(&app);
    let response = start_forwarded(&app, NUMBER, STRANGER).await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    // The daily cap is spent (and the resend cooldown runs).
    assert_rate_limited(start_forwarded(&app, NUMBER, OWNER).await).await;

    let response = unlock(&app, NUMBER, Some(ADMIN_KEY)).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let response = start_forwarded(&app, NUMBER, OWNER).await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    assert_eq!(app.sink.messages_to(NUMBER).len(), 3);
    // The caps count again from there, the cooldown first.
    assert_rate_limited(start_forwarded(&app, NUMBER, STRANGER).await).await;
    assert_eq!(
        refused_limits(&app).await,
        ["number_daily", "resend_cooldown"]
    );
}

async fn unknown_numbers_look_like_employees_when_anonymous_login_is_off(backend: Backend) {
    let app = spawn_app_with(
        backend,
        &[
            ("SESAME_ALLOW_ANONYMOUS", "false"),
            ("SESAME_OTP_MAX_ATTEMPTS", "2"),
        ],
    )
    .await;
    let employee = "+447700900200";
    let stranger = "+447700900999";
    let response = app
        .put_employee("E-200", &json!({"phone_number": employee, "name": "Ada"}))
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);

    let for_employee = observable(app.start_login(employee).await).await;
    let for_stranger = observable(app.start_login(stranger).await).await;
    assert_eq!(for_employee.0, StatusCode::ACCEPTED);
    assert_eq!(for_stranger, for_employee);
    // The employee's code is sent after the answer.
    eventually(|| app.sink.messages_to(employee).len() == 1).await;
    assert!(app.sink.messages_to(stranger).is_empty());

    // Starting again hits the same cooldown.
    let again_employee = app.start_login(employee).await;
    let again_stranger = app.start_login(stranger).await;
    assert_eq!(again_employee.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        observable(again_stranger).await.0,
        StatusCode::TOO_MANY_REQUESTS
    );

    // Checks answer alike, and no code ever logs the stranger in.
    let code = app.sink.last_code(employee);
    let wrong = &wrong_code(&code);
    let for_employee = observable(app.exchange_code(employee, wrong).await).await;
    let for_stranger = observable(app.exchange_code(stranger, wrong).await).await;
    assert_eq!(for_employee.0, StatusCode::BAD_REQUEST);
    assert_eq!(for_stranger, for_employee);
    assert_eq!(
        app.exchange_code(employee, &code).await.status(),
        StatusCode::OK
    );
}

/// Nodes share limits through Redis: a client cannot spread its requests over them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limits_hold_across_two_nodes() {
    let first = spawn_app_with(
        Backend::Production,
        &[
            ("SESAME_OTP_RESEND_AFTER", "0"),
            ("SESAME_SMS_HOURLY_CAP", "4"),
            ("SESAME_IP_VERIFY_HOURLY_CAP", "6"),
            ("SESAME_VERIFY_BACKOFF_AFTER", "1"),
            BEHIND_PROXY,
        ],
    )
    .await;
    let second = spawn_node_like(&first).await;

    // Eight concurrent starts from eight clients, half on each node: exactly the cap gets
    // through.
    let clients: Vec<String> = (1..=8).map(|i| format!("203.0.113.{i}")).collect();
    let starts = clients.iter().enumerate().map(|(i, client)| {
        let node = if i % 2 == 0 { &first } else { &second };
        start_forwarded(node, NUMBER, client)
    });
    let admitted = join_all(starts)
        .await
        .iter()
        .filter(|response| response.status() == StatusCode::ACCEPTED)
        .count();
    assert_eq!(admitted, 4);
    assert_rate_limited(second.start_login(NUMBER).await).await;
    assert_eq!(first.sink.messages_to(NUMBER).len(), 4);

    // A wrong code on one node locks its client out of the number on the other.
    let code = first.sink.last_code(NUMBER);
    let response = first.exchange_code(NUMBER, &wrong_code(&code)).await;
    assert_error(response, StatusCode::BAD_REQUEST, "invalid_grant").await;
    assert_rate_limited(second.exchange_code(NUMBER, &code).await).await;

    // The per-IP check cap counts both nodes' checks: 2 above, 4 more, then refused.
    for node in [&first, &second, &first, &second] {
        let response = node.exchange_code("+447700900101", "123456").await;
        assert_error(response, StatusCode::BAD_REQUEST, "invalid_grant").await;
    }
    assert_rate_limited(first.exchange_code("+447700900101", "123456").await).await;
    assert_rate_limited(second.exchange_code("+447700900101", "123456").await).await;
}

/// The defaults of the contract hold where tests do not lower them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_default_resend_cooldown_is_thirty_seconds() {
    let app = spawn_app(Backend::Embedded).await;
    app.start_login(NUMBER).await;
    let retry_after = assert_rate_limited(app.start_login(NUMBER).await).await;
    assert!((29..=30).contains(&retry_after), "{retry_after}");
}
