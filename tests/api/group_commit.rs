//! Group commit on Postgres (src/store/group_commit.rs): concurrent logins and concurrent
//! refresh rotations share transactions, each is answered with its own identity or successor,
//! and a login or rotation whose rows cannot be stored fails alone; concurrent reads of access
//! tokens' state share statements, each answered with its own token's state.

use std::collections::{HashMap, HashSet};

use futures::future::join_all;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{
    ADMIN_KEY, Backend, SesameProcess, assert_error, claims_of, sample, scrape, spawn_app_with,
};

/// Limits raised so that one test client may start and check this many codes.
const RAISED: &[(&str, &str)] = &[
    ("SESAME_IP_HOURLY_CAP", "1000"),
    ("SESAME_IP_VERIFY_HOURLY_CAP", "1000"),
];

fn numbers(count: u32) -> Vec<String> {
    (0..count).map(|i| format!("+4477009002{i:02}")).collect()
}

/// Starts and exchanges a code for each of `numbers` at once; returns their token responses.
async fn log_in_at_once(sesame: &SesameProcess, numbers: &[String]) -> Vec<Value> {
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
    join_all(exchanged).await
}

// The commit counters are read from a `sesame` process of this test's own: the metrics
// recorder is global to a process, and this test process runs many apps at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_logins_share_commits_and_each_gets_its_own_identity() {
    let sesame = SesameProcess::spawn_with(Backend::Production, RAISED).await;
    let numbers = numbers(48);
    let pairs = log_in_at_once(&sesame, &numbers).await;

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
async fn concurrent_refreshes_share_commits_and_each_gets_its_own_successor() {
    let sesame = SesameProcess::spawn_with(Backend::Production, RAISED).await;
    let pairs = log_in_at_once(&sesame, &numbers(48)).await;
    let before = scrape(&sesame.client, &sesame.metrics_base).await;
    let commits_before = sample(&before, "sesame_rotation_commits_total", &[]);

    // Every session refreshes at once, and the first eight twice (a client's retry): 56
    // rotations, of which the retries find their token spent and get the same successor.
    let refreshed = pairs.iter().chain(&pairs[..8]).map(|pair| {
        let request = sesame.client.post(sesame.url("/oauth/token")).form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", pair["refresh_token"].as_str().unwrap()),
        ]);
        async move {
            let response = request.send().await.unwrap();
            assert_eq!(response.status(), StatusCode::OK);
            response.json::<Value>().await.unwrap()
        }
    });
    let successors = join_all(refreshed).await;
    let mut by_session: HashMap<String, HashSet<String>> = HashMap::new();
    for (pair, successor) in pairs.iter().chain(&pairs[..8]).zip(&successors) {
        let claims = claims_of(successor["access_token"].as_str().unwrap());
        let session = claims_of(pair["access_token"].as_str().unwrap())["sid"].clone();
        // Each successor is its own session's.
        assert_eq!(claims["sid"], session);
        by_session
            .entry(session.as_str().unwrap().to_owned())
            .or_default()
            .insert(successor["refresh_token"].as_str().unwrap().to_owned());
    }
    assert_eq!(by_session.len(), 48);
    assert!(
        by_session.values().all(|tokens| tokens.len() == 1),
        "a retry gets the successor its session's rotation stored"
    );
    // And each successor rotates in turn.
    let next = sesame.client.post(sesame.url("/oauth/token")).form(&[
        ("grant_type", "refresh_token"),
        (
            "refresh_token",
            successors[47]["refresh_token"].as_str().unwrap(),
        ),
    ]);
    assert_eq!(next.send().await.unwrap().status(), StatusCode::OK);

    let metrics = scrape(&sesame.client, &sesame.metrics_base).await;
    let tried = sample(&metrics, "sesame_rotations_committed_total", &[]);
    let commits = sample(&metrics, "sesame_rotation_commits_total", &[]) - commits_before;
    assert_eq!(tried, 57.0);
    assert!(
        (1.0..56.0).contains(&commits),
        "56 concurrent rotations took {commits} commits"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_introspections_share_reads_and_each_gets_its_own_answer() {
    let sesame = SesameProcess::spawn_with(Backend::Production, RAISED).await;
    let pairs = log_in_at_once(&sesame, &numbers(48)).await;
    let access = |n: usize| pairs[n]["access_token"].as_str().unwrap();
    // Tokens 0 to 3 are revoked on their own (a deny row), sessions 4 to 7 by logout.
    for n in 0..4 {
        let jti = claims_of(access(n))["jti"].as_str().unwrap().to_owned();
        let revoked = sesame
            .client
            .post(sesame.url(&format!("/admin/v1/tokens/{jti}/revoke")))
            .bearer_auth(ADMIN_KEY)
            .send()
            .await
            .unwrap();
        assert_eq!(revoked.status(), StatusCode::NO_CONTENT);
    }
    for n in 4..8 {
        let logout = sesame
            .client
            .post(sesame.url("/v1/logout"))
            .bearer_auth(access(n));
        assert_eq!(
            logout.send().await.unwrap().status(),
            StatusCode::NO_CONTENT
        );
    }
    let before = scrape(&sesame.client, &sesame.metrics_base).await;

    // Every access token at once, and tokens 0 to 11 twice (a downstream API's parallel
    // requests for one client): 60 reads.
    let asked: Vec<usize> = (0..48).chain(0..12).collect();
    let introspected = asked.iter().map(|&n| {
        let request = sesame
            .client
            .post(sesame.url("/oauth/introspect"))
            .bearer_auth(ADMIN_KEY)
            .form(&[("token", access(n))]);
        async move {
            let response = request.send().await.unwrap();
            assert_eq!(response.status(), StatusCode::OK);
            response.json::<Value>().await.unwrap()
        }
    });
    let answers = join_all(introspected).await;
    for (&n, answer) in asked.iter().zip(&answers) {
        if n < 8 {
            assert_eq!(answer, &json!({"active": false}), "token {n}");
        } else {
            assert_eq!(answer["active"], true, "token {n}: {answer}");
            assert_eq!(answer["jti"], claims_of(access(n))["jti"], "token {n}");
        }
    }

    let after = scrape(&sesame.client, &sesame.metrics_base).await;
    let delta = |name: &str| sample(&after, name, &[]) - sample(&before, name, &[]);
    let read = delta("sesame_access_states_read_total");
    let statements = delta("sesame_access_state_reads_total");
    assert_eq!(read, 60.0);
    assert!(
        (1.0..60.0).contains(&statements),
        "60 concurrent reads took {statements} statements"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotation_whose_rows_cannot_be_stored_fails_alone() {
    let app = spawn_app_with(Backend::Production, RAISED).await;
    let numbers = numbers(16);
    let mut pairs = Vec::new();
    for number in &numbers {
        pairs.push(app.login(number).await);
    }
    // A rule only this test's database has: no session touched by this user agent.
    app.execute_sql(
        "alter table sessions add constraint refuse_one_agent
         check (user_agent is distinct from 'refused-agent')",
    )
    .await;
    let refused = 7;
    let refresh = |pair: &Value, agent: &'static str| {
        app.client
            .post(app.url("/oauth/token"))
            .header("user-agent", agent)
            .form(&[
                ("grant_type", "refresh_token"),
                ("refresh_token", pair["refresh_token"].as_str().unwrap()),
            ])
            .send()
    };
    let refreshed = pairs.iter().enumerate().map(|(n, pair)| {
        refresh(
            pair,
            if n == refused {
                "refused-agent"
            } else {
                "test-agent"
            },
        )
    });
    for (n, response) in join_all(refreshed).await.into_iter().enumerate() {
        let response = response.unwrap();
        if n == refused {
            assert_error(response, StatusCode::INTERNAL_SERVER_ERROR, "server_error").await;
        } else {
            assert_eq!(response.status(), StatusCode::OK, "rotation {n}");
        }
    }

    // Nothing of the refused rotation was kept: its token is unspent and rotates later.
    let sid = claims_of(pairs[refused]["access_token"].as_str().unwrap())["sid"].clone();
    let rows = format!(
        "select count(*) from tokens where session_id = '{}'",
        sid.as_str().unwrap()
    );
    assert_eq!(app.count_rows(&rows).await, 1);
    assert_eq!(app.count_rows("select count(*) from tokens").await, 31);
    assert_eq!(
        app.count_rows("select count(*) from refresh_successors")
            .await,
        15
    );
    let again = refresh(&pairs[refused], "test-agent").await.unwrap();
    assert_eq!(again.status(), StatusCode::OK);
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
