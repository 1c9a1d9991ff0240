//! Slow and idle clients: a connection that has not sent its request head in time is closed,
//! and connections beyond `SESAME_MAX_CONNECTIONS` wait until one closes.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::{Backend, TestApp, spawn_app_with};

/// Far longer than any timeout under test: only a guard against a hanging test.
const GUARD: Duration = Duration::from_secs(30);

async fn connect(app: &TestApp) -> TcpStream {
    TcpStream::connect(app.base.trim_start_matches("http://"))
        .await
        .unwrap()
}

/// Sends a whole request on a kept-alive connection and reads its answer's status line.
async fn healthz(stream: &mut TcpStream) -> String {
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: sesame\r\n\r\n")
        .await
        .unwrap();
    // The whole answer, so the next request on this connection reads only its own: the body
    // is `{"status":"ok"}`.
    let mut answer = Vec::new();
    while !answer.ends_with(b"}") {
        let mut chunk = [0u8; 512];
        let read = stream.read(&mut chunk).await.unwrap();
        if read == 0 {
            break;
        }
        answer.extend_from_slice(&chunk[..read]);
    }
    String::from_utf8_lossy(&answer)
        .lines()
        .next()
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test]
async fn a_client_that_sends_half_a_request_head_is_disconnected() {
    let app = spawn_app_with(Backend::Embedded, &[("SESAME_HEADER_READ_TIMEOUT", "1")]).await;
    let mut stream = connect(&app).await;
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: sesame\r\n")
        .await
        .unwrap();
    let mut rest = Vec::new();
    // Closed by the server: the read ends (end of stream, or a reset).
    let closed = tokio::time::timeout(GUARD, stream.read_to_end(&mut rest)).await;
    assert!(closed.is_ok(), "the connection is still open");

    // A client that does send its request is served.
    assert_eq!(healthz(&mut connect(&app).await).await, "HTTP/1.1 200 OK");
}

#[tokio::test]
async fn connections_beyond_the_cap_wait_until_one_closes() {
    let app = spawn_app_with(
        Backend::Embedded,
        &[
            ("SESAME_MAX_CONNECTIONS", "2"),
            ("SESAME_HEADER_READ_TIMEOUT", "300"),
        ],
    )
    .await;
    let mut first = connect(&app).await;
    let mut second = connect(&app).await;
    assert_eq!(healthz(&mut first).await, "HTTP/1.1 200 OK");
    assert_eq!(healthz(&mut second).await, "HTTP/1.1 200 OK");

    // The third is queued by the kernel, not served, while both stay open.
    let mut third = connect(&app).await;
    let waiting = tokio::spawn(async move { healthz(&mut third).await });
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        !waiting.is_finished(),
        "a connection beyond the cap was served"
    );

    drop(first);
    let answer = tokio::time::timeout(GUARD, waiting).await;
    assert_eq!(
        answer.expect("served once a connection closed").unwrap(),
        "HTTP/1.1 200 OK"
    );
    assert_eq!(healthz(&mut second).await, "HTTP/1.1 200 OK");
}
