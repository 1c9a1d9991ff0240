//! A Redis Cluster master crashes under a running node (Postgres + a cluster of its own, with
//! replicas): the requests on its slots fail until a replica is promoted, then logins, limits
//! and refresh all work again, from the very first request.

use std::time::Duration;

use reqwest::StatusCode;

use crate::support::{Backend, RedisCluster, TestApp, key_slot, spawn_app_with, text};

/// The per-number cap, low enough to reach.
const NUMBER_CAP: usize = 3;

/// Numbers whose keys live on the master at `port`, none of them `except`.
fn numbers_on(cluster: &RedisCluster, port: u16, except: &str) -> Vec<String> {
    let slots = cluster.slots();
    let on_port = |slot: u16| {
        slots
            .iter()
            .any(|(range, owner)| *owner == port && range.contains(&slot))
    };
    (0..1000)
        .map(|index| format!("+447700900{index:03}"))
        .filter(|number| number != except && on_port(key_slot(number)))
        .collect()
}

/// A login start for `number`, answered within a bound: a request may fail while the cluster
/// fails over, never hang.
async fn start(app: &TestApp, number: &str) -> StatusCode {
    app.client
        .post(app.url("/v1/otp/start"))
        .json(&serde_json::json!({ "phone_number": number }))
        .timeout(Duration::from_secs(10))
        .send()
        .await
        .unwrap_or_else(|err| panic!("no answer for {number}: {err}"))
        .status()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crashed_master_costs_at_most_the_requests_in_flight() {
    let mut cluster = RedisCluster::start().await;
    let cap = NUMBER_CAP.to_string();
    let app = spawn_app_with(
        Backend::Production,
        &[
            ("SESAME_REDIS_URL", &cluster.url()),
            ("SESAME_SMS_HOURLY_CAP", &cap),
            ("SESAME_OTP_RESEND_AFTER", "0"),
        ],
    )
    .await;
    let number = "+447700900123";
    let killed = cluster.master_of(number);
    let mut spare = numbers_on(&cluster, killed, number).into_iter();
    let pair = app.login(number).await;

    cluster.kill(killed);
    // Until a replica takes over, requests on the crashed master's slots may fail (with 503,
    // never another error), one fresh number each so no limit is in the way.
    let mut failed = 0;
    while !cluster.serves(Some((killed, number))) {
        match start(&app, &spare.next().unwrap()).await {
            StatusCode::ACCEPTED => {}
            StatusCode::SERVICE_UNAVAILABLE => failed += 1,
            other => panic!("{other} during the failover"),
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    cluster.wait_until_serving(Some((killed, number))).await;
    println!("{failed} requests failed during the failover");

    // From the first request on: logins, refresh and the per-number cap.
    let again = app.login(number).await;
    app.refreshed(text(&pair, "refresh_token")).await;
    app.refreshed(text(&again, "refresh_token")).await;
    // One client gets its share of a number's cap (half, rounded up), then 429.
    let limited = spare.next().unwrap();
    for _ in 0..NUMBER_CAP.div_ceil(2) {
        assert_eq!(start(&app, &limited).await, StatusCode::ACCEPTED);
    }
    assert_eq!(start(&app, &limited).await, StatusCode::TOO_MANY_REQUESTS);
    for number in spare.take(5) {
        app.login(&number).await;
    }
}
