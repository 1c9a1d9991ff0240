//! The `sesame` binary itself: a fresh folder, no configuration, and it serves.

use std::process::{Command, Stdio};
use std::time::Duration;

use reqwest::StatusCode;

#[tokio::test]
async fn the_binary_serves_on_the_embedded_default_in_an_empty_folder() {
    let folder = std::env::temp_dir().join(format!("sesame-fresh-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&folder).unwrap();
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let mut child = Command::new(env!("CARGO_BIN_EXE_sesame"))
        .current_dir(&folder)
        .env_clear()
        .env("SESAME_LISTEN", format!("127.0.0.1:{port}"))
        .env("SESAME_METRICS_LISTEN", "127.0.0.1:0")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();

    let client = reqwest::Client::new();
    let mut healthy = false;
    for _ in 0..100 {
        if let Ok(response) = client
            .get(format!("http://127.0.0.1:{port}/healthz"))
            .send()
            .await
        {
            healthy = response.status() == StatusCode::OK;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(healthy, "the binary did not serve /healthz");
    assert!(folder.join("data/sesame.db").exists());
    let keys: Vec<_> = std::fs::read_dir(folder.join("keys")).unwrap().collect();
    assert_eq!(keys.len(), 2, "one signing key and the OTP secret");
}
