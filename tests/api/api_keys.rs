//! API keys: created by admins (HTTP or CLI), stored hashed, checked by role.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{
    ADMIN_KEY, Backend, TestApp, assert_error, on_both_backends, sesame_cli, spawn_app,
};

on_both_backends!(
    keys_created_over_http_authenticate_by_role,
    keys_created_by_the_cli_work_at_once
);

async fn put_employee_with(app: &TestApp, key: &str) -> reqwest::Response {
    app.client
        .put(app.url("/admin/v1/employees/E-1"))
        .bearer_auth(key)
        .json(&json!({"phone_number": "+447700900400", "name": "Key Tester"}))
        .send()
        .await
        .unwrap()
}

async fn keys_created_over_http_authenticate_by_role(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.create_api_key("hr-sync", "admin").await;
    let introspect = app.create_api_key("orders-api", "introspect").await;
    let admin_key = admin["key"].as_str().unwrap();
    assert!(admin_key.starts_with("sesame_"));
    assert_eq!(admin["role"], "admin");

    assert!(
        put_employee_with(&app, admin_key)
            .await
            .status()
            .is_success()
    );
    let response = put_employee_with(&app, introspect["key"].as_str().unwrap()).await;
    assert_error(response, StatusCode::FORBIDDEN, "forbidden").await;

    // Listing never shows a secret.
    let response = app
        .client
        .get(app.url("/admin/v1/api-keys"))
        .bearer_auth(admin_key)
        .send()
        .await
        .unwrap();
    let listed: Value = response.json().await.unwrap();
    assert_eq!(listed["items"].as_array().unwrap().len(), 2);
    assert!(!listed.to_string().contains(admin_key));
    assert!(
        listed["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|k| k.get("key").is_none())
    );

    let revoke = |id: &str| {
        app.client
            .delete(app.url(&format!("/admin/v1/api-keys/{id}")))
            .bearer_auth(ADMIN_KEY)
            .send()
    };
    let id = admin["id"].as_str().unwrap();
    assert_eq!(revoke(id).await.unwrap().status(), StatusCode::NO_CONTENT);
    assert_eq!(revoke(id).await.unwrap().status(), StatusCode::NO_CONTENT);
    // Over HTTP a key is revoked by its id only, never by its name.
    assert_error(
        revoke("orders-api").await.unwrap(),
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    assert_error(
        revoke("no-such-key").await.unwrap(),
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    let response = put_employee_with(&app, admin_key).await;
    assert_error(response, StatusCode::UNAUTHORIZED, "unauthorized").await;

    let response = app
        .client
        .post(app.url("/admin/v1/api-keys"))
        .bearer_auth(ADMIN_KEY)
        .json(&json!({"name": "x", "role": "root"}))
        .send()
        .await
        .unwrap();
    assert_error(response, StatusCode::BAD_REQUEST, "invalid_request").await;
    let response = app
        .client
        .post(app.url("/admin/v1/api-keys"))
        .bearer_auth(introspect["key"].as_str().unwrap())
        .json(&json!({"name": "x", "role": "admin"}))
        .send()
        .await
        .unwrap();
    assert_error(response, StatusCode::FORBIDDEN, "forbidden").await;
}

async fn keys_created_by_the_cli_work_at_once(backend: Backend) {
    let app = spawn_app(backend).await;
    let output = sesame_cli(
        &app,
        &["api-key", "create", "--name", "ci", "--role", "admin"],
    );
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let key = String::from_utf8(output.stdout).unwrap().trim().to_owned();
    assert!(put_employee_with(&app, &key).await.status().is_success());

    let output = sesame_cli(&app, &["api-key", "revoke", "ci"]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_error(
        put_employee_with(&app, &key).await,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    )
    .await;
    let output = sesame_cli(&app, &["api-key", "revoke", "nobody"]);
    assert!(!output.status.success());

    // The command line is audited like the API, as `cli`.
    for action in ["api_key.created", "api_key.revoked"] {
        let response = app
            .admin_get(&format!("/admin/v1/audit?action={action}"))
            .await;
        let log: Value = response.json().await.unwrap();
        let items = log["items"].as_array().unwrap();
        assert_eq!(items.len(), 1, "{log}");
        assert_eq!(items[0]["actor"], "cli");
        assert_eq!(items[0]["ip"], Value::Null);
    }
}
