//! `/.well-known/*`: discovery for downstream APIs, JWKS and OpenID provider metadata.

use axum::Json;
use axum::extract::State;
use axum::http::header::CACHE_CONTROL;
use axum::response::IntoResponse;
use serde_json::json;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::AppState;

/// Downstream verifiers may cache keys this long; a rotated-in key is published before it
/// signs anything, and retired keys stay published, so caching never breaks verification.
const CACHE: &str = "public, max-age=300";

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(jwks))
        .routes(routes!(openid_configuration))
}

/// Every public key that may still verify an unexpired token, and keys about to sign.
#[utoipa::path(get, path = "/.well-known/jwks.json", tag = "discovery", responses(
    (status = 200, description = "JWK Set (RFC 7517), cacheable", body = Object),
))]
pub async fn jwks(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(CACHE_CONTROL, CACHE)],
        Json(state.tokens.keys().jwks().clone()),
    )
}

/// OpenID provider metadata (RFC 8414).
#[utoipa::path(get, path = "/.well-known/openid-configuration", tag = "discovery", responses(
    (status = 200, description = "Provider metadata, cacheable", body = Object),
))]
pub async fn openid_configuration(State(state): State<AppState>) -> impl IntoResponse {
    let issuer = &state.config.issuer;
    let algorithms = state.tokens.keys().algorithms();
    let metadata = json!({
        "issuer": issuer,
        "jwks_uri": format!("{issuer}/.well-known/jwks.json"),
        "token_endpoint": format!("{issuer}/oauth/token"),
        "revocation_endpoint": format!("{issuer}/oauth/revoke"),
        "introspection_endpoint": format!("{issuer}/oauth/introspect"),
        "userinfo_endpoint": format!("{issuer}/v1/me"),
        "grant_types_supported": ["otp", "refresh_token"],
        "response_types_supported": ["token"],
        "subject_types_supported": ["public"],
        "token_endpoint_auth_methods_supported": ["none"],
        "introspection_endpoint_auth_methods_supported": ["bearer"],
        "id_token_signing_alg_values_supported": algorithms,
        "access_token_signing_alg_values_supported": algorithms,
    });
    ([(CACHE_CONTROL, CACHE)], Json(metadata))
}
