//! Signing in and out, the session cookie, and the checks every request passes: a signed-in
//! session for every page, and for every POST this session's CSRF token (and, for changes,
//! an `admin` key). Sign-in itself has no session yet: `SameSite=Strict` and a same-origin
//! `Sec-Fetch-Site` (else `Origin`/`Referer`) check stand in for the token (docs/contract-notes.md, "Admin console").

use std::net::IpAddr;

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request, State};
use axum::http::header::{COOKIE, HOST, LOCATION, ORIGIN, REFERER, SET_COOKIE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::layout::{Area, PageError, page, respond};
use crate::admin::ConsoleUser;
use crate::api::Client;
use crate::app::AppState;
use crate::config::Config;
use crate::error::Error;

const COOKIE_NAME: &str = "sesame_console";
/// With `Secure` the name says so (`__Secure-`); `__Host-` would need `Path=/`, and the
/// cookie stays on `/admin` so it never rides along with API requests.
const SECURE_COOKIE_NAME: &str = "__Secure-sesame_console";

/// Whether the cookie is `Secure`: always, unless the issuer is plain http on a loopback
/// address (development), where a browser would not send a `Secure` cookie back.
fn secure(config: &Config) -> bool {
    let Ok(issuer) = reqwest::Url::parse(&config.issuer) else {
        return true;
    };
    let host = issuer.host_str().unwrap_or_default();
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let loopback = host.eq_ignore_ascii_case("localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback());
    !(issuer.scheme() == "http" && loopback)
}

fn cookie_name(config: &Config) -> &'static str {
    if secure(config) {
        SECURE_COOKIE_NAME
    } else {
        COOKIE_NAME
    }
}

const SEC_FETCH_SITE: HeaderName = HeaderName::from_static("sec-fetch-site");

/// `Set-Cookie` for a session id (or, with `None`, the cookie's removal).
fn set_cookie(config: &Config, session_id: Option<&str>) -> Result<HeaderValue, PageError> {
    let mut cookie = match session_id {
        Some(id) => format!("{}={id}", cookie_name(config)),
        None => format!("{}=; Max-Age=0", cookie_name(config)),
    };
    cookie.push_str("; Path=/admin; HttpOnly; SameSite=Strict");
    if secure(config) {
        cookie.push_str("; Secure");
    }
    HeaderValue::from_str(&cookie).map_err(|err| PageError::Service(Error::Internal(err.into())))
}

/// The session id the request's cookie holds.
fn session_id<'a>(headers: &'a HeaderMap, config: &Config) -> Option<&'a str> {
    let name = cookie_name(config);
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
        .filter(|value| !value.is_empty())
}

/// A signed-in console user, of any role. Without a live session a page redirects to the
/// sign-in form, and a POST is `403`.
pub struct Console(pub ConsoleUser);

impl FromRequestParts<AppState> for Console {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let user = match session_id(&parts.headers, &state.config) {
            Some(id) => state
                .admin
                .console
                .session(id, state.clock.now())
                .await
                .map_err(|err| PageError::from(err).into_response())?,
            None => None,
        };
        match user {
            Some(user) => Ok(Self(user)),
            None if parts.method == Method::GET || parts.method == Method::HEAD => {
                Err(Redirect::to("/admin/sign-in").into_response())
            }
            None => Err(PageError::Forbidden(
                "You are not signed in, or your session has ended: sign in again.",
            )
            .into_response()),
        }
    }
}

/// Who may make a POST: anyone signed in (`ANY`), or only an `admin` key (`ADMIN`).
pub const ANY: bool = false;
pub const ADMIN: bool = true;

/// Refuses a POST without this session's CSRF token, or (for `admin_only`) from an
/// `auditor` key. Nothing has been done when it refuses.
pub fn authorize(
    user: &ConsoleUser,
    csrf: Option<&str>,
    admin_only: bool,
) -> Result<(), PageError> {
    if admin_only {
        require_admin(user)?;
    }
    match csrf {
        Some(token) if user.csrf_matches(token) => Ok(()),
        _ => Err(PageError::Forbidden(
            "This form has expired or did not come from this console: nothing was changed. \
             Go back, reload the page and try again.",
        )),
    }
}

/// Refuses what only an `admin` key may do (or see: the forms that change things).
pub fn require_admin(user: &ConsoleUser) -> Result<(), PageError> {
    if user.may_change() {
        Ok(())
    } else {
        Err(PageError::Forbidden(
            "This key is read-only (role auditor): it cannot change anything.",
        ))
    }
}

/// A form POSTed by a signed-in user, with this session's CSRF token; with `ADMIN_ONLY`,
/// only from an `admin` key. `T` is the form's other fields.
pub struct Posted<T, const ADMIN_ONLY: bool> {
    pub user: ConsoleUser,
    pub form: T,
}

#[derive(Deserialize)]
struct CsrfField {
    csrf: Option<String>,
}

