//! Group commit of logins on Postgres (src/store/login_batch.rs): concurrent logins share
//! transactions, each is answered with its own identity, and a login whose rows cannot be
//! stored fails alone.

use std::collections::HashSet;

use futures::future::join_all;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{
    Backend, SesameProcess, assert_error, claims_of, sample, scrape, spawn_app_with,
};

/// Limits raised so that one test client may start and check this many codes.
const RAISED: &[(&str, &str)] = &[
    ("SESAME_IP_HOURLY_CAP", "1000"),
    ("SESAME_IP_VERIFY_HOURLY_CAP", "1000"),
];

fn numbers(count: u32) -> Vec<String> {
    (0..count).map(|i| format!("+4477009002{i:02}")).collect()
}

// The commit counters are read from a `sesame` process of this test's own: the metrics
// recorder is global to a process, and this test process runs many apps at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_logins_share_commits_and_each_gets_its_own_identity() {
    let sesame = SesameProcess::spawn_with(Backend::Production, RAISED).await;
    let numbers = numbers(48);
    let started = numbers.iter().map(|number| {
        let request = sesame
            .client
            .post(sesame.url("/v1/otp/start"))
            .json(&json!({ "phone_number": number }));
        async move { request.send().await.unwrap().status() }
    });
    assert!(
        join_all(started)
            .await
            .iter()
            .all(|status| *status == StatusCode::ACCEPTED)
    );

    let exchanged = numbers.iter().map(|number| {
        let request = sesame.client.post(sesame.url("/oauth/token")).form(&[
            ("grant_type", "otp"),
            ("phone_number", number),
            ("code", &sesame.sink.last_code(number)),
        ]);
        async move {
            let response = request.send().await.unwrap();
            assert_eq!(response.status(), StatusCode::OK);
            response.json::<Value>().await.unwrap()
        }
    });
    let pairs = join_all(exchanged).await;

    // Each login signs in the identity of its own number.
    let mut subs = HashSet::new();
    for (number, pair) in numbers.iter().zip(&pairs) {
        let claims = claims_of(pair["access_token"].as_str().unwrap());
        assert_eq!(claims["phone_number"], number.as_str());
        subs.insert(claims["sub"].as_str().unwrap().to_owned());
    }
    assert_eq!(subs.len(), numbers.len());

    let metrics = scrape(&sesame.client, &sesame.metrics_base).await;
    let committed = sample(&metrics, "sesame_logins_committed_total", &[]);
    let commits = sample(&metrics, "sesame_login_commits_total", &[]);
    assert_eq!(committed, 48.0);
    assert!(
        (1.0..48.0).contains(&commits),
        "48 concurrent logins took {commits} commits"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_login_whose_rows_cannot_be_stored_fails_alone() {
    let app = spawn_app_with(Backend::Production, RAISED).await;
    // A rule only this test's database has: no session for this user agent.
    app.execute_sql(
        "alter table sessions add constraint refuse_one_agent
         check (user_agent is distinct from 'refused-agent')",
    )
    .await;
    let numbers = numbers(16);
    let refused = &numbers[7];
    for number in &numbers {
        assert_eq!(app.start_login(number).await.status(), StatusCode::ACCEPTED);
    }
    let exchanged = numbers.iter().map(|number| {
        let agent = if number == refused {
            "refused-agent"
        } else {
            "test-agent"
        };
        let code = app.sink.last_code(number);
        let app = &app;
        async move {
            app.exchange_code_with(number, &code, ("user-agent", agent))
                .await
        }
    });
    for (number, response) in numbers.iter().zip(join_all(exchanged).await) {
        if number == refused {
            assert_error(response, StatusCode::INTERNAL_SERVER_ERROR, "server_error").await;
        } else {
            assert_eq!(response.status(), StatusCode::OK, "{number}");
        }
    }

    // Nothing of the refused login was kept, and everything of the others was.
    assert_eq!(app.count_rows("select count(*) from sessions").await, 15);
    assert_eq!(app.count_rows("select count(*) from tokens").await, 15);
    assert_eq!(
        app.count_rows(&format!(
            "select count(*) from user_auth where remote_id = '{refused}'"
        ))
        .await,
        0
    );
    let logins: Value = app
        .admin_get("/admin/v1/audit?action=login.succeeded&limit=500")
        .await
        .json()
        .await
        .unwrap();
    let logins = logins["items"].as_array().unwrap();
    assert_eq!(logins.len(), 15);
    let refused = format!("phone:{refused}");
    assert!(
        logins
            .iter()
            .all(|event| event["actor"] != refused.as_str())
    );
}
