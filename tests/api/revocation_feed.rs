//! The revocation feed (`GET /v1/revocations`) for downstream deny-lists.

use std::collections::HashSet;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::Value;

use crate::support::{
    ADMIN_KEY, Backend, FIXED_NUMBERS, TestApp, assert_error, claim, claims_of, feed_page,
    on_both_backends, read_feed, spawn_app_with_fixed_numbers as spawn, text,
};

on_both_backends!(the_feed_lists_revocations_with_a_working_cursor);

/// Reads the whole feed once the app's clock has passed its lag (one second in this test).
async fn read_feed_after_lag(
    app: &TestApp,
    key: &str,
    since: Option<&str>,
) -> (Vec<Value>, String) {
    app.clock.advance(Duration::from_secs(2));
    read_feed(app, key, since, 2).await
}

async fn the_feed_lists_revocations_with_a_working_cursor(backend: Backend) {
    let app = spawn(backend, &[("SESAME_REVOCATION_FEED_LAG", "1")]).await;
    let key = app.api_key("introspect").await;

    // Revocations of every kind, including one made with plain SQL (as disabling an
    // employee does): the feed reads the tables themselves.
    let logout = app.login_fixed(FIXED_NUMBERS[0]).await;
    let token = app.login_fixed(FIXED_NUMBERS[1]).await;
    let identity = [
        app.login_fixed(FIXED_NUMBERS[2]).await,
        app.login_fixed(FIXED_NUMBERS[2]).await,
    ];
    let by_sql = app.login_fixed(FIXED_NUMBERS[0]).await;
    let untouched = app.login_fixed(FIXED_NUMBERS[1]).await;

    let response = app
        .client
        .post(app.url("/v1/logout"))
        .bearer_auth(text(&logout, "access_token"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let jti = claim(text(&token, "access_token"), "jti");
    let path = format!("/admin/v1/tokens/{jti}/revoke");
    assert_eq!(app.admin_post(&path).await.status(), StatusCode::NO_CONTENT);
    let sub = claim(text(&identity[0], "access_token"), "sub");
    let path = format!("/admin/v1/identities/{sub}/revoke");
    assert_eq!(app.admin_post(&path).await.status(), StatusCode::NO_CONTENT);
    let sql_sid = claim(text(&by_sql, "access_token"), "sid");
    let now = app.clock.now();
    app.execute_sql(&format!(
        "update sessions set revoked_at = {now}, revoked_reason = 'employee_disabled' \
         where id = '{sql_sid}' and revoked_at is null"
    ))
    .await;

    let (items, next) = read_feed_after_lag(&app, &key, None).await;
    assert_eq!(items.len(), 5, "{items:?}");
    let sessions: HashSet<&str> = items
        .iter()
        .filter(|item| item.get("jti").is_none())
        .map(|item| item["sid"].as_str().unwrap())
        .collect();
    let expected: HashSet<String> = [&logout, &identity[0], &identity[1], &by_sql]
        .iter()
        .map(|pair| claim(text(pair, "access_token"), "sid"))
        .collect();
    assert_eq!(
        sessions,
        expected.iter().map(String::as_str).collect::<HashSet<_>>()
    );
    let tokens: Vec<&Value> = items
        .iter()
        .filter(|item| item.get("jti").is_some())
        .collect();
    assert_eq!(tokens.len(), 1);
    assert_eq!(tokens[0]["jti"], jti.as_str());
    assert_eq!(tokens[0]["sid"], claim(text(&token, "access_token"), "sid"));
    assert!(
        !items
            .iter()
            .any(|item| item["sid"] == claim(text(&untouched, "access_token"), "sid"))
    );
    // Oldest first, with Unix-second times; a token's entry expires with the token.
    let times: Vec<i64> = items
        .iter()
        .map(|item| item["revoked_at"].as_i64().unwrap())
        .collect();
    assert!(times.windows(2).all(|pair| pair[0] <= pair[1]), "{times:?}");
    assert_eq!(
        tokens[0]["expires_at"].as_i64().unwrap(),
        claims_of(text(&token, "access_token"))["exp"]
            .as_i64()
            .unwrap()
    );

    // From the last cursor: nothing new, then exactly the next revocation.
    let (again, _) = read_feed(&app, &key, Some(&next), 2).await;
    assert!(again.is_empty(), "{again:?}");
    let response = app
        .post_form(
            "/oauth/revoke",
            &[("token", text(&untouched, "refresh_token"))],
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let (fresh, _) = read_feed_after_lag(&app, &key, Some(&next)).await;
    assert_eq!(fresh.len(), 1);
    assert_eq!(
        fresh[0]["sid"],
        claim(text(&untouched, "access_token"), "sid")
    );

    // The admin key reads it too; no key, a bad cursor or a bad limit are refused.
    let page = feed_page(&app, ADMIN_KEY, "?limit=1").await;
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    let response = app
        .client
        .get(app.url("/v1/revocations"))
        .send()
        .await
        .unwrap();
    assert_error(response, StatusCode::UNAUTHORIZED, "unauthorized").await;
    for query in ["?since=garbage", "?limit=0", "?limit=x", "?unknown=1"] {
        let response = app
            .client
            .get(app.url(&format!("/v1/revocations{query}")))
            .bearer_auth(&key)
            .send()
            .await
            .unwrap();
        assert_error(response, StatusCode::BAD_REQUEST, "invalid_request").await;
    }
}
