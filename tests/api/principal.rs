//! A session belongs to the person who proved the code: its principal (`sub`, `kind`,
//! `user_id`) is fixed at login, a change of who holds a number ends the previous holder's
//! sessions at once, and sessions end at their absolute lifetime.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::join_all;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{
    ADMIN_KEY, Backend, TestApp, assert_error, claims_of, on_both_backends, read_feed, sesame_cli,
    spawn_app_with, text,
};

on_both_backends!(
    a_session_never_passes_to_the_next_holder_of_its_number,
    an_anonymous_session_is_never_upgraded_without_a_new_code,
    disabling_after_a_number_change_leaves_no_session_alive,
    a_merge_import_that_swaps_numbers_ends_both_sessions,
    a_sync_import_ends_leavers_and_gives_their_number_to_a_new_hire,
    the_cli_import_ends_sessions_like_the_api,
    a_refresh_racing_a_reassignment_never_speaks_for_the_new_holder,
);

const N1: &str = "+447700900111";
const N2: &str = "+447700900222";
const N3: &str = "+447700900333";

/// The app with a feed that trails the clock by one second (tests move the clock past it).
async fn spawn(backend: Backend) -> TestApp {
    spawn_app_with(backend, &[("SESAME_REVOCATION_FEED_LAG", "1")]).await
}

/// Upserts an employee and returns its internal id.
async fn employee(app: &TestApp, external_id: &str, number: &str) -> String {
    let response = app
        .put_employee(
            external_id,
            &json!({"phone_number": number, "name": external_id}),
        )
        .await;
    assert!(response.status().is_success(), "{}", response.status());
    let body: Value = response.json().await.unwrap();
    body["id"].as_str().unwrap().to_owned()
}

/// The session's revocation reason as admins see it (`None` while it is live).
async fn revoked_reason(app: &TestApp, pair: &Value) -> Option<String> {
    let session = app.session_of(pair).await;
    session["revoked_reason"].as_str().map(str::to_owned)
}

/// Asserts that every token of `pair`'s session is dead: the refresh is refused, the access
/// token is inactive and `/v1/me` refuses it.
async fn assert_session_ended(app: &TestApp, pair: &Value) {
    let response = app.refresh(text(pair, "refresh_token")).await;
    assert_error(response, StatusCode::BAD_REQUEST, "invalid_grant").await;
    let access = text(pair, "access_token");
    assert_eq!(app.introspect(access).await, json!({"active": false}));
    assert_eq!(app.me(access).await.status(), StatusCode::UNAUTHORIZED);
}

/// The `session.revoked` audit event of `pair`'s session, and that the feed lists the session.
async fn assert_audited_and_fed(app: &TestApp, pair: &Value, reason: &str) {
    let sid = claims_of(text(pair, "access_token"))["sid"].clone();
    let page: Value = app
        .admin_get("/admin/v1/audit?action=session.revoked&limit=500")
        .await
        .json()
        .await
        .unwrap();
    let event = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|event| event["subject"] == sid)
        .unwrap_or_else(|| panic!("no session.revoked event for {sid} in {page}"))
        .clone();
    assert_eq!(event["detail"]["reason"], reason, "{event}");
    assert_eq!(event["actor"], "api-key:bootstrap", "{event}");
    // The feed trails the clock by a second.
    app.clock.advance(Duration::from_secs(2));
    let (items, _) = read_feed(app, ADMIN_KEY, None, 1_000).await;
    assert!(
        items
            .iter()
            .any(|item| item["sid"] == sid && item.get("jti").is_none()),
        "{sid} is not in the feed"
    );
}

/// The scenario of a number changing hands: E-1's old phone never gets E-2's tokens.
async fn a_session_never_passes_to_the_next_holder_of_its_number(backend: Backend) {
    let app = spawn(backend).await;
    let first = employee(&app, "E-1", N1).await;
    let phone_of_e1 = app.login(N1).await;
    assert_eq!(
        claims_of(text(&phone_of_e1, "access_token"))["user_id"],
        first
    );

    // HR moves E-1 to another number: the sessions on the old one end at once.
    employee(&app, "E-1", N2).await;
    assert_eq!(
        revoked_reason(&app, &phone_of_e1).await.as_deref(),
        Some("employee.number_changed")
    );
    // HR gives the old number to a new hire: the old phone still gets nothing.
    let second = employee(&app, "E-2", N1).await;
    assert_session_ended(&app, &phone_of_e1).await;
    assert_audited_and_fed(&app, &phone_of_e1, "employee.number_changed").await;

    // Each logs in afresh as themselves.
    let e2 = claims_of(text(&app.login(N1).await, "access_token"));
    assert_eq!(
        (e2["user_id"].clone(), e2["kind"].clone()),
        (json!(second), json!("employee"))
    );
    let e1 = claims_of(text(&app.login(N2).await, "access_token"));
    assert_eq!(e1["user_id"], first);
}

/// Provisioning a number ends its anonymous sessions: they never become employee sessions.
async fn an_anonymous_session_is_never_upgraded_without_a_new_code(backend: Backend) {
    let app = spawn(backend).await;
    let anonymous = app.login(N1).await;
    assert_eq!(
        claims_of(text(&anonymous, "access_token"))["kind"],
        "anonymous"
    );

    let id = employee(&app, "E-1", N1).await;
    assert_session_ended(&app, &anonymous).await;
    assert_audited_and_fed(&app, &anonymous, "employee.reassigned").await;

    let fresh = claims_of(text(&app.login(N1).await, "access_token"));
    assert_eq!(
        (fresh["kind"].clone(), fresh["user_id"].clone()),
        (json!("employee"), json!(id))
    );
}

