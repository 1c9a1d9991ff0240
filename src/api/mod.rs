//! HTTP layer: each area owns its routes; this module merges them and adds the shared
//! middleware (request ids, tracing, body limit, panic safety, JSON fallbacks).

mod api_keys;
mod audit;
mod employees;
mod extract;
mod import;
mod ops;
mod otp;
mod page;
mod session;
mod token;
mod wellknown;

use std::any::Any;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, Request};
use axum::response::{IntoResponse, Response};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

use crate::app::AppState;
use crate::error::Error;

/// Bodies are small JSON or form documents; anything larger is refused with `413` (the
/// employee import sets its own, larger limit).
const BODY_LIMIT: usize = 64 * 1024;

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

pub fn router(state: AppState) -> Router {
    Router::new()
        .merge(otp::router())
        .merge(token::router())
        .merge(session::router())
        .merge(wellknown::router())
        .merge(employees::router())
        .merge(import::router())
        .merge(audit::router())
        .merge(api_keys::router())
        .merge(ops::router())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(
            TraceLayer::new_for_http().make_span_with(|request: &Request<_>| {
                let request_id = request
                    .headers()
                    .get(&REQUEST_ID)
                    .and_then(|value| value.to_str().ok())
                    .unwrap_or_default();
                // The path only, never the query string: it may carry a token.
                tracing::info_span!(
                    "request",
                    method = %request.method(),
                    path = %request.uri().path(),
                    request_id,
                )
            }),
        )
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
        .with_state(state)
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
