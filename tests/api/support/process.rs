//! The `sesame` binary as its own process: started with a clean environment, for what only a
//! whole process shows (signals, exit codes, logs, a metrics recorder of its own).

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use reqwest::StatusCode;

use super::app::test_config;
use super::{Backend, Sink};

/// `sesame <args>` with exactly the variables `env`.
pub fn sesame_command<K, V>(env: impl IntoIterator<Item = (K, V)>, args: &[&str]) -> Command
where
    K: AsRef<std::ffi::OsStr>,
    V: AsRef<std::ffi::OsStr>,
{
    let mut command = Command::new(env!("CARGO_BIN_EXE_sesame"));
    command.env_clear().envs(env).args(args);
    command
}

/// Waits until the process at `base` answers `/readyz` with `200`; fails if it exits first.
pub async fn wait_ready(client: &reqwest::Client, base: &str, child: &mut Child) {
    for _ in 0..200 {
        if let Ok(response) = client.get(format!("{base}/readyz")).send().await {
            if response.status() == StatusCode::OK {
                return;
            }
        }
        if let Some(status) = child.try_wait().unwrap() {
            panic!("sesame exited: {status}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("sesame never became ready");
}

/// A free local port, picked before the process starts.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The `sesame` binary serving the test configuration of `backend` (its own database, Redis
/// prefix, keys and sink); killed when dropped.
pub struct SesameProcess {
    pub base: String,
    /// The metrics listener's base URL.
    pub metrics_base: String,
    pub client: reqwest::Client,
    pub sink: Sink,
    child: Child,
}

impl SesameProcess {
    pub async fn spawn(backend: Backend) -> Self {
        Self::spawn_with(backend, &[]).await
    }

    /// Like `spawn`, with `overrides` to the test configuration.
    pub async fn spawn_with(backend: Backend, overrides: &[(&str, &str)]) -> Self {
        let (mut vars, sink, _) = test_config(backend, overrides).await;
        let port = free_port();
        vars.insert("SESAME_LISTEN".into(), format!("127.0.0.1:{port}"));
        let metrics_port = free_port();
        vars.insert(
            "SESAME_METRICS_LISTEN".into(),
            format!("127.0.0.1:{metrics_port}"),
        );
        let mut child = sesame_command(&vars, &[])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let client = reqwest::Client::new();
        let base = format!("http://127.0.0.1:{port}");
        wait_ready(&client, &base, &mut child).await;
        Self {
            base,
            metrics_base: format!("http://127.0.0.1:{metrics_port}"),
            client,
            sink,
            child,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

impl Drop for SesameProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The sum of the samples of `name` whose labels include every one of `labels`.
pub fn sample(text: &str, name: &str, labels: &[&str]) -> f64 {
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .filter(|line| {
            line.strip_prefix(name)
                .is_some_and(|rest| rest.starts_with(['{', ' ']))
        })
        .filter(|line| labels.iter().all(|label| line.contains(label)))
        .map(|line| line.rsplit(' ').next().unwrap().parse::<f64>().unwrap())
        .sum()
}

/// The text of `/metrics` on the metrics listener at `base`.
pub async fn scrape(client: &reqwest::Client, base: &str) -> String {
    let response = client.get(format!("{base}/metrics")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    response.text().await.unwrap()
}
