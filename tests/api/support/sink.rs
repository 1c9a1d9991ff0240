//! The webhook SMS provider the app under test sends its messages to.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::routing::post;
use serde_json::{Value, json};

/// Messages the app under test sent through its webhook provider.
#[derive(Clone, Default)]
pub struct Sink {
    messages: Arc<Mutex<Vec<Value>>>,
    /// How long the sink holds each request before answering (a slow provider).
    delay: Duration,
    /// Requests answered: held for the whole delay, so their sender waited for the answer.
    answered: Arc<AtomicUsize>,
}

impl Sink {
    /// A sink that records each message at once and answers after `delay`.
    pub fn slow(delay: Duration) -> Self {
        Self {
            delay,
            ..Self::default()
        }
    }

    /// How many messages the sink has answered (a sender that gave up early is not answered).
    pub fn answered(&self) -> usize {
        self.answered.load(Ordering::SeqCst)
    }

    pub fn messages(&self) -> Vec<Value> {
        self.messages.lock().unwrap().clone()
    }

    pub fn messages_to(&self, number: &str) -> Vec<Value> {
        self.messages()
            .into_iter()
            .filter(|message| message["to"] == number)
            .collect()
    }

    /// The code of the newest message to `number`.
    pub fn last_code(&self, number: &str) -> String {
        let messages = self.messages_to(number);
        let message = messages
            .last()
            .unwrap_or_else(|| panic!("no message to {number}"));
        message["code"].as_str().unwrap().to_owned()
    }

    /// Serves the sink on a random port and returns its URL.
    pub async fn spawn(&self) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let app = axum::Router::new()
            .route("/", post(receive))
            .with_state(self.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        format!("http://{address}/")
    }
}

async fn receive(State(sink): State<Sink>, Json(message): Json<Value>) -> Json<Value> {
    sink.messages.lock().unwrap().push(message);
    tokio::time::sleep(sink.delay).await;
    sink.answered.fetch_add(1, Ordering::SeqCst);
    Json(json!({ "ok": true }))
}
