//! The tower layers for axum, and the `Claims` extractors.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::extract::{FromRequestParts, OptionalFromRequestParts, Request};
use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use tower::{Layer, Service};

use crate::claims::Claims;
use crate::error::{Error, Result};
use crate::verifier::Verifier;

/// What a layer checks before the request reaches the route.
enum Check {
    Authenticate(Verifier),
    Permission { resource: String, action: String },
    Introspection,
}

/// A tower [`Layer`] from [`Verifier::layer`], [`require_permission`] or
/// [`require_introspection`].
///
/// [`Verifier::layer`] goes on the whole router. A request with a bearer token is verified:
/// an invalid, expired or revoked token is answered `401` there and then; a valid one's
/// [`Claims`] reach the handlers. A request without a token passes through unauthenticated,
/// so public routes can share the router: extracting [`Claims`] answers `401` for it, and
/// `Option<Claims>` is `None`. The guards go on single routes, inside it.
#[derive(Clone)]
pub struct AuthLayer {
    check: Arc<Check>,
}

impl AuthLayer {
    pub(crate) fn authenticate(verifier: Verifier) -> Self {
        Self::new(Check::Authenticate(verifier))
    }

    fn new(check: Check) -> Self {
        Self {
            check: Arc::new(check),
        }
    }
}

/// A guard for routes that need a permission, e.g. `require_permission("employee", "full")`
/// for employees only: `403 insufficient_scope` for a token without it, `401` without a
/// token. Use it inside [`Verifier::layer`].
///
/// ```
/// use axum::{Router, routing::get};
/// use sesame_verify::{Claims, require_permission};
///
/// async fn list(claims: Claims) -> String {
///     format!("orders of {}", claims.user_id.unwrap_or_default())
/// }
///
/// let orders: Router = Router::new()
///     .route("/orders", get(list).layer(require_permission("employee", "full")));
/// ```
pub fn require_permission(resource: impl Into<String>, action: impl Into<String>) -> AuthLayer {
    AuthLayer::new(Check::Permission {
        resource: resource.into(),
        action: action.into(),
    })
}

/// A guard for high-value routes: besides the offline checks, asks Sesame
/// (`POST /oauth/introspect`) on every request whether the token is still live, so a
/// revocation counts at once rather than at the next feed poll. Refuses with `401` unless
/// Sesame answers `active` for an access token, and fails closed with `503` when Sesame
/// cannot be asked. Needs the API key of [`Builder::revocations`](crate::Builder::revocations)
/// or [`Builder::introspection_key`](crate::Builder::introspection_key) (`500` otherwise).
///
/// ```
/// use axum::{Router, routing::post};
/// use sesame_verify::{Claims, require_introspection};
///
/// async fn refund(claims: Claims) -> &'static str {
///     "refunded"
/// }
///
/// let payments: Router = Router::new()
///     .route("/refunds", post(refund).layer(require_introspection()));
/// ```
pub fn require_introspection() -> AuthLayer {
    AuthLayer::new(Check::Introspection)
}

impl<S> Layer<S> for AuthLayer {
    type Service = AuthService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        AuthService {
            inner,
            check: self.check.clone(),
        }
    }
}

/// The service an [`AuthLayer`] wraps a route in.
#[derive(Clone)]
pub struct AuthService<S> {
    inner: S,
    check: Arc<Check>,
}

impl<S> Service<Request> for AuthService<S>
where
    S: Service<Request, Response = Response> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request) -> Self::Future {
        // The clone that was polled ready serves this request (tower's usual pattern).
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let check = self.check.clone();
        Box::pin(async move {
            match check.apply(&mut request).await {
                Ok(()) => inner.call(request).await,
                Err(error) => Ok(error.into_response()),
            }
        })
    }
}

/// What [`Verifier::layer`] leaves for the guards and extractors of an authenticated request.
#[derive(Clone)]
struct Authenticated {
    claims: Claims,
    verifier: Verifier,
}

/// The bearer token of `Authorization` (RFC 6750 §2.1): `None` without one (another scheme
/// counts as none), `Err` when it is malformed.
fn bearer(headers: &HeaderMap) -> Option<Result<&str>> {
    let value = headers.get(AUTHORIZATION)?;
    let Ok(value) = value.to_str() else {
        return Some(Err(Error::InvalidToken(
            "Authorization is not ASCII".into(),
        )));
    };
    let (scheme, token) = value.split_once(' ').unwrap_or((value, ""));
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    let token = token.trim();
    if token.is_empty() || token.contains(' ') {
        return Some(Err(Error::InvalidToken("a malformed bearer token".into())));
    }
    Some(Ok(token))
}

fn authenticated(request: &Request) -> Result<&Authenticated> {
    request
        .extensions()
        .get::<Authenticated>()
        .ok_or(Error::MissingToken)
}

impl Check {
    async fn apply(&self, request: &mut Request) -> Result<()> {
        match self {
            Self::Authenticate(verifier) => {
                let claims = match bearer(request.headers()) {
                    None => return Ok(()),
                    Some(token) => verifier.verify(token?).await?,
                };
                let verifier = verifier.clone();
                request
                    .extensions_mut()
                    .insert(Authenticated { claims, verifier });
                Ok(())
            }
            Self::Permission { resource, action } => {
                if authenticated(request)?
                    .claims
                    .has_permission(resource, action)
                {
                    Ok(())
                } else {
                    Err(Error::InsufficientScope(format!("{resource}:{action}")))
                }
            }
            Self::Introspection => {
                let verifier = &authenticated(request)?.verifier;
                match bearer(request.headers()) {
                    Some(Ok(token)) => verifier.introspect(token).await,
                    _ => Err(Error::MissingToken),
                }
            }
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Claims {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self> {
        parts
            .extensions
            .get::<Authenticated>()
            .map(|authenticated| authenticated.claims.clone())
            .ok_or(Error::MissingToken)
    }
}

impl<S: Send + Sync> OptionalFromRequestParts<S> for Claims {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Option<Self>, Infallible> {
        Ok(parts
            .extensions
            .get::<Authenticated>()
            .map(|authenticated| authenticated.claims.clone()))
    }
}
