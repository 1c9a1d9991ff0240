//! Serving a router on a listener, with limits against slow and idle clients: a connection
//! whose request head has not arrived within the header timeout is closed, and at most
//! `max_connections` are served at once (the rest wait in the kernel's listen queue), so
//! clients cannot use up the process's file descriptors. HTTP/1.1 only: a load balancer or a
//! client speaks it, and HTTP/2's version sniffing would wait on a silent client untimed.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use axum::http::Request;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tower::ServiceExt;

/// How long to wait after a failed accept (out of descriptors, most likely) before the next.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub header_read_timeout: Duration,
    pub max_connections: u32,
}

/// Serves `router` until `stopping` turns true, then stops accepting, lets every connection
/// finish the request it is serving, and returns once all have closed.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    mut stopping: watch::Receiver<bool>,
) {
    let permits = Arc::new(Semaphore::new(limits.max_connections as usize));
    loop {
        let permit = tokio::select! {
            permit = permits.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
            () = until_stopping(&mut stopping) => break,
        };
        let (stream, remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(err) => {
                    tracing::warn!(error = %err, "cannot accept a connection");
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                    continue;
                }
            },
            () = until_stopping(&mut stopping) => break,
        };
        let service = router
            .clone()
            .map_request(move |mut request: Request<Incoming>| {
                request
                    .extensions_mut()
                    .insert(ConnectInfo::<SocketAddr>(remote));
                request
            });
        let mut builder = http1::Builder::new();
        builder
            .timer(TokioTimer::new())
            .header_read_timeout(limits.header_read_timeout);
        let mut stopping = stopping.clone();
        tokio::spawn(async move {
            // Held until the connection closes: one of `max_connections`.
            let _permit = permit;
            let connection =
                builder.serve_connection(TokioIo::new(stream), TowerToHyperService::new(service));
            tokio::pin!(connection);
            let served = tokio::select! {
                served = connection.as_mut() => served,
                () = until_stopping(&mut stopping) => {
                    connection.as_mut().graceful_shutdown();
                    connection.await
                }
            };
            if let Err(err) = served {
                // A client that went away or was too slow: nothing for an operator to do.
                tracing::debug!(error = %err, "connection ended with an error");
            }
        });
    }
    drop(listener);
    // Every open connection holds a permit until it closes.
    let _ = permits.acquire_many(limits.max_connections).await;
}

/// Completes once `stopping` is true (or its sender is gone).
async fn until_stopping(stopping: &mut watch::Receiver<bool>) {
    let _ = stopping.wait_for(|stopping| *stopping).await;
}
