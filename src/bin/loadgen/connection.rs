//! One virtual client's own keep-alive HTTP/1.1 connection to the service under test. A mobile
//! client holds one connection and sends one request at a time; so does this. Against a pooled
//! client it spends no pool checkout and no URL parse per request, which matters because the
//! load generator's CPU is taken from what it measures (docs/performance.md, "A connection per
//! virtual client").

use std::net::SocketAddr;
use std::time::Duration;

use http_body_util::BodyExt;
use hyper::body::Bytes;
use hyper::client::conn::http1::{self, SendRequest};
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, HOST, HeaderValue};
use hyper::{Method, Request};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// How long a request may take before it counts as a `timeout` and its connection is dropped.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

pub const FORM: &str = "application/x-www-form-urlencoded";
pub const JSON: &str = "application/json";

/// Where every connection goes: the service's address and its `Host` header.
#[derive(Clone)]
pub struct Target {
    pub address: SocketAddr,
    pub host: HeaderValue,
}

/// Why a request has no successful body: an HTTP status or a transport failure, as the
/// outcome the statistics record.
pub enum Failure {
    Status(u16),
    Timeout,
    Network,
}

impl Failure {
    pub fn outcome(&self) -> String {
        match self {
            Failure::Status(status) => status.to_string(),
            Failure::Timeout => "timeout".into(),
            Failure::Network => "network".into(),
        }
    }
}

/// A connection opened on first use and opened again after it failed or the server closed it.
pub struct Connection {
    target: Target,
    sender: Option<SendRequest<String>>,
}

/// One request as the scenarios build it.
pub struct Call<'a> {
    method: Method,
    path: &'static str,
    content_type: Option<&'static str>,
    /// A bearer token, sent as `Authorization: Bearer …`.
    bearer: Option<&'a str>,
    body: String,
}

impl<'a> Call<'a> {
    pub fn get(path: &'static str) -> Self {
        Self {
            method: Method::GET,
            path,
            content_type: None,
            bearer: None,
            body: String::new(),
        }
    }

    /// A POST of `body`, of `content_type` if it has one.
    pub fn post(path: &'static str, content_type: Option<&'static str>, body: String) -> Self {
        Self {
            method: Method::POST,
            path,
            content_type,
            bearer: None,
            body,
        }
    }

    pub fn bearer(self, token: &'a str) -> Self {
        Self {
            bearer: Some(token),
            ..self
        }
    }
}

impl Connection {
    pub fn new(target: Target) -> Self {
        Self {
            target,
            sender: None,
        }
    }

    /// Sends `call` and returns the body of a 2xx answer.
    pub async fn send(&mut self, call: Call<'_>) -> Result<Bytes, Failure> {
        match tokio::time::timeout(REQUEST_TIMEOUT, self.exchange(call)).await {
            Ok(Ok(body)) => Ok(body),
            Ok(Err(failure)) => Err(failure),
            Err(_) => {
                // The answer may still come: this connection is no longer in step with it.
                self.sender = None;
                Err(Failure::Timeout)
            }
        }
    }

    async fn exchange(&mut self, call: Call<'_>) -> Result<Bytes, Failure> {
        let mut request = Request::builder()
            .method(call.method)
            .uri(call.path)
            .header(HOST, self.target.host.clone());
        if let Some(content_type) = call.content_type {
            request = request.header(CONTENT_TYPE, HeaderValue::from_static(content_type));
        }
        if let Some(token) = call.bearer {
            let value =
                HeaderValue::try_from(format!("Bearer {token}")).map_err(|_| Failure::Network)?;
            request = request.header(AUTHORIZATION, value);
        }
        let request = request.body(call.body).map_err(|_| Failure::Network)?;
        let sender = self.ready().await?;
        let answered = sender.send_request(request).await;
        let response = answered.map_err(|_| self.drop_connection())?;
        let status = response.status();
        let body = response.into_body().collect().await;
        let body = body.map_err(|_| self.drop_connection())?.to_bytes();
        if status.is_success() {
            Ok(body)
        } else {
            Err(Failure::Status(status.as_u16()))
        }
    }

    /// The open connection once it can take a request, or a new one.
    async fn ready(&mut self) -> Result<&mut SendRequest<String>, Failure> {
        if let Some(sender) = self.sender.as_mut() {
            if sender.ready().await.is_err() {
                self.sender = None;
            }
        }
        if self.sender.is_none() {
            self.sender = Some(self.open().await?);
        }
        self.sender.as_mut().ok_or(Failure::Network)
    }

    async fn open(&self) -> Result<SendRequest<String>, Failure> {
        let stream = TcpStream::connect(self.target.address)
            .await
            .map_err(|_| Failure::Network)?;
        let _ = stream.set_nodelay(true);
        let (sender, connection) = http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|_| Failure::Network)?;
        // Drives the connection until it closes; its errors surface in the requests.
        tokio::spawn(connection);
        Ok(sender)
    }

    fn drop_connection(&mut self) -> Failure {
        self.sender = None;
        Failure::Network
    }
}
