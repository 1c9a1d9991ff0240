//! API keys: created by admins (HTTP or CLI), stored hashed, checked by role; re-roled (HTTP
//! or CLI) and revoked, seen at once by the node that did it and within 5 s by introspection
//! elsewhere.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{
    ADMIN_KEY, Backend, TestApp, assert_error, on_both_backends, sesame_cli, spawn_app,
    spawn_node_like, text,
};

on_both_backends!(
    keys_created_over_http_authenticate_by_role,
    keys_created_by_the_cli_work_at_once,
    a_revoked_key_stops_introspecting_here_at_once_and_elsewhere_within_five_seconds,
    a_re_roled_key_takes_its_new_role,
    a_key_re_roled_by_the_cli_takes_its_new_role,
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
    // A revoked key is gone: no role brings it back.
    assert_error(
        set_role(&app, id, &json!({"role": "introspect"})).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
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

async fn set_role(app: &TestApp, id: &str, body: &Value) -> reqwest::Response {
    app.client
        .patch(app.url(&format!("/admin/v1/api-keys/{id}")))
        .bearer_auth(ADMIN_KEY)
        .json(body)
        .send()
        .await
        .unwrap()
}

/// Two nodes on one database, the second's clock stopped so that its memory of key lookups
/// (at most 5 s) ends only when the test moves it.
async fn two_nodes(backend: Backend) -> (TestApp, TestApp, String) {
    let here = spawn_app(backend).await;
    let elsewhere = spawn_node_like(&here).await;
    let pair = here.login("+447700900401").await;
    elsewhere.clock.freeze_at(elsewhere.clock.now_millis());
    (here, elsewhere, text(&pair, "access_token").to_owned())
}

/// The other node may act on its lookup of `key` for up to 5 s, never longer: moved 5 s on,
/// it answers `then`.
async fn follows_within_five_seconds(
    elsewhere: &TestApp,
    key: &str,
    access: &str,
    then: StatusCode,
) {
    assert_eq!(
        elsewhere.introspect_with(key, access).await.0,
        StatusCode::OK
    );
    elsewhere.clock.advance(Duration::from_secs(5));
    assert_eq!(elsewhere.introspect_with(key, access).await.0, then);
}

async fn a_revoked_key_stops_introspecting_here_at_once_and_elsewhere_within_five_seconds(
    backend: Backend,
) {
    let (here, elsewhere, access) = two_nodes(backend).await;
    let created = here.create_api_key("orders-api", "introspect").await;
    let key = text(&created, "key");
    for node in [&here, &elsewhere] {
        assert_eq!(node.introspect_with(key, &access).await.0, StatusCode::OK);
    }

    let response = here
        .client
        .delete(here.url(&format!("/admin/v1/api-keys/{}", text(&created, "id"))))
        .bearer_auth(ADMIN_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        here.introspect_with(key, &access).await.0,
        StatusCode::UNAUTHORIZED,
        "the node that revoked the key refuses it at once"
    );
    follows_within_five_seconds(&elsewhere, key, &access, StatusCode::UNAUTHORIZED).await;
}

async fn a_re_roled_key_takes_its_new_role(backend: Backend) {
    let (here, elsewhere, access) = two_nodes(backend).await;
    let created = here.create_api_key("orders-api", "introspect").await;
    let (id, key) = (text(&created, "id"), text(&created, "key"));
    for node in [&here, &elsewhere] {
        assert_eq!(node.introspect_with(key, &access).await.0, StatusCode::OK);
    }

    let response = set_role(&here, id, &json!({"role": "auditor"})).await;
    assert_eq!(response.status(), StatusCode::OK);
    let record: Value = response.json().await.unwrap();
    assert_eq!(
        (record["id"].as_str(), record["role"].as_str()),
        (Some(id), Some("auditor"))
    );
    assert_eq!(
        here.introspect_with(key, &access).await.0,
        StatusCode::FORBIDDEN
    );
    follows_within_five_seconds(&elsewhere, key, &access, StatusCode::FORBIDDEN).await;

    // Back to introspect; the admin API never answers from memory.
    assert_eq!(
        set_role(&here, id, &json!({"role": "introspect"}))
            .await
            .status(),
        StatusCode::OK
    );
    assert_eq!(here.introspect_with(key, &access).await.0, StatusCode::OK);
    assert_eq!(
        set_role(&here, id, &json!({"role": "admin"}))
            .await
            .status(),
        StatusCode::OK
    );
    assert!(
        put_employee_with(&elsewhere, key)
            .await
            .status()
            .is_success()
    );

    assert_error(
        set_role(&here, id, &json!({"role": "root"})).await,
        StatusCode::BAD_REQUEST,
        "invalid_request",
    )
    .await;
    assert_error(
        set_role(&here, "no-such-key", &json!({"role": "admin"})).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    let response = here
        .admin_get(&format!(
            "/admin/v1/audit?action=api_key.role_changed&subject={id}"
        ))
        .await;
    let log: Value = response.json().await.unwrap();
    let roles: Vec<&str> = log["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["detail"]["role"].as_str().unwrap())
        .collect();
    assert_eq!(roles, ["admin", "introspect", "auditor"], "{log}");
}

async fn a_key_re_roled_by_the_cli_takes_its_new_role(backend: Backend) {
    let app = spawn_app(backend).await;
    let created = app.create_api_key("hr-sync", "introspect").await;
    let (id, key) = (text(&created, "id"), text(&created, "key"));
    assert_error(
        put_employee_with(&app, key).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;

    let output = sesame_cli(&app, &["api-key", "set-role", id, "--role", "admin"]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        String::from_utf8(output.stdout).unwrap().trim(),
        format!("API key {id} (hr-sync) has role admin")
    );
    // The admin API looks its caller's key up on every call.
    assert!(put_employee_with(&app, key).await.status().is_success());

    // A revoked key is gone, as over HTTP; an unknown id is no key.
    assert!(
        sesame_cli(&app, &["api-key", "revoke", id])
            .status
            .success()
    );
    for gone in [id, "no-such-key"] {
        let output = sesame_cli(&app, &["api-key", "set-role", gone, "--role", "auditor"]);
        assert!(!output.status.success());
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains("no live API key has the id"), "{stderr}");
    }

    let response = app
        .admin_get(&format!(
            "/admin/v1/audit?action=api_key.role_changed&subject={id}"
        ))
        .await;
    let log: Value = response.json().await.unwrap();
    let items = log["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{log}");
    assert_eq!(
        (&items[0]["actor"], &items[0]["detail"]["role"]),
        (&json!("cli"), &json!("admin"))
    );
}
