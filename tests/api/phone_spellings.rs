//! One number, one spelling: every spelling of a number that parses is the same number for
//! send caps, logins and the one-active-employee rule (docs/contract-notes.md, "Phone numbers").

use reqwest::StatusCode;
use serde_json::json;

use crate::support::{Backend, assert_error, on_both_backends, spawn_app_with};

on_both_backends!(
    spellings_share_the_send_cap_and_the_identity,
    spellings_cannot_give_one_number_to_two_employees,
);

const NUMBER: &str = "+447700900123";

async fn spellings_share_the_send_cap_and_the_identity(backend: Backend) {
    let app = spawn_app_with(
        backend,
        &[
            // The client's share of it is 2.
            ("SESAME_SMS_HOURLY_CAP", "4"),
            ("SESAME_OTP_RESEND_AFTER", "0"),
        ],
    )
    .await;
    // A code sent to one spelling is checked under another, and both log in one person.
    assert_eq!(
        app.start_login("+44 7700 900123").await.status(),
        StatusCode::ACCEPTED
    );
    let response = app
        .exchange_code("+44 (0)7700 900123", &app.sink.last_code(NUMBER))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let first = app.me_of(&response.json().await.unwrap()).await;
    assert_eq!(
        app.start_login("+44 0 7700 900123").await.status(),
        StatusCode::ACCEPTED
    );
    let response = app.exchange_code(NUMBER, &app.sink.last_code(NUMBER)).await;
    assert_eq!(response.status(), StatusCode::OK);
    let second = app.me_of(&response.json().await.unwrap()).await;
    assert_eq!(first["sub"], second["sub"]);
    assert_eq!(first["phone_number"], NUMBER);

    // Two codes sent: the client's share of 2 holds for every spelling.
    for spelling in [NUMBER, "+44 (0) 7700 900123", "+44-0-7700-900123"] {
        let response = app.start_login(spelling).await;
        assert_eq!(
            response.status(),
            StatusCode::TOO_MANY_REQUESTS,
            "{spelling}"
        );
    }
    // Zeros the plan has no place for make no new number.
    for spelling in ["+44 000 7700 900123", "+44 00 7700 900123"] {
        let response = app.start_login(spelling).await;
        assert_error(response, StatusCode::BAD_REQUEST, "invalid_phone_number").await;
    }
    assert_eq!(app.sink.messages_to(NUMBER).len(), 2);
    assert_eq!(app.sink.messages().len(), 2);
}

async fn spellings_cannot_give_one_number_to_two_employees(backend: Backend) {
    let app = spawn_app_with(backend, &[]).await;
    let header = "external_id,phone_number,name,email,active\n";
    // Within one file.
    let file = format!(
        "{header}E-1,+44 7700 900301,Ada Lovelace,,true\n\
         E-2,+44 (0)7700 900301,Alan Turing,,true\n"
    );
    let body = app.import_refused("merge", &file).await;
    let errors = body["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1, "{body}");
    assert_eq!(errors[0]["line"], 3, "{body}");
    assert!(app.all_employees().await.is_empty());

    // Against an employee already stored: by import and by the admin API.
    app.import_csv(
        "merge",
        &format!("{header}E-1,+44 7700 900301,Ada Lovelace,,true\n"),
    )
    .await;
    let file = format!("{header}E-2,+44 0 7700 900301,Alan Turing,,true\n");
    let body = app.import_refused("merge", &file).await;
    assert!(
        body["errors"][0]["error"].as_str().unwrap().contains("E-1"),
        "{body}"
    );
    let response = app
        .put_employee(
            "E-3",
            &json!({"phone_number": "+44 (0) 7700 900301", "name": "Grace Hopper"}),
        )
        .await;
    assert_error(response, StatusCode::CONFLICT, "conflict").await;
    let employees = app.all_employees().await;
    assert_eq!(employees.len(), 1);
    assert_eq!(employees[0]["phone_number"], "+447700900301");
}
