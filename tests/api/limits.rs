//! Send limits of `POST /v1/otp/start`: resend cooldown, per-number and per-IP caps, the
//! per-country budget, the country allow-list and line types (docs/contract-notes.md,
//! "Abuse limits"). Windows are shortened to seconds, and the app's clock is moved past them
//! to observe recovery.

use std::time::Duration;

use futures::future::join_all;
use reqwest::{Response, StatusCode};
use serde_json::json;

use crate::support::{
    Backend, WINDOW, assert_error, assert_rate_limited, on_every_backend, pass_counted_window,
    pass_window, refused_limits, spawn_app_with, start_forwarded,
};

const NUMBER: &str = "+447700900123";

/// Every request of a test reaches the app from loopback: trusting it as a proxy lets the test
/// name each request's client in `X-Forwarded-For`.
const BEHIND_PROXY: (&str, &str) = ("SESAME_TRUSTED_PROXIES", "127.0.0.1/32");

/// A client address per request: each of them is its own source.
fn client(i: usize) -> String {
    format!("203.0.113.{}", i + 1)
}

on_every_backend!(
    the_resend_cooldown_refuses_with_an_honest_retry_after,
    a_refused_start_leaves_the_live_code,
    the_hourly_cap_per_number_trips_and_recovers,
    the_daily_cap_per_number_trips_and_recovers,
    a_cap_admits_exactly_its_value_under_concurrency,
    one_source_cannot_use_up_a_numbers_send_caps,
    test_numbers_skip_send_limits,
    the_ip_cap_trips_and_a_spoofed_forwarded_for_does_not_evade_it,
    a_trusted_proxy_names_the_client,
    the_country_budget_stops_sending_and_recovers,
    a_start_the_budget_refuses_is_not_charged_to_its_number,
    a_start_the_global_budget_refuses_is_not_charged_to_its_country,
    a_failed_delivery_starts_no_cooldown,
    countries_outside_the_allow_list_are_refused,
    premium_rate_and_fixed_lines_get_no_sms,
    satellite_and_unassigned_ranges_get_no_code_unless_allowed,
);

async fn the_resend_cooldown_refuses_with_an_honest_retry_after(backend: Backend) {
    let app = spawn_app_with(backend, &[("SESAME_OTP_RESEND_AFTER", WINDOW)]).await;
    assert_eq!(app.start_login(NUMBER).await.status(), StatusCode::ACCEPTED);
    let retry_after = assert_rate_limited(app.start_login(NUMBER).await).await;
    assert!((1..=3).contains(&retry_after), "{retry_after}");
    assert_eq!(app.sink.messages_to(NUMBER).len(), 1);
    // Another number is not held back.
    assert_eq!(
        app.start_login("+447700900124").await.status(),
        StatusCode::ACCEPTED
    );

    pass_window(&app);
    assert_eq!(app.start_login(NUMBER).await.status(), StatusCode::ACCEPTED);
    assert_eq!(app.sink.messages_to(NUMBER).len(), 2);

    // A successful login ends the cooldown: the next start is a new login, not a resend.
    let code = app.sink.last_code(NUMBER);
    assert_eq!(
        app.exchange_code(NUMBER, &code).await.status(),
        StatusCode::OK
    );
    assert_eq!(app.start_login(NUMBER).await.status(), StatusCode::ACCEPTED);
    assert_eq!(refused_limits(&app).await, ["resend_cooldown"]);
}

/// A start's code is stored with its admission: a refused start stores none, and the code
/// already sent still logs in.
async fn a_refused_start_leaves_the_live_code(backend: Backend) {
    let app = spawn_app_with(backend, &[("SESAME_OTP_RESEND_AFTER", WINDOW)]).await;
    assert_eq!(app.start_login(NUMBER).await.status(), StatusCode::ACCEPTED);
    let code = app.sink.last_code(NUMBER);
    assert_rate_limited(app.start_login(NUMBER).await).await;
    assert_eq!(
        app.exchange_code(NUMBER, &code).await.status(),
        StatusCode::OK
    );
}

