//! Revocation by the client (`/oauth/revoke`, `/v1/logout`) and by admins (HTTP and CLI).

use std::collections::HashSet;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{
    ADMIN_KEY, Backend, FIXED_CODE, FIXED_NUMBERS, TestApp, assert_error, claim, on_both_backends,
    sesame_cli, spawn_app_with_fixed_numbers as spawn, text,
};

on_both_backends!(
    the_revocation_endpoint_kills_the_session_at_once,
    logout_revokes_the_session,
    admin_revocations_take_effect_at_once,
    admins_list_an_identitys_sessions_page_by_page,
    the_cli_revokes_by_sub_sid_and_jti,
);

/// Asserts that the pair's session is dead everywhere: `/v1/me`, introspection and refresh.
async fn assert_dead(app: &TestApp, pair: &Value) {
    let access = text(pair, "access_token");
    assert_eq!(app.me(access).await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(app.introspect(access).await, json!({"active": false}));
    let refresh = text(pair, "refresh_token");
    assert_eq!(app.introspect(refresh).await, json!({"active": false}));
    let response = app.refresh(refresh).await;
    assert_error(response, StatusCode::BAD_REQUEST, "invalid_grant").await;
}

async fn assert_alive(app: &TestApp, pair: &Value) {
    let access = text(pair, "access_token");
    assert_eq!(app.me(access).await.status(), StatusCode::OK);
    assert_eq!(app.introspect(access).await["active"], true);
    assert_eq!(
        app.introspect(text(pair, "refresh_token")).await["active"],
        true
    );
}

async fn the_revocation_endpoint_kills_the_session_at_once(backend: Backend) {
    let app = spawn(backend, &[]).await;
    let by_refresh = app.login_fixed(FIXED_NUMBERS[0]).await;
    let by_access = app.login_fixed(FIXED_NUMBERS[0]).await;
    let bystander = app.login_fixed(FIXED_NUMBERS[0]).await;

    let response = app
        .post_form(
            "/oauth/revoke",
            &[
                ("token", text(&by_refresh, "refresh_token")),
                ("token_type_hint", "refresh_token"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.json::<Value>().await.unwrap(), json!({}));
    assert_dead(&app, &by_refresh).await;

    let response = app
        .post_json(
            "/oauth/revoke",
            &json!({"token": by_access["access_token"]}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_dead(&app, &by_access).await;
    assert_alive(&app, &bystander).await;

    // RFC 7009 §2.2: unknown, invalid and already revoked tokens get the same 200.
    for token in ["garbage", "a.b.c", text(&by_refresh, "refresh_token")] {
        let response = app.post_form("/oauth/revoke", &[("token", token)]).await;
        assert_eq!(response.status(), StatusCode::OK, "{token}");
    }
    // A malformed request is not well formed.
    let response = app.post_form("/oauth/revoke", &[("nothing", "x")]).await;
    assert_error(response, StatusCode::BAD_REQUEST, "invalid_request").await;
    let response = app
        .client
        .post(app.url("/oauth/revoke"))
        .body("token=x")
        .send()
        .await
        .unwrap();
    assert_error(response, StatusCode::BAD_REQUEST, "invalid_request").await;
}

async fn logout_revokes_the_session(backend: Backend) {
    let app = spawn(backend, &[]).await;
    let pair = app.login_fixed(FIXED_NUMBERS[0]).await;
    let other = app.login_fixed(FIXED_NUMBERS[0]).await;
    let logout = |token: &str| {
        app.client
            .post(app.url("/v1/logout"))
            .bearer_auth(token)
            .send()
    };
    let response = logout(text(&pair, "access_token")).await.unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_dead(&app, &pair).await;
    assert_alive(&app, &other).await;

    // A revoked, refresh or missing token cannot log out.
    let response = logout(text(&pair, "access_token")).await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let response = logout(text(&other, "refresh_token")).await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let response = app.client.post(app.url("/v1/logout")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_alive(&app, &other).await;
}

async fn admin_revocations_take_effect_at_once(backend: Backend) {
    let app = spawn(backend, &[]).await;
    let [first, second, third] = FIXED_NUMBERS;

    // One session.
    let session = app.login_fixed(first).await;
    let sibling = app.login_fixed(first).await;
    let sid = claim(text(&session, "access_token"), "sid");
    let path = format!("/admin/v1/sessions/{sid}/revoke");
    assert_eq!(app.admin_post(&path).await.status(), StatusCode::NO_CONTENT);
    assert_dead(&app, &session).await;
    assert_alive(&app, &sibling).await;
    assert_eq!(app.admin_post(&path).await.status(), StatusCode::NO_CONTENT);

    // One token: the access token dies, its refresh token still rotates.
    let pair = app.login_fixed(second).await;
    let jti = claim(text(&pair, "access_token"), "jti");
    let path = format!("/admin/v1/tokens/{jti}/revoke");
    assert_eq!(app.admin_post(&path).await.status(), StatusCode::NO_CONTENT);
    let access = text(&pair, "access_token");
    assert_eq!(app.me(access).await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(app.introspect(access).await, json!({"active": false}));
    let next = app.refreshed(text(&pair, "refresh_token")).await;
    assert_alive(&app, &next).await;
    assert_eq!(app.admin_post(&path).await.status(), StatusCode::NO_CONTENT);
    // A revoked refresh token no longer rotates.
    let jti = claim(text(&next, "refresh_token"), "jti");
    let path = format!("/admin/v1/tokens/{jti}/revoke");
    assert_eq!(app.admin_post(&path).await.status(), StatusCode::NO_CONTENT);
    let response = app.refresh(text(&next, "refresh_token")).await;
    assert_error(response, StatusCode::BAD_REQUEST, "invalid_grant").await;

    // Everything an identity holds.
    let sessions = [app.login_fixed(third).await, app.login_fixed(third).await];
    let bystander = app.login_fixed(second).await;
    let sub = claim(text(&sessions[0], "access_token"), "sub");
    let path = format!("/admin/v1/identities/{sub}/revoke");
    assert_eq!(app.admin_post(&path).await.status(), StatusCode::NO_CONTENT);
    for pair in &sessions {
        assert_dead(&app, pair).await;
    }
    assert_alive(&app, &bystander).await;
    assert_eq!(app.admin_post(&path).await.status(), StatusCode::NO_CONTENT);

    // Unknown targets are 404; other roles and no key are refused.
    for path in [
        "/admin/v1/sessions/nope/revoke",
        "/admin/v1/tokens/nope/revoke",
        "/admin/v1/identities/nope/revoke",
    ] {
        assert_error(
            app.admin_post(path).await,
            StatusCode::NOT_FOUND,
            "not_found",
        )
        .await;
    }
    let introspect_key = app.api_key("introspect").await;
    let path = format!("/admin/v1/identities/{sub}/revoke");
    let response = app
        .client
        .post(app.url(&path))
        .bearer_auth(&introspect_key)
        .send()
        .await
        .unwrap();
    assert_error(response, StatusCode::FORBIDDEN, "forbidden").await;
    let response = app.client.post(app.url(&path)).send().await.unwrap();
    assert_error(response, StatusCode::UNAUTHORIZED, "unauthorized").await;
}

async fn list_sessions(app: &TestApp, sub: &str, query: &str) -> reqwest::Response {
    app.client
        .get(app.url(&format!("/admin/v1/identities/{sub}/sessions{query}")))
        .bearer_auth(ADMIN_KEY)
        .send()
        .await
        .unwrap()
}

async fn admins_list_an_identitys_sessions_page_by_page(backend: Backend) {
    let app = spawn(backend, &[]).await;
    let number = FIXED_NUMBERS[0];
    let mut sids = Vec::new();
    for agent in ["phone-a", "phone-b", "phone-c"] {
        app.start_login(number).await;
        let response = app
            .exchange_code_with(number, FIXED_CODE, ("user-agent", agent))
            .await;
        let pair: Value = response.json().await.unwrap();
        sids.push(claim(text(&pair, "access_token"), "sid"));
    }
    let first_pair = app.login_fixed(FIXED_NUMBERS[1]).await;
    let other_sub = claim(text(&first_pair, "access_token"), "sub");
    let sub = {
        let pair = app.login_fixed(number).await;
        sids.push(claim(text(&pair, "access_token"), "sid"));
        claim(text(&pair, "access_token"), "sub")
    };
    let path = format!("/admin/v1/sessions/{}/revoke", sids[0]);
    assert_eq!(app.admin_post(&path).await.status(), StatusCode::NO_CONTENT);

    // Page through with limit 3: every session once, none of another identity.
    let mut seen = Vec::new();
    let mut query = "?limit=3".to_owned();
    loop {
        let response = list_sessions(&app, &sub, &query).await;
        assert_eq!(response.status(), StatusCode::OK);
        let page: Value = response.json().await.unwrap();
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= 3);
        seen.extend(items.iter().cloned());
        match page["next"].as_str() {
            Some(next) => query = format!("?limit=3&cursor={next}"),
            None => break,
        }
    }
    let listed: Vec<String> = seen
        .iter()
        .map(|session| session["sid"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        listed.iter().collect::<HashSet<_>>(),
        sids.iter().collect::<HashSet<_>>()
    );
    assert_eq!(listed.len(), sids.len());
    let revoked = seen.iter().find(|s| s["sid"] == sids[0].as_str()).unwrap();
    assert!(revoked["revoked_at"].is_string());
    assert_eq!(revoked["user_agent"], "phone-a");
    assert_eq!(revoked["ip"], "127.0.0.1");
    for session in &seen {
        assert!(session["created_at"].as_str().unwrap().ends_with('Z'));
        assert!(session["last_used_at"].is_string());
    }
    let live = seen.iter().find(|s| s["sid"] == sids[1].as_str()).unwrap();
    assert_eq!(live["revoked_at"], Value::Null);

    let response = list_sessions(&app, "nobody", "").await;
    assert_error(response, StatusCode::NOT_FOUND, "not_found").await;
    let response = list_sessions(&app, &other_sub, "?cursor=not-a-cursor").await;
    assert_error(response, StatusCode::BAD_REQUEST, "invalid_request").await;
    let response = list_sessions(&app, &other_sub, "?limit=0").await;
    assert_error(response, StatusCode::BAD_REQUEST, "invalid_request").await;
}

async fn the_cli_revokes_by_sub_sid_and_jti(backend: Backend) {
    let app = spawn(backend, &[]).await;
    let run = |args: &[&str]| {
        let output = sesame_cli(&app, args);
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
    };
    let by_sid = app.login_fixed(FIXED_NUMBERS[0]).await;
    let by_jti = app.login_fixed(FIXED_NUMBERS[1]).await;
    let by_sub = [
        app.login_fixed(FIXED_NUMBERS[2]).await,
        app.login_fixed(FIXED_NUMBERS[2]).await,
    ];

    run(&[
        "tokens",
        "revoke",
        "--sid",
        &claim(text(&by_sid, "access_token"), "sid"),
    ]);
    assert_dead(&app, &by_sid).await;

    let jti = claim(text(&by_jti, "access_token"), "jti");
    run(&["tokens", "revoke", "--jti", &jti]);
    let access = text(&by_jti, "access_token");
    assert_eq!(app.me(access).await.status(), StatusCode::UNAUTHORIZED);

    assert_alive(&app, &by_sub[0]).await;
    run(&[
        "tokens",
        "revoke",
        "--sub",
        &claim(text(&by_sub[0], "access_token"), "sub"),
    ]);
    for pair in &by_sub {
        assert_dead(&app, pair).await;
    }

    // Unknown targets and bad usage fail.
    assert!(
        !sesame_cli(&app, &["tokens", "revoke", "--sid", "nope"])
            .status
            .success()
    );
    assert!(!sesame_cli(&app, &["tokens", "revoke"]).status.success());
    assert!(
        !sesame_cli(&app, &["tokens", "revoke", "--sid", "a", "--jti", "b"])
            .status
            .success()
    );
}
