//! Calls on the app under test over HTTP, and what their answers look like.

use reqwest::{Response, StatusCode};
use serde_json::{Value, json};

use super::{ADMIN_KEY, TestApp};

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> Response {
        self.client
            .post(self.url(path))
            .json(body)
            .send()
            .await
            .unwrap()
    }

    /// POSTs `body` as is, with this `Content-Type`.
    pub async fn post_raw(
        &self,
        path: &str,
        content_type: &str,
        body: impl Into<reqwest::Body>,
    ) -> Response {
        self.client
            .post(self.url(path))
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .unwrap()
    }

    pub async fn post_form(&self, path: &str, form: &[(&str, &str)]) -> Response {
        self.client
            .post(self.url(path))
            .form(form)
            .send()
            .await
            .unwrap()
    }

    /// GETs `path` and parses its JSON body.
    pub async fn get_json(&self, path: &str) -> Value {
        let response = self.client.get(self.url(path)).send().await.unwrap();
        response.json().await.unwrap()
    }

    pub async fn get_bearer(&self, path: &str, token: &str) -> Response {
        self.client
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
    }

    pub async fn start_login(&self, number: &str) -> Response {
        self.post_json("/v1/otp/start", &json!({ "phone_number": number }))
            .await
    }

    pub async fn exchange_code(&self, number: &str, code: &str) -> Response {
        self.post_form(
            "/oauth/token",
            &[
                ("grant_type", "otp"),
                ("phone_number", number),
                ("code", code),
            ],
        )
        .await
    }

    /// `exchange_code` with one more request header (`User-Agent`, `X-Forwarded-For`, …).
    pub async fn exchange_code_with(
        &self,
        number: &str,
        code: &str,
        (header, value): (&str, &str),
    ) -> Response {
        self.client
            .post(self.url("/oauth/token"))
            .header(header, value)
            .form(&[
                ("grant_type", "otp"),
                ("phone_number", number),
                ("code", code),
            ])
            .send()
            .await
            .unwrap()
    }

    /// Logs `number` in end to end and returns the token response.
    pub async fn login(&self, number: &str) -> Value {
        let response = self.start_login(number).await;
        assert_eq!(response.status(), StatusCode::ACCEPTED);
        let code = self.sink.last_code(number);
        let response = self.exchange_code(number, &code).await;
        assert_eq!(response.status(), StatusCode::OK);
        response.json().await.unwrap()
    }

    pub async fn me(&self, access_token: &str) -> Response {
        self.get_bearer("/v1/me", access_token).await
    }

    pub async fn put_employee(&self, external_id: &str, body: &Value) -> Response {
        self.client
            .put(self.url(&format!("/admin/v1/employees/{external_id}")))
            .bearer_auth(ADMIN_KEY)
            .json(body)
            .send()
            .await
            .unwrap()
    }

    /// `POST /v1/logout` with `access`, expecting `204`.
    pub async fn logout(&self, access: &str) {
        let response = self
            .client
            .post(self.url("/v1/logout"))
            .bearer_auth(access)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
    }

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
}

/// Asserts a JSON error with the contract's shape and returns its body.
pub async fn assert_error(response: Response, status: StatusCode, code: &str) -> Value {
    assert_eq!(response.status(), status, "unexpected status");
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        content_type.starts_with("application/json"),
        "{content_type}"
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], code, "{body}");
    assert!(body["error_description"].is_string(), "{body}");
    body
}

/// A string field of a JSON response.
pub fn text<'a>(body: &'a Value, name: &str) -> &'a str {
    body[name].as_str().unwrap()
}
