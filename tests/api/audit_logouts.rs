//! Sessions their holders end (`POST /v1/logout`, `POST /oauth/revoke`): the `session.revoked`
//! event is kept on the session (no event row of its own), listed with the fields such events
//! always had, found by every filter and paged in one id order with the others; concurrent ends
//! of one session keep one event there and audit the rest as before.

use std::time::Duration;

use futures::future::join_all;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{
    Backend, FIXED_NUMBERS, TestApp, Wanted, assert_filters, audit_page, audit_pages, claim,
    event_time, matching, on_both_backends, spawn_app_with_fixed_numbers as spawn, text,
};

on_both_backends!(
    a_logout_is_listed_with_its_fields_and_writes_no_event_row,
    filters_and_pages_find_logouts_as_they_find_the_others,
    concurrent_ends_of_one_session_keep_one_event_on_it,
);

async fn count_events(app: &TestApp) -> i64 {
    app.count_rows("select count(*) from audit_events").await
}

/// `POST /v1/logout` with `access`, forwarded for `ip`.
async fn log_out_from(app: &TestApp, access: &str, ip: &str) {
    let response = app
        .client
        .post(app.url("/v1/logout"))
        .header("x-forwarded-for", ip)
        .bearer_auth(access)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
}

/// `POST /oauth/revoke` of `token`, forwarded for `ip`.
async fn revoke_from(app: &TestApp, token: &str, ip: &str) {
    let response = app
        .client
        .post(app.url("/oauth/revoke"))
        .header("x-forwarded-for", ip)
        .form(&[("token", token)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

/// The `session.revoked` event a holder's `reason` leaves for `pair`'s session, ended from `ip`.
async fn expected_end(app: &TestApp, pair: &Value, reason: &str, ip: &str, id: &Value) -> Value {
    let session = app.session_of(pair).await;
    json!({
        "id": id,
        "time": session["revoked_at"],
        "actor": format!("identity:{}", claim(text(pair, "access_token"), "sub")),
        "action": "session.revoked",
        "subject": session["sid"],
        "ip": ip,
        "detail": {"reason": reason, "newly_revoked": 1},
        "count": 1,
    })
}

async fn a_logout_is_listed_with_its_fields_and_writes_no_event_row(backend: Backend) {
    let app = spawn(backend, &[("SESAME_TRUSTED_PROXIES", "127.0.0.1/32")]).await;
    let logged_out = app.login_fixed(FIXED_NUMBERS[0]).await;
    let revoked = app.login_fixed(FIXED_NUMBERS[1]).await;
    let rows = count_events(&app).await;
    log_out_from(&app, text(&logged_out, "access_token"), "203.0.113.9").await;
    revoke_from(&app, text(&revoked, "refresh_token"), "198.51.100.7").await;
    // The storage claim: the session row is the event.
    assert_eq!(count_events(&app).await, rows);

    let items = audit_page(&app, "limit=500").await;
    let actions: Vec<&str> = items
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "session.revoked",
            "session.revoked",
            "login.succeeded",
            "login.succeeded"
        ]
    );
    let client_revoked = expected_end(
        &app,
        &revoked,
        "client_revoked",
        "198.51.100.7",
        &items[0]["id"],
    );
    assert_eq!(items[0], client_revoked.await);
    let logout = expected_end(&app, &logged_out, "logout", "203.0.113.9", &items[1]["id"]);
    assert_eq!(items[1], logout.await);

    // Revoking the ended session again changes nothing on it and is audited as it always was:
    // an event row of its own, which says nothing was newly revoked.
    revoke_from(&app, text(&revoked, "access_token"), "198.51.100.8").await;
    assert_eq!(count_events(&app).await, rows + 1);
    let again = audit_page(&app, "limit=500").await;
    assert_eq!(again[1..], items);
    assert_eq!(again[0]["action"], "session.revoked");
    assert_eq!(again[0]["subject"], items[0]["subject"]);
    assert_eq!(again[0]["ip"], "198.51.100.8");
    assert_eq!(
        again[0]["detail"],
        json!({"reason": "client_revoked", "newly_revoked": 0})
    );
    assert!(again[0]["id"].as_i64() > items[0]["id"].as_i64());
    assert_eq!(
        app.session_of(&revoked).await["revoked_reason"],
        "client_revoked"
    );
}

/// Logins, ends by their holders and an admin's revocation, an hour apart. Returns the log,
/// newest first, and the start of the middle hour (Unix seconds).
async fn make_history(app: &TestApp) -> (Vec<Value>, i64) {
    let first = app.login_fixed(FIXED_NUMBERS[0]).await;
    let second = app.login_fixed(FIXED_NUMBERS[1]).await;
    app.clock.advance(Duration::from_secs(3_600));
    let middle = app.clock.now();
    let response = app
        .post_form("/oauth/revoke", &[("token", text(&first, "refresh_token"))])
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let sid = claim(text(&second, "access_token"), "sid");
    let path = format!("/admin/v1/sessions/{sid}/revoke");
    assert_eq!(app.admin_post(&path).await.status(), StatusCode::NO_CONTENT);
    let third = app.login_fixed(FIXED_NUMBERS[0]).await;
    app.clock.advance(Duration::from_secs(3_600));
    let third = app.refreshed(text(&third, "refresh_token")).await;
    app.logout(text(&third, "access_token")).await;
    (audit_page(app, "limit=500").await, middle)
}

async fn filters_and_pages_find_logouts_as_they_find_the_others(backend: Backend) {
    let app = spawn(backend, &[]).await;
    let (all, middle) = make_history(&app).await;
    let actions: Vec<&str> = all.iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(
        actions,
        [
            "session.revoked",
            "login.succeeded",
            "session.revoked",
            "session.revoked",
            "login.succeeded",
            "login.succeeded",
        ]
    );
    assert_eq!(all[2]["actor"], "api-key:bootstrap");
    let holder = all[0]["actor"].as_str().unwrap().to_owned();
    assert_eq!(all[3]["actor"], holder.as_str());
    let sid = all[3]["subject"].as_str().unwrap().to_owned();
    let filters: Vec<(String, Wanted)> = vec![
        matching("actor", &holder),
        matching("subject", &sid),
        matching("action", "session.revoked"),
        matching("actor", "api-key:bootstrap"),
        // By hour, not by second: the clock runs, so the middle hour's events may fall a
        // second or more after its start.
        (
            format!("since={}", middle + 3_600),
            Box::new(|e| event_time(e) >= middle + 3_600),
        ),
        (
            format!("since={middle}&until={}", middle + 3_600),
            Box::new(|e| (middle..middle + 3_600).contains(&event_time(e))),
        ),
        (
            format!(
                "actor={holder}&action=session.revoked&until={}",
                middle + 3_600
            ),
            Box::new(|e| {
                e["actor"] == holder.as_str()
                    && e["action"] == "session.revoked"
                    && event_time(e) < middle + 3_600
            }),
        ),
    ];
    assert_filters(&app, &all, filters).await;
    // An identity that ended no session: nothing.
    assert!(audit_page(&app, "actor=identity:nobody").await.is_empty());

    // One id order across the three sources, page after page.
    let ids: Vec<i64> = all.iter().map(|e| e["id"].as_i64().unwrap()).collect();
    assert!(ids.windows(2).all(|pair| pair[0] > pair[1]), "{ids:?}");
    for limit in [1, 2] {
        assert_eq!(audit_pages(&app, "", limit).await, all, "limit={limit}");
    }
}

async fn concurrent_ends_of_one_session_keep_one_event_on_it(backend: Backend) {
    let app = spawn(backend, &[]).await;
    let pair = app.login_fixed(FIXED_NUMBERS[0]).await;
    let rows = count_events(&app).await;
    let revokes = (0..8).map(|n| {
        let token = if n % 2 == 0 {
            "access_token"
        } else {
            "refresh_token"
        };
        app.client
            .post(app.url("/oauth/revoke"))
            .form(&[("token", text(&pair, token))])
            .send()
    });
    for response in join_all(revokes).await {
        assert_eq!(response.unwrap().status(), StatusCode::OK);
    }
    let ends = audit_page(&app, "action=session.revoked&limit=500").await;
    assert_eq!(ends.len(), 8, "{ends:?}");
    let newly: Vec<i64> = ends
        .iter()
        .map(|e| e["detail"]["newly_revoked"].as_i64().unwrap())
        .collect();
    assert_eq!(newly.iter().sum::<i64>(), 1, "{newly:?}");
    // The one that ended it is on the session; the other seven are rows of their own.
    assert_eq!(count_events(&app).await, rows + 7);
    let mut ids: Vec<i64> = ends.iter().map(|e| e["id"].as_i64().unwrap()).collect();
    ids.dedup();
    assert_eq!(ids.len(), 8);
}
