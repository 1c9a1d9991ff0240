//! Operations: readiness, metrics, OpenAPI, HTTP hygiene (docs/contract-notes.md, "Operations").

use std::collections::BTreeSet;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use sqlx::Connection;

use crate::support::{
    ADMIN_KEY, Backend, Proxy, SesameProcess, Sink, TestApp, assert_error, fresh_postgres_database,
    on_both_backends, postgres_url, sample, scrape, spawn_app, spawn_app_with,
};

on_both_backends!(ready_when_dependencies_answer, metrics_move_with_traffic);

async fn get(app: &TestApp, path: &str) -> reqwest::Response {
    app.client.get(app.url(path)).send().await.unwrap()
}

async fn ready_when_dependencies_answer(backend: Backend) {
    let app = spawn_app(backend).await;
    let response = get(&app, "/readyz").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.json::<Value>().await.unwrap(),
        json!({"status": "ok"})
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_is_503_when_the_database_is_unreachable() {
    let app = spawn_app(Backend::Production).await;
    assert_eq!(get(&app, "/readyz").await.status(), StatusCode::OK);
    let url = &app.vars["SESAME_DATABASE_URL"];
    let name = url.rsplit('/').next().unwrap();
    let mut admin = sqlx::PgConnection::connect(&postgres_url()).await.unwrap();
    sqlx::query(&format!("drop database {name} with (force)"))
        .execute(&mut admin)
        .await
        .unwrap();

    assert_error(
        get(&app, "/readyz").await,
        StatusCode::SERVICE_UNAVAILABLE,
        "temporarily_unavailable",
    )
    .await;
    // Liveness is another question: the process still runs.
    assert_eq!(get(&app, "/healthz").await.status(), StatusCode::OK);
}

/// A node starting while Postgres is slow to answer (itself starting, failing over, or on a
/// loaded host) waits for its first connection, longer than a request's 750 ms wait. The
/// proxy in front of Postgres takes connections but answers none for 1.5 s.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_starts_once_a_slow_postgres_answers() {
    let mut database = reqwest::Url::parse(&fresh_postgres_database().await).unwrap();
    let postgres = tokio::net::lookup_host((
        database.host_str().unwrap().to_owned(),
        database.port().unwrap_or(5432),
    ))
    .await
    .unwrap()
    .next()
    .unwrap();
    let proxy = Proxy::bind().await;
    database.set_port(Some(proxy.address.port())).unwrap();
    database.set_ip_host(proxy.address.ip()).unwrap();
    let starting = tokio::spawn(async move {
        spawn_app_with(
            Backend::Production,
            &[("SESAME_DATABASE_URL", database.as_str())],
        )
        .await
    });

    tokio::time::sleep(Duration::from_millis(1_500)).await;
    assert!(!starting.is_finished(), "the node waits for Postgres");
    proxy.forward_to(&format!("http://{postgres}"));
    let app = starting
        .await
        .expect("the node starts once Postgres answers");
    assert_eq!(get(&app, "/readyz").await.status(), StatusCode::OK);
}

/// Pooled connections are reused without a ping (only one idle for 10 s is pinged first), so a
/// connection that Postgres terminated fails the next request that draws it: with a retryable
/// 503, never a 500, and the pool replaces it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_terminated_database_connection_costs_a_503_and_the_pool_recovers() {
    let app = spawn_app_with(
        Backend::Production,
        &[("SESAME_DATABASE_MAX_CONNECTIONS", "2")],
    )
    .await;
    let list_keys = || {
        app.client
            .get(app.url("/admin/v1/api-keys"))
            .bearer_auth(ADMIN_KEY)
            .send()
    };
    assert_eq!(list_keys().await.unwrap().status(), StatusCode::OK);
    let name = app.vars["SESAME_DATABASE_URL"].rsplit('/').next().unwrap();
    let mut admin = sqlx::PgConnection::connect(&postgres_url()).await.unwrap();
    let terminated: i64 = sqlx::query_scalar(
        "select count(*) from (select pg_terminate_backend(pid) from pg_stat_activity
         where datname = $1 and pid <> pg_backend_pid()) as terminated",
    )
    .bind(name)
    .fetch_one(&mut admin)
    .await
    .unwrap();
    assert!(terminated >= 1);

    let mut statuses = Vec::new();
    for _ in 0..6 {
        let response = list_keys().await.unwrap();
        if response.status() != StatusCode::OK {
            statuses.push(response.status());
            assert_error(
                response,
                StatusCode::SERVICE_UNAVAILABLE,
                "temporarily_unavailable",
            )
            .await;
        } else {
            statuses.push(StatusCode::OK);
        }
    }
    // At most one failure per pooled connection, then every request is served again.
    let failures = statuses.iter().filter(|s| **s != StatusCode::OK).count();
    assert!(failures <= 2, "{statuses:?}");
    assert!(
        statuses[2..].iter().all(|s| *s == StatusCode::OK),
        "{statuses:?}"
    );
}

