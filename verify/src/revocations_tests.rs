use axum::http::StatusCode;
use serde_json::{Value, json};

use super::*;
use crate::testing::{API_KEY, FakeSesame, Reply};

fn item(sid: &str, jti: Option<&str>, expires_at: i64) -> Item {
    Item {
        sid: sid.into(),
        jti: jti.map(str::to_owned),
        expires_at,
    }
}

#[test]
fn a_session_entry_denies_every_token_of_the_session_and_a_token_entry_only_that_token() {
    let mut deny = DenyList::default();
    deny.add(item("s1", None, 100));
    deny.add(item("s2", Some("t2"), 100));
    assert!(deny.denies("s1", "any"));
    assert!(deny.denies("s2", "t2"));
    assert!(!deny.denies("s2", "another token of s2"));
    assert!(!deny.denies("s3", "t3"));
}

#[test]
fn entries_are_pruned_once_expired_and_not_before() {
    let mut deny = DenyList::default();
    deny.add(item("s1", None, 100));
    deny.add(item("s2", Some("t2"), 200));
    // A later entry for the same session extends it; an earlier one does not shorten it.
    deny.add(item("s3", None, 100));
    deny.add(item("s3", None, 300));
    deny.add(item("s3", None, 150));
    assert_eq!(deny.len(), 3);

    deny.prune(100);
    assert!(
        deny.denies("s1", "-"),
        "kept until its expires_at has passed"
    );
    deny.prune(101);
    assert!(!deny.denies("s1", "-"));
    assert!(deny.denies("s2", "t2"));
    assert!(deny.denies("s3", "-"));
    deny.prune(201);
    assert!(!deny.denies("s2", "t2"));
    assert!(deny.denies("s3", "-"));
    deny.prune(301);
    assert_eq!(deny.len(), 0);
}

fn page(items: Value, next: &str) -> Reply {
    Reply::Page(json!({ "items": items, "next": next }))
}

fn follower(fake: &FakeSesame, page: usize) -> Follower {
    Follower::new(
        reqwest::Client::new(),
        fake.feed_url(),
        API_KEY.into(),
        page,
        30,
    )
}

#[tokio::test]
async fn after_an_error_the_follower_resumes_from_the_last_page_it_applied() {
    let later = unix_now() + 900;
    let fake = FakeSesame::spawn(
        &[],
        vec![
            page(
                json!([{"sid": "s1", "revoked_at": 1, "expires_at": later},
                       {"sid": "s2", "jti": "t2", "revoked_at": 2, "expires_at": later}]),
                "c1",
            ),
            Reply::Fail(StatusCode::SERVICE_UNAVAILABLE),
            // A page that does not parse is an error too, and moves nothing.
            page(json!([{"sid": "s3", "expires_at": "soon"}]), "bad"),
            page(
                json!([{"sid": "s3", "revoked_at": 3, "expires_at": later}]),
                "c2",
            ),
        ],
    )
    .await;
    let follower = follower(&fake, 2);

    // The first page is full, so the follower asks for the next one, which fails.
    assert!(follower.poll().await.is_err());
    assert!(follower.denies("s1", "-") && follower.denies("-", "t2"));
    let status = follower.status();
    assert_eq!(status.cursor.as_deref(), Some("c1"));
    assert!(status.last_error.is_some());
    assert_eq!(
        status.caught_up_at,
        SystemTime::UNIX_EPOCH,
        "never caught up"
    );

    assert!(follower.poll().await.is_err());
    assert!(!follower.denies("s3", "-"));
    assert_eq!(follower.status().cursor.as_deref(), Some("c1"));

    follower.poll().await.unwrap();
    assert!(follower.denies("s3", "-"));
    let status = follower.status();
    assert_eq!(status.cursor.as_deref(), Some("c2"));
    assert_eq!(status.last_error, None);
    assert_eq!(status.entries, 3);
    assert!(status.lag < Duration::from_secs(1));

    // Caught up: the next poll asks from c2 and gets an empty page.
    follower.poll().await.unwrap();
    let asked: Vec<(Option<String>, bool)> = fake.feed_requests();
    let since: Vec<Option<&str>> = asked.iter().map(|(since, _)| since.as_deref()).collect();
    assert_eq!(
        since,
        [None, Some("c1"), Some("c1"), Some("c1"), Some("c2")]
    );
    assert!(asked.iter().all(|(_, authorized)| *authorized));
}

#[tokio::test]
async fn a_poll_prunes_entries_that_have_expired() {
    let now = unix_now();
    let fake = FakeSesame::spawn(
        &[],
        vec![page(
            json!([{"sid": "old", "revoked_at": 1, "expires_at": now - 60},
                   {"sid": "leeway", "revoked_at": 2, "expires_at": now - 5},
                   {"sid": "live", "revoked_at": 3, "expires_at": now + 60}]),
            "c1",
        )],
    )
    .await;
    let follower = follower(&fake, PAGE);
    follower.poll().await.unwrap();
    assert!(!follower.denies("old", "-"));
    // Still inside the 30 s leeway a token that expired 5 s ago could pass: keep its entry.
    assert!(follower.denies("leeway", "-"));
    assert!(follower.denies("live", "-"));
}
