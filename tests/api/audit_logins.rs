//! Login events in the audit log: kept on the session (no event row of their own), listed with
//! the fields they always had, found by every filter and paged in one id order with the other
//! events.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{
    Backend, FIXED_NUMBERS, TestApp, Wanted, assert_filters, audit_page, audit_pages, claim,
    event_time, matching, on_both_backends, spawn_app_with_fixed_numbers as spawn, text,
    wrong_code,
};

on_both_backends!(
    a_login_is_listed_with_its_fields_and_writes_no_event_row,
    every_filter_finds_login_events_as_it_finds_the_others,
    pages_interleave_login_events_with_the_others_in_one_id_order,
    login_events_stored_before_the_upgrade_are_listed_once,
);

const EMPLOYEE: &str = "+447700900401";
const ANONYMOUS: &str = "+447700900402";

async fn count_events(app: &TestApp) -> i64 {
    app.count_rows("select count(*) from audit_events").await
}

async fn a_login_is_listed_with_its_fields_and_writes_no_event_row(backend: Backend) {
    let app = spawn(backend, &[("SESAME_TRUSTED_PROXIES", "127.0.0.1/32")]).await;
    let body = json!({"phone_number": EMPLOYEE, "name": "Ada Lovelace"});
    assert!(app.put_employee("E-1", &body).await.status().is_success());
    let rows = count_events(&app).await;
    let employee = app.login(EMPLOYEE).await;
    let test_number = app.login_fixed(FIXED_NUMBERS[0]).await;
    // The storage claim: the session row is the event.
    assert_eq!(count_events(&app).await, rows);

    // A refresh from elsewhere moves the session's IP, not the login's.
    let response = app
        .client
        .post(app.url("/oauth/token"))
        .header("x-forwarded-for", "203.0.113.9")
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", text(&employee, "refresh_token")),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);

    let items = audit_page(&app, "limit=500").await;
    assert_eq!(items.len(), 3, "{items:?}");
    assert_eq!(items[2]["action"], "employee.upserted");
    let logins = [
        (&items[0], &test_number, FIXED_NUMBERS[0]),
        (&items[1], &employee, EMPLOYEE),
    ];
    for (event, pair, number) in logins {
        let sub = claim(text(pair, "access_token"), "sub");
        let session = &app.session_of(pair).await;
        let mut expected = json!({
            "id": event["id"],
            "time": session["created_at"],
            "actor": format!("phone:{number}"),
            "action": "login.succeeded",
            "subject": sub,
            "ip": "127.0.0.1",
            "count": 1,
        });
        if number == FIXED_NUMBERS[0] {
            expected["detail"] = json!({"test_number": true});
        } else {
            assert_eq!(session["ip"], "203.0.113.9");
        }
        assert_eq!(event, &expected);
    }
    let ids: Vec<i64> = items
        .iter()
        .map(|item| item["id"].as_i64().unwrap())
        .collect();
    assert!(ids.windows(2).all(|pair| pair[0] > pair[1]), "{ids:?}");
}

/// Logins among other events, an hour apart: an employee's upsert and login, an anonymous
/// number's failed and good logins, a revocation, a test number's login, the employee's second
/// login. Returns the first and the last hour's start (Unix seconds).
async fn make_history(app: &TestApp) -> (i64, i64) {
    let first = app.clock.now();
    let body = json!({"phone_number": EMPLOYEE, "name": "Ada Lovelace"});
    assert!(app.put_employee("E-1", &body).await.status().is_success());
    app.login(EMPLOYEE).await;
    app.clock.advance(Duration::from_secs(3_600));
    assert_eq!(
        app.start_login(ANONYMOUS).await.status(),
        StatusCode::ACCEPTED
    );
    let code = app.sink.last_code(ANONYMOUS);
    let response = app.exchange_code(ANONYMOUS, &wrong_code(&code)).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let response = app.exchange_code(ANONYMOUS, &code).await;
    assert_eq!(response.status(), StatusCode::OK);
    let anonymous: Value = response.json().await.unwrap();
    let sid = claim(text(&anonymous, "access_token"), "sid");
    let response = app
        .admin_post(&format!("/admin/v1/sessions/{sid}/revoke"))
        .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    app.clock.advance(Duration::from_secs(3_600));
    let last = app.clock.now();
    app.login_fixed(FIXED_NUMBERS[0]).await;
    app.login(EMPLOYEE).await;
    (first, last)
}

