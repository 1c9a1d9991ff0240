//! Helpers for the token lifecycle tests: refresh, introspection, API keys, fixed-code numbers
//! and direct database checks.

use reqwest::{Response, StatusCode};
use serde_json::Value;
use sqlx::Connection;

use crate::helpers::{ADMIN_KEY, Backend, TestApp, spawn_app_with};

impl TestApp {
    pub async fn refresh(&self, refresh_token: &str) -> Response {
        self.post_form(
            "/oauth/token",
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh_token),
            ],
        )
        .await
    }

    /// Refreshes and expects a new pair.
    pub async fn refreshed(&self, refresh_token: &str) -> Value {
        let response = self.refresh(refresh_token).await;
        assert_eq!(response.status(), StatusCode::OK);
        response.json().await.unwrap()
    }

    /// `POST /oauth/introspect` with `key`; returns the status and the body.
    pub async fn introspect_with(&self, key: &str, token: &str) -> (StatusCode, Value) {
        let response = self
            .client
            .post(self.url("/oauth/introspect"))
            .bearer_auth(key)
            .form(&[("token", token)])
            .send()
            .await
            .unwrap();
        (response.status(), response.json().await.unwrap())
    }

    /// Introspects with the admin key and returns the body.
    pub async fn introspect(&self, token: &str) -> Value {
        let (status, body) = self.introspect_with(ADMIN_KEY, token).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body
    }

    /// Creates an API key with `role` over the admin API and returns the secret.
    pub async fn api_key(&self, role: &str) -> String {
        let created = self.create_api_key(&format!("{role}-key"), role).await;
        created["key"].as_str().unwrap().to_owned()
    }

    async fn connect_database(&self) -> sqlx::AnyConnection {
        sqlx::any::install_default_drivers();
        sqlx::AnyConnection::connect(&self.vars["SESAME_DATABASE_URL"])
            .await
            .unwrap()
    }

    /// Runs one counting query (`select count(*) …`) straight against the app's database.
    pub async fn count_rows(&self, sql: &str) -> i64 {
        let mut connection = self.connect_database().await;
        let row = sqlx::query(sql).fetch_one(&mut connection).await.unwrap();
        let count: i64 = sqlx::Row::try_get(&row, 0).unwrap();
        connection.close().await.unwrap();
        count
    }

    /// Runs one statement straight against the app's database, as another component would.
    pub async fn execute_sql(&self, sql: &str) {
        let mut connection = self.connect_database().await;
        sqlx::query(sql).execute(&mut connection).await.unwrap();
        connection.close().await.unwrap();
    }
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

/// A string field of a JSON response.
pub fn text<'a>(body: &'a Value, name: &str) -> &'a str {
    body[name].as_str().unwrap()
}

/// A string claim of a JWT (read without verification).
pub fn claim(token: &str, name: &str) -> String {
    crate::token_validation::claims_of(token)[name]
        .as_str()
        .unwrap()
        .to_owned()
}
