//! The admin console's pages: CSRF, the auditor role, escaping, headers, audit and
//! revocation through the same services as the JSON API.

use reqwest::StatusCode;
use serde_json::json;

use crate::support::{
    ADMIN_KEY, Backend, CONSOLE_CSP, ConsoleBrowser, FIXED_NUMBERS, TestApp, audit_page, claim,
    on_both_backends, spawn_app_with_fixed_numbers, text,
};

on_both_backends!(
    posts_without_this_sessions_csrf_token_change_nothing,
    an_auditor_sees_no_revoke_button_and_a_forged_post_is_forbidden,
    an_employee_name_with_markup_is_escaped,
    every_page_sends_a_strict_content_security_policy,
    console_actions_are_audited_with_the_keys_name,
    revoking_one_session_leaves_the_other_active,
    a_number_spelt_differently_finds_its_identity_and_employee,
);

async fn employee_count(app: &TestApp) -> usize {
    app.all_employees().await.len()
}

async fn posts_without_this_sessions_csrf_token_change_nothing(backend: Backend) {
    let app = spawn_app_with_fixed_numbers(backend, &[]).await;
    let console = app.console(ADMIN_KEY).await;
    let fields = [
        ("external_id", "E-77"),
        ("name", "Grace Hopper"),
        ("phone_number", "+44 7700 900177"),
        ("active", "true"),
    ];
    let response = console.post_raw("/admin/employees", &fields).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(response.headers()["content-security-policy"], CONSOLE_CSP);
    let html = response.text().await.unwrap();
    assert!(html.contains("nothing was changed"), "{html}");
    let mut forged = vec![("csrf", "forged-token")];
    forged.extend_from_slice(&fields);
    let response = console.post_raw("/admin/employees", &forged).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    // Another session's token is not this one's.
    let other = app.console(ADMIN_KEY).await;
    let mut borrowed = vec![("csrf", other.csrf.as_str())];
    borrowed.extend_from_slice(&fields);
    assert_eq!(
        console
            .post_raw("/admin/employees", &borrowed)
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(employee_count(&app).await, 0);

    let tokens = app.login_fixed(FIXED_NUMBERS[0]).await;
    let sub = claim(text(&tokens, "access_token"), "sub");
    let sid = claim(text(&tokens, "access_token"), "sid");
    let revoke = format!("/admin/people/{sub}/sessions/{sid}/revoke");
    assert_eq!(
        console.post_raw(&revoke, &[]).await.status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.introspect(text(&tokens, "access_token")).await["active"],
        true
    );

    let response = console.post("/admin/employees", &fields).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        response.headers()["location"],
        "/admin/employees/E-77?done=created"
    );
    assert_eq!(employee_count(&app).await, 1);
}