/// A number change followed by a disable leaves nothing of the employee's session alive.
async fn disabling_after_a_number_change_leaves_no_session_alive(backend: Backend) {
    let app = spawn(backend).await;
    employee(&app, "E-1", N1).await;
    let pair = app.login(N1).await;
    employee(&app, "E-1", N2).await;
    let response = app.admin_post("/admin/v1/employees/E-1/disable").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_session_ended(&app, &pair).await;

    // A session opened on the new number ends with the disable.
    employee(&app, "E-2", N3).await;
    let e2 = app.login(N3).await;
    let response = app.admin_post("/admin/v1/employees/E-2/disable").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_session_ended(&app, &e2).await;
    assert_audited_and_fed(&app, &e2, "employee.disabled").await;
}

async fn a_merge_import_that_swaps_numbers_ends_both_sessions(backend: Backend) {
    let app = spawn(backend).await;
    let header = "external_id,phone_number,name\n";
    app.import_csv("merge", &format!("{header}E-1,{N1},Ada\nE-2,{N2},Grace\n"))
        .await;
    let ada = app.login(N1).await;
    let grace = app.login(N2).await;

    let counts = app
        .import_csv("merge", &format!("{header}E-1,{N2},Ada\nE-2,{N1},Grace\n"))
        .await;
    assert_eq!(counts["updated"], 2);
    for pair in [&ada, &grace] {
        assert_session_ended(&app, pair).await;
        assert_eq!(
            revoked_reason(&app, pair).await.as_deref(),
            Some("employee.number_changed")
        );
    }
    let on_n1 = claims_of(text(&app.login(N1).await, "access_token"));
    assert_eq!(
        on_n1["user_id"],
        claims_of(text(&grace, "access_token"))["user_id"]
    );
}

async fn a_sync_import_ends_leavers_and_gives_their_number_to_a_new_hire(backend: Backend) {
    let app = spawn(backend).await;
    let header = "external_id,phone_number,name\n";
    app.import_csv("sync", &format!("{header}E-1,{N1},Ada\nE-2,{N2},Grace\n"))
        .await;
    let ada = app.login(N1).await;
    let grace = app.login(N2).await;

    // Ada leaves; her number goes to a new hire in the same file.
    let counts = app
        .import_csv("sync", &format!("{header}E-2,{N2},Grace\nE-3,{N1},Alan\n"))
        .await;
    assert_eq!(
        (counts["created"].clone(), counts["disabled"].clone()),
        (json!(1), json!(1))
    );
    assert_session_ended(&app, &ada).await;
    assert_audited_and_fed(&app, &ada, "employee.disabled").await;
    // Grace's record did not change: her session lives on.
    assert_eq!(
        app.refresh(text(&grace, "refresh_token")).await.status(),
        StatusCode::OK
    );
    let on_n1 = claims_of(text(&app.login(N1).await, "access_token"));
    assert_ne!(
        on_n1["user_id"],
        claims_of(text(&ada, "access_token"))["user_id"]
    );
}

async fn the_cli_import_ends_sessions_like_the_api(backend: Backend) {
    let app = spawn(backend).await;
    employee(&app, "E-1", N1).await;
    let pair = app.login(N1).await;
    let file = std::env::temp_dir().join(format!("staff-{}.csv", uuid::Uuid::new_v4()));
    std::fs::write(
        &file,
        format!("external_id,phone_number,name\nE-1,{N3},Ada\n"),
    )
    .unwrap();
    let output = sesame_cli(&app, &["employees", "import", file.to_str().unwrap()]);
    assert!(output.status.success(), "{output:?}");
    assert_session_ended(&app, &pair).await;
    assert_eq!(
        revoked_reason(&app, &pair).await.as_deref(),
        Some("employee.number_changed")
    );
}

/// Many refreshes of one session in flight while HR moves the number to someone else: every
/// pair that comes back is E-1's, and none of them outlives the move.
async fn a_refresh_racing_a_reassignment_never_speaks_for_the_new_holder(backend: Backend) {
    let app = Arc::new(spawn(backend).await);
    let first = employee(&app, "E-1", N1).await;
    let pair = app.login(N1).await;
    let latest = Arc::new(Mutex::new(text(&pair, "refresh_token").to_owned()));
    let issued = Arc::new(Mutex::new(Vec::<String>::new()));

    let refreshers = (0..8).map(|_| {
        let (app, latest, issued) = (app.clone(), latest.clone(), issued.clone());
        tokio::spawn(async move {
            // Until the session ends: each refreshes the newest token any of them has seen.
            for _ in 0..2_000 {
                let token = latest.lock().unwrap().clone();
                let response = app.refresh(&token).await;
                if response.status() != StatusCode::OK {
                    assert_error(response, StatusCode::BAD_REQUEST, "invalid_grant").await;
                    return;
                }
                let next: Value = response.json().await.unwrap();
                issued
                    .lock()
                    .unwrap()
                    .push(text(&next, "access_token").to_owned());
                *latest.lock().unwrap() = text(&next, "refresh_token").to_owned();
            }
            panic!("the session outlived the reassignment");
        })
    });
    let reassign = {
        let app = app.clone();
        async move {
            tokio::time::sleep(Duration::from_millis(100)).await;
            employee(&app, "E-1", N2).await;
            employee(&app, "E-2", N1).await
        }
    };
    let (refreshed, second) = tokio::join!(join_all(refreshers), reassign);
    for task in refreshed {
        task.unwrap();
    }

    let issued = issued.lock().unwrap().clone();
    assert!(!issued.is_empty());
    for access in &issued {
        let claims = claims_of(access);
        assert_eq!(
            claims["user_id"], first,
            "a token for someone else: {claims}"
        );
        assert_ne!(claims["user_id"], second);
    }
    for access in issued.iter().rev().take(5) {
        assert_eq!(app.introspect(access).await, json!({"active": false}));
    }
}
