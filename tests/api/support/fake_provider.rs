//! A fake of Twilio (Messaging, Voice, Verify) and Plivo on a random local port. It checks
//! the wire format — path, Basic auth, content type, fields — and answers like the real API,
//! or as scripted: a status with a body, or never (a hung provider).

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde_json::{Value, json};

use super::{Backend, TestApp, spawn_app_with};

pub const TWILIO_SID: &str = "ACfake0123456789";
pub const TWILIO_TOKEN: &str = "twilio-auth-token-secret";
pub const TWILIO_FROM: &str = "+15005550006";
pub const VERIFY_SID: &str = "VAfake0123456789";
pub const PLIVO_ID: &str = "MAfake0123456789";
pub const PLIVO_TOKEN: &str = "plivo-auth-token-secret";
pub const PLIVO_FROM: &str = "+15005550007";

/// What the fake answers to the next request, before its normal behaviour resumes.
#[derive(Clone)]
pub enum Reply {
    Status(u16, Value),
    Hang,
}

/// One request the fake accepted as well-formed.
#[derive(Debug, Clone)]
pub struct Request {
    pub path: String,
    /// Form or JSON fields.
    pub fields: HashMap<String, String>,
}

#[derive(Default)]
struct Inner {
    requests: Vec<Request>,
    script: VecDeque<Reply>,
    /// Twilio Verify: the pending code per number.
    verifications: HashMap<String, String>,
}

#[derive(Clone)]
pub struct FakeProvider {
    pub base: String,
    inner: Arc<Mutex<Inner>>,
}

