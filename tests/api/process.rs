//! The `sesame` process: production refusals, `check-config`, graceful shutdown and its logs.

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Output, Stdio};
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{
    Sink, free_port, fresh_postgres_database, jwks, new_kid, postgres_url, redis_url,
    sesame_command, wait_ready,
};

fn run(env: &HashMap<&str, String>, args: &[&str]) -> Output {
    sesame_command(env, args).output().unwrap()
}

fn scratch() -> PathBuf {
    let folder = std::env::temp_dir().join(format!("sesame-process-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&folder).unwrap();
    folder
}

/// A production configuration that passes every start-up check, with dependencies that do
/// not exist (port 1): a refusal must come before any connection attempt.
fn production(keys_dir: &Path) -> HashMap<&'static str, String> {
    HashMap::from([
        ("SESAME_ENV", "production".to_owned()),
        ("SESAME_LISTEN", "127.0.0.1:0".to_owned()),
        ("SESAME_METRICS_LISTEN", "127.0.0.1:0".to_owned()),
        (
            "SESAME_DATABASE_URL",
            "postgres://sesame@127.0.0.1:1/sesame".to_owned(),
        ),
        ("SESAME_REDIS_URL", "redis://127.0.0.1:1".to_owned()),
        ("SESAME_ISSUER", "https://login.example.com".to_owned()),
        ("SESAME_KEYS_DIR", keys_dir.display().to_string()),
        (
            "SESAME_OTP_SECRET",
            "an-otp-secret-shared-by-every-node".to_owned(),
        ),
        ("SESAME_SMS_PROVIDER", "webhook".to_owned()),
        ("SESAME_SMS_WEBHOOK_URL", "http://127.0.0.1:1/".to_owned()),
        ("SESAME_SMS_WEBHOOK_SECRET", "a-webhook-secret".to_owned()),
    ])
}

fn generated_keys() -> PathBuf {
    let keys_dir = scratch().join("keys");
    let env = HashMap::from([("SESAME_KEYS_DIR", keys_dir.display().to_string())]);
    let output = run(&env, &["keys", "generate"]);
    assert!(output.status.success(), "{output:?}");
    keys_dir
}

#[test]
fn production_refuses_development_settings_naming_each() {
    let keys_dir = generated_keys();
    let empty_keys = scratch().join("keys");
    let cases: [(&str, Option<String>); 7] = [
        (
            "SESAME_DATABASE_URL",
            Some("sqlite://data/sesame.db".into()),
        ),
        ("SESAME_REDIS_URL", None),
        ("SESAME_KEYS_DIR", Some(empty_keys.display().to_string())),
        ("SESAME_SMS_PROVIDER", Some("console".into())),
        ("SESAME_ISSUER", Some("http://login.example.com".into())),
        ("SESAME_OTP_SECRET", None),
        ("SESAME_TEST_NUMBERS", Some("+447700900001=424242".into())),
    ];
    for (name, value) in cases {
        let mut env = production(&keys_dir);
        match value {
            Some(value) => env.insert(name, value),
            None => env.remove(name),
        };
        let output = run(&env, &[]);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{name}: started anyway");
        assert!(
            stderr.contains("SESAME_ENV=production refuses to start"),
            "{name}: {stderr}"
        );
        assert!(stderr.contains(&format!("- {name}:")), "{name}: {stderr}");
        assert_eq!(
            stderr.matches("\n  - ").count(),
            1,
            "only {name} is at fault: {stderr}"
        );
    }
    assert!(!empty_keys.exists(), "production never generates keys");

    // Test numbers in production only when asked for explicitly.
    let mut env = production(&keys_dir);
    env.insert("SESAME_TEST_NUMBERS", "+447700900001=424242".into());
    env.insert("SESAME_ALLOW_TEST_NUMBERS_IN_PRODUCTION", "true".into());
    let stderr = String::from_utf8(run(&env, &[]).stderr).unwrap();
    assert!(!stderr.contains("- SESAME_TEST_NUMBERS:"), "{stderr}");

    // Everything wrong at once: every fault is named in one go.
    let env = HashMap::from([
        ("SESAME_ENV", "production".to_owned()),
        ("SESAME_KEYS_DIR", empty_keys.display().to_string()),
    ]);
    let stderr = String::from_utf8(run(&env, &[]).stderr).unwrap();
    for name in [
        "SESAME_DATABASE_URL",
        "SESAME_REDIS_URL",
        "SESAME_KEYS_DIR",
        "SESAME_SMS_PROVIDER",
        "SESAME_ISSUER",
        "SESAME_OTP_SECRET",
    ] {
        assert!(stderr.contains(&format!("- {name}:")), "{name}: {stderr}");
    }
}

/// A variable set (`Some`) or removed (`None`).
type Change<'a> = (&'a str, Option<&'a str>);

/// Settings that weaken production: a code sent in the clear or unsigned, a short OTP secret,
/// a provider's endpoint replaced, any web page allowed by CORS, a brake window shortened.
/// Start-up refuses each (naming only it), and `check-config` reports it the same way.
#[test]
fn production_refuses_weakening_settings_at_start_and_in_check_config() {
    let keys_dir = generated_keys();
    let twilio = [
        ("SESAME_SMS_PROVIDER", Some("twilio")),
        ("SESAME_TWILIO_ACCOUNT_SID", Some("AC0123")),
        ("SESAME_TWILIO_AUTH_TOKEN", Some("twilio-token")),
        ("SESAME_TWILIO_FROM", Some("+15005550006")),
        ("SESAME_TWILIO_BASE_URL", Some("http://127.0.0.1:1")),
    ];
    let plivo = [
        ("SESAME_SMS_PROVIDER", Some("plivo")),
        ("SESAME_PLIVO_AUTH_ID", Some("MA0123")),
        ("SESAME_PLIVO_AUTH_TOKEN", Some("plivo-token")),
        ("SESAME_PLIVO_FROM", Some("+15005550006")),
        ("SESAME_PLIVO_BASE_URL", Some("http://127.0.0.1:1")),
    ];
    let cases: Vec<(&str, Vec<Change>)> = vec![
        (
            "SESAME_SMS_WEBHOOK_URL",
            vec![(
                "SESAME_SMS_WEBHOOK_URL",
                Some("http://sms.example.com/send"),
            )],
        ),
        (
            "SESAME_SMS_WEBHOOK_SECRET",
            vec![("SESAME_SMS_WEBHOOK_SECRET", None)],
        ),
        (
            "SESAME_OTP_SECRET",
            vec![("SESAME_OTP_SECRET", Some("0123456789abcdef0123456789abcde"))],
        ),
        ("SESAME_TWILIO_BASE_URL", twilio.to_vec()),
        ("SESAME_PLIVO_BASE_URL", plivo.to_vec()),
        (
            "SESAME_CORS_ORIGINS",
            vec![("SESAME_CORS_ORIGINS", Some("https://app.example.com, *"))],
        ),
        (
            "SESAME_HOURLY_WINDOW",
            vec![("SESAME_HOURLY_WINDOW", Some("60"))],
        ),
        (
            "SESAME_DAILY_WINDOW",
            vec![("SESAME_DAILY_WINDOW", Some("3600"))],
        ),
        (
            "SESAME_OTP_RESEND_AFTER",
            vec![("SESAME_OTP_RESEND_AFTER", Some("5"))],
        ),
        (
            "SESAME_VERIFY_BACKOFF_BASE",
            vec![("SESAME_VERIFY_BACKOFF_BASE", Some("1"))],
        ),
        (
            "SESAME_VERIFY_BACKOFF_MAX",
            vec![("SESAME_VERIFY_BACKOFF_MAX", Some("60"))],
        ),
        (
            "SESAME_VERIFY_LOCKOUT_WINDOW",
            vec![("SESAME_VERIFY_LOCKOUT_WINDOW", Some("3600"))],
        ),
        (
            "SESAME_REVOCATION_FEED_LAG",
            vec![("SESAME_REVOCATION_FEED_LAG", Some("1"))],
        ),
    ];
    for (name, changes) in cases {
        let mut env = production(&keys_dir);
        for (variable, value) in changes {
            match value {
                Some(value) => env.insert(variable, value.to_owned()),
                None => env.remove(variable),
            };
        }
        let output = run(&env, &[]);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{name}: started anyway");
        assert!(
            stderr.contains("SESAME_ENV=production refuses to start"),
            "{name}: {stderr}"
        );
        assert!(stderr.contains(&format!("- {name}:")), "{name}: {stderr}");
        assert_eq!(
            stderr.matches("\n  - ").count(),
            1,
            "only {name} is at fault: {stderr}"
        );

        // With stores that answer, the rule is the only failure.
        env.insert("SESAME_DATABASE_URL", postgres_url());
        env.insert("SESAME_REDIS_URL", redis_url());
        let output = run(&env, &["check-config"]);
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(!output.status.success(), "{name}: {stdout}");
        assert_eq!(stdout.matches("FAIL").count(), 1, "{name}: {stdout}");
        let refused: Vec<&str> = stdout
            .lines()
            .filter(|line| line.starts_with("FAIL config"))
            .collect();
        assert_eq!(refused.len(), 1, "{name}: {stdout}");
        assert!(refused[0].contains(&format!("{name}:")), "{name}: {stdout}");
    }
}

#[test]
fn check_config_reports_what_it_found() {
    let folder = scratch();
    let output = sesame_command(HashMap::<String, String>::new(), &["check-config"])
        .current_dir(&folder)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{output:?}");
    for line in ["ok   database", "ok   redis", "ok   keys", "ok   sms"] {
        assert!(stdout.contains(line), "{line}: {stdout}");
    }
    assert!(!folder.join("data").exists(), "checking creates nothing");

    let mut env = production(&generated_keys());
    env.insert(
        "SESAME_DATABASE_URL",
        "postgres://sesame:hunter2@127.0.0.1:1/sesame".into(),
    );
    let output = run(&env, &["check-config"]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(!output.status.success(), "{stdout}");
    assert!(stdout.contains("FAIL database"), "{stdout}");
    assert!(stdout.contains("FAIL redis"), "{stdout}");
    assert!(stdout.contains("ok   keys"), "{stdout}");
    assert!(
        !stdout.contains("hunter2"),
        "passwords are not printed: {stdout}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_finishes_in_flight_requests_and_exits_0() {
    let sink = Sink::slow(Duration::from_secs(2));
    let sink_url = sink.spawn().await;
    let port = free_port();
    let mut env = production(&generated_keys());
    env.insert("SESAME_LISTEN", format!("127.0.0.1:{port}"));
    env.insert("SESAME_DATABASE_URL", fresh_postgres_database().await);
    env.insert("SESAME_REDIS_URL", redis_url());
    env.insert(
        "SESAME_REDIS_KEY_PREFIX",
        format!("sesame-test-{}", uuid::Uuid::new_v4().simple()),
    );
    env.insert("SESAME_SMS_WEBHOOK_URL", sink_url);
    env.insert("SESAME_LOG_FORMAT", "json".into());
    let mut child = sesame_command(&env, &[])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let client = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{port}");
    wait_ready(&client, &base, &mut child).await;

    let in_flight = tokio::spawn({
        let client = client.clone();
        let url = format!("{base}/v1/otp/start");
        async move {
            client
                .post(url)
                .json(&json!({"phone_number": "+447700900123"}))
                .send()
                .await
        }
    });
    // SIGTERM once the request is inside Sesame, waiting on the slow provider.
    for _ in 0..100 {
        if !sink.messages().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(sink.messages().len(), 1, "the request reached the provider");
    let pid = i32::try_from(child.id()).unwrap();
    assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);

    let response = in_flight
        .await
        .unwrap()
        .expect("the in-flight request is answered");
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let request_id = response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let status = tokio::task::spawn_blocking(move || child_exit(child))
        .await
        .unwrap();
    let (status, stdout, stderr) = status;
    assert_eq!(status, Some(0), "exit code; stderr: {stderr}");
    assert!(
        client.get(format!("{base}/healthz")).send().await.is_err(),
        "no longer accepting"
    );

    // JSON logs (on standard error): every line inside a request names its request id; no
    // code is ever logged.
    let code = sink.messages()[0]["code"].as_str().unwrap().to_owned();
    let lines: Vec<Value> = stderr
        .lines()
        .map(|line| serde_json::from_str(line).expect(line))
        .collect();
    for secret in [code.as_str(), "an-otp-secret-shared-by-every-node"] {
        assert!(
            !stdout.contains(secret) && !stderr.contains(secret),
            "{secret} is logged"
        );
    }
    let in_requests: Vec<&Value> = lines
        .iter()
        .filter(|line| line["spans"].is_array())
        .collect();
    assert!(!in_requests.is_empty(), "{stderr}");
    for line in &in_requests {
        let ids: Vec<&Value> = line["spans"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|span| span.get("request_id"))
            .collect();
        assert!(!ids.is_empty(), "a line without a request id: {line}");
    }
    assert!(
        in_requests
            .iter()
            .any(|line| line["spans"][0]["request_id"] == request_id.as_str()
                && line["spans"][0]["route"] == "/v1/otp/start"),
        "the in-flight request's lines carry its x-request-id: {stdout}"
    );
}

fn child_exit(mut child: Child) -> (Option<i32>, String, String) {
    let status = child.wait().unwrap();
    let mut stdout = String::new();
    let mut stderr = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut stdout)
        .unwrap();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    (status.code(), stdout, stderr)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_reloads_the_keys_folder_at_once() {
    let folder = scratch();
    let port = free_port();
    let env = HashMap::from([
        ("SESAME_LISTEN", format!("127.0.0.1:{port}")),
        ("SESAME_METRICS_LISTEN", "127.0.0.1:0".to_owned()),
        ("SESAME_KEYS_RELOAD_INTERVAL", "3600".to_owned()),
    ]);
    let mut child = sesame_command(&env, &[])
        .current_dir(&folder)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let client = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{port}");
    wait_ready(&client, &base, &mut child).await;

    let rotated = sesame_command(&env, &["keys", "rotate"])
        .current_dir(&folder)
        .output()
        .unwrap();
    assert!(rotated.status.success(), "{rotated:?}");
    let stdout = String::from_utf8(rotated.stdout).unwrap();
    let kid = new_kid(&stdout);
    let pid = i32::try_from(child.id()).unwrap();
    assert_eq!(unsafe { libc::kill(pid, libc::SIGHUP) }, 0);

    let mut published = false;
    for _ in 0..100 {
        if jwks(&base).await.find(&kid).is_some() {
            published = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
    let status = tokio::task::spawn_blocking(move || child.wait().unwrap())
        .await
        .unwrap();
    assert!(published, "the rotated key was not published after SIGHUP");
    assert_eq!(status.code(), Some(0));
}
