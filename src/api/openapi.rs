//! The OpenAPI 3.1 document served at `/openapi.json`: what every route shares (info, tags,
//! security schemes, shared responses). Routes add themselves where they are declared
//! (`routes!` in each module, `#[utoipa::path(...)]` on each handler, errors with
//! `body = ErrorBody`), so no route goes undocumented.

use std::sync::OnceLock;

use axum::body::Bytes;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::error::ErrorBody;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Sesame",
        description = "Passwordless login: a phone number and a one-time code yield an access + refresh JWT pair."
    ),
    components(schemas(ErrorBody)),
    modifiers(&SecuritySchemes),
    tags(
        (name = "login", description = "Codes, tokens and the caller's identity"),
        (name = "discovery", description = "For downstream APIs verifying tokens (introspection and the revocation feed need an API key of role `introspect` or `admin`)"),
        (name = "admin", description = "API key with role `admin` (an `auditor` key gets `403`: it is for the admin console at `/admin`)"),
        (name = "operations", description = "Health, readiness, metrics, this document"),
    )
)]
pub struct ApiDoc;

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
#[expect(
    dead_code,
    reason = "it describes responses; they are built as `Error`s"
)]
pub enum AdminErrors {
    /// `unauthorized`: no valid API key (with `WWW-Authenticate: Bearer`)
    #[response(status = 401, headers(("WWW-Authenticate" = String, description = "`Bearer`")))]
    Unauthorized(ErrorBody),
    /// `forbidden`: the key's role is not `admin` (`introspect` and `auditor` keys)
    #[response(status = 403)]
    Forbidden(ErrorBody),
    /// `temporarily_unavailable`
    #[response(status = 503)]
    Unavailable(ErrorBody),
}

/// The document of a node with or without `/demo` (`SESAME_DEMO`, the only setting it depends
/// on), as JSON: rendered once per process and value, when first asked for, so that no layer
/// carries it to its one handler on every request (docs/performance.md, "One middleware
/// stack").
pub fn document(demo: bool) -> Bytes {
    static RENDERED: [OnceLock<Bytes>; 2] = [OnceLock::new(), OnceLock::new()];
    RENDERED[usize::from(demo)]
        .get_or_init(|| {
            let mut described = super::routes(demo).into_openapi();
            described.info.version = env!("CARGO_PKG_VERSION").to_owned();
            described.to_json().unwrap_or_default().into()
        })
        .clone()
}
