//! The admin console at `/admin`: server-rendered HTML beside the JSON API, for admins
//! (and read-only auditors) signed in with an API key (docs/contract-notes.md, "Admin
//! console"). Each handler parses its form or query, calls one admin service method (the
//! same the JSON API calls) and renders the answer. No page runs a script: forms and links
//! only, a confirmation is a page of its own, and every page is sent with a strict CSP.
//! The console is off (`404`) while no `admin` key exists. It is not part of the OpenAPI
//! document: it is HTML for people, not the API.

mod api_keys;
mod audit;
mod employees;
mod import;
mod layout;
mod overview;
mod people;
mod session;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::HeaderValue;
use axum::http::header::CONTENT_SECURITY_POLICY;
use axum::middleware::{Next, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use tower_http::set_header::SetResponseHeaderLayer;

use crate::app::AppState;
use crate::error::Error;

/// Styles from this origin only, no script at all, forms only to this origin, no framing.
const CONTENT_SECURITY_POLICY_VALUE: &str = "default-src 'none'; style-src 'self'; \
    img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The import's upload and apply forms carry a whole HR export, as the JSON import does.
const IMPORT_BODY_LIMIT: usize = 32 * 1024 * 1024;

pub fn router(state: AppState) -> Router<AppState> {
    let import = Router::new()
        .route("/admin/import/preview", post(import::preview))
        .route("/admin/import/apply", post(import::apply))
        .layer(DefaultBodyLimit::max(IMPORT_BODY_LIMIT));
    Router::new()
        .route("/admin", get(session::home))
        .route("/admin/console.css", get(layout::stylesheet))
        .route(
            "/admin/sign-in",
            get(session::sign_in_page).post(session::sign_in),
        )
        .route("/admin/sign-out", post(session::sign_out))
        .route("/admin/overview", get(overview::show))
        .route("/admin/people", get(people::search))
        .route("/admin/people/{sub}", get(people::person))
        .route(
            "/admin/people/{sub}/revoke",
            get(people::confirm_revoke_all).post(people::revoke_all),
        )
        .route(
            "/admin/people/{sub}/sessions/{sid}/revoke",
            get(people::confirm_revoke_session).post(people::revoke_session),
        )
        .route(
            "/admin/employees",
            get(employees::list).post(employees::create),
        )
        .route("/admin/employees/new", get(employees::new))
        .route(
            "/admin/employees/{external_id}",
            get(employees::show).post(employees::update),
        )
        .route(
            "/admin/employees/{external_id}/disable",
            get(employees::confirm_disable).post(employees::disable),
        )
        .route("/admin/import", get(import::form_page))
        .route(
            "/admin/api-keys",
            get(api_keys::list).post(api_keys::create),
        )
        .route("/admin/api-keys/{id}/role", post(api_keys::set_role))
        .route(
            "/admin/api-keys/{id}/revoke",
            get(api_keys::confirm_revoke).post(api_keys::revoke),
        )
        .route("/admin/audit", get(audit::list))
        .merge(import)
        .layer(SetResponseHeaderLayer::overriding(
            CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CONTENT_SECURITY_POLICY_VALUE),
        ))
        .layer(from_fn_with_state(state, only_with_an_admin_key))
}

/// The console exists only while an `admin` key does (`SESAME_ADMIN_API_KEY` or a live
/// stored key); otherwise its routes answer as unknown routes do.
async fn only_with_an_admin_key(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    match state.admin.console.enabled().await {
        Ok(true) => next.run(request).await,
        Ok(false) => Error::NotFound.into_response(),
        Err(err) => err.into_response(),
    }
}
