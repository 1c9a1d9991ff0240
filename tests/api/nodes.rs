//! Three `sesame` processes on one Postgres database and the Redis Cluster: any node answers
//! any request, what one node does holds on the others, and a revocation made on one node is
//! pushed to streams open on the others.

use std::collections::HashMap;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use futures::future::join_all;
use reqwest::StatusCode;
use serde_json::Value;

use crate::support::{
    ADMIN_KEY, Backend, EventStream, Sink, TestApp, claim, free_port, fresh_postgres_database,
    redis_cluster_url, text,
};

const NUMBER: &str = "+447700900123";
/// The per-number and per-IP caps the nodes share.
const NUMBER_CAP: usize = 3;
const IP_CAP: usize = 5;

/// A running node; killed when dropped, so a failing test leaves no process behind.
struct Node {
    app: TestApp,
    child: Child,
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts three nodes sharing one fresh database, the cluster (under one key prefix), the
/// keys folder, the OTP secret and a webhook sink.
async fn three_nodes() -> Vec<Node> {
    let sink = Sink::default();
    let sink_url = sink.spawn().await;
    let scratch = std::env::temp_dir().join(format!("sesame-nodes-{}", uuid::Uuid::new_v4()));
    let keys_dir = scratch.join("keys");
    let generated = Command::new(env!("CARGO_BIN_EXE_sesame"))
        .env_clear()
        .env("SESAME_KEYS_DIR", &keys_dir)
        .args(["keys", "generate"])
        .output()
        .unwrap();
    assert!(generated.status.success(), "{generated:?}");
    let vars: HashMap<String, String> = [
        ("SESAME_DATABASE_URL", fresh_postgres_database().await),
        ("SESAME_REDIS_URL", redis_cluster_url()),
        (
            "SESAME_REDIS_KEY_PREFIX",
            format!("sesame-test-{}", uuid::Uuid::new_v4().simple()),
        ),
        ("SESAME_KEYS_DIR", keys_dir.display().to_string()),
        (
            "SESAME_OTP_SECRET",
            "an-otp-secret-shared-by-every-node".into(),
        ),
        ("SESAME_SMS_PROVIDER", "webhook".into()),
        ("SESAME_SMS_WEBHOOK_URL", sink_url),
        ("SESAME_ADMIN_API_KEY", ADMIN_KEY.into()),
        ("SESAME_OTP_RESEND_AFTER", "0".into()),
        ("SESAME_REFRESH_REUSE_GRACE", "0".into()),
        ("SESAME_SMS_HOURLY_CAP", NUMBER_CAP.to_string()),
        ("SESAME_SMS_DAILY_CAP", "1000".into()),
        ("SESAME_IP_HOURLY_CAP", IP_CAP.to_string()),
        ("SESAME_IP_VERIFY_HOURLY_CAP", "10000".into()),
        ("SESAME_SMS_COUNTRY_HOURLY_BUDGET", "10000".into()),
        ("SESAME_TRUSTED_PROXIES", "127.0.0.1/32".into()),
        ("SESAME_METRICS_LISTEN", String::new()),
    ]
    .into_iter()
    .map(|(name, value)| (name.to_owned(), value))
    .collect();
    let mut nodes = Vec::new();
    for _ in 0..3 {
        let port = free_port();
        let child = Command::new(env!("CARGO_BIN_EXE_sesame"))
            .env_clear()
            .envs(&vars)
            .env("SESAME_LISTEN", format!("127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let app = TestApp {
            base: format!("http://127.0.0.1:{port}"),
            metrics_base: None,
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .unwrap(),
            sink: sink.clone(),
            backend: Backend::Cluster,
            keys_dir: keys_dir.clone(),
            vars: vars.clone(),
            clock: sesame::Clock::system(),
        };
        let mut node = Node { app, child };
        wait_ready(&mut node).await;
        nodes.push(node);
    }
    nodes
}

async fn wait_ready(node: &mut Node) {
    for _ in 0..300 {
        if let Ok(response) = node.app.client.get(node.app.url("/readyz")).send().await {
            if response.status() == StatusCode::OK {
                return;
            }
        }
        if let Some(status) = node.child.try_wait().unwrap() {
            panic!("sesame exited: {status}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("sesame never became ready");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_nodes_share_codes_sessions_and_revocations() {
    let nodes = three_nodes().await;
    let [a, b, c] = [&nodes[0].app, &nodes[1].app, &nodes[2].app];

    // A code sent by A is checked by B.
    assert_eq!(a.start_login(NUMBER).await.status(), StatusCode::ACCEPTED);
    let response = b.exchange_code(NUMBER, &a.sink.last_code(NUMBER)).await;
    assert_eq!(response.status(), StatusCode::OK);
    let pair: Value = response.json().await.unwrap();

    // One code, verified at once on all three: exactly one pair.
    assert_eq!(c.start_login(NUMBER).await.status(), StatusCode::ACCEPTED);
    let code = c.sink.last_code(NUMBER);
    let statuses: Vec<StatusCode> = join_all(
        nodes
            .iter()
            .map(|node| async { node.app.exchange_code(NUMBER, &code).await.status() }),
    )
    .await;
    assert_eq!(
        statuses.iter().filter(|s| **s == StatusCode::OK).count(),
        1,
        "{statuses:?}"
    );

    // Refreshed on C; the spent token reused on A revokes the session, seen by B.
    let spent = text(&pair, "refresh_token").to_owned();
    let rotated = c.refreshed(&spent).await;
    assert_ne!(a.refresh(&spent).await.status(), StatusCode::OK);
    assert_ne!(
        b.refresh(text(&rotated, "refresh_token")).await.status(),
        StatusCode::OK,
        "the reuse revoked the whole session"
    );

    // A revocation made on A is refused at once on B and C, and pushed within a second to
    // a stream open on B.
    let mut stream = EventStream::open(b, ADMIN_KEY, None).await;
    let fresh = b.login("+447700900124").await;
    let access = text(&fresh, "access_token");
    assert_eq!(b.me(access).await.status(), StatusCode::OK);
    let sid = claim(access, "sid");
    let revoked = a
        .admin_post(&format!("/admin/v1/sessions/{sid}/revoke"))
        .await;
    assert_eq!(revoked.status(), StatusCode::NO_CONTENT);
    stream.until_session(&sid, Duration::from_secs(1)).await;
    for node in [b, c] {
        assert_eq!(node.introspect(access).await["active"], false);
        assert_ne!(
            node.refresh(text(&fresh, "refresh_token")).await.status(),
            StatusCode::OK
        );
    }
}

/// Starts a login for `number` as the client at `ip` (behind a trusted proxy).
async fn start_from(node: &Node, number: &str, ip: &str) -> StatusCode {
    let app = &node.app;
    app.client
        .post(app.url("/v1/otp/start"))
        .header("x-forwarded-for", ip)
        .json(&serde_json::json!({ "phone_number": number }))
        .send()
        .await
        .unwrap()
        .status()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limits_hold_in_total_across_nodes() {
    let nodes = three_nodes().await;
    // Three times a cap, round-robin over the nodes, all at once.
    let accepted = |statuses: Vec<StatusCode>| {
        statuses
            .iter()
            .filter(|status| **status == StatusCode::ACCEPTED)
            .count()
    };
    // From as many clients, so that no client's share of the cap (half of it) binds first.
    let clients: Vec<String> = (0..NUMBER_CAP * 3).map(|i| format!("10.0.1.{i}")).collect();
    let per_number = clients
        .iter()
        .enumerate()
        .map(|(i, client)| start_from(&nodes[i % 3], NUMBER, client));
    assert_eq!(
        accepted(join_all(per_number).await),
        NUMBER_CAP,
        "the per-number cap holds in total"
    );
    let numbers: Vec<String> = (0..IP_CAP * 3)
        .map(|i| format!("+4477009006{i:02}"))
        .collect();
    let per_ip = numbers
        .iter()
        .enumerate()
        .map(|(i, number)| start_from(&nodes[i % 3], number, "10.0.0.2"));
    assert_eq!(
        accepted(join_all(per_ip).await),
        IP_CAP,
        "the per-IP cap holds in total"
    );
}