async fn the_hourly_cap_per_number_trips_and_recovers(backend: Backend) {
    let app = spawn_app_with(
        backend,
        &[
            ("SESAME_OTP_RESEND_AFTER", "0"),
            ("SESAME_SMS_HOURLY_CAP", "3"),
            ("SESAME_HOURLY_WINDOW", WINDOW),
            BEHIND_PROXY,
        ],
    )
    .await;
    for i in 0..3 {
        let response = start_forwarded(&app, NUMBER, &client(i)).await;
        assert_eq!(response.status(), StatusCode::ACCEPTED);
    }
    let retry_after = assert_rate_limited(start_forwarded(&app, NUMBER, &client(3)).await).await;
    assert!((1..=3).contains(&retry_after), "{retry_after}");
    assert_eq!(app.sink.messages_to(NUMBER).len(), 3);
    assert_eq!(refused_limits(&app).await, ["number_hourly"]);

    pass_window(&app);
    assert_eq!(app.start_login(NUMBER).await.status(), StatusCode::ACCEPTED);
    assert_eq!(app.sink.messages_to(NUMBER).len(), 4);
}

async fn the_daily_cap_per_number_trips_and_recovers(backend: Backend) {
    let app = spawn_app_with(
        backend,
        &[
            ("SESAME_OTP_RESEND_AFTER", "0"),
            ("SESAME_SMS_DAILY_CAP", "2"),
            ("SESAME_DAILY_WINDOW", WINDOW),
            BEHIND_PROXY,
        ],
    )
    .await;
    for i in 0..2 {
        let response = start_forwarded(&app, NUMBER, &client(i)).await;
        assert_eq!(response.status(), StatusCode::ACCEPTED);
    }
    let retry_after = assert_rate_limited(start_forwarded(&app, NUMBER, &client(2)).await).await;
    assert!((1..=3).contains(&retry_after), "{retry_after}");
    assert_eq!(refused_limits(&app).await, ["number_daily"]);

    pass_window(&app);
    assert_eq!(app.start_login(NUMBER).await.status(), StatusCode::ACCEPTED);
    assert_eq!(app.sink.messages_to(NUMBER).len(), 3);
}

async fn a_cap_admits_exactly_its_value_under_concurrency(backend: Backend) {
    let app = spawn_app_with(
        backend,
        &[
            ("SESAME_OTP_RESEND_AFTER", "0"),
            ("SESAME_SMS_HOURLY_CAP", "3"),
            BEHIND_PROXY,
        ],
    )
    .await;
    let clients: Vec<String> = (0..12).map(client).collect();
    let starts = clients
        .iter()
        .map(|client| start_forwarded(&app, NUMBER, client));
    let statuses: Vec<StatusCode> = join_all(starts)
        .await
        .iter()
        .map(Response::status)
        .collect();
    let admitted = statuses
        .iter()
        .filter(|s| **s == StatusCode::ACCEPTED)
        .count();
    let refused = statuses
        .iter()
        .filter(|s| **s == StatusCode::TOO_MANY_REQUESTS)
        .count();
    assert_eq!((admitted, refused), (3, 9), "{statuses:?}");
    assert_eq!(app.sink.messages_to(NUMBER).len(), 3);
}