async fn every_filter_finds_login_events_as_it_finds_the_others(backend: Backend) {
    let app = spawn(backend, &[]).await;
    let (first, last) = make_history(&app).await;
    let all = audit_page(&app, "limit=500").await;
    let actions: Vec<&str> = all.iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(
        actions,
        [
            "login.succeeded",
            "login.succeeded",
            "session.revoked",
            "login.succeeded",
            "login.failed",
            "login.succeeded",
            "employee.upserted",
        ]
    );
    let employee_sub = all[0]["subject"].as_str().unwrap().to_owned();
    let phone = |number: &str| format!("phone:{number}");
    let param = |text: &str| text.replace('+', "%2B");
    let filters: Vec<(String, Wanted)> = vec![
        matching("actor", &phone(EMPLOYEE)),
        matching("actor", &phone(ANONYMOUS)),
        matching("actor", "api-key:bootstrap"),
        matching("subject", &employee_sub),
        matching("action", "login.succeeded"),
        matching("action", "login.failed"),
        (format!("since={last}"), Box::new(|e| event_time(e) >= last)),
        (
            format!("until={}", first + 3_600),
            Box::new(|e| event_time(e) < first + 3_600),
        ),
        (
            format!(
                "actor={}&action=login.succeeded&since={}",
                param(&phone(EMPLOYEE)),
                first + 3_600
            ),
            Box::new(|e| {
                e["actor"] == phone(EMPLOYEE)
                    && e["action"] == "login.succeeded"
                    && event_time(e) >= first + 3_600
            }),
        ),
    ];
    assert_filters(&app, &all, filters).await;
    // An actor no login has (`phone:` alone names no number) finds nothing.
    assert!(audit_page(&app, "actor=phone:").await.is_empty());

    // Before an id (the cursor `next` gives): the events after the page's last.
    let page: Value = app
        .admin_get("/admin/v1/audit?limit=4")
        .await
        .json()
        .await
        .unwrap();
    let next = page["next"].as_str().unwrap();
    assert_eq!(
        audit_page(&app, &format!("limit=500&cursor={next}")).await,
        all[4..]
    );
}

async fn pages_interleave_login_events_with_the_others_in_one_id_order(backend: Backend) {
    let app = spawn(backend, &[]).await;
    make_history(&app).await;
    let all = audit_page(&app, "limit=500").await;
    let ids: Vec<i64> = all.iter().map(|e| e["id"].as_i64().unwrap()).collect();
    assert!(ids.windows(2).all(|pair| pair[0] > pair[1]), "{ids:?}");
    for limit in [1, 2, 3] {
        assert_eq!(audit_pages(&app, "", limit).await, all, "limit={limit}");
    }
    let anonymous = format!("actor=phone:{}", ANONYMOUS.replace('+', "%2B"));
    let of_anonymous: Vec<Value> = all
        .iter()
        .filter(|e| e["actor"] == format!("phone:{ANONYMOUS}").as_str())
        .cloned()
        .collect();
    assert_eq!(of_anonymous.len(), 2);
    assert_eq!(audit_pages(&app, &anonymous, 1).await, of_anonymous);
}

/// A login stored before migration 0009 (or by a node from before it) has its event in a row of
/// its own and none on its session: listed once, before and after its session is swept.
async fn login_events_stored_before_the_upgrade_are_listed_once(backend: Backend) {
    let app = spawn(
        backend,
        &[
            ("SESAME_SWEEP_INTERVAL", "1"),
            ("SESAME_SESSION_RETENTION", "86400"),
        ],
    )
    .await;
    let now = app.clock.now();
    for sql in [
        format!(
            "insert into user_auth (id, method, remote_id, created_at)
             values ('old-identity', 'phone', '{ANONYMOUS}', {now})"
        ),
        format!(
            "insert into sessions
                (id, user_auth_id, created_at, last_used_at, expires_at, ip, revoked_at)
             values ('old-session', 'old-identity', {now}, {now}, {}, '192.0.2.1', {now})",
            now + 3_600
        ),
        format!(
            "insert into audit_events (at, actor, action, subject, ip)
             values ({now}, 'phone:{ANONYMOUS}', 'login.succeeded', 'old-identity', '192.0.2.1')"
        ),
    ] {
        app.execute_sql(&sql).await;
    }
    app.login(ANONYMOUS).await;
    let events = audit_page(&app, "limit=500").await;
    assert_eq!(events.len(), 2, "{events:?}");
    assert_eq!(events[0]["ip"], "127.0.0.1");
    assert_eq!(
        events[1],
        json!({
            "id": events[1]["id"],
            "time": events[1]["time"],
            "actor": format!("phone:{ANONYMOUS}"),
            "action": "login.succeeded",
            "subject": "old-identity",
            "ip": "192.0.2.1",
            "count": 1,
        })
    );
    assert_eq!(audit_page(&app, "subject=old-identity").await, events);
    assert_eq!(audit_page(&app, "action=login.succeeded").await, events);

    app.clock.advance(Duration::from_secs(86_400 + 60));
    let deadline = Instant::now() + Duration::from_secs(20);
    while app.count_rows("select count(*) from sessions").await != 1 {
        assert!(Instant::now() < deadline, "the old session is swept");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(audit_page(&app, "limit=500").await, events);
}
