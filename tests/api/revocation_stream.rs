//! The pushed revocation feed (`GET /v1/revocations/stream`, Server-Sent Events).

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;

use crate::support::{
    ADMIN_KEY, Backend, EventStream, assert_error, on_both_backends, revoked_session, spawn_app,
    spawn_stoppable,
};

on_both_backends!(
    a_stream_replays_pushes_and_resumes_from_its_last_id,
    open_streams_end_when_the_node_shuts_down,
    a_stream_ends_when_its_key_is_revoked_or_re_roled,
);

/// An open stream never holds up a shutdown: the node ends it (the client resumes elsewhere
/// from its last `id`) and stops cleanly, long before `SESAME_SHUTDOWN_TIMEOUT` would cut it.
async fn open_streams_end_when_the_node_shuts_down(backend: Backend) {
    let (app, stop, serving) =
        spawn_stoppable(backend, &[("SESAME_SHUTDOWN_TIMEOUT", "600")]).await;
    let mut stream = EventStream::open(&app, ADMIN_KEY, None).await;
    revoked_session(&app, "+447700900123").await;
    assert!(stream.next_within(Duration::from_secs(10)).await.is_some());
    stop.send(()).unwrap();
    assert!(
        stream.ends_within(Duration::from_secs(30)).await,
        "the stream stayed open after shutdown began"
    );
    let stopped = tokio::time::timeout(Duration::from_secs(30), serving).await;
    assert!(
        matches!(stopped, Ok(Ok(Ok(())))),
        "the server did not stop cleanly: {stopped:?}"
    );
}

async fn a_stream_replays_pushes_and_resumes_from_its_last_id(backend: Backend) {
    let app = spawn_app(backend).await;
    let response = app
        .client
        .get(app.url("/v1/revocations/stream"))
        .send()
        .await
        .unwrap();
    assert_error(response, StatusCode::UNAUTHORIZED, "unauthorized").await;
    let response = app
        .client
        .get(app.url("/v1/revocations/stream?since=not-a-cursor"))
        .bearer_auth(ADMIN_KEY)
        .send()
        .await
        .unwrap();
    assert_error(response, StatusCode::BAD_REQUEST, "invalid_request").await;

    // Revoked before the stream opens and older than the feed's lag: replayed, with an id
    // past it. Revoked while the stream is open: pushed.
    let key = app.api_key("introspect").await;
    let before = revoked_session(&app, "+447700900201").await;
    app.clock.advance(Duration::from_secs(10));
    let mut stream = EventStream::open(&app, &key, None).await;
    let replayed = stream.until_session(&before, Duration::from_secs(10)).await;
    let during = revoked_session(&app, "+447700900202").await;
    stream.until_session(&during, Duration::from_secs(10)).await;
    drop(stream);

    // Revoked while disconnected: a stream resuming from an id gets what followed it, and
    // nothing before it.
    let missed = revoked_session(&app, "+447700900203").await;
    let mut resumed = EventStream::open(&app, &key, Some(&replayed.id)).await;
    let first = resumed.next_within(Duration::from_secs(10)).await.unwrap();
    assert_ne!(first.data["sid"], before.as_str(), "resumed after it");
    if first.data["sid"] != missed.as_str() {
        resumed
            .until_session(&missed, Duration::from_secs(10))
            .await;
    }
}

/// An open stream is held to the rule a new request meets: revoking its key, or re-roling it
/// to `auditor`, ends the stream within seconds, while streams of other keys go on.
async fn a_stream_ends_when_its_key_is_revoked_or_re_roled(backend: Backend) {
    let app = spawn_app(backend).await;
    let revoked = app.create_api_key("feed-revoked", "introspect").await;
    let demoted = app.create_api_key("feed-demoted", "introspect").await;
    let key_of = |created: &serde_json::Value| created["key"].as_str().unwrap().to_owned();
    let mut revoked_stream = EventStream::open(&app, &key_of(&revoked), None).await;
    let mut demoted_stream = EventStream::open(&app, &key_of(&demoted), None).await;
    let mut kept_stream = EventStream::open(&app, ADMIN_KEY, None).await;
    let first = revoked_session(&app, "+447700900301").await;
    for stream in [&mut revoked_stream, &mut demoted_stream, &mut kept_stream] {
        stream.until_session(&first, Duration::from_secs(10)).await;
    }

    let key_url = |created: &serde_json::Value| {
        app.url(&format!(
            "/admin/v1/api-keys/{}",
            created["id"].as_str().unwrap()
        ))
    };
    let response = app
        .client
        .delete(key_url(&revoked))
        .bearer_auth(ADMIN_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let response = app
        .client
        .patch(key_url(&demoted))
        .bearer_auth(ADMIN_KEY)
        .json(&json!({"role": "auditor"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        revoked_stream.ends_within(Duration::from_secs(10)).await,
        "the stream of a revoked key stayed open"
    );
    assert!(
        demoted_stream.ends_within(Duration::from_secs(10)).await,
        "the stream of a key re-roled to auditor stayed open"
    );

    let second = revoked_session(&app, "+447700900302").await;
    kept_stream
        .until_session(&second, Duration::from_secs(10))
        .await;
}