/// A stranger on one IP (or one IPv6 /64) cannot use up a person's send caps: it gets half of
/// each, and the rest stays for the person.
async fn one_source_cannot_use_up_a_numbers_send_caps(backend: Backend) {
    let app = spawn_app_with(
        backend,
        &[
            ("SESAME_OTP_RESEND_AFTER", "0"),
            ("SESAME_SMS_HOURLY_CAP", "4"),
            ("SESAME_SMS_DAILY_CAP", "6"),
            ("SESAME_HOURLY_WINDOW", WINDOW),
            BEHIND_PROXY,
        ],
    )
    .await;
    let owner = "198.51.100.7";
    // Two addresses of one /64 are one source, with half of the hourly cap of 4.
    for stranger in ["2001:db8:1:2::1", "2001:db8:1:2::2"] {
        let response = start_forwarded(&app, NUMBER, stranger).await;
        assert_eq!(response.status(), StatusCode::ACCEPTED);
    }
    let response = start_forwarded(&app, NUMBER, "2001:db8:1:2::3").await;
    let retry_after = assert_rate_limited(response).await;
    assert!((1..=3).contains(&retry_after), "{retry_after}");
    // The number's owner still gets a code.
    let response = start_forwarded(&app, NUMBER, owner).await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);

    // A new hour: the stranger's third code is its half of the daily cap of 6, and the owner
    // still has the rest.
    pass_window(&app);
    let response = start_forwarded(&app, NUMBER, "2001:db8:1:2::4").await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let response = start_forwarded(&app, NUMBER, "2001:db8:1:2::5").await;
    let retry_after = assert_rate_limited(response).await;
    // Honest: its share frees a place a day after its first code.
    assert!((86_000..=86_400).contains(&retry_after), "{retry_after}");
    let response = start_forwarded(&app, NUMBER, owner).await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    assert_eq!(app.sink.messages_to(NUMBER).len(), 5);
    assert_eq!(
        refused_limits(&app).await,
        ["number_source_hourly", "number_source_daily"]
    );
}

async fn test_numbers_skip_send_limits(backend: Backend) {
    let app = spawn_app_with(
        backend,
        &[
            ("SESAME_TEST_NUMBERS", "+447700900001=424242"),
            ("SESAME_SMS_HOURLY_CAP", "1"),
            ("SESAME_IP_HOURLY_CAP", "1"),
        ],
    )
    .await;
    for _ in 0..4 {
        assert_eq!(
            app.start_login("+447700900001").await.status(),
            StatusCode::ACCEPTED
        );
    }
    assert_eq!(
        app.exchange_code("+447700900001", "424242").await.status(),
        StatusCode::OK
    );
    // The per-IP cap still applies to ordinary numbers.
    assert_eq!(app.start_login(NUMBER).await.status(), StatusCode::ACCEPTED);
    assert_rate_limited(app.start_login("+447700900124").await).await;
}

async fn the_ip_cap_trips_and_a_spoofed_forwarded_for_does_not_evade_it(backend: Backend) {
    let app = spawn_app_with(
        backend,
        &[
            ("SESAME_IP_HOURLY_CAP", "2"),
            ("SESAME_HOURLY_WINDOW", WINDOW),
        ],
    )
    .await;
    assert_eq!(
        start_forwarded(&app, "+447700900101", "203.0.113.1")
            .await
            .status(),
        StatusCode::ACCEPTED
    );
    assert_eq!(
        start_forwarded(&app, "+447700900102", "203.0.113.2")
            .await
            .status(),
        StatusCode::ACCEPTED
    );
    // 127.0.0.1 is no trusted proxy: its X-Forwarded-For is ignored, whatever it says.
    for forged in ["203.0.113.3", "198.51.100.1, 203.0.113.4", "::1"] {
        let retry_after =
            assert_rate_limited(start_forwarded(&app, "+447700900103", forged).await).await;
        // The per-IP cap counts in buckets: up to one (a second here) past the window.
        assert!((1..=4).contains(&retry_after), "{retry_after}");
    }
    assert_rate_limited(app.start_login("+447700900104").await).await;
    assert_eq!(app.sink.messages().len(), 2);
    assert_eq!(refused_limits(&app).await, ["ip_hourly"; 4]);

    pass_counted_window(&app);
    assert_eq!(
        app.start_login("+447700900104").await.status(),
        StatusCode::ACCEPTED
    );
}

