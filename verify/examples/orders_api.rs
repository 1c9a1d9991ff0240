//! A downstream API that trusts Sesame's logins: `GET /public` answers anyone (and says who is
//! calling when a token comes along), `GET /orders` answers employees only, `GET /health`
//! reports the verifier's status. The README's "Downstream APIs" section walks through it.
//!
//! ```sh
//! SESAME_ISSUER=http://127.0.0.1:8080 SESAME_INTROSPECT_KEY=sesame_… \
//!   cargo run -p sesame-verify --example orders_api
//! ```
//!
//! `SESAME_ISSUER` defaults to Sesame's own default; without `SESAME_INTROSPECT_KEY` (an API
//! key of role `introspect`) revoked sessions are not refused before their tokens expire.
//! `ORDERS_LISTEN` (default `127.0.0.1:9000`) is where this API listens.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};
use sesame_verify::{Claims, Verifier, require_permission};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // `debug` for this crate shows why each refused token was refused.
    let filter = std::env::var("RUST_LOG").unwrap_or_else(|_| "info,sesame_verify=debug".into());
    tracing_subscriber::fmt().with_env_filter(filter).init();

    let issuer = std::env::var("SESAME_ISSUER").unwrap_or_else(|_| "http://127.0.0.1:8080".into());
    let mut builder = Verifier::builder(issuer);
    if let Ok(key) = std::env::var("SESAME_INTROSPECT_KEY") {
        builder = builder.revocations(key);
    }
    let verifier = builder.build().await?;

    let app = Router::new()
        .route("/public", get(public))
        .route(
            "/orders",
            get(orders).layer(require_permission("employee", "full")),
        )
        .route("/health", get(health))
        .with_state(verifier.clone())
        .layer(verifier.layer());
    let listen = std::env::var("ORDERS_LISTEN").unwrap_or_else(|_| "127.0.0.1:9000".into());
    let listener = tokio::net::TcpListener::bind(&listen).await?;
    tracing::info!("orders API on http://{listen}");
    axum::serve(listener, app).await?;
    Ok(())
}

/// Anyone; `claims` is `None` without a token (a bad token never gets here: `401`).
async fn public(claims: Option<Claims>) -> Json<Value> {
    Json(match claims {
        Some(claims) => json!({ "hello": claims.phone_number, "kind": claims.kind }),
        None => json!({ "hello": "stranger" }),
    })
}

/// Employees only: `require_permission` has answered everyone else.
async fn orders(claims: Claims) -> Json<Value> {
    Json(json!({
        "employee": claims.user_id,
        "orders": [{ "id": 1, "item": "sesame seeds", "quantity": 3 }],
    }))
}

/// `503` while Sesame is unreachable: tokens still verify with the cached keys, but new keys
/// and revocations are not seen.
async fn health(State(verifier): State<Verifier>) -> (StatusCode, Json<Value>) {
    let status = verifier.status();
    let revocations = status.revocations.map(|feed| {
        json!({ "lag_seconds": feed.lag.as_secs(), "entries": feed.entries, "error": feed.last_error })
    });
    let code = if status.degraded {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::OK
    };
    let body = json!({
        "degraded": status.degraded,
        "keys": { "fresh": status.keys.fresh, "error": status.keys.last_error },
        "revocations": revocations,
    });
    (code, Json(body))
}
