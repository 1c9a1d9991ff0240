//! Abuse limits seen from outside: short windows, moving the clock past them, and the
//! audited refusals.

use std::time::Duration;

use reqwest::{Response, StatusCode};

use super::{TestApp, assert_error};

/// Every limit's window, in seconds, in these tests.
pub const WINDOW: &str = "3";

/// Moves the app's clock past every window of `WINDOW` seconds. On Redis too the window is the
/// app's: entries are scored by the app's time, and its TTLs only reclaim space.
pub fn pass_window(app: &TestApp) {
    app.clock.advance(Duration::from_secs(3));
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

/// The `limit` of every audited refusal, oldest first.
pub async fn refused_limits(app: &TestApp) -> Vec<String> {
    app.sql_texts("select detail from audit_events where action = 'login.refused' order by id")
        .await
        .iter()
        .map(|detail| {
            let detail: serde_json::Value = serde_json::from_str(detail).unwrap();
            detail["limit"].as_str().unwrap().to_owned()
        })
        .collect()
}
