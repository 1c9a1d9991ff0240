//! Refresh rotation, the reuse grace window, reuse detection and the sweeper.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use futures::future::join_all;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{
    Backend, FIXED_NUMBERS, TestApp, assert_error, claim, claims_of, forge, on_every_backend,
    spawn_app_with_fixed_numbers as spawn, spawn_node_with, spawn_stoppable, text,
};

const NUMBER: &str = FIXED_NUMBERS[0];

on_every_backend!(
    a_refresh_rotates_the_pair_within_the_session,
    bad_refresh_requests_are_refused,
    a_retry_inside_the_grace_window_gets_the_identical_pair,
    reuse_after_the_grace_window_revokes_the_whole_session,
    concurrent_refreshes_yield_one_successor,
    a_rotation_keeps_only_what_a_retry_cannot_rebuild,
    a_retry_under_another_configuration_is_refused_without_revoking,
    a_refresh_token_without_identity_claims_still_rotates,
    expired_rows_are_swept,
    the_server_stops_with_its_sweeper,
);

/// Test numbers log in with their fixed code and no message, then rotate like anyone else.
async fn a_refresh_rotates_the_pair_within_the_session(backend: Backend) {
    let app = spawn(backend, &[]).await;
    let first = app.login_fixed(NUMBER).await;
    assert!(app.sink.messages().is_empty());

    let response = app.refresh(text(&first, "refresh_token")).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let second: Value = response.json().await.unwrap();
    assert_eq!(second["token_type"], "Bearer");
    assert_eq!(second["expires_in"], 900);
    assert_eq!(second["refresh_token_expires_in"], 2_592_000);
    assert_ne!(second["access_token"], first["access_token"]);
    assert_ne!(second["refresh_token"], first["refresh_token"]);

    let old = claims_of(text(&first, "access_token"));
    let new = claims_of(text(&second, "access_token"));
    assert_eq!(new["sid"], old["sid"]);
    assert_eq!(new["sub"], old["sub"]);
    assert_eq!(claims_of(text(&second, "refresh_token"))["sid"], old["sid"]);
    assert_eq!(
        app.me(text(&second, "access_token")).await.status(),
        StatusCode::OK
    );

    // JSON works like the form, and the chain goes on.
    let response = app
        .post_json(
            "/oauth/token",
            &json!({"grant_type": "refresh_token", "refresh_token": second["refresh_token"]}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let third: Value = response.json().await.unwrap();
    assert_eq!(claims_of(text(&third, "access_token"))["sid"], old["sid"]);
    assert_eq!(
        app.me(text(&third, "access_token")).await.status(),
        StatusCode::OK
    );
}

async fn bad_refresh_requests_are_refused(backend: Backend) {
    let app = spawn(backend, &[]).await;
    let pair = app.login_fixed(NUMBER).await;

    let response = app
        .post_form("/oauth/token", &[("grant_type", "refresh_token")])
        .await;
    assert_error(response, StatusCode::BAD_REQUEST, "invalid_request").await;
    for bad in ["garbage", "a.b.c", ""] {
        let response = app.refresh(bad).await;
        assert_error(response, StatusCode::BAD_REQUEST, "invalid_grant").await;
    }
    // An access token is no refresh token, and a refresh token no access token.
    let response = app.refresh(text(&pair, "access_token")).await;
    assert_error(response, StatusCode::BAD_REQUEST, "invalid_grant").await;
    let response = app.me(text(&pair, "refresh_token")).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    // Neither mistake spent or revoked anything.
    assert_eq!(
        app.me(text(&pair, "access_token")).await.status(),
        StatusCode::OK
    );
    app.refreshed(text(&pair, "refresh_token")).await;
}

/// ES256 signatures are randomised: the identical pair proves it was stored, not re-signed.
async fn a_retry_inside_the_grace_window_gets_the_identical_pair(backend: Backend) {
    let app = spawn(backend, &[("SESAME_SIGNING_ALG", "ES256")]).await;
    let first = app.login_fixed(NUMBER).await;
    let second = app.refreshed(text(&first, "refresh_token")).await;
    let retried = app.refreshed(text(&first, "refresh_token")).await;
    assert_same_pair(&retried, &second);

    // The session lives on: the successor works and rotates.
    assert_eq!(
        app.me(text(&second, "access_token")).await.status(),
        StatusCode::OK
    );
    let third = app.refreshed(text(&second, "refresh_token")).await;
    assert_eq!(
        app.me(text(&third, "access_token")).await.status(),
        StatusCode::OK
    );

    // Once the session is revoked, a retry inside the window gets nothing back.
    let response = app
        .post_form("/oauth/revoke", &[("token", text(&third, "refresh_token"))])
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    for spent in [&first, &second] {
        let response = app.refresh(text(spent, "refresh_token")).await;
        assert_error(response, StatusCode::BAD_REQUEST, "invalid_grant").await;
    }
}

async fn reuse_after_the_grace_window_revokes_the_whole_session(backend: Backend) {
    let app = spawn(backend, &[("SESAME_REFRESH_REUSE_GRACE", "1")]).await;
    let first = app.login_fixed(NUMBER).await;
    let second = app.refreshed(text(&first, "refresh_token")).await;
    let other_session = app.login_fixed(NUMBER).await;
    app.clock.advance(Duration::from_secs(2));

    let response = app.refresh(text(&first, "refresh_token")).await;
    assert_error(response, StatusCode::BAD_REQUEST, "invalid_grant").await;

    // Every token of the family is dead: the successor pair and the first access token.
    for access in [text(&second, "access_token"), text(&first, "access_token")] {
        assert_eq!(app.me(access).await.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(app.introspect(access).await, json!({"active": false}));
    }
    assert_eq!(
        app.introspect(text(&second, "refresh_token")).await,
        json!({"active": false})
    );
    let response = app.refresh(text(&second, "refresh_token")).await;
    assert_error(response, StatusCode::BAD_REQUEST, "invalid_grant").await;

    // Another session of the same identity is untouched.
    assert_eq!(
        app.me(text(&other_session, "access_token")).await.status(),
        StatusCode::OK
    );
    app.refreshed(text(&other_session, "refresh_token")).await;
}

async fn concurrent_refreshes_yield_one_successor(backend: Backend) {
    let app = spawn(backend, &[("SESAME_SIGNING_ALG", "ES256")]).await;
    let first = app.login_fixed(NUMBER).await;
    let sid = claims_of(text(&first, "access_token"))["sid"]
        .as_str()
        .unwrap()
        .to_owned();
    let refresh = text(&first, "refresh_token");

    let responses = join_all((0..16).map(|_| app.refresh(refresh))).await;
    let mut pairs = HashSet::new();
    for response in responses {
        assert_eq!(response.status(), StatusCode::OK);
        let pair: Value = response.json().await.unwrap();
        pairs.insert((
            text(&pair, "access_token").to_owned(),
            text(&pair, "refresh_token").to_owned(),
        ));
    }
    assert_eq!(pairs.len(), 1, "one distinct successor pair");

    // One branch only: the first pair's row plus one successor pair's (a pair's row is its
    // refresh token's).
    let rows = app
        .count_rows(&format!(
            "select count(*) from tokens where session_id = '{sid}'"
        ))
        .await;
    assert_eq!(rows, 2);
    let (access, successor) = pairs.into_iter().next().unwrap();
    assert_eq!(app.me(&access).await.status(), StatusCode::OK);
    app.refreshed(&successor).await;
}

/// The stored successor holds the key's id, the access token's `jti` and the two signatures
/// (sealed), not the two tokens: a retry rebuilds the rest, byte for byte.
async fn a_rotation_keeps_only_what_a_retry_cannot_rebuild(backend: Backend) {
    let app = spawn(backend, &[("SESAME_SIGNING_ALG", "ES256")]).await;
    let first = app.login_fixed(NUMBER).await;
    let second = app.refreshed(text(&first, "refresh_token")).await;
    let pair_length = text(&second, "access_token").len() + text(&second, "refresh_token").len();
    let kept = app
        .count_rows("select cast(max(length(sealed_pair)) as bigint) from refresh_successors")
        .await;
    assert!(
        kept * 2 < i64::try_from(pair_length).unwrap(),
        "{kept} characters kept for a pair of {pair_length}"
    );
    let retried = app.refreshed(text(&first, "refresh_token")).await;
    assert_same_pair(&retried, &second);
}

/// A node whose configuration changed the pair since (here, the access token's lifetime)
/// rebuilds a pair that would not verify: it answers `invalid_grant` and ends nothing.
async fn a_retry_under_another_configuration_is_refused_without_revoking(backend: Backend) {
    let app = spawn(backend, &[]).await;
    let first = app.login_fixed(NUMBER).await;
    let second = app.refreshed(text(&first, "refresh_token")).await;

    let reconfigured = spawn_node_with(&app, &[("SESAME_ACCESS_TTL", "600")]).await;
    let response = reconfigured.refresh(text(&first, "refresh_token")).await;
    assert_error(response, StatusCode::BAD_REQUEST, "invalid_grant").await;

    assert_eq!(
        app.me(text(&second, "access_token")).await.status(),
        StatusCode::OK
    );
    let retried = app.refreshed(text(&first, "refresh_token")).await;
    assert_same_pair(&retried, &second);
}

/// Refresh tokens from before they carried the principal rotate too: their session is read.
async fn a_refresh_token_without_identity_claims_still_rotates(backend: Backend) {
    let app = spawn(backend, &[]).await;
    let first = app.login_fixed(NUMBER).await;
    let mut claims = claims_of(text(&first, "refresh_token"));
    assert_eq!(claims["phone_number"], NUMBER);
    let fields = claims.as_object_mut().unwrap();
    fields.remove("phone_number");
    fields.remove("user_id");
    fields.remove("auth_time");
    let older = forge(&app, &claims, "refresh+jwt", None);

    let next = app.refreshed(&older).await;
    let access = claims_of(text(&next, "access_token"));
    assert_eq!(access["sub"], claims["sub"]);
    assert_eq!(access["phone_number"], NUMBER);
    assert_eq!(access["kind"], "anonymous");
    assert_eq!(
        claims_of(text(&next, "refresh_token"))["phone_number"],
        NUMBER
    );
    // A retry rebuilds the same pair from the session's principal.
    let retried = app.refreshed(&older).await;
    assert_same_pair(&retried, &next);
}

/// A retry's answer holds the very tokens of the first.
fn assert_same_pair(retried: &Value, first: &Value) {
    assert_eq!(retried["access_token"], first["access_token"]);
    assert_eq!(retried["refresh_token"], first["refresh_token"]);
}

/// Token rows (refresh tokens and deny rows of revoked access tokens) and stored successors.
async fn count_tokens(app: &TestApp) -> (i64, i64) {
    let tokens = app.count_rows("select count(*) from tokens").await
        + app
            .count_rows("select count(*) from revoked_access_tokens")
            .await;
    let successors = app
        .count_rows("select count(*) from refresh_successors")
        .await;
    (tokens, successors)
}

async fn expired_rows_are_swept(backend: Backend) {
    let app = spawn(
        backend,
        &[
            ("SESAME_TOKEN_RETENTION", "0"),
            ("SESAME_SWEEP_INTERVAL", "1"),
            ("SESAME_ACCESS_TTL", "1"),
            ("SESAME_REFRESH_TTL", "2"),
            ("SESAME_REFRESH_REUSE_GRACE", "0"),
        ],
    )
    .await;
    let pair = app.login_fixed(NUMBER).await;
    let jti = claim(text(&pair, "access_token"), "jti");
    let path = format!("/admin/v1/tokens/{jti}/revoke");
    assert_eq!(app.admin_post(&path).await.status(), StatusCode::NO_CONTENT);
    app.refreshed(text(&pair, "refresh_token")).await;
    let (tokens, successors) = count_tokens(&app).await;
    assert_eq!(tokens, 3, "two pairs' rows and one deny row");
    assert!(successors <= 1);

    // Every token has expired; the sweeper runs every (real) second.
    app.clock.advance(Duration::from_secs(3));
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if count_tokens(&app).await == (0, 0) {
            break;
        }
        assert!(Instant::now() < deadline, "expired rows were not swept");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Shutdown stops the sweeper and closes the pools; it never waits on the sweeper for good.
async fn the_server_stops_with_its_sweeper(backend: Backend) {
    let (app, stop, serving) = spawn_stoppable(backend, &[("SESAME_SWEEP_INTERVAL", "1")]).await;
    assert_eq!(app.start_login(NUMBER).await.status(), StatusCode::ACCEPTED);
    stop.send(()).unwrap();
    let stopped = tokio::time::timeout(Duration::from_secs(20), serving).await;
    assert!(
        matches!(stopped, Ok(Ok(Ok(())))),
        "the server did not stop cleanly: {stopped:?}"
    );
}
