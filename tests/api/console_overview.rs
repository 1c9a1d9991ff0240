//! The console's overview counts from the database: logins, refusals and codes sent, the
//! last stored by each node's tally (every minute, and at shutdown).

use reqwest::StatusCode;

use crate::support::{ADMIN_KEY, Backend, on_both_backends, spawn_stoppable};

on_both_backends!(the_overview_counts_logins_refusals_and_codes_sent);

async fn the_overview_counts_logins_refusals_and_codes_sent(backend: Backend) {
    let overrides = [("SESAME_OTP_RESEND_AFTER", "60")];
    let (app, stop, serving) = spawn_stoppable(backend, &overrides).await;
    let number = "+447700900321";
    app.login(number).await;
    app.login(number).await;
    // A third code is sent; a fourth, inside the resend cooldown, is refused (and audited).
    assert_eq!(app.start_login(number).await.status(), StatusCode::ACCEPTED);
    let response = app.start_login(number).await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);

    let console = app.console(ADMIN_KEY).await;
    let (_, html) = console.page("/admin/overview").await;
    assert!(html.contains("Logins: 2"), "{html}");
    assert!(html.contains("Refusals: 1"), "{html}");
    assert!(html.contains("webhook"), "the configured provider: {html}");
    // Codes sent reach the database with the node's next flush: here, at shutdown.
    assert!(html.contains("Codes sent: 0"), "{html}");
    stop.send(()).unwrap();
    serving.await.unwrap().unwrap();
    let stored = app
        .count_rows("select cast(sum(count) as bigint) from activity where provider = 'webhook' and outcome = 'ok'")
        .await;
    assert_eq!(stored, 3);
}