/// `POST /oauth/token` with an OTP grant, expecting `status`.
async fn exchange(sesame: &SesameProcess, number: &str, code: &str, status: StatusCode) {
    let response = sesame
        .client
        .post(sesame.url("/oauth/token"))
        .form(&[
            ("grant_type", "otp"),
            ("phone_number", number),
            ("code", code),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), status);
}

// The metrics recorder is global to a process, and this test process runs many apps at once:
// the counters are read from a `sesame` process of this test's own, which only this test's
// traffic moves, so every delta is exact.
async fn metrics_move_with_traffic(backend: Backend) {
    let sesame = SesameProcess::spawn(backend).await;
    let before = scrape(&sesame.client, &sesame.metrics_base).await;
    let healthz = [
        "sesame_http_requests_total",
        "route=\"/healthz\"",
        "status=\"200\"",
        "method=\"GET\"",
    ];
    for _ in 0..3 {
        let response = sesame
            .client
            .get(sesame.url("/healthz"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
    }
    let number = "+447700900123";
    let response = sesame
        .client
        .post(sesame.url("/v1/otp/start"))
        .json(&json!({ "phone_number": number }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let code = sesame.sink.last_code(number);
    exchange(&sesame, number, &code, StatusCode::OK).await;
    // The challenge is used up: the same code now finds none.
    exchange(&sesame, number, &code, StatusCode::BAD_REQUEST).await;
    let after = scrape(&sesame.client, &sesame.metrics_base).await;

    let delta =
        |name: &str, labels: &[&str]| sample(&after, name, labels) - sample(&before, name, labels);
    assert_eq!(delta(healthz[0], &healthz[1..]), 3.0, "{after}");
    for (status, count) in [("200", 1.0), ("400", 1.0)] {
        let labels = ["route=\"/oauth/token\"", &format!("status=\"{status}\"")];
        assert_eq!(
            delta("sesame_http_requests_total", &labels),
            count,
            "{after}"
        );
    }
    assert_eq!(
        delta(
            "sesame_http_request_duration_seconds_count",
            &["route=\"/v1/otp/start\"", "status=\"202\""]
        ),
        1.0,
        "latency histogram per route and status: {after}"
    );
    assert!(after.contains("sesame_http_request_duration_seconds_bucket{"));
    assert!(after.contains("# TYPE sesame_http_request_duration_seconds histogram"));
    assert!(after.contains("# HELP sesame_verifications_total "));
    let outcome = |name: &str| format!("outcome=\"{name}\"");
    assert_eq!(
        delta("sesame_verifications_total", &[&outcome("accepted")]),
        1.0
    );
    assert_eq!(
        delta("sesame_verifications_total", &[&outcome("no_challenge")]),
        1.0
    );
    assert_eq!(delta("sesame_verifications_total", &[]), 2.0, "{after}");
    assert_eq!(delta("sesame_tokens_issued_total", &["grant=\"otp\""]), 1.0);
    assert_eq!(delta("sesame_tokens_issued_total", &[]), 1.0, "{after}");
}

/// Metrics are read on their own listener only: a caller of the service cannot diff them
/// around its own requests.
#[tokio::test]
async fn metrics_are_served_on_their_own_listener_only() {
    let app = spawn_app(Backend::Embedded).await;
    let metrics = app
        .metrics_base
        .as_ref()
        .expect("the metrics listener is on");
    assert!(
        scrape(&app.client, metrics)
            .await
            .contains("sesame_http_requests_total")
    );
    assert_error(
        get(&app, "/metrics").await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    let elsewhere = app
        .client
        .get(format!("{metrics}/readyz"))
        .send()
        .await
        .unwrap();
    assert_error(elsewhere, StatusCode::NOT_FOUND, "not_found").await;

    let off = spawn_app_with(Backend::Embedded, &[("SESAME_METRICS_LISTEN", "")]).await;
    assert!(off.metrics_base.is_none());
    assert_error(
        get(&off, "/metrics").await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
}

/// Every operation the contract names. The router and the document are built from the same
/// declarations, so what the document lists is what the router serves.
const CONTRACT_OPERATIONS: [&str; 30] = [
    "POST /v1/otp/start",
    "POST /oauth/token",
    "POST /oauth/revoke",
    "POST /v1/logout",
    "GET /v1/me",
    "GET /.well-known/jwks.json",
    "GET /.well-known/openid-configuration",
    "POST /oauth/introspect",
    "GET /v1/revocations",
    "GET /v1/revocations/stream",
    "GET /admin/v1/employees",
    "PUT /admin/v1/employees/{external_id}",
    "POST /admin/v1/employees/{external_id}/disable",
    "POST /admin/v1/employees/import",
    "GET /admin/v1/identities/{sub}/sessions",
    "POST /admin/v1/identities/{sub}/revoke",
    "POST /admin/v1/sessions/{sid}/revoke",
    "POST /admin/v1/tokens/{jti}/revoke",
    "POST /admin/v1/numbers/{phone_number}/unlock",
    "GET /admin/v1/audit",
    "GET /admin/v1/api-keys",
    "POST /admin/v1/api-keys",
    "DELETE /admin/v1/api-keys/{id}",
    "PATCH /admin/v1/api-keys/{id}",
    "GET /healthz",
    "GET /readyz",
    "GET /openapi.json",
    // The demo page, on by default in development.
    "GET /demo",
    "GET /demo/demo.js",
    "GET /demo/demo.css",
];

#[tokio::test]
async fn every_route_of_the_contract_is_documented_in_openapi() {
    let app = spawn_app(Backend::Embedded).await;
    let response = get(&app, "/openapi.json").await;
    assert_eq!(response.status(), StatusCode::OK);
    let document: Value = response.json().await.unwrap();
    assert!(document["openapi"].as_str().unwrap().starts_with("3.1"));
    let documented: BTreeSet<String> = document["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, operations)| {
            let methods = operations.as_object().unwrap().keys();
            methods.map(move |method| format!("{} {path}", method.to_uppercase()))
        })
        .collect();
    let contract: BTreeSet<String> = CONTRACT_OPERATIONS.map(str::to_owned).into();
    assert_eq!(documented, contract);

    // Every operation documents a response, and error responses use the shared error shape.
    let error_ref = json!({"$ref": "#/components/schemas/ErrorBody"});
    let start = &document["paths"]["/v1/otp/start"]["post"];
    assert_eq!(
        start["responses"]["400"]["content"]["application/json"]["schema"],
        error_ref
    );
    assert!(start["requestBody"].is_object());
    let stream = &document["paths"]["/v1/revocations/stream"]["get"]["responses"]["200"];
    assert!(
        stream["content"]["text/event-stream"].is_object(),
        "{stream}"
    );
    let token = &document["paths"]["/oauth/token"]["post"]["requestBody"]["content"];
    assert!(token["application/x-www-form-urlencoded"].is_object());
    for (path, operations) in document["paths"].as_object().unwrap() {
        for (method, operation) in operations.as_object().unwrap() {
            let responses = operation["responses"].as_object().unwrap();
            assert!(!responses.is_empty(), "{method} {path}");
            for (status, response) in responses {
                if status.starts_with('4') || status.starts_with('5') {
                    assert_eq!(
                        response["content"]["application/json"]["schema"], error_ref,
                        "{method} {path} {status}"
                    );
                }
            }
        }
    }
    assert_eq!(
        document["components"]["schemas"]["ErrorBody"]["required"],
        json!(["error", "error_description"])
    );
}

#[tokio::test]
async fn responses_carry_security_headers_and_cache_policy() {
    let app = spawn_app(Backend::Embedded).await;
    for path in ["/healthz", "/v1/me", "/nowhere"] {
        let response = get(&app, path).await;
        let headers = response.headers();
        assert_eq!(headers["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(headers["referrer-policy"], "no-referrer", "{path}");
        assert_eq!(headers["x-frame-options"], "DENY", "{path}");
        assert_eq!(headers["cache-control"], "no-store", "{path}");
        assert!(
            headers.get("strict-transport-security").is_none(),
            "http issuer: {path}"
        );
        assert!(headers.get("x-request-id").is_some(), "{path}");
    }
    for path in [
        "/.well-known/jwks.json",
        "/.well-known/openid-configuration",
    ] {
        let response = get(&app, path).await;
        let cache = response.headers()["cache-control"].to_str().unwrap();
        assert!(
            cache.contains("max-age=") && !cache.contains("no-store"),
            "{path}: {cache}"
        );
    }

    let https = spawn_app_with(
        Backend::Embedded,
        &[("SESAME_ISSUER", "https://login.example.com")],
    )
    .await;
    let response = get(&https, "/healthz").await;
    assert!(
        response.headers()["strict-transport-security"]
            .to_str()
            .unwrap()
            .starts_with("max-age=")
    );
}

async fn preflight(app: &TestApp, origin: &str) -> reqwest::Response {
    app.client
        .request(reqwest::Method::OPTIONS, app.url("/oauth/token"))
        .header("origin", origin)
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "content-type")
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn cors_is_off_by_default_and_allows_configured_origins() {
    let app = spawn_app(Backend::Embedded).await;
    let response = preflight(&app, "https://app.example.com").await;
    assert!(
        response
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );

    let app = spawn_app_with(
        Backend::Embedded,
        &[(
            "SESAME_CORS_ORIGINS",
            "https://app.example.com, https://admin.example.com",
        )],
    )
    .await;
    let response = preflight(&app, "https://app.example.com").await;
    assert!(response.status().is_success());
    assert_eq!(
        response.headers()["access-control-allow-origin"],
        "https://app.example.com"
    );
    let methods = response.headers()["access-control-allow-methods"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(methods.contains("POST"), "{methods}");
    let response = preflight(&app, "https://evil.example.net").await;
    assert!(
        response
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );
}

/// Browser apps send their tokens in the `Authorization` header, never as cookies: CORS must
/// never let a page make credentialed requests, for allowed origins included.
#[tokio::test]
async fn cors_allows_listed_origins_and_never_credentials() {
    let app = spawn_app_with(
        Backend::Embedded,
        &[("SESAME_CORS_ORIGINS", "https://app.example.com")],
    )
    .await;
    let response = preflight(&app, "https://app.example.com").await;
    assert!(response.status().is_success());
    let headers = response.headers();
    assert_eq!(
        headers["access-control-allow-origin"],
        "https://app.example.com"
    );
    let allowed = headers["access-control-allow-headers"]
        .to_str()
        .unwrap()
        .to_ascii_lowercase();
    assert!(allowed.contains("content-type"), "{allowed}");
    assert!(allowed.contains("authorization"), "{allowed}");
    assert!(headers.get("access-control-allow-credentials").is_none());

    // The actual request gets the origin back, and no credentials either.
    let response = app
        .client
        .post(app.url("/oauth/token"))
        .header("origin", "https://app.example.com")
        .form(&[("grant_type", "refresh_token"), ("refresh_token", "x")])
        .send()
        .await
        .unwrap();
    let headers = response.headers();
    assert_eq!(
        headers["access-control-allow-origin"],
        "https://app.example.com"
    );
    assert!(headers.get("access-control-allow-credentials").is_none());

    for origin in ["https://evil.example.net", "null"] {
        let response = preflight(&app, origin).await;
        let cors: Vec<_> = response
            .headers()
            .keys()
            .filter(|name| name.as_str().starts_with("access-control-"))
            .collect();
        assert!(cors.is_empty(), "{origin}: {cors:?}");
    }
}

#[tokio::test]
async fn a_request_over_the_deadline_is_a_json_503() {
    let slow = Sink::slow(Duration::from_secs(3));
    let url = slow.spawn().await;
    let app = spawn_app_with(
        Backend::Embedded,
        &[
            ("SESAME_SMS_WEBHOOK_URL", url.as_str()),
            ("SESAME_REQUEST_TIMEOUT", "1"),
        ],
    )
    .await;
    let response = app.start_login("+447700900123").await;
    assert!(response.headers().get("x-request-id").is_some());
    assert_error(
        response,
        StatusCode::SERVICE_UNAVAILABLE,
        "temporarily_unavailable",
    )
    .await;
    assert_eq!(slow.messages().len(), 1, "the request reached the provider");
}
