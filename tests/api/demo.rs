//! `/demo`: the login page built from clients/typescript/demo, served with a strict CSP in
//! development and absent in production unless `SESAME_DEMO=true`.

use std::collections::HashMap;
use std::sync::Arc;

use reqwest::StatusCode;

use crate::helpers::{Backend, assert_error, spawn_app, spawn_app_with};

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

/// Production needs Postgres, Redis, keys and an https issuer to start; the decision is the
/// configuration's, so this serves the router of a running development state under the
/// configuration production variables give.
#[tokio::test]
async fn production_serves_the_demo_only_when_asked() {
    let app = spawn_app(Backend::Embedded).await;
    for (demo, expected) in [
        (None, StatusCode::NOT_FOUND),
        (Some("true"), StatusCode::OK),
    ] {
        let mut vars: HashMap<String, String> = app.vars.clone();
        vars.insert("SESAME_ENV".into(), "production".into());
        if let Some(demo) = demo {
            vars.insert("SESAME_DEMO".into(), demo.into());
        }
        let production = sesame::Config::from_vars(&vars).unwrap();
        let development = sesame::Config::from_vars(&app.vars).unwrap();
        let mut state = sesame::AppState::build(development).await.unwrap();
        state.config = Arc::new(production);
        let router = sesame::api::router(state);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        let response = app
            .client
            .get(format!("http://{address}/demo"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), expected, "SESAME_DEMO={demo:?}");
    }
}
