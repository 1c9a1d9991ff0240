//! The webhook provider's other end: Sesame POSTs each code here, and the sink hands it to the
//! virtual client waiting for that number.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use serde::Deserialize;
use tokio::sync::oneshot;

#[derive(Clone, Default)]
pub struct Sink {
    waiting: Arc<Mutex<HashMap<String, oneshot::Sender<String>>>>,
}

#[derive(Deserialize)]
struct Delivery {
    to: String,
    code: String,
}

impl Sink {
    pub async fn serve(&self, address: SocketAddr) -> anyhow::Result<()> {
        let listener = tokio::net::TcpListener::bind(address).await?;
        let app = axum::Router::new()
            .route("/", post(deliver))
            .with_state(self.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Ok(())
    }

    /// Registers interest in the next code for `number`; call before starting the login.
    pub fn expect(&self, number: &str) -> oneshot::Receiver<String> {
        let (sender, receiver) = oneshot::channel();
        self.lock().insert(number.to_owned(), sender);
        receiver
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, oneshot::Sender<String>>> {
        self.waiting
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

async fn deliver(State(sink): State<Sink>, Json(delivery): Json<Delivery>) -> StatusCode {
    if let Some(waiter) = sink.lock().remove(&delivery.to) {
        let _ = waiter.send(delivery.code);
    }
    StatusCode::NO_CONTENT
}
