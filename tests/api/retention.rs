//! Retention: the sweeper deletes ended sessions (with their tokens) and old audit events, and
//! leaves live sessions and recent events alone; the events kept on a swept session (its login's,
//! its logout's) stay in the audit log as long as the audit retention says.

use std::time::{Duration, Instant};

use reqwest::StatusCode;

use crate::support::{
    Backend, FIXED_NUMBERS, TestApp, audit_page, claim, on_both_backends,
    spawn_app_with_fixed_numbers as spawn, text,
};

on_both_backends!(
    ended_sessions_and_old_audit_events_are_swept,
    audit_events_are_kept_for_good_with_retention_zero,
    a_swept_sessions_login_event_keeps_its_place_in_the_log,
    an_access_token_outliving_its_refresh_token_can_still_be_revoked,
);

const DAY: u64 = 86_400;

async fn count(app: &TestApp, sql: &str) -> i64 {
    app.count_rows(sql).await
}

/// Waits (the sweeper runs every real second) until `sql` counts `expected`.
async fn eventually(app: &TestApp, sql: &str, expected: i64) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let now = count(app, sql).await;
        if now == expected {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{sql}: {now}, expected {expected}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Login events moved to `audit_events` by the session sweep.
const MOVED_LOGINS: &str = "select count(*) from audit_events where action = 'login.succeeded'";

/// Logouts' events moved to `audit_events` by the session sweep.
const MOVED_LOGOUTS: &str = "select count(*) from audit_events where action = 'session.revoked'";

async fn ended_sessions_and_old_audit_events_are_swept(backend: Backend) {
    let app = spawn(
        backend,
        &[
            ("SESAME_SWEEP_INTERVAL", "1"),
            ("SESAME_SESSION_RETENTION", "86400"),
            ("SESAME_SESSION_MAX_AGE", "864000"),
            ("SESAME_REFRESH_TTL", "864000"),
            ("SESAME_AUDIT_RETENTION", "172800"),
        ],
    )
    .await;
    let revoked = app.login_fixed(FIXED_NUMBERS[0]).await;
    let live = app.login_fixed(FIXED_NUMBERS[1]).await;
    let logout = app
        .client
        .post(app.url("/v1/logout"))
        .bearer_auth(text(&revoked, "access_token"))
        .send()
        .await
        .unwrap();
    assert_eq!(logout.status(), StatusCode::NO_CONTENT);
    let revoked_sid = claim(text(&revoked, "access_token"), "sid");
    let of_revoked = format!("select count(*) from tokens where session_id = '{revoked_sid}'");
    assert_eq!(count(&app, "select count(*) from sessions").await, 2);
    assert_eq!(count(&app, &of_revoked).await, 1);
    let events = audit_page(&app, "limit=500").await;
    assert_eq!(
        events.len(),
        3,
        "two logins and a logout are audited: {events:?}"
    );

    // Within the retention nothing goes.
    app.clock.advance(Duration::from_secs(DAY - 60));
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    assert_eq!(count(&app, "select count(*) from sessions").await, 2);

    // A day after its revocation the revoked session goes, with its tokens, and its login and
    // logout events stay listed; the live one stays and still refreshes.
    app.clock.advance(Duration::from_secs(120));
    assert_eq!(count(&app, MOVED_LOGOUTS).await, 0);
    eventually(&app, "select count(*) from sessions", 1).await;
    assert_eq!(count(&app, &of_revoked).await, 0);
    assert_eq!(count(&app, MOVED_LOGOUTS).await, 1);
    assert_eq!(audit_page(&app, "limit=500").await, events);
    let next = app.refreshed(text(&live, "refresh_token")).await;
    assert_eq!(
        app.me(text(&next, "access_token")).await.status(),
        StatusCode::OK
    );

    // Two days on, the first events are gone: the swept session's login, the logout, and the
    // live session's login (not listed past the retention, though its session stays).
    app.clock.advance(Duration::from_secs(DAY + 60));
    eventually(&app, "select count(*) from audit_events", 0).await;
    assert!(audit_page(&app, "limit=500").await.is_empty());

    // The live session ends with its maximum age (ten days), and goes a day later, without
    // storing its login event, which is past the audit retention.
    app.clock.advance(Duration::from_secs(8 * DAY));
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    assert_eq!(count(&app, "select count(*) from sessions").await, 1);
    app.clock.advance(Duration::from_secs(DAY));
    eventually(&app, "select count(*) from sessions", 0).await;
    assert_eq!(count(&app, "select count(*) from tokens").await, 0);
    assert_eq!(count(&app, MOVED_LOGINS).await, 0);
    assert!(audit_page(&app, "limit=500").await.is_empty());
}

async fn audit_events_are_kept_for_good_with_retention_zero(backend: Backend) {
    let app = spawn(
        backend,
        &[
            ("SESAME_SWEEP_INTERVAL", "1"),
            ("SESAME_AUDIT_RETENTION", "0"),
        ],
    )
    .await;
    app.login_fixed(FIXED_NUMBERS[0]).await;
    let events = audit_page(&app, "limit=500").await;
    assert_eq!(events.len(), 1);
    app.clock.advance(Duration::from_secs(3_650 * DAY));
    // The ten-year-old session is swept; its login event stays, with its id.
    eventually(&app, "select count(*) from sessions", 0).await;
    assert_eq!(audit_page(&app, "limit=500").await, events);
    assert_eq!(count(&app, MOVED_LOGINS).await, 1);
}

/// A swept session's login event is listed as before, under the same id, between the events
/// that came before and after it; later events still come first.
async fn a_swept_sessions_login_event_keeps_its_place_in_the_log(backend: Backend) {
    let app = spawn(
        backend,
        &[
            ("SESAME_SWEEP_INTERVAL", "1"),
            ("SESAME_SESSION_RETENTION", "86400"),
        ],
    )
    .await;
    let first = app.login_fixed(FIXED_NUMBERS[0]).await;
    let sid = claim(text(&first, "access_token"), "sid");
    let path = format!("/admin/v1/sessions/{sid}/revoke");
    assert_eq!(app.admin_post(&path).await.status(), StatusCode::NO_CONTENT);
    app.login_fixed(FIXED_NUMBERS[1]).await;
    let events = audit_page(&app, "limit=500").await;
    let actions: Vec<&str> = events
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        ["login.succeeded", "session.revoked", "login.succeeded"]
    );

    app.clock.advance(Duration::from_secs(DAY + 60));
    eventually(&app, "select count(*) from sessions", 1).await;
    assert_eq!(count(&app, MOVED_LOGINS).await, 1);
    assert_eq!(audit_page(&app, "limit=500").await, events);
    // A later login still comes first.
    app.login_fixed(FIXED_NUMBERS[2]).await;
    let now = audit_page(&app, "limit=500").await;
    assert_eq!(now[1..], events);
    assert!(now[0]["id"].as_i64() > events[0]["id"].as_i64());
}

