//! A dependency stops under a running node and comes back: while it is down, every request
//! that needs it fails fast with `503` and `/readyz` says so; once it is back the node serves
//! again at once. These bounds are the behaviour asked for, so they are asserted.

use std::time::{Duration, Instant};

use reqwest::StatusCode;

use crate::support::{
    Backend, PostgresCluster, RedisServer, TestApp, assert_error, spawn_app_with,
};

/// How long a request that needs a missing dependency may take to fail.
const FAIL_WITHIN: Duration = Duration::from_secs(1);
/// How soon after a dependency is back the node must serve again.
const SERVE_WITHIN: Duration = Duration::from_secs(2);

/// A login for a number of its own (no resend wait in the way): the start, then, once it is
/// accepted, the code exchange. Returns the first answer that is not a success, or the token
/// answer, and how long that answer took.
async fn timed_login(app: &TestApp, index: u32) -> (reqwest::Response, Duration) {
    let number = format!("+44770090{index:04}");
    let body = serde_json::json!({ "phone_number": number });
    let (response, took) = timed(app.client.post(app.url("/v1/otp/start")).json(&body)).await;
    if response.status() != StatusCode::ACCEPTED {
        return (response, took);
    }
    let code = app.sink.last_code(&number);
    let form = [
        ("grant_type", "otp"),
        ("phone_number", number.as_str()),
        ("code", code.as_str()),
    ];
    timed(app.client.post(app.url("/oauth/token")).form(&form)).await
}

async fn timed(request: reqwest::RequestBuilder) -> (reqwest::Response, Duration) {
    let started = Instant::now();
    let response = request
        // A request stuck past the bound is a failure, not a reason to wait 30 s.
        .timeout(SERVE_WITHIN * 2)
        .send()
        .await
        .unwrap_or_else(|err| panic!("no answer in time: {err}"));
    (response, started.elapsed())
}

async fn readyz(app: &TestApp) -> StatusCode {
    app.client
        .get(app.url("/readyz"))
        .send()
        .await
        .unwrap()
        .status()
}

/// While the dependency is down: logins fail at once with `503`, and the node is not ready.
async fn assert_down(app: &TestApp, first: u32) {
    for index in first..first + 3 {
        let (response, took) = timed_login(app, index).await;
        assert!(took < FAIL_WITHIN, "a request took {took:?} to fail");
        assert_error(
            response,
            StatusCode::SERVICE_UNAVAILABLE,
            "temporarily_unavailable",
        )
        .await;
    }
    assert_eq!(readyz(app).await, StatusCode::SERVICE_UNAVAILABLE);
}

/// Once the dependency is back: a login succeeds and the node is ready within the bound.
async fn assert_back(app: &TestApp, first: u32) {
    let back = Instant::now();
    let mut index = first;
    loop {
        let (response, _) = timed_login(app, index).await;
        if response.status() == StatusCode::OK {
            break;
        }
        index += 1;
        assert!(
            back.elapsed() < SERVE_WITHIN,
            "still {} {:?} after it came back",
            response.status(),
            back.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    while readyz(app).await != StatusCode::OK {
        assert!(
            back.elapsed() < SERVE_WITHIN,
            "not ready after it came back"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (response, _) = timed_login(app, index + 1).await;
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_fails_fast_while_redis_is_down_and_serves_once_it_is_back() {
    let mut redis = RedisServer::start().await;
    let app = spawn_app_with(Backend::Production, &[("SESAME_REDIS_URL", &redis.url())]).await;
    let (response, _) = timed_login(&app, 1).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(readyz(&app).await, StatusCode::OK);

    redis.stop();
    assert_down(&app, 10).await;
    // Still failing fast after a while, not only at the moment it went away.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_down(&app, 20).await;

    redis.resume().await;
    assert_back(&app, 30).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_fails_fast_while_postgres_is_down_and_serves_once_it_is_back() {
    let postgres = PostgresCluster::start().await;
    let app = spawn_app_with(
        Backend::Production,
        &[("SESAME_DATABASE_URL", &postgres.url())],
    )
    .await;
    let (response, _) = timed_login(&app, 1).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(readyz(&app).await, StatusCode::OK);

    postgres.stop();
    assert_down(&app, 10).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_down(&app, 20).await;

    postgres.resume().await;
    assert_back(&app, 30).await;
}
