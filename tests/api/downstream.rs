//! `sesame-verify` in a downstream API, against a live Sesame on the embedded default: fresh
//! tokens pass, revoked, forged and misdirected ones are refused, a key rotation is picked up,
//! a revocation is pushed within a second and a dropped stream misses nothing, and a stopped
//! Sesame leaves the cached keys working and the status degraded.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};
use sesame_verify::{Error, Verifier};

use crate::support::{
    Backend, FIXED_NUMBERS, ONE_POLL, POLL, Proxy, TestApp, call, claim, claims_of, feed_lists,
    following_the_feed, foreign_key_token, forge, keyed_with_the_public_key, keys_command, kid_of,
    new_kid, on_both_backends, serve_downstream, sesame, sesame_behind, spawn_app,
    stoppable_sesame, text, unsigned, until_published, within,
};

const EMPLOYEE: &str = "+447700900200";
/// A poll interval no test outlasts: only the stream can tell the verifier.
const NO_POLL: Duration = Duration::from_secs(3600);

on_both_backends!(a_dropped_stream_resumes_from_its_cursor_and_misses_nothing);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fresh_token_passes_and_its_claims_reach_the_handler() {
    let app = sesame(&[]).await;
    let response = app
        .put_employee(
            "E-1",
            &json!({"phone_number": EMPLOYEE, "name": "Ada Lovelace"}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let employee = app.login(EMPLOYEE).await;
    let employee = text(&employee, "access_token");
    let anonymous = app.login_fixed(FIXED_NUMBERS[0]).await;
    let anonymous = text(&anonymous, "access_token");
    let verifier = Verifier::builder(&app.base).build().await.unwrap();
    let api = serve_downstream(&verifier).await;

    let (status, _, body) = call(&api, "/orders", Some(employee)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["kind"], "employee");
    assert_eq!(body["user_id"], claims_of(employee)["user_id"]);
    assert!(body["user_id"].is_string());

    let (status, _, body) = call(&api, "/public", Some(anonymous)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["sub"], claim(anonymous, "sub").as_str());
    let (status, _, body) = call(&api, "/public", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["sub"], Value::Null, "no token: Option<Claims> is None");

    // Every typed claim is the token's.
    let claims = verifier.verify(employee).await.unwrap();
    let raw = claims_of(employee);
    assert_eq!(claims.sub, raw["sub"].as_str().unwrap());
    assert_eq!(claims.sid, raw["sid"].as_str().unwrap());
    assert_eq!(claims.jti, raw["jti"].as_str().unwrap());
    assert_eq!(claims.phone_number, EMPLOYEE);
    assert_eq!(claims.client_id, "sesame-mobile");
    assert_eq!(claims.expires_at, raw["exp"].as_i64().unwrap());
    assert!(claims.has_permission("employee", "full"));
    let status = verifier.status();
    assert!(!status.degraded && status.keys.fresh && status.revocations.is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_follow_rfc_6750_and_never_say_why() {
    let app = sesame(&[]).await;
    let anonymous = app.login_fixed(FIXED_NUMBERS[0]).await;
    let anonymous = text(&anonymous, "access_token");
    let verifier = Verifier::builder(&app.base).build().await.unwrap();
    let api = serve_downstream(&verifier).await;

    let (status, challenge, body) = call(&api, "/orders", Some(anonymous)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(
        challenge.as_deref(),
        Some(r#"Bearer error="insufficient_scope""#)
    );
    assert_eq!(body["error"], "insufficient_scope");

    // No credentials: a bare challenge (RFC 6750 §3.1), on a route that needs a token.
    let (status, challenge, body) = call(&api, "/orders", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(challenge.as_deref(), Some("Bearer"));
    assert_eq!(body["error"], "unauthorized");

    // A bad token is refused even on a public route, with one answer whatever is wrong.
    let mut claims = claims_of(anonymous);
    claims["aud"] = json!("someone-else");
    let wrong_audience = forge(&app, &claims, "at+jwt", None);
    let mut answers = Vec::new();
    for token in ["garbage", &unsigned(anonymous), &wrong_audience] {
        for path in ["/public", "/orders"] {
            let (status, challenge, body) = call(&api, path, Some(token)).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{path}");
            let challenge = challenge.unwrap();
            assert!(challenge.starts_with(r#"Bearer error="invalid_token""#));
            answers.push((challenge, body));
        }
    }
    assert!(
        answers.windows(2).all(|pair| pair[0] == pair[1]),
        "{answers:?}"
    );
    assert_eq!(answers[0].1["error"], "invalid_token");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_of_a_revoked_session_is_refused_within_one_poll() {
    let app = sesame(&[]).await;
    let key = app.api_key("introspect").await;
    let verifier = &following_the_feed(&app, &key).await;
    let pair = app.login_fixed(FIXED_NUMBERS[0]).await;
    let first = text(&pair, "access_token");
    let second = app.refreshed(text(&pair, "refresh_token")).await;
    let second = text(&second, "access_token");
    let other = app.login_fixed(FIXED_NUMBERS[1]).await;
    let other = text(&other, "access_token");
    for token in [first, second, other] {
        verifier.verify(token).await.unwrap();
    }

    // One token revoked: that token is refused, the rest of its session is not.
    let (sid, jti) = (claim(first, "sid"), claim(first, "jti"));
    let path = format!("/admin/v1/tokens/{jti}/revoke");
    assert_eq!(app.admin_post(&path).await.status(), StatusCode::NO_CONTENT);
    within(Duration::from_secs(10), "the feed lists the token", || {
        feed_lists(&app, &key, &sid, Some(&jti))
    })
    .await;
    let took = within(ONE_POLL, "the token is refused", || async move {
        matches!(verifier.verify(first).await, Err(Error::Revoked))
    })
    .await;
    println!("token refused {took:?} after the feed listed it");
    verifier.verify(second).await.unwrap();

    // The whole session, by logging out with its other token.
    app.logout(second).await;
    assert_eq!(claim(second, "sid"), sid);
    within(
        Duration::from_secs(10),
        "the feed lists the session",
        || feed_lists(&app, &key, &sid, None),
    )
    .await;
    let took = within(ONE_POLL, "the session is refused", || async move {
        matches!(verifier.verify(second).await, Err(Error::Revoked))
    })
    .await;
    println!("session refused {took:?} after the feed listed it");

    // Through the layer too; another session is untouched.
    let api = serve_downstream(verifier).await;
    let (status, _, _) = call(&api, "/public", Some(second)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _, _) = call(&api, "/public", Some(other)).await;
    assert_eq!(status, StatusCode::OK);
    let feed = verifier.status().revocations.unwrap();
    assert_eq!(feed.entries, 2);
    assert!(feed.last_error.is_none() && feed.cursor.is_some());
    assert!(feed.lag < Duration::from_secs(2), "{:?}", feed.lag);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotated_key_keeps_old_tokens_valid_and_new_ones_verify_after_the_refetch() {
    let app = sesame(&[]).await;
    let verifier = Verifier::builder(&app.base).build().await.unwrap();
    let old = app.login_fixed(FIXED_NUMBERS[0]).await;
    let old = text(&old, "access_token");
    verifier.verify(old).await.unwrap();

    // A kid starts at a whole second after the current key's (see tests/api/keys.rs).
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let kid = new_kid(&keys_command(
        &app.keys_dir,
        &["rotate", "--activate-in", "0"],
    ));
    until_published(&app.base, &kid).await;
    let new = app.login_fixed(FIXED_NUMBERS[1]).await;
    let new = text(&new, "access_token");
    assert_eq!(kid_of(new), kid);
    assert_ne!(kid_of(old), kid);

    let claims = verifier.verify(new).await.unwrap();
    assert_eq!(claims.sub, claim(new, "sub"));
    verifier.verify(old).await.unwrap();
    let status = verifier.status();
    assert!(!status.degraded && status.keys.fresh, "{status:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_and_misdirected_tokens_are_refused() {
    let app = sesame(&[]).await;
    let verifier = Verifier::builder(&app.base).build().await.unwrap();
    let pair = app.login_fixed(FIXED_NUMBERS[0]).await;
    let access = text(&pair, "access_token");
    let claims = claims_of(access);
    let now = claims["iat"].as_i64().unwrap();
    let with = |changes: &[(&str, Value)]| {
        let mut claims = claims.clone();
        for (name, value) in changes {
            claims[*name] = value.clone();
        }
        forge(&app, &claims, "at+jwt", None)
    };
    let [hs256_raw, hs256_encoded] = keyed_with_the_public_key(&app, access).await;
    let expired = [
        ("exp", json!(now - 3600)),
        ("iat", json!(now - 4500)),
        ("nbf", json!(now - 4500)),
    ];
    let cases = [
        (foreign_key_token(access), "a foreign key with the same kid"),
        (unsigned(access), "alg none"),
        (hs256_raw, "HS256 keyed with the public key"),
        (hs256_encoded, "HS256 keyed with the encoded public key"),
        (text(&pair, "refresh_token").to_owned(), "a refresh token"),
        (with(&[("aud", json!("someone-else"))]), "another audience"),
        (with(&expired), "expired"),
        (
            with(&[("exp", json!((now + 900).to_string()))]),
            "a string exp",
        ),
        (
            with(&[("iss", json!("https://evil.example"))]),
            "another issuer",
        ),
        (forge(&app, &claims, "JWT", None), "typ JWT"),
        (
            forge(&app, &claims, "at+jwt", Some("unknown")),
            "an unknown kid",
        ),
    ];
    for (token, why) in &cases {
        let outcome = verifier.verify(token).await;
        assert!(
            matches!(outcome, Err(Error::InvalidToken(_))),
            "{why}: {outcome:?}"
        );
    }
    // The leeway (30 s) lets a token that just expired through; the untouched one passes.
    let just_expired = with(&[("exp", json!(app.clock.now() - 10))]);
    verifier.verify(&just_expired).await.unwrap();
    verifier.verify(access).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_sesame_stopped_cached_keys_keep_working_and_the_status_says_degraded() {
    let (app, stop, serving) = stoppable_sesame().await;
    let key = app.api_key("introspect").await;
    let verifier = &following_the_feed(&app, &key).await;
    let pair = app.login_fixed(FIXED_NUMBERS[0]).await;
    let access = text(&pair, "access_token");
    let api = serve_downstream(verifier).await;
    assert_eq!(call(&api, "/payroll", Some(access)).await.0, StatusCode::OK);
    assert!(!verifier.status().degraded);

    stop.send(()).unwrap();
    serving.await.unwrap().unwrap();
    let stopped = Instant::now();
    within(
        Duration::from_secs(10),
        "the status says degraded",
        || async move { verifier.status().degraded },
    )
    .await;
    let status = verifier.status();
    let feed = status.revocations.unwrap();
    assert!(feed.last_error.is_some(), "{feed:?}");
    assert!(
        feed.lag >= stopped.elapsed().saturating_sub(POLL * 2),
        "{feed:?}"
    );

    // A new kid cannot be fetched: refused, and the key cache reports why.
    let unknown = forge(
        &app,
        &claims_of(access),
        "at+jwt",
        Some("rotated-while-down"),
    );
    assert!(matches!(
        verifier.verify(&unknown).await,
        Err(Error::InvalidToken(_))
    ));
    let keys = verifier.status().keys;
    assert!(keys.last_error.is_some() && keys.fresh, "{keys:?}");
    // The cached keys still verify, offline and through the layer.
    verifier.verify(access).await.unwrap();
    assert_eq!(call(&api, "/public", Some(access)).await.0, StatusCode::OK);
    // Introspection cannot be asked: fail closed.
    let (status, _, body) = call(&api, "/payroll", Some(access)).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(body["error"], "temporarily_unavailable");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn require_introspection_asks_sesame_on_every_request() {
    // A long feed lag: only introspection can know of the logout below.
    let app = sesame(&[("SESAME_REVOCATION_FEED_LAG", "600")]).await;
    let key = app.api_key("introspect").await;
    let verifier = Verifier::builder(&app.base)
        .introspection_key(&key)
        .build()
        .await
        .unwrap();
    let api = serve_downstream(&verifier).await;
    let pair = app.login_fixed(FIXED_NUMBERS[0]).await;
    let access = text(&pair, "access_token");
    assert_eq!(call(&api, "/payroll", Some(access)).await.0, StatusCode::OK);

    app.logout(access).await;
    let (status, challenge, _) = call(&api, "/payroll", Some(access)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(
        challenge
            .unwrap()
            .starts_with(r#"Bearer error="invalid_token""#)
    );
    // The offline check cannot know yet.
    assert_eq!(call(&api, "/public", Some(access)).await.0, StatusCode::OK);

    // Without an API key the guard refuses rather than skip the check.
    let keyless = Verifier::builder(&app.base).build().await.unwrap();
    let keyless = serve_downstream(&keyless).await;
    let fresh = app.login_fixed(FIXED_NUMBERS[1]).await;
    let (status, _, body) = call(&keyless, "/payroll", Some(text(&fresh, "access_token"))).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(body["error"], "server_error");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_verifier_does_not_start_without_the_right_issuer_or_its_keys() {
    // The test default issues tokens for http://127.0.0.1:8080 while listening elsewhere.
    let app = spawn_app(Backend::Embedded).await;
    let outcome = Verifier::builder(&app.base).build().await;
    assert!(matches!(outcome, Err(Error::Config(_))), "{outcome:?}");
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = closed.local_addr().unwrap();
    drop(closed);
    let outcome = Verifier::builder(format!("http://{address}")).build().await;
    assert!(matches!(outcome, Err(Error::Unavailable(_))), "{outcome:?}");
}

/// A verifier of the Sesame behind `proxy` that polls once an hour, once its stream is open.
async fn streaming(proxy: &Proxy, key: &str) -> Verifier {
    let verifier = Verifier::builder(format!("http://{}", proxy.address))
        .revocations(key)
        .poll_interval(NO_POLL)
        .build()
        .await
        .unwrap();
    within(Duration::from_secs(10), "the stream opens", || async {
        verifier.status().revocations.unwrap().streaming
    })
    .await;
    verifier
}

/// Logs a fixed number in; returns the access token.
async fn logged_in(app: &TestApp, number: &str) -> String {
    let pair = app.login_fixed(number).await;
    text(&pair, "access_token").to_owned()
}

/// Revokes the session of `access` over the admin API.
async fn revoke_session(app: &TestApp, access: &str) {
    let path = format!("/admin/v1/sessions/{}/revoke", claim(access, "sid"));
    assert_eq!(app.admin_post(&path).await.status(), StatusCode::NO_CONTENT);
}

async fn refused(verifier: &Verifier, access: &str) -> bool {
    matches!(verifier.verify(access).await, Err(Error::Revoked))
}

/// On Postgres each revocation wakes the streams as it commits (on SQLite a stream re-reads
/// every second, so there the bound would be that second plus the delivery).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revocation_is_pushed_to_the_verifier_within_a_second() {
    let proxy = Proxy::bind().await;
    let app = sesame_behind(&proxy, Backend::Production).await;
    let key = app.api_key("introspect").await;
    let verifier = &streaming(&proxy, &key).await;
    let access = &logged_in(&app, FIXED_NUMBERS[0]).await;
    let other = &logged_in(&app, FIXED_NUMBERS[1]).await;
    verifier.verify(access).await.unwrap();

    revoke_session(&app, access).await;
    let took = within(Duration::from_secs(1), "the token is refused", || {
        refused(verifier, access)
    })
    .await;
    println!("session refused {took:?} after its revocation");
    verifier.verify(other).await.unwrap();
    let feed = verifier.status().revocations.unwrap();
    assert!(feed.streaming && feed.last_error.is_none(), "{feed:?}");
}

async fn a_dropped_stream_resumes_from_its_cursor_and_misses_nothing(backend: Backend) {
    let proxy = Proxy::bind().await;
    let app = sesame_behind(&proxy, backend).await;
    let key = app.api_key("introspect").await;
    let verifier = &streaming(&proxy, &key).await;
    let first = &logged_in(&app, FIXED_NUMBERS[0]).await;
    revoke_session(&app, first).await;
    within(
        Duration::from_secs(5),
        "the first revocation is pushed",
        || refused(verifier, first),
    )
    .await;
    let cursor = verifier.status().revocations.unwrap().cursor.unwrap();

    // The connection is cut and stays refused while two sessions are revoked.
    proxy.cut();
    within(Duration::from_secs(10), "the drop is noticed", || async {
        !verifier.status().revocations.unwrap().streaming
    })
    .await;
    let missed = [
        logged_in(&app, FIXED_NUMBERS[1]).await,
        logged_in(&app, FIXED_NUMBERS[2]).await,
    ];
    let live = &logged_in(&app, FIXED_NUMBERS[0]).await;
    for access in &missed {
        verifier.verify(access).await.unwrap();
        revoke_session(&app, access).await;
    }
    let sent_before = proxy.request_lines().len();
    proxy.reopen();

    // The backoff is at most a few seconds this early; the poll is an hour away.
    for access in &missed {
        within(
            Duration::from_secs(10),
            "a missed revocation is replayed",
            || refused(verifier, access),
        )
        .await;
    }
    assert!(refused(verifier, first).await);
    verifier.verify(live).await.unwrap();
    let reconnected = proxy.request_lines()[sent_before..]
        .iter()
        .find(|line| line.contains("/v1/revocations/stream"))
        .cloned()
        .unwrap();
    assert!(
        reconnected.starts_with(&format!("GET /v1/revocations/stream?since={cursor} ")),
        "{reconnected}"
    );
    let feed = verifier.status().revocations.unwrap();
    assert!(feed.streaming && feed.last_error.is_none(), "{feed:?}");
}
