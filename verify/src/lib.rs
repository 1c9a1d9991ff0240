//! Verify Sesame access tokens in a downstream API.
//!
//! ```no_run
//! use axum::{Router, routing::get};
//! use sesame_verify::{Claims, Verifier, require_permission};
//!
//! async fn list(claims: Claims) -> String {
//!     format!("orders for employee {}", claims.user_id.unwrap_or_default())
//! }
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let verifier = Verifier::builder("https://login.example.com").audience("sesame").build().await?;
//! let app: Router = Router::new()
//!     .route("/orders", get(list).layer(require_permission("employee", "full")))
//!     .layer(verifier.layer());
//! # Ok(()) }
//! ```
//!
//! # What is checked
//! - **Keys.** `build` reads `/.well-known/openid-configuration` (whose `issuer` must be the
//!   one configured) and the JWKS at its `jwks_uri`, cached for the response's
//!   `Cache-Control: max-age` (30 s to a day; 5 min when absent) and refreshed in the
//!   background. A token naming an unknown `kid` refetches the JWKS, at most once per 30 s
//!   whatever the kid. The algorithm is the key's (its `alg`, or the only one its curve allows:
//!   EdDSA for Ed25519, ES256 for P-256), never the token header's; `alg: none` and HMAC never
//!   verify. The header's `jku`, `x5u`, `jwk` and `x5c` are ignored: keys come from the JWKS
//!   only. While Sesame is unreachable the cached keys keep verifying, and
//!   [`Verifier::status`] says `degraded`.
//! - **Token** (RFC 9068 §4, RFC 8725): `typ` is `at+jwt` (so refresh tokens, `refresh+jwt`,
//!   are refused), the header has a `kid` and no `crit`; the signature; `iss` equals the
//!   issuer exactly; `aud` holds the audience; `exp`, `nbf` and `iat` hold with a leeway of
//!   30 s (at most 5 min); every claim of an access token is present with its JSON type (a
//!   string `exp` is refused); claims Sesame may add later are ignored.
//! - **Revocation.** With [`Builder::revocations`], background tasks follow Sesame's
//!   revocation feed (`GET /v1/revocations`, `docs/contract-notes.md`) into an in-memory
//!   deny-list of sessions (`sid`) and tokens (`jti`), each kept until its `expires_at` (plus
//!   the leeway). `build` reads the whole feed first, so the list is complete from the first
//!   request; then the pushed stream (`GET /v1/revocations/stream`) brings each revocation
//!   within a second, and a poll every [`Builder::poll_interval`] stays the safety net. After
//!   an error either resumes from the last cursor with a capped exponential backoff. A lookup
//!   is two hash-map probes, however long the list.
//!   [`require_introspection`] asks Sesame on every request instead, for high-value routes.
//!
//! # In axum
//! [`Verifier::layer`] on the router verifies every request that carries a bearer token and
//! answers `401` for a bad one; requests without a token pass through, so public and
//! protected routes share a router. Handlers take [`Claims`] (`401` when the request had no
//! token) or `Option<Claims>` (`None` then). [`require_permission`] and
//! [`require_introspection`] guard single routes. Refusals follow RFC 6750 (see [`Error`]) and
//! never tell the caller why; the reason is logged at `debug` level.
//!
//! # Why not `jwt-authorizer`
//! The closest crate, `jwt-authorizer`, stops at axum 0.7 and has no revocation, so this
//! crate builds on `jsonwebtoken` (signatures) and `tower` (the layers) directly.

#![deny(clippy::unwrap_used, clippy::expect_used)]

mod builder;
mod claims;
mod error;
mod keys;
mod layer;
mod revocations;
mod status;
mod stream;
mod tasks;
#[cfg(test)]
mod testing;
mod verifier;

pub use builder::Builder;
pub use claims::{Claims, Kind};
pub use error::Error;
pub use layer::{AuthLayer, AuthService, require_introspection, require_permission};
pub use status::{KeysStatus, RevocationsStatus, Status};
pub use verifier::Verifier;
