//! With anonymous login off, a start for an employee and one for a stranger answer alike even
//! when the provider fails: the code is sent after the answer, and a failure is counted for
//! operators only (docs/contract-notes.md, "Abuse limits").

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{
    Backend, FakeProvider, Reply, Sink, TestApp, app_with, eventually, observable, spawn_stoppable,
};

const EMPLOYEE: &str = "+447700900200";
const STRANGER: &str = "+447700900999";

/// An app with anonymous login off, `providers` pointed at `fake`, and one employee.
async fn strict_app(providers: &str, fake: &FakeProvider) -> TestApp {
    let app = app_with(providers, fake, &[("SESAME_ALLOW_ANONYMOUS", "false")]).await;
    let response = app
        .put_employee("E-200", &json!({"phone_number": EMPLOYEE, "name": "Ada"}))
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    app
}

async fn start(app: &TestApp, number: &str, channel: &str) -> reqwest::Response {
    app.post_json(
        "/v1/otp/start",
        &json!({"phone_number": number, "channel": channel}),
    )
    .await
}

// The metrics recorder is global to the test process: counters are compared before and after.
async fn failures_counted(app: &TestApp, reason: &str) -> f64 {
    let metrics = app
        .metrics_base
        .as_ref()
        .expect("the metrics listener is on");
    let text = app
        .client
        .get(format!("{metrics}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let label = format!("reason=\"{reason}\"");
    text.lines()
        .filter(|line| line.starts_with("sesame_deliveries_failed_total{") && line.contains(&label))
        .map(|line| line.rsplit(' ').next().unwrap().parse::<f64>().unwrap())
        .sum()
}

/// Starts the employee and the stranger on `channel` while the provider fails as `replies`
/// script it, and checks that both answers are the same `202` and that the failure is counted.
async fn fails_unseen(providers: &str, channel: &str, replies: Vec<Reply>, reason: &str) {
    let fake = FakeProvider::spawn().await;
    let app = strict_app(providers, &fake).await;
    let before = failures_counted(&app, reason).await;
    fake.reply(replies);

    let for_employee = observable(start(&app, EMPLOYEE, channel).await).await;
    let for_stranger = observable(start(&app, STRANGER, channel).await).await;
    assert_eq!(for_employee.0, StatusCode::ACCEPTED, "{:?}", for_employee.2);
    assert_eq!(for_stranger, for_employee);

    let mut counted = before;
    for _ in 0..1_000 {
        counted = failures_counted(&app, reason).await;
        if counted > before {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(counted > before, "the failed delivery was not counted");
    // The stranger was never sent anything.
    let to: Vec<Value> = fake
        .requests()
        .iter()
        .filter_map(|request| {
            ["To", "dst"]
                .iter()
                .find_map(|field| request.fields.get(*field))
                .map(|to| json!(to))
        })
        .collect();
    assert!(to.iter().all(|to| to == EMPLOYEE), "{to:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_provider_outage_is_not_shown_to_an_employee() {
    let outage = Reply::Status(
        503,
        json!({"code": 20500, "message": "Service unavailable"}),
    );
    fails_unseen("twilio", "sms", vec![outage; 3], "failed").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_number_the_provider_calls_invalid_is_not_shown_to_an_employee() {
    let invalid = Reply::Status(
        400,
        json!({"code": 21211, "message": "The 'To' number is not a valid phone number.", "status": 400}),
    );
    fails_unseen("twilio", "sms", vec![invalid], "invalid_number").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_voice_call_is_not_shown_to_an_employee() {
    // Plivo sends SMS only: a voice code has nowhere to go.
    fails_unseen("plivo", "voice", vec![], "rejected").await;
}

/// The employee's code still arrives when the provider works.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_employee_still_gets_the_code() {
    let fake = FakeProvider::spawn().await;
    let app = strict_app("twilio", &fake).await;
    assert_eq!(
        start(&app, EMPLOYEE, "sms").await.status(),
        StatusCode::ACCEPTED
    );
    eventually(|| fake.requests_to("/Messages.json").len() == 1).await;
}

/// The employee's code is sent after its answer; a shutdown right then still delivers it
/// before the node exits (a code that was promised is not lost with the process).
#[tokio::test]
async fn a_code_sent_after_its_answer_is_delivered_before_shutdown() {
    let provider = Sink::slow(Duration::from_millis(1_500));
    let url = provider.spawn().await;
    let (app, stop, serving) = spawn_stoppable(
        Backend::Embedded,
        &[
            ("SESAME_ALLOW_ANONYMOUS", "false"),
            ("SESAME_SMS_WEBHOOK_URL", url.as_str()),
        ],
    )
    .await;
    let response = app
        .put_employee("E-200", &json!({"phone_number": EMPLOYEE, "name": "Ada"}))
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);

    let response = start(&app, EMPLOYEE, "sms").await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    assert_eq!(provider.answered(), 0, "answered before its code was sent");
    stop.send(()).unwrap();
    serving.await.unwrap().unwrap();
    assert_eq!(
        provider.answered(),
        1,
        "the node stopped before the code was sent"
    );
}
