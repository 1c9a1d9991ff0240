//! The page every console view shares (header, navigation, sign-out), the error page, and
//! small pieces of markup. Every value is escaped by maud; nothing here runs a script.

use std::sync::LazyLock;

use aws_lc_rs::digest;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, LOCATION, RETRY_AFTER};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use maud::{DOCTYPE, Markup, html};
use time::OffsetDateTime;
use time::macros::format_description;

use crate::admin::ConsoleUser;
use crate::error::Error;

pub const STYLESHEET: &str = include_str!("console.css");

/// The stylesheet's URL, versioned by its content so it can be cached for good.
pub static STYLESHEET_HREF: LazyLock<String> = LazyLock::new(|| {
    let digest = digest::digest(&digest::SHA256, STYLESHEET.as_bytes());
    format!("/admin/console.css?v={}", &hex::encode(digest)[..12])
});

/// The areas of the navigation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Area {
    Overview,
    People,
    Employees,
    Import,
    ApiKeys,
    Audit,
    None,
}

const NAVIGATION: [(Area, &str, &str); 6] = [
    (Area::Overview, "/admin/overview", "Overview"),
    (Area::People, "/admin/people", "People"),
    (Area::Employees, "/admin/employees", "Employees"),
    (Area::Import, "/admin/import", "Import"),
    (Area::ApiKeys, "/admin/api-keys", "API keys"),
    (Area::Audit, "/admin/audit", "Audit log"),
];

/// A whole page: `title` is its `<h1>` too.
pub fn page(title: &str, user: Option<&ConsoleUser>, area: Area, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · Sesame admin" }
                link rel="stylesheet" href=(STYLESHEET_HREF.as_str());
                // No icon: the browser would ask for /favicon.ico.
                link rel="icon" href="data:,";
            }
            body {
                a.skip href="#main" { "Skip to content" }
                header {
                    a.brand href="/admin" { "Sesame admin" }
                    @if let Some(user) = user {
                        nav aria-label="Console" {
                            ul {
                                @for (item, href, label) in NAVIGATION {
                                    li {
                                        a href=(href) aria-current=[(item == area).then_some("page")] { (label) }
                                    }
                                }
                            }
                        }
                        form method="post" action="/admin/sign-out" {
                            (csrf_field(user))
                            span { (user.actor.to_string()) " · " (user.role.as_str()) }
                            button type="submit" { "Sign out" }
                        }
                    }
                }
                main #main {
                    h1 { (title) }
                    (body)
                }
            }
        }
    }
}

/// The hidden CSRF field every form of a signed-in page carries.
pub fn csrf_field(user: &ConsoleUser) -> Markup {
    html! { input type="hidden" name="csrf" value=(user.csrf_token()); }
}

/// `2025-05-01 09:30 UTC`.
pub fn when(seconds: i64) -> String {
    OffsetDateTime::from_unix_timestamp(seconds)
        .ok()
        .and_then(|at| {
            at.format(format_description!(
                "[year]-[month]-[day] [hour]:[minute] UTC"
            ))
            .ok()
        })
        .unwrap_or_default()
}

/// An HTML answer with its status.
pub fn respond(status: StatusCode, markup: Markup) -> Response {
    (
        status,
        [(
            CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        )],
        markup.0,
    )
        .into_response()
}

/// A console failure, answered with an HTML page (never JSON, never a 500 for bad input).
#[derive(Debug)]
pub enum PageError {
    /// A service's error.
    Service(Error),
    /// A POST without this session's CSRF token, or one only an `admin` key may make.
    Forbidden(&'static str),
}

impl From<Error> for PageError {
    fn from(error: Error) -> Self {
        Self::Service(error)
    }
}

impl From<crate::store::StoreError> for PageError {
    fn from(error: crate::store::StoreError) -> Self {
        Self::Service(error.into())
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let (status, title, message) = match &self {
            Self::Forbidden(message) => (StatusCode::FORBIDDEN, "Forbidden", (*message).to_owned()),
            Self::Service(error) => {
                let title = match error.status() {
                    StatusCode::NOT_FOUND => "Not found",
                    StatusCode::TOO_MANY_REQUESTS => "Too many attempts",
                    StatusCode::SERVICE_UNAVAILABLE => "Unavailable",
                    StatusCode::INTERNAL_SERVER_ERROR => "Something went wrong",
                    _ => "That did not work",
                };
                if let Error::Internal(cause) = error {
                    tracing::error!(error = format!("{cause:#}"), "console request failed");
                }
                (error.status(), title, error.to_string())
            }
        };
        let body = html! {
            p.error role="alert" { (message) }
            p { a href="/admin" { "Back to the console" } }
        };
        let mut response = respond(status, page(title, None, Area::None, body));
        if let Self::Service(Error::RateLimited { retry_after }) = self {
            response
                .headers_mut()
                .insert(RETRY_AFTER, HeaderValue::from(retry_after));
        }
        response
    }
}

/// The stylesheet, cacheable for a year (its URL changes with its content).
pub async fn stylesheet() -> Response {
    (
        [
            (CONTENT_TYPE, "text/css; charset=utf-8"),
            (CACHE_CONTROL, "public, max-age=31536000, immutable"),
        ],
        STYLESHEET,
    )
        .into_response()
}

/// `text` as one URL path segment or query value (RFC 3986 unreserved characters kept, the
/// rest percent-encoded), for links built from ids an HR system chose.
pub fn encode(text: &str) -> String {
    let mut encoded = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

/// `303 See Other` to `location` (after a POST, the browser GETs the page).
pub fn see_other(location: &str) -> Result<Response, PageError> {
    let location = HeaderValue::from_str(location)
        .map_err(|err| PageError::Service(Error::Internal(err.into())))?;
    Ok((StatusCode::SEE_OTHER, [(LOCATION, location)]).into_response())
}