impl<T, const ADMIN_ONLY: bool> FromRequest<AppState> for Posted<T, ADMIN_ONLY>
where
    T: DeserializeOwned,
{
    type Rejection = Response;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Response> {
        let (mut parts, body) = request.into_parts();
        let Console(user) = Console::from_request_parts(&mut parts, state).await?;
        let request = Request::from_parts(parts, body);
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(|_| bad_form("The form could not be read (is the file too large?)."))?;
        let csrf: CsrfField = parse_form(&bytes).map_err(IntoResponse::into_response)?;
        authorize(&user, csrf.csrf.as_deref(), ADMIN_ONLY).map_err(IntoResponse::into_response)?;
        let form = parse_form(&bytes).map_err(IntoResponse::into_response)?;
        Ok(Self { user, form })
    }
}

/// A urlencoded form body; a malformed one is a `400` page.
pub fn parse_form<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, PageError> {
    crate::api::hostile::screen_body(Some("application/x-www-form-urlencoded"), bytes)?;
    serde_urlencoded::from_bytes(bytes)
        .map_err(|err| PageError::Service(Error::InvalidRequest(format!("invalid form: {err}"))))
}

fn bad_form(message: &str) -> Response {
    PageError::Service(Error::InvalidRequest(message.to_owned())).into_response()
}

/// Whether a sign-in came from a page of this origin. Browsers say so in `Sec-Fetch-Site`;
/// without it, the host of `Origin` (else `Referer`) must be the request's `Host`. (Under
/// `Referrer-Policy: no-referrer` a browser sends `Origin: null`, but also `Sec-Fetch-Site`.)
/// A client that sends none of them is no browser being led by another site.
fn same_origin(headers: &HeaderMap) -> bool {
    let header = |name| {
        headers
            .get(name)
            .map(|value: &HeaderValue| value.to_str().unwrap_or(""))
    };
    if let Some(site) = header(SEC_FETCH_SITE) {
        return site == "same-origin";
    }
    let Some(source) = header(ORIGIN).or_else(|| header(REFERER)) else {
        return true;
    };
    let Some(host) = header(HOST) else {
        return false;
    };
    reqwest::Url::parse(source).is_ok_and(|url| {
        let authority = match (url.host_str(), url.port()) {
            (Some(name), Some(port)) => format!("{name}:{port}"),
            (Some(name), None) => name.to_owned(),
            (None, _) => return false,
        };
        authority.eq_ignore_ascii_case(host)
    })
}

pub async fn sign_in_page() -> Response {
    respond(StatusCode::OK, sign_in_form(None))
}

fn sign_in_form(problem: Option<&str>) -> maud::Markup {
    let body = html! {
        @if let Some(problem) = problem {
            p.error role="alert" { (problem) }
        }
        p { "Sign in with an API key of role " code { "admin" } " or " code { "auditor" }
            " (read-only). The key is sent once; the browser keeps only a session cookie." }
        form.stack method="post" action="/admin/sign-in" {
            label {
                "API key"
                input type="password" name="key" autocomplete="off" required autofocus;
            }
            div { button type="submit" { "Sign in" } }
        }
    };
    page("Sign in", None, Area::None, body)
}

#[derive(Deserialize)]
pub struct SignInForm {
    key: String,
}

pub async fn sign_in(
    State(state): State<AppState>,
    Client(client): Client,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, PageError> {
    if !same_origin(&headers) {
        return Err(PageError::Forbidden(
            "This sign-in did not come from this console's own page.",
        ));
    }
    let form: SignInForm = parse_form(&body)?;
    let now = state.clock.now();
    let signed_in = state
        .admin
        .console
        .sign_in(form.key.trim(), client.ip.as_deref(), now)
        .await;
    match signed_in {
        Ok(signed_in) => Ok((
            StatusCode::SEE_OTHER,
            [
                (
                    SET_COOKIE,
                    set_cookie(&state.config, Some(&signed_in.session_id))?,
                ),
                (LOCATION, HeaderValue::from_static("/admin/overview")),
            ],
        )
            .into_response()),
        Err(Error::Unauthorized) => Ok(respond(
            StatusCode::UNAUTHORIZED,
            sign_in_form(Some(
                "That key cannot sign in here: it is unknown, revoked, or not of role admin or auditor.",
            )),
        )),
        Err(other) => Err(other.into()),
    }
}

#[derive(Deserialize)]
pub struct NoFields {}

pub async fn sign_out(
    State(state): State<AppState>,
    Client(client): Client,
    Posted { user, .. }: Posted<NoFields, ANY>,
) -> Result<Response, PageError> {
    state
        .admin
        .console
        .sign_out(&user, client.ip.as_deref(), state.clock.now())
        .await?;
    Ok((
        StatusCode::SEE_OTHER,
        [
            (SET_COOKIE, set_cookie(&state.config, None)?),
            (LOCATION, HeaderValue::from_static("/admin/sign-in")),
        ],
    )
        .into_response())
}

/// `/admin`: the overview for a signed-in user (the sign-in form otherwise).
pub async fn home(_user: Console) -> Redirect {
    Redirect::to("/admin/overview")
}
