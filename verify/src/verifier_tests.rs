use std::time::Duration;

use axum::http::StatusCode;
use serde_json::{Value, json};

use super::*;
use crate::testing::{API_KEY, FakeSesame, Reply, TestKey, claims};

async fn verifier(fake: &FakeSesame) -> Verifier {
    Verifier::builder(&fake.issuer).build().await.unwrap()
}

fn is_invalid(outcome: Result<Claims>) -> bool {
    matches!(outcome, Err(Error::InvalidToken(_)))
}

#[tokio::test]
async fn an_unknown_kid_refetches_the_keys_at_most_once_per_30_seconds() {
    let first = TestKey::new("k1");
    let fake = FakeSesame::spawn(&[&first], vec![]).await;
    let verifier = verifier(&fake).await;
    assert_eq!(fake.jwks_fetches(), 1);
    let token = |key: &TestKey| key.sign(&claims(&fake.issuer, "s1", "t1"));
    assert!(verifier.verify(&token(&first)).await.is_ok());
    assert_eq!(fake.jwks_fetches(), 1, "a known kid costs no fetch");

    // A rotated key is fetched when a token first names it.
    let rotated = TestKey::new("k2");
    fake.publish(&rotated);
    assert!(verifier.verify(&token(&rotated)).await.is_ok());
    assert_eq!(fake.jwks_fetches(), 2);

    // Another unknown kid right after: no fetch, even once the key is published.
    let third = TestKey::new("k3");
    assert!(is_invalid(verifier.verify(&token(&third)).await));
    fake.publish(&third);
    assert!(is_invalid(verifier.verify(&token(&third)).await));
    assert_eq!(fake.jwks_fetches(), 2);
    assert!(verifier.verify(&token(&first)).await.is_ok());
    assert!(!verifier.status().degraded);
}

#[tokio::test]
async fn the_header_must_name_an_access_token_and_a_key() {
    let key = TestKey::new("k1");
    let fake = FakeSesame::spawn(&[&key], vec![]).await;
    let verifier = verifier(&fake).await;
    let payload = claims(&fake.issuer, "s1", "t1");
    let verify = |header: Value| {
        let token = key.sign_with(&header, &payload);
        let verifier = verifier.clone();
        async move { verifier.verify(&token).await }
    };
    for typ in ["at+jwt", "AT+JWT", "application/at+jwt"] {
        let header = json!({"alg": "EdDSA", "kid": "k1", "typ": typ});
        assert!(verify(header).await.is_ok(), "{typ}");
    }
    let refused = [
        json!({"alg": "EdDSA", "kid": "k1"}),
        json!({"alg": "EdDSA", "kid": "k1", "typ": "JWT"}),
        json!({"alg": "EdDSA", "kid": "k1", "typ": "refresh+jwt"}),
        json!({"alg": "EdDSA", "typ": "at+jwt"}),
        json!({"alg": "EdDSA", "kid": "k1", "typ": "at+jwt", "crit": ["exp"]}),
        // The key decides the algorithm: a header naming another one is refused.
        json!({"alg": "ES256", "kid": "k1", "typ": "at+jwt"}),
        json!({"alg": "none", "kid": "k1", "typ": "at+jwt"}),
    ];
    for header in refused {
        assert!(is_invalid(verify(header.clone()).await), "{header}");
    }
    // A key named in the header is never fetched nor trusted: only the JWKS counts.
    let stranger = TestKey::new("k1");
    let embedded = json!({"alg": "EdDSA", "kid": "k1", "typ": "at+jwt",
        "jku": format!("{}/.well-known/jwks.json", fake.issuer), "jwk": stranger.jwk});
    assert!(is_invalid(
        verifier
            .verify(&stranger.sign_with(&embedded, &payload))
            .await
    ));
    assert!(is_invalid(verifier.verify("garbage").await));
    assert!(is_invalid(verifier.verify("").await));
}

#[tokio::test]
async fn build_reads_the_whole_feed_so_the_first_request_knows_every_revocation() {
    let key = TestKey::new("k1");
    let later = crate::tasks::unix_now() + 900;
    let feed = json!({"items": [
        {"sid": "revoked-session", "revoked_at": 1, "expires_at": later},
        {"sid": "s2", "jti": "revoked-token", "revoked_at": 2, "expires_at": later},
    ], "next": "c1"});
    let fake = FakeSesame::spawn(&[&key], vec![Reply::Page(feed)]).await;
    let verifier = Verifier::builder(&fake.issuer)
        .revocations(API_KEY)
        .build()
        .await
        .unwrap();
    let verify = |sid: &str, jti: &str| {
        let token = key.sign(&claims(&fake.issuer, sid, jti));
        let verifier = verifier.clone();
        async move { verifier.verify(&token).await }
    };
    assert!(matches!(
        verify("revoked-session", "t1").await,
        Err(Error::Revoked)
    ));
    assert!(matches!(
        verify("s2", "revoked-token").await,
        Err(Error::Revoked)
    ));
    assert!(verify("s2", "another-token").await.is_ok());
    let status = verifier.status();
    let feed = status.revocations.unwrap();
    assert_eq!((feed.entries, feed.cursor.as_deref()), (2, Some("c1")));
}

#[tokio::test]
async fn the_builder_bounds_its_options() {
    let key = TestKey::new("k1");
    let fake = FakeSesame::spawn(&[&key], vec![]).await;
    let build = |builder: Builder| async move { builder.build().await };
    let leeway = |secs| Verifier::builder(&fake.issuer).leeway(Duration::from_secs(secs));
    assert!(matches!(build(leeway(301)).await, Err(Error::Config(_))));
    assert!(build(leeway(300)).await.is_ok());
    let poll = Verifier::builder(&fake.issuer).poll_interval(Duration::from_millis(10));
    assert!(matches!(build(poll).await, Err(Error::Config(_))));
    let relative = Verifier::builder("login.example.com");
    assert!(matches!(build(relative).await, Err(Error::Config(_))));
    // A trailing slash is the same issuer.
    let slash = Verifier::builder(format!("{}/", fake.issuer));
    assert!(build(slash).await.is_ok());
    // The deny-list needs a key Sesame accepts.
    let refusal = vec![Reply::Fail(StatusCode::UNAUTHORIZED)];
    let unauthorized = FakeSesame::spawn(&[&key], refusal).await;
    let follow = Verifier::builder(&unauthorized.issuer).revocations("wrong");
    assert!(matches!(build(follow).await, Err(Error::Unavailable(_))));
}
