//! The admin console driven over HTTP as a browser would: a session cookie, the CSRF token
//! of its forms, and no automatic redirects (tests look at them).

use reqwest::{Response, StatusCode};

use super::TestApp;

/// The console's Content-Security-Policy, exactly.
pub const CONSOLE_CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self' data:; \
    form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// A browser signed in to the console.
pub struct ConsoleBrowser {
    pub base: String,
    pub http: reqwest::Client,
    /// `name=value` of the session cookie.
    pub cookie: String,
    pub csrf: String,
}

/// An HTTP client that leaves redirects to the test.
pub fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

impl TestApp {
    /// `POST /admin/sign-in` with `key`, as the sign-in form sends it.
    pub async fn console_sign_in_with(&self, key: &str) -> Response {
        no_redirects()
            .post(self.url("/admin/sign-in"))
            .form(&[("key", key)])
            .send()
            .await
            .unwrap()
    }

    /// Signs in with `key` and reads the CSRF token of the first page.
    pub async fn console(&self, key: &str) -> ConsoleBrowser {
        let response = self.console_sign_in_with(key).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        assert_eq!(response.headers()["location"], "/admin/overview");
        let set_cookie = response.headers()["set-cookie"].to_str().unwrap();
        let cookie = set_cookie.split(';').next().unwrap().to_owned();
        let mut browser = ConsoleBrowser {
            base: self.base.clone(),
            http: no_redirects(),
            cookie,
            csrf: String::new(),
        };
        let (status, html) = browser.page("/admin/overview").await;
        assert_eq!(status, StatusCode::OK, "{html}");
        browser.csrf = csrf_of(&html);
        browser
    }
}

/// The value of the first hidden `csrf` field of a page.
pub fn csrf_of(html: &str) -> String {
    let start = html
        .find(r#"name="csrf" value=""#)
        .expect("a form with a CSRF token")
        + 19;
    html[start..].split('"').next().unwrap().to_owned()
}

impl ConsoleBrowser {
    pub async fn get(&self, path: &str) -> Response {
        self.http
            .get(format!("{}{path}", self.base))
            .header("cookie", &self.cookie)
            .send()
            .await
            .unwrap()
    }

    /// A page's status and HTML.
    pub async fn page(&self, path: &str) -> (StatusCode, String) {
        let response = self.get(path).await;
        (response.status(), response.text().await.unwrap())
    }

    /// POSTs a form with this session's CSRF token.
    pub async fn post(&self, path: &str, fields: &[(&str, &str)]) -> Response {
        let mut form = vec![("csrf", self.csrf.as_str())];
        form.extend_from_slice(fields);
        self.post_raw(path, &form).await
    }

    /// POSTs exactly `fields` (no token unless given).
    pub async fn post_raw(&self, path: &str, fields: &[(&str, &str)]) -> Response {
        self.http
            .post(format!("{}{path}", self.base))
            .header("cookie", &self.cookie)
            .form(fields)
            .send()
            .await
            .unwrap()
    }
}
