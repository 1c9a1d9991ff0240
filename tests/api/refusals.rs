//! Refused starts cost the database little: the per-IP limit comes before screening, and
//! refusals are audited once per client, reason and minute with a count
//! (docs/contract-notes.md, "Abuse limits").

use futures::future::join_all;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{
    Backend, SesameProcess, assert_error, assert_rate_limited, on_both_backends, refused_limits,
    sample, scrape, spawn_app_with,
};

on_both_backends!(
    refused_starts_are_audited_once_per_client_reason_and_minute,
    the_ip_limit_applies_before_screening,
    the_global_budget_stops_sending_to_every_country,
    a_budget_warns_once_when_a_send_brings_it_to_80_percent,
);

/// Outside an allow-list of `GB`.
const FOREIGN: &str = "+12015550123";
const NUMBER: &str = "+447700900123";

async fn refused_starts_are_audited_once_per_client_reason_and_minute(backend: Backend) {
    let app = spawn_app_with(backend, &[("SESAME_ALLOWED_COUNTRIES", "GB")]).await;
    // Every request inside one minute.
    let minute = app.clock.now_millis() / 60_000 + 1;
    app.clock.freeze_at(minute * 60_000 + 1_000);

    let refused = join_all((0..12).map(|_| app.start_login(FOREIGN))).await;
    for response in refused {
        assert_error(response, StatusCode::BAD_REQUEST, "country_not_allowed").await;
    }
    let rows = app
        .sql_texts(
            "select cast(occurrences as text) from audit_events where action = 'login.refused'",
        )
        .await;
    assert_eq!(rows, ["12"]);
    let page: Value = app
        .admin_get("/admin/v1/audit?action=login.refused")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page["items"][0]["count"], 12, "{page}");
    assert_eq!(page["items"][0]["detail"]["limit"], "country_not_allowed");

    // The next minute starts a new row.
    app.clock.freeze_at((minute + 1) * 60_000 + 1_000);
    let response = app.start_login(FOREIGN).await;
    assert_error(response, StatusCode::BAD_REQUEST, "country_not_allowed").await;
    let rows = app
        .sql_texts(
            "select cast(occurrences as text) from audit_events
             where action = 'login.refused' order by id",
        )
        .await;
    assert_eq!(rows, ["12", "1"]);
}

async fn the_ip_limit_applies_before_screening(backend: Backend) {
    let app = spawn_app_with(
        backend,
        &[
            ("SESAME_ALLOWED_COUNTRIES", "GB"),
            ("SESAME_IP_HOURLY_CAP", "3"),
        ],
    )
    .await;
    for _ in 0..3 {
        let response = app.start_login(FOREIGN).await;
        assert_error(response, StatusCode::BAD_REQUEST, "country_not_allowed").await;
    }
    // Refused requests spent the client's hourly starts: it is refused before screening.
    assert_rate_limited(app.start_login(FOREIGN).await).await;
    assert_rate_limited(app.start_login(NUMBER).await).await;
    assert!(app.sink.messages().is_empty());
}

async fn the_global_budget_stops_sending_to_every_country(backend: Backend) {
    let app = spawn_app_with(backend, &[("SESAME_SMS_GLOBAL_HOURLY_BUDGET", "3")]).await;
    let numbers = [
        "+447700900101",
        "+447700900102",
        "+12015550123",
        "+12015550124",
        "+33612345678",
    ];
    let responses = join_all(numbers.iter().map(|number| app.start_login(number))).await;
    let admitted = responses
        .iter()
        .filter(|response| response.status() == StatusCode::ACCEPTED)
        .count();
    assert_eq!(admitted, 3);
    for response in responses {
        if response.status() != StatusCode::ACCEPTED {
            assert_rate_limited(response).await;
        }
    }
    assert_eq!(app.sink.messages().len(), 3);
    assert_eq!(
        refused_limits(&app).await,
        ["global_budget", "global_budget"]
    );
}

/// `sesame_sms_budget_warnings_total{budget}` of `sesame`.
async fn budget_warnings(sesame: &SesameProcess, budget: &str) -> f64 {
    let text = scrape(&sesame.client, &sesame.metrics_base).await;
    let label = format!("budget=\"{budget}\"");
    sample(&text, "sesame_sms_budget_warnings_total", &[&label])
}

// The metrics recorder is global to a process, and this test process runs many apps at once:
// the warnings are read from a `sesame` process of this test's own.
async fn a_budget_warns_once_when_a_send_brings_it_to_80_percent(backend: Backend) {
    let sesame = SesameProcess::spawn_with(
        backend,
        &[
            ("SESAME_SMS_COUNTRY_HOURLY_BUDGET", "5"),
            ("SESAME_SMS_GLOBAL_HOURLY_BUDGET", "10"),
        ],
    )
    .await;
    let start = |number: &'static str| {
        let request = sesame
            .client
            .post(sesame.url("/v1/otp/start"))
            .json(&json!({ "phone_number": number }));
        async move {
            let response = request.send().await.unwrap();
            assert_eq!(response.status(), StatusCode::ACCEPTED, "{number}");
        }
    };
    // The fourth of the country's five warns, and the fifth does not again.
    let uk = [
        "+447700900101",
        "+447700900102",
        "+447700900103",
        "+447700900104",
        "+447700900105",
    ];
    for (sent, number) in uk.into_iter().enumerate() {
        start(number).await;
        let expected = if sent < 3 { 0.0 } else { 1.0 };
        assert_eq!(budget_warnings(&sesame, "country").await, expected);
    }
    // Three more from another country make eight of the global ten: the global budget warns.
    for number in ["+12015550123", "+12015550124", "+12015550125"] {
        start(number).await;
    }
    assert_eq!(budget_warnings(&sesame, "global").await, 1.0);
    assert_eq!(budget_warnings(&sesame, "country").await, 1.0);
    // The ninth is that country's fourth of five; the global budget does not warn again.
    start("+12015550126").await;
    assert_eq!(budget_warnings(&sesame, "country").await, 2.0);
    assert_eq!(budget_warnings(&sesame, "global").await, 1.0);
    assert_eq!(sesame.sink.messages().len(), 9);
}
