//! Employee records: list and search with cursors, disabling (sessions revoked at once), number
//! changes, and the admin key on every route.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{ADMIN_KEY, Backend, TestApp, assert_error, on_both_backends, spawn_app};

on_both_backends!(
    employees_are_listed_searched_and_paged,
    disabling_revokes_every_session_at_once,
    disabling_by_upsert_revokes_every_session,
    a_number_change_moves_the_link_at_next_login,
    every_admin_route_needs_an_admin_key
);

async fn put(app: &TestApp, external_id: &str, number: &str, name: &str) -> Value {
    let response = app
        .put_employee(external_id, &json!({"phone_number": number, "name": name}))
        .await;
    assert!(response.status().is_success(), "{}", response.status());
    response.json().await.unwrap()
}

fn external_ids(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["external_id"].as_str().unwrap().to_owned())
        .collect()
}

async fn search(app: &TestApp, query: &str) -> Vec<String> {
    let response = app
        .client
        .get(app.url("/admin/v1/employees"))
        .query(&[("q", query)])
        .bearer_auth(ADMIN_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    external_ids(&response.json().await.unwrap())
}

async fn employees_are_listed_searched_and_paged(backend: Backend) {
    let app = spawn_app(backend).await;
    put(&app, "E-5", "+447700900105", "Ada Lovelace").await;
    put(&app, "E-1", "+447700900101", "Alan Turing").await;
    let grace = put(&app, "E-3", "+447700900103", "Grace Hopper").await;
    put(&app, "E-2", "+447700900102", "ADA KING").await;
    put(&app, "E-4", "+447700900104", "Edsger 100% Dijkstra").await;

    // Pages of two, in external_id order, until `next` is null.
    let mut seen = Vec::new();
    let mut path = "/admin/v1/employees?limit=2".to_owned();
    let mut pages = 0;
    loop {
        let response = app.admin_get(&path).await;
        assert_eq!(response.status(), StatusCode::OK);
        let page: Value = response.json().await.unwrap();
        pages += 1;
        seen.extend(external_ids(&page));
        match page["next"].as_str() {
            Some(next) => path = format!("/admin/v1/employees?limit=2&cursor={next}"),
            None => break,
        }
    }
    assert_eq!(seen, ["E-1", "E-2", "E-3", "E-4", "E-5"]);
    assert_eq!(pages, 3);

    // Name: case-insensitive substring. Number: any accepted format. Ids: exact.
    assert_eq!(search(&app, "ada").await, ["E-2", "E-5"]);
    assert_eq!(search(&app, "HOPP").await, ["E-3"]);
    assert_eq!(search(&app, "+44 (7700) 900-104").await, ["E-4"]);
    assert_eq!(search(&app, "E-1").await, ["E-1"]);
    assert_eq!(search(&app, grace["id"].as_str().unwrap()).await, ["E-3"]);
    // `%` and `_` are literal, not wildcards.
    assert_eq!(search(&app, "100%").await, ["E-4"]);
    assert!(search(&app, "a_a").await.is_empty());
    // Search results page too.
    let page: Value = app
        .admin_get("/admin/v1/employees?q=a&limit=1")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(external_ids(&page), ["E-1"]);
    let next = page["next"].as_str().unwrap();
    let page: Value = app
        .admin_get(&format!("/admin/v1/employees?q=a&limit=1&cursor={next}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(external_ids(&page), ["E-2"]);

    for bad in ["limit=0", "limit=501", "limit=ten", "cursor=%%%"] {
        assert_error(
            app.admin_get(&format!("/admin/v1/employees?{bad}")).await,
            StatusCode::BAD_REQUEST,
            "invalid_request",
        )
        .await;
    }
}

async fn disabling_revokes_every_session_at_once(backend: Backend) {
    let app = spawn_app(backend).await;
    let number = "+447700900110";
    put(&app, "E-10", number, "Barbara Liskov").await;
    let first = app.login(number).await;
    let second = app.login(number).await;
    for tokens in [&first, &second] {
        let me = app.me_of(tokens).await;
        assert_eq!(me["kind"], "employee");
    }

    let response = app.admin_post("/admin/v1/employees/E-10/disable").await;
    assert_eq!(response.status(), StatusCode::OK);
    let disabled: Value = response.json().await.unwrap();
    assert_eq!(disabled["active"], false);
    for tokens in [&first, &second] {
        assert_eq!(
            app.me(tokens["access_token"].as_str().unwrap())
                .await
                .status(),
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(app.login_kind(number).await, "anonymous");

    // Idempotent; unknown employees are 404.
    let again = app.admin_post("/admin/v1/employees/E-10/disable").await;
    assert_eq!(again.status(), StatusCode::OK);
    let again: Value = again.json().await.unwrap();
    assert_eq!(again["updated_at"], disabled["updated_at"]);
    assert_error(
        app.admin_post("/admin/v1/employees/E-404/disable").await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;

    // Re-enabled, the number logs in as the employee again.
    let enabled = put(&app, "E-10", number, "Barbara Liskov").await;
    assert_eq!(enabled["active"], true);
    assert_eq!(app.login_kind(number).await, "employee");
}

async fn disabling_by_upsert_revokes_every_session(backend: Backend) {
    let app = spawn_app(backend).await;
    let number = "+447700900111";
    put(&app, "E-11", number, "Frances Allen").await;
    let tokens = app.login(number).await;
    let access = tokens["access_token"].as_str().unwrap();
    assert_eq!(app.me(access).await.status(), StatusCode::OK);

    let body = json!({"phone_number": number, "name": "Frances Allen", "active": false});
    let response = app.put_employee("E-11", &body).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(app.me(access).await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(app.login_kind(number).await, "anonymous");
}

async fn a_number_change_moves_the_link_at_next_login(backend: Backend) {
    let app = spawn_app(backend).await;
    let (old, new) = ("+447700900120", "+447700900121");
    put(&app, "E-12", old, "Margaret Hamilton").await;
    assert_eq!(app.login_kind(old).await, "employee");
    assert_eq!(app.login_kind(new).await, "anonymous");

    put(&app, "E-12", new, "Margaret Hamilton").await;
    assert_eq!(app.login_kind(old).await, "anonymous");
    assert_eq!(app.login_kind(new).await, "employee");

    // A newly provisioned employee's number logs in as that employee.
    put(&app, "E-13", old, "Katherine Johnson").await;
    let tokens = app.login(old).await;
    let me = app.me_of(&tokens).await;
    assert_eq!(me["kind"], "employee");
    assert_eq!(me["user"]["external_id"], "E-13");
}

async fn every_admin_route_needs_an_admin_key(backend: Backend) {
    let app = spawn_app(backend).await;
    let introspect = app.create_api_key("downstream", "introspect").await;
    let introspect = introspect["key"].as_str().unwrap();
    let routes = [
        (reqwest::Method::GET, "/admin/v1/employees"),
        (reqwest::Method::POST, "/admin/v1/employees/E-1/disable"),
        (
            reqwest::Method::POST,
            "/admin/v1/employees/import?mode=merge",
        ),
        (reqwest::Method::GET, "/admin/v1/audit"),
    ];
    for (method, path) in routes {
        let request = || {
            app.client
                .request(method.clone(), app.url(path))
                .header("content-type", "text/csv")
                .body("external_id,phone_number,name\nE-1,+447700900130,X\n")
        };
        let response = request().send().await.unwrap();
        assert_error(response, StatusCode::UNAUTHORIZED, "unauthorized").await;
        let response = request().bearer_auth("not-a-key").send().await.unwrap();
        assert_error(response, StatusCode::UNAUTHORIZED, "unauthorized").await;
        let response = request().bearer_auth(introspect).send().await.unwrap();
        assert_error(response, StatusCode::FORBIDDEN, "forbidden").await;
    }
    // Nothing was imported or disabled by the refused calls.
    assert!(app.all_employees().await.is_empty());
}
