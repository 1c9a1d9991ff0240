//! HTTP layer: each resource's module declares its routes with their OpenAPI description
//! (`routes()`); this module merges them, splits out the router and the document, and adds
//! the shared middleware (request ids, tracing, metrics, deadline, body limit, panic safety,
//! CORS, security headers, JSON fallbacks, hostile bytes). `/demo` is declared only when `SESAME_DEMO` enables
//! it, so it is neither served nor documented otherwise. The admin console (`crate::console`)
//! is merged here too, outside the OpenAPI document.

mod admin;
mod client_ip;
mod demo;
mod extract;
pub(crate) mod hostile;
mod introspect;
mod logout;
mod me;
mod metrics;
mod middleware;
mod oauth_revoke;
mod openapi;
mod ops;
mod otp;
mod page;
mod revocation_feed;
mod revocation_stream;
mod token;
mod wellknown;

use std::any::Any;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, MatchedPath};
use axum::http::{HeaderName, Request};
use axum::middleware::{from_fn, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use tower::ServiceBuilder;
use tower_http::LatencyUnit;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::{Level, Span};
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

use crate::app::AppState;
use crate::error::Error;

pub(crate) use extract::Client;
pub use metrics::metrics_router;

/// Bodies are small JSON or form documents; anything larger is refused with `413` (the
/// employee import sets its own, larger limit).
const BODY_LIMIT: usize = 64 * 1024;

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Every route and its description, declared once (`utoipa_axum::routes!`).
fn routes(demo: bool) -> OpenApiRouter<AppState> {
    let routes = OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .merge(otp::routes())
        .merge(token::routes())
        .merge(oauth_revoke::routes())
        .merge(logout::routes())
        .merge(me::routes())
        .merge(wellknown::routes())
        .merge(introspect::routes())
        .merge(revocation_feed::routes())
        .merge(revocation_stream::routes())
        .merge(admin::routes())
        .merge(ops::routes());
    if demo {
        routes.merge(demo::routes())
    } else {
        routes
    }
}

pub fn router(state: AppState) -> Router {
    let config = state.config.clone();
    let deadline = Duration::from_secs(config.ops.request_timeout);
    // The document is rendered apart, when first asked for (`openapi::document`).
    let router = Router::from(routes(config.demo))
        // HTML for people beside the API, not part of its document.
        .merge(crate::console::router(state.clone()))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        // One stack, outermost first, composed once: a `Router::layer` call per layer boxes
        // each request's service and future once per layer (docs/performance.md, "One
        // middleware stack").
        .layer(
            ServiceBuilder::new()
                .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
                .layer(PropagateRequestIdLayer::new(REQUEST_ID))
                .layer(
                    TraceLayer::new_for_http()
                        .make_span_with(request_span)
                        // One access-log line per request, inside its span (so with its
                        // request id).
                        .on_response(
                            DefaultOnResponse::new()
                                .level(Level::INFO)
                                .latency_unit(LatencyUnit::Millis),
                        ),
                )
                .layer(from_fn(middleware::record_metrics))
                .layer(from_fn_with_state(deadline, middleware::deadline))
                .layer(CatchPanicLayer::custom(panic_response))
                .layer(from_fn(hostile::screen_uri))
                .layer(DefaultBodyLimit::max(BODY_LIMIT)),
        );
    let router = middleware::security_headers(router, &config);
    middleware::cors(router, &config).with_state(state)
}

/// The span every request's log lines share: its method, path, matched route and request id.
fn request_span(request: &Request<Body>) -> Span {
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