impl FakeProvider {
    pub async fn spawn() -> Self {
        let inner = Arc::new(Mutex::new(Inner::default()));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let app = axum::Router::new()
            .fallback(handle)
            .with_state(inner.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self {
            base: format!("http://{address}"),
            inner,
        }
    }

    /// Scripts the answers to the next requests, in order.
    pub fn reply(&self, replies: impl IntoIterator<Item = Reply>) {
        self.inner.lock().unwrap().script.extend(replies);
    }

    /// Every request received, well-formed or not, scripted or not.
    pub fn requests(&self) -> Vec<Request> {
        self.inner.lock().unwrap().requests.clone()
    }

    pub fn requests_to(&self, path_suffix: &str) -> Vec<Request> {
        self.requests()
            .into_iter()
            .filter(|request| request.path.ends_with(path_suffix))
            .collect()
    }

    /// The code Twilio Verify "sent" to `number`.
    pub fn verify_code(&self, number: &str) -> String {
        self.inner.lock().unwrap().verifications[number].clone()
    }

    /// Configuration pointing Twilio (all products) at the fake.
    pub fn twilio_vars(&self) -> Vec<(&'static str, String)> {
        vec![
            ("SESAME_TWILIO_BASE_URL", self.base.clone()),
            ("SESAME_TWILIO_ACCOUNT_SID", TWILIO_SID.into()),
            ("SESAME_TWILIO_AUTH_TOKEN", TWILIO_TOKEN.into()),
            ("SESAME_TWILIO_FROM", TWILIO_FROM.into()),
            ("SESAME_TWILIO_VERIFY_SERVICE_SID", VERIFY_SID.into()),
        ]
    }

    pub fn plivo_vars(&self) -> Vec<(&'static str, String)> {
        vec![
            ("SESAME_PLIVO_BASE_URL", self.base.clone()),
            ("SESAME_PLIVO_AUTH_ID", PLIVO_ID.into()),
            ("SESAME_PLIVO_AUTH_TOKEN", PLIVO_TOKEN.into()),
            ("SESAME_PLIVO_FROM", PLIVO_FROM.into()),
        ]
    }
}

/// The first run of `length` digits in `text`: the code inside a message body.
pub fn code_in(text: &str, length: usize) -> String {
    text.split(|c: char| !c.is_ascii_digit())
        .find(|run| run.len() == length)
        .unwrap_or_else(|| panic!("no {length}-digit code in {text:?}"))
        .to_owned()
}

fn twilio_error(status: u16, code: u32, message: &str) -> Response {
    let body = json!({"code": code, "message": message, "status": status});
    (StatusCode::from_u16(status).unwrap(), Json(body)).into_response()
}

async fn handle(
    State(inner): State<Arc<Mutex<Inner>>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_owned();
    let content_type = headers
        .get("content-type")
        .and_then(|value| value.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let fields: HashMap<String, String> = if content_type == "application/x-www-form-urlencoded" {
        serde_urlencoded::from_bytes(&body).unwrap_or_default()
    } else if content_type == "application/json" {
        serde_json::from_slice::<HashMap<String, Value>>(&body)
            .unwrap_or_default()
            .into_iter()
            .map(|(name, value)| (name, value.as_str().unwrap_or("<not a string>").to_owned()))
            .collect()
    } else {
        HashMap::new()
    };
    inner.lock().unwrap().requests.push(Request {
        path: path.clone(),
        fields: fields.clone(),
    });
    let scripted = inner.lock().unwrap().script.pop_front();
    match scripted {
        Some(Reply::Hang) => std::future::pending().await,
        Some(Reply::Status(status, body)) => {
            return (StatusCode::from_u16(status).unwrap(), Json(body)).into_response();
        }
        None => {}
    }
    if method != Method::POST {
        return twilio_error(405, 20004, "Method not allowed");
    }
    let twilio_form = |required: &[&str]| -> Option<Response> {
        if !basic_auth_is(&headers, TWILIO_SID, TWILIO_TOKEN) {
            return Some(twilio_error(401, 20003, "Authenticate"));
        }
        if content_type != "application/x-www-form-urlencoded" {
            return Some(twilio_error(400, 20001, "expected a form"));
        }
        let missing = required
            .iter()
            .find(|name| fields.get(**name).is_none_or(String::is_empty));
        missing.map(|name| twilio_error(400, 21604, &format!("A '{name}' is required")))
    };
    let account = format!("/2010-04-01/Accounts/{TWILIO_SID}");
    let verify = format!("/v2/Services/{VERIFY_SID}");
    if path == format!("{account}/Messages.json") {
        if let Some(refusal) = twilio_form(&["To", "From", "Body"]) {
            return refusal;
        }
        (
            StatusCode::CREATED,
            Json(json!({"sid": "SMfake", "status": "queued"})),
        )
            .into_response()
    } else if path == format!("{account}/Calls.json") {
        if let Some(refusal) = twilio_form(&["To", "From", "Twiml"]) {
            return refusal;
        }
        (
            StatusCode::CREATED,
            Json(json!({"sid": "CAfake", "status": "queued"})),
        )
            .into_response()
    } else if path == format!("{verify}/Verifications") {
        if let Some(refusal) = twilio_form(&["To", "Channel"]) {
            return refusal;
        }
        if !["sms", "call"].contains(&fields["Channel"].as_str()) {
            return twilio_error(400, 60200, "Invalid parameter: Channel");
        }
        let code = format!("{:06}", rand::random::<u32>() % 1_000_000);
        inner
            .lock()
            .unwrap()
            .verifications
            .insert(fields["To"].clone(), code);
        (
            StatusCode::CREATED,
            Json(json!({"sid": "VEfake", "status": "pending"})),
        )
            .into_response()
    } else if path == format!("{verify}/VerificationCheck") {
        if let Some(refusal) = twilio_form(&["To", "Code"]) {
            return refusal;
        }
        let pending = inner
            .lock()
            .unwrap()
            .verifications
            .get(&fields["To"])
            .cloned();
        // Unlike the real service, a pending verification stays approvable: Sesame's own
        // single-use rule is what the tests exercise.
        match pending {
            None => twilio_error(404, 20404, "The requested resource was not found"),
            Some(code) if code == fields["Code"] => {
                Json(json!({"status": "approved", "valid": true})).into_response()
            }
            Some(_) => Json(json!({"status": "pending", "valid": false})).into_response(),
        }
    } else if path == format!("/v1/Account/{PLIVO_ID}/Message/") {
        let error = |status: u16, error: &str| {
            (
                StatusCode::from_u16(status).unwrap(),
                Json(json!({"api_id": "fake", "error": error})),
            )
                .into_response()
        };
        if !basic_auth_is(&headers, PLIVO_ID, PLIVO_TOKEN) {
            return error(401, "authentication failed");
        }
        if content_type != "application/json" {
            return error(400, "expected JSON");
        }
        if ["src", "dst", "text"]
            .iter()
            .any(|name| fields.get(*name).is_none_or(String::is_empty))
        {
            return error(400, "src, dst and text are required");
        }
        (
            StatusCode::ACCEPTED,
            Json(
                json!({"api_id": "fake", "message": "message(s) queued", "message_uuid": ["fake"]}),
            ),
        )
            .into_response()
    } else {
        twilio_error(404, 20404, "The requested resource was not found")
    }
}

fn basic_auth_is(headers: &HeaderMap, user: &str, password: &str) -> bool {
    let expected = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    headers
        .get("authorization")
        .and_then(|value| value.to_str().ok())
        == Some(format!("Basic {expected}").as_str())
}

/// The app on the embedded backend with `providers`, all pointed at `fake`. Backoff is short
/// and the per-attempt deadline is one and a half seconds, so the hang tests stay quick.
pub async fn app_with(providers: &str, fake: &FakeProvider, extra: &[(&str, &str)]) -> TestApp {
    app_on(Backend::Embedded, providers, fake, extra).await
}

pub async fn app_on(
    backend: Backend,
    providers: &str,
    fake: &FakeProvider,
    extra: &[(&str, &str)],
) -> TestApp {
    let mut vars: Vec<(&str, String)> = vec![
        ("SESAME_SMS_PROVIDER", providers.to_owned()),
        ("SESAME_SMS_TIMEOUT_MS", "1500".to_owned()),
        ("SESAME_SMS_RETRY_BASE_MS", "10".to_owned()),
        // These tests start the same number again and again: no resend cooldown.
        ("SESAME_OTP_RESEND_AFTER", "0".to_owned()),
    ];
    vars.extend(fake.twilio_vars());
    vars.extend(fake.plivo_vars());
    vars.extend(
        extra
            .iter()
            .map(|(name, value)| (*name, (*value).to_owned())),
    );
    let pairs: Vec<(&str, &str)> = vars
        .iter()
        .map(|(name, value)| (*name, value.as_str()))
        .collect();
    spawn_app_with(backend, &pairs).await
}
