//! The audit log: admin calls, imports and logins recorded with actor, subject, ip and time;
//! filters and cursors; no way to change it.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{
    ADMIN_KEY, Backend, TestApp, assert_error, on_both_backends, spawn_app, wrong_code,
};

on_both_backends!(
    admin_calls_imports_and_logins_are_audited,
    the_log_filters_and_pages_newest_first,
    the_log_is_append_only
);

async fn audit(app: &TestApp, query: &str) -> Value {
    let response = app.admin_get(&format!("/admin/v1/audit?{query}")).await;
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

fn actions(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["action"].as_str().unwrap().to_owned())
        .collect()
}

/// A little history: an upsert, a login, a failed login, a disable, an import (merge, with a
/// row going inactive), a rejected import, a sync with a leaver.
async fn make_history(app: &TestApp) {
    let number = "+447700900301";
    let body = json!({"phone_number": number, "name": "Ada Lovelace"});
    assert!(app.put_employee("E-1", &body).await.status().is_success());
    app.login(number).await;
    app.start_login(number).await;
    let wrong = wrong_code(&app.sink.last_code(number));
    let response = app.exchange_code(number, &wrong).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let response = app.admin_post("/admin/v1/employees/E-1/disable").await;
    assert_eq!(response.status(), StatusCode::OK);
    let header = "external_id,phone_number,name,email,active\n";
    app.import_csv(
        "merge",
        &format!("{header}E-2,+447700900302,Alan Turing,,\nE-3,+447700900303,Grace Hopper,,\n"),
    )
    .await;
    let response = app
        .import("merge", "text/csv", format!("{header}E-4,12,Bad,,\n"))
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    app.import_csv(
        "sync",
        &format!("{header}E-2,+447700900302,Alan Turing,,\n"),
    )
    .await;
}

async fn admin_calls_imports_and_logins_are_audited(backend: Backend) {
    let app = spawn_app(backend).await;
    make_history(&app).await;
    let log = audit(&app, "limit=500").await;
    assert_eq!(
        actions(&log),
        [
            "employees.imported",
            "employee.disabled",
            "employees.import_rejected",
            "employees.imported",
            "employee.disabled",
            "session.revoked",
            "login.failed",
            "login.succeeded",
            "employee.upserted",
        ]
    );
    let items = log["items"].as_array().unwrap();
    for item in items {
        assert_eq!(item["ip"], "127.0.0.1", "{item}");
        let time = item["time"].as_str().unwrap();
        assert!(
            time::OffsetDateTime::parse(time, &time::format_description::well_known::Rfc3339)
                .is_ok(),
            "{time}"
        );
    }
    let sync = &items[0];
    assert_eq!(sync["actor"], "api-key:bootstrap");
    assert_eq!(sync["subject"], Value::Null);
    assert_eq!(sync["detail"]["mode"], "sync");
    assert_eq!(sync["detail"]["disabled"], 1);
    assert_eq!(sync["detail"]["unchanged"], 1);
    assert_eq!(items[1]["subject"], "E-3");
    assert_eq!(items[1]["detail"]["reason"], "import_sync");
    assert_eq!(items[2]["detail"]["bad_rows"], 1);
    assert_eq!(items[3]["detail"]["created"], 2);
    let disabled = &items[4];
    assert_eq!(disabled["subject"], "E-1");
    assert_eq!(disabled["detail"]["sessions_revoked"], 1);
    // The disable ended E-1's session, in the same transaction, with its reason.
    let ended = &items[5];
    assert_eq!(ended["actor"], "api-key:bootstrap");
    assert_eq!(ended["detail"]["reason"], "employee.disabled");
    assert_eq!(items[6]["actor"], "phone:+447700900301");
    assert_eq!(items[8]["subject"], "E-1");
    assert_eq!(items[8]["detail"]["created"], true);
    // Never a code in the log.
    let code = app.sink.last_code("+447700900301");
    assert!(!log.to_string().contains(&format!("\"{code}\"")));
}

async fn the_log_filters_and_pages_newest_first(backend: Backend) {
    let app = spawn_app(backend).await;
    make_history(&app).await;
    let everything = audit(&app, "limit=500").await;
    let all = everything["items"].as_array().unwrap();
    assert_eq!(everything["next"], Value::Null);

    // Pages of three, following `next`, give the same events in the same order.
    let mut paged = Vec::new();
    let mut query = "limit=3".to_owned();
    loop {
        let page = audit(&app, &query).await;
        paged.extend(page["items"].as_array().unwrap().iter().cloned());
        match page["next"].as_str() {
            Some(next) => query = format!("limit=3&cursor={next}"),
            None => break,
        }
    }
    assert_eq!(&paged, all);
    let ids: Vec<i64> = all.iter().map(|e| e["id"].as_i64().unwrap()).collect();
    assert!(ids.windows(2).all(|pair| pair[0] > pair[1]), "{ids:?}");

    assert_eq!(
        actions(&audit(&app, "action=employee.disabled").await),
        ["employee.disabled", "employee.disabled"]
    );
    let e1 = audit(&app, "subject=E-1").await;
    assert_eq!(actions(&e1), ["employee.disabled", "employee.upserted"]);
    let both = audit(&app, "subject=E-1&action=employee.upserted").await;
    assert_eq!(actions(&both), ["employee.upserted"]);

    let now = time::OffsetDateTime::now_utc();
    let hour_ago = now - time::Duration::hours(1);
    let rfc = |at: time::OffsetDateTime| {
        at.format(&time::format_description::well_known::Rfc3339)
            .unwrap()
    };
    let since = audit(
        &app,
        &format!("since={}", rfc(hour_ago).replace('+', "%2B")),
    )
    .await;
    assert_eq!(since["items"].as_array().unwrap().len(), all.len());
    let later = now.unix_timestamp() + 3600;
    assert!(
        audit(&app, &format!("since={later}")).await["items"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    assert!(
        audit(&app, &format!("until={}", hour_ago.unix_timestamp())).await["items"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        audit(&app, &format!("until={later}")).await["items"]
            .as_array()
            .unwrap()
            .len(),
        all.len()
    );

    for bad in ["since=yesterday", "cursor=zzz", "limit=0"] {
        assert_error(
            app.admin_get(&format!("/admin/v1/audit?{bad}")).await,
            StatusCode::BAD_REQUEST,
            "invalid_request",
        )
        .await;
    }
}

async fn the_log_is_append_only(backend: Backend) {
    let app = spawn_app(backend).await;
    make_history(&app).await;
    let before = audit(&app, "limit=500").await;
    for method in [
        reqwest::Method::DELETE,
        reqwest::Method::PUT,
        reqwest::Method::POST,
    ] {
        let response = app
            .client
            .request(method, app.url("/admin/v1/audit"))
            .bearer_auth(ADMIN_KEY)
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        assert_error(
            response,
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
        )
        .await;
    }
    let id = before["items"][0]["id"].as_i64().unwrap();
    let response = app
        .client
        .delete(app.url(&format!("/admin/v1/audit/{id}")))
        .bearer_auth(ADMIN_KEY)
        .send()
        .await
        .unwrap();
    assert_error(response, StatusCode::NOT_FOUND, "not_found").await;
    assert_eq!(audit(&app, "limit=500").await, before);
}
