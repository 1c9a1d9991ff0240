//! API keys in the admin console: created (and shown once), re-roled and revoked through the
//! same service as the JSON API, audited under the signed-in key; refused input changes
//! nothing; an auditor sees the keys and changes none.

use reqwest::StatusCode;
use serde_json::Value;

use crate::support::{ADMIN_KEY, Backend, TestApp, audit_page, on_both_backends, spawn_app, text};

on_both_backends!(
    an_admin_creates_re_roles_and_revokes_a_key_in_the_console,
    a_refused_key_form_creates_nothing,
    an_auditor_sees_the_keys_and_changes_none,
    revoking_the_key_signed_in_with_signs_out,
);

/// The stored keys, as the JSON API lists them.
async fn keys(app: &TestApp) -> Vec<Value> {
    let page: Value = app
        .admin_get("/admin/v1/api-keys")
        .await
        .json()
        .await
        .unwrap();
    page["items"].as_array().unwrap().clone()
}

fn key_named<'a>(keys: &'a [Value], name: &str) -> &'a Value {
    keys.iter().find(|key| key["name"] == name).unwrap()
}

/// The new key on the page that answered the creation form.
fn shown_key(html: &str) -> String {
    let start = html
        .find(r#"value="sesame_"#)
        .expect("the new key on the page")
        + 7;
    html[start..].split('"').next().unwrap().to_owned()
}

async fn an_admin_creates_re_roles_and_revokes_a_key_in_the_console(backend: Backend) {
    let app = spawn_app(backend).await;
    let console = app.console(ADMIN_KEY).await;
    let response = console
        .post(
            "/admin/api-keys",
            &[("name", "gateway"), ("role", "introspect")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let html = response.text().await.unwrap();
    let key = shown_key(&html);
    assert!(html.contains("cannot show it again"), "{html}");

    // The key works at once, with its role, and the list never shows it again.
    let tokens = app.login("+447700900501").await;
    let (status, body) = app
        .introspect_with(&key, text(&tokens, "access_token"))
        .await;
    assert_eq!(
        (status, body["active"].clone()),
        (StatusCode::OK, Value::Bool(true))
    );
    let (status, list) = console.page("/admin/api-keys").await;
    assert_eq!(status, StatusCode::OK);
    assert!(list.contains("gateway") && !list.contains(&key), "{list}");
    let id = text(key_named(&keys(&app).await, "gateway"), "id").to_owned();

    // Re-roled to auditor: the key no longer introspects.
    let response = console
        .post(
            &format!("/admin/api-keys/{id}/role"),
            &[("role", "auditor")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()["location"], "/admin/api-keys?done=role");
    assert_eq!(key_named(&keys(&app).await, "gateway")["role"], "auditor");
    let (status, _) = app
        .introspect_with(&key, text(&tokens, "access_token"))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // Revoked after its confirmation page: the key is refused.
    let (status, confirm) = console.page(&format!("/admin/api-keys/{id}/revoke")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        confirm.contains("Revoke the key <strong>gateway</strong>"),
        "{confirm}"
    );
    assert!(
        !confirm.contains("You are signed in with this key"),
        "{confirm}"
    );
    let response = console
        .post(&format!("/admin/api-keys/{id}/revoke"), &[])
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        response.headers()["location"],
        "/admin/api-keys?done=revoked"
    );
    assert!(!key_named(&keys(&app).await, "gateway")["revoked_at"].is_null());
    let (status, _) = app
        .introspect_with(&key, text(&tokens, "access_token"))
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // A revoked key has no confirmation page, and no role to change.
    let (status, _) = console.page(&format!("/admin/api-keys/{id}/revoke")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let response = console
        .post(&format!("/admin/api-keys/{id}/role"), &[("role", "admin")])
        .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);

    let actions: Vec<(String, String)> = audit_page(&app, "actor=api-key:bootstrap")
        .await
        .iter()
        .filter(|event| event["subject"] == id.as_str())
        .map(|event| {
            (
                text(event, "action").to_owned(),
                event["detail"].to_string(),
            )
        })
        .collect();
    assert_eq!(
        actions,
        [
            ("api_key.revoked".to_owned(), "null".to_owned()),
            (
                "api_key.role_changed".into(),
                r#"{"role":"auditor"}"#.into()
            ),
            ("api_key.created".into(), "null".into()),
        ]
    );
}

async fn a_refused_key_form_creates_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    let console = app.console(ADMIN_KEY).await;
    let long_name = "n".repeat(101);
    let refused = [
        vec![("name", "  "), ("role", "admin")],
        vec![("name", long_name.as_str()), ("role", "admin")],
        vec![("name", "ops"), ("role", "superuser")],
        vec![("name", "ops")],
    ];
    for fields in refused {
        let response = console.post("/admin/api-keys", &fields).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{fields:?}");
        let html = response.text().await.unwrap();
        assert!(html.contains(r#"role="alert""#), "{html}");
        assert!(!html.contains("sesame_"), "{html}");
    }
    assert!(keys(&app).await.is_empty());

    let id = text(&app.create_api_key("ops", "admin").await, "id").to_owned();
    let response = console
        .post(&format!("/admin/api-keys/{id}/role"), &[("role", "root")])
        .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(key_named(&keys(&app).await, "ops")["role"], "admin");
    let response = console
        .post("/admin/api-keys/no-such-key/role", &[("role", "admin")])
        .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}

async fn an_auditor_sees_the_keys_and_changes_none(backend: Backend) {
    let app = spawn_app(backend).await;
    let target = app.create_api_key("gateway", "introspect").await;
    let id = text(&target, "id");
    let auditor = app.create_api_key("auditor-dan", "auditor").await;
    let console = app.console(text(&auditor, "key")).await;
    let (status, html) = console.page("/admin/api-keys").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("gateway") && html.contains("auditor-dan"),
        "{html}"
    );
    assert!(
        !html.contains("<form") || !html.contains("Create key"),
        "{html}"
    );
    assert!(
        !html.contains("/role\"") && !html.contains("Revoke…"),
        "{html}"
    );

    let posts = [
        (
            "/admin/api-keys".to_owned(),
            vec![("name", "mine"), ("role", "admin")],
        ),
        (
            format!("/admin/api-keys/{id}/role"),
            vec![("role", "admin")],
        ),
        (format!("/admin/api-keys/{id}/revoke"), vec![]),
    ];
    for (path, fields) in posts {
        let response = console.post(&path, &fields).await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{path}");
    }
    let (status, _) = console.page(&format!("/admin/api-keys/{id}/revoke")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let stored = keys(&app).await;
    assert_eq!(stored.len(), 2);
    let gateway = key_named(&stored, "gateway");
    assert_eq!(
        (&gateway["role"], gateway["revoked_at"].is_null()),
        (&Value::from("introspect"), true)
    );
}

async fn revoking_the_key_signed_in_with_signs_out(backend: Backend) {
    let app = spawn_app(backend).await;
    let created = app.create_api_key("ops-erin", "admin").await;
    let id = text(&created, "id");
    let console = app.console(text(&created, "key")).await;
    let (_, confirm) = console.page(&format!("/admin/api-keys/{id}/revoke")).await;
    assert!(
        confirm.contains("You are signed in with this key"),
        "{confirm}"
    );
    let response = console
        .post(&format!("/admin/api-keys/{id}/revoke"), &[])
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let response = console.get("/admin/api-keys").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()["location"], "/admin/sign-in");
}