async fn a_trusted_proxy_names_the_client(backend: Backend) {
    let app = spawn_app_with(
        backend,
        &[
            ("SESAME_IP_HOURLY_CAP", "2"),
            ("SESAME_TRUSTED_PROXIES", "127.0.0.1/32"),
        ],
    )
    .await;
    for number in ["+447700900101", "+447700900102"] {
        let response = start_forwarded(&app, number, "198.51.100.1, 203.0.113.7").await;
        assert_eq!(response.status(), StatusCode::ACCEPTED);
    }
    // 203.0.113.7 has had its two; the left-most entry was the client's own and changes nothing.
    assert_rate_limited(start_forwarded(&app, "+447700900103", "198.51.100.2, 203.0.113.7").await)
        .await;
    // Another client behind the same proxy is counted on its own.
    let response = start_forwarded(&app, "+447700900103", "203.0.113.8").await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);

    // The session records the same client IP.
    let code = app.sink.last_code("+447700900103");
    let response = app
        .client
        .post(app.url("/oauth/token"))
        .header("x-forwarded-for", "203.0.113.8")
        .form(&[
            ("grant_type", "otp"),
            ("phone_number", "+447700900103"),
            ("code", &code),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        app.sql_texts("select ip from sessions").await,
        ["203.0.113.8"]
    );
}

async fn the_country_budget_stops_sending_and_recovers(backend: Backend) {
    let app = spawn_app_with(
        backend,
        &[
            ("SESAME_SMS_COUNTRY_HOURLY_BUDGET", "2"),
            ("SESAME_HOURLY_WINDOW", WINDOW),
        ],
    )
    .await;
    for number in ["+447700900101", "+447700900102"] {
        assert_eq!(app.start_login(number).await.status(), StatusCode::ACCEPTED);
    }
    assert_rate_limited(app.start_login("+447700900103").await).await;
    assert!(app.sink.messages_to("+447700900103").is_empty());
    // Another calling code has its own budget.
    assert_eq!(
        app.start_login("+12015550123").await.status(),
        StatusCode::ACCEPTED
    );
    assert_eq!(refused_limits(&app).await, ["country_budget"]);
    pass_counted_window(&app);
    assert_eq!(
        app.start_login("+447700900103").await.status(),
        StatusCode::ACCEPTED
    );
}

async fn a_start_the_budget_refuses_is_not_charged_to_its_number(backend: Backend) {
    let app = spawn_app_with(
        backend,
        &[
            ("SESAME_SMS_COUNTRY_HOURLY_BUDGET", "1"),
            ("SESAME_HOURLY_WINDOW", WINDOW),
            ("SESAME_SMS_DAILY_CAP", "1"),
        ],
    )
    .await;
    assert_eq!(
        app.start_login("+447700900101").await.status(),
        StatusCode::ACCEPTED
    );
    assert_rate_limited(app.start_login(NUMBER).await).await;
    pass_counted_window(&app);
    // The budget is back, and the refused start did not use up the number's daily cap of one.
    assert_eq!(app.start_login(NUMBER).await.status(), StatusCode::ACCEPTED);
    assert_eq!(app.sink.messages_to(NUMBER).len(), 1);
}

async fn a_start_the_global_budget_refuses_is_not_charged_to_its_country(backend: Backend) {
    let app = spawn_app_with(
        backend,
        &[
            ("SESAME_SMS_COUNTRY_HOURLY_BUDGET", "1"),
            ("SESAME_SMS_GLOBAL_HOURLY_BUDGET", "1"),
            ("SESAME_HOURLY_WINDOW", WINDOW),
        ],
    )
    .await;
    let second = app.clock.now_millis() / 1_000 + 1;
    app.clock.freeze_at(second * 1_000);
    assert_eq!(
        app.start_login("+447700900101").await.status(),
        StatusCode::ACCEPTED
    );
    // The +1 budget admits this start; the global budget, full, refuses it.
    app.clock.advance(Duration::from_secs(2));
    assert_rate_limited(app.start_login("+12015550123").await).await;
    // Two seconds on, the first send has left the global budget (a window of 3 s in buckets
    // of 1 s), but the refused start would still fill the +1 budget had it been charged there.
    app.clock.advance(Duration::from_secs(2));
    assert_eq!(
        app.start_login("+12015550124").await.status(),
        StatusCode::ACCEPTED
    );
    assert_eq!(refused_limits(&app).await, ["global_budget"]);
}

