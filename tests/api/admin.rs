//! The minimal employee provisioning route of the login core.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{Backend, assert_error, on_both_backends, spawn_app};

on_both_backends!(
    employees_are_upserted_by_external_id,
    admin_routes_need_the_admin_key
);

async fn employees_are_upserted_by_external_id(backend: Backend) {
    let app = spawn_app(backend).await;
    let body = json!({"phone_number": "+44 7700 900300", "name": "Grace Hopper", "email": "grace@example.com"});
    let response = app.put_employee("E-300", &body).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let created: Value = response.json().await.unwrap();
    assert_eq!(created["external_id"], "E-300");
    assert_eq!(created["phone_number"], "+447700900300");
    assert_eq!(created["active"], true);

    let body = json!({"phone_number": "+447700900301", "name": "Grace B. Hopper"});
    let response = app.put_employee("E-300", &body).await;
    assert_eq!(response.status(), StatusCode::OK);
    let updated: Value = response.json().await.unwrap();
    assert_eq!(updated["id"], created["id"]);
    assert_eq!(updated["name"], "Grace B. Hopper");
    assert_eq!(updated["email"], Value::Null);

    // Two active employees never share a number.
    let clash = json!({"phone_number": "+447700900301", "name": "Someone Else"});
    assert_error(
        app.put_employee("E-301", &clash).await,
        StatusCode::CONFLICT,
        "conflict",
    )
    .await;
    // An inactive one may.
    let inactive =
        json!({"phone_number": "+447700900301", "name": "Someone Else", "active": false});
    assert_eq!(
        app.put_employee("E-301", &inactive).await.status(),
        StatusCode::CREATED
    );

    let bad = json!({"phone_number": "12", "name": "X"});
    assert_error(
        app.put_employee("E-302", &bad).await,
        StatusCode::BAD_REQUEST,
        "invalid_phone_number",
    )
    .await;
    let bad = json!({"phone_number": "+447700900302", "name": " "});
    assert_error(
        app.put_employee("E-302", &bad).await,
        StatusCode::BAD_REQUEST,
        "invalid_request",
    )
    .await;
    let bad = json!({"phone_number": "+447700900302"});
    assert_error(
        app.put_employee("E-302", &bad).await,
        StatusCode::BAD_REQUEST,
        "invalid_request",
    )
    .await;
}

async fn admin_routes_need_the_admin_key(backend: Backend) {
    let app = spawn_app(backend).await;
    let url = app.url("/admin/v1/employees/E-1");
    let body = json!({"phone_number": "+447700900300", "name": "Grace Hopper"});
    let response = app.client.put(&url).json(&body).send().await.unwrap();
    assert_error(response, StatusCode::UNAUTHORIZED, "unauthorized").await;
    let response = app
        .client
        .put(&url)
        .bearer_auth("wrong-key-wrong-key")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_error(response, StatusCode::UNAUTHORIZED, "unauthorized").await;
}