async fn an_auditor_sees_no_revoke_button_and_a_forged_post_is_forbidden(backend: Backend) {
    let app = spawn_app_with_fixed_numbers(backend, &[]).await;
    let auditor_key = app.create_api_key("auditor-carol", "auditor").await["key"]
        .as_str()
        .unwrap()
        .to_owned();
    let tokens = app.login_fixed(FIXED_NUMBERS[0]).await;
    let sub = claim(text(&tokens, "access_token"), "sub");
    let sid = claim(text(&tokens, "access_token"), "sid");

    let auditor = app.console(&auditor_key).await;
    let (status, html) = auditor.page(&format!("/admin/people/{sub}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("live"),
        "the auditor sees the session: {html}"
    );
    assert!(!html.contains("Revoke"), "{html}");
    let (status, _) = auditor.page(&format!("/admin/people/{sub}/revoke")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // A forged POST, even with the auditor's own valid token, is refused and revokes nothing.
    let response = auditor
        .post(&format!("/admin/people/{sub}/sessions/{sid}/revoke"), &[])
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(response.text().await.unwrap().contains("read-only"));
    assert_eq!(
        auditor
            .post(&format!("/admin/people/{sub}/revoke"), &[])
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    let create = [
        ("external_id", "E-9"),
        ("name", "Nope"),
        ("phone_number", "+447700900199"),
    ];
    assert_eq!(
        auditor.post("/admin/employees", &create).await.status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.introspect(text(&tokens, "access_token")).await["active"],
        true
    );
    assert_eq!(employee_count(&app).await, 0);
    // It reads everything else, and signs out.
    for page in [
        "/admin/overview",
        "/admin/employees",
        "/admin/audit",
        "/admin/import",
    ] {
        assert_eq!(auditor.page(page).await.0, StatusCode::OK, "{page}");
    }
    // The JSON admin API and introspection refuse an auditor key.
    let response = app.get_bearer("/admin/v1/employees", &auditor_key).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let (status, _) = app
        .introspect_with(&auditor_key, text(&tokens, "access_token"))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(
        auditor.post("/admin/sign-out", &[]).await.status(),
        StatusCode::SEE_OTHER
    );
}

const XSS_NAME: &str = "<script>alert(1)</script><img src=x onerror=alert(1)>";

async fn an_employee_name_with_markup_is_escaped(backend: Backend) {
    let app = spawn_app_with_fixed_numbers(backend, &[]).await;
    let body = json!({"phone_number": "+447700900150", "name": XSS_NAME, "email": "\"><b>x</b>@example.com"});
    assert_eq!(
        app.put_employee("E-<1>", &body).await.status(),
        StatusCode::CREATED
    );
    let console = app.console(ADMIN_KEY).await;
    let pages = [
        "/admin/employees".to_owned(),
        "/admin/employees/E-%3C1%3E".to_owned(),
        "/admin/people?q=script".to_owned(),
    ];
    for path in pages {
        let (status, html) = console.page(&path).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert!(
            html.contains(
                "&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;"
            ),
            "{path}: {html}"
        );
        assert!(
            !html.contains("<script") && !html.contains("<img") && !html.contains("<b>"),
            "{path}: {html}"
        );
    }
    // The audit log names the employee by external id, escaped too.
    let (_, html) = console.page("/admin/audit").await;
    assert!(
        html.contains("E-&lt;1&gt;") && !html.contains("E-<1>"),
        "{html}"
    );
}

async fn every_page_sends_a_strict_content_security_policy(backend: Backend) {
    let app = spawn_app_with_fixed_numbers(backend, &[]).await;
    app.put_employee(
        "E-1",
        &json!({"phone_number": "+447700900150", "name": "Ada"}),
    )
    .await;
    let tokens = app.login_fixed(FIXED_NUMBERS[0]).await;
    let sub = claim(text(&tokens, "access_token"), "sub");
    let sid = claim(text(&tokens, "access_token"), "sid");
    let key = app.create_api_key("feed", "introspect").await;
    let key_id = text(&key, "id");
    let console = app.console(ADMIN_KEY).await;
    let pages = [
        "/admin/sign-in".to_owned(),
        "/admin/overview".into(),
        "/admin/people?q=%2B447700900001".into(),
        format!("/admin/people/{sub}"),
        format!("/admin/people/{sub}/revoke"),
        format!("/admin/people/{sub}/sessions/{sid}/revoke"),
        "/admin/employees".into(),
        "/admin/employees/new".into(),
        "/admin/employees/E-1".into(),
        "/admin/employees/E-1/disable".into(),
        "/admin/import".into(),
        "/admin/api-keys".into(),
        format!("/admin/api-keys/{key_id}/revoke"),
        "/admin/audit?action=login.succeeded".into(),
        "/admin/employees/no-such-id".into(),
    ];
    for path in pages {
        let response = console.get(&path).await;
        let expected = if path.ends_with("no-such-id") {
            StatusCode::NOT_FOUND
        } else {
            StatusCode::OK
        };
        assert_eq!(response.status(), expected, "{path}");
        let headers = response.headers();
        assert_eq!(headers["content-security-policy"], CONSOLE_CSP, "{path}");
        assert_eq!(
            headers["content-type"], "text/html; charset=utf-8",
            "{path}"
        );
        assert_eq!(headers["cache-control"], "no-store", "{path}");
        assert_eq!(headers["x-frame-options"], "DENY", "{path}");
        assert_eq!(headers["referrer-policy"], "no-referrer", "{path}");
        let html = response.text().await.unwrap();
        assert!(
            !html.contains("<script") && !html.contains(" style="),
            "{path}"
        );
    }
    let (_, html) = console.page("/admin/overview").await;
    let start = html.find("/admin/console.css?v=").unwrap();
    let href = html[start..].split('"').next().unwrap();
    let response = console.get(href).await;
    assert_eq!(
        response.headers()["content-type"],
        "text/css; charset=utf-8"
    );
    assert_eq!(
        response.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
}

async fn console_actions_are_audited_with_the_keys_name(backend: Backend) {
    let app = spawn_app_with_fixed_numbers(backend, &[]).await;
    let key = app.create_api_key("ops-alice", "admin").await["key"]
        .as_str()
        .unwrap()
        .to_owned();
    let tokens = app.login_fixed(FIXED_NUMBERS[1]).await;
    let sub = claim(text(&tokens, "access_token"), "sub");
    let console = app.console(&key).await;
    let create = [
        ("external_id", "E-5"),
        ("name", "Alan Turing"),
        ("phone_number", "+447700900155"),
        ("active", "true"),
    ];
    assert_eq!(
        console.post("/admin/employees", &create).await.status(),
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        console
            .post("/admin/employees/E-5/disable", &[])
            .await
            .status(),
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        console
            .post(&format!("/admin/people/{sub}/revoke"), &[])
            .await
            .status(),
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        console.post("/admin/sign-out", &[]).await.status(),
        StatusCode::SEE_OTHER
    );

    let actions: Vec<String> = audit_page(&app, "actor=api-key:ops-alice")
        .await
        .iter()
        .map(|item| item["action"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        actions,
        [
            "console.signed_out",
            "identity.revoked",
            "employee.disabled",
            "employee.upserted",
            "console.signed_in"
        ]
    );
    // The console's audit page filters the same way.
    let console = app.console(ADMIN_KEY).await;
    let (_, html) = console
        .page("/admin/audit?actor=api-key%3Aops-alice&action=employee.disabled")
        .await;
    assert_eq!(
        html.matches("<td>employee.disabled</td>").count(),
        1,
        "{html}"
    );
    assert!(!html.contains("<td>employee.upserted</td>"));
    let (status, html) = console.page("/admin/audit?since=yesterday").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(html.contains("From must be a date and time"), "{html}");
}

async fn revoking_one_session_leaves_the_other_active(backend: Backend) {
    let app = spawn_app_with_fixed_numbers(backend, &[]).await;
    let first = app.login_fixed(FIXED_NUMBERS[2]).await;
    let second = app.login_fixed(FIXED_NUMBERS[2]).await;
    let sub = claim(text(&first, "access_token"), "sub");
    let sid = claim(text(&first, "access_token"), "sid");
    let console = app.console(ADMIN_KEY).await;
    let (_, html) = console
        .page(&format!("/admin/people/{sub}/sessions/{sid}/revoke"))
        .await;
    assert!(
        html.contains("its access and refresh tokens stop working at once"),
        "{html}"
    );
    let response = console
        .post(&format!("/admin/people/{sub}/sessions/{sid}/revoke"), &[])
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        app.introspect(text(&first, "access_token")).await["active"],
        false
    );
    assert_eq!(
        app.introspect(text(&first, "refresh_token")).await["active"],
        false
    );
    assert_eq!(
        app.introspect(text(&second, "access_token")).await["active"],
        true
    );
    let (_, html) = console
        .page(&format!("/admin/people/{sub}?done=session"))
        .await;
    assert!(
        html.contains("revoked") && html.contains("(admin)"),
        "{html}"
    );
    assert_eq!(
        html.matches(">Revoke…<").count(),
        1,
        "only the live session: {html}"
    );
}

async fn a_number_spelt_differently_finds_its_identity_and_employee(backend: Backend) {
    let app = spawn_app_with_fixed_numbers(backend, &[]).await;
    app.put_employee(
        "E-42",
        &json!({"phone_number": "+447700900142", "name": "Ada Lovelace"}),
    )
    .await;
    let tokens = app.login_fixed(FIXED_NUMBERS[0]).await;
    let sub = claim(text(&tokens, "access_token"), "sub");
    let console: ConsoleBrowser = app.console(ADMIN_KEY).await;
    let (_, html) = console
        .page("/admin/people?q=%2B44%20%287700%29%20900-001")
        .await;
    assert!(html.contains(&format!("/admin/people/{sub}")), "{html}");
    let (_, html) = console.page("/admin/people?q=%2B44-7700-900%20142").await;
    assert!(
        html.contains("Ada Lovelace") && html.contains("E-42"),
        "{html}"
    );
    let (_, html) = console.page("/admin/people?q=lovelace").await;
    assert!(html.contains("Ada Lovelace"), "{html}");
    let (_, html) = console.page("/admin/people?q=nobody").await;
    assert!(html.contains("No phone identity matches") && html.contains("No employee matches"));
}