/// An access token may outlive the refresh token issued with it (`SESAME_ACCESS_TTL` longer than
/// `SESAME_REFRESH_TTL`): until it expires, an admin can still revoke it by its `jti`.
async fn an_access_token_outliving_its_refresh_token_can_still_be_revoked(backend: Backend) {
    let app = spawn(
        backend,
        &[
            ("SESAME_SWEEP_INTERVAL", "1"),
            ("SESAME_TOKEN_RETENTION", "0"),
            ("SESAME_ACCESS_TTL", "600"),
            ("SESAME_REFRESH_TTL", "60"),
        ],
    )
    .await;
    let earlier = app.login_fixed(FIXED_NUMBERS[0]).await;
    let earlier_sid = claim(text(&earlier, "access_token"), "sid");
    app.clock.advance(Duration::from_secs(550));
    let pair = app.login_fixed(FIXED_NUMBERS[1]).await;
    app.clock.advance(Duration::from_secs(100));

    // The earlier pair has expired whole and its row goes; the later one's refresh token has
    // expired, its access token has not, and its row stays.
    let of_earlier = format!("select count(*) from tokens where session_id = '{earlier_sid}'");
    eventually(&app, &of_earlier, 0).await;
    let access = text(&pair, "access_token");
    assert_eq!(app.me(access).await.status(), StatusCode::OK);
    let jti = claim(access, "jti");
    let path = format!("/admin/v1/tokens/{jti}/revoke");
    assert_eq!(app.admin_post(&path).await.status(), StatusCode::NO_CONTENT);
    assert_eq!(app.me(access).await.status(), StatusCode::UNAUTHORIZED);
}
