//! Admin-side helpers: direct database reads, admin calls, imports, API keys, the revocation
//! feed and the CLI.

use reqwest::{Response, StatusCode};
use serde_json::{Value, json};
use sqlx::Connection;

use super::{ADMIN_KEY, TestApp, assert_error, claim, text};

impl TestApp {
    /// Runs `query` directly on the app's database and returns its one text column, for
    /// what the API does not show (audit details, session IPs).
    pub async fn sql_texts(&self, query: &str) -> Vec<String> {
        use sqlx::Row;
        sqlx::any::install_default_drivers();
        let url = &self.vars["SESAME_DATABASE_URL"];
        let mut connection = sqlx::AnyConnection::connect(url).await.unwrap();
        let rows = sqlx::query(query).fetch_all(&mut connection).await.unwrap();
        rows.iter()
            .map(|row| {
                row.try_get::<Option<String>, _>(0)
                    .unwrap()
                    .unwrap_or_default()
            })
            .collect()
    }

    pub async fn admin_get(&self, path: &str) -> Response {
        self.get_bearer(path, ADMIN_KEY).await
    }

    /// The session of token response `pair` as the admin API lists it.
    pub async fn session_of(&self, pair: &Value) -> Value {
        let sub = claim(text(pair, "access_token"), "sub");
        let sid = claim(text(pair, "access_token"), "sid");
        let sessions: Value = self
            .admin_get(&format!("/admin/v1/identities/{sub}/sessions?limit=500"))
            .await
            .json()
            .await
            .unwrap();
        sessions["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|session| session["sid"] == sid.as_str())
            .unwrap_or_else(|| panic!("{sid} in {sessions}"))
            .clone()
    }

    pub async fn admin_post(&self, path: &str) -> Response {
        self.client
            .post(self.url(path))
            .bearer_auth(ADMIN_KEY)
            .send()
            .await
            .unwrap()
    }

    /// `POST /admin/v1/employees/import?mode=<mode>` with this body and content type.
    pub async fn import(
        &self,
        mode: &str,
        content_type: &str,
        body: impl Into<String>,
    ) -> Response {
        self.client
            .post(self.url(&format!("/admin/v1/employees/import?mode={mode}")))
            .bearer_auth(ADMIN_KEY)
            .header("content-type", content_type)
            .body(body.into())
            .send()
            .await
            .unwrap()
    }

    /// Imports a CSV body and returns the counts, asserting success.
    pub async fn import_csv(&self, mode: &str, csv: &str) -> Value {
        let response = self.import(mode, "text/csv", csv).await;
        assert_eq!(response.status(), StatusCode::OK);
        response.json().await.unwrap()
    }

    /// Imports a CSV body the server must refuse whole (`422 invalid_request`, nothing
    /// stored); returns the error body with its per-line `errors`.
    pub async fn import_refused(&self, mode: &str, csv: &str) -> Value {
        let response = self.import(mode, "text/csv", csv).await;
        assert_error(
            response,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_request",
        )
        .await
    }

    /// Creates an API key over HTTP with the bootstrap admin key; returns the record and `key`.
    pub async fn create_api_key(&self, name: &str, role: &str) -> Value {
        let response = self
            .client
            .post(self.url("/admin/v1/api-keys"))
            .bearer_auth(ADMIN_KEY)
            .json(&json!({"name": name, "role": role}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::CREATED);
        response.json().await.unwrap()
    }

    /// What `/v1/me` says for the access token of this token response.
    pub async fn me_of(&self, tokens: &Value) -> Value {
        let response = self.me(tokens["access_token"].as_str().unwrap()).await;
        assert_eq!(response.status(), StatusCode::OK);
        response.json().await.unwrap()
    }

    /// The `kind` `/v1/me` reports for a fresh login of `number`.
    pub async fn login_kind(&self, number: &str) -> String {
        let tokens = self.login(number).await;
        self.me_of(&tokens).await["kind"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// Every employee, following the list's cursors.
    pub async fn all_employees(&self) -> Vec<Value> {
        let mut items = Vec::new();
        let mut path = "/admin/v1/employees?limit=500".to_owned();
        loop {
            let page: Value = self.admin_get(&path).await.json().await.unwrap();
            items.extend(page["items"].as_array().unwrap().iter().cloned());
            match page["next"].as_str() {
                Some(next) => path = format!("/admin/v1/employees?limit=500&cursor={next}"),
                None => return items,
            }
        }
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

/// Runs `sesame <args>` against the app's database.
pub fn sesame_cli(app: &TestApp, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_sesame"))
        .args(args)
        .env_clear()
        .env("SESAME_DATABASE_URL", &app.vars["SESAME_DATABASE_URL"])
        .env("SESAME_KEYS_DIR", app.keys_dir.as_os_str())
        .output()
        .unwrap()
}

pub async fn feed_page(app: &TestApp, key: &str, query: &str) -> Value {
    let response = app
        .client
        .get(app.url(&format!("/v1/revocations{query}")))
        .bearer_auth(key)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

/// Follows the feed from `since` with pages of `limit`, until a page comes back short.
pub async fn read_feed(
    app: &TestApp,
    key: &str,
    since: Option<&str>,
    limit: usize,
) -> (Vec<Value>, String) {
    let mut items = Vec::new();
    let mut since = since.map(str::to_owned);
    loop {
        let query = match &since {
            Some(cursor) => format!("?limit={limit}&since={cursor}"),
            None => format!("?limit={limit}"),
        };
        let page = feed_page(app, key, &query).await;
        let batch = page["items"].as_array().unwrap().clone();
        since = Some(page["next"].as_str().unwrap().to_owned());
        let done = batch.len() < limit;
        items.extend(batch);
        if done {
            return (items, since.unwrap_or_default());
        }
    }
}