async fn a_failed_delivery_starts_no_cooldown(backend: Backend) {
    // Nothing listens on port 9 of loopback: every send fails.
    let app = spawn_app_with(
        backend,
        &[
            ("SESAME_SMS_WEBHOOK_URL", "http://127.0.0.1:9/"),
            ("SESAME_SMS_HOURLY_CAP", "1"),
        ],
    )
    .await;
    for _ in 0..3 {
        let response = app.start_login(NUMBER).await;
        assert_error(response, StatusCode::BAD_GATEWAY, "delivery_failed").await;
    }
}

async fn countries_outside_the_allow_list_are_refused(backend: Backend) {
    let app = spawn_app_with(backend, &[("SESAME_ALLOWED_COUNTRIES", "gb,FR")]).await;
    assert_error(
        app.start_login("+1 201 555 0123").await,
        StatusCode::BAD_REQUEST,
        "country_not_allowed",
    )
    .await;
    assert!(app.sink.messages().is_empty());
    assert_eq!(app.start_login(NUMBER).await.status(), StatusCode::ACCEPTED);
    assert_eq!(refused_limits(&app).await, ["country_not_allowed"]);
}

async fn premium_rate_and_fixed_lines_get_no_sms(backend: Backend) {
    let app = spawn_app_with(backend, &[("SESAME_OTP_RESEND_AFTER", "0")]).await;
    for number in ["+44 909 879 0000", "+44 20 7031 3000", "+44 800 123 4567"] {
        assert_error(
            app.start_login(number).await,
            StatusCode::BAD_REQUEST,
            "invalid_phone_number",
        )
        .await;
    }
    assert!(app.sink.messages().is_empty());
    // Voice may call a fixed line, never a premium-rate number.
    let app = &app;
    let voice = |number: &'static str| {
        let body = json!({ "phone_number": number, "channel": "voice" });
        async move { app.post_json("/v1/otp/start", &body).await }
    };
    assert_eq!(voice("+442070313000").await.status(), StatusCode::ACCEPTED);
    assert_error(
        voice("+449098790000").await,
        StatusCode::BAD_REQUEST,
        "invalid_phone_number",
    )
    .await;
    assert_eq!(app.sink.messages_to("+442070313000")[0]["channel"], "voice");
    // The contract's reserved drama range stays accepted.
    assert_eq!(app.start_login(NUMBER).await.status(), StatusCode::ACCEPTED);
    assert_eq!(refused_limits(app).await, ["line_type"; 4]);
}

async fn satellite_and_unassigned_ranges_get_no_code_unless_allowed(backend: Backend) {
    // Iridium, and a UK range assigned to no line type.
    let unlisted = ["+881 6 3123 4567", "+44 1000 123456"];
    let app = spawn_app_with(backend, &[]).await;
    for number in unlisted {
        for channel in ["sms", "voice"] {
            let body = json!({ "phone_number": number, "channel": channel });
            let response = app.post_json("/v1/otp/start", &body).await;
            assert_error(response, StatusCode::BAD_REQUEST, "invalid_phone_number").await;
        }
    }
    assert!(app.sink.messages().is_empty());
    assert_eq!(refused_limits(&app).await, ["line_type"; 4]);

    let allowed = [("SESAME_SMS_ALLOW_UNKNOWN_LINE_TYPES", "true")];
    let app = spawn_app_with(backend, &allowed).await;
    for number in unlisted {
        assert_eq!(app.start_login(number).await.status(), StatusCode::ACCEPTED);
    }
    assert_eq!(app.sink.messages().len(), 2);
}
