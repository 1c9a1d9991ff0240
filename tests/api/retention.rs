//! Retention: the sweeper deletes ended sessions (with their tokens) and old audit events, and
//! leaves live sessions and recent events alone.

use std::time::{Duration, Instant};

use reqwest::StatusCode;

use crate::support::{
    Backend, FIXED_NUMBERS, TestApp, claim, on_both_backends,
    spawn_app_with_fixed_numbers as spawn, text,
};

on_both_backends!(
    ended_sessions_and_old_audit_events_are_swept,
    audit_events_are_kept_for_good_with_retention_zero,
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
    let events = count(&app, "select count(*) from audit_events").await;
    assert!(events >= 3, "two logins and a logout are audited: {events}");

    // Within the retention nothing goes.
    app.clock.advance(Duration::from_secs(DAY - 60));
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    assert_eq!(count(&app, "select count(*) from sessions").await, 2);

    // A day after its revocation the revoked session goes, with its tokens; the live one stays
    // and still refreshes.
    app.clock.advance(Duration::from_secs(120));
    eventually(&app, "select count(*) from sessions", 1).await;
    assert_eq!(count(&app, &of_revoked).await, 0);
    let next = app.refreshed(text(&live, "refresh_token")).await;
    assert_eq!(
        app.me(text(&next, "access_token")).await.status(),
        StatusCode::OK
    );

    // Two days on, the first events are gone; the refresh's are not.
    let before = count(&app, "select count(*) from audit_events").await;
    app.clock.advance(Duration::from_secs(DAY + 60));
    eventually(&app, "select count(*) from audit_events", before - events).await;

    // The live session ends with its maximum age (ten days), and goes a day later.
    app.clock.advance(Duration::from_secs(8 * DAY));
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    assert_eq!(count(&app, "select count(*) from sessions").await, 1);
    app.clock.advance(Duration::from_secs(DAY));
    eventually(&app, "select count(*) from sessions", 0).await;
    assert_eq!(count(&app, "select count(*) from tokens").await, 0);
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
    let events = count(&app, "select count(*) from audit_events").await;
    assert!(events >= 1);
    app.clock.advance(Duration::from_secs(3_650 * DAY));
    // The ten-year-old session is swept; its login event stays.
    eventually(&app, "select count(*) from sessions", 0).await;
    assert_eq!(
        count(&app, "select count(*) from audit_events").await,
        events
    );
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
