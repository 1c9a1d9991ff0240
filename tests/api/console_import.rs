//! The console's import: bad rows reported inline, a preview that changes nothing, then the
//! import itself, through the JSON API's own service.

use reqwest::StatusCode;
use serde_json::Value;

use crate::support::{ADMIN_KEY, Backend, ConsoleBrowser, on_both_backends, spawn_app};

on_both_backends!(a_preview_shows_what_would_change_and_applying_changes_it);

const STORED: &str = "external_id,phone_number,name\n\
    E-1,+447700900101,Ada\n\
    E-2,+447700900102,Bob\n\
    E-3,+447700900103,Cy\n";

/// The upload form as a browser sends it: `multipart/form-data` with the file.
async fn upload(console: &ConsoleBrowser, mode: &str, file: &str) -> (StatusCode, String) {
    const BOUNDARY: &str = "----console-test-boundary";
    let field = |name: &str, value: &str| {
        format!(
            "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
        )
    };
    let body = format!(
        "{}{}--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"staff.csv\"\r\n\
         Content-Type: text/csv\r\n\r\n{file}\r\n{}--{BOUNDARY}--\r\n",
        field("csrf", &console.csrf),
        field("mode", mode),
        field("text", ""),
    );
    let response = console
        .http
        .post(format!("{}/admin/import/preview", console.base))
        .header("cookie", &console.cookie)
        .header(
            "content-type",
            format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .body(body)
        .send()
        .await
        .unwrap();
    (response.status(), response.text().await.unwrap())
}

/// The value of the hidden `content` field of the preview's Apply form, unescaped.
fn hidden_content(html: &str) -> String {
    let start = html.find(r#"name="content" value=""#).unwrap() + 22;
    html[start..]
        .split('"')
        .next()
        .unwrap()
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

async fn a_preview_shows_what_would_change_and_applying_changes_it(backend: Backend) {
    let app = spawn_app(backend).await;
    app.import_csv("merge", STORED).await;
    let console = app.console(ADMIN_KEY).await;

    let bad = "external_id,phone_number,name\nE-1,+447700900101,Ada Byron\nE-4,12,Di\n";
    let (status, html) = upload(&console, "sync", bad).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("1 row(s) are invalid"), "{html}");
    assert!(
        html.contains("<td>3</td><td>phone_number is not a valid phone number</td>"),
        "{html}"
    );
    // The report keeps the text to fix, and the mode.
    assert!(html.contains("E-4,12,Di"), "{html}");
    assert!(html.contains(r#"value="sync" checked"#), "{html}");

    let good = "external_id,phone_number,name\nE-1,+447700900101,Ada Byron\nE-2,+447700900102,Bob\nE-4,+44 7700 900104,Di\n";
    let (status, html) = upload(&console, "sync", good).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(
        html.contains("<td>1</td><td>1</td><td>1</td><td>1</td>"),
        "created, updated, disabled, unchanged: {html}"
    );
    assert!(html.contains("Created (1)</h2><ul><li>E-4</li>"), "{html}");
    assert!(html.contains("Updated (1)</h2><ul><li>E-1</li>"), "{html}");
    assert!(html.contains("Disabled (1)</h2><ul><li>E-3</li>"), "{html}");
    // Nothing changed yet.
    let employees = app.all_employees().await;
    assert_eq!(employees.len(), 3);
    assert!(employees.iter().all(|employee| employee["active"] == true));

    let content = hidden_content(&html);
    assert_eq!(content, good);
    let response = console
        .post(
            "/admin/import/apply",
            &[("mode", "sync"), ("format", "csv"), ("content", &content)],
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let html = response.text().await.unwrap();
    assert!(html.contains("Imported (sync)"), "{html}");
    let employees = app.all_employees().await;
    let by_id = |id: &str| -> Value {
        employees
            .iter()
            .find(|employee| employee["external_id"] == id)
            .unwrap()
            .clone()
    };
    assert_eq!(by_id("E-1")["name"], "Ada Byron");
    assert_eq!(by_id("E-3")["active"], false);
    assert_eq!(by_id("E-4")["phone_number"], "+447700900104");

    let log: Value = app
        .admin_get("/admin/v1/audit?action=employees.imported")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(log["items"][0]["actor"], "api-key:bootstrap");
    assert_eq!(log["items"][0]["detail"]["mode"], "sync");
    // Previews are reads: neither they nor the refused upload wrote an event.
    let log: Value = app
        .admin_get("/admin/v1/audit?action=employees.import_rejected")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(log["items"].as_array().unwrap().len(), 0);
}
