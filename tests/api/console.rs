//! The admin console's sign-in: off without an admin key, the session cookie, failed
//! sign-ins audited and limited, the idle timeout, sign-out, and the sessions of a key revoked
//! or re-roled since.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{
    ADMIN_KEY, Backend, TestApp, no_redirects, on_both_backends, sesame_cli, spawn_app,
    spawn_app_with, spawn_node_like, spawn_node_with,
};

on_both_backends!(
    the_console_is_off_until_an_admin_key_exists,
    wrong_keys_are_audited_and_limited_per_ip,
    signing_in_sets_a_strict_cookie_secure_outside_loopback,
    a_session_ends_after_eight_idle_hours_or_at_sign_out,
    revoking_a_key_ends_its_console_sessions,
    a_re_roled_key_s_console_sessions_take_its_new_role,
    replacing_the_bootstrap_key_ends_the_sessions_it_opened,
);

async fn the_console_is_off_until_an_admin_key_exists(backend: Backend) {
    let app = spawn_app_with(backend, &[("SESAME_ADMIN_API_KEY", "")]).await;
    for path in [
        "/admin",
        "/admin/sign-in",
        "/admin/overview",
        "/admin/console.css",
    ] {
        let response = no_redirects().get(app.url(path)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
    }
    // An introspection key does not turn it on; an admin key does, at once.
    let output = sesame_cli(
        &app,
        &[
            "api-key",
            "create",
            "--name",
            "feed",
            "--role",
            "introspect",
        ],
    );
    assert!(output.status.success());
    let response = app
        .client
        .get(app.url("/admin/sign-in"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let output = sesame_cli(
        &app,
        &["api-key", "create", "--name", "ops", "--role", "admin"],
    );
    assert!(output.status.success());
    let key = String::from_utf8(output.stdout).unwrap().trim().to_owned();
    let response = app
        .client
        .get(app.url("/admin/sign-in"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    app.console(&key).await;
    // Revoked, it turns the console off again.
    assert!(
        sesame_cli(&app, &["api-key", "revoke", "ops"])
            .status
            .success()
    );
    let response = app
        .client
        .get(app.url("/admin/sign-in"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}

async fn wrong_keys_are_audited_and_limited_per_ip(backend: Backend) {
    let app = spawn_app(backend).await;
    let introspect = app.api_key("introspect").await;
    let response = app.console_sign_in_with(&introspect).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    for _ in 0..9 {
        let response = app.console_sign_in_with("not-a-key").await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert!(response.headers().get("set-cookie").is_none());
        let html = response.text().await.unwrap();
        assert!(html.contains("That key cannot sign in here"), "{html}");
    }
    // The eleventh attempt in 15 minutes is refused, even with the right key.
    let response = app.console_sign_in_with(ADMIN_KEY).await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    let wait: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=900).contains(&wait), "{wait}");
    assert!(response.text().await.unwrap().contains("Too many attempts"));

    let log = app
        .admin_get("/admin/v1/audit?action=console.sign_in_failed&limit=500")
        .await
        .json::<Value>()
        .await
        .unwrap();
    let items = log["items"].as_array().unwrap();
    assert_eq!(items.len(), 11, "{log}");
    assert_eq!(items[0]["detail"]["reason"], "rate_limited");
    assert_eq!(items[0]["actor"], "anonymous");
    assert_eq!(items[9]["detail"]["reason"], "unknown_key");
    assert_eq!(items[10]["actor"], "api-key:introspect-key");
    assert_eq!(items[10]["detail"]["role"], "introspect");
    assert_eq!(items[10]["ip"], "127.0.0.1");

    // The window passes: the right key signs in, and a success does not count as a failure.
    app.clock.advance(Duration::from_secs(15 * 60));
    for _ in 0..12 {
        app.console(ADMIN_KEY).await;
    }
}

async fn signing_in_sets_a_strict_cookie_secure_outside_loopback(backend: Backend) {
    let app = spawn_app(backend).await;
    let response = app.console_sign_in_with(ADMIN_KEY).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let cookie = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_owned();
    let attributes: Vec<&str> = cookie.split("; ").collect();
    assert!(attributes[0].starts_with("sesame_console="), "{cookie}");
    assert_eq!(
        attributes[0].len(),
        "sesame_console=".len() + 43,
        "{cookie}"
    );
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/admin"] {
        assert!(attributes.contains(&attribute), "{cookie}");
    }
    assert!(
        !cookie.contains("Secure"),
        "plain http on loopback: {cookie}"
    );
    // Neither the key nor anything else of it reaches the browser.
    assert!(!cookie.contains(ADMIN_KEY));
    let console = app.console(ADMIN_KEY).await;
    let (_, html) = console.page("/admin/overview").await;
    assert!(!html.contains(ADMIN_KEY));
    let (_, form) = console.page("/admin/sign-in").await;
    assert!(
        form.contains(r#"type="password" name="key" autocomplete="off""#),
        "{form}"
    );

    // A sign-in posted from another site's page is refused.
    let response = no_redirects()
        .post(app.url("/admin/sign-in"))
        .header("origin", "https://attacker.example")
        .form(&[("key", ADMIN_KEY)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(response.headers().get("set-cookie").is_none());

    let log: Value = app
        .admin_get("/admin/v1/audit?action=console.signed_in")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(log["items"][0]["actor"], "api-key:bootstrap");
    assert_eq!(log["items"][0]["detail"]["role"], "admin");

    let https = spawn_app_with(backend, &[("SESAME_ISSUER", "https://login.example.com")]).await;
    let response = https.console_sign_in_with(ADMIN_KEY).await;
    let cookie = response.headers()["set-cookie"].to_str().unwrap();
    assert!(cookie.starts_with("__Secure-sesame_console="), "{cookie}");
    assert!(
        cookie.ends_with("; Path=/admin; HttpOnly; SameSite=Strict; Secure"),
        "{cookie}"
    );
}

async fn a_session_ends_after_eight_idle_hours_or_at_sign_out(backend: Backend) {
    let app = spawn_app(backend).await;
    let console = app.console(ADMIN_KEY).await;
    // Each use slides the timeout: two steps just under 8 hours each keep it alive.
    for _ in 0..2 {
        app.clock.advance(Duration::from_secs(8 * 3600 - 60));
        let (status, _) = console.page("/admin/people").await;
        assert_eq!(status, StatusCode::OK);
    }
    app.clock.advance(Duration::from_secs(8 * 3600 + 1));
    let response = console.get("/admin/people").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()["location"], "/admin/sign-in");
    // A POST of an ended session changes nothing and says why.
    let response = console
        .post("/admin/employees", &[("external_id", "E-1")])
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);

    let console = app.console(ADMIN_KEY).await;
    let response = console.post_raw("/admin/sign-out", &[]).await;
    assert_eq!(
        response.status(),
        StatusCode::FORBIDDEN,
        "sign-out needs the token too"
    );
    let response = console.post("/admin/sign-out", &[]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let cleared = response.headers()["set-cookie"].to_str().unwrap();
    assert!(
        cleared.starts_with("sesame_console=; Max-Age=0"),
        "{cleared}"
    );
    assert_eq!(
        console.get("/admin/overview").await.status(),
        StatusCode::SEE_OTHER
    );
    let log: Value = app
        .admin_get("/admin/v1/audit?action=console.signed_out")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(log["items"][0]["actor"], "api-key:bootstrap");
}

async fn revoking_a_key_ends_its_console_sessions(backend: Backend) {
    let app = spawn_app(backend).await;
    let created = app.create_api_key("ops-bob", "admin").await;
    let console = app.console(created["key"].as_str().unwrap()).await;
    assert_eq!(console.page("/admin/employees").await.0, StatusCode::OK);
    let response = app
        .client
        .delete(app.url(&format!(
            "/admin/v1/api-keys/{}",
            created["id"].as_str().unwrap()
        )))
        .bearer_auth(ADMIN_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let response = console.get("/admin/employees").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()["location"], "/admin/sign-in");
}

async fn a_re_roled_key_s_console_sessions_take_its_new_role(backend: Backend) {
    async fn employees_found(app: &TestApp, external_id: &str) -> usize {
        let path = format!("/admin/v1/employees?q={external_id}");
        let page: Value = app.admin_get(&path).await.json().await.unwrap();
        page["items"].as_array().unwrap().len()
    }
    let app = spawn_app(backend).await;
    let created = app.create_api_key("ops-carol", "admin").await;
    let id = created["id"].as_str().unwrap();
    let console = app.console(created["key"].as_str().unwrap()).await;
    let re_role = |role: &'static str| {
        app.client
            .patch(app.url(&format!("/admin/v1/api-keys/{id}")))
            .bearer_auth(ADMIN_KEY)
            .json(&json!({ "role": role }))
            .send()
    };
    let create_employee = || {
        console.post(
            "/admin/employees",
            &[
                ("external_id", "E-7"),
                ("phone_number", "+447700900407"),
                ("name", "Role Tester"),
                ("active", "true"),
            ],
        )
    };

    // Demoted to auditor: the open session reads, and changes nothing.
    assert_eq!(re_role("auditor").await.unwrap().status(), StatusCode::OK);
    let (status, html) = console.page("/admin/employees").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("api-key:ops-carol · auditor"), "{html}");
    assert_eq!(create_employee().await.status(), StatusCode::FORBIDDEN);
    assert_eq!(employees_found(&app, "E-7").await, 0);

    // Promoted again: the same session may change things.
    assert_eq!(re_role("admin").await.unwrap().status(), StatusCode::OK);
    assert_eq!(create_employee().await.status(), StatusCode::SEE_OTHER);
    assert_eq!(employees_found(&app, "E-7").await, 1);

    // A role that may not use the console ends the session.
    assert_eq!(
        re_role("introspect").await.unwrap().status(),
        StatusCode::OK
    );
    let response = console.get("/admin/employees").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()["location"], "/admin/sign-in");
    // For good: giving the key back a console role does not bring the ended session back.
    assert_eq!(re_role("admin").await.unwrap().status(), StatusCode::OK);
    let response = console.get("/admin/employees").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
}

/// An operator replaces a leaked `SESAME_ADMIN_API_KEY`: the console sessions opened with the
/// old key end on every node that has the new one, and those opened with the new key are
/// refused where the old one is still configured.
async fn replacing_the_bootstrap_key_ends_the_sessions_it_opened(backend: Backend) {
    const REPLACED: &str = "replaced-admin-key-after-a-leak-0123456789";
    let app = spawn_app(backend).await;
    let mut console = app.console(ADMIN_KEY).await;
    let same_key = spawn_node_like(&app).await;
    console.base = same_key.base.clone();
    assert_eq!(console.page("/admin/overview").await.0, StatusCode::OK);

    let replaced = spawn_node_with(&app, &[("SESAME_ADMIN_API_KEY", REPLACED)]).await;
    console.base = replaced.base.clone();
    let response = console.get("/admin/overview").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()["location"], "/admin/sign-in");

    let mut fresh = replaced.console(REPLACED).await;
    assert_eq!(fresh.page("/admin/employees").await.0, StatusCode::OK);
    fresh.base = app.base.clone();
    let response = fresh.get("/admin/employees").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
}
