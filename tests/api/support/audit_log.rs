//! Reading `GET /admin/v1/audit` as the audit tests do: one page, every page, and each filter
//! against the full log.

use reqwest::StatusCode;
use serde_json::Value;

use super::TestApp;

/// The items of one page of `query`.
pub async fn audit_page(app: &TestApp, query: &str) -> Vec<Value> {
    let response = app.admin_get(&format!("/admin/v1/audit?{query}")).await;
    assert_eq!(response.status(), StatusCode::OK, "{query}");
    let page: Value = response.json().await.unwrap();
    page["items"].as_array().unwrap().clone()
}

/// Every page of `query`, `limit` at a time, following `next`.
pub async fn audit_pages(app: &TestApp, query: &str, limit: usize) -> Vec<Value> {
    let mut items = Vec::new();
    let mut cursor = String::new();
    loop {
        let path = format!("/admin/v1/audit?{query}&limit={limit}{cursor}");
        let page: Value = app.admin_get(&path).await.json().await.unwrap();
        items.extend(page["items"].as_array().unwrap().iter().cloned());
        match page["next"].as_str() {
            Some(next) => cursor = format!("&cursor={next}"),
            None => return items,
        }
    }
}

/// An event's time, Unix seconds.
pub fn event_time(event: &Value) -> i64 {
    let time = event["time"].as_str().unwrap();
    time::OffsetDateTime::parse(time, &time::format_description::well_known::Rfc3339)
        .unwrap()
        .unix_timestamp()
}

/// Which events of the full log a filter should select.
pub type Wanted<'a> = Box<dyn Fn(&Value) -> bool + 'a>;

/// Each query of `filters` lists exactly the events of `all` (the full log, newest first) that
/// its predicate wants, and wants at least one.
pub async fn assert_filters(app: &TestApp, all: &[Value], filters: Vec<(String, Wanted<'_>)>) {
    for (query, wanted) in filters {
        let expected: Vec<Value> = all.iter().filter(|e| wanted(e)).cloned().collect();
        assert!(!expected.is_empty(), "{query} selects something");
        assert_eq!(
            audit_page(app, &format!("{query}&limit=500")).await,
            expected,
            "{query}"
        );
    }
}

/// The filter `field=value` (a `+` escaped for the query string), wanting the events whose
/// `field` is `value`.
pub fn matching(field: &'static str, value: &str) -> (String, Wanted<'static>) {
    let query = format!("{field}={}", value.replace('+', "%2B"));
    let value = value.to_owned();
    (query, Box::new(move |event| event[field] == value.as_str()))
}
