//! Login codes in tests: numbers with a fixed code, and a code that is certainly wrong.

use reqwest::StatusCode;
use serde_json::Value;

use super::{Backend, TestApp, spawn_app_with};

/// A code of the same length as `right` that differs from it in every digit.
pub fn wrong_code(right: &str) -> String {
    right
        .bytes()
        .map(|digit| char::from(b'0' + (digit - b'0' + 1) % 10))
        .collect()
}

/// Numbers with the fixed code `424242`: they log in without a message and without send
/// limits, so a test may open many sessions quickly.
pub const FIXED_NUMBERS: [&str; 3] = ["+447700900001", "+447700900002", "+447700900003"];
pub const FIXED_CODE: &str = "424242";

/// `SESAME_TEST_NUMBERS` for `FIXED_NUMBERS`.
pub fn fixed_numbers_var() -> String {
    FIXED_NUMBERS
        .map(|number| format!("{number}={FIXED_CODE}"))
        .join(",")
}

/// The app with `FIXED_NUMBERS` configured as test numbers, plus `overrides`.
pub async fn spawn_app_with_fixed_numbers(backend: Backend, overrides: &[(&str, &str)]) -> TestApp {
    let numbers = fixed_numbers_var();
    let mut vars = vec![("SESAME_TEST_NUMBERS", numbers.as_str())];
    vars.extend_from_slice(overrides);
    spawn_app_with(backend, &vars).await
}

impl TestApp {
    /// Logs a fixed number in (see `spawn_app_with_fixed_numbers`) and returns the pair.
    pub async fn login_fixed(&self, number: &str) -> Value {
        assert_eq!(
            self.start_login(number).await.status(),
            StatusCode::ACCEPTED
        );
        let response = self.exchange_code(number, FIXED_CODE).await;
        assert_eq!(response.status(), StatusCode::OK);
        response.json().await.unwrap()
    }
}
