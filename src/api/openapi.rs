//! The OpenAPI 3.1 document served at `/openapi.json`, generated from the handlers.
//!
//! To document a route: annotate its handler with `#[utoipa::path(...)]` (errors with
//! `body = ErrorBody`) and add the handler to `paths(...)` below. The test
//! `ops::every_route_is_documented_in_openapi` (tests/api/ops.rs) derives the router's routes
//! and fails for any left out.

use std::sync::LazyLock;

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::error::ErrorBody;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Sesame",
        description = "Passwordless login: a phone number and a one-time code yield an access + refresh JWT pair."
    ),
    paths(
        super::otp::start,
        super::token::token,
        super::revoke::revoke_token,
        super::revoke::logout,
        super::session::me,
        super::wellknown::jwks,
        super::wellknown::openid_configuration,
        super::introspect::introspect,
        super::introspect::revocations,
        super::employees::upsert_employee,
        super::employees::list,
        super::employees::disable,
        super::import::import,
        super::admin_sessions::list_sessions,
        super::admin_sessions::revoke_identity,
        super::admin_sessions::revoke_session,
        super::admin_sessions::revoke_token,
        super::admin_limits::unlock,
        super::audit::list,
        super::api_keys::create,
        super::api_keys::list,
        super::api_keys::revoke,
        super::ops::healthz,
        super::ops::readyz,
        super::ops::metrics,
        super::ops::openapi,
        super::demo::page,
        super::demo::script,
        super::demo::stylesheet,
    ),
    components(schemas(ErrorBody)),
    modifiers(&SecuritySchemes),
    tags(
        (name = "login", description = "Codes, tokens and the caller's identity"),
        (name = "discovery", description = "For downstream APIs verifying tokens (introspection and the revocation feed need an API key of role `introspect` or `admin`)"),
        (name = "admin", description = "API key with role `admin`"),
        (name = "operations", description = "Health, readiness, metrics, this document"),
        (name = "demo", description = "A login page for trying Sesame in a browser (only when `SESAME_DEMO` is on)"),
    )
)]
struct ApiDoc;

/// `access_token`: a Sesame access JWT; `api_key`: an API key, both as `Authorization: Bearer`.
struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "access_token",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
        components.add_security_scheme(
            "api_key",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The errors every admin route shares: no valid key, a key of another role, storage down.
#[derive(utoipa::IntoResponses)]
pub enum AdminErrors {
    /// `unauthorized`: no valid API key (with `WWW-Authenticate: Bearer`)
    #[response(status = 401, headers(("WWW-Authenticate" = String, description = "`Bearer`")))]
    Unauthorized(ErrorBody),
    /// `forbidden`: the key's role is not `admin`
    #[response(status = 403)]
    Forbidden(ErrorBody),
    /// `temporarily_unavailable`
    #[response(status = 503)]
    Unavailable(ErrorBody),
}

/// The document, with or without the `/demo` routes (they are served only when enabled).
fn build(with_demo: bool) -> String {
    let mut openapi = ApiDoc::openapi();
    openapi.info.version = env!("CARGO_PKG_VERSION").to_owned();
    if !with_demo {
        openapi
            .paths
            .paths
            .retain(|path, _| path != "/demo" && !path.starts_with("/demo/"));
        if let Some(tags) = &mut openapi.tags {
            tags.retain(|tag| tag.name != "demo");
        }
    }
    openapi.to_json().unwrap_or_default()
}

static WITH_DEMO: LazyLock<String> = LazyLock::new(|| build(true));
static WITHOUT_DEMO: LazyLock<String> = LazyLock::new(|| build(false));

/// The document as JSON, built once; it lists `/demo` only when the demo is served.
pub fn document(with_demo: bool) -> &'static str {
    if with_demo { &WITH_DEMO } else { &WITHOUT_DEMO }
}
