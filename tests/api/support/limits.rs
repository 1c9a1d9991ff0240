//! Abuse limits seen from outside: short windows, moving the clock past them, and the
//! audited refusals.

use std::time::Duration;

use reqwest::{Response, StatusCode};
use serde_json::{Value, json};

use super::{TestApp, assert_error};

/// Every limit's window, in seconds, in these tests.
pub const WINDOW: &str = "3";

/// Moves the app's clock past every window of `WINDOW` seconds of a number's caps. On Redis too
/// the window is the app's: entries are scored by the app's time, and its TTLs only reclaim
/// space.
pub fn pass_window(app: &TestApp) {
    app.clock.advance(Duration::from_secs(3));
}

/// Moves the app's clock past every per-IP cap and budget of `WINDOW` seconds. Those count in
/// buckets (of a second, for windows this short), and an event counts until its whole bucket
/// has left the window: up to one bucket longer than the window.
pub fn pass_counted_window(app: &TestApp) {
    app.clock.advance(Duration::from_secs(4));
}

/// `POST /v1/otp/start` with an `X-Forwarded-For` header.
pub async fn start_forwarded(app: &TestApp, number: &str, forwarded_for: &str) -> Response {
    app.client
        .post(app.url("/v1/otp/start"))
        .header("x-forwarded-for", forwarded_for)
        .json(&json!({ "phone_number": number }))
        .send()
        .await
        .unwrap()
}

/// `POST /oauth/token` (`grant_type=otp`) with an `X-Forwarded-For` header.
pub async fn exchange_forwarded(
    app: &TestApp,
    number: &str,
    code: &str,
    forwarded_for: &str,
) -> Response {
    app.exchange_code_with(number, code, ("x-forwarded-for", forwarded_for))
        .await
}

/// Asserts `429 rate_limited` and returns its `Retry-After`.
pub async fn assert_rate_limited(response: Response) -> u64 {
    let retry_after: u64 = response
        .headers()
        .get("retry-after")
        .expect("a Retry-After header")
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_error(response, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
    retry_after
}

/// The `limit` of every audited refusal, oldest first, once per request it stands for.
pub async fn refused_limits(app: &TestApp) -> Vec<String> {
    app.sql_texts(
        "select cast(occurrences as text) || ' ' || detail from audit_events
         where action = 'login.refused' order by id",
    )
    .await
    .iter()
    .flat_map(|row| {
        let (occurrences, detail) = row.split_once(' ').unwrap();
        let detail: serde_json::Value = serde_json::from_str(detail).unwrap();
        let limit = detail["limit"].as_str().unwrap().to_owned();
        std::iter::repeat_n(limit, occurrences.parse().unwrap())
    })
    .collect()
}

/// The parts of a response an observer can compare (not `date` or `x-request-id`).
pub async fn observable(response: Response) -> (StatusCode, Vec<(String, String)>, Value) {
    let status = response.status();
    let mut headers: Vec<(String, String)> = response
        .headers()
        .iter()
        .filter(|(name, _)| !matches!(name.as_str(), "date" | "x-request-id"))
        .map(|(name, value)| (name.to_string(), value.to_str().unwrap().to_owned()))
        .collect();
    headers.sort();
    (status, headers, response.json().await.unwrap())
}
