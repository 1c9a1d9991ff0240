//! The webhook provider signs its requests (`X-Sesame-Signature`); a receiver written from the
//! documented format alone can verify them.

use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::post;
use reqwest::StatusCode;
use ring::hmac;
use serde_json::Value;

use crate::support::{Backend, spawn_app_with};

const NUMBER: &str = "+447700900123";

/// What a receiver of the webhook gets.
#[derive(Clone, Default)]
struct Received(Arc<Mutex<Vec<(HeaderMap, Bytes)>>>);

async fn receive(
    State(received): State<Received>,
    headers: HeaderMap,
    body: Bytes,
) -> &'static str {
    received.0.lock().unwrap().push((headers, body));
    "ok"
}

/// A receiver's check, written from the documented format only: `X-Sesame-Signature` is
/// `sha256=` + hex HMAC-SHA256 over `<X-Sesame-Timestamp>.<raw body>`.
fn receiver_accepts(secret: &str, headers: &HeaderMap, body: &[u8], now: i64) -> bool {
    let Some(timestamp) = headers
        .get("x-sesame-timestamp")
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let Ok(sent_at) = timestamp.parse::<i64>() else {
        return false;
    };
    let Some(signature) = headers
        .get("x-sesame-signature")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("sha256="))
        .and_then(|v| hex::decode(v).ok())
    else {
        return false;
    };
    let mut signed = timestamp.as_bytes().to_vec();
    signed.push(b'.');
    signed.extend_from_slice(body);
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret.as_bytes());
    (now - sent_at).abs() <= 300 && hmac::verify(&key, &signed, &signature).is_ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_messages_carry_a_signature_the_receiver_can_verify() {
    let received = Received::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let receiver = axum::Router::new()
        .route("/hook", post(receive))
        .with_state(received.clone());
    tokio::spawn(async move { axum::serve(listener, receiver).await.unwrap() });
    let secret = "webhook-shared-secret";
    let app = spawn_app_with(
        Backend::Embedded,
        &[
            ("SESAME_SMS_WEBHOOK_URL", &url),
            ("SESAME_SMS_WEBHOOK_SECRET", secret),
        ],
    )
    .await;

    assert_eq!(app.start_login(NUMBER).await.status(), StatusCode::ACCEPTED);

    let (headers, body) = received.0.lock().unwrap()[0].clone();
    let now = sesame::Clock::system().now();
    assert!(receiver_accepts(secret, &headers, &body, now));
    // A tampered body, another secret or a replay much later all fail the check.
    let mut tampered = body.to_vec();
    tampered[0] = b' ';
    assert!(!receiver_accepts(secret, &headers, &tampered, now));
    assert!(!receiver_accepts("another-secret", &headers, &body, now));
    assert!(!receiver_accepts(secret, &headers, &body, now + 3_600));

    let message: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(message["to"], NUMBER);
    let code = message["code"].as_str().unwrap();
    assert_eq!(
        app.exchange_code(NUMBER, code).await.status(),
        StatusCode::OK
    );
}
