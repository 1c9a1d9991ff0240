//! `/demo`: a login page for trying Sesame in a browser, built with `@sesame/react` from
//! `clients/typescript/demo` (its built files are committed and embedded here, so building the
//! server needs no Node). On in development, off in production unless `SESAME_DEMO=true`.
//! The page calls the API on its own origin.

use axum::http::HeaderValue;
use axum::http::header::{CONTENT_SECURITY_POLICY, CONTENT_TYPE};
use axum::response::IntoResponse;
use tower_http::set_header::SetResponseHeaderLayer;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::AppState;

/// Scripts, styles and API calls from this origin only; no inline code, no framing.
const CONTENT_SECURITY_POLICY_VALUE: &str = "default-src 'none'; script-src 'self'; \
    style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; \
    form-action 'self'; frame-ancestors 'none'";

const INDEX_HTML: &str = include_str!("../../clients/typescript/demo/dist/index.html");
const DEMO_JS: &str = include_str!("../../clients/typescript/demo/dist/demo.js");
const DEMO_CSS: &str = include_str!("../../clients/typescript/demo/dist/demo.css");

#[derive(OpenApi)]
#[openapi(tags(
    (name = "demo", description = "A login page for trying Sesame in a browser (only when `SESAME_DEMO` is on)"),
))]
struct DemoDoc;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(DemoDoc::openapi())
        .routes(routes!(page))
        .routes(routes!(script))
        .routes(routes!(stylesheet))
        .layer(SetResponseHeaderLayer::overriding(
            CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CONTENT_SECURITY_POLICY_VALUE),
        ))
}

/// The demo login page: phone number, code, then the signed-in view with the token's claims.
#[utoipa::path(get, path = "/demo", tag = "demo", responses(
    (status = 200, description = "The page (strict `Content-Security-Policy`)", content_type = "text/html", body = String),
))]
pub async fn page() -> impl IntoResponse {
    ([(CONTENT_TYPE, "text/html; charset=utf-8")], INDEX_HTML)
}

/// The page's script (React and `@sesame/react`, bundled).
#[utoipa::path(get, path = "/demo/demo.js", tag = "demo", responses(
    (status = 200, description = "JavaScript", content_type = "text/javascript", body = String),
))]
pub async fn script() -> impl IntoResponse {
    ([(CONTENT_TYPE, "text/javascript; charset=utf-8")], DEMO_JS)
}

/// The page's stylesheet.
#[utoipa::path(get, path = "/demo/demo.css", tag = "demo", responses(
    (status = 200, description = "CSS", content_type = "text/css", body = String),
))]
pub async fn stylesheet() -> impl IntoResponse {
    ([(CONTENT_TYPE, "text/css; charset=utf-8")], DEMO_CSS)
}
