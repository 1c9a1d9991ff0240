//! Helpers for the `sesame-verify` tests: Sesame served at its own issuer URL, and a small
//! downstream API that uses the verifier.

use std::future::Future;
use std::time::{Duration, Instant};

use axum::routing::get;
use axum::{Json, Router};
use reqwest::StatusCode;
use serde_json::{Value, json};
use sesame_verify::{Claims, Verifier, require_introspection, require_permission};

use super::{
    Backend, Proxy, Serving, TestApp, feed_page, fixed_numbers_var, spawn_app_with, spawn_stoppable,
};

/// How often the verifier polls the revocation feed in these tests.
pub const POLL: Duration = Duration::from_millis(200);
/// One poll interval, plus what one poll and the scheduling of a busy shared machine may take.
pub const ONE_POLL: Duration = Duration::from_millis(700);

/// The variables of a Sesame whose issuer is the URL it listens at (the verifier fetches keys
/// from the issuer and compares it with `iss`), with the fixed numbers, a one-second feed lag
/// and a one-second key reload, plus `extra`.
fn own_issuer(extra: &[(&str, &str)]) -> Vec<(String, String)> {
    // A free port, picked here: the issuer must name it before the server starts.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    drop(listener);
    issued_at(&address.to_string(), &format!("http://{address}"), extra)
}

/// Like `own_issuer`, listening at `listen` with the issuer `issuer`.
fn issued_at(listen: &str, issuer: &str, extra: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut vars: Vec<(String, String)> = [
        ("SESAME_LISTEN", listen.to_owned()),
        ("SESAME_METRICS_LISTEN", "127.0.0.1:0".to_owned()),
        ("SESAME_ISSUER", issuer.to_owned()),
        ("SESAME_TEST_NUMBERS", fixed_numbers_var()),
        ("SESAME_REVOCATION_FEED_LAG", "1".to_owned()),
        ("SESAME_KEYS_RELOAD_INTERVAL", "1".to_owned()),
    ]
    .into_iter()
    .map(|(name, value)| (name.to_owned(), value))
    .collect();
    vars.extend(
        extra
            .iter()
            .map(|(name, value)| ((*name).to_owned(), (*value).to_owned())),
    );
    vars
}

fn borrowed(vars: &[(String, String)]) -> Vec<(&str, &str)> {
    vars.iter()
        .map(|(name, value)| (name.as_str(), value.as_str()))
        .collect()
}

/// Sesame on the embedded default, served at its issuer URL (`app.base`).
pub async fn sesame(extra: &[(&str, &str)]) -> TestApp {
    let vars = own_issuer(extra);
    spawn_app_with(Backend::Embedded, &borrowed(&vars)).await
}

/// Sesame on `backend` behind `proxy`: its issuer is the proxy's URL, which a verifier
/// follows; `app.base` reaches Sesame directly.
pub async fn sesame_behind(proxy: &Proxy, backend: Backend) -> TestApp {
    let vars = issued_at("127.0.0.1:0", &format!("http://{}", proxy.address), &[]);
    let app = spawn_app_with(backend, &borrowed(&vars)).await;
    proxy.forward_to(&app.base);
    app
}

/// Like `sesame`, for a server the test stops (see `spawn_stoppable`).
pub async fn stoppable_sesame() -> (TestApp, tokio::sync::oneshot::Sender<()>, Serving) {
    let vars = own_issuer(&[]);
    spawn_stoppable(Backend::Embedded, &borrowed(&vars)).await
}

async fn public(claims: Option<Claims>) -> Json<Value> {
    Json(json!({ "hello": "world", "sub": claims.map(|claims| claims.sub) }))
}

async fn orders(claims: Claims) -> Json<Value> {
    Json(json!({ "kind": claims.kind, "user_id": claims.user_id }))
}

async fn payroll(claims: Claims) -> Json<Value> {
    Json(json!({ "for": claims.sub }))
}

/// A downstream API on a random port: `/public` for anyone, `/orders` for employees,
/// `/payroll` checked with Sesame on every request. Returns its URL.
pub async fn serve_downstream(verifier: &Verifier) -> String {
    let app = Router::new()
        .route("/public", get(public))
        .route(
            "/orders",
            get(orders).layer(require_permission("employee", "full")),
        )
        .route("/payroll", get(payroll).layer(require_introspection()))
        .layer(verifier.layer());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{address}")
}

/// `GET api + path` with an optional bearer token: status, `WWW-Authenticate`, JSON body.
pub async fn call(
    api: &str,
    path: &str,
    token: Option<&str>,
) -> (StatusCode, Option<String>, Value) {
    let mut request = reqwest::Client::new().get(format!("{api}{path}"));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    let challenge = response
        .headers()
        .get("www-authenticate")
        .map(|value| value.to_str().unwrap().to_owned());
    (response.status(), challenge, response.json().await.unwrap())
}

/// Checks `condition` every 20 ms until it holds and returns how long that took; panics
/// naming `what` when it still does not hold after `limit`.
pub async fn within<F, Fut>(limit: Duration, what: &str, mut condition: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let start = Instant::now();
    loop {
        if condition().await {
            return start.elapsed();
        }
        assert!(start.elapsed() < limit, "{what}: not within {limit:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Whether the revocation feed lists the session `sid` (`jti: None`) or its token `jti`.
pub async fn feed_lists(app: &TestApp, key: &str, sid: &str, jti: Option<&str>) -> bool {
    let page = feed_page(app, key, "?limit=1000").await;
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|item| item["sid"] == sid && item.get("jti").and_then(Value::as_str) == jti)
}

/// A verifier following the app's revocation feed with `key`, every `POLL`.
pub async fn following_the_feed(app: &TestApp, key: &str) -> Verifier {
    Verifier::builder(&app.base)
        .revocations(key)
        .poll_interval(POLL)
        .build()
        .await
        .unwrap()
}
