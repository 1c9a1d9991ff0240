//! `/demo`: the login page built from clients/typescript/demo, served with a strict CSP in
//! development and absent in production unless `SESAME_DEMO=true`.

use reqwest::StatusCode;

use crate::support::{Backend, assert_error, spawn_app, spawn_app_with, spawn_node_with};

const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; \
    img-src 'self' data:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

#[tokio::test]
async fn the_demo_page_is_served_in_development_with_a_strict_csp() {
    let app = spawn_app(Backend::Embedded).await;
    let page = app.client.get(app.url("/demo")).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert_eq!(page.headers()["content-security-policy"], CSP);
    assert!(
        page.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let html = page.text().await.unwrap();
    // Everything the page loads comes from /demo; nothing inline that the CSP would block.
    assert!(html.contains("src=\"/demo/demo.js\""), "{html}");
    assert!(html.contains("href=\"/demo/demo.css\""), "{html}");
    assert!(
        !html.contains("<script>") && !html.contains("style="),
        "{html}"
    );
    assert!(
        !html.contains("//cdn") && !html.contains("https://"),
        "{html}"
    );

    for (path, content_type) in [
        ("/demo/demo.js", "text/javascript"),
        ("/demo/demo.css", "text/css"),
    ] {
        let response = app.client.get(app.url(path)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        let served = response.headers()["content-type"].to_str().unwrap();
        assert!(served.starts_with(content_type), "{path}: {served}");
        assert!(!response.bytes().await.unwrap().is_empty(), "{path}");
    }
}

#[tokio::test]
async fn sesame_demo_false_turns_the_page_off() {
    let app = spawn_app_with(Backend::Embedded, &[("SESAME_DEMO", "false")]).await;
    for path in ["/demo", "/demo/demo.js"] {
        let response = app.client.get(app.url(path)).send().await.unwrap();
        assert_error(response, StatusCode::NOT_FOUND, "not_found").await;
    }
    // The OpenAPI document lists only what is served.
    let document = app.get_json("/openapi.json").await;
    assert!(document["paths"].get("/demo").is_none());
}

/// A node in production mode (on Postgres and Redis, with the keys the first node generated)
/// serves the demo only when asked to.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn production_serves_the_demo_only_when_asked() {
    let app = spawn_app(Backend::Production).await;
    let production = [
        ("SESAME_ENV", "production"),
        ("SESAME_ISSUER", "https://login.example.com"),
        ("SESAME_OTP_SECRET", "an-otp-secret-shared-by-every-node"),
        ("SESAME_SMS_WEBHOOK_SECRET", "a-webhook-secret"),
    ];
    for (demo, expected) in [("", StatusCode::NOT_FOUND), ("true", StatusCode::OK)] {
        let mut vars = production.to_vec();
        vars.push(("SESAME_DEMO", demo));
        let node = spawn_node_with(&app, &vars).await;
        let response = node.client.get(node.url("/demo")).send().await.unwrap();
        assert_eq!(response.status(), expected, "SESAME_DEMO={demo:?}");
    }
}
