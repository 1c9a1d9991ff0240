//! HTTP layer: each area owns its routes; this module merges them and adds the shared
//! middleware (request ids, tracing, metrics, deadline, body limit, panic safety, CORS,
//! security headers, JSON fallbacks). `openapi` documents every route; `/demo` is served only
//! when `SESAME_DEMO` enables it.

mod admin_limits;
mod admin_sessions;
mod api_keys;
mod audit;
mod client_ip;
mod demo;
mod employees;
mod extract;
mod import;
mod introspect;
mod middleware;
pub mod openapi;
mod ops;
mod otp;
mod page;
mod revoke;
mod session;
mod token;
mod wellknown;

use std::any::Any;
use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath};
use axum::http::{HeaderName, Request};
use axum::middleware::{from_fn, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use tower_http::LatencyUnit;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;

use crate::app::AppState;
use crate::error::Error;

/// Bodies are small JSON or form documents; anything larger is refused with `413` (the
/// employee import sets its own, larger limit).
const BODY_LIMIT: usize = 64 * 1024;

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

pub fn router(state: AppState) -> Router {
    let config = state.config.clone();
    let deadline = Duration::from_secs(config.ops.request_timeout);
    let router = Router::new()
        .merge(otp::router())
        .merge(token::router())
        .merge(session::router())
        .merge(wellknown::router())
        .merge(admin_sessions::router())
        .merge(revoke::router())
        .merge(introspect::router())
        .merge(employees::router())
        .merge(import::router())
        .merge(audit::router())
        .merge(api_keys::router())
        .merge(admin_limits::router())
        .merge(ops::router());
    // The demo page is a router of its own, absent (404) unless enabled.
    let router = if config.demo {
        router.merge(demo::router())
    } else {
        router
    };
    let router = router
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(from_fn_with_state(deadline, middleware::deadline))
        .layer(from_fn(middleware::record_metrics))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|request: &Request<_>| {
                    let request_id = request
                        .headers()
                        .get(&REQUEST_ID)
                        .and_then(|value| value.to_str().ok())
                        .unwrap_or_default();
                    let route = request
                        .extensions()
                        .get::<MatchedPath>()
                        .map_or("unmatched", MatchedPath::as_str);
                    // The path only, never the query string: it may carry a token.
                    tracing::info_span!(
                        "request",
                        method = %request.method(),
                        path = %request.uri().path(),
                        route,
                        request_id,
                    )
                })
                // One access-log line per request, inside its span (so with its request id).
                .on_response(
                    DefaultOnResponse::new()
                        .level(Level::INFO)
                        .latency_unit(LatencyUnit::Millis),
                ),
        )
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid));
    let router = middleware::security_headers(router, &config);
    middleware::cors(router, &config).with_state(state)
}

async fn not_found() -> Error {
    Error::NotFound
}

async fn method_not_allowed() -> Error {
    Error::MethodNotAllowed
}

fn panic_response(_panic: Box<dyn Any + Send + 'static>) -> Response {
    Error::Internal(anyhow::anyhow!("a request handler panicked")).into_response()
}
