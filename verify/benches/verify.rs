//! One EdDSA access token verified by a `Verifier` whose deny-list holds 100,000 revocations,
//! against bare `jsonwebtoken::decode` of the same token with the same key.
//!
//! `cargo bench -p sesame-verify` (figures in docs/performance.md). Times are the benchmark
//! thread's CPU time, not wall time: on a machine shared with other work, time spent waiting
//! for a core is not the code's cost, and this is what "verifications per second per core"
//! means.

use std::collections::BTreeMap;
use std::hint::black_box;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::extract::Query;
use axum::routing::get;
use axum::{Json, Router};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use criterion::measurement::{Measurement, ValueFormatter, WallTime};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use ring::signature::{Ed25519KeyPair, KeyPair};
use serde::Deserialize;
use serde_json::{Value, json};
use sesame_verify::Verifier;

const REVOKED: usize = 100_000;
const PAGE: usize = 1_000;
const KID: &str = "bench-key";

fn now() -> i64 {
    let elapsed = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    i64::try_from(elapsed.as_secs()).unwrap()
}

/// What a hand-written verifier of the same token decodes: every claim `Claims` carries.
#[derive(Deserialize)]
#[allow(dead_code)]
struct Bare {
    sub: String,
    sid: String,
    jti: String,
    exp: i64,
    client_id: String,
    phone_number: String,
    kind: String,
    permissions: BTreeMap<String, Vec<String>>,
    user_id: Option<String>,
}

#[derive(Deserialize)]
struct FeedQuery {
    since: Option<usize>,
}

/// Pages of `PAGE` revoked sessions until `REVOKED` have been served; the cursor is the page.
async fn feed(Query(query): Query<FeedQuery>) -> Json<Value> {
    let page = query.since.unwrap_or(0);
    let first = page * PAGE;
    let items: Vec<Value> = (first..(first + PAGE).min(REVOKED))
        .map(|n| json!({"sid": format!("revoked-{n}"), "revoked_at": 0, "expires_at": now() + 3_600}))
        .collect();
    let next = if items.is_empty() { page } else { page + 1 };
    Json(json!({ "items": items, "next": next.to_string() }))
}

/// Serves discovery, the JWKS with `jwk` and the feed; returns the issuer.
async fn serve(jwk: Value) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let issuer = format!("http://{}", listener.local_addr().unwrap());
    let metadata = json!({
        "issuer": issuer,
        "jwks_uri": format!("{issuer}/.well-known/jwks.json"),
    });
    let app = Router::new()
        .route(
            "/.well-known/openid-configuration",
            get(move || async move { Json(metadata) }),
        )
        .route(
            "/.well-known/jwks.json",
            get(move || async move { Json(json!({ "keys": [jwk] })) }),
        )
        .route("/v1/revocations", get(feed));
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    issuer
}

fn verify(c: &mut Criterion<ThreadCpuTime>) {
    let pkcs8 = Ed25519KeyPair::generate_pkcs8(&ring::rand::SystemRandom::new()).unwrap();
    let pair = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).unwrap();
    let public = pair.public_key().as_ref().to_vec();
    let jwk = json!({"kty": "OKP", "crv": "Ed25519", "kid": KID, "alg": "EdDSA", "use": "sig",
        "x": URL_SAFE_NO_PAD.encode(&public)});

    // One thread: the verifier's background tasks and the feed server only run inside block_on.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let issuer = runtime.block_on(serve(jwk));
    let verifier = runtime
        .block_on(
            Verifier::builder(&issuer)
                .revocations("bench-key")
                .poll_interval(Duration::from_secs(3_600))
                .build(),
        )
        .unwrap();
    let entries = verifier.status().revocations.unwrap().entries;
    assert_eq!(entries, REVOKED);
    let without_revocations = runtime
        .block_on(Verifier::builder(&issuer).build())
        .unwrap();

    let now = now();
    let claims = json!({
        "iss": issuer, "aud": "sesame", "sub": "5b0d7c52-3a43-4d39-9b8e-6c1f0f6a0c11",
        "exp": now + 900, "iat": now, "nbf": now,
        "jti": "0e3f2f36-6d0f-4c8a-9d3a-1b2c3d4e5f60", "sid": "9a8b7c6d-5e4f-4a3b-2c1d-0e9f8a7b6c5d",
        "client_id": "sesame-mobile", "phone_number": "+447700900123", "kind": "employee",
        "permissions": {"employee": ["full"]}, "user_id": "2f1e0d9c-8b7a-4695-8473-6251403f2e1d",
    });
    let mut header = Header::new(Algorithm::EdDSA);
    header.typ = Some("at+jwt".into());
    header.kid = Some(KID.into());
    let token =
        jsonwebtoken::encode(&header, &claims, &EncodingKey::from_ed_der(pkcs8.as_ref())).unwrap();
    runtime.block_on(verifier.verify(&token)).unwrap();

    let key = DecodingKey::from_ed_der(&public);
    let mut validation = Validation::new(Algorithm::EdDSA);
    validation.set_audience(&["sesame"]);
    validation.set_issuer(&[&issuer]);
    jsonwebtoken::decode::<Bare>(&token, &key, &validation).unwrap();

    let mut group = c.benchmark_group("verify one EdDSA access token");
    group.throughput(Throughput::Elements(1));
    group.bench_function("baseline: jsonwebtoken::decode", |b| {
        b.iter(|| jsonwebtoken::decode::<Bare>(black_box(&token), &key, &validation))
    });
    group.bench_function("Verifier::verify, 100,000 revocations", |b| {
        b.iter(|| runtime.block_on(verifier.verify(black_box(&token))))
    });
    group.bench_function("Verifier::verify, no deny-list", |b| {
        b.iter(|| runtime.block_on(without_revocations.verify(black_box(&token))))
    });
    group.finish();
}

/// CPU time of the calling thread (`CLOCK_THREAD_CPUTIME_ID`), formatted like wall time.
struct ThreadCpuTime(WallTime);

fn thread_cpu_time() -> Duration {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `now` is a valid timespec for the call to fill in.
    let status = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut now) };
    assert_eq!(status, 0, "clock_gettime");
    Duration::new(
        now.tv_sec.try_into().unwrap(),
        now.tv_nsec.try_into().unwrap(),
    )
}

impl Measurement for ThreadCpuTime {
    type Intermediate = Duration;
    type Value = Duration;

    fn start(&self) -> Duration {
        thread_cpu_time()
    }
    fn end(&self, start: Duration) -> Duration {
        thread_cpu_time().saturating_sub(start)
    }
    fn add(&self, v1: &Duration, v2: &Duration) -> Duration {
        *v1 + *v2
    }
    fn zero(&self) -> Duration {
        Duration::ZERO
    }
    fn to_f64(&self, value: &Duration) -> f64 {
        value.as_nanos() as f64
    }
    fn formatter(&self) -> &dyn ValueFormatter {
        self.0.formatter()
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().with_measurement(ThreadCpuTime(WallTime));
    targets = verify
}
criterion_main!(benches);
