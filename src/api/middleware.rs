//! Shared HTTP middleware: metrics per route, request deadline, CORS and security headers.

use std::time::Duration;

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::header::{
    ACCESS_CONTROL_ALLOW_ORIGIN, AUTHORIZATION, CACHE_CONTROL, CONTENT_TYPE, REFERRER_POLICY,
    RETRY_AFTER, STRICT_TRANSPORT_SECURITY, WWW_AUTHENTICATE, X_CONTENT_TYPE_OPTIONS,
    X_FRAME_OPTIONS,
};
use axum::http::{HeaderValue, Method};
use axum::middleware::{Next, from_fn};
use axum::response::{IntoResponse, Response};
use tower::ServiceBuilder;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::set_header::SetResponseHeaderLayer;

use super::REQUEST_ID;
use crate::clock::Stopwatch;
use crate::config::Config;
use crate::error::Error;

/// Counts every request and records its latency, labelled by matched route (never the raw
/// path: ids in paths would explode the series), method and status.
pub async fn record_metrics(request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", MatchedPath::as_str)
        .to_owned();
    let method = match *request.method() {
        Method::GET
        | Method::POST
        | Method::PUT
        | Method::DELETE
        | Method::HEAD
        | Method::OPTIONS
        | Method::PATCH => request.method().as_str().to_owned(),
        _ => "other".to_owned(),
    };
    let stopwatch = Stopwatch::start();
    let response = next.run(request).await;
    let labels = [
        ("method", method),
        ("route", route),
        ("status", response.status().as_u16().to_string()),
    ];
    metrics::counter!("sesame_http_requests_total", &labels).increment(1);
    metrics::histogram!("sesame_http_request_duration_seconds", &labels)
        .record(stopwatch.elapsed().as_secs_f64());
    response
}

/// A request that takes longer than `SESAME_REQUEST_TIMEOUT` is abandoned and answered
/// `503 temporarily_unavailable` (a stuck request is almost always a stuck dependency).
pub async fn deadline(State(limit): State<Duration>, request: Request, next: Next) -> Response {
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            tracing::warn!(seconds = limit.as_secs(), "request timed out");
            Error::Unavailable.into_response()
        }
    }
}

/// Security headers on every response; `Cache-Control: no-store` unless the route chose its
/// own (JWKS and discovery are cacheable). HSTS only when the issuer is served over https.
pub fn security_headers<S: Clone + Send + Sync + 'static>(
    router: Router<S>,
    config: &Config,
) -> Router<S> {
    let hsts = config.issuer.starts_with("https://").then(|| {
        SetResponseHeaderLayer::overriding(
            STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000"),
        )
    });
    // One layer for all of them, as the shared stack in `api/mod.rs` is.
    router.layer(
        ServiceBuilder::new()
            .option_layer(hsts)
            .layer(SetResponseHeaderLayer::if_not_present(
                CACHE_CONTROL,
                HeaderValue::from_static("no-store"),
            ))
            .layer(SetResponseHeaderLayer::overriding(
                X_FRAME_OPTIONS,
                HeaderValue::from_static("DENY"),
            ))
            .layer(SetResponseHeaderLayer::overriding(
                REFERRER_POLICY,
                HeaderValue::from_static("no-referrer"),
            ))
            .layer(SetResponseHeaderLayer::overriding(
                X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            )),
    )
}

/// CORS for browser clients, only when `SESAME_CORS_ORIGINS` names origins (`*` for any).
/// Credentials are never allowed (no `Access-Control-Allow-Credentials`): browser apps send
/// their token in the `Authorization` header, and no cookie of Sesame's may ride along.
pub fn cors<S: Clone + Send + Sync + 'static>(router: Router<S>, config: &Config) -> Router<S> {
    let origins = &config.ops.cors_origins;
    if origins.is_empty() {
        return router;
    }
    let allow = if origins.iter().any(|origin| origin == "*") {
        AllowOrigin::any()
    } else {
        AllowOrigin::list(
            origins
                .iter()
                .filter_map(|origin| HeaderValue::from_str(origin).ok()),
        )
    };
    router.layer(
        ServiceBuilder::new()
            .layer(from_fn(only_for_allowed_origins))
            .layer(
                CorsLayer::new()
                    .allow_origin(allow)
                    .allow_methods([Method::GET, Method::POST, Method::PUT, Method::DELETE])
                    .allow_headers([AUTHORIZATION, CONTENT_TYPE])
                    .expose_headers([REQUEST_ID, RETRY_AFTER, WWW_AUTHENTICATE])
                    .max_age(Duration::from_secs(600)),
            ),
    )
}

/// The CORS layer answers a preflight from any origin with the allowed methods and headers,
/// leaving out only `Access-Control-Allow-Origin`; an origin that is not allowed gets no CORS
/// header at all.
async fn only_for_allowed_origins(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    if !response.headers().contains_key(ACCESS_CONTROL_ALLOW_ORIGIN) {
        let cors: Vec<_> = response
            .headers()
            .keys()
            .filter(|name| name.as_str().starts_with("access-control-"))
            .cloned()
            .collect();
        for name in cors {
            response.headers_mut().remove(name);
        }
    }
    response
}
