//! A NUL or invalid UTF-8 in a path, query, form or JSON string is `400 invalid_request` on both
//! backends, never a `500` from the database nor a lossy U+FFFD stand-in.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{ADMIN_KEY, Backend, TestApp, assert_error, on_both_backends, spawn_app};

on_both_backends!(
    hostile_queries_and_paths_are_refused,
    hostile_forms_are_refused,
    hostile_json_strings_are_refused,
    hostile_imports_are_refused,
);

/// `%00` is NUL; `%FF` and `%C3` (a lead byte without its continuation) are not UTF-8.
const HOSTILE: [&str; 3] = ["a%00b", "%FF", "caf%C3"];

async fn hostile_queries_and_paths_are_refused(backend: Backend) {
    let app = spawn_app(backend).await;
    for bad in HOSTILE {
        for path in [
            format!("/admin/v1/employees?q={bad}"),
            format!("/admin/v1/audit?actor={bad}"),
            format!("/admin/v1/identities/{bad}/sessions"),
        ] {
            let response = app.admin_get(&path).await;
            assert_error(response, StatusCode::BAD_REQUEST, "invalid_request").await;
        }
        for path in [
            format!("/admin/v1/numbers/{bad}/unlock"),
            format!("/admin/v1/employees/{bad}/disable"),
            format!("/admin/v1/sessions/{bad}/revoke"),
        ] {
            let response = app.admin_post(&path).await;
            assert_error(response, StatusCode::BAD_REQUEST, "invalid_request").await;
        }
        let response = app
            .post_json(&format!("/v1/otp/start?x={bad}"), &json!({}))
            .await;
        assert_error(response, StatusCode::BAD_REQUEST, "invalid_request").await;
    }
    // Percent-encoded UTF-8 is fine.
    let response = app.admin_get("/admin/v1/employees?q=caf%C3%A9").await;
    assert_eq!(response.status(), StatusCode::OK);
}

async fn hostile_forms_are_refused(backend: Backend) {
    let app = spawn_app(backend).await;
    let form = "application/x-www-form-urlencoded";
    for bad in HOSTILE {
        let body = format!("grant_type=otp&phone_number=%2B447700900123{bad}&code=123456");
        let response = app.post_raw("/oauth/token", form, body).await;
        assert_error(response, StatusCode::BAD_REQUEST, "invalid_request").await;
        let body = format!("grant_type=refresh_token&refresh_token={bad}");
        let response = app.post_raw("/oauth/token", form, body).await;
        assert_error(response, StatusCode::BAD_REQUEST, "invalid_request").await;
        let response = app
            .client
            .post(app.url("/oauth/introspect"))
            .bearer_auth(ADMIN_KEY)
            .header("content-type", form)
            .body(format!("token={bad}"))
            .send()
            .await
            .unwrap();
        assert_error(response, StatusCode::BAD_REQUEST, "invalid_request").await;
    }
    // Raw bytes too: a NUL and a stray continuation byte.
    for raw in [&b"grant_type=otp&phone_number=\0&code=1"[..], b"token=\x80"] {
        let response = app.post_raw("/oauth/revoke", form, raw.to_vec()).await;
        assert_error(response, StatusCode::BAD_REQUEST, "invalid_request").await;
    }
}

async fn send_json(app: &TestApp, method: reqwest::Method, path: &str, body: &[u8]) -> Value {
    let response = app
        .client
        .request(method, app.url(path))
        .bearer_auth(ADMIN_KEY)
        .header("content-type", "application/json")
        .body(body.to_vec())
        .send()
        .await
        .unwrap();
    assert_error(response, StatusCode::BAD_REQUEST, "invalid_request").await
}

async fn hostile_json_strings_are_refused(backend: Backend) {
    let app = spawn_app(backend).await;
    let post = reqwest::Method::POST;
    let put = reqwest::Method::PUT;
    let nul = json!({ "phone_number": "+447700900123\u{0}" }).to_string();
    send_json(&app, post.clone(), "/v1/otp/start", nul.as_bytes()).await;
    send_json(
        &app,
        post.clone(),
        "/v1/otp/start",
        b"{\"phone_number\":\"+44\xFF\"}",
    )
    .await;
    let nul = json!({ "grant_type": "otp", "phone_number": "+447700900123", "code": "1\u{0}" });
    send_json(
        &app,
        post.clone(),
        "/oauth/token",
        nul.to_string().as_bytes(),
    )
    .await;
    let employee = json!({ "phone_number": "+447700900123", "name": "Ada\u{0}" });
    send_json(
        &app,
        put,
        "/admin/v1/employees/e1",
        employee.to_string().as_bytes(),
    )
    .await;
    let key = json!({ "name": "ci\u{0}", "role": "admin" });
    send_json(&app, post, "/admin/v1/api-keys", key.to_string().as_bytes()).await;
    // Nothing was stored.
    let response = app.admin_get("/admin/v1/employees").await;
    let listed: Value = response.json().await.unwrap();
    assert_eq!(listed["items"], json!([]), "{listed}");
}

async fn hostile_imports_are_refused(backend: Backend) {
    let app = spawn_app(backend).await;
    let row = json!([{ "external_id": "e\u{0}1", "phone_number": "+447700900123", "name": "Ada" }]);
    let response = app
        .import("merge", "application/json", row.to_string())
        .await;
    assert_error(response, StatusCode::BAD_REQUEST, "invalid_request").await;
    let response = app.import("merge%00", "text/csv", "").await;
    assert_error(response, StatusCode::BAD_REQUEST, "invalid_request").await;
    // CSV is not a form or JSON: its rows are checked one by one (`422` with every bad row).
    let csv = "external_id,phone_number,name\ne1,+447700900123,Ada\0Lovelace\n";
    let body = app.import_refused("merge", csv).await;
    assert_eq!(body["errors"][0]["line"], 2, "{body}");
    let response = app.admin_get("/admin/v1/employees").await;
    let listed: Value = response.json().await.unwrap();
    assert_eq!(listed["items"], json!([]), "{listed}");
}
