//! `/metrics` on its own listener (`SESAME_METRICS_LISTEN`, docs/contract-notes.md,
//! "Operations"): what Prometheus reads stays off the service port, where a caller could diff
//! counters around its own requests.

use axum::Router;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use axum::routing::get;

/// The metrics listener's routes: `/metrics`, and the JSON `404` for anything else.
pub fn metrics_router() -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .fallback(super::not_found)
}

/// Prometheus text exposition of every metric of this process.
async fn metrics() -> impl IntoResponse {
    let text = crate::telemetry::metrics()
        .map(|handle| {
            handle.run_upkeep();
            handle.render()
        })
        .unwrap_or_default();
    (
        [(CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        text,
    )
}
