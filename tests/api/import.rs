//! Bulk import: CSV and JSON, all or nothing with every bad line listed, merge and sync (leavers
//! disabled, their tokens dead at once), number swaps, and the CLI.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{
    ADMIN_KEY, Backend, TestApp, assert_error, on_both_backends, sesame_cli, spawn_app,
};

on_both_backends!(
    a_csv_import_creates_updates_disables_and_counts,
    a_json_array_imports_like_csv,
    a_file_with_bad_rows_changes_nothing_and_lists_every_bad_line,
    sync_disables_leavers_and_their_tokens_die_at_once,
    merge_leaves_absent_employees_alone,
    numbers_can_swap_between_employees_in_one_import,
    a_large_file_is_applied_in_batches,
    bodies_and_modes_are_checked,
    the_cli_imports_files_and_reports_bad_lines
);

const HEADER: &str = "external_id,phone_number,name,email,active\n";

fn counts(created: u64, updated: u64, disabled: u64, unchanged: u64) -> Value {
    json!({"created": created, "updated": updated, "disabled": disabled, "unchanged": unchanged})
}

/// `external_id → (phone_number, name, active)` of every employee.
async fn snapshot(app: &TestApp) -> Vec<(String, String, String, bool)> {
    app.all_employees()
        .await
        .iter()
        .map(|e| {
            (
                e["external_id"].as_str().unwrap().to_owned(),
                e["phone_number"].as_str().unwrap().to_owned(),
                e["name"].as_str().unwrap().to_owned(),
                e["active"].as_bool().unwrap(),
            )
        })
        .collect()
}

fn row(id: &str, number: &str, name: &str, active: bool) -> (String, String, String, bool) {
    (id.into(), number.into(), name.into(), active)
}

async fn a_csv_import_creates_updates_disables_and_counts(backend: Backend) {
    let app = spawn_app(backend).await;
    let file = format!(
        "{HEADER}E-1,+44 7700 900201,Ada Lovelace,ada@example.com,true\n\
         E-2,+447700900202,Alan Turing,,\n\
         E-3,+447700900203,Grace Hopper,,yes\n"
    );
    assert_eq!(app.import_csv("merge", &file).await, counts(3, 0, 0, 0));
    assert_eq!(
        snapshot(&app).await,
        [
            row("E-1", "+447700900201", "Ada Lovelace", true),
            row("E-2", "+447700900202", "Alan Turing", true),
            row("E-3", "+447700900203", "Grace Hopper", true),
        ]
    );
    // The same file again changes nothing.
    assert_eq!(app.import_csv("merge", &file).await, counts(0, 0, 0, 3));

    let file = format!(
        "{HEADER}E-1,+447700900201,Ada King,ada@example.com,true\n\
         E-2,+447700900202,Alan Turing,,false\n\
         E-3,+447700900203,Grace Hopper,,true\n\
         E-4,+447700900204,Edsger Dijkstra,,true\n"
    );
    assert_eq!(app.import_csv("merge", &file).await, counts(1, 1, 1, 1));
    assert_eq!(
        snapshot(&app).await,
        [
            row("E-1", "+447700900201", "Ada King", true),
            row("E-2", "+447700900202", "Alan Turing", false),
            row("E-3", "+447700900203", "Grace Hopper", true),
            row("E-4", "+447700900204", "Edsger Dijkstra", true),
        ]
    );
    // `email` and `active` columns are optional, in any order.
    let file = "name,external_id,phone_number\nAda King,E-1,+447700900201\n";
    assert_eq!(app.import_csv("merge", file).await, counts(0, 1, 0, 0));
    let employees = app.all_employees().await;
    assert_eq!(employees[0]["email"], Value::Null);
}

async fn a_json_array_imports_like_csv(backend: Backend) {
    let app = spawn_app(backend).await;
    let body = json!([
        {"external_id": "J-1", "phone_number": "+44 (7700) 900-211", "name": "Barbara Liskov", "email": "bl@example.com"},
        {"external_id": "J-2", "phone_number": "+447700900212", "name": "Frances Allen", "active": false},
        {"external_id": "J-3", "phone_number": "+447700900213", "name": "Radia Perlman", "email": null, "active": "true"},
    ]);
    let response = app
        .import("sync", "application/json", body.to_string())
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.json::<Value>().await.unwrap(), counts(3, 0, 0, 0));
    let employees = app.all_employees().await;
    assert_eq!(employees[0]["phone_number"], "+447700900211");
    assert_eq!(employees[0]["email"], "bl@example.com");
    assert_eq!(employees[1]["active"], false);
    assert_eq!(employees[2]["active"], true);
}

