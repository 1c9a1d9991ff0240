//! Refused starts cost the database little: the per-IP limit comes before screening, and
//! refusals are audited once per client, reason and minute with a count
//! (docs/contract-notes.md, "Abuse limits").

use futures::future::join_all;
use reqwest::StatusCode;
use serde_json::Value;

use crate::support::{
    Backend, assert_error, assert_rate_limited, on_both_backends, refused_limits, spawn_app_with,
};

on_both_backends!(
    refused_starts_are_audited_once_per_client_reason_and_minute,
    the_ip_limit_applies_before_screening,
    the_global_budget_stops_sending_to_every_country,
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