async fn a_file_with_bad_rows_changes_nothing_and_lists_every_bad_line(backend: Backend) {
    let app = spawn_app(backend).await;
    app.import_csv(
        "merge",
        &format!("{HEADER}E-1,+447700900221,Ada Lovelace,,\nE-9,+447700900229,Outsider,,\n"),
    )
    .await;
    let before = snapshot(&app).await;
    let file = format!(
        "{HEADER}E-1,+447700900221,Ada King,,\n\
         E-2,not a number,Alan Turing,,\n\
         E-3,+447700900223,,,\n\
         E-1,+447700900224,Ada Again,,\n\
         E-5,+447700900221,Same Number,,true\n\
         E-6,+447700900226,Bad Active,,maybe\n\
         E-7,+447700900229,Takes E-9's Number,,\n\
         E-8,+447700900228,Fine Row,,\n\
         ,+447700900230,No Id,,\n\
         E-10,+447700900231\n"
    );
    let body = app.import_refused("merge", &file).await;
    let errors = body["errors"].as_array().unwrap();
    let lines: Vec<u64> = errors.iter().map(|e| e["line"].as_u64().unwrap()).collect();
    assert_eq!(lines, [3, 4, 5, 6, 7, 8, 10, 11], "{body}");
    let error = |line: u64| {
        errors.iter().find(|e| e["line"] == line).unwrap()["error"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert!(error(3).contains("phone_number"));
    assert!(error(4).contains("name"));
    assert!(error(5).contains("line 2"));
    assert!(error(6).contains("line 2"));
    assert!(error(7).contains("active"));
    assert!(error(8).contains("E-9"));
    assert!(error(10).contains("external_id"));
    assert!(error(11).contains("fields"));
    // Nothing applied: not the good rows either.
    assert_eq!(snapshot(&app).await, before);

    // JSON: `line` is the element's position.
    let body = json!([
        {"external_id": "E-20", "phone_number": "+447700900240", "name": "Fine"},
        {"external_id": "E-21", "phone_number": "+447700900241"},
        {"external_id": "E-22", "phone_number": "+447700900242", "name": "X", "team": "red"},
    ]);
    let response = app
        .import("merge", "application/json", body.to_string())
        .await;
    let body = assert_error(
        response,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_request",
    )
    .await;
    let lines: Vec<u64> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["line"].as_u64().unwrap())
        .collect();
    assert_eq!(lines, [2, 3], "{body}");
    assert_eq!(snapshot(&app).await, before);
}

async fn sync_disables_leavers_and_their_tokens_die_at_once(backend: Backend) {
    let app = spawn_app(backend).await;
    let (stayer, leaver) = ("+447700900251", "+447700900252");
    app.import_csv(
        "merge",
        &format!("{HEADER}E-1,{stayer},Stays,,\nE-2,{leaver},Leaves,,\nE-3,+447700900253,Gone Before,,false\n"),
    )
    .await;
    let stayer_tokens = app.login(stayer).await;
    let leaver_tokens = app.login(leaver).await;
    let leaver_access = leaver_tokens["access_token"].as_str().unwrap();
    assert_eq!(app.me(leaver_access).await.status(), StatusCode::OK);

    let counted = app
        .import_csv("sync", &format!("{HEADER}E-1,{stayer},Stays,,\n"))
        .await;
    assert_eq!(counted, counts(0, 0, 1, 1));
    assert_eq!(
        app.me(leaver_access).await.status(),
        StatusCode::UNAUTHORIZED
    );
    let stayer_access = stayer_tokens["access_token"].as_str().unwrap();
    assert_eq!(app.me(stayer_access).await.status(), StatusCode::OK);
    assert_eq!(app.login_kind(leaver).await, "anonymous");
    assert_eq!(
        snapshot(&app).await,
        [
            row("E-1", stayer, "Stays", true),
            row("E-2", leaver, "Leaves", false),
            row("E-3", "+447700900253", "Gone Before", false),
        ]
    );
}

async fn merge_leaves_absent_employees_alone(backend: Backend) {
    let app = spawn_app(backend).await;
    let absent = "+447700900262";
    app.import_csv(
        "merge",
        &format!("{HEADER}E-1,+447700900261,Listed,,\nE-2,{absent},Absent,,\n"),
    )
    .await;
    let tokens = app.login(absent).await;
    let counted = app
        .import_csv(
            "merge",
            &format!("{HEADER}E-1,+447700900261,Listed Renamed,,\n"),
        )
        .await;
    assert_eq!(counted, counts(0, 1, 0, 0));
    let access = tokens["access_token"].as_str().unwrap();
    assert_eq!(app.me(access).await.status(), StatusCode::OK);
    assert_eq!(snapshot(&app).await[1], row("E-2", absent, "Absent", true));
}

async fn numbers_can_swap_between_employees_in_one_import(backend: Backend) {
    let app = spawn_app(backend).await;
    let (a, b, c) = ("+447700900271", "+447700900272", "+447700900273");
    app.import_csv(
        "merge",
        &format!("{HEADER}E-1,{a},One,,\nE-2,{b},Two,,\nE-3,{c},Three,,\n"),
    )
    .await;
    // E-1 and E-2 swap; E-3 leaves (sync) and a newcomer takes E-3's number.
    let counted = app
        .import_csv(
            "sync",
            &format!("{HEADER}E-1,{b},One,,\nE-2,{a},Two,,\nE-4,{c},Four,,\n"),
        )
        .await;
    assert_eq!(counted, counts(1, 2, 1, 0));
    assert_eq!(
        snapshot(&app).await,
        [
            row("E-1", b, "One", true),
            row("E-2", a, "Two", true),
            row("E-3", c, "Three", false),
            row("E-4", c, "Four", true),
        ]
    );
    // A rotation of three numbers, and a row disabled while its number moves on (merge).
    let counted = app
        .import_csv(
            "merge",
            &format!(
                "{HEADER}E-1,{c},One,,\nE-2,{b},Two,,\nE-4,{a},Four,,false\nE-3,{a},Three,,true\n"
            ),
        )
        .await;
    assert_eq!(counted, counts(0, 3, 1, 0));
    let tokens = app.login(a).await;
    let me = app.me_of(&tokens).await;
    assert_eq!(me["user"]["external_id"], "E-3");
}

async fn a_large_file_is_applied_in_batches(backend: Backend) {
    let app = spawn_app(backend).await;
    // Over the 64 KiB default body limit, and several statements' worth of rows.
    let mut file = HEADER.to_owned();
    for n in 0..2_000 {
        file.push_str(&format!(
            "L-{n:05},+44 7700 9{n:05},Employee Number {n} With A Long Name,e{n}@example.com,true\n"
        ));
    }
    assert!(file.len() > 64 * 1024);
    assert_eq!(app.import_csv("sync", &file).await, counts(2_000, 0, 0, 0));
    assert_eq!(app.import_csv("sync", &file).await, counts(0, 0, 0, 2_000));
    assert_eq!(app.all_employees().await.len(), 2_000);
}

async fn bodies_and_modes_are_checked(backend: Backend) {
    let app = spawn_app(backend).await;
    let file = format!("{HEADER}E-1,+447700900281,One,,\n");
    for (mode, content_type, body) in [
        ("merge", "text/plain", file.as_str()),
        ("merge", "application/x-www-form-urlencoded", file.as_str()),
        ("replace", "text/csv", file.as_str()),
        ("merge", "application/json", "{\"external_id\": \"E-1\"}"),
        ("merge", "application/json", "[{"),
        // An empty sync would disable everyone: refused.
        ("sync", "text/csv", HEADER),
        ("sync", "application/json", "[]"),
    ] {
        assert_error(
            app.import(mode, content_type, body).await,
            StatusCode::BAD_REQUEST,
            "invalid_request",
        )
        .await;
    }
    // A bad header is a bad line 1.
    let body = app
        .import_refused("merge", "id,number\nE-1,+447700900281\n")
        .await;
    assert_eq!(body["errors"][0]["line"], 1);
    // Merge is the default mode; `text/csv; charset=utf-8` is CSV.
    let response = app
        .client
        .post(app.url("/admin/v1/employees/import"))
        .bearer_auth(ADMIN_KEY)
        .header("content-type", "text/csv; charset=utf-8")
        .body(file)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(app.all_employees().await.len() == 1);
}

async fn the_cli_imports_files_and_reports_bad_lines(backend: Backend) {
    let app = spawn_app(backend).await;
    let folder = std::env::temp_dir().join(format!("sesame-import-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&folder).unwrap();
    let csv = folder.join("staff.csv");
    std::fs::write(
        &csv,
        format!("{HEADER}E-1,+447700900291,One,,\nE-2,+447700900292,Two,,\n"),
    )
    .unwrap();
    let output = sesame_cli(&app, &["employees", "import", csv.to_str().unwrap()]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("created 2"), "{stdout}");

    // JSON, recognised by its content; --sync disables E-2.
    let json = folder.join("staff.export");
    std::fs::write(
        &json,
        r#"[{"external_id": "E-1", "phone_number": "+447700900291", "name": "One"}]"#,
    )
    .unwrap();
    let output = sesame_cli(
        &app,
        &["employees", "import", json.to_str().unwrap(), "--sync"],
    );
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(String::from_utf8_lossy(&output.stdout).contains("disabled 1"));
    assert_eq!(app.all_employees().await[1]["active"], false);

    let bad = folder.join("bad.csv");
    std::fs::write(
        &bad,
        format!("{HEADER}E-3,+447700900293,Three,,\nE-4,12,Four,,\nE-5,+447700900295,,,\n"),
    )
    .unwrap();
    let output = sesame_cli(&app, &["employees", "import", bad.to_str().unwrap()]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("bad.csv:3:"), "{stderr}");
    assert!(stderr.contains("bad.csv:4:"), "{stderr}");
    assert!(!stderr.contains("bad.csv:2:"), "{stderr}");
    assert_eq!(app.all_employees().await.len(), 2);
}
